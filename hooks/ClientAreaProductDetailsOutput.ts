import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS ClientAreaProductDetailsOutput: on a metered VPS's page, this period's traffic against the
 * allowance with the projection, and a link to the daily figures. The panel has checked that the
 * service is the client's; its language comes from the client's record. Fails open (no block).
 */
export function ClientAreaProductDetailsOutput(deps: {
  productDetails: (
    serviceId: number,
    clientId: number,
    language: string | null,
    host?: Record<string, unknown>,
  ) => Promise<string>;
  languageOf: (clientId: number) => Promise<string>;
  log: Logger;
}): HookDefinition {
  return {
    name: 'ClientAreaProductDetailsOutput',
    priority: 10,
    async handler(vars) {
      const service = (vars.service ?? {}) as Record<string, unknown>;
      const serviceId = Number(service.id);
      const clientId = Number(service.userid);
      if (
        !Number.isSafeInteger(serviceId) ||
        serviceId <= 0 ||
        !Number.isSafeInteger(clientId) ||
        clientId <= 0
      )
        return '';
      try {
        // `host`: added by a host that serves the module's files itself (the WHMCS bridge)
        const host = vars.host && typeof vars.host === 'object' ? (vars.host as Record<string, unknown>) : {};
        return await deps.productDetails(serviceId, clientId, await deps.languageOf(clientId), host);
      } catch (err) {
        deps.log.warn('hook.product_details_failed', { serviceId, ...loggedError(err) });
        return '';
      }
    },
  };
}
