import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createOpenUsageStore, type OpenUsageStore } from '../../module/adapters/open-usage-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';

const T = '2013-06-02 07:00:00.000';

/**
 * The open periods the threshold notices and the limit policy read. On a master in Brussels:
 * VPS 10 (Ann) in June, 2^53 + 1 bytes used so far (exact past a double's 53 bits), its latest
 * sample online with a SolusVM limit of 5 TB; VPS 11 (Jan) cancelled, its June open; VPS 12 active
 * but never sampled; VPS 13 active with a sample whose state is one the limit policy does not know.
 */
describeEachEngine('open usage store', ({ db }) => {
  let knex: Knex;
  let store: OpenUsageStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createOpenUsageStore(knex);
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
    const service = (id: number, clientId: number, over: Record<string, unknown> = {}) =>
      knex(TABLES.services).insert({
        service_id: id,
        client_id: clientId,
        product_id: 3,
        master_id: 1,
        server_ref: `vm${id}`,
        currency: 'EUR',
        created_at: T,
        updated_at: T,
        ...over,
      });
    const open = (sampleId: number | null) => ({
      last_sample_id: sampleId,
      last_sample_date: '2013-06-02',
      last_sampled_at: T,
      open_period_start: '2013-06-01',
      open_period_end: '2013-06-30',
    });
    await service(10, 1, {
      ...open(70),
      regdate: '2013-06-01',
      open_period_id: 6,
      open_period_used_bytes: '9007199254740993',
    });
    await service(11, 2, { ...open(71), active: false, open_period_id: 7, open_period_used_bytes: '1000' });
    await service(12, 2, { open_period_id: 8, open_period_start: '2013-06-01', open_period_used_bytes: '0' });
    await service(13, 3, {
      ...open(73),
      open_period_id: 9,
      open_period_end: null,
      open_period_used_bytes: '5',
    });
    const sample = (id: number, serviceId: number, state: string, limit: string | null) => ({
      id,
      service_id: serviceId,
      master_id: 1,
      server_ref: `vm${serviceId}`,
      sample_date: '2013-06-02',
      sampled_at: T,
      used_bytes: '1',
      limit_bytes: limit,
      state,
      raw: '{}',
    });
    await knex(TABLES.samples).insert([
      sample(70, 10, 'online', '5000000000000'),
      sample(71, 11, 'suspended', null),
      sample(73, 13, 'rebooting', null),
    ]);
  });

  it('reads an active service’s open period with its bytes exact past 2^53 and its latest sample’s state and limit', async () => {
    const [ann] = await store.activePage(0, 1);
    expect(ann).to.deep.include({
      serviceId: 10,
      clientId: 1,
      productId: 3,
      masterId: 1,
      serverRef: 'vm10',
      currency: 'EUR',
      regdate: '2013-06-01',
      periodId: 6,
      periodStart: '2013-06-01',
      periodEnd: '2013-06-30',
      // 2^53 = 9 007 199 254 740 992; one more is not a double
      usedBytes: 9_007_199_254_740_993n,
      lastSampleDate: '2013-06-02',
      state: 'online',
      solusvmLimitBytes: 5_000_000_000_000n,
    });
    expect(ann!.lastSampledAt!.toISO()).to.equal('2013-06-02T07:00:00.000Z');
  });

  it('pages active services by id after the cursor, leaving out the cancelled and the never sampled', async () => {
    expect((await store.activePage(0, 10)).map((r) => r.serviceId)).to.deep.equal([10, 13]);
    expect((await store.activePage(10, 10)).map((r) => r.serviceId)).to.deep.equal([13]);
    expect(await store.activePage(13, 10)).to.deep.equal([]);
  });

  it('reads given services whether active or not, and a state SolusVM sent that the policy does not know as none', async () => {
    const rows = await store.ofServices([11, 12, 13]);
    expect(rows.map((r) => [r.serviceId, r.state, r.solusvmLimitBytes, r.periodEnd]).sort()).to.deep.equal([
      [11, 'suspended', null, '2013-06-30'],
      [13, null, null, null],
    ]);
    expect(await store.ofServices([])).to.deep.equal([]);
  });
});
