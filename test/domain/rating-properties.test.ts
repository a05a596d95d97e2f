import { expect } from 'chai';
import fc from 'fast-check';
import { UNIT_BYTES } from '../../module/domain/bytes.js';
import { addDays, daysBetween } from '../../module/domain/calendar.js';
import { dailySeries, type IntervalFigure, splitEvenly } from '../../module/domain/daily-series.js';
import { easterSunday } from '../../module/domain/holidays.js';
import { allocate, formatMoney, minorDigits, moneyToDecimalString } from '../../module/domain/money.js';
import {
  type PeriodUsage,
  type RatingPlan,
  rateUsage,
  SOLD_UNITS,
  type SoldUnit,
} from '../../module/domain/usage-rating.js';

/*
 * Properties, checked on random inputs (fast-check). The rating is compared with an independent
 * rational computation written here with plain bigint arithmetic; the figures go well past 2^53,
 * where a float would already have lost bytes and cents.
 */

const RUNS = { numRuns: 400 };
const P53 = 2n ** 53n;

// ---- an independent exact oracle -------------------------------------------------------------

/** n/d (n ≥ 0, d > 0) to the nearest integer, halves up: by quotient and remainder. */
const nearestHalfUp = (n: bigint, d: bigint): bigint => {
  const q = n / d;
  return 2n * (n - q * d) >= d ? q + 1n : q;
};
const ceilDiv = (n: bigint, d: bigint): bigint => {
  const q = n / d;
  return q * d < n ? q + 1n : q;
};
const pos = (v: bigint) => (v < 0n ? 0n : v);

interface Expected {
  over: boolean;
  roundedMinor: bigint;
  amountMinor: bigint;
  writtenOffMinor: bigint;
  outcome: string;
  quantityMicro: bigint;
}

function oracle(usage: PeriodUsage, plan: RatingPlan): Expected {
  const minorPerMajor = 10n ** BigInt(minorDigits(plan.currency));
  const ratePerMajor = 10n ** BigInt(plan.rate.scale);
  const unit = UNIT_BYTES[plan.unit];
  let amountNum: bigint; // minor units × amountDen
  let amountDen: bigint;
  let quantityMicro: bigint;
  let over: boolean;
  if (plan.model.kind === 'per_unit' || plan.model.kind === 'per_block') {
    const allowance =
      plan.prorate && usage.days < usage.nominalDays
        ? ceilDiv(plan.allowanceBytes * BigInt(usage.days), BigInt(usage.nominalDays))
        : plan.allowanceBytes;
    const overBytes = pos(usage.usedBytes - allowance - plan.toleranceBytes);
    over = overBytes > 0n;
    if (plan.model.kind === 'per_unit') {
      amountNum = overBytes * plan.rate.units * minorPerMajor;
      amountDen = unit * ratePerMajor;
      quantityMicro = nearestHalfUp(overBytes * 1_000_000n, unit);
    } else {
      const blocks = ceilDiv(overBytes, unit * BigInt(plan.model.blockUnits));
      amountNum = blocks * plan.rate.units * minorPerMajor;
      amountDen = ratePerMajor;
      quantityMicro = blocks * 1_000_000n;
    }
  } else {
    const commitBps = (plan.model.commitMbps.units * 1_000_000n) / 10n ** BigInt(plan.model.commitMbps.scale);
    let overBits: bigint; // Mbit/s over = overBits / den
    let den: bigint;
    if (plan.model.kind === 'avg_mbps') {
      overBits = pos((usage.usedBytes - plan.toleranceBytes) * 8n - commitBps * usage.seconds);
      den = usage.seconds * 1_000_000n;
    } else {
      // the (n − ⌊n/20⌋)-th smallest sample, found by counting instead of sorting
      const s = usage.fiveMinuteBps!;
      const k = s.length - Math.floor(s.length / 20);
      const p = s.find((v) => s.filter((x) => x < v).length < k && s.filter((x) => x <= v).length >= k)!;
      overBits = pos(p - commitBps);
      den = 1_000_000n;
    }
    over = overBits > 0n;
    amountNum = overBits * plan.rate.units * minorPerMajor;
    amountDen = den * ratePerMajor;
    quantityMicro = nearestHalfUp(overBits * 1_000_000n, den);
  }
  const roundedMinor = nearestHalfUp(amountNum, amountDen);
  const afterCap = plan.capMinor !== null && plan.capMinor < roundedMinor ? plan.capMinor : roundedMinor;
  const outcome = !over
    ? 'within_allowance'
    : afterCap === 0n || afterCap < plan.minimumMinor
      ? 'written_off'
      : 'billed';
  return {
    over,
    roundedMinor,
    amountMinor: outcome === 'billed' ? afterCap : 0n,
    writtenOffMinor: outcome === 'written_off' ? afterCap : 0n,
    outcome,
    quantityMicro,
  };
}

