import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import {
  bigIn,
  dateIn,
  dateOrNullIn,
  instantIn,
  instantOrNullIn,
  intIn,
  readEach,
  readOwned,
  sqlBig,
  sqlInstant,
  storedValueError,
  textIn,
  toBool,
  type Listed,
  type ReadOf,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { chargeRecord, type NewCharge } from './rating-store.js';
import { TABLES } from './tables.js';

/**
 * Transfer pools as stored (module/services/pools.ts): each member's spans in its client's pool
 * (joined, left), the rated pool months with every member's arithmetic (JSON), and a month's
 * charges — on the anchor, or one part per member — in mod_overusage_charges under period_id =
 * −(pool month id). With the services the member sync reads a page of, and the members' daily
 * traffic. Rows are parsed here, each column checked.
 */
type Db = Knex | Knex.Transaction;

const M = TABLES.poolMembers;
const PP = TABLES.poolPeriods;

/** One span of a service in its client's pool. */
export interface PoolSpanRow {
  id: number;
  clientId: number;
  poolKey: string;
  serviceId: number;
  /** the plan it was on during the span */
  productId: number;
  joinedAt: DateTime;
  /** null: a member now */
  leftAt: DateTime | null;
  /** when the module recorded it (the first months a pool is rated from) */
  createdAt: DateTime;
}

/** A service as the member sync reads it. */
export interface SyncedService {
  serviceId: number;
  clientId: number;
  productId: number;
  active: boolean;
  regdate: IsoDate | null;
}

export interface NewPoolMonth {
  clientId: number;
  poolKey: string;
  start: IsoDate;
  end: IsoDate;
  currency: string;
  periodHours: number;
  anchorServiceId: number;
  allowanceBytes: bigint;
  usedBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  /** every member's hours, share, use and part (JSON, bigints as strings) */
  details: string;
}

/** A member's part of a rated pool month, as its details keep it. */
export interface PoolMonthMember {
  serviceId: number;
  hours: number;
  shareBytes: bigint;
  usedBytes: bigint;
  ownOverBytes: bigint;
  billedOverBytes: bigint;
  amountMinor: bigint;
  days: IsoDate[];
}

export interface StoredPoolMonth {
  id: number;
  clientId: number;
  pool: string;
  start: IsoDate;
  end: IsoDate;
  currency: string;
  periodHours: number;
  anchorServiceId: number;
  allowanceBytes: bigint;
  usedBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  /** the month's charge (the last by id when it bills a part per member) */
  chargeId: number | null;
  members: PoolMonthMember[];
}

/** A charge of a pool month: a rating's columns with its seq (0: on the anchor; 1 …: a member's part). */
export type NewPoolCharge = Omit<NewCharge, 'periodId'> & { seq: number };

type ServicePage = { after: number; limit: number } | { only: readonly number[] };

export interface PoolStore {
  /**
   * services after `after` (by id), at most `limit`; or, with `only`, those services. With
   * `setAside`, a row that cannot be read is told there and stands in its place as an
   * UnreadableRow (its id the service's); without, it is refused naming the column.
   */
  services(page: ServicePage): Promise<SyncedService[]>;
  services(page: ServicePage, setAside: SetAside): Promise<Array<Listed<SyncedService>>>;
  /**
   * the open span of each of these services. With `setAside`, a span that cannot be read is told
   * there and its service named in `unreadable` (whether and where it is pooled is not known).
   */
  openSpansOf(
    serviceIds: readonly number[],
    setAside?: SetAside,
  ): Promise<Map<number, PoolSpanRow> & { unreadable?: Set<number> }>;
  /** which of these services ever had a span */
  everMembers(serviceIds: readonly number[]): Promise<Set<number>>;
  closeSpan(db: Db, spanId: number, at: DateTime): Promise<void>;
  openSpan(
    db: Db,
    s: Pick<PoolSpanRow, 'clientId' | 'poolKey' | 'serviceId' | 'productId' | 'joinedAt'>,
    at: DateTime,
  ): Promise<void>;
  /**
   * every span, by id; with `serviceIds`, only the spans of the clients that ever pooled one of
   * them. With `setAside` (here and in spansSince), a span that cannot be read is told there and
   * left out, its client in `unreadable`; without, it is refused naming the column.
   */
  spans(serviceIds?: readonly number[], setAside?: SetAside): Promise<ReadOf<PoolSpanRow>>;
  /** the spans open at or after `from` (every client's, or one client's), by id */
  spansSince(from: DateTime, clientId?: number, setAside?: SetAside): Promise<ReadOf<PoolSpanRow>>;
  /**
   * the months rated already, as `client|pool|start` (of these clients only, when given). With
   * `setAside`, a month's row that cannot be read is told there and its client is in `unreadable`
   * (which of their months are rated is not known); without, it refuses the read
   */
  ratedMonths(
    clientIds?: readonly number[],
    setAside?: SetAside,
  ): Promise<Set<string> & { unreadable?: Map<number, UnreadableRow> }>;
  /** the currency of each of these services */
  currencies(serviceIds: readonly number[]): Promise<Map<number, string>>;
  /** the daily traffic of these services on the days from `start` to `end` (the day an interval ends) */
  traffic(
    serviceIds: readonly number[],
    start: IsoDate,
    end: IsoDate,
  ): Promise<Array<{ serviceId: number; day: IsoDate; bytes: bigint }>>;
  /**
   * a client's rated months, or (client null) every client's newest `limit`: newest first. With the
   * store's setAside, a month that cannot be read is in its place (told there); without, it refuses
   */
  months(clientId: number | null, limit?: number): Promise<Array<Listed<StoredPoolMonth>>>;
  /** the month's row (a concurrent run's, when it was there first): its id */
  recordMonth(db: Db, m: NewPoolMonth, at: DateTime): Promise<number>;
  /** whether the month has its charges already */
  hasCharges(db: Db, monthId: number): Promise<boolean>;
  addCharges(db: Db, monthId: number, charges: readonly NewPoolCharge[]): Promise<void>;
}

const col = (table: string) => (name: string) => `${table}.${name}`;
const m = col(M);
const pp = col(PP);

export function parsePoolSpan(r: Record<string, unknown>): PoolSpanRow {
  return {
    id: intIn(r.id, m('id')),
    clientId: intIn(r.client_id, m('client_id')),
    poolKey: textIn(r.pool_key, m('pool_key')),
    serviceId: intIn(r.service_id, m('service_id')),
    productId: intIn(r.product_id, m('product_id')),
    joinedAt: instantIn(r.joined_at, m('joined_at')),
    leftAt: instantOrNullIn(r.left_at, m('left_at')),
    createdAt: instantIn(r.created_at, m('created_at')),
  };
}

function parseMembers(details: unknown): PoolMonthMember[] {
  const text = textIn(details, pp('details'));
  try {
    const d = JSON.parse(text) as { members: Array<Record<string, unknown>> };
    return d.members.map((x) => ({
      serviceId: Number(x.serviceId),
      hours: Number(x.hours),
      shareBytes: BigInt(String(x.shareBytes)),
      usedBytes: BigInt(String(x.usedBytes)),
      ownOverBytes: BigInt(String(x.ownOverBytes)),
      billedOverBytes: BigInt(String(x.billedOverBytes)),
      amountMinor: BigInt(String(x.amountMinor)),
      days: (x.days as IsoDate[]) ?? [],
    }));
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof TypeError)
      throw storedValueError(pp('details'), text, "a pool month's members");
    throw err;
  }
}

