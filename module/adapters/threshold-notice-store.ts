import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { startsWithPattern } from '../domain/search-text.js';
import { readOwned, rowReader, sqlInstant, type ReadOf, type SetAside } from './rows.js';
import { chunks, retryTransaction } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * The threshold notices as stored (mod_overusage_notices, kind 'threshold'; module/services/
 * threshold-notices.ts decides and sends them). A notice is keyed per service by `period:<id>:<pct>`
 * or `pool:<name>:<month>:<pct>`, written once however often the watch runs, and claimed by one
 * sender at a time (pending|failed → sending). Its facts and delivery record are JSON the service
 * owns; the store parses the row around them, a bad value named by its column.
 */

type Db = Knex | Knex.Transaction;

export const NOTICE_STATUSES = ['pending', 'sending', 'sent', 'failed', 'expired', 'superseded'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

const KIND = 'threshold';
/** still owed: decided, not yet sent */
const OWED: NoticeStatus[] = ['pending', 'failed'];
/** neither expired nor superseded */
const LIVE: NoticeStatus[] = ['pending', 'sending', 'sent', 'failed'];

export interface NoticeRecord {
  id: number;
  serviceId: number;
  clientId: number;
  key: string;
  status: NoticeStatus;
  /** the facts and the delivery record (JSON as the service wrote it) */
  details: unknown;
  createdAt: DateTime;
}

export interface NewNotice {
  serviceId: number;
  clientId: number;
  key: string;
  details: unknown;
}

export interface ThresholdNoticeStore {
  get(id: number): Promise<NoticeRecord | null>;
  /**
   * every threshold notice of these services. Here and in the lists below, with the store's
   * `setAside` a notice that cannot be read is told there and left out, its service in
   * `unreadable`; without, it is refused naming the column.
   */
  ofServices(serviceIds: readonly number[]): Promise<ReadOf<NoticeRecord>>;
  /** a client's notices whose key starts with `keyPrefix`; `live`: neither expired nor superseded */
  ofClient(clientId: number, keyPrefix: string, opts?: { live?: boolean }): Promise<ReadOf<NoticeRecord>>;
  /** a service's live notices whose key starts with `keyPrefix` */
  liveOfService(serviceId: number, keyPrefix: string): Promise<ReadOf<NoticeRecord>>;
  /** writes a pending notice unless the service has one under the key, and gives back the one it has */
  insertPending(n: NewNotice, now: DateTime): Promise<{ id: number; status: NoticeStatus }>;
  /** notices pending or failed */
  owed(): Promise<ReadOf<NoticeRecord>>;
  /** the services with a notice pending or failed */
  owedServiceIds(): Promise<number[]>;
  /** pending|failed → sending; false when another sender has it, or it is no longer owed */
  claim(id: number): Promise<boolean>;
  /** a claimed notice sent: its delivery record written with it, in the caller's transaction */
  markSent(db: Db, id: number, details: unknown, at: DateTime): Promise<void>;
  /** a claimed notice that failed, with its delivery record (when to retry) */
  markFailed(id: number, details: unknown): Promise<void>;
  /** a notice still owed that no longer should be sent (its period ended, a higher one came) */
  retire(id: number, as: 'expired' | 'superseded'): Promise<void>;
  /** sending → failed: what a sender that stopped mid-way left (only under the watch's lease) */
  releaseSending(): Promise<void>;
  /** work in one transaction (retried on a deadlock when not nested) */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
}

const T = TABLES.notices;

export function noticeFromRow(r: Record<string, unknown>): NoticeRecord {
  const n = rowReader(T, r);
  return {
    id: n.num('id'),
    serviceId: n.num('service_id'),
    clientId: n.num('client_id'),
    key: n.str('notice_key'),
    status: n.word(NOTICE_STATUSES, 'status'),
    details: n.jsonOrNull('details'),
    createdAt: n.instant('created_at'),
  };
}

// A key's prefix holds a pool's name, which may hold % or _: taken literally (SQLite has no
// escape character unless one is named, and MySQL's default is not SQLite's).
const KEY_STARTS = "notice_key LIKE ? ESCAPE '!'";

/** `setAside`: told of each notice a list could not read (left out, its service named). */
export function createThresholdNoticeStore(
  knex: Knex,
  opts: { setAside?: SetAside } = {},
): ThresholdNoticeStore {
  const notices = (db: Db = knex) => db(T).where({ kind: KIND });
  const read = async (q: Knex.QueryBuilder): Promise<ReadOf<NoticeRecord>> =>
    readOwned(await q.select('*'), noticeFromRow, T, { owner: 'service_id', setAside: opts.setAside });
  return {
    async get(id) {
      const r = await notices().where({ id }).first();
      return r ? noticeFromRow(r) : null;
    },
    async ofServices(serviceIds) {
      const out: ReadOf<NoticeRecord> = [];
      for (const ids of chunks(serviceIds, 500)) {
        const part = await read(notices().whereIn('service_id', ids));
        out.push(...part);
        for (const [id, u] of part.unreadable ?? []) (out.unreadable ??= new Map()).set(id, u);
      }
      return out;
    },
    ofClient(clientId, keyPrefix, opts = {}) {
      const q = notices()
        .where({ client_id: clientId })
        .andWhereRaw(KEY_STARTS, [startsWithPattern(keyPrefix)]);
      if (opts.live) q.whereIn('status', LIVE);
      return read(q.orderBy('id'));
    },
    liveOfService(serviceId, keyPrefix) {
      const q = notices()
        .where({ service_id: serviceId })
        .andWhereRaw(KEY_STARTS, [startsWithPattern(keyPrefix)]);
      return read(q.whereIn('status', LIVE).orderBy('id'));
    },
    async insertPending(n, now) {
      const where = { service_id: n.serviceId, kind: KIND, notice_key: n.key };
      await knex(T)
        .insert({
          ...where,
          client_id: n.clientId,
          status: 'pending',
          details: JSON.stringify(n.details),
          created_at: sqlInstant(now),
        })
        .onConflict(['service_id', 'kind', 'notice_key'])
        .ignore();
      const r = rowReader(T, await knex(T).where(where).first('id', 'status'));
      return { id: r.num('id'), status: r.word(NOTICE_STATUSES, 'status') };
    },
    owed: () => read(notices().whereIn('status', OWED).orderBy('id')),
    async owedServiceIds() {
      const rows = await notices().whereIn('status', OWED).distinct('service_id').orderBy('service_id');
      return rows.map((r) => rowReader(T, r).num('service_id'));
    },
    async claim(id) {
      return (await notices().where({ id }).whereIn('status', OWED).update({ status: 'sending' })) === 1;
    },
    async markSent(db, id, details, at) {
      await notices(db)
        .where({ id })
        .update({ status: 'sent', sent_at: sqlInstant(at), details: JSON.stringify(details) });
    },
    async markFailed(id, details) {
      await notices()
        .where({ id })
        .update({ status: 'failed', details: JSON.stringify(details) });
    },
    async retire(id, as) {
      await notices().where({ id }).whereIn('status', OWED).update({ status: as });
    },
    async releaseSending() {
      await notices().where({ status: 'sending' }).update({ status: 'failed' });
    },
    transaction: (work) => retryTransaction(knex, work),
  };
}
