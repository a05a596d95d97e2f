import { expect } from 'chai';
import { ManualClock } from '../../module/adapters/clocks.js';
import { silentLogger } from '../../module/adapters/logger.js';
import type { CollectSummary, MeteringService } from '../../module/services/metering.js';
import type { SettingsService } from '../../module/services/settings.js';
import { AfterCronJob } from '../../hooks/AfterCronJob.js';
import { DailyCronJob } from '../../hooks/DailyCronJob.js';

const ZONE = 'Europe/Brussels';

function meteringStub(state: { pending: number; collects: number; fail?: boolean }): MeteringService {
  return {
    async pending() {
      return state.pending;
    },
    async lastRunStarted() {
      return null;
    },
    async collect() {
      state.collects++;
      if (state.fail) throw new Error('database gone');
      state.pending = 0;
      return { readOk: 1, failed: 0, gaps: 0, resets: 0 } as CollectSummary;
    },
  };
}

const settings = { get: async () => '23:50' } as unknown as SettingsService;

/** The cron hooks hand the usage watch every run: after a collect, and on the other ticks. */
describe('the cron hooks and the usage watch', () => {
  it('AfterCronJob tells the watch a collect ran, and on later ticks that none did', async () => {
    const clock = new ManualClock('2013-05-20T21:50:00Z');
    const state = { pending: 3, collects: 0 };
    const calls: boolean[] = [];
    const hook = AfterCronJob({
      metering: meteringStub(state),
      settings,
      clock,
      zone: ZONE,
      log: silentLogger,
      watchUsage: async (r) => void calls.push(r.collected),
    });
    await hook.handler({});
    clock.set('2013-05-20T21:55:00Z');
    await hook.handler({});
    // before the evening's sampling time: no collect, the watch still runs (retries are due any time)
    clock.set('2013-05-21T10:00:00Z');
    await hook.handler({});
    expect(state.collects).to.equal(1);
    expect(calls).to.deep.equal([true, false, false]);
  });

  it('AfterCronJob never throws, whether the collect or the watch fails', async () => {
    const clock = new ManualClock('2013-05-20T21:50:00Z');
    const state = { pending: 3, collects: 0, fail: true };
    const calls: boolean[] = [];
    const hook = AfterCronJob({
      metering: meteringStub(state),
      settings,
      clock,
      zone: ZONE,
      log: silentLogger,
      watchUsage: async (r) => {
        calls.push(r.collected);
        throw new Error('panel down');
      },
    });
    await hook.handler({});
    expect(calls).to.deep.equal([false]);
  });

  it('DailyCronJob runs the watch after its collect and before the billing work, and never throws', async () => {
    const clock = new ManualClock('2013-05-21T07:00:00Z');
    const order: string[] = [];
    const state = { pending: 2, collects: 0 };
    const hook = DailyCronJob({
      metering: meteringStub(state),
      clock,
      zone: ZONE,
      log: silentLogger,
      watchUsage: async (r) => {
        order.push(`watch:${r.collected}`);
        throw new Error('boom');
      },
      dailyBilling: async () => void order.push('billing'),
    });
    await hook.handler({});
    await hook.handler({});
    expect(order).to.deep.equal(['watch:true', 'billing', 'watch:false', 'billing']);
  });
});
