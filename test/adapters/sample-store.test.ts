import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createLineStore } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createSampleStore, type SampleStore } from '../../module/adapters/sample-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';

const T = '2013-06-02 07:00:00.000';
const AT = DateTime.fromISO('2013-06-02T07:00:00Z', { zone: 'utc' });

const pending = (chargeId: number) => ({
  chargeId,
  serviceId: 10,
  clientId: 1,
  invoiceId: 5,
  refCode: `OU-C${String(chargeId).padStart(9, '0')}`,
  amountMinor: 50_000n,
  currency: 'EUR',
  description: 'Overusage',
  locale: 'en_GB',
  invoiceDate: '2013-06-02',
  window: { days: 14, counting: 'calendar', holidays: 'none' },
  deadlineLastDay: '2013-06-16',
  deadlineClosesAt: AT.plus({ days: 14 }),
  createdAt: AT,
});

/**
 * What retention asks of the raw samples. VPS 10 read on 30 April (70), 15 May (71), 31 May (72)
 * and 1 June (73, its latest); May (period 5) is closed, rated and billed on a line under an open
 * dispute; June (6) is open. VPS 11 read on 31 May (80, its latest), its May (7) closed, not rated.
 * A pool month (3) of 1–31 May bills VPS 10's 31 May on a line of its own.
 */
