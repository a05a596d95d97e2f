// The groups `npm run test:mutation` runs one after another (test/mutation/run-groups.mjs): each
// mutates a few files against the test files that hold their rules only, so a mutant's dry run and
// per-test coverage are paid over a handful of suites instead of every suite of the project.
// Stryker splits --mutate on commas, so each group's files are given here, not on its command line.
// A file belongs to exactly one group; the union of the groups is MUTATE in stryker.config.mjs.

// The tests of the three dispute groups, in the order a mutant runs those that reach it (it stops at
// the first that fails): the short, targeted files first (the emails need no database; a
// decision's test builds one story).
export const DISPUTE_TESTS = [
  'test/services/dispute-notify.test.ts',
  // holds in every state of the invoice, who is recorded, what is logged, refusals in words
  'test/services/dispute-holds.test.ts',
  'test/services/dispute-decisions.test.ts',
  'test/services/disputes.test.ts',
  // a paid line reduced or waived: the credit note (EUR and JPY, English and Dutch)
  'test/services/dispute-credit-note.test.ts',
  'test/services/dispute-invoice-notes.test.ts',
  'test/services/dispute-texts.test.ts',
  'test/services/late-fee-share.test.ts',
  // a VPS's part of a pool re-rated at the agreed rate (dispute-adjust.ts poolPartAgain): its
  // tests each build their own story (beforeEach), so one runs alone for a mutant as it should
  'test/services/pools.test.ts',
  // a line on a Cancelled or Refunded invoice: not disputable, and an open dispute voided by the
  // hooks or by the sweep that finds the hook missed (dispute-open.ts, dispute-void.ts)
  'test/services/dispute-not-owed.test.ts',
  'test/services/dispute-voided.test.ts',
  'test/services/dispute-voided-sweep.test.ts',
];

