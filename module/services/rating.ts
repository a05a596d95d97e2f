import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { addDays, daysBetween, type IsoDate, maxDate, startOfDay } from '../domain/calendar.js';
import { rateUsage, type RatedCharge, type RatingPlan } from '../domain/usage-rating.js';
import { engineOf } from '../adapters/database.js';
import { sqlBig, sqlInstant, toBig, toBigOrNull, toDate, toDateOrNull, toNum } from '../adapters/rows.js';
import type { Logger } from '../adapters/logger.js';
import { SYSTEM, type Actor, type AuditLog } from '../adapters/audit-store.js';
import {
  PlanNotPossible,
  ratingPlan,
  type BillingProfile,
  type BillingSettingsService,
} from './billing-settings.js';
import { cappedPlan, type ClientCap } from '../domain/client-cap.js';
import { upgradeCredit } from '../domain/upgrade-figures.js';
import type { DateTime } from 'luxon';
import { TABLES } from '../adapters/tables.js';

/** client-chosen caps, set and lifted (module/services/caps.ts) */
export interface CapsInForce {
  history(
    serviceIds: readonly number[],
  ): Promise<Array<{ serviceId: number; cap: ClientCap; setAt: DateTime; liftedAt: DateTime | null }>>;
}

export type ChargeStatus =
  'unbilled' | 'billed' | 'written_off' | 'within_allowance' | 'not_billed' | 'pooled' | 'void';

export interface RatingSkip {
  periodId: number;
  serviceId: number;
  reason: string;
}

export interface RatingResult {
  rated: number;
  skipped: RatingSkip[];
}

/** What rating a period again did to its charges. */
export type RerateOutcome =
  /** not rated yet (still open, or waiting for rating): nothing to replace */
  | { kind: 'not_rated' }
  /** closed but not rated yet: rated now */
  | { kind: 'rated'; chargeId: number; currency: string; afterMinor: bigint }
  /** the figures did not change what it bills */
  | { kind: 'unchanged'; chargeId: number }
  /** not on any invoice yet: the charge now says what the period bills */
  | { kind: 'replaced'; chargeId: number; currency: string; beforeMinor: bigint; afterMinor: bigint }
  /** already invoiced: a correction charge for the difference goes on the next invoice (held for an admin when a line of the period is disputed) */
  | {
      kind: 'corrected';
      chargeId: number;
      currency: string;
      billedMinor: bigint;
      afterMinor: bigint;
      differenceMinor: bigint;
      status: string;
    }
  /** the period cannot be rated as it stands (its figures do not add up, its plan is impossible) */
  | { kind: 'skipped'; reason: string };

export interface RerateCause {
  actor: Actor;
  /** what changed the period, for the audit row ("anomaly.decided", "periods.rebuilt") */
  because: string;
  details?: Record<string, unknown>;
}

export interface RatingService {
  rateClosedPeriods(opts?: { serviceIds?: number[]; pageSize?: number }): Promise<RatingResult>;
  /**
   * Rates one closed period again after its figures changed (an admin's decision on a counter
   * drop, a rebuild from the samples). Never edits what was invoiced: while no line carries the
   * period's charge it is replaced; once one does, the difference becomes a correction charge.
   */
  reratePeriod(periodId: number, cause: RerateCause): Promise<RerateOutcome>;
}

const PERIODS = 'mod_overusage_periods';
const CHARGES = 'mod_overusage_charges';
// rows per INSERT: 16 columns × 1000 stays under SQLite's 32 766 parameters
const INSERT_CHUNK = 1000;
const CHARGE_COLUMNS = [
  'period_id',
  'service_id',
  'client_id',
  'product_id',
  'period_start',
  'period_end',
  'currency',
  'used_bytes',
  'rated_at',
  'allowance_bytes',
  'over_bytes',
  'amount_minor',
  'rounded_minor',
  'status',
  'taxed',
  'explanation',
] as const;

const bigintJson = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
const NOT_BILLED = JSON.stringify({ reason: 'the product is not billed for overusage' });

type RatingDeps = {
  knex: Knex;
  clock: Clock;
  billing: BillingSettingsService;
  log: Logger;
  audit: AuditLog;
  caps?: CapsInForce;
};

