import { expect } from 'chai';
import type { Knex } from 'knex';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  disputeLine,
  type BillingStory,
  feeAndItems,
  runPanelDays,
} from '../support/billing-story.js';

/**
 * A late fee that falls wholly on a held line stays on the invoice as a 0.00 LateFee line; it is not
 * deleted. WHMCS's daily AddLateFees task adds a fee to every overdue Unpaid invoice that has no
 * LateFee line (docs/whmcs.md, "Automation and dunning"; the panel stand-in does the same), so a
 * deleted fee came back the next day, and the module took it off again, every day.
 *
 * The story (as late-fee-sweep.test.ts): Ann's 1 000 GB × €0.50 = €500.00 held off the renewal of
 * 2 June on 5 June; the admin publishes the held invoice on 7 June, due 19 June; late fee 10 %
 * 3 days late: on 22 June the panel adds 10 % of 500.00 = €50.00 (invoice 550.00). The fee on what
 * is not held is 10 % of 550.00 − 50.00 − 500.00 = 0.00: all €50.00 of it was the held line's,
 * so the fee is set to €0.00 and the invoice owes the held €500.00, Unpaid and overdue. Then 23,
 * 24 and 25 June run: the invoice has a LateFee line (at 0.00), so the panel adds none, and the
 * module changes nothing.
 */
describeEachEngine("a late fee all the held line's stays at €0.00, not deleted", ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let held: number;

  const audits = async (action: string) =>
    (await knex('mod_overusage_audit').where({ action }).orderBy('id').select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );
  const feeChanges = async () =>
    [...(await audits('dunning.late_fee_retried')), ...(await audits('dunning.late_fee_corrected'))]
      .filter((a) => a.feeMinor !== a.newFeeMinor)
      .map((a) => [a.feeMinor, a.newFeeMinor]);
  const activity = async (like: string) =>
    (await knex('tblactivitylog').where('description', 'like', like)).length;
  const emailsSince = async (date: string) =>
    (
      await knex('tblemails').where({ userid: s.story.clientId }).where('date', '>=', date).select('subject')
    ).map((r) => String(r.subject));

  async function published(failHookOn22June: boolean) {
    knex = db().knex;
    const billed = await billMay(knex);
    s = billed.s;
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    held = (await disputeLine(s, billed.lineId)).heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await runPanelDays(s, '2013-06-07', '2013-06-21');
    if (failHookOn22June) s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
    await runPanelDays(s, '2013-06-22', '2013-06-22');
    s.faulty.failNext = null;
  }

  async function threeMoreDays() {
    const emailsBefore = await emailsSince('2013-06-23');
    await runPanelDays(s, '2013-06-23', '2013-06-25');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    // still 500.00 + a 0.00 fee, owed 500.00: no fee added again on 23, 24 or 25 June
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '500.00',
      '500.00',
      [
        ['item', '500.00'],
        ['fee', '0.00'],
      ],
    ]);
    // the panel added the fee once (22 June), the module set it once
    expect(await activity(`%Late Fee Added - Invoice ID: ${held} -%`)).to.equal(1);
    expect(await activity(`%late fee on invoice ${held} set to%`)).to.equal(1);
    expect(await feeChanges()).to.deep.equal([['5000', '0']]);
    // no email about the invoice being changed again (the panel's email log for Ann those days)
    expect((await emailsSince('2013-06-23')).filter((e) => /modified|late fee/i.test(e))).to.deep.equal(
      emailsBefore.filter((e) => /modified|late fee/i.test(e)),
    );
  }

  it('the AddInvoiceLateFee hook sets the €50.00 fee to €0.00 on 22 June; three more days: still €0.00, not added again, one audit', async () => {
    await published(false);
    expect(await feeAndItems(s, held)).to.deep.equal([
      ['item', '500.00'],
      ['fee', '0.00'],
    ]);
    expect(await audits('dunning.late_fee_corrected')).to.have.length(1);
    await threeMoreDays();
    expect(await audits('dunning.late_fee_corrected')).to.have.length(1);
  });

  it('the hook failed on 22 June, the sweep sets the €50.00 fee to €0.00 on 23 June; three more days: still €0.00, one audit', async () => {
    await published(true);
    expect(await feeAndItems(s, held)).to.deep.equal([
      ['item', '500.00'],
      ['fee', '50.00'],
    ]);
    s.f.clock.set('2013-06-23T06:00:00Z');
    await s.mod.everyTick();
    expect(await feeAndItems(s, held)).to.deep.equal([
      ['item', '500.00'],
      ['fee', '0.00'],
    ]);
    await threeMoreDays();
    expect(await audits('dunning.late_fee_retried')).to.have.length(1);
    expect(await knex('mod_overusage_late_fee_retries')).to.deep.equal([]);
  });
});
