import { daysBetween, type IsoDate } from '../domain/calendar.js';
import { dailySeries, type DayFigure } from '../domain/daily-series.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { billedNow, type BilledNow } from '../domain/billed-now.js';
import {
  crossedThresholds,
  openPeriodShape,
  DEFAULT_THRESHOLDS,
  percentUsed,
  periodAllowance,
  periodSeconds,
  projectUsage,
  type PeriodShape,
  type ProjectedCost,
  type Projection,
} from '../domain/thresholds.js';
import {
  ratedChargeFromJson,
  rateUsage,
  type RatedCharge,
  type RatingPlan,
  type SoldUnit,
} from '../domain/usage-rating.js';
import type { LineReads, LineRow } from '../adapters/line-store.js';
import type {
  MasterRule,
  PeriodNote,
  PeriodReadStore,
  PeriodRow,
  ServiceRow,
  UnreadablePeriod,
} from '../adapters/period-read-store.js';
import { isUnreadable, toInstantOrNull, type Listed, type UnreadableRow } from '../adapters/rows.js';
import {
  PlanNotPossible,
  ratingPlan,
  type BillingProfile,
  type BillingSettingsService,
} from './billing-settings.js';

/**
 * What the client widget and the admin tab read: a service's open period with what its product
 * makes of it (allowance, thresholds reached, projection and projected cost, by the bill's own
 * rating), its daily figures, its past periods and its lines with their disputes. Every read that
 * takes a `clientId` is limited to that client's rows; anything else reads as not found.
 */

export type { LineRow, MasterRule, PeriodNote, PeriodRow, ServiceRow, UnreadablePeriod };

/** What a period's lines bill now: one rule, module/domain/billed-now.ts. */
export const billedNowOf = billedNow;
export type { BilledNow };

export interface Page<T> {
  rows: T[];
  /** the cursor of the next page; null on the last page */
  next: string | null;
}

export interface OpenPeriodUsage {
  periodId: number;
  start: IsoDate;
  /** the expected last day; null when the counter never resets */
  end: IsoDate | null;
  shape: PeriodShape;
  /** the last day measured */
  asOf: IsoDate;
  usedBytes: bigint;
}

export interface UsageAssessment {
  plan: RatingPlan;
  allowanceBytes: bigint;
  thresholds: number[];
  crossed: number[];
  percentUsed: string | null;
  projection: Projection;
  cost: ProjectedCost | null;
}

export interface ServiceUsage {
  service: ServiceRow;
  /** the master's zone */
  zone: string;
  /** the settings that bill the service; null when its product is not billed */
  profile: BillingProfile | null;
  unit: SoldUnit;
  open: OpenPeriodUsage | null;
  assessment: UsageAssessment | null;
  /** the open period's days, from its first day to the last day measured */
  days: DayFigure[];
  solusvmLimitBytes: bigint | null;
  /** what metering found in the open period's counter */
  notes: Array<Listed<PeriodNote>>;
  /** the open period's intervals that cannot be read: their days are missing from `days` */
  daysUnreadable: UnreadableRow[];
}

/** A period's daily figures; `unreadable`: intervals that cannot be read, whose days are not in them. */
export interface PeriodDays {
  period: PeriodRow;
  days: DayFigure[];
  unreadable: UnreadableRow[];
}

/** A positive whole number from a cursor or an id in a request; anything else is bad input. */
export function idCursor(v: unknown, what = 'cursor'): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  if (typeof v === 'string' && /^[1-9]\d{0,15}$/.test(v)) return Number(v);
  throw invalidInput(`${what} must be a positive whole number`);
}

export const pageLimit = (v: unknown, fallback = 50, max = 200): number => {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw invalidInput(`limit must be a whole number from 1 to ${max}`);
  return n;
};

/** rows fetched with one extra: the extra row says there is a next page */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, next: more && kept.length ? cursorOf(kept[kept.length - 1]!) : null };
}

