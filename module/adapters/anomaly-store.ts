import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { ANOMALY_KINDS, type AnomalyKind } from '../domain/metering.js';
import {
  isUnreadable,
  readEach,
  rowReader,
  sqlInstant,
  toNum,
  type Listed,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { TABLES } from './tables.js';

/**
 * What metering found in a service's counter (module/domain/metering.ts plans them): a reset
 * SolusVM skipped or made late, a counter drop no one can read, traffic never measured, long gaps;
 * and an admin's decision on a drop. module/services/usage-periods.ts lists, decides and, on a
 * rebuild, writes them again. Kind and status are checked against their lists here.
 */
type Db = Knex | Knex.Transaction;

export const ANOMALY_STATUSES = [
  /** a drop waiting for a decision, or a reset still due */
  'open',
  /** a drop an admin decided */
  'decided',
  /** a reset that was due and came */
  'resolved',
  /** told, nothing to decide */
  'info',
] as const;
export type AnomalyStatus = (typeof ANOMALY_STATUSES)[number];
export type DropDecision = 'reset' | 'correction';

/** An anomaly of a period's list that cannot be read, in its place under its period (joined: it reads). */
export type UnreadableAnomaly = UnreadableRow & { periodId: number };

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
  decision: DropDecision | null;
  decisionReason: string | null;
  decidedBy: { type: string; id: string | null } | null;
  decidedAt: string | null;
}

/** An anomaly as a decision sees it, locked. */
export interface LockedAnomaly {
  id: number;
  serviceId: number;
  kind: AnomalyKind;
  status: AnomalyStatus;
  decision: DropDecision | null;
  intervalId: number | null;
}

/** An admin's decision on a drop, kept across a rebuild by the sample that showed the drop. */
export interface KeptDecision {
  decision: DropDecision;
  reason: string | null;
  byType: string | null;
  byId: string | null;
  at: DateTime | null;
}

/** An anomaly a rebuild writes. */
export interface NewAnomaly {
  serviceId: number;
  periodId: number;
  kind: AnomalyKind;
  sampleId: number;
  seenOn: IsoDate;
  details: Record<string, string | number>;
  status: AnomalyStatus;
  decided: KeptDecision | null;
  createdAt: DateTime;
}

export interface AnomalyFilter {
  serviceId?: number;
  clientId?: number;
  status: AnomalyStatus | 'all';
  /** only ids below this one (the page cursor) */
  before?: number | null;
}

export interface AnomalyStore {
  /** newest first, at most `limit`; one that cannot be read is an UnreadableRow in its place */
  list(filter: AnomalyFilter, limit: number): Promise<Array<Listed<AnomalyRow>>>;
  one(id: number): Promise<AnomalyRow | null>;
  /** the anomalies of these periods, oldest first; one that cannot be read in its place with its period */
  ofPeriods(periodIds: number[]): Promise<Array<AnomalyRow | UnreadableAnomaly>>;
  /** drops waiting for a decision */
  countUndecidedDrops(): Promise<number>;
  lock(trx: Knex.Transaction, id: number): Promise<LockedAnomaly | null>;
  markDecided(
    trx: Knex.Transaction,
    id: number,
    d: { decision: DropDecision; reason: string; byType: string; byId: string | null; at: DateTime },
  ): Promise<void>;
  /** the decided drops of a service, by the sample that showed each */
  keptDecisions(db: Db, serviceId: number): Promise<Map<number, KeptDecision>>;
  deleteOfService(db: Db, serviceId: number): Promise<void>;
  insertMany(db: Db, rows: NewAnomaly[]): Promise<void>;
  /** points the drops of a service at the interval that ends at the sample that showed them */
  linkDrops(db: Db, serviceId: number, intervals: Array<{ id: number; toSampleId: number }>): Promise<void>;
}

const decisionOf = (v: unknown): DropDecision | null => (v === 'reset' || v === 'correction' ? v : null);

export function parseAnomalyRow(r: Record<string, unknown>): AnomalyRow {
  const a = rowReader(TABLES.anomalies, r);
  const p = rowReader(TABLES.periods, r, 'p_');
  return {
    id: a.num('id'),
    serviceId: a.num('service_id'),
    periodId: a.num('period_id'),
    periodStart: p.date('start_date'),
    periodEnd: p.dateOrNull('end_date'),
    kind: a.word(ANOMALY_KINDS, 'kind'),
    seenOn: a.date('seen_on'),
    details: a.json('details') as Record<string, string | number>,
    status: a.word(ANOMALY_STATUSES, 'status'),
    decision: decisionOf(r.decision),
    decisionReason: a.strOrNull('decision_reason'),
    decidedBy: r.decided_by_type
      ? { type: a.str('decided_by_type'), id: a.strOrNull('decided_by_id') }
      : null,
    decidedAt: a.instantOrNull('decided_at')?.toISO() ?? null,
  };
}

