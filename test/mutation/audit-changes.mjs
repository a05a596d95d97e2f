// `npm run test:audit-changes`: the changes an outside audit made by hand (issue 13), each of which
// passed every test then. Each is applied to a copy of the committed tree and the tests named
// for it run there; the script fails unless every change makes at least one of them fail (and the
// same tests pass on the unchanged copy). SQLite only: the rules are the same on both engines.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** file, the exact text, what it becomes, and the tests that must notice */
const CHANGES = [
  {
    what: 'EmailPreSend: reminders stopped whenever a held line is on the invoice (the balance <= held condition dropped)',
    file: 'module/domain/dunning.ts',
    from: 'heldLines > 0 && balance <= held;',
    to: 'heldLines > 0;',
    tests: ['test/hooks/dunning-hooks.test.ts'],
  },
  {
    what: 'PreModuleSuspend: undisputed overdue amounts counted as zero',
    file: 'module/domain/dunning.ts',
    from: 'undisputed += balance > held ? balance - held : 0n;',
    to: 'undisputed += 0n;',
    tests: ['test/hooks/dunning-hooks.test.ts'],
  },
  {
    what: 'AddInvoiceLateFee: the held lines left in the base of the late fee',
    file: 'module/services/dunning-shield.ts',
    from: 'fee: money(fee.amount), held: held.total });',
    to: 'fee: money(fee.amount), held: 0n });',
    tests: ['test/hooks/dunning-hooks.test.ts'],
  },
  {
    what: 'disputes: held items of disputes in any state, not only open ones',
    file: 'module/adapters/dispute-store.ts',
    from: ".where('d.state', 'open')\n        .andWhere((q) => q.where('d.original_invoice_id', invoiceId)",
    to: ".where('d.id', '>', 0)\n        .andWhere((q) => q.where('d.original_invoice_id', invoiceId)",
    tests: ['test/services/disputes.test.ts', 'test/hooks/dunning-hooks.test.ts'],
  },
  {
    what: 'disputes: the window check lets the first second after the window in (>= becomes >)',
    file: 'module/services/dispute-open.ts',
    from: 'if (now < line.deadlineClosesAt) return null;',
    to: 'if (now <= line.deadlineClosesAt) return null;',
    tests: ['test/services/disputes.test.ts'],
  },
  {
    what: 'disputes: a share cut off instead of rounded half-up',
    file: 'module/services/dispute-adjust.ts',
    from: 'const amount = divRoundHalfUp(before * pct.units, 100n * 10n ** BigInt(pct.scale));',
    to: 'const amount = (before * pct.units) / (100n * 10n ** BigInt(pct.scale));',
    tests: ['test/services/disputes.test.ts'],
  },
  {
    what: 'rating: a period rated although its daily figures do not sum to its total',
    file: 'module/services/rating.ts',
    from: 'if (sum !== r.usedBytes) {',
    to: 'if (false) {',
    tests: ['test/services/rating.test.ts', 'test/services/rating-run.test.ts'],
  },
  {
    what: 'rating again: the same sum check skipped',
    file: 'module/services/rating.ts',
    from: 'if (sum !== p.usedBytes) return',
    to: 'if (false) return',
    tests: ['test/services/rating.test.ts', 'test/services/rating-run.test.ts'],
  },
  {
    what: 'invoice lines: the window always counted in calendar days',
    file: 'module/services/line-placing.ts',
    from: 'const deadline = reclamationDeadline(invoiceDate, profile.window, deps.zone);',
    to: "const deadline = reclamationDeadline(invoiceDate, { ...profile.window, counting: 'calendar' }, deps.zone);",
    tests: ['test/services/invoice-lines.test.ts', 'test/services/line-rules.test.ts'],
  },
];

function copyOfHead() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-audit-'));
  execFileSync('sh', ['-c', `git -C "${root}" archive HEAD | tar -x -C "${dir}"`]);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function mocha(dir, tests) {
  const r = spawnSync(
    process.execPath,
    [path.join(dir, 'node_modules/mocha/bin/mocha.js'), '--reporter', 'dot', ...tests],
    {
      cwd: dir,
      env: {
        ...process.env,
        OVERUSAGE_TEST_MYSQL_URL: 'mysql://root@127.0.0.1:1/',
        OVERUSAGE_TEST_REQUIRE_MYSQL: '',
      },
      encoding: 'utf8',
    },
  );
  return r.status;
}

const dir = copyOfHead();
let failures = 0;
try {
  const allTests = [...new Set(CHANGES.flatMap((c) => c.tests))];
  if (mocha(dir, allTests) !== 0)
    throw new Error(`the tests fail on the unchanged tree: ${allTests.join(' ')}`);
  for (const c of CHANGES) {
    const file = path.join(dir, c.file);
    const original = fs.readFileSync(file, 'utf8');
    if (original.split(c.from).length !== 2)
      throw new Error(`${c.file}: the text to change is not there exactly once: ${c.from}`);
    fs.writeFileSync(file, original.replace(c.from, c.to));
    const status = mocha(dir, c.tests);
    fs.writeFileSync(file, original);
    const caught = status !== 0;
    if (!caught) failures++;
    console.log(`${caught ? 'caught ' : 'MISSED '} ${c.what}`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(
  failures ? `${failures} change(s) passed every test` : `all ${CHANGES.length} changes make a test fail`,
);
process.exit(failures ? 1 : 0);
