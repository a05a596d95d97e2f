import type { Knex } from 'knex';
import type { BilledNow } from '../domain/billed-now.js';
import type { IsoDate } from '../domain/calendar.js';
import type { IntervalFigure } from '../domain/daily-series.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import {
  bigOrNullIn,
  intIn,
  isUnreadable,
  readEach,
  rowReader,
  type Listed,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { TABLES } from './tables.js';

/**
 * What the client widget, the API and the admin tab read of a service's metering: the service row
 * with its open period, its periods with their charge, the intervals and anomalies of a period,
 * the masters' zones and the SolusVM limit of the latest sample. Read only; rows checked here.
 */

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
  /** the latest good sample (its SolusVM limit is the allowance of some products) */
  lastSampleId: number | null;
  openPeriodId: number | null;
  openPeriodStart: IsoDate | null;
  openPeriodEnd: IsoDate | null;
  openPeriodUsedBytes: bigint | null;
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
  /** a note whose anomaly cannot be read is in its place as unreadable (the anomaly's id) */
  notes: Array<Listed<PeriodNote>>;
  charge: {
    id: number;
    status: string;
    currency: string;
    allowanceBytes: bigint;
    overBytes: bigint;
    amountMinor: bigint;
    unit: SoldUnit | null;
    /** 'unavailable': a line of the period cannot be read, so what it bills now is not known */
    billedNow?: BilledNow | null | 'unavailable';
  } | null;
}

/**
 * A period of a list whose row (or its charge's) cannot be read, in its place: `at` is its stored
 * first day when that still orders the list (the page's cursor), else null.
 */
export type UnreadablePeriod = UnreadableRow & { at: IsoDate | null };

/** The intervals of a period that read, and those that cannot (their days are missing from the figures). */
export interface PeriodIntervals {
  figures: IntervalFigure[];
  unreadable: UnreadableRow[];
}

export interface MasterRule {
  policy: unknown;
  zone: string;
}

export interface PeriodReadStore {
  /** the metered service; with `clientId`, only when it is that client's */
  service(serviceId: number, clientId?: number): Promise<ServiceRow | null>;
  /** the client's metered services, by service id (at most 500); one that cannot be read in its place */
  clientServices(clientId: number): Promise<Array<Listed<ServiceRow>>>;
  /** the SolusVM limit each of these samples read (null: none) */
  limitsOf(sampleIds: number[]): Promise<Map<number, bigint | null>>;
  masters(): Promise<Map<number, MasterRule>>;
  /**
   * the service's periods newest first, starting before `before` when given, at most `limit`; one
   * that cannot be read in its place (told to setAside)
   */
  periods(
    serviceId: number,
    before: IsoDate | null,
    limit: number,
  ): Promise<Array<PeriodRow | UnreadablePeriod>>;
  /** one period: a row that cannot be read is refused (naming the column), never half read */
  period(serviceId: number, periodId: number): Promise<PeriodRow | null>;
  /** a period's intervals; one that cannot be read is set aside (told to setAside), the others read */
  intervals(periodId: number): Promise<PeriodIntervals>;
  /** the anomalies of these periods, as notes (oldest first); one that cannot be read in its place */
  notesOf(periodIds: number[]): Promise<Map<number, Array<Listed<PeriodNote>>>>;
}

export const SERVICE_COLUMNS = [
  'service_id',
  'client_id',
  'product_id',
  'master_id',
  'server_ref',
  'active',
  'currency',
  'regdate',
  'last_sample_date',
  'last_sampled_at',
  'open_period_id',
  'open_period_start',
  'open_period_end',
  'open_period_used_bytes',
  'reset_policy',
  'reset_day',
  'last_sample_id',
];

export function parseServiceRow(r: Record<string, unknown>): ServiceRow {
  const s = rowReader(TABLES.services, r);
  return {
    serviceId: s.num('service_id'),
    clientId: s.num('client_id'),
    productId: s.num('product_id'),
    masterId: s.num('master_id'),
    serverRef: s.str('server_ref'),
    active: s.bool('active'),
    currency: s.strOrNull('currency') ?? 'EUR',
    regdate: s.dateOrNull('regdate'),
    lastSampleDate: s.dateOrNull('last_sample_date'),
    lastSampledAt: s.instantOrNull('last_sampled_at')?.toISO() ?? null,
    lastSampleId: s.numOrNull('last_sample_id'),
    openPeriodId: s.numOrNull('open_period_id'),
    openPeriodStart: s.dateOrNull('open_period_start'),
    openPeriodEnd: s.dateOrNull('open_period_end'),
    openPeriodUsedBytes: s.bigOrNull('open_period_used_bytes'),
  };
}