export interface UsageReads {
  /** the client's metered services, by service id; one that cannot be read in its place */
  clientServices(clientId: number): Promise<Array<Listed<ServiceRow>>>;
  serviceUsage(serviceId: number, opts?: { clientId?: number }): Promise<ServiceUsage>;
  /**
   * the service's periods, newest first (the open one included), a page at a time; one that cannot
   * be read in its place (no figure: it counts in no sum)
   */
  periods(
    serviceId: number,
    opts?: { clientId?: number; before?: string | null; limit?: number },
  ): Promise<Page<PeriodRow | UnreadablePeriod>>;
  /** one period's daily figures (the CSV download; it refuses them when `unreadable` is not empty) */
  periodDays(
    serviceId: number,
    periodId: number,
    opts?: { clientId?: number; until?: IsoDate | null },
  ): Promise<PeriodDays>;
  /** lines, newest first; one that cannot be read in its place (it has no amount: it counts in no sum) */
  lines(
    filter: { clientId?: number; serviceId?: number },
    opts?: { before?: number | null; limit?: number },
  ): Promise<Page<Listed<LineRow>>>;
  line(lineId: number, opts?: { clientId?: number }): Promise<LineRow>;
  /** what a services row means under its product (shared with the admin dashboard) */
  assess(
    service: ServiceRow,
    profile: BillingProfile | null,
    limitBytes: bigint | null,
    masters: Map<number, MasterRule>,
  ): { open: OpenPeriodUsage | null; assessment: UsageAssessment | null; zone: string };
  masters(): Promise<Map<number, MasterRule>>;
}

// projectCost (domain/thresholds.ts) with the period's seconds worked out once per shape: the
// dashboard rates thousands of services that share a handful of periods.
const seconds = new Map<string, bigint>();
function costOf(
  plan: RatingPlan,
  shape: PeriodShape,
  usedBytes: bigint,
  projectedUsedBytes: bigint | null,
  zone: string,
): ProjectedCost | null {
  if (plan.model.kind === 'p95' || shape.end === null || projectedUsedBytes === null) return null;
  const key = `${shape.from}|${shape.end}|${zone}`;
  let secs = seconds.get(key);
  if (secs === undefined) {
    secs = periodSeconds(shape.from, shape.end, zone);
    if (seconds.size > 10_000) seconds.clear();
    seconds.set(key, secs);
  }
  const days = Math.max(1, daysBetween(shape.from, shape.end) + 1);
  const usage = (bytes: bigint) =>
    rateUsage({ usedBytes: bytes, days, nominalDays: shape.nominalDays ?? days, seconds: secs }, plan)
      .amountMinor;
  return { soFarMinor: usage(usedBytes), atEndMinor: usage(projectedUsedBytes), currency: plan.currency };
}

/** What a service's open period means under its product: allowance, thresholds crossed, projection and cost. */
export function assess(
  r: ServiceRow,
  profile: BillingProfile | null,
  limitBytes: bigint | null,
  ms: Map<number, MasterRule>,
): { open: OpenPeriodUsage | null; assessment: UsageAssessment | null; zone: string } {
  const master = ms.get(r.masterId) ?? { policy: 'first_of_month', zone: 'UTC' };
  if (r.openPeriodId === null || !r.openPeriodStart || !r.lastSampleDate)
    return { open: null, assessment: null, zone: master.zone };
  const start = r.openPeriodStart;
  const end = r.openPeriodEnd;
  const { shape, asOf } = openPeriodShape({
    start,
    end,
    regdate: r.regdate,
    lastSampleDate: r.lastSampleDate,
  });
  const open: OpenPeriodUsage = {
    periodId: r.openPeriodId,
    start,
    end,
    shape,
    asOf,
    usedBytes: r.openPeriodUsedBytes ?? 0n,
  };
  if (!profile) return { open, assessment: null, zone: master.zone };
  let plan: RatingPlan;
  try {
    plan = ratingPlan(profile, r.currency, limitBytes);
  } catch (err) {
    if (err instanceof PlanNotPossible) return { open, assessment: null, zone: master.zone };
    throw err;
  }
  const allowanceBytes = periodAllowance(plan, shape);
  const thresholds = thresholdsOf(profile);
  const projection = projectUsage({ shape, asOf, usedBytes: open.usedBytes, allowanceBytes });
  return {
    open,
    zone: master.zone,
    assessment: {
      plan,
      allowanceBytes,
      thresholds,
      crossed: crossedThresholds(open.usedBytes, allowanceBytes, thresholds),
      percentUsed: percentUsed(open.usedBytes, allowanceBytes),
      projection,
      cost: costOf(plan, shape, open.usedBytes, projection.projectedUsedBytes, master.zone),
    },
  };
}

