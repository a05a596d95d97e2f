import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { AuditLog } from '../adapters/audit-store.js';
import { lateFeeCame, type LateFeeRetryStore } from '../adapters/late-fee-retry-store.js';
import { withLease, type LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import { errorKind } from '../adapters/rows.js';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import type { DunningShield, LateFeeCorrection } from './dunning-shield.js';

/**
 * The AddInvoiceLateFee hook's handling that failed (the panel did not answer it), done again: the
 * hook keeps the invoice (`failed`), and the 5-minute sweep (`sweep`, from the daily jobs' tick)
 * checks each one again with the same correction, under a lease per invoice. A finished one is
 * deleted in the transaction that audits it (dunning.late_fee_retried), so a second sweep finds
 * nothing to do; a sweep that stops between the panel's update and that transaction leaves the row,
 * and the next one finds the fee already right (the correction leaves the fee out of its base) and
 * audits it unchanged. A failed retry stays for the next tick, its attempts counted.
 */
export interface LateFeeRetries {
  /**
   * The hook's correction, under the same lease as the sweep's (waiting for one on the invoice), so
   * the second of two at once reads the fee the first set and changes nothing; a change is audited
   * (dunning.late_fee_corrected). Keeps when the fee came first (lateFeeCame), on every invoice.
   * `firedAt`: when WHMCS fired the hook, for one the bridge delivers later (hook-types.ts): the
   * fee came then, and a payment made since is put back into its base; now without it.
   * Throws when the panel fails or the lease stays taken.
   */
  correct(invoiceId: number, firedAt?: DateTime): Promise<void>;
  /** kept for the sweep, as failed when the fee came (`firedAt` for a replayed hook, else now) */
  failed(invoiceId: number, error: string, firedAt?: DateTime): Promise<void>;
  /** gives how many invoices it finished */
  sweep(): Promise<number>;
}

const PER_SWEEP = 50;
/** how long the hook waits for a sweep checking the same invoice (it then finds the fee right) */
const HOOK_WAIT_MS = 10_000;

/** A correction as audited: the fee before and after, in hundredths, and whether the invoice was settled at 0.00. */
const correction = (r: LateFeeCorrection) => ({
  feeMinor: String(r.fee),
  newFeeMinor: String(r.newFee),
  ...(r.settled ? { settled: true } : {}),
  ...(r.overpaid ? { creditedMinor: String(r.overpaid) } : {}),
});

/**
 * The kept rows a sweep checks, the oldest first. One that cannot be read is named and left as it
 * stands (when its fee came is not known, and the correction's base depends on it); the other
 * invoices are checked as usual.
 */
const waitingRows = (deps: { store: LateFeeRetryStore; log: Logger }) =>
  deps.store.waiting(PER_SWEEP, (table, u) =>
    deps.log.warn('late_fee.row_unreadable', { table, id: u.id, ...u.unreadable }),
  );

export function createLateFeeRetries(deps: {
  knex: Knex;
  store: LateFeeRetryStore;
  shield: Pick<DunningShield, 'correctLateFee'>;
  audit: AuditLog;
  locks: LockStore;
  clock: Clock;
  log: Logger;
}): LateFeeRetries {
  const lease = <T>(invoiceId: number, waitMs: number, work: () => Promise<T>) =>
    withLease(
      deps.locks,
      `late-fee:${invoiceId}`,
      {
        ttlMs: 60_000,
        waitMs,
        busy: () => new ModuleError('LOCKED', `another sweep is checking invoice ${invoiceId}'s late fee`),
      },
      work,
    );

  async function retry(invoiceId: number): Promise<boolean> {
    const row = await deps.store.get(invoiceId);
    if (!row) return false;
    try {
      // a payment made since the fee came is put back into what the fee was on
      const r = await deps.shield.correctLateFee(invoiceId, row.failedAt);
      await deps.knex.transaction(async (trx) => {
        await deps.store.done(trx, invoiceId);
        await deps.audit.record(
          trx,
          {
            actor: { type: 'system', id: null },
            action: 'dunning.late_fee_retried',
            entityType: 'invoice',
            entityId: invoiceId,
            details: { attempts: row.attempts, ...(r ? correction(r) : { fee: 'none to correct' }) },
          },
          deps.clock.now(),
        );
      });
      return true;
    } catch (err) {
      // what failed and its kind, never the panel's or the database's words (errorKind)
      const error = `the late fee was not corrected: ${errorKind(err)}`;
      await deps.store.failed(invoiceId, error, deps.clock.now());
      deps.log.warn('late_fee.retry_failed', { invoiceId, attempts: row.attempts + 1, error });
      return false;
    }
  }

  return {
    correct: async (invoiceId, firedAt) => {
      // the fee's moment first, held lines or not: a hold or a decision later puts back the
      // payments made since (late-fee-share.ts), as the panel charged it on what was unpaid then.
      // A replayed hook's fee came when WHMCS fired it, not now: a payment made in between is put
      // back here too (without firedAt the correction takes today's balance, as the fee just came)
      await lateFeeCame(deps.knex, invoiceId, firedAt ?? deps.clock.now());
      await lease(invoiceId, HOOK_WAIT_MS, async () => {
        const r = await deps.shield.correctLateFee(invoiceId, firedAt);
        if (!r || (r.fee === r.newFee && !r.settled)) return;
        await deps.audit.record(
          deps.knex,
          {
            actor: { type: 'system', id: null },
            action: 'dunning.late_fee_corrected',
            entityType: 'invoice',
            entityId: invoiceId,
            details: correction(r),
          },
          deps.clock.now(),
        );
      });
    },
    failed: (invoiceId, error, firedAt) => deps.store.failed(invoiceId, error, firedAt ?? deps.clock.now()),
    async sweep() {
      let finished = 0;
      for (const { invoiceId } of await waitingRows(deps)) {
        const done = await lease(invoiceId, 0, () => retry(invoiceId)).catch((err: unknown) => {
          if (err instanceof ModuleError && err.code === 'LOCKED') return false;
          throw err;
        });
        if (done) finished++;
      }
      return finished;
    },
  };
}
