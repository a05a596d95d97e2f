import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, seedStory, type PanelFixture, type Story } from './support.js';

const SYSTEM = { source: 'localapi' as const, user: 'system' as const };

/**
 * Credit applied to generated invoices (issue 19): WHMCS applies a client's credit to the invoices
 * its cron and GenInvoices create unless General Settings › Credit › "Disable Auto Credit
 * Applying" (NoAutoApplyCredit) is ticked. Here it comes after InvoiceCreation, so it also covers
 * a line a hook added there (as the add-on adds overusage).
 */
describeEachEngine('credit applied to new invoices (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let story: Story;

  beforeEach(async () => {
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
  });

  const credit = async (clientid: number, amount: string) => {
    const r = await f.panel.commands.execute(
      'AddCredit',
      { clientid: String(clientid), description: 'goodwill', amount },
      SYSTEM,
    );
    expect(r.result).to.equal('success');
  };
  const clientCredit = async (id: number) =>
    String(
      (
        (await f.panel.commands.execute(
          'GetClientsDetails',
          { clientid: String(id) },
          SYSTEM,
        )) as unknown as { client: { credit: string } }
      ).client.credit,
    );
  const invoiceOf = async (userid: number) =>
    f.panel.api.getInvoice(Number((await f.knex('tblinvoices').where({ userid }).first('id'))!.id));

  it('by default: 30.00 pays the 19.95 renewal (10.05 left), 5.00 goes on the 24.50 one (19.50 due); the credit log and activity say so', async () => {
    await credit(story.clientId, '30.00');
    await credit(story.dutchClientId, '5.00');
    await f.panel.runDailyAutomation('2025-01-20');
    const ann = await invoiceOf(story.clientId);
    // 30.00 − 19.95 = 10.05 left; as WHMCS, total = subtotal − credit: 0.00; fully covered, so Paid and renewed to 1 March
    expect([ann.subtotal, ann.credit, ann.total, ann.balance, ann.status]).to.deep.equal([
      '19.95',
      '19.95',
      '0.00',
      '0.00',
      'Paid',
    ]);
    expect(await clientCredit(story.clientId)).to.equal('10.05');
    expect(
      String(
        (await f.knex('tblhosting').where({ id: story.serviceId }).first('nextduedate')).nextduedate,
      ).slice(0, 10),
    ).to.equal('2025-03-01');
    const jan = await invoiceOf(story.dutchClientId);
    // 24.50 − 5.00 = 19.50 still due
    expect([jan.subtotal, jan.credit, jan.total, jan.balance, jan.status]).to.deep.equal([
      '24.50',
      '5.00',
      '19.50',
      '19.50',
      'Unpaid',
    ]);
    expect(await clientCredit(story.dutchClientId)).to.equal('0.00');
    const log = (
      await f
        .knex('tblcredit')
        .where({ clientid: story.dutchClientId })
        .orderBy('id')
        .select('description', 'amount')
    ).map((r) => [String(r.description), String(r.amount)]);
    expect(log).to.deep.equal([
      ['goodwill', '5.00'],
      [`Credit Applied to Invoice #${jan.invoiceId}`, '-5.00'],
    ]);
    const activity = (await f.knex('tblactivitylog').select('description')).map((r) => String(r.description));
    expect(activity).to.include(
      `Credit Automatically Applied at Invoice Creation - Invoice ID: ${jan.invoiceId} - Amount: 5.00`,
    );
  });

  it('covers a line an InvoiceCreation hook added: 19.95 + 10.00 = 29.95 of 30.00, 0.05 left', async () => {
    f.panel.hooks.add('InvoiceCreation', 1, async (vars: { invoiceid: number }) => {
      await f.panel.commands.execute(
        'UpdateInvoice',
        {
          invoiceid: String(vars.invoiceid),
          newitemdescription: { 0: 'Overusage 20 GB' },
          newitemamount: { 0: '10.00' },
          newitemtaxed: { 0: '0' },
        },
        SYSTEM,
      );
    });
    await credit(story.clientId, '30.00');
    await f.panel.runDailyAutomation('2025-01-20');
    const ann = await invoiceOf(story.clientId);
    expect([ann.subtotal, ann.credit, ann.total, ann.status]).to.deep.equal([
      '29.95',
      '29.95',
      '0.00',
      'Paid',
    ]);
    expect(await clientCredit(story.clientId)).to.equal('0.05');
  });

  it('leaves the credit alone when NoAutoApplyCredit is ticked, and on invoices from CreateInvoice without autoapplycredit', async () => {
    await f.setting('NoAutoApplyCredit', 'on');
    await credit(story.clientId, '30.00');
    await f.panel.runDailyAutomation('2025-01-20');
    const ann = await invoiceOf(story.clientId);
    expect([ann.total, ann.credit, ann.status]).to.deep.equal(['19.95', '0.00', 'Unpaid']);
    await f.setting('NoAutoApplyCredit', '');
    const made = await f.panel.commands.execute(
      'CreateInvoice',
      { userid: String(story.clientId), itemdescription1: 'Extra', itemamount1: '7.00' },
      SYSTEM,
    );
    const extra = await f.panel.api.getInvoice(Number((made as unknown as { invoiceid: string }).invoiceid));
    expect([extra.credit, extra.status]).to.deep.equal(['0.00', 'Unpaid']);
    expect(await clientCredit(story.clientId)).to.equal('30.00');
  });
});
