import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { CalendarSources } from '../domain/billing-calendar.js';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import type { IntervalKind } from '../domain/metering.js';
import { parsePeriodStatus, type PeriodStatus } from '../domain/period-status.js';
import { parseResetPolicy } from '../domain/reset-policy.js';
import { paceColumns } from './metering-store.js';
import { PERIOD_COLUMNS, parsePeriodToRate, syncRated, type PeriodToRate } from './rating-store.js';
import {
  bigIn,
  intIn,
  intOrNullIn,
  isUnreadable,
  readEach,
  readOwned,
  rowReader,
  sqlBig,
  sqlBigOrNull,
  sqlInstant,
  toNum,
  type Listed,
  type ReadOf,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { chunks, insertChunked, withTxRetry } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * A service's usage periods with their intervals and charges: what operators see and repair
 * (module/services/usage-periods.ts: the periods' charges, corrections held for review, a drop's
 * decision, a rebuild on the billing calendar), what the product form's preview rates again and
 * which periods imported rates touch. Rows are checked here.
 */
/** A period as an operator sees it. */
export interface PeriodEntry {
  id: number;
  start: IsoDate;
  end: IsoDate | null;
  calendar: string | null;
  status: PeriodStatus;
  usedBytes: bigint;
}

/** A charge of a period with its line, if it has one. */
export interface ChargeSummary {
  id: number;
  seq: number;
  kind: 'usage' | 'correction';
  status: ChargeStatus;
  currency: string;
  usedBytes: bigint;
  allowanceBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  lineId: number | null;
  invoiceId: number | null;
}

export interface PeriodCharge extends ChargeSummary {
  periodId: number;
  serviceId: number;
  clientId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
}

/**
 * A charge of a list that cannot be read, in its place with its period (null when that too does not
 * read): the period's money is then not known, never the smaller sum of its other charges.
 */
export type UnreadableCharge = UnreadableRow & { periodId: number | null };

/** A drop's interval, locked while an admin's decision books it. */
export interface DropInterval {
  id: number;
  periodId: number;
  kind: IntervalKind;
  candidateBytes: bigint | null;
}

/** A period as the billing calendar makes it on a rebuild. */
export interface CalendarPeriodRow {
  end: IsoDate;
  closedAt: DateTime | null;
  calendar: string;
}

export interface NewInterval {
  periodId: number;
  fromSampleId: number | null;
  toSampleId: number;
  kind: IntervalKind;
  fromDate: IsoDate;
  toDate: IsoDate;
  bytes: bigint;
  estimated: boolean;
  candidateBytes: bigint | null;
}

/** Where metering goes on from after a rebuild (the metering cache in the services table). */
export interface MeterStateRow {
  openPeriod: { id: number; start: IsoDate; end: IsoDate } | null;
  resetDueOn: IsoDate | null;
  /** the latest metered days' traffic per day, newest last */
  recentDaily: readonly bigint[];
  at: DateTime;
}

/** A service's latest closed period with what its charge bills now, as the product form's preview rates it again. */
/** A product's service with its latest closed period, read as rating reads a period to rate. */
export interface LastClosedPeriod extends PeriodToRate {
  /** the period's first charge (seq 0), if rated */
  charge: { amountMinor: bigint; status: ChargeStatus } | null;
}

export interface UsagePeriodStore {
  /**
   * Each active service of the product with its latest closed period, by service id, at most
   * `limit` (ask one more to know whether there are more). With `setAside`, a row that cannot be
   * read (its period, service or charge) is told there and left out, its service in `unreadable`
   * (the others read as usual); without, it is refused naming the column.
   */
  lastClosedOfProduct(
    productId: number,
    limit: number,
    setAside?: SetAside,
  ): Promise<ReadOf<LastClosedPeriod>>;
  /** the ids of the service's closed periods that have a charge and share a day with [from, to], oldest first */
  ratedClosedBetween(serviceId: number, from: IsoDate, to: IsoDate): Promise<number[]>;

  /** the service's periods but superseded ones, newest first, at most `limit`; one that cannot be read in its place */
  periodsOf(serviceId: number, limit: number): Promise<Array<Listed<PeriodEntry>>>;
  /** the charges of these periods with their lines, by period and seq; one that cannot be read in its place */
  chargesOf(periodIds: number[]): Promise<Array<PeriodCharge | UnreadableCharge>>;
  /** one charge: a row that cannot be read is refused (naming the column), never half read */
  charge(chargeId: number): Promise<PeriodCharge | null>;
  /** corrections waiting for an admin, oldest first, at most `limit`; one that cannot be read in its place */
  corrections(limit: number): Promise<Array<Listed<PeriodCharge>>>;
  countCorrections(): Promise<number>;
  /** a charge locked for an admin's review: its kind, status and amount */
  lockCharge(
    trx: Knex.Transaction,
    chargeId: number,
  ): Promise<{
    kind: 'usage' | 'correction';
    status: ChargeStatus;
    amountMinor: bigint;
    currency: string;
  } | null>;
  setChargeStatus(trx: Knex.Transaction, chargeId: number, status: 'unbilled' | 'void'): Promise<void>;
  hasCharge(periodId: number): Promise<boolean>;

  lockInterval(trx: Knex.Transaction, intervalId: number): Promise<DropInterval | null>;
  /** a drop decided: its interval becomes the decision and books `bytes` into its period */
  bookDrop(
    trx: Knex.Transaction,
    d: DropInterval,
    kind: 'manual_reset' | 'correction',
    bytes: bigint,
  ): Promise<void>;

  /** where the service's periods come from: the service's, SolusVM's and its master's settings */
  calendarSources(serviceId: number): Promise<CalendarSources | 'no service' | 'no master'>;
  /** services sampled whose periods were made before the billing calendar, by id, at most `limit` */
  servicesToRebuild(limit: number): Promise<number[]>;
  /** services never sampled have nothing to rebuild: marked on the calendar */
  markUnsampledOnCalendar(): Promise<void>;

  /** the service's periods, locked for a rebuild, oldest first */
  lockPeriods(trx: Knex.Transaction, serviceId: number): Promise<Array<{ id: number; start: IsoDate }>>;
  deleteIntervals(trx: Knex.Transaction, serviceId: number): Promise<void>;
  /** an old period reused (its id carries charges and lines) as the calendar's period, measured again from 0 */
  resetPeriod(trx: Knex.Transaction, periodId: number, p: CalendarPeriodRow): Promise<void>;
  insertPeriod(
    trx: Knex.Transaction,
    serviceId: number,
    start: IsoDate,
    p: CalendarPeriodRow,
    at: DateTime,
  ): Promise<number>;
  /** the ids of a period's charges by seq */
  chargeIdsOf(trx: Knex.Transaction, periodId: number): Promise<number[]>;
  /** the charges move to `toPeriodId`, after its own (their seq from its highest + 1) */
  moveCharges(trx: Knex.Transaction, chargeIds: number[], toPeriodId: number): Promise<void>;
  supersede(trx: Knex.Transaction, periodId: number): Promise<void>;
  deletePeriod(trx: Knex.Transaction, periodId: number): Promise<void>;
  setReset(
    trx: Knex.Transaction,
    periodId: number,
    resetAt: DateTime | null,
    unmeasuredAfter: DateTime | null,
  ): Promise<void>;
  insertIntervals(trx: Knex.Transaction, serviceId: number, rows: NewInterval[]): Promise<void>;
  /** each period's total, and its last sample: the latest its intervals end at */
  setTotals(trx: Knex.Transaction, totals: Map<number, bigint>, periodIds: number[]): Promise<void>;
  /** the service's drop intervals (decided or not) and the sample each ends at */
  dropIntervals(trx: Knex.Transaction, serviceId: number): Promise<Array<{ id: number; toSampleId: number }>>;
  saveMeterState(trx: Knex.Transaction, serviceId: number, m: MeterStateRow): Promise<void>;
}

const INTERVAL_KINDS: readonly IntervalKind[] = [
  'daily',
  'span',
  'since_reset',
  'before_metering',
  'drop',
  'manual_reset',
  'correction',
];

/** A charge with its line (selected as c.*, l.id as line_id, l.invoice_id as line_invoice_id). */
function parseCharge(row: Record<string, unknown>): PeriodCharge {
  const c = rowReader(TABLES.charges, row);
  const l = rowReader(TABLES.lines, row, 'line_');
  return {
    id: c.num('id'),
    seq: c.num('seq'),
    kind: row.kind === 'correction' ? 'correction' : 'usage',
    status: parseChargeStatus(row.status),
    currency: c.str('currency'),
    usedBytes: c.big('used_bytes'),
    allowanceBytes: c.big('allowance_bytes'),
    overBytes: c.big('over_bytes'),
    amountMinor: c.big('amount_minor'),
    lineId: l.numOrNull('id'),
    invoiceId: l.numOrNull('invoice_id'),
    periodId: c.num('period_id'),
    serviceId: c.num('service_id'),
    clientId: c.num('client_id'),
    periodStart: c.date('period_start'),
    periodEnd: c.date('period_end'),
  };
}

const policyOrNull = (v: unknown) => (v ? parseResetPolicy(v) : null);

const calendarRow = (p: CalendarPeriodRow) => ({
  end_date: p.end,
  status: p.closedAt ? 'closed' : 'open',
  opened_by: 'calendar',
  closed_by: p.closedAt ? 'calendar' : null,
  closed_at: p.closedAt ? sqlInstant(p.closedAt) : null,
  calendar: p.calendar,
  used_bytes: 0,
  anomaly: null,
  reset_at: null,
  unmeasured_after: null,
});

const parseLastClosed = (r: Record<string, unknown>): LastClosedPeriod => ({
  ...parsePeriodToRate(r),
  charge:
    r.charge_minor === null || r.charge_minor === undefined
      ? null
      : {
          amountMinor: bigIn(r.charge_minor, `${TABLES.charges}.amount_minor`),
          status: parseChargeStatus(r.charge_status),
        },
});

/** A period as an operator sees it, from its row. */
function parsePeriodEntry(row: Record<string, unknown>): PeriodEntry {
  const p = rowReader(TABLES.periods, row);
  return {
    id: p.num('id'),
    start: p.date('start_date'),
    end: p.dateOrNull('end_date'),
    calendar: p.strOrNull('calendar'),
    status: parsePeriodStatus(row.status),
    usedBytes: p.big('used_bytes'),
  };
}

/** The period of a charge that cannot be read, when its period_id still reads. */
function periodOfRow(row: Record<string, unknown>): number | null {
  try {
    return intOrNullIn(row.period_id, `${TABLES.charges}.period_id`);
  } catch {
    return null;
  }
}

/**
 * `setAside`: told of each period and charge the operators' lists could not read (each is listed in
 * its place as unreadable).
 */
export function createUsagePeriodStore(knex: Knex, opts: { setAside?: SetAside } = {}): UsagePeriodStore {
  const withLine = () =>
    knex(`${TABLES.charges} as c`)
      .leftJoin(`${TABLES.lines} as l`, 'l.charge_id', 'c.id')
      .select('c.*', 'l.id as line_id', 'l.invoice_id as line_invoice_id');
  return {
    ...closedPeriodReads(knex),
    ...chargeReads(knex, withLine, opts.setAside),
    ...decisionWrites(),
    ...periodRewrites(),
    ...partWrites(),
    async periodsOf(serviceId, limit) {
      const rows = await knex(TABLES.periods)
        .where({ service_id: serviceId })
        .whereNot({ status: 'superseded' })
        .orderBy('start_date', 'desc')
        .limit(limit);
      // each on its own: one period that cannot be read must not hide the service's others
      return readEach(rows, parsePeriodEntry, TABLES.periods, { setAside: opts.setAside });
    },

    async calendarSources(serviceId) {
      const svc = await knex(TABLES.services).where({ service_id: serviceId }).first();
      if (!svc) return 'no service';
      const master = await knex(TABLES.masters)
        .where({ id: svc.master_id })
        .first('reset_policy', 'time_zone', 'anniversary_from');
      if (!master) return 'no master';
      const s = rowReader(TABLES.services, svc);
      return {
        servicePolicy: policyOrNull(svc.reset_policy),
        serviceDay: s.numOrNull('reset_day'),
        solusvmPolicy: policyOrNull(svc.solusvm_reset_policy),
        solusvmCreatedOn: s.dateOrNull('solusvm_created_on'),
        masterPolicy: parseResetPolicy(master.reset_policy),
        zone: rowReader(TABLES.masters, master).str('time_zone'),
        regdate: s.dateOrNull('regdate'),
        billingDay: s.numOrNull('billing_day'),
        anniversaryFrom: master.anniversary_from === 'panel' ? 'panel' : 'solusvm',
      };
    },

    async servicesToRebuild(limit) {
      const ids = await knex(TABLES.services)
        .where({ calendar_version: 0 })
        .whereNotNull('last_sample_id')
        .orderBy('service_id')
        .limit(limit)
        .pluck('service_id');
      return ids.map(toNum);
    },

    // run by every migrate (every collector's start): retried on a 1213, it sets what it sets
    async markUnsampledOnCalendar() {
      await withTxRetry(() =>
        knex(TABLES.services)
          .where({ calendar_version: 0 })
          .whereNull('last_sample_id')
          .update({ calendar_version: 1 }),
      );
    },
  };
}

/** The charges of periods, as operators see and review them. */
function chargeReads(
  knex: Knex,
  withLine: () => Knex.QueryBuilder,
  setAside?: SetAside,
): Pick<
  UsagePeriodStore,
  'chargesOf' | 'charge' | 'corrections' | 'countCorrections' | 'lockCharge' | 'setChargeStatus' | 'hasCharge'
> {
  return {
    async chargesOf(periodIds) {
      if (periodIds.length === 0) return [];
      const rows = await withLine().whereIn('c.period_id', periodIds).orderBy(['c.period_id', 'c.seq']);
      // each on its own, an unreadable one in its place with its period: that period's money is
      // then said to be unknown (usage-periods.ts), the other periods read as usual
      return readEach(rows, parseCharge, TABLES.charges, { setAside }).map((c, i) =>
        isUnreadable(c) ? { ...c, periodId: periodOfRow(rows[i]) } : c,
      );
    },
    async charge(chargeId) {
      const r = await withLine().where('c.id', chargeId).first();
      return r ? parseCharge(r) : null;
    },
    async corrections(limit) {
      const rows = await withLine().where('c.status', 'review').orderBy('c.id').limit(limit);
      // each on its own: one held correction that cannot be read must not hide the others waiting
      return readEach(rows, parseCharge, TABLES.charges, { setAside });
    },
    async countCorrections() {
      const r = await knex(TABLES.charges).where({ status: 'review' }).count({ n: '*' }).first();
      return toNum(r?.n ?? 0);
    },
    async lockCharge(trx, chargeId) {
      const c = await trx(TABLES.charges).where({ id: chargeId }).forUpdate().first();
      if (!c) return null;
      const r = rowReader(TABLES.charges, c);
      return {
        kind: c.kind === 'correction' ? 'correction' : 'usage',
        status: parseChargeStatus(c.status),
        amountMinor: r.big('amount_minor'),
        currency: r.str('currency'),
      };
    },
    async setChargeStatus(trx, chargeId, status) {
      await trx(TABLES.charges).where({ id: chargeId }).update({ status });
    },
    async hasCharge(periodId) {
      return Boolean(await knex(TABLES.charges).where({ period_id: periodId }).first('id'));
    },
  };
}

/** What an admin's decision on a drop writes. */
function decisionWrites(): Pick<UsagePeriodStore, 'lockInterval' | 'bookDrop'> {
  return {
    async lockInterval(trx, intervalId) {
      const iv = await trx(TABLES.intervals).where({ id: intervalId }).forUpdate().first();
      if (!iv) return null;
      const i = rowReader(TABLES.intervals, iv);
      return {
        id: i.num('id'),
        periodId: i.num('period_id'),
        kind: i.word(INTERVAL_KINDS, 'kind'),
        candidateBytes: i.bigOrNull('candidate_bytes'),
      };
    },
    async bookDrop(trx, d, kind, bytes) {
      await trx(TABLES.intervals)
        .where({ id: d.id })
        .update({ kind, bytes: sqlBig(bytes) });
      // CAST: MariaDB adds a string to a BIGINT as a double, which rounds past 2^53
      if (bytes !== 0n)
        await trx(TABLES.periods)
          .where({ id: d.periodId })
          .update({ used_bytes: trx.raw('used_bytes + CAST(? AS SIGNED INTEGER)', [sqlBig(bytes)]) });
    },
  };
}

/** A rebuild's periods: old rows reused, new ones added, the rest absorbed or superseded. */
function periodRewrites(): Pick<
  UsagePeriodStore,
  | 'lockPeriods'
  | 'deleteIntervals'
  | 'resetPeriod'
  | 'insertPeriod'
  | 'chargeIdsOf'
  | 'moveCharges'
  | 'supersede'
  | 'deletePeriod'
> {
  return {
    async lockPeriods(trx, serviceId) {
      const rows = await trx(TABLES.periods)
        .where({ service_id: serviceId })
        .orderBy('start_date')
        .forUpdate();
      return rows.map((row) => {
        const p = rowReader(TABLES.periods, row);
        return { id: p.num('id'), start: p.date('start_date') };
      });
    },
    async deleteIntervals(trx, serviceId) {
      await trx(TABLES.intervals).where({ service_id: serviceId }).delete();
    },
    async resetPeriod(trx, periodId, p) {
      await trx(TABLES.periods).where({ id: periodId }).update(calendarRow(p));
    },
    async insertPeriod(trx, serviceId, start, p, at) {
      await trx(TABLES.periods).insert({
        service_id: serviceId,
        start_date: start,
        created_at: sqlInstant(at),
        ...calendarRow(p),
      });
      return toNum(
        (await trx(TABLES.periods).where({ service_id: serviceId, start_date: start }).first('id')).id,
      );
    },
    async chargeIdsOf(trx, periodId) {
      const rows = await trx(TABLES.charges).where({ period_id: periodId }).orderBy('seq').select('id');
      return rows.map((c) => intIn(c.id, `${TABLES.charges}.id`));
    },
    async moveCharges(trx, chargeIds, toPeriodId) {
      const top = await trx(TABLES.charges).where({ period_id: toPeriodId }).max({ m: 'seq' }).first();
      let seq = Math.max(toNum(top?.m ?? 0), 0) + 1;
      const from = chargeIds.length
        ? await trx(TABLES.charges)
            .whereIn('id', [...chargeIds])
            .distinct('period_id')
        : [];
      for (const id of chargeIds)
        await trx(TABLES.charges).where({ id }).update({ period_id: toPeriodId, seq: seq++ });
      // a period whose seq 0 moved away is not rated any more; one that got only corrections is not yet
      await syncRated(trx, [...from.map((r) => toNum(r.period_id)), toPeriodId]);
    },
    async supersede(trx, periodId) {
      await trx(TABLES.periods).where({ id: periodId }).update({ status: 'superseded' });
    },
    async deletePeriod(trx, periodId) {
      await trx(TABLES.periods).where({ id: periodId }).delete();
    },
  };
}

/** A rebuild's figures: resets, intervals, totals and where metering goes on from. */
function partWrites(): Pick<
  UsagePeriodStore,
  'setReset' | 'insertIntervals' | 'setTotals' | 'dropIntervals' | 'saveMeterState'
> {
  return {
    async setReset(trx, periodId, resetAt, unmeasuredAfter) {
      await trx(TABLES.periods)
        .where({ id: periodId })
        .update({
          reset_at: resetAt ? sqlInstant(resetAt) : null,
          unmeasured_after: unmeasuredAfter ? sqlInstant(unmeasuredAfter) : null,
        });
    },
    async insertIntervals(trx, serviceId, rows) {
      await insertChunked(
        trx,
        TABLES.intervals,
        rows.map((i) => ({
          service_id: serviceId,
          period_id: i.periodId,
          from_sample_id: i.fromSampleId,
          to_sample_id: i.toSampleId,
          kind: i.kind,
          from_date: i.fromDate,
          to_date: i.toDate,
          bytes: sqlBig(i.bytes),
          estimated: i.estimated,
          candidate_bytes: sqlBigOrNull(i.candidateBytes),
        })),
      );
    },
    async setTotals(trx, totals, periodIds) {
      for (const [pid, used] of totals)
        await trx(TABLES.periods)
          .where({ id: pid })
          .update({ used_bytes: sqlBig(used), last_sample_id: null });
      for (const part of chunks(periodIds, 500)) {
        // each period's last sample: the latest interval that ends in it
        const lastOf = await trx(TABLES.intervals)
          .whereIn('period_id', part)
          .groupBy('period_id')
          .select('period_id', trx.raw('MAX(to_sample_id) AS s'));
        for (const l of lastOf)
          await trx(TABLES.periods)
            .where({ id: l.period_id })
            .update({ last_sample_id: toNum(l.s) });
      }
    },
    async dropIntervals(trx, serviceId) {
      const rows = await trx(TABLES.intervals)
        .where({ service_id: serviceId })
        .whereIn('kind', ['drop', 'manual_reset', 'correction'])
        .select('id', 'to_sample_id');
      return rows.map((row) => {
        const i = rowReader(TABLES.intervals, row);
        return { id: i.num('id'), toSampleId: i.num('to_sample_id') };
      });
    },
    async saveMeterState(trx, serviceId, m) {
      await trx(TABLES.services)
        .where({ service_id: serviceId })
        .update({
          open_period_id: m.openPeriod?.id ?? null,
          open_period_start: m.openPeriod?.start ?? null,
          open_period_end: m.openPeriod?.end ?? null,
          reset_due_on: m.resetDueOn,
          ...paceColumns(m.recentDaily),
          calendar_version: 1,
          updated_at: sqlInstant(m.at),
        });
    },
  };
}

/** The preview's and the rate import's reads of closed periods. */
function closedPeriodReads(knex: Knex): Pick<UsagePeriodStore, 'lastClosedOfProduct' | 'ratedClosedBetween'> {
  return {
    async lastClosedOfProduct(productId, limit, setAside) {
      // the latest closed period by a correlated MAX, the same on both engines
      const rows: Array<Record<string, unknown>> = await knex(`${TABLES.periods} as p`)
        .join(`${TABLES.services} as s`, 's.service_id', 'p.service_id')
        .leftJoin(`${TABLES.charges} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
        .leftJoin(`${TABLES.samples} as smp`, 'smp.id', 'p.last_sample_id')
        .where('s.product_id', productId)
        .andWhere('s.active', true)
        .andWhere('p.status', 'closed')
        .whereRaw(
          `p.end_date = (SELECT MAX(p2.end_date) FROM ${TABLES.periods} p2 WHERE p2.service_id = p.service_id AND p2.status = 'closed')`,
        )
        .orderBy('p.service_id')
        .limit(limit)
        .select([...PERIOD_COLUMNS, 'c.amount_minor as charge_minor', 'c.status as charge_status']);
      return readOwned(rows, parseLastClosed, TABLES.periods, { owner: 'service_id', setAside });
    },

    async ratedClosedBetween(serviceId, from, to) {
      const rows = await knex(`${TABLES.periods} as p`)
        .where({ 'p.service_id': serviceId, 'p.status': 'closed' })
        .andWhere('p.end_date', '>=', from)
        .andWhere('p.start_date', '<=', to)
        .whereExists(knex(`${TABLES.charges} as c`).whereRaw('c.period_id = p.id').select('c.id'))
        .orderBy('p.start_date')
        .select('p.id');
      return rows.map((r) => intIn(r.id, `${TABLES.periods}.id`));
    },
  };
}
