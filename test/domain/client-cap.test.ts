import { expect } from 'chai';
import { capMinor, capOverBytes, cappedPlan, type ClientCap } from '../../module/domain/client-cap.js';
import { parseDecimal } from '../../module/domain/money.js';
import { rateUsage, type RatingPlan } from '../../module/domain/usage-rating.js';

const GB = 10n ** 9n;
const plan = (over: Partial<RatingPlan> = {}): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 100n * GB,
  toleranceBytes: 0n,
  rate: parseDecimal('0.50', 'rate'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: true,
  ...over,
});
const money = (minor: bigint, action: ClientCap['action'] = 'throttle'): ClientCap => ({
  kind: 'money',
  amount: minor,
  currency: 'EUR',
  action,
});
const bytes = (b: bigint): ClientCap => ({ kind: 'bytes', amount: b, currency: null, action: 'suspend' });

describe('a client-chosen cap', () => {
  it('pays for the bytes its money buys: €25.00 at €0.50/GB is 50 GB; €10.00 at €0.35/GB is ⌊28.571428571…⌋ GB', () => {
    expect(capOverBytes(money(2500n), plan())).to.equal(50n * GB);
    // 10.00 / 0.35 = 28.571428571428… GB = 28 571 428 571.43 bytes, down to the byte
    expect(capOverBytes(money(1000n), plan({ rate: parseDecimal('0.35', 'r') }))).to.equal(28_571_428_571n);
    // per block of 100 GB at €20.00: €50.00 buys 2 whole blocks, 200 GB
    expect(
      capOverBytes(
        money(5000n),
        plan({ model: { kind: 'per_block', blockUnits: 100 }, rate: parseDecimal('20', 'r') }),
      ),
    ).to.equal(200n * GB);
    // nothing over the allowance costs anything: no money cap is ever reached
    expect(capOverBytes(money(5000n), plan({ rate: parseDecimal('0', 'r') }))).to.equal(null);
    expect(capOverBytes(bytes(30n * GB), plan())).to.equal(30n * GB);
  });

  it('bills at most the cap: money as set, bytes at what they cost, rounded once', () => {
    expect(capMinor(money(2500n), plan())).to.equal(2500n);
    expect(capMinor(bytes(30n * GB), plan())).to.equal(1500n); // 30 × €0.50
    expect(capMinor(bytes(30n * GB), plan({ rate: parseDecimal('0.35', 'r') }))).to.equal(1050n); // 30 × €0.35
    expect(
      capMinor(
        bytes(30n * GB),
        plan({ model: { kind: 'per_block', blockUnits: 100 }, rate: parseDecimal('20', 'r') }),
      ),
    ).to.equal(2000n); // one started block
    // 300 GB used of 100: €100.00 uncapped, €15.00 under a 30 GB cap
    const used = { usedBytes: 300n * GB, days: 31, nominalDays: 31, seconds: 2_678_400n };
    expect(rateUsage(used, plan()).amountMinor).to.equal(10000n);
    const capped = rateUsage(used, cappedPlan(plan(), bytes(30n * GB)));
    expect([capped.amountMinor, capped.capped]).to.deep.equal([1500n, true]);
    // the provider's lower cap stays
    expect(cappedPlan(plan({ capMinor: 1000n }), money(2500n)).capMinor).to.equal(1000n);
    // the client's lower cap replaces the provider's €30.00
    expect(cappedPlan(plan({ capMinor: 3000n }), money(2500n)).capMinor).to.equal(2500n);
  });

  it('counts a bytes cap from the end of the tolerance, and a money cap per block at a rate with cents', () => {
    // 100 GB included + 10 GB tolerance: 30 GB over that cost 30 × €0.50 = €15.00
    expect(capMinor(bytes(30n * GB), plan({ toleranceBytes: 10n * GB }))).to.equal(1500n);
    // blocks of 100 GB at €20.50: €50.00 buys ⌊50 / 20.50⌋ = 2 blocks, 200 GB
    expect(
      capOverBytes(
        money(5000n),
        plan({ model: { kind: 'per_block', blockUnits: 100 }, rate: parseDecimal('20.50', 'r') }),
      ),
    ).to.equal(200n * GB);
  });

  it("refuses a cap in another currency than the service's, and a Mbit/s plan", () => {
    expect(() => capOverBytes({ ...money(2500n), currency: 'USD' }, plan())).to.throw(
      'the cap is in USD, but the service is billed in EUR',
    );
    expect(() =>
      capMinor(money(2500n), plan({ model: { kind: 'avg_mbps', commitMbps: parseDecimal('10', 'c') } })),
    ).to.throw('a cap applies to billing per unit or per block of bytes, not avg_mbps');
    expect(() =>
      capOverBytes(money(2500n), plan({ model: { kind: 'p95', commitMbps: parseDecimal('10', 'c') } })),
    ).to.throw('a cap applies to billing per unit or per block of bytes, not p95');
    expect(() => capMinor({ ...money(2500n), currency: 'USD' }, plan())).to.throw(
      'the cap is in USD, but the service is billed in EUR',
    );
  });
});

describe('a service without a client cap', () => {
  it('keeps its plan as it is', () => {
    const p = plan();
    expect(cappedPlan(p, null)).to.equal(p);
  });
});
