import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseDisputeState, type DisputeState } from '../domain/dispute-state.js';
import { parsePeriodStatus, type PeriodStatus } from '../domain/period-status.js';
import { intIn, intOrNullIn, rowReader } from './rows.js';
import { TABLES } from './tables.js';

/**
 * Raw samples (what each daily read of a SolusVM counter returned) and what keeps them: a rebuild
 * of a service's periods replays them (module/services/usage-periods.ts); retention
 * (module/services/retention.ts) asks which samples are a service's or a period's latest, which
 * start or end an interval of a billed or disputed line, and deletes the rest.
 */

/** A sample at one end of an interval, with the state of the period and line that interval counts in. */
export interface IntervalEnd {
  sampleId: number;
  periodStatus: PeriodStatus;
  /** the line billing the interval's period, if any */
  lineId: number | null;
  disputeState: DisputeState | null;
}

/** A pool's month and its members' days in the pool (the pool's line counts only those). */
export interface PoolMonth {
  start: IsoDate;
  end: IsoDate;
  members: Array<{ serviceId: number; days: IsoDate[] }>;
}

/** A good sample as a rebuild replays it. */
export interface StoredSample {
  id: number;
  usedBytes: bigint;
  sampledAt: DateTime;
  sampleDate: IsoDate;
}

export interface SampleStore {
  /** the service's samples in the order they were taken */
  ofService(serviceId: number): Promise<StoredSample[]>;
  /** samples of days before `before`, ids above `after`, by id, at most `limit` */
  olderThan(
    before: IsoDate,
    after: number,
    limit: number,
  ): Promise<Array<{ id: number; sampleDate: IsoDate }>>;
  /** which of these samples are a service's latest */
  latestOfServices(sampleIds: number[]): Promise<number[]>;
  /** which of these samples are the latest of a period still open or not rated */
  latestOfUnratedPeriods(sampleIds: number[]): Promise<number[]>;
  /** the intervals that start or end at one of these samples, with their period, line and dispute */
  intervalEnds(sampleIds: number[]): Promise<IntervalEnd[]>;
  /** the pool lines: the pool month each bills (by id) and its dispute's state */
  poolLines(): Promise<Array<{ poolPeriodId: number; disputeState: DisputeState | null }>>;
  poolMonth(poolPeriodId: number): Promise<PoolMonth | null>;
  /** a service's intervals that end between two days (inclusive) */
  intervalsEndingBetween(
    serviceId: number,
    from: IsoDate,
    to: IsoDate,
  ): Promise<Array<{ toDate: IsoDate; fromSampleId: number | null; toSampleId: number }>>;
  delete(sampleIds: number[]): Promise<void>;
}

const disputeStateOrNull = (v: unknown): DisputeState | null =>
  v === null || v === undefined ? null : parseDisputeState(v);

