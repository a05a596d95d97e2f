import type { Knex } from 'knex';
import { parseDisputeState, parseResolvingTo, type DisputeState, type Resolution } from '../domain/dispute-state.js';
import { parseHoldState, type HoldState } from '../domain/hold-state.js';
import { parseLineStatus } from '../domain/line-status.js';
import { daysBetween, type IsoDate } from '../domain/calendar.js';
import { dailySeries, type DayFigure } from '../domain/daily-series.js';
import { invalidInput, notFound } from '../domain/errors.js';
import { crossedThresholds, openPeriodShape, DEFAULT_THRESHOLDS, percentUsed, periodAllowance, periodSeconds, projectUsage, type PeriodShape, type ProjectedCost, type Projection } from '../domain/thresholds.js';
import { ratedChargeFromJson, rateUsage, type RatedCharge, type RatingPlan, type SoldUnit } from '../domain/usage-rating.js';
import { toBig, toBigOrNull, toDate, toDateOrNull, toInstant, toInstantOrNull, toNum } from '../adapters/rows.js';
import { PlanNotPossible, ratingPlan, type BillingProfile, type BillingSettingsService } from './billing-settings.js';

/**
 * What the client widget and the admin tab read: a service's open period with what its product
 * makes of it (allowance, thresholds reached, projection and projected cost, by the bill's own
 * rating), its daily figures, its past periods and its lines with their disputes. Every read that
 * takes a `clientId` is limited to that client's rows; anything else reads as not found.
 */

export interface Page<T> {
  rows: T[];
  /** the cursor of the next page; null on the last page */
  next: string | null;
}

export interface ServiceRow {
  serviceId: number;
  clientId: number;
  productId: number;
  masterId: number;
  serverRef: string;
  active: boolean;
  currency: string;
  regdate: IsoDate | null;
  lastSampleDate: IsoDate | null;
  lastSampledAt: string | null;
  openPeriodId: number | null;
  openPeriodStart: IsoDate | null;
  openPeriodEnd: IsoDate | null;
  openPeriodUsedBytes: bigint | null;
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
  notes: PeriodNote[];
}

/** What metering found in a period's counter, for the words beside its figures. */
export interface PeriodNote {
  kind: string;
  status: string;
  decision: string | null;
  seenOn: IsoDate;
  details: Record<string, string | number>;
}

export interface PeriodRow {
  id: number;
  serviceId: number;
  startDate: IsoDate;
  endDate: IsoDate | null;
  status: string;
  usedBytes: bigint;
  closedBy: string | null;
  anomaly: string | null;
  notes: PeriodNote[];
  charge: { id: number; status: string; currency: string; allowanceBytes: bigint; overBytes: bigint; amountMinor: bigint; unit: SoldUnit | null; billedNow?: BilledNow | null } | null;
}

/** What a period's invoice lines bill now, after any dispute's decision (null: no line yet). */
export interface BilledNow {
  amountMinor: bigint;
  /** every line waived, or one adjusted after a dispute */
  afterDispute: 'waived' | 'adjusted' | null;
}

/** The period's lines summed as they stand now: a waived line bills 0, an adjusted one its new amount. */
export function billedNowOf(lines: readonly LineRow[]): BilledNow | null {
  if (lines.length === 0) return null;
  const waived = (l: LineRow) => l.status === 'waived' || l.dispute?.state === 'waived';
  const amountMinor = lines.reduce((a, l) => a + (waived(l) ? 0n : l.amountMinor), 0n);
  if (lines.every(waived)) return { amountMinor, afterDispute: 'waived' };
  return { amountMinor, afterDispute: lines.some((l) => l.dispute?.state === 'adjusted') ? 'adjusted' : null };
}

export interface LineRow {
  id: number;
  refCode: string;
  serviceId: number;
  clientId: number;
  invoiceId: number;
  status: string;
  amountMinor: bigint;
  currency: string;
  description: string;
  locale: string;
  invoiceDate: IsoDate;
  deadlineLastDay: IsoDate;
  deadlineClosesAt: string;
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  chargeAmountMinor: bigint;
  dispute: {
    id: number;
    state: DisputeState;
    resolvingTo: Resolution | null;
    holdState: HoldState;
    reason: string;
    openedByType: string;
    openedAt: string;
    amountBeforeMinor: bigint;
    amountAfterMinor: bigint | null;
    resolvedAt: string | null;
    newDueDate: IsoDate | null;
    heldInvoiceId: number | null;
    /** the invoice the line was billed on before it was held (0 where not read) */
    originalInvoiceId?: number;
    version: number;
    /** 'credited' once what was paid went back to the client's account credit */
    settlement?: string | null;
  } | null;
}

