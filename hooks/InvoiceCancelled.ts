import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { DisputeService } from '../module/services/disputes.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS InvoiceCancelled ({invoiceid}; its answer is ignored): the invoice was cancelled (by an admin, or by WHMCS's automatic cancellation of overdue invoices).
 * A line on it is not owed, so an open dispute of a line billed or held on it closes with nothing
 * to settle (docs/billing-rules.md, "Cancelled and refunded invoices"). Never throws: a failure is
 * logged, and the status is read again before any later step of the dispute moves money.
 */
export function InvoiceCancelled(deps: {
  disputes: Pick<DisputeService, 'invoiceClosed'>;
  log: Logger;
  /** the client's pages built afresh: a line on the invoice is no longer offered for dispute */
  pagesChanged?: (invoiceId: number) => Promise<void>;
}): HookDefinition {
  return {
    name: 'InvoiceCancelled',
    priority: 10,
    async handler(vars) {
      const invoiceId = Number(vars.invoiceid);
      if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) {
        deps.log.warn('hook.invoice_cancelled.bad_vars', { invoiceid: String(vars.invoiceid) });
        return undefined;
      }
      try {
        await deps.disputes.invoiceClosed(invoiceId);
      } catch (err) {
        deps.log.warn('hook.invoice_cancelled.failed', { invoiceId, ...loggedError(err) });
      }
      await deps.pagesChanged?.(invoiceId).catch((err: unknown) => {
        deps.log.warn('hook.invoice_cancelled.pages_failed', { invoiceId, ...loggedError(err) });
      });
      return undefined;
    },
  };
}
