import { expect } from 'chai';
import { creditStandings, hundredthsToMinor } from '../../module/domain/credit-use.js';

// Credit logs in the panel's hundredths, oldest row first, as GetCredits lists them.
describe('where a credit on the account went (oldest credit first)', () => {
  it('shows a waived line’s €500.00 credit with the €19.95 the next renewal took and €480.05 left', () => {
    // row 1: +500.00 (the dispute's credit); row 2: −19.95 applied to invoice #7 → 500.00 − 19.95 = 480.05
    const s = creditStandings([
      { id: 1, amount: 50000n, invoiceId: 0 },
      { id: 2, amount: -1995n, invoiceId: 7 },
    ]);
    expect(s.get(1)).to.deep.equal({ given: 50000n, uses: [{ invoiceId: 7, amount: 1995n }], left: 48005n });
    expect(s.has(2)).to.equal(false); // a use is not a credit
  });

  it('uses an older credit first, so a later credit is untouched until the older one is spent', () => {
    // +10.00 (an overpayment), then +500.00 (the dispute), then −19.95 on #7:
    // 10.00 of it from the overpayment, 9.95 from the dispute's credit → 490.05 left of it
    const s = creditStandings([
      { id: 4, amount: 1000n, invoiceId: 3 },
      { id: 5, amount: 50000n, invoiceId: 0 },
      { id: 6, amount: -1995n, invoiceId: 7 },
    ]);
    expect(s.get(4)).to.deep.equal({ given: 1000n, uses: [{ invoiceId: 7, amount: 1000n }], left: 0n });
    expect(s.get(5)).to.deep.equal({ given: 50000n, uses: [{ invoiceId: 7, amount: 995n }], left: 49005n });
  });

  it('reads the rows in log order whatever order they come in, and joins two rows for one invoice', () => {
    // +500.00; −5.00 on #7 and −14.95 on #7 (applied in two goes) → one use of 19.95; −30.00 taken
    // back by hand (no invoice) → 500.00 − 19.95 − 30.00 = 450.05
    const s = creditStandings([
      { id: 12, amount: -1495n, invoiceId: 7 },
      { id: 10, amount: 50000n, invoiceId: 0 },
      { id: 13, amount: -3000n, invoiceId: 0 },
      { id: 11, amount: -500n, invoiceId: 7 },
    ]);
    expect(s.get(10)).to.deep.equal({
      given: 50000n,
      uses: [
        { invoiceId: 7, amount: 1995n },
        { invoiceId: null, amount: 3000n },
      ],
      left: 45005n,
    });
  });

  it('spends a credit to nothing and goes on to the next, and ignores what the log takes beyond all it gave', () => {
    // +20.00, +30.00; −45.00 on #8 → 20.00 of the first, 25.00 of the second (5.00 left); −10.00 on
    // #9 → 5.00 of the second; the other 5.00 had no credit behind it
    const s = creditStandings([
      { id: 1, amount: 2000n, invoiceId: 0 },
      { id: 2, amount: 3000n, invoiceId: 0 },
      { id: 3, amount: -4500n, invoiceId: 8 },
      { id: 4, amount: -1000n, invoiceId: 9 },
    ]);
    expect(s.get(1)).to.deep.equal({ given: 2000n, uses: [{ invoiceId: 8, amount: 2000n }], left: 0n });
    expect(s.get(2)).to.deep.equal({
      given: 3000n,
      uses: [
        { invoiceId: 8, amount: 2500n },
        { invoiceId: 9, amount: 500n },
      ],
      left: 0n,
    });
  });
});

describe('a credit log row of nothing', () => {
  it('is neither a credit given nor a use: a 0.00 row leaves the others as they were', () => {
    // 0.00 logged first, then +10.00 and −4.00 on #7: the 10.00 credit alone, 4.00 used, 6.00 left
    const s = creditStandings([
      { id: 1, amount: 0n, invoiceId: 0 },
      { id: 2, amount: 1000n, invoiceId: 0 },
      { id: 3, amount: -400n, invoiceId: 7 },
    ]);
    expect([...s.keys()]).to.deep.equal([2]);
    expect(s.get(2)).to.deep.equal({ given: 1000n, uses: [{ invoiceId: 7, amount: 400n }], left: 600n });
  });
});

describe('the panel’s hundredths in a currency’s minor units', () => {
  it('keeps cents, drops the hundredths of a zero-decimal currency and adds a digit for a three-decimal one', () => {
    // the panel keeps two decimals in every currency: €480.05 = 48005 cents; ¥500.00 = ¥500; BHD 1.25 = 1250 fils
    expect(hundredthsToMinor(48005n, 'EUR')).to.equal(48005n);
    expect(hundredthsToMinor(50000n, 'JPY')).to.equal(500n);
    expect(hundredthsToMinor(125n, 'BHD')).to.equal(1250n);
  });
});
