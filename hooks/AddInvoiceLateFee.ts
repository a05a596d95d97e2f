import type { Logger } from '../module/adapters/logger.js';
import { panelAmount, panelHundredths, type PanelApi } from '../module/adapters/panel-api.js';
import { divRoundHalfUp } from '../module/domain/money.js';
import type { DisputeService } from '../module/services/disputes.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS AddInvoiceLateFee: held (disputed) amounts never enter the base of a late fee. If the panel
 * added a fee on an invoice that still carries a disputed line, the fee is recomputed on what is
 * unpaid and undisputed (the panel's Percentage / Fixed Amount and minimum), or removed when that is
 * nothing.
 */
export function AddInvoiceLateFee(deps: { disputes: DisputeService; panel: PanelApi; log: Logger }): HookDefinition {
  return {
    name: 'AddInvoiceLateFee',
    priority: 10,
    async handler(vars) {
      const invoiceId = Number(vars.invoiceid);
      if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) return undefined;
      try {
        const held = await deps.disputes.heldItemsOnInvoice(invoiceId);
        if (held.length === 0) return undefined;
        const invoice = await deps.panel.getInvoice(invoiceId);
        const fee = invoice.items.find((i) => i.type === 'LateFee');
        if (!fee) return undefined;
        // Every amount as the panel counts them: two decimals in every currency, as its fee is.
        const money = (s: string) => panelHundredths(s);
        const heldTotal = held.reduce((a, i) => a + money(i.panelAmount), 0n);
        // What is late is what is unpaid and not disputed: the balance before the fee, less the held lines.
        const base = money(invoice.balance) - money(fee.amount) - heldTotal;
        const type = await deps.panel.getConfigurationValue('LateFeeType').catch(() => 'Percentage');
        const amount = money((await deps.panel.getConfigurationValue('InvoiceLateFeeAmount').catch(() => '0')) || '0');
        const minimum = money((await deps.panel.getConfigurationValue('LateFeeMinimum').catch(() => '0')) || '0');
        let newFee: bigint;
        if (base <= 0n) newFee = 0n;
        else if (/^fixed/i.test(type)) newFee = amount;
        else {
          newFee = divRoundHalfUp(base * amount, 10000n);
          if (newFee < minimum) newFee = minimum;
        }
        if (newFee === money(fee.amount)) return undefined;
        if (newFee === 0n) await deps.panel.updateInvoice({ invoiceId, deleteLineIds: [fee.id] });
        else await deps.panel.updateInvoice({ invoiceId, changeItems: [{ id: fee.id, description: fee.description, amount: panelAmount(newFee), taxed: fee.taxed }] });
        await deps.panel.logActivity(`Overusage: late fee on invoice ${invoiceId} set to ${panelAmount(newFee)}: disputed lines are not part of its base`, invoice.userId);
        return undefined;
      } catch (err) {
        deps.log.warn('hook.add_invoice_late_fee.failed', { invoiceId, error: (err as Error).message });
        return undefined;
      }
    },
  };
}
