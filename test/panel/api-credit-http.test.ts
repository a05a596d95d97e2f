import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { requirePhp } from '../bridge/support.js';
import {
  buildPanel,
  seedStory,
  serveApi,
  snapshot,
  type PanelFixture,
  type ServedApi,
  type Story,
} from './support.js';
import { phpCall, phpOk } from './php-form.js';

/**
 * ApplyCredit and GetTransactions over /includes/api.php on 127.0.0.1, each body built by
 * php-cli's http_build_query as WHMCS's scripts send it. Every figure is worked out by hand below.
 *
 * The story: 20 January 2025. Ann's VPS (19.95 a month, due 1 February) is on renewal invoice #1
 * (19.95, no tax); Jan's (24.50) on invoice #2. Ann is given 25.00 credit with AddCredit.
 */
describeEachEngine('API over HTTP: ApplyCredit and GetTransactions', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;

  before(async function () {
    requirePhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
    served = await serveApi(f);
    await phpOk(served, `['action' => 'GenInvoices', 'clientid' => ${story.clientId}]`);
    await phpOk(served, `['action' => 'GenInvoices', 'clientid' => ${story.dutchClientId}]`);
    const added = await phpOk(
      served,
      `['action' => 'AddCredit', 'clientid' => ${story.clientId}, 'description' => 'Goodwill', 'amount' => '25.00']`,
    );
    expect(added.newbalance).to.equal('25.00');
  });
  after(async () => {
    await served?.close();
  });

  const emails = async (userid: number) =>
    Number((await f.knex('tblemails').where({ userid }).count({ n: '*' }))[0]!.n);

  /** an error answer, and nothing written */
  async function refused(arrayLiteral: string, message: string) {
    const before = await snapshot(f.knex);
    const a = await phpCall(served, arrayLiteral);
    expect(a.status).to.equal(200);
    expect(a.body).to.deep.equal({ result: 'error', message });
    expect(await snapshot(f.knex)).to.deep.equal(before);
  }

  it('applies part of the credit: the invoice total and the client balance move by the amount', async () => {
    const before = await emails(story.clientId);
    const applied = await phpOk(served, `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => 5.5]`);
    // PHP sends the float 5.5 as "5.5"; the answer is WHMCS's: the id and the amount as strings
    expect(applied).to.deep.equal({
      result: 'success',
      invoiceid: '1',
      amount: '5.50',
      invoicepaid: 'false',
    });
    // 19.95 − 5.50 = 14.45 left on the invoice; 25.00 − 5.50 = 19.50 left to the client
    const inv = await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`);
    expect(inv).to.include({
      status: 'Unpaid',
      subtotal: '19.95',
      credit: '5.50',
      total: '14.45',
      balance: '14.45',
    });
    const client = await phpOk(served, `['action' => 'GetClientsDetails', 'clientid' => ${story.clientId}]`);
    expect((client.client as Record<string, unknown>).credit).to.equal('19.50');
    const log = await phpOk(served, `['action' => 'GetCredits', 'clientid' => ${story.clientId}]`);
    const rows = (log.credits as { credit: Array<Record<string, unknown>> }).credit;
    expect(rows.map((r) => [r.description, r.amount, r.relid])).to.deep.equal([
      ['Goodwill', '25.00', 0],
      ['Credit Applied to Invoice #1', '-5.50', 1],
    ]);
    // not paid yet: no payment confirmation
    expect(await emails(story.clientId)).to.equal(before);
  });

  it("refuses with WHMCS's messages and writes nothing", async () => {
    // the client has 19.50; the invoice needs 14.45
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '19.51']`,
      'Amount exceeds customer credit balance',
    );
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '14.46']`,
      'Amount Exceeds Invoice Balance',
    );
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '0']`,
      'Credit Amount to apply must be greater than zero',
    );
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '-1.00']`,
      'Credit Amount to apply must be greater than zero',
    );
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => 'ten']`,
      'Amount must be in decimal format: ### or ###.##',
    );
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 999, 'amount' => '1.00']`,
      'Invoice ID Not Found',
    );
    await refused(`['action' => 'ApplyCredit', 'invoiceid' => 'abc']`, 'Invoice ID Not Found');
    await refused(`['action' => 'ApplyCredit', 'invoiceid' => [1, 2]]`, 'Invoice ID Not Found');
    // Jan has no credit: without an amount, the most he can apply is 0.00
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 2]`,
      'Credit Amount to apply must be greater than zero',
    );
  });

  it('without an amount applies what settles the invoice, marks it Paid and renews the service', async () => {
    const before = await emails(story.clientId);
    const applied = await phpOk(served, `['action' => 'ApplyCredit', 'invoiceid' => 1]`);
    // min(credit 19.50, balance 14.45) = 14.45
    expect(applied).to.deep.equal({
      result: 'success',
      invoiceid: '1',
      amount: '14.45',
      invoicepaid: 'true',
    });
    const inv = await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`);
    // 5.50 + 14.45 = 19.95 credit; total 0.00; paid at the clock's time in Brussels (09:30Z = 10:30)
    expect(inv).to.include({
      status: 'Paid',
      credit: '19.95',
      total: '0.00',
      balance: '0.00',
      datepaid: '2025-01-20 10:30:00',
    });
    const client = await phpOk(served, `['action' => 'GetClientsDetails', 'clientid' => ${story.clientId}]`);
    // 19.50 − 14.45 = 5.05
    expect((client.client as Record<string, unknown>).credit).to.equal('5.05');
    const svc = await phpOk(served, `['action' => 'GetClientsProducts', 'serviceid' => ${story.serviceId}]`);
    // the paid renewal moves the due date one month on: 1 February → 1 March
    expect((svc.products as { product: Array<Record<string, unknown>> }).product[0]!.nextduedate).to.equal(
      '2025-03-01',
    );
    // one "Invoice Payment Confirmation"
    expect(await emails(story.clientId)).to.equal(before + 1);
    await refused(
      `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '1.00']`,
      'Invoice Not in Unpaid Status',
    );
  });

  it('lists payments as WHMCS does, filtered by client, invoice or transaction id', async () => {
    // Jan pays invoice #2 (24.50) in two parts: 10.00 with a 0.35 fee, then 14.50
    await phpOk(
      served,
      `['action' => 'AddInvoicePayment', 'invoiceid' => 2, 'transid' => 'T-1', 'gateway' => 'banktransfer', 'date' => '2025-01-20 11:00:00', 'amount' => '10.00', 'fees' => '0.35', 'noemail' => true]`,
    );
    await phpOk(
      served,
      `['action' => 'AddInvoicePayment', 'invoiceid' => 2, 'transid' => 'T-2', 'gateway' => 'paypal', 'date' => '2025-01-21 08:15:00', 'amount' => '14.50', 'noemail' => true]`,
    );
    const all = await phpOk(served, `['action' => 'GetTransactions', 'clientid' => ${story.dutchClientId}]`);
    expect(all).to.deep.equal({
      result: 'success',
      totalresults: 2,
      startnumber: 0,
      numreturned: 2,
      transactions: {
        transaction: [
          {
            id: '1',
            userid: String(story.dutchClientId),
            currency: '0',
            gateway: 'banktransfer',
            date: '2025-01-20 11:00:00',
            description: 'Invoice Payment',
            amountin: '10.00',
            fees: '0.35',
            amountout: '0.00',
            rate: '1.00000',
            transid: 'T-1',
            invoiceid: '2',
            refundid: '0',
          },
          {
            id: '2',
            userid: String(story.dutchClientId),
            currency: '0',
            gateway: 'paypal',
            date: '2025-01-21 08:15:00',
            description: 'Invoice Payment',
            amountin: '14.50',
            fees: '0.00',
            amountout: '0.00',
            rate: '1.00000',
            transid: 'T-2',
            invoiceid: '2',
            refundid: '0',
          },
        ],
      },
    });
    const byTrans = await phpOk(served, `['action' => 'GetTransactions', 'transid' => 'T-2']`);
    expect(byTrans).to.include({ totalresults: 1, numreturned: 1 });
    expect(
      (byTrans.transactions as { transaction: Array<Record<string, unknown>> }).transaction.map((t) => t.id),
    ).to.deep.equal(['2']);
    // invoice #1 was settled with credit only: no transaction
    expect(await phpOk(served, `['action' => 'GetTransactions', 'invoiceid' => 1]`)).to.deep.include({
      totalresults: 0,
      transactions: { transaction: [] },
    });
    expect(await phpOk(served, `['action' => 'GetTransactions', 'clientid' => 'nobody']`)).to.include({
      totalresults: 0,
    });
    // 10.00 + 14.50 = 24.50: Jan's invoice is Paid
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => 2]`)).to.include({
      status: 'Paid',
      balance: '0.00',
    });
  });

  it('never spends the same credit twice: two ApplyCredit calls at once, one refused', async () => {
    // Jan gets 25.00 credit and a 40.00 invoice; two calls of 15.00 each arrive together: 15 + 15 > 25
    await phpOk(
      served,
      `['action' => 'AddCredit', 'clientid' => ${story.dutchClientId}, 'description' => 'Refund', 'amount' => '25.00']`,
    );
    const created = await phpOk(
      served,
      `['action' => 'CreateInvoice', 'userid' => ${story.dutchClientId}, 'itemdescription1' => 'Extra IP', 'itemamount1' => '40.00']`,
    );
    const id = Number(created.invoiceid);
    const both = await Promise.all(
      [1, 2].map(() =>
        phpCall(served, `['action' => 'ApplyCredit', 'invoiceid' => ${id}, 'amount' => '15.00']`),
      ),
    );
    const answers = both.map((a) => (a.body.result === 'success' ? 'applied' : a.body.message)).sort();
    expect(answers).to.deep.equal(['Amount exceeds customer credit balance', 'applied']);
    // 25.00 − 15.00 = 10.00 left; the invoice 40.00 − 15.00 = 25.00
    const client = await phpOk(
      served,
      `['action' => 'GetClientsDetails', 'clientid' => ${story.dutchClientId}]`,
    );
    expect((client.client as Record<string, unknown>).credit).to.equal('10.00');
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${id}]`)).to.include({
      credit: '15.00',
      total: '25.00',
    });
  });
});
