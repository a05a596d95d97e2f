import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { calendarLabel, serviceCalendar, type CalendarPeriod, type ServiceCalendar } from '../domain/billing-calendar.js';
import type { IsoDate } from '../domain/calendar.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { meterAll, type AnomalyKind, type GoodSample, type IntervalPart, type MeterState, type MeterStep } from '../domain/metering.js';
import { parseResetPolicy } from '../domain/reset-policy.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import { cacheCurrentTotal } from '../adapters/metering-store.js';
import { chunks, insertChunked, retryTransaction } from '../adapters/sql-helpers.js';
import { sqlBig, sqlBigOrNull, sqlInstant, toBig, toDate, toDateOrNull, toInstant, toNum, toNumOrNull } from '../adapters/rows.js';
import type { RatingService, RerateOutcome } from './rating.js';

/**
 * Usage periods as operators see and repair them: each period of a service with its state and
 * money, the anomalies metering found (a reset SolusVM skipped or made late, a counter drop no
 * one can read, traffic never measured, long gaps), an admin's decision on a drop ("it was a
 * reset" books the new value; "it was a correction" books nothing), corrections held for review,
 * and a rebuild of a service's periods from its kept samples (samples are the evidence; periods
 * and intervals are derived).
 */

const SERVICES = 'mod_overusage_services';
const PERIODS = 'mod_overusage_periods';
const INTERVALS = 'mod_overusage_intervals';
const ANOMALIES = 'mod_overusage_anomalies';
const CHARGES = 'mod_overusage_charges';
const LINES = 'mod_overusage_lines';
const SAMPLES = 'mod_overusage_samples';

/** open → closed (measured to its last day) → rated (a charge) → invoiced (a line on an invoice) */
export type PeriodState = 'open' | 'closed' | 'rated' | 'invoiced';

export type AnomalyStatus =
  /** a drop waiting for a decision, or a reset still due */
  | 'open'
  /** a drop an admin decided */
  | 'decided'
  /** a reset that was due and came */
  | 'resolved'
  /** told, nothing to decide */
  | 'info';

export interface AnomalyRow {
  id: number;
  serviceId: number;
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  kind: AnomalyKind;
  seenOn: IsoDate;
  details: Record<string, string | number>;
  status: AnomalyStatus;
  decision: 'reset' | 'correction' | null;
  decisionReason: string | null;
  decidedBy: { type: string; id: string | null } | null;
  decidedAt: string | null;
}

export interface ChargeSummary {
  id: number;
  seq: number;
  kind: 'usage' | 'correction';
  status: string;
  currency: string;
  usedBytes: bigint;
  allowanceBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  lineId: number | null;
  invoiceId: number | null;
}

export interface PeriodView {
  id: number;
  serviceId: number;
  start: IsoDate;
  end: IsoDate | null;
  calendar: string | null;
  state: PeriodState;
  usedBytes: bigint;
  /** the allowance and what the rating billed, once rated */
  charges: ChargeSummary[];
  anomalies: AnomalyRow[];
}

export interface DecideInput {
  decision: 'reset' | 'correction';
  reason: string;
}

export interface DecideOutcome {
  anomaly: AnomalyRow;
  /** bytes the decision added to the period */
  bookedBytes: bigint;
  rerate: RerateOutcome | null;
}

export interface RebuildReport {
  serviceId: number;
  samples: number;
  periodsBefore: number;
  periodsAfter: number;
  /** old periods whose charges moved to the calendar period that covers their days */
  absorbed: number;
  rerated: Array<{ periodId: number; outcome: RerateOutcome['kind'] }>;
}

export interface UsagePeriodService {
  periods(serviceId: number, opts?: { clientId?: number; limit?: number }): Promise<PeriodView[]>;
  anomalies(filter: { serviceId?: number; clientId?: number; status?: AnomalyStatus | 'all' }, opts?: { before?: number | null; limit?: number }): Promise<{ rows: AnomalyRow[]; next: string | null }>;
  anomaly(id: number): Promise<AnomalyRow>;
  decide(anomalyId: number, input: DecideInput, actor: Actor): Promise<DecideOutcome>;
  /** a correction charge held because a line of its period is disputed: bill it on the next invoice, or drop it */
  settleCorrection(chargeId: number, input: { action: 'bill' | 'drop'; reason: string }, actor: Actor): Promise<ChargeSummary>;
  /** corrections waiting for an admin, oldest first */
  corrections(opts?: { limit?: number }): Promise<Array<ChargeSummary & { serviceId: number; clientId: number; periodStart: IsoDate; periodEnd: IsoDate }>>;
  /** what waits for an admin: drops to decide, corrections to review */
  waiting(): Promise<{ anomalies: number; corrections: number }>;
  rebuild(serviceId: number, actor: Actor): Promise<RebuildReport>;
  /** services whose periods were made before the billing calendar (rebuilt once, at upgrade) */
  rebuildPending(actor: Actor): Promise<RebuildReport[]>;
}

