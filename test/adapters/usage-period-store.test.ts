import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { createUsagePeriodStore, type UsagePeriodStore } from '../../module/adapters/usage-period-store.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';

const T = '2013-06-02 07:00:00.000';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as ModuleError,
  );

/**
 * Product 3 on a master in Brussels. VPS 10 (Ann): April and May 2013 closed, June open; May used
 * 2^53 + 1 bytes and was rated €500.00, its latest sample read a SolusVM limit of 5 TB. VPS 11 (Jan):
 * May closed, not rated. VPS 12: cancelled. VPS 20: another product.
 */
describeEachEngine('usage period store', ({ db }) => {
  let knex: Knex;
  let store: UsagePeriodStore;

  const period = (id: number, serviceId: number, start: string, end: string, status = 'closed', over: Record<string, unknown> = {}) => ({
    id,
    service_id: serviceId,
    start_date: start,
    end_date: end,
    status,
    opened_by: 'calendar',
    used_bytes: '0',
    created_at: T,
    ...over,
  });

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createUsagePeriodStore(knex);
    await knex(TABLES.masters).insert({ id: 1, name: 'brussels', version: 2, base_url: 'https://127.0.0.1:1', credentials_enc: 'x', time_zone: 'Europe/Brussels', reset_policy: 'first_of_month', created_at: T, updated_at: T });
    const service = (id: number, clientId: number, over: Record<string, unknown> = {}) =>
      knex(TABLES.services).insert({ service_id: id, client_id: clientId, product_id: 3, master_id: 1, server_ref: `vm${id}`, currency: 'EUR', created_at: T, updated_at: T, ...over });
    await service(10, 1, { regdate: '2013-04-10' });
    await service(11, 2, { currency: 'USD' });
    await service(12, 2, { active: false });
    await service(20, 3, { product_id: 4 });
    await knex(TABLES.samples).insert({ id: 70, service_id: 10, master_id: 1, server_ref: 'vm10', sample_date: '2013-05-31', sampled_at: T, used_bytes: '1', limit_bytes: '5000000000000', state: 'online', raw: '{}' });
    await knex(TABLES.periods).insert([
      period(4, 10, '2013-04-01', '2013-04-30'),
      period(5, 10, '2013-05-01', '2013-05-31', 'closed', { used_bytes: '9007199254740993', last_sample_id: 70 }),
      period(6, 10, '2013-06-01', '2013-06-30', 'open'),
      period(7, 11, '2013-05-01', '2013-05-31'),
      period(8, 12, '2013-05-01', '2013-05-31'),
      period(9, 20, '2013-05-01', '2013-05-31'),
    ]);
    await insertCharge(knex, 4, { period_start: '2013-04-01', period_end: '2013-04-30' });
    await insertCharge(knex, 5);
  });

  it('gives the preview each active service’s latest closed period of the product, by service, bytes exact past 2^53', async () => {
    const rows = await store.lastClosedOfProduct(3, 10);
    expect(rows.map((r) => [r.serviceId, r.periodId])).to.deep.equal([
      [10, 5],
      [11, 7],
    ]);
    expect(rows[0]).to.deep.equal({
      periodId: 5,
      serviceId: 10,
      clientId: 1,
      productId: 3,
      masterId: 1,
      start: '2013-05-01',
      end: '2013-05-31',
      // 2^53 = 9 007 199 254 740 992
      usedBytes: 9_007_199_254_740_993n,
      currency: 'EUR',
      regdate: '2013-04-10',
      solusvmLimitBytes: 5_000_000_000_000n,
      charge: { amountMinor: 50_000n, status: 'unbilled' },
    });
    expect(rows[1]).to.deep.include({ currency: 'USD', regdate: null, solusvmLimitBytes: null, charge: null });
  });

  it('stops the preview at the limit it asks for', async () => {
    expect((await store.lastClosedOfProduct(3, 1)).map((r) => r.serviceId)).to.deep.equal([10]);
  });

  it('refuses a charge status outside the known ones, naming the column', async () => {
    await knex(TABLES.charges).where({ id: 5 }).update({ status: 'paid' });
    try {
      const err = await failure(store.lastClosedOfProduct(3, 10));
      expect(err?.message).to.equal('mod_overusage_charges.status holds "paid", which is not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review');
    } finally {
      await knex(TABLES.charges).where({ id: 5 }).update({ status: 'unbilled' });
    }
  });

  it('finds the rated closed periods sharing a day with imported rates, oldest first', async () => {
    // rates of 30 April – 1 June touch April and May, both rated; June is open
    expect(await store.ratedClosedBetween(10, '2013-04-30', '2013-06-01')).to.deep.equal([4, 5]);
    // 31 May to 2 June: May only
    expect(await store.ratedClosedBetween(10, '2013-05-31', '2013-06-02')).to.deep.equal([5]);
    // Jan's May is closed but never rated
    expect(await store.ratedClosedBetween(11, '2013-05-01', '2013-05-31')).to.deep.equal([]);
  });
});
