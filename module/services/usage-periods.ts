import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import {
  calendarLabel,
  serviceCalendar,
  type CalendarPeriod,
  type ServiceCalendar,
} from '../domain/billing-calendar.js';
import type { IsoDate } from '../domain/calendar.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import {
  ENDS_RESET_DUE,
  meterAll,
  resetDueEnded,
  type GoodSample,
  type IntervalPart,
  type MeterState,
  type MeterStep,
} from '../domain/metering.js';
import {
  createAnomalyStore,
  type AnomalyRow,
  type AnomalyStatus,
  type AnomalyStore,
  type KeptDecision,
  type NewAnomaly,
} from '../adapters/anomaly-store.js';
import { isUnreadable, readableOf, type Listed, type SetAside } from '../adapters/rows.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import { cacheCurrentTotal } from '../adapters/metering-store.js';
import { createPeriodReadStore } from '../adapters/period-read-store.js';
import { createSampleStore } from '../adapters/sample-store.js';
import { retryTransaction } from '../adapters/sql-helpers.js';
import {
  createUsagePeriodStore,
  type ChargeSummary,
  type NewInterval,
  type PeriodCharge,
  type UsagePeriodStore,
} from '../adapters/usage-period-store.js';
import type { RatingService, RerateOutcome } from './rating.js';

/**
 * Usage periods as operators see and repair them: each period of a service with its state and
 * money, the anomalies metering found (a reset SolusVM skipped or made late, a counter drop no
 * one can read, traffic never measured, long gaps), an admin's decision on a drop ("it was a
 * reset" books the new value; "it was a correction" books nothing), corrections held for review,
 * and a rebuild of a service's periods from its kept samples (samples are the evidence; periods
 * and intervals are derived).
 */

export type { AnomalyRow, AnomalyStatus, ChargeSummary };

/** open → closed (measured to its last day) → rated (a charge) → invoiced (a line on an invoice) */
export type PeriodState = 'open' | 'closed' | 'rated' | 'invoiced';

export interface PeriodView {
  id: number;
  serviceId: number;
  start: IsoDate;
  end: IsoDate | null;
  calendar: string | null;
  state: PeriodState;
  usedBytes: bigint;
  /**
   * the allowance and what the rating billed, once rated; a charge that cannot be read is in its
   * place (its amount not known: the period's money is then not known either, never a smaller sum)
   */
  charges: Array<Listed<ChargeSummary>>;
  /** one that cannot be read in its place */
  anomalies: Array<Listed<AnomalyRow>>;
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
  /** a period whose row cannot be read is in its place (told to setAside) */
  periods(
    serviceId: number,
    opts?: { clientId?: number; limit?: number },
  ): Promise<Array<Listed<PeriodView>>>;
  anomalies(
    filter: { serviceId?: number; clientId?: number; status?: AnomalyStatus | 'all' },
    opts?: { before?: number | null; limit?: number },
  ): Promise<{ rows: Array<Listed<AnomalyRow>>; next: string | null }>;
  anomaly(id: number): Promise<AnomalyRow>;
  decide(anomalyId: number, input: DecideInput, actor: Actor): Promise<DecideOutcome>;
  /** a correction charge held because a line of its period is disputed: bill it on the next invoice, or drop it */
  settleCorrection(
    chargeId: number,
    input: { action: 'bill' | 'drop'; reason: string },
    actor: Actor,
  ): Promise<ChargeSummary>;
  /** corrections waiting for an admin, oldest first; one that cannot be read in its place */
  corrections(opts?: { limit?: number }): Promise<Array<Listed<HeldCorrection>>>;
  /** what waits for an admin: drops to decide, corrections to review */
  waiting(): Promise<{ anomalies: number; corrections: number }>;
  rebuild(serviceId: number, actor: Actor): Promise<RebuildReport>;
  /** services whose periods were made before the billing calendar (rebuilt once, at upgrade) */
  rebuildPending(actor: Actor): Promise<RebuildReport[]>;
}

const DECISIONS = new Set(['reset', 'correction']);

