/**
 * `npm run build` (also run by `npm install` and `npm ci`, as `prepare`): the `overusage` command
 * as JavaScript, dist/overusage.mjs and the chunks it loads on demand, with its npm packages left
 * as imports. Run through tsx,
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

// The chunks' names carry hashes: the last build's go first, or they would pile up (dist/ also
// holds what `npm run package:whmcs` writes, which stays).
fs.mkdirSync(dist, { recursive: true });
for (const f of fs.readdirSync(dist)) if (f.endsWith('.mjs') || f === 'overusage.inputs.json') fs.rmSync(path.join(dist, f));
const result = await build({
  entryPoints: { overusage: path.join(root, 'cli', 'main.ts') },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // Split at the commands' dynamic imports (the server, the demo, the panel): in one file every
  // npm package the bundle names is imported at start, express and selfsigned included, even for
  // `overusage collect`, which needs neither. Chunks sit beside the entry, so the source paths
  // computed below stay one directory deep.
  splitting: true,
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  banner: { js: banner },
  plugins: [keepImportMeta],
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).map((p) => path.relative(root, path.resolve(root, p)).split(path.sep).join('/'));
fs.writeFileSync(path.join(dist, 'overusage.inputs.json'), JSON.stringify(inputs) + '\n');
console.log(`built ${path.relative(root, out)} from ${inputs.length} sources`);
