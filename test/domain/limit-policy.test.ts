import { expect } from 'chai';
import {
  actionAtLimit,
  beforeSuspend,
  beforeUnsuspend,
  callOff,
  liftReason,
  limitActionKey,
  releasedBehindOurBack,
  restoredSpeed,
  retryDelayMs,
  sameSpeed,
  throttledSpeed,
  type BandwidthLimit,
  type SpeedSettings,
} from '../../module/domain/limit-policy.js';

const TB = 10n ** 12n;
const MIN = 60_000;

describe('limit policy', () => {
  describe('actionAtLimit', () => {
    it('asks for nothing when the policy bills, whatever the traffic', () => {
      expect(actionAtLimit({ action: 'bill' }, 9n * TB, 5n * TB)).to.equal(null);
    });
    it('asks for the action from the first byte of the allowance’s end, not before', () => {
      expect(actionAtLimit({ action: 'suspend' }, 5n * TB - 1n, 5n * TB)).to.equal(null);
      expect(actionAtLimit({ action: 'suspend' }, 5n * TB, 5n * TB)).to.equal('suspend');
      expect(actionAtLimit({ action: 'throttle' }, 6n * TB, 5n * TB)).to.equal('throttle');
    });
    it('never acts on a VPS without traffic, even with no allowance', () => {
      expect(actionAtLimit({ action: 'suspend' }, 0n, 0n)).to.equal(null);
      expect(actionAtLimit({ action: 'suspend' }, 1n, 0n)).to.equal('suspend');
    });
  });

  it('keys an action by period, action and the allowance it enforces', () => {
    expect(limitActionKey(12, 'suspend', 5n * TB)).to.equal('period:12:suspend:5000000000000');
    expect(limitActionKey(12, 'suspend', 6n * TB)).to.not.equal(limitActionKey(12, 'suspend', 5n * TB));
  });

  describe('liftReason', () => {
    const inForce = { action: 'suspend' as const, periodId: 7 };
    const now = {
      openPeriodId: 7,
      usedBytes: 5n * TB,
      allowanceBytes: 5n * TB,
      policyAction: 'suspend' as const,
    };
    it('keeps the action while the period, the allowance and the policy stay', () => {
      expect(liftReason(inForce, now)).to.equal(null);
    });
    it('lifts when a reset opened the next period', () => {
      expect(liftReason(inForce, { ...now, openPeriodId: 8, usedBytes: 0n })).to.equal('next_period');
    });
    it('lifts when the allowance was raised above the traffic', () => {
      expect(liftReason(inForce, { ...now, allowanceBytes: 6n * TB })).to.equal('allowance_raised');
    });
    it('lifts when the policy no longer asks for it, or the product is no longer billed', () => {
      expect(liftReason(inForce, { ...now, policyAction: 'bill' })).to.equal('policy_changed');
      expect(liftReason(inForce, { ...now, policyAction: 'throttle' })).to.equal('policy_changed');
      expect(liftReason(inForce, { ...now, policyAction: null, allowanceBytes: null })).to.equal(
        'policy_changed',
      );
    });
    it('does not take a service without an open period for a new period', () => {
      expect(liftReason(inForce, { ...now, openPeriodId: null })).to.equal(null);
    });
  });

  it('cancels what was never sent, and lifts what was sent even if the answer was lost', () => {
    expect(callOff('pending', 0)).to.equal('cancelled');
    expect(callOff('pending', 2)).to.equal('lifting');
    expect(callOff('applied', 0)).to.equal('lifting');
  });

  describe('never fighting SolusVM', () => {
    it('records a suspension SolusVM already made instead of making it again', () => {
      expect(beforeSuspend('suspended')).to.equal('observe');
      expect(beforeSuspend('online')).to.equal('act');
      expect(beforeSuspend('offline')).to.equal('act');
      expect(beforeSuspend('processing')).to.equal('wait');
    });
    it('unsuspends only a server that is still suspended', () => {
      expect(beforeUnsuspend('suspended')).to.equal('act');
      expect(beforeUnsuspend('online')).to.equal('done');
      expect(beforeUnsuspend('processing')).to.equal('wait');
    });
    it('sees a suspension undone only in a sample taken after it', () => {
      expect(releasedBehindOurBack(1000, { state: 'online', sampledAtMs: 999 })).to.equal(false);
      expect(releasedBehindOurBack(1000, { state: 'online', sampledAtMs: 1000 })).to.equal(false);
      expect(releasedBehindOurBack(1000, { state: 'online', sampledAtMs: 1001 })).to.equal(true);
      // a stopped server is not suspended either: someone lifted the suspension
      expect(releasedBehindOurBack(1000, { state: 'offline', sampledAtMs: 1001 })).to.equal(true);
      expect(releasedBehindOurBack(1000, { state: 'suspended', sampledAtMs: 2000 })).to.equal(false);
      expect(releasedBehindOurBack(1000, { state: 'unknown', sampledAtMs: 2000 })).to.equal(false);
      expect(releasedBehindOurBack(1000, null)).to.equal(false);
    });
  });

  it('backs off 5, 10, 20 … minutes, at most 4 hours', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs)).to.deep.equal(
      [5, 10, 20, 40, 80, 160, 240, 240].map((m) => m * MIN),
    );
  });

  describe('speed settings', () => {
    const saved: SpeedSettings = {
      version: 2,
      planId: 7,
      incoming: { isEnabled: false, limit: 0, unit: 'Kbps' },
      outgoing: { isEnabled: true, limit: 1, unit: 'Gbps' },
    };
    it('throttles SolusVM 1 with the configured customnspeed and puts the configured speed back', () => {
      expect(throttledSpeed(1, { action: 'throttle', throttleMbps: 10 }, null)).to.deep.equal({
        version: 1,
        customnspeed: 10,
      });
      expect(restoredSpeed(1, { action: 'throttle', throttleMbps: 10 }, null)).to.deep.equal({
        version: 1,
        customnspeed: 0,
      });
      expect(
        restoredSpeed(1, { action: 'throttle', throttleMbps: 10, restoreMbps: 1000 }, null),
      ).to.deep.equal({ version: 1, customnspeed: 1000 });
      expect(() => throttledSpeed(1, { action: 'throttle', throttlePlanId: 3 }, null)).to.throw(
        /throttleMbps/,
      );
    });
    it('throttles SolusVM 2 on its own plan with both bandwidth limits, and puts back what was read', () => {
      expect(throttledSpeed(2, { action: 'throttle', throttleMbps: 10 }, saved)).to.deep.equal({
        version: 2,
        planId: 7,
        incoming: { isEnabled: true, limit: 10, unit: 'Mbps' },
        outgoing: { isEnabled: true, limit: 10, unit: 'Mbps' },
      });
      expect(restoredSpeed(2, { action: 'throttle', throttleMbps: 10 }, saved)).to.equal(saved);
    });
    it('moves SolusVM 2 to the throttle plan when one is set', () => {
      expect(throttledSpeed(2, { action: 'throttle', throttlePlanId: 3 }, saved)).to.deep.include({
        planId: 3,
        incoming: saved.incoming,
      });
      expect(() => throttledSpeed(2, { action: 'throttle', throttleMbps: 10 }, null)).to.throw(/read first/);
      // what was read is SolusVM 1's speed: no SolusVM 2 plan to keep
      expect(() =>
        throttledSpeed(2, { action: 'throttle', throttleMbps: 10 }, { version: 1, customnspeed: 5 }),
      ).to.throw(/read first/);
    });
    it('compares settings, ignoring the number of a disabled limit', () => {
      expect(sameSpeed(saved, { ...saved, incoming: { isEnabled: false, limit: 5, unit: 'Mbps' } })).to.equal(
        true,
      );
      expect(sameSpeed(saved, { ...saved, planId: 8 })).to.equal(false);
      expect(sameSpeed({ version: 1, customnspeed: 10 }, { version: 1, customnspeed: 10 })).to.equal(true);
      expect(sameSpeed({ version: 1, customnspeed: 10 }, saved)).to.equal(false);
      // an enabled limit must match in number and unit, and enabled is never the same as disabled
      const out = (o: Partial<BandwidthLimit>): SpeedSettings => ({
        ...saved,
        outgoing: { ...saved.outgoing, ...o },
      });
      expect(sameSpeed(saved, out({ limit: 2 }))).to.equal(false);
      expect(sameSpeed(saved, out({ unit: 'Mbps' }))).to.equal(false);
      expect(sameSpeed(saved, out({ isEnabled: false }))).to.equal(false);
      expect(sameSpeed(saved, { ...saved, incoming: { isEnabled: true, limit: 0, unit: 'Kbps' } })).to.equal(
        false,
      );
      expect(sameSpeed(saved, out({}))).to.equal(true);
      expect(sameSpeed({ version: 1, customnspeed: 10 }, { version: 1, customnspeed: 20 })).to.equal(false);
      expect(sameSpeed(saved, { version: 1, customnspeed: 10 })).to.equal(false);
    });
    it('refuses a SolusVM 2 throttle with neither a speed nor a plan, and a lift with nothing read before', () => {
      expect(() => throttledSpeed(2, { action: 'throttle' }, saved)).to.throw(
        'throttling on SolusVM 2 needs limitPolicy.throttleMbps or limitPolicy.throttlePlanId',
      );
      expect(() => restoredSpeed(2, { action: 'throttle', throttleMbps: 10 }, null)).to.throw(
        'there is no saved SolusVM 2 plan to put back',
      );
      // settings read from SolusVM 1 cannot be put back on a SolusVM 2 server
      expect(() =>
        restoredSpeed(2, { action: 'throttle', throttleMbps: 10 }, { version: 1, customnspeed: 10 }),
      ).to.throw('there is no saved SolusVM 2 plan to put back');
    });
  });
});