const SERVICES = 'mod_overusage_services';
const PERIODS = 'mod_overusage_periods';
const LINES = 'mod_overusage_lines';
const DISPUTES = 'mod_overusage_disputes';
const CHARGES = 'mod_overusage_charges';

export const serviceRow = (r: Record<string, unknown>): ServiceRow => ({
  serviceId: toNum(r.service_id),
  clientId: toNum(r.client_id),
  productId: toNum(r.product_id),
  masterId: toNum(r.master_id),
  serverRef: String(r.server_ref),
  active: r.active === true || r.active === 1 || r.active === 1n || r.active === '1',
  currency: String(r.currency ?? 'EUR'),
  regdate: toDateOrNull(r.regdate),
  lastSampleDate: toDateOrNull(r.last_sample_date),
  lastSampledAt: r.last_sampled_at ? toInstant(r.last_sampled_at).toISO() : null,
  openPeriodId: r.open_period_id === null || r.open_period_id === undefined ? null : toNum(r.open_period_id),
  openPeriodStart: toDateOrNull(r.open_period_start),
  openPeriodEnd: toDateOrNull(r.open_period_end),
  openPeriodUsedBytes: toBigOrNull(r.open_period_used_bytes),
});

const SERVICE_COLUMNS = ['service_id', 'client_id', 'product_id', 'master_id', 'server_ref', 'active', 'currency', 'regdate', 'last_sample_date', 'last_sampled_at', 'open_period_id', 'open_period_start', 'open_period_end', 'open_period_used_bytes', 'reset_policy', 'reset_day', 'last_sample_id'];

export const lineRow = (r: Record<string, unknown>): LineRow => ({
  id: toNum(r.id),
  refCode: String(r.ref_code),
  serviceId: toNum(r.service_id),
  clientId: toNum(r.client_id),
  invoiceId: toNum(r.invoice_id),
  status: parseLineStatus(r.status),
  amountMinor: toBig(r.amount_minor),
  currency: String(r.currency),
  description: String(r.description),
  locale: String(r.locale),
  invoiceDate: toDate(r.invoice_date),
  deadlineLastDay: toDate(r.deadline_last_day),
  deadlineClosesAt: toInstant(r.deadline_closes_at).toISO()!,
  periodId: toNum(r.period_id),
  periodStart: toDate(r.period_start),
  periodEnd: toDate(r.period_end),
  chargeAmountMinor: toBig(r.charge_amount_minor),
  dispute:
    r.d_id === null || r.d_id === undefined
      ? null
      : {
          id: toNum(r.d_id),
          state: parseDisputeState(r.d_state),
          resolvingTo: parseResolvingTo(r.d_resolving_to),
          holdState: parseHoldState(r.d_hold_state),
          reason: String(r.d_reason),
          openedByType: String(r.d_opened_by_type),
          openedAt: toInstant(r.d_opened_at).toISO()!,
          amountBeforeMinor: toBig(r.d_amount_before_minor),
          amountAfterMinor: toBigOrNull(r.d_amount_after_minor),
          resolvedAt: r.d_resolved_at ? toInstant(r.d_resolved_at).toISO() : null,
          newDueDate: toDateOrNull(r.d_new_due_date),
          heldInvoiceId: r.d_held_invoice_id === null || r.d_held_invoice_id === undefined ? null : toNum(r.d_held_invoice_id),
          originalInvoiceId: toNum(r.d_original_invoice_id),
          version: toNum(r.d_version),
          settlement: (r.d_settlement as string | null | undefined) ?? null,
        },
});

/** Lines with their period and dispute; callers add the filter, the order and the limit. */
export function linesQuery(knex: Knex) {
  return knex(`${LINES} as l`)
    .join(`${CHARGES} as c`, 'c.id', 'l.charge_id')
    .leftJoin(`${DISPUTES} as d`, 'd.line_id', 'l.id')
    .select(
      'l.id',
      'l.ref_code',
      'l.service_id',
      'l.client_id',
      'l.invoice_id',
      'l.status',
      'l.amount_minor',
      'l.currency',
      'l.description',
      'l.locale',
      'l.invoice_date',
      'l.deadline_last_day',
      'l.deadline_closes_at',
      'c.period_id',
      'c.period_start',
      'c.period_end',
      'c.amount_minor as charge_amount_minor',
      'd.id as d_id',
      'd.state as d_state',
      'd.resolving_to as d_resolving_to',
      'd.hold_state as d_hold_state',
      'd.reason as d_reason',
      'd.opened_by_type as d_opened_by_type',
      'd.opened_at as d_opened_at',
      'd.amount_before_minor as d_amount_before_minor',
      'd.amount_after_minor as d_amount_after_minor',
      'd.resolved_at as d_resolved_at',
      'd.new_due_date as d_new_due_date',
      'd.held_invoice_id as d_held_invoice_id',
      'd.original_invoice_id as d_original_invoice_id',
      'd.version as d_version',
      'd.settlement as d_settlement',
    );
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
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalidInput(`limit must be a whole number from 1 to ${max}`);
  return n;
};

