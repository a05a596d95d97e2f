import { closingDateOf } from '../module/domain/calendar.js';
import type { Logger } from '../module/adapters/logger.js';
import { loggedError } from '../module/adapters/rows.js';
import type { Clock } from '../module/domain/clock.js';
import type { MeteringService } from '../module/services/metering.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS DailyCronJob (end of the daily automation, usually in the morning): samples the day that
 * just ended if the evening run on the 5-minute cron did not (the first line of defence against a
 * missing day) after linking the panel's new services, tells the usage watch (threshold notices, the policy at the limit), then does the
 * day's billing work (rating closed periods, upgrade suggestions).
 * Never throws: a failure is logged and the next run fills what it can.
 */
export function DailyCronJob(deps: {
  metering: MeteringService;
  clock: Clock;
  zone: string;
  log: Logger;
  dailyBilling?: () => Promise<void>;
  watchUsage?: (ran: { collected: boolean }) => Promise<void>;
  beforeSampling?: () => Promise<void>;
}): HookDefinition {
  return {
    name: 'DailyCronJob',
    priority: 10,
    async handler() {
      const date = closingDateOf(deps.clock.now(), deps.zone);
      let collected = false;
      try {
        await deps.beforeSampling?.();
      } catch (err) {
        deps.log.error('hook.daily_cron.sync_failed', { ...loggedError(err) });
      }
      try {
        if ((await deps.metering.pending(date)) > 0) {
          const s = await deps.metering.collect({ date });
          collected = true;
          deps.log.info('hook.daily_cron.collect', {
            date,
            read: s.readOk,
            failed: s.failed,
            gaps: s.gaps,
            resets: s.resets,
          });
        }
      } catch (err) {
        deps.log.error('hook.daily_cron.failed', { date, ...loggedError(err) });
      }
      await deps
        .watchUsage?.({ collected })
        .catch((err: unknown) => deps.log.error('hook.daily_cron.watch_failed', { ...loggedError(err) }));
      try {
        await deps.dailyBilling?.();
      } catch (err) {
        deps.log.error('hook.daily_cron.billing_failed', { ...loggedError(err) });
      }
    },
  };
}
