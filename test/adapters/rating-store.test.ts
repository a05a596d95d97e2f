import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createLineStore } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createRatingStore, type NewCharge, type RatingStore } from '../../module/adapters/rating-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { accessPlan } from '../support/query-plan.js';

const T = '2013-06-01 00:10:00.000';
const AT = DateTime.fromISO('2013-06-01T00:10:00.000Z', { zone: 'utc' });
// 2^53 + 1: a Number would read 9 007 199 254 740 992
const PAST_2_53 = 9_007_199_254_740_993n;

const rating = (periodId: number, over: Partial<NewCharge> = {}): NewCharge => ({
  periodId,
  serviceId: 10,
  clientId: 1,
  productId: 3,
  periodStart: '2013-05-01',
  periodEnd: '2013-05-31',
  currency: 'EUR',
  usedBytes: 6_000_000_000_000n,
  ratedAt: AT,
  allowanceBytes: 5_000_000_000_000n,
  overBytes: 1_000_000_000_000n,
  amountMinor: 50_000n,
  roundedMinor: 50_000n,
  status: 'unbilled',
  taxed: true,
  explanation: '{"rated":{"unit":"GB"}}',
  ...over,
});

/**
 * Ann's VPS 10 (registered 10 May 2013) and Jan's VPS 11 on a master in Brussels (UTC+2 in May).
 * Periods: 5 = VPS 10's May, closed, 2^53 + 1 bytes used, its last sample saw a SolusVM limit of
 * 5 TB; 6 = VPS 10's June, open; 7 = VPS 11's May, closed, no sample; 8 = VPS 11's April, rated;
 * 9 = VPS 10's April, closed, with only a correction (seq 1) left from before a rebuild.
 */
