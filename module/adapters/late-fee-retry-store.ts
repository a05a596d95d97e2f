import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { readOwned, rowReader, sqlInstant, type ReadOf, type SetAside } from './rows.js';
import { TABLES } from './tables.js';

const TABLE = TABLES.lateFeeRetries;

/** An invoice whose AddInvoiceLateFee handling failed, waiting for the sweep. */
export interface LateFeeRetry {
  invoiceId: number;
  attempts: number;
  /** the first failure: the hook runs as the panel adds the fee, so when the fee came */
  failedAt: DateTime;
}

/** The invoices whose late fee handling failed, one row each (migrations/20270101000000_late_fee_retries.ts). */
export interface LateFeeRetryStore {
  /** kept for the sweep; a second failure for the same invoice counts one more attempt */
  failed(invoiceId: number, error: string, at: DateTime): Promise<void>;
  /**
   * the oldest first. With `setAside`, a row that cannot be read is told there and left out (its
   * invoice in `unreadable`: when its fee came is not known, so it is not retried); without, it
   * refuses the read
   */
  waiting(limit: number, setAside?: SetAside): Promise<ReadOf<LateFeeRetry>>;
  /** the row still there (another sweep may have finished it) */
  get(invoiceId: number): Promise<LateFeeRetry | null>;
  /** finished: gone, in the transaction that audits it */
  done(trx: Knex.Transaction, invoiceId: number): Promise<void>;
}

const retryOf = (row: unknown): LateFeeRetry => {
  const r = rowReader(TABLE, row as Record<string, unknown>);
  return { invoiceId: r.num('invoice_id'), attempts: r.num('attempts'), failedAt: r.instant('failed_at') };
};

export function createLateFeeRetryStore(knex: Knex): LateFeeRetryStore {
  return {
    async failed(invoiceId, error, at) {
      const lastError = error.slice(0, 500);
      const bumped = await knex(TABLE)
        .where({ invoice_id: invoiceId })
        .update({ attempts: knex.raw('attempts + 1'), last_error: lastError });
      if (bumped > 0) return;
      await knex(TABLE)
        .insert({ invoice_id: invoiceId, failed_at: sqlInstant(at), attempts: 1, last_error: lastError })
        .onConflict('invoice_id')
        .merge({ last_error: lastError });
    },
    async waiting(limit, setAside) {
      const rows = await knex(TABLE)
        .orderBy([{ column: 'failed_at' }, { column: 'invoice_id' }])
        .limit(limit)
        .select('invoice_id', 'attempts', 'failed_at');
      return readOwned(rows, retryOf, TABLE, { owner: 'invoice_id', key: 'invoice_id', setAside });
    },
    async get(invoiceId) {
      const row = await knex(TABLE)
        .where({ invoice_id: invoiceId })
        .first('invoice_id', 'attempts', 'failed_at');
      return row ? retryOf(row) : null;
    },
    async done(trx, invoiceId) {
      await trx(TABLE).where({ invoice_id: invoiceId }).delete();
    },
  };
}

/**
 * When the late fee now on an invoice came: the panel's AddInvoiceLateFee, when it fired
 * (migrations/20270103000000_late_fee_times.ts) — for a hook the bridge kept while the service was
 * down and delivers later, its firedAt, not the delivery. WHMCS adds a fee again to an overdue
 * invoice whose fee is gone, so the latest hook is the one of the fee on it: a moment earlier than
 * the one kept (an older hook delivered after a newer one) does not move it back.
 */
export async function lateFeeCame(knex: Knex, invoiceId: number, at: DateTime): Promise<void> {
  const cameAt = sqlInstant(at);
  await knex(TABLES.lateFeeTimes)
    .insert({ invoice_id: invoiceId, came_at: cameAt })
    .onConflict('invoice_id')
    .ignore();
  await knex(TABLES.lateFeeTimes)
    .where({ invoice_id: invoiceId })
    .where('came_at', '<', cameAt)
    .update({ came_at: cameAt });
}

/** When the late fee on an invoice came, as lateFeeCame kept it; null when the hook never told. */
export async function lateFeeCameAt(knex: Knex, invoiceId: number): Promise<DateTime | null> {
  const row = await knex(TABLES.lateFeeTimes).where({ invoice_id: invoiceId }).first('came_at');
  return row ? rowReader(TABLES.lateFeeTimes, row as Record<string, unknown>).instant('came_at') : null;
}