/** The unit a charge was sold in, from its stored rating. */
function unitOfExplanation(text: string): SoldUnit | null {
  try {
    return (JSON.parse(text) as { rated?: { unit?: SoldUnit } }).rated?.unit ?? null;
  } catch {
    return null;
  }
}

function parsePeriodRow(row: Record<string, unknown>): PeriodRow {
  const p = rowReader(TABLES.periods, row);
  const c = row.c_id === null || row.c_id === undefined ? null : rowReader(TABLES.charges, row, 'c_');
  return {
    id: p.num('id'),
    serviceId: p.num('service_id'),
    startDate: p.date('start_date'),
    endDate: p.dateOrNull('end_date'),
    status: p.str('status'),
    usedBytes: p.big('used_bytes'),
    closedBy: p.strOrNull('closed_by'),
    anomaly: p.strOrNull('anomaly'),
    notes: [],
    charge:
      c === null
        ? null
        : {
            id: c.num('id'),
            status: c.str('status'),
            currency: c.str('currency'),
            allowanceBytes: c.big('allowance_bytes'),
            overBytes: c.big('over_bytes'),
            amountMinor: c.big('amount_minor'),
            unit: row.c_explanation ? unitOfExplanation(c.str('explanation')) : null,
          },
  };
}

/** What orders an unreadable period in its list: its first day as stored, when it looks like one. */
const storedDay = (v: unknown): IsoDate | null =>
  typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.slice(0, 10)) ? v.slice(0, 10) : null;

/** An interval as the daily series reads it: split parts and gaps are estimates; an undecided drop is marked. */
function parseInterval(row: Record<string, unknown>): IntervalFigure {
  const i = rowReader(TABLES.intervals, row);
  return {
    fromDate: i.date('from_date'),
    toDate: i.date('to_date'),
    bytes: i.big('bytes'),
    estimated: i.bool('estimated'),
    undecided: row.kind === 'drop',
  };
}

/** `setAside`: told of each row a list could not read (kept in its place as unreadable). */
export function createPeriodReadStore(knex: Knex, opts: { setAside?: SetAside } = {}): PeriodReadStore {
  return { ...serviceReads(knex, opts.setAside), ...periodReads(knex, opts.setAside) };
}

/** An anomaly as a period's note. */
function parseNote(a: Record<string, unknown>): PeriodNote {
  const n = rowReader(TABLES.anomalies, a);
  return {
    kind: n.str('kind'),
    status: n.str('status'),
    decision: n.strOrNull('decision'),
    seenOn: n.date('seen_on'),
    details: n.json('details') as Record<string, string | number>,
  };
}

/** The service rows, the SolusVM limits of their samples and the masters' rules. */
function serviceReads(
  knex: Knex,
  setAside?: SetAside,
): Pick<PeriodReadStore, 'service' | 'clientServices' | 'limitsOf' | 'masters'> {
  return {
    async service(serviceId, clientId) {
      const q = knex(TABLES.services).where({ service_id: serviceId });
      if (clientId !== undefined) q.andWhere({ client_id: clientId });
      const r = await q.first(SERVICE_COLUMNS);
      return r ? parseServiceRow(r) : null;
    },
    async clientServices(clientId) {
      const rows = await knex(TABLES.services)
        .where({ client_id: clientId })
        .orderBy('service_id')
        .limit(500)
        .select(SERVICE_COLUMNS);
      // each on its own: one that cannot be read must not blank the client's page for the others
      return readEach(rows, parseServiceRow, TABLES.services, { key: 'service_id', setAside });
    },
    async limitsOf(sampleIds) {
      const out = new Map<number, bigint | null>();
      if (sampleIds.length === 0) return out;
      for (const s of await knex(TABLES.samples).whereIn('id', sampleIds).select('id', 'limit_bytes'))
        out.set(
          intIn(s.id, `${TABLES.samples}.id`),
          bigOrNullIn(s.limit_bytes, `${TABLES.samples}.limit_bytes`),
        );
      return out;
    },
    async masters() {
      const rows = await knex(TABLES.masters).select('id', 'reset_policy', 'time_zone');
      return new Map(
        rows.map((row) => {
          const m = rowReader(TABLES.masters, row);
          return [m.num('id'), { policy: row.reset_policy, zone: m.str('time_zone') }];
        }),
      );
    },
  };
}

