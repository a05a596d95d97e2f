import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import { capSection } from '../../module/web/cap-section.js';
import { addProduct, addService } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';
import { buildPoolWorld } from '../support/pool-world.js';
import type { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { ZONE, type PanelFixture, type Story } from '../panel/support.js';

const GiB = 2n ** 30n;

/*
 * Threshold notices and the policy at the limit work on a pool's shared allowance, not on each
 * VPS's own (issue 21). Ann has three VPSs of "VPS 1 TiB" (1 TiB = 1 099 511 627 776 B each) in pool
 * "main", all three for the whole of November 2026 (720 hours, no clock change), so the pool has
 * 3 × 1 099 511 627 776 = 3 298 534 883 328 B (3 072 GiB). Thresholds 80/90/100 %; at 100 % the
 * product throttles to 10 Mbit/s (SolusVM 1).
 *
 * Counters (GiB since the reset on the 1st), read at 21:50Z:
 *   10 Nov: A 1 536, B 200, C 200 → pool 1 936 GiB = 1 936/3 072 = 63.02 %: nothing. (A alone is at
 *           150 % of its own 1 TiB: before pools were watched, A got the 100 % notice and a throttle.)
 *   20 Nov: A 2 000, B 300, C 300 → 2 600/3 072 = 84.64 %: one 80 % notice for the pool, on A (the
 *           anchor: 720 hours each, lowest id), no throttle.
 *   25 Nov: A 2 100, B 500, C 500 → 3 100/3 072 = 100.91 %: one 100 % notice (90 % is covered by
 *           it), and all three VPSs throttled: the pool is used up, whichever VPS used it.
 *    2 Dec: reset; A 1, B 1, C 1 → a new pool month: the three throttles lifted (next_period).
 */
describeEachEngine('transfer pools: threshold notices and the limit policy on the pool', ({ db }) => {
  let knex: Knex;
  let f: PanelFixture;
  let story: Story;
  let mod: OverusageModule;
  let fake: FakeMaster;
  let a: number;
  let b: number;
  let c: number;

  beforeEach(async () => {
    knex = db().knex;
    const w = await buildPoolWorld(knex, {
      start: '2026-11-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-12-09',
      vps: [{ domain: 'vps3.example.net' }, { domain: 'vps4.example.net' }],
    });
    ({ f, story, mod, fake } = w);
    const masterId = w.masterId;
    a = story.serviceId;
    [b, c] = w.vps as [number, number];
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
        limitPolicy: { action: 'throttle', throttleMbps: 10 },
      },
      CLI_ACTOR,
    );
    for (const [id, ref] of [
      [a, '101'],
      [b, '103'],
      [c, '104'],
    ] as const) {
      await mod.links.link(
        {
          serviceId: id,
          clientId: story.clientId,
          productId: story.productId,
          masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: id === a ? '2026-01-09' : '2026-03-01',
        },
        CLI_ACTOR,
      );
    }
    await mod.pools.syncMembers();
  });

  async function evening(date: string, gib: { a: bigint; b: bigint; c: bigint }): Promise<void> {
    f.clock.set(`${date}T21:50:00Z`);
    fake.set('101', gib.a * GiB);
    fake.set('103', gib.b * GiB);
    fake.set('104', gib.c * GiB);
    await mod.metering.collect();
    await mod.watchUsage({ collected: true });
  }
  const subjects = async () =>
    (await knex('tblemails').where({ userid: story.clientId }).orderBy('id')).map((e) => String(e.subject));
  const notices = async () =>
    (await knex('mod_overusage_notices').where({ kind: 'threshold' }).orderBy('id')).map((n) => [
      toNum(n.service_id),
      String(n.notice_key),
      String(n.status),
    ]);

  describe('November 2026, evening by evening (the figures in the comment above)', () => {
    const days: [string, { a: bigint; b: bigint; c: bigint }][] = [
      ['2026-11-10', { a: 1536n, b: 200n, c: 200n }],
      ['2026-11-20', { a: 2000n, b: 300n, c: 300n }],
      ['2026-11-25', { a: 2100n, b: 500n, c: 500n }],
    ];
    /** the evenings of November up to and including `date` */
    async function upTo(date: string): Promise<void> {
      for (const [day, gib] of days) if (day <= date) await evening(day, gib);
    }

    it('10 Nov, 63.02 %: tells nobody and throttles nothing, although A alone used 150 % of its own', async () => {
      await upTo('2026-11-10');
      const standing = (await mod.pools.standing()).get(b)!;
      expect([
        standing.allowanceBytes,
        standing.usedBytes,
        standing.anchorServiceId,
        standing.memberIds,
      ]).to.deep.equal([3_298_534_883_328n, 1936n * GiB, a, [a, b, c]]);
      // 63 %: nobody is told anything and nothing is throttled, although A alone used 150 % of its own
      expect(await notices()).to.deep.equal([]);
      expect(await subjects()).to.deep.equal([]);
      expect(fake.actions).to.deep.equal([]);
    });

    it('20 Nov, 84.64 %: one 80 % notice for the pool, on the anchor A, in GB with 2 decimals; no throttle', async () => {
      await upTo('2026-11-20');
      expect(await notices()).to.deep.equal([[a, 'pool:main:2026-11-01:80', 'sent']]);
      expect(await subjects()).to.deep.equal([
        'Transfer pool main (3 VPSs): 80% of your traffic allowance used',
      ]);
      const first = await knex('tblemails').where({ userid: story.clientId }).first('message');
      // in the unit sold (GB), 2 decimals: 2 600 GiB = 2 791 728 742 400 B = 2 791.7287… GB → "2,791.73 GB";
      // 3 072 GiB = 3 298 534 883 328 B = 3 298.5348… GB → "3,298.53 GB"; 84.64 % → "84.6%"
      expect(String(first.message)).to.include(
        'Your VPSs in transfer pool main (vps1.example.net, vps3.example.net and vps4.example.net) have together used 2,791.73 GB of the 3,298.53 GB of traffic they share for 1 – 30 November 2026 (84.6%)',
      );
      expect(fake.actions).to.deep.equal([]);
    });

    it('25 Nov, 100.91 %: one 100 % notice, and all three VPSs throttled to 10 Mbit/s', async () => {
      await upTo('2026-11-25');
      expect(await notices()).to.deep.equal([
        [a, 'pool:main:2026-11-01:80', 'sent'],
        [a, 'pool:main:2026-11-01:100', 'sent'],
      ]);
      expect((await subjects())[1]).to.equal(
        'Transfer pool main (3 VPSs): your traffic allowance is used up',
      );
      expect(fake.actions).to.deep.equal([
        'setSpeed 101 {"version":1,"customnspeed":10}',
        'setSpeed 103 {"version":1,"customnspeed":10}',
        'setSpeed 104 {"version":1,"customnspeed":10}',
      ]);
    });

    it("25 Nov: each throttle records the pool's month, its 3 100 GiB used and its 3 072 GiB allowance", async () => {
      await upTo('2026-11-25');
      const rows = await knex('mod_overusage_limit_actions').orderBy('service_id');
      // each action records the pool's month (−202611), the pool's use (3 100 GiB) and allowance
      expect(
        rows.map((r) => [
          toNum(r.service_id),
          toNum(r.period_id),
          toBig(r.used_bytes),
          toBig(r.allowance_bytes),
          String(r.status),
        ]),
      ).to.deep.equal([a, b, c].map((id) => [id, -202611, 3100n * GiB, 3_298_534_883_328n, 'applied']));
    });

    it("25 Nov: B's banner shows the pool's notice, not one of its own (B alone is at 48.8 %)", async () => {
      await upTo('2026-11-25');
      // B's banner shows the pool's notice, not one of its own (B alone is at 500 GiB, 48.8 %)
      const banner = await mod.thresholds!.bannerFor(b);
      expect(banner).to.deep.include({
        pct: 100,
        usedBytes: 3100n * GiB,
        allowanceBytes: 3_298_534_883_328n,
        percentUsed: '100.9',
        periodId: -202611,
      });
      expect(banner!.pool).to.deep.equal({ name: 'main', serviceIds: [a, b, c] });
      expect(banner!.limitAction).to.deep.include({ action: 'throttle', status: 'applied' });
    });

    it('lifts the three throttles when the counters reset for December, with no new notice', async () => {
      await upTo('2026-11-25');
      // December: a new pool month; the counters reset on the 1st
      await evening('2026-12-01', { a: 1n, b: 1n, c: 1n });
      await evening('2026-12-02', { a: 2n, b: 2n, c: 2n });
      expect(fake.actions.slice(3).sort()).to.deep.equal([
        'setSpeed 101 {"version":1,"customnspeed":0}',
        'setSpeed 103 {"version":1,"customnspeed":0}',
        'setSpeed 104 {"version":1,"customnspeed":0}',
      ]);
      expect(
        (await knex('mod_overusage_limit_actions').orderBy('service_id')).map((r) => [
          String(r.status),
          r.lift_reason,
        ]),
      ).to.deep.equal([
        ['lifted', 'next_period'],
        ['lifted', 'next_period'],
        ['lifted', 'next_period'],
      ]);
      expect(await notices()).to.have.length(2);
    });
  });

  it('tells a Dutch client in Dutch, one notice for the pool, and a VPS of a product outside the pool on its own', async () => {
    // D: "VPS 1 TiB solo", same allowance and prices, no pool; 1 000 GiB of its own 1 024 = 97.66 % → its own 90 % notice
    const solo = await addProduct(
      knex,
      { name: 'VPS 1 TiB solo', servertype: 'solusvmpro', tax: false },
      f.clock.now(),
      ZONE,
    );
    await mod.billing.setProduct(
      solo,
      { unit: 'GB', model: 'per_unit', allowance: '1 TiB', prices: { EUR: { overage: '0.50' } } },
      CLI_ACTOR,
    );
    const d = await addService(
      knex,
      {
        userid: story.clientId,
        packageid: solo,
        domain: 'vps5.example.net',
        regdate: '2026-03-01',
        nextduedate: '2026-12-01',
        amount: '19.95',
      },
      f.clock.now(),
      ZONE,
    );
    await mod.links.link(
      {
        serviceId: d,
        clientId: story.clientId,
        productId: solo,
        masterId: toNum((await knex('mod_overusage_masters').first('id')).id),
        serverRef: '105',
        currency: 'EUR',
        regdate: '2026-03-01',
      },
      CLI_ACTOR,
    );
    await mod.pools.syncMembers();
    await knex('tblclients').where({ id: story.clientId }).update({ language: 'dutch' });
    fake.set('105', 1000n * GiB);
    await evening('2026-11-20', { a: 2000n, b: 300n, c: 300n });
    expect((await subjects()).sort()).to.deep.equal([
      "Datapool main (3 VPS'en): 80% van uw dataverkeer verbruikt",
      'vps5.example.net: 90% van uw dataverkeer verbruikt',
    ]);
    const mail = await knex('tblemails')
      .where({ userid: story.clientId })
      .andWhere('subject', 'like', 'Datapool%')
      .first('message');
    expect(String(mail.message)).to.include(
      'Uw VPS&#39;en in datapool main (vps1.example.net, vps3.example.net en vps4.example.net) hebben samen',
    );
    // D is no member: the pool is still A, B and C with 2 600 GiB
    const standing = await mod.pools.standing();
    expect(standing.has(d)).to.equal(false);
    expect([standing.get(a)!.memberIds, standing.get(a)!.usedBytes]).to.deep.equal([[a, b, c], 2600n * GiB]);
    expect(await notices()).to.deep.equal([
      [
        d,
        `period:${toNum((await knex('mod_overusage_services').where({ service_id: d }).first('open_period_id')).open_period_id)}:90`,
        'sent',
      ],
      [a, 'pool:main:2026-11-01:80', 'sent'],
    ]);
  });

  /*
   * A cap on the pool (issue 21): the product bills (no policy at 100 %) and lets the client choose a
   * cap. Set on any member, it is the pool's: it replaces a cap set on another member and covers all.
   * €25.00 at €0.50 per GB pays for 50 GB = 50 000 000 000 B over the pool's 3 298 534 883 328 B
   * (no tolerance): the policy acts at 3 348 534 883 328 B.
   *   20 Nov: 3 100 GiB = 3 328 599 654 400 B: over the allowance, under the cap's limit: nothing.
   *   25 Nov: A 2 120 → 3 120 GiB = 3 350 074 490 880 B ≥ 3 348 534 883 328: all three throttled.
   *   30 Nov: A 2 300 → 3 300 GiB; over 228 GiB = 244 813 135 872 B × €0.50/GB = €122.406… → €122.41,
   *           billed €25.00 with the cap in force at the month's end.
   */
  async function cappedPool(): Promise<void> {
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
        clientCaps: { actions: ['throttle', 'suspend'], throttleMbps: 10 },
      },
      CLI_ACTOR,
    );
    const ann = { type: 'client' as const, id: String(story.clientId) };
    f.clock.set('2026-11-01T10:00:00Z');
    await mod.caps.set(story.clientId, a, { kind: 'bytes', amount: '100 GB', action: 'suspend' }, ann);
    f.clock.set('2026-11-02T10:00:00Z');
    await mod.caps.set(story.clientId, b, { kind: 'money', amount: '25.00', action: 'throttle' }, ann);
    // one cap for the pool: B's replaced A's, and every member reads it
    expect(
      (await knex('mod_overusage_caps').orderBy('id')).map((r) => [toNum(r.service_id), String(r.status)]),
    ).to.deep.equal([
      [a, 'lifted'],
      [b, 'active'],
    ]);
    for (const id of [a, b, c])
      expect(await mod.caps.get(id)).to.deep.include({
        serviceId: b,
        kind: 'money',
        amount: 2500n,
        action: 'throttle',
      });
    // the widget of any member says so
    expect((await capSection(knex, mod.caps, c, 'en-GB'))!.pool).to.equal(
      'Your 3 servers share one traffic pool: a cap set here covers all of them, and all of them are slowed down or suspended when it is reached.',
    );
    expect((await capSection(knex, mod.caps, a, 'nl-NL'))!.current).to.equal(
      'Uw plafond: €\u00a025,00 aan overschrijding per maand. Wanneer het bereikt is, wordt uw server vertraagd tot de volgende periode begint, en betaalt u nooit meer dan het plafond.',
    );
    await evening('2026-11-20', { a: 2100n, b: 500n, c: 500n });
    expect(fake.actions).to.deep.equal([]);
    await evening('2026-11-25', { a: 2120n, b: 500n, c: 500n });
    expect(fake.actions).to.deep.equal([
      'setSpeed 101 {"version":1,"customnspeed":10}',
      'setSpeed 103 {"version":1,"customnspeed":10}',
      'setSpeed 104 {"version":1,"customnspeed":10}',
    ]);
    const rows = await knex('mod_overusage_limit_actions').orderBy('service_id');
    expect(
      rows.map((r) => [toNum(r.service_id), toNum(r.period_id), toBig(r.allowance_bytes)]),
    ).to.deep.equal([a, b, c].map((id) => [id, -202611, 3_348_534_883_328n]));
  }

  const ratedNovember = async () => {
    f.clock.set('2026-12-02T07:00:00Z');
    await mod.pools.ratePools();
    const [p] = readable(await mod.pools.poolPeriods(story.clientId));
    const charge = await knex('mod_overusage_charges')
      .where({ kind: 'pool' })
      .first('amount_minor', 'service_id');
    return [p!.overBytes, p!.amountMinor, toBig(charge.amount_minor), toNum(charge.service_id)];
  };

  it('holds the pool to a cap set on one member: throttles all three past it, and bills November at most the cap', async () => {
    await cappedPool();
    await evening('2026-11-30', { a: 2300n, b: 500n, c: 500n });
    expect(await ratedNovember()).to.deep.equal([244_813_135_872n, 2500n, 2500n, a]);
  });

  it("lifts the pool's cap from another member at once: every throttle put back, and November billed in full", async () => {
    await cappedPool();
    f.clock.set('2026-11-26T08:00:00Z');
    expect(await mod.caps.lift(story.clientId, c, { type: 'client', id: String(story.clientId) })).to.equal(
      true,
    );
    await mod.limits.run({ decide: true });
    expect(fake.actions.slice(3)).to.deep.equal([
      'setSpeed 101 {"version":1,"customnspeed":0}',
      'setSpeed 103 {"version":1,"customnspeed":0}',
      'setSpeed 104 {"version":1,"customnspeed":0}',
    ]);
    expect(
      (await knex('mod_overusage_limit_actions').orderBy('service_id')).map((r) => [
        String(r.status),
        r.lift_reason,
      ]),
    ).to.deep.equal([
      ['lifted', 'policy_changed'],
      ['lifted', 'policy_changed'],
      ['lifted', 'policy_changed'],
    ]);
    expect(await knex('mod_overusage_caps').where({ status: 'active' })).to.deep.equal([]);
    await evening('2026-11-30', { a: 2300n, b: 500n, c: 500n });
    expect(await ratedNovember()).to.deep.equal([244_813_135_872n, 12241n, 12241n, a]);
  });
});
