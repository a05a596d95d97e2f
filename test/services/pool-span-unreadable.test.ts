import { expect } from 'chai';
import type { Knex } from 'knex';
import { engineOf } from '../../module/adapters/database.js';
import { toNum } from '../../module/adapters/rows.js';
import { addProduct, addService } from '../../panel/records.js';
import { ZONE } from '../panel/support.js';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { buildPoolWorld, type PoolWorld } from '../support/pool-world.js';
import { spoilDate, spoilInstant } from '../support/spoil.js';

const GiB = 2n ** 30n;
const M = 'mod_overusage_pool_members';

/**
 * Ann's pool "main" of three "VPS 1 TiB" (A, B, C: 3 × 1 024 = 3 072 GiB for November 2026, the
 * product throttles at 100 %), as in test/services/pool-watch.test.ts, and her VPS D on "VPS 1 TiB
 * solo" (no pool, 1 024 GiB of its own). A's span in the pool (its member row) then has its
 * joined_at spoiled by hand (SQLite '2013-06-01 99:99:99', MariaDB's zero date). 25 November: A
 * 1 100, B 1 000, C 1 000 GiB = 3 100 / 3 072 = 100.91 % of the pool (B and C alone: 2 000 / 2 048
 * = 97.66 %); D 1 000 / 1 024 = 97.66 %.
 * Before: every read of the pools' spans threw (the pools' standing read by the notices and by the
 * policy at the limit, the member sync): D got no notice either, and nothing was decided for anyone.
 * Now D gets its 90 % notice; Ann's pool, whose members' hours are not known, gets no notice and no
 * throttle (not the 90 % of B and C without A either: nothing is told or done from part of a
 * pool), the member sync leaves A as it is (no span opened twice), and the row is logged with its table, id and column, never the value.
 */
describeEachEngine('pools when one row they read cannot be read', ({ db }) => {
  let knex: Knex;
  let w: PoolWorld;
  let d: number;
  let solo: number;
  const lines: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    knex = db().knex;
    lines.length = 0;
    w = await buildPoolWorld(knex, {
      start: '2026-11-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-12-09',
      vps: [{ domain: 'vps3.example.net' }, { domain: 'vps4.example.net' }],
      log: logInto(lines),
    });
    const prices = { EUR: { overage: '0.50' } };
    await w.mod.billing.setProduct(
      w.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices,
        pool: 'main',
        limitPolicy: { action: 'throttle', throttleMbps: 10 },
      },
      CLI_ACTOR,
    );
    solo = await addProduct(
      knex,
      { name: 'VPS 1 TiB solo', servertype: 'solusvmpro', tax: false },
      w.f.clock.now(),
      ZONE,
    );
    await w.mod.billing.setProduct(
      solo,
      { unit: 'GB', model: 'per_unit', allowance: '1 TiB', prices },
      CLI_ACTOR,
    );
    d = await addService(
      knex,
      {
        userid: w.story.clientId,
        packageid: solo,
        domain: 'vps5.example.net',
        regdate: '2026-03-01',
        nextduedate: '2026-12-01',
        amount: '19.95',
      },
      w.f.clock.now(),
      ZONE,
    );
    const [b, c] = w.vps as [number, number];
    for (const [serviceId, productId, ref] of [
      [w.story.serviceId, w.story.productId, '101'],
      [b, w.story.productId, '103'],
      [c, w.story.productId, '104'],
      [d, solo, '105'],
    ] as const)
      await w.mod.links.link(
        {
          serviceId,
          clientId: w.story.clientId,
          productId,
          masterId: w.masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: '2026-03-01',
        },
        CLI_ACTOR,
      );
    await w.mod.pools.syncMembers();
  });

  it("tells D its 90 % and leaves Ann's pool as it stands, naming the row", async () => {
    const a = w.story.serviceId;
    const span = toNum((await knex(M).where({ service_id: a }).first('id')).id);
    await spoilInstant(knex, engineOf(knex), M, 'joined_at', { id: span });
    const spans = toNum((await knex(M).count({ n: '*' }).first())!.n);
    expect(spans).to.equal(3);

    expect(await w.mod.pools.syncMembers()).to.deep.equal({ joined: 0, left: 0 });
    expect(toNum((await knex(M).count({ n: '*' }).first())!.n)).to.equal(3);

    w.f.clock.set('2026-11-25T21:50:00Z');
    for (const [ref, gib] of [
      ['101', 1100n],
      ['103', 1000n],
      ['104', 1000n],
      ['105', 1000n],
    ] as const)
      w.fake.set(ref, gib * GiB);
    await w.mod.metering.collect();
    await w.mod.watchUsage({ collected: true });

    const notices = await knex('mod_overusage_notices').where({ kind: 'threshold' }).orderBy('id');
    expect(
      notices.map((n) => [toNum(n.service_id), String(n.notice_key).replace(/^period:\d+:/, '')]),
    ).to.deep.equal([[d, '90']]);
    expect(w.fake.actions).to.deep.equal([]);
    const told = lines.filter((l) => l.event === 'pools.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect(l).to.deep.include({ level: 'warn', table: M, id: span, column: `${M}.joined_at` });
    const text = JSON.stringify(lines);
    for (const hidden of ['99:99:99', '0000-00-00']) expect(text).not.to.include(hidden);
  });

  /**
   * The member sync pages through our services rows. "VPS 1 TiB solo" is put in pool "main" (D is to
   * join it), and C's services row then has its regdate spoiled (SQLite '2013-06-31', MariaDB's zero
   * date). Before: the page read threw, D did not join, and the night's billing stopped there (the
   * pool months not rated). Now D joins (joined 1), C is left as it is (its span still open, none
   * closed: left 0), and C's row is logged with its table, id and column, never the value.
   */
  it("joins the others when one service's row cannot be read: that one is left as it is", async () => {
    const [, c] = w.vps as [number, number];
    await w.mod.billing.setProduct(
      solo,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
      },
      CLI_ACTOR,
    );
    const bad = await spoilDate(knex, engineOf(knex), 'mod_overusage_services', 'regdate', { service_id: c });
    lines.length = 0;
    expect(await w.mod.pools.syncMembers()).to.deep.equal({ joined: 1, left: 0 });
    const open = await knex(M).whereNull('left_at').orderBy('service_id').select('service_id');
    expect(open.map((r) => toNum(r.service_id))).to.deep.equal([w.story.serviceId, ...w.vps, d]);
    const told = lines.filter((l) => l.event === 'pools.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column])).to.deep.equal([
      ['warn', 'mod_overusage_services', c, 'mod_overusage_services.regdate'],
    ]);
    expect(JSON.stringify(lines)).not.to.include(bad);
  });
});
