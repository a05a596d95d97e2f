/**
 * `npm run build` (also run by `npm install`, as `prepare`): the `overusage` command as one
 * JavaScript file, dist/overusage.mjs, with its npm packages left as imports. Run through tsx,
 * every start transpiles-or-looks-up ~130 TypeScript files through a loader thread: 2–3 s of CPU
 * before any work, which three collectors starting on one 2-core host pay three times over
 * (issue 22, collectors.scaling). bin/overusage.js runs the bundle when it is newer than every
 * source it was built from (dist/overusage.inputs.json), and the sources through tsx otherwise.
 *
 * A source's `import.meta.dirname` / `import.meta.url` (its views, package.json, the SQLite
 * writer's worker file) keep pointing at the source's own place, relative to the bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const out = path.join(dist, 'overusage.mjs');

/** the source file's own directory and URL, computed from the bundle's place at run time */
const keepImportMeta = {
  name: 'keep-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      const rel = (p) => path.relative(dist, p).split(path.sep).join('/');
      const contents = text
        .replaceAll('import.meta.dirname', `__ouSource(${JSON.stringify(rel(path.dirname(args.path)))}).dirname`)
        .replaceAll('import.meta.url', `__ouSource(${JSON.stringify(rel(args.path))}).url`);
      return { contents, loader: 'ts' };
    });
  },
};

const banner = [
  "import { fileURLToPath as __ouToPath } from 'node:url';",
  'const __ouSource = (rel) => { const url = new URL(rel, import.meta.url).href; return { url, dirname: __ouToPath(url) }; };',
].join('\n');

fs.mkdirSync(dist, { recursive: true });
const result = await build({
  entryPoints: [path.join(root, 'cli', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: out,
  banner: { js: banner },
  plugins: [keepImportMeta],
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).map((p) => path.relative(root, path.resolve(root, p)).split(path.sep).join('/'));
fs.writeFileSync(path.join(dist, 'overusage.inputs.json'), JSON.stringify(inputs) + '\n');
console.log(`built ${path.relative(root, out)} from ${inputs.length} sources`);
