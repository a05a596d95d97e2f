#!/usr/bin/env node
// The installed command: the built bundle (npm run build, tools/build.mjs) when it is newer than
// every source it was built from; otherwise tsx, so the TypeScript sources run as they are.
import fs from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const root = new URL('../', import.meta.url);

/** the bundle, or null when it is missing or older than any of its sources (a stale build never runs) */
function freshBundle() {
  try {
    const built = fs.statSync(new URL('overusage.mjs', dist)).mtimeMs;
    const inputs = JSON.parse(fs.readFileSync(new URL('overusage.inputs.json', dist), 'utf8'));
    for (const p of inputs) if (fs.statSync(new URL(p, root)).mtimeMs > built) return null;
    return new URL('overusage.mjs', dist).href;
  } catch {
    return null;
  }
}

const bundle = process.env.OVERUSAGE_NO_BUNDLE ? null : freshBundle();
let main;
if (bundle) main = await import(bundle);
else {
  const { register } = await import('tsx/esm/api');
  register();
  main = await import('../cli/main.ts');
}
process.exitCode = await main.run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  isTTY: Boolean(process.stderr.isTTY),
  env: process.env,
});
