import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

const CLI = { type: 'cli' as const, id: 'test' };
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
    await s.mod.billing.setProduct(s.story.productId, { unit: 'GB', model: 'p95', commitMbps: '10', allowance: '0', prices: { EUR: { overage: '4.00' } } }, CLI);
    await closeMay(s);
  });

  it('bills the highest rate left after dropping the top 5 %, above the commit', async () => {
    const r = await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI);
    expect(r).to.deep.equal({ read: 8928, inserted: 8928, unchanged: 0 });
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    // 12 Mbit/s at the 95th percentile, 10 committed: 2 Mbit/s × €4.00
    expect(String(charge.amount_minor)).to.equal('800');
    expect(JSON.parse(charge.explanation).rated).to.include({ model: 'p95', measuredBps: '12000000', quantity: '2.000000' });
  });

  it('leaves the period unrated, saying why, until the rates are there', async () => {
    const out = await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect(out.skipped.map((x) => x.reason).join()).to.match(/5-minute samples/);
    expect(await knex('mod_overusage_charges').where({ service_id: s.story.serviceId })).to.have.length(0);
  });

  it('keeps imports exactly once: the same figures change nothing, different ones are refused', async () => {
    await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI);
    expect(await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(12, 100), CLI)).to.deep.include({ inserted: 0, unchanged: 8928 });
    try {
      await s.mod.rateSamples.importCsv(s.story.serviceId, mayCsv(13, 100), CLI);
      expect.fail('a different figure replaced evidence');
    } catch (err) {
      expect((err as Error).message).to.match(/already holds 12000000 bit\/s, not 13000000.*nothing was imported/);
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
