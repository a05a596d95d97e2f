import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { storedWord } from '../domain/stored-value.js';
import {
  bigIn,
  instantIn,
  instantOrNullIn,
  intIn,
  intOrNullIn,
  readEach,
  readOwned,
  sqlBig,
  sqlInstant,
  textIn,
  textOrNullIn,
  type Listed,
  type ReadOf,
  type SetAside,
} from './rows.js';
import { TABLES } from './tables.js';

/**
 * Client-chosen caps as stored (module/services/caps.ts): one row per cap set, `active` until it
 * is lifted or replaced. A cap on a pooled service covers its pool: the pool's members now are
 * read here too (mod_overusage_pool_members, the spans still open). Rows are parsed here, each
 * column checked.
 */
type Db = Knex | Knex.Transaction;

const CAPS = TABLES.caps;
const col = (name: string) => `${CAPS}.${name}`;

export interface StoredCap {
  id: number;
  clientId: number;
  serviceId: number;
  kind: 'money' | 'bytes';
  /** minor units of `currency`, or bytes */
  amount: bigint;
  currency: string | null;
  action: 'throttle' | 'suspend';
  throttleMbps: number | null;
  status: 'active' | 'lifted';
  setAt: DateTime;
  liftedAt: DateTime | null;
}

export type NewCap = Omit<StoredCap, 'id' | 'status' | 'setAt' | 'liftedAt'>;

export function parseStoredCap(r: Record<string, unknown>): StoredCap {
  return {
    id: intIn(r.id, col('id')),
    clientId: intIn(r.client_id, col('client_id')),
    serviceId: intIn(r.service_id, col('service_id')),
    kind: storedWord(['money', 'bytes'], r.kind, col('kind')),
    amount: bigIn(r.amount, col('amount')),
    currency: textOrNullIn(r.currency, col('currency')),
    action: storedWord(['throttle', 'suspend'], r.action, col('action')),
    throttleMbps: intOrNullIn(r.throttle_mbps, col('throttle_mbps')),
    status: storedWord(['active', 'lifted'], r.status, col('status')),
    setAt: instantIn(r.set_at, col('set_at')),
    liftedAt: instantOrNullIn(r.lifted_at, col('lifted_at')),
  };
}

export interface CapStore {
  /**
   * The services a cap of each of these covers: the members its pool has now (itself included),
   * or only itself; each list sorted by id.
   */
  mates(db: Db, serviceIds: readonly number[]): Promise<Map<number, number[]>>;
  /** the service's client, product and currency (null: not linked) */
  service(serviceId: number): Promise<{ clientId: number; productId: number; currency: string } | null>;
  /**
   * the active caps of these services, oldest first; `lock`: held until the transaction ends. With
   * `setAside`, a row that cannot be read is told there and left out, and its service is in
   * `unreadable` with it (what that service's cap is, is not known); without, it is refused.
   */
  activeOf(
    db: Db,
    serviceIds: readonly number[],
    opts?: { lock?: boolean; setAside?: SetAside },
  ): Promise<ReadOf<StoredCap>>;
  /** lifts these caps (by id) now; how many moved */
  lift(db: Db, ids: readonly number[], at: DateTime): Promise<number>;
  /** lifts the active caps of these services now; how many moved */
  liftActiveOf(db: Db, serviceIds: readonly number[], at: DateTime): Promise<number>;
  /** sets a cap, active from `at`: the row as stored */
  insert(db: Db, cap: NewCap, at: DateTime): Promise<StoredCap>;
  /**
   * every cap of these services, set and lifted, oldest first. With `setAside`, as activeOf: a row
   * that cannot be read is told there and left out, its service in `unreadable` with it.
   */
  history(serviceIds: readonly number[], setAside?: SetAside): Promise<ReadOf<StoredCap>>;
  /** the newest caps of every client, newest first; one that cannot be read in its place (told to `setAside`) */
  newest(limit: number, setAside?: SetAside): Promise<Array<Listed<StoredCap>>>;
}

