// `npm run test:mutation` (stryker.config.mjs): Stryker's own command line, same arguments, with
// three stopgaps for this project's toolchain, each to drop when the cause goes:
// - Node 20: Stryker 10 is the first release whose mocha runner can load mocha 12 (ours), and it
//   refuses to start on Node < 22, checking process.version once while its command-line module
//   loads. Its parts run on Node 20.19+ (require() of ES modules is on), which our engines ask
//   for; so that one check is passed, and process.version is put back before anything runs.
// - TypeScript 7 has no compiler API: see typescript-api.mjs.
// - mocha 12 renamed the files Stryker's mocha runner requires: see mocha-cli-cjs.cjs.
import { createRequire } from 'node:module';
import './typescript-api.mjs';

createRequire(import.meta.url)('./mocha-cli-cjs.cjs');

const real = Object.getOwnPropertyDescriptor(process, 'version');
let StrykerCli;
try {
  Object.defineProperty(process, 'version', { ...real, value: 'v22.0.0' });
  ({ StrykerCli } = await import('@stryker-mutator/core'));
} finally {
  Object.defineProperty(process, 'version', real);
}
process.title = 'stryker';
new StrykerCli(process.argv).run();