const DECISIONS = new Set(['reset', 'correction']);

export const anomalyRow = (r: Record<string, unknown>): AnomalyRow => ({
  id: toNum(r.id),
  serviceId: toNum(r.service_id),
  periodId: toNum(r.period_id),
  periodStart: toDate(r.p_start_date),
  periodEnd: toDateOrNull(r.p_end_date),
  kind: String(r.kind) as AnomalyKind,
  seenOn: toDate(r.seen_on),
  details: JSON.parse(String(r.details)) as Record<string, string | number>,
  status: String(r.status) as AnomalyStatus,
  decision: r.decision === 'reset' || r.decision === 'correction' ? r.decision : null,
  decisionReason: (r.decision_reason as string | null) ?? null,
  decidedBy: r.decided_by_type ? { type: String(r.decided_by_type), id: (r.decided_by_id as string | null) ?? null } : null,
  decidedAt: r.decided_at ? toInstant(r.decided_at).toISO() : null,
});

const anomalyQuery = (knex: Knex | Knex.Transaction) =>
  knex(`${ANOMALIES} as a`)
    .join(`${PERIODS} as p`, 'p.id', 'a.period_id')
    .select('a.*', 'p.start_date as p_start_date', 'p.end_date as p_end_date');

const chargeSummary = (c: Record<string, unknown>): ChargeSummary => ({
  id: toNum(c.id),
  seq: toNum(c.seq),
  kind: c.kind === 'correction' ? 'correction' : 'usage',
  status: String(c.status),
  currency: String(c.currency),
  usedBytes: toBig(c.used_bytes),
  allowanceBytes: toBig(c.allowance_bytes),
  overBytes: toBig(c.over_bytes),
  amountMinor: toBig(c.amount_minor),
  lineId: toNumOrNull(c.line_id),
  invoiceId: toNumOrNull(c.invoice_id),
});

type UsagePeriodDeps = { knex: Knex; clock: Clock; audit: AuditLog; rating: RatingService };

async function serviceOf(knex: Knex, serviceId: number, clientId?: number): Promise<Record<string, unknown>> {
  const q = knex(SERVICES).where({ service_id: serviceId });
  if (clientId !== undefined) q.andWhere({ client_id: clientId });
  const r = await q.first();
  if (!r) throw notFound(`service ${serviceId} is not metered here`);
  return r;
}

