import crypto from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import type { DateTime } from 'luxon';
import { sqlInstant } from './rows.js';

/**
 * Named leases in mod_overusage_locks. A lease expires unless renewed, so a crashed run never
 * blocks the next one for longer than its time-to-live. Works the same on SQLite and MySQL: the
 * primary key decides who inserts first, and only an expired lease (or one's own) is taken over.
 */
export interface LockStore {
  acquire(name: string, owner: string, now: DateTime, ttlMs: number): Promise<{ acquired: boolean; heldBy: string | null }>;
  renew(name: string, owner: string, now: DateTime, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

const TABLE = 'mod_overusage_locks';

export function createLockStore(knex: Knex): LockStore {
  return {
    async acquire(name, owner, now, ttlMs) {
      const expires = sqlInstant(now.plus({ milliseconds: ttlMs }));
      const at = sqlInstant(now);
      // One statement, one commit: insert the lease, or take it over when it has expired (or is
      // ours); then read who holds it. The hot path of every InvoiceCreation delivery pays one
      // commit for this instead of two.
      if (knex.client.config.client === 'mysql2') {
        await knex.raw(
          `INSERT INTO ${TABLE} (name, owner, acquired_at, expires_at) VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE
             owner = IF(expires_at < ? OR owner = VALUES(owner), VALUES(owner), owner),
             acquired_at = IF(owner = VALUES(owner), VALUES(acquired_at), acquired_at),
             expires_at = IF(owner = VALUES(owner), VALUES(expires_at), expires_at)`,
          [name, owner, at, expires, at],
        );
      } else {
        await knex.raw(
          `INSERT INTO ${TABLE} (name, owner, acquired_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
           WHERE ${TABLE}.expires_at < ? OR ${TABLE}.owner = excluded.owner`,
          [name, owner, at, expires, at],
        );
      }
      const row = await knex(TABLE).where({ name }).first('owner');
      const heldBy = (row?.owner as string | undefined) ?? null;
      return { acquired: heldBy === owner, heldBy };
    },
    async renew(name, owner, now, ttlMs) {
      const n = await knex(TABLE)
        .where({ name, owner })
        .update({ expires_at: sqlInstant(now.plus({ milliseconds: ttlMs })) });
      return n === 1;
    },
    async release(name, owner) {
      await knex(TABLE).where({ name, owner }).delete();
    },
  };
}

/** A holder name that is unique per call: host, process and a random part. */
export const leaseOwner = (): string => `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;

export interface LeaseOptions {
  ttlMs: number;
  /** how long to wait for another holder to finish; 0 gives up at once */
  waitMs: number;
  /** the error when the lease stays taken */
  busy: (heldBy: string | null) => Error;
  /** release without making the caller wait; failures go here (the lease then expires on its own) */
  releaseInBackground?: (err: Error) => void;
}

/** Runs `work` while holding the named lease, waiting (with jitter) for another holder up to `waitMs`. */
export async function withLease<T>(locks: LockStore, clock: Clock, name: string, opts: LeaseOptions, work: () => Promise<T>): Promise<T> {
  const owner = leaseOwner();
  const started = Date.now();
  for (;;) {
    const lease = await locks.acquire(name, owner, clock.now(), opts.ttlMs);
    if (lease.acquired) break;
    if (Date.now() - started >= opts.waitMs) throw opts.busy(lease.heldBy);
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 25)));
  }
  try {
    return await work();
  } finally {
    const release = locks.release(name, owner);
    if (opts.releaseInBackground) void release.catch(opts.releaseInBackground);
    else await release.catch(() => {});
  }
}
