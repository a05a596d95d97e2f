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
} from '../support/billing-story.js';

const CLIENT = (id: number) => ({ type: 'client' as const, id: String(id) });
const ADMIN = { type: 'admin' as const, id: '1' };

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
 * (WHMCS does not recompute it), so the add-on credits the part that fell on the held line, once,
 * audited. The seed thread: hosting €19.95 + overusage €500.00 = €519.95 due 9 June 2013, late
 * fee 10 % after 3 days, dispute window to 16 June.
 */
describeEachEngine('late fee share credited when a line is held after the fee (issue 19)', ({ db }) => {
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

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    await closeMay(s);
    await day('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    renewal = toNum(line.invoice_id);
    lineId = toNum(line.id);
    // the days until the fee lands (WHMCS: due date more than AddLateFeeDays behind)
    for (let d = '2013-06-03'; d <= '2013-06-14'; d = addDays(d, 1)) {
      await day(d);
      if ((await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' })).length) break;
    }
    const fee = await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' }).first('amount');
    // 10 % of 519.95 = 51.995 → 52.00
    expect(String(fee.amount)).to.equal('52.00');
  });

  it('credits 52.00 − 2.00 = 50.00 once: the fee stays on the renewal, the client has 50.00 of credit, audited', async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I cannot tell where this traffic came from.',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok, opened.ok ? '' : opened.message).to.equal(true);
    if (!opened.ok) return;
    const d = opened.value;
    expect(d.holdState).to.equal('held');
    // 19.95 + 52.00 = 71.95 left on the renewal, the fee untouched
    const r = await s.f.panel.api.getInvoice(renewal);
    expect(r.total).to.equal('71.95');
    const ref = String((await knex('mod_overusage_lines').first('ref_code')).ref_code);
    // in Ann's language (English), led by the line's late fee reference
    const description = `Credit LF-${ref}: the part of invoice #${renewal}'s late fee that fell on overusage line ${ref}, held while your dispute is decided`;
    expect(await creditLog()).to.deep.equal([[description, '50.00']]);
    expect(
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
    ).to.equal('50.00');
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.late_fee_credit' })
      .select('entity_id', 'details');
    expect(audit).to.have.length(1);
    expect(JSON.parse(audit[0].details)).to.include({
      invoiceId: renewal,
      feeMinor: '5200',
      heldMinor: '50000',
      creditMinor: '5000',
    });
    await s.mod.disputes!.resume();
    expect(await creditLog()).to.have.length(1);
  });

  for (const status of ['Collections', 'Payment Pending'] as const) {
    it(`credits the same 50.00 when the renewal is in ${status}: still owed, so the line is held and the fee stays behind`, async () => {
      // the admin moved the renewal (519.95 + the 52.00 fee) to ${status} after the fee landed;
      // the line leaves it as from an Unpaid one: 52.00 − 19.95 × 10 % (1.995 → 2.00) = 50.00 back
      await knex('tblinvoices').where({ id: renewal }).update({ status });
      s.f.clock.set('2013-06-15T10:00:00Z');
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'I cannot tell where this traffic came from.',
        actor: CLIENT(s.story.clientId),
      });
      if (!opened.ok) throw new Error(opened.message);
      expect(opened.value.holdState).to.equal('held');
      // 19.95 + 52.00 = 71.95 left on the renewal
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('71.95');
      expect((await creditLog()).map(([, a]) => a)).to.deep.equal(['50.00']);
      expect(
        String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
      ).to.equal('50.00');
    });
  }

  it('the late fee credit is audited by the system, on the dispute', async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I cannot tell where this traffic came from.',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.late_fee_credit' })
      .select('actor_type', 'actor_id', 'entity_type', 'entity_id');
    expect(audit.map((r) => [r.actor_type, r.actor_id, r.entity_type, String(r.entity_id)])).to.deep.equal([
      ['system', null, 'dispute', String(opened.value.id)],
    ]);
  });

  it('gives the credit once when the hold fails after it, before the line leaves the renewal', async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    s.faulty.failNext = null;
    expect(opened.ok).to.equal(true);
    // credited, but the line is still on the renewal: 519.95 + 52.00
    expect((await creditLog()).map(([, a]) => a)).to.deep.equal(['50.00']);
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('571.95');
    await s.mod.disputes!.resume();
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('71.95');
    expect((await creditLog()).map(([, a]) => a)).to.deep.equal(['50.00']);
  });

  it('credits no share once the renewal is paid: a hold interrupted before the credit and resumed after Ann paid the €571.95 leaves the fee alone', async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    // the held draft is made and recorded, then the panel fails at the credit log (the first call())
    s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    s.faulty.failNext = null;
    if (!opened.ok) throw new Error(opened.message);
    expect([opened.value.holdState, opened.value.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // Ann pays the renewal as it stands: 19.95 + 500.00 + the 52.00 fee = 571.95; Paid, nothing left
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-15 11:00:00',
    });
    expect((await s.f.panel.api.getInvoice(renewal)).status).to.equal('Paid');
    await s.mod.disputes!.resume();
    // a fee on a paid invoice was paid with it: no share of it comes back as credit (not 52.00)
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_credit' })).to.have.length(0);
    expect(await creditLog()).to.deep.equal([]);
    expect(
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
    ).to.equal('0.00');
  });

  it('credits no share when the admin set the renewal back to a draft: the line is held off it, the fee stays, nothing is owed on a draft', async () => {
    // the renewal (19.95 + 500.00 + the 52.00 fee = 571.95) back to Draft: no client owes a draft
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Draft' });
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.holdState).to.equal('held');
    // 571.95 − 500.00 = 71.95 left on the draft, the fee with it; no share credited (not 50.00)
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('71.95');
    expect(await creditLog()).to.deep.equal([]);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_credit' })).to.have.length(0);
  });

  it('writes the credit in Dutch for a Dutch client, and credits once more never', async () => {
    await knex('tblclients').where({ id: s.story.clientId }).update({ language: 'dutch' });
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'Dit verkeer herken ik niet.',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
    const ref = String((await knex('mod_overusage_lines').first('ref_code')).ref_code);
    // the same 52.00 − 2.00 = 50.00, told in Dutch
    expect(await creditLog()).to.deep.equal([
      [
        `Creditering LF-${ref}: het deel van de boete op factuur #${renewal} dat op regel overschrijding ${ref} viel, die opgeschort is zolang uw bezwaar loopt`,
        '50.00',
      ],
    ]);
    await s.mod.disputes!.resume();
    expect(await creditLog()).to.have.length(1);
  });

  it('knows a credit an earlier version wrote in English: a hold resumed after the upgrade does not credit again', async () => {
    s.f.clock.set('2013-06-15T10:00:00Z');
    // the hold fails before the credit; the credit is then found in the log in the old form
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    s.faulty.failNext = null;
    expect(opened.ok).to.equal(true);
    if (!opened.ok) return;
    const ref = String((await knex('mod_overusage_lines').first('ref_code')).ref_code);
    // as an earlier version would have written it: rewrite the one credit to the old wording
    await knex('tblcredit')
      .where({ clientid: s.story.clientId })
      .update({
        description: `Overusage dispute ${opened.value.id}: late fee share on held line ${ref} (invoice ${renewal})`,
      });
    await s.mod.disputes!.resume();
    // held now, and still the one 50.00 credit (not 100.00)
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
    expect((await creditLog()).map(([, a]) => a)).to.deep.equal(['50.00']);
    expect(
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
    ).to.equal('50.00');
  });

  it('credits nothing under a fixed 52.00 fee, which the late hosting part alone would also bear', async () => {
    // as if the panel's fee were a fixed 52.00: it would be charged on the late 19.95 alone too, so none of it fell on the line
    await knex('tblconfiguration').where({ setting: 'LateFeeType' }).update({ value: 'Fixed Amount' });
    await knex('tblconfiguration').where({ setting: 'InvoiceLateFeeAmount' }).update({ value: '52.00' });
    s.f.clock.set('2013-06-15T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
    // held all the same: no credit of 0.00 is asked of the panel (which refuses one) before the line leaves
    expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('held');
    expect(await creditLog()).to.deep.equal([]);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_credit' })).to.have.length(0);
  });
});

