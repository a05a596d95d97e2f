import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createCapStore, type CapStore, type NewCap } from '../../module/adapters/cap-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const T = '2013-05-01 00:00:00.000';
const AT = DateTime.fromISO('2013-05-10T08:30:00.000Z', { zone: 'utc' });
// 2^53 + 1 bytes: a Number would read 9 007 199 254 740 992
const PAST_2_53 = 9_007_199_254_740_993n;

const money = (serviceId: number, amount = 2_500n): NewCap => ({
  clientId: 1,
  serviceId,
  kind: 'money',
  amount,
  currency: 'EUR',
  action: 'throttle',
  throttleMbps: 10,
});

/**
 * Ann (client 1) has VPS 10 and 12 in her pool "eu" now, VPS 11 left it; VPS 13 is hers alone. Jan
 * (client 2) has VPS 20 in a pool also named "eu": another client's pool, never Ann's.
 */
describeEachEngine('cap store', ({ db }) => {
  let knex: Knex;
  let store: CapStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createCapStore(knex);
    await knex(TABLES.masters).insert({
      id: 1,
      name: 'brussels',
      version: 2,
      base_url: 'https://127.0.0.1:1',
      credentials_enc: 'x',
      time_zone: 'Europe/Brussels',
      reset_policy: 'first_of_month',
      created_at: T,
      updated_at: T,
    });
    await knex(TABLES.services).insert({
      service_id: 10,
      client_id: 1,
      product_id: 3,
      master_id: 1,
      server_ref: 'vm10',
      currency: 'EUR',
      created_at: T,
      updated_at: T,
    });
    const span = (serviceId: number, clientId: number, leftAt: string | null = null) => ({
      client_id: clientId,
      pool_key: 'eu',
      service_id: serviceId,
      product_id: 3,
      joined_at: T,
      left_at: leftAt,
      created_at: T,
    });
    await knex(TABLES.poolMembers).insert([
      span(12, 1),
      span(10, 1),
      span(11, 1, '2013-05-05 12:00:00.000'),
      span(20, 2),
    ]);
  });
  beforeEach(async () => {
    await knex(TABLES.caps).delete();
  });

  it('gives a pooled service the members its pool has now, sorted, and any other service itself', async () => {
    expect([...(await store.mates(knex, [12, 13, 20, 11]))]).to.deep.equal([
      [12, [10, 12]],
      [13, [13]],
      [20, [20]],
      [11, [11]],
    ]);
    expect((await store.mates(knex, [])).size).to.equal(0);
  });

  it("reads a service's client, product and currency, and nothing for a service not linked", async () => {
    expect(await store.service(10)).to.deep.equal({ clientId: 1, productId: 3, currency: 'EUR' });
    expect(await store.service(99)).to.equal(null);
  });

  it('stores a cap of bytes past 2^53 exactly, active from the moment it was set', async () => {
    const bytes: NewCap = {
      ...money(13),
      kind: 'bytes',
      amount: PAST_2_53,
      currency: null,
      action: 'suspend',
      throttleMbps: null,
    };
    const c = await store.insert(knex, bytes, AT);
    expect(c).to.deep.include({
      clientId: 1,
      serviceId: 13,
      kind: 'bytes',
      amount: PAST_2_53,
      currency: null,
      action: 'suspend',
      throttleMbps: null,
      status: 'active',
      liftedAt: null,
    });
    expect(c.setAt.toISO()).to.equal('2013-05-10T08:30:00.000Z');
  });

  it('reads active caps oldest first, lifts by id or by service, and keeps the lifted ones in the history', async () => {
    // 1: €25.00 on 10, 2: €30.00 on 12, 3: €40.00 on 13
    const a = await store.insert(knex, money(10), AT);
    const b = await store.insert(knex, money(12, 3_000n), AT.plus({ hours: 1 }));
    const c = await store.insert(knex, money(13, 4_000n), AT.plus({ hours: 2 }));
    expect((await store.activeOf(knex, [13, 12, 10])).map((x) => [x.id, x.amount])).to.deep.equal([
      [a.id, 2_500n],
      [b.id, 3_000n],
      [c.id, 4_000n],
    ]);
    await knex.transaction(async (trx) => {
      const locked = await store.activeOf(trx, [10, 12], { lock: true });
      expect(
        await store.lift(
          trx,
          locked.map((x) => x.id),
          AT.plus({ days: 1 }),
        ),
      ).to.equal(2);
    });
    expect(await store.liftActiveOf(knex, [10, 12], AT.plus({ days: 2 }))).to.equal(0);
    expect(await store.liftActiveOf(knex, [13], AT.plus({ days: 2 }))).to.equal(1);
    const history = await store.history([10, 12, 13]);
    expect(history.map((x) => [x.id, x.status, x.liftedAt?.toISO()])).to.deep.equal([
      [a.id, 'lifted', '2013-05-11T08:30:00.000Z'],
      [b.id, 'lifted', '2013-05-11T08:30:00.000Z'],
      [c.id, 'lifted', '2013-05-12T08:30:00.000Z'],
    ]);
    expect((await store.newest(2)).map((x) => x.id)).to.deep.equal([c.id, b.id]);
    expect(await store.history([])).to.deep.equal([]);
  });

  it('refuses a stored kind that is neither money nor bytes, naming its column', async () => {
    await store.insert(knex, money(10), AT);
    await knex(TABLES.caps).update({ kind: 'gold' });
    const err = await store.history([10]).then(
      () => null,
      (e: unknown) => e as ModuleError,
    );
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_caps.kind holds "gold", which is not one of money, bytes',
    ]);
  });
});