const microOf = (quantity: string): bigint => {
  const [whole, frac = ''] = quantity.split('.');
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
};

// ---- generators -------------------------------------------------------------------------------

const unitArb = fc.constantFrom<SoldUnit>(...SOLD_UNITS);
const currencyArb = fc.constantFrom('EUR', 'JPY', 'BHD', 'USD');
// Round figures too (half-GB steps, 3-decimal rates), so that exact half cents come up often.
const rateArb = fc.oneof(
  fc.record({ units: fc.bigInt({ min: 0n, max: 10n ** 12n }), scale: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ units: fc.bigInt({ min: 0n, max: 2000n }), scale: fc.integer({ min: 2, max: 4 }) }),
);
/** bytes from tiny to far past 2^53 (up to 2^72, about 4.7 ZB) */
const bytesArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 13n }),
  fc.bigInt({ min: 0n, max: 2n ** 72n }),
  fc.bigInt({ min: 0n, max: 20_000n }).map((k) => k * 500_000_000n),
  fc.bigInt({ min: 0n, max: 20_000n }).map((k) => k * 2n ** 29n),
);
const modelArb = fc.oneof(
  fc.constant({ kind: 'per_unit' as const }),
  fc.integer({ min: 1, max: 1000 }).map((blockUnits) => ({ kind: 'per_block' as const, blockUnits })),
);

const volumePlanArb = fc.record({
  unit: unitArb,
  model: modelArb,
  allowanceBytes: bytesArb,
  toleranceBytes: fc.oneof(fc.constant(0n), bytesArb),
  rate: rateArb,
  currency: currencyArb,
  minimumMinor: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 6n })),
  capMinor: fc.oneof(fc.constant(null), fc.bigInt({ min: 0n, max: 10n ** 20n })),
  prorate: fc.boolean(),
}) as fc.Arbitrary<RatingPlan>;

const volumeUsageArb = fc
  .record({
    usedBytes: bytesArb,
    nominalDays: fc.integer({ min: 28, max: 31 }),
    short: fc.integer({ min: 0, max: 31 }),
  })
  .map(({ usedBytes, nominalDays, short }) => {
    const days = Math.min(short, nominalDays);
    return { usedBytes, days, nominalDays, seconds: BigInt(days) * 86_400n + 1n };
  });

// ---- properties -------------------------------------------------------------------------------

