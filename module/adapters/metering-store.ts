import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { meterStep, type GoodSample, type MeterStep } from '../domain/metering.js';
import { parseResetPolicy, type ResetPolicy, type ResetRule } from '../domain/reset-policy.js';
import { chunks, insertChunked, updateManyByKey, withTxRetry } from './sql-helpers.js';
import {
  sqlBig,
  sqlBigOrNull,
  sqlInstant,
  toBig,
  toBigOrNull,
  toDate,
  toDateOrNull,
  toInstantOrNull,
  toNum,
  toNumOrNull,
} from './rows.js';
import type { TrafficReading } from './solusvm-types.js';

const SERVICES = 'mod_overusage_services';
const SAMPLES = 'mod_overusage_samples';
const PERIODS = 'mod_overusage_periods';
const INTERVALS = 'mod_overusage_intervals';
const FAILURES = 'mod_overusage_read_failures';
const RUNS = 'mod_overusage_runs';

/** The metering state cached on each service row: its latest good sample and its open period. */
const STATE_COLUMNS = [
  'last_sample_id',
  'last_used_bytes',
  'last_sampled_at',
  'last_sample_date',
  'open_period_id',
  'open_period_start',
  'open_period_end',
  'open_period_used_bytes',
] as const;

/** A service to read, with its metering state (the cached last sample and open period). */
export interface ServiceToRead {
  serviceId: number;
  serverRef: string;
  resetPolicy: ResetPolicy | null;
  resetDay: number | null;
  lastSampleId: number | null;
  last: GoodSample | null;
  openPeriodId: number | null;
  openPeriodStart: IsoDate | null;
  openPeriodEnd: IsoDate | null;
  openPeriodUsed: bigint | null;
}

export interface ReadResult {
  service: ServiceToRead;
  reading: TrafficReading;
  sampledAt: DateTime;
  sampleDate: IsoDate;
  rule: ResetRule;
}

export interface ReadFailure {
  serviceId: number;
  masterId: number;
  sampleDate: IsoDate;
  attemptedAt: DateTime;
  kind: string;
  message: string;
}

export interface BatchOutcome {
  stored: number;
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
  finishRun(runId: number, status: 'finished' | 'failed', counts: RunCounts, message: string | null, at: DateTime): Promise<void>;
  /** active services of the master */
  countServices(masterId: number): Promise<number>;
  pageToRead(masterId: number, sampleDate: IsoDate, afterServiceId: number, limit: number): Promise<ServiceToRead[]>;
  writeBatch(masterId: number, runId: number, results: ReadResult[], at: DateTime): Promise<BatchOutcome>;
  recordFailures(runId: number, failures: ReadFailure[]): Promise<void>;
  /** active services of these masters with no good sample for the date */
  countGaps(masterIds: number[], sampleDate: IsoDate): Promise<number>;
  /** when the latest run for the date started, if any */
  lastRunStarted(sampleDate: IsoDate): Promise<DateTime | null>;
}

function toService(r: Record<string, unknown>): ServiceToRead {
  const lastSampleId = toNumOrNull(r.last_sample_id);
  return {
    serviceId: toNum(r.service_id),
    serverRef: String(r.server_ref),
    resetPolicy: r.reset_policy ? parseResetPolicy(r.reset_policy) : null,
    resetDay: toNumOrNull(r.reset_day),
    lastSampleId,
    last:
      lastSampleId === null
        ? null
        : {
            usedBytes: toBig(r.last_used_bytes),
            sampledAt: toInstantOrNull(r.last_sampled_at)!,
            sampleDate: toDate(r.last_sample_date),
          },
    openPeriodId: toNumOrNull(r.open_period_id),
    openPeriodStart: toDateOrNull(r.open_period_start),
    openPeriodEnd: toDateOrNull(r.open_period_end),
    openPeriodUsed: toBigOrNull(r.open_period_used_bytes),
  };
}

