import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { sqlInstant } from './rows.js';

export type ActorType = 'system' | 'admin' | 'client' | 'cli';

export interface Actor {
  type: ActorType;
  id: string | null;
  /** the admin who acts as this actor, through a token minted for it ("admin X acting as client Y") */
  actingAdminId?: string | null;
}

export const SYSTEM: Actor = { type: 'system', id: null };

export interface AuditEntry {
  actor: Actor;
  action: string;
  entityType: string;
  entityId: string | number | null;
  details?: Record<string, unknown>;
}

/** Appends audit rows; callers pass the transaction of the change they audit, so both land or neither. */
export interface AuditLog {
  record(db: Knex | Knex.Transaction, entry: AuditEntry, at: DateTime): Promise<void>;
  /** Records the entry unless one of the same action on the same entity is there already; gives whether it did. */
  recordOnce(db: Knex | Knex.Transaction, entry: AuditEntry, at: DateTime): Promise<boolean>;
}

const bigintSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export const auditLog: AuditLog = {
  async record(db, entry, at) {
    await db('mod_overusage_audit').insert({
      at: sqlInstant(at),
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      acting_admin_id: entry.actor.actingAdminId ?? null,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId === null ? null : String(entry.entityId),
      details: entry.details ? JSON.stringify(entry.details, bigintSafe) : null,
    });
  },
  async recordOnce(db, entry, at) {
    const there = await db('mod_overusage_audit')
      .where({
        entity_type: entry.entityType,
        entity_id: entry.entityId === null ? null : String(entry.entityId),
        action: entry.action,
      })
      .first('id');
    if (there) return false;
    await auditLog.record(db, entry, at);
    return true;
  },
};
