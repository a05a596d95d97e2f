import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import type { WidgetLinks } from '../../module/web/present-usage.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPoolWorld } from '../support/pool-world.js';
import type { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import type { PanelFixture, Story } from '../panel/support.js';

const GiB = 2n ** 30n;
const NBSP = '\u00a0';

/*
 * A pooled service's widget shows its pool (issue 21). Ann has three VPSs of "VPS 5 TB" sold as
 * 1 TiB (unit GiB) each, in pool "main" for the whole of November 2026: the pool has
 * 3 × 1 TiB = 3 072 GiB. Every quantity in the unit sold (GiB), 2 decimals, as the invoice line says it.
 * On 10 November the counters read A 1 536, B 200, C 200 GiB:
 *   pool: 1 936 GiB → "1,936.00 GiB" of "3,072.00 GiB"; 1 936/3 072 = 63.02 % → "63.0 %"
 *   A alone: "1,536.00 GiB" = 150 % of its own 1 024 GiB; its part 1 536/1 936 = 79.34 % → "79.3 %"
 *   B, C: "200.00 GiB"; part 200/1 936 = 10.33 % → "10.3 %"
 *   thresholds 80/90/100: none reached at 63 % (A's own 150 % would have reached all three).
 *   at this pace (10 of November's 30 days): 1 936 × 3 = 5 808 GiB → "5,808.00 GiB" by 30 November;
 *   over 5 808 − 3 072 = 2 736 GiB × €0.50 = €1,368.00.
 * D, a VPS of another product (1 TiB = 1 024 GiB, no pool) at 100 GiB: its own 100/1 024 = 9.77 % → "9.8 %".
 */
describeEachEngine('the client widget of a pooled service shows the pool', ({ db }) => {
  let knex: Knex;
  let f: PanelFixture;
  let story: Story;
  let mod: OverusageModule;
  let fake: FakeMaster;
  let a: number;
  let b: number;
  let c: number;
  let d: number;
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
      vps: [
        { domain: 'vps3.example.net' },
        { domain: 'vps4.example.net' },
        { domain: 'vps5.example.net', product: 'VPS solo' },
      ],
    });
    ({ f, story, mod, fake } = w);
    const masterId = w.masterId;
    const solo = w.products['VPS solo']!;
    a = story.serviceId;
    [b, c, d] = w.vps as [number, number, number];
    const plan = {
      unit: 'GiB',
      model: 'per_unit',
      allowance: '1 TiB',
      prices: { EUR: { overage: '0.50' } },
    } as const;
    await mod.billing.setProduct(story.productId, { ...plan, pool: 'main' }, CLI_ACTOR);
    await mod.billing.setProduct(solo, plan, CLI_ACTOR);
    for (const [id, ref, pid] of [
      [a, '101', story.productId],
      [b, '103', story.productId],
      [c, '104', story.productId],
      [d, '105', solo],
    ] as const) {
      await mod.links.link(
        {
          serviceId: id,
          clientId: story.clientId,
          productId: pid,
          masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: id === a ? '2026-01-09' : '2026-03-01',
        },
        CLI_ACTOR,
      );
    }
    await mod.pools.syncMembers();
    f.clock.set('2026-11-10T21:50:00Z');
    for (const [ref, gib] of [
      ['101', 1536n],
      ['103', 200n],
      ['104', 200n],
      ['105', 100n],
    ] as const)
      fake.set(ref, gib * GiB);
    await mod.metering.collect();
    f.clock.set('2026-11-11T09:00:00Z');
  });

  const view = (serviceId: number, locale = 'en-GB') =>
    mod.web.widget.view({ clientId: story.clientId, locale, serviceId, surface: 'test', links: () => links });

  it("draws A's meter on the pool's 3 072 GiB (63.0 %), not on its own 1 TiB (150 %), and lists each VPS's part", async () => {
    const v = await view(a);
    const s = v.service!;
    expect(s.usedText).to.equal(
      `Transfer pool main (3 VPSs): 1,936.00 GiB of 3,072.00 GiB used together (63.0${NBSP}%)`,
    );
    expect(s.meter!.pct).to.equal(`63.0${NBSP}%`);
    expect(s.meter!.state).to.equal('ok');
    expect(s.meter!.marks.map((m) => [m.pct, m.reached])).to.deep.equal([
      [80, false],
      [90, false],
      [100, false],
    ]);
    expect(s.periodLabel).to.equal('1 – 30 November 2026');
    expect([s.projection!.use, s.projection!.cost]).to.deep.equal([
      'about 5,808.00 GiB by 30 November 2026',
      'estimated overusage: €1,368.00',
    ]);
    expect(s.pool!.members.map((m) => [m.id, m.self, m.text])).to.deep.equal([
      [a, true, `vps1.example.net (VPS 5 TB) (this VPS): 1,536.00 GiB (79.3${NBSP}% of the pool's traffic)`],
      [b, false, `vps3.example.net (VPS 5 TB): 200.00 GiB (10.3${NBSP}% of the pool's traffic)`],
      [c, false, `vps4.example.net (VPS 5 TB): 200.00 GiB (10.3${NBSP}% of the pool's traffic)`],
    ]);
    // the picker shows the pool's figure for the selected VPS too
    expect(v.services.find((o) => o.id === a)!.pct).to.equal(`63.0${NBSP}%`);
    // B's page: the same pool, B marked as this VPS
    const vb = (await view(b)).service!;
    expect(vb.meter!.pct).to.equal(`63.0${NBSP}%`);
    expect(vb.pool!.members.filter((m) => m.self).map((m) => m.id)).to.deep.equal([b]);
    // the home panel too: each pooled VPS at the pool's 63.0 %, D at its own 9.8 %
    const home = await mod.web.widget.summary(story.clientId, 'en-GB');
    expect(home!.rows.map((r) => [r.id, r.pct])).to.deep.equal([
      [a, `63.0${NBSP}%`],
      [b, `63.0${NBSP}%`],
      [c, `63.0${NBSP}%`],
      [d, `9.8${NBSP}%`],
    ]);
  });

  it('tells a Dutch client the same in Dutch', async () => {
    await knex('tblclients').where({ id: story.clientId }).update({ language: 'dutch' });
    const s = (await view(a, 'nl-NL')).service!;
    expect(s.usedText).to.equal(
      `Datapool main (3 VPS'en): samen 1.936,00 GiB van 3.072,00 GiB verbruikt (63,0${NBSP}%)`,
    );
    expect(s.pool!.title).to.equal("De VPS'en in de pool");
    expect(s.pool!.members[1]!.text).to.equal(
      `vps3.example.net (VPS 5 TB): 200,00 GiB (10,3${NBSP}% van het verkeer van de pool)`,
    );
  });

  it('shows a VPS outside any pool on its own figures, as before', async () => {
    const s = (await view(d)).service!;
    // 100 GiB of its own 1 TiB = 1 024 GiB, in GiB as sold
    expect(s.usedText).to.equal(`100.00 GiB of 1,024.00 GiB (9.8${NBSP}%)`);
    expect(s.pool).to.equal(null);
    expect(toNum((await knex('mod_overusage_pool_members').count({ n: '*' }).first())!.n)).to.equal(3);
  });
});
