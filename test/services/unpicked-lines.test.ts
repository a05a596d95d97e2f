import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

const CLI = { type: 'cli' as const, id: 'test' };

describeEachEngine('periods no renewal picks up, and lines that never reached an invoice', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    // the seed client's VPS renews yearly: no renewal invoice for months
    await knex('tblhosting').where({ id: s.story.serviceId }).update({ billingcycle: 'Annually', nextduedate: '2014-01-09' });
    await s.mod.billing.setProduct(
      s.story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '5 TB', prices: { EUR: { overage: '0.50', precommit: '0.35' } }, unpicked: { policy: 'standalone', afterDays: 35 } },
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
    const failed = await s.mod.dailyBilling().then(() => null, (err: Error) => err.message);
    expect(failed).to.equal('injected failure after createInvoice took effect');
    s.faulty.failNext = null;
    await s.mod.dailyBilling();
    const invoices = await s.f.panel.api.getInvoices({ userId: s.story.clientId });
    expect(invoices.totalResults).to.equal(1);
    expect((await knex('mod_overusage_lines').first()).status).to.equal('placed');
  });

  it('releases a line that never reached its invoice, so the charge waits for the next one', async () => {
    // a renewal invoice exists; the delivery wrote the pending line and died before the panel call
    await knex('tblhosting').where({ id: s.story.serviceId }).update({ billingcycle: 'Monthly', nextduedate: '2013-06-09' });
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    s.faulty.failNext = null;
    expect((await knex('mod_overusage_lines').first()).status).to.equal('pending');
    s.f.clock.set('2013-06-02T07:05:00Z');
    expect(await s.mod.lines!.reconcilePending()).to.deep.equal({ confirmed: 0, released: 0 });
    s.f.clock.set('2013-06-02T07:30:00Z');
    expect(await s.mod.lines!.reconcilePending()).to.deep.equal({ confirmed: 0, released: 1 });
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect((await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first()).status).to.equal('unbilled');
    expect(await knex('mod_overusage_audit').where({ action: 'line.released' })).to.have.length(1);
  });

  it('keeps the deadline it issued when the window setting changes later', async () => {
    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.dailyBilling();
    await s.mod.billing.setProduct(
      s.story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '5 TB', prices: { EUR: { overage: '0.50' } }, window: { days: 30, counting: 'business', holidays: 'NL' } },
      CLI,
    );
    const line = await knex('mod_overusage_lines').first();
    expect(line.deadline_last_day).to.equal('2013-07-19');
    s.f.clock.set('2013-07-25T10:00:00Z');
    const late = await s.mod.disputes!.open({ lineId: toNum(line.id), reason: 'too late?', actor: { type: 'client', id: String(s.story.clientId) } });
    expect(late.ok).to.equal(false);
  });
});