/** A correction held for an admin's review, with its service, client and period. */
export type HeldCorrection = ChargeSummary & {
  serviceId: number;
  clientId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
};

type UsagePeriodDeps = {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  rating: RatingService;
  /** told of each anomaly the list could not read (it is listed in its place as unreadable) */
  setAside?: SetAside;
};

/** The service's dependencies with its stores. */
interface Ctx extends UsagePeriodDeps {
  periods: UsagePeriodStore;
  anomalies: AnomalyStore;
}

const summaryOf = (c: PeriodCharge): ChargeSummary => ({
  id: c.id,
  seq: c.seq,
  kind: c.kind,
  status: c.status,
  currency: c.currency,
  usedBytes: c.usedBytes,
  allowanceBytes: c.allowanceBytes,
  overBytes: c.overBytes,
  amountMinor: c.amountMinor,
  lineId: c.lineId,
  invoiceId: c.invoiceId,
});

export function createUsagePeriodService(deps: UsagePeriodDeps): UsagePeriodService {
  const ctx: Ctx = {
    ...deps,
    periods: createUsagePeriodStore(deps.knex, { setAside: deps.setAside }),
    anomalies: createAnomalyStore(deps.knex, { setAside: deps.setAside }),
  };
  const service: UsagePeriodService = {
    periods: (serviceId, opts = {}) => periodsOf(ctx, serviceId, opts),
    anomalies: (filter, opts = {}) => anomalyPage(ctx, filter, opts),
    async anomaly(id) {
      const a = await ctx.anomalies.one(id);
      if (!a) throw notFound(`anomaly ${id} does not exist`);
      return a;
    },
    async decide(anomalyId, input, actor) {
      const decided = await decideDrop(ctx, anomalyId, input, actor);
      const rerate = await deps.rating.reratePeriod(decided.periodId, {
        actor,
        because: 'anomaly.decided',
        details: { anomalyId, decision: input.decision },
      });
      return {
        anomaly: await service.anomaly(anomalyId),
        bookedBytes: decided.booked,
        rerate: rerate.kind === 'not_rated' ? null : rerate,
      };
    },
    settleCorrection: (chargeId, input, actor) => settleCorrection(ctx, chargeId, input, actor),
    async corrections(opts = {}) {
      const rows = await ctx.periods.corrections(Math.min(opts.limit ?? 50, 200));
      return rows.map((c) =>
        isUnreadable(c)
          ? c
          : {
              ...summaryOf(c),
              serviceId: c.serviceId,
              clientId: c.clientId,
              periodStart: c.periodStart,
              periodEnd: c.periodEnd,
            },
      );
    },
    async waiting() {
      const [anomalies, corrections] = await Promise.all([
        ctx.anomalies.countUndecidedDrops(),
        ctx.periods.countCorrections(),
      ]);
      return { anomalies, corrections };
    },
    rebuild: (serviceId, actor) => rebuildService(ctx, serviceId, actor),
    async rebuildPending(actor) {
      const out: RebuildReport[] = [];
      for (;;) {
        const ids = await ctx.periods.servicesToRebuild(200);
        if (ids.length === 0) break;
        for (const id of ids) out.push(await rebuildService(ctx, id, actor));
      }
      await ctx.periods.markUnsampledOnCalendar();
      return out;
    },
  };
  return service;
}

/** A page of anomalies, newest first, with the cursor of the next page. */
async function anomalyPage(
  ctx: Ctx,
  filter: { serviceId?: number; clientId?: number; status?: AnomalyStatus | 'all' },
  opts: { before?: number | null; limit?: number },
): Promise<{ rows: Array<Listed<AnomalyRow>>; next: string | null }> {
  const limit = Math.min(opts.limit ?? 50, 200);
  const rows = await ctx.anomalies.list(
    { ...filter, status: filter.status ?? 'open', before: opts.before },
    limit + 1,
  );
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, next: more ? String(kept[kept.length - 1]!.id) : null };
}

