import crypto from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { rowReader, sqlInstant } from './rows.js';
import { sendDirect, withTxRetry } from './sql-helpers.js';

/**
 * Named leases in mod_overusage_locks. A lease expires unless renewed, so a crashed run never
 * blocks the next one for longer than its time-to-live; and since each lease records the host and
 * process holding it, a run on the same host takes over at once from a process that is gone.
 * Works the same on SQLite and MySQL: the primary key decides who inserts first, and only an
 * expired lease (or one's own, or a dead process's) is taken over.
 *
 * Leases run on real time, never on the billing clock: a clock that stands still (the demo, a
 * replay) must not keep a crashed process's lease alive for ever.
 */
export interface LeaseHolder {
  owner: string;
  host: string | null;
  pid: number | null;
  expiresAt: DateTime;
}

export interface LeaseResult {
  acquired: boolean;
  heldBy: string | null;
  /** who holds it when it was not acquired */
  holder: LeaseHolder | null;
  /** taken over from a process on this host that no longer runs */
  tookOverFrom: string | null;
}

export interface LockStore {
  acquire(name: string, owner: string, ttlMs: number): Promise<LeaseResult>;
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
  /** lets the lease go in the caller's transaction: gone when it commits, still held if it rolls back */
  releaseIn(trx: Knex.Transaction, name: string, owner: string): Promise<void>;
  /** how many unexpired leases an owner holds (a sign of life of a run on another host) */
  countHeldBy(owner: string): Promise<number>;
}

const TABLE = 'mod_overusage_locks';

