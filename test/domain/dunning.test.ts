import { expect } from 'chai';
import {
  lateFeeBase,
  lateFeeOn,
  lateFeeShareOnHeld,
  onlyHeldUnpaid,
  overdueSplit,
  suspensionShielded,
  taxOfLines,
} from '../../module/domain/dunning.js';

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
    expect(
      overdueSplit([
        { balance: 51995n, held: 50000n },
        { balance: 30000n, held: 50000n },
      ]),
    ).to.deep.equal({ disputed: 80000n, undisputed: 1995n });
    expect(suspensionShielded({ disputed: 80000n, undisputed: 1995n })).to.equal(false);
    expect(suspensionShielded({ disputed: 50000n, undisputed: 0n })).to.equal(true);
    expect(suspensionShielded({ disputed: 0n, undisputed: 0n })).to.equal(false);
  });

  describe('the late fee (WHMCS: Late Fee Type, Late Fee Amount, Late Fee Minimum; docs/billing-rules.md)', () => {
    // amounts are the panel's hundredths in every currency; a percentage is in hundredths of a percent
    const tenPercent = { fixed: false, amount: 1000n, minimum: 500n }; // 10.00 %, minimum 5.00

    it('charges a percentage of the base, rounded half-up to the hundredth, when it is above the minimum', () => {
      // €519.95 × 10 % = 51.995 → €52.00, above the €5.00 minimum
      expect(lateFeeOn(51995n, tenPercent)).to.equal(5200n);
      // €100.05 × 10 % = 10.005 → €10.01 (the half goes up)
      expect(lateFeeOn(10005n, tenPercent)).to.equal(1001n);
    });

    it('raises a percentage below the minimum to the minimum', () => {
      // €19.95 × 10 % = 1.995 → €2.00, below €5.00 → €5.00
      expect(lateFeeOn(1995n, tenPercent)).to.equal(500n);
      // without a minimum the €2.00 stands
      expect(lateFeeOn(1995n, { ...tenPercent, minimum: 0n })).to.equal(200n);
    });

    it('raises a fixed amount below the minimum to the minimum, and leaves one above it', () => {
      // fixed €3.00, minimum €5.00 → €5.00 ("the calculated late fee falls below" the minimum)
      expect(lateFeeOn(1995n, { fixed: true, amount: 300n, minimum: 500n })).to.equal(500n);
      // fixed €7.50, minimum €5.00 → €7.50, whatever the base
      expect(lateFeeOn(1995n, { fixed: true, amount: 750n, minimum: 500n })).to.equal(750n);
      expect(lateFeeOn(51995n, { fixed: true, amount: 750n, minimum: 500n })).to.equal(750n);
    });

    it('charges nothing when nothing is late, not even the minimum', () => {
      expect(lateFeeOn(0n, { fixed: true, amount: 500n, minimum: 500n })).to.equal(0n);
      expect(lateFeeOn(-5200n, tenPercent)).to.equal(0n);
    });

    it('charges nothing, not even the minimum, when the Late Fee Amount is 0 (late fees off)', () => {
      expect(lateFeeOn(51995n, { ...tenPercent, amount: 0n })).to.equal(0n);
      expect(lateFeeOn(51995n, { fixed: true, amount: 0n, minimum: 500n })).to.equal(0n);
    });

    it('counts yen and dinars in the same hundredths as the panel stores them', () => {
      // ¥1,995 = 199500 hundredths; × 10 % = ¥199.50 (the panel keeps two decimals in yen too), above ¥5.00
      expect(lateFeeOn(199500n, tenPercent)).to.equal(19950n);
      // BHD 12.34 × 2.50 % = 0.3085 → BHD 0.31 (two decimals, as the panel stores the dinar), no minimum
      expect(lateFeeOn(1234n, { fixed: false, amount: 250n, minimum: 0n })).to.equal(31n);
    });

    it('charges it on the unpaid balance less the fee already on it and less what is held', () => {
      // €571.95 unpaid, of which the €52.00 fee and €500.00 held → base €19.95
      expect(lateFeeBase({ balance: 57195n, fee: 5200n, held: 50000n })).to.equal(1995n);
      // all of it held: nothing late (−0.00 ≤ 0)
      expect(lateFeeBase({ balance: 55200n, fee: 5200n, held: 50000n })).to.equal(0n);
    });

    it('takes the VAT the invoice carries for the fee and the held line out of the base with them', () => {
      const vat21 = [{ units: 21000n, scale: 3 }];
      // taxed 19.95 + 500.00 + the 62.91 fee = 582.86: VAT 122.4006 → 122.40; without the fee and
      // the line, 19.95: 4.1895 → 4.19; carried for them 122.40 − 4.19 = 118.21
      expect(taxOfLines(58286n, 56291n, vat21)).to.equal(11821n);
      // 705.26 unpaid − 62.91 − 500.00 − 118.21 = 24.14: the hosting with its VAT (19.95 + 4.19)
      expect(lateFeeBase({ balance: 70526n, fee: 6291n, held: 50000n, tax: 11821n })).to.equal(2414n);
      // two levels (21 % and 9.975 %, not compound), each rounded once: 500.00 → 105.00 + 49.875 →
      // 49.88 (half-up); without it 0.00: 154.88; nothing taxed off, or no rate: nothing
      expect(taxOfLines(50000n, 50000n, [...vat21, { units: 9975n, scale: 3 }])).to.equal(15488n);
      expect(taxOfLines(50000n, 0n, vat21)).to.equal(0n);
      expect(taxOfLines(50000n, 50000n, [{ units: 0n, scale: 2 }])).to.equal(0n);
    });

    it('gives back the part of a fee that fell on a line held after it, never below 0 or above the fee', () => {
      // €571.95 unpaid: the €52.00 fee, €500.00 held; on the €19.95 rest 10 % is 1.995 → €2.00,
      // raised to the €5.00 minimum; the share is €52.00 − €5.00 = €47.00
      expect(lateFeeShareOnHeld({ balance: 57195n, fee: 5200n, held: 50000n }, tenPercent)).to.equal(4700n);
      // a €1.00 fee the admin lowered below the €5.00 due on the rest: 1.00 − 5.00 < 0 → nothing
      expect(lateFeeShareOnHeld({ balance: 52095n, fee: 100n, held: 50000n }, tenPercent)).to.equal(0n);
      // a fee equal to the fee on the rest (€5.00 − €5.00 = 0): nothing
      expect(lateFeeShareOnHeld({ balance: 55500n, fee: 500n, held: 50000n }, tenPercent)).to.equal(0n);
      // all of the rest held: the fee on a base of 0 is 0, so the whole €52.00 fee is the share
      expect(lateFeeShareOnHeld({ balance: 55200n, fee: 5200n, held: 50000n }, tenPercent)).to.equal(5200n);
    });

    it('gives nothing back when nothing is held, even for a fee larger than the balance would now carry', () => {
      // €300.00 left after a partial payment, carrying a €52.00 fee from the full €519.95: the fee on
      // €248.00 would be €24.80, yet with no held line there is nothing to give back (not €27.20)
      expect(lateFeeShareOnHeld({ balance: 30000n, fee: 5200n, held: 0n }, tenPercent)).to.equal(0n);
      // no fee on the invoice: nothing, whatever is held
      expect(lateFeeShareOnHeld({ balance: 51995n, fee: 0n, held: 50000n }, tenPercent)).to.equal(0n);
    });
  });
});