describeEachEngine('sample store', ({ db }) => {
  let knex: Knex;
  let store: SampleStore;
  let mayLine = 0;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createSampleStore(knex);
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
    const service = (id: number, lastSample: number) =>
      knex(TABLES.services).insert({
        service_id: id,
        client_id: 1,
        product_id: 3,
        master_id: 1,
        server_ref: `vm${id}`,
        last_sample_id: lastSample,
        created_at: T,
        updated_at: T,
      });
    await service(10, 73);
    await service(11, 80);
    const sample = (id: number, serviceId: number, day: string) => ({
      id,
      service_id: serviceId,
      master_id: 1,
      server_ref: `vm${serviceId}`,
      sample_date: day,
      sampled_at: `${day} 00:05:00.000`,
      used_bytes: '1',
      state: 'online',
      raw: '{}',
    });
    await knex(TABLES.samples).insert([
      sample(70, 10, '2013-04-30'),
      sample(71, 10, '2013-05-15'),
      sample(72, 10, '2013-05-31'),
      sample(73, 10, '2013-06-01'),
      sample(80, 11, '2013-05-31'),
    ]);
    const period = (
      id: number,
      serviceId: number,
      start: string,
      end: string,
      status: string,
      lastSample: number,
    ) => ({
      id,
      service_id: serviceId,
      start_date: start,
      end_date: end,
      status,
      opened_by: 'calendar',
      last_sample_id: lastSample,
      created_at: T,
    });
    await knex(TABLES.periods).insert([
      period(5, 10, '2013-05-01', '2013-05-31', 'closed', 72),
      period(6, 10, '2013-06-01', '2013-06-30', 'open', 73),
      period(7, 11, '2013-05-01', '2013-05-31', 'closed', 80),
    ]);
    const interval = (periodId: number, from: number, to: number, fromDate: string, toDate: string) => ({
      service_id: 10,
      period_id: periodId,
      from_sample_id: from,
      to_sample_id: to,
      kind: 'normal',
      from_date: fromDate,
      to_date: toDate,
      bytes: '1',
      estimated: false,
    });
    await knex(TABLES.intervals).insert([
      interval(5, 70, 71, '2013-05-01', '2013-05-15'),
      interval(5, 71, 72, '2013-05-16', '2013-05-31'),
      interval(6, 72, 73, '2013-06-01', '2013-06-01'),
    ]);
    const lines = createLineStore(knex);
    await insertCharge(knex, 5);
    await insertCharge(knex, 9, { period_id: -3 });
    await lines.insertPendingIfChargeUnbilled(pending(5));
    await lines.insertPendingIfChargeUnbilled(pending(9));
    mayLine = Number((await knex(TABLES.lines).where({ charge_id: 5 }).first('id')).id);
    await knex(TABLES.disputes).insert({
      line_id: mayLine,
      client_id: 1,
      service_id: 10,
      state: 'open',
      reason: 'not mine',
      opened_by_type: 'client',
      opened_at: T,
      hold_state: 'held',
      original_invoice_id: 5,
      amount_before_minor: '50000',
      currency: 'EUR',
      updated_at: T,
    });
    await knex(TABLES.poolPeriods).insert({
      id: 3,
      client_id: 1,
      pool_key: 'p1',
      start_date: '2013-05-01',
      end_date: '2013-05-31',
      currency: 'EUR',
      period_hours: 744,
      anchor_service_id: 10,
      allowance_bytes: '0',
      used_bytes: '0',
      over_bytes: '0',
      amount_minor: '0',
      details: JSON.stringify({ members: [{ serviceId: 10, days: ['2013-05-31'] }] }),
      rated_at: T,
    });
  });

  it('walks the samples older than the cutoff by id, after the cursor and at most the batch', async () => {
    // before 1 June: 70, 71, 72 and 80; 73 is of 1 June itself
    expect(await store.olderThan('2013-06-01', 0, 10)).to.deep.equal([
      { id: 70, sampleDate: '2013-04-30' },
      { id: 71, sampleDate: '2013-05-15' },
      { id: 72, sampleDate: '2013-05-31' },
      { id: 80, sampleDate: '2013-05-31' },
    ]);
    expect(await store.olderThan('2013-06-01', 71, 1)).to.deep.equal([{ id: 72, sampleDate: '2013-05-31' }]);
  });

  it('names the samples metering and rating still read: a service’s latest, and the latest of a period open or not rated', async () => {
    const ids = [70, 71, 72, 73, 80];
    expect((await store.latestOfServices(ids)).sort()).to.deep.equal([73, 80]);
    // May (5) is rated: its 72 is free; June (6) is open and Jan's May (7) not rated
    expect((await store.latestOfUnratedPeriods(ids)).sort()).to.deep.equal([73, 80]);
    expect(await store.latestOfServices([])).to.deep.equal([]);
  });

  it('gives both intervals a sample starts and ends, with their period, line and open dispute', async () => {
    const ends = await store.intervalEnds([71]);
    expect(ends).to.deep.equal([
      { sampleId: 71, periodStatus: 'closed', lineId: mayLine, disputeState: 'open' },
      { sampleId: 71, periodStatus: 'closed', lineId: mayLine, disputeState: 'open' },
    ]);
    expect(
      (await store.intervalEnds([73])).map((e) => [e.periodStatus, e.lineId, e.disputeState]),
    ).to.deep.equal([['open', null, null]]);
  });

  it('refuses a period status outside open, closed and superseded, naming the column', async () => {
    await knex(TABLES.periods).where({ id: 5 }).update({ status: 'archived' });
    try {
      const err = await store.intervalEnds([71]).then(
        () => null,
        (e: unknown) => e as ModuleError,
      );
      expect(err?.message).to.equal(
        'mod_overusage_periods.status holds "archived", which is not one of open, closed, superseded',
      );
    } finally {
      await knex(TABLES.periods).where({ id: 5 }).update({ status: 'closed' });
    }
  });

  it('reads a pool line’s month, its members’ days and the intervals ending in it', async () => {
    expect(await store.poolLines()).to.deep.equal([{ poolPeriodId: 3, disputeState: null }]);
    expect(await store.poolMonth(3)).to.deep.equal({
      start: '2013-05-01',
      end: '2013-05-31',
      members: [{ serviceId: 10, days: ['2013-05-31'] }],
    });
    expect(await store.poolMonth(4)).to.equal(null);
    const ending = await store.intervalsEndingBetween(10, '2013-05-01', '2013-05-31');
    expect(ending.sort((a, b) => a.toSampleId - b.toSampleId)).to.deep.equal([
      { toDate: '2013-05-15', fromSampleId: 70, toSampleId: 71 },
      { toDate: '2013-05-31', fromSampleId: 71, toSampleId: 72 },
    ]);
  });

  it('deletes the given samples and no other', async () => {
    await store.delete([70]);
    await store.delete([]);
    expect((await store.olderThan('2013-06-02', 0, 10)).map((s) => s.id)).to.deep.equal([71, 72, 73, 80]);
  });
});
