import { expect } from 'chai';
import type { Knex } from 'knex';
import { engineOf } from '../../module/adapters/database.js';
import { isUnreadable, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { buildPoolWorld, type PoolWorld } from '../support/pool-world.js';
import { spoilDate } from '../support/spoil.js';

const GB = 10n ** 9n;
const PP = 'mod_overusage_pool_periods';

/**
 * Two clients' pools "main" on "VPS 1 TB" (1 000 GB each, €0.50 a GB over), each a whole month:
 * Ann's of her VPS A (101), Jan's of his VPS (102). October 2026: A 1 500 GB → 500 GB × €0.50 =
 * €250.00 (25 000 cents); Jan 1 200 GB → 200 GB × €0.50 = €100.00 (10 000 cents). November: A
 * 1 300 GB → €150.00 (15 000 cents); Jan 1 100 GB → €50.00 (5 000 cents).
 */
describeEachEngine("pool months when one client's pool row cannot be read", ({ db }) => {
  let knex: Knex;
  let w: PoolWorld;
  const lines: Array<Record<string, unknown>> = [];
  const read = async (at: string, a: bigint, jan: bigint) => {
    w.f.clock.set(at);
    w.fake.set('101', a * GB);
    w.fake.set('102', jan * GB);
    await w.mod.metering.collect();
  };

  beforeEach(async () => {
    knex = db().knex;
    lines.length = 0;
    w = await buildPoolWorld(knex, {
      start: '2026-10-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-11-09',
      vps: [],
      log: logInto(lines),
    });
    await w.mod.billing.setProduct(
      w.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
      },
      CLI_ACTOR,
    );
    for (const [serviceId, clientId, ref] of [
      [w.story.serviceId, w.story.clientId, '101'],
      [w.story.dutchServiceId, w.story.dutchClientId, '102'],
    ] as const)
      await w.mod.links.link(
        {
          serviceId,
          clientId,
          productId: w.story.productId,
          masterId: w.masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: '2026-01-09',
        },
        CLI_ACTOR,
      );
    await w.mod.pools.syncMembers();
    await read('2026-10-01T21:50:00Z', 100n, 100n);
    await read('2026-10-31T21:50:00Z', 1500n, 1200n);
    await read('2026-11-01T21:50:00Z', 10n, 10n);
    w.f.clock.set('2026-11-02T08:00:00Z');
  });

  const months = async (clientId: number) =>
    (await w.mod.pools.poolPeriods(clientId)).map((m) => (isUnreadable(m) ? m : [m.start, m.amountMinor]));

  it("rates Jan's November when Ann's rated October cannot be read, and leaves Ann's pool as it stands", async () => {
    expect(await w.mod.pools.ratePools()).to.deep.equal({ rated: 2, skipped: [] });
    expect(await months(w.story.clientId)).to.deep.equal([['2026-10-01', 25_000n]]);
    expect(await months(w.story.dutchClientId)).to.deep.equal([['2026-10-01', 10_000n]]);
    const annOct = toNum((await knex(PP).where({ client_id: w.story.clientId }).first('id')).id);
    const bad = await spoilDate(knex, engineOf(knex), PP, 'start_date', { id: annOct });
    await read('2026-11-30T21:50:00Z', 1300n, 1100n);
    await read('2026-12-01T21:50:00Z', 10n, 10n);
    w.f.clock.set('2026-12-02T08:00:00Z');
    lines.length = 0;

    // Before: reading which months were rated threw, and no pool month was rated. Ann's are left:
    // which of her months are billed is not known, and rating October again would bill it twice
    expect(await w.mod.pools.ratePools()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await months(w.story.dutchClientId)).to.deep.equal([
      ['2026-11-01', 5_000n],
      ['2026-10-01', 10_000n],
    ]);
    expect(
      toNum((await knex(PP).where({ client_id: w.story.clientId }).count({ n: '*' }).first())!.n),
    ).to.equal(1);
    const told = lines.filter((l) => l.event === 'pools.row_unreadable');
    // named each time the rated months are read (twice a run), never with the value
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect([l.level, l.table, l.id, l.column, l.reason]).to.deep.equal([
        'warn',
        PP,
        annOct,
        `${PP}.start_date`,
        'not a date',
      ]);
    expect(JSON.stringify(lines)).not.to.include(bad);

    // corrected: Ann's November, €150.00, and her October not again
    await knex(PP).where({ id: annOct }).update({ start_date: '2026-10-01' });
    expect(await w.mod.pools.ratePools()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await months(w.story.clientId)).to.deep.equal([
      ['2026-11-01', 15_000n],
      ['2026-10-01', 25_000n],
    ]);
  });

  it("rates Jan's October when a day of Ann's traffic cannot be read (SQLite keeps text in its bytes), naming it", async function () {
    if (engineOf(knex) !== 'sqlite') this.skip();
    const day = await knex('mod_overusage_intervals')
      .where({ service_id: w.story.serviceId, to_date: '2026-10-31' })
      .first('id');
    await knex('mod_overusage_intervals').where({ id: day.id }).update({ bytes: 'lots' });
    const out = await w.mod.pools.ratePools();
    expect(out).to.deep.equal({
      rated: 1,
      skipped: [
        {
          clientId: w.story.clientId,
          pool: 'main',
          start: '2026-10-01',
          reason:
            'a row of its members cannot be read (mod_overusage_intervals.bytes: not an integer); not rated',
        },
      ],
    });
    expect(await months(w.story.dutchClientId)).to.deep.equal([['2026-10-01', 10_000n]]);
    expect(await months(w.story.clientId)).to.deep.equal([]);
    const told = lines.filter((l) => l.event === 'pools.row_unreadable');
    expect(told.map((l) => [l.level, l.clientId, l.column, l.reason])).to.deep.equal([
      ['warn', w.story.clientId, 'mod_overusage_intervals.bytes', 'not an integer'],
    ]);
    expect(JSON.stringify(lines)).not.to.include('lots');
  });
});
