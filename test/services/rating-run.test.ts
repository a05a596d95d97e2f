import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';
import {
  addMaster,
  addPeriod,
  addService,
  chargesOf,
  GB,
  migrateRatingRows,
  NOW,
  PER_GB,
  ratingRows,
  setProduct,
  TB,
  usageCharge,
  type RatingRows,
} from '../support/rating-rows.js';

const MAY = { start: '2013-05-01', end: '2013-05-31' };
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const explanationOf = async (knex: Knex, periodId: number) =>
  JSON.parse(String((await usageCharge(knex, periodId)).explanation)) as {
    rated: Record<string, unknown>;
    profile: Record<string, unknown>;
    reason?: string;
    upgradeCredit?: Record<string, unknown>;
  };

/**
 * The daily rating run over closed periods, from the provider's side: what each closed period
 * bills under its product's settings (5 TB included, €0.50 per GB over unless a test says
 * otherwise), a short period prorated, SolusVM's limit as the allowance, a client's cap, an
 * upgrade's credit, a pool member's own period; and the periods it leaves unrated, saying why.
 * Master 1 is in Brussels: May 2013 is UTC+2 throughout, so 1 June 00:00 there is 31 May 22:00 UTC.
 */
describeEachEngine('the rating run over closed periods', ({ db }) => {
  let knex: Knex;
  let r: RatingRows;

  before(async () => {
    knex = db().knex;
    await migrateRatingRows(knex);
  });
  beforeEach(async () => {
    r = await ratingRows(knex);
    await setProduct(r, 3, PER_GB);
  });

  it('bills May at 6 000 GB as 1 000 GB over 5 TB at €0.50: €500.00, every figure of the charge stored', async () => {
    // 6 000 GB − 5 000 GB = 1 000 GB × €0.50 = €500.00 = 50 000 cents; May: 31 days, 31 × 86 400 s
    await addService(knex, 10, { clientId: 7 });
    await addPeriod(knex, 1, {
      serviceId: 10,
      ...MAY,
      used: 6000n * GB,
      intervals: [2500n * GB, 3500n * GB],
    });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    const c = await usageCharge(knex, 1);
    expect({
      period: [Number(c.period_id), Number(c.service_id), Number(c.client_id), Number(c.product_id)],
      days: [String(c.period_start).slice(0, 10), String(c.period_end).slice(0, 10)],
      currency: c.currency,
      bytes: [BigInt(c.used_bytes), BigInt(c.allowance_bytes), BigInt(c.over_bytes)],
      minor: [BigInt(c.amount_minor), BigInt(c.rounded_minor)],
      status: c.status,
      taxed: Boolean(c.taxed),
      ratedAt: String(c.rated_at).slice(0, 19),
    }).to.deep.equal({
      period: [1, 10, 7, 3],
      days: ['2013-05-01', '2013-05-31'],
      currency: 'EUR',
      bytes: [6000n * GB, 5000n * GB, 1000n * GB],
      minor: [50_000n, 50_000n],
      status: 'unbilled',
      taxed: true,
      ratedAt: NOW.toFormat('yyyy-MM-dd HH:mm:ss'),
    });
    const why = await explanationOf(knex, 1);
    expect(why.rated).to.include({
      usedBytes: '6000000000000',
      overBytes: '1000000000000',
      amountMinor: '50000',
      days: 31,
      nominalDays: 31,
      periodSeconds: '2678400',
      prorated: false,
      capMinor: null,
    });
    expect(why.profile).to.include({ unit: 'GB', model: 'per_unit', allowance: '5000000000000' });
  });

  it('prorates the allowance of a service registered on 22 May: 10 of 31 days', async () => {
    // 22–31 May = 10 days of 31: ⌈5 000 000 000 000 × 10 ÷ 31⌉ = ⌈1 612 903 225 806.45⌉ = 1 612 903 225 807 bytes;
    // 2 000 GB used → 387 096 774 193 bytes over = 387.096774193 GB × €0.50 = €193.5483870965 → €193.55
    await addService(knex, 10, { regdate: '2013-05-22' });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 2000n * GB });
    await r.rating.rateClosedPeriods();
    const c = await usageCharge(knex, 1);
    expect([BigInt(c.allowance_bytes), BigInt(c.over_bytes), BigInt(c.amount_minor)]).to.deep.equal([
      1_612_903_225_807n,
      387_096_774_193n,
      19_355n,
    ]);
    // 22 May 00:00 to 1 June 00:00 in Brussels: 10 × 86 400 s
    expect((await explanationOf(knex, 1)).rated).to.include({
      days: 10,
      nominalDays: 31,
      periodSeconds: '864000',
      prorated: true,
    });
  });

  it('gives a service registered before the period its whole allowance', async () => {
    // registered 9 January: all of May's 31 days; 6 000 GB → €500.00 as for anyone
    await addService(knex, 10, { regdate: '2013-01-09' });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await r.rating.rateClosedPeriods();
    expect(BigInt((await usageCharge(knex, 1)).amount_minor)).to.equal(50_000n);
    expect((await explanationOf(knex, 1)).rated).to.include({ days: 31, nominalDays: 31, prorated: false });
  });

  it("rates March by the average rate over its true length in each master's zone", async () => {
    // Brussels went to summer time on 31 March 2013: its March is 31 × 86 400 − 3 600 = 2 674 800 s.
    // 668 700 000 000 bytes × 8 ÷ 2 674 800 s = 2 000 000 bit/s = 2 Mbit/s; 1 committed →
    // 1 Mbit/s × €10.00 = €10.00. Tokyo has no summer time: 2 678 400 s, so the same bytes are
    // 5 349 600 000 000 ÷ 2 678 400 = 1 997 311.83 bit/s (1 997 312 half-up), over the commit
    // (5 349 600 000 000 − 2 678 400 000 000) ÷ 2 678 400 000 000 = 0.997311827 Mbit/s × €10.00 = €9.97
    await setProduct(r, 3, {
      unit: 'GB',
      model: 'avg_mbps',
      commitMbps: '1',
      allowance: '0',
      prices: { EUR: { overage: '10.00' } },
    });
    await addMaster(knex, 2, 'Asia/Tokyo');
    await addService(knex, 10);
    await addService(knex, 11, { masterId: 2 });
    const MARCH = { start: '2013-03-01', end: '2013-03-31', used: 668_700_000_000n };
    await addPeriod(knex, 1, { serviceId: 10, ...MARCH });
    await addPeriod(knex, 2, { serviceId: 11, ...MARCH });
    await r.rating.rateClosedPeriods();
    expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
      [0, 1_000n, 'unbilled'],
      [0, 997n, 'unbilled'],
    ]);
    expect((await explanationOf(knex, 1)).rated).to.include({
      periodSeconds: '2674800',
      measuredBps: '2000000',
    });
    expect((await explanationOf(knex, 2)).rated).to.include({
      periodSeconds: '2678400',
      measuredBps: '1997312',
    });
  });

  it('rates a whole month and a month begun mid-way in one run, each on its own days', async () => {
    // service 10: all 31 days, 6 000 GB → 1 000 GB over = €500.00; service 11 registered 22 May:
    // 10 of 31 days, ⌈5 TB × 10 ÷ 31⌉ = 1 612 903 225 807 bytes included, 2 000 GB used → €193.55 (as above)
    await addService(knex, 10);
    await addService(knex, 11, { regdate: '2013-05-22' });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 2000n * GB });
    await r.rating.rateClosedPeriods();
    expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
      [0, 50_000n, 'unbilled'],
      [0, 19_355n, 'unbilled'],
    ]);
  });

  it("takes each service's allowance from its own SolusVM limit, in one run", async () => {
    // 6 TB used on a 5 TB limit: 1 000 GB × €0.50 = €500.00; on a 4 TB limit: 2 000 GB = €1 000.00
    await setProduct(r, 3, { ...PER_GB, allowance: 'solusvm' });
    await addService(knex, 10);
    await addService(knex, 11);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB, limitBytes: 5n * TB });
    await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB, limitBytes: 4n * TB });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 2, skipped: [] });
    expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
      [0, 50_000n, 'unbilled'],
      [0, 100_000n, 'unbilled'],
    ]);
  });

  it('leaves a period unrated when its allowance comes from SolusVM and SolusVM reported no limit', async () => {
    await setProduct(r, 3, { ...PER_GB, allowance: 'solusvm' });
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB, limitBytes: null });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({
      rated: 0,
      skipped: [
        {
          periodId: 1,
          serviceId: 10,
          reason: 'the allowance comes from SolusVM, but SolusVM reports no limit for this server',
        },
      ],
    });
    expect(await chargesOf(knex, 1)).to.deep.equal([]);
  });

  it('bills each client in his own currency, yen without decimals and dinars with three, in one run', async () => {
    // 1 000 GB over each: × €0.50 = €500.00 (50 000 cents); × ¥80 = ¥80 000 (no minor unit);
    // × BD 0.150 = BD 150.000 (150 000 fils)
    await setProduct(r, 3, {
      ...PER_GB,
      prices: { EUR: { overage: '0.50' }, JPY: { overage: '80' }, BHD: { overage: '0.150' } },
    });
    await addService(knex, 10, { currency: 'EUR' });
    await addService(knex, 11, { currency: 'JPY' });
    await addService(knex, 12, { currency: 'BHD' });
    for (const [id, service] of [
      [1, 10],
      [2, 11],
      [3, 12],
    ])
      await addPeriod(knex, id!, { serviceId: service!, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    const rows = await knex(TABLES.charges).orderBy('period_id');
    expect(rows.map((c) => [c.currency, BigInt(c.amount_minor)])).to.deep.equal([
      ['EUR', 50_000n],
      ['JPY', 80_000n],
      ['BHD', 150_000n],
    ]);
  });

  it('leaves a period in a currency the product has no price for unrated, and says so', async () => {
    await addService(knex, 10, { currency: 'USD' });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    expect((await r.rating.rateClosedPeriods()).skipped).to.deep.equal([
      { periodId: 1, serviceId: 10, reason: 'no USD price is set for this product' },
    ]);
  });

  it('writes a warning naming how many periods were left unrated and the first of them', async () => {
    await addService(knex, 10, { currency: 'USD' });
    await addService(knex, 11, { currency: 'USD' });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    expect(
      r.logged.map(([level, event, line]) => [level, event, (line as { count: number }).count]),
    ).to.deep.equal([['warn', 'rating.skipped', 2]]);
    expect((r.logged[0]![2] as { first: unknown }).first).to.deep.equal({
      periodId: 1,
      serviceId: 10,
      reason: 'no USD price is set for this product',
    });
  });

  it('writes nothing to the log when every period is rated', async () => {
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    expect(r.logged).to.deep.equal([]);
  });

  it('rates a period of 0 bytes with no daily figures at all: within the allowance', async () => {
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 0n, intervals: [] });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 0n, 'within_allowance']]);
  });

  it('records a period within the allowance as such, billing nothing', async () => {
    // 4 000 GB of 5 000 GB: nothing over
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 4n * TB });
    await r.rating.rateClosedPeriods();
    const c = await usageCharge(knex, 1);
    expect([c.status, BigInt(c.amount_minor), BigInt(c.over_bytes)]).to.deep.equal([
      'within_allowance',
      0n,
      0n,
    ]);
  });

  it('writes off a charge under the minimum, keeping what it came to', async () => {
    // 1 000 GB × €0.50 = €500.00, under the €600.00 minimum: written off, bills €0.00
    await setProduct(r, 3, { ...PER_GB, prices: { EUR: { overage: '0.50', minimum: '600.00' } } });
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    const c = await usageCharge(knex, 1);
    expect([c.status, BigInt(c.amount_minor), BigInt(c.rounded_minor)]).to.deep.equal([
      'written_off',
      0n,
      50_000n,
    ]);
  });

  it('marks an untaxed product’s charge untaxed', async () => {
    await setProduct(r, 3, { ...PER_GB, taxed: false });
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    expect(Boolean((await usageCharge(knex, 1)).taxed)).to.equal(false);
  });

  it('records a product without settings as not billed: no amount, untaxed, and why', async () => {
    await addService(knex, 10, { productId: 9 });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    const c = await usageCharge(knex, 1);
    expect({
      status: c.status,
      bytes: [BigInt(c.used_bytes), BigInt(c.allowance_bytes), BigInt(c.over_bytes)],
      minor: [BigInt(c.amount_minor), BigInt(c.rounded_minor)],
      taxed: Boolean(c.taxed),
      explanation: JSON.parse(String(c.explanation)),
    }).to.deep.equal({
      status: 'not_billed',
      bytes: [6n * TB, 0n, 0n],
      minor: [0n, 0n],
      taxed: false,
      explanation: { reason: 'the product is not billed for overusage' },
    });
  });

  it("records a pool member's own period as pooled: its figures shown, nothing billed on it", async () => {
    // the pool's charge bills (module/services/pools.ts); the member's 1 000 GB over came to €500.00
    await setProduct(r, 3, { ...PER_GB, pool: 'eu' });
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    await r.rating.rateClosedPeriods();
    const c = await usageCharge(knex, 1);
    expect([c.status, BigInt(c.amount_minor), BigInt(c.rounded_minor), BigInt(c.over_bytes)]).to.deep.equal([
      'pooled',
      0n,
      50_000n,
      1000n * GB,
    ]);
  });

  it('rates every closed period page by page, and only the services asked about', async () => {
    // five services, 6 TB each (€500.00), in pages of two; then a sixth only when asked for
    for (let i = 1; i <= 5; i++) {
      await addService(knex, 10 + i);
      await addPeriod(knex, i, { serviceId: 10 + i, ...MAY, used: 6n * TB });
    }
    await addService(knex, 20);
    await addPeriod(knex, 6, { serviceId: 20, ...MAY, used: 6n * TB });
    expect(await r.rating.rateClosedPeriods({ serviceIds: [11, 12, 13, 14, 15], pageSize: 2 })).to.deep.equal(
      { rated: 5, skipped: [] },
    );
    const rated = await knex(TABLES.charges).orderBy('period_id').select('period_id', 'amount_minor');
    expect(rated.map((c) => [Number(c.period_id), BigInt(c.amount_minor)])).to.deep.equal([
      [1, 50_000n],
      [2, 50_000n],
      [3, 50_000n],
      [4, 50_000n],
      [5, 50_000n],
    ]);
    // a run after it finds only the sixth
    expect(await r.rating.rateClosedPeriods({ pageSize: 2 })).to.deep.equal({ rated: 1, skipped: [] });
  });

  it('rates 601 periods in pages of 500 rated a slice at a time: each once, only the rated marked', async () => {
    // Service 1000 + i, period i, (5 000 + i) GB in May: i GB over 5 TB × €0.50 = 50·i cents.
    // Page 1 = periods 1–500 (rated in slices of 250: 251 is the first period of the second
    // slice), page 2 = 501–601, the last partial page. Period 251's daily figures sum to 1 GB less
    // than its total: skipped and not marked rated (page 1 marks 499 periods, page 2 101).
    // Billed: 50 × (1 + … + 601 − 251) = 50 × (601 × 602 / 2 − 251) = 50 × 180 650
    // = 9 032 500 cents over 600 charges.
    const n = 601;
    const ids = Array.from({ length: n }, (_, k) => k + 1);
    await knex.batchInsert(
      TABLES.services,
      ids.map((i) => ({
        service_id: 1000 + i,
        client_id: 1000 + i,
        product_id: 3,
        master_id: 1,
        server_ref: `vm${1000 + i}`,
        currency: 'EUR',
        created_at: '2013-06-01 00:10:00.000',
        updated_at: '2013-06-01 00:10:00.000',
      })),
      200,
    );
    const used = (i: number) => (5000n + BigInt(i)) * GB;
    await knex.batchInsert(
      TABLES.periods,
      ids.map((i) => ({
        id: i,
        service_id: 1000 + i,
        start_date: MAY.start,
        end_date: MAY.end,
        status: 'closed',
        opened_by: 'reset',
        used_bytes: String(used(i)),
        created_at: '2013-06-01 00:10:00.000',
      })),
      200,
    );
    await knex.batchInsert(
      TABLES.intervals,
      ids.map((i) => ({
        service_id: 1000 + i,
        period_id: i,
        to_sample_id: i,
        kind: 'normal',
        from_date: MAY.end,
        to_date: MAY.end,
        bytes: String(i === 251 ? used(i) - GB : used(i)),
        estimated: false,
      })),
      200,
    );
    const out = await r.rating.rateClosedPeriods({ pageSize: 500 });
    expect(out.rated).to.equal(600);
    expect(out.skipped.map((s) => [s.periodId, s.serviceId])).to.deep.equal([[251, 1251]]);
    const rows = await knex(TABLES.charges).orderBy('period_id').select('period_id', 'seq', 'amount_minor');
    expect(rows.map((c) => Number(c.period_id))).to.deep.equal(ids.filter((i) => i !== 251));
    expect(
      rows.every((c) => Number(c.seq) === 0 && BigInt(c.amount_minor) === 50n * BigInt(c.period_id)),
    ).to.equal(true);
    expect(rows.reduce((sum, c) => sum + BigInt(c.amount_minor), 0n)).to.equal(9_032_500n);
    const marked = await knex(TABLES.periods).where({ rated: true }).orderBy('id').pluck('id');
    expect(marked.map(Number)).to.deep.equal(ids.filter((i) => i !== 251));
    // run again: nothing rated twice, 251 still skipped
    expect(await r.rating.rateClosedPeriods({ pageSize: 500 })).to.deep.equal({
      rated: 0,
      skipped: [{ periodId: 251, serviceId: 1251, reason: out.skipped[0]!.reason }],
    });
    expect(await knex(TABLES.charges).count({ n: '*' }).first()).to.satisfy(
      (c: { n: unknown }) => Number(c.n) === 600,
    );
  });

  it('rates without caps when the rating service is given no caps service', async () => {
    // 1 000 GB over × €0.50 = €500.00
    r = await ratingRows(knex, { withCaps: false });
    await setProduct(r, 3, PER_GB);
    await addService(knex, 10);
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
  });

  it('leaves open periods alone', async () => {
    await addService(knex, 10);
    await addPeriod(knex, 1, {
      serviceId: 10,
      start: '2013-06-01',
      end: '2013-06-30',
      used: 6n * TB,
      status: 'open',
    });
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 0, skipped: [] });
  });

  describe('a period that carries a charge from before a rebuild', () => {
    it('is rated afresh beside the others, the old charge voided, each counted once', async () => {
      // the rebuilt May: 6 TB → €500.00; the €300.00 left from before was on no invoice. Service
      // 11's May (6 TB, no charge yet) is rated in the page: 2 periods rated in all
      await addService(knex, 10);
      await addService(knex, 11);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
      await knex(TABLES.charges).insert(oldCharge(1, 10, 30_000n));
      expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 2, skipped: [] });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 50_000n, 'unbilled'],
        [1, 30_000n, 'void'],
      ]);
      expect(await chargesOf(knex, 2)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    });

    it('audits its rating as the system closing the period', async () => {
      await addService(knex, 10);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await knex(TABLES.charges).insert(oldCharge(1, 10, 30_000n));
      await r.rating.rateClosedPeriods();
      const rows = await knex(TABLES.audit).where({ action: 'charge.rated' });
      expect(
        rows.map((a) => [a.actor_type, (JSON.parse(String(a.details)) as { because: string }).because]),
      ).to.deep.equal([['system', 'period.closed']]);
    });

    it('is left unrated, saying why, when its figures do not add up', async () => {
      await addService(knex, 10);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB, intervals: [6n * TB - 1n] });
      await knex(TABLES.charges).insert(oldCharge(1, 10, 30_000n));
      expect(await r.rating.rateClosedPeriods()).to.deep.equal({
        rated: 0,
        skipped: [
          {
            periodId: 1,
            // the service, as for any period left unrated (it said service 0 before)
            serviceId: 10,
            reason:
              'its daily figures sum to 5999999999999 bytes, not the 6000000000000 bytes counted; not rated',
          },
        ],
      });
    });
  });

  describe('an upgrade asked for during the period', () => {
    beforeEach(async () => {
      // the plan upgraded to: 10 TB included, so May on it would bill nothing
      await setProduct(r, 4, { ...PER_GB, allowance: '10 TB' });
      await addService(knex, 10, { productId: 4 });
      await addService(knex, 11, { productId: 4 });
    });
    const upgrade = (serviceId: number, on: string, percent: number) =>
      knex(TABLES.upgrades).insert({
        service_id: serviceId,
        client_id: serviceId,
        from_product_id: 3,
        to_product_id: 4,
        requested_on: on,
        requested_at: `${on} 10:00:00.000`,
        credit_percent: percent,
        figures: '{}',
      });

    it('rates the period on the plan it began on, less the credit: €500.00 − 50 % = €250.00', async () => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await upgrade(10, '2013-05-20', 50);
      await r.rating.rateClosedPeriods();
      const c = await usageCharge(knex, 1);
      expect([Number(c.product_id), BigInt(c.amount_minor), c.status]).to.deep.equal([
        3,
        25_000n,
        'unbilled',
      ]);
      expect((await explanationOf(knex, 1)).upgradeCredit).to.deep.equal({
        percent: 50,
        creditedMinor: '25000',
        toProductId: 4,
      });
    });

    it('counts an upgrade on the first and on the last day of the period, not the day before or after', async () => {
      // service 10 asked on 1 May (30 %), 11 on 31 May (50 %): May on product 3, €500.00 less
      // €150.00 = €350.00 and less €250.00 = €250.00. Service 10's April ends the day before its
      // upgrade and service 11's June begins the day after: both on product 4 (10 TB: nothing)
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
      await addPeriod(knex, 3, { serviceId: 10, start: '2013-04-01', end: '2013-04-30', used: 6n * TB });
      await addPeriod(knex, 4, { serviceId: 11, start: '2013-06-01', end: '2013-06-30', used: 6n * TB });
      await upgrade(10, '2013-05-01', 30);
      await upgrade(11, '2013-05-31', 50);
      await r.rating.rateClosedPeriods();
      const rows = await knex(TABLES.charges).orderBy('period_id');
      expect(rows.map((c) => [Number(c.product_id), BigInt(c.amount_minor), c.status])).to.deep.equal([
        [3, 35_000n, 'unbilled'],
        [3, 25_000n, 'unbilled'],
        [4, 0n, 'within_allowance'],
        [4, 0n, 'within_allowance'],
      ]);
    });

    it("applies only the service's own upgrade", async () => {
      // service 11 upgraded in May; service 10 did not: it is rated on its product 4 (10 TB: nothing)
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await upgrade(11, '2013-05-20', 50);
      await r.rating.rateClosedPeriods();
      const c = await usageCharge(knex, 1);
      expect([Number(c.product_id), BigInt(c.amount_minor), c.status]).to.deep.equal([
        4,
        0n,
        'within_allowance',
      ]);
    });

    it('writes the charge off when the whole of it is credited', async () => {
      // €500.00 − 100 % = €0.00
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await upgrade(10, '2013-05-20', 100);
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 0n, 'written_off']]);
    });

    it('credits nothing at 0 %, and says no credit', async () => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await upgrade(10, '2013-05-20', 0);
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
      expect((await explanationOf(knex, 1)).upgradeCredit).to.equal(undefined);
    });

    it('credits nothing on a period within the allowance', async () => {
      // 4 TB on product 3's 5 TB: nothing billed, nothing to credit
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 4n * TB });
      await upgrade(10, '2013-05-20', 50);
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 0n, 'within_allowance']]);
      expect((await explanationOf(knex, 1)).upgradeCredit).to.equal(undefined);
    });
  });

  describe("a client's own cap", () => {
    // the period ends at 1 June 00:00 in Brussels = 31 May 22:00 UTC
    const END = '2013-05-31T22:00:00Z';
    const euros = (n: bigint) => ({
      kind: 'money' as const,
      amount: n,
      currency: 'EUR',
      action: 'throttle' as const,
    });
    beforeEach(async () => {
      await addService(knex, 10);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
    });

    it('bills no more than a cap of €100.00 in force at the period’s end', async () => {
      // 1 000 GB × €0.50 = €500.00, capped at €100.00
      r.caps.push({ serviceId: 10, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null });
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 10_000n, 'unbilled']]);
      expect((await explanationOf(knex, 1)).rated).to.include({ capped: true, capMinor: '10000' });
    });

    it('keeps a cap lifted at the very end of the period, and ignores one set at that instant', async () => {
      // €100.00 set 10 May, lifted at 1 June 00:00 local: in force to the end; €50.00 set then: June's
      r.caps.push(
        { serviceId: 10, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: utc(END) },
        { serviceId: 10, cap: euros(5_000n), setAt: utc(END), liftedAt: null },
      );
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 10_000n, 'unbilled']]);
    });

    it('ignores a cap lifted a minute before the end, and takes the one set a minute before it', async () => {
      // €100.00 lifted 31 May 23:59 local; €200.00 set 23:59 local, in force at the end
      r.caps.push(
        {
          serviceId: 10,
          cap: euros(10_000n),
          setAt: utc('2013-05-10T08:00:00Z'),
          liftedAt: utc('2013-05-31T21:59:00Z'),
        },
        { serviceId: 10, cap: euros(20_000n), setAt: utc('2013-05-31T21:59:00Z'), liftedAt: null },
      );
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 20_000n, 'unbilled']]);
    });

    it('ignores a cap lifted before the end of the period', async () => {
      // €100.00 set 10 May, lifted 20 May: May bills its €500.00
      r.caps.push({
        serviceId: 10,
        cap: euros(10_000n),
        setAt: utc('2013-05-10T08:00:00Z'),
        liftedAt: utc('2013-05-20T08:00:00Z'),
      });
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    });

    it('caps each service of a run at its own cap', async () => {
      // service 10 at €100.00, service 11 at €200.00; both 1 000 GB over (€500.00)
      await addService(knex, 11);
      await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
      r.caps.push(
        { serviceId: 10, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null },
        { serviceId: 11, cap: euros(20_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null },
      );
      await r.rating.rateClosedPeriods();
      expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
        [0, 10_000n, 'unbilled'],
        [0, 20_000n, 'unbilled'],
      ]);
    });

    it('takes the cap in force at each period’s own end when one run rates periods that end on different days', async () => {
      // service 11's April period ends 1 May 00:00 in Brussels = 30 April 22:00 UTC; its €100.00 cap
      // was set 10 May, after that end: April bills its full 1 000 GB × €0.50 = €500.00, while
      // service 10's May period (end 31 May 22:00 UTC) is capped by its own €100.00 set the same day
      await addService(knex, 11);
      await addPeriod(knex, 2, { serviceId: 11, start: '2013-04-01', end: '2013-04-30', used: 6n * TB });
      r.caps.push(
        { serviceId: 10, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null },
        { serviceId: 11, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null },
      );
      await r.rating.rateClosedPeriods();
      expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
        [0, 10_000n, 'unbilled'],
        [0, 50_000n, 'unbilled'],
      ]);
    });

    it('bills a service without a cap in full when another service of the same run has one', async () => {
      // service 10 capped at €100.00; service 11 (no cap) 1 000 GB over: €500.00 in full
      await addService(knex, 11);
      await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
      r.caps.push({ serviceId: 10, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null });
      await r.rating.rateClosedPeriods();
      expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
        [0, 10_000n, 'unbilled'],
        [0, 50_000n, 'unbilled'],
      ]);
    });

    it("ignores another service's cap", async () => {
      r.caps.push({ serviceId: 11, cap: euros(10_000n), setAt: utc('2013-05-10T08:00:00Z'), liftedAt: null });
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    });

    it('rates on the product’s plan when the cap no longer fits it (a cap in dollars on a euro service)', async () => {
      r.caps.push({
        serviceId: 10,
        cap: { kind: 'money', amount: 10_000n, currency: 'USD', action: 'throttle' },
        setAt: utc('2013-05-10T08:00:00Z'),
        liftedAt: null,
      });
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    });
  });

  describe('the 95th percentile', () => {
    // 10 Mbit/s committed, €4.00 per Mbit/s over it; with fewer than 20 rates none is dropped
    beforeEach(async () => {
      await setProduct(r, 3, {
        unit: 'GB',
        model: 'p95',
        commitMbps: '10',
        allowance: '0',
        prices: { EUR: { overage: '4.00' } },
      });
    });
    const rate = (serviceId: number, at: string, mbps: bigint) =>
      knex(TABLES.rateSamples).insert({ service_id: serviceId, slot_at: at, bps: String(mbps * 1_000_000n) });

    it("takes the rates of the period's days in its master's zone, not those either side", async () => {
      // in May (Brussels): 1 May 00:00 local = 30 April 22:00 UTC (20 Mbit/s) and 31 May 23:55 local
      // (30 Mbit/s); outside: 30 April 23:55 local (90) and 1 June 00:00 local (80).
      // 30 − 10 = 20 Mbit/s × €4.00 = €80.00
      await addService(knex, 10);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await rate(10, '2013-04-30 21:55:00.000', 90n);
      await rate(10, '2013-04-30 22:00:00.000', 20n);
      await rate(10, '2013-05-31 21:55:00.000', 30n);
      await rate(10, '2013-05-31 22:00:00.000', 80n);
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 8_000n, 'unbilled']]);
    });

    it('takes the rates from the day a service registered mid-period', async () => {
      // registered 15 May: from 15 May 00:00 local = 14 May 22:00 UTC; 14 May 23:55 local (90) is not its.
      // 25 − 10 = 15 Mbit/s × €4.00 = €60.00
      await addService(knex, 10, { regdate: '2013-05-15' });
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await rate(10, '2013-05-14 21:55:00.000', 90n);
      await rate(10, '2013-05-14 22:00:00.000', 25n);
      await r.rating.rateClosedPeriods();
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 6_000n, 'unbilled']]);
    });

    it("does not mix two services' rates", async () => {
      // service 10: 30 Mbit/s → €80.00; service 11: 15 Mbit/s → 5 × €4.00 = €20.00
      await addService(knex, 10);
      await addService(knex, 11);
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6n * TB });
      await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 6n * TB });
      await rate(10, '2013-05-10 12:00:00.000', 30n);
      await rate(11, '2013-05-10 12:00:00.000', 15n);
      await r.rating.rateClosedPeriods();
      expect([...(await chargesOf(knex, 1)), ...(await chargesOf(knex, 2))]).to.deep.equal([
        [0, 8_000n, 'unbilled'],
        [0, 2_000n, 'unbilled'],
      ]);
    });
  });
});

/** a charge left from before a rebuild: a correction (seq 1) on no invoice */
function oldCharge(periodId: number, serviceId: number, amountMinor: bigint) {
  return {
    period_id: periodId,
    seq: 1,
    kind: 'correction',
    service_id: serviceId,
    client_id: serviceId,
    product_id: 3,
    period_start: '2013-05-01',
    period_end: '2013-05-31',
    currency: 'EUR',
    used_bytes: '5000000000000',
    allowance_bytes: '5000000000000',
    over_bytes: '0',
    amount_minor: String(amountMinor),
    rounded_minor: String(amountMinor),
    status: 'unbilled',
    explanation: '{}',
    taxed: true,
    rated_at: '2013-06-01 00:10:00.000',
  };
}