export function createUsagePeriodService(deps: UsagePeriodDeps): UsagePeriodService {
  const { knex } = deps;
  const service: UsagePeriodService = {
    periods: (serviceId, opts = {}) => periodsOf(knex, serviceId, opts),

    async anomalies(filter, opts = {}) {
      const limit = Math.min(opts.limit ?? 50, 200);
      const q = anomalyQuery(knex).orderBy('a.id', 'desc').limit(limit + 1);
      if (filter.serviceId !== undefined) q.where('a.service_id', filter.serviceId);
      if (filter.clientId !== undefined) q.whereIn('a.service_id', knex(SERVICES).where({ client_id: filter.clientId }).select('service_id'));
      const status = filter.status ?? 'open';
      if (status !== 'all') q.where('a.status', status);
      if (opts.before) q.where('a.id', '<', opts.before);
      const rows = (await q).map(anomalyRow);
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      return { rows: kept, next: more ? String(kept[kept.length - 1]!.id) : null };
    },

    async anomaly(id) {
      const r = await anomalyQuery(knex).where('a.id', id).first();
      if (!r) throw notFound(`anomaly ${id} does not exist`);
      return anomalyRow(r);
    },

    async decide(anomalyId, input, actor) {
      const decided = await decideDrop(deps, anomalyId, input, actor);
      const rerate = await deps.rating.reratePeriod(decided.periodId, { actor, because: 'anomaly.decided', details: { anomalyId, decision: input.decision } });
      return { anomaly: await service.anomaly(anomalyId), bookedBytes: decided.booked, rerate: rerate.kind === 'not_rated' ? null : rerate };
    },

    settleCorrection: (chargeId, input, actor) => settleCorrection(deps, chargeId, input, actor),

    async corrections(opts = {}) {
      const rows = await knex(`${CHARGES} as c`).leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id').where('c.status', 'review').orderBy('c.id').limit(Math.min(opts.limit ?? 50, 200)).select('c.*', 'l.id as line_id', 'l.invoice_id');
      return rows.map((c) => ({ ...chargeSummary(c), serviceId: toNum(c.service_id), clientId: toNum(c.client_id), periodStart: toDate(c.period_start), periodEnd: toDate(c.period_end) }));
    },

    async waiting() {
      const [a, c] = await Promise.all([
        knex(ANOMALIES).where({ status: 'open', kind: 'mid_period_drop' }).count({ n: '*' }).first(),
        knex(CHARGES).where({ status: 'review' }).count({ n: '*' }).first(),
      ]);
      return { anomalies: toNum(a?.n ?? 0), corrections: toNum(c?.n ?? 0) };
    },

    rebuild: (serviceId, actor) => rebuildService(deps, serviceId, actor),

    async rebuildPending(actor) {
      const out: RebuildReport[] = [];
      for (;;) {
        const ids = await knex(SERVICES).where({ calendar_version: 0 }).whereNotNull('last_sample_id').orderBy('service_id').limit(200).pluck('service_id');
        if (ids.length === 0) break;
        for (const id of ids) out.push(await rebuildService(deps, toNum(id), actor));
      }
      // services never sampled have nothing to rebuild
      await knex(SERVICES).where({ calendar_version: 0 }).whereNull('last_sample_id').update({ calendar_version: 1 });
      return out;
    },
  };
  return service;
}

/** A service's periods, newest first, with their state, charges and anomalies. */
async function periodsOf(knex: Knex, serviceId: number, opts: { clientId?: number; limit?: number }): Promise<PeriodView[]> {
  await serviceOf(knex, serviceId, opts.clientId);
  const rows = await knex(PERIODS).where({ service_id: serviceId }).whereNot({ status: 'superseded' }).orderBy('start_date', 'desc').limit(Math.min(opts.limit ?? 24, 240));
  if (rows.length === 0) return [];
  const ids = rows.map((p) => toNum(p.id));
  const [charges, anomalies] = await Promise.all([
    knex(`${CHARGES} as c`).leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id').whereIn('c.period_id', ids).orderBy(['c.period_id', 'c.seq']).select('c.*', 'l.id as line_id', 'l.invoice_id'),
    anomalyQuery(knex).whereIn('a.period_id', ids).orderBy('a.id'),
  ]);
  return rows.map((p) => {
    const id = toNum(p.id);
    const cs = charges.filter((c) => toNum(c.period_id) === id).map(chargeSummary);
    const live = cs.filter((c) => c.status !== 'void');
    const state: PeriodState = p.status === 'open' ? 'open' : live.some((c) => c.lineId !== null) ? 'invoiced' : cs.length ? 'rated' : 'closed';
    return {
      id,
      serviceId,
      start: toDate(p.start_date),
      end: toDateOrNull(p.end_date),
      calendar: (p.calendar as string | null) ?? null,
      state,
      usedBytes: toBig(p.used_bytes),
      charges: cs,
      anomalies: anomalies.filter((a) => toNum(a.period_id) === id).map(anomalyRow),
    };
  });
}