export function createRatingService(deps: RatingDeps): RatingService {
  return {
    reratePeriod: (periodId, cause) => reratePeriod(deps, periodId, cause),
    rateClosedPeriods: (opts = {}) => rateClosedPeriods(deps, opts),
  };
}

/** One rating run's shared state: what is memoised, loaded once, carried to the end, and its result. */
interface RatingRun {
  deps: RatingDeps;
  opts: { serviceIds?: number[]; pageSize?: number };
  pageSize: number;
  result: RatingResult;
  memo: RatingMemo;
  masters: Map<number, MasterRule>;
  profileFor: Awaited<ReturnType<BillingSettingsService['snapshot']>> | null;
  loading: Promise<void> | null;
  /** periods that carry charges from before a rebuild: rated one by one, after the pages */
  carried: number[];
}

interface RatingPage {
  rows: Record<string, unknown>[];
  sums: Map<number, bigint>;
  lastId: number | null;
  full: boolean;
}

async function rateClosedPeriods(
  deps: RatingDeps,
  opts: { serviceIds?: number[]; pageSize?: number },
): Promise<RatingResult> {
  const { knex } = deps;
  const run: RatingRun = {
    deps,
    opts,
    pageSize: opts.pageSize ?? 2000,
    result: { rated: 0, skipped: [] },
    // Most periods share their dates, zone and plan: the calendar arithmetic (luxon) and the
    // plan parsing dominated a 100 000-period run when done per period.
    memo: { shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() },
    masters: new Map(),
    profileFor: null,
    loading: null,
    carried: [],
  };
  // The next page is read while this one is rated, and written while the next is rated: the
  // database and the rating overlap instead of taking turns. One write at a time, in order.
  let next: Promise<RatingPage> | null = fetchPage(run, 0);
  let writing: Promise<void> = Promise.resolve();
  try {
    while (next) {
      const { rows, sums, lastId, full } = await next;
      next = null;
      if (lastId === null) break;
      if (full) {
        next = fetchPage(run, lastId);
        next.catch(() => {}); // handled when awaited; never an unhandled rejection meanwhile
      }
      if (rows.some((r) => !run.masters.has(toNum(r.master_id)))) run.masters = await loadMasters(knex);
      const charges = ratePage(run, rows, sums);
      await writing;
      // A page of several statements in one transaction (one commit); a single one needs none.
      const insert = (db: Knex | Knex.Transaction) => insertCharges(db, charges);
      writing = charges.length > INSERT_CHUNK ? retryTransaction(knex, insert) : insert(knex);
      writing.catch(() => {});
      run.result.rated += charges.length;
    }
    await writing;
  } finally {
    // on a failure, nothing is left running behind the caller's back
    await Promise.allSettled([next, writing]);
  }
  for (const periodId of run.carried) {
    const out = await reratePeriod(deps, periodId, { actor: SYSTEM, because: 'period.closed' });
    if (out.kind === 'skipped') run.result.skipped.push({ periodId, serviceId: 0, reason: out.reason });
    else if (out.kind !== 'not_rated') run.result.rated++;
  }
  if (run.result.skipped.length)
    deps.log.warn('rating.skipped', { count: run.result.skipped.length, first: run.result.skipped[0] });
  return run.result;
}

/**
 * Masters are few; joined in the page query, MySQL put them first and sorted every closed period
 * after the cursor for each page. They and the billing settings are read with the first page that
 * has periods: the InvoiceCreation hook asks about one service whose period is usually rated
 * already, and then needs nothing else.
 */
const loadSettings = (run: RatingRun): Promise<void> =>
  (run.loading ??= Promise.all([run.deps.billing.snapshot(), loadMasters(run.deps.knex)]).then(([p, m]) => {
    run.profileFor = p;
    run.masters = m;
  }));

