import { expect } from 'chai';
import { lateFeeOn, onlyHeldUnpaid, overdueSplit, suspensionShielded } from '../../module/domain/dunning.js';

// The seed thread in the panel's hundredths: hosting €19.95, the held overusage €500.00.
describe('dunning around held amounts', () => {
  it('holds a reminder back only while nothing but held lines is unpaid', () => {
    expect(onlyHeldUnpaid(50000n, 50000n, 1)).to.equal(true); // €500.00 left, all of it held
    expect(onlyHeldUnpaid(50001n, 50000n, 1)).to.equal(false); // one cent of the rest unpaid
    expect(onlyHeldUnpaid(0n, 0n, 0)).to.equal(false); // nothing held: not ours to stop
  });

  it('splits what is overdue into disputed and undisputed, invoice by invoice', () => {
    // €519.95 with €500.00 held → 500.00 disputed, 19.95 not; €300.00 paid down to €300.00 while
    // €500.00 of it is held (a partial payment) → 300.00 disputed, nothing else
    expect(overdueSplit([{ balance: 51995n, held: 50000n }, { balance: 30000n, held: 50000n }])).to.deep.equal({ disputed: 80000n, undisputed: 1995n });
    expect(suspensionShielded({ disputed: 80000n, undisputed: 1995n })).to.equal(false);
    expect(suspensionShielded({ disputed: 50000n, undisputed: 0n })).to.equal(true);
    expect(suspensionShielded({ disputed: 0n, undisputed: 0n })).to.equal(false);
  });

  it('charges the late fee on the undisputed rest only, as the panel computes it', () => {
    const tenPercent = { fixed: false, amount: 1000n, minimum: 0n }; // 10.00 %
    expect(lateFeeOn(1995n, tenPercent)).to.equal(200n); // 10 % of €19.95 = 1.995 → €2.00
    expect(lateFeeOn(1995n, { ...tenPercent, minimum: 500n })).to.equal(500n); // raised to the €5.00 minimum
    expect(lateFeeOn(1995n, { fixed: true, amount: 500n, minimum: 0n })).to.equal(500n);
    expect(lateFeeOn(0n, { fixed: true, amount: 500n, minimum: 500n })).to.equal(0n); // nothing late: no fee at all
    expect(lateFeeOn(-5200n, tenPercent)).to.equal(0n);
  });
});
