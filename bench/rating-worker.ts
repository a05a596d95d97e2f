/**
 * Closing and rating 100 000 services × 31 days of daily rows on one engine, in a process of its
 * own. The rows are written with bulk SQL (bench/billing-data.ts); then, twice over the same rows:
 * `rateClosedPeriods()` end to end (charges emptied in between), and the baseline — the raw SQL
 * aggregate over the intervals (SUM(bytes) GROUP BY period_id, fetched) plus a bulk insert of as
 * many rows of the charges' width into a copy of the charges table. Prints one JSON line.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { systemClock } from '../module/adapters/clocks.js';
import { createLogger } from '../module/adapters/logger.js';
import { createModule } from '../module/index.js';
import { createTestDatabase } from '../test/support/engines.js';
import { CLIENT_OF, MAY, PRODUCT_OF, PROFILES, checkSeed, seedClosedMay } from './billing-data.js';

const args = parseArgs({
  options: {
    engine: { type: 'string', default: 'mysql' },
    services: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
}).values;

const engine = args.engine as 'sqlite' | 'mysql';
const N = Number(args.services);
const rounds = Math.max(1, Number(args.rounds));
const ACTOR = { type: 'cli', id: 'bench' } as const;
const say = (s: string) => process.stderr.write(`  [rating ${engine}] ${s}\n`);
// the columns the rating writes (not id, billed_at)
const CHARGE_COLUMNS = [
  'period_id',
  'service_id',
  'client_id',
  'product_id',
  'period_start',
  'period_end',
  'currency',
  'used_bytes',
  'allowance_bytes',
  'over_bytes',
  'amount_minor',
  'rounded_minor',
  'status',
  'explanation',
  'taxed',
  'rated_at',
];
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
// the garbage collector's total pause time so far, from V8's own performance entries
let gcTotalMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcTotalMs += e.duration;
}).observe({ entryTypes: ['gc'] });
const gcMs = () => gcTotalMs;

const db = await createTestDatabase(engine);
const { knex } = db;
try {
  const mod = createModule({
    knex,
    clock: systemClock,
    secretKey: Buffer.alloc(32, 7),
    zone: 'Europe/Brussels',
    gatewayFor: () => {
      throw new Error('no SolusVM in this benchmark');
    },
    log: createLogger({ level: 'error' }),
    metering: { writer: 'inline' },
  });
  await mod.migrate();
  const master = await mod.masters.add(
    {
      name: 'bench',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: 'Europe/Brussels',
    },
    ACTOR,
  );

  let t0 = process.hrtime.bigint();
  await seedClosedMay(knex, engine, { services: N, masterId: master.id });
  if (engine === 'mysql')
    await knex.raw(
      'ANALYZE TABLE mod_overusage_services, mod_overusage_periods, mod_overusage_intervals, mod_overusage_samples',
    );
  else await knex.raw('ANALYZE');
  await checkSeed(knex, N);
  const seedSeconds = seconds(t0);
  say(`seeded ${N} services, ${N * MAY.days} intervals in ${seedSeconds.toFixed(1)} s`);

  await mod.billing.setProduct(1, PROFILES[1], ACTOR);
  await mod.billing.setProduct(2, PROFILES[2], ACTOR);
  // A provider has a few exceptions: per-service deals and clients with a longer window.
  for (let s = 7; s <= N; s += Math.max(1, Math.floor(N / 100))) {
    if (PRODUCT_OF(s) !== 3) await mod.billing.setServiceOverride(s, { allowance: '8 TB' }, ACTOR);
  }
  for (let s = 11; s <= N; s += Math.max(1, Math.floor(N / 50))) {
    await mod.billing.setClientWindow(
      CLIENT_OF(s),
      { days: 30, counting: 'calendar', holidays: 'BE' },
      ACTOR,
    );
  }

  await createScratch(knex, engine);
  // Warm both paths once (untimed): the first read of a table off disk favours whoever runs second.
  await aggregate(knex);

  const ratingRuns: number[] = [];
  const nodeCpuRuns: number[] = [];
  const gcRuns: number[] = [];
  const rssRuns: Array<[number, number]> = [];
  const aggRuns: number[] = [];
  const insertRuns: number[] = [];
  let statuses: Record<string, number> = {};
  let width = 0;
  let sample: Record<string, unknown>[] = [];
  for (let r = 0; r < rounds; r++) {
    await emptyTable(knex, engine, 'mod_overusage_charges');
    // and no period is marked rated any more (migrations/20270102000000_rated_periods.ts)
    await knex('mod_overusage_periods').where({ rated: true }).update({ rated: false });
    // each timed part starts with a clean heap (run with --expose-gc)
    gc();
    t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const gc0 = gcMs();
    // the rating's own memory: RSS when it starts and the highest seen while it runs (the process's
    // peak also holds the seed's and the baseline's rows)
    const rss = { before: process.memoryUsage.rss(), max: 0 };
    const watch = setInterval(() => (rss.max = Math.max(rss.max, process.memoryUsage.rss())), 100);
    const out = await mod.rating.rateClosedPeriods().finally(() => clearInterval(watch));
    ratingRuns.push(seconds(t0));
    rssRuns.push([rss.before, rss.max].map((b) => Math.round(b / 2 ** 20)) as [number, number]);
    const cpu = process.cpuUsage(cpu0);
    // where the time goes on our side: the Node thread's CPU, and how much of it the collector took
    nodeCpuRuns.push((cpu.user + cpu.system) / 1e6);
    gcRuns.push((gcMs() - gc0) / 1000);
    if (out.rated !== N || out.skipped.length)
      throw new Error(
        `rated ${out.rated} of ${N}, skipped ${out.skipped.length}: ${JSON.stringify(out.skipped[0])}`,
      );
    say(`round ${r + 1}: rateClosedPeriods ${ratingRuns[r]!.toFixed(2)} s`);

    if (r === 0) {
      const rows: Array<{ status: string; n: unknown }> = await knex('mod_overusage_charges')
        .groupBy('status')
        .select('status', knex.raw('COUNT(*) AS n'));
      statuses = Object.fromEntries(rows.map((x) => [x.status, Number(x.n)]));
      const w = await knex('mod_overusage_charges')
        .avg({ w: knex.raw('LENGTH(explanation)') })
        .first();
      width = Math.round(Number(w?.w));
      // The baseline writes the rating's own rows: the same widths and the same text to escape.
      sample = await knex('mod_overusage_charges').select(CHARGE_COLUMNS).orderBy('period_id');
    }

    await emptyTable(knex, engine, 'bench_scratch');
    gc();
    t0 = process.hrtime.bigint();
    const sums = await aggregate(knex);
    aggRuns.push(seconds(t0));
    if (sums.length !== N) throw new Error(`the aggregate returned ${sums.length} rows, not ${N}`);
    t0 = process.hrtime.bigint();
    await bulkInsert(knex, engine, sums, sample);
    insertRuns.push(seconds(t0));
    say(`round ${r + 1}: aggregate ${aggRuns[r]!.toFixed(2)} s + bulk insert ${insertRuns[r]!.toFixed(2)} s`);
  }

  // Best of the rounds, for the value and for the baseline alike.
  const rating = Math.min(...ratingRuns);
  const baselineRuns = aggRuns.map((a, i) => a + insertRuns[i]!);
  const baseline = Math.min(...baselineRuns);
  process.stdout.write(
    JSON.stringify({
      engine,
      services: N,
      intervals: N * MAY.days,
      seedSeconds,
      rating,
      baseline,
      ratingRuns,
      nodeCpuRuns,
      gcRuns,
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      rssRuns,
      aggRuns,
      insertRuns,
      statuses,
      explanationWidth: width,
    }) + '\n',
  );
} finally {
  if (args.keep) say(`kept database ${db.url}`);
  else await db.drop().catch(() => {});
}

async function emptyTable(knex: Knex, engine: string, table: string): Promise<void> {
  if (engine === 'mysql') await knex.raw(`TRUNCATE TABLE ${table}`);
  else await knex(table).delete();
}

/** A copy of the charges table, indexes and all: the rows land where the rating's rows land. */
async function createScratch(knex: Knex, engine: string): Promise<void> {
  if (engine === 'mysql') {
    await knex.raw('CREATE TABLE bench_scratch LIKE mod_overusage_charges');
    return;
  }
  const defs = await knex('sqlite_master')
    .where({ tbl_name: 'mod_overusage_charges' })
    .whereNotNull('sql')
    .orderBy('type', 'desc')
    .select('sql');
  for (const d of defs) await knex.raw(String(d.sql).replaceAll('mod_overusage_charges', 'bench_scratch'));
}

