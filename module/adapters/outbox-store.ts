import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { readEach, readableOf, rowReader, sqlInstant, type SetAside } from './rows.js';
import { TABLES } from './tables.js';

/**
 * The outbox's rows (module/services/outbox.ts sends them). A row is sent by the one worker that
 * claims it: the claim moves it from the status and attempt count it was read with to 'sending'
 * and the next attempt, and only one update can do that (even for a row left 'sending').
 */

type Db = Knex | Knex.Transaction;

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** not sent yet: new, being sent (or left so by a worker that stopped), or failed and waiting */
const UNSENT: readonly OutboxStatus[] = ['pending', 'sending', 'failed'];

export interface NewOutboxRow {
  key: string;
  ref: string;
  audience: 'client' | 'admin';
  clientId: number | null;
  kind: string;
  /** JSON: the panel call's input */
  payload: string;
}

export interface OutboxRow {
  id: number;
  key: string;
  ref: string;
  kind: string;
  status: OutboxStatus;
  attempts: number;
  payload: string;
  lastError: string | null;
  nextAttemptAt: DateTime;
}

export interface OutboxStore {
  /** in the caller's transaction; a key already there is left as it is */
  enqueue(db: Db, rows: readonly NewOutboxRow[], now: DateTime): Promise<void>;
  /** rows not sent yet, oldest first */
  unsent(limit: number): Promise<OutboxRow[]>;
  /** rows not sent yet whose next attempt is due at `now`, oldest first */
  due(now: DateTime, limit: number): Promise<OutboxRow[]>;
  /** takes the row for sending if it is still as it was read (status and attempts); false when another worker took it */
  claim(row: Pick<OutboxRow, 'id' | 'status' | 'attempts'>, attempts: number): Promise<boolean>;
  markSent(id: number, outcome: 'sent' | 'already', at: DateTime): Promise<void>;
  markFailed(id: number, error: string, nextAttemptAt: DateTime): Promise<void>;
}

export function parseOutboxRow(r: Record<string, unknown>): OutboxRow {
  const c = rowReader(TABLES.outbox, r);
  return {
    id: c.num('id'),
    key: c.str('message_key'),
    ref: c.str('ref'),
    kind: c.str('kind'),
    status: c.word(OUTBOX_STATUSES, 'status'),
    attempts: c.num('attempts'),
    payload: c.str('payload'),
    lastError: c.strOrNull('last_error'),
    nextAttemptAt: c.instant('next_attempt_at'),
  };
}

/**
 * `setAside`: where a row that cannot be read goes. Given, such a row is told there (its id, the
 * column refused and why, never the value) and left out, so one bad row does not stop every email
 * behind it; left out, the read fails naming it.
 */
export function createOutboxStore(knex: Knex, opts: { setAside?: SetAside } = {}): OutboxStore {
  const unsent = () => knex(TABLES.outbox).whereIn('status', UNSENT).orderBy('id');
  const parseAll = (rows: Array<Record<string, unknown>>): OutboxRow[] => {
    const { setAside } = opts;
    if (!setAside) return rows.map(parseOutboxRow);
    return readableOf(readEach(rows, parseOutboxRow, TABLES.outbox, { setAside }));
  };
  return {
    async enqueue(db, rows, now) {
      if (rows.length === 0) return;
      const at = sqlInstant(now);
      await db(TABLES.outbox)
        .insert(rows.map((e) => newRow(e, at)))
        .onConflict('message_key')
        .ignore();
    },
    async unsent(limit) {
      return parseAll(await unsent().limit(limit));
    },
    async due(now, limit) {
      return parseAll(await unsent().andWhere('next_attempt_at', '<=', sqlInstant(now)).limit(limit));
    },
    async claim(row, attempts) {
      const n = await knex(TABLES.outbox)
        .where({ id: row.id, status: row.status, attempts: row.attempts })
        .update({ status: 'sending', attempts });
      return n === 1;
    },
    async markSent(id, outcome, at) {
      await knex(TABLES.outbox)
        .where({ id })
        .update({ status: 'sent', outcome, sent_at: sqlInstant(at), last_error: null });
    },
    async markFailed(id, error, nextAttemptAt) {
      await knex(TABLES.outbox)
        .where({ id })
        .update({ status: 'failed', last_error: error, next_attempt_at: sqlInstant(nextAttemptAt) });
    },
  };
}

function newRow(e: NewOutboxRow, at: string): Record<string, unknown> {
  return {
    message_key: e.key,
    ref: e.ref,
    audience: e.audience,
    client_id: e.clientId,
    kind: e.kind,
    payload: e.payload,
    status: 'pending',
    attempts: 0,
    next_attempt_at: at,
    created_at: at,
  };
}
