/**
 * The bridge's records (mod_overusage_bridge_*): nonces of accepted requests, so a captured request
 * is refused the second time, and the panel commands relayed through the bridge with their results.
 * Times here are the machine's real time (`nowMs`), not the business clock: they only serve
 * transport freshness and housekeeping.
 */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { sqlInstant } from './rows.js';

const NONCES = 'mod_overusage_bridge_nonces';
const COMMANDS = 'mod_overusage_bridge_commands';

export type CommandStatus = 'queued' | 'handed_out' | 'done' | 'failed' | 'unknown';

export interface CommandRow {
  key: string;
  conversationId: string | null;
  command: string;
  params: Record<string, unknown>;
  status: CommandStatus;
  result: Record<string, unknown> | null;
  message: string | null;
}

const at = (ms: number): string => sqlInstant(DateTime.fromMillis(ms, { zone: 'utc' }));

function isDuplicate(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  return (
    e?.code === 'ER_DUP_ENTRY' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed|Duplicate entry/i.test(e?.message ?? '')
  );
}

function rowOf(r: Record<string, unknown>): CommandRow {
  return {
    key: String(r.command_key),
    conversationId:
      r.conversation_id === null || r.conversation_id === undefined ? null : String(r.conversation_id),
    command: String(r.command),
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
    status: String(r.status) as CommandStatus,
    result:
      r.result === null || r.result === undefined
        ? null
        : (JSON.parse(String(r.result)) as Record<string, unknown>),
    message: r.message === null || r.message === undefined ? null : String(r.message),
  };
}

export interface BridgeStore {
  /** true the first time a nonce is seen; false for a replay */
  rememberNonce(nonce: string, nowMs: number): Promise<boolean>;
  /** forgets nonces older than `olderThanMs` (their timestamps are refused as stale anyway) */
  pruneNonces(olderThanMs: number): Promise<number>;
  insertCommand(
    c: {
      key: string;
      conversationId: string | null;
      command: string;
      params: Record<string, unknown>;
      status: 'queued' | 'handed_out';
    },
    nowMs: number,
  ): Promise<void>;
  markHandedOut(keys: string[], conversationId: string, nowMs: number): Promise<void>;
  /**
   * Records what the bridge reported for a command. Idempotent: a result for a command already
   * done or failed changes nothing. Returns the row as it now stands, or null for an unknown key.
   */
  recordResult(
    key: string,
    r: {
      status: 'done' | 'failed' | 'unknown';
      result?: Record<string, unknown> | null;
      message?: string | null;
    },
    nowMs: number,
  ): Promise<CommandRow | null>;
  /** commands handed out whose result never came back: their outcome is unknown until reported */
  markUnknown(keys: string[]): Promise<void>;
  queued(limit: number): Promise<CommandRow[]>;
  get(key: string): Promise<CommandRow | null>;
  list(filter?: { status?: CommandStatus }): Promise<CommandRow[]>;
}

export function createBridgeStore(knex: Knex): BridgeStore {
  return {
    async rememberNonce(nonce, nowMs) {
      try {
        await knex(NONCES).insert({ nonce, seen_at: at(nowMs) });
        return true;
      } catch (err) {
        if (isDuplicate(err)) return false;
        throw err;
      }
    },

    async pruneNonces(olderThanMs) {
      return knex(NONCES).where('seen_at', '<', at(olderThanMs)).delete();
    },

    async insertCommand(c, nowMs) {
      await knex(COMMANDS).insert({
        command_key: c.key,
        conversation_id: c.conversationId,
        command: c.command,
        params: JSON.stringify(c.params),
        status: c.status,
        created_at: at(nowMs),
        handed_at: c.status === 'handed_out' ? at(nowMs) : null,
      });
    },

    async markHandedOut(keys, conversationId, nowMs) {
      if (keys.length === 0) return;
      await knex(COMMANDS)
        .whereIn('command_key', keys)
        .andWhere('status', 'queued')
        .update({ status: 'handed_out', conversation_id: conversationId, handed_at: at(nowMs) });
    },

    async recordResult(key, r, nowMs) {
      // done/failed are final; unknown may still be resolved by a later report
      await knex(COMMANDS)
        .where('command_key', key)
        .whereIn(
          'status',
          r.status === 'unknown' ? ['handed_out', 'queued'] : ['handed_out', 'queued', 'unknown'],
        )
        .update({
          status: r.status,
          result: r.result ? JSON.stringify(r.result) : null,
          message: r.message ?? null,
          reported_at: at(nowMs),
        });
      const row = await knex(COMMANDS).where('command_key', key).first();
      return row ? rowOf(row) : null;
    },

    async markUnknown(keys) {
      if (keys.length === 0) return;
      await knex(COMMANDS)
        .whereIn('command_key', keys)
        .andWhere('status', 'handed_out')
        .update({ status: 'unknown' });
    },

    async queued(limit) {
      return (await knex(COMMANDS).where('status', 'queued').orderBy('id').limit(limit)).map(rowOf);
    },

    async get(key) {
      const row = await knex(COMMANDS).where('command_key', key).first();
      return row ? rowOf(row) : null;
    },

    async list(filter = {}) {
      const q = knex(COMMANDS).orderBy('id');
      if (filter.status) q.where('status', filter.status);
      return (await q).map(rowOf);
    },
  };
}