function aggregate(knex: Knex): Promise<Array<{ period_id: unknown; total: unknown }>> {
  return knex('mod_overusage_intervals')
    .groupBy('period_id')
    .select('period_id', knex.raw('SUM(bytes) AS total'));
}

/** One row per aggregate result, with the values of the rating's row for that period, in multi-row INSERTs in one transaction. */
async function bulkInsert(
  knex: Knex,
  engine: string,
  sums: Array<{ period_id: unknown; total: unknown }>,
  rows: Record<string, unknown>[],
): Promise<void> {
  const byPeriod = new Map(rows.map((r) => [Number(r.period_id), r]));
  const chunk = 1000;
  const q = (c: string) => (engine === 'mysql' ? `\`${c}\`` : `"${c}"`);
  const head = `INSERT INTO bench_scratch (${CHARGE_COLUMNS.map(q).join(', ')}) VALUES `;
  const tuple = `(${CHARGE_COLUMNS.map(() => '?').join(', ')})`;
  await knex.transaction(async (trx) => {
    for (let i = 0; i < sums.length; i += chunk) {
      const part = sums.slice(i, i + chunk);
      const bindings: unknown[] = [];
      for (const s of part) {
        const row = byPeriod.get(Number(s.period_id))!;
        for (const c of CHARGE_COLUMNS)
          bindings.push(c === 'used_bytes' ? String(s.total).replace(/\.0+$/, '') : row[c]);
      }
      await trx.raw(head + part.map(() => tuple).join(', '), bindings as Knex.RawBinding[]);
    }
  });
}