describe('properties: rating is exact rational arithmetic', () => {
  it('per_unit and per_block agree with the bigint oracle for every unit, rate and currency', () => {
    fc.assert(
      fc.property(volumeUsageArb, volumePlanArb, (usage, plan) => {
        const r = rateUsage(usage, plan);
        const e = oracle(usage, plan);
        expect(r.roundedMinor).to.equal(e.roundedMinor);
        expect(r.amountMinor).to.equal(e.amountMinor);
        expect(r.writtenOffMinor).to.equal(e.writtenOffMinor);
        expect(r.outcome).to.equal(e.outcome);
        expect(microOf(r.quantity)).to.equal(e.quantityMicro);
        expect(r.amountMinor + r.writtenOffMinor <= r.roundedMinor).to.equal(true);
      }),
      RUNS,
    );
  });

  it('avg_mbps agrees with the oracle', () => {
    fc.assert(
      fc.property(
        bytesArb,
        fc.bigInt({ min: 1n, max: 400n * 86_400n }),
        fc.record({ units: fc.bigInt({ min: 0n, max: 10n ** 9n }), scale: fc.integer({ min: 0, max: 6 }) }),
        rateArb,
        fc.oneof(fc.constant(0n), bytesArb),
        currencyArb,
        (usedBytes, seconds, commitMbps, rate, toleranceBytes, currency) => {
          const plan: RatingPlan = {
            unit: 'GB',
            model: { kind: 'avg_mbps', commitMbps },
            allowanceBytes: 0n,
            toleranceBytes,
            rate,
            currency,
            minimumMinor: 0n,
            capMinor: null,
            prorate: false,
          };
          const usage = { usedBytes, days: 30, nominalDays: 30, seconds };
          const r = rateUsage(usage, plan);
          const e = oracle(usage, plan);
          expect(r.roundedMinor).to.equal(e.roundedMinor);
          expect(r.outcome).to.equal(e.outcome);
          expect(microOf(r.quantity)).to.equal(e.quantityMicro);
          // overBytes > 0 exactly when the average is over the commit
          expect(r.overBytes > 0n).to.equal(e.over);
        },
      ),
      RUNS,
    );
  });

  it('p95 agrees with the oracle (a percentile found by counting, not sorting)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 60n }), { minLength: 1, maxLength: 300 }),
        fc.record({ units: fc.bigInt({ min: 0n, max: 10n ** 9n }), scale: fc.integer({ min: 0, max: 6 }) }),
        rateArb,
        currencyArb,
        (fiveMinuteBps, commitMbps, rate, currency) => {
          const plan: RatingPlan = {
            unit: 'TB',
            model: { kind: 'p95', commitMbps },
            allowanceBytes: 0n,
            toleranceBytes: 0n,
            rate,
            currency,
            minimumMinor: 0n,
            capMinor: null,
            prorate: false,
          };
          const usage = { usedBytes: 0n, days: 30, nominalDays: 30, seconds: 2_592_000n, fiveMinuteBps };
          const r = rateUsage(usage, plan);
          const e = oracle(usage, plan);
          expect(r.roundedMinor).to.equal(e.roundedMinor);
          expect(microOf(r.quantity)).to.equal(e.quantityMicro);
        },
      ),
      RUNS,
    );
  });

  it('past 2^53 nothing drifts: K more whole units bill exactly K × the rate more', () => {
    fc.assert(
      fc.property(volumeUsageArb, volumePlanArb, fc.bigInt({ min: P53, max: 2n ** 64n }), (usage, p, k) => {
        const plan = { ...p, capMinor: null, minimumMinor: 0n };
        const ahead = {
          ...usage,
          usedBytes: usage.usedBytes + plan.allowanceBytes + plan.toleranceBytes + 1n,
        };
        const base = rateUsage(ahead, plan);
        const perMajor = 10n ** BigInt(minorDigits(plan.currency));
        if (plan.model.kind === 'per_unit') {
          // K × 10^scale whole units: a whole number of minor units, so rounding cannot differ
          const units = k * 10n ** BigInt(plan.rate.scale);
          const more = rateUsage(
            { ...ahead, usedBytes: ahead.usedBytes + units * UNIT_BYTES[plan.unit] },
            plan,
          );
          expect(more.roundedMinor - base.roundedMinor).to.equal(k * plan.rate.units * perMajor);
        } else if (plan.model.kind === 'per_block') {
          const more = rateUsage(
            {
              ...ahead,
              usedBytes: ahead.usedBytes + k * BigInt(plan.model.blockUnits) * UNIT_BYTES[plan.unit],
            },
            plan,
          );
          expect(BigInt(more.quantity) - BigInt(base.quantity)).to.equal(k);
        }
      }),
      RUNS,
    );
  });

  it('money is formatted exactly from its decimal string, however large', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
        currencyArb,
        (amountMinor, currency) => {
          const m = { amountMinor, currency };
          const text = formatMoney(m, 'en-GB').replace(/[^\d.-]/g, '');
          expect(text).to.equal(moneyToDecimalString(m));
        },
      ),
      RUNS,
    );
  });
});

