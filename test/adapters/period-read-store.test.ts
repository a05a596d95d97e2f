import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createPeriodReadStore, type PeriodReadStore } from '../../module/adapters/period-read-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';

const T = '2013-06-02 07:00:00.000';

/**
 * What the widget and the API read of a service's metering, read back as written. Ann's VPS 10 on a
 * master in Brussels: May 2013 closed (6 TB used, rated €500.00 in GB), June open (1.5 TB so far,
 * last read on 2 June, whose sample saw a SolusVM limit of 5 TB); Jan's VPS 11 is another client's.
 */
describeEachEngine('period read store', ({ db }) => {
  let knex: Knex;
  let store: PeriodReadStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createPeriodReadStore(knex);
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
    const service = (id: number, clientId: number) =>
      knex(TABLES.services).insert({
        service_id: id,
        client_id: clientId,
        product_id: 3,
        master_id: 1,
        server_ref: `vm${id}`,
        created_at: T,
        updated_at: T,
      });
    await service(10, 1);
    await service(11, 2);
    await knex(TABLES.samples).insert({
      id: 70,
      service_id: 10,
      master_id: 1,
      server_ref: 'vm10',
      sample_date: '2013-06-02',
      sampled_at: T,
      used_bytes: '1500000000000',
      limit_bytes: '5000000000000',
      state: 'ok',
      raw: '{}',
    });
    await knex(TABLES.periods).insert([
      {
        id: 5,
        service_id: 10,
        start_date: '2013-05-01',
        end_date: '2013-05-31',
        status: 'closed',
        opened_by: 'reset',
        closed_by: 'reset',
        used_bytes: '6000000000000',
        created_at: T,
      },
      {
        id: 6,
        service_id: 10,
        start_date: '2013-06-01',
        end_date: '2013-06-30',
        status: 'open',
        opened_by: 'reset',
        used_bytes: '1500000000000',
        created_at: T,
      },
    ]);
    await knex(TABLES.services).where({ service_id: 10 }).update({
      currency: 'EUR',
      last_sample_id: 70,
      last_sample_date: '2013-06-02',
      last_sampled_at: T,
      open_period_id: 6,
      open_period_start: '2013-06-01',
      open_period_end: '2013-06-30',
      open_period_used_bytes: '1500000000000',
    });
    await insertCharge(knex, 1, { period_id: 5, explanation: '{"rated":{"unit":"GB"}}', status: 'billed' });
    await knex(TABLES.intervals).insert([
      {
        service_id: 10,
        period_id: 6,
        to_sample_id: 70,
        kind: 'normal',
        from_date: '2013-06-01',
        to_date: '2013-06-02',
        bytes: '1500000000000',
        estimated: true,
      },
      {
        service_id: 10,
        period_id: 6,
        to_sample_id: 71,
        kind: 'drop',
        from_date: '2013-06-02',
        to_date: '2013-06-02',
        bytes: '0',
        estimated: false,
      },
    ]);
    await knex(TABLES.anomalies).insert({
      service_id: 10,
      period_id: 6,
      kind: 'mid_period_drop',
      sample_id: 71,
      seen_on: '2013-06-02',
      details: '{"fromBytes":"1500000000000","toBytes":"0"}',
      status: 'open',
      created_at: T,
    });
  });

  it("reads a service with its open period, and only as its own client's", async () => {
    const s = await store.service(10, 1);
    expect(s).to.deep.include({
      serviceId: 10,
      clientId: 1,
      productId: 3,
      masterId: 1,
      currency: 'EUR',
      lastSampleId: 70,
      lastSampleDate: '2013-06-02',
      openPeriodId: 6,
      openPeriodStart: '2013-06-01',
      openPeriodEnd: '2013-06-30',
      openPeriodUsedBytes: 1_500_000_000_000n,
    });
    expect(s!.lastSampledAt).to.equal('2013-06-02T07:00:00.000Z');
    expect(await store.service(10, 2)).to.equal(null);
    expect(readable(await store.clientServices(2)).map((r) => r.serviceId)).to.deep.equal([11]);
  });

  it('reads the SolusVM limit of the latest sample and the master’s zone', async () => {
    expect([...(await store.limitsOf([70]))]).to.deep.equal([[70, 5_000_000_000_000n]]);
    expect((await store.masters()).get(1)).to.deep.equal({
      policy: 'first_of_month',
      zone: 'Europe/Brussels',
    });
  });

  it('pages the periods newest first, each with its own rating and the unit it was sold in', async () => {
    const [june, may] = readable(await store.periods(10, null, 2));
    expect([june!.startDate, june!.status, june!.charge]).to.deep.equal(['2013-06-01', 'open', null]);
    expect(may!.charge).to.deep.equal({
      id: 1,
      status: 'billed',
      currency: 'EUR',
      allowanceBytes: 5_000_000_000_000n,
      overBytes: 1_000_000_000_000n,
      amountMinor: 50_000n,
      unit: 'GB',
    });
    expect((await store.periods(10, '2013-06-01', 5)).map((p) => p.id)).to.deep.equal([5]);
    expect(await store.period(11, 5)).to.equal(null);
  });

  it('reads a period’s intervals (an estimate, an undecided drop) and its notes', async () => {
    expect((await store.intervals(6)).unreadable).to.deep.equal([]);
    expect((await store.intervals(6)).figures).to.deep.equal([
      {
        fromDate: '2013-06-01',
        toDate: '2013-06-02',
        bytes: 1_500_000_000_000n,
        estimated: true,
        undecided: false,
      },
      { fromDate: '2013-06-02', toDate: '2013-06-02', bytes: 0n, estimated: false, undecided: true },
    ]);
    expect((await store.notesOf([5, 6])).get(6)).to.deep.equal([
      {
        kind: 'mid_period_drop',
        status: 'open',
        decision: null,
        seenOn: '2013-06-02',
        details: { fromBytes: '1500000000000', toBytes: '0' },
      },
    ]);
    expect((await store.notesOf([5])).size).to.equal(0);
  });
});
