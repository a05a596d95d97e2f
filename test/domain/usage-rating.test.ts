import { expect } from 'chai';
import { UNIT_BYTES } from '../../module/domain/bytes.js';
import { parseDecimal } from '../../module/domain/money.js';
import {
  percentile95,
  type PeriodUsage,
  proratedAllowance,
  ratedChargeFromJson,
  rateFor,
  type RatingPlan,
  rateUsage,
  validatePlan,
} from '../../module/domain/usage-rating.js';

const GB = UNIT_BYTES.GB;
const TB = UNIT_BYTES.TB;
const TiB = UNIT_BYTES.TiB;
const DAY = 86_400n;

const dec = (s: string) => parseDecimal(s, 'test value');

/** The seed: 5 TB a month, €0.50 per GB over it. */
const plan = (over: Partial<RatingPlan> = {}): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 5n * TB,
  toleranceBytes: 0n,
  rate: dec('0.50'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: false,
  ...over,
});

const month = (usedBytes: bigint, over: Partial<PeriodUsage> = {}): PeriodUsage => ({
  usedBytes,
  days: 31,
  nominalDays: 31,
  seconds: 31n * DAY,
  ...over,
});

describe('rateUsage: the seed example', () => {
  it('5 TB plan, 6 TB used, €0.50/GB → 1 000 GB × €0.50 = €500.00', () => {
    const r = rateUsage(month(6n * TB), plan());
    expect(r.outcome).to.equal('billed');
    expect(r.overBytes).to.equal(1n * TB);
    expect(r.quantity).to.equal('1000.000000');
    expect(r.quantityUnit).to.equal('GB');
    expect(r.rate).to.equal('0.50');
    expect(r.preciseAmount).to.equal('500.0000000000');
    expect(r.roundedMinor).to.equal(50_000n);
    expect(r.amountMinor).to.equal(50_000n);
    expect(r.writtenOffMinor).to.equal(0n);
    expect(r.allowanceBytes).to.equal(5n * TB);
    expect(r.fullAllowanceBytes).to.equal(5n * TB);
    expect(r.prorated).to.equal(false);
    expect(r.capped).to.equal(false);
    expect(r.measuredBps).to.equal(null);
  });
});

describe('rateUsage: per unit, every sold unit', () => {
  it('GB: decimal gigabytes', () => {
    const r = rateUsage(month(5n * TB + 123n * GB), plan());
    expect(r.quantity).to.equal('123.000000');
    expect(r.amountMinor).to.equal(6150n);
  });

  it('GiB: 1 TiB over at €0.01/GiB = 1 024 GiB = €10.24', () => {
    const r = rateUsage(month(6n * TiB), plan({ unit: 'GiB', allowanceBytes: 5n * TiB, rate: dec('0.01') }));
    expect(r.quantity).to.equal('1024.000000');
    expect(r.amountMinor).to.equal(1024n);
  });

  it('GiB sold, decimal bytes used: 10^12 bytes = 931.322574615… GiB', () => {
    const r = rateUsage(month(6n * TB), plan({ unit: 'GiB', rate: dec('0.01') }));
    expect(r.quantity).to.equal('931.322575');
    // 9.31322574615478515625 → €9.31
    expect(r.preciseAmount).to.equal('9.3132257462');
    expect(r.amountMinor).to.equal(931n);
  });

  it('TB: 1.5 TB over at €1.00/TB = €1.50', () => {
    const r = rateUsage(month(6_500_000_000_000n), plan({ unit: 'TB', rate: dec('1.00') }));
    expect(r.quantity).to.equal('1.500000');
    expect(r.amountMinor).to.equal(150n);
  });

  it('TiB: half a TiB over at €2.00/TiB = €1.00', () => {
    const r = rateUsage(month(TiB + TiB / 2n), plan({ unit: 'TiB', allowanceBytes: TiB, rate: dec('2') }));
    expect(r.overBytes).to.equal(2n ** 39n);
    expect(r.quantity).to.equal('0.500000');
    expect(r.amountMinor).to.equal(100n);
  });
});

