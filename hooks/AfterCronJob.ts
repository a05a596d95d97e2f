import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { Clock } from '../module/domain/clock.js';
import { samplingDue } from '../module/domain/sampling-schedule.js';
import type { MeteringService } from '../module/services/metering.js';
import type { SettingsService } from '../module/services/settings.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS AfterCronJob (after every 5-minute cron): takes the day's samples once the configured time
 * (default 23:50, before the masters' midnight reset) has come, and retries the services still
 * missing on later ticks until the day's window closes. Then, on every tick, the usage watch:
 * after a collect the threshold notices and the policy at the limit, otherwise only what is due
 * (retries, lifts). Never throws.
 */
const RETRY_MINUTES = 15;

export function AfterCronJob(deps: {
  metering: MeteringService;
  settings: SettingsService;
  clock: Clock;
  zone: string;
  log: Logger;
  watchUsage?: (ran: { collected: boolean }) => Promise<void>;
  everyTick?: () => Promise<void>;
}): HookDefinition {
  return {
    name: 'AfterCronJob',
    priority: 10,
    async handler() {
      try {
        await deps.everyTick?.();
      } catch (err) {
        deps.log.error('hook.after_cron.tick_failed', { ...loggedError(err) });
      }
      let collected = false;
      try {
        const { due, date } = samplingDue(deps.clock.now(), deps.zone, await deps.settings.get('sample_at'));
        if (!due || (await deps.metering.pending(date)) === 0) return;
        // Services a master failed to answer are retried, but not on every 5-minute tick.
        const last = await deps.metering.lastRunStarted(date);
        if (last && deps.clock.now().diff(last, 'minutes').minutes < RETRY_MINUTES) return;
        const s = await deps.metering.collect({ date });
        collected = true;
        deps.log.info('hook.after_cron.collect', {
          date,
          read: s.readOk,
          failed: s.failed,
          gaps: s.gaps,
          resets: s.resets,
        });
      } catch (err) {
        deps.log.error('hook.after_cron.failed', { ...loggedError(err) });
      } finally {
        await deps
          .watchUsage?.({ collected })
          .catch((err: unknown) => deps.log.error('hook.after_cron.watch_failed', { ...loggedError(err) }));
      }
    },
  };
}
