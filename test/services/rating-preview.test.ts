import { expect } from 'chai';
import type { Knex } from 'knex';
import type { UnreadableRow } from '../../module/adapters/rows.js';
import { TABLES } from '../../module/adapters/tables.js';
import { parseProductSettings, type BillingProfileInput } from '../../module/services/billing-settings.js';
import { previewLastPeriods } from '../../module/services/rating-preview.js';
import { describeEachEngine } from '../support/engines.js';
import {
  addPeriod,
  addService,
  GB,
  migrateRatingRows,
  PER_GB,
  ratingRows,
  setProduct,
  TB,
  type RatingRows,
} from '../support/rating-rows.js';

const MAY = { start: '2013-05-01', end: '2013-05-31' };
const settings = (input: BillingProfileInput) => parseProductSettings(input, 'product 3');

/**
 * The product form's preview, from the admin's side: each service's last closed period rated
 * under the settings being edited, beside what its charge bills now, nothing written. Product 3
 * bills 5 TB included at €0.50 per GB over; service 10 used 6 000 GB in May (€500.00 now),
 * service 11 5 500 GB (€250.00 now).
 */
describeEachEngine('the preview of a product’s settings on its last periods', ({ db, engine }) => {
  let knex: Knex;
  let r: RatingRows;

  before(async () => {
    knex = db().knex;
    await migrateRatingRows(knex);
  });
  beforeEach(async () => {
    r = await ratingRows(knex);
    await setProduct(r, 3, PER_GB);
    await addService(knex, 10, { clientId: 7 });
    await addService(knex, 11, { clientId: 8 });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await addPeriod(knex, 2, { serviceId: 11, ...MAY, used: 5500n * GB });
    await r.rating.rateClosedPeriods();
  });

  it('rates each last period under the edited settings beside what it bills now, and totals them', async () => {
    // 5.5 TB at €0.40: service 10 500 GB over × €0.40 = €200.00; service 11 all within: €0.00
    const p = await previewLastPeriods(
      knex,
      3,
      settings({ ...PER_GB, allowance: '5.5 TB', prices: { EUR: { overage: '0.40' } } }),
    );
    expect(p).to.deep.equal({
      unit: 'GB',
      more: 0,
      unreadable: [],
      rows: [
        {
          serviceId: 10,
          clientId: 7,
          periodStart: '2013-05-01',
          periodEnd: '2013-05-31',
          usedBytes: 6000n * GB,
          currency: 'EUR',
          nowMinor: 50_000n,
          previewMinor: 20_000n,
          outcome: 'billed',
          reason: null,
        },
        {
          serviceId: 11,
          clientId: 8,
          periodStart: '2013-05-01',
          periodEnd: '2013-05-31',
          usedBytes: 5500n * GB,
          currency: 'EUR',
          nowMinor: 25_000n,
          previewMinor: 0n,
          outcome: 'within_allowance',
          reason: null,
        },
      ],
      // €500.00 + €250.00 now; €200.00 + €0.00 under these settings
      totals: [{ currency: 'EUR', nowMinor: 75_000n, previewMinor: 20_000n }],
    });
    // nothing written
    expect(
      (await knex(TABLES.charges).select('amount_minor')).map((c) => BigInt(c.amount_minor)),
    ).to.have.members([50_000n, 25_000n]);
  });

  it('shows the unit of the edited settings', async () => {
    expect((await previewLastPeriods(knex, 3, settings({ ...PER_GB, unit: 'TiB' }))).unit).to.equal('TiB');
  });

  it('takes only the latest closed period of each service', async () => {
    // service 10's April (9 TB) is older than its May: May is previewed
    await addPeriod(knex, 3, { serviceId: 10, start: '2013-04-01', end: '2013-04-30', used: 9n * TB });
    const p = await previewLastPeriods(knex, 3, settings(PER_GB));
    expect(p.rows.map((x) => [x.serviceId, x.periodStart, x.previewMinor])).to.deep.equal([
      [10, '2013-05-01', 50_000n],
      [11, '2013-05-01', 25_000n],
    ]);
  });

  it('shows at most `limit` services and counts those left out', async () => {
    const p = await previewLastPeriods(knex, 3, settings(PER_GB), { limit: 1 });
    expect([p.rows.map((x) => x.serviceId), p.more]).to.deep.equal([[10], 1]);
    // the totals are of the rows shown: €500.00
    expect(p.totals).to.deep.equal([{ currency: 'EUR', nowMinor: 50_000n, previewMinor: 50_000n }]);
  });

  it('shows no figure for now where the period is not rated, or its charge was voided', async () => {
    // service 12's May (6 TB) not rated yet; service 11's charge voided: €500.00 and €250.00 under these settings
    await knex(TABLES.charges).where({ period_id: 2 }).update({ status: 'void' });
    await addService(knex, 12);
    await addPeriod(knex, 3, { serviceId: 12, ...MAY, used: 6n * TB });
    const p = await previewLastPeriods(knex, 3, settings(PER_GB));
    expect(p.rows.map((x) => [x.serviceId, x.nowMinor, x.previewMinor])).to.deep.equal([
      [10, 50_000n, 50_000n],
      [11, null, 25_000n],
      [12, null, 50_000n],
    ]);
    // now: €500.00 only; under these settings €500.00 + €250.00 + €500.00 = €1 250.00
    expect(p.totals).to.deep.equal([{ currency: 'EUR', nowMinor: 50_000n, previewMinor: 125_000n }]);
  });

  it('says why a period cannot be rated under the settings, and leaves it out of the totals', async () => {
    // service 12 pays in USD, which the edited settings have no price for
    await addService(knex, 12, { currency: 'USD' });
    await addPeriod(knex, 3, { serviceId: 12, ...MAY, used: 6n * TB });
    const p = await previewLastPeriods(knex, 3, settings(PER_GB));
    expect(p.rows[2]).to.deep.include({
      serviceId: 12,
      nowMinor: null,
      previewMinor: null,
      outcome: null,
      reason: 'no USD price is set for this product',
    });
    expect(p.totals).to.deep.equal([{ currency: 'EUR', nowMinor: 75_000n, previewMinor: 75_000n }]);
  });

  it('totals each currency apart, in order of their codes', async () => {
    // service 12 pays in BHD: 1 000 GB over × BD 0.150 = BD 150.000 (150 000 fils), not rated now
    await addService(knex, 12, { currency: 'BHD' });
    await addPeriod(knex, 3, { serviceId: 12, ...MAY, used: 6n * TB });
    const p = await previewLastPeriods(
      knex,
      3,
      settings({ ...PER_GB, prices: { EUR: { overage: '0.50' }, BHD: { overage: '0.150' } } }),
    );
    expect(p.totals).to.deep.equal([
      { currency: 'BHD', nowMinor: 0n, previewMinor: 150_000n },
      { currency: 'EUR', nowMinor: 75_000n, previewMinor: 75_000n },
    ]);
  });

  it('rates the 95th percentile from the imported rates, and says why a period without them cannot be', async () => {
    // service 10 has one rate in May, 100 Mbit/s (1 sample: none dropped); 50 committed:
    // 50 × €2.00 = €100.00. Service 11 has none.
    await knex(TABLES.rateSamples).insert({
      service_id: 10,
      slot_at: '2013-05-15 12:00:00.000',
      bps: '100000000',
    });
    const p = await previewLastPeriods(
      knex,
      3,
      settings({
        unit: 'GB',
        model: 'p95',
        commitMbps: '50',
        allowance: '0',
        prices: { EUR: { overage: '2.00' } },
      }),
    );
    expect(p.rows.map((x) => [x.serviceId, x.previewMinor, x.outcome, x.reason])).to.deep.equal([
      [10, 10_000n, 'billed', null],
      [11, null, null, 'the 95th percentile needs 5-minute samples, and this period has none'],
    ]);
  });
  /**
   * Service 10's May charge (period 1) gets a status outside its set by hand ('paid'). Before: the
   * product's read threw and the admin's preview failed for every service of the product. Now
   * service 11 is previewed as usual — at €0.50 per GB over 5 TB: (5 500 − 5 000) GB × €0.50 =
   * €250.00, €250.00 now — and the totals are its own (€250.00 / €250.00, not €750.00: service 10's
   * €500.00 is not known, so it is in no total, never counted as €0.00); service 10 is named with its
   * period, the column and why, and told to setAside once, without the stored word.
   */
  it('previews the other services when one service’s last period cannot be read, and names that one', async () => {
    await knex(TABLES.charges).where({ period_id: 1 }).update({ status: 'paid' });
    const told: Array<[string, UnreadableRow]> = [];
    const p = await previewLastPeriods(knex, 3, settings(PER_GB), {
      setAside: (table, u) => told.push([table, u]),
    });
    expect(p.rows.map((x) => [x.serviceId, x.nowMinor, x.previewMinor, x.outcome])).to.deep.equal([
      [11, 25_000n, 25_000n, 'billed'],
    ]);
    expect(p.totals).to.deep.equal([{ currency: 'EUR', nowMinor: 25_000n, previewMinor: 25_000n }]);
    const reason =
      'not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review';
    expect(p.unreadable).to.deep.equal([
      { serviceId: 10, periodId: 1, column: 'mod_overusage_charges.status', reason },
    ]);
    expect(told).to.deep.equal([
      [TABLES.periods, { id: 1, unreadable: { column: 'mod_overusage_charges.status', reason } }],
    ]);
    expect(JSON.stringify(told)).not.to.include('paid');
    // with a limit of 1 the first service (10, unreadable) is the one shown, service 11 left out
    const one = await previewLastPeriods(knex, 3, settings(PER_GB), { limit: 1, setAside: () => {} });
    expect([one.rows, one.unreadable.map((u) => u.serviceId), one.more]).to.deep.equal([[], [10], 1]);
    // without a setAside the read still refuses, naming the column
    const err = await previewLastPeriods(knex, 3, settings(PER_GB)).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/^mod_overusage_charges\.status holds "paid", which is not one of /);
  });
  /**
   * The 95th percentile reads service 10's five-minute rates; one of them holds text in its bps
   * column (SQLite keeps it; MariaDB's BIGINT refuses it, so this is SQLite's case). Service 11 has
   * 100 Mbit/s once in May over a 50 Mbit/s commit: 50 × €2.00 = €100.00, previewed as usual;
   * service 10 is named (its rates' column) and in no total, never rated from the rates that read.
   */
  it('previews the others at the 95th percentile when one service’s five-minute rate cannot be read', async function () {
    if (engine !== 'sqlite') this.skip();
    await knex(TABLES.rateSamples).insert([
      { service_id: 10, slot_at: '2013-05-15 12:00:00.000', bps: '100000000' },
      { service_id: 10, slot_at: '2013-05-15 12:05:00.000', bps: 'x' },
      { service_id: 11, slot_at: '2013-05-15 12:00:00.000', bps: '100000000' },
    ]);
    const told: Array<[string, UnreadableRow]> = [];
    const p = await previewLastPeriods(
      knex,
      3,
      settings({
        unit: 'GB',
        model: 'p95',
        commitMbps: '50',
        allowance: '0',
        prices: { EUR: { overage: '2.00' } },
      }),
      { setAside: (table, u) => told.push([table, u]) },
    );
    expect(p.rows.map((x) => [x.serviceId, x.previewMinor, x.outcome])).to.deep.equal([
      [11, 10_000n, 'billed'],
    ]);
    // €250.00 now against €100.00: service 11's alone
    expect(p.totals).to.deep.equal([{ currency: 'EUR', nowMinor: 25_000n, previewMinor: 10_000n }]);
    const why = { column: 'mod_overusage_rate_samples.bps', reason: 'not an integer' };
    expect(p.unreadable).to.deep.equal([{ serviceId: 10, periodId: 1, ...why }]);
    // told by the rates' table: which rate is not read (the preview names service 10)
    expect(told).to.deep.equal([[TABLES.rateSamples, { id: null, unreadable: why }]]);
  });
});
