import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { loggedWebStory, type WebStory } from '../support/web-story.js';

const N = 'mod_overusage_notices';

/**
 * The admin's upgrade suggestions (GET /admin/upgrades, the Pools & caps page) with one stored row
 * changed by hand. Ann and Jan (test/support/web-story.ts) were each suggested an upgrade on
 * 4 June; Ann's was sent, Jan's status is then set to a word the module never writes. Before: the
 * whole list answered 409 and the page failed, Ann's suggestion with it.
 */
describeEachEngine('upgrade suggestions with one that cannot be read', ({ db }) => {
  const w = loggedWebStory(db);
  let jan: number;
  const check = documented();
  beforeEach(async () => {
    const knex = db().knex;
    const suggest = async (who: WebStory['ann'], status: string) => {
      await knex(N).insert({
        service_id: who.serviceId,
        client_id: who.clientId,
        kind: 'upgrade_suggestion',
        notice_key: 'period:1',
        status,
        created_at: '2013-06-04 08:00:00.000',
      });
      return Number(
        (await knex(N).where({ service_id: who.serviceId, kind: 'upgrade_suggestion' }).first('id')).id,
      );
    };
    await suggest(w.s.ann, 'sent');
    jan = await suggest(w.s.jan, 'pending');
    await knex(N).where({ id: jan }).update({ status: 'lost' });
    w.logged.length = 0;
  });
  const once = () => [N, jan, `${N}.status`];

  it("lists Ann's sent suggestion and names Jan's after it, in the API and on the page", async () => {
    const res = await w.api('admin', '/upgrades');
    expect(res.status).to.equal(200);
    expect(check('/api/v1/admin/upgrades', res.body)).to.equal(true);
    expect(res.body.upgrades).to.have.length(2);
    expect(res.body.upgrades[0]).to.deep.include({
      serviceId: w.s.ann.serviceId,
      serviceHostname: 'vps1.example.net',
      suggestion: { status: 'sent', suggestedAt: '2013-06-04T08:00:00.000Z' },
      upgrade: null,
    });
    expect(res.body.upgrades[1]).to.deep.equal({
      id: jan,
      unreadable: { column: `${N}.status`, reason: 'not one of pending, sent, failed, accepted' },
    });
    expect(w.unreadable()).to.deep.equal([once()]);
    const page = await w.adminPage('pools');
    expect(page.status).to.equal(200);
    expect(page.text).to.include(`<tr data-upgrade="${w.s.ann.serviceId}">`);
    expect(page.text).to.include(`<tr data-upgrade="${jan}" data-unreadable data-column="${N}.status"`);
    expect(w.unreadable()).to.deep.equal([once(), once()]);
  });
});
