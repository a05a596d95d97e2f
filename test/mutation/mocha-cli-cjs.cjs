// Preloaded (--require) into Stryker's processes that load its mocha runner. That runner (10.1.1)
// requires mocha's command-line helpers by extensionless path (lib/cli/run-helpers, options,
// collect-files); mocha 12 names them *.cjs, so the require fails and the runner cannot load
// (stryker-js pull request #6205, which probes .cjs, is not released yet). Until it is, such a
// require of a file in mocha's lib/cli/ that has no extension gets the .cjs file.
const Module = require('node:module');
const path = require('node:path');

const resolve = Module._resolveFilename;
const MOCHA_CLI = /[\\/]mocha[\\/]lib[\\/]cli[\\/][\w-]+$/;

Module._resolveFilename = function resolveMochaCli(request, ...rest) {
  if (!path.isAbsolute(request) || !MOCHA_CLI.test(request)) return resolve.call(this, request, ...rest);
  try {
    return resolve.call(this, request, ...rest);
  } catch {
    return resolve.call(this, `${request}.cjs`, ...rest);
  }
};
