import { expect } from 'chai';
import { effectiveProfile, profileSchema } from '../../module/services/billing-settings.js';

const base = { unit: 'GB', allowance: '5 TB', prices: { EUR: { overage: '0.50' } } } as const;

/** The product settings for thresholds and the policy at the limit: added fields, old settings unchanged. */
describe('threshold and limit-policy settings', () => {
  it('defaults to 80, 90 and 100 % and billing the overusage, for settings stored before they existed', () => {
    const p = profileSchema.parse(base);
    expect(p.thresholds).to.deep.equal([80, 90, 100]);
    expect(p.limitPolicy).to.deep.equal({ action: 'bill' });
    // what was there keeps its value
    expect(p).to.deep.include({ model: 'per_unit', tolerance: '0', prorate: true, upgradeAfterPeriods: 3 });
  });

  it('sorts thresholds and drops repeats; refuses fractions, zero and an empty list', () => {
    expect(profileSchema.parse({ ...base, thresholds: [100, 75, 75] }).thresholds).to.deep.equal([75, 100]);
    for (const thresholds of [[80.5], [0], []])
      expect(profileSchema.safeParse({ ...base, thresholds }).success).to.equal(false);
  });

  it('needs a speed or a plan to throttle', () => {
    expect(profileSchema.safeParse({ ...base, limitPolicy: { action: 'throttle' } }).success).to.equal(false);
    expect(
      profileSchema.parse({ ...base, limitPolicy: { action: 'throttle', throttleMbps: 10 } }).limitPolicy,
    ).to.deep.equal({ action: 'throttle', throttleMbps: 10 });
    expect(
      profileSchema.parse({ ...base, limitPolicy: { action: 'throttle', throttlePlanId: 4 } }).limitPolicy
        .throttlePlanId,
    ).to.equal(4);
    expect(profileSchema.safeParse({ ...base, limitPolicy: { action: 'shutdown' } }).success).to.equal(false);
    expect(
      profileSchema.safeParse({ ...base, limitPolicy: { action: 'suspend', speed: 1 } }).success,
    ).to.equal(false);
  });

  it('lets a service override the thresholds and the policy', () => {
    const product = profileSchema.parse({ ...base, limitPolicy: { action: 'suspend' } });
    const p = effectiveProfile(
      product,
      { thresholds: [95], limitPolicy: { action: 'throttle', throttleMbps: 5 } },
      null,
    );
    expect(p.thresholds).to.deep.equal([95]);
    expect(p.limitPolicy).to.deep.equal({ action: 'throttle', throttleMbps: 5 });
    expect(effectiveProfile(product, null, null).limitPolicy).to.deep.equal({ action: 'suspend' });
  });
});