/** A service's periods, newest first, with their state, charges and anomalies. */
async function periodsOf(
  ctx: Ctx,
  serviceId: number,
  opts: { clientId?: number; limit?: number },
): Promise<Array<Listed<PeriodView>>> {
  if (!(await createPeriodReadStore(ctx.knex).service(serviceId, opts.clientId)))
    throw notFound(`service ${serviceId} is not metered here`);
  const rows = await ctx.periods.periodsOf(serviceId, Math.min(opts.limit ?? 24, 240));
  if (rows.length === 0) return [];
  const ids = readableOf(rows).map((p) => p.id);
  const [charges, anomalies] = await Promise.all([ctx.periods.chargesOf(ids), ctx.anomalies.ofPeriods(ids)]);
  return rows.map((p) => {
    if (isUnreadable(p)) return p;
    const cs = charges
      .filter((c) => c.periodId === p.id)
      .map((c): Listed<ChargeSummary> =>
        isUnreadable(c) ? { id: c.id, unreadable: c.unreadable } : summaryOf(c),
      );
    const live = readableOf(cs).filter((c) => c.status !== 'void');
    // a charge that cannot be read still makes the period rated; whether it put the period on an
    // invoice is not known, so only a charge that reads makes it invoiced
    const state: PeriodState =
      p.status === 'open'
        ? 'open'
        : live.some((c) => c.lineId !== null)
          ? 'invoiced'
          : cs.length
            ? 'rated'
            : 'closed';
    return {
      id: p.id,
      serviceId,
      start: p.start,
      end: p.end,
      calendar: p.calendar,
      state,
      usedBytes: p.usedBytes,
      charges: cs,
      anomalies: anomalies
        .filter((a) => a.periodId === p.id)
        .map((a) => (isUnreadable(a) ? { id: a.id, unreadable: a.unreadable } : a)),
    };
  });
}

/** The reason an admin gives, trimmed; at least 3 characters. */
function reasonOf(input: { reason?: unknown }, ask: string): string {
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length < 3) throw invalidInput(ask);
  return reason;
}

/** An admin's decision on a counter drop: "reset" books what the counter read after it, "correction" nothing. */
async function decideDrop(
  ctx: Ctx,
  anomalyId: number,
  input: DecideInput,
  actor: Actor,
): Promise<{ periodId: number; booked: bigint }> {
  if (!input || !DECISIONS.has(input.decision))
    throw invalidInput(
      'decision must be "reset" (the counter was reset: book what it read after the drop) or "correction" (the counter was corrected: book nothing)',
    );
  const reason = reasonOf(
    input,
    'give a reason for the decision (what you checked on the master), at least 3 characters',
  ).slice(0, 2000);
  const now = ctx.clock.now();
  return retryTransaction(ctx.knex, async (trx) => {
    const a = await ctx.anomalies.lock(trx, anomalyId);
    if (!a) throw notFound(`anomaly ${anomalyId} does not exist`);
    if (a.kind !== 'mid_period_drop')
      throw new ModuleError(
        'CONFLICT',
        `a ${a.kind.replace(/_/g, ' ')} is told, not decided: only a counter drop in mid-period asks for a decision`,
      );
    if (a.status !== 'open')
      throw new ModuleError('CONFLICT', `anomaly ${anomalyId} was already decided (${String(a.decision)})`, {
        decision: a.decision,
      });
    const iv = a.intervalId === null ? null : await ctx.periods.lockInterval(trx, a.intervalId);
    if (!iv || iv.kind !== 'drop')
      throw new ModuleError(
        'UNEXPECTED_STATE',
        `the interval of anomaly ${anomalyId} is gone or was decided already`,
      );
    const booked = input.decision === 'reset' ? (iv.candidateBytes ?? 0n) : 0n;
    await ctx.periods.bookDrop(trx, iv, input.decision === 'reset' ? 'manual_reset' : 'correction', booked);
    await cacheCurrentTotal(trx, [a.serviceId]);
    await ctx.anomalies.markDecided(trx, anomalyId, {
      decision: input.decision,
      reason,
      byType: actor.type,
      byId: actor.id,
      at: now,
    });
    const details = {
      serviceId: a.serviceId,
      periodId: iv.periodId,
      decision: input.decision,
      bookedBytes: booked.toString(),
      reason,
    };
    await ctx.audit.record(
      trx,
      { actor, action: 'anomaly.decided', entityType: 'anomaly', entityId: anomalyId, details },
      now,
    );
    return { periodId: iv.periodId, booked };
  });
}