/** A service's periods with their charge, a period's intervals and its anomalies as notes. */
function periodReads(
  knex: Knex,
  setAside?: SetAside,
): Pick<PeriodReadStore, 'periods' | 'period' | 'intervals' | 'notesOf'> {
  // a period with its own rating (seq 0; corrections are read with the lines); its bytes over and
  // included as last rated: a correction (a later seq) carries the period's figures re-measured
  const latest = knex.raw(
    `(select max(x.seq) from ${TABLES.charges} x where x.period_id = p.id and x.status <> 'void')`,
  );
  const periodsQuery = () =>
    knex(`${TABLES.periods} as p`)
      .leftJoin(`${TABLES.charges} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
      .leftJoin(`${TABLES.charges} as cl`, (j) => j.on('cl.period_id', 'p.id').andOn('cl.seq', latest))
      .select(
        'p.id',
        'p.service_id',
        'p.start_date',
        'p.end_date',
        'p.status',
        'p.used_bytes',
        'p.closed_by',
        'p.anomaly',
        'c.id as c_id',
        'c.status as c_status',
        'c.currency as c_currency',
        knex.raw('coalesce(cl.allowance_bytes, c.allowance_bytes) as c_allowance_bytes'),
        knex.raw('coalesce(cl.over_bytes, c.over_bytes) as c_over_bytes'),
        'c.amount_minor as c_amount_minor',
        'c.explanation as c_explanation',
      );
  return {
    async periods(serviceId, before, limit) {
      const q = periodsQuery().where('p.service_id', serviceId).orderBy('p.start_date', 'desc').limit(limit);
      if (before) q.andWhere('p.start_date', '<', before);
      const rows = (await q) as Array<Record<string, unknown>>;
      // each on its own: one period (or its charge) that cannot be read must not fail the service's
      // page; it has no figure, so it is counted in no sum (said apart on the pages)
      return readEach(rows, parsePeriodRow, TABLES.periods, { setAside }).map((p, i) =>
        isUnreadable(p) ? { ...p, at: storedDay(rows[i]!.start_date) } : p,
      );
    },
    async period(serviceId, periodId) {
      const p = await periodsQuery().where({ 'p.id': periodId, 'p.service_id': serviceId }).first();
      return p ? parsePeriodRow(p) : null;
    },
    async intervals(periodId) {
      const rows = await knex(TABLES.intervals)
        .where({ period_id: periodId })
        .orderBy(['from_date', 'to_date', 'to_sample_id'])
        .select('id', 'from_date', 'to_date', 'bytes', 'estimated', 'kind');
      // each on its own: the chart shows the days that read and says some cannot be shown; what
      // sums the days (the CSV) refuses the period instead of a silently smaller total
      const out: PeriodIntervals = { figures: [], unreadable: [] };
      for (const i of readEach(rows, parseInterval, TABLES.intervals, { setAside }))
        if (isUnreadable(i)) out.unreadable.push(i);
        else out.figures.push(i);
      return out;
    },
    async notesOf(periodIds) {
      const out = new Map<number, Array<Listed<PeriodNote>>>();
      if (periodIds.length === 0) return out;
      const rows = await knex(TABLES.anomalies)
        .whereIn('period_id', periodIds)
        .orderBy('id')
        .select('id', 'period_id', 'kind', 'status', 'decision', 'seen_on', 'details');
      // each note read on its own: one that cannot be read is named in its place, the others shown
      const notes = readEach(rows, parseNote, TABLES.anomalies, { setAside });
      rows.forEach((a, i) => {
        const periodId = intIn(a.period_id, `${TABLES.anomalies}.period_id`);
        out.set(periodId, [...(out.get(periodId) ?? []), notes[i]!]);
      });
      return out;
    },
  };
}
