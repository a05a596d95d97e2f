import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  cacheCurrentTotal,
  createMeteringStore,
  paceColumns,
  type MeteringStore,
  type ReadResult,
  type RunCounts,
  type ServiceToRead,
} from '../../module/adapters/metering-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { instantOrNullIn } from '../../module/adapters/rows.js';
import { TABLES } from '../../module/adapters/tables.js';
import { serviceCalendar } from '../../module/domain/billing-calendar.js';
import type { IsoDate } from '../../module/domain/calendar.js';
import { describeEachEngine } from '../support/engines.js';

const T = '2013-06-01 07:00:00.000';
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
// 2^53 + 1 = 9 007 199 254 740 993: a Number would read it as 2^53
const BIG = 9_007_199_254_740_993n;

/** Brussels, counters reset on the first of the month: June 2013 is one period. */
const calendar = serviceCalendar({
  servicePolicy: null,
  serviceDay: null,
  solusvmPolicy: null,
  solusvmCreatedOn: null,
  masterPolicy: 'first_of_month',
  zone: 'Europe/Brussels',
  regdate: null,
  billingDay: null,
});

const read = (
  service: ServiceToRead,
  sampleDate: IsoDate,
  sampledAt: string,
  usedBytes: bigint,
): ReadResult => ({
  service,
  reading: {
    usedBytes,
    limitBytes: null,
    incomingBytes: null,
    outgoingBytes: null,
    state: 'online',
    raw: '{}',
  },
  sampledAt: utc(sampledAt),
  sampleDate,
  calendar,
});

const counts = (over: Partial<RunCounts> = {}): RunCounts => ({
  services: 0,
  readOk: 0,
  already: 0,
  failed: 0,
  gaps: 0,
  resets: 0,
  anomalies: 0,
  ...over,
});

/**
 * Master 1 (Brussels): VPS 10, 11, 13 active and unread, 12 cancelled, 14 already read on 2 June;
 * master 2: VPS 20. Masters 3 and 4: VPS 30, 31, 40 and 41, which the batches meter (so the
 * listing above stays as seeded).
 */
