import { expect } from 'chai';
import { readable } from '../support/readable.js';
import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { silentLogger } from '../../module/adapters/logger.js';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { addProduct, addProductCustomField, addServer } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { registerModule } from '../support/register-module.js';

const GB = 10n ** 9n;
const TB = 10n ** 12n;
const BASE = '/overusage';

/*
 * An upgrade with the money shown, through the reference panel (its products and prices, its
 * UpgradeProduct and the upgrade invoice), on SQLite and MariaDB.
 *
 * Plans (EUR, monthly): VPS 500 GB €10.00, 500 GB, €0.80/GB over, 50 % of the current period's
 * overusage credited on an upgrade; VPS 1 TB €15.00, 1 TB, €0.60/GB; VPS 2 TB €30.00, 2 TB, €0.50/GB.
 * Ann is on VPS 500 GB (paid up to 1 May) and used 800, 700 and 900 GB in January, February, March:
 *   on her plan  3 × €10.00 + (300 + 200 + 400) GB × €0.80 = €30.00 + €720.00 = €750.00
 *   on VPS 1 TB  3 × €15.00 + nothing over (all under 1 TB)              = €45.00
 *   on VPS 2 TB  3 × €30.00                                              = €90.00
 * so the suggestion names VPS 1 TB: "€45.00 instead of €750.00 over the last 3 months".
 * She upgrades on 11 April: 20 of April's 30 days are left until 1 May, so the panel charges
 * (€15.00 − €10.00) × 20 / 30 = €3.333… → €3.33, having credited the unused €10.00 × 20 / 30 = €6.67.
 * April (650 GB) is rated on the plan it began on: 150 GB × €0.80 = €120.00, less 50 % credited =
 * €60.00. May (700 GB) is rated on VPS 1 TB: within its 1 TB, nothing billed.
 */