/** A correction held for review: bill it on the next invoice, or drop it. */
async function settleCorrection(
  ctx: Ctx,
  chargeId: number,
  input: { action: 'bill' | 'drop'; reason: string },
  actor: Actor,
): Promise<ChargeSummary> {
  if (!input || (input.action !== 'bill' && input.action !== 'drop'))
    throw invalidInput('action must be "bill" (on the next invoice) or "drop" (never billed)');
  const reason = reasonOf(input, 'give a reason, at least 3 characters');
  const now = ctx.clock.now();
  await retryTransaction(ctx.knex, async (trx) => {
    const c = await ctx.periods.lockCharge(trx, chargeId);
    if (!c || c.kind !== 'correction') throw notFound(`correction ${chargeId} does not exist`);
    if (c.status !== 'review')
      throw new ModuleError(
        'CONFLICT',
        `correction ${chargeId} is not waiting for review (it is ${c.status})`,
      );
    await ctx.periods.setChargeStatus(trx, chargeId, input.action === 'bill' ? 'unbilled' : 'void');
    const details = { amountMinor: c.amountMinor.toString(), currency: c.currency, reason };
    const action = input.action === 'bill' ? 'correction.released' : 'correction.dropped';
    await ctx.audit.record(trx, { actor, action, entityType: 'charge', entityId: chargeId, details }, now);
  });
  return summaryOf((await ctx.periods.charge(chargeId))!);
}

/** A service's row and the billing calendar its periods follow. */
async function calendarOfService(ctx: Ctx, serviceId: number): Promise<ServiceCalendar> {
  const sources = await ctx.periods.calendarSources(serviceId);
  if (sources === 'no service') throw notFound(`service ${serviceId} is not metered here`);
  if (sources === 'no master') throw notFound(`the SolusVM master of service ${serviceId} does not exist`);
  return serviceCalendar(sources);
}

/**
 * A service's periods made again from its samples on its billing calendar. Old period rows are
 * kept where a calendar period starts on the same day (their ids carry charges and lines); others
 * give their charges to the calendar period that covers their first day, and go. Decisions on
 * drops are kept (by the sample that showed the drop). Then every closed period is rated again:
 * a charge not on an invoice is replaced, an invoiced one left with a correction where it differs.
 */
async function rebuildService(ctx: Ctx, serviceId: number, actor: Actor): Promise<RebuildReport> {
  const replay = await replayOf(ctx, serviceId);
  const report: RebuildReport = {
    serviceId,
    samples: replay.samples.length,
    periodsBefore: 0,
    periodsAfter: 0,
    absorbed: 0,
    rerated: [],
  };
  const closedPeriods = await retryTransaction(ctx.knex, (trx) =>
    rewritePeriods(ctx, trx, replay, report, actor),
  );
  for (const periodId of closedPeriods) {
    if (!(await ctx.periods.hasCharge(periodId))) continue; // never rated: the next rating run rates it like any closed period
    const out = await ctx.rating.reratePeriod(periodId, { actor, because: 'periods.rebuilt' });
    report.rerated.push({ periodId, outcome: out.kind });
  }
  return report;
}

/** The service's samples replayed through metering on its calendar. */
async function replayOf(ctx: Ctx, serviceId: number): Promise<Replay> {
  const cal = await calendarOfService(ctx, serviceId);
  const stored = await createSampleStore(ctx.knex).ofService(serviceId);
  const samples: GoodSample[] = stored.map((s) => ({
    usedBytes: s.usedBytes,
    sampledAt: s.sampledAt,
    sampleDate: s.sampleDate,
  }));
  const sampleIds = stored.map((s) => s.id);
  return { serviceId, cal, samples, sampleIds, ...meterAll(samples, () => cal), now: ctx.clock.now() };
}

