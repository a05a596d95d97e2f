import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { lateFeeShareOnHeld } from '../../module/domain/dunning.js';
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

describe('the late fee share of a held line (pure)', () => {
  const pct10 = { fixed: false, amount: 1000n, minimum: 0n };
  it('is the fee less the fee on what is not held, within 0 and the fee', () => {
    // 571.95 unpaid = 519.95 + the 52.00 fee (51.995 half-up); without the fee and the 500.00 held: 19.95 × 10 % = 2.00 (1.995) → share 50.00
    expect(lateFeeShareOnHeld({ balance: 57195n, fee: 5200n, held: 50000n }, pct10)).to.equal(5000n);
    // everything held: the whole fee
    expect(lateFeeShareOnHeld({ balance: 57195n, fee: 5200n, held: 51995n }, pct10)).to.equal(5200n);
    // a fixed 5.00 fee stands while anything else is late; it all goes when only the held line was
    expect(
      lateFeeShareOnHeld(
        { balance: 52495n, fee: 500n, held: 50000n },
        { fixed: true, amount: 500n, minimum: 0n },
      ),
    ).to.equal(0n);
    expect(
      lateFeeShareOnHeld(
        { balance: 50500n, fee: 500n, held: 50000n },
        { fixed: true, amount: 500n, minimum: 0n },
      ),
    ).to.equal(500n);
    // a minimum of 5.00 on the rest: 52.00 − 5.00 = 47.00
    expect(
      lateFeeShareOnHeld({ balance: 57195n, fee: 5200n, held: 50000n }, { ...pct10, minimum: 500n }),
    ).to.equal(4700n);
    // nothing held, no fee, or a fee the admin lowered below what is due without the line: nothing
    expect(lateFeeShareOnHeld({ balance: 57195n, fee: 5200n, held: 0n }, pct10)).to.equal(0n);
    expect(lateFeeShareOnHeld({ balance: 51995n, fee: 0n, held: 50000n }, pct10)).to.equal(0n);
    expect(lateFeeShareOnHeld({ balance: 52095n, fee: 100n, held: 50000n }, pct10)).to.equal(0n);
  });
});

/**
 * A line disputed after its renewal got a late fee (issue 19): the panel keeps the fee as it is
 * (WHMCS does not recompute it). The fee is not paid, so the part that fell on the held line comes
 * off it in the update that takes the line off the renewal, once, audited (docs/billing-rules.md,
 * "Late fees": an unpaid fee is reduced, a paid one's share given back). The seed thread: hosting
 * €19.95 + overusage €500.00 = €519.95 due 9 June 2013, late fee 10 % after 3 days, dispute window
 * to 16 June.
 */
