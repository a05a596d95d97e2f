import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, GB, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { addProduct, addProductCustomField } from '../../panel/records.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildPanel, seedStory, ZONE } from '../panel/support.js';
import { registerModule } from '../support/register-module.js';

const C = 'mod_overusage_charges';

/**
 * The night's billing (dailyBilling) when one of its parts fails: the others still run, a part that
 * needs the failed one does not (and is named), and the run still fails at the end for the cron.
 * The story (test/support/billing-story.ts): Ann's VPS 101 and Jan's VPS 102 on "VPS 5 TB" (5 000 GB
 * included, €0.50 a GB over), both renewing yearly, unpicked charges billed on an invoice of their
 * own 35 days after the period ends. May closes at 6 000 GB for Ann and 5 500 GB for Jan:
 *   Ann (6 000 − 5 000) GB × €0.50 = €500.00, Jan (5 500 − 5 000) GB × €0.50 = €250.00,
 * both due on an invoice of their own on 31 May + 35 days = 5 July.
 * Before: the parts were awaited in turn, and the first to fail stopped every part after it.
 */
describeEachEngine('the night’s billing with one part failing', ({ db }) => {
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
    // 4 July: May rated (Ann €500.00, Jan €250.00 unbilled), nothing due on its own yet
    s.f.clock.set('2013-07-04T10:00:00Z');
    await s.mod.dailyBilling();
    const charges = await knex(C).orderBy('service_id').select('service_id', 'amount_minor', 'status');
    expect(charges.map((c) => [toNum(c.service_id), toNum(c.amount_minor), c.status])).to.deep.equal([
      [s.story.serviceId, 50000, 'unbilled'],
      [s.story.dutchServiceId, 25000, 'unbilled'],
    ]);
    logged.length = 0;
  });

  const totalsOf = async (clientId: number) => {
    const { invoices } = await s.f.panel.api.getInvoices({ userId: clientId });
    return Promise.all(invoices.map(async (i) => (await s.f.panel.api.getInvoice(i.id)).total));
  };
  const parts = () =>
    logged
      .filter((l) => String(l.event).startsWith('daily_billing.'))
      .map((l) => [l.level, l.event, l.part, l.after ?? l.error, l.reason]);
  const runFails = () =>
    s.mod.dailyBilling().then(
      () => null,
      (err: Error) => err.message,
    );

  it('bills Ann’s €500.00 and Jan’s €250.00 on 5 July when the pools’ member sync fails; their rating is skipped and named', async () => {
    // the member sync's store loses its connection that night
    s.mod.pools.syncMembers = () => Promise.reject(new Error('pool spans: connection lost'));
    s.f.clock.set('2013-07-05T10:00:00Z');
    expect(await runFails()).to.equal('pool spans: connection lost');
    // the parts after it that do not need it ran: the reconcile, then the invoices of their own
    expect(await totalsOf(s.story.clientId)).to.deep.equal(['500.00']);
    expect(await totalsOf(s.story.dutchClientId)).to.deep.equal(['250.00']);
    expect((await knex(C).select('status')).map((c) => c.status)).to.deep.equal(['billed', 'billed']);
    // the pool months are rated from the members' spans: not rated on a membership not brought up to date
    expect(parts()).to.deep.equal([
      ['warn', 'daily_billing.part_failed', 'pools.members', 'Error', undefined],
      ['warn', 'daily_billing.part_skipped', 'pools.rate', 'pools.members', 'pools.members failed'],
    ]);
  });

  it('makes no invoice of its own on 5 July when the reconcile fails, names the skipped part, and bills both on 6 July', async () => {
    const reconcile = s.mod.lines!.reconcile;
    s.mod.lines!.reconcile = () => Promise.reject(new Error('lines: connection lost'));
    s.f.clock.set('2013-07-05T10:00:00Z');
    expect(await runFails()).to.equal('lines: connection lost');
    // a delivery left part-way is finished before anything goes on an invoice of its own: none made
    expect(await totalsOf(s.story.clientId)).to.deep.equal([]);
    expect(await totalsOf(s.story.dutchClientId)).to.deep.equal([]);
    expect((await knex(C).select('status')).map((c) => c.status)).to.deep.equal(['unbilled', 'unbilled']);
    expect(parts()).to.deep.equal([
      ['warn', 'daily_billing.part_failed', 'lines.reconcile', 'Error', undefined],
      ['warn', 'daily_billing.part_skipped', 'lines.standalone', 'lines.reconcile', 'lines.reconcile failed'],
    ]);

    // the store back, the next night bills Ann €500.00 and Jan €250.00, each once
    s.mod.lines!.reconcile = reconcile;
    logged.length = 0;
    s.f.clock.set('2013-07-06T10:00:00Z');
    await s.mod.dailyBilling();
    expect(await totalsOf(s.story.clientId)).to.deep.equal(['500.00']);
    expect(await totalsOf(s.story.dutchClientId)).to.deep.equal(['250.00']);
    expect(parts()).to.deep.equal([]);
  });
});

