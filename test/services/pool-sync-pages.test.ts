import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { ManualClock } from '../../module/adapters/clocks.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';

/*
 * Pool membership at the scale of a large provider (issue 22): an import linking services in
 * batches records the pool members of the batch it linked, and the evening's member sync goes
 * through the services a page at a time (2 000 by default; 50 here, so a few services show it).
 * Before, every batch of an import re-read every service linked so far, and the evening's sync
 * read all of them at once: at 1 000 000 services, an import of 5 000 at a time read 100 000 000
 * rows, and the sync held 1 000 000 in memory.
 *
 * Products 1 and 2 are pooled ("one", "two"); the tests share one database, in order:
 * 1. 60 services of product 1 (ids 1–60), linked in 2 batches of 30: 30, then 60 open spans;
 *    the second batch reads 30 service rows, not the 60 linked by then.
 * 2. 60 services of product 2 (ids 10 001–10 060) likewise. Product 2 then loses its pool: the
 *    evening's sync goes over the 120 services in pages of 50 + 50 + 20 (no read of more than
 *    50 rows, where it read 120 at once before), closes product 2's 60 spans and leaves product
 *    1's 60 open; a second sync finds nothing to do (0 joined, 0 left).
 */
describeEachEngine(
  'pool members at scale: an import syncs its own batch, the evening sync goes by pages',
  ({ db }) => {
    let knex: Knex;
    let mod: OverusageModule;
    let masterId: number;
    /** the most rows one SELECT on the services table returned while `work` ran */
    const widestServiceRead = async (work: () => Promise<unknown>): Promise<number> => {
      let widest = 0;
      const seen = (res: unknown, q: { sql?: string }) => {
        if (q.sql && /^select .* from [`"]mod_overusage_services[`"]/i.test(q.sql) && Array.isArray(res))
          widest = Math.max(widest, res.length);
      };
      knex.on('query-response', seen);
      try {
        await work();
      } finally {
        knex.removeListener('query-response', seen);
      }
      return widest;
    };
    const openSpans = async (productId: number) =>
      toNum(
        (await knex('mod_overusage_pool_members')
          .where({ product_id: productId })
          .whereNull('left_at')
          .count({ n: '*' })
          .first())!.n,
      );
    const batch = (from: number, productId: number) =>
      Array.from({ length: 30 }, (_, i) => ({
        serviceId: from + i,
        clientId: Math.ceil((from + i) / 3),
        productId,
        masterId,
        serverRef: String(from + i),
        currency: 'EUR',
        regdate: '2026-01-09',
      }));
    const plan = (pool?: string) =>
      ({
        unit: 'GiB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        ...(pool ? { pool } : {}),
      }) as const;

    before(async () => {
      knex = db().knex;
      const fake = new FakeMaster();
      mod = createModule({
        knex,
        clock: new ManualClock('2026-11-10T10:00:00Z'),
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => fake.gateway(),
        metering: { writer: 'inline' },
        pools: { memberPageSize: 50 },
      });
      await mod.migrate();
      masterId = (
        await mod.masters.add(
          {
            name: 'solus',
            version: 1,
            baseUrl: 'https://solus.example.net:5656',
            apiId: 'i',
            apiKey: 'k',
            timeZone: 'Europe/Brussels',
          },
          CLI_ACTOR,
        )
      ).id;
      await mod.billing.setProduct(1, plan('one'), CLI_ACTOR);
      await mod.billing.setProduct(2, plan('two'), CLI_ACTOR);
    });
    after(async () => mod?.close());

    it('links 60 services in 2 batches: each batch records its own 30 members and reads only their rows', async () => {
      await mod.links.linkMany(batch(1, 1), CLI_ACTOR);
      expect(await openSpans(1)).to.equal(30);
      const widest = await widestServiceRead(() => mod.links.linkMany(batch(31, 1), CLI_ACTOR));
      expect(await openSpans(1)).to.equal(60);
      expect(widest).to.equal(30);
    });

    it('closes the 60 spans of a product that lost its pool, reading 50 service rows at most, and then finds nothing left', async () => {
      for (const from of [10_001, 10_031]) await mod.links.linkMany(batch(from, 2), CLI_ACTOR);
      expect(await openSpans(2)).to.equal(60);
      await mod.billing.setProduct(2, plan(), CLI_ACTOR);
      let result: unknown;
      const widest = await widestServiceRead(async () => (result = await mod.pools.syncMembers()));
      expect(result).to.deep.equal({ joined: 0, left: 60 });
      expect(widest).to.equal(50);
      expect([await openSpans(1), await openSpans(2)]).to.deep.equal([60, 0]);
      expect(await mod.pools.syncMembers()).to.deep.equal({ joined: 0, left: 0 });
    });
  },
);
