import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import type { Actor } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi, PanelService } from '../adapters/panel-api.js';
import { toNum } from '../adapters/rows.js';
import { billingDayOf } from '../domain/billing-calendar.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { MasterService } from './masters.js';
import type { LinkInput, ServiceLinkService } from './service-links.js';

/**
 * Links the panel's services to SolusVM servers the way the SolusVM WHMCS module knows them: the
 * product's custom field `vserverid` (v1 id, or v2 server id) on a service of a server entry that
 * a master is mapped to (panel_server_id). Services that end (Terminated, Cancelled, Fraud) stop
 * being metered; their data is kept.
 */
const METERED = new Set(['Active', 'Suspended']);
export const VSERVER_FIELD = 'vserverid';

export interface PanelSyncResult {
  linked: number;
  updated: number;
  stopped: number;
  skipped: Array<{ serviceId: number; reason: string }>;
}

export interface PanelSyncService {
  sync(): Promise<PanelSyncResult>;
}

export function createPanelSyncService(deps: { knex: Knex; clock: Clock; panel: PanelApi; billing: BillingSettingsService; masters: MasterService; links: ServiceLinkService; log: Logger }): PanelSyncService {
  const actor: Actor = { type: 'system', id: 'panel-sync' };
  return {
    async sync() {
      const result: PanelSyncResult = { linked: 0, updated: 0, stopped: 0, skipped: [] };
      const masters = (await deps.masters.list()).filter((m) => m.panelServerId !== null);
      const byServer = new Map(masters.map((m) => [m.panelServerId!, m]));
      const currencies = new Map<number, string>();
      const existing = new Map((await deps.knex('mod_overusage_services').select('service_id', 'master_id', 'server_ref', 'active', 'currency', 'product_id', 'billing_day')).map((r) => [toNum(r.service_id), r]));
      for (const { productId } of await deps.billing.listProducts()) {
        for (let start = 0; ; start += 250) {
          const page = await deps.panel.getClientsProducts({ pid: productId, limitStart: start, limitNum: 250 });
          for (const svc of page.products) await one(svc, productId);
          if (page.products.length < 250 || start + 250 >= page.totalResults) break;
        }
      }
      if (result.skipped.length) deps.log.warn('panel_sync.skipped', { count: result.skipped.length, first: result.skipped[0] });
      return result;

      async function one(svc: PanelService, productId: number) {
        const link = existing.get(svc.id);
        if (!METERED.has(svc.status)) {
          if (link && toNum(link.active) === 1) {
            await deps.links.setActive(svc.id, false, actor);
            result.stopped++;
          }
          return;
        }
        const ref = (svc.customFields[VSERVER_FIELD] ?? '').trim();
        const master = byServer.get(svc.serverId);
        if (!ref || !master) {
          result.skipped.push({ serviceId: svc.id, reason: !ref ? `no ${VSERVER_FIELD} custom field value` : `its server ${svc.serverId} is not mapped to a SolusVM master` });
          return;
        }
        let currency = currencies.get(svc.clientId);
        if (!currency) {
          currency = (await deps.panel.getClientsDetails(svc.clientId)).currencyCode;
          currencies.set(svc.clientId, currency);
        }
        const billingDay = billingDayOf(svc.nextDueDate, svc.regDate);
        if (link && toNum(link.master_id) === master.id && String(link.server_ref) === ref && String(link.currency) === currency && toNum(link.product_id) === productId && toNum(link.active) === 1 && (link.billing_day === null || link.billing_day === undefined ? null : toNum(link.billing_day)) === billingDay) return;
        const input: LinkInput = {
          serviceId: svc.id,
          clientId: svc.clientId,
          productId,
          masterId: master.id,
          serverRef: ref,
          currency,
          ...(svc.regDate ? { regdate: svc.regDate } : {}),
          // an anniversary reset falls on the day of the month the VPS was made: its registration day
          ...(master.resetPolicy === 'anniversary' && svc.regDate ? { resetDay: Number(svc.regDate.slice(8, 10)) } : {}),
          // a counter that never resets is billed on the panel's own cycle: its due day
          ...(billingDay !== null ? { billingDay } : {}),
        };
        try {
          await deps.links.link(input, actor);
          if (link) result.updated++;
          else result.linked++;
        } catch (err) {
          result.skipped.push({ serviceId: svc.id, reason: (err as Error).message });
        }
      }
    },
  };
}
