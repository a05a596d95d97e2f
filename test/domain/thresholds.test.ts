import { expect } from 'chai';
import fc from 'fast-check';
import { UNIT_BYTES } from '../../module/domain/bytes.js';
import { addDays } from '../../module/domain/calendar.js';
import { parseDecimal } from '../../module/domain/money.js';
import {
  crossedThresholds,
  DEFAULT_THRESHOLDS,
  openPeriodShape,
  parseThresholds,
  percentUsed,
  periodAllowance,
  periodSeconds,
  projectCost,
  projectUsage,
  thresholdToNotify,
  type PeriodShape,
} from '../../module/domain/thresholds.js';
import type { RatingPlan } from '../../module/domain/usage-rating.js';

const GB = UNIT_BYTES.GB;
const TB = UNIT_BYTES.TB;
const may: PeriodShape = { from: '2013-05-01', end: '2013-05-31', nominalDays: 31 };
const plan = (over: Partial<RatingPlan> = {}): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 5n * TB,
  toleranceBytes: 0n,
  rate: parseDecimal('0.50', 'rate'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: true,
  ...over,
});

describe('thresholds', () => {
  describe('parseThresholds', () => {
    it('sorts and drops repeats', () => {
      expect(parseThresholds([100, 80, 90, 80])).to.deep.equal([80, 90, 100]);
    });
    it('refuses fractions, zero, negatives, huge values, text and an empty list', () => {
      for (const bad of [[80.5], [0], [-10], [1001], ['80'], []])
        expect(() => parseThresholds(bad)).to.throw(/threshold/);
    });
    it('takes 1 and 1000 %, and up to 20 thresholds', () => {
      expect(parseThresholds([1, 1000])).to.deep.equal([1, 1000]);
      const twenty = Array.from({ length: 20 }, (_, i) => (i + 1) * 5);
      expect(parseThresholds(twenty)).to.have.length(20);
      expect(() => parseThresholds([...twenty, 105])).to.throw('at most 20 thresholds');
    });
    it('has 80, 90 and 100 % as the default', () => {
      expect(DEFAULT_THRESHOLDS).to.deep.equal([80, 90, 100]);
    });
  });

  describe('crossedThresholds', () => {
    it('counts a threshold as reached at exactly its share of the allowance, not a byte before', () => {
      expect(crossedThresholds(4n * TB - 1n, 5n * TB, [80, 90, 100])).to.deep.equal([]);
      expect(crossedThresholds(4n * TB, 5n * TB, [80, 90, 100])).to.deep.equal([80]);
      expect(crossedThresholds(5n * TB, 5n * TB, [80, 90, 100])).to.deep.equal([80, 90, 100]);
    });
    it('is exact past 2^53 bytes', () => {
      const allowance = 100n * 2n ** 55n;
      const eighty = (allowance * 80n) / 100n;
      expect(crossedThresholds(eighty, allowance, [80])).to.deep.equal([80]);
      expect(crossedThresholds(eighty - 1n, allowance, [80])).to.deep.equal([]);
    });
    it('treats a zero allowance as every byte being over it', () => {
      expect(crossedThresholds(0n, 0n, [80, 100])).to.deep.equal([]);
      expect(crossedThresholds(1n, 0n, [80, 100])).to.deep.equal([80, 100]);
    });
    it('agrees with used × 100 ≥ allowance × p for any figures', () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: 10n ** 18n }),
          fc.bigInt({ min: 1n, max: 10n ** 18n }),
          fc.integer({ min: 1, max: 1000 }),
          (used, allowance, p) => {
            expect(crossedThresholds(used, allowance, [p]).length === 1).to.equal(
              used * 100n >= allowance * BigInt(p),
            );
          },
        ),
      );
    });
  });

  describe('thresholdToNotify', () => {
    it('names the one threshold crossed', () => {
      expect(thresholdToNotify([80], [])).to.deep.equal({ pct: 80, covers: [80] });
    });
    it('sends one notice naming the highest when several are crossed at once', () => {
      expect(thresholdToNotify([80, 90, 100], [])).to.deep.equal({ pct: 100, covers: [80, 90, 100] });
      expect(thresholdToNotify([80, 90, 100], [80])).to.deep.equal({ pct: 100, covers: [90, 100] });
    });
    it('tells nothing twice, and nothing lower than what was told', () => {
      expect(thresholdToNotify([80, 90], [80, 90])).to.equal(null);
      expect(thresholdToNotify([80], [90])).to.equal(null);
      expect(thresholdToNotify([], [])).to.equal(null);
    });
    it('lists what one notice covers in ascending order, whatever order it was given', () => {
      expect(thresholdToNotify([100, 80, 90], [])).to.deep.equal({ pct: 100, covers: [80, 90, 100] });
    });
    it('refuses negative figures', () => {
      expect(() => crossedThresholds(-1n, 5n, [80])).to.throw(
        'used bytes and the allowance must not be negative',
      );
      expect(() => crossedThresholds(5n, -1n, [80])).to.throw(
        'used bytes and the allowance must not be negative',
      );
    });
  });

  describe('percentUsed', () => {
    it('is exact to one decimal, half-up', () => {
      expect(percentUsed(4100n * GB, 5n * TB)).to.equal('82.0');
      expect(percentUsed(1n, 2000n)).to.equal('0.1'); // 0.05 % rounds up
      expect(percentUsed(6n * TB, 5n * TB)).to.equal('120.0');
      expect(percentUsed(1n, 0n)).to.equal(null);
    });
  });

  describe('periodAllowance', () => {
    it('is the plan allowance for a full period', () => {
      expect(periodAllowance(plan(), may)).to.equal(5n * TB);
    });
    it('is prorated, rounded up, when the service had only part of the period', () => {
      expect(periodAllowance(plan(), { ...may, from: '2013-05-21' })).to.equal((5n * TB * 11n + 30n) / 31n);
      expect(periodAllowance(plan({ prorate: false }), { ...may, from: '2013-05-21' })).to.equal(5n * TB);
    });
    it('is the whole allowance when the period never ends', () => {
      expect(periodAllowance(plan(), { from: '2013-05-21', end: null, nominalDays: null })).to.equal(5n * TB);
    });
    it('is the whole allowance when the period lacks either its end or its nominal length', () => {
      // proration needs both: the days had (from → end) and the days of a full period
      expect(periodAllowance(plan(), { from: '2013-05-21', end: '2013-05-31', nominalDays: null })).to.equal(
        5n * TB,
      );
      expect(periodAllowance(plan(), { from: '2013-05-21', end: null, nominalDays: 31 })).to.equal(5n * TB);
    });
  });

  describe('projectUsage', () => {
    it('projects the run-out day and the end of the period from the pace so far', () => {
      // 20 days, 4.1 TB: 205 GB a day; 900 GB left → 4.39 days → runs out on the 25th
      const p = projectUsage({
        shape: may,
        asOf: '2013-05-20',
        usedBytes: 4100n * GB,
        allowanceBytes: 5n * TB,
      });
      expect(p).to.deep.equal({
        daysElapsed: 20,
        daysInPeriod: 31,
        dailyAverageBytes: 205n * GB,
        runOut: { kind: 'on', date: '2013-05-25' },
        projectedUsedBytes: 6355n * GB,
      });
    });
    it('says the allowance lasts when the projected run-out day is after the period', () => {
      const p = projectUsage({
        shape: may,
        asOf: '2013-05-20',
        usedBytes: 2000n * GB,
        allowanceBytes: 5n * TB,
      });
      expect(p.runOut).to.deep.equal({ kind: 'lasts' });
      expect(p.projectedUsedBytes).to.equal(3100n * GB);
    });
    it('runs out on the last day when the projection reaches the allowance exactly then', () => {
      // 31 days × 5 TB/31 per day: exactly 5 TB on the 31st
      const perDay = 5n * TB;
      const p = projectUsage({
        shape: may,
        asOf: '2013-05-01',
        usedBytes: perDay / 31n + 1n,
        allowanceBytes: perDay,
      });
      expect(p.runOut).to.deep.equal({ kind: 'on', date: '2013-05-31' });
    });
    it('says reached once the allowance is used up, and nothing on a period without traffic', () => {
      expect(
        projectUsage({ shape: may, asOf: '2013-05-20', usedBytes: 5n * TB, allowanceBytes: 5n * TB }).runOut,
      ).to.deep.equal({ kind: 'reached' });
      expect(
        projectUsage({ shape: may, asOf: '2013-05-20', usedBytes: 0n, allowanceBytes: 5n * TB }).runOut,
      ).to.deep.equal({ kind: 'no_traffic' });
    });
    it('projects no end for a period that never resets, but still a run-out day', () => {
      const p = projectUsage({
        shape: { from: '2013-05-01', end: null, nominalDays: null },
        asOf: '2013-05-10',
        usedBytes: 1n * TB,
        allowanceBytes: 5n * TB,
      });
      expect(p.projectedUsedBytes).to.equal(null);
      expect(p.runOut).to.deep.equal({ kind: 'on', date: '2013-06-19' });
    });
    it('refuses a last day before the period', () => {
      expect(() => projectUsage({ shape: may, asOf: '2013-04-30', usedBytes: 1n, allowanceBytes: 1n }))
        .to.throw(/before the period/)
        .with.property('details')
        .that.deep.equals({ asOf: '2013-04-30', from: '2013-05-01' });
      expect(() =>
        projectUsage({ shape: may, asOf: '2013-05-20', usedBytes: -1n, allowanceBytes: 1n }),
      ).to.throw('used bytes and the allowance must not be negative');
      expect(() =>
        projectUsage({ shape: may, asOf: '2013-05-20', usedBytes: 1n, allowanceBytes: -1n }),
      ).to.throw('used bytes and the allowance must not be negative');
      // no allowance: any traffic has reached it
      expect(
        projectUsage({ shape: may, asOf: '2013-05-20', usedBytes: 1n, allowanceBytes: 0n }).runOut,
      ).to.deep.equal({ kind: 'reached' });
    });
    it('on a period that never ends, says the allowance lasts when it would run out more than 36 500 days away', () => {
      const never = { from: '2013-05-01', end: null, nominalDays: null };
      // 1 byte on the first day, 36 501 allowed: 36 500 more days, on 7 April 2113
      expect(
        projectUsage({ shape: never, asOf: '2013-05-01', usedBytes: 1n, allowanceBytes: 36_501n }).runOut,
      ).to.deep.equal({ kind: 'on', date: '2113-04-07' });
      expect(
        projectUsage({ shape: never, asOf: '2013-05-01', usedBytes: 1n, allowanceBytes: 36_502n }).runOut,
      ).to.deep.equal({ kind: 'lasts' });
    });
    it('puts the run-out day where the straight line first reaches the allowance', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 30 }),
          fc.bigInt({ min: 1n, max: 10n ** 15n }),
          fc.bigInt({ min: 1n, max: 10n ** 15n }),
          (elapsedMinus1, used, allowance) => {
            fc.pre(used < allowance && allowance <= used * 1000n);
            const asOf = addDays(may.from, elapsedMinus1);
            const p = projectUsage({
              shape: { ...may, end: null },
              asOf,
              usedBytes: used,
              allowanceBytes: allowance,
            });
            if (p.runOut.kind !== 'on') throw new Error('expected a day');
            const e = BigInt(elapsedMinus1 + 1);
            const k = BigInt(Math.round((Date.parse(p.runOut.date) - Date.parse(asOf)) / 86_400_000));
            // reached on day k, not on day k − 1
            expect(used * (e + k) >= allowance * e).to.equal(true);
            expect(used * (e + k - 1n) >= allowance * e).to.equal(false);
          },
        ),
      );
    });
  });

  describe('projectCost', () => {
    it('prices the bytes so far and the projected total with the bill’s own rating', () => {
      const c = projectCost(plan(), may, 5500n * GB, 6355n * GB, 'Europe/Brussels');
      expect(c).to.deep.equal({ soFarMinor: 25000n, atEndMinor: 67750n, currency: 'EUR' });
    });
    it('applies the cap and the minimum as the bill does', () => {
      const capped = plan({ capMinor: 50000n, minimumMinor: 1000n });
      expect(projectCost(capped, may, 5010n * GB, 6355n * GB, 'Europe/Brussels')).to.deep.equal({
        soFarMinor: 0n,
        atEndMinor: 50000n,
        currency: 'EUR',
      });
    });
    it('cannot project a 95th-percentile plan or a period without an end', () => {
      expect(
        projectCost(
          plan({ model: { kind: 'p95', commitMbps: parseDecimal('10', 'c') }, toleranceBytes: 0n }),
          may,
          1n,
          2n,
          'UTC',
        ),
      ).to.equal(null);
      expect(
        projectCost(plan(), { from: '2013-05-01', end: null, nominalDays: null }, 1n, null, 'UTC'),
      ).to.equal(null);
    });
    it('cannot project without an end even given a total, nor without a projected total', () => {
      expect(
        projectCost(plan(), { from: '2013-05-01', end: null, nominalDays: null }, 1n, 2n, 'UTC'),
      ).to.equal(null);
      expect(projectCost(plan(), may, 5500n * GB, null, 'UTC')).to.equal(null);
    });
    it('prices a service that had part of the period against its prorated allowance', () => {
      // 21–31 May, 11 of 31 days: 5 TB × 11 ÷ 31 = 1 774 193 548 387.1 → 1 774 193 548 388 bytes (rounded up)
      // so far 2 000 GB: 225 806 451 612 bytes over × €0.50 per GB = €112.903… → €112.90
      // at the end 2 200 GB: 425 806 451 612 bytes over × €0.50 per GB = €212.903… → €212.90
      const part = { from: '2013-05-21', end: '2013-05-31', nominalDays: 31 };
      expect(projectCost(plan(), part, 2000n * GB, 2200n * GB, 'Europe/Brussels')).to.deep.equal({
        soFarMinor: 11_290n,
        atEndMinor: 21_290n,
        currency: 'EUR',
      });
    });
  });

  describe('periodSeconds', () => {
    it('counts the hour DST takes away', () => {
      expect(periodSeconds('2013-03-01', '2013-03-31', 'Europe/Brussels')).to.equal(31n * 86_400n - 3600n);
      expect(periodSeconds('2013-03-01', '2013-03-31', 'UTC')).to.equal(31n * 86_400n);
    });
  });
});

