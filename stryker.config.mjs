// Mutation testing of the money paths (`npm run test:mutation`, issue 13). Stryker changes one
// thing at a time in the files below and runs the tests that reach that change; a change no test
// notices ("survived") is a rule the tests do not hold. `npm run test:mutation` runs the groups of
// test/mutation/groups.mjs one by one (MUTATION_GROUP=<name> selects one here: its files, its
// tests, its own report and incremental file in test-output/mutation/<group>/) and merges them
// into docs/mutation-score.json and docs/mutation-survivors.md (test/mutation/run-groups.mjs).
//
// Narrow a run while working (the machine's 2 cores are shared; a narrowed run leaves docs/ alone):
//   npm run test:mutation -- --group domain
//   MUTATION_TESTS='test/hooks/**/*.test.ts' npm run test:mutation -- --mutate hooks/EmailPreSend.ts
// (`npx stryker` does not start on Node 20: see test/mutation/stryker.mjs.)
import fs from 'node:fs';
import path from 'node:path';
import { GROUPS, groupNamed } from './test/mutation/groups.mjs';

const group = process.env.MUTATION_GROUP ? groupNamed(process.env.MUTATION_GROUP) : undefined;
const tests = process.env.MUTATION_TESTS?.split(',') ??
  group?.tests ?? [
    'test/domain/**/*.test.ts',
    'test/hooks/**/*.test.ts',
    'test/services/**/*.test.ts',
    'test/panel/**/*.test.ts',
    'test/web/api.test.ts',
    'test/web/pages.test.ts',
    'test/web/present.test.ts',
    'test/cli.test.ts',
  ];
// a group's report, incremental file and score go to test-output/mutation/<group>/
const out = group ? `test-output/mutation/${group.name}` : 'test-output/mutation';

// The MariaDB suites are skipped (the workers inherit this closed port): the rules under test are
// the same on both engines, whose differences have their own tests in `npm test`.
process.env.OVERUSAGE_TEST_MYSQL_URL = 'mysql://root@127.0.0.1:1/';
delete process.env.OVERUSAGE_TEST_REQUIRE_MYSQL;

// The tests' SQLite files (test/support/engines.ts, in os.tmpdir()) go to memory when the machine
// has /dev/shm: 9 dispute tests took 15 s there against 22 s on disk (load ~12, 6 December 2026),
// and a mutant that survives runs every test that reaches it.
if (fs.existsSync('/dev/shm')) {
  const dir = path.join('/dev/shm', 'overusage-mutation');
  fs.mkdirSync(dir, { recursive: true });
  process.env.TMPDIR = dir;
}

// Only the tests that reach a mutant run for it ("perTest"). Checked against "all" (every test for
// every mutant) on hooks/PreModuleSuspend.ts with test/hooks/dunning-hooks.test.ts: the same 12
// killed, 8 survived, 4 not covered, so the hook tests' coverage is attributed right (see
// test/mutation/hook-coverage.mjs); "covered 0" in the dry run is a test that does not reach the
// mutated file. MUTATION_COVERAGE=all repeats that check (it needs ignoreStatic off, set below).
const coverageAnalysis = process.env.MUTATION_COVERAGE ?? 'perTest';

/** What `npm run test:mutation` mutates, group by group (test/mutation/groups.mjs). */
export const MUTATE = GROUPS.flatMap((g) => g.mutate);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: group?.mutate ?? MUTATE,
  testRunner: 'mocha',
  // Tests run as TypeScript through tsx, as in `npm test` (.mocharc.json's node-option is for the
  // mocha CLI, which Stryker does not use: it loads mocha itself in its worker processes); see
  // test/mutation/mocha-cli-cjs.cjs for the other.
  testRunnerNodeArgs: ['--require', './test/mutation/mocha-cli-cjs.cjs', '--import', 'tsx'],
  mochaOptions: {
    spec: tests,
    // Random counter traces (a new seed each run, ~80 s): a survivor there would be luck, and its
    // cost paid for every mutant it reaches. Mutants need example tests with figures by hand.
    // The collector's crash and database-loss suites (a private mariadbd killed, a SIGKILLed
    // collector, a locked SQLite file) test processes, not money rules, and wait on real time: one
    // timed out in the dry run of a whole run at load 30 and stopped it after 16 minutes.
    ignore: [
      'test/services/usage-periods-properties.test.ts',
      'test/services/collect-crash.test.ts',
      'test/services/collect-db-loss.test.ts',
      'test/services/collect-sqlite-locked.test.ts',
      ...(group?.ignore ?? []),
    ],
    // test/mutation/hook-coverage.mjs: coverage of before() hooks goes to their suite's tests
    require: ['./test/mutation/hook-coverage.mjs'],
  },
  coverageAnalysis,
  // Mutants in code that runs only while a file loads (constant tables) would each need a fresh
  // process and the whole suite: hours on this machine. They are reported as ignored.
  ignoreStatic: coverageAnalysis === 'perTest',
  // No type check by default: measured on module/domain/money.ts (domain tests, 5 Dec 2026, load
  // ~20 on 2 cores) the TypeScript 7 checker took ~10 minutes for 93 mutants, the same mutants without
  // it under 3 minutes: checking every mutant (~0.4 s idle, seconds under load, one at a time) costs
  // more than running the few tests that reach it, and a mutant that would not compile is run as
  // JavaScript (tsx strips the types) and killed or not like any other. MUTATION_CHECK=1 turns it on
  // (over the mutated files and what they import: test/mutation/tsconfig.json).
  checkers: process.env.MUTATION_CHECK === '1' ? ['typescript'] : [],
  tsconfigFile: 'test/mutation/tsconfig.json',
  typescriptChecker: { experimentalNativePreview: true },
  // see test/mutation/typescript-api.mjs and mocha-cli-cjs.cjs
  checkerNodeArgs: [
    '--require',
    './test/mutation/mocha-cli-cjs.cjs',
    '--import',
    './test/mutation/typescript-api.mjs',
  ],
  // The 2 cores are shared with other engineers.
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 20000,
  dryRunTimeoutMinutes: 30,
  plugins: [
    '@stryker-mutator/mocha-runner',
    '@stryker-mutator/typescript-checker',
    './test/mutation/score-reporter.mjs',
  ],
  reporters: ['progress', 'clear-text', 'html', 'json', 'overusage-score'],
  clearTextReporter: { logTests: false },
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  incremental: group !== undefined,
  incrementalFile: `${out}/incremental.json`,
  tempDirName: 'test-output/stryker-tmp',
  cleanTempDir: 'always',
};
