import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { sqlInstant } from './rows.js';

/**
 * Named leases in mod_overusage_locks. A lease expires unless renewed, so a crashed run never
 * blocks the next one for longer than its time-to-live. Works the same on SQLite and MySQL: the
 * primary key decides who inserts first, and only an expired lease can be taken over.
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
      await knex(TABLE).insert({ name, owner, acquired_at: at, expires_at: expires }).onConflict('name').ignore();
      // Take over only an expired lease (or our own): a single conditional update decides.
      const taken = await knex(TABLE)
        .where({ name })
        .andWhere((q) => q.where('owner', owner).orWhere('expires_at', '<', at))
        .update({ owner, acquired_at: at, expires_at: expires });
      if (taken === 1) return { acquired: true, heldBy: owner };
      const row = await knex(TABLE).where({ name }).first('owner');
      return { acquired: false, heldBy: (row?.owner as string | undefined) ?? null };
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
