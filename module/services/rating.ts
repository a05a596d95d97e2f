import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import {
  createRatingStore,
  type MasterZone,
  type NewCharge,
  type PeriodCharge,
  type PeriodToRate,
  type PreparedRatings,
  type RatingStore,
} from '../adapters/rating-store.js';
import { retryTransaction } from '../adapters/sql-helpers.js';
import { isUnreadable, whyUnreadable, type SetAside, type UnreadableRow } from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { Clock } from '../domain/clock.js';
import { addDays, daysBetween, type IsoDate, maxDate, startOfDay } from '../domain/calendar.js';
import type { ChargeStatus } from '../domain/charge-status.js';
import { rateUsage, type RatedCharge, type RatingPlan } from '../domain/usage-rating.js';
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

/** client-chosen caps, set and lifted (module/services/caps.ts) */
export interface CapsInForce {
  /** with `setAside`: the services with a cap that cannot be read in `unreadable`, told there */
  history(
    serviceIds: readonly number[],
    setAside?: SetAside,
  ): Promise<
    Array<{ serviceId: number; cap: ClientCap; setAt: DateTime; liftedAt: DateTime | null }> & {
      unreadable?: Map<number, UnreadableRow>;
    }
  >;
}

export type { ChargeStatus } from '../domain/charge-status.js';