/** The closed periods not rated yet after `after`, one page, with their evidence's sums, caps, upgrades and rates. */
async function fetchPage(run: RatingRun, after: number): Promise<RatingPage> {
  const { knex } = run.deps;
  const q = knex(`${PERIODS} as p`)
    .join('mod_overusage_services as s', 's.service_id', 'p.service_id')
    .leftJoin(`${CHARGES} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
    .leftJoin('mod_overusage_samples as smp', 'smp.id', 'p.last_sample_id')
    .where('p.status', 'closed')
    .whereNull('c.id')
    .andWhere('p.id', '>', after)
    .select(
      'p.id',
      'p.service_id',
      'p.start_date',
      'p.end_date',
      'p.used_bytes',
      'p.opened_by',
      's.client_id',
      's.product_id',
      's.currency',
      's.regdate',
      's.reset_policy',
      's.reset_day',
      's.master_id',
      'smp.limit_bytes',
    )
    .orderBy('p.id')
    .limit(run.pageSize);
  if (run.opts.serviceIds) q.whereIn('p.service_id', run.opts.serviceIds);
  let rows: Record<string, unknown>[] = await q;
  const lastId = rows.length ? toNum(rows[rows.length - 1]!.id) : null;
  const full = rows.length === run.pageSize;
  // The evidence must add up: the daily rows of each period sum to its total, or it is not rated.
  const sums = new Map<number, bigint>();
  if (rows.length === 0) return { rows, sums, lastId, full };
  const [agg, others]: [Array<{ period_id: unknown; total: unknown }>, Array<{ period_id: unknown }>, void] =
    await Promise.all([
      knex('mod_overusage_intervals')
        .whereIn(
          'period_id',
          rows.map((r) => r.id as number),
        )
        .groupBy('period_id')
        .select('period_id', knex.raw('SUM(bytes) AS total')),
      knex(CHARGES)
        .whereIn(
          'period_id',
          rows.map((r) => r.id as number),
        )
        .distinct('period_id'),
      loadSettings(run),
    ]);
  if (others.length) {
    const ids = new Set(others.map((o) => toNum(o.period_id)));
    run.carried.push(...ids);
    rows = rows.filter((r) => !ids.has(toNum(r.id)));
  }
  // MySQL sums BIGINT into DECIMAL (a string, maybe with ".0"); SQLite into an integer
  for (const a of agg) sums.set(toNum(a.period_id), toBig(String(a.total).replace(/\.0+$/, '')));
  await attachCaps(run.deps.caps, rows, run.masters);
  await attachUpgrades(knex, rows);
  // The 95th-percentile model needs the period's five-minute rates (imported: SolusVM keeps none).
  await Promise.all(
    rows.map(async (r) => {
      const profile = run.profileFor!(toNum(r.product_id), toNum(r.service_id), toNum(r.client_id));
      const master = run.masters.get(toNum(r.master_id));
      if (profile?.model !== 'p95' || !master) return;
      r.five_minute_bps = await fiveMinuteRates(knex, r, String(master.time_zone));
    }),
  );
  return { rows, sums, lastId, full };
}

/** The charge rows of one page; a period whose figures do not add up, or whose plan is impossible, is skipped and said why. */
function ratePage(
  run: RatingRun,
  rows: Record<string, unknown>[],
  sums: Map<number, bigint>,
): Record<string, unknown>[] {
  const now = sqlInstant(run.deps.clock.now());
  const charges: Record<string, unknown>[] = [];
  for (const r of rows) {
    const periodId = toNum(r.id);
    const serviceId = toNum(r.service_id);
    const master = run.masters.get(toNum(r.master_id));
    // a service whose master is gone is not rated (as an inner join would leave it out)
    if (!master) continue;
    const used = toBig(r.used_bytes);
    if ((sums.get(periodId) ?? 0n) !== used) {
      run.result.skipped.push({
        periodId,
        serviceId,
        reason: `its daily figures sum to ${sums.get(periodId) ?? 0n} bytes, not the ${used} bytes counted; not rated`,
      });
      continue;
    }
    const upgrade = (r.upgrade as UpgradeInPeriod | undefined) ?? null;
    // the period an upgrade falls in is rated on the plan it began on (less the credit)
    const productId = upgrade ? upgrade.fromProductId : toNum(r.product_id);
    const clientId = toNum(r.client_id);
    const profile = run.profileFor!(productId, serviceId, clientId);
    const key: ChargeKey = { periodId, serviceId, clientId, productId, used, now };
    if (!profile) {
      charges.push(chargeRow(r, key, null, null, run.memo));
      continue;
    }
    try {
      charges.push(
        creditUpgrade(
          chargeRow(
            r,
            key,
            rate(r, master, used, profile, run.memo, (r.client_cap as ClientCap | undefined) ?? null),
            profile,
            run.memo,
          ),
          upgrade,
        ),
      );
    } catch (err) {
      if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
      run.result.skipped.push({ periodId, serviceId, reason: (err as Error).message });
    }
  }
  return charges;
}

/**
 * INSERT … VALUES of many charges; a period rated meanwhile keeps its charge (the unique
 * period_id). Written out here because knex sends SQLite a multi-row insert as a compound SELECT,
 * which compiles far slower than a VALUES list and stops at 500 rows.
 */
async function insertCharges(db: Knex | Knex.Transaction, charges: Record<string, unknown>[]): Promise<void> {
  const mysql = engineOf(db as Knex) === 'mysql';
  const tuple = `(${CHARGE_COLUMNS.map(() => '?').join(', ')})`;
  for (let i = 0; i < charges.length; i += INSERT_CHUNK) {
    const part = charges.slice(i, i + INSERT_CHUNK);
    const bindings: unknown[] = [];
    for (const c of part) for (const k of CHARGE_COLUMNS) bindings.push(c[k]);
    const values = part.map(() => tuple).join(', ');
    const sql = mysql
      ? `INSERT IGNORE INTO ${CHARGES} (${CHARGE_COLUMNS.join(', ')}) VALUES ${values}`
      : `INSERT INTO ${CHARGES} (${CHARGE_COLUMNS.join(', ')}) VALUES ${values} ON CONFLICT (period_id, seq) DO NOTHING`;
    await db.raw(sql, bindings as Knex.RawBinding[]);
  }
}

interface ChargeKey {
  periodId: number;
  serviceId: number;
  clientId: number;
  productId: number;
  used: bigint;
  now: string;
}

/** The charge row: rated, or recorded as not billed when the product has no profile. One literal, no spreads. */
function chargeRow(
  r: Record<string, unknown>,
  k: ChargeKey,
  rated: RatedCharge | null,
  profile: BillingProfile | null,
  memo: RatingMemo,
): Record<string, unknown> {
  return {
    period_id: k.periodId,
    service_id: k.serviceId,
    client_id: k.clientId,
    product_id: k.productId,
    period_start: toDate(r.start_date),
    period_end: toDate(r.end_date),
    currency: String(r.currency),
    used_bytes: sqlBig(k.used),
    rated_at: k.now,
    allowance_bytes: rated ? sqlBig(rated.allowanceBytes) : '0',
    over_bytes: rated ? sqlBig(rated.overBytes) : '0',
    // a pooled service's own period is evidence only: the pool's charge bills (module/services/pools.ts)
    amount_minor: rated && !profile?.pool ? sqlBig(rated.amountMinor) : '0',
    rounded_minor: rated ? sqlBig(rated.roundedMinor) : '0',
    status: rated
      ? profile?.pool
        ? 'pooled'
        : rated.outcome === 'billed'
          ? 'unbilled'
          : rated.outcome
      : 'not_billed',
    taxed: rated && profile ? profile.taxed : false,
    explanation: rated && profile ? explain(rated, profile, memo) : NOT_BILLED,
  };
}

/** A period's five-minute rates, from the day the service had it (the 95th-percentile model; SolusVM keeps none). */
export async function fiveMinuteRates(
  knex: Knex,
  r: Record<string, unknown>,
  zone: string,
): Promise<bigint[]> {
  const regdate = toDateOrNull(r.regdate);
  const from = regdate ? maxDate(toDate(r.start_date), regdate) : toDate(r.start_date);
  const rates = await knex('mod_overusage_rate_samples')
    .where({ service_id: toNum(r.service_id) })
    .andWhere('slot_at', '>=', sqlInstant(startOfDay(from, zone)))
    .andWhere('slot_at', '<', sqlInstant(startOfDay(addDays(toDate(r.end_date), 1), zone)))
    .select('bps');
  return rates.map((x) => toBig(x.bps));
}

export interface MasterRule {
  reset_policy: unknown;
  time_zone: unknown;
}

export async function loadMasters(knex: Knex): Promise<Map<number, MasterRule>> {
  const rows = await knex('mod_overusage_masters').select('id', 'reset_policy', 'time_zone');
  return new Map(rows.map((m) => [toNum(m.id), { reset_policy: m.reset_policy, time_zone: m.time_zone }]));
}

interface PeriodShape {
  days: number;
  nominalDays: number;
  seconds: bigint;
}

export interface RatingMemo {
  shapes: Map<string, PeriodShape>;
  plans: WeakMap<BillingProfile, Map<string, RatingPlan>>;
  profileJson: WeakMap<BillingProfile, string>;
}

/** One period through the product's model: partial periods prorated, the allowance from SolusVM when asked. */
interface UpgradeInPeriod {
  fromProductId: number;
  toProductId: number;
  percent: number;
}

/** Upgrades asked for during each period (module/services/upgrades.ts): one query per page. */
async function attachUpgrades(knex: Knex, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const ups = await knex('mod_overusage_upgrades')
    .whereIn('service_id', [...new Set(rows.map((r) => toNum(r.service_id)))])
    .orderBy('id')
    .select('service_id', 'from_product_id', 'to_product_id', 'requested_on', 'credit_percent');
  if (ups.length === 0) return;
  for (const r of rows) {
    const start = toDate(r.start_date);
    const end = toDate(r.end_date);
    const u = ups.find(
      (x) =>
        toNum(x.service_id) === toNum(r.service_id) &&
        toDate(x.requested_on) >= start &&
        toDate(x.requested_on) <= end,
    );
    if (u)
      r.upgrade = {
        fromProductId: toNum(u.from_product_id),
        toProductId: toNum(u.to_product_id),
        percent: toNum(u.credit_percent),
      } satisfies UpgradeInPeriod;
  }
}

/** The provider's credit on an upgrade: a share of the period's billed overusage, said in the explanation. */
function creditUpgrade(
  row: Record<string, unknown>,
  upgrade: UpgradeInPeriod | null,
): Record<string, unknown> {
  if (!upgrade || upgrade.percent === 0 || row.status !== 'unbilled') return row;
  const amount = toBig(row.amount_minor);
  const credited = upgradeCredit(amount, upgrade.percent);
  const explanation = JSON.parse(String(row.explanation)) as Record<string, unknown>;
  explanation.upgradeCredit = {
    percent: upgrade.percent,
    creditedMinor: credited.toString(),
    toProductId: upgrade.toProductId,
  };
  const after = amount - credited;
  return {
    ...row,
    amount_minor: sqlBig(after),
    status: after > 0n ? 'unbilled' : 'written_off',
    explanation: JSON.stringify(explanation),
  };
}

/** The client's cap in force at each period's end (midnight after its last day, in its master's zone). */
async function attachCaps(
  caps: CapsInForce | undefined,
  rows: Record<string, unknown>[],
  masters: Map<number, MasterRule>,
): Promise<void> {
  if (!caps || rows.length === 0) return;
  const endOf = new Map<number, DateTime>();
  for (const r of rows) {
    const m = masters.get(toNum(r.master_id));
    if (m) endOf.set(toNum(r.id), startOfDay(addDays(toDate(r.end_date), 1), String(m.time_zone)));
  }
  // one query per page: the caps of its services, matched to each period's end here
  const history = await caps.history([...new Set(rows.map((r) => toNum(r.service_id)))]);
  if (history.length === 0) return;
  for (const r of rows) {
    const end = endOf.get(toNum(r.id));
    if (!end) continue;
    const inForce = history
      .filter(
        (h) =>
          h.serviceId === toNum(r.service_id) && h.setAt < end && (h.liftedAt === null || h.liftedAt >= end),
      )
      .at(-1);
    if (inForce) r.client_cap = inForce.cap;
  }
}

export function rate(
  r: Record<string, unknown>,
  master: MasterRule,
  used: bigint,
  profile: BillingProfile,
  memo: RatingMemo,
  cap: ClientCap | null = null,
): RatedCharge {
  const zone = String(master.time_zone);
  const start = toDate(r.start_date);
  const end = toDate(r.end_date);
  // A service registered during the period only had part of it; the period itself is always a
  // whole span of the billing calendar, whatever the counter did, so nothing else is prorated.
  const regdate = toDateOrNull(r.regdate);
  const from: IsoDate = regdate ? maxDate(start, regdate) : start;
  const shapeKey = `${zone}|${start}|${end}|${from}`;
  let shape = memo.shapes.get(shapeKey);
  if (!shape) {
    const days = Math.max(1, daysBetween(from, end) + 1);
    const nominalDays = Math.max(days, daysBetween(start, end) + 1);
    const seconds = BigInt(
      Math.round(startOfDay(addDays(end, 1), zone).diff(startOfDay(from, zone), 'seconds').seconds),
    );
    shape = { days, nominalDays, seconds };
    memo.shapes.set(shapeKey, shape);
  }
  const currency = String(r.currency);
  const limit = toBigOrNull(r.limit_bytes);
  // the plan depends on SolusVM's limit only when the allowance comes from there
  const planKey = `${currency}|${profile.allowance === 'solusvm' ? String(limit) : ''}`;
  let plans = memo.plans.get(profile);
  if (!plans) memo.plans.set(profile, (plans = new Map()));
  let plan = plans.get(planKey);
  if (!plan) {
    plan = ratingPlan(profile, currency, limit);
    plans.set(planKey, plan);
  }
  const fiveMinuteBps = r.five_minute_bps as bigint[] | undefined;
  if (cap) {
    // the client's cap: the period never bills more (a cap the plan no longer fits is left out)
    try {
      plan = cappedPlan(plan, cap);
    } catch {
      /* the product's plan as it is */
    }
  }
  return rateUsage({ usedBytes: used, ...shape, ...(fiveMinuteBps ? { fiveMinuteBps } : {}) }, plan);
}

/** The stored explanation, byte for byte JSON.stringify({ rated, profile }) with bigints as strings; the profile is written once. */
function explain(rated: RatedCharge, profile: BillingProfile, memo: RatingMemo): string {
  let p = memo.profileJson.get(profile);
  if (p === undefined) memo.profileJson.set(profile, (p = JSON.stringify(profile, bigintJson)));
  // A rated charge is flat: bigints become strings in a copy, which JSON.stringify then writes on
  // its fast path (a replacer function costs a call per key).
  const flat: Record<string, unknown> = {};
  for (const k of Object.keys(rated)) {
    const v = (rated as unknown as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null)
      return `{"rated":${JSON.stringify(rated, bigintJson)},"profile":${p}}`;
    flat[k] = typeof v === 'bigint' ? v.toString() : v;
  }
  return `{"rated":${JSON.stringify(flat)},"profile":${p}}`;
}

const LINES = 'mod_overusage_lines';
const DISPUTES = 'mod_overusage_disputes';
// charges no invoice carries yet: rating them again replaces them
const REPLACEABLE = new Set(['unbilled', 'within_allowance', 'written_off', 'not_billed', 'pooled']);

type RerateDeps = {
  knex: Knex;
  clock: Clock;
  billing: BillingSettingsService;
  audit: AuditLog;
  caps?: CapsInForce;
};

/** What a period bills when rated now from its intervals, or why it is not rated. */
type FreshRating = {
  kind: 'fresh';
  fresh: Record<string, unknown>;
  after: bigint;
  currency: string;
  now: DateTime;
};

async function rateAfresh(
  deps: RerateDeps,
  periodId: number,
): Promise<FreshRating | Extract<RerateOutcome, { kind: 'not_rated' | 'skipped' }>> {
  const { knex } = deps;
  const r = await knex(`${PERIODS} as p`)
    .join('mod_overusage_services as s', 's.service_id', 'p.service_id')
    .leftJoin('mod_overusage_samples as smp', 'smp.id', 'p.last_sample_id')
    .where('p.id', periodId)
    .first(
      'p.id',
      'p.service_id',
      'p.start_date',
      'p.end_date',
      'p.status',
      'p.used_bytes',
      's.client_id',
      's.product_id',
      's.currency',
      's.regdate',
      's.master_id',
      'smp.limit_bytes',
    );
  if (!r || r.status !== 'closed') return { kind: 'not_rated' };
  const [masters, currentProfile, agg] = await Promise.all([
    loadMasters(knex),
    deps.billing.forService(toNum(r.product_id), toNum(r.service_id), toNum(r.client_id)),
    knex(TABLES.intervals).where({ period_id: periodId }).first(knex.raw('SUM(bytes) AS total')),
  ]);
  const master = masters.get(toNum(r.master_id));
  if (!master) return { kind: 'skipped', reason: 'its SolusVM master is gone' };
  const used = toBig(r.used_bytes);
  const sum =
    agg?.total === null || agg?.total === undefined ? 0n : toBig(String(agg.total).replace(/\.0+$/, ''));
  if (sum !== used)
    return {
      kind: 'skipped',
      reason: `its daily figures sum to ${sum} bytes, not the ${used} bytes counted; not rated`,
    };
  if (currentProfile?.model === 'p95')
    r.five_minute_bps = await fiveMinuteRates(knex, r, String(master.time_zone));
  r.id = periodId;
  await attachCaps(deps.caps, [r], masters);
  await attachUpgrades(knex, [r]);
  const upgrade = (r.upgrade as UpgradeInPeriod | undefined) ?? null;
  // the period an upgrade falls in is rated on the plan it began on
  const profile = upgrade
    ? await deps.billing.forService(upgrade.fromProductId, toNum(r.service_id), toNum(r.client_id))
    : currentProfile;
  if (upgrade) r.product_id = upgrade.fromProductId;
  const memo: RatingMemo = { shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() };
  const now = deps.clock.now();
  const key: ChargeKey = {
    periodId,
    serviceId: toNum(r.service_id),
    clientId: toNum(r.client_id),
    productId: toNum(r.product_id),
    used,
    now: sqlInstant(now),
  };
  let fresh: Record<string, unknown>;
  try {
    fresh = profile
      ? creditUpgrade(
          chargeRow(
            r,
            key,
            rate(r, master, used, profile, memo, (r.client_cap as ClientCap | undefined) ?? null),
            profile,
            memo,
          ),
          upgrade,
        )
      : chargeRow(r, key, null, null, memo);
  } catch (err) {
    if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
    return { kind: 'skipped', reason: (err as Error).message };
  }
  return { kind: 'fresh', fresh, after: toBig(fresh.amount_minor), currency: String(fresh.currency), now };
}

/** One rerating's transaction: the period's charges locked, who to tell in the audit log. */
interface RerateTx {
  trx: Knex.Transaction;
  periodId: number;
  rating: FreshRating;
  audit: (action: string, chargeId: number, details: Record<string, unknown>) => Promise<void>;
}

const chargeFigures = (c: Record<string, unknown>) => ({
  usedBytes: String(c.used_bytes),
  overBytes: String(c.over_bytes),
  amountMinor: String(c.amount_minor),
  status: c.status,
});

/** Nothing of the period is invoiced: its usage charge is written or replaced by the fresh rating. */
async function rerateUnbilled(
  t: RerateTx,
  usage: Record<string, unknown> | undefined,
): Promise<RerateOutcome> {
  const { trx, periodId } = t;
  const { fresh, after, currency } = t.rating;
  if (!usage) {
    await insertCharges(trx, [fresh]);
    const created = await trx(CHARGES).where({ period_id: periodId, seq: 0 }).first('id');
    await t.audit('charge.rated', toNum(created.id), { after: chargeFigures(fresh) });
    return { kind: 'rated', chargeId: toNum(created.id), currency, afterMinor: after };
  }
  const changed = ['used_bytes', 'allowance_bytes', 'over_bytes', 'amount_minor', 'status'].some(
    (k) => String(usage[k]) !== String(fresh[k]),
  );
  if (!changed) return { kind: 'unchanged', chargeId: toNum(usage.id) };
  const { period_id: _p, ...update } = fresh;
  await trx(CHARGES).where({ id: usage.id }).update(update);
  await t.audit('charge.rerated', toNum(usage.id), {
    before: chargeFigures(usage),
    after: chargeFigures(fresh),
  });
  return {
    kind: 'replaced',
    chargeId: toNum(usage.id),
    currency,
    beforeMinor: toBig(usage.amount_minor),
    afterMinor: after,
  };
}

/** Some of the period is invoiced: the difference to what the invoices bill is a correction for the next one. */
async function rerateInvoiced(
  t: RerateTx,
  cause: RerateCause,
  charges: Array<Record<string, unknown>>,
  invoiced: Array<Record<string, unknown>>,
  usage: Record<string, unknown> | undefined,
  lines: Array<Record<string, unknown>>,
): Promise<RerateOutcome> {
  const { trx, periodId } = t;
  const { fresh, after, currency } = t.rating;
  const audit = t.audit;
  // Invoiced: what the invoices already bill for these days (the rating, earlier corrections,
  // lines from before a rebuild); the difference is a correction for the next invoice.
  const billed = invoiced.reduce((sum, c) => sum + toBig(c.amount_minor), 0n);
  const difference = after - billed;
  if (usage && !invoiced.includes(usage))
    await trx(CHARGES).where({ id: usage.id }).update({ status: 'void' });
  if (difference === 0n && usage) return { kind: 'unchanged', chargeId: toNum(usage.id) } as const;
  // A disputed line of these days: the admin settles the dispute and the correction together. A
  // counter drop still undecided may change the figure again: the admin decides it first.
  const disputed = lines.length
    ? await trx(DISPUTES)
        .whereIn(
          'line_id',
          lines.map((l) => toNum(l.id)),
        )
        .whereNot({ state: 'withdrawn' })
        .first('id')
    : null;
  const undecided = await trx(TABLES.anomalies)
    .where({ period_id: periodId, kind: 'mid_period_drop', status: 'open' })
    .first('id');
  // Without a rating of its own yet (lines from before a rebuild), the correction is the period's rating.
  const seq = usage ? Math.max(...charges.map((c) => toNum(c.seq))) + 1 : 0;
  const status = difference === 0n ? 'void' : disputed || undecided ? 'review' : 'unbilled';
  const parsed = JSON.parse(String(fresh.explanation)) as {
    rated?: unknown;
    profile?: unknown;
    reason?: unknown;
  };
  const explanation = JSON.stringify({
    ...parsed,
    correction: {
      billedMinor: String(billed),
      afterMinor: String(after),
      differenceMinor: String(difference),
      because: cause.because,
    },
  });
  await trx(CHARGES).insert({
    ...fresh,
    seq,
    kind: 'correction',
    amount_minor: String(difference),
    rounded_minor: String(difference),
    status,
    explanation,
  });
  const created = await trx(CHARGES).where({ period_id: periodId, seq }).first('id');
  await audit('charge.corrected', toNum(created.id), {
    billedMinor: String(billed),
    afterMinor: String(after),
    differenceMinor: String(difference),
    status,
  });
  return {
    kind: 'corrected',
    chargeId: toNum(created.id),
    currency,
    billedMinor: billed,
    afterMinor: after,
    differenceMinor: difference,
    status,
  } as const;
}

async function reratePeriod(deps: RerateDeps, periodId: number, cause: RerateCause): Promise<RerateOutcome> {
  const rating = await rateAfresh(deps, periodId);
  if (rating.kind !== 'fresh') return rating;
  const { now } = rating;
  return retryTransaction(deps.knex, async (trx) => {
    // Locked as line placement reads them: a line being written waits, or is seen.
    const charges = await trx(CHARGES).where({ period_id: periodId }).orderBy('seq').forUpdate();
    const audit = (action: string, chargeId: number, details: Record<string, unknown>) =>
      deps.audit.record(
        trx,
        {
          actor: cause.actor,
          action,
          entityType: 'charge',
          entityId: chargeId,
          details: { because: cause.because, ...cause.details, periodId, ...details },
        },
        now,
      );
    const usage = charges.find((c) => toNum(c.seq) === 0);
    const lines = charges.length
      ? await trx(LINES)
          .whereIn(
            'charge_id',
            charges.map((c) => c.id),
          )
          .select('charge_id', 'id', 'status')
      : [];
    const lineOf = new Map(lines.map((l) => [toNum(l.charge_id), l]));
    const invoiced = charges.filter((c) => lineOf.has(toNum(c.id)) || !REPLACEABLE.has(String(c.status)));
    const stale = charges.filter((c) => !invoiced.includes(c) && c !== usage);
    if (stale.length)
      await trx(CHARGES)
        .whereIn(
          'id',
          stale.map((c) => c.id),
        )
        .update({ status: 'void' });
    const t: RerateTx = { trx, periodId, rating, audit };
    if (invoiced.length === 0) return rerateUnbilled(t, usage);
    return rerateInvoiced(t, cause, charges, invoiced, usage, lines);
  });
}
