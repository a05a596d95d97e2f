import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import type { HookVars } from '../../hooks/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

const DUNNING = [
  'Invoice Payment Reminder',
  'First Invoice Overdue Notice',
  'Second Invoice Overdue Notice',
  'Third Invoice Overdue Notice',
  'Credit Card Payment Due',
];

/**
 * What each dunning hook answers the panel, called as the panel calls it, with the seed thread on
 * the reference panel: the renewal invoice of 2 June (due 9 June) holds the hosting, €19.95, and
 * May's overusage, €500.00 (1 000 GB × €0.50), total €519.95. The client disputed the line on
 * 4 June, but the panel refuses to create the held draft: the line is still on the renewal.
 */
describeEachEngine('the dunning hooks, answer by answer', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    renewal = toNum(line.invoice_id);
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 10_000 };
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'I dispute this',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
  });

  const hook = (name: string) => (vars: HookVars) =>
    s.mod
      .hooks()
      .find((h) => h.name === name)!
      .handler(vars) as Promise<Record<string, unknown> | undefined>;
  const payHosting = () =>
    s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'hosting',
      gateway: 'banktransfer',
      date: '2013-06-05 10:00:00',
      amount: '19.95',
    });
  const activity = async () =>
    (
      await knex('tblactivitylog').where('description', 'like', 'Overusage: late fee%').select('description')
    ).map((r) => String(r.description));

  describe('EmailPreSend', () => {
    it('lets a reminder about unpaid hosting go, with the held line listed apart in English', async () => {
      const answer = await hook('EmailPreSend')({ messagename: 'Invoice Payment Reminder', relid: renewal });
      expect(Object.keys(answer!)).to.deep.equal(['overusage_held_lines']);
      expect(answer!.overusage_held_lines).to.match(
        /^Bandwidth overusage 1 – 31 May 2013: .* \[OU-[0-9A-F]{10}\] — €500\.00 \(on hold, under dispute: not due until we decide\)$/,
      );
    });

    it('lists the held line in Dutch for a Dutch-speaking client', async () => {
      await knex('tblclients').where({ id: s.story.clientId }).update({ language: 'dutch' });
      const answer = await hook('EmailPreSend')({
        messagename: 'First Invoice Overdue Notice',
        relid: renewal,
      });
      // nl-NL writes euros as "€ 500,00" (a no-break space after the sign)
      expect(answer!.overusage_held_lines).to.match(
        / — €\u00a0500,00 \(opgeschort, in betwisting: niet verschuldigd tot we beslissen\)$/,
      );
    });

    it('stops every dunning email once only the disputed line is unpaid (balance €500.00 = held €500.00), but not the invoice itself', async () => {
      await payHosting();
      for (const messagename of DUNNING)
        expect(await hook('EmailPreSend')({ messagename, relid: renewal }), messagename).to.deep.equal({
          abortsend: true,
        });
      const created = await hook('EmailPreSend')({ messagename: 'Invoice Created', relid: renewal });
      expect(created).to.have.property('overusage_held_lines');
      expect(created).to.not.have.property('abortsend');
    });

    it('stops nothing while one cent of the rest is unpaid (balance €500.01 > held €500.00)', async () => {
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'almost',
        gateway: 'banktransfer',
        date: '2013-06-05 10:00:00',
        amount: '19.94',
      });
      expect((await s.f.panel.api.getInvoice(renewal)).balance).to.equal('500.01');
      const answer = await hook('EmailPreSend')({
        messagename: 'First Invoice Overdue Notice',
        relid: renewal,
      });
      expect(answer).to.not.have.property('abortsend');
    });

    it('leaves other emails, bad ids and unknown invoices alone, and tells nothing to a client without an open dispute', async () => {
      await payHosting();
      expect(
        await hook('EmailPreSend')({ messagename: 'Invoice Payment Confirmation', relid: renewal }),
      ).to.equal(undefined);
      for (const relid of [0, -3, 'abc', 1.5, undefined])
        expect(
          await hook('EmailPreSend')({ messagename: 'Invoice Payment Reminder', relid }),
          String(relid),
        ).to.equal(undefined);
      expect(
        await hook('EmailPreSend')({ messagename: 'Invoice Payment Reminder', relid: 999_999 }),
      ).to.equal(undefined);
      const dutchInvoice = await s.f.panel.api.createInvoice({
        userId: s.story.dutchClientId,
        date: '2013-06-04',
        dueDate: '2013-06-11',
        items: [{ description: 'VPS', amount: '24.50', taxed: false }],
      });
      expect(
        await hook('EmailPreSend')({
          messagename: 'Invoice Payment Reminder',
          relid: dutchInvoice.invoiceId,
        }),
      ).to.equal(undefined);
    });
  });

  describe('PreModuleSuspend', () => {
    const suspend = (vars: HookVars) => hook('PreModuleSuspend')(vars);

    it('lets the suspension go while the undisputed hosting is overdue, and stops it once only the disputed line is (17 June)', async () => {
      s.f.clock.set('2013-06-17T08:00:00Z');
      expect(await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } })).to.equal(
        undefined,
      );
      await payHosting();
      expect(
        await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } }),
      ).to.deep.equal({ abortcmd: true });
      // WHMCS also passes the ids at the top level, as accountid/clientid in some versions
      expect(await suspend({ serviceid: s.story.serviceId, userid: s.story.clientId })).to.deep.equal({
        abortcmd: true,
      });
      expect(
        await suspend({ params: { accountid: s.story.serviceId, clientid: s.story.clientId } }),
      ).to.deep.equal({ abortcmd: true });
    });

    it('does not count an invoice on its due date as overdue (9 June): nothing disputed is overdue, the suspension goes ahead', async () => {
      await payHosting();
      s.f.clock.set('2013-06-09T08:00:00Z');
      expect(await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } })).to.equal(
        undefined,
      );
      s.f.clock.set('2013-06-09T22:00:00Z'); // 10 June 00:00 in Brussels: now it is overdue
      expect(
        await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } }),
      ).to.deep.equal({ abortcmd: true });
    });

    it('looks no further than its own table for a client without an open dispute, and ignores bad ids', async () => {
      s.f.clock.set('2013-06-17T08:00:00Z');
      s.faulty.calls.length = 0;
      expect(
        await suspend({ params: { serviceid: s.story.dutchServiceId, userid: s.story.dutchClientId } }),
      ).to.equal(undefined);
      expect(s.faulty.calls).to.deep.equal([]);
      for (const userid of [0, 'x', -1, undefined])
        expect(await suspend({ params: { serviceid: 1, userid } }), String(userid)).to.equal(undefined);
    });

    it('fails open: when the panel cannot be read, the suspension goes ahead', async () => {
      await payHosting();
      s.f.clock.set('2013-06-17T08:00:00Z');
      s.faulty.failNext = { method: 'getInvoices', when: 'before', times: 1 };
      expect(await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } })).to.equal(
        undefined,
      );
      expect(
        await suspend({ params: { serviceid: s.story.serviceId, userid: s.story.clientId } }),
      ).to.deep.equal({ abortcmd: true });
    });
  });

  describe('AddInvoiceLateFee', () => {
    /** The panel's fee line as its automation adds it: 10 % of the total €519.95 = €52.00 (51.995 half-up). */
    async function panelFee(amount = '52.00'): Promise<number> {
      await s.f.panel.api.updateInvoice({
        invoiceId: renewal,
        newItems: [{ description: 'Late Fee (Added 12/06/2013)', amount, taxed: false }],
      });
      const fee = (await s.f.panel.api.getInvoice(renewal)).items.find((i) =>
        i.description.startsWith('Late Fee'),
      )!;
      await knex('tblinvoiceitems').where({ id: fee.id }).update({ type: 'LateFee' });
      return fee.id;
    }
    const fees = async () =>
      (await s.f.panel.api.getInvoice(renewal)).items
        .filter((i) => i.type === 'LateFee')
        .map((i) => i.amount);
    const setting = (key: string, value: string) => s.f.setting(key, value);

    it('recomputes a percentage fee on the unpaid undisputed rest: 10 % of €19.95 = €2.00 (1.995 half-up), and says why', async () => {
      await panelFee();
      expect(await hook('AddInvoiceLateFee')({ invoiceid: renewal })).to.equal(undefined);
      expect(await fees()).to.deep.equal(['2.00']);
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('521.95');
      expect(await activity()).to.deep.equal([
        `Overusage: late fee on invoice ${renewal} set to 2.00: disputed lines are not part of its base`,
      ]);
    });

    it('keeps a fixed fee whole, and raises a percentage fee to the minimum', async () => {
      await setting('LateFeeType', 'Fixed Amount');
      await setting('InvoiceLateFeeAmount', '5.00');
      await panelFee('5.00');
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      expect(await fees()).to.deep.equal(['5.00']);
      expect(await activity(), 'nothing to change, nothing logged').to.deep.equal([]);
      await setting('LateFeeType', 'Percentage');
      await setting('InvoiceLateFeeAmount', '10.00');
      await setting('LateFeeMinimum', '3.00');
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      expect(await fees()).to.deep.equal(['3.00']);
    });

    it('computes a percentage of the rest with two decimals of percent: 12.5 % of €19.95 = €2.49 (2.49375)', async () => {
      await setting('InvoiceLateFeeAmount', '12.50');
      await panelFee('64.99');
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      expect(await fees()).to.deep.equal(['2.49']);
    });

    it('sets the fee to 0.00 when only the disputed line is unpaid, and keeps its line', async () => {
      await payHosting();
      await panelFee('50.00');
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      // kept at 0.00, not deleted: WHMCS adds a fee to an overdue invoice with no fee line, every day
      expect(await fees()).to.deep.equal(['0.00']);
      const inv = await s.f.panel.api.getInvoice(renewal);
      expect([inv.total, inv.balance]).to.deep.equal(['519.95', '500.00']);
      expect(await activity()).to.deep.equal([
        `Overusage: late fee on invoice ${renewal} set to 0.00: disputed lines are not part of its base`,
      ]);
    });

    it('leaves a fee that is already right, an invoice without a fee or a held line, and bad ids alone', async () => {
      await panelFee('2.00');
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      expect(await fees()).to.deep.equal(['2.00']);
      expect(await activity()).to.deep.equal([]);
      const other = await s.f.panel.api.createInvoice({
        userId: s.story.dutchClientId,
        date: '2013-06-04',
        dueDate: '2013-06-11',
        items: [{ description: 'VPS', amount: '24.50', taxed: false }],
      });
      await s.f.panel.api.updateInvoice({
        invoiceId: other.invoiceId,
        newItems: [{ description: 'Late Fee', amount: '2.45', taxed: false }],
      });
      await knex('tblinvoiceitems')
        .where({ invoiceid: other.invoiceId, description: 'Late Fee' })
        .update({ type: 'LateFee' });
      await hook('AddInvoiceLateFee')({ invoiceid: other.invoiceId });
      expect((await s.f.panel.api.getInvoice(other.invoiceId)).items.map((i) => i.amount)).to.deep.equal([
        '24.50',
        '2.45',
      ]);
      for (const invoiceid of [0, 'abc', -1])
        expect(await hook('AddInvoiceLateFee')({ invoiceid }), String(invoiceid)).to.equal(undefined);
    });

    it('on a held-line invoice without a late fee, changes nothing', async () => {
      const before = await s.f.panel.api.getInvoice(renewal);
      await hook('AddInvoiceLateFee')({ invoiceid: renewal });
      expect(await s.f.panel.api.getInvoice(renewal)).to.deep.equal(before);
    });
  });
});
