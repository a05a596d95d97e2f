import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { buildPoolWorld, type PoolWorld } from '../support/pool-world.js';

const GB = 10n ** 9n;

/**
 * A transfer pool's month ends by the calendar and is rated from its members' daily traffic, so it
 * waits until the day that ended has its samples: PreCronJob waits, and so does a renewal's
 * delivery that finds the month due (it rated it, short of its last day, for good).
 *
 * Ann's pool "main", €0.50 per GB over: A (her first VPS, 1 TB) renewing on 8 November, B (1 TB)
 * renewing on 20 November, both members all October. The panel invoices 7 days ahead, so A's
 * renewal is generated on the morning of 1 November, between PreCronJob and DailyCronJob.
 * Counters (since SolusVM's reset on the 1st): 1 Oct A 100 GB, B 50 GB; 16 Oct A 1 000 GB, B 500 GB;
 * 31 October not read that evening; the collect of 1 November's DailyCronJob reads A 2 000 GB and
 * B 600 GB for 31 October.
 * October by hand: 2 000 + 600 = 2 600 GB against 1 TB + 1 TB = 2 000 GB included: 600 GB over ×
 * €0.50 = €300.00 (30 000 cents). Rated on the morning from 16 October's figures: 1 000 + 500 =
 * 1 500 GB, within the 2 000 GB: nothing, and October rated.
 */
describeEachEngine('a pool month whose last day misses samples on the invoice run', ({ db }) => {
  let knex: Knex;
  let w: PoolWorld;
  let logged: Array<Record<string, unknown>>;

  beforeEach(async () => {
    knex = db().knex;
    logged = [];
    w = await buildPoolWorld(knex, {
      start: '2026-10-01T08:00:00Z',
      settings: { CreateInvoiceDaysBefore: '7' },
      regdate: '2026-01-08',
      nextduedate: '2026-11-08',
      vps: [{ domain: 'vps3.example.net', nextduedate: '2026-11-20' }],
      log: logInto(logged),
    });
    const { mod, story, masterId } = w;
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
      },
      CLI_ACTOR,
    );
    for (const [serviceId, serverRef, regdate] of [
      [story.serviceId, '101', '2026-01-08'],
      [w.vps[0]!, '103', '2026-03-01'],
    ] as const) {
      await mod.links.link(
        {
          serviceId,
          clientId: story.clientId,
          productId: story.productId,
          masterId,
          serverRef,
          currency: 'EUR',
          regdate,
        },
        CLI_ACTOR,
      );
    }
    await mod.pools.syncMembers();
    for (const [at, a, b] of [
      ['2026-10-01T21:50:00Z', 100n, 50n],
      ['2026-10-16T21:50:00Z', 1000n, 500n],
    ] as const) {
      w.f.clock.set(at);
      w.fake.set('101', a * GB);
      w.fake.set('103', b * GB);
      await mod.metering.collect();
    }
    // what the morning's collect reads for 31 October
    w.fake.set('101', 2000n * GB);
    w.fake.set('103', 600n * GB);
  });

  it("A's renewal goes without the pool line; DailyCronJob's collect reads 31 October and October is €300.00, unbilled", async () => {
    w.f.clock.set('2026-11-01T08:00:00Z');
    await w.f.panel.runDailyAutomation('2026-11-01');

    const row = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: w.story.serviceId })
      .orderBy('id', 'desc')
      .first('invoiceid');
    const renewal = await w.f.panel.api.getInvoice(toNum(row.invoiceid));
    expect(renewal.dueDate?.slice(0, 10)).to.equal('2026-11-08');
    expect(renewal.items.filter((i) => i.description.startsWith('Bandwidth overusage'))).to.deep.equal([]);
    // PreCronJob waited, and so did the delivery
    expect(logged.find((l) => l.event === 'hook.pre_cron.rated')).to.deep.include({
      pools: 0,
      poolsWait: true,
    });
    expect(logged.find((l) => l.event === 'lines.pool_month_waits')).to.deep.include({
      invoiceId: renewal.invoiceId,
      via: 'hook',
    });
    // October rated after the collect, with its last day: one pool charge of €300.00 on A, unbilled
    const pool = await knex('mod_overusage_charges').where({ kind: 'pool' });
    expect(
      pool.map((c) => [toNum(c.service_id), c.status, toBig(c.amount_minor), toBig(c.over_bytes)]),
    ).to.deep.equal([[w.story.serviceId, 'unbilled', 30000n, 600n * GB]]);
  });
});