/** rows fetched with one extra: the extra row says there is a next page */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, next: more && kept.length ? cursorOf(kept[kept.length - 1]!) : null };
}

interface MasterRule {
  policy: unknown;
  zone: string;
}

export interface UsageReads {
  /** the client's metered services, by service id */
  clientServices(clientId: number): Promise<ServiceRow[]>;
  serviceUsage(serviceId: number, opts?: { clientId?: number }): Promise<ServiceUsage>;
  /** the service's periods, newest first (the open one included), a page at a time */
  periods(serviceId: number, opts?: { clientId?: number; before?: string | null; limit?: number }): Promise<Page<PeriodRow>>;
  /** one period's daily figures (the CSV download) */
  periodDays(serviceId: number, periodId: number, opts?: { clientId?: number; until?: IsoDate | null }): Promise<{ period: PeriodRow; days: DayFigure[] }>;
  /** lines, newest first */
  lines(filter: { clientId?: number; serviceId?: number }, opts?: { before?: number | null; limit?: number }): Promise<Page<LineRow>>;
  line(lineId: number, opts?: { clientId?: number }): Promise<LineRow>;
  /** what a services row means under its product (shared with the admin dashboard) */
  assess(service: Record<string, unknown>, profile: BillingProfile | null, limitBytes: bigint | null, masters: Map<number, MasterRule>): { open: OpenPeriodUsage | null; assessment: UsageAssessment | null; zone: string };
  masters(): Promise<Map<number, MasterRule>>;
}

