import { expect } from 'chai';
import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { toBig, toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import type { SimMaster, Simulator } from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildSimStory } from '../support/sim-story.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import type { PanelFixture, Story } from '../panel/support.js';

const GB = 10n ** 9n;
const BASE = '/overusage';

/**
 * Client-chosen caps end to end, on each SolusVM version's simulator: the reference panel, the
 * module on its cron hook, its JSON API and widget page.
 *
 * The product: 100 GB a month, €0.50 per GB over; clients may cap and choose throttle (10 Mbit/s)
 * or suspend. Both VPSs move 10 GB a day from the simulator's start (1 May 00:00 CEST = 30 April
 * 22:00Z), so at the evening read at 21:50Z on day d of May the counter holds 10 GB × (d − 1 +
 * 23 h 50 min / 24 h) = (d − 0.00694) × 10 GB.
 *  - Ann (English) sets €25.00, throttle, through the API: €25.00 ÷ €0.50 = 50 GB over the 100 GB,
 *    so it acts at 150 GB: not on 15 May (149.93 GB), on 16 May (159.93 GB).
 *  - Jan (Dutch) sets 30 GB, suspend, on the widget's form: it acts at 130 GB: not on 13 May
 *    (129.93 GB), on 14 May (139.93 GB).
 * Ann lifts her cap on 20 May: the throttle goes at once. Jan's suspension is lifted when the next
 * period starts (the reset read on 1 June), and May bills him at most what 30 GB cost: €15.00.
 */