describeEachEngine('late fee share taken off the fee when a line is held after it (issue 19)', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;

  async function day(date: string) {
    s.f.clock.set(`${date}T07:00:00Z`);
    await s.f.panel.runDailyAutomation(date);
  }
  const creditLog = async () =>
    (
      await knex('tblcredit')
        .where({ clientid: s.story.clientId })
        .orderBy('id')
        .select('description', 'amount')
    ).map((r) => [String(r.description), String(r.amount)]);
  const clientCredit = async () =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  const renewalLines = async () =>
    (await s.f.panel.api.getInvoice(renewal)).items.map((i) => [
      i.type === 'LateFee' ? 'fee' : 'item',
      i.amount,
    ]);
  const reducedAudit = async () =>
    (await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_reduced' }).select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );
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

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    await closeMay(s);
    await day('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    renewal = toNum(line.invoice_id);
    lineId = toNum(line.id);
    // the days until the fee lands (WHMCS: due date AddLateFeeDays or more behind)
    for (let d = '2013-06-03'; d <= '2013-06-14'; d = addDays(d, 1)) {
      await day(d);
      if ((await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' })).length) break;
    }
    const fee = await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' }).first('amount');
    // 10 % of 519.95 = 51.995 → 52.00
    expect(String(fee.amount)).to.equal('52.00');
  });

  it('takes 52.00 − 2.00 = 50.00 off the fee once: the renewal owes 19.95 + 2.00 = 21.95, no credit, audited', async () => {
    const d = await openDispute();
    expect(d.holdState).to.equal('held');
    // the fee on what is left: 10 % of 19.95 = 1.995 → 2.00 (was: the 52.00 fee kept, 50.00 credited)
    expect(await renewalLines()).to.deep.equal([
      ['item', '19.95'],
      ['fee', '2.00'],
    ]);
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('21.95');
    expect(await creditLog()).to.deep.equal([]);
    expect(await clientCredit()).to.equal('0.00');
    expect(await reducedAudit()).to.deep.equal([
      {
        invoiceId: renewal,
        feeMinor: '5200',
        heldMinor: '50000',
        reducedMinor: '5000',
        rule: { fixed: false, amount: '1000', minimum: '0' },
      },
    ]);
    await s.mod.disputes!.resume();
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('21.95');
    expect(await reducedAudit()).to.have.length(1);
  });

  for (const status of ['Collections', 'Payment Pending'] as const) {
    it(`takes the same 50.00 off the fee when the renewal is in ${status}: still owed, the fee not paid`, async () => {
      // the admin moved the renewal (519.95 + the 52.00 fee) to ${status} after the fee landed;
      // the line leaves it as from an Unpaid one: 52.00 − 19.95 × 10 % (1.995 → 2.00) = 50.00 off
      await knex('tblinvoices').where({ id: renewal }).update({ status });
      expect((await openDispute()).holdState).to.equal('held');
      // 19.95 + 2.00 = 21.95 left on the renewal
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('21.95');
      expect(await creditLog()).to.deep.equal([]);
      expect(await clientCredit()).to.equal('0.00');
    });
  }

  it('Ann paid the €19.95 hosting on 5 June, before the fee: the 52.00 fee comes off whole with the line and the renewal, all paid, is settled Paid', async () => {
    // 519.95 due 9 June, Ann pays the 19.95 hosting on 5 June; the panel's 10 % fee of 12 June is
    // 52.00 (on the total), though only the 500.00 line was late. Held on 15 June: the fee on what
    // is not held and was unpaid is 10 % of (552.00 − 52.00 − 500.00) = 0.00, all 52.00 off; the
    // renewal bills 19.95 (and the fee at 0.00, kept as a LateFee line), of which 19.95 is paid:
    // 0.00 left. WHMCS marks an invoice Paid only
    // when a payment settles it, so it stayed Unpaid at 0.00 and the VPS's Next Due Date (9 June)
    // never moved; the module settles it with a payment of 0.00: Paid, due date 9 July.
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'ann-hosting',
      gateway: 'banktransfer',
      amount: '19.95',
      date: '2013-06-05 10:00:00',
    });
    expect((await openDispute()).holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.total, r.balance, await renewalLines()]).to.deep.equal([
      'Paid',
      '19.95',
      '0.00',
      [
        ['item', '19.95'],
        ['fee', '0.00'],
      ],
    ]);
    expect(r.transactions.map((t) => t.amountIn)).to.deep.equal(['19.95', '0.00']);
    const vps = (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!;
    expect(vps.nextDueDate).to.equal('2013-07-09');
    expect((await reducedAudit()).map((a) => a.reducedMinor)).to.deep.equal(['5200']);
    // resumed: settled once
    await s.mod.disputes!.resume();
    expect((await s.f.panel.api.getInvoice(renewal)).transactions).to.have.length(2);
  });

  it('the reduction is audited by the system, on the dispute', async () => {
    const d = await openDispute();
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.late_fee_reduced' })
      .select('actor_type', 'actor_id', 'entity_type', 'entity_id');
    expect(audit.map((r) => [r.actor_type, r.actor_id, r.entity_type, String(r.entity_id)])).to.deep.equal([
      ['system', null, 'dispute', String(d.id)],
    ]);
  });

  it('the panel failing on the update: the line and the 52.00 fee stay until the hold is resumed, then 21.95, one audit', async () => {
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await openDispute();
    s.faulty.failNext = null;
    expect(d.holdState).to.equal('holding');
    // nothing changed on the renewal: 19.95 + 500.00 + 52.00
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('571.95');
    await s.mod.disputes!.resume();
    await s.mod.disputes!.resume();
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('21.95');
    expect((await reducedAudit()).map((a) => a.reducedMinor)).to.deep.equal(['5000']);
    expect(await creditLog()).to.deep.equal([]);
  });

  it('gives no share once the renewal is paid: a hold interrupted before the fee and resumed after Ann paid the €571.95 leaves the fee alone', async () => {
    // the held draft is made and recorded, then the panel fails at the credit log (the first call())
    s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
    const d = await openDispute();
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // Ann pays the renewal as it stands: 19.95 + 500.00 + the 52.00 fee = 571.95; Paid, nothing left
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-15 11:00:00',
    });
    expect((await s.f.panel.api.getInvoice(renewal)).status).to.equal('Paid');
    await s.mod.disputes!.resume();
    // the paid line goes to the refund-or-credit decision; the paid fee is not cut, nor credited now
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('refund_decision');
    expect(await renewalLines()).to.deep.equal([
      ['item', '19.95'],
      ['item', '500.00'],
      ['fee', '52.00'],
    ]);
    expect(await reducedAudit()).to.deep.equal([]);
    expect(await creditLog()).to.deep.equal([]);
    expect(await clientCredit()).to.equal('0.00');
  });

  it('takes the share off a renewal the admin set back to a draft too: the fee is not paid, 19.95 + 2.00 = 21.95 when it is published', async () => {
    // the renewal (19.95 + 500.00 + the 52.00 fee = 571.95) back to Draft; the fee on it is still unpaid
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Draft' });
    expect((await openDispute()).holdState).to.equal('held');
    // 52.00 − 10 % of 19.95 (2.00) = 50.00 off (was: 71.95 on the draft, the 50.00 the line caused kept)
    expect(await renewalLines()).to.deep.equal([
      ['item', '19.95'],
      ['fee', '2.00'],
    ]);
    expect(await creditLog()).to.deep.equal([]);
    expect((await reducedAudit()).map((a) => a.reducedMinor)).to.deep.equal(['5000']);
  });

  for (const form of ['en-ref', 'nl-ref', 'old-en'] as const) {
    it(`a share an earlier version already credited (${form}) is not taken off the fee as well`, async () => {
      // an earlier version's hold credited the 50.00 and failed before the line left the renewal;
      // here the hold stops at the credit log (the first call()), then that credit is put in the log
      s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
      const d = await openDispute();
      s.faulty.failNext = null;
      const ref = String((await knex('mod_overusage_lines').first('ref_code')).ref_code);
      const description = {
        'en-ref': `Credit LF-${ref}: the part of invoice #${renewal}'s late fee that fell on overusage line ${ref}, held while your dispute is decided`,
        'nl-ref': `Creditering LF-${ref}: het deel van de boete op factuur #${renewal} dat op regel overschrijding ${ref} viel, die opgeschort is zolang uw bezwaar loopt`,
        'old-en': `Overusage dispute ${d.id}: late fee share on held line ${ref} (invoice ${renewal})`,
      }[form];
      await s.f.panel.api.call('AddCredit', { clientid: s.story.clientId, description, amount: '50.00' });
      await s.mod.disputes!.resume();
      // held; 19.95 + the 52.00 fee = 71.95 (not 21.95: the 50.00 is not given back twice)
      expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('71.95');
      expect(await clientCredit()).to.equal('50.00');
      expect(await reducedAudit()).to.deep.equal([]);
    });
  }

  it('a late fee credit of the same line for another invoice is not this fee’s: the share still comes off the renewal’s fee', async () => {
    // the hold stops at the credit log, its held invoice made; the log then has an LF- credit of this
    // line naming that other invoice (10.00), not the renewal
    s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
    const d = await openDispute();
    s.faulty.failNext = null;
    const other = d.heldInvoiceId!;
    expect(other).to.not.equal(renewal);
    const ref = String((await knex('mod_overusage_lines').first('ref_code')).ref_code);
    for (const description of [
      `Credit LF-${ref}: the part of invoice #${other}'s late fee that fell on overusage line ${ref}, held while your dispute is decided`,
      `Creditering LF-${ref}: het deel van de boete op factuur #${other} dat op regel overschrijding ${ref} viel, die opgeschort is zolang uw bezwaar loopt`,
      // a number that starts with the renewal's is another invoice too
      `Credit LF-${ref}: the part of invoice #${renewal}0's late fee that fell on overusage line ${ref}, held while your dispute is decided`,
    ])
      await s.f.panel.api.call('AddCredit', { clientid: s.story.clientId, description, amount: '10.00' });
    await s.mod.disputes!.resume();
    // the renewal's 52.00 fee loses 52.00 − 2.00 = 50.00: 19.95 + 2.00 = 21.95 (was 71.95, taken as given)
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
    expect(await renewalLines()).to.deep.equal([
      ['item', '19.95'],
      ['fee', '2.00'],
    ]);
    expect((await reducedAudit()).map((a) => [a.invoiceId, a.reducedMinor])).to.deep.equal([
      [renewal, '5000'],
    ]);
    // the three other credits untouched: 3 × 10.00
    expect(await clientCredit()).to.equal('30.00');
  });

  it('takes nothing off a fixed 52.00 fee, which the late hosting part alone would also bear', async () => {
    // as if the panel's fee were a fixed 52.00: it would be charged on the late 19.95 alone too, so none of it fell on the line
    await knex('tblconfiguration').where({ setting: 'LateFeeType' }).update({ value: 'Fixed Amount' });
    await knex('tblconfiguration').where({ setting: 'InvoiceLateFeeAmount' }).update({ value: '52.00' });
    expect((await openDispute()).holdState).to.equal('held');
    // 19.95 + 52.00 = 71.95
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('71.95');
    expect(await creditLog()).to.deep.equal([]);
    expect(await reducedAudit()).to.deep.equal([]);
  });
});