export function createUsageReads(deps: { knex: Knex; billing: BillingSettingsService }): UsageReads {
  const { knex } = deps;



  // projectCost (domain/thresholds.ts) with the period's seconds worked out once per shape: the
  // dashboard rates thousands of services that share a handful of periods.
  const seconds = new Map<string, bigint>();
  function costOf(plan: RatingPlan, shape: PeriodShape, usedBytes: bigint, projectedUsedBytes: bigint | null, zone: string): ProjectedCost | null {
    if (plan.model.kind === 'p95' || shape.end === null || projectedUsedBytes === null) return null;
    const key = `${shape.from}|${shape.end}|${zone}`;
    let secs = seconds.get(key);
    if (secs === undefined) {
      secs = periodSeconds(shape.from, shape.end, zone);
      if (seconds.size > 10_000) seconds.clear();
      seconds.set(key, secs);
    }
    const days = Math.max(1, daysBetween(shape.from, shape.end) + 1);
    const usage = (bytes: bigint) => rateUsage({ usedBytes: bytes, days, nominalDays: shape.nominalDays ?? days, seconds: secs }, plan).amountMinor;
    return { soFarMinor: usage(usedBytes), atEndMinor: usage(projectedUsedBytes), currency: plan.currency };
  }

  async function masters(): Promise<Map<number, MasterRule>> {
    const rows = await knex('mod_overusage_masters').select('id', 'reset_policy', 'time_zone');
    return new Map(rows.map((m) => [toNum(m.id), { policy: m.reset_policy, zone: String(m.time_zone) }]));
  }

  function assess(r: Record<string, unknown>, profile: BillingProfile | null, limitBytes: bigint | null, ms: Map<number, MasterRule>) {
    const master = ms.get(toNum(r.master_id)) ?? { policy: 'first_of_month', zone: 'UTC' };
    if (r.open_period_id === null || r.open_period_id === undefined || !r.open_period_start || !r.last_sample_date) return { open: null, assessment: null, zone: master.zone };
    const start = toDate(r.open_period_start);
    const end = toDateOrNull(r.open_period_end);
    const { shape, asOf } = openPeriodShape({ start, end, regdate: toDateOrNull(r.regdate), lastSampleDate: toDate(r.last_sample_date) });
    const open: OpenPeriodUsage = { periodId: toNum(r.open_period_id), start, end, shape, asOf, usedBytes: toBig(r.open_period_used_bytes ?? 0) };
    if (!profile) return { open, assessment: null, zone: master.zone };
    let plan: RatingPlan;
    try {
      plan = ratingPlan(profile, String(r.currency ?? 'EUR'), limitBytes);
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

  async function serviceRecord(serviceId: number, clientId?: number): Promise<Record<string, unknown>> {
    const q = knex(SERVICES).where({ service_id: serviceId });
    if (clientId !== undefined) q.andWhere({ client_id: clientId });
    const r = await q.first(SERVICE_COLUMNS);
    if (!r) throw notFound(`service ${serviceId} is not metered here`);
    return r;
  }

  const periodRow = (p: Record<string, unknown>, unit: SoldUnit | null = null): PeriodRow => ({
    id: toNum(p.id),
    serviceId: toNum(p.service_id),
    startDate: toDate(p.start_date),
    endDate: toDateOrNull(p.end_date),
    status: String(p.status),
    usedBytes: toBig(p.used_bytes),
    closedBy: (p.closed_by as string | null) ?? null,
    anomaly: (p.anomaly as string | null) ?? null,
    notes: [],
    charge:
      p.c_id === null || p.c_id === undefined
        ? null
        : {
            id: toNum(p.c_id),
            status: String(p.c_status),
            currency: String(p.c_currency),
            allowanceBytes: toBig(p.c_allowance_bytes),
            overBytes: toBig(p.c_over_bytes),
            amountMinor: toBig(p.c_amount_minor),
            unit: p.c_explanation ? unitOfExplanation(String(p.c_explanation)) : unit,
          },
  });

  /** What each period's lines bill now, by period id. */
  const billedNow = async (periodIds: number[]): Promise<Map<number, BilledNow | null>> => {
    const out = new Map<number, BilledNow | null>();
    if (periodIds.length === 0) return out;
    const lines = (await linesQuery(knex).whereIn('c.period_id', periodIds).whereNot('l.status', 'pending')).map(lineRow);
    for (const id of periodIds) out.set(id, billedNowOf(lines.filter((l) => l.periodId === id)));
    return out;
  };

  const periodsQuery = () =>
    knex(`${PERIODS} as p`)
      .leftJoin(`${CHARGES} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
      .select('p.id', 'p.service_id', 'p.start_date', 'p.end_date', 'p.status', 'p.used_bytes', 'p.closed_by', 'p.anomaly', 'c.id as c_id', 'c.status as c_status', 'c.currency as c_currency', 'c.allowance_bytes as c_allowance_bytes', 'c.over_bytes as c_over_bytes', 'c.amount_minor as c_amount_minor', 'c.explanation as c_explanation');

  /** The anomalies of these periods, as notes (oldest first). */
  async function notesOf(periodIds: number[]): Promise<Map<number, PeriodNote[]>> {
    const out = new Map<number, PeriodNote[]>();
    if (periodIds.length === 0) return out;
    const rows = await knex('mod_overusage_anomalies').whereIn('period_id', periodIds).orderBy('id').select('period_id', 'kind', 'status', 'decision', 'seen_on', 'details');
    for (const a of rows) {
      const id = toNum(a.period_id);
      const list = out.get(id) ?? [];
      list.push({ kind: String(a.kind), status: String(a.status), decision: (a.decision as string | null) ?? null, seenOn: toDate(a.seen_on), details: JSON.parse(String(a.details)) as Record<string, string | number> });
      out.set(id, list);
    }
    return out;
  }

  const reads: UsageReads = {
    masters,
    assess,

    async clientServices(clientId) {
      const rows = await knex(SERVICES).where({ client_id: clientId }).orderBy('service_id').limit(500).select(SERVICE_COLUMNS);
      return rows.map(serviceRow);
    },

    async serviceUsage(serviceId, opts = {}) {
      const r = await serviceRecord(serviceId, opts.clientId);
      const [profile, limitRow, ms] = await Promise.all([
        deps.billing.forService(toNum(r.product_id), serviceId, toNum(r.client_id)),
        r.last_sample_id === null || r.last_sample_id === undefined ? Promise.resolve(undefined) : knex('mod_overusage_samples').where({ id: r.last_sample_id }).first('limit_bytes'),
        masters(),
      ]);
      const limitBytes = toBigOrNull(limitRow?.limit_bytes ?? null);
      const { open, assessment, zone } = assess(r, profile, limitBytes, ms);
      let days: DayFigure[] = [];
      let notes: PeriodNote[] = [];
      if (open) {
        const [intervals, found] = await Promise.all([
          knex('mod_overusage_intervals').where({ period_id: open.periodId }).select('from_date', 'to_date', 'bytes', 'estimated', 'kind'),
          notesOf([open.periodId]),
        ]);
        days = dailySeries(intervals.map(intervalFigure), open.start, open.asOf);
        notes = found.get(open.periodId) ?? [];
      }
      return { service: serviceRow(r), zone, profile, unit: (profile?.unit ?? 'GB') as SoldUnit, open, assessment, days, solusvmLimitBytes: limitBytes, notes };
    },

    async periods(serviceId, opts = {}) {
      if (opts.clientId !== undefined) await serviceRecord(serviceId, opts.clientId);
      const limit = opts.limit ?? 12;
      const q = periodsQuery().where('p.service_id', serviceId).orderBy('p.start_date', 'desc').limit(limit + 1);
      if (opts.before) q.andWhere('p.start_date', '<', dateCursor(opts.before));
      const rows = (await q).map((p) => periodRow(p));
      const [notes, billed] = await Promise.all([notesOf(rows.map((p) => p.id)), billedNow(rows.map((p) => p.id))]);
      for (const p of rows) {
        p.notes = notes.get(p.id) ?? [];
        if (p.charge) p.charge.billedNow = billed.get(p.id) ?? null;
      }
      return pageOf(rows, limit, (last) => last.startDate);
    },

    async periodDays(serviceId, periodId, opts = {}) {
      const svc = await serviceRecord(serviceId, opts.clientId);
      const p = await periodsQuery().where({ 'p.id': periodId, 'p.service_id': serviceId }).first();
      if (!p) throw notFound(`period ${periodId} of service ${serviceId} does not exist`);
      const period = periodRow(p);
      if (period.charge) period.charge.billedNow = (await billedNow([periodId])).get(periodId) ?? null;
      const [intervals, notes] = await Promise.all([knex('mod_overusage_intervals').where({ period_id: periodId }).select('from_date', 'to_date', 'bytes', 'estimated', 'kind'), notesOf([periodId])]);
      period.notes = notes.get(periodId) ?? [];
      // an open period runs to the last day measured; a closed one to its last day
      const last = period.status === 'open' ? (toDateOrNull(svc.last_sample_date) ?? period.startDate) : (period.endDate ?? period.startDate);
      const until = opts.until && opts.until < last ? opts.until : last;
      const days = until < period.startDate ? [] : dailySeries(intervals.map(intervalFigure), period.startDate, until);
      return { period, days };
    },

    async lines(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      const q = linesQuery(knex).orderBy('l.id', 'desc').limit(limit + 1);
      if (filter.clientId !== undefined) q.where('l.client_id', filter.clientId);
      if (filter.serviceId !== undefined) q.where('l.service_id', filter.serviceId);
      if (opts.before) q.where('l.id', '<', opts.before);
      return pageOf((await q).map(lineRow), limit, (last) => String(last.id));
    },

    async line(lineId, opts = {}) {
      const q = linesQuery(knex).where('l.id', lineId);
      if (opts.clientId !== undefined) q.andWhere('l.client_id', opts.clientId);
      const r = await q.first();
      if (!r) throw notFound(`line ${lineId} does not exist`);
      return lineRow(r);
    },
  };
  return reads;
}

/** An interval as the daily series reads it: split parts and gaps are estimates; an undecided drop is marked. */
const intervalFigure = (i: Record<string, unknown>) => ({
  fromDate: toDate(i.from_date),
  toDate: toDate(i.to_date),
  bytes: toBig(i.bytes),
  estimated: i.estimated === true || i.estimated === 1 || i.estimated === 1n || i.estimated === '1',
  undecided: i.kind === 'drop',
});

/** A profile's threshold percentages (the setting may not exist in older profiles). */
export function thresholdsOf(profile: BillingProfile | null): number[] {
  const t = (profile as { thresholds?: unknown } | null)?.thresholds;
  return Array.isArray(t) && t.length && t.every((x) => typeof x === 'number') ? [...(t as number[])].sort((a, b) => a - b) : [...DEFAULT_THRESHOLDS];
}

function dateCursor(v: string): IsoDate {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw invalidInput('cursor must be a date written YYYY-MM-DD');
  return v;
}

/** The unit a charge was sold in, from its stored rating. */
function unitOfExplanation(text: string): SoldUnit | null {
  try {
    return (JSON.parse(text) as { rated?: { unit?: SoldUnit } }).rated?.unit ?? null;
  } catch {
    return null;
  }
}

/** The full rating of a charge, for explanations. */
export function ratedOf(explanation: string): RatedCharge {
  return ratedChargeFromJson((JSON.parse(explanation) as { rated: Record<string, unknown> }).rated);
}

export type { DayFigure } from '../domain/daily-series.js';
export { toInstantOrNull };