describeEachEngine(
  'an upgrade suggested with its figures, ordered through the reference panel, credited and rated on the new plan',
  ({ db }) => {
    let knex: Knex;
    let f: PanelFixture;
    let story: Story;
    let mod: OverusageModule;
    let fake: FakeMaster;
    let app: express.Express;
    const plan: Record<string, number> = {};

    before(async function () {
      this.timeout(60_000);
      knex = db().knex;
      f = await buildPanel(knex, { start: '2013-01-01T08:00:00Z' });
      story = await seedStory(f, { regdate: '2012-12-01', nextduedate: '2013-05-01' });
      fake = new FakeMaster();
      mod = createModule({
        knex,
        clock: f.clock,
        secretKey: TEST_SECRET_KEY,
        zone: ZONE,
        gatewayFor: () => fake.gateway(),
        panel: f.panel.api,
        log: silentLogger,
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
      const now = f.clock.now();
      for (const [name, price, allowance, rate, credit] of [
        ['VPS 500 GB', '10.00', '500 GB', '0.80', 50],
        ['VPS 1 TB', '15.00', '1 TB', '0.60', 0],
        ['VPS 2 TB', '30.00', '2 TB', '0.50', 0],
      ] as const) {
        const id = await addProduct(
          knex,
          { name, servertype: 'solusvmpro', monthly: { EUR: price } },
          now,
          ZONE,
        );
        const field = await addProductCustomField(knex, id, 'vserverid');
        // the panel carries the VPS's id for each plan it may move to
        await knex('tblcustomfieldsvalues').insert({ fieldid: field, relid: story.serviceId, value: '101' });
        await mod.billing.setProduct(
          id,
          {
            unit: 'GB',
            model: 'per_unit',
            allowance,
            prices: { EUR: { overage: rate } },
            panelOverageOff: true,
            ...(credit ? { upgradeCreditPercent: credit } : {}),
          },
          CLI_ACTOR,
        );
        plan[name] = id;
      }
      // the panel's server entry for the master, so that the module's sync links what the panel shows
      const serverId = await addServer(knex, {
        name: 'solus-nl',
        type: 'solusvmpro',
        hostname: 'solus.example.net',
      });
      await mod.masters.update(master.id, { panelServerId: serverId }, CLI_ACTOR);
      await knex('tblhosting')
        .where({ id: story.serviceId })
        .update({ packageid: plan['VPS 500 GB'], amount: '10.00', server: serverId });
      await mod.links.link(
        {
          serviceId: story.serviceId,
          clientId: story.clientId,
          productId: plan['VPS 500 GB']!,
          masterId: master.id,
          serverRef: '101',
        },
        CLI_ACTOR,
      );
      app = express();
      app.use(mod.web.router());
      // January to March: the counter at the month's last evening, then SolusVM's reset on the 1st
      for (const [at, counter] of [
        ['2013-01-01', 25n * GB],
        ['2013-01-31', 800n * GB],
        ['2013-02-01', 20n * GB],
        ['2013-02-28', 700n * GB],
        ['2013-03-01', 20n * GB],
        ['2013-03-31', 900n * GB],
        ['2013-04-01', 30n * GB],
      ] as const)
        await read(at, counter);
    });

    async function read(day: string, counter: bigint): Promise<void> {
      f.clock.set(`${day}T20:50:00Z`);
      fake.set('101', counter);
      await mod.metering.collect();
    }

    async function widget() {
      const agent = request.agent(app);
      await agent
        .get(`${BASE}/embed/client`)
        .query({ token: mod.web.issueToken({ type: 'client', id: story.clientId }).token })
        .expect(303);
      const page = await agent.get(`${BASE}/embed/client`).expect(200);
      return { agent, page, csrf: /name="csrf" value="([^"]+)"/.exec(page.text)![1]! };
    }

    it('suggests VPS 1 TB with the money: €45.00 instead of €750.00 over the last 3 months, in the email and on the widget', async () => {
      f.clock.set('2013-04-02T06:00:00Z');
      await mod.rating.rateClosedPeriods();
      const charges = await knex('mod_overusage_charges')
        .where({ service_id: story.serviceId })
        .orderBy('period_start');
      expect(charges.map((c) => [c.period_start, toBig(c.used_bytes), toBig(c.amount_minor)])).to.deep.equal([
        ['2013-01-01', 800n * GB, 24000n],
        ['2013-02-01', 700n * GB, 16000n],
        ['2013-03-01', 900n * GB, 32000n],
      ]);
      const figures = await mod.upgrades!.figures(story.serviceId, story.clientId);
      expect(figures).to.deep.include({
        currency: 'EUR',
        periods: 3,
        currentMinor: 75000n,
        currentName: 'VPS 500 GB',
      });
      expect(figures!.offers).to.deep.equal([
        { productId: plan['VPS 1 TB'], name: 'VPS 1 TB', totalMinor: 4500n, overusageMinor: 0n },
        { productId: plan['VPS 2 TB'], name: 'VPS 2 TB', totalMinor: 9000n, overusageMinor: 0n },
      ]);
      const out = await mod.suggestions!.run();
      expect(out).to.deep.equal({ suggested: 1, failed: 0 });
      const mail = await knex('tblemails')
        .where({ userid: story.clientId })
        .orderBy('id', 'desc')
        .first('subject', 'message');
      expect(mail.subject).to.equal('A bigger plan for vps1.example.net?');
      // each month in the unit sold (GB), 2 decimals, as its invoice line: 800, 700 and 900 GB of 500 GB
      for (const [month, used] of [
        ['January', '800.00'],
        ['February', '700.00'],
        ['March', '900.00'],
      ])
        expect(mail.message).to.match(
          new RegExp(`1 – \\d\\d ${month} 2013: ${used} GB used, 500\\.00 GB included`),
        );
      expect(mail.message).to.include(
        'On VPS 1 TB you would have paid €45.00 instead of €750.00 over the last 3 months.',
      );
      const { page } = await widget();
      expect(page.text).to.include(
        'On VPS 1 TB you would have paid €45.00 instead of €750.00 over the last 3 months.',
      );
      expect(page.text).to.include('Upgrade to VPS 1 TB');
    });

    it('orders the upgrade with one click: the panel charges €3.33 for the 20 days left (€6.67 credited for the unused part)', async () => {
      await read('2013-04-10', 400n * GB);
      f.clock.set('2013-04-11T08:00:00Z');
      const { agent, csrf } = await widget();
      const posted = await agent
        .post(`${BASE}/embed/client`)
        .type('form')
        .send({ csrf, do: 'upgrade', service: String(story.serviceId), product: String(plan['VPS 1 TB']) });
      expect(posted.status).to.equal(200);
      const up = await knex('mod_overusage_upgrades').where({ service_id: story.serviceId }).first();
      expect(posted.text).to.include(
        `Your upgrade is ordered: invoice #${toNum(up.invoice_id)} charges the difference for the rest of this month`,
      );
      expect([
        toNum(up.from_product_id),
        toNum(up.to_product_id),
        up.requested_on,
        toNum(up.credit_percent),
      ]).to.deep.equal([plan['VPS 500 GB'], plan['VPS 1 TB'], '2013-04-11', 50]);
      const panelUpgrade = await knex('tblupgrades')
        .where({ id: toNum(up.panel_upgrade_id) })
        .first();
      expect([
        panelUpgrade.status,
        String(panelUpgrade.amount),
        String(panelUpgrade.credit_amount),
        toNum(panelUpgrade.days_remaining),
        toNum(panelUpgrade.total_days_in_cycle),
      ]).to.deep.equal(['Pending', '3.33', '6.67', 20, 30]);
      const inv = await f.panel.api.getInvoice(toNum(up.invoice_id));
      expect(inv.items.map((i) => [i.type, i.description, i.amount])).to.deep.equal([
        ['Upgrade', 'Upgrade/Downgrade: VPS 500 GB => VPS 1 TB (2013-04-11 - 2013-04-30)', '3.33'],
      ]);
      // the admin sees the suggestion taken up, and the upgrade it led to
      const [outcome] = readable(await mod.upgrades!.outcomes());
      expect(outcome!.suggestion!.status).to.equal('accepted');
      expect(outcome!.upgrade).to.deep.equal({
        toProductId: plan['VPS 1 TB'],
        fromProductId: plan['VPS 500 GB'],
        requestedOn: '2013-04-11',
        creditPercent: 50,
        panelUpgradeId: toNum(up.panel_upgrade_id),
        invoiceId: toNum(up.invoice_id),
      });
      // a second click asks the panel nothing again
      await agent
        .post(`${BASE}/embed/client`)
        .type('form')
        .send({ csrf, do: 'upgrade', service: String(story.serviceId), product: String(plan['VPS 1 TB']) });
      expect(await knex('tblupgrades')).to.have.length(1);
      expect((await knex('mod_overusage_audit').where({ action: 'upgrade.requested' })).length).to.equal(1);
      // paid: the panel moves the service; the module's next sync follows
      await f.panel.api.addInvoicePayment({
        invoiceId: inv.invoiceId,
        transId: 'T-1',
        gateway: 'banktransfer',
      });
      const svc = await knex('tblhosting').where({ id: story.serviceId }).first('packageid', 'amount');
      expect([toNum(svc.packageid), String(svc.amount)]).to.deep.equal([plan['VPS 1 TB'], '15.00']);
      expect((await mod.sync!.sync()).updated).to.equal(1);
      expect(
        toNum(
          (await knex('mod_overusage_services').where({ service_id: story.serviceId }).first('product_id'))
            .product_id,
        ),
      ).to.equal(plan['VPS 1 TB']);
    });

    it('rates April on the plan it began on less the 50 % credit (€60.00), and May on VPS 1 TB (700 GB of 1 TB: nothing)', async () => {
      // a rate agreed in advance on the plan April began on, €0.60/GB, for the dispute below
      await mod.billing.setProduct(
        plan['VPS 500 GB']!,
        {
          unit: 'GB',
          model: 'per_unit',
          allowance: '500 GB',
          prices: { EUR: { overage: '0.80', precommit: '0.60' } },
          panelOverageOff: true,
          upgradeCreditPercent: 50,
        },
        CLI_ACTOR,
      );
      await read('2013-04-30', 650n * GB);
      await read('2013-05-01', 10n * GB);
      await read('2013-05-31', 700n * GB);
      await read('2013-06-01', 5n * GB);
      await mod.rating.rateClosedPeriods();
      const april = await knex('mod_overusage_charges')
        .where({ service_id: story.serviceId, period_start: '2013-04-01' })
        .first();
      expect([
        toNum(april.product_id),
        toBig(april.over_bytes),
        toBig(april.rounded_minor),
        toBig(april.amount_minor),
        april.status,
      ]).to.deep.equal([plan['VPS 500 GB'], 150n * GB, 12000n, 6000n, 'unbilled']);
      expect(JSON.parse(april.explanation).upgradeCredit).to.deep.equal({
        percent: 50,
        creditedMinor: '6000',
        toProductId: plan['VPS 1 TB'],
      });
      const may = await knex('mod_overusage_charges')
        .where({ service_id: story.serviceId, period_start: '2013-05-01' })
        .first();
      expect([
        toNum(may.product_id),
        toBig(may.allowance_bytes),
        toBig(may.used_bytes),
        toBig(may.amount_minor),
        may.status,
      ]).to.deep.equal([plan['VPS 1 TB'], TB, 700n * GB, 0n, 'within_allowance']);
      // April's line on the next renewal invoice says the credit
      f.clock.set('2013-05-25T07:00:00Z');
      await f.panel.runDailyAutomation('2013-05-25');
      const line = await knex('mod_overusage_lines')
        .where({ charge_id: april.id })
        .first('description', 'amount_minor', 'status');
      expect(toBig(line.amount_minor)).to.equal(6000n);
      // 150.00 GB × €0.80 = €120.00 rated, half of it credited: €60.00 billed
      expect(line.description).to.match(
        /^Bandwidth overusage 1 – 30 April 2013: .*150\.00 GB × €0\.80 = €120\.00, less 50 % credited on your upgrade \(€60\.00\) \(dispute by/,
      );
    });

    it("re-rates April's line at the agreed rate with the upgrade credit taken again: 150 GB × €0.60 = €90.00, less 50 % (€45.00) = €45.00", async () => {
      const april = await knex('mod_overusage_charges')
        .where({ service_id: story.serviceId, period_start: '2013-04-01' })
        .first('id');
      const line = await knex('mod_overusage_lines').where({ charge_id: april.id }).first('id');
      f.clock.set('2013-05-26T10:00:00Z');
      const opened = await mod.disputes!.open({
        lineId: toNum(line.id),
        reason: 'That was a one-off backup.',
        actor: { type: 'client', id: String(story.clientId) },
      });
      expect(opened.ok, opened.ok ? '' : opened.message).to.equal(true);
      const id = opened.ok ? opened.value.id : 0;
      // the admin's preview already says the money: €45.00, never the €90.00 before the credit (more than the €60.00 billed)
      expect((await mod.disputes!.preview(id, { kind: 'precommit' })).amountMinor).to.equal(4500n);
      f.clock.set('2013-05-28T09:00:00Z');
      const decided = await mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: { type: 'admin', id: '1' },
        adjustment: { kind: 'precommit' },
      });
      expect(decided.ok, decided.ok ? '' : decided.message).to.equal(true);
      const after = await knex('mod_overusage_lines')
        .where({ id: line.id })
        .first('description', 'amount_minor');
      expect(toBig(after.amount_minor)).to.equal(4500n);
      expect(after.description).to.match(
        /150\.00 GB × €0\.60 \(agreed rate\) = €90\.00, less 50 % credited on your upgrade \(€45\.00\) \(dispute by/,
      );
      expect(after.description).not.to.match(/€0\.80|€120\.00|€60\.00/);
      const d = (await mod.disputes!.get(id))!;
      const inv = await f.panel.api.getInvoice(d.heldInvoiceId ?? d.originalInvoiceId);
      expect(inv.items.find((i) => i.description === after.description)!.amount).to.equal('45.00');
    });
  },
);
