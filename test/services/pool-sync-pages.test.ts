import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR } from '../support/module-fixture.js';

/*
 * Pool membership at the scale of a large provider (issue 22): an import linking services in
 * batches records the pool members of the batch it linked, and the evening's member sync goes
 * through the services a page of 2 000 at a time. Before, every batch of an import re-read every
 * service linked so far, and the evening's sync read all of them at once: at 1 000 000 services,
 * an import of 5 000 at a time read 100 000 000 rows, and the sync held 1 000 000 in memory.
 *
 * Products 1 and 2 are pooled ("one", "two"); the tests share one database, in order:
 * 1. 1 200 services of product 1 (ids 1–1 200), linked in 2 batches of 600: 600, then 1 200
 *    open spans; the second batch reads 600 service rows, not the 1 200 linked by then.
 * 2. 1 200 services of product 2 (ids 10 001–11 200) likewise. Product 2 then loses its pool: the
 *    evening's sync goes over the 2 400 services in pages of 2 000 + 400 (no read of more than
 *    2 000 rows, where it read 2 400 at once before), closes product 2's 1 200 spans and leaves
 *    product 1's 1 200 open; a second sync finds nothing to do (0 joined, 0 left).
 */
describeEachEngine('pool members at scale: an import syncs its own batch, the evening sync goes by pages', ({ db }) => {
  let knex: Knex;
  let mod: OverusageModule;
  let masterId: number;
  /** the most rows one SELECT on the services table returned while `work` ran */
  const widestServiceRead = async (work: () => Promise<unknown>): Promise<number> => {
    let widest = 0;
    const seen = (res: unknown, q: { sql?: string }) => {
      if (q.sql && /^select .* from [`"]mod_overusage_services[`"]/i.test(q.sql) && Array.isArray(res)) widest = Math.max(widest, res.length);
    };
    knex.on('query-response', seen);
    try {
      await work();
    } finally {
      knex.removeListener('query-response', seen);
    }
    return widest;
  };
  const openSpans = async (productId: number) => toNum((await knex('mod_overusage_pool_members').where({ product_id: productId }).whereNull('left_at').count({ n: '*' }).first())!.n);
  const batch = (from: number, productId: number) =>
    Array.from({ length: 600 }, (_, i) => ({ serviceId: from + i, clientId: Math.ceil((from + i) / 3), productId, masterId, serverRef: String(from + i), currency: 'EUR', regdate: '2026-01-09' }));
  const plan = (pool?: string) => ({ unit: 'GiB', model: 'per_unit', allowance: '1 TiB', prices: { EUR: { overage: '0.50' } }, ...(pool ? { pool } : {}) }) as const;

  before(async () => {
    knex = db().knex;
    const fake = new FakeMaster();
    mod = (await buildModule(knex, { start: '2026-11-10T10:00:00Z', gatewayFor: () => fake.gateway() })).mod;
    masterId = (await mod.masters.add({ name: 'solus', version: 1, baseUrl: 'https://solus.example.net:5656', apiId: 'i', apiKey: 'k', timeZone: 'Europe/Brussels' }, CLI_ACTOR)).id;
    await mod.billing.setProduct(1, plan('one'), CLI_ACTOR);
    await mod.billing.setProduct(2, plan('two'), CLI_ACTOR);
  });
  after(async () => mod?.close());

  it('links 1 200 services in 2 batches: each batch records its own 600 members and reads only their rows', async () => {
    await mod.links.linkMany(batch(1, 1), CLI_ACTOR);
    expect(await openSpans(1)).to.equal(600);
    const widest = await widestServiceRead(() => mod.links.linkMany(batch(601, 1), CLI_ACTOR));
    expect(await openSpans(1)).to.equal(1200);
    expect(widest).to.equal(600);
  });

  it('closes the 1 200 spans of a product that lost its pool, reading 2 000 service rows at most, and then finds nothing left', async () => {
    for (const from of [10_001, 10_601]) await mod.links.linkMany(batch(from, 2), CLI_ACTOR);
    expect(await openSpans(2)).to.equal(1200);
    await mod.billing.setProduct(2, plan(), CLI_ACTOR);
    let result: unknown;
    const widest = await widestServiceRead(async () => (result = await mod.pools.syncMembers()));
    expect(result).to.deep.equal({ joined: 0, left: 1200 });
    expect(widest).to.equal(2000);
    expect([await openSpans(1), await openSpans(2)]).to.deep.equal([1200, 0]);
    expect(await mod.pools.syncMembers()).to.deep.equal({ joined: 0, left: 0 });
  });
});
