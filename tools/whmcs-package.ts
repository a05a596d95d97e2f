/**
 * The WHMCS addon as an admin installs it: overusage-whmcs-<version>.zip holding
 * modules/addons/overusage/ (the bridge) with its assets/ (the stylesheet and script the pages
 * link to, from views/assets/, so the browser gets them from WHMCS and never from the service).
 * Unzip it in WHMCS's folder (docs/whmcs.md, step 3).
 *
 *   npm run package:whmcs [-- <output folder>]     (default: dist/)
 *
 * yazl writes the zip (a small, long-kept library; the system's zip is not on every machine).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import yazl from 'yazl';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const ADDON_DIR = path.join(ROOT, 'modules', 'addons', 'overusage');
const ASSETS_SOURCE = path.join(ROOT, 'views', 'assets');
/** what a page inside WHMCS loads; the page stylesheet is for hosts without Bootstrap and stays out */
export const WHMCS_ASSETS = ['overusage.css', 'overusage.js'];

export const packageVersion = (): string =>
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every file of the package: its path in the zip → where it comes from. */
export function packageFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) files.set(path.relative(ROOT, full).split(path.sep).join('/'), full);
    }
  };
  walk(ADDON_DIR);
  // built assets, never stale copies lying in the folder
  for (const name of [...files.keys()])
    if (name.startsWith('modules/addons/overusage/assets/')) files.delete(name);
  for (const f of WHMCS_ASSETS)
    files.set(`modules/addons/overusage/assets/${f}`, path.join(ASSETS_SOURCE, f));
  return files;
}

/** Writes the zip into `outDir`; answers its path. */
export async function packageWhmcs(outDir: string): Promise<string> {
  fs.mkdirSync(outDir, { recursive: true });
  const target = path.join(outDir, `overusage-whmcs-${packageVersion()}.zip`);
  const zip = new yazl.ZipFile();
  // a fixed date: the same sources give the same zip
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const [name, source] of packageFiles()) zip.addFile(source, name, { mtime, mode: 0o100644 });
  zip.end();
  const tmp = `${target}.part`;
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(tmp);
    out.on('close', () => resolve());
    out.on('error', reject);
    zip.outputStream.on('error', reject).pipe(out);
  });
  fs.renameSync(tmp, target);
  return target;
}

/** The assets copied into the repository's addon folder, for a WHMCS that loads the folder as it is (tests, development). */
export function buildWhmcsAssets(addonDir = ADDON_DIR): void {
  fs.mkdirSync(path.join(addonDir, 'assets'), { recursive: true });
  for (const f of WHMCS_ASSETS)
    fs.copyFileSync(path.join(ASSETS_SOURCE, f), path.join(addonDir, 'assets', f));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  packageWhmcs(outDir).then(
    (file) => console.log(file),
    (err: unknown) => {
      console.error(`package:whmcs failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
