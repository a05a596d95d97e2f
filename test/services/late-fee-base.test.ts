import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  buildBillingStory,
  closeMay,
  disputeLine,
  type BillingStory,
  feeAndItems,
  runPanelDays,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

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
    (await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_reduced' }).select('details')).map(
      (r) => (JSON.parse(String(r.details)) as Record<string, unknown>).reducedMinor,
    );
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
    // renewal bills 19.95 + the fee at 0.00 (kept as a LateFee line, not deleted), paid: settled
    // Paid at 0.00 left.
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
      [
        ['item', '19.95'],
        ['fee', '0.00'],
      ],
    ]);
    expect(await reduced()).to.deep.equal(['5000']);
  });

  it('the €19.95 hosting paid on 14 June, after the fee: the hold leaves the fee on the hosting that was late, €52.00 → €2.00, and the renewal still owes it', async () => {
    // 12 June: 10 % of 519.95 = 51.995 → 52.00 (571.95). Ann pays 19.95 on 14 June (552.00 left).
    // Held on 15 June: the fee was charged on what was unpaid on 12 June, 571.95, which her payment
    // since does not change: 571.95 − 52.00 − 500.00 = 19.95 → 10 % = 1.995 → 2.00, 50.00 off.
    // The renewal bills 19.95 + 2.00 = 21.95, 19.95 paid: 2.00 due, Unpaid.
    // (From the balance of 15 June: 552.00 − 52.00 − 500.00 = 0.00 → all 52.00 off and the renewal
    // settled Paid: the 2.00 the hosting's own lateness cost taken off because she paid it later.)
    await renewed();
    await days('2013-06-03', '2013-06-12');
    expect((await lines()).filter(([k]) => k === 'fee')).to.deep.equal([['fee', '52.00']]);
    s.f.clock.set('2013-06-14T08:00:00Z');
    await pay('19.95', '2013-06-14 10:00:00', 'ann-hosting');
    expect((await openDispute()).holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.total, r.balance, await lines()]).to.deep.equal([
      'Unpaid',
      '21.95',
      '2.00',
      [
        ['item', '19.95'],
        ['fee', '2.00'],
      ],
    ]);
    expect(await reduced()).to.deep.equal(['5000']);
  });

  it('a waiver after a payment on the published held invoice: the fee keeps its part on the admin’s €12.00 that was late, €51.20 → €1.20', async () => {
    // Held off the renewal on 5 June; the admin publishes the held invoice on 7 June (due 19 June)
    // with a €12.00 item of his own: 512.00. 22 June: 10 % = 51.20 (563.20); the panel does not
    // answer the module that day (hook and sweep fail). Ann pays 12.00 on 23 June (551.20 left);
    // waived on 24 June: the fee was on 563.20 − 51.20 − 500.00 = 12.00 not held → 1.20, 50.00 off;
    // the invoice bills 0.00 + 12.00 + 1.20 = 13.20, 12.00 paid: 1.20 due.
    // (From the balance of 24 June: 551.20 − 51.20 − 500.00 = 0.00 → all 51.20 off.)
    knex = db().knex;
    const billed = await billMay(knex);
    s = billed.s;
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    const d = await disputeLine(s, billed.lineId);
    const held = d.heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await s.f.panel.api.updateInvoice({
      invoiceId: held,
      newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
    });
    await runPanelDays(s, '2013-06-07', '2013-06-21');
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
    await runPanelDays(s, '2013-06-22', '2013-06-22');
    s.faulty.failNext = null;
    expect((await feeAndItems(s, held)).filter(([k]) => k === 'fee')).to.deep.equal([['fee', '51.20']]);
    s.f.clock.set('2013-06-23T09:00:00Z');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'ann-setup',
      gateway: 'banktransfer',
      amount: '12.00',
      date: '2013-06-23 11:00:00',
    });
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '13.20',
      '1.20',
      [
        ['item', '0.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
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

/**
 * What the client paid beyond what is left once a late fee (or its share) and the held line come
 * off an invoice he paid part of: WHMCS settles an invoice only on a payment, and gives what is paid
 * beyond its balance to the client's credit as it settles it ("Invoice #N Overpayment", once per
 * invoice: its addPayment subtracts what the credit log already has for the invoice). The module
 * settles it with a payment of 0.00 and audits the credit (invoice.overpayment_credited), once.
 */
describeEachEngine(
  'late fee taken off an invoice paid in part: the overpayment goes to credit once',
  ({ db }) => {
    let knex: Knex;
    let s: BillingStory;

    const credits = async () =>
      (
        await knex('tblcredit')
          .where({ clientid: s.story.clientId })
          .orderBy('id')
          .select('description', 'amount')
      ).map((r) => [String(r.description), String(r.amount)]);
    const clientCredit = async () =>
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
    const creditAudits = async () =>
      (
        await knex('mod_overusage_audit')
          .where({ action: 'invoice.overpayment_credited' })
          .select('entity_id', 'details')
      ).map((r) => [
        String(r.entity_id),
        (JSON.parse(String(r.details)) as { creditedMinor: string }).creditedMinor,
      ]);

    /** the held invoice published on 7 June (due 19 June), its 10 % fee of 22 June left by the hook (the panel did not answer it) */
    async function heldWithFee() {
      knex = db().knex;
      const billed = await billMay(knex);
      s = billed.s;
      await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
      const d = await disputeLine(s, billed.lineId);
      s.f.clock.set('2013-06-07T09:00:00Z');
      await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, publish: true });
      await runPanelDays(s, '2013-06-07', '2013-06-21');
      s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
      await runPanelDays(s, '2013-06-22', '2013-06-22');
      s.faulty.failNext = null;
      expect((await feeAndItems(s, d.heldInvoiceId!)).filter(([k]) => k === 'fee')).to.deep.equal([
        ['fee', '50.00'],
      ]);
      return { held: d.heldInvoiceId!, disputeId: d.id };
    }
    const payOn = async (invoiceId: number, amount: string, transId: string) => {
      s.f.clock.set('2013-06-23T09:00:00Z');
      await s.f.panel.api.addInvoicePayment({
        invoiceId,
        transId,
        gateway: 'banktransfer',
        amount,
        date: '2013-06-23 11:00:00',
      });
    };

    it('the renewal paid €100.00 after its €52.00 fee, then the line held: €78.05 paid beyond the €21.95 left goes to credit once, the renewal Paid', async () => {
      // 519.95 + the 52.00 fee of 12 June = 571.95; Ann pays 100.00 on 14 June (471.95 left). Held
      // on 15 June: the line goes and 50.00 of the fee (10 % of 571.95 − 52.00 − 500.00 = 19.95 →
      // 2.00 kept): the renewal bills 19.95 + 2.00 = 21.95, of which 100.00 is paid: −78.05. Settled
      // with a payment of 0.00: Paid, the 78.05 to Ann's credit, once (was: Unpaid at −78.05, her
      // money held on an invoice still dunned and the VPS's Next Due Date not moved on).
      knex = db().knex;
      s = await buildBillingStory(knex);
      await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
      await closeMay(s);
      await runPanelDays(s, '2013-06-02', '2013-06-12');
      const line = await knex('mod_overusage_lines').first();
      const renewal = toNum(line.invoice_id);
      expect((await feeAndItems(s, renewal)).filter(([k]) => k === 'fee')).to.deep.equal([['fee', '52.00']]);
      s.f.clock.set('2013-06-14T08:00:00Z');
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'ann-part',
        gateway: 'banktransfer',
        amount: '100.00',
        date: '2013-06-14 10:00:00',
      });
      s.f.clock.set('2013-06-15T10:00:00Z');
      const opened = await s.mod.disputes!.open({
        lineId: toNum(line.id),
        reason: 'I cannot tell where this traffic came from.',
        actor: CLIENT(s.story.clientId),
      });
      expect(opened.ok && opened.value.holdState).to.equal('held');
      const r = await s.f.panel.api.getInvoice(renewal);
      expect([r.status, r.total, await feeAndItems(s, renewal)]).to.deep.equal([
        'Paid',
        '21.95',
        [
          ['item', '19.95'],
          ['fee', '2.00'],
        ],
      ]);
      expect(await credits()).to.deep.equal([[`Invoice #${renewal} Overpayment`, '78.05']]);
      expect(await clientCredit()).to.equal('78.05');
      expect(await creditAudits()).to.deep.equal([[String(renewal), '7805']]);
      const vps = (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!;
      expect(vps.nextDueDate).to.equal('2013-07-09');
      // resumed, and the next days: nothing more
      await s.mod.disputes!.resume();
      await runPanelDays(s, '2013-06-16', '2013-06-17');
      expect(await credits()).to.have.length(1);
      expect(await clientCredit()).to.equal('78.05');
      expect((await s.f.panel.api.getInvoice(renewal)).transactions).to.have.length(2);
    });

    it('the held invoice paid €520.00 of its €550.00, then the sweep takes the €50.00 fee off whole: €20.00 to credit once, audited with the correction', async () => {
      // 500.00 held + 10 % = 50.00 on 22 June; Ann pays 520.00 on 23 June (30.00 left). The sweep:
      // nothing but the held line was late, the fee to 0.00; 500.00 billed, 520.00 paid: −20.00, settled
      // Paid with 0.00, the 20.00 to credit (was: Unpaid at −20.00, nothing credited)
      const { held } = await heldWithFee();
      await payOn(held, '520.00', 'ann-520');
      await s.mod.everyTick();
      const h = await s.f.panel.api.getInvoice(held);
      expect([h.status, h.total, await feeAndItems(s, held)]).to.deep.equal([
        'Paid',
        '500.00',
        [
          ['item', '500.00'],
          ['fee', '0.00'],
        ],
      ]);
      expect(await credits()).to.deep.equal([[`Invoice #${held} Overpayment`, '20.00']]);
      expect(await clientCredit()).to.equal('20.00');
      expect(await creditAudits()).to.deep.equal([[String(held), '2000']]);
      const retried = (
        await knex('mod_overusage_audit').where({ action: 'dunning.late_fee_retried' }).select('details')
      ).map((r) => JSON.parse(String(r.details)) as Record<string, unknown>);
      expect(retried).to.deep.include.members([
        { attempts: 2, feeMinor: '5000', newFeeMinor: '0', settled: true, creditedMinor: '2000' },
      ]);
      await s.mod.everyTick();
      await runPanelDays(s, '2013-06-24', '2013-06-25');
      expect(await credits()).to.have.length(1);
      expect(await clientCredit()).to.equal('20.00');
    });

    it('the held invoice paid €300.00 of its €550.00, then the line waived: not cancelled with the €300.00 on it, but Paid and the €300.00 to credit once', async () => {
      // waived on 24 June: the line to 0.00 and the 50.00 fee (all the line's: 10 % of 0.00) to 0.00;
      // 0.00 billed, 300.00 paid: settled Paid, 300.00 to credit (was: Cancelled, the 300.00 lost
      // from Ann's account with it)
      const { held, disputeId } = await heldWithFee();
      await payOn(held, '300.00', 'ann-300');
      s.f.clock.set('2013-06-24T09:00:00Z');
      const res = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN });
      expect(res.ok, res.ok ? '' : res.message).to.equal(true);
      const h = await s.f.panel.api.getInvoice(held);
      expect([h.status, h.total, await feeAndItems(s, held)]).to.deep.equal([
        'Paid',
        '0.00',
        [
          ['item', '0.00'],
          ['fee', '0.00'],
        ],
      ]);
      expect(await credits()).to.deep.equal([[`Invoice #${held} Overpayment`, '300.00']]);
      expect(await clientCredit()).to.equal('300.00');
      expect(await creditAudits()).to.deep.equal([[String(held), '30000']]);
      await s.mod.disputes!.resume();
      await s.mod.everyTick();
      expect(await credits()).to.have.length(1);
      expect(await clientCredit()).to.equal('300.00');
    });

    it('the same waiver interrupted right after the held invoice was settled: resumed, the €300.00 is not given back a second time on a credit note', async () => {
      // the panel fails once the settling payment is in (at its activity log line): the decision
      // stops with the held invoice Paid, its line at 0.00. Resumed, the line no longer billed is
      // not taken for a paid line: no credit note of 500.00 (+ 50.00 fee share), the credit stays 300.00
      const { held, disputeId } = await heldWithFee();
      await payOn(held, '300.00', 'ann-300');
      s.f.clock.set('2013-06-24T09:00:00Z');
      s.faulty.failNext = { method: 'logActivity', when: 'after', times: 1 };
      const first = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN }).then(
        (r) => (r.ok ? 'ok' : r.message),
        (e: { code?: string; message?: string }) => e.code ?? e.message,
      );
      s.faulty.failNext = null;
      expect(first).to.not.equal('ok');
      expect((await s.f.panel.api.getInvoice(held)).status).to.equal('Paid');
      await s.mod.disputes!.resume();
      await s.mod.disputes!.resume();
      expect((await s.mod.disputes!.get(disputeId)).state).to.equal('waived');
      expect(await credits()).to.deep.equal([[`Invoice #${held} Overpayment`, '300.00']]);
      expect(await clientCredit()).to.equal('300.00');
      const notes = await knex('tblinvoices').where({ userid: s.story.clientId }).where('total', '<', 0);
      expect(notes).to.deep.equal([]);
    });
  },
);
