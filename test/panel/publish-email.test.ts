import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { buildPanel, seedStory, serveApi, type PanelFixture, type ServedApi, type Story } from './support.js';

/**
 * Publishing a draft over the External API (issue 19): `status=Unpaid` with `publishandsendemail`
 * sends the client "Invoice Created" once; `publish` alone publishes without an email. Bodies by
 * php-cli's http_build_query.
 */
describeEachEngine('UpdateInvoice publish and send (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;
  let app: express.Express;

  before(async function () {
    needPhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
    served = await serveApi(f);
    app = express();
    app.use(f.panel.apiRouter);
  });
  after(async () => {
    await served?.close();
  });

  const call = (params: Record<string, unknown>) =>
    request(app)
      .post('/includes/api.php')
      .type('form')
      .send(
        phpBuildQuery({
          ...params,
          identifier: served.identifier,
          secret: served.secret,
          responsetype: 'json',
        }),
      );
  const draft = async (amount: string) => {
    const r = await call({
      action: 'CreateInvoice',
      userid: String(story.clientId),
      draft: true,
      itemdescription1: 'Held overusage',
      itemamount1: amount,
    });
    expect(r.body).to.include({ result: 'success', status: 'Draft' });
    return String(r.body.invoiceid);
  };
  const emailsFor = async (invoiceid: string) =>
    (await f.knex('tblemails').where({ userid: story.clientId }).select('subject', 'message')).filter((e) =>
      String(e.message).includes(`Invoice #${invoiceid}<br>`),
    );

  it('status=Unpaid&publishandsendemail=1 publishes the draft and sends "Invoice Created" (Customer Invoice, €12.34 due) once', async () => {
    const id = await draft('12.34');
    expect(await emailsFor(id)).to.have.length(0);
    const r = await call({
      action: 'UpdateInvoice',
      invoiceid: id,
      status: 'Unpaid',
      publishandsendemail: true,
    });
    expect(r.body).to.deep.equal({ result: 'success', invoiceid: id });
    expect((await f.panel.api.getInvoice(Number(id))).status).to.equal('Unpaid');
    const sent = await emailsFor(id);
    expect(sent).to.have.length(1);
    expect(sent[0]!.subject).to.equal('Customer Invoice');
    expect(String(sent[0]!.message)).to.include('Amount Due: €12.34');
    // a second publish is refused: it is no longer a draft, and nothing more is sent
    const again = await call({ action: 'UpdateInvoice', invoiceid: id, publishandsendemail: true });
    expect(again.body).to.deep.equal({
      result: 'error',
      message: 'Invoice must be in Draft status to be published',
    });
    expect(await emailsFor(id)).to.have.length(1);
  });

  it('publish=1 alone publishes without an email', async () => {
    const id = await draft('5.00');
    const r = await call({ action: 'UpdateInvoice', invoiceid: id, publish: true });
    expect(r.body).to.deep.equal({ result: 'success', invoiceid: id });
    expect((await f.panel.api.getInvoice(Number(id))).status).to.equal('Unpaid');
    expect(await emailsFor(id)).to.have.length(0);
  });
});
