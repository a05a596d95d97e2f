import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import { DUNNING_TEMPLATES, type DunningShield } from '../module/services/dunning-shield.js';
import type { HookDefinition } from './hook-types.js';

export { DUNNING_TEMPLATES };

/**
 * WHMCS EmailPreSend: a reminder or overdue notice about an invoice whose only unpaid amount is a
 * disputed (held) line is not sent (`abortsend`); otherwise the email gets the client's held lines
 * as a merge field, {$overusage_held_lines}, listed as "on hold, under dispute" (the rules:
 * module/services/dunning-shield.ts). Fails open: if the module cannot tell, the email goes as it
 * would without the add-on.
 */
export function EmailPreSend(deps: { shield: DunningShield; log: Logger }): HookDefinition {
  return {
    name: 'EmailPreSend',
    priority: 10,
    async handler(vars) {
      const name = String(vars.messagename ?? '');
      if (!DUNNING_TEMPLATES.has(name) && name !== 'Invoice Created') return undefined;
      const invoiceId = Number(vars.relid);
      if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) return undefined;
      try {
        return await deps.shield.dunningEmail(invoiceId, name);
      } catch (err) {
        deps.log.warn('hook.email_pre_send.failed', {
          invoiceId,
          template: name,
          ...loggedError(err),
        });
        return undefined;
      }
    },
  };
}
