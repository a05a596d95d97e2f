import { expect } from 'chai';
import { isNotOwed, NOT_OWED_STATUSES } from '../../module/domain/invoice-status.js';

// docs/billing-rules.md, "Cancelled and refunded invoices": only Cancelled and Refunded end the
// debt; every other status the panel gives an invoice leaves its lines owed (written out by hand).
describe("what an invoice's status says about the money on it", () => {
  it('is not owed when the invoice was cancelled or refunded', () => {
    expect(NOT_OWED_STATUSES).to.deep.equal(['Cancelled', 'Refunded']);
    expect(isNotOwed('Cancelled')).to.equal(true);
    expect(isNotOwed('Refunded')).to.equal(true);
  });

  it('is still owed while unpaid, in collections, with a payment pending, or paid', () => {
    for (const status of ['Draft', 'Unpaid', 'Collections', 'Payment Pending', 'Paid'])
      expect(isNotOwed(status), status).to.equal(false);
  });

  it('takes the status only as the panel spells it', () => {
    // the panel stores the capitalised word; another spelling is not one of its statuses
    expect(isNotOwed('cancelled')).to.equal(false);
    expect(isNotOwed('')).to.equal(false);
  });
});
