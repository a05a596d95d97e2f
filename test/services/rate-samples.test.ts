import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { CLI_ACTOR as CLI } from '../support/module-fixture.js';

const MBPS = 1_000_000;

/** May 2013 in Brussels, slot by slot: 95 % of the slots at `base` Mbit/s, the rest (bursts) at `burst`. */
function mayCsv(base: number, burst: number): string {
  const start = DateTime.fromISO('2013-05-01T00:00:00', { zone: 'Europe/Brussels' });
  const end = DateTime.fromISO('2013-06-01T00:00:00', { zone: 'Europe/Brussels' });
  const slots: string[] = [];
  for (let t = start; t < end; t = t.plus({ minutes: 5 })) slots.push(t.toUTC().toISO()!);
  const bursts = Math.floor(slots.length / 20); // exactly the top 5 % the percentile drops
  return ['slot_start,bps', ...slots.map((s, i) => `${s},${(i < bursts ? burst : base) * MBPS}`)].join('\n');
}

describeEachEngine('the 95th percentile on imported five-minute rates', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await s.mod.billing.setProduct(
      s.story.productId,
      { unit: 'GB', model: 'p95', commitMbps: '10', allowance: '0', prices: { EUR: { overage: '4.00' } } },
      CLI,
    );
    await closeMay(s);
  });

  it('bills the highest rate left after dropping the top 5 %, above the commit', async () => {
    const r = await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI);
    expect(r).to.deep.equal({ read: 8928, inserted: 8928, unchanged: 0, rerated: 0 });
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    // 12 Mbit/s at the 95th percentile, 10 committed: 2 Mbit/s × €4.00
    expect(String(charge.amount_minor)).to.equal('800');
    expect(JSON.parse(charge.explanation).rated).to.include({
      model: 'p95',
      measuredBps: '12000000',
      quantity: '2.000000',
    });
  });

  it('rates a period again when rates arrive after it was rated', async () => {
    // 1–30 May first: 8640 slots, 446 of them bursts at 100 Mbit/s (5 % of the whole month's
    // 8928), the rest at 12. The 95th percentile drops the top 432 (5 % of 8640): 14 bursts are
    // left, so it bills 100 Mbit/s: (100 − 10) × €4.00 = €360.00.
    const all = mayCsv(12, 100).split('\n').slice(1);
    const lastDay = all.filter((l) => l >= '2013-05-30T22:00:00');
    const before = all.filter((l) => !lastDay.includes(l));
    expect(lastDay).to.have.length(288);
    await s.mod.rateSamples.importCsv(s.story.serviceId, before.join('\n'), CLI);
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect(
      String(
        (await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first()).amount_minor,
      ),
    ).to.equal('36000');
    // 31 May arrives late at 50 Mbit/s: 8928 slots, the top 446 (all the bursts) dropped, so the
    // 95th percentile is 50 Mbit/s: (50 − 10) × €4.00 = €160.00, replacing €360.00.
    const late = lastDay.map((l) => `${l.split(',')[0]},${50 * MBPS}`);
    const r = await s.mod.rateSamples.importCsv(s.story.serviceId, late.join('\n'), CLI);
    expect(r).to.deep.equal({ read: 288, inserted: 288, unchanged: 0, rerated: 1 });
    const charges = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId });
    expect(charges.map((c) => String(c.amount_minor))).to.deep.equal(['16000']);
    expect(
      JSON.parse((await knex('mod_overusage_audit').where({ action: 'charge.rerated' }).first()).details),
    ).to.deep.include({ because: 'rates.imported' });
  });

  it('leaves the period unrated, saying why, until the rates are there', async () => {
    const out = await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect(out.skipped.map((x) => x.reason).join()).to.match(/5-minute samples/);
    expect(await knex('mod_overusage_charges').where({ service_id: s.story.serviceId })).to.have.length(0);
  });

  it('keeps imports exactly once: the same figures change nothing, different ones are refused', async () => {
    await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI);
    expect(await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI)).to.deep.include({
      inserted: 0,
      unchanged: 8928,
    });
    try {
      await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(13, 100), CLI);
      expect.fail('a different figure replaced evidence');
    } catch (err) {
      expect((err as Error).message).to.match(
        /already holds 12000000 bit\/s, not 13000000.*nothing was imported/,
      );
    }
    const count = await knex('mod_overusage_rate_samples').count({ n: '*' }).first();
    expect(Number(count?.n)).to.equal(8928);
  });

  it('refuses slots that do not start on a five-minute boundary, and rates that are not whole numbers', async () => {
    for (const bad of ['2013-05-01T00:02:00Z,1000', '2013-05-01T00:05:00Z,12.5', 'yesterday,5']) {
      try {
        await s.mod.rateSamples.importCsv(s.story.serviceId, bad, CLI);
        expect.fail(`accepted ${bad}`);
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('INVALID_INPUT');
      }
    }
  });
});