describe('rateUsage: per started block', () => {
  const blocks = (blockUnits: number, over: Partial<RatingPlan> = {}) =>
    plan({ unit: 'TB', model: { kind: 'per_block', blockUnits }, rate: dec('10.00'), ...over });

  it('bills every started block', () => {
    const r = rateUsage(month(6_500_000_000_000n), blocks(1));
    expect(r.quantity).to.equal('2');
    expect(r.quantityUnit).to.equal('block');
    expect(r.blockUnits).to.equal(1);
    expect(r.amountMinor).to.equal(2000n);
    expect(rateUsage(month(6n * TB), blocks(1)).quantity).to.equal('1');
    expect(rateUsage(month(5n * TB + 1n), blocks(1)).amountMinor).to.equal(1000n);
    expect(rateUsage(month(6n * TB + 1n), blocks(1)).amountMinor).to.equal(2000n);
    expect(rateUsage(month(5n * TB), blocks(1)).outcome).to.equal('within_allowance');
  });

  it('blocks of several units, in GB and TiB', () => {
    const gb = rateUsage(
      month(5n * TB + 250n * GB),
      plan({ model: { kind: 'per_block', blockUnits: 100 }, rate: dec('5') }),
    );
    expect(gb.quantity).to.equal('3');
    expect(gb.amountMinor).to.equal(1500n);
    const tib = rateUsage(
      month(2n * TiB + 1n),
      plan({ unit: 'TiB', allowanceBytes: TiB, model: { kind: 'per_block', blockUnits: 1 }, rate: dec('8') }),
    );
    expect(tib.quantity).to.equal('2');
    expect(tib.amountMinor).to.equal(1600n);
  });

  it('refuses a block that is not a whole number of units', () => {
    expect(() => validatePlan(blocks(0))).to.throw(/whole number of units/);
    expect(() => validatePlan(blocks(1.5))).to.throw(/whole number of units/);
  });
});

describe('rateUsage: average Mbit/s', () => {
  const avg = (commit: string, over: Partial<RatingPlan> = {}) =>
    plan({ model: { kind: 'avg_mbps', commitMbps: dec(commit) }, rate: dec('4.00'), ...over });
  const days30 = (usedBytes: bigint): PeriodUsage => ({
    usedBytes,
    days: 30,
    nominalDays: 30,
    seconds: 30n * DAY,
  });

  it('1 Mbit/s sustained for 30 days is 324 GB: exactly the commit, nothing to bill', () => {
    const r = rateUsage(days30(324n * GB), avg('1'));
    expect(r.allowanceBytes).to.equal(324n * GB);
    expect(r.measuredBps).to.equal(1_000_000n);
    expect(r.commitBps).to.equal(1_000_000n);
    expect(r.outcome).to.equal('within_allowance');
    expect(r.amountMinor).to.equal(0n);
  });

  it('648 GB in 30 days is 2 Mbit/s on average: 1 Mbit/s over × €4.00', () => {
    const r = rateUsage(days30(648n * GB), avg('1'));
    expect(r.measuredBps).to.equal(2_000_000n);
    expect(r.quantity).to.equal('1.000000');
    expect(r.quantityUnit).to.equal('Mbit/s');
    expect(r.overBytes).to.equal(324n * GB);
    expect(r.amountMinor).to.equal(400n);
  });

  it('is exact for fractions of a Mbit/s and a commit with decimals', () => {
    // 1 byte over a 0.5 Mbit/s commit in 30 days: 8 bits / 2 592 000 s
    const r = rateUsage(days30(162n * GB + 1n), avg('0.5'));
    expect(r.commitBps).to.equal(500_000n);
    expect(r.quantity).to.equal('0.000000');
    expect(r.outcome).to.equal('written_off');
    // 12.3 Mbit/s average over 10: 2.3 Mbit/s × €4.00 = €9.20
    const s = rateUsage(days30((12_300_000n * 30n * DAY) / 8n), avg('10'));
    expect(s.measuredBps).to.equal(12_300_000n);
    expect(s.quantity).to.equal('2.300000');
    expect(s.amountMinor).to.equal(920n);
  });

  it('a shorter period has a smaller commit allowance (the commit is a rate)', () => {
    const r = rateUsage({ usedBytes: 200n * GB, days: 15, nominalDays: 30, seconds: 15n * DAY }, avg('1'));
    expect(r.allowanceBytes).to.equal(162n * GB);
    expect(r.prorated).to.equal(false);
    expect(r.outcome).to.equal('billed');
  });

  it('takes the free tolerance off the bytes before averaging', () => {
    const r = rateUsage(days30(648n * GB), avg('1', { toleranceBytes: 324n * GB }));
    expect(r.outcome).to.equal('within_allowance');
    const s = rateUsage(days30(648n * GB), avg('1', { toleranceBytes: 162n * GB }));
    expect(s.measuredBps).to.equal(2_000_000n); // what was measured, tolerance or not
    // 648 GB used − 324 GB the commit moves − 162 GB free = 162 GB over
    expect(s.overBytes).to.equal(162n * GB);
    expect(s.quantity).to.equal('0.500000');
    expect(s.amountMinor).to.equal(200n);
  });

  it('needs a period that lasts', () => {
    expect(() => rateUsage({ usedBytes: 1n, days: 0, nominalDays: 30, seconds: 0n }, avg('1'))).to.throw(
      /at least one second/,
    );
  });
});

