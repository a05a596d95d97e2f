import { expect } from 'chai';
import { DateTime } from 'luxon';
import { ManualClock } from '../../module/adapters/clocks.js';
import { createLogger, type Logger } from '../../module/adapters/logger.js';
import type { CollectSummary, MeteringService } from '../../module/services/metering.js';
import type { SettingsService } from '../../module/services/settings.js';
import { AfterCronJob } from '../../hooks/AfterCronJob.js';
import { DailyCronJob } from '../../hooks/DailyCronJob.js';
import { PreCronJob } from '../../hooks/PreCronJob.js';

/**
 * When the cron hooks collect, for which day, how often they retry, and what an operator reads in
 * the log, with a stand-in metering service that records what it was asked. Panel zone Brussels,
 * summer time (+02:00): 21:50 UTC on 20 May 2013 is 23:50 local, the default sampling time; a read
 * then, or the next morning at 07:00 UTC (09:00 local), closes 20 May.
 */
const ZONE = 'Europe/Brussels';

function fixture(
  o: { pending?: number; lastStarted?: string | null; sampleAt?: string; fail?: string } = {},
) {
  const asked: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  const metering: MeteringService = {
    async pending(date) {
      asked.push(`pending ${date}`);
      return o.pending ?? 40;
    },
    async lastRunStarted(date) {
      asked.push(`last run ${date}`);
      return o.lastStarted ? DateTime.fromISO(o.lastStarted, { setZone: true }) : null;
    },
    async collect(opts) {
      asked.push(`collect ${opts?.date}`);
      if (o.fail) throw new Error(o.fail);
      return { readOk: 37, failed: 3, gaps: 1, resets: 2 } as CollectSummary;
    },
  };
  const settings = {
    get: async (k: string) => (k === 'sample_at' ? (o.sampleAt ?? '23:50') : null),
  } as unknown as SettingsService;
  return { asked, events: () => lines.map(({ at: _at, ...rest }) => rest), metering, settings, log };
}