export const GROUPS = [
  {
    name: 'domain',
    mutate: ['module/domain/**/*.ts'],
    tests: ['test/domain/**/*.test.ts'],
    // The random property traces (rating-properties, ~4 s) and the 2000–2040 holiday oracle (~3 s)
    // reach most domain mutants and run in full for every one that survives (10 of the domain
    // suite's 13 s): a mutant needs an example test with figures by hand to count as held.
    ignore: ['test/domain/rating-properties.test.ts', 'test/domain/holidays-oracle.test.ts'],
  },
  {
    name: 'hooks',
    mutate: ['hooks/**/*.ts', '!hooks/hook-types.ts'],
    tests: ['test/hooks/**/*.test.ts'],
  },
  {
    name: 'shield',
    mutate: ['module/services/dunning-shield.ts'],
    tests: [
      'test/services/dunning-shield.test.ts',
      'test/hooks/dunning-hooks.test.ts',
      'test/hooks/hook-answers.test.ts',
    ],
  },
  // disputes.ts was split by job (open, hold, resolve, notify, adjust, …): the money rules live in
  // the dispute-*.ts files and the late fee's share of a held line. One group of the twelve files
  // (1 274 mutants) took 2-4 hours here, so it is three groups of 600-750 lines each (the old
  // group's figures and its test-output/ incremental file are not carried over). Every one runs
  // against the same tests: each test goes through the service, so any of them may hold a rule of
  // any of the files, and leaving one out would let its kills survive.
  {
    // opening a dispute, voiding it, the listing, the emails
    name: 'disputes-open',
    mutate: [
      'module/services/disputes.ts',
      'module/services/dispute-open.ts',
      'module/services/dispute-void.ts',
      'module/services/dispute-context.ts',
      'module/services/dispute-notify.ts',
    ],
    tests: DISPUTE_TESTS,
  },
  {
    // the decision: its amount (re-rated, a share, a pool's part), a paid line's credit note and credit
    name: 'disputes-decide',
    mutate: [
      'module/services/dispute-resolve.ts',
      'module/services/dispute-adjust.ts',
      'module/services/dispute-settle.ts',
      'module/services/dispute-credit-note.ts',
    ],
    tests: DISPUTE_TESTS,
  },
  {
    // the hold (the held draft, the renewal left), the invoices' words, and the late fee's share
    name: 'disputes-hold',
    mutate: [
      'module/services/dispute-hold.ts',
      'module/services/dispute-invoices.ts',
      'module/services/late-fee-share.ts',
    ],
    tests: DISPUTE_TESTS,
  },
  {
    // invoice-lines.ts was split into placing, reconciling and standalone invoices
    name: 'invoice-lines',
    // with the panel's answer about a product the double-billing guard keeps a minute (b9fffd6)
    mutate: [
      'module/services/invoice-lines.ts',
      'module/services/line-*.ts',
      'module/services/product-answers.ts',
    ],
    // line-rules first: one rule per test, each through the service's answer (a mutant the
    // 5-minute tick's reconciliation would repair on the renewal run is seen there)
    tests: [
      'test/services/line-rules.test.ts',
      'test/services/invoice-lines.test.ts',
      'test/services/unpicked-lines.test.ts',
      // the lines of a pool's part (its text from the charge's explanation), and a pool's month
      // rated before the renewal gets its lines. Not upgrade-scenario: its tests build on one
      // another, so one run alone for a mutant fails for want of the earlier ones (28 false kills
      // in the ff229b1 run, on mutants no rule tells apart)
      'test/services/pools.test.ts',
      'test/services/reconcile-command.test.ts',
      'test/services/product-answers.test.ts',
    ],
  },
  {
    name: 'rating',
    mutate: ['module/services/rating.ts', 'module/services/rating-preview.ts'],
    // rows written directly first (no panel, no collector: a test builds only its period), then the
    // seed story's checks and the 95th percentile's import, then the product form's preview page
    tests: [
      'test/services/rating-preview.test.ts',
      'test/services/rating-run.test.ts',
      'test/services/rerating.test.ts',
      'test/services/rating.test.ts',
      'test/services/rate-samples.test.ts',
      // a few services rated with their own overrides only (the InvoiceCreation delivery's run)
      'test/services/billing-settings.test.ts',
      'test/web/product-preview.test.ts',
    ],
  },
  {
    name: 'metering',
    mutate: [
      'module/services/metering.ts',
      'module/services/metering-master.ts',
      'module/services/master-share.ts',
    ],
    // the run without a database (master-share) first, then the in-process tests (FakeMaster).
    // Left out, both run in `npm test`: collect-shared (its collectors are child processes, whose
    // coverage Stryker does not see: it covered no mutant and cost ~1.5 minutes of every dry
    // run) and collect-failures (the real command over HTTP, 2-5 s a test, ~25 s the file: every
    // mutant that loops for ever in the read queue or the sharing loop, ~40 of 488, waited 1.5 ×
    // that + 20 s before it timed out, and a survivor ran it whole; the breaker one call at a
    // time, the reasons and an unreadable master are held in process by collect-breaker; only the
    // stop in mid-run with 8 reads in flight is held there alone).
    tests: [
      'test/services/master-share.test.ts',
      'test/services/collect-breaker.test.ts',
      'test/services/metering.test.ts',
      // one master's pages, batches, back-pressure and breaker; the run's leases, dead runs, record
      // and log (spied stores; the few timers kept and fired by the test, never waited on)
      'test/services/metering-master.test.ts',
      'test/services/collect-run.test.ts',
    ],
  },
  {
    // the period code of the billing calendar (issue 11)
    name: 'usage-periods',
    mutate: ['module/services/usage-periods.ts'],
    // the rebuild from kept samples and the admin's views and decisions first (a module without a
    // panel, or one billing story): the month-long panel stories after them
    tests: [
      'test/services/usage-period-service.test.ts',
      'test/services/usage-period-admin.test.ts',
      'test/services/usage-periods.test.ts',
      'test/services/link-import-calendar.test.ts',
    ],
  },
];

export const groupNamed = (name) => {
  const g = GROUPS.find((x) => x.name === name);
  if (!g) throw new Error(`no mutation group "${name}" (groups: ${GROUPS.map((x) => x.name).join(', ')})`);
  return g;
};