describeEachEngine('rating store', ({ db }) => {
  let knex: Knex;
  let store: RatingStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createRatingStore(knex);
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
    const service = (id: number, clientId: number, regdate: string | null) => ({
      service_id: id,
      client_id: clientId,
      product_id: 3,
      master_id: 1,
      server_ref: `vm${id}`,
      currency: 'EUR',
      regdate,
      created_at: T,
      updated_at: T,
    });
    await knex(TABLES.services).insert([service(10, 1, '2013-05-10'), service(11, 2, null)]);
    await knex(TABLES.samples).insert({
      id: 70,
      service_id: 10,
      master_id: 1,
      server_ref: 'vm10',
      sample_date: '2013-05-31',
      sampled_at: T,
      used_bytes: '1',
      limit_bytes: '5000000000000',
      state: 'ok',
      raw: '{}',
    });
    const period = (
      id: number,
      serviceId: number,
      start: string,
      end: string,
      status: string,
      used: string,
      sample: number | null = null,
    ) => ({
      id,
      service_id: serviceId,
      start_date: start,
      end_date: end,
      status,
      opened_by: 'reset',
      used_bytes: used,
      last_sample_id: sample,
      created_at: T,
    });
    await knex(TABLES.periods).insert([
      period(5, 10, '2013-05-01', '2013-05-31', 'closed', PAST_2_53.toString(), 70),
      period(6, 10, '2013-06-01', '2013-06-30', 'open', '0'),
      period(7, 11, '2013-05-01', '2013-05-31', 'closed', '0'),
      period(8, 11, '2013-04-01', '2013-04-30', 'closed', '0'),
      period(9, 10, '2013-04-01', '2013-04-30', 'closed', '0'),
    ]);
    // 9 007 199 254 740 000 + 993 = 9 007 199 254 740 993 (= 2^53 + 1, exact only as a bigint)
    const interval = (periodId: number, sampleId: number, day: string, bytes: string) => ({
      service_id: 10,
      period_id: periodId,
      to_sample_id: sampleId,
      kind: 'normal',
      from_date: day,
      to_date: day,
      bytes,
      estimated: false,
    });
    await knex(TABLES.intervals).insert([
      interval(5, 61, '2013-05-30', '9007199254740000'),
      interval(5, 62, '2013-05-31', '993'),
      interval(9, 63, '2013-04-30', '0'),
    ]);
    await insertCharge(knex, 1, {
      period_id: 8,
      service_id: 11,
      client_id: 2,
      period_start: '2013-04-01',
      period_end: '2013-04-30',
    });
    await insertCharge(knex, 2, {
      period_id: 9,
      period_start: '2013-04-01',
      period_end: '2013-04-30',
      seq: 1,
      kind: 'correction',
    });
  });

  it('pages the closed periods without a rating by id, with their service and SolusVM’s limit, bytes past 2^53 exact', async () => {
    const page = await store.unrated(0, 10);
    expect(page.map((p) => p.id)).to.deep.equal([5, 7, 9]);
    expect(page[0]).to.deep.equal({
      id: 5,
      serviceId: 10,
      startDate: '2013-05-01',
      endDate: '2013-05-31',
      usedBytes: PAST_2_53,
      clientId: 1,
      productId: 3,
      currency: 'EUR',
      regdate: '2013-05-10',
      masterId: 1,
      limitBytes: 5_000_000_000_000n,
    });
    expect(page[1]).to.deep.include({ id: 7, regdate: null, limitBytes: null });
    // the cursor and the page size, and only the services asked about
    expect((await store.unrated(5, 1)).map((p) => p.id)).to.deep.equal([7]);
    expect((await store.unrated(0, 10, [11])).map((p) => p.id)).to.deep.equal([7]);
  });

  it('reads the page after the cursor as a range of the (status, rated, id) index, not every closed period before it', async () => {
    // At 1 000 000 periods MariaDB joined the page as `ref` on status alone and walked every closed
    // period before the cursor: 160 ms a page half way, 13 ms as a range (key_len 51: the
    // VARCHAR(10) status in utf8mb4 with its 2 length bytes, 42, + the 1-byte rated flag + the
    // 8-byte id). Only the periods not marked rated are in the range: the ones rated on earlier
    // nights are not read at all. SQLite searches the same range. The SQL the store sends is
    // explained as sent.
    const plan = await accessPlan(knex, db().engine, 'p', async () =>
      expect((await store.unrated(5, 10)).map((p) => p.id)).to.deep.equal([7, 9]),
    );
    expect(plan).to.deep.equal(
      db().engine === 'mysql'
        ? ['range', 'mod_overusage_periods_status_rated_id_index', '51']
        : [
            'SEARCH p USING INDEX mod_overusage_periods_status_rated_id_index (status=? AND rated=? AND id>?)',
          ],
    );
  });

  it('reads one period open or closed, and nothing for a period that is not there', async () => {
    expect(await store.period(6)).to.deep.include({ id: 6, closed: false, usedBytes: 0n });
    expect(await store.period(5)).to.deep.include({ id: 5, closed: true, usedBytes: PAST_2_53 });
    expect(await store.period(99)).to.equal(null);
  });

  it('sums each period’s intervals exactly, and tells which periods carry a charge already', async () => {
    expect([...(await store.intervalSums([5, 7, 9]))].sort()).to.deep.equal([
      [5, PAST_2_53],
      [9, 0n],
    ]);
    expect([...(await store.withCharges([5, 7, 8, 9]))].sort()).to.deep.equal([8, 9]);
    expect((await store.intervalSums([])).size).to.equal(0);
  });

  it('answers only for the periods asked about, whether they are read as a range of ids or one by one', async () => {
    // 7 and 9 are read as the range 7–9 (2 ids spanning 3): period 8 carries a charge but was not asked about
    expect([...(await store.withCharges([7, 9]))]).to.deep.equal([9]);
    expect([...(await store.withCharges([9, 7]))]).to.deep.equal([9]);
    // 5 and 9 span 5 ids, more than twice 2: read one by one; 8's charge is outside the list as well
    expect([...(await store.withCharges([5, 9]))]).to.deep.equal([9]);
    // the range 6–9 holds no interval of 5 (its 2^53 + 1 bytes): only 9's sum, 0
    expect([...(await store.intervalSums([6, 7, 9]))]).to.deep.equal([[9, 0n]]);
    // 9 alone is a range of one; 5 alone likewise, its two days exact past 2^53
    expect([...(await store.intervalSums([9]))]).to.deep.equal([[9, 0n]]);
    expect([...(await store.intervalSums([5]))]).to.deep.equal([[5, PAST_2_53]]);
  });

  it('reads the upgrades of a page’s services oldest first, and the masters’ zones', async () => {
    const up = (serviceId: number, to: number, on: string) => ({
      service_id: serviceId,
      client_id: 1,
      from_product_id: 3,
      to_product_id: to,
      requested_on: on,
      requested_at: T,
      credit_percent: 50,
      figures: '{}',
    });
    await knex(TABLES.upgrades).insert([
      up(10, 4, '2013-05-20'),
      up(11, 5, '2013-05-02'),
      up(10, 6, '2013-05-25'),
    ]);
    expect(
      (await store.upgradesEach([10, 11], () => {})).upgrades.map((u) => [
        u.serviceId,
        u.toProductId,
        u.requestedOn,
        u.creditPercent,
      ]),
    ).to.deep.equal([
      [10, 4, '2013-05-20', 50],
      [11, 5, '2013-05-02', 50],
      [10, 6, '2013-05-25', 50],
    ]);
    expect([...(await store.masters())]).to.deep.equal([
      [1, { resetPolicy: 'first_of_month', timeZone: 'Europe/Brussels' }],
    ]);
  });

  it('reads the five-minute rates of [from, to) in slot order', async () => {
    // May in Brussels: 30 April 22:00 UTC up to 31 May 22:00 UTC
    const slot = (at: string, bps: string) => ({ service_id: 10, slot_at: at, bps });
    await knex(TABLES.rateSamples).insert([
      slot('2013-05-31 22:00:00.000', '7'),
      slot('2013-05-10 12:00:00.000', PAST_2_53.toString()),
      slot('2013-04-30 22:00:00.000', '5'),
      slot('2013-04-30 21:55:00.000', '3'),
    ]);
    const from = DateTime.fromISO('2013-04-30T22:00:00Z', { zone: 'utc' });
    expect(await store.fiveMinuteRates(10, from, from.plus({ days: 31 }))).to.deep.equal([5n, PAST_2_53]);
  });

  it('writes a page of ratings and leaves a period rated meanwhile as it was', async () => {
    await knex(TABLES.charges).where('period_id', '>', 99).delete();
    await knex.transaction((trx) =>
      store.insertRatings(trx, [
        rating(100, { amountMinor: PAST_2_53, roundedMinor: PAST_2_53 }),
        rating(101, { status: 'within_allowance', taxed: false }),
      ]),
    );
    await knex.transaction((trx) => store.insertRatings(trx, [rating(100, { amountMinor: 1n })]));
    const rows = await knex(TABLES.charges)
      .where('period_id', '>', 99)
      .orderBy('period_id')
      .select('period_id', 'seq', 'kind', 'amount_minor', 'status', 'rated_at');
    expect(
      rows.map((r) => [
        Number(r.period_id),
        Number(r.seq),
        r.kind,
        BigInt(r.amount_minor),
        r.status,
        String(r.rated_at).slice(0, 19),
      ]),
    ).to.deep.equal([
      [100, 0, 'usage', PAST_2_53, 'unbilled', '2013-06-01 00:10:00'],
      [101, 0, 'usage', 50_000n, 'within_allowance', '2013-06-01 00:10:00'],
    ]);
  });

  it('writes every column of a page exactly as given, whatever the text holds, over more than one statement', async () => {
    await knex(TABLES.charges).where('period_id', '>', 999).delete();
    // a quote, a backslash before a quote, NUL, Ctrl-Z, newline, tab, placeholders and multi-byte text
    const nasty = `{"note":"it's \\' \u0000 \u001a \n \t ? ?? :x é 😀 '); DROP TABLE x; --"}`;
    const texts = [nasty, '\\', "'", '', 'é'];
    // 2 345 charges = statements of 1 000, 1 000 and 345 rows
    const page = Array.from({ length: 2345 }, (_, i) =>
      rating(1000 + i, {
        explanation: texts[i % texts.length]!,
        taxed: i % 2 === 0,
        amountMinor: i === 7 ? PAST_2_53 : BigInt(i),
        roundedMinor: BigInt(-i),
        currency: i % 3 === 0 ? 'BHD' : 'EUR',
      }),
    );
    await knex.transaction((trx) => store.insertRatings(trx, page));
    const rows = await knex(TABLES.charges)
      .where('period_id', '>', 999)
      .orderBy('period_id')
      .select('period_id', 'explanation', 'taxed', 'amount_minor', 'rounded_minor', 'currency', 'used_bytes');
    expect(rows.length).to.equal(2345);
    const got = rows.map((r) => [
      Number(r.period_id),
      r.explanation,
      Boolean(Number(r.taxed)),
      BigInt(r.amount_minor),
      BigInt(r.rounded_minor),
      r.currency,
      BigInt(r.used_bytes),
    ]);
    const want = page.map((c) => [
      c.periodId,
      c.explanation,
      c.taxed,
      c.amountMinor,
      c.roundedMinor,
      c.currency,
      6_000_000_000_000n,
    ]);
    expect(got).to.deep.equal(want);
    // the nasty text came back byte for byte: 1 000's explanation is texts[0]
    expect(got[0]![1]).to.equal(nasty);
    expect(await knex.schema.hasTable('x')).to.equal(false);
  });

  it('rates a period again in a transaction: its charges by seq, their lines, replaced, voided and corrected', async () => {
    await knex(TABLES.charges).where('period_id', '>', 199).delete();
    await knex.transaction((trx) => store.insertRatings(trx, [rating(200)]));
    const usage = await knex.transaction((trx) => store.chargeIdAt(trx, 200, 0));
    await createLineStore(knex).insertPendingIfChargeUnbilled({
      chargeId: usage,
      serviceId: 10,
      clientId: 1,
      invoiceId: 5,
      refCode: 'OU-C000000200',
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
    await knex.transaction(async (trx) => {
      // €500.00 billed, rated again at €350.00: a correction of −€150.00 at seq 1
      const correction = await store.addCorrection(
        trx,
        rating(200, { amountMinor: -15_000n, roundedMinor: -15_000n, status: 'review' }),
        1,
      );
      const charges = await store.chargesOfPeriod(trx, 200);
      expect(charges!.map((c) => [c.id, c.seq, c.status, c.amountMinor])).to.deep.equal([
        [usage, 0, 'unbilled', 50_000n],
        [correction, 1, 'review', -15_000n],
      ]);
      const lines = await store.linesOf(trx, [usage, correction]);
      expect([...lines.keys()]).to.deep.equal([usage]);
      expect(await store.anyDisputed(trx, [...lines.values()])).to.equal(false);
      await store.replaceCharge(
        trx,
        usage,
        rating(200, { usedBytes: PAST_2_53, amountMinor: 35_000n, status: 'written_off' }),
      );
      await store.voidCharges(trx, [correction]);
      expect(
        (await store.chargesOfPeriod(trx, 200))!.map((c) => [c.seq, c.status, c.usedBytes, c.amountMinor]),
      ).to.deep.equal([
        [0, 'written_off', PAST_2_53, 35_000n],
        [1, 'void', 6_000_000_000_000n, -15_000n],
      ]);
    });
  });

  it('tells a disputed line (a withdrawn dispute does not count) and an undecided drop of the counter', async () => {
    const dispute = (lineId: number, state: string) => ({
      line_id: lineId,
      client_id: 1,
      service_id: 10,
      state,
      reason: 'too much',
      opened_by_type: 'client',
      opened_at: T,
      hold_state: 'held',
      original_invoice_id: 5,
      amount_before_minor: '50000',
      currency: 'EUR',
      updated_at: T,
    });
    await knex(TABLES.disputes).insert([dispute(301, 'withdrawn'), dispute(302, 'open')]);
    await knex(TABLES.anomalies).insert({
      service_id: 10,
      period_id: 5,
      kind: 'mid_period_drop',
      sample_id: 71,
      seen_on: '2013-05-20',
      details: '{}',
      status: 'open',
      created_at: T,
    });
    await knex.transaction(async (trx) => {
      expect([
        await store.anyDisputed(trx, [301]),
        await store.anyDisputed(trx, [301, 302]),
        await store.anyDisputed(trx, []),
      ]).to.deep.equal([false, true, false]);
      expect([await store.undecidedDrop(trx, 5), await store.undecidedDrop(trx, 7)]).to.deep.equal([
        true,
        false,
      ]);
    });
  });

  it('refuses a charge whose stored status is not a charge status, naming its column', async () => {
    await insertCharge(knex, 400, { period_id: 400, status: 'gone' });
    const err = await knex
      .transaction((trx) => store.chargesOfPeriod(trx, 400))
      .then(
        () => null,
        (e: unknown) => e as ModuleError,
      );
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_charges.status holds "gone", which is not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
    ]);
  });
});
