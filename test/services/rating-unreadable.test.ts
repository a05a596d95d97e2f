import { expect } from 'chai';
import type { Knex } from 'knex';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';
import {
  migrateRatingRows,
  PER_GB,
  threeClosedMays,
  setProduct,
  type RatingRows,
} from '../support/rating-rows.js';

/**
 * The nightly rating run when one stored row cannot be read (a column edited by hand): that
 * period is left unrated, logged with its table, id and column (never the value) and listed as
 * skipped; every other period is rated as before. Product 3: 5 TB included, €0.50 per GB over.
 * Ann (service 11), Bob (12) and Cid (13) each have a closed May.
 */
describeEachEngine('the rating run when a stored row cannot be read', ({ db, engine }) => {
  let knex: Knex;
  let r: RatingRows;

  before(async () => {
    knex = db().knex;
    await migrateRatingRows(knex);
  });
  beforeEach(async () => {
    // Ann 6 000 GB: (6 000 − 5 000) × €0.50 = €500.00; Bob 7 000 GB would be €1 000.00;
    // Cid 5 400 GB: (5 400 − 5 000) × €0.50 = €200.00
    r = await threeClosedMays(knex, [6000n, 7000n, 5400n]);
  });

  const amounts = async () =>
    (await knex(TABLES.charges).orderBy('period_id').select('period_id', 'amount_minor', 'status')).map(
      (c) => [Number(c.period_id), BigInt(c.amount_minor), String(c.status)],
    );
  const unreadableLogged = () =>
    r.logged
      .filter(([, event]) => event === 'rating.row_unreadable')
      .map(([level, , l]) => {
        const { table, id, column, reason } = l as Record<string, unknown>;
        return [level, table, id, column, reason];
      });

  it("rates Ann's and Cid's May when Bob's period has lost its end date, and names Bob's", async () => {
    // Bob's closed period with end_date NULL: it cannot be rated (how many days, which prices)
    await knex(TABLES.periods).where({ id: 2 }).update({ end_date: null });
    // pages of two: Bob's is the last row of the first page, so the run must go past it to Cid
    const result = await r.rating.rateClosedPeriods({ pageSize: 2 });
    const reason = 'its row cannot be read (mod_overusage_periods.end_date: not a date); not rated';
    expect(result).to.deep.equal({ rated: 2, skipped: [{ periodId: 2, serviceId: null, reason }] });
    expect(await amounts()).to.deep.equal([
      [1, 50_000n, 'unbilled'],
      [3, 20_000n, 'unbilled'],
    ]);
    const line = ['warn', 'mod_overusage_periods', 2, 'mod_overusage_periods.end_date', 'not a date'];
    expect(unreadableLogged()).to.deep.equal([line]);
    expect(r.logged.find(([, event]) => event === 'rating.skipped')?.[2]).to.deep.include({
      count: 1,
      first: { periodId: 2, serviceId: null, reason },
    });
    // the next night: Bob's still not rated and named again; Ann and Cid not billed twice
    expect(await r.rating.rateClosedPeriods({ pageSize: 2 })).to.deep.equal({
      rated: 0,
      skipped: [{ periodId: 2, serviceId: null, reason }],
    });
    expect(unreadableLogged()).to.deep.equal([line, line]);
    expect(await amounts()).to.have.length(2);
  });

  it("leaves Ann's May unrated when an upgrade of hers cannot be read (it may credit her bill), and rates the others", async function () {
    // MariaDB's DATE and BIGINT columns refuse every value the reader refuses: only SQLite can hold one
    if (db().engine === 'mysql') this.skip();
    await knex(TABLES.upgrades).insert({
      id: 5,
      service_id: 11,
      client_id: 1,
      from_product_id: 3,
      to_product_id: 4,
      requested_on: 'soon',
      requested_at: '2013-05-20 10:00:00.000',
      credit_percent: 50,
      figures: '{}',
    });
    const result = await r.rating.rateClosedPeriods();
    // Bob 7 000 GB: (7 000 − 5 000) × €0.50 = €1 000.00; not Ann's €500.00, nor €250.00 less half
    expect(result).to.deep.equal({
      rated: 2,
      skipped: [
        {
          periodId: 1,
          serviceId: 11,
          reason: 'an upgrade asked for on its service cannot be read; not rated',
        },
      ],
    });
    expect(await amounts()).to.deep.equal([
      [2, 100_000n, 'unbilled'],
      [3, 20_000n, 'unbilled'],
    ]);
    expect(unreadableLogged()).to.deep.equal([
      ['warn', 'mod_overusage_upgrades', 5, 'mod_overusage_upgrades.requested_on', 'not a date'],
    ]);
    // no stored value in any log line
    expect(JSON.stringify(r.logged)).not.to.include('soon');
  });
  it("rates Ann's and Cid's May again at a new price when Bob's charge cannot be read, and leaves Bob's as it is", async () => {
    await r.rating.rateClosedPeriods();
    // Bob's €1 000.00 charge, its status changed by hand
    await knex(TABLES.charges).where({ period_id: 2 }).update({ status: 'gone' });
    const bob = Number((await knex(TABLES.charges).where({ period_id: 2 }).first('id')).id);
    await setProduct(r, 3, { ...PER_GB, prices: { EUR: { overage: '0.60' } } });
    r.logged.length = 0;
    const cause = { actor: { type: 'system' as const, id: null }, because: 'test' };
    const outcomes = [];
    for (const periodId of [1, 2, 3]) outcomes.push(await r.rating.reratePeriod(periodId, cause));
    // at €0.60: Ann (6 000 − 5 000) × 0.60 = €600.00, Cid (5 400 − 5 000) × 0.60 = €240.00;
    // Bob's is not worked out from his other charges (none): skipped, said why
    expect(outcomes.map((o) => [o.kind, 'afterMinor' in o ? o.afterMinor : null])).to.deep.equal([
      ['replaced', 60_000n],
      ['skipped', null],
      ['replaced', 24_000n],
    ]);
    expect(outcomes[1]).to.deep.equal({
      kind: 'skipped',
      reason: 'a charge of the period cannot be read; not rated again',
    });
    expect(await amounts()).to.deep.equal([
      [1, 60_000n, 'unbilled'],
      [2, 100_000n, 'gone'],
      [3, 24_000n, 'unbilled'],
    ]);
    expect(unreadableLogged()).to.deep.equal([
      [
        'warn',
        TABLES.charges,
        bob,
        `${TABLES.charges}.status`,
        'not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
      ],
    ]);
    expect(JSON.stringify(r.logged)).not.to.include('gone');
  });
  /**
   * Bob's service (12) has its own billing settings (an override), edited by hand into text that is
   * no JSON. Before: the run's read of every product's and service's settings threw, and no period
   * was rated. Now Ann's €500.00 and Cid's €200.00 are rated; Bob's period is not rated at all — not
   * recorded as not billed (€0.00 for good), nor rated without his override — and is named; his
   * override is logged once with its table, service id, column and why. Corrected (the override
   * removed), the next run rates Bob's (7 000 − 5 000) GB × €0.50 = €1 000.00.
   */
  it("rates Ann's and Cid's May when Bob's own billing settings cannot be read, and leaves Bob's unrated, not unbilled", async () => {
    const SO = TABLES.serviceOverrides;
    await knex(SO).insert({
      service_id: 12,
      settings: '{"limitPolicy":',
      updated_at: '2013-05-20 10:00:00.000',
    });
    const result = await r.rating.rateClosedPeriods();
    const reason =
      'its billing settings cannot be read (mod_overusage_service_overrides.settings: not JSON); not rated';
    expect(result).to.deep.equal({ rated: 2, skipped: [{ periodId: 2, serviceId: 12, reason }] });
    expect(await amounts()).to.deep.equal([
      [1, 50_000n, 'unbilled'],
      [3, 20_000n, 'unbilled'],
    ]);
    expect(unreadableLogged()).to.deep.equal([['warn', SO, 12, `${SO}.settings`, 'not JSON']]);
    expect(JSON.stringify(r.logged)).not.to.include('limitPolicy');

    await knex(SO).where({ service_id: 12 }).delete();
    expect(await r.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await amounts()).to.deep.equal([
      [1, 50_000n, 'unbilled'],
      [2, 100_000n, 'unbilled'],
      [3, 20_000n, 'unbilled'],
    ]);
  });

  it('rates a few services of a page (the invoice hook’s run) the same way: Bob’s unrated, Ann’s rated', async () => {
    // the run over given services reads their overrides with each page (allFor): Ann 11 and Bob 12
    const SO = TABLES.serviceOverrides;
    await knex(SO).insert({ service_id: 12, settings: 'x', updated_at: '2013-05-20 10:00:00.000' });
    const result = await r.rating.rateClosedPeriods({ serviceIds: [11, 12] });
    const reason =
      'its billing settings cannot be read (mod_overusage_service_overrides.settings: not JSON); not rated';
    expect(result).to.deep.equal({ rated: 1, skipped: [{ periodId: 2, serviceId: 12, reason }] });
    expect(await amounts()).to.deep.equal([[1, 50_000n, 'unbilled']]);
    expect(unreadableLogged()).to.deep.equal([['warn', SO, 12, `${SO}.settings`, 'not JSON']]);
  });
  /**
   * The 95th percentile: product 3 bills 50 Mbit/s committed, €2.00 a Mbit/s over. Each service has
   * one five-minute rate in May of 100 Mbit/s (one sample: none dropped, the 95th percentile is that
   * rate): (100 − 50) × €2.00 = €100.00 each. Bob's (12) second rate holds text in its bps (SQLite
   * keeps it; MariaDB's BIGINT refuses it, so this is SQLite's case). Before: the page's read of the
   * rates threw and no period was rated. Now Ann's and Cid's €100.00 are rated, Bob's is not (his
   * 95th percentile is not known), said why and logged by the rates' table and column.
   */
  it("rates Ann's and Cid's 95th percentile when one of Bob's five-minute rates cannot be read", async function () {
    if (engine !== 'sqlite') this.skip();
    await setProduct(r, 3, {
      unit: 'GB',
      model: 'p95',
      commitMbps: '50',
      allowance: '0',
      prices: { EUR: { overage: '2.00' } },
    });
    for (const id of [11, 12, 13])
      await knex(TABLES.rateSamples).insert({
        service_id: id,
        slot_at: '2013-05-15 12:00:00.000',
        bps: '100000000',
      });
    await knex(TABLES.rateSamples).insert({
      service_id: 12,
      slot_at: '2013-05-15 12:05:00.000',
      bps: 'fast',
    });
    const result = await r.rating.rateClosedPeriods();
    const reason =
      'a five-minute rate of its service cannot be read (mod_overusage_rate_samples.bps: not an integer); not rated';
    expect(result).to.deep.equal({ rated: 2, skipped: [{ periodId: 2, serviceId: 12, reason }] });
    expect(await amounts()).to.deep.equal([
      [1, 10_000n, 'unbilled'],
      [3, 10_000n, 'unbilled'],
    ]);
    const RS = TABLES.rateSamples;
    expect(unreadableLogged()).to.deep.equal([['warn', RS, null, `${RS}.bps`, 'not an integer']]);
    expect(JSON.stringify(r.logged)).not.to.include('fast');
  });
});