function parsePoolMonth(r: Record<string, unknown>, chargeId: number | null): StoredPoolMonth {
  return {
    id: intIn(r.id, pp('id')),
    clientId: intIn(r.client_id, pp('client_id')),
    pool: textIn(r.pool_key, pp('pool_key')),
    start: dateIn(r.start_date, pp('start_date')),
    end: dateIn(r.end_date, pp('end_date')),
    currency: textIn(r.currency, pp('currency')),
    periodHours: intIn(r.period_hours, pp('period_hours')),
    anchorServiceId: intIn(r.anchor_service_id, pp('anchor_service_id')),
    allowanceBytes: bigIn(r.allowance_bytes, pp('allowance_bytes')),
    usedBytes: bigIn(r.used_bytes, pp('used_bytes')),
    overBytes: bigIn(r.over_bytes, pp('over_bytes')),
    amountMinor: bigIn(r.amount_minor, pp('amount_minor')),
    chargeId,
    members: parseMembers(r.details),
  };
}

const s = col(TABLES.services);
const parseService = (r: Record<string, unknown>): SyncedService => ({
  serviceId: intIn(r.service_id, s('service_id')),
  clientId: intIn(r.client_id, s('client_id')),
  productId: intIn(r.product_id, s('product_id')),
  active: toBool(r.active),
  regdate: dateOrNullIn(r.regdate, s('regdate')),
});