/*
 * The upgrade suggestions of the night when the rating fails (the story of upgrade-unreadable.test.ts).
 * Plans (EUR, monthly): VPS 500 GB €10.00, 500 GB, €0.80/GB over; VPS 1 TB €15.00, 1 TB, €0.60/GB.
 * Ann (VPS 101) and Jan (VPS 102) on VPS 500 GB, January to March rated, three months over in a row:
 *   Ann 800, 700, 900 GB: (300 + 200 + 400) GB × €0.80 = €720.00, on her plan 3 × €10.00 + €720.00
 *   = €750.00; on VPS 1 TB (all under 1 TB) 3 × €15.00 = €45.00.
 *   Jan 600, 700, 800 GB: three months over as well.
 * Before: the night's rating failing stopped the run before the suggestions.
 */
describeEachEngine('the night’s upgrade suggestions when the rating fails', ({ db }) => {
  let knex: Knex;
  let mod: OverusageModule;
  let logged: Array<Record<string, unknown>>;
  let ann: { serviceId: number; clientId: number };
  let jan: { serviceId: number; clientId: number };
  beforeEach(async function () {
    this.timeout(60_000);
    knex = db().knex;
    logged = [];
    const fake = new FakeMaster();
    const f = await buildPanel(knex, { start: '2013-01-01T08:00:00Z' });
    const story = await seedStory(f, { regdate: '2012-12-01', nextduedate: '2013-05-01' });
    ann = { serviceId: story.serviceId, clientId: story.clientId };
    jan = { serviceId: story.dutchServiceId, clientId: story.dutchClientId };
    mod = createModule({
      knex,
      clock: f.clock,
      secretKey: TEST_SECRET_KEY,
      zone: ZONE,
      gatewayFor: () => fake.gateway(),
      panel: f.panel.api,
      log: logInto(logged),
      metering: { writer: 'inline' },
    });
    await mod.migrateDown();
    registerModule(f.panel, mod);
    await f.panel.addons.activate('overusage');
    const master = await mod.masters.add(
      {
        name: 'solus',
        version: 1,
        baseUrl: 'https://solus.example.net:5656',
        apiId: 'i',
        apiKey: 'k',
        timeZone: ZONE,
      },
      CLI_ACTOR,
    );
    const plan: Record<string, number> = {};
    for (const [name, price, allowance, rate] of [
      ['VPS 500 GB', '10.00', '500 GB', '0.80'],
      ['VPS 1 TB', '15.00', '1 TB', '0.60'],
    ] as const) {
      const id = await addProduct(
        knex,
        { name, servertype: 'solusvmpro', monthly: { EUR: price } },
        f.clock.now(),
        ZONE,
      );
      await addProductCustomField(knex, id, 'vserverid');
      await mod.billing.setProduct(
        id,
        {
          unit: 'GB',
          model: 'per_unit',
          allowance,
          prices: { EUR: { overage: rate } },
          panelOverageOff: true,
        },
        CLI_ACTOR,
      );
      plan[name] = id;
    }
    for (const [who, ref] of [
      [ann, '101'],
      [jan, '102'],
    ] as const) {
      await knex('tblhosting')
        .where({ id: who.serviceId })
        .update({ packageid: plan['VPS 500 GB'], amount: '10.00' });
      await mod.links.link(
        { ...who, productId: plan['VPS 500 GB']!, masterId: master.id, serverRef: ref },
        CLI_ACTOR,
      );
    }
    for (const [day, a, j] of [
      ['2013-01-01', 25n, 15n],
      ['2013-01-31', 800n, 600n],
      ['2013-02-01', 20n, 20n],
      ['2013-02-28', 700n, 700n],
      ['2013-03-01', 20n, 20n],
      ['2013-03-31', 900n, 800n],
      ['2013-04-01', 30n, 30n],
    ] as const) {
      f.clock.set(`${day}T20:50:00Z`);
      fake.set('101', a * GB);
      fake.set('102', j * GB);
      await mod.metering.collect();
    }
    f.clock.set('2013-04-02T06:00:00Z');
    await mod.rating.rateClosedPeriods();
    logged.length = 0;
  });

  it('still sends Ann’s and Jan’s suggestions (Ann: €45.00 on VPS 1 TB instead of €750.00) and fails the run', async () => {
    mod.rating.rateClosedPeriods = () => Promise.reject(new Error('periods: connection lost'));
    const failed = await mod.dailyBilling().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('periods: connection lost');
    const notices = await knex('mod_overusage_notices')
      .where({ kind: 'upgrade_suggestion' })
      .orderBy('service_id')
      .select('service_id', 'status');
    expect(notices.map((n) => [toNum(n.service_id), n.status])).to.deep.equal([
      [ann.serviceId, 'sent'],
      [jan.serviceId, 'sent'],
    ]);
    const mail = await knex('tblemails')
      .where({ userid: ann.clientId })
      .orderBy('id', 'desc')
      .first('subject', 'message');
    expect(mail.subject).to.equal('A bigger plan for vps1.example.net?');
    expect(mail.message).to.include(
      'On VPS 1 TB you would have paid €45.00 instead of €750.00 over the last 3 months.',
    );
    // nothing needs the rating: only its failure is told, no part is skipped
    const told = logged.filter((l) => String(l.event).startsWith('daily_billing.'));
    expect(told.map((l) => [l.level, l.event, l.part, l.error])).to.deep.equal([
      ['warn', 'daily_billing.part_failed', 'rating', 'Error'],
    ]);
  });
});
