// Mocha root hooks for Stryker's per-test coverage (mochaOptions.require in stryker.config.mjs).
//
// Stryker's mocha runner names the running test in a root beforeEach, so the code a suite's
// before() hooks run is counted for whatever test ran last, often in another file; a mutant only
// such a hook reaches would then be tried against the wrong test and wrongly reported as
// surviving. Here each suite with before() hooks gets a first hook of its own that names the
// suite instead, and once the run is over the suite's coverage is given to every test in it.
const NS = '__stryker__';
const WIRED = Symbol('hook-coverage');
const label = (suite) => `before() hooks of ${suite.fullTitle()}`;

function wire(suite) {
  for (const child of suite.suites) wire(child);
  if (suite.root || suite[WIRED] || suite._beforeAll.length === 0) return;
  suite[WIRED] = true;
  suite.beforeAll(function nameTheSuite() {
    (globalThis[NS] ??= {}).currentTestId = label(suite);
  });
  suite._beforeAll.unshift(suite._beforeAll.pop());
}

function testsOf(suite) {
  return [...suite.tests, ...suite.suites.flatMap(testsOf)];
}

function share(suite, perTest) {
  for (const child of suite.suites) share(child, perTest);
  const hooks = perTest[label(suite)];
  if (!hooks) return;
  delete perTest[label(suite)];
  for (const test of testsOf(suite)) {
    const own = (perTest[test.fullTitle()] ??= {});
    for (const [mutant, hits] of Object.entries(hooks)) own[mutant] = (own[mutant] ?? 0) + hits;
  }
}

const rootOf = (runnable) => {
  let s = runnable.parent;
  while (s.parent) s = s.parent;
  return s;
};

export const mochaHooks = {
  beforeAll() {
    wire(rootOf(this.test));
  },
  afterAll() {
    const perTest = globalThis[NS]?.mutantCoverage?.perTest;
    if (perTest) share(rootOf(this.test), perTest);
  },
};
