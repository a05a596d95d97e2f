import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseDisputeState, type DisputeState } from '../domain/dispute-state.js';
import { LINE_STATUSES, type LineStatus } from '../domain/line-status.js';
import { rowReader, type RowReader } from './rows.js';
import { TABLES } from './tables.js';

/**
 * What the evidence behind a line reads (module/services/evidence.ts): the line with its charge
 * and usage period, the pool month of a pool's line, the intervals that sum to the billed bytes and
 * the samples behind them. Read only; every value parsed here, a bad one named by its column.
 */

export interface EvidenceLine {
  id: number;
  refCode: string;
  invoiceId: number;
  serviceId: number;
  clientId: number;
  status: LineStatus;
  amountMinor: bigint;
  currency: string;
  description: string;
  invoiceDate: IsoDate;
  deadlineLastDay: IsoDate;
  deadlineClosesAt: DateTime;
}

export interface EvidencePeriod {
  id: number;
  startDate: IsoDate;
  endDate: IsoDate;
  usedBytes: bigint;
  closedBy: string | null;
  unmeasuredAfter: DateTime | null;
}

/** A line and the charge it bills: a usage charge with its period, or a pool's with its pool month's id. */
export interface LineWithCharge {
  line: EvidenceLine;
  /** the rating as the charge stores it (JSON) */
  explanation: unknown;
  charge: { kind: 'pool'; poolPeriodId: number } | { kind: 'usage'; period: EvidencePeriod | null };
  /** the line's dispute, if any: its state, and whether its decision re-rated at the agreed rate */
  dispute: { state: DisputeState; reratedAtAgreedRate: boolean } | null;
}

/** What a line of a pool's month bills now (a line per VPS, or the pool's one line). */
export interface PoolMonthLine {
  serviceId: number;
  status: LineStatus;
  amountMinor: bigint;
}

export interface PoolMonth {
  id: number;
  poolKey: string;
  startDate: IsoDate;
  endDate: IsoDate;
  usedBytes: bigint;
  /** the pool's rating: its hours and members (JSON as pools.ts wrote it) */
  details: unknown;
}

export interface StoredInterval {
  serviceId: number;
  kind: string;
  fromDate: IsoDate;
  toDate: IsoDate;
  bytes: bigint;
  fromSampleId: number | null;
  toSampleId: number;
  estimated: boolean;
}

export interface StoredSample {
  id: number;
  sampleDate: IsoDate;
  sampledAt: DateTime;
  usedBytes: bigint;
  limitBytes: bigint | null;
  state: string;
  raw: string;
}

export interface EvidenceStore {
  /** the line and its charge; with `clientId`, only that client's */
  lineWithCharge(lineId: number, opts?: { clientId?: number }): Promise<LineWithCharge | null>;
  poolMonth(id: number): Promise<PoolMonth | null>;
  /** the lines placed for a pool's month, by id */
  poolMonthLines(id: number): Promise<PoolMonthLine[]>;
  /** a usage period's intervals, by the day they close */
  intervalsOfPeriod(periodId: number): Promise<StoredInterval[]>;
  /** the services' intervals closing from `from` to `to` (both included), by the day they close */
  intervalsOfServices(serviceIds: number[], from: IsoDate, to: IsoDate): Promise<StoredInterval[]>;
  /** the samples, in the order they were taken */
  samples(ids: number[]): Promise<StoredSample[]>;
}

const LINE_COLUMNS = [
  'l.id',
  'l.ref_code',
  'l.invoice_id',
  'l.service_id',
  'l.client_id',
  'l.status',
  'l.amount_minor',
  'l.currency',
  'l.description',
  'l.invoice_date',
  'l.deadline_last_day',
  'l.deadline_closes_at',
  'c.explanation',
  'c.kind as charge_kind',
  'c.period_id as charge_period_id',
  'p.id as period_id',
  'p.start_date',
  'p.end_date',
  'p.used_bytes as period_used',
  'p.closed_by',
  'p.unmeasured_after',
  'd.state as dispute_state',
  'd.resolution as dispute_resolution',
];

function lineOf(l: RowReader): EvidenceLine {
  return {
    id: l.num('id'),
    refCode: l.str('ref_code'),
    invoiceId: l.num('invoice_id'),
    serviceId: l.num('service_id'),
    clientId: l.num('client_id'),
    status: l.word(LINE_STATUSES, 'status'),
    amountMinor: l.big('amount_minor'),
    currency: l.str('currency'),
    description: l.str('description'),
    invoiceDate: l.date('invoice_date'),
    deadlineLastDay: l.date('deadline_last_day'),
    deadlineClosesAt: l.instant('deadline_closes_at'),
  };
}

