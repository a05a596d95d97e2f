import { expect } from 'chai';
import type { Knex } from 'knex';
import { createBillingSettingsStore } from '../../module/adapters/billing-settings-store.js';
import { createChargeStore } from '../../module/adapters/charge-store.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, undelivered, type BillingStory } from '../support/billing-story.js';

/**
 * The round trips of the common InvoiceCreation delivery: Ann's renewal of 2 June, her May already
 * rated (the night's rating ran first), 1 000 GB over at €0.50 = €500.00, no pool. Every statement
 * costs the delivery a round trip and about 0.1 ms of CPU, so a statement more before the answer is
 * a regression this test names.
 *
 * Counted by hand, up to the answer (the invoice holds its line):
 *   the module's own, 3: the invoice's lease (one upsert); its services' charges with each one's
 *     billing settings (product, service, client), the invoice's lines, and whether a period waits
 *     for rating or a service is in a pool (one UNION ALL); the pending line (one INSERT);
 *   the reference panel's, 20: GetInvoice 3 (items, transactions, invoice); GetClientsDetails 3
 *     (client, its currency, the date format of its last login); UpdateInvoice 14 (the invoice read
 *     twice, 3 each; BEGIN, touch, the new item, read 3, totals, COMMIT).
 *   23 in all; 27 before these five reads were one (charges, lines, unrated periods, pool members,
 *   the charge's settings).
 */
const OWN = 3;
const PANEL = 20;
/** the line placed and its charge billed: one multi-table UPDATE on MariaDB, two UPDATEs on SQLite */
const AFTER_PLACE = { mysql: 1, sqlite: 2 } as const;

describeEachEngine('the statements of an InvoiceCreation delivery', ({ db, engine }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  it(`sends ${OWN} statements of its own and the panel's ${PANEL} before its answer when the period is rated`, async () => {
    // the 2 June renewal, made with the module's delivery failing at its first read: no line yet
    const invoiceId = await undelivered(s, knex);
    await s.mod.rating.rateClosedPeriods();
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    expect([charge.status, String(charge.amount_minor)]).to.deep.equal(['unbilled', '50000']);

    // The product's panel answer (GetProducts, 4 statements on the reference panel) is kept a
    // minute (module/services/product-answers.ts): a cron run asks it once, not each renewal. A
    // first delivery, which fails at GetClientsDetails and writes nothing, asked it.
    s.faulty.failNext = { method: 'getClientsDetails', when: 'before', times: 1 };
    const failed = await s.mod.lines!.addToRenewalInvoice(invoiceId).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure before getClientsDetails');
    expect(await knex('mod_overusage_lines')).to.have.length(0);

    const sent: string[] = [];
    const after: string[] = [];
    let answered = false;
    const listen = (q: { sql: string }) => (answered ? after : sent).push(q.sql);
    knex.on('query', listen);
    try {
      const out = await s.mod.lines!.addToRenewalInvoice(invoiceId, () => (answered = true));
      expect(answered).to.equal(true);
      expect(out.added).to.equal(1);
    } finally {
      knex.off('query', listen);
    }
    const own = sent.filter((q) => q.includes('mod_overusage_'));
    expect({ own: own.length, panel: sent.length - own.length }, sent.join('\n')).to.deep.equal({
      own: OWN,
      panel: PANEL,
    });
    // After the answer, counted by hand: GetInvoice 3 (the line's item found by its reference);
    // then one transaction: BEGIN, the line placed and its charge billed (${AFTER_PLACE[engine]}
    // on ${engine}), the audit row, the delivery recorded, the lease let go, COMMIT.
    expect(after.length, after.join('\n')).to.equal(3 + 5 + AFTER_PLACE[engine]);
    const [item] = (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) =>
      i.description.startsWith('Bandwidth overusage'),
    );
    expect(item!.amount).to.equal('500.00');

    // The same delivery again (the panel replays the hook): the €500.00 charge is billed, nothing
    // is added. Counted by hand: the lease (1); GetInvoice 3; the module's read (1), which finds
    // nothing unbilled, so the client is not asked for (most renewals have nothing over: asking it
    // beside the read would save the read's time on a delivery with a line and cost every other
    // one a panel call, a bridge round trip in relay mode); the delivery recorded (1); the lease
    // let go (1, in the background). 7 in all.
    const replay: string[] = [];
    const poll = 'select * from `mod_overusage_locks`'; // the test's own, not counted
    const listenReplay = (q: { sql: string }) => q.sql !== poll && replay.push(q.sql);
    knex.on('query', listenReplay);
    try {
      const again = await s.mod.lines!.addToRenewalInvoice(invoiceId);
      expect(again.added).to.equal(0);
      // the lease's release is not waited for: it has gone out once the lease row is gone
      for (let i = 0; i < 100 && (await knex('mod_overusage_locks')).length; i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      knex.off('query', listenReplay);
    }
    expect(replay.length, replay.join('\n')).to.equal(7);
    const items = (await s.f.panel.api.getInvoice(invoiceId)).items;
    expect(items.filter((i) => i.description.startsWith('Bandwidth overusage'))).to.have.length(1);
  });

  it("reads whether a period waits for rating, each charge's settings and whether a service is in a pool, as rating, settings and pools read them", async () => {
    const store = createChargeStore(knex);
    const ann = s.story.serviceId;
    const jan = s.story.dutchServiceId;
    // May closed, not rated: both services have a period to rate, no charge yet
    let read = await store.forDelivery(999, [ann, jan]);
    expect([read.unrated, read.pooled, read.charges.length, read.lines.length]).to.deep.equal([
      true,
      false,
      0,
      0,
    ]);
    // rated: Ann's €500.00 unbilled, Jan's within his allowance (not unbilled): nothing waits
    await s.mod.rating.rateClosedPeriods();
    read = await store.forDelivery(999, [ann, jan]);
    expect(read.unrated).to.equal(false);
    expect(read.charges.map((c) => [c.serviceId, String(c.amountMinor), c.line])).to.deep.equal([
      [ann, '50000', null],
    ]);
    // each charge's settings as the billing settings store reads them: Ann's product's profile
    const settings = await createBillingSettingsStore(knex).forService(
      s.story.productId,
      ann,
      s.story.clientId,
    );
    expect(settings.product).to.not.equal(null);
    expect(read.charges[0]!.settings).to.deep.equal(settings);
    // Jan's VPS joins a pool: his invoice's services are in one, Ann's alone are not
    await knex('mod_overusage_pool_members').insert({
      client_id: 2,
      pool_key: 'p',
      service_id: jan,
      product_id: 1,
      joined_at: '2013-05-01 00:00:00',
      created_at: '2013-05-01 00:00:00',
    });
    expect((await store.forDelivery(999, [ann, jan])).pooled).to.equal(true);
    expect((await store.forDelivery(999, [ann])).pooled).to.equal(false);
  });
});
