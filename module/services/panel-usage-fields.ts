import { loggedError } from '../adapters/rows.js';
import pLimit from 'p-limit';
import { divRoundHalfUp } from '../domain/money.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { BillingSettingsService } from './billing-settings.js';
import { assessUsage, type OpenUsageReader } from './open-usage.js';

/**
 * The panel's own bandwidth fields of a metered service (WHMCS's tblhosting bwusage/bwlimit,
 * shown as "Bandwidth Usage" on the service page) hold the add-on's figures after each evening's
 * sampling, so the client reads one figure, not the panel's "0 MB / 0 MB" above the add-on's. As the
 * SolusVM module's UsageUpdate writes them: whole MB of 1024² bytes, through UpdateClientProduct;
 * the limit is the allowance that applies (0 when the product bills none). A service whose
 * figures did not change since this process last wrote them is not asked again.
 */
export const MB = 1024n * 1024n;
/** bytes to whole MB, rounded half away from zero, as the SolusVM module's PHP round(bytes / 1024²) */
export const toMb = (bytes: bigint): number => Number(divRoundHalfUp(bytes, MB));

export function createPanelUsageFields(deps: {
  usage: OpenUsageReader;
  billing: BillingSettingsService;
  panel: PanelApi;
  log: Logger;
  concurrency?: number;
}) {
  const written = new Map<number, string>();
  const limit = pLimit(deps.concurrency ?? 4);
  return {
    async run(): Promise<{ updated: number; failed: number }> {
      const profileFor = await deps.billing.snapshot();
      let updated = 0;
      let failed = 0;
      for await (const page of deps.usage.pages()) {
        await Promise.all(
          page.map((u) =>
            limit(async () => {
              const profile = profileFor(u.productId, u.serviceId, u.clientId);
              const a = profile ? assessUsage(u, profile) : null;
              const bwUsage = toMb(u.usedBytes);
              const bwLimit = a ? toMb(a.allowanceBytes) : 0;
              const key = `${bwUsage}/${bwLimit}`;
              if (written.get(u.serviceId) === key) return;
              try {
                await deps.panel.updateClientProduct({ serviceId: u.serviceId, bwUsage, bwLimit });
                written.set(u.serviceId, key);
                updated++;
              } catch (err) {
                failed++;
                deps.log.warn('panel_fields.update_failed', {
                  serviceId: u.serviceId,
                  ...loggedError(err),
                });
              }
            }),
          ),
        );
      }
      return { updated, failed };
    },
  };
}
