import { expect } from 'chai';
import { readable } from '../support/readable.js';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { buildBillingStory, closeMay, disputeLine, GB, type BillingStory } from '../support/billing-story.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR } from '../support/module-fixture.js';

/**
 * A service's periods as an admin sees them (open → closed → rated → invoiced), and the
 * corrections held for review: bill on the next invoice, or drop.
 *
 * The seed thread: Ann's VPS (5 TB a month, €0.50 per GB over) closes May at 6 000 GB and opens
 * June at 150 GB; Jan's closes May at 4 000 GB (within the allowance). Rated, Ann's May bills
 * 1 000 GB × €0.50 = €500.00; the renewal of 2 June puts it on an invoice.
 */

describeEachEngine('usage periods as an admin sees them, and corrections held for review', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: { code?: string; message: string }) => ({ code: err.code, message: err.message }),
    );
  const states = async (serviceId: number) =>
    readable(await s.mod.usagePeriods.periods(serviceId)).map((p) => [p.start, p.end, p.state, p.usedBytes]);

  it('shows a period open, then closed, rated and invoiced, newest first', async () => {
    expect(await states(s.story.serviceId)).to.deep.equal([
      ['2013-06-01', '2013-06-30', 'open', 150n * GB],
      ['2013-05-01', '2013-05-31', 'closed', 6000n * GB],
    ]);
    s.f.clock.set('2013-06-02T06:00:00Z');
    await s.mod.rating.rateClosedPeriods();
    expect((await states(s.story.serviceId))[1]).to.deep.equal([
      '2013-05-01',
      '2013-05-31',
      'rated',
      6000n * GB,
    ]);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const [june, may] = readable(await s.mod.usagePeriods.periods(s.story.serviceId));
    expect([june!.state, may!.state]).to.deep.equal(['open', 'invoiced']);
    // the charge is May's alone
    expect(june!.charges).to.deep.equal([]);
    expect(
      readable(may!.charges).map((c) => [c.kind, c.status, c.amountMinor, c.lineId !== null]),
    ).to.deep.equal([['usage', 'billed', 50000n, true]]);
    // Jan's May is rated within the allowance: no line, so never "invoiced"
    expect((await states(s.story.dutchServiceId))[1]).to.deep.equal([
      '2013-05-01',
      '2013-05-31',
      'rated',
      4000n * GB,
    ]);
  });

  it('does not show a period as invoiced by a charge that was voided', async () => {
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).update({ status: 'void' });
    expect((await states(s.story.serviceId))[1]![2]).to.equal('rated');
  });

  it('gives the newest periods up to the limit asked', async () => {
    const periods = readable(await s.mod.usagePeriods.periods(s.story.serviceId, { limit: 1 }));
    expect(periods.map((p) => p.start)).to.deep.equal(['2013-06-01']);
  });

  it('shows a client only the periods of its own services', async () => {
    const own = await s.mod.usagePeriods.periods(s.story.serviceId, { clientId: s.story.clientId });
    expect(own).to.have.length(2);
    expect(
      await refusal(s.mod.usagePeriods.periods(s.story.serviceId, { clientId: s.story.dutchClientId })),
    ).to.deep.equal({ code: 'NOT_FOUND', message: `service ${s.story.serviceId} is not metered here` });
    expect(await refusal(s.mod.usagePeriods.periods(999))).to.deep.equal({
      code: 'NOT_FOUND',
      message: 'service 999 is not metered here',
    });
  });

  /**
   * May billed at €500.00 on the 2 June renewal, the line disputed on 5 June, then the price goes
   * to €0.60 per GB and May is rated again: 1 000 GB × €0.60 = €600.00, €100.00 more than billed,
   * a correction held for review while the line is disputed.
   */
  async function heldCorrection(): Promise<number> {
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    await disputeLine(s, toNum(line.id));
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.60', precommit: '0.35' } },
        window: { days: 14, counting: 'calendar', holidays: 'BE' },
      },
      CLI_ACTOR,
    );
    const may = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId, start_date: '2013-05-01' })
      .first();
    const out = await s.mod.rating.reratePeriod(toNum(may.id), { actor: ADMIN, because: 'price' });
    expect(out).to.deep.include({ kind: 'corrected', differenceMinor: 10000n, status: 'review' });
    return (out as { chargeId: number }).chargeId;
  }

  it('lists a correction held for review with its service and period, and counts it as waiting', async () => {
    const id = await heldCorrection();
    const list = readable(await s.mod.usagePeriods.corrections());
    expect(
      list.map((c) => [
        c.id,
        c.kind,
        c.status,
        c.amountMinor,
        c.serviceId,
        c.clientId,
        c.periodStart,
        c.periodEnd,
      ]),
    ).to.deep.equal([
      [id, 'correction', 'review', 10000n, s.story.serviceId, s.story.clientId, '2013-05-01', '2013-05-31'],
    ]);
    expect(await s.mod.usagePeriods.waiting()).to.deep.equal({ anomalies: 0, corrections: 1 });
  });

  it('bills a held correction on the next invoice when the admin says so, and says so in the audit', async () => {
    const id = await heldCorrection();
    const out = await s.mod.usagePeriods.settleCorrection(
      id,
      { action: 'bill', reason: '  the dispute is settled  ' },
      ADMIN,
    );
    expect([out.id, out.status, out.amountMinor]).to.deep.equal([id, 'unbilled', 10000n]);
    const audit = await knex('mod_overusage_audit').where({ action: 'correction.released' });
    expect(audit.map((a) => [toNum(a.entity_id), JSON.parse(String(a.details))])).to.deep.equal([
      [id, { amountMinor: '10000', currency: 'EUR', reason: 'the dispute is settled' }],
    ]);
    expect(await s.mod.usagePeriods.corrections()).to.deep.equal([]);
    // once settled it is not waiting any more
    expect(
      await refusal(s.mod.usagePeriods.settleCorrection(id, { action: 'drop', reason: 'changed' }, ADMIN)),
    ).to.deep.equal({
      code: 'CONFLICT',
      message: `correction ${id} is not waiting for review (it is unbilled)`,
    });
  });

  it('drops a held correction for good when the admin says so', async () => {
    const id = await heldCorrection();
    const out = await s.mod.usagePeriods.settleCorrection(
      id,
      { action: 'drop', reason: 'price error' },
      ADMIN,
    );
    expect(out.status).to.equal('void');
    const audit = await knex('mod_overusage_audit').where({ action: 'correction.dropped' });
    expect(audit.map((a) => JSON.parse(String(a.details)))).to.deep.equal([
      { amountMinor: '10000', currency: 'EUR', reason: 'price error' },
    ]);
    expect(await knex('mod_overusage_audit').where({ action: 'correction.released' })).to.have.length(0);
  });

  it('refuses an action other than bill or drop, and a reason under 3 characters', async () => {
    const id = await heldCorrection();
    expect(
      await refusal(
        s.mod.usagePeriods.settleCorrection(id, { action: 'keep' as 'bill', reason: 'why not' }, ADMIN),
      ),
    ).to.deep.equal({
      code: 'INVALID_INPUT',
      message: 'action must be "bill" (on the next invoice) or "drop" (never billed)',
    });
    expect(
      await refusal(s.mod.usagePeriods.settleCorrection(id, { action: 'bill', reason: ' ok ' }, ADMIN)),
    ).to.deep.equal({ code: 'INVALID_INPUT', message: 'give a reason, at least 3 characters' });
    const charge = await knex('mod_overusage_charges').where({ id }).first();
    expect(charge.status).to.equal('review');
  });

  it('names a correction that does not exist, or a charge that is not a correction', async () => {
    const id = await heldCorrection();
    const usage = toNum(
      (await knex('mod_overusage_charges').where({ kind: 'usage', service_id: s.story.serviceId }).first())
        .id,
    );
    for (const chargeId of [usage, id + 1000]) {
      expect(
        await refusal(
          s.mod.usagePeriods.settleCorrection(chargeId, { action: 'bill', reason: 'settled' }, ADMIN),
        ),
      ).to.deep.equal({ code: 'NOT_FOUND', message: `correction ${chargeId} does not exist` });
    }
  });

  it('lists the oldest corrections first, up to the limit asked', async () => {
    const first = await heldCorrection();
    // May rated again at €0.70 while the first correction waits: €700.00 against the €500.00
    // billed and the €100.00 already held, a second correction of €100.00, held too
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.70', precommit: '0.35' } },
        window: { days: 14, counting: 'calendar', holidays: 'BE' },
      },
      CLI_ACTOR,
    );
    const may = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId, start_date: '2013-05-01' })
      .first();
    const second = await s.mod.rating.reratePeriod(toNum(may.id), { actor: ADMIN, because: 'price' });
    expect(second).to.deep.include({ kind: 'corrected', differenceMinor: 10000n, status: 'review' });
    expect((await s.mod.usagePeriods.corrections({ limit: 1 })).map((c) => c.id)).to.deep.equal([first]);
    const all = (await s.mod.usagePeriods.corrections()).map((c) => c.id);
    expect(all).to.deep.equal([first, (second as { chargeId: number }).chargeId]);
  });
});
