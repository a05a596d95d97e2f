import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { DunningShield } from '../module/services/dunning-shield.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS PreModuleSuspend: a suspension for non-payment whose only unpaid, overdue amounts are
 * disputed lines is stopped (`abortcmd`). With the hold in place the disputed line is not on any
 * overdue invoice anyway; this covers the time until the hold is complete. Any other unpaid amount
 * lets the suspension go ahead, as WHMCS would. Fails open.
 */
export function PreModuleSuspend(deps: { shield: DunningShield; log: Logger }): HookDefinition {
  return {
    name: 'PreModuleSuspend',
    priority: 10,
    async handler(vars) {
      const params = (vars.params ?? vars) as Record<string, unknown>;
      const serviceId = Number(params.serviceid ?? params.accountid);
      const clientId = Number(params.userid ?? params.clientid);
      if (!Number.isSafeInteger(clientId) || clientId <= 0) return undefined;
      try {
        if (!(await deps.shield.suspensionShielded(clientId))) return undefined;
        deps.log.info('hook.pre_module_suspend.aborted', {
          serviceId,
          clientId,
          reason: 'only disputed amounts are overdue',
        });
        return { abortcmd: true };
      } catch (err) {
        deps.log.warn('hook.pre_module_suspend.failed', { serviceId, ...loggedError(err) });
        return undefined;
      }
    },
  };
}