/**
 * A late fee on the held invoice the admin published, left there because the module's
 * AddInvoiceLateFee hook failed (the panel did not answer it, nor the sweep that day), then the line
 * waived. The story:
 * 1 000 GB × €0.50 = €500.00 held off the renewal of 2 June on 5 June; the admin publishes the held
 * invoice on 7 June, due 19 June; 3 days late (22 June) the panel adds 10 % of €500.00 = €50.00.
 * The fee fell on the disputed line alone (without it nothing is late: 10 % of 0.00 = 0.00), so a
 * waiver takes all €50.00 off with the line: the client owes nothing, and is dunned for nothing.
 */
describeEachEngine('the late fee on a published held invoice, when its line is waived', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let held: number;
  let disputeId: number;

  const days = (from: string, to: string) => runPanelDays(s, from, to);
  const lines = () => feeAndItems(s, held);
  const waivedAudit = async () =>
    (await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_waived' }).select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );

  async function publishedWithFee(before?: () => Promise<void>, failures = 10_000) {
    knex = db().knex;
    const billed = await billMay(knex);
    s = billed.s;
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    const d = await disputeLine(s, billed.lineId);
    held = d.heldInvoiceId!;
    disputeId = d.id;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    if (before) await before();
    await days('2013-06-07', '2013-06-21');
    // the panel does not answer the module's reads on 22 June: its AddInvoiceLateFee hook fails,
    // and so does the sweep of that day's AfterCronJob; the fee stays (unless failures = 1)
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: failures };
    await days('2013-06-22', '2013-06-22');
    s.faulty.failNext = null;
  }

  it('waived on 24 June: the €50.00 fee goes to €0.00 with the line, the held invoice cancelled at €0.00, no reminder after; audited once', async () => {
    await publishedWithFee();
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['fee', '50.00'],
    ]);
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    // 500.00 → 0.00 and the 50.00 fee → 0.00 (kept, not deleted): nothing billed, cancelled (was:
    // Unpaid with the €50.00 fee alone)
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, await lines()]).to.deep.equal([
      'Cancelled',
      '0.00',
      [
        ['item', '0.00'],
        ['fee', '0.00'],
      ],
    ]);
    expect(
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
    ).to.equal('0.00');
    expect(await waivedAudit()).to.deep.equal([
      {
        invoiceId: held,
        feeMinor: '5000',
        heldMinor: '50000',
        waivedMinor: '5000',
        rule: { fixed: false, amount: '1000', minimum: '0' },
      },
    ]);
    await s.mod.disputes!.resume();
    await days('2013-06-25', '2013-07-10');
    const mails = await knex('tblemails')
      .where({ userid: s.story.clientId })
      .andWhere('date', '>=', '2013-06-24 00:00:00')
      .select('subject');
    expect(mails.map((m) => String(m.subject)).filter((t) => /Reminder|Overdue/i.test(t))).to.deep.equal([]);
    expect(await waivedAudit()).to.have.length(1);
  });

  it('an item of the admin’s own beside the line: the fee keeps its part on it, €51.20 → €1.20, the €13.20 stays due', async () => {
    // the admin adds €12.00 to the held invoice before it is late: 10 % of 512.00 = 51.20;
    // waived: the fee on what is left, 10 % of 12.00 = 1.20, so 50.00 comes off; 12.00 + 1.20 = 13.20
    await publishedWithFee(async () => {
      await s.f.panel.api.updateInvoice({
        invoiceId: held,
        newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
      });
    });
    expect((await lines()).filter(([t]) => t === 'fee')).to.deep.equal([['fee', '51.20']]);
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, await lines()]).to.deep.equal([
      'Unpaid',
      '13.20',
      [
        ['item', '0.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
    expect((await waivedAudit()).map((a) => a.waivedMinor)).to.deep.equal(['5000']);
  });

  it('the hook failing once: the same day’s 5-minute sweep corrects the fee, €51.20 → €1.20; a second sweep changes nothing', async () => {
    // the admin's €12.00 beside the held €500.00: the panel adds 10 % of 512.00 = 51.20 on 22 June;
    // the hook's read fails once, the sweep of that cron run sets it to the fee on what is not held:
    // 10 % of 12.00 = 1.20, so the invoice owes 500.00 (held) + 12.00 + 1.20 = 513.20
    await publishedWithFee(async () => {
      await s.f.panel.api.updateInvoice({
        invoiceId: held,
        newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
      });
    }, 1);
    const retried = async () =>
      (
        await knex('mod_overusage_audit')
          .where({ action: 'dunning.late_fee_retried' })
          .select('entity_type', 'entity_id', 'details')
      ).map((r) => [r.entity_type, String(r.entity_id), JSON.parse(String(r.details))]);
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['item', '12.00'],
      ['fee', '1.20'],
    ]);
    expect((await s.f.panel.api.getInvoice(held)).total).to.equal('513.20');
    expect(await retried()).to.deep.equal([
      ['invoice', String(held), { attempts: 1, feeMinor: '5120', newFeeMinor: '120' }],
    ]);
    // a second sweep (the next tick) and the next day's run: nothing more, still one audit
    await s.mod.everyTick();
    await days('2013-06-23', '2013-06-23');
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['item', '12.00'],
      ['fee', '1.20'],
    ]);
    expect(await retried()).to.have.length(1);
    expect(await knex('mod_overusage_late_fee_retries')).to.deep.equal([]);
  });

  it('the panel failing on the update: resumed twice, the fee taken off once, one audit', async () => {
    await publishedWithFee();
    s.f.clock.set('2013-06-24T09:00:00Z');
    // the first UpdateInvoice of the waiver is the held invoice's (the line at 0.00 and the fee)
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const first = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN }).then(
      () => null,
      (e: { code?: string }) => e.code,
    );
    s.faulty.failNext = null;
    expect(first).to.equal('UPSTREAM');
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['fee', '50.00'],
    ]);
    await s.mod.disputes!.resume();
    await s.mod.disputes!.resume();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total]).to.deep.equal(['Cancelled', '0.00']);
    expect((await waivedAudit()).map((a) => a.waivedMinor)).to.deep.equal(['5000']);
    expect((await s.mod.disputes!.get(disputeId)).state).to.equal('waived');
  });
});