export function createSampleStore(knex: Knex): SampleStore {
  return {
    ...poolEvidenceReads(knex),
    async ofService(serviceId) {
      const rows = await knex(TABLES.samples)
        .where({ service_id: serviceId })
        .orderBy('sampled_at')
        .select('id', 'used_bytes', 'sampled_at', 'sample_date');
      return rows.map((row) => {
        const s = rowReader(TABLES.samples, row);
        return {
          id: s.num('id'),
          usedBytes: s.big('used_bytes'),
          sampledAt: s.instant('sampled_at'),
          sampleDate: s.date('sample_date'),
        };
      });
    },
    async olderThan(before, after, limit) {
      const rows = await knex(TABLES.samples)
        .where('id', '>', after)
        .andWhere('sample_date', '<', before)
        .orderBy('id')
        .limit(limit)
        .select('id', 'sample_date');
      return rows.map((row) => {
        const s = rowReader(TABLES.samples, row);
        return { id: s.num('id'), sampleDate: s.date('sample_date') };
      });
    },
    async latestOfServices(sampleIds) {
      if (sampleIds.length === 0) return [];
      const rows = await knex(TABLES.services).whereIn('last_sample_id', sampleIds).select('last_sample_id');
      return rows.map((r) => intIn(r.last_sample_id, `${TABLES.services}.last_sample_id`));
    },
    async latestOfUnratedPeriods(sampleIds) {
      if (sampleIds.length === 0) return [];
      const rows = await knex(`${TABLES.periods} as p`)
        .leftJoin(`${TABLES.charges} as c`, 'c.period_id', 'p.id')
        .whereIn('p.last_sample_id', sampleIds)
        .andWhere((q) => q.where('p.status', 'open').orWhereNull('c.id'))
        .select('p.last_sample_id');
      return rows.map((r) => intIn(r.last_sample_id, `${TABLES.periods}.last_sample_id`));
    },
    async intervalEnds(sampleIds) {
      if (sampleIds.length === 0) return [];
      const out: IntervalEnd[] = [];
      for (const col of ['to_sample_id', 'from_sample_id'] as const) {
        const rows = await knex(`${TABLES.intervals} as i`)
          .join(`${TABLES.periods} as p`, 'p.id', 'i.period_id')
          .leftJoin(`${TABLES.charges} as c`, 'c.period_id', 'p.id')
          .leftJoin(`${TABLES.lines} as l`, 'l.charge_id', 'c.id')
          .leftJoin(`${TABLES.disputes} as d`, 'd.line_id', 'l.id')
          .whereIn(`i.${col}`, sampleIds)
          .select(`i.${col} as sid`, 'p.status', 'l.id as line_id', 'd.state as dispute');
        for (const r of rows) {
          out.push({
            sampleId: intIn(r.sid, `${TABLES.intervals}.${col}`),
            periodStatus: parsePeriodStatus(r.status),
            lineId: intOrNullIn(r.line_id, `${TABLES.lines}.id`),
            disputeState: disputeStateOrNull(r.dispute),
          });
        }
      }
      return out;
    },
    async delete(sampleIds) {
      if (sampleIds.length) await knex(TABLES.samples).whereIn('id', sampleIds).delete();
    },
  };
}

/** What a pool line bills: its month, its members' days, their intervals. */
function poolEvidenceReads(
  knex: Knex,
): Pick<SampleStore, 'poolLines' | 'poolMonth' | 'intervalsEndingBetween'> {
  return {
    async poolLines() {
      // a pool line's charge names its pool month as a negative period id
      const rows = await knex(`${TABLES.lines} as l`)
        .join(`${TABLES.charges} as c`, 'c.id', 'l.charge_id')
        .leftJoin(`${TABLES.disputes} as d`, 'd.line_id', 'l.id')
        .where('c.period_id', '<', 0)
        .select('c.period_id', 'd.state as dispute');
      return rows.map((r) => ({
        poolPeriodId: -intIn(r.period_id, `${TABLES.charges}.period_id`),
        disputeState: disputeStateOrNull(r.dispute),
      }));
    },
    async poolMonth(poolPeriodId) {
      const pp = await knex(TABLES.poolPeriods)
        .where({ id: poolPeriodId })
        .first('start_date', 'end_date', 'details');
      if (!pp) return null;
      const p = rowReader(TABLES.poolPeriods, pp);
      const details = p.json('details') as {
        members: Array<{ serviceId: number | string; days?: string[] }>;
      };
      return {
        start: p.date('start_date'),
        end: p.date('end_date'),
        members: details.members.map((m) => ({ serviceId: Number(m.serviceId), days: m.days ?? [] })),
      };
    },
    async intervalsEndingBetween(serviceId, from, to) {
      const rows = await knex(TABLES.intervals)
        .where('service_id', serviceId)
        .andWhere('to_date', '>=', from)
        .andWhere('to_date', '<=', to)
        .select('to_date', 'from_sample_id', 'to_sample_id');
      return rows.map((row) => {
        const i = rowReader(TABLES.intervals, row);
        return {
          toDate: i.date('to_date'),
          fromSampleId: i.numOrNull('from_sample_id'),
          toSampleId: i.num('to_sample_id'),
        };
      });
    },
  };
}