export interface UsageReadDeps {
  store: PeriodReadStore;
  lines: LineReads;
  billing: BillingSettingsService;
}

export function createUsageReads(deps: UsageReadDeps): UsageReads {
  return {
    masters: () => deps.store.masters(),
    assess,
    clientServices: (clientId) => deps.store.clientServices(clientId),
    serviceUsage: (serviceId, opts = {}) => serviceUsage(deps, serviceId, opts.clientId),
    periods: (serviceId, opts = {}) => periods(deps, serviceId, opts),
    periodDays: (serviceId, periodId, opts = {}) => periodDays(deps, serviceId, periodId, opts),
    async lines(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      return pageOf(await deps.lines.listed(filter, opts.before ?? null, limit + 1), limit, (last) =>
        String(last.id),
      );
    },
    async line(lineId, opts = {}) {
      const line = await deps.lines.one(lineId, opts.clientId);
      if (!line) throw notFound(`line ${lineId} does not exist`);
      return line;
    },
  };
}

async function serviceOf(deps: UsageReadDeps, serviceId: number, clientId?: number): Promise<ServiceRow> {
  const r = await deps.store.service(serviceId, clientId);
  if (!r) throw notFound(`service ${serviceId} is not metered here`);
  return r;
}

async function serviceUsage(
  deps: UsageReadDeps,
  serviceId: number,
  clientId?: number,
): Promise<ServiceUsage> {
  const r = await serviceOf(deps, serviceId, clientId);
  const [profile, limits, ms] = await Promise.all([
    deps.billing.forService(r.productId, serviceId, r.clientId),
    deps.store.limitsOf(r.lastSampleId === null ? [] : [r.lastSampleId]),
    deps.store.masters(),
  ]);
  const limitBytes = r.lastSampleId === null ? null : (limits.get(r.lastSampleId) ?? null);
  const { open, assessment, zone } = assess(r, profile, limitBytes, ms);
  let days: DayFigure[] = [];
  let notes: Array<Listed<PeriodNote>> = [];
  let daysUnreadable: UnreadableRow[] = [];
  if (open) {
    const [intervals, found] = await Promise.all([
      deps.store.intervals(open.periodId),
      deps.store.notesOf([open.periodId]),
    ]);
    days = dailySeries(intervals.figures, open.start, open.asOf);
    daysUnreadable = intervals.unreadable;
    notes = found.get(open.periodId) ?? [];
  }
  return {
    service: r,
    zone,
    profile,
    unit: (profile?.unit ?? 'GB') as SoldUnit,
    open,
    assessment,
    days,
    solusvmLimitBytes: limitBytes,
    notes,
    daysUnreadable,
  };
}

/** What each period's lines bill now, by period id. */
async function billedNowBy(
  deps: UsageReadDeps,
  periodIds: number[],
): Promise<Map<number, BilledNow | null | 'unavailable'>> {
  const out = new Map<number, BilledNow | null | 'unavailable'>();
  const lines = await deps.lines.onInvoicesOf(periodIds);
  for (const id of periodIds) {
    const mine = lines.filter((l) => l.periodId === id).map((l) => l.line);
    // a line that cannot be read: the sum is unknown, never the smaller sum of the others
    out.set(id, mine.some((l) => isUnreadable(l)) ? 'unavailable' : billedNow(mine as LineRow[]));
  }
  return out;
}

