import { expect } from 'chai';
import type { Knex } from 'knex';
import { isUnreadable, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { buildPoolWorld, type PoolWorld } from '../support/pool-world.js';

const GB = 10n ** 9n;
const CAPS = 'mod_overusage_caps';

/**
 * Two of Ann's pools, each a whole October 2026 (745 hours), €0.50 a GB, both capped by her:
 *  - "main": VPS A (VPS 1 TB, service 1's product), 1 500 GB used of 1 000 GB:
 *    500 GB × €0.50 = €250.00, capped at €100.00 → 10 000 cents;
 *  - "eu": VPS B (VPS 2 TB), 2 600 GB used of 2 000 GB: 600 GB × €0.50 = €300.00, capped at €50.00
 *    → 5 000 cents.
 * B's cap row is edited by hand (its kind a word the module does not write) before the run of
 * 2 November. Before: capAtEnd read the caps and threw, and neither month was rated. Now "main" is
 * rated (10 000 cents), "eu" is skipped with the column named (a cap limits the bill: without
 * knowing which held, €300.00 could be billed against a €50.00 cap), logged once, never the value;
 * mended, the next run rates "eu" at 5 000 cents and not "main" again.
 */
describeEachEngine("pool months when one pool's cap cannot be read", ({ db }) => {
  let knex: Knex;
  let w: PoolWorld;
  let a: number;
  let b: number;
  const lines: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    knex = db().knex;
    lines.length = 0;
    w = await buildPoolWorld(knex, {
      start: '2026-10-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-11-09',
      vps: [
        {
          domain: 'vps4.example.net',
          product: 'VPS 2 TB',
          regdate: '2026-01-09',
          nextduedate: '2026-11-20',
          amount: '29.95',
        },
      ],
      log: logInto(lines),
    });
    a = w.story.serviceId;
    [b] = w.vps as [number];
    const big = w.products['VPS 2 TB']!;
    const prices = { EUR: { overage: '0.50' } };
    const clientCaps = { actions: ['suspend' as const] };
    await w.mod.billing.setProduct(
      w.story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '1 TB', prices, pool: 'main', clientCaps },
      CLI_ACTOR,
    );
    await w.mod.billing.setProduct(
      big,
      { unit: 'GB', model: 'per_unit', allowance: '2 TB', prices, pool: 'eu', clientCaps },
      CLI_ACTOR,
    );
    for (const [serviceId, productId, ref] of [
      [a, w.story.productId, '101'],
      [b, big, '104'],
    ] as const)
      await w.mod.links.link(
        {
          serviceId,
          clientId: w.story.clientId,
          productId,
          masterId: w.masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: '2026-01-09',
        },
        CLI_ACTOR,
      );
    await w.mod.pools.syncMembers();
    const ann = { type: 'client' as const, id: String(w.story.clientId) };
    await w.mod.caps.set(w.story.clientId, a, { kind: 'money', amount: '100.00', action: 'suspend' }, ann);
    await w.mod.caps.set(w.story.clientId, b, { kind: 'money', amount: '50.00', action: 'suspend' }, ann);
    const read = async (at: string, counters: Record<string, bigint>) => {
      w.f.clock.set(at);
      for (const [ref, v] of Object.entries(counters)) w.fake.set(ref, v);
      await w.mod.metering.collect();
    };
    await read('2026-10-01T21:50:00Z', { '101': 100n * GB, '104': 100n * GB });
    await read('2026-10-31T21:50:00Z', { '101': 1500n * GB, '104': 2600n * GB });
    await read('2026-11-01T21:50:00Z', { '101': 10n * GB, '104': 10n * GB });
    w.f.clock.set('2026-11-02T08:00:00Z');
  });

  const months = async () =>
    (await w.mod.pools.poolPeriods(w.story.clientId)).map((m) =>
      isUnreadable(m) ? m : [m.pool, m.start, m.amountMinor],
    );

  it('rates the other pool, skips this one naming the column, and rates it once mended', async () => {
    const bs = await knex(CAPS).where({ service_id: b }).first('id');
    await knex(CAPS).where({ id: bs.id }).update({ kind: 'quark' });
    const out = await w.mod.pools.ratePools();
    expect(out.rated).to.equal(1);
    expect(out.skipped).to.deep.equal([
      {
        clientId: w.story.clientId,
        pool: 'eu',
        start: '2026-10-01',
        reason: `a cap of its pool cannot be read (${CAPS}.kind: not one of money, bytes); not rated`,
      },
    ]);
    expect(await months()).to.deep.equal([['main', '2026-10-01', 10_000n]]);
    const told = lines.filter((l) => l.event === 'pools.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column])).to.deep.equal([
      ['warn', CAPS, toNum(bs.id), `${CAPS}.kind`],
    ]);
    expect(JSON.stringify(lines)).not.to.include('quark');

    await knex(CAPS).where({ id: bs.id }).update({ kind: 'money' });
    expect(await w.mod.pools.ratePools()).to.deep.equal({ rated: 1, skipped: [] });
    expect((await months()).sort()).to.deep.equal([
      ['eu', '2026-10-01', 5_000n],
      ['main', '2026-10-01', 10_000n],
    ]);
  });
});