export interface RatingSkip {
  periodId: number;
  /** null when the period's own row cannot be read */
  serviceId: number | null;
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

/** The deps with the store every step reads and writes through. */
type RatingCtx = RatingDeps & { store: RatingStore };

export function createRatingService(deps: RatingDeps): RatingService {
  const ctx: RatingCtx = { ...deps, store: createRatingStore(deps.knex) };
  return {
    reratePeriod: (periodId, cause) => reratePeriod(ctx, periodId, cause),
    rateClosedPeriods: (opts = {}) => rateClosedPeriods(ctx, opts),
  };
}

/** A closed period with what rating finds for it: its five-minute rates, the client's cap, an upgrade. */
interface PeriodInRun extends PeriodToRate {
  fiveMinuteBps?: bigint[];
  clientCap?: ClientCap;
  upgrade?: UpgradeInPeriod;
}

/** One rating run's shared state: what is memoised, loaded once, carried to the end, and its result. */
interface RatingRun {
  deps: RatingCtx;
  opts: { serviceIds?: number[]; pageSize?: number };
  pageSize: number;
  result: RatingResult;
  memo: RatingMemo;
  masters: Map<number, MasterZone>;
  profileFor: ProfileFor | null;
  loading: Promise<void> | null;
  /** periods that carry charges from before a rebuild: rated one by one, after the pages */
  carried: Array<{ periodId: number; serviceId: number }>;
  /** a row that cannot be read: logged (rating.row_unreadable), its period left unrated, the others rated */
  setAside: SetAside;
}

type ProfileFor = Awaited<ReturnType<BillingSettingsService['snapshot']>>;

interface RatingPage {
  rows: PeriodInRun[];
  /** the settings the page is rated with */
  profileFor: ProfileFor;
  sums: Map<number, bigint>;
  lastId: number | null;
  full: boolean;
}

const newMemo = (): RatingMemo => ({ shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() });

async function rateClosedPeriods(
  deps: RatingCtx,
  opts: { serviceIds?: number[]; pageSize?: number },
): Promise<RatingResult> {
  const { knex, store } = deps;
  const run: RatingRun = {
    deps,
    opts,
    pageSize: opts.pageSize ?? 2000,
    result: { rated: 0, skipped: [] },
    // Most periods share their dates, zone and plan: the calendar arithmetic (luxon) and the
    // plan parsing dominated a 100 000-period run when done per period.
    memo: newMemo(),
    masters: new Map(),
    profileFor: null,
    loading: null,
    carried: [],
    setAside: rowLog(deps.log),
  };
  // The next page is read while this one is rated, and written while the next is rated: the
  // database and the rating overlap instead of taking turns. One write at a time, in order.
  let next: Promise<RatingPage> | null = fetchPage(run, 0);
  let writing: Promise<void> = Promise.resolve();
  try {
    while (next) {
      const { rows, sums, lastId, full, profileFor } = await next;
      next = null;
      if (lastId === null) break;
      if (full) {
        next = fetchPage(run, lastId);
        next.catch(() => {}); // handled when awaited; never an unhandled rejection meanwhile
      }
      if (rows.some((r) => !run.masters.has(r.masterId))) run.masters = await store.masters();
      // rated and written out while the previous page is written, not between this one's statements
      const { charges, prepared } = await rateInSlices(run, rows, sums, profileFor);
      await writing;
      // A page's charges and their periods' marks in one transaction (one commit).
      writing = charges.length
        ? retryTransaction(knex, (trx) => store.writeRatings(trx, prepared))
        : Promise.resolve();
      writing.catch(() => {});
      run.result.rated += charges.length;
    }
    await writing;
  } finally {
    // on a failure, nothing is left running behind the caller's back
    await Promise.allSettled([next, writing]);
  }
  await rateCarried(run);
  if (run.result.skipped.length)
    deps.log.warn('rating.skipped', { count: run.result.skipped.length, first: run.result.skipped[0] });
  return run.result;
}

/** Periods that carry charges from before a rebuild, rated again one by one. */
async function rateCarried(run: RatingRun): Promise<void> {
  for (const { periodId, serviceId } of run.carried) {
    const out = await reratePeriod(run.deps, periodId, { actor: SYSTEM, because: 'period.closed' });
    if (out.kind === 'skipped') run.result.skipped.push({ periodId, serviceId, reason: out.reason });
    else if (out.kind !== 'not_rated') run.result.rated++;
  }
}

/**
 * Masters are few; joined in the page query, MySQL put them first and sorted every closed period
 * after the cursor for each page. They and the billing settings are read with the first page that
 * has periods: the InvoiceCreation hook asks about one service whose period is usually rated
 * already, and then needs nothing else.
 */
const loadSettings = (run: RatingRun): Promise<void> =>
  (run.loading ??= Promise.all([
    // a run over a few services reads their own overrides with each page, not every override
    run.opts.serviceIds ? null : run.deps.billing.snapshot(undefined, { setAside: run.setAside }),
    run.deps.store.masters(),
  ]).then(([p, m]) => {
    run.profileFor = p;
    run.masters = m;
  }));

/** The settings a page is rated with: the run's, or for a run over a few services, the page's own. */
async function pageSettings(run: RatingRun, rows: PeriodInRun[]): Promise<ProfileFor> {
  if (!run.opts.serviceIds) {
    await loadSettings(run);
    return run.profileFor!;
  }
  const [profileFor] = await Promise.all([
    run.deps.billing.snapshot(
      {
        serviceIds: [...new Set(rows.map((r) => r.serviceId))],
        clientIds: [...new Set(rows.map((r) => r.clientId))],
      },
      { setAside: run.setAside },
    ),
    loadSettings(run),
  ]);
  return profileFor;
}

/** The closed periods not rated yet after `after`, one page, with their evidence's sums, caps, upgrades and rates. */
async function fetchPage(run: RatingRun, after: number): Promise<RatingPage> {
  const { store } = run.deps;
  const listed = await store.unrated(after, run.pageSize, run.opts.serviceIds, run.setAside);
  // the cursor goes past a row that cannot be read (its id is its key: it reads)
  const lastId = listed.findLast((r) => r.id !== null)?.id ?? null;
  const full = listed.length === run.pageSize;
  let rows: PeriodInRun[] = [];
  for (const r of listed) {
    if (!isUnreadable(r)) rows.push(r);
    else if (r.id !== null) skip(run, r.id, null, unreadableReason('its row', r));
  }
  // The evidence must add up: the daily rows of each period sum to its total, or it is not rated.
  if (rows.length === 0) return { rows, sums: new Map(), lastId, full, profileFor: () => null };
  const ids = rows.map((r) => r.id);
  const [sums, carried, profileFor] = await Promise.all([
    store.intervalSums(ids),
    store.withCharges(ids),
    pageSettings(run, rows),
  ]);
  if (carried.size) {
    // the skip names the period's service, as for any other period left unrated
    for (const r of rows) if (carried.has(r.id)) run.carried.push({ periodId: r.id, serviceId: r.serviceId });
    rows = rows.filter((r) => !carried.has(r.id));
  }
  // each sets its own field of the rows: read side by side
  const [unreadCaps, unreadUpgrades] = await Promise.all([
    attachCaps(run.deps.caps, rows, run.masters, run.setAside),
    attachUpgrades(store, rows, run.setAside),
  ]);
  if (unreadCaps) {
    // a cap limits the bill: none is billed without knowing which cap was in force
    for (const r of rows) {
      const u = unreadCaps.get(r.serviceId);
      if (u) skip(run, r.id, r.serviceId, unreadableReason('a cap of its service', u));
    }
    rows = rows.filter((r) => !unreadCaps.has(r.serviceId));
  }
  if (unreadUpgrades) {
    // an upgrade credits part of the bill: none is billed without knowing whether one applies
    const left = (r: PeriodInRun) => unreadUpgrades !== 'all' && !unreadUpgrades.has(r.serviceId);
    for (const r of rows) if (!left(r)) skip(run, r.id, r.serviceId, UPGRADE_UNREADABLE);
    rows = rows.filter(left);
  }
  rows = rows.filter((r) => settingsKnown(run, r, profileFor));
  // The 95th-percentile model needs the period's five-minute rates (imported: SolusVM keeps none).
  const noRates = new Set<number>();
  await Promise.all(
    rows.map(async (r) => {
      const profile = profileFor(r.productId, r.serviceId, r.clientId);
      const master = run.masters.get(r.masterId);
      if (profile?.model !== 'p95' || !master) return;
      r.fiveMinuteBps = await ratesOf(store, r, master.timeZone).catch((err: unknown) => {
        // one of its rates cannot be read: this period is not rated (its 95th percentile is not known)
        if (storedColumnOf(err) === null) throw err;
        const u = { id: null, unreadable: whyUnreadable(err) };
        run.setAside(u.unreadable.column!.split('.')[0]!, u);
        skip(run, r.id, r.serviceId, unreadableReason('a five-minute rate of its service', u));
        noRates.add(r.id);
        return [];
      });
    }),
  );
  return { rows: rows.filter((r) => !noRates.has(r.id)), sums, lastId, full, profileFor };
}

/**
 * Whether the billing settings that apply to the period read (its product's, the one an upgrade
 * began on, its service's and client's overrides): if not, it is not rated — never recorded as not
 * billed, nor rated without an override — and said why; the row was told to the run's log once.
 */
function settingsKnown(run: RatingRun, r: PeriodInRun, profileFor: ProfileFor): boolean {
  try {
    profileFor(r.productId, r.serviceId, r.clientId);
    if (r.upgrade) profileFor(r.upgrade.fromProductId, r.serviceId, r.clientId);
    return true;
  } catch (err) {
    if (storedColumnOf(err) === null) throw err;
    const why = whyUnreadable(err);
    skip(run, r.id, r.serviceId, unreadableReason('its billing settings', { id: null, unreadable: why }));
    return false;
  }
}

/** A row that cannot be read: one warning with its table, id, column and what it is not (never the value). */
const rowLog =
  (log: Logger): SetAside =>
  (table, u) =>
    log.warn('rating.row_unreadable', { table, id: u.id, ...u.unreadable });

const UPGRADE_UNREADABLE = 'an upgrade asked for on its service cannot be read; not rated';
const CHARGE_UNREADABLE = 'a charge of the period cannot be read; not rated again';

/** Why a row that cannot be read leaves its period unrated: the column and what it is not, never the value. */
const unreadableReason = (what: string, u: UnreadableRow) =>
  `${what} cannot be read (${u.unreadable.column ?? 'a column'}: ${u.unreadable.reason}); not rated`;

const skip = (run: RatingRun, periodId: number, serviceId: number | null, reason: string) =>
  run.result.skipped.push({ periodId, serviceId, reason });

const notAddingUp = (sum: bigint, used: bigint) =>
  `its daily figures sum to ${sum} bytes, not the ${used} bytes counted; not rated`;

// Periods rated between two looks at the connections: a page rated in one go (2 000 periods, tens
// of ms of CPU) held back every answer to the write in flight, and the database waited on Node
// between the statements of a page's transaction.
const RATE_SLICE = 250;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A page's charges and the rows that write them, a slice at a time (one instant for the page), in the page's order. */
async function rateInSlices(
  run: RatingRun,
  rows: PeriodInRun[],
  sums: Map<number, bigint>,
  profileFor: ProfileFor,
): Promise<{ charges: NewCharge[]; prepared: PreparedRatings }> {
  const now = run.deps.clock.now();
  const charges: NewCharge[] = [];
  const prepared = run.deps.store.prepareRatings([]);
  for (let i = 0; i < rows.length; i += RATE_SLICE) {
    if (i > 0) await yieldToIo();
    const from = charges.length;
    ratePage(run, rows.slice(i, i + RATE_SLICE), sums, profileFor, now, charges);
    run.deps.store.prepareRatings(charges.slice(from), prepared);
  }
  return { charges, prepared };
}

/** The charges of some periods, added to `charges`; a period whose figures do not add up, or whose plan is impossible, is skipped and said why. */
function ratePage(
  run: RatingRun,
  rows: PeriodInRun[],
  sums: Map<number, bigint>,
  profileFor: ProfileFor,
  now: DateTime,
  charges: NewCharge[],
): void {
  for (const r of rows) {
    const master = run.masters.get(r.masterId);
    // a service whose master is gone is not rated (as an inner join would leave it out)
    if (!master) continue;
    const sum = sums.get(r.id) ?? 0n;
    if (sum !== r.usedBytes) {
      run.result.skipped.push({
        periodId: r.id,
        serviceId: r.serviceId,
        reason: notAddingUp(sum, r.usedBytes),
      });
      continue;
    }
    const upgrade = r.upgrade ?? null;
    // the period an upgrade falls in is rated on the plan it began on (less the credit)
    const productId = upgrade ? upgrade.fromProductId : r.productId;
    const profile = profileFor(productId, r.serviceId, r.clientId);
    if (!profile) {
      charges.push(chargeRow(r, productId, now, null, null, run.memo));
      continue;
    }
    try {
      const rated = ratePeriod(r, master.timeZone, r.usedBytes, profile, run.memo, r.clientCap ?? null);
      charges.push(creditUpgrade(chargeRow(r, productId, now, rated, profile, run.memo), upgrade));
    } catch (err) {
      if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
      run.result.skipped.push({ periodId: r.id, serviceId: r.serviceId, reason: (err as Error).message });
    }
  }
}

/** The charge: rated, or recorded as not billed when the product has no profile. One literal, no spreads. */
function chargeRow(
  p: PeriodToRate,
  productId: number,
  now: DateTime,
  rated: RatedCharge | null,
  profile: BillingProfile | null,
  memo: RatingMemo,
): NewCharge {
  return {
    periodId: p.id,
    serviceId: p.serviceId,
    clientId: p.clientId,
    productId,
    periodStart: p.startDate,
    periodEnd: p.endDate,
    currency: p.currency,
    usedBytes: p.usedBytes,
    ratedAt: now,
    allowanceBytes: rated ? rated.allowanceBytes : 0n,
    overBytes: rated ? rated.overBytes : 0n,
    // a pooled service's own period is evidence only: the pool's charge bills (module/services/pools.ts)
    amountMinor: rated && !profile?.pool ? rated.amountMinor : 0n,
    roundedMinor: rated ? rated.roundedMinor : 0n,
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

/** The days of a period the service had, in its master's zone: from its first day (or registration) to the midnight after its last. */
function ratesOf(
  store: RatingStore,
  p: Pick<PeriodToRate, 'serviceId' | 'startDate' | 'endDate' | 'regdate'>,
  zone: string,
): Promise<bigint[]> {
  const from = p.regdate ? maxDate(p.startDate, p.regdate) : p.startDate;
  return store.fiveMinuteRates(p.serviceId, startOfDay(from, zone), startOfDay(addDays(p.endDate, 1), zone));
}

/** A period's five-minute rates, from the day the service had it (the 95th-percentile model; SolusVM keeps none). */
export function fiveMinuteRatesOf(
  knex: Knex,
  p: Pick<PeriodToRate, 'serviceId' | 'startDate' | 'endDate' | 'regdate'>,
  zone: string,
): Promise<bigint[]> {
  return ratesOf(createRatingStore(knex), p, zone);
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

interface UpgradeInPeriod {
  fromProductId: number;
  toProductId: number;
  percent: number;
}

/**
 * Upgrades asked for during each period (module/services/upgrades.ts): one query per page. The
 * services with an upgrade that cannot be read come back (null: none).
 */
async function attachUpgrades(
  store: RatingStore,
  rows: PeriodInRun[],
  setAside: SetAside,
): Promise<Set<number> | 'all' | null> {
  if (rows.length === 0) return null;
  const read = await store.upgradesEach([...new Set(rows.map((r) => r.serviceId))], setAside);
  const ups = read.upgrades;
  const unreadable = read.unreadable === 'all' || read.unreadable.size ? read.unreadable : null;
  if (ups.length === 0) return unreadable;
  for (const r of rows) {
    const u = ups.find(
      (x) => x.serviceId === r.serviceId && x.requestedOn >= r.startDate && x.requestedOn <= r.endDate,
    );
    if (u)
      r.upgrade = { fromProductId: u.fromProductId, toProductId: u.toProductId, percent: u.creditPercent };
  }
  return unreadable;
}

/** The provider's credit on an upgrade: a share of the period's billed overusage, said in the explanation. */
function creditUpgrade(row: NewCharge, upgrade: UpgradeInPeriod | null): NewCharge {
  if (!upgrade || upgrade.percent === 0 || row.status !== 'unbilled') return row;
  const credited = upgradeCredit(row.amountMinor, upgrade.percent);
  const explanation = JSON.parse(row.explanation) as Record<string, unknown>;
  explanation.upgradeCredit = {
    percent: upgrade.percent,
    creditedMinor: credited.toString(),
    toProductId: upgrade.toProductId,
  };
  const after = row.amountMinor - credited;
  return {
    ...row,
    amountMinor: after,
    status: after > 0n ? 'unbilled' : 'written_off',
    explanation: JSON.stringify(explanation),
  };
}

/**
 * The client's cap in force at each period's end (midnight after its last day, in its master's
 * zone). The services with a cap that cannot be read (told to `setAside`) come back (null: none).
 */
async function attachCaps(
  caps: CapsInForce | undefined,
  rows: PeriodInRun[],
  masters: Map<number, MasterZone>,
  setAside: SetAside,
): Promise<Map<number, UnreadableRow> | null> {
  if (!caps || rows.length === 0) return null;
  // one query per page: the caps of its services, matched to each period's end here
  const history = await caps.history([...new Set(rows.map((r) => r.serviceId))], setAside);
  const unreadable = history.unreadable ?? null;
  // Most pages have no capped service: luxon's zone arithmetic per period was a fifth of a
  // 100 000-period run, so it is done only for services with a cap, once per end day and zone.
  if (history.length === 0) return unreadable;
  const byService = new Map<number, typeof history>();
  for (const h of history) byService.set(h.serviceId, [...(byService.get(h.serviceId) ?? []), h]);
  const ends = new Map<string, DateTime>();
  for (const r of rows) {
    const mine = byService.get(r.serviceId);
    const m = masters.get(r.masterId);
    if (!mine || !m) continue;
    const key = `${r.endDate} ${m.timeZone}`;
    let end = ends.get(key);
    if (!end) ends.set(key, (end = startOfDay(addDays(r.endDate, 1), m.timeZone)));
    const inForce = mine.filter((h) => h.setAt < end && (h.liftedAt === null || h.liftedAt >= end)).at(-1);
    if (inForce) r.clientCap = inForce.cap;
  }
  return unreadable;
}

/** What rating a period takes: its days, currency, SolusVM's limit and, for the 95th percentile, its rates. */
export type PeriodFigures = Pick<
  PeriodToRate,
  'startDate' | 'endDate' | 'regdate' | 'currency' | 'limitBytes'
> & {
  fiveMinuteBps?: bigint[];
};

/** One period through the product's model: partial periods prorated, the allowance from SolusVM when asked. */
export function ratePeriod(
  p: PeriodFigures,
  zone: string,
  used: bigint,
  profile: BillingProfile,
  memo: RatingMemo,
  cap: ClientCap | null,
): RatedCharge {
  const start = p.startDate;
  const end = p.endDate;
  // A service registered during the period only had part of it; the period itself is always a
  // whole span of the billing calendar, whatever the counter did, so nothing else is prorated.
  const from: IsoDate = p.regdate ? maxDate(start, p.regdate) : start;
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
  const currency = p.currency;
  const limit = p.limitBytes;
  // the plan depends on SolusVM's limit only when the allowance comes from there
  const planKey = `${currency}|${profile.allowance === 'solusvm' ? String(limit) : ''}`;
  let plans = memo.plans.get(profile);
  if (!plans) memo.plans.set(profile, (plans = new Map()));
  let plan = plans.get(planKey);
  if (!plan) {
    plan = ratingPlan(profile, currency, limit);
    plans.set(planKey, plan);
  }
  const fiveMinuteBps = p.fiveMinuteBps;
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

// charges no invoice carries yet: rating them again replaces them
const REPLACEABLE = new Set<ChargeStatus>([
  'unbilled',
  'within_allowance',
  'written_off',
  'not_billed',
  'pooled',
]);

/** What a period bills when rated now from its intervals, or why it is not rated. */
type FreshRating = {
  kind: 'fresh';
  fresh: NewCharge;
  after: bigint;
  currency: string;
  now: DateTime;
};

async function rateAfresh(
  deps: RatingCtx,
  periodId: number,
): Promise<FreshRating | Extract<RerateOutcome, { kind: 'not_rated' | 'skipped' }>> {
  const { store } = deps;
  const p: (PeriodInRun & { closed: boolean }) | null = await store.period(periodId);
  if (!p || !p.closed) return { kind: 'not_rated' };
  const [masters, currentProfile, sums] = await Promise.all([
    store.masters(),
    deps.billing.forService(p.productId, p.serviceId, p.clientId),
    store.intervalSums([periodId]),
  ]);
  const master = masters.get(p.masterId);
  if (!master) return { kind: 'skipped', reason: 'its SolusVM master is gone' };
  const sum = sums.get(periodId) ?? 0n;
  if (sum !== p.usedBytes) return { kind: 'skipped', reason: notAddingUp(sum, p.usedBytes) };
  if (currentProfile?.model === 'p95') p.fiveMinuteBps = await ratesOf(store, p, master.timeZone);
  const unreadCap = (await attachCaps(deps.caps, [p], masters, rowLog(deps.log)))?.get(p.serviceId);
  if (unreadCap) return { kind: 'skipped', reason: unreadableReason('a cap of its service', unreadCap) };
  if (await attachUpgrades(store, [p], rowLog(deps.log)))
    return { kind: 'skipped', reason: UPGRADE_UNREADABLE };
  const upgrade = p.upgrade ?? null;
  // the period an upgrade falls in is rated on the plan it began on
  const profile = upgrade
    ? await deps.billing.forService(upgrade.fromProductId, p.serviceId, p.clientId)
    : currentProfile;
  const productId = upgrade ? upgrade.fromProductId : p.productId;
  const memo = newMemo();
  const now = deps.clock.now();
  let fresh: NewCharge;
  try {
    fresh = profile
      ? creditUpgrade(
          chargeRow(
            p,
            productId,
            now,
            ratePeriod(p, master.timeZone, p.usedBytes, profile, memo, p.clientCap ?? null),
            profile,
            memo,
          ),
          upgrade,
        )
      : chargeRow(p, productId, now, null, null, memo);
  } catch (err) {
    if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
    return { kind: 'skipped', reason: (err as Error).message };
  }
  return { kind: 'fresh', fresh, after: fresh.amountMinor, currency: fresh.currency, now };
}

/** One rerating's transaction: the period's charges locked, who to tell in the audit log. */
interface RerateTx {
  trx: Knex.Transaction;
  store: RatingStore;
  periodId: number;
  rating: FreshRating;
  audit: (action: string, chargeId: number, details: Record<string, unknown>) => Promise<void>;
}

const chargeFigures = (c: PeriodCharge | NewCharge) => ({
  usedBytes: String(c.usedBytes),
  overBytes: String(c.overBytes),
  amountMinor: String(c.amountMinor),
  status: c.status,
});

const sameFigures = (a: PeriodCharge, b: NewCharge) =>
  a.usedBytes === b.usedBytes &&
  a.allowanceBytes === b.allowanceBytes &&
  a.overBytes === b.overBytes &&
  a.amountMinor === b.amountMinor &&
  a.status === b.status;

/** Nothing of the period is invoiced: its usage charge is written or replaced by the fresh rating. */
async function rerateUnbilled(t: RerateTx, usage: PeriodCharge | undefined): Promise<RerateOutcome> {
  const { trx, store, periodId } = t;
  const { fresh, after, currency } = t.rating;
  if (!usage) {
    await store.insertRatings(trx, [fresh]);
    const created = await store.chargeIdAt(trx, periodId, 0);
    await t.audit('charge.rated', created, { after: chargeFigures(fresh) });
    return { kind: 'rated', chargeId: created, currency, afterMinor: after };
  }
  if (sameFigures(usage, fresh)) return { kind: 'unchanged', chargeId: usage.id };
  await store.replaceCharge(trx, usage.id, fresh);
  await t.audit('charge.rerated', usage.id, {
    before: chargeFigures(usage),
    after: chargeFigures(fresh),
  });
  return {
    kind: 'replaced',
    chargeId: usage.id,
    currency,
    beforeMinor: usage.amountMinor,
    afterMinor: after,
  };
}

/** Some of the period is invoiced: the difference to what the invoices bill is a correction for the next one. */
async function rerateInvoiced(
  t: RerateTx,
  cause: RerateCause,
  charges: PeriodCharge[],
  invoiced: PeriodCharge[],
  usage: PeriodCharge | undefined,
  lineIds: number[],
): Promise<RerateOutcome> {
  const { trx, store, periodId } = t;
  const { fresh, after, currency } = t.rating;
  // Invoiced: what the invoices already bill for these days (the rating, earlier corrections,
  // lines from before a rebuild); the difference is a correction for the next invoice.
  const billed = invoiced.reduce((sum, c) => sum + c.amountMinor, 0n);
  const difference = after - billed;
  if (usage && !invoiced.includes(usage)) await store.voidCharges(trx, [usage.id]);
  if (difference === 0n && usage) return { kind: 'unchanged', chargeId: usage.id } as const;
  // A disputed line of these days: the admin settles the dispute and the correction together. A
  // counter drop still undecided may change the figure again: the admin decides it first.
  const disputed = await store.anyDisputed(trx, lineIds);
  const undecided = await store.undecidedDrop(trx, periodId);
  // Without a rating of its own yet (lines from before a rebuild), the correction is the period's rating.
  const seq = usage ? Math.max(...charges.map((c) => c.seq)) + 1 : 0;
  const status: ChargeStatus = difference === 0n ? 'void' : disputed || undecided ? 'review' : 'unbilled';
  const parsed = JSON.parse(fresh.explanation) as { rated?: unknown; profile?: unknown; reason?: unknown };
  const figures = {
    billedMinor: String(billed),
    afterMinor: String(after),
    differenceMinor: String(difference),
  };
  const explanation = JSON.stringify({ ...parsed, correction: { ...figures, because: cause.because } });
  const correction = { ...fresh, amountMinor: difference, roundedMinor: difference, status, explanation };
  const created = await store.addCorrection(trx, correction, seq);
  await t.audit('charge.corrected', created, { ...figures, status });
  return {
    kind: 'corrected',
    chargeId: created,
    currency,
    billedMinor: billed,
    afterMinor: after,
    differenceMinor: difference,
    status,
  } as const;
}

async function reratePeriod(deps: RatingCtx, periodId: number, cause: RerateCause): Promise<RerateOutcome> {
  const rating = await rateAfresh(deps, periodId);
  if (rating.kind !== 'fresh') return rating;
  const { now } = rating;
  const { store } = deps;
  return retryTransaction(deps.knex, async (trx) => {
    // Locked as line placement reads them: a line being written waits, or is seen. One that
    // cannot be read leaves the period as it is (skipped, said why, logged): a correction worked
    // out without it would bill the client wrong; the night's run goes on with the others.
    const charges = await store.chargesOfPeriod(trx, periodId, rowLog(deps.log));
    if (charges === null) return { kind: 'skipped' as const, reason: CHARGE_UNREADABLE };
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
    const usage = charges.find((c) => c.seq === 0);
    const lineOf = await store.linesOf(
      trx,
      charges.map((c) => c.id),
    );
    const invoiced = charges.filter((c) => lineOf.has(c.id) || !REPLACEABLE.has(c.status));
    const stale = charges.filter((c) => !invoiced.includes(c) && c !== usage);
    await store.voidCharges(
      trx,
      stale.map((c) => c.id),
    );
    const t: RerateTx = { trx, store, periodId, rating, audit };
    if (invoiced.length === 0) return rerateUnbilled(t, usage);
    return rerateInvoiced(t, cause, charges, invoiced, usage, [...lineOf.values()]);
  });
}
