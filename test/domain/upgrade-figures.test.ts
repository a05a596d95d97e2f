import { expect } from 'chai';
import { parseDecimal } from '../../module/domain/money.js';
import { compareUpgrades, upgradeCredit, type PastPeriod } from '../../module/domain/upgrade-figures.js';
import type { RatingPlan } from '../../module/domain/usage-rating.js';

const GB = 10n ** 9n;
const plan = (allowanceGb: bigint, rate: string, currency = 'EUR'): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: allowanceGb * GB,
  toleranceBytes: 0n,
  rate: parseDecimal(rate, 'rate'),
  currency,
  minimumMinor: 0n,
  capMinor: null,
  prorate: true,
});
const month = (usedGb: bigint, billedMinor: bigint): PastPeriod => ({
  usage: { usedBytes: usedGb * GB, days: 30, nominalDays: 30, seconds: 2_592_000n },
  billedMinor,
});

describe('upgrade figures', () => {
  it('prices each bigger plan over the same traffic and puts the cheapest first', () => {
    // 600, 1 200 and 900 GB on a 500 GB plan at €0.80: billed €80.00, €560.00, €320.00; 3 × €10.00 → €990.00
    // 1 TB at €15.00, €0.60/GB: 3 × €15.00 + 200 GB × €0.60 (only the 1 200 GB month) = €45.00 + €120.00 = €165.00
    // 2 TB at €30.00: 3 × €30.00 = €90.00 — cheaper than the 1 TB plan here
    const past = [month(600n, 8000n), month(1200n, 56000n), month(900n, 32000n)];
    const out = compareUpgrades(past, { priceMinor: 1000n, plan: plan(500n, '0.80') }, [
      { productId: 2, name: 'VPS 1 TB', priceMinor: 1500n, plan: plan(1000n, '0.60') },
      { productId: 3, name: 'VPS 2 TB', priceMinor: 3000n, plan: plan(2000n, '0.50') },
      // not bigger, and another currency: left out
      { productId: 4, name: 'VPS 250 GB', priceMinor: 500n, plan: plan(250n, '1.00') },
      { productId: 5, name: 'VPS 5 TB (USD)', priceMinor: 100n, plan: plan(5000n, '0.10', 'USD') },
    ]);
    expect(out).to.deep.equal({
      currency: 'EUR',
      periods: 3,
      currentMinor: 99000n,
      offers: [
        { productId: 3, name: 'VPS 2 TB', totalMinor: 9000n, overusageMinor: 0n },
        { productId: 2, name: 'VPS 1 TB', totalMinor: 16500n, overusageMinor: 12000n },
      ],
    });
  });

  it('credits a whole percentage of the overusage, rounded half-up, and refuses anything else', () => {
    expect(upgradeCredit(12000n, 50)).to.equal(6000n);
    expect(upgradeCredit(12345n, 50)).to.equal(6173n); // 6 172.5 → 6 173
    expect(upgradeCredit(12345n, 0)).to.equal(0n);
    expect(upgradeCredit(12345n, 100)).to.equal(12345n);
    expect(() => upgradeCredit(100n, 101)).to.throw('the upgrade credit is a whole percentage from 0 to 100');
    expect(() => upgradeCredit(100n, 12.5)).to.throw(
      'the upgrade credit is a whole percentage from 0 to 100',
    );
    expect(() => upgradeCredit(100n, -1)).to.throw('the upgrade credit is a whole percentage from 0 to 100');
  });

  it('on equal totals puts the smaller allowance first, then the lower product id; leaves out a plan no bigger', () => {
    // one month of 400 GB on a 500 GB plan at €10.00: nothing over, €10.00; every offer below bills no overusage
    const past = [month(400n, 0n)];
    const out = compareUpgrades(past, { priceMinor: 1000n, plan: plan(500n, '0.80') }, [
      { productId: 9, name: 'B 2 TB', priceMinor: 2000n, plan: plan(2000n, '0.50') },
      { productId: 8, name: 'A 1 TB', priceMinor: 2000n, plan: plan(1000n, '0.50') },
      { productId: 7, name: 'C 2 TB', priceMinor: 2000n, plan: plan(2000n, '0.50') },
      // the same allowance is no upgrade
      { productId: 6, name: 'Same 500 GB', priceMinor: 100n, plan: plan(500n, '0.10') },
    ]);
    expect(out.offers.map((o) => [o.productId, o.totalMinor])).to.deep.equal([
      [8, 2000n],
      [7, 2000n],
      [9, 2000n],
    ]);
    // offers already in order stay in order: the cheaper first, then on equal totals the smaller
    // allowance (though its id is higher), then the lower product id
    const order = (offers: Parameters<typeof compareUpgrades>[2]) =>
      compareUpgrades(past, { priceMinor: 1000n, plan: plan(500n, '0.80') }, offers).offers.map(
        (o) => o.productId,
      );
    expect(
      order([
        { productId: 2, name: 'X 1 TB', priceMinor: 1500n, plan: plan(1000n, '0.50') },
        { productId: 3, name: 'Y 1 TB', priceMinor: 2500n, plan: plan(1000n, '0.50') },
      ]),
    ).to.deep.equal([2, 3]);
    expect(
      order([
        { productId: 5, name: 'Big 2 TB', priceMinor: 2000n, plan: plan(2000n, '0.50') },
        { productId: 9, name: 'Small 1 TB', priceMinor: 2000n, plan: plan(1000n, '0.50') },
      ]),
    ).to.deep.equal([9, 5]);
    expect(
      order([
        { productId: 5, name: 'P 1 TB', priceMinor: 2000n, plan: plan(1000n, '0.50') },
        { productId: 9, name: 'Q 1 TB', priceMinor: 2000n, plan: plan(1000n, '0.50') },
      ]),
    ).to.deep.equal([5, 9]);
    expect(() => compareUpgrades([], { priceMinor: 1000n, plan: plan(500n, '0.80') }, [])).to.throw(
      'there are no rated periods to compare',
    );
  });
});