describe('rateUsage: 95th percentile', () => {
  const p95 = (commit: string, over: Partial<RatingPlan> = {}) =>
    plan({ model: { kind: 'p95', commitMbps: dec(commit) }, rate: dec('2.00'), ...over });
  // a fixed shuffle so that sorting is needed
  const shuffled = <T>(xs: T[]): T[] => {
    const out = [...xs];
    let seed = 42;
    for (let i = out.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };

  it('30 days of 5-minute samples: 8 640, drop the top 432, bill the 8 208th', () => {
    const samples = shuffled(Array.from({ length: 8640 }, (_, i) => BigInt(i + 1) * 1000n));
    expect(samples.length).to.equal(30 * 24 * 12);
    expect(percentile95(samples)).to.equal(8208n * 1000n);
    const r = rateUsage(
      { ...month(0n), days: 30, nominalDays: 30, seconds: 30n * DAY, fiveMinuteBps: samples },
      p95('5'),
    );
    expect(r.measuredBps).to.equal(8_208_000n);
    expect(r.quantity).to.equal('3.208000');
    // 3.208 × €2.00 = €6.416 → €6.42
    expect(r.preciseAmount).to.equal('6.4160000000');
    expect(r.amountMinor).to.equal(642n);
  });

  it('36 hours of bursts are free; one sample more is billed', () => {
    const base = Array.from({ length: 8640 - 432 }, () => 4_000_000n);
    const bursts = Array.from({ length: 432 }, () => 1_000_000_000n);
    expect(percentile95([...bursts, ...base])).to.equal(4_000_000n);
    const more = [...Array.from({ length: 433 }, () => 1_000_000_000n), ...base.slice(1)];
    expect(percentile95(more)).to.equal(1_000_000_000n);
  });

  it('drops 5 % rounded down: nothing below 20 samples', () => {
    const up = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i + 1));
    expect(percentile95(up(1))).to.equal(1n);
    expect(percentile95(up(19))).to.equal(19n);
    expect(percentile95(up(20))).to.equal(19n);
    expect(percentile95(up(39))).to.equal(38n);
    expect(percentile95(up(40))).to.equal(38n);
    expect(() => percentile95([])).to.throw(/needs 5-minute samples/);
  });

  it('under the commit is within it; a byte tolerance is refused as meaningless', () => {
    const r = rateUsage({ ...month(10n * TB), fiveMinuteBps: [1_000_000n, 2_000_000n] }, p95('5'));
    expect(r.outcome).to.equal('within_allowance');
    expect(r.toleranceBytes).to.equal(0n);
    expect(() => validatePlan(p95('5', { toleranceBytes: 1n }))).to.throw(
      /does not apply to 95th-percentile/,
    );
    expect(() => rateUsage({ ...month(1n), fiveMinuteBps: [-1n] }, p95('5'))).to.throw(
      /must not be negative/,
    );
  });

  it('takes an idle 5-minute rate of 0 and a commit of 0 (every Mbit/s billed)', () => {
    // 20 samples, 19 idle and one at 3 Mbit/s: 5 % of 20 is 1 sample dropped, the 19th (sorted) is 0
    const idle = [...Array.from({ length: 19 }, () => 0n), 3_000_000n];
    const r = rateUsage({ ...month(10n * GB), fiveMinuteBps: idle }, p95('5'));
    expect([r.measuredBps, r.outcome]).to.deep.equal([0n, 'within_allowance']);
    // a commit of 0 Mbit/s: 2 samples, nothing dropped, the 95th percentile is the top one,
    // 2 Mbit/s, all of it over: 2 × €2.00 = €4.00
    const s = rateUsage({ ...month(10n * GB), fiveMinuteBps: [1_000_000n, 2_000_000n] }, p95('0'));
    expect([s.commitBps, s.quantity, s.amountMinor]).to.deep.equal([0n, '2.000000', 400n]);
  });

  it('refuses a period without 5-minute samples: no percentile to bill', () => {
    expect(() => rateUsage(month(10n * GB), p95('5'))).to.throw(/needs 5-minute samples/);
  });
});

