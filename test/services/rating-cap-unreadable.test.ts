import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, GB, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';

const CAPS = 'mod_overusage_caps';

/**
 * The night's rating when one client's cap cannot be read. Both clients may cap their bill; in
 * April Ann caps hers at €100.00 and Jan his at €25.00. May closes at 6 000 GB for Ann and 5 500 GB
 * for Jan (5 TB included, €0.50 a GB over): Ann (6 000 − 5 000) × €0.50 = €500.00, capped to
 * €100.00; Jan (5 500 − 5 000) × €0.50 = €250.00, capped to €25.00. Jan's cap row is then edited by
 * hand (its kind a word the module does not write). Before: reading the caps of the page threw and
 * no period was rated. Now Ann's May is rated €100.00 and Jan's is left unrated, said why (the
 * column, never the value) and logged: billed without its cap it would be €250.00, not €25.00.
 */
describeEachEngine('rating with a cap that cannot be read', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  const logged: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    knex = db().knex;
    logged.length = 0;
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(logged) });
    const product = (await s.mod.billing.getProduct(s.story.productId))!;
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...product, clientCaps: { actions: ['suspend'] } },
      CLI_ACTOR,
    );
    for (const [clientId, serviceId, amount] of [
      [s.story.clientId, s.story.serviceId, '100.00'],
      [s.story.dutchClientId, s.story.dutchServiceId, '25.00'],
    ] as const)
      await s.mod.caps.set(
        clientId,
        serviceId,
        { kind: 'money', amount, action: 'suspend' },
        { type: 'client', id: String(clientId) },
      );
    // May's last days and the reset on 1 June
    for (const [at, ann, jan] of [
      ['2013-05-30T21:50:00Z', 5900n * GB, 5400n * GB],
      ['2013-05-31T21:50:00Z', 6000n * GB, 5500n * GB],
      ['2013-06-01T21:50:00Z', 150n * GB, 90n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', ann);
      s.fake.set('102', jan);
      await s.mod.metering.collect();
    }
  });

  const mayOf = async (serviceId: number) =>
    toNum(
      (
        await knex('mod_overusage_periods')
          .where({ service_id: serviceId, start_date: '2013-05-01' })
          .first('id')
      ).id,
    );
  const charges = async () =>
    (await knex('mod_overusage_charges').orderBy('id').select('service_id', 'amount_minor', 'status')).map(
      (c) => [toNum(c.service_id), String(c.amount_minor), String(c.status)],
    );

  it("rates Ann's May at her €100.00 cap and leaves Jan's unrated, naming the column", async () => {
    const jans = await knex(CAPS).where({ service_id: s.story.dutchServiceId }).first('id');
    await knex(CAPS).where({ id: jans.id }).update({ kind: 'quark' });
    logged.length = 0;
    const out = await s.mod.rating.rateClosedPeriods();
    expect(out).to.deep.equal({
      rated: 1,
      skipped: [
        {
          periodId: await mayOf(s.story.dutchServiceId),
          serviceId: s.story.dutchServiceId,
          reason: `a cap of its service cannot be read (${CAPS}.kind: not one of money, bytes); not rated`,
        },
      ],
    });
    expect(await charges()).to.deep.equal([[s.story.serviceId, '10000', 'unbilled']]);
    const told = logged.filter((l) => l.event === 'rating.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column])).to.deep.equal([
      ['warn', CAPS, toNum(jans.id), `${CAPS}.kind`],
    ]);
    expect(JSON.stringify(logged)).not.to.include('quark');

    // mended: the next night rates Jan's May at his cap, €25.00 (2 500 cents); Ann's not again
    await knex(CAPS).where({ id: jans.id }).update({ kind: 'money' });
    expect(await s.mod.rating.rateClosedPeriods()).to.deep.equal({ rated: 1, skipped: [] });
    expect(await charges()).to.deep.equal([
      [s.story.serviceId, '10000', 'unbilled'],
      [s.story.dutchServiceId, '2500', 'unbilled'],
    ]);
  });
});