/** An admin's decision on a counter drop: "reset" books what the counter read after it, "correction" nothing. */
async function decideDrop(deps: UsagePeriodDeps, anomalyId: number, input: DecideInput, actor: Actor): Promise<{ periodId: number; booked: bigint }> {
  if (!input || !DECISIONS.has(input.decision)) throw invalidInput('decision must be "reset" (the counter was reset: book what it read after the drop) or "correction" (the counter was corrected: book nothing)');
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length < 3) throw invalidInput('give a reason for the decision (what you checked on the master), at least 3 characters');
  const now = deps.clock.now();
  return retryTransaction(deps.knex, async (trx) => {
    const a = await trx(ANOMALIES).where({ id: anomalyId }).forUpdate().first();
    if (!a) throw notFound(`anomaly ${anomalyId} does not exist`);
    if (a.kind !== 'mid_period_drop') throw new ModuleError('CONFLICT', `a ${String(a.kind).replace(/_/g, ' ')} is told, not decided: only a counter drop in mid-period asks for a decision`);
    if (a.status !== 'open') throw new ModuleError('CONFLICT', `anomaly ${anomalyId} was already decided (${String(a.decision)})`, { decision: a.decision });
    const iv = a.interval_id === null ? null : await trx(INTERVALS).where({ id: a.interval_id }).forUpdate().first();
    if (!iv || iv.kind !== 'drop') throw new ModuleError('UNEXPECTED_STATE', `the interval of anomaly ${anomalyId} is gone or was decided already`);
    const booked = input.decision === 'reset' ? toBig(iv.candidate_bytes ?? 0) : 0n;
    await trx(INTERVALS).where({ id: iv.id }).update({ kind: input.decision === 'reset' ? 'manual_reset' : 'correction', bytes: sqlBig(booked) });
    if (booked !== 0n) await trx(PERIODS).where({ id: iv.period_id }).update({ used_bytes: trx.raw('used_bytes + ?', [sqlBig(booked)]) });
    await cacheCurrentTotal(trx, [toNum(a.service_id)]);
    await trx(ANOMALIES).where({ id: anomalyId }).update({ status: 'decided', decision: input.decision, decision_reason: reason.slice(0, 2000), decided_by_type: actor.type, decided_by_id: actor.id, decided_at: sqlInstant(now) });
    await deps.audit.record(
      trx,
      { actor, action: 'anomaly.decided', entityType: 'anomaly', entityId: anomalyId, details: { serviceId: toNum(a.service_id), periodId: toNum(iv.period_id), decision: input.decision, bookedBytes: booked.toString(), reason: reason.slice(0, 2000) } },
      now,
    );
    return { periodId: toNum(iv.period_id), booked };
  });
}

/** A correction held for review: bill it on the next invoice, or drop it. */
async function settleCorrection(deps: UsagePeriodDeps, chargeId: number, input: { action: 'bill' | 'drop'; reason: string }, actor: Actor): Promise<ChargeSummary> {
  if (!input || (input.action !== 'bill' && input.action !== 'drop')) throw invalidInput('action must be "bill" (on the next invoice) or "drop" (never billed)');
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length < 3) throw invalidInput('give a reason, at least 3 characters');
  const now = deps.clock.now();
  await retryTransaction(deps.knex, async (trx) => {
    const c = await trx(CHARGES).where({ id: chargeId }).forUpdate().first();
    if (!c || c.kind !== 'correction') throw notFound(`correction ${chargeId} does not exist`);
    if (c.status !== 'review') throw new ModuleError('CONFLICT', `correction ${chargeId} is not waiting for review (it is ${String(c.status)})`);
    const status = input.action === 'bill' ? 'unbilled' : 'void';
    await trx(CHARGES).where({ id: chargeId }).update({ status });
    await deps.audit.record(trx, { actor, action: input.action === 'bill' ? 'correction.released' : 'correction.dropped', entityType: 'charge', entityId: chargeId, details: { amountMinor: String(c.amount_minor), currency: c.currency, reason } }, now);
  });
  const c = await deps.knex(`${CHARGES} as c`).leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id').where('c.id', chargeId).first('c.*', 'l.id as line_id', 'l.invoice_id');
  return chargeSummary(c);
}

/** Everything a rebuild needs to know about one drop decision, keyed by the sample that showed the drop. */
interface KeptDecision {
  decision: 'reset' | 'correction';
  reason: string | null;
  byType: string | null;
  byId: string | null;
  at: string | null;
}

