import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { loggedWebStory } from '../support/web-story.js';

const PP = 'mod_overusage_pool_periods';
const GB = 1_000_000_000n;

/**
 * Ann's rated pool months (GET /admin/pools, the Pools & caps page) with one changed by hand. Her
 * pool "eu" of 2 000 GB was rated for April and May 2013, written as the pool rating writes them:
 * May 2 600 GB used, (2 600 − 2 000) × €0.50 = €300.00; April's members (details) are then cut off
 * mid-JSON. Before: her whole list answered 409 and the page failed, May with it.
 */
describeEachEngine('rated pool months with one that cannot be read', ({ db }) => {
  const w = loggedWebStory(db);
  let april: number;
  const check = documented();
  beforeEach(async () => {
    const knex = db().knex;
    const month = async (start: string, end: string, used: bigint, amountMinor: bigint) => {
      const members = [
        {
          serviceId: w.s.ann.serviceId,
          hours: 744,
          shareBytes: String(2_000n * GB),
          usedBytes: String(used),
          ownOverBytes: String(used - 2_000n * GB),
          billedOverBytes: String(used - 2_000n * GB),
          amountMinor: String(amountMinor),
          days: [start],
        },
      ];
      await knex(PP).insert({
        client_id: w.s.ann.clientId,
        pool_key: 'eu',
        start_date: start,
        end_date: end,
        currency: 'EUR',
        period_hours: 744,
        anchor_service_id: w.s.ann.serviceId,
        allowance_bytes: String(2_000n * GB),
        used_bytes: String(used),
        over_bytes: String(used - 2_000n * GB),
        amount_minor: String(amountMinor),
        details: JSON.stringify({ periodHours: 744, members }),
        rated_at: '2013-06-01 00:10:00.000',
      });
      return Number((await knex(PP).where({ start_date: start }).first('id')).id);
    };
    april = await month('2013-04-01', '2013-04-30', 2_200n * GB, 10_000n);
    await month('2013-05-01', '2013-05-31', 2_600n * GB, 30_000n);
    await knex(PP).where({ id: april }).update({ details: '{"periodHours": 720, "members": [' });
    w.logged.length = 0;
  });
  const once = () => [PP, april, `${PP}.details`];

  it("answers May's €300.00 and names April in its place, in the API and on the page", async () => {
    const res = await w.api('admin', `/pools?client=${w.s.ann.clientId}`);
    expect(res.status).to.equal(200);
    expect(check('/api/v1/admin/pools', res.body)).to.equal(true);
    expect(res.body.pools).to.have.length(2);
    expect(res.body.pools[0]).to.deep.include({
      pool: 'eu',
      start: '2013-05-01',
      usedBytes: String(2_600n * GB),
      overBytes: String(600n * GB),
      amountMinor: '30000',
    });
    expect(res.body.pools[1]).to.deep.equal({
      id: april,
      unreadable: { column: `${PP}.details`, reason: "not a pool month's members" },
    });
    expect(w.unreadable()).to.deep.equal([once()]);
    const page = await w.adminPage('pools');
    expect(page.status).to.equal(200);
    expect(page.text).to.include(`data-pool-month="${april}" data-unreadable data-column="${PP}.details"`);
    expect(page.text).to.include('€300.00');
    expect(page.text).not.to.include('"members": [');
    expect(w.unreadable()).to.deep.equal([once(), once()]);
  });
});
