import { expect } from 'chai';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, ANN, buildWebStory, login, pageText, type WebStory } from '../support/web-story.js';

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

  it("a dispute voided by the cancelled renewal: the client's list and page, and the admin's queue and page, say why", async () => {
    // a fresh line for this check: Ann's line back to placed and undisputed, her renewal unpaid
    const knex = db().knex;
    await knex('mod_overusage_disputes').delete();
    await knex('mod_overusage_lines').where({ id: s.ann.lineId }).update({ status: 'placed' });
    await knex('tblinvoices').where({ id: s.ann.invoiceId }).update({ status: 'Unpaid' });
    const opened = await dispute(s.ann.lineId, s.ann.clientId, 'I want the daily figures first.');
    expect(opened.status, opened.text).to.equal(201);
    const disputeId = opened.body.dispute.id as number;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: s.ann.invoiceId, status: 'Cancelled' });
    const closedBy = { invoiceId: s.ann.invoiceId, status: 'Cancelled' };

    const lines = await request(s.app)
      .get('/overusage/api/v1/client/lines')
      .set('Authorization', `Bearer ${s.token('client', s.ann.clientId)}`);
    const mine = (lines.body.lines as Array<Record<string, any>>).find((l) => l.id === s.ann.lineId)!;
    expect([mine.state, mine.dispute.state, mine.dispute.closedBy]).to.deep.equal([
      'voided',
      'voided',
      closedBy,
    ]);

    const queue = await request(s.app)
      .get('/overusage/api/v1/admin/disputes?list=resolved')
      .set('Authorization', `Bearer ${s.token('admin', s.adminId)}`);
    const row = (queue.body.disputes as Array<Record<string, any>>).find((d) => d.id === disputeId)!;
    expect([row.state, row.holdState, row.closedBy]).to.deep.equal(['voided', 'released', closedBy]);

    // the client's page: the line's outcome in her words (7 June, the day it closed)
    const ann = await login(s.app, ANN);
    const page = pageText((await ann.agent.get('/index.php?m=overusage').expect(200)).text);
    expect(page).to.include(
      `Closed on 7 June 2013: invoice #${s.ann.invoiceId} was cancelled, so you owe nothing for this line.`,
    );
    // the admin's resolved list and the dispute's page: the state and the reason
    const admin = await login(s.app, ADMIN);
    const tab = '/admin/addonmodules.php?module=overusage';
    const why = `not owed: invoice #${s.ann.invoiceId} is Cancelled; closed with nothing to settle (no credit, no refund)`;
    const list = pageText((await admin.agent.get(`${tab}&a=disputes&list=resolved`).expect(200)).text);
    expect(list).to.include(`closed: nothing owed ${why}`);
    const one = pageText((await admin.agent.get(`${tab}&a=dispute&id=${disputeId}`).expect(200)).text);
    expect(one).to.include(`Closed because ${why}`);
  });
});