/** A service's row and the billing calendar its periods follow. */
async function calendarOfService(knex: Knex, serviceId: number): Promise<ServiceCalendar> {
  const svc = await knex(SERVICES).where({ service_id: serviceId }).first();
  if (!svc) throw notFound(`service ${serviceId} is not metered here`);
  const master = await knex('mod_overusage_masters').where({ id: svc.master_id }).first('reset_policy', 'time_zone', 'anniversary_from');
  if (!master) throw notFound(`the SolusVM master of service ${serviceId} does not exist`);
  return serviceCalendar({
    servicePolicy: svc.reset_policy ? parseResetPolicy(svc.reset_policy) : null,
    serviceDay: toNumOrNull(svc.reset_day),
    solusvmPolicy: svc.solusvm_reset_policy ? parseResetPolicy(svc.solusvm_reset_policy) : null,
    solusvmCreatedOn: toDateOrNull(svc.solusvm_created_on),
    masterPolicy: parseResetPolicy(master.reset_policy),
    zone: String(master.time_zone),
    regdate: toDateOrNull(svc.regdate),
    billingDay: toNumOrNull(svc.billing_day),
    anniversaryFrom: master.anniversary_from === 'panel' ? 'panel' : 'solusvm',
  });
}

/**
 * A service's periods made again from its samples on its billing calendar. Old period rows are
 * kept where a calendar period starts on the same day (their ids carry charges and lines); others
 * give their charges to the calendar period that covers their first day, and go. Decisions on
 * drops are kept (by the sample that showed the drop). Then every closed period is rated again:
 * a charge not on an invoice is replaced, an invoiced one left with a correction where it differs.
 */
async function rebuildService(deps: UsagePeriodDeps, serviceId: number, actor: Actor): Promise<RebuildReport> {
  const { knex } = deps;
  const now = deps.clock.now();
  const cal = await calendarOfService(knex, serviceId);
  const sampleRows = await knex(SAMPLES).where({ service_id: serviceId }).orderBy('sampled_at').select('id', 'used_bytes', 'sampled_at', 'sample_date');
  const samples: GoodSample[] = sampleRows.map((s) => ({ usedBytes: toBig(s.used_bytes), sampledAt: toInstant(s.sampled_at), sampleDate: toDate(s.sample_date) }));
  const replay: Replay = { serviceId, cal, samples, sampleIds: sampleRows.map((s) => toNum(s.id)), ...meterAll(samples, () => cal), now };

  const report: RebuildReport = { serviceId, samples: samples.length, periodsBefore: 0, periodsAfter: 0, absorbed: 0, rerated: [] };
  const closedPeriods = await retryTransaction(knex, async (trx) => {
    const old = await trx(PERIODS).where({ service_id: serviceId }).orderBy('start_date').forUpdate();
    report.periodsBefore = old.length;
    const decisions = await keptDecisions(trx, serviceId);
    await trx(INTERVALS).where({ service_id: serviceId }).delete();
    await trx(ANOMALIES).where({ service_id: serviceId }).delete();
    // The calendar periods the samples reach, oldest first.
    const periods: CalendarPeriod[] = [];
    const seen = new Set<string>();
    for (const st of replay.steps) for (const p of st.periods) if (!seen.has(p.start)) (seen.add(p.start), periods.push(p));
    const lastDate = samples.length ? samples[samples.length - 1]!.sampleDate : null;
    const ids = await placePeriods(trx, replay, periods, old, lastDate);
    report.absorbed = await absorbOldPeriods(trx, periods, old, ids);
    await writeParts(trx, replay, decisions, ids);
    await saveMeterState(trx, replay, ids);
    report.periodsAfter = periods.length;
    await deps.audit.record(trx, { actor, action: 'periods.rebuilt', entityType: 'service', entityId: serviceId, details: { samples: samples.length, periodsBefore: report.periodsBefore, periodsAfter: report.periodsAfter, absorbed: report.absorbed, calendar: calendarLabel(cal.calendar) } }, now);
    return periods.filter((p) => lastDate !== null && p.end <= lastDate).map((p) => ids.get(p.start)!);
  });
  for (const periodId of closedPeriods) {
    const has = await knex(CHARGES).where({ period_id: periodId }).first('id');
    if (!has) continue; // never rated: the next rating run rates it like any closed period
    const out = await deps.rating.reratePeriod(periodId, { actor, because: 'periods.rebuilt' });
    report.rerated.push({ periodId, outcome: out.kind });
  }
  return report;
}

/** A service's samples replayed through metering: what a rebuild writes. */
interface Replay {
  serviceId: number;
  cal: ServiceCalendar;
  samples: GoodSample[];
  sampleIds: number[];
  steps: MeterStep[];
  state: MeterState;
  now: DateTime;
}