export function createMeteringStore(knex: Knex): MeteringStore {
  return {
    async startRun(kind, sampleDate, owner, at) {
      const [id] = await knex(RUNS).insert({ kind, sample_date: sampleDate, owner, status: 'running', started_at: sqlInstant(at) });
      if (id !== undefined && id !== null) return toNum(id);
      const row = await knex(RUNS).where({ owner }).orderBy('id', 'desc').first('id');
      return toNum(row.id);
    },

    async finishRun(runId, status, c, message, at) {
      await knex(RUNS).where({ id: runId }).update({
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
    },

    async countServices(masterId) {
      const row = await knex(SERVICES)
        .where({ master_id: masterId, active: true })
        .count({ n: '*' })
        .first();
      return toNum(row?.n ?? 0);
    },

    async pageToRead(masterId, sampleDate, afterServiceId, limit) {
      const rows = await knex(SERVICES)
        .select('service_id', 'server_ref', 'reset_policy', 'reset_day', ...STATE_COLUMNS)
        .where({ master_id: masterId, active: true })
        .andWhere('service_id', '>', afterServiceId)
        .andWhere((q) => q.whereNull('last_sample_date').orWhere('last_sample_date', '<', sampleDate))
        .orderBy('service_id')
        .limit(limit);
      return rows.map(toService);
    },

    async writeBatch(masterId, runId, results, at) {
      if (results.length === 0) return { stored: 0, duplicates: 0, resets: 0, anomalies: 0 };
      return withTxRetry(() => knex.transaction(async (trx) => {
        const now = sqlInstant(at);
        await insertChunked(
          trx,
          SAMPLES,
          results.map((r) => ({
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
          })),
          { ignoreOn: ['service_id', 'sample_date'] },
        );
        // Only samples this run wrote go on: a concurrent run that got there first owns the rest.
        const ids = new Map<number, number>();
        const dates = [...new Set(results.map((r) => r.sampleDate))];
        for (const part of chunks(results, 800)) {
          // By the unique (service_id, sample_date) key: a lookup per row, not a scan of the run.
          const rows = await trx(SAMPLES)
            .select('id', 'service_id', 'run_id')
            .whereIn('service_id', part.map((r) => r.service.serviceId))
            .whereIn('sample_date', dates);
          for (const row of rows) if (toNum(row.run_id) === runId) ids.set(toNum(row.service_id), toNum(row.id));
        }

        const mine = results.filter((r) => ids.has(r.service.serviceId));
        const steps = mine.map((r) => ({
          r,
          sampleId: ids.get(r.service.serviceId)!,
          step: meterStep(
            r.service.last,
            r.service.openPeriodId !== null ? { startDate: r.service.openPeriodStart!, endDate: r.service.openPeriodEnd } : null,
            { usedBytes: r.reading.usedBytes, sampledAt: r.sampledAt, sampleDate: r.sampleDate },
            r.rule,
          ),
        }));

        // Close the periods a reset ended, and flag the ones where a reset was due but not seen.
        const closes: Record<string, unknown>[] = [];
        const anomalies: Record<string, unknown>[] = [];
        for (const { r, step } of steps) {
          if (step.kind === 'reset' && r.service.openPeriodId !== null) {
            closes.push({
              id: r.service.openPeriodId,
              status: 'closed',
              end_date: step.closeEndDate,
              closed_by: step.resetKind === 'policy' ? 'policy_reset' : 'manual_reset',
              reset_at: step.resetAt ? sqlInstant(step.resetAt) : null,
              unmeasured_after: sqlInstant(step.unmeasuredAfter),
              closed_at: now,
            });
          } else if (step.kind === 'continue' && step.anomaly && r.service.openPeriodId !== null) {
            anomalies.push({ id: r.service.openPeriodId, anomaly: step.anomaly });
          }
        }
        await updateManyByKey(trx, PERIODS, 'id', closes, ['status', 'end_date', 'closed_by', 'reset_at', 'unmeasured_after', 'closed_at']);
        await updateManyByKey(trx, PERIODS, 'id', anomalies, ['anomaly']);

        const opening = steps.filter((s) => s.step.kind === 'first' || s.step.kind === 'reset');
        await insertChunked(
          trx,
          PERIODS,
          opening.map(({ r, step }) => {
            const p = (step as Extract<MeterStep, { period: unknown }>).period;
            return {
              service_id: r.service.serviceId,
              start_date: p.startDate,
              end_date: p.endDate,
              status: 'open',
              opened_by: p.openedBy,
              used_bytes: 0,
              created_at: now,
            };
          }),
        );
        const newPeriodIds = new Map<number, number>();
        for (const part of chunks(opening, 800)) {
          const rows = await trx(PERIODS)
            .select('id', 'service_id')
            .where({ status: 'open' })
            .whereIn('service_id', part.map((s) => s.r.service.serviceId));
          for (const row of rows) newPeriodIds.set(toNum(row.service_id), toNum(row.id));
        }

        const intervals: Record<string, unknown>[] = [];
        const periodUpdates: Record<string, unknown>[] = [];
        const serviceUpdates: Record<string, unknown>[] = [];
        for (const { r, sampleId, step } of steps) {
          const svc = r.service;
          const opened = step.kind === 'first' || step.kind === 'reset';
          const periodId = opened ? newPeriodIds.get(svc.serviceId)! : svc.openPeriodId!;
          const period = opened ? (step as Extract<MeterStep, { period: unknown }>).period : null;
          const used = (opened ? 0n : svc.openPeriodUsed ?? 0n) + step.interval.bytes;
          intervals.push({
            service_id: svc.serviceId,
            period_id: periodId,
            from_sample_id: step.kind === 'first' ? null : svc.lastSampleId,
            to_sample_id: sampleId,
            kind: step.interval.kind,
            from_date: step.interval.fromDate,
            to_date: step.interval.toDate,
            bytes: sqlBig(step.interval.bytes),
          });
          periodUpdates.push({ id: periodId, used_bytes: sqlBig(used), last_sample_id: sampleId });
          serviceUpdates.push({
            service_id: svc.serviceId,
            last_sample_id: sampleId,
            last_used_bytes: sqlBig(r.reading.usedBytes),
            last_sampled_at: sqlInstant(r.sampledAt),
            last_sample_date: r.sampleDate,
            open_period_id: periodId,
            open_period_start: period ? period.startDate : svc.openPeriodStart,
            open_period_end: period ? period.endDate : svc.openPeriodEnd,
            open_period_used_bytes: sqlBig(used),
            updated_at: now,
          });
        }
        await insertChunked(trx, INTERVALS, intervals);
        await updateManyByKey(trx, PERIODS, 'id', periodUpdates, ['used_bytes', 'last_sample_id']);
        await updateManyByKey(trx, SERVICES, 'service_id', serviceUpdates, [...STATE_COLUMNS, 'updated_at']);
        return {
          stored: mine.length,
          duplicates: results.length - mine.length,
          resets: steps.filter((s) => s.step.kind === 'reset').length,
          anomalies: anomalies.length,
        };
      }));
    },

    async recordFailures(runId, failures) {
      await insertChunked(
        knex,
        FAILURES,
        failures.map((f) => ({
          run_id: runId,
          service_id: f.serviceId,
          master_id: f.masterId,
          sample_date: f.sampleDate,
          attempted_at: sqlInstant(f.attemptedAt),
          error_kind: f.kind.slice(0, 20),
          message: f.message.slice(0, 500),
        })),
      );
    },

    async lastRunStarted(sampleDate) {
      const row = await knex(RUNS).where({ sample_date: sampleDate, kind: 'collect' }).orderBy('id', 'desc').first('started_at');
      return row ? toInstantOrNull(row.started_at) : null;
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
