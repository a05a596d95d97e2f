import { loggedError } from '../module/adapters/rows.js';
import { closingDateOf } from '../module/domain/calendar.js';
import type { Logger } from '../module/adapters/logger.js';
import type { Clock } from '../module/domain/clock.js';
import type { MeteringService } from '../module/services/metering.js';
import type { RatedBeforeInvoicing } from '../module/services/daily-jobs.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS PreCronJob (start of the daily automation, before the panel generates the day's invoices):
 * rates the usage periods that closed and the pool months that ended, so that each renewal
 * invoice's InvoiceCreation finds its charges rated and only places the lines. A pool month waits
 * for DailyCronJob when the day that ended still misses samples. Never throws: a failure is logged,
 * and each delivery rates its own services' periods, as it always does for what is left.
 */
export function PreCronJob(deps: {
  metering: MeteringService;
  clock: Clock;
  zone: string;
  log: Logger;
  rateBeforeInvoicing?: (samplesIn: () => Promise<boolean>) => Promise<RatedBeforeInvoicing>;
}): HookDefinition {
  return {
    name: 'PreCronJob',
    priority: 10,
    async handler() {
      if (!deps.rateBeforeInvoicing) return;
      const date = closingDateOf(deps.clock.now(), deps.zone);
      try {
        const r = await deps.rateBeforeInvoicing(async () => (await deps.metering.pending(date)) === 0);
        deps.log.info('hook.pre_cron.rated', { date, ...r });
      } catch (err) {
        deps.log.error('hook.pre_cron.failed', { date, ...loggedError(err) });
      }
    },
  };
}
