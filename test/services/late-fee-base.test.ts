import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory, feeAndItems } from '../support/billing-story.js';

const CLIENT = (id: number) => ({ type: 'client' as const, id: String(id) });

/**
 * What a late fee is charged on, and what of it a held line gives back, from the client's side.
 * The seed thread: Ann's VPS hosting €19.95 + May's overusage €500.00 = €519.95 on the renewal of
 * 2 June, due 9 June; the panel's late fee is 10 % (WHMCS: Late Fee Type Percentage, no minimum),
 * 3 days late (12 June); Ann disputes the line on 15 June (the window runs to 16 June).
 * WHMCS's AddLateFees task charges the percentage on the invoice's balance as it is that day: its
 * total (tax included) less what was paid on it (tblaccounts in less out), not on the total.
 */
describeEachEngine('late fee base: what the fee is on, and what a held line gives back', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;

  const day = async (date: string) => {
    s.f.clock.set(`${date}T07:00:00Z`);
    await s.f.panel.runDailyAutomation(date);
  };
  const days = async (from: string, to: string) => {
    for (let d = from; d <= to; d = addDays(d, 1)) await day(d);
  };
  const lines = () => feeAndItems(s, renewal);
  const reduced = async () =>
    (
      await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_reduced' }).select('details')
    ).map((r) => (JSON.parse(String(r.details)) as Record<string, unknown>).reducedMinor);
  const pay = (amount: string, date: string, transId: string) =>
    s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId, gateway: 'banktransfer', amount, date });
  const openDispute = async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I cannot tell where this traffic came from.',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    return opened.value;
  };

  /** the story up to the renewal of 2 June (optionally with VAT on, `before` it is made) */
  async function renewed(before?: () => Promise<void>) {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    if (before) await before();
    await closeMay(s);
    await day('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    renewal = toNum(line.invoice_id);
    lineId = toNum(line.id);
  }

  it('the €19.95 hosting paid on 5 June, before the fee: the panel charges 10 % of the €500.00 unpaid, €50.00, which the held line then takes off whole', async () => {
    // 519.95 − 19.95 paid = 500.00 unpaid on 12 June → 10 % = 50.00 (was: 10 % of the total
    // 519.95 = 52.00, 2.00 charged on the hosting paid in time). Held on 15 June: the fee on what
    // was unpaid and is not held, 10 % of (500.00 − 500.00) = 0.00, so all 50.00 comes off; the
    // renewal bills 19.95, paid: settled Paid at 0.00 left.
    await renewed();
    s.f.clock.set('2013-06-05T08:00:00Z');
    await pay('19.95', '2013-06-05 10:00:00', 'ann-hosting');
    await days('2013-06-03', '2013-06-12');
    expect(await lines()).to.deep.equal([
      ['item', '19.95'],
      ['item', '500.00'],
      ['fee', '50.00'],
    ]);
    expect((await s.f.panel.api.getInvoice(renewal)).balance).to.equal('550.00');
    expect((await openDispute()).holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.total, r.balance, await lines()]).to.deep.equal([
      'Paid',
      '19.95',
      '0.00',
      [['item', '19.95']],
    ]);
    expect(await reduced()).to.deep.equal(['5000']);
  });

  it('VAT 21 % on the lines and on the fee (TaxLateFee): the fee keeps its part on the hosting with its VAT, €62.91 → €2.41, and no VAT of the held line or of the fee stays in its base', async () => {
    // both lines taxed: VAT 21 % of 519.95 = 109.1895 → 109.19, total 629.14. 12 June: 10 % of
    // the balance 629.14 = 62.914 → 62.91, taxed: VAT 21 % of 582.86 = 122.4006 → 122.40, total
    // 519.95 + 62.91 + 122.40 = 705.26. Held on 15 June: the fee is on what was unpaid less the
    // fee, the held line and the VAT the invoice carries for those two (122.40 − 21 % of 19.95
    // (4.1895 → 4.19) = 118.21): 705.26 − 62.91 − 500.00 − 118.21 = 24.14 (the hosting with its
    // VAT, 19.95 + 4.19) → 10 % = 2.414 → 2.41, so 62.91 − 2.41 = 60.50 comes off. The renewal:
    // 19.95 + 2.41 = 22.36 + VAT 21 % (4.6956 → 4.70) = 27.06.
    // (Without the VAT out of the base: 705.26 − 62.91 − 500.00 = 142.35 → a fee of 14.24, 11.83
    // charged on the VAT of the disputed line and of the fee itself; the renewal 41.37.)
    await renewed(async () => {
      await s.f.setting('TaxEnabled', 'on');
      await s.f.setting('TaxLateFee', 'on');
      await knex('tbltax').insert({ level: 1, name: 'VAT', state: '', country: '', taxrate: '21.000' });
      await knex('tblproducts').where({ id: s.story.productId }).update({ tax: 1 });
    });
    await days('2013-06-03', '2013-06-12');
    const before = await s.f.panel.api.getInvoice(renewal);
    expect([before.tax, before.total, await lines()]).to.deep.equal([
      '122.40',
      '705.26',
      [
        ['item', '19.95'],
        ['item', '500.00'],
        ['fee', '62.91'],
      ],
    ]);
    expect((await openDispute()).holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.tax, r.total, await lines()]).to.deep.equal([
      'Unpaid',
      '4.70',
      '27.06',
      [
        ['item', '19.95'],
        ['fee', '2.41'],
      ],
    ]);
    expect(await reduced()).to.deep.equal(['6050']);
  });
});