describe('rateUsage: tolerance, minimum, cap', () => {
  it('the tolerance is free: only what lies beyond it is billed', () => {
    const t = { toleranceBytes: 100n * GB };
    expect(rateUsage(month(5_050_000_000_000n), plan(t)).outcome).to.equal('within_allowance');
    expect(rateUsage(month(5n * TB + 100n * GB), plan(t)).outcome).to.equal('within_allowance');
    const r = rateUsage(month(5_200_000_000_000n), plan(t));
    expect(r.overBytes).to.equal(100n * GB);
    expect(r.amountMinor).to.equal(5000n);
  });

  it('below the minimum it is written off: recorded with what it would have been, not billed', () => {
    const r = rateUsage(month(5n * TB + 5n * GB), plan({ minimumMinor: 500n }));
    expect(r.outcome).to.equal('written_off');
    expect(r.amountMinor).to.equal(0n);
    expect(r.writtenOffMinor).to.equal(250n);
    expect(r.roundedMinor).to.equal(250n);
    expect(r.minimumMinor).to.equal(500n);
    expect(r.overBytes).to.equal(5n * GB);
    // exactly the minimum is billed
    const s = rateUsage(month(5n * TB + 10n * GB), plan({ minimumMinor: 500n }));
    expect(s.outcome).to.equal('billed');
    expect(s.amountMinor).to.equal(500n);
  });

  it('the cap limits what one period bills', () => {
    const r = rateUsage(month(6n * TB), plan({ capMinor: 10_000n }));
    expect(r.capped).to.equal(true);
    expect(r.roundedMinor).to.equal(50_000n);
    expect(r.amountMinor).to.equal(10_000n);
    expect(r.capMinor).to.equal(10_000n);
    const exact = rateUsage(month(6n * TB), plan({ capMinor: 50_000n }));
    expect(exact.capped).to.equal(false);
    expect(exact.amountMinor).to.equal(50_000n);
  });

  it('the cap applies before the minimum; a cap of 0 bills nothing', () => {
    const r = rateUsage(month(6n * TB), plan({ capMinor: 100n, minimumMinor: 500n }));
    expect(r.outcome).to.equal('written_off');
    expect(r.writtenOffMinor).to.equal(100n);
    const z = rateUsage(month(6n * TB), plan({ capMinor: 0n }));
    expect(z.outcome).to.equal('written_off');
    expect(z.capped).to.equal(true);
    expect(z.amountMinor).to.equal(0n);
  });
});