describeEachEngine('client-chosen caps against the SolusVM simulator', ({ db }) => {
  for (const version of [1, 2] as const) {
    describe(`SolusVM ${version}`, function () {
      this.timeout(120_000);
      let knex: Knex;
      let f: PanelFixture;
      let story: Story;
      let mod: OverusageModule;
      let sim: Simulator;
      let m: SimMaster;
      let app: express.Express;
      const ref = { ann: 201, jan: 202 };

      before(async () => {
        knex = db().knex;
        const built = await buildSimStory(knex, version, { web: { cacheMs: 0 } });
        ({ f, story, sim, m, mod } = built);
        const added = { id: built.masterId };
        await mod.billing.setProduct(
          story.productId,
          {
            unit: 'GB',
            model: 'per_unit',
            allowance: '100 GB',
            prices: { EUR: { overage: '0.50' } },
            clientCaps: { actions: ['throttle', 'suspend'], throttleMbps: 10 },
          },
          CLI_ACTOR,
        );
        for (const [serviceId, clientId, id] of [
          [story.serviceId, story.clientId, ref.ann],
          [story.dutchServiceId, story.dutchClientId, ref.jan],
        ] as const) {
          m.addServer({
            id,
            hostname: `vps${id}.example.net`,
            node: { id: 1, name: 'node-1' },
            clientId: 7,
            type: 'kvm',
            limitBytes: 0n,
            createdAt: '2012-01-01T00:00:00Z',
            profile: { kind: 'constant', bytesPerDay: 10n * GB },
          });
          await mod.links.link(
            { serviceId, clientId, productId: story.productId, masterId: added.id, serverRef: String(id) },
            CLI_ACTOR,
          );
        }
        app = express();
        app.use(mod.web.router());
      });

      after(async () => {
        await mod?.close();
        await sim?.close();
      });

      const afterCron = () =>
        mod
          .hooks()
          .find((h) => h.name === 'AfterCronJob')!
          .handler({});
      async function days(from: number, to: number, month = '05'): Promise<void> {
        for (let d = from; d <= to; d++) {
          f.clock.set(`2013-${month}-${String(d).padStart(2, '0')}T21:50:00Z`);
          await afterCron();
        }
      }
      const server = (id: number) => m.server(id)!;
      const throttled = (id: number) =>
        version === 1
          ? server(id).nspeed === 10
          : server(id).limits.network_incoming_bandwidth?.is_enabled === true &&
            server(id).limits.network_incoming_bandwidth?.limit === 10;
      const api = (method: 'get' | 'put' | 'post', p: string, who: number, body?: object) => {
        const token = mod.web.issueToken({ type: 'client', id: who }).token;
        const r = request(app)[method](`${BASE}/api/v1/client${p}`).set('Authorization', `Bearer ${token}`);
        return body ? r.send(body) : r;
      };
      /** the widget page as the client's browser gets it: token to cookie, then the page and its CSRF field */
      async function widgetPage(clientId: number) {
        const agent = request.agent(app);
        await agent
          .get(`${BASE}/embed/client`)
          .query({ token: mod.web.issueToken({ type: 'client', id: clientId }).token })
          .expect(303);
        const page = await agent.get(`${BASE}/embed/client`).expect(200);
        return { agent, page, csrf: /name="csrf" value="([^"]+)"/.exec(page.text)![1]! };
      }

      // in order, over the story built in before: each cap set stays for the tests after it
      it("refuses a cap on someone else's service (404), an amount finer than a cent, one beyond what its column holds and an action not offered (422), writing nothing", async () => {
        // someone else's service: not found, nothing written
        const foreign = await api('put', `/services/${story.dutchServiceId}/cap`, story.clientId, {
          kind: 'money',
          amount: '25.00',
          action: 'throttle',
        });
        expect(foreign.status).to.equal(404);
        const bad = await api('put', `/services/${story.serviceId}/cap`, story.clientId, {
          kind: 'money',
          amount: '25.001',
          action: 'throttle',
        });
        expect(bad.status).to.equal(422);
        expect(bad.body.error.code).to.equal('INVALID_INPUT');
        const notAllowed = await api('put', `/services/${story.serviceId}/cap`, story.clientId, {
          kind: 'money',
          amount: '25',
          action: 'reboot',
        });
        expect(notAllowed.status).to.equal(422);
        // more than a BIGINT column holds (2^63 − 1 = 9 223 372 036 854 775 807): refused, not stored
        // as another figure (SQLite kept 10^28 cents as a float and read back €100000000000000009059696.64)
        const huge = await api('put', `/services/${story.serviceId}/cap`, story.clientId, {
          kind: 'money',
          amount: '99999999999999999999999',
          action: 'throttle',
        });
        expect(huge.status, huge.text).to.equal(422);
        expect(huge.body.error.message).to.equal('the cap must be at most 92233720368547758.07 EUR');
        // 10^26 GB = 10^35 bytes
        const hugeBytes = await api('put', `/services/${story.serviceId}/cap`, story.clientId, {
          kind: 'bytes',
          amount: '99999999999999999999999999 GB',
          action: 'throttle',
        });
        expect(hugeBytes.status, hugeBytes.text).to.equal(422);
        expect(hugeBytes.body.error.message).to.equal('the cap must be at most 9223372036854775807 bytes');
        expect(await knex('mod_overusage_caps')).to.deep.equal([]);
      });

      it('answers a cap form whose service field is not an id with the form refused, not a server error', async () => {
        // a tampered form: "abc", "-1" or 20 digits as the service, to set or to lift
        const { agent, csrf } = await widgetPage(story.dutchClientId);
        for (const [action, service] of [
          ['set_cap', 'abc'],
          ['lift_cap', 'abc'],
          ['lift_cap', '-1'],
          ['set_cap', '99999999999999999999'],
        ]) {
          const posted = await agent
            .post(`${BASE}/embed/client`)
            .type('form')
            .send({ csrf, do: action, service, kind: 'bytes', amount: '30', action: 'suspend' });
          expect(posted.status, `${action} ${service}`).to.equal(200);
          expect(posted.text).to.include('Het formulier kon niet worden gelezen; probeer het opnieuw.');
        }
        expect(await knex('mod_overusage_caps')).to.deep.equal([]);
      });

      it("sets Ann's cap of €25.00 a month, throttle, through the API", async () => {
        const set = await api('put', `/services/${story.serviceId}/cap`, story.clientId, {
          kind: 'money',
          amount: '25.00',
          action: 'throttle',
        });
        expect(set.status, set.text).to.equal(200);
        expect(set.body).to.deep.include({
          serviceId: story.serviceId,
          reached: null,
          options: { actions: ['throttle', 'suspend'], currency: 'EUR' },
        });
        expect(set.body.cap).to.deep.include({
          kind: 'money',
          amount: '25.00',
          currency: 'EUR',
          action: 'throttle',
        });
      });

      it("sets Jan's cap of 30 GB over, suspend, on his Dutch widget; the form without its CSRF field is refused", async () => {
        // Jan on his widget, in Dutch: 30 (GB over the allowance), suspend; without the CSRF field refused
        const { agent, page, csrf } = await widgetPage(story.dutchClientId);
        expect(page.text).to.include('Uitgavenplafond');
        expect(page.text).to.include(
          'U hebt geen plafond ingesteld: overschrijding wordt volledig gefactureerd op uw volgende factuur.',
        );
        const form = {
          do: 'set_cap',
          service: String(story.dutchServiceId),
          kind: 'bytes',
          amount: '30',
          action: 'suspend',
        };
        expect((await agent.post(`${BASE}/embed/client`).type('form').send(form)).status).to.equal(403);
        const posted = await agent
          .post(`${BASE}/embed/client`)
          .type('form')
          .send({ csrf, ...form });
        expect(posted.status).to.equal(200);
        expect(posted.text).to.include('Uw plafond is ingesteld.');
        // 30 GB as typed, 2 decimals as every quantity the client reads: "30,00 GB"
        expect(posted.text).to.include(
          'Uw plafond: 30,00 GB aan overschrijding per maand. Wanneer het bereikt is, wordt uw server geschorst tot de volgende periode begint, en betaalt u nooit meer dan het plafond.',
        );
      });

      it('keeps both caps active, €25.00 (2 500 cents) and 30 GB, each audited as set by its client', async () => {
        const caps = await knex('mod_overusage_caps').orderBy('id');
        expect(
          caps.map((c) => [toNum(c.service_id), c.kind, toBig(c.amount), c.currency, c.action, c.status]),
        ).to.deep.equal([
          [story.serviceId, 'money', 2500n, 'EUR', 'throttle', 'active'],
          [story.dutchServiceId, 'bytes', 30n * GB, null, 'suspend', 'active'],
        ]);
        const audit = await knex('mod_overusage_audit').where({ action: 'cap.set' }).orderBy('id');
        expect(audit.map((a) => [a.actor_type, String(a.actor_id), String(a.entity_id)])).to.deep.equal([
          ['client', String(story.clientId), String(story.serviceId)],
          ['client', String(story.dutchClientId), String(story.dutchServiceId)],
        ]);
      });

      it('throttles Ann and suspends Jan on the evening their cap is reached, not before, and says so', async () => {
        await days(1, 13);
        expect(throttled(ref.ann)).to.equal(false);
        expect(server(ref.jan).suspended).to.equal(false);
        await days(14, 14);
        // Jan: 139.93 GB ≥ 130 GB
        expect(server(ref.jan).suspended).to.equal(true);
        expect(throttled(ref.ann)).to.equal(false);
        await days(15, 15);
        expect(throttled(ref.ann)).to.equal(false); // 149.93 GB < 150 GB
        await days(16, 16);
        expect(throttled(ref.ann)).to.equal(true); // 159.93 GB
        if (version === 2)
          expect(server(ref.ann).limits.network_outgoing_bandwidth).to.deep.equal({
            is_enabled: true,
            limit: 10,
            unit: 'Mbps',
          });
        expect(server(ref.ann).suspended).to.equal(false);
        const actions = await knex('mod_overusage_limit_actions')
          .orderBy('id')
          .select('service_id', 'action', 'status', 'allowance_bytes');
        // the bytes at which each acted: 100 GB + 30 GB, and 100 GB + €25.00 ÷ €0.50 per GB
        expect(
          actions.map((a) => [toNum(a.service_id), a.action, a.status, toBig(a.allowance_bytes)]),
        ).to.deep.equal([
          [story.dutchServiceId, 'suspend', 'applied', 130n * GB],
          [story.serviceId, 'throttle', 'applied', 150n * GB],
        ]);
        const annCap = await api('get', `/services/${story.serviceId}/cap`, story.clientId);
        expect(annCap.body.reached).to.equal('throttle');
        const { page } = await widgetPage(story.clientId);
        expect(page.text).to.include(
          'The cap is reached: your server is slowed down until the next period starts.',
        );
        expect(page.text).to.include('Your cap: €25.00 of overusage a month.');
        const jan = await widgetPage(story.dutchClientId);
        expect(jan.page.text).to.include(
          'Het plafond is bereikt: uw server is geschorst tot de volgende periode begint.',
        );
      });

      it("lifts Ann's throttle at once when she lifts her cap, audited", async () => {
        await days(17, 20);
        const lifted = await api('post', `/services/${story.serviceId}/cap/lift`, story.clientId);
        expect(lifted.status).to.equal(200);
        expect(lifted.body).to.deep.include({ cap: null, reached: null });
        expect(throttled(ref.ann)).to.equal(false);
        if (version === 1) expect(server(ref.ann).nspeed).to.equal(0);
        const a = await knex('mod_overusage_limit_actions')
          .where({ service_id: story.serviceId })
          .first('status', 'lift_reason');
        expect([a.status, a.lift_reason]).to.deep.equal(['lifted', 'policy_changed']);
        expect(
          await knex('mod_overusage_audit').where({
            action: 'cap.lifted',
            entity_id: String(story.serviceId),
          }),
        ).to.have.length(1);
        // Jan is still suspended: his cap stands
        expect(server(ref.jan).suspended).to.equal(true);
      });

      it("lifts Jan's suspension when the next period starts, and bills May at most his cap (30 GB × €0.50 = €15.00)", async () => {
        await days(21, 31);
        expect(server(ref.jan).suspended).to.equal(true);
        await days(1, 1, '06');
        expect(server(ref.jan).suspended).to.equal(false);
        const a = await knex('mod_overusage_limit_actions')
          .where({ service_id: story.dutchServiceId })
          .first('status', 'lift_reason');
        expect([a.status, a.lift_reason]).to.deep.equal(['lifted', 'next_period']);
        await mod.rating.rateClosedPeriods();
        const may = await knex('mod_overusage_charges')
          .where({ service_id: story.dutchServiceId, period_start: '2013-05-01' })
          .first();
        // he used well over 130 GB (the simulator keeps counting), yet the line bills the cap
        expect(toBig(may.over_bytes) > 30n * GB).to.equal(true);
        expect(toBig(may.amount_minor)).to.equal(1500n);
        expect(JSON.parse(may.explanation).rated).to.deep.include({ capped: true, capMinor: '1500' });
        // Ann lifted hers before the period ended: her May bills in full (> €15.00 at 10 GB a day)
        const annMay = await knex('mod_overusage_charges')
          .where({ service_id: story.serviceId, period_start: '2013-05-01' })
          .first();
        expect(JSON.parse(annMay.explanation).rated.capped).to.equal(false);
        // the cap stays for June: Jan's June is watched against it again
        expect(
          (await api('get', `/services/${story.dutchServiceId}/cap`, story.dutchClientId)).body.cap,
        ).to.deep.include({ kind: 'bytes', amount: String(30n * GB), action: 'suspend' });
      });
    });
  }
});