// The open period a projection is made on: its length counts every day from start to end
// inclusive (November: 30 days), whatever day the service came in.
describe('the shape of an open period', () => {
  it('counts the full period and starts a late service on its registration day', () => {
    // registered 16 November, read up to the 20th: measured from the 16th, the period still 30 days
    expect(
      openPeriodShape({
        start: '2026-11-01',
        end: '2026-11-30',
        regdate: '2026-11-16',
        lastSampleDate: '2026-11-20',
      }),
    ).to.deep.equal({
      shape: { from: '2026-11-16', end: '2026-11-30', nominalDays: 30 },
      asOf: '2026-11-20',
    });
    // February 2028 (a leap year): 29 days; registered before the period, so from its start
    expect(
      openPeriodShape({
        start: '2028-02-01',
        end: '2028-02-29',
        regdate: '2027-06-10',
        lastSampleDate: '2028-02-03',
      }),
    ).to.deep.equal({
      shape: { from: '2028-02-01', end: '2028-02-29', nominalDays: 29 },
      asOf: '2028-02-03',
    });
  });

  it('has no end and no length for a counter that never resets, and is never measured before it starts', () => {
    // registered 10 June, the newest sample from the day before (an earlier owner): as of the 10th
    expect(
      openPeriodShape({
        start: '2026-06-01',
        end: null,
        regdate: '2026-06-10',
        lastSampleDate: '2026-06-09',
      }),
    ).to.deep.equal({
      shape: { from: '2026-06-10', end: null, nominalDays: null },
      asOf: '2026-06-10',
    });
    // no registration day known: from the period's start
    expect(
      openPeriodShape({ start: '2026-06-01', end: '2026-06-30', regdate: null, lastSampleDate: '2026-06-05' })
        .shape.from,
    ).to.equal('2026-06-01');
  });
});
