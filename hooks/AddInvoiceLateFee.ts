import { errorKind, loggedError } from '../module/adapters/rows.js';
import type { DateTime } from 'luxon';
import type { Logger } from '../module/adapters/logger.js';
import type { DunningShield } from '../module/services/dunning-shield.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS AddInvoiceLateFee: held (disputed) amounts never enter the base of a late fee. If the panel
 * added a fee on an invoice that still carries a disputed line, the fee is recomputed on what is
 * unpaid and undisputed (the panel's Percentage / Fixed Amount and minimum), or removed when that is
 * nothing (module/services/dunning-shield.ts). Handling that fails is kept (`failed`) for the
 * 5-minute sweep to do again (module/services/late-fee-retries.ts): WHMCS adds the fee once. The
 * correction takes the sweep's lease on the invoice, so a sweep at the same time does not do it twice.
 * A hook the bridge kept while the service was away and delivers later is handled as of when WHMCS
 * fired it (`firedAt`, hook-types.ts): the fee's moment kept, the base (what was unpaid when the fee
 * came: a payment made between the fee and the delivery is put back) and a failure kept for the
 * sweep, all as of then, not of the delivery.
 */
export function AddInvoiceLateFee(deps: {
  shield: DunningShield;
  log: Logger;
  failed?: (invoiceId: number, error: string, firedAt?: DateTime) => Promise<void>;
  /** the correction under the invoice's lease, audited (module/services/late-fee-retries.ts); else the shield's own */
  correct?: (invoiceId: number, firedAt?: DateTime) => Promise<unknown>;
}): HookDefinition {
  return {
    name: 'AddInvoiceLateFee',
    priority: 10,
    async handler(vars, context) {
      const invoiceId = Number(vars.invoiceid);
      if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) return undefined;
      const firedAt = context?.firedAt;
      try {
        await (deps.correct
          ? deps.correct(invoiceId, firedAt)
          : deps.shield.correctLateFee(invoiceId, firedAt));
      } catch (err) {
        // kept for the sweep and logged as what failed and its kind, never the panel's words (errorKind)
        const error = `the late fee was not corrected: ${errorKind(err)}`;
        deps.log.warn('hook.add_invoice_late_fee.failed', { invoiceId, error });
        await deps
          .failed?.(invoiceId, error, firedAt)
          .catch((e: unknown) =>
            deps.log.error('hook.add_invoice_late_fee.not_kept', { invoiceId, ...loggedError(e) }),
          );
      }
      return undefined;
    },
  };
}