describe('rateUsage: proration of partial periods', () => {
  it('shrinks the allowance by days, rounded up to the byte in the client\u2019s favour', () => {
    // 5 TB × 15/31 = 2 419 354 838 709.67… → 2 419 354 838 710
    const r = rateUsage(month(3n * TB, { days: 15 }), plan({ prorate: true }));
    expect(r.prorated).to.equal(true);
    expect(r.fullAllowanceBytes).to.equal(5n * TB);
    expect(r.allowanceBytes).to.equal(2_419_354_838_710n);
    expect(r.overBytes).to.equal(580_645_161_290n);
    expect(r.quantity).to.equal('580.645161');
    // 580.64516129 × €0.50 = €290.322580645 → €290.32
    expect(r.amountMinor).to.equal(29_032n);
    expect(proratedAllowance(10n, 1, 3)).to.equal(4n);
    expect(proratedAllowance(10n, 3, 3)).to.equal(10n);
    expect(proratedAllowance(10n, 0, 3)).to.equal(0n);
  });

  it('a full (or longer) period keeps the whole allowance; no proration unless asked', () => {
    expect(rateUsage(month(3n * TB, { days: 31 }), plan({ prorate: true })).prorated).to.equal(false);
    expect(
      rateUsage(month(6n * TB, { days: 32, nominalDays: 31 }), plan({ prorate: true })).allowanceBytes,
    ).to.equal(5n * TB);
    const r = rateUsage(month(3n * TB, { days: 15 }), plan({ prorate: false }));
    expect(r.allowanceBytes).to.equal(5n * TB);
    expect(r.outcome).to.equal('within_allowance');
  });
});

describe('rateUsage: rounding edges', () => {
  it('an exact half cent rounds up, once, on the line', () => {
    // 1 GB × €0.005 = half a cent
    const r = rateUsage(month(5n * TB + GB), plan({ rate: dec('0.005') }));
    expect(r.preciseAmount).to.equal('0.0050000000');
    expect(r.amountMinor).to.equal(1n);
    const under = rateUsage(month(5n * TB + GB), plan({ rate: dec('0.004999') }));
    expect(under.roundedMinor).to.equal(0n);
    expect(under.outcome).to.equal('written_off');
    // 3 × 1/3 of a cent would round to 0 three times; once per line it is 1 cent
    const third = rateUsage(month(5n * TB + 3n * GB), plan({ rate: dec('0.003333') }));
    expect(third.amountMinor).to.equal(1n);
  });

  it('6-decimal rates are used to their last digit', () => {
    // 100 GB × €0.000125 = €0.0125 → 1 cent; 40 GB = €0.005 → 1 cent (half); 20 GB = €0.0025 → 0
    expect(rateUsage(month(5n * TB + 100n * GB), plan({ rate: dec('0.000125') })).amountMinor).to.equal(1n);
    expect(rateUsage(month(5n * TB + 40n * GB), plan({ rate: dec('0.000125') })).amountMinor).to.equal(1n);
    expect(rateUsage(month(5n * TB + 20n * GB), plan({ rate: dec('0.000125') })).amountMinor).to.equal(0n);
    expect(() => validatePlan(plan({ rate: { units: 1n, scale: 7 } }))).to.throw(/at most 6 decimals/);
  });

  it('one byte over is over: written off at €0.00, never called "within the allowance"', () => {
    const r = rateUsage(month(5n * TB + 1n), plan());
    expect(r.overBytes).to.equal(1n);
    expect(r.quantity).to.equal('0.000000');
    expect(r.preciseAmount).to.equal('0.0000000005');
    expect(r.roundedMinor).to.equal(0n);
    expect(r.outcome).to.equal('written_off');
    expect(r.writtenOffMinor).to.equal(0n);
    expect(r.amountMinor).to.equal(0n);
  });

  it('zero usage and usage exactly at the allowance are within it', () => {
    for (const used of [0n, 5n * TB - 1n, 5n * TB]) {
      const r = rateUsage(month(used), plan({ minimumMinor: 100n }));
      expect(r.outcome, String(used)).to.equal('within_allowance');
      expect(r.overBytes).to.equal(0n);
      expect(r.quantity).to.equal('0.000000');
      expect(r.amountMinor).to.equal(0n);
      expect(r.writtenOffMinor).to.equal(0n);
    }
  });

  it('a zero rate bills nothing, but the overusage stays recorded', () => {
    const r = rateUsage(month(6n * TB), plan({ rate: dec('0') }));
    expect(r.outcome).to.equal('written_off');
    expect(r.overBytes).to.equal(TB);
  });
});

