import type { Logger } from '../module/adapters/logger.js';
import { panelHundredths, type PanelApi } from '../module/adapters/panel-api.js';
import { formatAmount, localeForClient, textLanguage } from '../module/domain/line-text.js';
import type { DisputeService } from '../module/services/disputes.js';
import type { HookDefinition } from './hook-types.js';

/** The dunning emails about an invoice (WHMCS's template names). */
export const DUNNING_TEMPLATES = new Set([
  'Invoice Payment Reminder',
  'First Invoice Overdue Notice',
  'Second Invoice Overdue Notice',
  'Third Invoice Overdue Notice',
  'Credit Card Payment Due',
]);

/**
 * WHMCS EmailPreSend: a reminder or overdue notice about an invoice whose only unpaid amount is a
 * disputed (held) line is not sent (`abortsend`); otherwise the email gets the client's held lines
 * as a merge field, {$overusage_held_lines}, listed as "on hold, under dispute". Fails open: if the
 * module cannot tell, the email goes as it would without the add-on.
 */
export function EmailPreSend(deps: { disputes: DisputeService; panel: PanelApi; log: Logger }): HookDefinition {
  return {
    name: 'EmailPreSend',
    priority: 10,
    async handler(vars) {
      const name = String(vars.messagename ?? '');
      if (!DUNNING_TEMPLATES.has(name) && name !== 'Invoice Created') return undefined;
      const invoiceId = Number(vars.relid);
      if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) return undefined;
      try {
        const invoice = await deps.panel.getInvoice(invoiceId);
        const onInvoice = await deps.disputes.heldItemsOnInvoice(invoiceId);
        // both as the panel counts them (two decimals in every currency)
        const balance = panelHundredths(invoice.balance, 'balance');
        const held = onInvoice.reduce((a, i) => a + panelHundredths(i.panelAmount), 0n);
        if (DUNNING_TEMPLATES.has(name) && onInvoice.length > 0 && balance <= held) {
          deps.log.info('hook.email_pre_send.aborted', { invoiceId, template: name, reason: 'only disputed amounts are unpaid' });
          return { abortsend: true };
        }
        const open = await deps.disputes.openForClient(invoice.userId);
        if (open.length === 0) return undefined;
        const client = await deps.panel.getClientsDetails(invoice.userId);
        const locale = localeForClient(client.language);
        const note = textLanguage(locale) === 'nl' ? 'opgeschort, in betwisting: niet verschuldigd tot we beslissen' : 'on hold, under dispute: not due until we decide';
        return { overusage_held_lines: open.map((d) => `${d.description} — ${formatAmount(d.amountMinor, d.currency, locale)} (${note})`).join('\n') };
      } catch (err) {
        deps.log.warn('hook.email_pre_send.failed', { invoiceId, template: name, error: (err as Error).message });
        return undefined;
      }
    },
  };
}