describe('properties: sums that must hold exactly', () => {
  it('allocate() always sums to the total, each part within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
        fc
          .array(fc.bigInt({ min: 0n, max: 2n ** 40n }), { minLength: 1, maxLength: 20 })
          .filter((w) => w.some((x) => x > 0n)),
        (amount, weights) => {
          const parts = allocate(amount, weights);
          const total = weights.reduce((a, b) => a + b, 0n);
          expect(parts.length).to.equal(weights.length);
          expect(parts.reduce((a, b) => a + b, 0n)).to.equal(amount);
          parts.forEach((p, i) => {
            const gap = p * total - amount * weights[i]!;
            expect(gap < total && gap > -total, `part ${i}`).to.equal(true);
            if (weights[i] === 0n) expect(p).to.equal(0n);
          });
        },
      ),
      RUNS,
    );
  });

  it('splitEvenly never loses a byte and never differs by more than one', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 80n }), fc.integer({ min: 1, max: 400 }), (total, n) => {
        const parts = splitEvenly(total, n);
        expect(parts.length).to.equal(n);
        expect(parts.reduce((a, b) => a + b, 0n)).to.equal(total);
        const max = parts.reduce((a, b) => (a > b ? a : b));
        const min = parts.reduce((a, b) => (a < b ? a : b));
        expect(max - min <= 1n).to.equal(true);
      }),
      RUNS,
    );
  });

  const BASE = '2026-03-01'; // spans the March DST change
  const intervalArb = fc
    .record({
      from: fc.integer({ min: 0, max: 59 }),
      span: fc.integer({ min: 1, max: 20 }),
      bytes: fc.bigInt({ min: 0n, max: 2n ** 70n }),
    })
    .map(({ from, span, bytes }): IntervalFigure => ({
      fromDate: addDays(BASE, from),
      toDate: addDays(BASE, from + span - 1),
      bytes,
    }));

  it('the daily series of any intervals sums exactly to their bytes', () => {
    fc.assert(
      fc.property(fc.array(intervalArb, { maxLength: 30 }), (intervals) => {
        const from = addDays(BASE, -3);
        const to = addDays(BASE, 90);
        const days = dailySeries(intervals, from, to);
        expect(days.length).to.equal(daysBetween(from, to) + 1);
        const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
        expect(sum(days.map((d) => d.bytes))).to.equal(sum(intervals.map((i) => i.bytes)));
        const spread = intervals.filter((i) => i.fromDate !== i.toDate);
        expect(sum(days.map((d) => d.estimatedBytes))).to.equal(sum(spread.map((i) => i.bytes)));
        for (const d of days) {
          const touched = intervals.some((i) => i.fromDate <= d.date && d.date <= i.toDate);
          expect(d.missing, d.date).to.equal(!touched);
        }
      }),
      RUNS,
    );
  });

  it('cutting the range anywhere splits the series without losing or inventing a byte', () => {
    fc.assert(
      fc.property(
        fc.array(intervalArb, { maxLength: 30 }),
        fc.integer({ min: -5, max: 85 }),
        fc.integer({ min: 0, max: 90 }),
        (intervals, a, len) => {
          const from = addDays(BASE, a);
          const to = addDays(from, len);
          const cut = addDays(from, Math.floor(len / 2));
          const whole = dailySeries(intervals, from, to);
          const parts = [
            ...dailySeries(intervals, from, cut),
            ...dailySeries(intervals, addDays(cut, 1), to),
          ];
          expect(parts).to.deep.equal(whole);
          // and what lies outside the range is exactly what the range misses
          const outside = [
            ...dailySeries(intervals, addDays(BASE, -40), addDays(from, -1)),
            ...dailySeries(intervals, addDays(to, 1), addDays(BASE, 130)),
          ];
          const sum = (xs: { bytes: bigint }[]) => xs.reduce((s, d) => s + d.bytes, 0n);
          expect(sum(whole) + sum(outside)).to.equal(intervals.reduce((s, i) => s + i.bytes, 0n));
        },
      ),
      RUNS,
    );
  });
});

describe('properties: Easter', () => {
  // Tøndering's formulation of the Gregorian computus, independent of the one in holidays.ts
  const easterOudin = (y: number): string => {
    const g = y % 19;
    const c = Math.floor(y / 100);
    const h = (c - Math.floor(c / 4) - Math.floor((8 * c + 13) / 25) + 19 * g + 15) % 30;
    const i = h - Math.floor(h / 28) * (1 - Math.floor(29 / (h + 1)) * Math.floor((21 - g) / 11));
    const j = (y + Math.floor(y / 4) + i + 2 - c + Math.floor(c / 4)) % 7;
    const l = i - j;
    const month = 3 + Math.floor((l + 40) / 44);
    const day = l + 28 - 31 * Math.floor(month / 4);
    return `${y}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  };

  it('is a Sunday between 22 March and 25 April, as the other computus says, 1583–4099', () => {
    for (let y = 1583; y <= 4099; y++) {
      const e = easterSunday(y);
      expect(e, String(y)).to.equal(easterOudin(y));
      expect(new Date(`${e}T00:00:00Z`).getUTCDay()).to.equal(0);
      expect(e.slice(5) >= '03-22' && e.slice(5) <= '04-25').to.equal(true);
    }
  });
});
