import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  buildBillingStory,
  GB,
  STORY_EUR,
  undelivered,
  type BillingStory,
} from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { spoilDate } from '../support/spoil.js';

const C = 'mod_overusage_charges';

/** May closes at 6 000 GB for Ann's VPS 101 and 5 500 GB for Jan's 102 (both reset on 1 June). */
async function closeMays(s: BillingStory): Promise<void> {
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
}

/** Jan's latest renewal: the invoice of his VPS's hosting item of the highest id. */
async function janRenewal(knex: Knex, s: BillingStory): Promise<number> {
  const row = await knex('tblinvoiceitems')
    .where({ type: 'Hosting', relid: s.story.dutchServiceId })
    .orderBy('id', 'desc')
    .first('invoiceid');
  return toNum(row.invoiceid);
}

/**
 * The reconciliation's catch-up of missed renewals when one client's waiting charge cannot be read.
 * The story (test/support/billing-story.ts): Ann's VPS 101 and Jan's VPS 102, both on "VPS 5 TB"
 * (5 000 GB included, €0.50 a GB over), both renewing on 9 June (invoiced on 2 June). May closes at
 * 6 000 GB for Ann and 5 500 GB for Jan: Ann (6 000 − 5 000) × €0.50 = €500.00, Jan (5 500 − 5 000)
 * × €0.50 = €250.00. The 2 June invoice run cannot read any invoice: both renewals are made without
 * their line (Ann €19.95, Jan €24.50), both charges wait. Ann's charge then gets a period end that is
 * no date (a hand edit). Before: reading the waiting charges threw, and the catch-up stopped for
 * every client — Jan's renewal never got its €250.00, on every run.
 */
describeEachEngine(
  'recovering missed renewals with one waiting charge that cannot be read',
  ({ db, engine }) => {
    let knex: Knex;
    let s: BillingStory;
    let logged: Array<Record<string, unknown>>;
    let annInvoice: number;
    beforeEach(async () => {
      knex = db().knex;
      logged = [];
      s = await buildBillingStory(knex, STORY_EUR, { log: logInto(logged) });
      await closeMays(s);
      annInvoice = await undelivered(s, knex);
    });

    it("gives Jan's renewal its line, leaves Ann's as it is and names her charge; corrected, Ann's too", async () => {
      const janInvoice = await janRenewal(knex, s);
      const charges = await knex(C)
        .orderBy('service_id')
        .select('id', 'service_id', 'amount_minor', 'status');
      expect(charges.map((c) => [toNum(c.service_id), toNum(c.amount_minor), c.status])).to.deep.equal([
        [s.story.serviceId, 50000, 'unbilled'],
        [s.story.dutchServiceId, 25000, 'unbilled'],
      ]);
      const annCharge = toNum(charges[0].id);
      await spoilDate(knex, engine, C, 'period_end', { id: annCharge });

      logged.length = 0;
      const out = await s.mod.lines!.reconcile();
      expect(out.recovered).to.deep.equal([{ invoiceId: janInvoice, added: 1 }]);
      // Jan: 24.50 + 250.00; Ann: her hosting alone, her charge still waiting
      expect((await s.f.panel.api.getInvoice(janInvoice)).total).to.equal('274.50');
      expect((await s.f.panel.api.getInvoice(annInvoice)).total).to.equal('19.95');
      expect((await knex(C).where({ id: annCharge }).first('status')).status).to.equal('unbilled');
      const told = logged.filter((l) => l.event === 'lines.row_unreadable');
      expect(told.map((l) => [l.table, l.id, l.column])).to.deep.equal([[C, annCharge, `${C}.period_end`]]);
      // the stored value is in no log line
      expect(JSON.stringify(logged)).not.to.match(/2013-06-31|0000-00-00/);

      // corrected by hand, the next run gives Ann's renewal its €500.00: 19.95 + 500.00
      await knex(C).where({ id: annCharge }).update({ period_end: '2013-05-31' });
      expect((await s.mod.lines!.reconcile()).recovered).to.deep.equal([{ invoiceId: annInvoice, added: 1 }]);
      expect((await s.f.panel.api.getInvoice(annInvoice)).total).to.equal('519.95');
      expect((await s.f.panel.api.getInvoice(janInvoice)).total).to.equal('274.50');
    });

    it("leaves all of Ann's missed renewals when one of her two waiting charges cannot be read, and still recovers Jan's", async () => {
      // As above, and Ann's April (a copy of her May, €500.00, also unbilled, no line) waits too and
      // reads. Which of her invoices miss which line is not known while May cannot be read, and
      // placing her renewal would read May again: her client is left out whole, Jan's renewal recovered.
      const may = await knex(C).where({ service_id: s.story.serviceId }).first();
      const mayPeriod = await knex('mod_overusage_periods').where({ id: may.period_id }).first();
      await knex('mod_overusage_periods').insert({
        ...mayPeriod,
        id: undefined,
        start_date: '2013-04-01',
        end_date: '2013-04-30',
      });
      const april = await knex('mod_overusage_periods')
        .where({ service_id: s.story.serviceId, start_date: '2013-04-01' })
        .first('id');
      await knex(C).insert({
        ...may,
        id: undefined,
        period_id: toNum(april.id),
        period_start: '2013-04-01',
        period_end: '2013-04-30',
      });
      await spoilDate(knex, engine, C, 'period_end', { id: toNum(may.id) });
      const out = await s.mod.lines!.reconcile();
      expect(out.recovered).to.deep.equal([{ invoiceId: await janRenewal(knex, s), added: 1 }]);
      expect((await s.f.panel.api.getInvoice(annInvoice)).total).to.equal('19.95');
      const ann = await knex(C).where({ service_id: s.story.serviceId }).select('status');
      expect(ann.map((c) => c.status)).to.deep.equal(['unbilled', 'unbilled']);
    });
  },
);