describe('rateUsage: currencies', () => {
  it('rates per currency: the product\u2019s rate for the invoice currency, parsed once', () => {
    const rates = { EUR: '0.50', JPY: '80', BHD: '0.0005' };
    expect(rateFor(rates, 'JPY')).to.deep.equal({ units: 80n, scale: 0 });
    expect(() => rateFor(rates, 'USD')).to.throw(/no overusage rate in USD/);
    expect(() => rateFor({ EUR: '0.1234567' }, 'EUR')).to.throw(/more than 6 decimals/);
    expect(() => rateFor({ EUR: '1,50' }, 'EUR')).to.throw(/decimal number/);
    expect(() => rateFor({ toString: '1' }, 'EUR')).to.throw(/no overusage rate in EUR/);
  });

  it('JPY has no minor unit: whole yen, rounded half-up', () => {
    const jpy = (used: bigint, rate: string) =>
      rateUsage(month(used), plan({ currency: 'JPY', rate: dec(rate) }));
    expect(jpy(6n * TB, '80').amountMinor).to.equal(80_000n);
    expect(jpy(5n * TB + 1_000_500_000_000n, '2').amountMinor).to.equal(2001n);
    expect(jpy(5n * TB + 250_000_000n, '2').amountMinor).to.equal(1n); // ¥0.5 → ¥1
    expect(jpy(5n * TB + 249_999_999n, '2').amountMinor).to.equal(0n);
    expect(jpy(6n * TB, '0.5').preciseAmount).to.equal('500.0000000000');
  });

  it('BHD has three decimals', () => {
    const r = rateUsage(month(5n * TB + GB), plan({ currency: 'BHD', rate: dec('0.0005') }));
    expect(r.amountMinor).to.equal(1n); // 0.5 fils → 1 fils
    expect(rateUsage(month(6n * TB), plan({ currency: 'BHD', rate: dec('0.123') })).amountMinor).to.equal(
      123_000n,
    );
  });

  it('refuses an unknown currency', () => {
    expect(() => rateUsage(month(6n * TB), plan({ currency: 'XYZ' }))).to.throw(/not a currency/);
  });
});