describe('the cron hooks: when they collect, for which day, and what they log', () => {
  describe('AfterCronJob', () => {
    const hook = (
      f: ReturnType<typeof fixture>,
      now: string,
      extra: { everyTick?: () => Promise<void>; watch?: (r: { collected: boolean }) => Promise<void> } = {},
    ): Promise<unknown> =>
      AfterCronJob({
        metering: f.metering,
        settings: f.settings,
        clock: new ManualClock(now),
        zone: ZONE,
        log: f.log,
        ...(extra.everyTick ? { everyTick: extra.everyTick } : {}),
        ...(extra.watch ? { watchUsage: extra.watch } : {}),
      }).handler({}) as Promise<unknown>;

    it('collects 20 May at 23:50 local and logs the run’s figures', async () => {
      const f = fixture();
      await hook(f, '2013-05-20T21:50:00Z');
      expect(f.asked).to.deep.equal(['pending 2013-05-20', 'last run 2013-05-20', 'collect 2013-05-20']);
      expect(f.events()).to.deep.equal([
        {
          level: 'info',
          event: 'hook.after_cron.collect',
          date: '2013-05-20',
          read: 37,
          failed: 3,
          gaps: 1,
          resets: 2,
        },
      ]);
    });

    it('does not read at 23:45 with the default time, but does with sample_at 23:40', async () => {
      const early = fixture();
      await hook(early, '2013-05-20T21:45:00Z');
      expect(early.asked).to.deep.equal([]);
      const set = fixture({ sampleAt: '23:40' });
      await hook(set, '2013-05-20T21:45:00Z');
      expect(set.asked).to.include('collect 2013-05-20');
    });

    it('does not collect when no service is missing a sample', async () => {
      const f = fixture({ pending: 0 });
      await hook(f, '2013-05-20T22:30:00Z');
      expect(f.asked).to.deep.equal(['pending 2013-05-20']);
    });

    it('retries the services still missing 15 minutes after the last run started, not sooner', async () => {
      // the last run started at 23:50 local (21:50 UTC)
      const at = async (now: string) => {
        const f = fixture({ pending: 3, lastStarted: '2013-05-20T21:50:00Z' });
        await hook(f, now);
        return f.asked.includes('collect 2013-05-20');
      };
      expect(await at('2013-05-20T21:55:00Z')).to.equal(false); // 5 minutes
      expect(await at('2013-05-20T22:04:59Z')).to.equal(false); // 14 min 59 s
      expect(await at('2013-05-20T22:05:00Z')).to.equal(true); // 15 minutes
      expect(await at('2013-05-20T22:20:00Z')).to.equal(true);
    });

    it('logs a failed tick, collect and watch apart, and still tells the watch no collect ran', async () => {
      const f = fixture({ fail: 'database gone' });
      const told: boolean[] = [];
      await hook(f, '2013-05-20T21:50:00Z', {
        everyTick: async () => {
          throw new Error('resume failed');
        },
        watch: async (r) => {
          told.push(r.collected);
          throw new Error('panel down');
        },
      });
      expect(told).to.deep.equal([false]);
      expect(f.events()).to.deep.equal([
        { level: 'error', event: 'hook.after_cron.tick_failed', error: 'Error' },
        { level: 'error', event: 'hook.after_cron.failed', error: 'Error' },
        { level: 'error', event: 'hook.after_cron.watch_failed', error: 'Error' },
      ]);
    });
  });

  describe('PreCronJob', () => {
    const hook = (
      f: ReturnType<typeof fixture>,
      rate: Parameters<typeof PreCronJob>[0]['rateBeforeInvoicing'],
    ) =>
      PreCronJob({
        metering: f.metering,
        clock: new ManualClock('2013-05-21T07:00:00Z'),
        zone: ZONE,
        log: f.log,
        ...(rate ? { rateBeforeInvoicing: rate } : {}),
      }).handler({});

    it('at 09:00 local asks whether 20 May’s samples are all in (for the pool months), and logs what it rated', async () => {
      const f = fixture({ pending: 3 });
      const answers: boolean[] = [];
      await hook(f, async (samplesIn) => {
        answers.push(await samplesIn());
        return { periods: 12, pools: 0, poolsWait: true };
      });
      expect(f.asked).to.deep.equal(['pending 2013-05-20']);
      expect(answers).to.deep.equal([false]);
      expect(f.events()).to.deep.equal([
        {
          level: 'info',
          event: 'hook.pre_cron.rated',
          date: '2013-05-20',
          periods: 12,
          pools: 0,
          poolsWait: true,
        },
      ]);
      const all = fixture({ pending: 0 });
      await hook(all, async (samplesIn) => ({
        periods: 0,
        pools: Number(await samplesIn()),
        poolsWait: false,
      }));
      expect(all.events()[0]).to.deep.include({ pools: 1 });
    });

    it('never throws: a failed rating is logged, and nothing else is done (the deliveries rate as before)', async () => {
      const f = fixture();
      await hook(f, async () => {
        throw new Error('rating failed');
      });
      expect(f.asked).to.deep.equal([]);
      expect(f.events()).to.deep.equal([
        { level: 'error', event: 'hook.pre_cron.failed', date: '2013-05-20', error: 'Error' },
      ]);
      // without the rating (a module built without it) the hook does nothing
      const none = fixture();
      await hook(none, undefined);
      expect(none.events()).to.deep.equal([]);
    });
  });

  describe('DailyCronJob', () => {
    it('at 09:00 local collects the day that ended (20 May) when samples are missing, and logs the figures', async () => {
      const f = fixture();
      const order: string[] = [];
      await DailyCronJob({
        metering: f.metering,
        clock: new ManualClock('2013-05-21T07:00:00Z'),
        zone: ZONE,
        log: f.log,
        beforeSampling: async () => void order.push('sync'),
      }).handler({});
      expect(order).to.deep.equal(['sync']);
      expect(f.asked).to.deep.equal(['pending 2013-05-20', 'collect 2013-05-20']);
      expect(f.events()).to.deep.equal([
        {
          level: 'info',
          event: 'hook.daily_cron.collect',
          date: '2013-05-20',
          read: 37,
          failed: 3,
          gaps: 1,
          resets: 2,
        },
      ]);
    });

    it('does not collect when the evening run took every sample', async () => {
      const f = fixture({ pending: 0 });
      await DailyCronJob({
        metering: f.metering,
        clock: new ManualClock('2013-05-21T07:00:00Z'),
        zone: ZONE,
        log: f.log,
      }).handler({});
      expect(f.asked).to.deep.equal(['pending 2013-05-20']);
    });

    it('logs a failed sync, collect, watch and billing apart, and goes on to the next step after each', async () => {
      const f = fixture({ fail: 'database gone' });
      const boom = (what: string) => async () => {
        throw new Error(what);
      };
      await DailyCronJob({
        metering: f.metering,
        clock: new ManualClock('2013-05-21T07:00:00Z'),
        zone: ZONE,
        log: f.log,
        beforeSampling: boom('panel API unreachable'),
        watchUsage: boom('watch failed'),
        dailyBilling: boom('rating failed'),
      }).handler({});
      expect(f.asked).to.deep.equal(['pending 2013-05-20', 'collect 2013-05-20']);
      expect(f.events()).to.deep.equal([
        { level: 'error', event: 'hook.daily_cron.sync_failed', error: 'Error' },
        { level: 'error', event: 'hook.daily_cron.failed', date: '2013-05-20', error: 'Error' },
        { level: 'error', event: 'hook.daily_cron.watch_failed', error: 'Error' },
        { level: 'error', event: 'hook.daily_cron.billing_failed', error: 'Error' },
      ]);
    });
  });
});
