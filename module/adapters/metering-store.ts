import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import {
  calendarLabel,
  createdOnIn,
  type CalendarPeriod,
  type ServiceCalendar,
} from '../domain/billing-calendar.js';
import {
  ENDS_RESET_DUE,
  meterStep,
  resetDueEnded,
  type GoodSample,
  type MeterStep,
} from '../domain/metering.js';
import { storedResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import { chunks, insertChunked, retryTransaction, updateManyByKey, withTxRetry } from './sql-helpers.js';
import { createSlicer, mapInSlices, type Slicer } from './slices.js';
import {
  bigListOrNullIn,
  bigOrNullIn,
  sqlBig,
  sqlBigList,
  sqlBigOrNull,
  instantOrNullIn,
  rowReader,
  sqlInstant,
  toNum,
} from './rows.js';
import type { TrafficReading } from './solusvm-types.js';

const SERVICES = 'mod_overusage_services';
const SAMPLES = 'mod_overusage_samples';
const PERIODS = 'mod_overusage_periods';
const INTERVALS = 'mod_overusage_intervals';
const ANOMALIES = 'mod_overusage_anomalies';
const FAILURES = 'mod_overusage_read_failures';
const RUNS = 'mod_overusage_runs';

/** The metering state cached on each service row: its latest good sample and its current period. */
const STATE_COLUMNS = [
  'last_sample_id',
  'last_used_bytes',
  'last_sampled_at',
  'last_sample_date',
  'open_period_id',
  'open_period_start',
  'open_period_end',
  'open_period_used_bytes',
  'reset_due_on',
  'daily_bytes',
  'recent_daily_bytes',
  'solusvm_reset_policy',
  'solusvm_created_on',
] as const;

/** A service to read, with its metering state (the cached last sample and current period) and what decides its calendar. */
export interface ServiceToRead {
  serviceId: number;
  serverRef: string;
  resetPolicy: ResetPolicy | null;
  resetDay: number | null;
  regdate: IsoDate | null;
  billingDay: number | null;
  solusvmResetPolicy: ResetPolicy | null;
  solusvmCreatedOn: IsoDate | null;
  lastSampleId: number | null;
  last: GoodSample | null;
  openPeriodId: number | null;
  openPeriodStart: IsoDate | null;
  openPeriodEnd: IsoDate | null;
  openPeriodUsed: bigint | null;
  resetDueOn: IsoDate | null;
  /** the latest metered days' traffic per day, newest last (metering.ts, MeterState) */
  recentDaily: bigint[];
  /**
   * set when the service's stored row cannot be read (a column edited by hand): why. It is not
   * read today but counted as a failed read naming the column, and the master's other services
   * are read as usual.
   */
  unreadable?: string;
}

export interface ReadResult {
  service: ServiceToRead;
  reading: TrafficReading;
  sampledAt: DateTime;
  sampleDate: IsoDate;
  calendar: ServiceCalendar;
  /** SolusVM 2's created_at as a day in the master's zone, when the reader worked it out already */
  createdOn?: IsoDate | null;
}

export interface ReadFailure {
  serviceId: number;
  masterId: number;
  sampleDate: IsoDate;
  attemptedAt: DateTime;
  kind: string;
  message: string;
}

/** One master's reads, written with other masters' in one transaction (the run's group writer). */
export interface SampleBatch {
  masterId: number;
  results: ReadResult[];
}

export interface BatchOutcome {
  stored: number;
  /** of `stored`, each batch's share, in the order given */
  storedByBatch: number[];
  /** samples another run stored first (the unique key kept ours out) */
  duplicates: number;
  resets: number;
  anomalies: number;
}

export interface RunCounts {
  services: number;
  readOk: number;
  already: number;
  failed: number;
  gaps: number;
  resets: number;
  anomalies: number;
}

export interface MeteringStore {
  startRun(kind: string, sampleDate: IsoDate, owner: string, at: DateTime): Promise<number>;
  finishRun(
    runId: number,
    status: 'finished' | 'failed',
    counts: RunCounts,
    message: string | null,
    at: DateTime,
  ): Promise<void>;
  /** runs of this kind still marked running: live ones, and those whose process died */
  runningRuns(kind: string): Promise<Array<{ id: number; owner: string; startedAt: DateTime }>>;
  /** marks a run that is still marked running as abandoned; false when it finished meanwhile */
  abandonRun(runId: number, message: string, at: DateTime): Promise<boolean>;
  /** active services of the master */
  countServices(masterId: number): Promise<number>;
  pageToRead(
    masterId: number,
    sampleDate: IsoDate,
    afterServiceId: number,
    limit: number,
  ): Promise<ServiceToRead[]>;
  /** several masters' reads in one transaction: fewer, larger writes when a run meters many masters */
  writeBatch(runId: number, batches: SampleBatch[], at: DateTime): Promise<BatchOutcome>;
  recordFailures(runId: number, failures: ReadFailure[]): Promise<void>;
  /** active services of these masters with no good sample for the date */
  countGaps(masterIds: number[], sampleDate: IsoDate): Promise<number>;
  /** when the latest run for the date started, if any */
  lastRunStarted(sampleDate: IsoDate): Promise<DateTime | null>;
}

/** The row as a service to read, or, when it cannot be read, as one that says why (its id is the key: always readable). */
function toServiceOrUnreadable(r: Record<string, unknown>): ServiceToRead {
  try {
    return toService(r);
  } catch (err) {
    return {
      serviceId: Number(r.service_id),
      serverRef: typeof r.server_ref === 'string' ? r.server_ref : '?',
      resetPolicy: null,
      resetDay: null,
      regdate: null,
      billingDay: null,
      solusvmResetPolicy: null,
      solusvmCreatedOn: null,
      lastSampleId: null,
      last: null,
      openPeriodId: null,
      openPeriodStart: null,
      openPeriodEnd: null,
      openPeriodUsed: null,
      resetDueOn: null,
      recentDaily: [],
      unreadable: (err as Error).message,
    };
  }
}

function toService(r: Record<string, unknown>): ServiceToRead {
  const s = rowReader(SERVICES, r);
  const lastSampleId = s.numOrNull('last_sample_id');
  return {
    serviceId: s.num('service_id'),
    serverRef: s.str('server_ref'),
    resetPolicy: r.reset_policy ? storedResetPolicy(r.reset_policy, `${SERVICES}.reset_policy`) : null,
    resetDay: s.numOrNull('reset_day'),
    regdate: s.dateOrNull('regdate'),
    billingDay: s.numOrNull('billing_day'),
    solusvmResetPolicy: r.solusvm_reset_policy
      ? storedResetPolicy(r.solusvm_reset_policy, `${SERVICES}.solusvm_reset_policy`)
      : null,
    solusvmCreatedOn: s.dateOrNull('solusvm_created_on'),
    lastSampleId,
    last:
      lastSampleId === null
        ? null
        : {
            usedBytes: s.big('last_used_bytes'),
            sampledAt: s.instantOrNull('last_sampled_at')!,
            sampleDate: s.date('last_sample_date'),
          },
    openPeriodId: s.numOrNull('open_period_id'),
    openPeriodStart: s.dateOrNull('open_period_start'),
    openPeriodEnd: s.dateOrNull('open_period_end'),
    openPeriodUsed: s.bigOrNull('open_period_used_bytes'),
    resetDueOn: s.dateOrNull('reset_due_on'),
    recentDaily: recentDailyOf(r),
  };
}

/** The latest days' traffic; a row last metered before it was kept has its last day's in daily_bytes. */
function recentDailyOf(r: Record<string, unknown>): bigint[] {
  const recent = bigListOrNullIn(r.recent_daily_bytes, `${SERVICES}.recent_daily_bytes`);
  if (recent !== null) return recent;
  const last = bigOrNullIn(r.daily_bytes, `${SERVICES}.daily_bytes`);
  return last === null ? [] : [last];
}

/** One sample's step with what the store needs to apply it. */
interface Applied {
  r: ReadResult;
  sampleId: number;
  step: MeterStep;
}

const periodKey = (serviceId: number, start: IsoDate) => `${serviceId}|${start}`;

/** `sliceMs`: how long a batch's or a page's work holds the event loop at most (slices.ts; tests cut it short) */
export function createMeteringStore(knex: Knex, opts: { sliceMs?: number } = {}): MeteringStore {
  const slicer = () => createSlicer(opts.sliceMs);
  return {
    ...runRecords(knex),
    ...servicesToRead(knex, slicer),
    writeBatch: (runId, batches, at) => writeBatch(knex, runId, batches, at, slicer()),

    // one transaction, so that a retry after a 1213 cannot write a chunk twice
    async recordFailures(runId, failures) {
      await retryTransaction(knex, (trx) =>
        insertChunked(
          trx,
          FAILURES,
          failures.map((f) => failureRow(runId, f)),
          { whole: true },
        ),
      );
    },
  };
}

/**
 * The runs: started, finished, still running, abandoned, and when the day's last one started.
 * Each write is one statement, retried on a 1213 (on Galera a commit that lost certification,
 * so nothing was written): the insert writes its run once, the updates set their values by id.
 */
function runRecords(
  knex: Knex,
): Pick<MeteringStore, 'startRun' | 'finishRun' | 'runningRuns' | 'abandonRun' | 'lastRunStarted'> {
  return {
    startRun: (kind, sampleDate, owner, at) =>
      withTxRetry(async () => {
        const [id] = await knex(RUNS).insert({
          kind,
          sample_date: sampleDate,
          owner,
          status: 'running',
          started_at: sqlInstant(at),
        });
        if (id !== undefined && id !== null) return toNum(id);
        const row = await knex(RUNS).where({ owner }).orderBy('id', 'desc').first('id');
        return toNum(row.id);
      }),

    finishRun: (runId, status, c, message, at) =>
      withTxRetry(async () => {
        await knex(RUNS)
          .where({ id: runId })
          .update({
            status,
            finished_at: sqlInstant(at),
            services: c.services,
            read_ok: c.readOk,
            already: c.already,
            failed: c.failed,
            gaps: c.gaps,
            resets: c.resets,
            anomalies: c.anomalies,
            message,
          });
      }),

    async runningRuns(kind) {
      const rows = await knex(RUNS)
        .where({ kind, status: 'running' })
        .select('id', 'owner', 'started_at')
        .orderBy('id');
      return rows.map((row) => {
        const r = rowReader(RUNS, row);
        return { id: r.num('id'), owner: r.str('owner'), startedAt: r.instantOrNull('started_at')! };
      });
    },

    abandonRun: (runId, message, at) =>
      withTxRetry(async () => {
        const n = await knex(RUNS)
          .where({ id: runId, status: 'running' })
          .update({ status: 'abandoned', finished_at: sqlInstant(at), message });
        return n === 1;
      }),

    async lastRunStarted(sampleDate) {
      const row = await knex(RUNS)
        .where({ sample_date: sampleDate, kind: 'collect' })
        .orderBy('id', 'desc')
        .first('started_at');
      return row ? instantOrNullIn(row.started_at, `${RUNS}.started_at`) : null;
    },
  };
}

/** The active services of a master still to be read on a day, and how many are left unread. */
function servicesToRead(
  knex: Knex,
  slicer: () => Slicer,
): Pick<MeteringStore, 'countServices' | 'pageToRead' | 'countGaps'> {
  return {
    async countServices(masterId) {
      const row = await knex(SERVICES).where({ master_id: masterId, active: true }).count({ n: '*' }).first();
      return toNum(row?.n ?? 0);
    },

    async pageToRead(masterId, sampleDate, afterServiceId, limit) {
      const rows = await knex(SERVICES)
        .select(
          'service_id',
          'server_ref',
          'reset_policy',
          'reset_day',
          'regdate',
          'billing_day',
          ...STATE_COLUMNS,
        )
        .where({ master_id: masterId, active: true })
        .andWhere('service_id', '>', afterServiceId)
        .andWhere((q) => q.whereNull('last_sample_date').orWhere('last_sample_date', '<', sampleDate))
        .orderBy('service_id')
        .limit(limit);
      // a page is read while the master's other reads wait for their answers (slices.ts)
      return mapInSlices(rows, toServiceOrUnreadable, slicer());
    },

    async countGaps(masterIds, sampleDate) {
      if (masterIds.length === 0) return 0;
      const row = await knex(SERVICES)
        .whereIn('master_id', masterIds)
        .andWhere({ active: true })
        .andWhere((q) => q.whereNull('last_sample_date').orWhere('last_sample_date', '<', sampleDate))
        .count({ n: '*' })
        .first();
      return toNum(row?.n ?? 0);
    },
  };
}

/** Keeps a batch of reads as samples and applies what they mean; only samples this run wrote go on. */
async function writeBatch(
  knex: Knex,
  runId: number,
  batches: SampleBatch[],
  at: DateTime,
  slices: Slicer,
): Promise<BatchOutcome> {
  const results = batches.flatMap((b) => b.results);
  if (results.length === 0)
    return { stored: 0, storedByBatch: batches.map(() => 0), duplicates: 0, resets: 0, anomalies: 0 };
  const rows: Record<string, unknown>[] = [];
  for (const b of batches)
    rows.push(...(await mapInSlices(b.results, (r) => sampleRow(b.masterId, runId, r), slices)));
  return withTxRetry(() =>
    knex.transaction(async (trx) => {
      const now = sqlInstant(at);
      // The batch's rows and statements are written out a slice at a time: the reads of every
      // master go on meanwhile and their answers are not kept waiting (slices.ts).
      await insertChunked(trx, SAMPLES, rows, {
        ignoreOn: ['service_id', 'sample_date'],
        whole: true,
        slices,
      });
      // Only samples this run wrote go on: a concurrent run that got there first owns the rest.
      const ids = new Map<number, number>();
      const dates = [...new Set(results.map((r) => r.sampleDate))];
      for (const part of chunks(results, 800)) {
        // By the unique (service_id, sample_date) key: a lookup per row, not a scan of the run.
        const found = await trx(SAMPLES)
          .select('id', 'service_id', 'run_id')
          .whereIn(
            'service_id',
            part.map((r) => r.service.serviceId),
          )
          .whereIn('sample_date', dates);
        for (const row of found) {
          const r = rowReader(SAMPLES, row);
          if (r.numOrNull('run_id') === runId) ids.set(r.num('service_id'), r.num('id'));
        }
      }
      const mine = results.filter((r) => ids.has(r.service.serviceId));
      const applied: Applied[] = await mapInSlices(
        mine,
        (r) => ({ r, sampleId: ids.get(r.service.serviceId)!, step: stepOf(r) }),
        slices,
      );
      const out = await applySteps(trx, applied, now, slices);
      return {
        ...out,
        storedByBatch: batches.map((b) => b.results.filter((r) => ids.has(r.service.serviceId)).length),
        duplicates: results.length - mine.length,
      };
    }),
  );
}

function sampleRow(masterId: number, runId: number, r: ReadResult): Record<string, unknown> {
  return {
    service_id: r.service.serviceId,
    master_id: masterId,
    server_ref: r.service.serverRef,
    sample_date: r.sampleDate,
    sampled_at: sqlInstant(r.sampledAt),
    used_bytes: sqlBig(r.reading.usedBytes),
    limit_bytes: sqlBigOrNull(r.reading.limitBytes),
    incoming_bytes: sqlBigOrNull(r.reading.incomingBytes),
    outgoing_bytes: sqlBigOrNull(r.reading.outgoingBytes),
    state: r.reading.state,
    raw: r.reading.raw.slice(0, 255),
    run_id: runId,
  };
}

function failureRow(runId: number, f: ReadFailure): Record<string, unknown> {
  return {
    run_id: runId,
    service_id: f.serviceId,
    master_id: f.masterId,
    sample_date: f.sampleDate,
    attempted_at: sqlInstant(f.attemptedAt),
    error_kind: f.kind.slice(0, 20),
    message: f.message.slice(0, 500),
  };
}

/** What one read means, from the service's cached meter state. */
function stepOf(r: ReadResult): MeterStep {
  const svc = r.service;
  return meterStep(
    {
      last: svc.last,
      period:
        svc.openPeriodId !== null && svc.openPeriodEnd !== null
          ? { start: svc.openPeriodStart!, end: svc.openPeriodEnd }
          : null,
      resetDueOn: svc.resetDueOn,
      recentDaily: svc.recentDaily,
    },
    { usedBytes: r.reading.usedBytes, sampledAt: r.sampledAt, sampleDate: r.sampleDate },
    r.calendar,
  );
}

/**
 * Writes what a batch of steps means: the periods they reach (created on the calendar, closed when
 * a sample reads their last day), the interval parts, each period's total, the anomalies, and the
 * service's cached state. The current period's id and total come from the cache on the service
 * row (one sample a day moves it on); only periods the steps open are looked up.
 */
async function applySteps(
  trx: Knex.Transaction,
  applied: Applied[],
  now: string,
  slices: Slicer,
): Promise<Omit<BatchOutcome, 'storedByBatch'>> {
  await writePeriods(trx, applied, now, slices);
  const idOf = await periodIds(trx, applied);
  await writeIntervals(trx, applied, idOf, slices);
  const anomalies = await writeAnomalies(trx, applied, idOf, now);
  await saveServiceStates(trx, applied, idOf, now, slices);
  return {
    stored: applied.length,
    duplicates: 0,
    resets: applied.filter(({ step }) => step.reading === 'reset' || step.reading === 'late_reset').length,
    anomalies,
  };
}

type PeriodIdOf = (serviceId: number, p: CalendarPeriod) => { id: number; used: bigint };

/** Periods: the ones the steps reach beyond each service's current one are new; closes and resets marked. */
async function writePeriods(
  trx: Knex.Transaction,
  applied: Applied[],
  now: string,
  slices: Slicer,
): Promise<void> {
  const fresh: Record<string, unknown>[] = [];
  const closing: Record<string, unknown>[] = [];
  const resetInfo: Record<string, unknown>[] = [];
  for (const { r, step } of applied) {
    const svc = r.service;
    const closes = new Set(step.closes.map((p) => p.start));
    for (const p of step.periods) {
      const closed = closes.has(p.start);
      if (svc.openPeriodId !== null && p.start === svc.openPeriodStart) {
        if (closed)
          closing.push({ id: svc.openPeriodId, status: 'closed', closed_by: 'calendar', closed_at: now });
        continue;
      }
      fresh.push(periodRow(svc.serviceId, p, r.calendar, closed, now));
    }
    if ((step.reading === 'reset' || step.reading === 'late_reset') && svc.openPeriodId !== null) {
      resetInfo.push({
        id: svc.openPeriodId,
        reset_at: step.resetAt ? sqlInstant(step.resetAt) : null,
        unmeasured_after: step.unmeasuredAfter ? sqlInstant(step.unmeasuredAfter) : null,
      });
    }
    if (slices.due()) await slices.next();
  }
  await insertChunked(trx, PERIODS, fresh, { ignoreOn: ['service_id', 'start_date'], whole: true, slices });
  await updateManyByKey(trx, PERIODS, 'id', closing, ['status', 'closed_by', 'closed_at'], { slices });
  await updateManyByKey(trx, PERIODS, 'id', resetInfo, ['reset_at', 'unmeasured_after'], { slices });
}

/** Ids and totals: the cached current period, and the stored rows of the others. */
async function periodIds(trx: Knex.Transaction, applied: Applied[]): Promise<PeriodIdOf> {
  const period = new Map<string, { id: number; used: bigint }>();
  for (const { r } of applied) {
    const svc = r.service;
    if (svc.openPeriodId !== null && svc.openPeriodStart !== null)
      period.set(periodKey(svc.serviceId, svc.openPeriodStart), {
        id: svc.openPeriodId,
        used: svc.openPeriodUsed ?? 0n,
      });
  }
  const wanted = applied.filter(({ r, step }) =>
    step.periods.some((p) => !period.has(periodKey(r.service.serviceId, p.start))),
  );
  for (const part of chunks(wanted, 400)) {
    const starts = [...new Set(part.flatMap(({ step }) => step.periods.map((p) => p.start)))];
    const rows = await trx(PERIODS)
      .select('id', 'service_id', 'start_date', 'used_bytes')
      .whereIn(
        'service_id',
        part.map(({ r }) => r.service.serviceId),
      )
      .whereIn('start_date', starts);
    for (const row of rows) {
      const r = rowReader(PERIODS, row);
      const key = periodKey(r.num('service_id'), r.date('start_date'));
      if (!period.has(key)) period.set(key, { id: r.num('id'), used: r.big('used_bytes') });
    }
  }
  return (serviceId, p) => period.get(periodKey(serviceId, p.start))!;
}

/**
 * Interval parts, and what they add to each period. Added, not set: an admin's decision on a drop
 * may move a total while a run is under way.
 */
async function writeIntervals(
  trx: Knex.Transaction,
  applied: Applied[],
  idOf: PeriodIdOf,
  slices: Slicer,
): Promise<void> {
  const intervals: Record<string, unknown>[] = [];
  const added = new Map<number, { bytes: bigint; sampleId: number }>();
  for (const { r, sampleId, step } of applied) {
    for (const part of step.parts) {
      const pid = idOf(r.service.serviceId, part.period);
      intervals.push({
        service_id: r.service.serviceId,
        period_id: pid.id,
        from_sample_id: step.reading === 'first' ? null : r.service.lastSampleId,
        to_sample_id: sampleId,
        kind: part.kind,
        from_date: part.fromDate,
        to_date: part.toDate,
        bytes: sqlBig(part.bytes),
        estimated: part.estimated,
        candidate_bytes: sqlBigOrNull(part.candidateBytes),
      });
      const t = added.get(pid.id) ?? { bytes: 0n, sampleId };
      t.bytes += part.bytes;
      t.sampleId = sampleId;
      added.set(pid.id, t);
    }
    if (slices.due()) await slices.next();
  }
  await insertChunked(trx, INTERVALS, intervals, { whole: true, slices });
  const totals = [...added].map(([id, t]) => ({
    id,
    used_bytes: sqlBig(t.bytes),
    last_sample_id: t.sampleId,
  }));
  await updateManyByKey(trx, PERIODS, 'id', totals, ['used_bytes', 'last_sample_id'], {
    add: ['used_bytes'],
    slices,
  });
}

/** Anomalies, with the undecided interval of a drop; a reset seen settles the ones that said it was due. How many. */
async function writeAnomalies(
  trx: Knex.Transaction,
  applied: Applied[],
  idOf: PeriodIdOf,
  now: string,
): Promise<number> {
  const withAnomalies = applied.filter(({ step }) => step.anomalies.length > 0);
  const dropIntervals = new Map<number, number>();
  const drops = withAnomalies.filter(({ step }) => step.reading === 'drop');
  for (const part of chunks(drops, 800)) {
    const rows = await trx(INTERVALS)
      .select('id', 'to_sample_id')
      .whereIn(
        'to_sample_id',
        part.map((a) => a.sampleId),
      )
      .andWhere({ kind: 'drop' });
    for (const row of rows) {
      const r = rowReader(INTERVALS, row);
      dropIntervals.set(r.num('to_sample_id'), r.num('id'));
    }
  }
  const anomalies = withAnomalies.flatMap(({ r, sampleId, step }) =>
    step.anomalies.map((a) => ({
      service_id: r.service.serviceId,
      period_id: idOf(r.service.serviceId, a.period).id,
      kind: a.kind,
      sample_id: sampleId,
      interval_id: a.kind === 'mid_period_drop' ? (dropIntervals.get(sampleId) ?? null) : null,
      seen_on: r.sampleDate,
      details: JSON.stringify(a.details),
      status: a.kind === 'mid_period_drop' || a.kind === 'reset_not_seen' ? 'open' : 'info',
      created_at: now,
    })),
  );
  await insertChunked(trx, ANOMALIES, anomalies, {
    ignoreOn: ['sample_id', 'kind', 'period_id'],
    whole: true,
  });
  await endResetsDue(trx, applied);
  return anomalies.length;
}

/**
 * The counter went down after a boundary it should have reset at (a reset, late or not, or a
 * drop an admin decides): the open `reset_not_seen` of the service are resolved, each saying how
 * and when it ended.
 */
async function endResetsDue(trx: Knex.Transaction, applied: Applied[]): Promise<void> {
  const ended = new Map(
    applied
      .filter(({ r, step }) => ENDS_RESET_DUE.includes(step.reading) && r.service.resetDueOn !== null)
      .map(({ r, step }) => [r.service.serviceId, { reading: step.reading, on: r.sampleDate }]),
  );
  for (const part of chunks([...ended.keys()], 800)) {
    const rows = await trx(ANOMALIES)
      .select('id', 'service_id', 'details')
      .whereIn('service_id', part)
      .andWhere({ kind: 'reset_not_seen', status: 'open' });
    for (const row of rows) {
      const a = rowReader(ANOMALIES, row);
      const how = ended.get(a.num('service_id'))!;
      const details = a.json('details') as Record<string, string | number>;
      await trx(ANOMALIES)
        .where({ id: a.num('id') })
        .update({ status: 'resolved', details: JSON.stringify(resetDueEnded(details, how.reading, how.on)) });
    }
  }
}

/** The service's cached state: the latest sample and the period it ends in. */
async function saveServiceStates(
  trx: Knex.Transaction,
  applied: Applied[],
  idOf: PeriodIdOf,
  now: string,
  slices: Slicer,
): Promise<void> {
  const serviceUpdates = await mapInSlices(
    applied,
    ({ r, sampleId, step }) => {
      const svc = r.service;
      const current = step.state.period!;
      const cur = idOf(svc.serviceId, current);
      const created =
        r.createdOn !== undefined
          ? r.createdOn
          : r.reading.createdAt
            ? createdOnIn(r.reading.createdAt, r.calendar.counter.zone)
            : null;
      return {
        service_id: svc.serviceId,
        last_sample_id: sampleId,
        last_used_bytes: sqlBig(r.reading.usedBytes),
        last_sampled_at: sqlInstant(r.sampledAt),
        last_sample_date: r.sampleDate,
        open_period_id: cur.id,
        open_period_start: current.start,
        open_period_end: current.end,
        reset_due_on: step.state.resetDueOn,
        ...paceColumns(step.state.recentDaily ?? []),
        solusvm_reset_policy: r.reading.planResetPolicy ?? svc.solusvmResetPolicy,
        solusvm_created_on: created ?? svc.solusvmCreatedOn,
        calendar_version: 1,
        updated_at: now,
      };
    },
    slices,
  );
  // the current period's total is copied in the same statement (the periods' totals are written
  // by now): each service row is written once a batch, not twice
  await updateManyByKey(
    trx,
    SERVICES,
    'service_id',
    serviceUpdates,
    [...STATE_COLUMNS.filter((c) => c !== 'open_period_used_bytes'), 'calendar_version', 'updated_at'],
    { also: (v) => ({ open_period_used_bytes: currentTotalOf(v('open_period_id')) }), slices },
  );
}

function periodRow(
  serviceId: number,
  p: CalendarPeriod,
  cal: ServiceCalendar,
  closed: boolean,
  now: string,
): Record<string, unknown> {
  return {
    service_id: serviceId,
    start_date: p.start,
    end_date: p.end,
    status: closed ? 'closed' : 'open',
    opened_by: 'calendar',
    closed_by: closed ? 'calendar' : null,
    used_bytes: 0,
    calendar: calendarLabel(cal.calendar),
    created_at: now,
    closed_at: closed ? now : null,
  };
}

/** The stored total of the period whose id `periodId` (an SQL expression) gives. */
const currentTotalOf = (periodId: string): string =>
  `(SELECT p.used_bytes FROM ${PERIODS} p WHERE p.id = ${periodId})`;

/** The current period's total, copied onto the service rows (what the widget and the usage watch read). */
export async function cacheCurrentTotal(db: Knex | Knex.Transaction, serviceIds: number[]): Promise<void> {
  if (serviceIds.length === 0) return;
  await db(SERVICES)
    .whereIn('service_id', serviceIds)
    .update({ open_period_used_bytes: db.raw(currentTotalOf(`${SERVICES}.open_period_id`)) });
}

/** The recent pace as stored: the days' list, and the latest day alone in daily_bytes. */
export const paceColumns = (recent: readonly bigint[]) => ({
  daily_bytes: sqlBigOrNull(recent.length ? recent[recent.length - 1]! : null),
  recent_daily_bytes: sqlBigList(recent),
});
