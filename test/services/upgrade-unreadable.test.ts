import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { addProduct, addProductCustomField } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { registerModule } from '../support/register-module.js';

const GB = 10n ** 9n;
const C = 'mod_overusage_charges';
const STATUSES =
  'not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review';

/*
 * Upgrade suggestions and their figures when one service's rated period cannot be read, through
 * the reference panel, on SQLite and MariaDB. Plans (EUR, monthly): VPS 500 GB €10.00, 500 GB,
 * €0.80/GB over; VPS 1 TB €15.00, 1 TB, €0.60/GB; VPS 2 TB €30.00, 2 TB, €0.50/GB. Both Ann (VPS 101)
 * and Jan (VPS 102) are on VPS 500 GB, three months over in a row:
 *   Ann 800, 700, 900 GB: (300 + 200 + 400) GB × €0.80 = €240.00 + €160.00 + €320.00
 *   Jan 600, 700, 800 GB: (100 + 200 + 300) GB × €0.80 = €80.00 + €160.00 + €240.00
 * Jan on his plan 3 × €10.00 + €480.00 = €510.00; on VPS 1 TB 3 × €15.00 = €45.00 (all under 1 TB);
 * on VPS 2 TB 3 × €30.00 = €90.00.
 */
describeEachEngine('upgrade suggestions with one service’s rated period that cannot be read', ({ db }) => {
  let knex: Knex;
  let f: PanelFixture;
  let story: Story;
  let mod: OverusageModule;
  let logged: Array<Record<string, unknown>>;
  const plan: Record<string, number> = {};
  const fake = new FakeMaster();

  before(async function () {
    this.timeout(60_000);
    knex = db().knex;
    logged = [];
    f = await buildPanel(knex, { start: '2013-01-01T08:00:00Z' });
    story = await seedStory(f, { regdate: '2012-12-01', nextduedate: '2013-05-01' });
    mod = createModule({
      knex,
      clock: f.clock,
      secretKey: TEST_SECRET_KEY,
      zone: ZONE,
      gatewayFor: () => fake.gateway(),
      panel: f.panel.api,
      log: logInto(logged),
      metering: { writer: 'inline' },
      web: { cacheMs: 0 },
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
    for (const [name, price, allowance, rate] of [
      ['VPS 500 GB', '10.00', '500 GB', '0.80'],
      ['VPS 1 TB', '15.00', '1 TB', '0.60'],
      ['VPS 2 TB', '30.00', '2 TB', '0.50'],
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
    for (const [serviceId, clientId, ref] of [
      [story.serviceId, story.clientId, '101'],
      [story.dutchServiceId, story.dutchClientId, '102'],
    ] as const) {
      await knex('tblhosting')
        .where({ id: serviceId })
        .update({ packageid: plan['VPS 500 GB'], amount: '10.00' });
      await mod.links.link(
        { serviceId, clientId, productId: plan['VPS 500 GB']!, masterId: master.id, serverRef: ref },
        CLI_ACTOR,
      );
    }
    // January to March: the counters at each month's last evening, then SolusVM's reset on the 1st
    for (const [day, ann, jan] of [
      ['2013-01-01', 25n, 15n],
      ['2013-01-31', 800n, 600n],
      ['2013-02-01', 20n, 20n],
      ['2013-02-28', 700n, 700n],
      ['2013-03-01', 20n, 20n],
      ['2013-03-31', 900n, 800n],
      ['2013-04-01', 30n, 30n],
    ] as const) {
      f.clock.set(`${day}T20:50:00Z`);
      fake.set('101', ann * GB);
      fake.set('102', jan * GB);
      await mod.metering.collect();
    }
    f.clock.set('2013-04-02T06:00:00Z');
    await mod.rating.rateClosedPeriods();
  });

  const chargeOf = async (serviceId: number, start: string) =>
    toNum((await knex(C).where({ service_id: serviceId, period_start: start, seq: 0 }).first('id')).id);
  const told = (event: string) =>
    logged.filter((l) => l.event === event).map((l) => [l.level, l.table, l.id, l.column, l.reason]);

  it("suggests Jan's upgrade with his figures when Ann's February charge cannot be read, and names Ann's charge", async () => {
    const amounts = await knex(C)
      .orderBy(['service_id', 'period_start'])
      .select('service_id', 'amount_minor');
    expect(amounts.map((c) => [toNum(c.service_id), toBig(c.amount_minor)])).to.deep.equal([
      [story.serviceId, 24_000n],
      [story.serviceId, 16_000n],
      [story.serviceId, 32_000n],
      [story.dutchServiceId, 8_000n],
      [story.dutchServiceId, 16_000n],
      [story.dutchServiceId, 24_000n],
    ]);
    const annFeb = await chargeOf(story.serviceId, '2013-02-01');
    await knex(C).where({ id: annFeb }).update({ status: 'paid' });
    logged.length = 0;

    // Before: reading Ann's three periods threw and the run stopped, Jan's suggestion never went
    expect(await mod.suggestions!.run()).to.deep.equal({ suggested: 1, failed: 0 });
    const notices = await knex('mod_overusage_notices')
      .where({ kind: 'upgrade_suggestion' })
      .select('service_id', 'status');
    expect(notices.map((n) => [toNum(n.service_id), n.status])).to.deep.equal([
      [story.dutchServiceId, 'sent'],
    ]);
    expect(told('upgrade_suggestion.row_unreadable')).to.deep.equal([
      ['warn', C, annFeb, `${C}.status`, STATUSES],
    ]);

    // Jan's figures: €45.00 on VPS 1 TB against €510.00 on his plan
    const jan = await mod.upgrades!.figures(story.dutchServiceId, story.dutchClientId);
    expect(jan).to.deep.include({
      currency: 'EUR',
      periods: 3,
      currentMinor: 51_000n,
      currentName: 'VPS 500 GB',
    });
    expect(jan!.offers.map((o) => [o.name, o.totalMinor, o.overusageMinor])).to.deep.equal([
      ['VPS 1 TB', 4_500n, 0n],
      ['VPS 2 TB', 9_000n, 0n],
    ]);
    // Ann's: not known (never her January and March alone), none shown, the charge named
    expect(await mod.upgrades!.figures(story.serviceId, story.clientId)).to.equal(null);
    expect(told('upgrade.row_unreadable')).to.deep.equal([['warn', C, annFeb, `${C}.status`, STATUSES]]);
    expect(JSON.stringify(logged)).not.to.include('"paid"');
    await knex(C).where({ id: annFeb }).update({ status: 'unbilled' });
  });

  it("sends Ann's suggestion without the money when her March rating cannot be read, and names that charge", async () => {
    // Ann's March charge keeps its columns (over by 400 GB: her streak reads) but its stored rating
    // is edited into one without her use: what she would pay on a bigger plan is not known
    const annMar = await chargeOf(story.serviceId, '2013-03-01');
    await knex(C).where({ id: annMar }).update({ explanation: '{"rated":{"days":31,"hand":"edited"}}' });
    logged.length = 0;
    expect(await mod.suggestions!.run()).to.deep.equal({ suggested: 1, failed: 0 });
    const mail = await knex('tblemails')
      .where({ userid: story.clientId })
      .orderBy('id', 'desc')
      .first('subject', 'message');
    expect(mail.subject).to.equal('A bigger plan for vps1.example.net?');
    expect(mail.message).to.match(/1 – 31 March 2013: 900\.00 GB used, 500\.00 GB included/);
    expect(mail.message).not.to.include('you would have paid');
    expect(await mod.upgrades!.figures(story.serviceId, story.clientId)).to.equal(null);
    const once = ['warn', C, annMar, `${C}.explanation`, 'not a usage rating'];
    expect(told('upgrade.row_unreadable')).to.deep.equal([once, once]);
    expect(JSON.stringify(logged)).not.to.include('edited');
  });
  it("suggests Jan's upgrade when Ann's suggestion notice cannot be read, and names that notice's column", async () => {
    // Ann's notice of her streak (sent above) gets a status outside its set; Jan's notice is gone, so
    // his streak is suggested again. Before: reading Ann's notice threw and the run stopped there
    await knex('mod_overusage_notices')
      .where({ kind: 'upgrade_suggestion', service_id: story.serviceId })
      .update({ status: 'lost' });
    await knex('mod_overusage_notices')
      .where({ kind: 'upgrade_suggestion', service_id: story.dutchServiceId })
      .delete();
    logged.length = 0;
    expect(await mod.suggestions!.run()).to.deep.equal({ suggested: 1, failed: 0 });
    const notices = await knex('mod_overusage_notices')
      .where({ kind: 'upgrade_suggestion' })
      .orderBy('service_id')
      .select('service_id', 'status');
    expect(notices.map((n) => [toNum(n.service_id), n.status])).to.deep.equal([
      [story.serviceId, 'lost'],
      [story.dutchServiceId, 'sent'],
    ]);
    const lines = logged.filter((l) => l.event === 'upgrade_suggestion.row_unreadable');
    expect(lines.map((l) => [l.level, l.serviceId, l.column, l.reason])).to.deep.equal([
      ['warn', story.serviceId, 'mod_overusage_notices.status', 'not one of pending, sent, failed, accepted'],
    ]);
    expect(JSON.stringify(logged)).not.to.include('lost');
  });
});
