import { expect } from 'chai';
import { DateTime } from 'luxon';
import { closingDateOf } from '../../module/domain/calendar.js';
import { dailySeries, splitEvenly } from '../../module/domain/daily-series.js';
import { meterStep, type GoodSample } from '../../module/domain/metering.js';
import type { ResetRule } from '../../module/domain/reset-policy.js';

const Z = 'Europe/Brussels';
const rule: ResetRule = { policy: 'first_of_month', anchorDay: 1, zone: Z };
const sample = (iso: string, used: bigint): GoodSample => {
  const sampledAt = DateTime.fromISO(iso, { setZone: true });
  return { usedBytes: used, sampledAt, sampleDate: closingDateOf(sampledAt, Z) };
};
const TB = 10n ** 12n;

describe('meterStep', () => {
  it('opens the policy period on the first sample and books what the counter already holds before metering', () => {
    const s = sample('2013-05-10T23:50:00+02:00', 2n * TB);
    const step = meterStep(null, null, s, rule);
    expect(step.kind).to.equal('first');
    if (step.kind !== 'first') return;
    expect(step.period).to.deep.equal({ startDate: '2013-05-01', endDate: '2013-05-31', openedBy: 'first_sample' });
    expect(step.interval).to.deep.equal({ kind: 'before_metering', bytes: 2n * TB, fromDate: '2013-05-01', toDate: '2013-05-10' });
  });

  it('counts a day as the increase between two daily samples', () => {
    const a = sample('2013-05-10T23:50:00+02:00', 2n * TB);
    const b = sample('2013-05-11T23:50:00+02:00', 2n * TB + 123n);
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step).to.deep.include({ kind: 'continue', anomaly: null });
    expect(step.interval).to.deep.equal({ kind: 'daily', bytes: 123n, fromDate: '2013-05-11', toDate: '2013-05-11' });
  });

  it('keeps a gap as one interval spanning the missing days, never a zero day', () => {
    const a = sample('2013-05-10T23:50:00+02:00', 100n);
    const b = sample('2013-05-13T23:50:00+02:00', 400n);
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step.interval).to.deep.equal({ kind: 'span', bytes: 300n, fromDate: '2013-05-11', toDate: '2013-05-13' });
  });

  it('treats a decrease at the policy boundary as a reset and starts the new period on the 1st', () => {
    const a = sample('2013-05-31T23:50:00+02:00', 6n * TB);
    const b = sample('2013-06-01T23:50:00+02:00', 40n * 10n ** 9n);
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step.kind).to.equal('reset');
    if (step.kind !== 'reset') return;
    expect(step.resetKind).to.equal('policy');
    expect(step.closeEndDate).to.equal('2013-05-31');
    expect(step.period).to.deep.equal({ startDate: '2013-06-01', endDate: '2013-06-30', openedBy: 'policy_reset' });
    expect(step.interval).to.deep.equal({ kind: 'since_reset', bytes: 40n * 10n ** 9n, fromDate: '2013-06-01', toDate: '2013-06-01' });
    expect(step.unmeasuredAfter.toISO()).to.equal(a.sampledAt.toISO());
  });

  it('puts what a just-after-midnight sample read after the reset into the new period', () => {
    const a = sample('2013-05-31T00:30:00+02:00', 6n * TB); // closes 30 May
    const b = sample('2013-06-01T00:30:00+02:00', 5n); // closes 31 May, but the counter reset at 00:00
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step.kind).to.equal('reset');
    expect(step.interval).to.deep.equal({ kind: 'since_reset', bytes: 5n, fromDate: '2013-06-01', toDate: '2013-06-01' });
  });

  it('detects a manual reset as a decrease with no boundary between the samples', () => {
    const a = sample('2013-05-10T23:50:00+02:00', 3n * TB);
    const b = sample('2013-05-11T23:50:00+02:00', 7n);
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step.kind).to.equal('reset');
    if (step.kind !== 'reset') return;
    expect(step.resetKind).to.equal('manual');
    expect(step.period).to.deep.equal({ startDate: '2013-05-11', endDate: '2013-05-31', openedBy: 'manual_reset' });
    expect(step.closeEndDate).to.equal('2013-05-10');
    expect(step.interval.bytes).to.equal(7n);
  });

  it('flags a boundary the counter did not follow instead of guessing', () => {
    const a = sample('2013-05-31T23:50:00+02:00', 100n);
    const b = sample('2013-06-01T23:50:00+02:00', 150n);
    const step = meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule);
    expect(step).to.deep.include({ kind: 'continue', anomaly: 'reset_not_seen' });
    expect(step.interval.bytes).to.equal(50n);
  });

  it('treats a boundary after an empty month as a reset from zero', () => {
    const a = sample('2013-05-31T23:50:00+02:00', 0n);
    const b = sample('2013-06-01T23:50:00+02:00', 150n);
    expect(meterStep(a, { startDate: '2013-05-01', endDate: '2013-05-31' }, b, rule).kind).to.equal('reset');
  });

  it('refuses a sample that is not later than the last one', () => {
    const a = sample('2013-05-10T23:50:00+02:00', 1n);
    expect(() => meterStep(a, { startDate: '2013-05-01', endDate: null }, a, rule)).to.throw(/later than the last good sample/);
  });

  it('handles values above 2^53 exactly', () => {
    const big = 2n ** 53n + 1n;
    const a = sample('2013-05-10T23:50:00+02:00', big);
    const b = sample('2013-05-11T23:50:00+02:00', big + 2n);
    expect(meterStep(a, { startDate: '2013-05-01', endDate: null }, b, rule).interval.bytes).to.equal(2n);
  });
});

describe('dailySeries', () => {
  it('splits a multi-day interval evenly, marks it as an estimate, and keeps the sum exact', () => {
    const days = dailySeries(
      [
        { fromDate: '2013-05-01', toDate: '2013-05-01', bytes: 10n },
        { fromDate: '2013-05-02', toDate: '2013-05-04', bytes: 100n },
      ],
      '2013-05-01',
      '2013-05-05',
    );
    expect(days.map((d) => d.bytes)).to.deep.equal([10n, 34n, 33n, 33n, 0n]);
    expect(days.map((d) => d.estimatedBytes)).to.deep.equal([0n, 34n, 33n, 33n, 0n]);
    expect(days[4]!.missing).to.equal(true);
    expect(days.reduce((s, d) => s + d.bytes, 0n)).to.equal(110n);
  });

  it('never loses a byte when splitting', () => {
    for (let total = 0n; total < 200n; total += 7n) {
      for (let n = 1; n <= 9; n++) {
        expect(splitEvenly(total, n).reduce((a, b) => a + b, 0n)).to.equal(total);
      }
    }
  });
});