describe('rateUsage: bad input', () => {
  it('refuses negative or impossible figures with a clear message', () => {
    expect(() => rateUsage(month(-1n), plan())).to.throw(/used bytes must not be negative/);
    expect(() => rateUsage(month(1n, { nominalDays: 0 }), plan())).to.throw(/at least one day/);
    expect(() => rateUsage(month(1n, { days: -1 }), plan())).to.throw(/not negative/);
    expect(() => rateUsage(month(1n, { days: 1.5 }), plan())).to.throw(/whole number/);
    expect(() => validatePlan(plan({ allowanceBytes: -1n }))).to.throw(/must not be negative/);
    expect(() => validatePlan(plan({ rate: { units: -1n, scale: 0 } }))).to.throw(
      /rate must not be negative/,
    );
    expect(() => validatePlan(plan({ minimumMinor: -1n }))).to.throw(/minimum charge/);
    expect(() => validatePlan(plan({ capMinor: -1n }))).to.throw(/cap/);
    expect(() => validatePlan(plan({ unit: 'MB' as never }))).to.throw(/unit sold/);
    expect(() =>
      validatePlan(plan({ model: { kind: 'avg_mbps', commitMbps: { units: 1n, scale: 7 } } })),
    ).to.throw(/committed rate/);
  });

  it('names what is wrong with a plan, a usage or a rate', () => {
    expect(() => validatePlan(plan({ unit: 'MB' as never }))).to.throw(
      'the unit sold must be one of GB, GiB, TB, TiB',
    );
    expect(() => validatePlan(plan({ currency: 'XYZ' }))).to.throw('"XYZ" is not a currency');
    expect(() => rateFor({ XYZ: '1' }, 'XYZ')).to.throw('"XYZ" is not a currency');
    expect(() => validatePlan(plan({ toleranceBytes: -1n }))).to.throw(
      'allowance and tolerance must not be negative',
    );
    for (const scale of [7, -1, 1.5])
      expect(() => validatePlan(plan({ rate: { units: 5n, scale } })), String(scale)).to.throw(
        'the rate has at most 6 decimals',
      );
    expect(validatePlan(plan({ rate: { units: 5n, scale: 6 } })).rate.scale).to.equal(6);
    expect(() =>
      validatePlan(plan({ model: { kind: 'avg_mbps', commitMbps: { units: -1n, scale: 0 } } })),
    ).to.throw(/committed rate/);
    expect(() => rateUsage(month(1n, { seconds: -1n }), plan())).to.throw(
      'the length of a period must not be negative',
    );
    const p95 = plan({ model: { kind: 'p95', commitMbps: dec('10') } });
    expect(() => rateUsage(month(1n, { fiveMinuteBps: [5n, -1n, 7n] }), p95)).to.throw(
      'a 5-minute rate must not be negative',
    );
    // the plan is checked before any rating
    expect(() => rateUsage(month(6n * TB), plan({ allowanceBytes: -1n }))).to.throw(
      'allowance and tolerance must not be negative',
    );
    expect(() => rateFor({ EUR: '0,50' }, 'EUR')).to.throw(/^the EUR rate must be a decimal number/);
  });

  it('takes the 95th percentile of samples in any order: of 20, the second highest', () => {
    // 20 samples, the top 5 % (1) dropped: the 19th from the bottom
    expect(percentile95(Array.from({ length: 20 }, (_, i) => BigInt(20 - i)))).to.equal(19n);
    expect(
      percentile95([
        3n,
        20n,
        1n,
        19n,
        2n,
        18n,
        4n,
        17n,
        5n,
        16n,
        6n,
        15n,
        7n,
        14n,
        8n,
        13n,
        9n,
        12n,
        10n,
        11n,
      ]),
    ).to.equal(19n);
  });

  it('keeps the full allowance and the proration flag of a per-block charge over part of a period', () => {
    // 15 of 30 days of a 5 TB plan: 2.5 TB allowed, the full 5 TB kept for the text
    const r = rateUsage(
      month(3n * TB, { days: 15, nominalDays: 30, seconds: 15n * DAY }),
      plan({ model: { kind: 'per_block', blockUnits: 100 }, prorate: true }),
    );
    expect([r.fullAllowanceBytes, r.allowanceBytes, r.prorated]).to.deep.equal([
      5n * TB,
      2500n * 10n ** 9n,
      true,
    ]);
  });
});

