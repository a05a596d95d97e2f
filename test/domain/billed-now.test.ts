import { expect } from 'chai';
import { billedNow, type LineFigures } from '../../module/domain/billed-now.js';
import { parseChargeStatus } from '../../module/domain/charge-status.js';

// The rule alone, case by case (test/web/billed-now.test.ts reads it through the stores and pages):
// lines of €500.00 and €300.00, minor units.
const line = (status: string, amountMinor: bigint, state: string | null = null): LineFigures => ({
  status,
  amountMinor,
  dispute: state === null ? null : { state },
});

describe('what a period bills now', () => {
  it('nothing while no line is on an invoice', () => {
    expect(billedNow([])).to.equal(null);
    expect(billedNow([line('pending', 50_000n)])).to.equal(null);
  });

  it('the invoiced lines summed; a pending line does not count', () => {
    // 500.00 + 300.00 = 800.00
    expect(billedNow([line('billed', 50_000n), line('paid', 30_000n)])).to.deep.equal({
      amountMinor: 80_000n,
      afterDispute: null,
    });
    expect(billedNow([line('billed', 50_000n), line('pending', 30_000n)])).to.deep.equal({
      amountMinor: 50_000n,
      afterDispute: null,
    });
    // an upheld dispute leaves the line as billed
    expect(billedNow([line('billed', 50_000n, 'upheld')])).to.deep.equal({
      amountMinor: 50_000n,
      afterDispute: null,
    });
  });

  it('a waived line bills 0, whether its status or its dispute says so', () => {
    // 300.00 still billed beside a waived 500.00: not every line waived, none adjusted
    expect(billedNow([line('waived', 50_000n), line('billed', 30_000n)])).to.deep.equal({
      amountMinor: 30_000n,
      afterDispute: null,
    });
    expect(billedNow([line('billed', 50_000n, 'waived'), line('billed', 30_000n)])).to.deep.equal({
      amountMinor: 30_000n,
      afterDispute: null,
    });
    expect(
      billedNow([line('waived', 50_000n), line('billed', 30_000n, 'waived'), line('pending', 10_000n)]),
    ).to.deep.equal({
      amountMinor: 0n,
      afterDispute: 'waived',
    });
  });

  it('an adjusted line bills its new amount and the period says so', () => {
    // adjusted to 350.00 beside a waived 300.00: 350.00
    expect(billedNow([line('billed', 35_000n, 'adjusted'), line('billed', 30_000n, 'waived')])).to.deep.equal(
      {
        amountMinor: 35_000n,
        afterDispute: 'adjusted',
      },
    );
  });
});

describe('a charge status as stored', () => {
  it('reads the known words and names the column of any other', () => {
    expect(parseChargeStatus('billed')).to.equal('billed');
    expect(parseChargeStatus('review')).to.equal('review');
    expect(() => parseChargeStatus('paid')).to.throw(
      'mod_overusage_charges.status holds "paid", which is not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
    );
  });
});
