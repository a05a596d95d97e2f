import { expect } from 'chai';
import type { Knex } from 'knex';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

/**
 * An InvoiceCreation delivery reads its invoice and its own rows (forDelivery) while its lease on
 * the invoice is being taken, and uses those reads when the lease was free at once. Such a read can
 * be older than the lease: another delivery of the same invoice may commit its last transaction
 * (its line placed, its charge billed, its lease let go) between the read and the lease. The line
 * is still written only while the charge is unbilled, so nothing is billed twice.
 *
 * The story (test/support/billing-story.ts): Ann's VPS, 6 000 GB used in May against 5 000 GB
 * included at €0.50 a GB over: (6 000 − 5 000) × €0.50 = €500.00 (50 000 cents), one charge.
 *
 * MariaDB only: the other delivery's last transaction is held open by hand, and the waiting
 * delivery's lease upsert waits on its row lock while its reads (consistent reads) go ahead. On
 * SQLite one writer at a time holds the whole file: the two cannot overlap like this.
 */
describeEachEngine('a delivery whose reads are older than its lease', ({ db, engine }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async function () {
    if (engine !== 'mysql') this.skip();
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  it('places nothing when another delivery billed the €500.00 charge between its read and its lease', async () => {
    // The 2 June renewal, made while every read of an invoice by the module fails: no line yet.
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 99 };
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    s.faulty.failNext = null;
    const row = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: s.story.serviceId })
      .orderBy('id', 'desc')
      .first('invoiceid');
    const invoiceId = toNum(row.invoiceid);
    await s.mod.rating.rateClosedPeriods();
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    expect([charge.status, String(charge.amount_minor)]).to.deep.equal(['unbilled', '50000']);

    // The other delivery, in its last transaction: it holds the invoice's lease, bills the charge
    // and lets the lease go — not yet committed.
    const other = 'billing-2.example.net:4242:0badc0de';
    const trx = await knex.transaction();
    let committed = false;
    try {
      const locks = createLockStore(trx as unknown as Knex);
      expect((await locks.acquire(`invoice:${invoiceId}`, other, 60_000)).acquired).to.equal(true);
      await trx('mod_overusage_charges')
        .where({ id: charge.id })
        .update({ status: 'billed', billed_at: '2013-06-02 07:00:01' });
      await trx('mod_overusage_locks')
        .where({ name: `invoice:${invoiceId}`, owner: other })
        .delete();

      // This delivery: its lease upsert waits on the other's row; its reads do not.
      const sent: string[] = [];
      let readSent!: () => void;
      const readIsOut = new Promise<void>((resolve) => (readSent = resolve));
      const listen = (q: { sql: string }) => {
        sent.push(q.sql);
        if (/UNION ALL/.test(q.sql) && /mod_overusage_charges/.test(q.sql)) readSent();
      };
      knex.on('query', listen);
      const delivery = s.mod.lines!.addToRenewalInvoice(invoiceId);
      try {
        // before the lease's read went out beside it, it waited for the lease: 5 s, then failed
        const early = await Promise.race([
          readIsOut.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 5000)),
        ]);
        if (!early) {
          await trx.commit();
          committed = true;
          await delivery;
          expect.fail("the delivery's own read waited for its lease");
        }
        // let the read come back while the lease still waits
        await new Promise((r) => setTimeout(r, 200));
        await trx.commit();
        committed = true;
        const out = await delivery;
        expect(out.added).to.equal(0);
      } finally {
        knex.off('query', listen);
      }
      // the scenario was reached: one lease upsert (free at once, after the other's commit), and
      // the delivery's own read sent once, before that commit
      const upserts = sent.filter((q) => /INTO mod_overusage_locks/.test(q));
      const reads = sent.filter((q) => /UNION ALL/.test(q) && /mod_overusage_charges/.test(q));
      expect([upserts.length, reads.length]).to.deep.equal([1, 1]);
    } finally {
      if (!committed) await trx.rollback();
    }

    // No line written, no item added: the charge stays billed once, by the other delivery.
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    const items = (await s.f.panel.api.getInvoice(invoiceId)).items;
    expect(items.filter((i) => i.description.startsWith('Bandwidth overusage'))).to.have.length(0);
    const after = await knex('mod_overusage_charges').where({ id: charge.id }).first();
    expect(after.status).to.equal('billed');
  });
});
