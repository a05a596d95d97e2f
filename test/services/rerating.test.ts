import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { TABLES } from '../../module/adapters/tables.js';
import type { RerateCause } from '../../module/services/rating.js';
import { describeEachEngine } from '../support/engines.js';
import {
  addLine,
  addPeriod,
  addService,
  chargesOf,
  GB,
  migrateRatingRows,
  PER_GB,
  ratingRows,
  setProduct,
  TB,
  usageCharge,
  type RatingRows,
} from '../support/rating-rows.js';
import { ADMIN_ACTOR as ADMIN } from '../support/module-fixture.js';

const MAY = { start: '2013-05-01', end: '2013-05-31' };
const DECIDED: RerateCause = { actor: ADMIN, because: 'anomaly.decided', details: { anomalyId: 4 } };

/**
 * A closed period rated again after its figures changed (an admin's decision on a counter drop, a
 * rebuild): never editing what was invoiced. Service 10's May under 5 TB included and €0.50 per GB
 * over: 6 000 GB bills €500.00; the figures then change to 5 700 GB (700 GB × €0.50 = €350.00).
 */
describeEachEngine('rating a period again', ({ db }) => {
  let knex: Knex;
  let r: RatingRows;

  before(async () => {
    knex = db().knex;
    await migrateRatingRows(knex);
  });
  beforeEach(async () => {
    r = await ratingRows(knex);
    await setProduct(r, 3, PER_GB);
    await addService(knex, 10);
  });

  /** the period's figures become `used` bytes, its daily figures summing to them */
  const countAgain = async (periodId: number, used: bigint) => {
    await knex(TABLES.periods)
      .where({ id: periodId })
      .update({ used_bytes: String(used) });
    await knex(TABLES.intervals).where({ period_id: periodId }).delete();
    await knex(TABLES.intervals).insert({
      service_id: 10,
      period_id: periodId,
      to_sample_id: 1,
      kind: 'normal',
      from_date: '2013-05-31',
      to_date: '2013-05-31',
      bytes: String(used),
      estimated: false,
    });
  };
  const auditOf = async (action: string) =>
    (await knex(TABLES.audit).where({ action }).orderBy('id')).map((a) => ({
      actor: [a.actor_type, a.actor_id],
      entity: [a.entity_type, Number(a.entity_id)],
      details: JSON.parse(String(a.details)) as Record<string, unknown>,
    }));
  /** May rated at 6 000 GB (€500.00), its charge on an invoice line: the charge's id */
  const invoicedMay = async () => {
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await r.rating.rateClosedPeriods();
    const id = Number((await usageCharge(knex, 1)).id);
    await knex(TABLES.charges).where({ id }).update({ status: 'billed' });
    await addLine(knex, 50, id, 10);
    return id;
  };

  it('does nothing to a period that is still open, or is not there', async () => {
    await addPeriod(knex, 1, {
      serviceId: 10,
      start: '2013-06-01',
      end: '2013-06-30',
      used: 6n * TB,
      status: 'open',
    });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({ kind: 'not_rated' });
    expect(await r.rating.reratePeriod(99, DECIDED)).to.deep.equal({ kind: 'not_rated' });
    expect(await chargesOf(knex, 1)).to.deep.equal([]);
  });

  it('rates a closed period not rated yet, and audits it', async () => {
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    const out = await r.rating.reratePeriod(1, DECIDED);
    const id = Number((await usageCharge(knex, 1)).id);
    expect(out).to.deep.equal({ kind: 'rated', chargeId: id, currency: 'EUR', afterMinor: 50_000n });
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    expect(await auditOf('charge.rated')).to.deep.equal([
      {
        actor: ['admin', '1'],
        entity: ['charge', id],
        details: {
          because: 'anomaly.decided',
          anomalyId: 4,
          periodId: 1,
          after: {
            usedBytes: '6000000000000',
            overBytes: '1000000000000',
            amountMinor: '50000',
            status: 'unbilled',
          },
        },
      },
    ]);
  });

  it('leaves a charge whose figures did not change as it is, unaudited', async () => {
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await r.rating.rateClosedPeriods();
    const id = Number((await usageCharge(knex, 1)).id);
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({ kind: 'unchanged', chargeId: id });
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);
    expect(await auditOf('charge.rerated')).to.deep.equal([]);
  });

  it('replaces a charge on no invoice yet: €500.00 becomes €350.00, audited before and after', async () => {
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await r.rating.rateClosedPeriods();
    const id = Number((await usageCharge(knex, 1)).id);
    await countAgain(1, 5700n * GB);
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({
      kind: 'replaced',
      chargeId: id,
      currency: 'EUR',
      beforeMinor: 50_000n,
      afterMinor: 35_000n,
    });
    const c = await usageCharge(knex, 1);
    expect([
      Number(c.id),
      BigInt(c.used_bytes),
      BigInt(c.over_bytes),
      BigInt(c.amount_minor),
      c.status,
    ]).to.deep.equal([id, 5700n * GB, 700n * GB, 35_000n, 'unbilled']);
    expect(await auditOf('charge.rerated')).to.deep.equal([
      {
        actor: ['admin', '1'],
        entity: ['charge', id],
        details: {
          because: 'anomaly.decided',
          anomalyId: 4,
          periodId: 1,
          before: {
            usedBytes: '6000000000000',
            overBytes: '1000000000000',
            amountMinor: '50000',
            status: 'unbilled',
          },
          after: {
            usedBytes: '5700000000000',
            overBytes: '700000000000',
            amountMinor: '35000',
            status: 'unbilled',
          },
        },
      },
    ]);
  });

  describe('tells a change in any one figure from no change', () => {
    it('the bytes used, all within the allowance (4 000 GB → 4 500 GB, €0.00 both)', async () => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 4000n * GB });
      await r.rating.rateClosedPeriods();
      await countAgain(1, 4500n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'replaced',
        beforeMinor: 0n,
        afterMinor: 0n,
      });
      expect(BigInt((await usageCharge(knex, 1)).used_bytes)).to.equal(4500n * GB);
    });

    it("the allowance, SolusVM's limit lowered from 5 TB to 4 TB for 3 TB used (€0.00 both)", async () => {
      await setProduct(r, 3, { ...PER_GB, allowance: 'solusvm' });
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 3n * TB, limitBytes: 5n * TB });
      await r.rating.rateClosedPeriods();
      await knex(TABLES.samples).update({ limit_bytes: String(4n * TB) });
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'replaced',
        beforeMinor: 0n,
        afterMinor: 0n,
      });
      expect(BigInt((await usageCharge(knex, 1)).allowance_bytes)).to.equal(4n * TB);
    });

    it('the bytes over, the amount held at a €100.00 cap (a 100 GB tolerance added: 1 000 → 900 GB over)', async () => {
      // capped both times: 1 000 GB × €0.50 = €500.00 and 900 GB × €0.50 = €450.00 → €100.00
      r.caps.push({
        serviceId: 10,
        cap: { kind: 'money', amount: 10_000n, currency: 'EUR', action: 'throttle' },
        setAt: DateTime.fromISO('2013-05-02T00:00:00Z'),
        liftedAt: null,
      });
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
      await r.rating.rateClosedPeriods();
      await setProduct(r, 3, { ...PER_GB, tolerance: '100 GB' });
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'replaced',
        beforeMinor: 10_000n,
        afterMinor: 10_000n,
      });
      expect(BigInt((await usageCharge(knex, 1)).over_bytes)).to.equal(900n * GB);
    });

    it('the amount, the rate lowered to €0.40 (1 000 GB over: €500.00 → €400.00)', async () => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
      await r.rating.rateClosedPeriods();
      await setProduct(r, 3, { ...PER_GB, prices: { EUR: { overage: '0.40' } } });
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'replaced',
        beforeMinor: 50_000n,
        afterMinor: 40_000n,
      });
    });

    it('the status, the product put in a pool (4 000 GB within the allowance, then pooled; €0.00 both)', async () => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 4000n * GB });
      await r.rating.rateClosedPeriods();
      await setProduct(r, 3, { ...PER_GB, pool: 'eu' });
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'replaced',
        beforeMinor: 0n,
        afterMinor: 0n,
      });
      expect((await usageCharge(knex, 1)).status).to.equal('pooled');
    });
  });

  it('voids a correction on no invoice beside the charge it replaces', async () => {
    // a correction of −€100.00 waiting (no line), then May counted again at 5 700 GB: €350.00
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await r.rating.rateClosedPeriods();
    await knex(TABLES.charges).insert(correction(1, 1, -10_000n, 'unbilled'));
    await countAgain(1, 5700n * GB);
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
      kind: 'replaced',
      afterMinor: 35_000n,
    });
    expect(await chargesOf(knex, 1)).to.deep.equal([
      [0, 35_000n, 'unbilled'],
      [1, -10_000n, 'void'],
    ]);
  });

  it('rates a period whose product has no settings as not billed', async () => {
    await addService(knex, 11, { productId: 9 });
    await addPeriod(knex, 1, { serviceId: 11, ...MAY, used: 6000n * GB });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({ kind: 'rated', afterMinor: 0n });
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 0n, 'not_billed']]);
  });

  it('leaves a period it cannot rate as it is, saying why', async () => {
    await addService(knex, 11, { currency: 'USD' });
    await addPeriod(knex, 1, { serviceId: 11, ...MAY, used: 6000n * GB });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({
      kind: 'skipped',
      reason: 'no USD price is set for this product',
    });
    expect(await chargesOf(knex, 1)).to.deep.equal([]);
  });

  it("rates a period on the plan it began on, less the upgrade's credit", async () => {
    // upgraded on 20 May to product 4 (10 TB): May on product 3, €500.00 less 50 % = €250.00
    await setProduct(r, 4, { ...PER_GB, allowance: '10 TB' });
    await addService(knex, 11, { productId: 4 });
    await addPeriod(knex, 1, { serviceId: 11, ...MAY, used: 6000n * GB });
    await knex(TABLES.upgrades).insert({
      service_id: 11,
      client_id: 11,
      from_product_id: 3,
      to_product_id: 4,
      requested_on: '2013-05-20',
      requested_at: '2013-05-20 10:00:00.000',
      credit_percent: 50,
      figures: '{}',
    });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({ kind: 'rated', afterMinor: 25_000n });
    expect(Number((await usageCharge(knex, 1)).product_id)).to.equal(3);
  });

  it("rates a client's cap in force at the period's end", async () => {
    // 1 000 GB × €0.50 = €500.00, capped at €100.00
    r.caps.push({
      serviceId: 10,
      cap: { kind: 'money', amount: 10_000n, currency: 'EUR', action: 'suspend' },
      setAt: DateTime.fromISO('2013-05-02T00:00:00Z'),
      liftedAt: null,
    });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({ kind: 'rated', afterMinor: 10_000n });
  });

  it('rates the 95th percentile from the period’s five-minute rates', async () => {
    // one rate of 30 Mbit/s in May (none dropped of 1), 10 committed: 20 × €4.00 = €80.00
    await setProduct(r, 3, {
      unit: 'GB',
      model: 'p95',
      commitMbps: '10',
      allowance: '0',
      prices: { EUR: { overage: '4.00' } },
    });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    await knex(TABLES.rateSamples).insert({
      service_id: 10,
      slot_at: '2013-05-10 12:00:00.000',
      bps: '30000000',
    });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({ kind: 'rated', afterMinor: 8_000n });
  });

  it('leaves a 95th-percentile period without five-minute rates unrated, saying why', async () => {
    await setProduct(r, 3, {
      unit: 'GB',
      model: 'p95',
      commitMbps: '10',
      allowance: '0',
      prices: { EUR: { overage: '4.00' } },
    });
    await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 6000n * GB });
    expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({
      kind: 'skipped',
      reason: 'the 95th percentile needs 5-minute samples, and this period has none',
    });
    expect(await chargesOf(knex, 1)).to.deep.equal([]);
  });

  describe('once the charge is on an invoice', () => {
    it('puts the difference on the next invoice as a correction: €350.00 − €500.00 = −€150.00', async () => {
      const usage = await invoicedMay();
      await countAgain(1, 5700n * GB);
      const out = await r.rating.reratePeriod(1, DECIDED);
      const created = Number((await knex(TABLES.charges).where({ period_id: 1, seq: 1 }).first()).id);
      expect(out).to.deep.equal({
        kind: 'corrected',
        chargeId: created,
        currency: 'EUR',
        billedMinor: 50_000n,
        afterMinor: 35_000n,
        differenceMinor: -15_000n,
        status: 'unbilled',
      });
      // what was invoiced stays as it was
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 50_000n, 'billed'],
        [1, -15_000n, 'unbilled'],
      ]);
      expect(Number((await usageCharge(knex, 1)).id)).to.equal(usage);
      const c = await knex(TABLES.charges).where({ id: created }).first();
      expect([c.kind, BigInt(c.rounded_minor), BigInt(c.used_bytes), BigInt(c.over_bytes)]).to.deep.equal([
        'correction',
        -15_000n,
        5700n * GB,
        700n * GB,
      ]);
      const why = JSON.parse(String(c.explanation)) as Record<string, Record<string, unknown>>;
      expect(why.correction).to.deep.equal({
        billedMinor: '50000',
        afterMinor: '35000',
        differenceMinor: '-15000',
        because: 'anomaly.decided',
      });
      expect(why.rated).to.include({ amountMinor: '35000' });
      expect(why.profile).to.include({ unit: 'GB' });
      expect(await auditOf('charge.corrected')).to.deep.equal([
        {
          actor: ['admin', '1'],
          entity: ['charge', created],
          details: {
            because: 'anomaly.decided',
            anomalyId: 4,
            periodId: 1,
            billedMinor: '50000',
            afterMinor: '35000',
            differenceMinor: '-15000',
            status: 'unbilled',
          },
        },
      ]);
    });

    it('changes nothing when the invoiced amount is still right', async () => {
      // 6 000 GB counted again as 6 000 GB: €500.00 billed, €500.00 due
      const usage = await invoicedMay();
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.equal({ kind: 'unchanged', chargeId: usage });
      expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'billed']]);
    });

    it('holds the correction for an admin while a line of the period is disputed', async () => {
      await invoicedMay();
      await knex(TABLES.disputes).insert(dispute(50, 'open'));
      await countAgain(1, 5700n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'corrected',
        status: 'review',
      });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 50_000n, 'billed'],
        [1, -15_000n, 'review'],
      ]);
    });

    it('does not hold it for a dispute the client withdrew', async () => {
      await invoicedMay();
      await knex(TABLES.disputes).insert(dispute(50, 'withdrawn'));
      await countAgain(1, 5700n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'corrected',
        status: 'unbilled',
      });
    });

    it('holds the correction while a drop of the counter waits for a decision', async () => {
      await invoicedMay();
      await knex(TABLES.anomalies).insert({
        service_id: 10,
        period_id: 1,
        kind: 'mid_period_drop',
        sample_id: 71,
        seen_on: '2013-05-20',
        details: '{}',
        status: 'open',
        created_at: '2013-05-20 10:00:00.000',
      });
      await countAgain(1, 5700n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'corrected',
        status: 'review',
      });
    });

    it('corrects against everything invoiced: the charge and an earlier correction, next in sequence', async () => {
      // billed: €500.00 and an earlier −€100.00 on an invoice since = €400.00; due €350.00: −€50.00 at seq 2
      await invoicedMay();
      await knex(TABLES.charges).insert(correction(1, 1, -10_000n, 'billed'));
      const earlier = Number((await knex(TABLES.charges).where({ period_id: 1, seq: 1 }).first()).id);
      await addLine(knex, 51, earlier, 10);
      await countAgain(1, 5700n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'corrected',
        billedMinor: 40_000n,
        afterMinor: 35_000n,
        differenceMinor: -5_000n,
      });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 50_000n, 'billed'],
        [1, -10_000n, 'billed'],
        [2, -5_000n, 'unbilled'],
      ]);
    });

    it('counts a correction held for review as invoiced, though no line carries it yet', async () => {
      // €500.00 billed and −€100.00 in review = €400.00; due €350.00: −€50.00
      await invoicedMay();
      await knex(TABLES.charges).insert(correction(1, 1, -10_000n, 'review'));
      await countAgain(1, 5700n * GB);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        billedMinor: 40_000n,
        differenceMinor: -5_000n,
      });
    });
  });

  describe('a period whose lines are from before a rebuild', () => {
    /** a correction (seq 1) of `amount` on an invoice line: the rebuilt period's only invoiced charge */
    const billedBefore = async (amount: bigint) => {
      await addPeriod(knex, 1, { serviceId: 10, ...MAY, used: 5700n * GB });
      await knex(TABLES.charges).insert(correction(1, 1, amount, 'billed'));
      const id = Number((await knex(TABLES.charges).where({ period_id: 1, seq: 1 }).first()).id);
      await addLine(knex, 50, id, 10);
    };

    it("makes the period's own rating the correction: €350.00 due, €500.00 billed → −€150.00 at seq 0", async () => {
      await billedBefore(50_000n);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        kind: 'corrected',
        billedMinor: 50_000n,
        differenceMinor: -15_000n,
        status: 'unbilled',
      });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, -15_000n, 'unbilled'],
        [1, 50_000n, 'billed'],
      ]);
    });

    it('records a rating of no difference as void, so the period counts as rated', async () => {
      // €350.00 billed before the rebuild, €350.00 due
      await billedBefore(35_000n);
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({
        differenceMinor: 0n,
        status: 'void',
      });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 0n, 'void'],
        [1, 35_000n, 'billed'],
      ]);
    });

    it('voids a rating on no invoice and corrects against the invoiced line', async () => {
      // seq 0 €500.00 on no invoice, seq 1 €500.00 invoiced before the rebuild; due €350.00 → −€150.00 at seq 2
      await billedBefore(50_000n);
      await knex(TABLES.charges).insert({ ...correction(1, 0, 50_000n, 'unbilled'), kind: 'usage' });
      expect(await r.rating.reratePeriod(1, DECIDED)).to.deep.include({ differenceMinor: -15_000n });
      expect(await chargesOf(knex, 1)).to.deep.equal([
        [0, 50_000n, 'void'],
        [1, 50_000n, 'billed'],
        [2, -15_000n, 'unbilled'],
      ]);
    });
  });
});

/** a charge of service 10's May at `seq` (a correction unless said) */
function correction(periodId: number, seq: number, amountMinor: bigint, status: string) {
  return {
    period_id: periodId,
    seq,
    kind: 'correction',
    service_id: 10,
    client_id: 10,
    product_id: 3,
    period_start: '2013-05-01',
    period_end: '2013-05-31',
    currency: 'EUR',
    used_bytes: '6000000000000',
    allowance_bytes: '5000000000000',
    over_bytes: '1000000000000',
    amount_minor: String(amountMinor),
    rounded_minor: String(amountMinor),
    status,
    explanation: '{}',
    taxed: true,
    rated_at: '2013-06-01 00:10:00.000',
  };
}

function dispute(lineId: number, state: string) {
  return {
    line_id: lineId,
    client_id: 10,
    service_id: 10,
    state,
    reason: 'too much',
    opened_by_type: 'client',
    opened_at: '2013-06-05 10:00:00.000',
    hold_state: 'held',
    original_invoice_id: 31,
    amount_before_minor: '50000',
    currency: 'EUR',
    updated_at: '2013-06-05 10:00:00.000',
  };
}