/** Inside the rebuild's transaction: the periods, intervals and anomalies written again; the closed periods' ids. */
async function rewritePeriods(
  ctx: Ctx,
  trx: Knex.Transaction,
  replay: Replay,
  report: RebuildReport,
  actor: Actor,
): Promise<number[]> {
  const { serviceId, samples } = replay;
  const old = await ctx.periods.lockPeriods(trx, serviceId);
  report.periodsBefore = old.length;
  const decisions = await ctx.anomalies.keptDecisions(trx, serviceId);
  await ctx.periods.deleteIntervals(trx, serviceId);
  await ctx.anomalies.deleteOfService(trx, serviceId);
  // The calendar periods the samples reach, oldest first.
  const periods: CalendarPeriod[] = [];
  const seen = new Set<string>();
  for (const st of replay.steps)
    for (const p of st.periods) if (!seen.has(p.start)) (seen.add(p.start), periods.push(p));
  const lastDate = samples.length ? samples[samples.length - 1]!.sampleDate : null;
  const ids = await placePeriods(ctx, trx, replay, periods, old, lastDate);
  report.absorbed = await absorbOldPeriods(ctx, trx, periods, old, ids);
  await writeParts(ctx, trx, replay, decisions, ids);
  await saveMeterState(ctx, trx, replay, ids);
  report.periodsAfter = periods.length;
  const details = {
    samples: samples.length,
    periodsBefore: report.periodsBefore,
    periodsAfter: report.periodsAfter,
    absorbed: report.absorbed,
    calendar: calendarLabel(replay.cal.calendar),
  };
  await ctx.audit.record(
    trx,
    { actor, action: 'periods.rebuilt', entityType: 'service', entityId: serviceId, details },
    replay.now,
  );
  return periods.filter((p) => lastDate !== null && p.end <= lastDate).map((p) => ids.get(p.start)!);
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

/** One row per calendar period, reusing an old row that starts the same day; their ids by start. */
async function placePeriods(
  ctx: Ctx,
  trx: Knex.Transaction,
  r: Replay,
  periods: CalendarPeriod[],
  old: Array<{ id: number; start: IsoDate }>,
  lastDate: IsoDate | null,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const p of periods) {
    const same = old.find((o) => o.start === p.start);
    const closed = lastDate !== null && p.end <= lastDate;
    const row = { end: p.end, closedAt: closed ? r.now : null, calendar: calendarLabel(r.cal.calendar) };
    if (same) {
      await ctx.periods.resetPeriod(trx, same.id, row);
      ids.set(p.start, same.id);
    } else {
      ids.set(p.start, await ctx.periods.insertPeriod(trx, r.serviceId, p.start, row, r.now));
    }
  }
  return ids;
}

/** Old rows no calendar period kept: their charges (and lines) go to the period covering their first day. How many gave charges. */
async function absorbOldPeriods(
  ctx: Ctx,
  trx: Knex.Transaction,
  periods: CalendarPeriod[],
  old: Array<{ id: number; start: IsoDate }>,
  ids: Map<string, number>,
): Promise<number> {
  const reused = new Set(ids.values());
  let absorbed = 0;
  for (const o of old) {
    if (reused.has(o.id)) continue;
    const home =
      periods.find((p) => p.start <= o.start && p.end >= o.start) ?? periods.find((p) => p.start >= o.start);
    const charges = await ctx.periods.chargeIdsOf(trx, o.id);
    if (charges.length && !home) {
      await ctx.periods.supersede(trx, o.id);
      continue;
    }
    if (charges.length) {
      await ctx.periods.moveCharges(trx, charges, ids.get(home!.start)!);
      absorbed++;
    }
    await ctx.periods.deletePeriod(trx, o.id);
  }
  return absorbed;
}