/** The line's dispute: its state, and whether the decision kept a re-rating (resolution.rerated). */
function disputeOf(r: Record<string, unknown>): LineWithCharge['dispute'] {
  if (r.dispute_state === null || r.dispute_state === undefined) return null;
  const resolution = rowReader(TABLES.disputes, r).jsonOrNull('dispute_resolution') as {
    rerated?: unknown;
  } | null;
  return {
    state: parseDisputeState(r.dispute_state),
    reratedAtAgreedRate: !!resolution?.rerated,
  };
}

export function parseLineWithCharge(r: Record<string, unknown>): LineWithCharge {
  const c = rowReader(TABLES.charges, r);
  const p = rowReader(TABLES.periods, r);
  const pool = c.str('charge_kind') === 'pool';
  return {
    line: lineOf(rowReader(TABLES.lines, r)),
    explanation: c.json('explanation'),
    dispute: disputeOf(r),
    charge: pool
      ? { kind: 'pool', poolPeriodId: -c.num('charge_period_id') }
      : {
          kind: 'usage',
          period:
            r.period_id === null || r.period_id === undefined
              ? null
              : {
                  id: p.num('period_id'),
                  startDate: p.date('start_date'),
                  endDate: p.date('end_date'),
                  usedBytes: p.big('period_used'),
                  // an empty text reads as none, as it always did
                  closedBy: r.closed_by ? p.str('closed_by') : null,
                  unmeasuredAfter: r.unmeasured_after ? p.instant('unmeasured_after') : null,
                },
        },
  };
}

export function parseInterval(r: Record<string, unknown>): StoredInterval {
  const i = rowReader(TABLES.intervals, r);
  return {
    serviceId: i.num('service_id'),
    kind: i.str('kind'),
    fromDate: i.date('from_date'),
    toDate: i.date('to_date'),
    bytes: i.big('bytes'),
    fromSampleId: i.numOrNull('from_sample_id'),
    toSampleId: i.num('to_sample_id'),
    estimated: i.bool('estimated'),
  };
}

export function parseSample(r: Record<string, unknown>): StoredSample {
  const s = rowReader(TABLES.samples, r);
  return {
    id: s.num('id'),
    sampleDate: s.date('sample_date'),
    sampledAt: s.instant('sampled_at'),
    usedBytes: s.big('used_bytes'),
    limitBytes: s.bigOrNull('limit_bytes'),
    state: s.str('state'),
    raw: s.str('raw'),
  };
}

export function createEvidenceStore(knex: Knex): EvidenceStore {
  return {
    async lineWithCharge(lineId, opts = {}) {
      const q = knex(`${TABLES.lines} as l`)
        .join(`${TABLES.charges} as c`, 'c.id', 'l.charge_id')
        .leftJoin(`${TABLES.periods} as p`, 'p.id', 'c.period_id')
        .leftJoin(`${TABLES.disputes} as d`, 'd.line_id', 'l.id')
        .where('l.id', lineId);
      if (opts.clientId !== undefined) q.andWhere('l.client_id', opts.clientId);
      const row = await q.first(LINE_COLUMNS);
      return row ? parseLineWithCharge(row) : null;
    },
    async poolMonth(id) {
      const r = await knex(TABLES.poolPeriods).where({ id }).first();
      if (!r) return null;
      const p = rowReader(TABLES.poolPeriods, r);
      return {
        id: p.num('id'),
        poolKey: p.str('pool_key'),
        startDate: p.date('start_date'),
        endDate: p.date('end_date'),
        usedBytes: p.big('used_bytes'),
        details: p.json('details'),
      };
    },
    async poolMonthLines(id) {
      // a pool's charges name their month as a negative period id (pools.ts)
      const rows = await knex(`${TABLES.lines} as l`)
        .join(`${TABLES.charges} as c`, 'c.id', 'l.charge_id')
        .where({ 'c.kind': 'pool', 'c.period_id': -id })
        .orderBy('l.id')
        .select('l.service_id', 'l.status', 'l.amount_minor');
      return rows.map((r) => {
        const l = rowReader(TABLES.lines, r);
        return {
          serviceId: l.num('service_id'),
          status: l.word(LINE_STATUSES, 'status'),
          amountMinor: l.big('amount_minor'),
        };
      });
    },
    async intervalsOfPeriod(periodId) {
      const rows = await knex(TABLES.intervals).where({ period_id: periodId }).orderBy(['to_date', 'id']);
      return rows.map(parseInterval);
    },
    async intervalsOfServices(serviceIds, from, to) {
      if (serviceIds.length === 0) return [];
      const rows = await knex(TABLES.intervals)
        .whereIn('service_id', serviceIds)
        .andWhere('to_date', '>=', from)
        .andWhere('to_date', '<=', to)
        .orderBy(['to_date', 'id']);
      return rows.map(parseInterval);
    },
    async samples(ids) {
      if (ids.length === 0) return [];
      return (await knex(TABLES.samples).whereIn('id', ids).orderBy('sampled_at')).map(parseSample);
    },
  };
}
