import { expect } from 'chai';
import { DateTime } from 'luxon';
import request from 'supertest';
import { createLimitActionStore } from '../../module/adapters/limit-action-store.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { GB, JAN, loggedWebStory, login, pageText, type WebStory } from '../support/web-story.js';

/**
 * GET /admin/caps, the client's cap and the widget's cap block with one stored row changed by hand.
 * Ann and Jan (test/support/web-story.ts) each set a cap of €25.00 that suspends the server; each
 * cap's suspension is in force (written by the limit action store, status applied). Jan's has its
 * speed_target cut off mid-JSON. Before: the whole caps list answered 500 and Jan's page failed.
 */
describeEachEngine('caps with a row that cannot be read', ({ db }) => {
  const w = loggedWebStory(db);
  const check = documented();
  beforeEach(async () => {
    const product = (await w.s.mod.billing.getProduct(w.s.story.productId))!;
    await w.s.mod.billing.setProduct(
      w.s.story.productId,
      { ...product, clientCaps: { actions: ['suspend'] } },
      { type: 'cli', id: null },
    );
    for (const who of [w.s.ann, w.s.jan]) {
      await request(w.s.app)
        .put(`/overusage/api/v1/client/services/${who.serviceId}/cap`)
        .set('Authorization', `Bearer ${w.s.token('client', who.clientId)}`)
        .send({ kind: 'money', amount: '25.00', action: 'suspend' })
        .expect(200);
    }
  });
  const admin = (path: string) => w.api('admin', path);

  /** a suspension in force for the service's June period, as the limit policy writes it */
  async function suspensionOf(who: WebStory['ann']): Promise<number> {
    const knex = db().knex;
    const svc = await knex('mod_overusage_services').where({ service_id: who.serviceId }).first();
    const at = DateTime.fromISO('2013-06-04T22:00:00Z', { zone: 'utc' });
    const id = await createLimitActionStore(knex).insertIfNew(
      knex,
      {
        serviceId: who.serviceId,
        clientId: who.clientId,
        periodId: toNum(svc.open_period_id),
        action: 'suspend',
        actionKey: `cap-test:${who.serviceId}`,
        masterId: toNum(svc.master_id),
        serverRef: String(svc.server_ref),
        allowanceBytes: 5000n * GB,
        usedBytes: 5100n * GB,
      },
      at,
    );
    await knex('mod_overusage_limit_actions').where({ id }).update({ status: 'applied' });
    return id!;
  }

  it("answers Ann's cap reached and names Jan's action, whose speed_target is no JSON", async () => {
    await suspensionOf(w.s.ann);
    const janAction = await suspensionOf(w.s.jan);
    await db()
      .knex('mod_overusage_limit_actions')
      .where({ id: janAction })
      .update({ speed_target: '{"mbps": 1' });

    const res = await admin('/caps');
    expect(res.status).to.equal(200);
    expect(check('/api/v1/admin/caps', res.body)).to.equal(true);
    const byService = new Map(res.body.caps.map((c: { serviceId: number }) => [c.serviceId, c]));
    expect(byService.get(w.s.ann.serviceId)).to.deep.include({
      amount: '2500',
      currency: 'EUR',
      status: 'active',
      reached: 'suspend',
    });
    expect(byService.get(w.s.jan.serviceId)).to.deep.include({
      status: 'active',
      reached: {
        id: janAction,
        unreadable: { column: 'mod_overusage_limit_actions.speed_target', reason: 'not JSON' },
      },
    });
    expect(res.text).not.to.include('mbps');
    expect(w.unreadable()).to.deep.equal([
      ['mod_overusage_limit_actions', janAction, 'mod_overusage_limit_actions.speed_target'],
    ]);

    // Jan, over the API and on his page: it cannot be told now, no column, no id, no stored text
    const mine = await request(w.s.app)
      .get(`/overusage/api/v1/client/services/${w.s.jan.serviceId}/cap`)
      .set('Authorization', `Bearer ${w.s.token('client', w.s.jan.clientId)}`)
      .expect(200);
    expect(mine.body).to.deep.include({ reached: 'unavailable' });
    const { agent } = await login(w.s.app, JAN);
    const page = await agent.get('/index.php?m=overusage').expect(200);
    const t = pageText(page.text);
    expect(t).to.include('Uw plafond: € 25,00 aan overschrijding per maand.');
    expect(t).to.include('Of het plafond bereikt is, kan nu niet getoond worden.');
    for (const text of [mine.text, page.text]) {
      expect(text).not.to.include('speed_target');
      expect(text).not.to.include('mbps');
    }
  });

  it("lists Jan's cap, whose kind was changed by hand, as unreadable beside Ann's €25.00", async () => {
    const knex = db().knex;
    const jan = toNum(
      (await knex('mod_overusage_caps').where({ service_id: w.s.jan.serviceId }).first('id')).id,
    );
    await knex('mod_overusage_caps').where({ id: jan }).update({ kind: 'euros' });

    const res = await admin('/caps');
    expect(res.status).to.equal(200);
    expect(check('/api/v1/admin/caps', res.body)).to.equal(true);
    expect(res.body.caps).to.have.length(2);
    // newest first: Jan's cap was set after Ann's
    expect(res.body.caps[0]).to.deep.equal({
      id: jan,
      unreadable: { column: 'mod_overusage_caps.kind', reason: 'not one of money, bytes' },
    });
    expect(res.body.caps[1]).to.deep.include({ serviceId: w.s.ann.serviceId, amount: '2500', reached: null });

    const page = await w.adminPage('pools');
    expect(page.status).to.equal(200);
    expect(page.text).to.include(
      `<tr data-cap="${jan}" data-unreadable data-column="mod_overusage_caps.kind"`,
    );
    const t = pageText(page.text);
    expect(t).to.include('€25.00');
    expect(t).to.include(`cap ${jan} Unreadable row: mod_overusage_caps.kind is not one of money, bytes.`);
    const once = ['mod_overusage_caps', jan, 'mod_overusage_caps.kind'];
    expect(w.unreadable()).to.deep.equal([once, once]);

    // Jan's own page: the cap block says only that it cannot be shown, with no form to set or lift
    const mine = await login(w.s.app, JAN);
    const own = await mine.agent.get('/index.php?m=overusage').expect(200);
    expect(pageText(own.text)).to.include('Uw plafond kan nu niet getoond worden.');
    expect(own.text).not.to.include('class="ou-cap-lift"');
    expect(own.text).not.to.include('class="ou-cap-form"');
    expect(own.text).not.to.include('euros');
    expect(own.text).not.to.include('mod_overusage_caps');
    expect(w.unreadable().at(-1)).to.deep.equal(['mod_overusage_caps', null, 'mod_overusage_caps.kind']);
  });
});