const newRow = (a: NewAnomaly): Record<string, unknown> => ({
  service_id: a.serviceId,
  period_id: a.periodId,
  kind: a.kind,
  sample_id: a.sampleId,
  seen_on: a.seenOn,
  details: JSON.stringify(a.details),
  status: a.status,
  decision: a.decided?.decision ?? null,
  decision_reason: a.decided?.reason ?? null,
  decided_by_type: a.decided?.byType ?? null,
  decided_by_id: a.decided?.byId ?? null,
  decided_at: a.decided?.at ? sqlInstant(a.decided.at) : null,
  created_at: sqlInstant(a.createdAt),
});

/** `setAside`: told of each anomaly the list could not read (shown in its place as unreadable). */
export function createAnomalyStore(knex: Knex, opts: { setAside?: SetAside } = {}): AnomalyStore {
  const withPeriod = () =>
    knex(`${TABLES.anomalies} as a`)
      .join(`${TABLES.periods} as p`, 'p.id', 'a.period_id')
      .select('a.*', 'p.start_date as p_start_date', 'p.end_date as p_end_date');
  return {
    ...anomalyWrites(),
    async list(filter, limit) {
      const q = withPeriod().orderBy('a.id', 'desc').limit(limit);
      if (filter.serviceId !== undefined) q.where('a.service_id', filter.serviceId);
      if (filter.clientId !== undefined)
        q.whereIn(
          'a.service_id',
          knex(TABLES.services).where({ client_id: filter.clientId }).select('service_id'),
        );
      if (filter.status !== 'all') q.where('a.status', filter.status);
      if (filter.before) q.where('a.id', '<', filter.before);
      return readEach(await q, parseAnomalyRow, TABLES.anomalies, { setAside: opts.setAside });
    },
    async one(id) {
      const r = await withPeriod().where('a.id', id).first();
      return r ? parseAnomalyRow(r) : null;
    },
    async ofPeriods(periodIds) {
      if (periodIds.length === 0) return [];
      const rows = (await withPeriod().whereIn('a.period_id', periodIds).orderBy('a.id')) as Array<
        Record<string, unknown>
      >;
      // each on its own: one that cannot be read is named under its period, the others shown
      return readEach(rows, parseAnomalyRow, TABLES.anomalies, { setAside: opts.setAside }).map((a, i) =>
        isUnreadable(a) ? { ...a, periodId: toNum(rows[i]!.period_id) } : a,
      );
    },
    async countUndecidedDrops() {
      const r = await knex(TABLES.anomalies)
        .where({ status: 'open', kind: 'mid_period_drop' })
        .count({ n: '*' })
        .first();
      return toNum(r?.n ?? 0);
    },
  };
}

/** A drop's decision, and what a rebuild deletes, keeps and writes again. */
function anomalyWrites(): Pick<
  AnomalyStore,
  'lock' | 'markDecided' | 'keptDecisions' | 'deleteOfService' | 'insertMany' | 'linkDrops'
> {
  return {
    async lock(trx, id) {
      const a = await trx(TABLES.anomalies).where({ id }).forUpdate().first();
      if (!a) return null;
      const n = rowReader(TABLES.anomalies, a);
      return {
        id: n.num('id'),
        serviceId: n.num('service_id'),
        kind: n.word(ANOMALY_KINDS, 'kind'),
        status: n.word(ANOMALY_STATUSES, 'status'),
        decision: decisionOf(a.decision),
        intervalId: n.numOrNull('interval_id'),
      };
    },
    async markDecided(trx, id, d) {
      await trx(TABLES.anomalies)
        .where({ id })
        .update({
          status: 'decided',
          decision: d.decision,
          decision_reason: d.reason,
          decided_by_type: d.byType,
          decided_by_id: d.byId,
          decided_at: sqlInstant(d.at),
        });
    },
    async keptDecisions(db, serviceId) {
      const rows = await db(TABLES.anomalies)
        .where({ service_id: serviceId, kind: 'mid_period_drop' })
        .whereNotNull('decision');
      const out = new Map<number, KeptDecision>();
      for (const a of rows) {
        const decision = decisionOf(a.decision);
        if (!decision) continue;
        const n = rowReader(TABLES.anomalies, a);
        out.set(n.num('sample_id'), {
          decision,
          reason: n.strOrNull('decision_reason'),
          byType: n.strOrNull('decided_by_type'),
          byId: n.strOrNull('decided_by_id'),
          at: n.instantOrNull('decided_at'),
        });
      }
      return out;
    },
    async deleteOfService(db, serviceId) {
      await db(TABLES.anomalies).where({ service_id: serviceId }).delete();
    },
    async insertMany(db, rows) {
      for (let i = 0; i < rows.length; i += 500)
        await db(TABLES.anomalies).insert(rows.slice(i, i + 500).map(newRow));
    },
    async linkDrops(db, serviceId, intervals) {
      for (const d of intervals)
        await db(TABLES.anomalies)
          .where({ service_id: serviceId, kind: 'mid_period_drop', sample_id: d.toSampleId })
          .update({ interval_id: d.id });
    },
  };
}