describeEachEngine('metering store', ({ db }) => {
  let knex: Knex;
  let store: MeteringStore;

  const runRow = async (id: number) => knex(TABLES.runs).where({ id }).first();

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createMeteringStore(knex);
    for (const id of [1, 2, 3, 4])
      await knex(TABLES.masters).insert({
        id,
        name: `m${id}`,
        version: 2,
        base_url: 'https://127.0.0.1:1',
        credentials_enc: 'x',
        time_zone: 'Europe/Brussels',
        reset_policy: 'first_of_month',
        created_at: T,
        updated_at: T,
      });
    const service = (id: number, masterId: number, over: Record<string, unknown> = {}) =>
      knex(TABLES.services).insert({
        service_id: id,
        client_id: 1,
        product_id: 3,
        master_id: masterId,
        server_ref: `vm${id}`,
        currency: 'EUR',
        created_at: T,
        updated_at: T,
        ...over,
      });
    await service(13, 1, { recent_daily_bytes: null, daily_bytes: '7' });
    await service(11, 1, {
      recent_daily_bytes: '["1","2","9007199254740993"]',
      daily_bytes: '9007199254740993',
    });
    await service(10, 1);
    await service(12, 1, { active: false });
    await service(14, 1, { last_sample_date: '2013-06-02' });
    await service(20, 2);
    await service(30, 3);
    await service(31, 3);
    await service(40, 4);
    await service(41, 4);
  });

  it('lists a master’s active services not yet read for the day, in id order, skipping the cancelled one', async () => {
    // 12 is cancelled, 14 was read on 2 June, 20 is another master's; inserted 13, 11, 10: listed by id
    const page = await store.pageToRead(1, '2013-06-02', 0, 10);
    expect(page.map((s) => s.serviceId)).to.deep.equal([10, 11, 13]);
    expect(page[0]!.serverRef).to.equal('vm10');
    expect(page[0]!.last).to.equal(null);
  });

  it('pages on from the last service id given, at most the limit', async () => {
    expect((await store.pageToRead(1, '2013-06-02', 10, 1)).map((s) => s.serviceId)).to.deep.equal([11]);
    expect((await store.pageToRead(1, '2013-06-02', 11, 10)).map((s) => s.serviceId)).to.deep.equal([13]);
    expect(await store.pageToRead(1, '2013-06-02', 13, 10)).to.deep.equal([]);
  });

  it('lists a service read on an earlier day for the next day', async () => {
    // 14 read on 2 June is due again on 3 June, between 13 and nothing after
    const page = await store.pageToRead(1, '2013-06-03', 12, 10);
    expect(page.map((s) => s.serviceId)).to.deep.equal([13, 14]);
  });

  it('reads the recent pace exact past 2^53, or the lone daily figure of a row metered before the list was kept', async () => {
    const page = await store.pageToRead(1, '2013-06-02', 0, 10);
    expect(page.map((s) => s.recentDaily)).to.deep.equal([[], [1n, 2n, BIG], [7n]]);
  });

  it('counts the active services of a master, and the unread ones of several masters', async () => {
    // master 1: 10, 11, 13, 14 active (12 cancelled)
    expect(await store.countServices(1)).to.equal(4);
    expect(await store.countServices(9)).to.equal(0);
    // unread on 2 June: 10, 11, 13 of master 1 and 20 of master 2 = 4; on 3 June 14 too = 5
    expect(await store.countGaps([1, 2], '2013-06-02')).to.equal(4);
    expect(await store.countGaps([1, 2], '2013-06-03')).to.equal(5);
    expect(await store.countGaps([], '2013-06-02')).to.equal(0);
  });

  it('starts a run as running and lists it among the running runs of its kind', async () => {
    const id = await store.startRun('collect', '2013-06-05', 'host-a:41', utc('2013-06-05T22:05:00Z'));
    const running = await store.runningRuns('collect');
    expect(running.map((r) => [r.id, r.owner, r.startedAt.toISO()])).to.deep.include([
      id,
      'host-a:41',
      '2013-06-05T22:05:00.000Z',
    ]);
    expect((await store.runningRuns('rebuild')).map((r) => r.id)).to.not.include(id);
    expect((await runRow(id)).status).to.equal('running');
  });

  it('finishes a run with its counts and message, and it is no longer running', async () => {
    const id = await store.startRun('collect', '2013-06-06', 'host-a:42', utc('2013-06-06T22:05:00Z'));
    await store.finishRun(
      id,
      'failed',
      counts({ services: 9, readOk: 5, already: 1, failed: 3, gaps: 2, resets: 4, anomalies: 6 }),
      'master 1 unreachable',
      utc('2013-06-06T22:09:00Z'),
    );
    const row = await runRow(id);
    const n = (k: string) => Number(row[k]);
    expect([row.status, n('services'), n('read_ok'), n('already'), n('failed')]).to.deep.equal([
      'failed',
      9,
      5,
      1,
      3,
    ]);
    expect([n('gaps'), n('resets'), n('anomalies'), row.message]).to.deep.equal([
      2,
      4,
      6,
      'master 1 unreachable',
    ]);
    expect((await store.runningRuns('collect')).map((r) => r.id)).to.not.include(id);
  });

  it('abandons a run still running, with the time and why', async () => {
    const id = await store.startRun('collect', '2013-06-07', 'host-b:7', utc('2013-06-07T22:05:00Z'));
    expect(await store.abandonRun(id, 'process 7 died', utc('2013-06-08T01:00:00Z'))).to.equal(true);
    const row = await runRow(id);
    expect([row.status, row.message]).to.deep.equal(['abandoned', 'process 7 died']);
    expect(row.finished_at).to.not.equal(null);
    expect((await store.runningRuns('collect')).map((r) => r.id)).to.not.include(id);
  });

  it('does not abandon a run that finished meanwhile', async () => {
    const id = await store.startRun('collect', '2013-06-08', 'host-b:8', utc('2013-06-08T22:05:00Z'));
    await store.finishRun(id, 'finished', counts({ readOk: 3 }), null, utc('2013-06-08T22:06:00Z'));
    expect(await store.abandonRun(id, 'late', utc('2013-06-09T01:00:00Z'))).to.equal(false);
    const row = await runRow(id);
    expect([row.status, row.message, Number(row.read_ok)]).to.deep.equal(['finished', null, 3]);
  });

  it('says when the day’s latest collect run started, and nothing for a day without one', async () => {
    await store.startRun('collect', '2013-06-10', 'a', utc('2013-06-10T22:05:00Z'));
    await store.startRun('collect', '2013-06-10', 'b', utc('2013-06-10T23:30:00Z'));
    // a rebuild for the day is not a collect run
    await store.startRun('rebuild', '2013-06-10', 'c', utc('2013-06-11T02:00:00Z'));
    expect((await store.lastRunStarted('2013-06-10'))?.toISO()).to.equal('2013-06-10T23:30:00.000Z');
    expect(await store.lastRunStarted('2013-06-11')).to.equal(null);
  });

  it('records a run’s failures, kind and message cut to their columns', async () => {
    const runId = await store.startRun('collect', '2013-06-12', 'f', utc('2013-06-12T22:05:00Z'));
    await store.recordFailures(runId, [
      {
        serviceId: 10,
        masterId: 1,
        sampleDate: '2013-06-12',
        attemptedAt: utc('2013-06-12T22:06:00Z'),
        kind: 'TIMEOUT_AFTER_THIRTY_SECONDS', // 28 characters: the first 20 kept
        message: 'x'.repeat(600), // 500 kept
      },
      {
        serviceId: 11,
        masterId: 1,
        sampleDate: '2013-06-12',
        attemptedAt: utc('2013-06-12T22:07:00Z'),
        kind: 'NOT_FOUND',
        message: 'no such server',
      },
    ]);
    const rows = await knex(TABLES.readFailures).where({ run_id: runId }).orderBy('service_id');
    expect(rows.map((r) => [Number(r.service_id), Number(r.master_id), r.error_kind])).to.deep.equal([
      [10, 1, 'TIMEOUT_AFTER_THIRTY'],
      [11, 1, 'NOT_FOUND'],
    ]);
    expect(rows.map((r) => r.message.length)).to.deep.equal([500, 14]);
  });

  it('writes no failure of a batch when one of its chunks fails', async () => {
    const runId = await store.startRun('collect', '2013-06-13', 'g', utc('2013-06-13T22:05:00Z'));
    const failure = (serviceId: number) => ({
      serviceId,
      masterId: 1,
      sampleDate: '2013-06-13',
      attemptedAt: utc('2013-06-13T22:06:00Z'),
      kind: 'TIMEOUT',
      message: 'timed out',
    });
    // 500 a chunk: the first 500 go in one insert, the 501st (no service: NOT NULL) fails the second
    const batch = [
      ...Array.from({ length: 500 }, (_, i) => failure(1000 + i)),
      failure(null as unknown as number),
    ];
    const err = await store.recordFailures(runId, batch).then(
      () => null,
      (e: unknown) => e as { message: string },
    );
    // the engines word it differently; both name the column
    expect(err?.message).to.match(/service_id/);
    expect(await knex(TABLES.readFailures).where({ run_id: runId }).count({ n: '*' }).first()).to.satisfy(
      (r: { n: unknown }) => Number(r.n) === 0,
    );
  });

  describe('a batch of reads', () => {
    let runA: number;
    let runB: number;
    let firstSampleId: number;
    // VPS 30 as both runs listed it, before either wrote
    let vps30: ServiceToRead;

    const sampleRows = (serviceId: number) =>
      knex(TABLES.samples).where({ service_id: serviceId }).orderBy('sample_date');

    before(async () => {
      runA = await store.startRun('collect', '2013-06-02', 'host-a:1', utc('2013-06-02T22:05:00Z'));
      runB = await store.startRun('collect', '2013-06-02', 'host-b:2', utc('2013-06-02T22:05:30Z'));
      vps30 = (await store.pageToRead(3, '2013-06-02', 0, 1))[0]!;
    });

    it('stores a service’s first sample, its June period and its cached state, bytes exact past 2^53', async () => {
      // read just after midnight Brussels on 3 June (22:05 UTC on 2 June) closes 2 June
      const out = await store.writeBatch(
        runA,
        [{ masterId: 3, results: [read(vps30, '2013-06-02', '2013-06-02T22:05:00Z', BIG)] }],
        utc('2013-06-02T22:06:00Z'),
      );
      expect(out).to.deep.equal({ stored: 1, storedByBatch: [1], duplicates: 0, resets: 0, anomalies: 0 });
      const samples = await sampleRows(30);
      expect(samples.map((s) => [String(s.used_bytes), Number(s.run_id)])).to.deep.equal([
        [String(BIG), runA],
      ]);
      firstSampleId = Number(samples[0].id);
      const periods = await knex(TABLES.periods).where({ service_id: 30 });
      // the counter reset on 1 June holds June's traffic so far: all of it before metering
      expect(periods.map((p) => [p.status, String(p.used_bytes)])).to.deep.equal([['open', String(BIG)]]);
      const [again] = await store.pageToRead(3, '2013-06-03', 0, 1);
      expect(again!.serviceId).to.equal(30);
      expect(again!.lastSampleId).to.equal(firstSampleId);
      expect(again!.last?.usedBytes).to.equal(BIG);
      expect(again!.last?.sampleDate).to.equal('2013-06-02');
      expect([again!.openPeriodStart, again!.openPeriodEnd, again!.openPeriodUsed]).to.deep.equal([
        '2013-06-01',
        '2013-06-30',
        BIG,
      ]);
      expect(again!.openPeriodId).to.equal(Number(periods[0].id));
    });

    it('does not list a service again for the day it was read', async () => {
      // 30 was read on 2 June, 31 not yet
      expect((await store.pageToRead(3, '2013-06-02', 0, 10)).map((s) => s.serviceId)).to.deep.equal([31]);
    });

    it('does not store a second sample of the same service and day: another run’s write is a duplicate', async () => {
      // run B read 30 from the same page as run A, and writes after it
      const out = await store.writeBatch(
        runB,
        [{ masterId: 3, results: [read(vps30, '2013-06-02', '2013-06-02T22:05:30Z', BIG + 5n)] }],
        utc('2013-06-02T22:06:30Z'),
      );
      expect(out).to.deep.equal({ stored: 0, storedByBatch: [0], duplicates: 1, resets: 0, anomalies: 0 });
      const samples = await sampleRows(30);
      expect(samples.map((s) => [String(s.used_bytes), Number(s.run_id)])).to.deep.equal([
        [String(BIG), runA],
      ]);
      const periods = await knex(TABLES.periods).where({ service_id: 30 });
      expect(periods.map((p) => String(p.used_bytes))).to.deep.equal([String(BIG)]);
      expect(await knex(TABLES.intervals).where({ service_id: 30 }).count({ n: '*' }).first()).to.satisfy(
        (r: { n: unknown }) => Number(r.n) === 1,
      );
    });

    it('adds the next day’s increase to the period and keeps it as the recent pace', async () => {
      const [next] = await store.pageToRead(3, '2013-06-03', 0, 1);
      const out = await store.writeBatch(
        runA,
        [{ masterId: 3, results: [read(next!, '2013-06-03', '2013-06-03T22:05:00Z', BIG + 3_000_000_000n)] }],
        utc('2013-06-03T22:06:00Z'),
      );
      expect(out).to.deep.equal({ stored: 1, storedByBatch: [1], duplicates: 0, resets: 0, anomalies: 0 });
      const samples = await sampleRows(30);
      expect(samples.map((s) => String(s.used_bytes))).to.deep.equal([String(BIG), '9007202254740993']);
      const daily = await knex(TABLES.intervals).where({ service_id: 30, kind: 'daily' });
      // one day, 3 000 000 000 bytes, from the first sample to this one
      expect(
        daily.map((i) => [String(i.bytes), Number(i.from_sample_id), Number(i.to_sample_id), i.from_date]),
      ).to.deep.equal([['3000000000', firstSampleId, Number(samples[1].id), '2013-06-03']]);
      // 9 007 199 254 740 993 + 3 000 000 000 = 9 007 202 254 740 993
      const [after] = await store.pageToRead(3, '2013-06-04', 0, 1);
      expect(after!.openPeriodUsed).to.equal(9_007_202_254_740_993n);
      expect(after!.recentDaily).to.deep.equal([3_000_000_000n]);
      expect(after!.last?.usedBytes).to.equal(9_007_202_254_740_993n);
    });

    it('writes nothing for an empty batch', async () => {
      expect(
        await store.writeBatch(runA, [{ masterId: 3, results: [] }], utc('2013-06-04T22:06:00Z')),
      ).to.deep.equal({
        stored: 0,
        storedByBatch: [0],
        duplicates: 0,
        resets: 0,
        anomalies: 0,
      });
    });
  });

  describe('a batch whose work is cut into slices', () => {
    // Master 5: VPS 500–539. A store whose slices last 0 ms lets the event loop turn after every
    // 16 rows of each step (listing, samples, steps, statements): 40 rows are cut in three.
    const ids = Array.from({ length: 40 }, (_, k) => 500 + k);
    let sliced: MeteringStore;
    let run: number;

    before(async () => {
      sliced = createMeteringStore(knex, { sliceMs: 0 });
      await knex(TABLES.masters).insert({
        id: 5,
        name: 'm5',
        version: 2,
        base_url: 'https://127.0.0.1:1',
        credentials_enc: 'x',
        time_zone: 'Europe/Brussels',
        reset_policy: 'first_of_month',
        created_at: T,
        updated_at: T,
      });
      for (const id of ids)
        await knex(TABLES.services).insert({
          service_id: id,
          client_id: 1,
          product_id: 3,
          master_id: 5,
          server_ref: `vm${id}`,
          currency: 'EUR',
          created_at: T,
          updated_at: T,
        });
      run = await sliced.startRun('collect', '2013-06-02', 'host-c:3', utc('2013-06-02T22:05:00Z'));
    });

    it('stores every row as a batch in one go would: VPS 500 + k holds (k + 1) GB, then 3 GB more a day', async () => {
      const GB = 1_000_000_000n;
      const first = await sliced.pageToRead(5, '2013-06-02', 0, 100);
      expect(first.map((s) => s.serviceId)).to.deep.equal(ids);
      const day1 = first.map((svc, k) => read(svc, '2013-06-02', '2013-06-02T22:05:00Z', BigInt(k + 1) * GB));
      expect(
        await sliced.writeBatch(run, [{ masterId: 5, results: day1 }], utc('2013-06-02T22:06:00Z')),
      ).to.deep.equal({
        stored: 40,
        storedByBatch: [40],
        duplicates: 0,
        resets: 0,
        anomalies: 0,
      });
      const second = await sliced.pageToRead(5, '2013-06-03', 0, 100);
      expect(second.map((s) => s.serviceId)).to.deep.equal(ids);
      const day2 = second.map((svc, k) =>
        read(svc, '2013-06-03', '2013-06-03T22:05:00Z', BigInt(k + 1) * GB + 3n * GB),
      );
      expect(
        await sliced.writeBatch(run, [{ masterId: 5, results: day2 }], utc('2013-06-03T22:06:00Z')),
      ).to.deep.equal({
        stored: 40,
        storedByBatch: [40],
        duplicates: 0,
        resets: 0,
        anomalies: 0,
      });
      // June so far: (k + 1) GB before metering + 3 GB on 3 June, for each of the 40 in order
      const periods = await knex(TABLES.periods).whereIn('service_id', ids).orderBy('service_id');
      expect(periods.map((p) => [Number(p.service_id), p.start_date, String(p.used_bytes)])).to.deep.equal(
        ids.map((id, k) => [id, '2013-06-01', String(BigInt(k + 1) * GB + 3n * GB)]),
      );
      const daily = await knex(TABLES.intervals)
        .whereIn('service_id', ids)
        .andWhere({ kind: 'daily' })
        .orderBy('service_id');
      expect(daily.map((i) => [Number(i.service_id), i.from_date, String(i.bytes)])).to.deep.equal(
        ids.map((id) => [id, '2013-06-03', '3000000000']),
      );
      const after = await sliced.pageToRead(5, '2013-06-04', 0, 100);
      expect(
        after.map((s) => [s.serviceId, s.last?.usedBytes, s.openPeriodUsed, s.recentDaily]),
      ).to.deep.equal(ids.map((id, k) => [id, BigInt(k + 4) * GB, BigInt(k + 4) * GB, [3n * GB]]));
    });
  });

  describe('a counter that goes down', () => {
    let run: number;
    const GB = 1_000_000_000n;

    before(async () => {
      run = await store.startRun('collect', '2013-06-29', 'host-c:3', utc('2013-06-29T22:05:00Z'));
    });

    /** The service's first read, then its next one as the store lists it. */
    const meter = async (
      serviceId: number,
      first: [IsoDate, string, bigint],
      next: [IsoDate, string, bigint],
    ) => {
      const [svc] = await store.pageToRead(4, first[0], serviceId - 1, 1);
      await store.writeBatch(run, [{ masterId: 4, results: [read(svc!, ...first)] }], utc(first[1]));
      const [again] = await store.pageToRead(4, next[0], serviceId - 1, 1);
      return store.writeBatch(run, [{ masterId: 4, results: [read(again!, ...next)] }], utc(next[1]));
    };

    it('reads a drop across the month’s boundary as the reset: June closes, July opens with the new count', async () => {
      // 10 GB read at 00:05 Brussels on 30 June; 1 MB at 00:05 on 1 July, after the reset at midnight
      const out = await meter(
        40,
        ['2013-06-29', '2013-06-29T22:05:00Z', 10n * GB],
        ['2013-06-30', '2013-06-30T22:05:00Z', 1_000_000n],
      );
      expect(out).to.deep.equal({ stored: 1, storedByBatch: [1], duplicates: 0, resets: 1, anomalies: 0 });
      const periods = await knex(TABLES.periods).where({ service_id: 40 }).orderBy('start_date');
      expect(periods.map((p) => [p.start_date, p.status, p.closed_by, String(p.used_bytes)])).to.deep.equal([
        ['2013-06-01', 'closed', 'calendar', '10000000000'],
        ['2013-07-01', 'open', null, '1000000'],
      ]);
      // the reset at midnight Brussels (22:00 UTC); what came after the read at 22:05 UTC the day before was never counted
      const instant = (v: unknown) => instantOrNullIn(v, 'period')?.toISO();
      expect([instant(periods[0].reset_at), instant(periods[0].unmeasured_after)]).to.deep.equal([
        '2013-06-30T22:00:00.000Z',
        '2013-06-29T22:05:00.000Z',
      ]);
      const [state] = await store.pageToRead(4, '2013-07-01', 39, 1);
      expect([state!.openPeriodStart, state!.openPeriodUsed, state!.openPeriodId]).to.deep.equal([
        '2013-07-01',
        1_000_000n,
        Number(periods[1].id),
      ]);
    });

    it('books nothing for a drop no one can read, and opens an anomaly on its undecided interval', async () => {
      // 10 GB, then 6 GB the next day: more than half of it, no boundary between: not a reset
      const out = await meter(
        41,
        ['2013-06-02', '2013-06-02T22:05:00Z', 10n * GB],
        ['2013-06-03', '2013-06-03T22:05:00Z', 6n * GB],
      );
      expect(out).to.deep.equal({ stored: 1, storedByBatch: [1], duplicates: 0, resets: 0, anomalies: 1 });
      const drop = await knex(TABLES.intervals).where({ service_id: 41, kind: 'drop' });
      expect(drop.map((i) => [String(i.bytes), String(i.candidate_bytes)])).to.deep.equal([
        ['0', '6000000000'],
      ]);
      const anomalies = await knex(TABLES.anomalies).where({ service_id: 41 });
      expect(anomalies.map((a) => [a.kind, a.status, Number(a.interval_id)])).to.deep.equal([
        ['mid_period_drop', 'open', Number(drop[0].id)],
      ]);
      const [state] = await store.pageToRead(4, '2013-06-04', 40, 1);
      expect(state!.openPeriodUsed).to.equal(10n * GB);
      expect(state!.last?.usedBytes).to.equal(6n * GB);
    });
  });

  it('copies the current period’s total onto the service row, exact past 2^53', async () => {
    await knex(TABLES.periods).insert({
      id: 900,
      service_id: 31,
      start_date: '2013-07-01',
      end_date: '2013-07-31',
      status: 'open',
      opened_by: 'calendar',
      used_bytes: '9007199254740995', // 2^53 + 3
      created_at: T,
    });
    await knex(TABLES.services).where({ service_id: 31 }).update({ open_period_id: 900 });
    await cacheCurrentTotal(knex, [31]);
    const row = await knex(TABLES.services).where({ service_id: 31 }).first('open_period_used_bytes');
    expect(String(row.open_period_used_bytes)).to.equal('9007199254740995');
  });
});

describe('paceColumns', () => {
  it('stores no latest day and an empty list before any metered day', () => {
    expect(paceColumns([])).to.deep.equal({ daily_bytes: null, recent_daily_bytes: '[]' });
  });

  it('stores the list as decimal strings and the newest day alone, exact past 2^53', () => {
    expect(paceColumns([5n, 1n, BIG])).to.deep.equal({
      daily_bytes: '9007199254740993',
      recent_daily_bytes: '["5","1","9007199254740993"]',
    });
  });
});