async function periods(
  deps: UsageReadDeps,
  serviceId: number,
  opts: { clientId?: number; before?: string | null; limit?: number },
): Promise<Page<PeriodRow | UnreadablePeriod>> {
  if (opts.clientId !== undefined) await serviceOf(deps, serviceId, opts.clientId);
  const limit = opts.limit ?? 12;
  const listed = await deps.store.periods(serviceId, opts.before ? dateCursor(opts.before) : null, limit + 1);
  const rows = listed.flatMap((p) => (isUnreadable(p) ? [] : [p]));
  const [notes, billed] = await Promise.all([
    deps.store.notesOf(rows.map((p) => p.id)),
    billedNowBy(
      deps,
      rows.map((p) => p.id),
    ),
  ]);
  for (const p of rows) {
    p.notes = notes.get(p.id) ?? [];
    if (p.charge) p.charge.billedNow = billed.get(p.id) ?? null;
  }
  const page = pageOf(listed, limit, () => '');
  return { rows: page.rows, next: page.next === null ? null : periodCursor(page.rows) };
}

/**
 * The next page starts before the last period of this one: its first day, or the stored day of an
 * unreadable one (it still orders the list). An unreadable period whose day is not one orders
 * nowhere: the page before it gives the cursor, and with none (every period of the page unreadable
 * so) there is no next page rather than the same page again.
 */
function periodCursor(rows: ReadonlyArray<PeriodRow | UnreadablePeriod>): string | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const p = rows[i]!;
    const at = isUnreadable(p) ? p.at : p.startDate;
    if (at !== null) return at;
  }
  return null;
}

async function periodDays(
  deps: UsageReadDeps,
  serviceId: number,
  periodId: number,
  opts: { clientId?: number; until?: IsoDate | null },
): Promise<PeriodDays> {
  const svc = await serviceOf(deps, serviceId, opts.clientId);
  const period = await deps.store.period(serviceId, periodId);
  if (!period) throw notFound(`period ${periodId} of service ${serviceId} does not exist`);
  if (period.charge) period.charge.billedNow = (await billedNowBy(deps, [periodId])).get(periodId) ?? null;
  const [intervals, notes] = await Promise.all([
    deps.store.intervals(periodId),
    deps.store.notesOf([periodId]),
  ]);
  period.notes = notes.get(periodId) ?? [];
  // an open period runs to the last day measured; a closed one to its last day
  const last =
    period.status === 'open'
      ? (svc.lastSampleDate ?? period.startDate)
      : (period.endDate ?? period.startDate);
  const until = opts.until && opts.until < last ? opts.until : last;
  const days = until < period.startDate ? [] : dailySeries(intervals.figures, period.startDate, until);
  return { period, days, unreadable: intervals.unreadable };
}

/**
 * A period's days for what sums them (the CSV, the days API): with an interval that cannot be read
 * the days would add up short of it, so the period is refused (UNEXPECTED_STATE naming the column:
 * the admin is told which, the client that it cannot be shown now) rather than a silently lower total.
 */
export function everyDay(d: PeriodDays): PeriodDays {
  const u = d.unreadable[0];
  if (u === undefined) return d;
  const column = u.unreadable.column;
  throw new ModuleError(
    'UNEXPECTED_STATE',
    `interval ${u.id ?? '?'} of period ${d.period.id} cannot be read (${column ?? 'a column'} is ${u.unreadable.reason}): its days would add up short of it`,
    // always a column: so the client's answer is the neutral sentence, as for any stored value
    { column: column ?? 'mod_overusage_intervals' },
  );
}

/** A profile's threshold percentages (the setting may not exist in older profiles). */
export function thresholdsOf(profile: BillingProfile | null): number[] {
  const t = (profile as { thresholds?: unknown } | null)?.thresholds;
  return Array.isArray(t) && t.length && t.every((x) => typeof x === 'number')
    ? [...(t as number[])].sort((a, b) => a - b)
    : [...DEFAULT_THRESHOLDS];
}

function dateCursor(v: string): IsoDate {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw invalidInput('cursor must be a date written YYYY-MM-DD');
  return v;
}

/** The full rating of a charge, for explanations. */
export function ratedOf(explanation: string): RatedCharge {
  return ratedChargeFromJson((JSON.parse(explanation) as { rated: Record<string, unknown> }).rated);
}

export type { DayFigure } from '../domain/daily-series.js';
export { toInstantOrNull };
