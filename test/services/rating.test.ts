import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

const SYSTEM = { type: 'system' as const, id: null };

/**
 * The evidence must add up: a period whose daily figures do not sum to the bytes counted for it is
 * not rated (nor rated again), and says why. The seed thread: May closes at 6 000 GB, whose
 * intervals sum to 6 000 000 000 000 bytes; one byte taken off one of them leaves
 * 5 999 999 999 999. Rated, May bills 1 000 GB × €0.50 = €500.00.
 */
describeEachEngine('rating checks that the daily figures add up', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let may: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
    const period = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId, start_date: '2013-05-01' })
      .first();
    expect(period.status).to.equal('closed');
    expect(toBig(period.used_bytes)).to.equal(6_000_000_000_000n);
    may = toNum(period.id);
  });

  const takeOneByte = async () => {
    const interval = await knex('mod_overusage_intervals').where({ period_id: may }).orderBy('id').first();
    await knex('mod_overusage_intervals')
      .where({ id: interval.id })
      .update({ bytes: String(toBig(interval.bytes) - 1n) });
    return async () =>
      knex('mod_overusage_intervals')
        .where({ id: interval.id })
        .update({ bytes: String(toBig(interval.bytes)) });
  };
  const chargesOfMay = () => knex('mod_overusage_charges').where({ period_id: may });

  it('leaves a period unrated when its intervals do not sum to its total, and rates it once they do', async () => {
    const putBack = await takeOneByte();
    const out = await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect(out.skipped).to.deep.equal([
      {
        periodId: may,
        serviceId: s.story.serviceId,
        reason:
          'its daily figures sum to 5999999999999 bytes, not the 6000000000000 bytes counted; not rated',
      },
    ]);
    expect(await chargesOfMay()).to.deep.equal([]);
    await putBack();
    const again = await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect(again.skipped).to.deep.equal([]);
    const charges = await chargesOfMay();
    expect(charges.map((c) => [toBig(c.used_bytes), toBig(c.amount_minor), c.status])).to.deep.equal([
      [6_000_000_000_000n, 50000n, 'unbilled'],
    ]);
  });

  it('does not rate a period again when its figures no longer add up, and keeps its charge', async () => {
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    await takeOneByte();
    const out = await s.mod.rating.reratePeriod(may, { actor: SYSTEM, because: 'periods.rebuilt' });
    expect(out).to.deep.equal({
      kind: 'skipped',
      reason: 'its daily figures sum to 5999999999999 bytes, not the 6000000000000 bytes counted; not rated',
    });
    expect((await chargesOfMay()).map((c) => [toBig(c.amount_minor), c.status])).to.deep.equal([
      [50000n, 'unbilled'],
    ]);
  });
});