/** The admins' decisions on drops, by the sample that showed the drop. */
async function keptDecisions(trx: Knex.Transaction, serviceId: number): Promise<Map<number, KeptDecision>> {
  const decisions = new Map<number, KeptDecision>();
  for (const a of await trx(ANOMALIES).where({ service_id: serviceId, kind: 'mid_period_drop' }).whereNotNull('decision')) {
    decisions.set(toNum(a.sample_id), { decision: a.decision, reason: a.decision_reason ?? null, byType: a.decided_by_type ?? null, byId: a.decided_by_id ?? null, at: a.decided_at ?? null });
  }
  return decisions;
}

/** One row per calendar period, reusing an old row that starts the same day; their ids by start. */
async function placePeriods(trx: Knex.Transaction, r: Replay, periods: CalendarPeriod[], old: Array<Record<string, unknown>>, lastDate: IsoDate | null): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const p of periods) {
    const same = old.find((o) => toDate(o.start_date) === p.start);
    const closed = lastDate !== null && p.end <= lastDate;
    const row = { end_date: p.end, status: closed ? 'closed' : 'open', opened_by: 'calendar', closed_by: closed ? 'calendar' : null, closed_at: closed ? sqlInstant(r.now) : null, calendar: calendarLabel(r.cal.calendar), used_bytes: 0, anomaly: null, reset_at: null, unmeasured_after: null };
    if (same) {
      await trx(PERIODS).where({ id: same.id }).update(row);
      ids.set(p.start, toNum(same.id));
    } else {
      await trx(PERIODS).insert({ service_id: r.serviceId, start_date: p.start, created_at: sqlInstant(r.now), ...row });
      ids.set(p.start, toNum((await trx(PERIODS).where({ service_id: r.serviceId, start_date: p.start }).first('id')).id));
    }
  }
  return ids;
}

/** Old rows no calendar period kept: their charges (and lines) go to the period covering their first day. How many gave charges. */
async function absorbOldPeriods(trx: Knex.Transaction, periods: CalendarPeriod[], old: Array<Record<string, unknown>>, ids: Map<string, number>): Promise<number> {
  const reused = new Set(ids.values());
  let absorbed = 0;
  for (const o of old) {
    const oid = toNum(o.id);
    if (reused.has(oid)) continue;
    const start = toDate(o.start_date);
    const home = periods.find((p) => p.start <= start && p.end >= start) ?? periods.find((p) => p.start >= start);
    const charges = await trx(CHARGES).where({ period_id: oid }).orderBy('seq');
    if (charges.length && !home) {
      await trx(PERIODS).where({ id: oid }).update({ status: 'superseded' });
      continue;
    }
    if (charges.length) {
      const homeId = ids.get(home!.start)!;
      const top = await trx(CHARGES).where({ period_id: homeId }).max({ m: 'seq' }).first();
      let seq = Math.max(toNum(top?.m ?? 0), 0) + 1;
      for (const c of charges) await trx(CHARGES).where({ id: c.id }).update({ period_id: homeId, seq: seq++ });
      absorbed++;
    }
    await trx(PERIODS).where({ id: oid }).delete();
  }
  return absorbed;
}

/** The anomaly row of one step's finding, with the decision kept on a drop. */
function anomalyRowOf(r: Replay, i: number, a: MeterStep['anomalies'][number], periodId: number, kept: KeptDecision | undefined): Record<string, unknown> {
  const decision = a.kind === 'mid_period_drop' ? kept : undefined;
  const settled = a.kind === 'reset_not_seen' && r.steps.slice(i + 1).some((later) => later.reading === 'reset' || later.reading === 'late_reset');
  return {
    service_id: r.serviceId,
    period_id: periodId,
    kind: a.kind,
    sample_id: r.sampleIds[i]!,
    seen_on: r.samples[i]!.sampleDate,
    details: JSON.stringify(a.details),
    status: decision ? 'decided' : a.kind === 'mid_period_drop' || (a.kind === 'reset_not_seen' && !settled) ? 'open' : a.kind === 'reset_not_seen' ? 'resolved' : 'info',
    decision: decision?.decision ?? null,
    decision_reason: decision?.reason ?? null,
    decided_by_type: decision?.byType ?? null,
    decided_by_id: decision?.byId ?? null,
    decided_at: decision?.at ?? null,
    created_at: sqlInstant(r.now),
  };
}

