import { errorKind, loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { InvoiceLineService } from '../module/services/invoice-lines.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS InvoiceCreation: the invoice exists but is not yet final; lines may still be added and the
 * panel recalculates the totals afterwards. Adds one overusage line per unbilled charge of every
 * service the invoice renews. Answers once the invoice holds them (they are recorded placed just
 * after, under the invoice's lease). Never throws: a failure is logged, and the lines go on a later
 * delivery or the next renewal.
 */
export function InvoiceCreation(deps: {
  lines: InvoiceLineService;
  log: Logger;
  logActivity?: (text: string) => Promise<void>;
}): HookDefinition {
  return {
    name: 'InvoiceCreation',
    priority: 10,
    async handler(vars) {
      const id = Number(vars.invoiceid);
      if (!Number.isSafeInteger(id) || id <= 0) {
        deps.log.warn('hook.invoice_creation.bad_vars', { invoiceid: String(vars.invoiceid) });
        return;
      }
      // The panel's wait ends once the invoice holds its lines; recording them placed goes on.
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      const done = deps.lines.addToRenewalInvoice(id, answer).then(
        (out) => {
          for (const s of out.skipped)
            deps.log.warn('hook.invoice_creation.skipped', { invoiceId: id, ...s });
        },
        async (err: Error) => {
          deps.log.error('hook.invoice_creation.failed', { invoiceId: id, ...loggedError(err) });
          await deps
            .logActivity?.(`Overusage: could not add overusage lines to invoice ${id}: ${errorKind(err)}`)
            .catch(() => {});
        },
      );
      await Promise.race([answered, done]);
    },
  };
}