/** The anomaly of one step's finding, with the decision kept on a drop. */
function anomalyOf(
  r: Replay,
  i: number,
  a: MeterStep['anomalies'][number],
  periodId: number,
  kept: KeptDecision | undefined,
): NewAnomaly {
  const decided = a.kind === 'mid_period_drop' ? (kept ?? null) : null;
  // the counter went down after the boundary (a reset, late or not, or a drop an admin decides)
  const after =
    a.kind === 'reset_not_seen'
      ? r.steps.findIndex((s, j) => j > i && ENDS_RESET_DUE.includes(s.reading))
      : -1;
  const settled = after > i;
  return {
    serviceId: r.serviceId,
    periodId,
    kind: a.kind,
    sampleId: r.sampleIds[i]!,
    seenOn: r.samples[i]!.sampleDate,
    details: settled
      ? resetDueEnded(a.details, r.steps[after]!.reading, r.samples[after]!.sampleDate)
      : a.details,
    status: decided
      ? 'decided'
      : a.kind === 'mid_period_drop' || (a.kind === 'reset_not_seen' && !settled)
        ? 'open'
        : a.kind === 'reset_not_seen'
          ? 'resolved'
          : 'info',
    decided,
    createdAt: r.now,
  };
}

/** Interval parts (decisions kept), each period's total and last sample, anomalies, and resets. */
async function writeParts(
  ctx: Ctx,
  trx: Knex.Transaction,
  r: Replay,
  decisions: Map<number, KeptDecision>,
  ids: Map<string, number>,
): Promise<void> {
  const intervals: NewInterval[] = [];
  const totals = new Map<number, bigint>();
  const anomalies: NewAnomaly[] = [];
  const resets: Array<{ id: number; resetAt: DateTime | null; unmeasuredAfter: DateTime | null }> = [];
  r.steps.forEach((st, i) => {
    const toSampleId = r.sampleIds[i]!;
    const fromSampleId = i > 0 && st.reading !== 'first' ? r.sampleIds[i - 1]! : null;
    const kept = decisions.get(toSampleId);
    for (const part of st.parts) {
      const decided = part.kind === 'drop' && kept ? decidedPart(part, kept.decision) : part;
      const periodId = ids.get(part.period.start)!;
      intervals.push({ periodId, fromSampleId, toSampleId, ...decidedFigures(decided) });
      totals.set(periodId, (totals.get(periodId) ?? 0n) + decided.bytes);
    }
    for (const a of st.anomalies) anomalies.push(anomalyOf(r, i, a, ids.get(a.period.start)!, kept));
    if (st.reading === 'reset' || st.reading === 'late_reset') {
      const id = ids.get(st.periods[0]!.start)!;
      resets.push({ id, resetAt: st.resetAt ?? null, unmeasuredAfter: st.unmeasuredAfter ?? null });
    }
  });
  for (const x of resets) await ctx.periods.setReset(trx, x.id, x.resetAt, x.unmeasuredAfter);
  await ctx.periods.insertIntervals(trx, r.serviceId, intervals);
  await ctx.periods.setTotals(trx, totals, [...ids.values()]);
  await ctx.anomalies.insertMany(trx, anomalies);
  // the undecided drops point at their interval
  await ctx.anomalies.linkDrops(trx, r.serviceId, await ctx.periods.dropIntervals(trx, r.serviceId));
}

const decidedFigures = (p: IntervalPart) => ({
  kind: p.kind,
  fromDate: p.fromDate,
  toDate: p.toDate,
  bytes: p.bytes,
  estimated: p.estimated,
  candidateBytes: p.candidateBytes,
});

/** Where metering goes on from: the open period, a reset still due, the recent pace. */
async function saveMeterState(
  ctx: Ctx,
  trx: Knex.Transaction,
  r: Replay,
  ids: Map<string, number>,
): Promise<void> {
  const current = r.state.period;
  await ctx.periods.saveMeterState(trx, r.serviceId, {
    openPeriod: current ? { id: ids.get(current.start)!, start: current.start, end: current.end } : null,
    resetDueOn: r.state.resetDueOn,
    recentDaily: r.state.recentDaily ?? [],
    at: r.now,
  });
  await cacheCurrentTotal(trx, [r.serviceId]);
}

function decidedPart(part: IntervalPart, decision: 'reset' | 'correction'): IntervalPart {
  return {
    ...part,
    kind: decision === 'reset' ? 'manual_reset' : 'correction',
    bytes: decision === 'reset' ? (part.candidateBytes ?? 0n) : 0n,
  };
}