/** A holder name that is unique per call: host, process and a random part. */
export const leaseOwner = (): string =>
  `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;

/** The host and process an owner name (leaseOwner's form) stands for. */
export function ownerProcess(owner: string): { host: string; pid: number } | null {
  const m = /^(.+):(\d+):[0-9a-f]+$/.exec(owner);
  return m ? { host: m[1]!, pid: Number(m[2]) } : null;
}

/** Whether a process of this host is still there (EPERM: it is, but belongs to another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder that is certainly gone: on this host, and its process no longer runs. */
export function holderIsGone(h: { host: string | null; pid: number | null }): boolean {
  return h.host === os.hostname() && h.pid !== null && h.pid !== process.pid && !processAlive(h.pid);
}

export function describeHolder(h: LeaseHolder | null, now: DateTime = DateTime.utc()): string {
  if (!h) return 'nobody';
  const where = h.host
    ? `process ${h.pid ?? '?'} on ${h.host === os.hostname() ? 'this host' : `host ${h.host}`}`
    : h.owner;
  const left = Math.max(0, Math.ceil(h.expiresAt.diff(now).as('seconds')));
  return `${where}, lease runs ${left} s more unless renewed`;
}

/**
 * Leases measure real time between processes, not the panel's business time: a demo's or a test's
 * clock that stands still would keep a crashed holder's lease forever, so the wall clock is the
 * default and the composition root does not pass the module's clock (tests of expiry pass `now`).
 */
export function createLockStore(knex: Knex, opts: { now?: () => DateTime } = {}): LockStore {
  const now = opts.now ?? (() => DateTime.utc());

  async function read(name: string): Promise<LeaseHolder | null> {
    const row = await knex(TABLE).where({ name }).first('owner', 'host', 'pid', 'expires_at');
    if (!row) return null;
    const l = rowReader(TABLE, row);
    return {
      owner: l.str('owner'),
      host: l.strOrNull('host'),
      pid: l.numOrNull('pid'),
      expiresAt: l.instant('expires_at'),
    };
  }

  // On a Galera cluster two nodes writing one lease row at once both run; the later to certify
  // fails at commit with a deadlock error (1213), even for one autocommit statement once the
  // server's own retry (wsrep_retry_autocommit, 1 by default) is spent. Every step here can be
  // run again: the insert names its owner, the update and delete name the owner they expect.
  return {
    acquire: (name, owner, ttlMs) => withTxRetry(() => acquire(name, owner, ttlMs), 8),
    renew: (name, owner, ttlMs) => withTxRetry(() => renew(name, owner, ttlMs), 8),
    release: (name, owner) => withTxRetry(() => release(name, owner), 8),
    // the caller's transaction is retried as a whole, by the caller
    releaseIn: async (trx, name, owner) => {
      await trx(TABLE).where({ name, owner }).delete();
    },
    countHeldBy: (owner) => withTxRetry(() => countHeldBy(owner), 8),
  };

  async function acquire(name: string, owner: string, ttlMs: number): Promise<LeaseResult> {
    const t = now();
    const expires = sqlInstant(t.plus({ milliseconds: ttlMs }));
    const at = sqlInstant(t);
    const me = ownerProcess(owner);
    const host = me?.host ?? null;
    const pid = me?.pid ?? null;
    // one statement, one commit: the hot path of every InvoiceCreation delivery
    const acquired = await upsertLease(knex, [name, owner, host, pid, at, expires, at]);
    if (acquired) return { acquired: true, heldBy: owner, holder: null, tookOverFrom: null };
    let holder = await read(name);
    if (holder?.owner === owner) return { acquired: true, heldBy: owner, holder: null, tookOverFrom: null };
    // A process of this host that is gone holds it: take it over now, not when it expires. The
    // update names the dead owner, so of two runs taking over at once only one gets it.
    if (holder && holderIsGone(holder)) {
      const n = await knex(TABLE)
        .where({ name, owner: holder.owner })
        .update({ owner, host, pid, acquired_at: at, expires_at: expires });
      if (n === 1) return { acquired: true, heldBy: owner, holder: null, tookOverFrom: holder.owner };
      holder = await read(name);
      if (holder?.owner === owner) return { acquired: true, heldBy: owner, holder: null, tookOverFrom: null };
    }
    return { acquired: false, heldBy: holder?.owner ?? null, holder, tookOverFrom: null };
  }
  async function renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const n = await knex(TABLE)
      .where({ name, owner })
      .update({ expires_at: sqlInstant(now().plus({ milliseconds: ttlMs })) });
    return n === 1;
  }
  async function release(name: string, owner: string): Promise<void> {
    await knex(TABLE).where({ name, owner }).delete();
  }
  async function countHeldBy(owner: string): Promise<number> {
    const row = await knex(TABLE)
      .where({ owner })
      .andWhere('expires_at', '>=', sqlInstant(now()))
      .count({ n: '*' })
      .first();
    return Number(row?.n ?? 0);
  }
}

const UPSERT_LEASE = `INSERT INTO ${TABLE} (name, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         owner = IF(expires_at < ? OR owner = VALUES(owner), VALUES(owner), owner),
         host = IF(owner = VALUES(owner), VALUES(host), host),
         pid = IF(owner = VALUES(owner), VALUES(pid), pid),
         acquired_at = IF(owner = VALUES(owner), VALUES(acquired_at), acquired_at),
         expires_at = IF(owner = VALUES(owner), VALUES(expires_at), IF(LAST_INSERT_ID(1), expires_at, expires_at))`;

/**
 * Inserts the lease, or takes it over when it has expired (or is ours), and says whether we hold it
 * now: the holder is read only when we do not. `values`: name, owner, host, pid, acquired_at,
 * expires_at, and the instant an expired lease is older than.
 */
async function upsertLease(knex: Knex, values: Array<string | number | null>): Promise<boolean> {
  if (knex.client.config.client === 'mysql2') {
    // Inserted or taken over, the row is ours. Left to its holder, the row is set to what it was,
    // which the affected rows cannot tell from an insert (mysql2 counts found rows): that branch
    // alone calls LAST_INSERT_ID(1), which the answer carries as its insert id (0 otherwise: the
    // table has no AUTO_INCREMENT).
    const res = await sendDirect<{ insertId?: number }>(knex, UPSERT_LEASE, values);
    if (typeof res?.insertId !== 'number')
      throw new TypeError('the database did not answer the lease insert');
    return res.insertId !== 1;
  }
  // SQLite counts a row inserted or updated, not one the WHERE left alone
  const res = (await knex.raw(
    `INSERT INTO ${TABLE} (name, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
     WHERE ${TABLE}.expires_at < ? OR ${TABLE}.owner = excluded.owner`,
    values,
  )) as unknown as { changes?: number };
  if (typeof res?.changes !== 'number') throw new TypeError('the database did not answer the lease insert');
  return res.changes === 1;
}

export interface LeaseOptions {
  ttlMs: number;
  /** how long to wait for another holder to finish; 0 gives up at once */
  waitMs: number;
  /** the error when the lease stays taken */
  busy: (heldBy: string | null, holder: LeaseHolder | null) => Error;
  /** release without making the caller wait; failures go here (the lease then expires on its own) */
  releaseInBackground?: (err: Error) => void;
}

/** The lease `withLease` holds, as its work sees it. */
export interface HeldLease {
  /** the lease was not free at the first try: the work began after another holder's */
  readonly waited: boolean;
  /**
   * lets the lease go in the work's last transaction (one commit fewer than a release of its own);
   * if that transaction does not commit, the lease is let go after the work as usual
   */
  releaseIn(trx: Knex.Transaction): Promise<void>;
}

/**
 * Runs `work` while holding the named lease, waiting (with jitter) for another holder up to
 * `waitMs`. The lease is renewed while the work runs, so a slow panel never lets a second holder in.
 */
export async function withLease<T>(
  locks: LockStore,
  name: string,
  opts: LeaseOptions,
  work: (lease: HeldLease) => Promise<T>,
): Promise<T> {
  const owner = leaseOwner();
  const started = Date.now();
  let waited = false;
  for (;;) {
    const lease = await locks.acquire(name, owner, opts.ttlMs);
    if (lease.acquired) break;
    waited = true;
    if (Date.now() - started >= opts.waitMs) throw opts.busy(lease.heldBy, lease.holder);
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 25)));
  }
  const renew = setInterval(
    () => void locks.renew(name, owner, opts.ttlMs).catch(() => {}),
    Math.max(1000, Math.floor(opts.ttlMs / 3)),
  );
  renew.unref();
  // the last transaction the work let the lease go in (a retried one runs again)
  let releasedIn: Knex.Transaction | null = null;
  const held: HeldLease = {
    waited,
    async releaseIn(trx) {
      await locks.releaseIn(trx, name, owner);
      releasedIn = trx;
    },
  };
  try {
    return await work(held);
  } finally {
    clearInterval(renew);
    const gone = releasedIn
      ? await (releasedIn as Knex.Transaction).executionPromise.then(
          () => true,
          () => false,
        )
      : false;
    if (!gone) {
      const release = locks.release(name, owner);
      if (opts.releaseInBackground) void release.catch(opts.releaseInBackground);
      else await release.catch(() => {});
    }
  }
}
