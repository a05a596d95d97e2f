/**
 * Bulk data for the billing benchmarks, written straight with SQL (metering 100 000 services for
 * 31 days through the real code would take longer than the benchmarks themselves): N services on
 * one master, each with one closed May period whose 31 daily intervals sum exactly to its
 * used_bytes, laid out as metering writes them — day by day for every service, so one period's
 * rows are spread over the table, not side by side.
 */
import type { Knex } from 'knex';
import type { Engine } from '../module/adapters/database.js';

export const MAY = { start: '2026-05-01', end: '2026-05-31', days: 31 } as const;
const STAMP = '2026-06-01 21:50:00.000';
const GB = 10n ** 9n;

/** Products: 1 per GB over 5 TB, 2 per started TB over 4 TB, 3 not billed (no profile). */
export const PRODUCT_OF = (serviceId: number) => (serviceId % 10 === 0 ? 3 : (serviceId % 2) + 1);
/** client ids: two services per client */
export const CLIENT_OF = (serviceId: number) => Math.floor((serviceId - 1) / 2) + 1;

// GB a day, 0..319: the month ends between 0 and ~9.9 TB, about half over a 5 TB allowance.
const RATE_SQL = '((s.n * 7919 + 13) % 320)';
/** bytes of service s on day d (0-based): the same expression in SQL and in JS */
const bytesSql = (d: string) => `(${RATE_SQL} * ${GB} + (s.n % 1000) * 1000003 + ${d} * 999983)`;
export function usedBytesOf(serviceId: number): bigint {
  const rate = BigInt((serviceId * 7919 + 13) % 320);
  const s = BigInt(serviceId);
  // Σ d for d = 0..30 is 465
  return 31n * (rate * GB + (s % 1000n) * 1000003n) + 465n * 999983n;
}

/** A row source `s` of s.n = 1..n: MariaDB's sequence engine, or a recursive CTE on SQLite (put `withSeq` before the SELECT). */
export function counting(engine: Engine, n: number): { withSeq: string; from: string } {
  return engine === 'mysql'
    ? { withSeq: '', from: `(SELECT seq AS n FROM seq_1_to_${n}) s` }
    : {
        withSeq: `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${n}) `,
        from: 'seq s',
      };
}

export interface SeedOptions {
  services: number;
  masterId: number;
}

/**
 * Services, their May periods (closed at the reset on 1 June), the last May sample of each and the
 * 3.1 M intervals. Ids are dense: service s has period s; interval and sample ids are day × N + s.
 */
export async function seedClosedMay(knex: Knex, engine: Engine, opts: SeedOptions): Promise<void> {
  const N = opts.services;
  const mysql = engine === 'mysql';
  const { withSeq, from: services } = counting(engine, N);
  const date = (d: number) =>
    mysql ? `DATE_ADD('${MAY.start}', INTERVAL ${d} DAY)` : `date('${MAY.start}', '+${d} days')`;
  const product = `CASE WHEN s.n % 10 = 0 THEN 3 ELSE (s.n % 2) + 1 END`;
  const client = mysql ? `(FLOOR((s.n - 1) / 2) + 1)` : `((s.n - 1) / 2 + 1)`;
  const lastSample = `(${MAY.days - 1} * ${N} + s.n)`;
  let used = '0';
  for (let d = 0; d < MAY.days; d++) used += ` + ${bytesSql(String(d))}`;

  const work = async (db: Knex | Knex.Transaction) => {
    // on SQLite the counting CTE goes between INSERT INTO … (cols) and its SELECT
    const insert = async (head: string, select: string) => {
      await db.raw(`${head} ${withSeq}${select}`);
    };
    await insert(
      `INSERT INTO mod_overusage_services (service_id, client_id, product_id, master_id, server_ref, active, last_sample_id, last_sample_date, created_at, updated_at, currency, regdate)`,
      `SELECT s.n, ${client}, ${product}, ${opts.masterId}, CAST(s.n AS CHAR), 1, ${lastSample}, '${MAY.end}', '${STAMP}', '${STAMP}', 'EUR', '2024-01-15' FROM ${services}`,
    );
    await insert(
      `INSERT INTO mod_overusage_samples (id, service_id, master_id, server_ref, sample_date, sampled_at, used_bytes, limit_bytes, incoming_bytes, outgoing_bytes, state, raw, run_id)`,
      `SELECT ${lastSample}, s.n, ${opts.masterId}, CAST(s.n AS CHAR), '${MAY.end}', '2026-05-31 19:50:00.000', ${used}, ${5000n * GB}, NULL, NULL, 'online', 'bench', NULL FROM ${services}`,
    );
    await insert(
      `INSERT INTO mod_overusage_periods (id, service_id, start_date, end_date, status, opened_by, closed_by, used_bytes, reset_at, unmeasured_after, anomaly, last_sample_id, created_at, closed_at)`,
      `SELECT s.n, s.n, '${MAY.start}', '${MAY.end}', 'closed', 'policy_reset', 'policy_reset', ${used}, '2026-05-31 22:00:00.000', '2026-05-31 19:50:00.000', NULL, ${lastSample}, '2026-04-30 21:50:00.000', '${STAMP}' FROM ${services}`,
    );
    // One statement per day, in the order metering writes them.
    for (let d = 0; d < MAY.days; d++) {
      await insert(
        `INSERT INTO mod_overusage_intervals (id, service_id, period_id, from_sample_id, to_sample_id, kind, from_date, to_date, bytes)`,
        `SELECT ${d} * ${N} + s.n, s.n, s.n, ${d === 0 ? 'NULL' : `${d - 1} * ${N} + s.n`}, ${d} * ${N} + s.n, '${d === 0 ? 'since_reset' : 'daily'}', ${date(d)}, ${date(d)}, ${bytesSql(String(d))} FROM ${services}`,
      );
    }
  };
  if (mysql) await work(knex);
  else await knex.transaction(work);
}

/** The billing profiles of products 1 and 2, plus a few overrides, as an admin would set them. */
export const PROFILES = {
  1: {
    unit: 'GB',
    model: 'per_unit',
    allowance: '5 TB',
    prices: { EUR: { overage: '0.50', precommit: '0.35', minimum: '25.00', cap: '2500.00' } },
    panelOverageOff: true,
  },
  2: {
    unit: 'TB',
    model: 'per_block',
    blockUnits: 1,
    allowance: '4 TB',
    tolerance: '50 GB',
    prices: { EUR: { overage: '250.00', minimum: '5.00' } },
    window: { days: 10, counting: 'business', holidays: 'NL' },
    panelOverageOff: true,
  },
} as const;

/** Checks the generator against its closed form, so a wrong seed never benchmarks nonsense. */
export async function checkSeed(knex: Knex, services: number): Promise<void> {
  const probe = [1, 2, Math.floor(services / 2), services].filter((v, i, a) => a.indexOf(v) === i);
  for (const id of probe) {
    const p = await knex('mod_overusage_periods').where({ id }).first('used_bytes');
    const sum = await knex('mod_overusage_intervals')
      .where({ period_id: id })
      .sum({ t: 'bytes' })
      .count({ n: '*' })
      .first();
    const want = usedBytesOf(id);
    const got = BigInt(String(p.used_bytes));
    const total = BigInt(String(sum?.t).replace(/\.0+$/, ''));
    if (got !== want || total !== want || Number(sum?.n) !== MAY.days)
      throw new Error(
        `seed check failed for period ${id}: used ${got}, intervals ${total} in ${sum?.n} rows, expected ${want}`,
      );
  }
}
