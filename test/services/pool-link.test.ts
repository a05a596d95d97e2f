import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { toInstant, toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import type { WidgetLinks } from '../../module/web/present-usage.js';
import { addService } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPoolWorld } from '../support/pool-world.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { ZONE, type PanelFixture, type Story } from '../panel/support.js';

const GiB = 2n ** 30n;
const TiB = 2n ** 40n;
const NBSP = '\u00a0';

/*
 * A service linked mid-month counts in its pool at once, from its registration day (issue 21): the
 * provider links a new VPS and the client's pool, its meter, notices and limit include it the same
 * day, without waiting for the evening's member sync.
 *
 * Ann's A and B ("VPS 5 TB" sold as 1 TiB, unit GiB, pool "main") are members all November 2026
 * (720 hours in Europe/Brussels, no clock change). On 10 November A read 1 536 GiB, B 200 GiB.
 * On 16 November at 10:00Z the provider links C, registered on 16 November:
 *   C joins at the start of its registration day: 16 Nov 00:00 Brussels = 2026-11-15T23:00:00Z;
 *   its share: 15 days = 360 of 720 hours × 1 TiB = 549 755 813 888 B (0.5 TiB);
 *   the pool: 2 × 1 099 511 627 776 + 549 755 813 888 = 2 748 779 069 440 B = 2 560 GiB = "2,560.00 GiB";
 *   used 1 736 GiB → "1,736.00 GiB" (the unit sold); 1 736/2 560 = 67.8125 % → "67.8 %".
 * On 20 November at 12:00Z C is cancelled (switched off): it leaves at that instant, after
 *   15 Nov 23:00Z → 20 Nov 12:00Z = 4 days 13 hours = 109 hours; its share
 *   ⌈1 099 511 627 776 × 109 / 720⌉ = ⌈166 453 843 649.42⌉ = 166 453 843 650 B;
 *   the pool: 2 199 023 255 552 + 166 453 843 650 = 2 365 477 099 202 B, members now A and B.
 */
describeEachEngine('transfer pools: a service linked mid-month counts in its pool at once', ({ db }) => {
  let knex: Knex;
  let f: PanelFixture;
  let story: Story;
  let mod: OverusageModule;
  let masterId: number;
  let a: number;
  let b: number;
  let c: number;
  const links: WidgetLinks = {
    service: (id) => `/s/${id}`,
    form: (id) => `/f/${id}`,
    periodCsv: (id, p) => `/csv/${id}/${p}`,
    lineCsv: (id) => `/line/${id}`,
    morePeriods: (id, cur) => `/more/${id}/${cur}`,
    periodChart: (id, p) => `/chart/${id}/${p}`,
  };

  beforeEach(async () => {
    knex = db().knex;
    const w = await buildPoolWorld(knex, {
      start: '2026-11-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-12-09',
      vps: [{ domain: 'vps3.example.net' }],
    });
    ({ f, story, mod, masterId } = w);
    const fake = w.fake;
    a = story.serviceId;
    [b] = w.vps as [number];
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GiB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
      },
      CLI_ACTOR,
    );
    for (const [id, ref, regdate] of [
      [a, '101', '2026-01-09'],
      [b, '103', '2026-03-01'],
    ] as const) {
      await mod.links.link(
        {
          serviceId: id,
          clientId: story.clientId,
          productId: story.productId,
          masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate,
        },
        CLI_ACTOR,
      );
    }
    f.clock.set('2026-11-10T21:50:00Z');
    fake.set('101', 1536n * GiB);
    fake.set('103', 200n * GiB);
    await mod.metering.collect();
    f.clock.set('2026-11-16T10:00:00Z');
    c = await addService(
      knex,
      {
        userid: story.clientId,
        packageid: story.productId,
        domain: 'vps4.example.net',
        regdate: '2026-11-16',
        nextduedate: '2026-12-16',
        amount: '19.95',
      },
      f.clock.now(),
      ZONE,
    );
  });

  it('counts C from the start of its registration day as soon as it is linked, on the pool and on the widget', async () => {
    // no member sync is called in this test: the links alone record A and B, and then C
    await mod.links.link(
      {
        serviceId: c,
        clientId: story.clientId,
        productId: story.productId,
        masterId,
        serverRef: '104',
        currency: 'EUR',
        regdate: '2026-11-16',
      },
      CLI_ACTOR,
    );
    const span = await knex('mod_overusage_pool_members')
      .where({ service_id: c })
      .first('joined_at', 'left_at');
    expect([toInstant(span.joined_at).toUTC().toISO(), span.left_at]).to.deep.equal([
      '2026-11-15T23:00:00.000Z',
      null,
    ]);
    const s = (await mod.pools.standing()).get(a)!;
    expect([s.memberIds, s.allowanceBytes, s.usedBytes]).to.deep.equal([
      [a, b, c],
      2_748_779_069_440n,
      1736n * GiB,
    ]);
    expect(s.members.find((m) => m.serviceId === c)!.shareBytes).to.equal(TiB / 2n);

    const v = (
      await mod.web.widget.view({
        clientId: story.clientId,
        locale: 'en-GB',
        serviceId: c,
        surface: 'test',
        links: () => links,
      })
    ).service!;
    expect(v.usedText).to.equal(
      `Transfer pool main (3 VPSs): 1,736.00 GiB of 2,560.00 GiB used together (67.8${NBSP}%)`,
    );
    expect(v.pool!.members.map((m) => m.text)[2]).to.equal(
      `vps4.example.net (VPS 5 TB) (this VPS): 0.00 GiB (0.0${NBSP}% of the pool's traffic)`,
    );
    // the evening's sync finds nothing left to record
    expect(await mod.pools.syncMembers()).to.deep.equal({ joined: 0, left: 0 });
  });

  it('takes C out of the pool at the instant it is switched off, its share prorated to 109 of 720 hours', async () => {
    await mod.links.link(
      {
        serviceId: c,
        clientId: story.clientId,
        productId: story.productId,
        masterId,
        serverRef: '104',
        currency: 'EUR',
        regdate: '2026-11-16',
      },
      CLI_ACTOR,
    );
    f.clock.set('2026-11-20T12:00:00Z');
    await mod.links.setActive(c, false, CLI_ACTOR);
    const span = await knex('mod_overusage_pool_members').where({ service_id: c }).first('left_at');
    expect(toInstant(span.left_at).toUTC().toISO()).to.equal(
      DateTime.fromISO('2026-11-20T12:00:00Z', { zone: 'utc' }).toISO(),
    );
    const s = (await mod.pools.standing()).get(a)!;
    expect([s.memberIds, s.allowanceBytes]).to.deep.equal([[a, b], 2_365_477_099_202n]);
    expect(s.members.find((m) => m.serviceId === c)!.shareBytes).to.equal(166_453_843_650n);
    expect(toNum((await knex('mod_overusage_pool_members').count({ n: '*' }).first())!.n)).to.equal(3);
  });
});
