import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  disputeLine,
  STORY_EUR,
  STORY_JPY,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN } from '../support/module-fixture.js';

/**
 * An open dispute whose line's invoice is cancelled or refunded closes with nothing to settle
 * (docs/billing-rules.md, "Cancelled and refunded invoices"), through the panel's InvoiceCancelled
 * and InvoiceRefunded hooks. The story (test/support/billing-story.ts): 1 000 GB over in May,
 * billed on the renewal of 2 June beside the VPS:
 *  - EUR: 1 000 × €0.50 = €500.00 + €19.95 = €519.95; held, the renewal keeps €19.95;
 *  - JPY: 1 000 × ¥80 = ¥80,000 + ¥2,980 = ¥82,980 (82980.00 in the panel's hundredths).
 * Ann disputes on 5 June; the invoice is cancelled or refunded on 7 June.
 */
describeEachEngine('a dispute closed by its invoice’s cancellation or refund', ({ db }) => {
  let knex: Knex;

  async function billed(money: StoryMoney) {
    knex = db().knex;
    return billMay(knex, undefined, money);
  }
  const credit = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  /** every invoice of the client: id, status, total */
  const invoices = async (s: BillingStory) =>
    (
      await knex('tblinvoices')
        .where({ userid: s.story.clientId })
        .orderBy('id')
        .select('id', 'status', 'total')
    ).map((r) => [toNum(r.id), String(r.status), String(r.total)]);
  const voidedAudit = async () =>
    (
      await knex('mod_overusage_audit').where({ action: 'dispute.voided' }).select('actor_type', 'details')
    ).map((r) => [String(r.actor_type), JSON.parse(String(r.details)) as unknown]);
  const emails = async (disputeId: number) =>
    (
      await knex('mod_overusage_outbox')
        .where('message_key', 'like', `dispute:${disputeId}:voided:%`)
        .orderBy('id')
    ).map((r) => String(r.message_key));
  const at7June = (s: BillingStory) => s.f.clock.set('2013-06-07T09:00:00Z');

  for (const [money, sums] of [
    [STORY_EUR, { line: '500.00', hosting: '19.95', currency: 'EUR' }],
    [STORY_JPY, { line: '80000.00', hosting: '2980.00', currency: 'JPY' }],
  ] as const) {
    it(`${money.code}: held, then the renewal cancelled → voided; the held draft (${sums.line}) cancelled at 0.00, no credit, an upholding refused`, async () => {
      const { s, renewal, lineId } = await billed(money);
      const d = await disputeLine(s, lineId);
      expect([d.holdState, (await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total]).to.deep.equal([
        'held',
        sums.line,
      ]);
      at7June(s);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.holdState, after.resolvingTo, after.voidedBy]).to.deep.equal([
        'voided',
        'released',
        null,
        { invoiceId: renewal, status: 'Cancelled' },
      ]);
      // the renewal cancelled with the hosting only; the draft cancelled at nothing; nothing else
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', sums.hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
      expect(await credit(s)).to.equal('0.00');
      expect(await voidedAudit()).to.deep.equal([
        [
          'system',
          {
            lineId,
            invoiceId: renewal,
            invoiceStatus: 'Cancelled',
            amountBeforeMinor: money.code === 'EUR' ? '50000' : '80000',
            currency: sums.currency,
            heldInvoiceId: d.heldInvoiceId,
          },
        ],
      ]);
      expect(await emails(d.id)).to.deep.equal([
        `dispute:${d.id}:voided:client`,
        `dispute:${d.id}:voided:admin`,
      ]);
      // the admin can no longer bill it: the dispute is closed
      const upheld = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
      expect(upheld.ok ? 'upheld' : upheld.code).to.equal('INVALID_TRANSITION');
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', sums.hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
    });

    it(`${money.code}: paid before the dispute, then refunded → voided; a waiver no longer credits ${sums.line} a second time`, async () => {
      const { s, renewal, lineId } = await billed(money);
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'pay-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
      const d = await disputeLine(s, lineId);
      expect(d.holdState).to.equal('refund_decision');
      at7June(s);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Refunded' });
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.holdState, after.voidedBy]).to.deep.equal([
        'voided',
        'refund_decision',
        { invoiceId: renewal, status: 'Refunded' },
      ]);
      const waived = await s.mod.disputes!.resolve({
        disputeId: d.id,
        to: 'waived',
        actor: ADMIN,
        settlement: 'credit',
      });
      expect(waived.ok ? 'waived' : waived.code).to.equal('INVALID_TRANSITION');
      // the refunded renewal, and no credit note: the client's credit stays 0.00
      const total = money.code === 'EUR' ? '519.95' : '82980.00';
      expect(await invoices(s)).to.deep.equal([[renewal, 'Refunded', total]]);
      expect(await credit(s)).to.equal('0.00');
      const line = await knex('mod_overusage_lines').where({ id: lineId }).first('status', 'amount_minor');
      expect([String(line.status), String(line.amount_minor)]).to.deep.equal([
        'placed',
        money.code === 'EUR' ? '50000' : '80000',
      ]);
    });
  }

  it('a dispute being decided is left to its decision: neither the waiver’s own cancelled draft nor the renewal cancelled after it voids it', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    // waived: the module cancels its own held draft, which runs InvoiceCancelled: the waiver stands
    const waived = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(waived.ok ? waived.value.state : waived.code).to.equal('waived');
    expect(await voidedAudit()).to.deep.equal([]);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
    expect(await voidedAudit()).to.deep.equal([]);
  });

  it('the client and the admin are told in the client’s language (Dutch) why it closed', async () => {
    const { s, renewal, lineId, ref } = await billed(STORY_EUR);
    await knex('tblclients').where({ id: s.story.clientId }).update({ language: 'dutch' });
    const d = await disputeLine(s, lineId);
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    const payloads = (
      await knex('mod_overusage_outbox')
        .where('message_key', 'like', `dispute:${d.id}:voided:%`)
        .orderBy('id')
    ).map((r) => String(r.payload).replace(/[\u00a0\u202f]/g, ' '));
    expect(payloads[0]).to.include(
      `Factuur #${renewal}, waarop de regel ${ref} (€ 500,00) stond, is geannuleerd: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.`,
    );
    expect(payloads[1]).to.include(
      `Invoice #${renewal}, which the line ${ref} (€500.00) was billed on, was cancelled: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).`,
    );
    // the renewal's notes say it too, in Dutch, in place of "on hold"
    expect((await s.f.panel.api.getInvoice(renewal)).notes).to.equal(
      `Regel overschrijding [${ref}]: niet verschuldigd: factuur #${renewal} is geannuleerd, dus uw bezwaar is afgesloten zonder verdere afrekening.`,
    );
  });
  it('the count the hook gives: 0 without asking the panel when no dispute is open on the invoice, 0 while it is owed, 1 once cancelled, 0 again after', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    // no dispute yet: nothing to void, and the panel is not even asked for the renewal
    s.faulty.calls = [];
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
    expect(s.faulty.calls).to.deep.equal([]);
    const d = await disputeLine(s, lineId);
    at7June(s);
    // a hook replayed while the renewal is Unpaid again: owed, so the dispute stays open
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
    // cancelled in the panel's table (no hook), then the hook delivered: one dispute voided → 1
    await knex('tblinvoices').where({ id: renewal }).update({ status: 'Cancelled' });
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(1);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('voided');
    // delivered twice: nothing open on it any more → 0
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
  });

  it('a decision taken while the hook reads the invoice: the voiding finds the dispute closed and counts 0', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    await knex('tblinvoices').where({ id: renewal }).update({ status: 'Cancelled' });
    // the admin's upholding lands between the hook's listing of open disputes and its claim:
    // carried out on a cancelled renewal, it is voided instead (dispute-voided-sweep.test.ts)
    const real = s.faulty.real;
    const getInvoice = real.getInvoice.bind(real);
    let raced = false;
    real.getInvoice = async (id) => {
      if (!raced && id === renewal) {
        raced = true;
        const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
        expect(out.ok ? out.value.state : out.code).to.equal('voided');
      }
      return getInvoice(id);
    };
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
    // voided once, by the decision: one audit row, one pair of emails
    expect((await voidedAudit()).length).to.equal(1);
    expect(await emails(d.id)).to.deep.equal([
      `dispute:${d.id}:voided:client`,
      `dispute:${d.id}:voided:admin`,
    ]);
  });

  it('the voiding runs under the dispute’s own lease, so a decision of the same dispute waits for it', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    // the leases held when the voiding asks the panel for the client's details
    const real = s.faulty.real;
    const details = real.getClientsDetails.bind(real);
    const held: string[][] = [];
    real.getClientsDetails = async (id) => {
      held.push(
        (await knex('mod_overusage_locks').orderBy('name').select('name')).map((r) => String(r.name)),
      );
      return details(id);
    };
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('voided');
    expect(held.length).to.equal(1);
    expect(held[0]).to.include(`dispute:${d.id}`);
  });

  it('a held line voided: placed again on the cancelled draft as billed, claimed and audited as the system’s, on the dispute', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const before = await knex('mod_overusage_lines').where({ id: lineId }).first('description');
    const d = await disputeLine(s, lineId);
    // while held: the line is 'held', on the draft
    const heldLine = await knex('mod_overusage_lines').where({ id: lineId }).first('status');
    expect(String(heldLine.status)).to.equal('held');
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    // placed again, at its €500.00 (50000 cents) and with the text it was billed with
    const line = await knex('mod_overusage_lines')
      .where({ id: lineId })
      .first('status', 'amount_minor', 'description');
    expect([String(line.status), String(line.amount_minor), String(line.description)]).to.deep.equal([
      'placed',
      '50000',
      String(before.description),
    ]);
    const row = await knex('mod_overusage_disputes')
      .where({ id: d.id })
      .first('resolved_by_type', 'resolved_by_id');
    expect([row.resolved_by_type, row.resolved_by_id]).to.deep.equal(['system', null]);
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.voided' })
      .select('entity_type', 'entity_id');
    expect(audit.map((r) => [String(r.entity_type), toNum(r.entity_id)])).to.deep.equal([['dispute', d.id]]);
  });

  it('refunded: the renewal’s note says refunded, written once; a carrying-out interrupted after it does not write it again', async () => {
    const { s, renewal, lineId, ref } = await billed(STORY_EUR);
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const d = await disputeLine(s, lineId);
    at7June(s);
    // the module's one panel update (the note: the line was paid, so no draft) takes effect, then fails
    s.faulty.failNext = { method: 'updateInvoice', when: 'after', times: 1 };
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Refunded' });
    expect(s.faulty.failNext.times, 'the note was written').to.equal(0);
    expect((await s.mod.disputes!.get(d.id)).resolvingTo).to.equal('voided');
    // the sweep finishes it; the note is already there, so the panel is not asked to update again
    s.faulty.calls = [];
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect(s.faulty.calls.filter((c) => c === 'updateInvoice')).to.deep.equal([]);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('voided');
    expect((await s.f.panel.api.getInvoice(renewal)).notes).to.equal(
      `Overusage line [${ref}]: not owed: invoice #${renewal} was refunded, so your dispute is closed with nothing to settle.`,
    );
  });

  it('the admin cancels the held draft itself: the dispute is voided by it, and the draft keeps the €500.00 the admin cancelled', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    // cancelled as it stands (500.00): the module changes nothing on an invoice no longer a draft
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, status: 'Cancelled' });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.voidedBy]).to.deep.equal([
      'voided',
      { invoiceId: d.heldInvoiceId, status: 'Cancelled' },
    ]);
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Unpaid', '19.95'],
      [d.heldInvoiceId, 'Cancelled', '500.00'],
    ]);
  });

  /**
   * Held (the renewal keeps €519.95 − €500.00 = €19.95), then the admin publishes the held draft:
   * Unpaid at €500.00, the line owed there. The renewal cancelled afterwards does not end that debt
   * (docs/billing-rules.md, "Cancelled and refunded invoices"): the dispute stays open for the admin.
   */
  async function heldPublished() {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, publish: true });
    return { s, renewal, d };
  }

  it('the held draft published by the admin, then the renewal cancelled: the hook voids nothing (0), the €500.00 stays owed; an upholding leaves the published invoice as it is', async () => {
    const { s, renewal, d } = await heldPublished();
    await knex('tblinvoices').where({ id: renewal }).update({ status: 'Cancelled' });
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.holdState, after.voidedBy]).to.deep.equal(['open', 'held', null]);
    // the renewal cancelled at €19.95; the line's €500.00 still Unpaid on the published invoice
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [d.heldInvoiceId, 'Unpaid', '500.00'],
    ]);
    expect(await voidedAudit()).to.deep.equal([]);
    expect(await emails(d.id)).to.deep.equal([]);
    // upheld: billed where the admin published it; the module does not rewrite an invoice no longer a draft
    const published = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    s.f.clock.set('2013-06-10T09:00:00Z');
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
    expect(out.ok ? out.value.state : out.code).to.equal('upheld');
    expect(await s.f.panel.api.getInvoice(d.heldInvoiceId!)).to.deep.equal(published);
  });

  it('the published held invoice paid (€500.00), then the renewal refunded: still owed, so the dispute stays open', async () => {
    const { s, renewal, d } = await heldPublished();
    await s.f.panel.api.addInvoicePayment({
      invoiceId: d.heldInvoiceId!,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-07 10:00:00',
    });
    await knex('tblinvoices').where({ id: renewal }).update({ status: 'Refunded' });
    expect(await s.mod.disputes!.invoiceClosed(renewal)).to.equal(0);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Refunded', '19.95'],
      [d.heldInvoiceId, 'Paid', '500.00'],
    ]);
  });

  it('the admin takes the line off the published held invoice for a €12.00 item of their own, then the renewal cancelled: the line is owed nowhere, voided; the €12.00 stays Unpaid', async () => {
    const { s, renewal, d } = await heldPublished();
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    await s.f.panel.api.updateInvoice({
      invoiceId: held.invoiceId,
      deleteLineIds: held.items.map((i) => i.id),
      newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
    });
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.voidedBy]).to.deep.equal([
      'voided',
      { invoiceId: renewal, status: 'Cancelled' },
    ]);
    // the published invoice is not the module's to cancel: the admin's €12.00 is left owed
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [held.invoiceId, 'Unpaid', '12.00'],
    ]);
  });

  it('the held draft published, the renewal cancelled (the dispute stays open), then the published invoice itself cancelled: voided by it, its €500.00 left as cancelled', async () => {
    const { s, renewal, d } = await heldPublished();
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, status: 'Cancelled' });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.voidedBy]).to.deep.equal([
      'voided',
      { invoiceId: d.heldInvoiceId, status: 'Cancelled' },
    ]);
    // nothing owed: €19.95 and €500.00 both cancelled as they stood
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [d.heldInvoiceId, 'Cancelled', '500.00'],
    ]);
    expect(await emails(d.id)).to.deep.equal([
      `dispute:${d.id}:voided:client`,
      `dispute:${d.id}:voided:admin`,
    ]);
  });

  /**
   * A hold interrupted before the line left the renewal (the panel refused the renewal's update):
   * the held draft holds €500.00, the renewal still €19.95 + €500.00 = €519.95. The admin publishes
   * the held draft (Unpaid, €500.00: the line owed there), then cancels the renewal. The cancelled
   * renewal is left as it is — €519.95, its notes as they were — while the dispute goes on.
   */
  async function interruptedThenCancelled() {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, (await s.f.panel.api.getInvoice(renewal)).total]).to.deep.equal([
      'holding',
      '519.95',
    ]);
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, publish: true });
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    const cancelled = await s.f.panel.api.getInvoice(renewal);
    expect([cancelled.status, cancelled.total]).to.deep.equal(['Cancelled', '519.95']);
    return { s, renewal, d, cancelled };
  }
  const heldAudit = async () =>
    (await knex('mod_overusage_audit').where({ action: 'dispute.held' }).select('details')).map(
      (r) => JSON.parse(String(r.details)) as unknown,
    );

  it('a hold finished onto the published held invoice leaves the cancelled renewal as it is: €519.95, its notes unchanged (was: €19.95, notes rewritten)', async () => {
    const { s, renewal, d, cancelled } = await interruptedThenCancelled();
    await s.mod.disputes!.resume();
    await s.mod.disputes!.resume();
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.holdState]).to.deep.equal(['open', 'held']);
    expect(await s.f.panel.api.getInvoice(renewal)).to.deep.equal(cancelled);
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '519.95'],
      [d.heldInvoiceId, 'Unpaid', '500.00'],
    ]);
    expect(await heldAudit()).to.deep.equal([
      { from: renewal, heldInvoiceId: d.heldInvoiceId, amountMinor: '50000' },
    ]);
  });

  it('waived while that hold was unfinished: the dispute ends (waived, audited), the held €500.00 cancelled at 0.00, the cancelled renewal left as it is', async () => {
    const { s, renewal, d, cancelled } = await interruptedThenCancelled();
    s.f.clock.set('2013-06-10T09:00:00Z');
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(out.ok ? [out.value.state, out.value.holdState] : out.code).to.deep.equal(['waived', 'released']);
    expect(await s.f.panel.api.getInvoice(renewal)).to.deep.equal(cancelled);
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '519.95'],
      [d.heldInvoiceId, 'Cancelled', '0.00'],
    ]);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.waived' })).to.have.length(1);
    expect(await credit(s)).to.equal('0.00');
  });

  it('the admin puts the line back on the published held invoice under a new item id (same text), then the renewal cancelled: still owed there by its reference, the dispute stays open; a waiver then cancels that invoice at 0.00', async () => {
    const { s, renewal, d } = await heldPublished();
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    const [item] = held.items;
    await s.f.panel.api.updateInvoice({
      invoiceId: held.invoiceId,
      deleteLineIds: [item!.id],
      newItems: [{ description: item!.description, amount: '500.00', taxed: item!.taxed }],
    });
    const moved = (await s.f.panel.api.getInvoice(held.invoiceId)).items;
    expect(moved.map((i) => [i.id === item!.id, i.amount])).to.deep.equal([[false, '500.00']]);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    // owed on the published invoice, found by its [OU-…] text (was: voided, the recorded id gone)
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.voidedBy]).to.deep.equal(['open', null]);
    s.f.clock.set('2013-06-10T09:00:00Z');
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(out.ok ? out.value.state : out.code).to.equal('waived');
    // €500.00 → 0.00 on the item that carries the line: nothing billed, cancelled
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [held.invoiceId, 'Cancelled', '0.00'],
    ]);
  });

  it('the line taken off the published held invoice for a €12.00 item the panel stores under the line’s old id, then the renewal cancelled: the line is owed nowhere, voided; the €12.00 stays Unpaid', async () => {
    const { s, renewal, d } = await heldPublished();
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    const oldId = held.items[0]!.id;
    await s.f.panel.api.updateInvoice({
      invoiceId: held.invoiceId,
      deleteLineIds: [oldId],
      newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
    });
    // an auto-increment given out again (as InnoDB did after a restart before MariaDB 10.2.4)
    const setup = (await s.f.panel.api.getInvoice(held.invoiceId)).items[0]!;
    await knex('tblinvoiceitems').where({ id: setup.id }).update({ id: oldId });
    expect((await s.f.panel.api.getInvoice(held.invoiceId)).items.map((i) => [i.id, i.amount])).to.deep.equal(
      [[oldId, '12.00']],
    );
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    // the recorded id names the admin's item, not the line (was: kept open, owed "there")
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.voidedBy]).to.deep.equal([
      'voided',
      { invoiceId: renewal, status: 'Cancelled' },
    ]);
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [held.invoiceId, 'Unpaid', '12.00'],
    ]);
  });

  it('an item the admin put on the held draft in place of the line is left at its amount when the draft is cancelled', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    // the admin takes the held line off the draft and puts a €12.00 item of their own on it
    await s.f.panel.api.updateInvoice({
      invoiceId: held.invoiceId,
      deleteLineIds: held.items.map((i) => i.id),
      newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
    });
    expect((await s.f.panel.api.getInvoice(held.invoiceId)).items.map((i) => i.amount)).to.deep.equal([
      '12.00',
    ]);
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    // the draft cancelled with the admin's €12.00 as it was: only the held line's item is set to 0.00
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [held.invoiceId, 'Cancelled', '12.00'],
    ]);
  });
});
