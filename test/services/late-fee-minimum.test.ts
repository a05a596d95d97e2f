import { expect } from 'chai';
import type { Knex } from 'knex';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  buildBillingStory,
  closeMay,
  disputeLine,
  type BillingStory,
  feeAndItems,
  renewalOf,
  runPanelDays,
} from '../support/billing-story.js';

/**
 * WHMCS's Late Fee Minimum (Setup › General Settings › Invoices: "the minimum amount to charge in
 * cases where the calculated late fee falls below this figure") with held (disputed) lines. WHMCS's
 * AddLateFees task (decoded WHMCS 7.8 and 8.7, docs/billing-rules.md "Late fees") raises any fee
 * below the minimum to it, and reads no balance first: an overdue invoice left Unpaid with nothing
 * to pay gets the minimum too. The panel stand-in does the same. The add-on keeps a client from
 * paying the minimum for a disputed line only: the fee on what is late and not held is the minimum
 * when that is above 0.00 and the computed fee is below it, and 0.00 when nothing else is late.
 *
 * The stories: Ann's 1 000 GB × €0.50 = €500.00 on the renewal of 2 June (due 9 June), disputed on
 * 5 June and held off it; late fee 10 %, 3 days late.
 */
describeEachEngine('the Late Fee Minimum with a held line', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  const feeChanges = async () =>
    (
      await knex('mod_overusage_audit')
        .whereIn('action', ['dunning.late_fee_corrected', 'dunning.late_fee_retried'])
        .orderBy('id')
        .select('details')
    )
      .map((r) => JSON.parse(String(r.details)) as Record<string, unknown>)
      .filter((a) => a.feeMinor !== a.newFeeMinor)
      .map((a) => [a.feeMinor, a.newFeeMinor]);
  const activity = async (like: string) =>
    (await knex('tblactivitylog').where('description', 'like', like)).length;
  const settings = async (minimum: string) => {
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    await knex('tblconfiguration').where({ setting: 'LateFeeMinimum' }).update({ value: minimum });
    expect(
      await knex('tblconfiguration')
        .whereIn('setting', ['LateFeeType', 'InvoiceLateFeeAmount', 'LateFeeMinimum'])
        .orderBy('setting')
        .select('setting', 'value'),
    ).to.deep.equal([
      { setting: 'InvoiceLateFeeAmount', value: '10.00' },
      { setting: 'LateFeeMinimum', value: minimum },
      { setting: 'LateFeeType', value: 'Percentage' },
    ]);
  };

  /** the held invoice the admin published on 7 June (due 19 June), with `extra` of his own beside the line */
  async function published(minimum: string, extra?: string): Promise<number> {
    knex = db().knex;
    const billed = await billMay(knex);
    s = billed.s;
    await settings(minimum);
    const held = (await disputeLine(s, billed.lineId)).heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    if (extra)
      await s.f.panel.api.updateInvoice({
        invoiceId: held,
        newItems: [{ description: 'Setup fee', amount: extra, taxed: false }],
      });
    await runPanelDays(s, '2013-06-07', '2013-06-22');
    return held;
  }

  it('a fee all the held line’s, raised to a €60.00 minimum by the panel: set to €0.00, not the minimum, and not added again', async () => {
    // 22 June: 10 % of 500.00 = 50.00, below the 60.00 minimum: the panel adds 60.00 (560.00).
    // What is late and not held: 560.00 − 60.00 − 500.00 = 0.00: no fee, not the minimum (the
    // minimum is for a fee computed on something late). The invoice bills the held 500.00 and a
    // 0.00 fee; 23–25 June the panel adds nothing (it has a LateFee line).
    const held = await published('60.00');
    expect(await activity(`%Late Fee Added - Invoice ID: ${held} - Amount: 60.00%`)).to.equal(1);
    await runPanelDays(s, '2013-06-23', '2013-06-25');
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '500.00',
      '500.00',
      [
        ['item', '500.00'],
        ['fee', '0.00'],
      ],
    ]);
    expect(await activity(`%Late Fee Added - Invoice ID: ${held} -%`)).to.equal(1);
    expect(await feeChanges()).to.deep.equal([['6000', '0']]);
  });

  it('the admin’s €12.00 beside the held line, €5.00 minimum: the fee on the €12.00 is raised to the minimum, €51.20 → €5.00', async () => {
    // 22 June: 10 % of 512.00 = 51.20 (above the minimum; 563.20). What is late and not held:
    // 563.20 − 51.20 − 500.00 = 12.00 → 10 % = 1.20, below the 5.00 minimum: 5.00, as WHMCS would
    // charge on the 12.00 alone. The invoice bills 500.00 + 12.00 + 5.00 = 517.00.
    const held = await published('5.00', '12.00');
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '517.00',
      '517.00',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '5.00'],
      ],
    ]);
    expect(await feeChanges()).to.deep.equal([['5120', '500']]);
  });

  it('the hosting paid with Ann’s €19.95 credit, the line held off the renewal: settled Paid on 5 June, so no €1.00 minimum on a renewal with nothing left to pay', async () => {
    // Ann has 19.95 of credit; the panel applies it to the renewal of 2 June: 519.95 − 19.95 = 500.00
    // due. 5 June: the 500.00 line held off: 19.95 billed, 19.95 paid with her credit, 0.00 left.
    // The module settles it with a 0.00 payment: Paid. (Left Unpaid at 0.00, on 12 June, 3 days
    // late, the panel — as WHMCS, which reads no balance — would add 10 % of 0.00 = 0.00 raised to
    // the 1.00 minimum: Ann charged 1.00 for the disputed line only, and her renewal still unpaid.)
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblclients').where({ id: s.story.clientId }).update({ credit: '19.95' });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    await settings('1.00');
    const renewal = await renewalOf(s, knex);
    const before = await s.f.panel.api.getInvoice(renewal);
    expect([before.status, before.subtotal, before.credit, before.total, before.balance]).to.deep.equal([
      'Unpaid',
      '519.95',
      '19.95',
      '500.00',
      '500.00',
    ]);
    const line = await knex('mod_overusage_lines').where({ invoice_id: renewal }).first('id');
    await disputeLine(s, Number(line.id));
    await runPanelDays(s, '2013-06-05', '2013-06-14');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.total, r.balance, await feeAndItems(s, renewal)]).to.deep.equal([
      'Paid',
      '0.00',
      '0.00',
      [['item', '19.95']],
    ]);
    expect(r.transactions.map((t) => [t.transId, t.amountIn])).to.deep.equal([
      [`overusage-settled-${renewal}`, '0.00'],
    ]);
    expect(await activity(`%Late Fee Added - Invoice ID: ${renewal} -%`)).to.equal(0);
    // the credit was spent once, on the hosting
    expect((await s.f.panel.api.getClientsDetails(s.story.clientId)).credit).to.equal('0.00');
  });
});
