import { expect } from 'chai';
import type { Knex } from 'knex';
import { createEvidenceStore, type EvidenceStore } from '../../module/adapters/evidence-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';

/** 2^53 + 1: the first integer a JS number cannot hold; it must come back exactly */
const PAST_2_53 = 9_007_199_254_740_993n;

/**
 * What the evidence behind a line reads, on both engines. Written by hand as metering, rating and
 * billing write it: client 7's service 40 used 2^53 + 1 bytes in May 2013 (period 5), billed on
 * line 1 (OU-E-1, invoice 31) at 2^53 + 1 cents; client 8's pool month 6 (services 50 and 51).
 */
describeEachEngine('evidence store', ({ db }) => {
  let knex: Knex;
  let store: EvidenceStore;

  const line = (id: number, chargeId: number, over: Record<string, unknown> = {}) =>
    knex(TABLES.lines).insert({
      id,
      charge_id: chargeId,
      service_id: 40,
      client_id: 7,
      invoice_id: 31,
      invoice_item_id: 90,
      ref_code: `OU-E-${id}`,
      status: 'placed',
      amount_minor: PAST_2_53.toString(),
      currency: 'EUR',
      description: 'Overusage May 2013',
      locale: 'en-GB',
      invoice_date: '2013-06-02',
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'none',
      deadline_last_day: '2013-06-16',
      deadline_closes_at: '2013-06-16 22:00:00.000',
      created_at: '2013-06-02 07:00:00.000',
      ...over,
    });
  const interval = (id: number, over: Record<string, unknown>) =>
    knex(TABLES.intervals).insert({
      id,
      service_id: 40,
      period_id: 5,
      from_sample_id: null,
      to_sample_id: id,
      kind: 'daily',
      from_date: '2013-05-01',
      to_date: '2013-05-02',
      bytes: '1000',
      ...over,
    });
  const sample = (id: number, serviceId: number, day: string, usedBytes: string) =>
    knex(TABLES.samples).insert({
      id,
      service_id: serviceId,
      master_id: 1,
      server_ref: `vs${serviceId}`,
      sample_date: day,
      sampled_at: `${day} 00:05:00.250`,
      used_bytes: usedBytes,
      limit_bytes: null,
      state: 'ok',
      raw: `bw=${usedBytes}`,
    });

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createEvidenceStore(knex);
    await knex(TABLES.periods).insert({
      id: 5,
      service_id: 40,
      start_date: '2013-05-01',
      end_date: '2013-05-31',
      status: 'closed',
      opened_by: 'metering',
      closed_by: 'end_of_period',
      used_bytes: PAST_2_53.toString(),
      unmeasured_after: '2013-05-30 12:00:00.000',
      created_at: '2013-05-01 00:05:00.000',
    });
    await insertCharge(knex, 1, {
      period_id: 5,
      service_id: 40,
      client_id: 7,
      explanation: '{"rated":{"unit":"GB"}}',
    });
    await line(1, 1);
    // the pool month 6: its charge's period_id is −6 (pools.ts keeps pool months apart that way)
    await knex(TABLES.poolPeriods).insert({
      id: 6,
      client_id: 8,
      pool_key: 'product:3',
      start_date: '2013-05-01',
      end_date: '2013-05-31',
      currency: 'EUR',
      period_hours: 744,
      anchor_service_id: 50,
      allowance_bytes: '1000',
      used_bytes: PAST_2_53.toString(),
      over_bytes: '0',
      amount_minor: '0',
      details: '{"periodHours":744,"members":[]}',
      rated_at: '2013-06-01 00:10:00.000',
    });
    await insertCharge(knex, 2, { period_id: -6, service_id: 50, client_id: 8, kind: 'pool' });
    await line(2, 2, { service_id: 50, client_id: 8 });
  });

  it('reads a usage line with its charge and period, money and bytes past 2^53 exact', async () => {
    const found = await store.lineWithCharge(1);
    expect({ ...found!.line, deadlineClosesAt: found!.line.deadlineClosesAt.toISO() }).to.deep.equal({
      id: 1,
      refCode: 'OU-E-1',
      invoiceId: 31,
      serviceId: 40,
      clientId: 7,
      status: 'placed',
      amountMinor: PAST_2_53,
      currency: 'EUR',
      description: 'Overusage May 2013',
      invoiceDate: '2013-06-02',
      deadlineLastDay: '2013-06-16',
      deadlineClosesAt: '2013-06-16T22:00:00.000Z',
    });
    expect(found!.explanation).to.deep.equal({ rated: { unit: 'GB' } });
    const c = found!.charge;
    expect(c.kind).to.equal('usage');
    if (c.kind !== 'usage') return;
    expect({ ...c.period!, unmeasuredAfter: c.period!.unmeasuredAfter!.toISO() }).to.deep.equal({
      id: 5,
      startDate: '2013-05-01',
      endDate: '2013-05-31',
      usedBytes: PAST_2_53,
      closedBy: 'end_of_period',
      unmeasuredAfter: '2013-05-30T12:00:00.000Z',
    });
  });

  it("gives a client only their own line: client 8 asking for client 7's line finds nothing", async () => {
    expect(await store.lineWithCharge(1, { clientId: 8 })).to.equal(null);
    expect((await store.lineWithCharge(1, { clientId: 7 }))!.line.id).to.equal(1);
    expect(await store.lineWithCharge(999)).to.equal(null);
  });

  it("reads a pool's line as the pool month it bills, and that month with its members' figures", async () => {
    const found = await store.lineWithCharge(2);
    expect(found!.charge).to.deep.equal({ kind: 'pool', poolPeriodId: 6 });
    expect(await store.poolMonth(6)).to.deep.equal({
      id: 6,
      poolKey: 'product:3',
      startDate: '2013-05-01',
      endDate: '2013-05-31',
      usedBytes: PAST_2_53,
      details: { periodHours: 744, members: [] },
    });
    expect(await store.poolMonth(7)).to.equal(null);
  });

  it("gives a period's intervals and the services' intervals closing inside the month, by day", async () => {
    await knex(TABLES.intervals).delete();
    await interval(11, {
      to_date: '2013-05-03',
      from_date: '2013-05-02',
      from_sample_id: 10,
      bytes: PAST_2_53.toString(),
    });
    await interval(10, { kind: 'span', estimated: true });
    await interval(12, { service_id: 50, period_id: 7, to_date: '2013-04-30', from_date: '2013-04-29' });
    await interval(13, { service_id: 50, period_id: 8, to_date: '2013-05-31', from_date: '2013-05-30' });
    await interval(14, { service_id: 52, period_id: 9, to_date: '2013-05-15', from_date: '2013-05-14' });
    const ofPeriod = await store.intervalsOfPeriod(5);
    expect(ofPeriod).to.deep.equal([
      {
        serviceId: 40,
        kind: 'span',
        fromDate: '2013-05-01',
        toDate: '2013-05-02',
        bytes: 1000n,
        fromSampleId: null,
        toSampleId: 10,
        estimated: true,
      },
      {
        serviceId: 40,
        kind: 'daily',
        fromDate: '2013-05-02',
        toDate: '2013-05-03',
        bytes: PAST_2_53,
        fromSampleId: 10,
        toSampleId: 11,
        estimated: false,
      },
    ]);
    // 1–31 May for services 40 and 50: 30 April (12) is outside, 31 May (13) inside, service 52 (14) not asked
    expect(
      (await store.intervalsOfServices([40, 50], '2013-05-01', '2013-05-31')).map((i) => i.toSampleId),
    ).to.deep.equal([10, 11, 13]);
    expect(await store.intervalsOfServices([], '2013-05-01', '2013-05-31')).to.deep.equal([]);
  });

  it('gives the samples in the order they were taken, counters past 2^53 exact', async () => {
    await knex(TABLES.samples).delete();
    await sample(21, 40, '2013-05-03', PAST_2_53.toString());
    await sample(20, 40, '2013-05-02', '1000');
    const found = await store.samples([21, 20, 99]);
    expect(
      found.map((s) => [s.id, s.sampleDate, s.sampledAt.toISO(), s.usedBytes, s.limitBytes, s.state, s.raw]),
    ).to.deep.equal([
      [20, '2013-05-02', '2013-05-02T00:05:00.250Z', 1000n, null, 'ok', 'bw=1000'],
      [21, '2013-05-03', '2013-05-03T00:05:00.250Z', PAST_2_53, null, 'ok', `bw=${PAST_2_53}`],
    ]);
    expect(await store.samples([])).to.deep.equal([]);
  });

  it('refuses a line whose status is outside the line transition table, naming the column', async () => {
    await line(3, 3, { status: 'gone', ref_code: 'OU-E-3' });
    await insertCharge(knex, 3, { period_id: 5, service_id: 40, client_id: 7, seq: 1 });
    const err = await store.lineWithCharge(3).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ModuleError);
    expect((err as ModuleError).message).to.equal(
      'mod_overusage_lines.status holds "gone", which is not one of pending, placed, held, waived',
    );
  });
});
