import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { CLI_ACTOR as CLI } from '../support/module-fixture.js';

describeEachEngine('periods no renewal picks up, and lines that never reached an invoice', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    // the seed client's VPS renews yearly: no renewal invoice for months
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Annually', nextduedate: '2014-01-09' });
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.50', precommit: '0.35' } },
        unpicked: { policy: 'standalone', afterDays: 35 },
      },
      CLI,
    );
    await closeMay(s);
  });

  it('bills them on an invoice of their own after the set number of days, once', async () => {
    s.f.clock.set('2013-07-04T10:00:00Z');
    await s.mod.dailyBilling();
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.dailyBilling();
    await s.mod.dailyBilling();
    const lines = await knex('mod_overusage_lines');
    expect(lines).to.have.length(1);
    expect(lines[0].status).to.equal('placed');
    const inv = await s.f.panel.api.getInvoice(toNum(lines[0].invoice_id));
    expect(inv.items).to.have.length(1);
    expect(inv.total).to.equal('500.00');
    expect(inv.status).to.equal('Unpaid');
    expect(lines[0].deadline_last_day).to.equal('2013-07-19');
  });

  it('does not create a second invoice when the first one was created but not recorded', async () => {
    s.f.clock.set('2013-07-05T10:00:00Z');
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    // the failure surfaces (the cron logs it and tries again the next day)
    const failed = await s.mod.dailyBilling().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure after createInvoice took effect');
    s.faulty.failNext = null;
    await s.mod.dailyBilling();
    const invoices = await s.f.panel.api.getInvoices({ userId: s.story.clientId });
    expect(invoices.totalResults).to.equal(1);
    expect((await knex('mod_overusage_lines').first()).status).to.equal('placed');
  });

  /**
   * A renewal run (2 June, invoice for 9 June) whose delivery wrote the pending line and lost the
   * panel before the line was on the invoice; the same run's daily job and 5-minute tick try
   * again and fail too (the panel takes no change until the run is over).
   */
  async function interruptedRenewal(): Promise<number> {
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Monthly', nextduedate: '2013-06-09' });
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 99 };
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    s.faulty.failNext = null;
    const line = await knex('mod_overusage_lines').first();
    expect(line.status).to.equal('pending');
    const invoiceId = toNum(line.invoice_id);
    expect(
      (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) =>
        i.description.startsWith('Bandwidth overusage'),
      ),
    ).to.have.length(0);
    return invoiceId;
  }

  it('puts a line that never reached its still unpaid invoice on it, audited and in the activity log', async () => {
    const invoiceId = await interruptedRenewal();
    s.f.clock.set('2013-06-02T07:01:00Z');
    const out = await s.mod.lines!.reconcilePending();
    expect(out).to.deep.equal({
      confirmed: 0,
      placed: 1,
      released: [],
      recovered: [],
      busy: [],
      unreadable: [],
    });
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    const items = inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));
    // 6 TB used, 5 TB included: 1 000 GB × €0.50 = €500.00, on the €19.95 renewal
    expect(items.map((i) => i.amount)).to.deep.equal(['500.00']);
    expect(inv.total).to.equal('519.95');
    const line = await knex('mod_overusage_lines').first();
    expect(line.status).to.equal('placed');
    expect(toNum(line.invoice_item_id)).to.equal(items[0]!.id);
    expect((await knex('mod_overusage_charges').where({ id: line.charge_id }).first()).status).to.equal(
      'billed',
    );
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(audit).to.have.length(1);
    expect(JSON.parse(audit[0].details)).to.include({ invoiceId, via: 'reconcile' });
    const activity = await knex('tblactivitylog').where(
      'description',
      'like',
      `Overusage: line ${line.ref_code} (500.00 EUR) added to invoice ${invoiceId} by the reconciliation%`,
    );
    expect(activity).to.have.length(1);
    // nothing is left to do, and a second run changes nothing
    expect(await s.mod.lines!.reconcile()).to.deep.equal({
      confirmed: 0,
      placed: 0,
      released: [],
      recovered: [],
      busy: [],
      unreadable: [],
    });
    expect(
      (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) =>
        i.description.startsWith('Bandwidth overusage'),
      ),
    ).to.have.length(1);
  });

  it('lets the charge wait for the next invoice only when the invoice was paid first, and says so', async () => {
    const invoiceId = await interruptedRenewal();
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-hosting', gateway: 'banktransfer' });
    const line = await knex('mod_overusage_lines').first();
    const out = await s.mod.lines!.reconcilePending();
    expect(out.released).to.deep.equal([
      { chargeId: toNum(line.charge_id), invoiceId, invoiceStatus: 'Paid' },
    ]);
    expect(out.placed).to.equal(0);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect(
      (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) =>
        i.description.startsWith('Bandwidth overusage'),
      ),
    ).to.have.length(0);
    expect((await knex('mod_overusage_charges').where({ id: line.charge_id }).first()).status).to.equal(
      'unbilled',
    );
    const audit = await knex('mod_overusage_audit').where({ action: 'line.released' });
    expect(audit).to.have.length(1);
    expect(JSON.parse(audit[0].details).reason).to.equal(
      `invoice ${invoiceId} was paid before the line could be added; the charge waits for the next invoice`,
    );
    expect(
      await knex('tblactivitylog').where(
        'description',
        'like',
        `Overusage: line ${line.ref_code} (500.00 EUR) could not be added to invoice ${invoiceId}: the invoice was paid first;%`,
      ),
    ).to.have.length(1);
    // the admin tab says so, on the dashboard and on the service's page
    const tab = (query: Record<string, string> = {}) =>
      s.mod.web.adminOutput({ adminid: 1, request: { method: 'GET', query, body: {} } } as never);
    const said = `Charge ${toNum(line.charge_id)} of service #${s.story.serviceId} (€500.00, 1 May 2013 – 31 May 2013) waits for the service&#39;s next invoice: invoice #${invoiceId} was paid before its line could be added`;
    expect(await tab()).to.include(said);
    expect(await tab({ a: 'service', id: String(s.story.serviceId) })).to.include(said);
    // the next renewal (invoiced 2 July for 9 July) carries it, once
    s.f.clock.set('2013-07-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-07-02');
    const placed = await knex('mod_overusage_lines');
    expect(placed.map((l) => l.status)).to.deep.equal(['placed']);
    expect(toNum(placed[0].invoice_id)).to.not.equal(invoiceId);
    expect(
      (await s.f.panel.api.getInvoice(toNum(placed[0].invoice_id))).items
        .filter((i) => i.description.startsWith('Bandwidth overusage'))
        .map((i) => i.amount),
    ).to.deep.equal(['500.00']);
    expect(await tab()).to.not.include('data-waiting-charges');
  });

  it('gives a renewal invoice whose delivery never began the lines the hook would have given it', async () => {
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Monthly', nextduedate: '2013-06-09' });
    // the delivery dies at its first call, and so does every later look in the same run
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 99 };
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    s.faulty.failNext = null;
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    const invoiceId = toNum(
      (await knex('tblinvoiceitems').where({ type: 'Hosting', relid: s.story.serviceId }).first('invoiceid'))
        .invoiceid,
    );
    const out = await s.mod.lines!.reconcile();
    expect(out.recovered).to.deep.equal([{ invoiceId, added: 1 }]);
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(
      inv.items.filter((i) => i.description.startsWith('Bandwidth overusage')).map((i) => i.amount),
    ).to.deep.equal(['500.00']);
    expect(inv.total).to.equal('519.95');
    expect(
      await knex('tblactivitylog').where(
        'description',
        'like',
        `Overusage: line % (500.00 EUR) added to invoice ${invoiceId} by the reconciliation; the invoice's InvoiceCreation delivery had not finished`,
      ),
    ).to.have.length(1);
    // looked at once: the invoice's delivery is recorded as finished
    expect((await s.mod.lines!.reconcile()).recovered).to.deep.equal([]);
  });

  it('keeps the deadline it issued when the window setting changes later', async () => {
    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.dailyBilling();
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.50' } },
        window: { days: 30, counting: 'business', holidays: 'NL' },
      },
      CLI,
    );
    const line = await knex('mod_overusage_lines').first();
    expect(line.deadline_last_day).to.equal('2013-07-19');
    s.f.clock.set('2013-07-25T10:00:00Z');
    const late = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'too late?',
      actor: { type: 'client', id: String(s.story.clientId) },
    });
    expect(late.ok).to.equal(false);
  });
});
