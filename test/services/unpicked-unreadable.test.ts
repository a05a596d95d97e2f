import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, GB, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { spoilDate } from '../support/spoil.js';

const C = 'mod_overusage_charges';

/**
 * Charges no renewal picks up, billed on an invoice of their own, when one client's charge cannot
 * be read. The story (test/support/billing-story.ts): Ann's VPS 101 and Jan's VPS 102 on "VPS 5 TB"
 * (5 000 GB included, €0.50 a GB over), both renewing yearly here, the product's unpicked charges
 * billed on their own 35 days after the period ends. May closes at 6 000 GB for Ann and 5 500 GB
 * for Jan: Ann (6 000 − 5 000) × €0.50 = €500.00, Jan (5 500 − 5 000) × €0.50 = €250.00, both due
 * on 31 May + 35 days = 5 July. Ann's charge then gets a period end that is no date (a hand edit).
 * Before: reading the unbilled charges threw, and the standalone invoices of every client (and the
 * night's billing after them) stopped.
 */
describeEachEngine('standalone invoices with one client’s charge that cannot be read', ({ db, engine }) => {
  let knex: Knex;
  let s: BillingStory;
  let logged: Array<Record<string, unknown>>;
  beforeEach(async () => {
    knex = db().knex;
    logged = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(logged) });
    await knex('tblhosting')
      .whereIn('id', [s.story.serviceId, s.story.dutchServiceId])
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
      CLI_ACTOR,
    );
    for (const [at, ann, jan] of [
      ['2013-05-30T21:50:00Z', 5900n * GB, 5400n * GB],
      ['2013-05-31T21:50:00Z', 6000n * GB, 5500n * GB],
      ['2013-06-01T21:50:00Z', 150n * GB, 90n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', ann);
      s.fake.set('102', jan);
      await s.mod.metering.collect();
    }
    // 4 July: May rated, nothing due yet
    s.f.clock.set('2013-07-04T10:00:00Z');
    await s.mod.dailyBilling();
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });

  const invoicesOf = async (clientId: number) =>
    (await s.f.panel.api.getInvoices({ userId: clientId })).invoices.map((i) => i.id);

  it("bills Jan's €250.00 on its own invoice, leaves Ann's charge unbilled and names it; corrected, Ann's €500.00 too", async () => {
    const charges = await knex(C).orderBy('service_id').select('id', 'service_id', 'amount_minor', 'status');
    expect(charges.map((c) => [toNum(c.service_id), toNum(c.amount_minor), c.status])).to.deep.equal([
      [s.story.serviceId, 50000, 'unbilled'],
      [s.story.dutchServiceId, 25000, 'unbilled'],
    ]);
    const annCharge = toNum(charges[0].id);
    const bad = await spoilDate(knex, engine, C, 'period_end', { id: annCharge });
    logged.length = 0;

    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.dailyBilling();
    const jans = await invoicesOf(s.story.dutchClientId);
    expect(jans).to.have.length(1);
    const janInvoice = await s.f.panel.api.getInvoice(jans[0]!);
    expect([janInvoice.items.length, janInvoice.total, janInvoice.status]).to.deep.equal([
      1,
      '250.00',
      'Unpaid',
    ]);
    expect(await invoicesOf(s.story.clientId)).to.deep.equal([]);
    expect((await knex(C).where({ id: annCharge }).first('status')).status).to.equal('unbilled');
    // named each time it is met (the catch-up of missed renewals reads it too), never with its value
    const told = logged.filter((l) => l.event === 'lines.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect([l.level, l.table, l.id, l.column, l.reason]).to.deep.equal([
        'warn',
        C,
        annCharge,
        `${C}.period_end`,
        'not a date',
      ]);
    expect(JSON.stringify(logged)).not.to.include(bad);

    // corrected by hand, the next day's run bills Ann's €500.00 on an invoice of her own; Jan's once
    await knex(C).where({ id: annCharge }).update({ period_end: '2013-05-31' });
    s.f.clock.set('2013-07-06T10:00:00Z');
    await s.mod.dailyBilling();
    const anns = await invoicesOf(s.story.clientId);
    expect(anns).to.have.length(1);
    expect((await s.f.panel.api.getInvoice(anns[0]!)).total).to.equal('500.00');
    expect(await invoicesOf(s.story.dutchClientId)).to.deep.equal(jans);
  });
  it("bills Jan's €250.00 when Ann's line written for her own invoice cannot be read, and names that line", async () => {
    // 5 July: the panel refuses the first invoice it is asked for (Ann's, her client comes first):
    // her €500.00 line is written pending for an invoice not yet made, and the run stops there as
    // before (the cron logs it, tries again the next day). Her line's deadline is then spoiled by
    // hand. 6 July, before: reading Ann's waiting lines threw and Jan's €250.00 was not billed either
    s.f.clock.set('2013-07-05T10:00:00Z');
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const failed = await s.mod.dailyBilling().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.be.a('string');
    s.faulty.failNext = null;
    const waiting = await knex('mod_overusage_lines').select('id', 'client_id', 'status', 'invoice_id');
    expect(waiting.map((l) => [toNum(l.client_id), l.status, toNum(l.invoice_id)])).to.deep.equal([
      [s.story.clientId, 'pending', 0],
    ]);
    const annLine = toNum(waiting[0].id);
    const bad = await spoilDate(knex, engine, 'mod_overusage_lines', 'deadline_last_day', { id: annLine });
    logged.length = 0;

    s.f.clock.set('2013-07-06T10:00:00Z');
    await s.mod.dailyBilling();
    const jans = await invoicesOf(s.story.dutchClientId);
    expect(jans).to.have.length(1);
    expect((await s.f.panel.api.getInvoice(jans[0]!)).total).to.equal('250.00');
    expect(await invoicesOf(s.story.clientId)).to.deep.equal([]);
    expect((await knex('mod_overusage_lines').where({ id: annLine }).first('status')).status).to.equal(
      'pending',
    );
    const told = logged.filter((l) => l.event === 'lines.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.clientId, l.column, l.reason])).to.deep.equal([
      [
        'warn',
        'mod_overusage_lines',
        annLine,
        s.story.clientId,
        'mod_overusage_lines.deadline_last_day',
        'not a date',
      ],
    ]);
    expect(JSON.stringify(logged)).not.to.include(bad);

    // corrected, the next run makes Ann's invoice of €500.00 from that line; Jan's not again
    await knex('mod_overusage_lines').where({ id: annLine }).update({ deadline_last_day: '2013-07-19' });
    s.f.clock.set('2013-07-07T10:00:00Z');
    await s.mod.dailyBilling();
    const anns = await invoicesOf(s.story.clientId);
    expect(anns).to.have.length(1);
    expect((await s.f.panel.api.getInvoice(anns[0]!)).total).to.equal('500.00');
    expect(await invoicesOf(s.story.dutchClientId)).to.deep.equal(jans);
  });
  it("bills Jan's €250.00 when Ann's own billing settings cannot be read, and leaves Ann's charge unbilled", async () => {
    // Ann's VPS gets billing settings of its own (an override) edited by hand into text that is no
    // JSON. Before: every read of the settings (the pools' member sync, then the standalone run)
    // threw, and the night's billing stopped before any invoice. Now Jan gets his €250.00 invoice;
    // what applies to Ann's charge is not known (not "not billed"): she is left out, named.
    await knex('mod_overusage_service_overrides').insert({
      service_id: s.story.serviceId,
      settings: '{"unpicked":',
      updated_at: '2013-07-04 12:00:00.000',
    });
    logged.length = 0;
    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.dailyBilling();
    const jans = await invoicesOf(s.story.dutchClientId);
    expect(jans).to.have.length(1);
    expect((await s.f.panel.api.getInvoice(jans[0]!)).total).to.equal('250.00');
    expect(await invoicesOf(s.story.clientId)).to.deep.equal([]);
    const ann = await knex(C).where({ service_id: s.story.serviceId }).first('status');
    expect(ann.status).to.equal('unbilled');
    const SO = 'mod_overusage_service_overrides';
    const told = logged.filter((l) => l.event === 'lines.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column, l.reason])).to.deep.equal([
      ['warn', SO, s.story.serviceId, `${SO}.settings`, 'not JSON'],
    ]);
    expect(logged.some((l) => Object.values(l).some((v) => String(v).includes('{"unpicked"')))).to.equal(
      false,
    );

    // the override removed: Ann's €500.00 on an invoice of her own the next day
    await knex(SO).where({ service_id: s.story.serviceId }).delete();
    s.f.clock.set('2013-07-06T10:00:00Z');
    await s.mod.dailyBilling();
    const anns = await invoicesOf(s.story.clientId);
    expect(anns).to.have.length(1);
    expect((await s.f.panel.api.getInvoice(anns[0]!)).total).to.equal('500.00');
  });
});
