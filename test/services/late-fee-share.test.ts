import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { lateFeeShareOnHeld } from '../../module/domain/dunning.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

const CLIENT = (id: number) => ({ type: 'client' as const, id: String(id) });

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
