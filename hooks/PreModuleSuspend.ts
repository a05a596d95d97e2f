import type { Logger } from '../module/adapters/logger.js';
import { panelHundredths, type PanelApi } from '../module/adapters/panel-api.js';
import type { Clock } from '../module/domain/clock.js';
import type { DisputeService } from '../module/services/disputes.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS PreModuleSuspend: a suspension for non-payment whose only unpaid, overdue amounts are
 * disputed lines is stopped (`abortcmd`). With the hold in place the disputed line is not on any
 * overdue invoice anyway; this covers the time until the hold is complete. Any other unpaid amount
 * lets the suspension go ahead, as WHMCS would. Fails open.
 */
export function PreModuleSuspend(deps: { disputes: DisputeService; panel: PanelApi; clock: Clock; zone: string; log: Logger }): HookDefinition {
  return {
    name: 'PreModuleSuspend',
    priority: 10,
    async handler(vars) {
      const params = (vars.params ?? vars) as Record<string, unknown>;
      const serviceId = Number(params.serviceid ?? params.accountid);
      const clientId = Number(params.userid ?? params.clientid);
      if (!Number.isSafeInteger(clientId) || clientId <= 0) return undefined;
      try {
        // Most suspensions have nothing to do with a dispute: decide that from our own table first.
        if ((await deps.disputes.openForClient(clientId)).length === 0) return undefined;
        const today = deps.clock.now().setZone(deps.zone).toISODate()!;
        const { invoices } = await deps.panel.getInvoices({ userId: clientId, status: 'Unpaid', limitNum: 100 });
        let undisputedOverdue = 0n;
        let disputedOverdue = 0n;
        for (const s of invoices.filter((i) => i.dueDate !== null && i.dueDate < today)) {
          const inv = await deps.panel.getInvoice(s.id);
          // both as the panel counts them (two decimals in every currency)
          const held = (await deps.disputes.heldItemsOnInvoice(s.id)).reduce((a, i) => a + panelHundredths(i.panelAmount), 0n);
          const balance = panelHundredths(inv.balance, 'balance');
          disputedOverdue += held < balance ? held : balance;
          undisputedOverdue += balance > held ? balance - held : 0n;
        }
        if (undisputedOverdue === 0n && disputedOverdue > 0n) {
          deps.log.info('hook.pre_module_suspend.aborted', { serviceId, clientId, reason: 'only disputed amounts are overdue' });
          return { abortcmd: true };
        }
        return undefined;
      } catch (err) {
        deps.log.warn('hook.pre_module_suspend.failed', { serviceId, error: (err as Error).message });
        return undefined;
      }
    },
  };
}