/** The spans and the services the member sync reads, and the spans it opens and closes. */
function memberStore(
  knex: Knex,
): Pick<PoolStore, 'services' | 'openSpansOf' | 'everMembers' | 'closeSpan' | 'openSpan'> {
  async function services(page: ServicePage): Promise<SyncedService[]>;
  async function services(page: ServicePage, setAside: SetAside): Promise<Array<Listed<SyncedService>>>;
  async function services(page: ServicePage, setAside?: SetAside) {
    const cols = ['service_id', 'client_id', 'product_id', 'active', 'regdate'];
    const q = knex(TABLES.services).select(cols);
    const rows = await ('only' in page
      ? q.whereIn('service_id', [...page.only])
      : q.where('service_id', '>', page.after).orderBy('service_id').limit(page.limit));
    if (!setAside) return rows.map(parseService);
    return readEach(rows, parseService, TABLES.services, { key: 'service_id', setAside });
  }
  return {
    services,
    async openSpansOf(serviceIds, setAside) {
      const rows = await knex(M)
        .whereIn('service_id', [...serviceIds])
        .whereNull('left_at')
        .select('*');
      const read = readOwned(rows, parsePoolSpan, M, { owner: 'service_id', setAside });
      const out: Map<number, PoolSpanRow> & { unreadable?: Set<number> } = new Map(
        read.map((r) => [r.serviceId, r]),
      );
      if (read.unreadable) out.unreadable = new Set(read.unreadable.keys());
      return out;
    },
    async everMembers(serviceIds) {
      const rows = await knex(M)
        .whereIn('service_id', [...serviceIds])
        .distinct('service_id');
      return new Set(rows.map((r) => intIn(r.service_id, m('service_id'))));
    },
    async closeSpan(db, spanId, at) {
      await db(M)
        .where({ id: spanId })
        .update({ left_at: sqlInstant(at) });
    },
    async openSpan(db, span, at) {
      await db(M).insert({
        client_id: span.clientId,
        pool_key: span.poolKey,
        service_id: span.serviceId,
        product_id: span.productId,
        joined_at: sqlInstant(span.joinedAt),
        left_at: null,
        created_at: sqlInstant(at),
      });
    },
  };
}