describe('ratedChargeFromJson', () => {
  it('revives every bigint of a charge stored as JSON', () => {
    const r = rateUsage(month(6n * TB), plan({ capMinor: 10_000n, minimumMinor: 100n }));
    const json = JSON.parse(
      JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    ) as Record<string, unknown>;
    expect(ratedChargeFromJson(json)).to.deep.equal(r);
    // bigints kept as bigints, and whole numbers within 2^53 as JSON numbers, read the same
    expect(
      ratedChargeFromJson({ ...json, amountMinor: r.amountMinor, usedBytes: r.usedBytes }),
    ).to.deep.equal(r);
    expect(ratedChargeFromJson({ ...json, usedBytes: 6_000_000_000_000 }).usedBytes).to.equal(6n * TB);
    // a number that is not whole, or past 2^53 (it may have lost digits), or digits in an array: refused
    for (const bad of [1.5, 2 ** 53, [5]]) {
      expect(() => ratedChargeFromJson({ ...json, usedBytes: bad }), String(bad)).to.throw(/bad usedBytes/);
    }
    expect(() => ratedChargeFromJson({ ...json, amountMinor: '1.5' })).to.throw(/bad amountMinor/);
    expect(() => ratedChargeFromJson({ ...json, usedBytes: null })).to.throw(/lacks usedBytes/);
    expect(() => ratedChargeFromJson({ ...json, amountMinor: '1.5' }))
      .to.throw(/bad amountMinor/)
      .with.property('details')
      .that.deep.equals({ value: '1.5' });
  });

  it('gives a record stored before a field existed the value that field implied', () => {
    const stored = (r: ReturnType<typeof rateUsage>, drop: string[]) => {
      const json = JSON.parse(
        JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      ) as Record<string, unknown>;
      for (const k of drop) delete json[k];
      return ratedChargeFromJson(json);
    };
    const old = ['writtenOffMinor', 'blockUnits', 'prorated', 'capMinor', 'minimumMinor', 'periodSeconds'];
    // billed: €500.00 for 1 TB over; nothing written off, no block, not prorated, no cap, no minimum
    const billed = stored(rateUsage(month(6n * TB), plan()), old);
    expect([
      billed.writtenOffMinor,
      billed.blockUnits,
      billed.prorated,
      billed.capMinor,
      billed.minimumMinor,
      billed.periodSeconds,
    ]).to.deep.equal([0n, null, false, null, 0n, 0n]);
    // 1 GB over at €0.50 under a €10.00 minimum: written off, the €0.50 it rounded to
    const small = stored(rateUsage(month(5n * TB + 10n ** 9n), plan({ minimumMinor: 1000n })), [
      'writtenOffMinor',
    ]);
    expect([small.outcome, small.writtenOffMinor]).to.deep.equal(['written_off', 50n]);
    // the same under a €100.00 cap it did not reach: not capped, so the €0.50, not the cap
    const uncapped = stored(
      rateUsage(month(5n * TB + 10n ** 9n), plan({ minimumMinor: 1000n, capMinor: 10_000n })),
      ['writtenOffMinor'],
    );
    expect([uncapped.capped, uncapped.writtenOffMinor]).to.deep.equal([false, 50n]);
    // 1 TB over capped at €0.30 under the €10.00 minimum: written off, the €0.30 of the cap
    const capped = stored(rateUsage(month(6n * TB), plan({ minimumMinor: 1000n, capMinor: 30n })), [
      'writtenOffMinor',
    ]);
    expect([capped.outcome, capped.writtenOffMinor]).to.deep.equal(['written_off', 30n]);
    // a capped record older than capMinor (charges first kept only `capped`): the cap is unknown, but
    // what was written off is still an amount, never null
    const capless = stored(rateUsage(month(6n * TB), plan({ minimumMinor: 1000n, capMinor: 30n })), [
      'writtenOffMinor',
      'capMinor',
    ]);
    expect([capless.capped, typeof capless.writtenOffMinor]).to.deep.equal([true, 'bigint']);
    // 15 of 31 days: the allowance was prorated
    expect(
      stored(rateUsage(month(6n * TB, { days: 15 }), plan({ prorate: true })), ['prorated']).prorated,
    ).to.equal(true);
    expect(
      stored(
        rateUsage(
          month(6n * TB, { days: 15 }),
          plan({ prorate: true, model: { kind: 'per_block', blockUnits: 100 } }),
        ),
        ['prorated'],
      ).prorated,
    ).to.equal(true);
  });
});