/** Interval parts (decisions kept), each period's total and last sample, anomalies, and resets. */
async function writeParts(trx: Knex.Transaction, r: Replay, decisions: Map<number, KeptDecision>, ids: Map<string, number>): Promise<void> {
  const intervalRows: Record<string, unknown>[] = [];
  const totals = new Map<number, bigint>();
  const anomalyRows: Record<string, unknown>[] = [];
  const resets: Array<{ id: number; reset_at: string | null; unmeasured_after: string | null }> = [];
  r.steps.forEach((st, i) => {
    const toSample = r.sampleIds[i]!;
    const fromSample = i > 0 ? r.sampleIds[i - 1]! : null;
    const kept = decisions.get(toSample);
    for (const part of st.parts) {
      const decided = part.kind === 'drop' && kept ? decidedPart(part, kept.decision) : part;
      const pid = ids.get(part.period.start)!;
      intervalRows.push({ service_id: r.serviceId, period_id: pid, from_sample_id: st.reading === 'first' ? null : fromSample, to_sample_id: toSample, kind: decided.kind, from_date: decided.fromDate, to_date: decided.toDate, bytes: sqlBig(decided.bytes), estimated: decided.estimated, candidate_bytes: sqlBigOrNull(decided.candidateBytes) });
      totals.set(pid, (totals.get(pid) ?? 0n) + decided.bytes);
    }
    for (const a of st.anomalies) anomalyRows.push(anomalyRowOf(r, i, a, ids.get(a.period.start)!, kept));
    if (st.reading === 'reset' || st.reading === 'late_reset') {
      resets.push({ id: ids.get(st.periods[0]!.start)!, reset_at: st.resetAt ? sqlInstant(st.resetAt) : null, unmeasured_after: st.unmeasuredAfter ? sqlInstant(st.unmeasuredAfter) : null });
    }
  });
  for (const x of resets) await trx(PERIODS).where({ id: x.id }).update({ reset_at: x.reset_at, unmeasured_after: x.unmeasured_after });
  await insertChunked(trx, INTERVALS, intervalRows);
  for (const [pid, used] of totals) await trx(PERIODS).where({ id: pid }).update({ used_bytes: sqlBig(used), last_sample_id: null });
  for (const part of chunks([...ids.values()], 500)) {
    // each period's last sample: the latest interval that ends in it
    const lastOf = await trx(INTERVALS).whereIn('period_id', part).groupBy('period_id').select('period_id', trx.raw('MAX(to_sample_id) AS s'));
    for (const l of lastOf) await trx(PERIODS).where({ id: l.period_id }).update({ last_sample_id: toNum(l.s) });
  }
  await insertChunked(trx, ANOMALIES, anomalyRows);
  // the undecided drops point at their interval
  const drops = await trx(INTERVALS).where({ service_id: r.serviceId }).whereIn('kind', ['drop', 'manual_reset', 'correction']).select('id', 'to_sample_id');
  for (const d of drops) await trx(ANOMALIES).where({ service_id: r.serviceId, kind: 'mid_period_drop', sample_id: d.to_sample_id }).update({ interval_id: d.id });
}

/** Where metering goes on from: the open period, a reset still due, the recent pace. */
async function saveMeterState(trx: Knex.Transaction, r: Replay, ids: Map<string, number>): Promise<void> {
  const current = r.state.period;
  await trx(SERVICES)
    .where({ service_id: r.serviceId })
    .update({
      open_period_id: current ? ids.get(current.start)! : null,
      open_period_start: current?.start ?? null,
      open_period_end: current?.end ?? null,
      reset_due_on: r.state.resetDueOn,
      daily_bytes: r.state.dailyBytes === null || r.state.dailyBytes === undefined ? null : sqlBig(r.state.dailyBytes),
      calendar_version: 1,
      updated_at: sqlInstant(r.now),
    });
  await cacheCurrentTotal(trx, [r.serviceId]);
}

function decidedPart(part: IntervalPart, decision: 'reset' | 'correction'): IntervalPart {
  return { ...part, kind: decision === 'reset' ? 'manual_reset' : 'correction', bytes: decision === 'reset' ? (part.candidateBytes ?? 0n) : 0n };
}