/** What rating a pool month reads: the spans, the months rated already, the members' currencies and traffic. */
function ratingReads(
  knex: Knex,
): Pick<PoolStore, 'spans' | 'spansSince' | 'ratedMonths' | 'currencies' | 'traffic'> {
  return {
    async spans(serviceIds, setAside) {
      const q = knex(M).select('*').orderBy('id');
      if (serviceIds)
        q.whereIn(
          'client_id',
          knex(M)
            .whereIn('service_id', [...serviceIds])
            .distinct('client_id'),
        );
      return readOwned(await q, parsePoolSpan, M, { owner: 'client_id', setAside });
    },
    async spansSince(from, clientId, setAside) {
      const q = knex(M).where((w) => w.whereNull('left_at').orWhere('left_at', '>', sqlInstant(from)));
      if (clientId !== undefined) q.andWhere({ client_id: clientId });
      return readOwned(await q.orderBy('id').select('*'), parsePoolSpan, M, { owner: 'client_id', setAside });
    },
    async ratedMonths(clientIds, setAside) {
      const q = knex(PP).select('id', 'client_id', 'pool_key', 'start_date');
      if (clientIds) q.whereIn('client_id', [...clientIds]);
      const read = readOwned(
        await q,
        (p) =>
          `${intIn(p.client_id, pp('client_id'))}|${textIn(p.pool_key, pp('pool_key'))}|${dateIn(p.start_date, pp('start_date'))}`,
        PP,
        { owner: 'client_id', setAside },
      );
      const out: Set<string> & { unreadable?: Map<number, UnreadableRow> } = new Set(read);
      if (read.unreadable) out.unreadable = read.unreadable;
      return out;
    },
    async currencies(serviceIds) {
      const rows = await knex(TABLES.services)
        .whereIn('service_id', [...serviceIds])
        .select('service_id', 'currency');
      return new Map(
        rows.map((r) => [intIn(r.service_id, s('service_id')), textIn(r.currency, s('currency'))]),
      );
    },
    async traffic(serviceIds, start, end) {
      const i = col(TABLES.intervals);
      const rows = await knex(TABLES.intervals)
        .whereIn('service_id', [...serviceIds])
        .andWhere('to_date', '>=', start)
        .andWhere('to_date', '<=', end)
        .select('service_id', 'to_date', 'bytes');
      return rows.map((r) => ({
        serviceId: intIn(r.service_id, i('service_id')),
        day: dateIn(r.to_date, i('to_date')),
        bytes: bigIn(r.bytes, i('bytes')),
      }));
    },
  };
}

/** The rated months, and a month's row and charges written. */
function monthStore(
  knex: Knex,
  setAside?: SetAside,
): Pick<PoolStore, 'months' | 'recordMonth' | 'hasCharges' | 'addCharges'> {
  return {
    async months(clientId, limit = 50) {
      const q = knex(PP).orderBy([
        { column: 'start_date', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
      const rows = await (clientId === null ? q.limit(limit) : q.where({ client_id: clientId }));
      const ids = rows.map((r) => -intIn(r.id, pp('id')));
      const charges = ids.length
        ? await knex(TABLES.charges).whereIn('period_id', ids).orderBy('id').select('id', 'period_id')
        : [];
      const c = col(TABLES.charges);
      const chargeOf = new Map(
        charges.map((x) => [-intIn(x.period_id, c('period_id')), intIn(x.id, c('id'))]),
      );
      const parse = (r: Record<string, unknown>) =>
        parsePoolMonth(r, chargeOf.get(intIn(r.id, pp('id'))) ?? null);
      // each on its own: one month that cannot be read must not hide the others (each is its own
      // bill; no figure here sums months)
      return setAside ? readEach(rows, parse, PP, { setAside }) : rows.map(parse);
    },
    async recordMonth(db, month, at) {
      const row = {
        client_id: month.clientId,
        pool_key: month.poolKey,
        start_date: month.start,
        end_date: month.end,
        currency: month.currency,
        period_hours: month.periodHours,
        anchor_service_id: month.anchorServiceId,
        allowance_bytes: sqlBig(month.allowanceBytes),
        used_bytes: sqlBig(month.usedBytes),
        over_bytes: sqlBig(month.overBytes),
        amount_minor: sqlBig(month.amountMinor),
        details: month.details,
        rated_at: sqlInstant(at),
      };
      await db(PP).insert(row).onConflict(['client_id', 'pool_key', 'start_date']).ignore();
      const stored = await db(PP)
        .where({ client_id: month.clientId, pool_key: month.poolKey, start_date: month.start })
        .first('id');
      return intIn(stored?.id, pp('id'));
    },
    async hasCharges(db, monthId) {
      return (await db(TABLES.charges).where({ period_id: -monthId }).first('id')) !== undefined;
    },
    async addCharges(db, monthId, charges) {
      for (const { seq, ...c } of charges)
        await db(TABLES.charges).insert({ ...chargeRecord({ ...c, periodId: -monthId }), seq, kind: 'pool' });
    },
  };
}

/** `setAside`: told of each rated month the admin's lists could not read (listed in its place). */
export function createPoolStore(knex: Knex, opts: { setAside?: SetAside } = {}): PoolStore {
  return { ...memberStore(knex), ...ratingReads(knex), ...monthStore(knex, opts.setAside) };
}