/**
 * A late fee on the held invoice the admin published, left there because the module's
 * AddInvoiceLateFee hook failed (the panel did not answer it), then the line waived. The story:
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

  async function days(from: string, to: string) {
    for (let d = from; d <= to; d = addDays(d, 1)) {
      s.f.clock.set(`${d}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(d);
    }
  }
  const lines = async () =>
    (await s.f.panel.api.getInvoice(held)).items.map((i) => [
      i.type === 'LateFee' ? 'fee' : 'item',
      i.amount,
    ]);
  const waivedAudit = async () =>
    (await knex('mod_overusage_audit').where({ action: 'dispute.late_fee_waived' }).select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );

  async function publishedWithFee(before?: () => Promise<void>) {
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
    // the module's AddInvoiceLateFee hook fails on its first read of the invoice: the fee stays
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
    await days('2013-06-22', '2013-06-22');
    s.faulty.failNext = null;
  }

  it('waived on 24 June: the €50.00 fee goes with the line, the held invoice cancelled at €0.00, no reminder after; audited once', async () => {
    await publishedWithFee();
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['fee', '50.00'],
    ]);
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    // 500.00 → 0.00 and the 50.00 fee gone: nothing billed, cancelled (was: Unpaid with the €50.00 fee alone)
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, await lines()]).to.deep.equal(['Cancelled', '0.00', [['item', '0.00']]]);
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
