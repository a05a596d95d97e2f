import { expect } from 'chai';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { buildWebStory, type WebStory } from '../support/web-story.js';

/**
 * The client API refuses a dispute of a line whose invoice was cancelled or refunded with 409
 * NOT_OWED and the client's own words (docs/billing-rules.md, "Cancelled and refunded invoices").
 * The web story: Ann (English) 1 000 GB over at €0.50 = €500.00 and Jan (Dutch) 500 GB over =
 * €250.00, each on the renewal of 2 June beside the VPS (Ann €19.95, Jan €24.50); the clock at 5 June, in time.
 */
describeEachEngine('the client API on a line not owed', ({ db }) => {
  let s: WebStory;

  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex);
  });

  const dispute = (lineId: number, clientId: number, reason: string) =>
    request(s.app)
      .post(`/overusage/api/v1/client/lines/${lineId}/dispute`)
      .set('Authorization', `Bearer ${s.token('client', clientId)}`)
      .send({ reason });

  it('409 NOT_OWED in English (cancelled) and in Dutch (refunded); no dispute written', async () => {
    await s.f.panel.api.updateInvoice({ invoiceId: s.ann.invoiceId, status: 'Cancelled' });
    const en = await dispute(s.ann.lineId, s.ann.clientId, 'I want the daily figures first.');
    expect([en.status, en.body.error]).to.deep.equal([
      409,
      {
        code: 'NOT_OWED',
        message: `Invoice #${s.ann.invoiceId}, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.`,
        details: { invoiceId: s.ann.invoiceId, status: 'Cancelled' },
      },
    ]);
    // Jan's renewal: €24.50 + €250.00 = €274.50 paid, then refunded
    await s.f.panel.api.addInvoicePayment({
      invoiceId: s.jan.invoiceId,
      transId: 'jan-1',
      gateway: 'banktransfer',
      date: '2013-06-04 10:00:00',
    });
    expect((await s.f.panel.api.getInvoice(s.jan.invoiceId)).total).to.equal('274.50');
    await s.f.panel.api.updateInvoice({ invoiceId: s.jan.invoiceId, status: 'Refunded' });
    const nl = await dispute(s.jan.lineId, s.jan.clientId, 'Ik wil eerst de dagcijfers zien.');
    expect([nl.status, nl.body.error.code, nl.body.error.message]).to.deep.equal([
      409,
      'NOT_OWED',
      `Factuur #${s.jan.invoiceId}, waarop deze regel staat, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.`,
    ]);
    expect((await db().knex('mod_overusage_disputes')).length).to.equal(0);
  });
});
