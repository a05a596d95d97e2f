import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { createUsagePeriodStore, type UsagePeriodStore } from '../../module/adapters/usage-period-store.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';

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

  const period = (
    id: number,
    serviceId: number,
    start: string,
    end: string,
    status = 'closed',
    over: Record<string, unknown> = {},
  ) => ({
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
    await service(10, 1, { regdate: '2013-04-10' });
    await service(11, 2, { currency: 'USD' });
    await service(12, 2, { active: false });
    await service(20, 3, { product_id: 4 });
    await knex(TABLES.samples).insert({
      id: 70,
      service_id: 10,
      master_id: 1,
      server_ref: 'vm10',
      sample_date: '2013-05-31',
      sampled_at: T,
      used_bytes: '1',
      limit_bytes: '5000000000000',
      state: 'online',
      raw: '{}',
    });
    await knex(TABLES.periods).insert([
      period(4, 10, '2013-04-01', '2013-04-30'),
      period(5, 10, '2013-05-01', '2013-05-31', 'closed', {
        used_bytes: '9007199254740993',
        last_sample_id: 70,
      }),
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
    expect(rows.map((r) => [r.serviceId, r.id])).to.deep.equal([
      [10, 5],
      [11, 7],
    ]);
    expect(rows[0]).to.deep.equal({
      id: 5,
      serviceId: 10,
      clientId: 1,
      productId: 3,
      masterId: 1,
      startDate: '2013-05-01',
      endDate: '2013-05-31',
      // 2^53 = 9 007 199 254 740 992
      usedBytes: 9_007_199_254_740_993n,
      currency: 'EUR',
      regdate: '2013-04-10',
      limitBytes: 5_000_000_000_000n,
      charge: { amountMinor: 50_000n, status: 'unbilled' },
    });
    expect(rows[1]).to.deep.include({ currency: 'USD', regdate: null, limitBytes: null, charge: null });
  });

  it('stops the preview at the limit it asks for', async () => {
    expect((await store.lastClosedOfProduct(3, 1)).map((r) => r.serviceId)).to.deep.equal([10]);
  });

  it('refuses a charge status outside the known ones, naming the column', async () => {
    await knex(TABLES.charges).where({ id: 5 }).update({ status: 'paid' });
    try {
      const err = await failure(store.lastClosedOfProduct(3, 10));
      expect(err?.message).to.equal(
        'mod_overusage_charges.status holds "paid", which is not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
      );
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

/**
 * What operators see and repair, on a master in Brussels where VPS 10 (Ann) resets on the 15th
 * (anniversary) and VPS 11 was never sampled. VPS 10: April (4) closed and invoiced, May (5) closed
 * with 1 000 bytes and an undecided drop (interval 40, the counter read 2^53 + 1 bytes after it),
 * a superseded period (3) and June (6) open. April's charge 4 (seq 0) is placed on invoice 21, May's charge 5
 * (seq 0) unbilled and its correction 7 (seq 1) held for review.
 */
describeEachEngine('usage period store: periods, charges, decisions and rebuilds', ({ db }) => {
  let knex: Knex;
  let store: UsagePeriodStore;
  const AT = DateTime.fromISO('2013-06-02T07:00:00Z', { zone: 'utc' });

  const period = (id: number, start: string, end: string | null, status: string, used = '0') => ({
    id,
    service_id: 10,
    start_date: start,
    end_date: end,
    status,
    opened_by: 'calendar',
    calendar: 'anniversary:15',
    used_bytes: used,
    created_at: T,
  });

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createUsagePeriodStore(knex);
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
    await knex(TABLES.services).insert([
      {
        service_id: 10,
        client_id: 1,
        product_id: 3,
        master_id: 1,
        server_ref: 'vm10',
        reset_policy: 'anniversary',
        reset_day: 15,
        regdate: '2013-01-15',
        billing_day: 15,
        last_sample_id: 73,
        created_at: T,
        updated_at: T,
      },
      {
        service_id: 11,
        client_id: 2,
        product_id: 3,
        master_id: 1,
        server_ref: 'vm11',
        created_at: T,
        updated_at: T,
      },
    ]);
  });
  beforeEach(async () => {
    for (const t of [TABLES.lines, TABLES.charges, TABLES.intervals, TABLES.periods]) await knex(t).delete();
    await knex(TABLES.periods).insert([
      period(3, '2013-03-10', '2013-03-31', 'superseded'),
      period(4, '2013-04-01', '2013-04-30', 'closed'),
      period(5, '2013-05-01', '2013-05-31', 'closed', '1000'),
      period(6, '2013-06-01', null, 'open'),
    ]);
    await insertCharge(knex, 4, { period_start: '2013-04-01', period_end: '2013-04-30', status: 'billed' });
    await insertCharge(knex, 5);
    await insertCharge(knex, 7, {
      period_id: 5,
      seq: 1,
      kind: 'correction',
      status: 'review',
      amount_minor: '-2500',
    });
    await knex(TABLES.lines).insert({
      charge_id: 4,
      service_id: 10,
      client_id: 1,
      invoice_id: 21,
      ref_code: 'OU-C000000004',
      status: 'placed',
      amount_minor: '50000',
      currency: 'EUR',
      description: 'Overusage',
      locale: 'en_GB',
      invoice_date: '2013-05-02',
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'none',
      deadline_last_day: '2013-05-16',
      deadline_closes_at: T,
      created_at: T,
    });
    await knex(TABLES.intervals).insert({
      id: 40,
      service_id: 10,
      period_id: 5,
      from_sample_id: 70,
      to_sample_id: 71,
      kind: 'drop',
      from_date: '2013-05-15',
      to_date: '2013-05-15',
      bytes: '0',
      candidate_bytes: '9007199254740993',
      estimated: false,
    });
  });

  it('lists a service’s periods newest first without the superseded one', async () => {
    const rows = readable(await store.periodsOf(10, 24));
    expect(rows.map((p) => [p.id, p.status, p.end])).to.deep.equal([
      [6, 'open', null],
      [5, 'closed', '2013-05-31'],
      [4, 'closed', '2013-04-30'],
    ]);
    expect(rows[1]).to.deep.include({ calendar: 'anniversary:15', usedBytes: 1000n });
    expect((await store.periodsOf(10, 1)).map((p) => p.id)).to.deep.equal([6]);
  });

  it('gives periods their charges by seq with the line each is on, and the corrections waiting for review', async () => {
    const charges = readable(await store.chargesOf([4, 5]));
    expect(
      charges.map((c) => [c.periodId, c.seq, c.kind, c.status, c.amountMinor, c.invoiceId]),
    ).to.deep.equal([
      [4, 0, 'usage', 'billed', 50_000n, 21],
      [5, 0, 'usage', 'unbilled', 50_000n, null],
      [5, 1, 'correction', 'review', -2_500n, null],
    ]);
    expect((await store.corrections(50)).map((c) => c.id)).to.deep.equal([7]);
    expect(await store.countCorrections()).to.equal(1);
    expect([await store.hasCharge(5), await store.hasCharge(6)]).to.deep.equal([true, false]);
  });

  it('locks a correction for review and releases it to be billed', async () => {
    await knex.transaction(async (trx) => {
      expect(await store.lockCharge(trx, 7)).to.deep.equal({
        kind: 'correction',
        status: 'review',
        amountMinor: -2_500n,
        currency: 'EUR',
      });
      await store.setChargeStatus(trx, 7, 'unbilled');
    });
    expect((await store.charge(7))!.status).to.equal('unbilled');
    expect(await store.countCorrections()).to.equal(0);
  });

  it('books a drop decided as a reset into its period exactly past 2^53', async () => {
    await knex.transaction(async (trx) => {
      const drop = await store.lockInterval(trx, 40);
      expect(drop).to.deep.equal({
        id: 40,
        periodId: 5,
        kind: 'drop',
        candidateBytes: 9_007_199_254_740_993n,
      });
      await store.bookDrop(trx, drop!, 'manual_reset', drop!.candidateBytes!);
    });
    // 1 000 + 9 007 199 254 740 993 = 9 007 199 254 741 993
    expect(readable(await store.periodsOf(10, 24)).find((p) => p.id === 5)!.usedBytes).to.equal(
      9_007_199_254_741_993n,
    );
    const iv = await knex(TABLES.intervals).where({ id: 40 }).first('kind', 'bytes');
    expect([iv.kind, String(iv.bytes)]).to.deep.equal(['manual_reset', '9007199254740993']);
  });

  it('reads where a service’s periods come from, and which services still wait for the calendar', async () => {
    expect(await store.calendarSources(10)).to.deep.equal({
      servicePolicy: 'anniversary',
      serviceDay: 15,
      solusvmPolicy: null,
      solusvmCreatedOn: null,
      masterPolicy: 'first_of_month',
      zone: 'Europe/Brussels',
      regdate: '2013-01-15',
      billingDay: 15,
      anniversaryFrom: 'solusvm',
    });
    expect(await store.calendarSources(99)).to.equal('no service');
    // VPS 10 was sampled (73), VPS 11 never: only 10 is rebuilt, 11 is put on the calendar as it is
    expect(await store.servicesToRebuild(200)).to.deep.equal([10]);
    await store.markUnsampledOnCalendar();
    const v = await knex(TABLES.services).orderBy('service_id').pluck('calendar_version');
    expect(v.map(Number)).to.deep.equal([0, 1]);
  });

  it('rewrites periods on a rebuild: reused from 0, added, absorbed after the home period’s charges, superseded, deleted', async () => {
    await knex.transaction(async (trx) => {
      expect(await store.lockPeriods(trx, 10)).to.deep.equal([
        { id: 3, start: '2013-03-10' },
        { id: 4, start: '2013-04-01' },
        { id: 5, start: '2013-05-01' },
        { id: 6, start: '2013-06-01' },
      ]);
      await store.resetPeriod(trx, 5, { end: '2013-05-14', closedAt: AT, calendar: 'anniversary:15' });
      const may15 = await store.insertPeriod(
        trx,
        10,
        '2013-05-15',
        { end: '2013-06-14', closedAt: null, calendar: 'anniversary:15' },
        AT,
      );
      // April's charge 4 joins May 1's, after its seq 0 and 1: seq 2
      expect(await store.chargeIdsOf(trx, 4)).to.deep.equal([4]);
      await store.moveCharges(trx, [4], 5);
      await store.deletePeriod(trx, 4);
      await store.supersede(trx, 6);
      const rows = await trx(TABLES.periods)
        .where({ service_id: 10 })
        .orderBy('start_date')
        .select('id', 'start_date', 'end_date', 'status', 'closed_by', 'used_bytes');
      expect(
        rows.map((r) => [
          Number(r.id) === may15 ? 'new' : Number(r.id),
          String(r.start_date),
          String(r.end_date),
          r.status,
          r.closed_by,
          String(r.used_bytes),
        ]),
      ).to.deep.equal([
        [3, '2013-03-10', '2013-03-31', 'superseded', null, '0'],
        [5, '2013-05-01', '2013-05-14', 'closed', 'calendar', '0'],
        ['new', '2013-05-15', '2013-06-14', 'open', null, '0'],
        [6, '2013-06-01', 'null', 'superseded', null, '0'],
      ]);
    });
    expect(readable(await store.chargesOf([5])).map((c) => [c.id, c.seq])).to.deep.equal([
      [5, 0],
      [7, 1],
      [4, 2],
    ]);
  });

  it('writes a rebuild’s intervals, totals, last samples, resets and where metering goes on from', async () => {
    await knex.transaction(async (trx) => {
      await store.deleteIntervals(trx, 10);
      const part = { kind: 'daily' as const, estimated: false, candidateBytes: null };
      await store.insertIntervals(trx, 10, [
        {
          periodId: 5,
          fromSampleId: 70,
          toSampleId: 71,
          fromDate: '2013-05-15',
          toDate: '2013-05-15',
          bytes: 9_007_199_254_740_993n,
          ...part,
        },
        {
          periodId: 5,
          fromSampleId: 71,
          toSampleId: 72,
          fromDate: '2013-05-16',
          toDate: '2013-05-16',
          bytes: 7n,
          ...part,
        },
        {
          periodId: 6,
          fromSampleId: 72,
          toSampleId: 73,
          fromDate: '2013-06-01',
          toDate: '2013-06-01',
          bytes: 0n,
          ...part,
          kind: 'drop',
          candidateBytes: 5n,
        },
      ]);
      // May: 9 007 199 254 740 993 + 7 = 9 007 199 254 741 000, its last sample 72; June: 0, last 73
      await store.setTotals(
        trx,
        new Map([
          [5, 9_007_199_254_741_000n],
          [6, 0n],
        ]),
        [5, 6],
      );
      await store.setReset(trx, 6, AT, null);
      const dropId = Number((await trx(TABLES.intervals).where({ to_sample_id: 73 }).first('id')).id);
      expect(await store.dropIntervals(trx, 10)).to.deep.equal([{ id: dropId, toSampleId: 73 }]);
      await store.saveMeterState(trx, 10, {
        openPeriod: { id: 6, start: '2013-06-01', end: '2013-06-14' },
        resetDueOn: '2013-06-15',
        recentDaily: [7n, 9_007_199_254_740_993n],
        at: AT,
      });
    });
    const ps = await knex(TABLES.periods)
      .whereIn('id', [5, 6])
      .orderBy('id')
      .select('used_bytes', 'last_sample_id', 'reset_at');
    expect(
      ps.map((p) => [
        String(p.used_bytes),
        Number(p.last_sample_id),
        p.reset_at === null ? null : String(p.reset_at).slice(0, 19),
      ]),
    ).to.deep.equal([
      ['9007199254741000', 72, null],
      ['0', 73, '2013-06-02 07:00:00'],
    ]);
    const s = await knex(TABLES.services)
      .where({ service_id: 10 })
      .first(
        'open_period_id',
        'open_period_end',
        'reset_due_on',
        'daily_bytes',
        'recent_daily_bytes',
        'calendar_version',
      );
    // the recent days exact past 2^53 as decimal strings, the latest day alone in daily_bytes
    expect([
      Number(s.open_period_id),
      String(s.open_period_end),
      String(s.reset_due_on),
      String(s.daily_bytes),
      String(s.recent_daily_bytes),
      Number(s.calendar_version),
    ]).to.deep.equal([6, '2013-06-14', '2013-06-15', '9007199254740993', '["7","9007199254740993"]', 1]);
  });

  it('refuses an interval kind metering does not write, naming the column', async () => {
    await knex(TABLES.intervals).where({ id: 40 }).update({ kind: 'guess' });
    const err = await knex
      .transaction((trx) => store.lockInterval(trx, 40))
      .then(
        () => null,
        (e: unknown) => e as ModuleError,
      );
    expect(err?.message).to.equal(
      'mod_overusage_intervals.kind holds "guess", which is not one of daily, span, since_reset, before_metering, drop, manual_reset, correction',
    );
  });
});