const span = (m: Record<string, unknown>) => ({
  serviceId: intIn(m.service_id, `${TABLES.poolMembers}.service_id`),
  clientId: intIn(m.client_id, `${TABLES.poolMembers}.client_id`),
  pool: textIn(m.pool_key, `${TABLES.poolMembers}.pool_key`),
});

/** Each service with the members its pool has now (the spans still open), itself included, sorted. */
async function mates(db: Db, serviceIds: readonly number[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>(serviceIds.map((id) => [id, [id]]));
  if (!serviceIds.length) return out;
  const open = () =>
    db(TABLES.poolMembers).whereNull('left_at').select('service_id', 'client_id', 'pool_key');
  const mine = (await open().whereIn('service_id', [...serviceIds])).map(span);
  if (!mine.length) return out;
  const all = (await open().whereIn('client_id', [...new Set(mine.map((m) => m.clientId))])).map(span);
  for (const m of mine) {
    const same = all.filter((x) => x.clientId === m.clientId && x.pool === m.pool).map((x) => x.serviceId);
    out.set(
      m.serviceId,
      [...new Set([m.serviceId, ...same])].sort((a, b) => a - b),
    );
  }
  return out;
}

/** Caps found by their services: with `setAside`, one that cannot be read is left out, its service in `unreadable`. */
const capsRead = (rows: Array<Record<string, unknown>>, setAside?: SetAside): ReadOf<StoredCap> =>
  readOwned(rows, parseStoredCap, CAPS, { owner: 'service_id', setAside });

export function createCapStore(knex: Knex): CapStore {
  return {
    mates,
    async service(serviceId) {
      const s = await knex(TABLES.services)
        .where({ service_id: serviceId })
        .first('client_id', 'product_id', 'currency');
      if (!s) return null;
      const c = (name: string) => `${TABLES.services}.${name}`;
      return {
        clientId: intIn(s.client_id, c('client_id')),
        productId: intIn(s.product_id, c('product_id')),
        currency: textIn(s.currency, c('currency')),
      };
    },
    async activeOf(db, serviceIds, opts = {}) {
      if (!serviceIds.length) return [];
      const q = db(CAPS)
        .whereIn('service_id', [...serviceIds])
        .andWhere({ status: 'active' })
        .orderBy('id');
      return capsRead(await (opts.lock ? q.forUpdate() : q), opts.setAside);
    },
    async lift(db, ids, at) {
      if (!ids.length) return 0;
      return db(CAPS)
        .whereIn('id', [...ids])
        .update({ status: 'lifted', lifted_at: sqlInstant(at) });
    },
    async liftActiveOf(db, serviceIds, at) {
      if (!serviceIds.length) return 0;
      return db(CAPS)
        .whereIn('service_id', [...serviceIds])
        .andWhere({ status: 'active' })
        .update({ status: 'lifted', lifted_at: sqlInstant(at) });
    },
    async insert(db, cap, at) {
      await db(CAPS).insert({
        client_id: cap.clientId,
        service_id: cap.serviceId,
        kind: cap.kind,
        amount: sqlBig(cap.amount),
        currency: cap.currency,
        action: cap.action,
        throttle_mbps: cap.throttleMbps,
        status: 'active',
        set_at: sqlInstant(at),
      });
      // the newest active cap of the service: the one just written (the caller lifted the others)
      const created = await db(CAPS)
        .where({ service_id: cap.serviceId, status: 'active' })
        .orderBy('id', 'desc')
        .first();
      return parseStoredCap(created);
    },
    async history(serviceIds, setAside) {
      if (!serviceIds.length) return [];
      return capsRead(
        await knex(CAPS)
          .whereIn('service_id', [...serviceIds])
          .orderBy('id'),
        setAside,
      );
    },
    async newest(limit, setAside) {
      return readEach(await knex(CAPS).orderBy('id', 'desc').limit(limit), parseStoredCap, CAPS, {
        setAside,
      });
    },
  };
}
