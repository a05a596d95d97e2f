import { expect } from 'chai';
import type { Knex } from 'knex';
import { createLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';
import {
  buildBillingStory,
  closeMay,
  disputeLine,
  STORY_EUR,
  type BillingStory,
} from '../support/billing-story.js';

/**
 * Holds in every state of the invoice, who is recorded for each step, what the module logs when the
 * panel refuses, and each refusal in words (issue 13: survivors of the disputes mutation run). The
 * story (test/support/billing-story.ts): Ann's 1 000 GB over the 5 TB allowance in May at €0.50 =
 * €500.00, billed on the renewal of 2 June beside the VPS (€19.95, so €519.95); her dispute on
 * 5 June, in time (the window's last day is 16 June).
 */
describeEachEngine('holding a disputed line, and who is recorded for it', ({ db }) => {
  let knex: Knex;
  let logged: Array<Record<string, unknown>>;

  async function billed(): Promise<{ s: BillingStory; renewal: number; lineId: number; ref: string }> {
    knex = db().knex;
    logged = [];
    const log = createLogger({
      level: 'warn',
      write: (l) => logged.push(JSON.parse(l) as Record<string, unknown>),
    });
    const s = await buildBillingStory(knex, STORY_EUR, { log });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    return { s, renewal: toNum(row.invoice_id), lineId: toNum(row.id), ref: String(row.ref_code) };
  }
  const audits = async (action: string) =>
    (
      await knex('mod_overusage_audit')
        .where({ action })
        .orderBy('id')
        .select('actor_type', 'actor_id', 'entity_type', 'entity_id', 'details')
    ).map((r) => ({
      actor: [String(r.actor_type), r.actor_id === null ? null : String(r.actor_id)],
      entity: [String(r.entity_type), String(r.entity_id)],
      details: JSON.parse(String(r.details)) as unknown,
    }));
  const lineRow = async (lineId: number) => {
    const r = await knex('mod_overusage_lines')
      .where({ id: lineId })
      .first('status', 'amount_minor', 'invoice_id', 'invoice_item_id');
    return {
      status: String(r.status),
      amountMinor: BigInt(r.amount_minor),
      invoiceId: toNum(r.invoice_id),
      itemId: r.invoice_item_id === null ? null : toNum(r.invoice_item_id),
    };
  };
  const warnings = (event: string) =>
    logged.filter((l) => l.event === event).map(({ at: _at, ...rest }) => rest);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: { code?: string; message?: string }) => [e.code, e.message],
    );
  const pay = (s: BillingStory, invoiceId: number) =>
    s.f.panel.api.addInvoicePayment({
      invoiceId,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });

  // --- the hold, by the state of the renewal ---

  it('unpaid renewal: the line now points at its draft and that draft’s item, held for €500.00', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([draft.status, draft.total, draft.items.length]).to.deep.equal(['Draft', '500.00', 1]);
    expect(await lineRow(lineId)).to.deep.equal({
      status: 'held',
      amountMinor: 50000n,
      invoiceId: d.heldInvoiceId,
      itemId: draft.items[0]!.id,
    });
  });

  it('unpaid renewal: "held" is audited once, by the system, naming the renewal, the draft and 50000 cents', async () => {
    const { s, lineId, renewal } = await billed();
    const d = await disputeLine(s, lineId);
    expect(await audits('dispute.held')).to.deep.equal([
      {
        actor: ['system', null],
        entity: ['dispute', String(d.id)],
        details: { from: renewal, heldInvoiceId: d.heldInvoiceId, amountMinor: '50000' },
      },
    ]);
  });

  it('paid renewal: nothing is held (no draft); the refund-or-credit decision is audited by the system with the invoice and "Paid"', async () => {
    const { s, lineId, renewal } = await billed();
    await pay(s, renewal);
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('refund_decision');
    expect(
      (await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' })).totalResults,
    ).to.equal(0);
    expect(await audits('dispute.refund_decision')).to.deep.equal([
      {
        actor: ['system', null],
        entity: ['dispute', String(d.id)],
        details: { invoiceId: renewal, status: 'Paid' },
      },
    ]);
  });

  for (const status of ['Collections', 'Payment Pending'] as const) {
    it(`renewal in "${status}" (still unpaid): the €500.00 line is held on a draft, the renewal keeps €19.95`, async () => {
      const { s, lineId, renewal } = await billed();
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status });
      const d = await disputeLine(s, lineId);
      expect(d.holdState).to.equal('held');
      expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('500.00');
      // €519.95 − €500.00
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
    });
  }

  it('a line the admin already took off the unpaid renewal is still held on a draft, and the renewal says it is on hold', async () => {
    const { s, lineId, renewal, ref } = await billed();
    const item = (await s.f.panel.api.getInvoice(renewal)).items.find((i) => i.description.includes(ref))!;
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, deleteLineIds: [item.id] });
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('held');
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('500.00');
    const after = await s.f.panel.api.getInvoice(renewal);
    expect(after.total).to.equal('19.95');
    expect(after.notes).to.include(
      `Overusage line [${ref}] (€500.00) is on hold while your dispute is decided: it is not part of this invoice.`,
    );
  });

  it('a line the admin already took off a draft renewal is held on a draft of its own, as off an unpaid one', async () => {
    const { s, lineId, renewal, ref } = await billed();
    // the renewal back to a draft (€519.95), then the €500.00 line taken off it by hand: €19.95 left
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Draft' });
    const item = (await s.f.panel.api.getInvoice(renewal)).items.find((i) => i.description.includes(ref))!;
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, deleteLineIds: [item.id] });
    const d = await disputeLine(s, lineId);
    expect([d.holdState, d.heldInvoiceId === renewal]).to.deep.equal(['held', false]);
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('500.00');
    expect(await audits('dispute.refund_decision')).to.deep.equal([]);
  });

  for (const status of ['Collections', 'Payment Pending'] as const) {
    it(`a line the admin already took off a renewal in "${status}" (unpaid) is held on a draft, never sent to a refund-or-credit decision`, async () => {
      const { s, lineId, renewal, ref } = await billed();
      // €519.95 less the €500.00 line taken off by hand = €19.95, then the renewal to ${status}
      const item = (await s.f.panel.api.getInvoice(renewal)).items.find((i) => i.description.includes(ref))!;
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, deleteLineIds: [item.id] });
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status });
      const d = await disputeLine(s, lineId);
      // nothing of the €500.00 was paid: no refund or credit to decide, the line is held at €500.00
      expect(d.holdState).to.equal('held');
      expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('500.00');
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
      expect(await audits('dispute.refund_decision')).to.deep.equal([]);
    });
  }

  it('a hold interrupted after its draft was recorded, then the renewal paid in full: resume() sends the paid line to a refund-or-credit decision and cancels the draft at 0.00', async () => {
    const { s, lineId, renewal, ref } = await billed();
    // the draft is made and recorded; the panel then refuses the renewal's update: the line stays on it
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // Ann pays the renewal as it stands, €19.95 + €500.00 = €519.95: the line is paid
    await pay(s, renewal);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.holdState, after.heldInvoiceId]).to.deep.equal(['refund_decision', null]);
    // the renewal keeps what was paid, the line on it; the draft, never published, cancelled at 0.00
    const paid = await s.f.panel.api.getInvoice(renewal);
    expect([paid.status, paid.total]).to.deep.equal(['Paid', '519.95']);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([draft.status, draft.total]).to.deep.equal(['Cancelled', '0.00']);
    // its one item keeps the line's text, [ref] included, at 0.00
    expect(draft.items.map((i) => [i.amount, i.description.includes(`[${ref}]`)])).to.deep.equal([
      ['0.00', true],
    ]);
    expect(await lineRow(lineId)).to.deep.include({ status: 'placed', invoiceId: renewal });
    expect(await audits('dispute.refund_decision')).to.deep.equal([
      {
        actor: ['system', null],
        entity: ['dispute', String(d.id)],
        details: { invoiceId: renewal, status: 'Paid' },
      },
    ]);
    // and the dispute stays open for that decision: the draft's cancellation did not void it
    expect(after.state).to.equal('open');
  });

  it('the same, but the admin published the held draft before the renewal was paid in full: resume() cancels the published invoice at 0.00, the line is not owed twice', async () => {
    const { s, lineId, renewal } = await billed();
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // the admin publishes the held draft: Unpaid, €500.00, the line's only item
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, publish: true });
    // Ann pays the renewal as it stands, €19.95 + €500.00 = €519.95: the line is paid there
    await pay(s, renewal);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.holdState, after.state]).to.deep.equal(['refund_decision', 'open']);
    // nothing else billed on the published invoice: cancelled, its one item €500.00 → €0.00, total €0.00
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([held.status, held.total, held.items.map((i) => i.amount)]).to.deep.equal([
      'Cancelled',
      '0.00',
      ['0.00'],
    ]);
    expect((await s.f.panel.api.getInvoice(renewal)).status).to.equal('Paid');
  });

  it('a hold interrupted after its draft was recorded, the renewal still unpaid: resume() finishes the hold, the line moves to the draft', async () => {
    const { s, lineId, renewal } = await billed();
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // nothing paid: the renewal is still Unpaid at €519.95
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.holdState, after.heldInvoiceId]).to.deep.equal(['held', d.heldInvoiceId]);
    // €519.95 − €500.00 = €19.95 left on the renewal; the draft holds the €500.00
    const left = await s.f.panel.api.getInvoice(renewal);
    expect([left.status, left.total]).to.deep.equal(['Unpaid', '19.95']);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([draft.status, draft.total]).to.deep.equal(['Draft', '500.00']);
    expect(await audits('dispute.refund_decision')).to.deep.equal([]);
  });

  it('a hold interrupted after the line left the renewal, then the renewal paid: the line was not paid with it, so resume() finishes the hold', async () => {
    const { s, lineId, renewal, ref } = await billed();
    // the panel takes the line off the renewal but the answer is lost: the hold stops half-way
    s.faulty.failNext = { method: 'updateInvoice', when: 'after', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    // €519.95 − €500.00 = €19.95 is what Ann pays: the renewal is Paid without the line
    const left = await s.f.panel.api.getInvoice(renewal);
    expect([left.total, left.items.some((i) => i.description.includes(ref))]).to.deep.equal(['19.95', false]);
    await pay(s, renewal);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    // nothing of the €500.00 was paid: held on the draft, no refund or credit to decide
    expect([after.holdState, after.heldInvoiceId]).to.deep.equal(['held', d.heldInvoiceId]);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([draft.status, draft.total]).to.deep.equal(['Draft', '500.00']);
    expect(await audits('dispute.refund_decision')).to.deep.equal([]);
  });

  it('a hold interrupted after the line left the renewal, still unpaid: resume() finishes it without writing to the renewal again', async () => {
    const { s, lineId, renewal, ref } = await billed();
    // the panel takes the line off the renewal and writes its on-hold note, but the answer is lost
    s.faulty.failNext = { method: 'updateInvoice', when: 'after', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    const renewalRow = async () => {
      const r = await knex('tblinvoices').where({ id: renewal }).first('total', 'notes', 'updated_at');
      return [String(r.total), String(r.notes), String(r.updated_at)];
    };
    // €519.95 − €500.00 = €19.95 left, the note already says the line is on hold
    const left = await renewalRow();
    expect(left[0]).to.equal('19.95');
    expect(left[1]).to.include(ref);
    // two days later: the panel stamps an invoice on every UpdateInvoice, even one that changes
    // nothing, so the same stamp means the renewal (already left) was not written a second time
    s.f.clock.set('2013-06-04T09:00:00Z');
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect((await s.mod.disputes!.get(d.id)).holdState).to.equal('held');
    expect(await renewalRow()).to.deep.equal(left);
  });

  it('the same, paid in full, when the admin had taken the line off the held draft: the draft is cancelled as it is, the line goes to the decision', async () => {
    const { s, lineId, renewal, ref } = await billed();
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    // the admin deletes the €500.00 item from the held draft: nothing left on it, total €0.00
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    const item = held.items.find((i) => i.description.includes(ref))!;
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, deleteLineIds: [item.id] });
    // Ann pays the renewal as it stands, €19.95 + €500.00 = €519.95
    await pay(s, renewal);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.holdState, after.state]).to.deep.equal(['refund_decision', 'open']);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([draft.status, draft.total, draft.items.length]).to.deep.equal(['Cancelled', '0.00', 0]);
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('519.95');
  });

  it('a hold stopped before its draft was made: the admin is offered no credit or refund, Ann has paid nothing', async () => {
    const { s, lineId, renewal } = await billed();
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId]).to.deep.equal(['holding', null]);
    // the renewal still Unpaid with the €500.00 line on it: €519.95
    const r = await s.f.panel.api.getInvoice(renewal);
    expect([r.status, r.total]).to.deep.equal(['Unpaid', '519.95']);
    expect(await s.mod.disputes!.givesMoneyBack(d.id)).to.equal(false);
  });

  it('a hold resumed after the panel made the draft but before it was recorded takes that draft, not a newer draft of the client', async () => {
    const { s, lineId } = await billed();
    // the draft is made, then the answer is lost: the dispute stays "holding" with no draft recorded
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('holding');
    const drafts = await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' });
    expect(drafts.totalResults).to.equal(1);
    const first = drafts.invoices[0]!.id;
    // an admin starts another draft for Ann (a setup fee), newer than the held one
    const other = await s.f.panel.api.createInvoice({
      userId: s.story.clientId,
      draft: true,
      items: [{ description: 'Setup fee', amount: '10.00' }],
    });
    expect(other.invoiceId).to.be.greaterThan(first);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.holdState, after.heldInvoiceId]).to.deep.equal(['held', first]);
    expect((await s.f.panel.api.getInvoice(other.invoiceId)).total).to.equal('10.00');
  });

  it('the held line removed from its draft by hand: waiving still cancels the draft and waives the line at 0', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    const draft = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    await s.f.panel.api.updateInvoice({ invoiceId: draft.invoiceId, deleteLineIds: [draft.items[0]!.id] });
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok ? res.value.state : res.code).to.equal('waived');
    expect((await s.f.panel.api.getInvoice(draft.invoiceId)).status).to.equal('Cancelled');
    const line = await lineRow(lineId);
    expect([line.status, line.amountMinor]).to.deep.equal(['waived', 0n]);
  });

  it('a voiding the panel interrupts (the admin cancelled the held draft) is finished by resume() as a voiding, naming the draft', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-07T09:00:00Z');
    // the admin cancels the held draft: InvoiceCancelled claims the voiding, then the panel fails
    // on the client's details, so the voiding stays claimed, not carried out
    s.faulty.failNext = { method: 'getClientsDetails', when: 'before', times: 1 };
    // on the panel the cancellation stands (a hook's failure does not undo it)
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, status: 'Cancelled' });
    expect(s.faulty.failNext!.times).to.equal(0);
    s.faulty.failNext = null;
    const claimed = await s.mod.disputes!.get(d.id);
    expect([claimed.state, claimed.resolvingTo]).to.deep.equal(['open', 'voided']);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('voided');
    // closed by the held draft (Cancelled), the renewal still Unpaid; the line placed as billed: €500.00
    expect((await audits('dispute.voided')).map((a) => a.details)).to.deep.equal([
      {
        lineId,
        invoiceId: d.heldInvoiceId,
        invoiceStatus: 'Cancelled',
        amountBeforeMinor: '50000',
        currency: 'EUR',
        heldInvoiceId: d.heldInvoiceId,
      },
    ]);
    const line = await lineRow(lineId);
    expect([line.status, line.amountMinor]).to.deep.equal(['placed', 50000n]);
  });

  // --- what the module logs when the panel refuses ---

  it('a hold the panel refuses is logged as dispute.hold_failed with the error’s kind, not its words; the dispute stands', async () => {
    const { s, lineId } = await billed();
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('holding');
    expect(warnings('dispute.hold_failed')).to.deep.equal([
      {
        level: 'warn',
        event: 'dispute.hold_failed',
        disputeId: d.id,
        error: 'Error',
      },
    ]);
  });

  it('an invoice the panel cannot read on opening is logged as dispute.invoice_unread with the line and the error’s kind; the dispute opens and the hold reads it again', async () => {
    const { s, lineId } = await billed();
    // the first read of the renewal (is it cancelled or refunded?) fails; the hold's own read does not
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('held');
    expect(warnings('dispute.invoice_unread')).to.deep.equal([
      {
        level: 'warn',
        event: 'dispute.invoice_unread',
        lineId,
        error: 'Error',
      },
    ]);
  });

  it('resume() logs each hold the panel still refuses as dispute.resume_failed', async () => {
    const { s, lineId } = await billed();
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 2 };
    const d = await disputeLine(s, lineId);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 0, failed: 1 });
    expect(warnings('dispute.resume_failed')).to.deep.equal([
      {
        level: 'warn',
        event: 'dispute.resume_failed',
        disputeId: d.id,
        error: 'Error',
      },
    ]);
  });

  it('a decision the panel interrupts is told as UPSTREAM in words and logged as dispute.resolution_interrupted', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    expect(
      await failure(s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN })),
    ).to.deep.equal([
      'UPSTREAM',
      'the decision is recorded, but the panel did not take it all yet (Error); it is retried automatically',
    ]);
    expect(warnings('dispute.resolution_interrupted')).to.deep.equal([
      {
        level: 'warn',
        event: 'dispute.resolution_interrupted',
        disputeId: d.id,
        error: 'Error',
      },
    ]);
  });

  // --- opening: refusals in words, and who opened it ---

  it("a client opening another client's line is told the line does not exist", async () => {
    const { s, lineId } = await billed();
    s.f.clock.set('2013-06-05T10:00:00Z');
    expect(
      await failure(
        s.mod.disputes!.open({ lineId, reason: 'not mine', actor: CLIENT(s.story.dutchClientId) }),
      ),
    ).to.deep.equal(['NOT_FOUND', `line ${lineId} does not exist`]);
  });

  it('a Dutch client is refused in Dutch, and in English when the panel cannot say their language', async () => {
    const { s, lineId } = await billed();
    await knex('tblclients').where({ id: s.story.clientId }).update({ language: 'dutch' });
    s.f.clock.set('2013-06-05T10:00:00Z');
    const ask = () => s.mod.disputes!.open({ lineId, reason: ' ab ', actor: CLIENT(s.story.clientId) });
    const dutch = await ask();
    expect(dutch.ok ? 'opened' : dutch.message).to.equal(
      'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).',
    );
    s.faulty.failNext = { method: 'getClientsDetails', when: 'before', times: 1 };
    const unknown = await ask();
    expect(unknown.ok ? 'opened' : [unknown.code, unknown.message]).to.deep.equal([
      'REASON_REQUIRED',
      'Please say why you dispute this line (at least 3 characters).',
    ]);
  });

  it("a client in the window's first second after its close is refused with the last day, 16 June, in the details", async () => {
    const { s, lineId } = await billed();
    // invoice of 2 June + 14 days: last day 16 June, closing at 17 June 00:00 CEST = 16 June 22:00:00 UTC
    s.f.clock.set('2013-06-16T22:00:00Z');
    const late = await s.mod.disputes!.open({ lineId, reason: 'too late', actor: CLIENT(s.story.clientId) });
    expect(late.ok ? 'opened' : [late.code, late.message, late.details]).to.deep.equal([
      'WINDOW_CLOSED',
      'The window to dispute this line ended on 16 June 2013; a dispute after it cannot be accepted.',
      { deadlineLastDay: '2013-06-16' },
    ]);
  });

  it('an admin after the window needs an override of 3 characters after trimming: "  ab  " is refused, " abc " is kept as "abc"', async () => {
    const { s, lineId } = await billed();
    s.f.clock.set('2013-06-20T09:00:00Z');
    const short = await s.mod.disputes!.open({
      lineId,
      reason: 'for the client',
      actor: ADMIN,
      overrideReason: '  ab  ',
    });
    expect(short.ok ? 'opened' : [short.code, short.details]).to.deep.equal([
      'WINDOW_CLOSED',
      { deadlineLastDay: '2013-06-16' },
    ]);
    const three = await s.mod.disputes!.open({
      lineId,
      reason: 'for the client',
      actor: ADMIN,
      overrideReason: ' abc ',
    });
    expect(three.ok ? three.value.overrideReason : three.code).to.equal('abc');
  });

  it('"opened" is audited by the client who opened it, on the dispute', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    const [opened] = await audits('dispute.opened');
    expect([opened!.actor, opened!.entity]).to.deep.equal([
      ['client', String(s.story.clientId)],
      ['dispute', String(d.id)],
    ]);
  });

  // --- deciding: refusals in words, and who decided ---

  it("a client deciding another client's dispute is told it does not exist, and so is one asking to see it", async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    const jan = CLIENT(s.story.dutchClientId);
    expect(
      await failure(s.mod.disputes!.resolve({ disputeId: d.id, to: 'withdrawn', actor: jan })),
    ).to.deep.equal(['NOT_FOUND', `dispute ${d.id} does not exist`]);
    expect(await failure(s.mod.disputes!.get(d.id, { clientId: s.story.dutchClientId }))).to.deep.equal([
      'NOT_FOUND',
      `dispute ${d.id} does not exist`,
    ]);
  });

  it('an adjustment without a new amount is refused in words', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    expect(
      await failure(s.mod.disputes!.resolve({ disputeId: d.id, to: 'adjusted', actor: ADMIN })),
    ).to.deep.equal(['INVALID_INPUT', 'an adjustment needs a new amount: precommit, a share, or an amount']);
  });

  it('a decision on a version someone else moved on is refused, saying the dispute is still open', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    const stale = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'upheld',
      actor: ADMIN,
      expectedVersion: d.version - 1,
    });
    expect(stale.ok ? 'decided' : [stale.code, stale.message]).to.deep.equal([
      'CONFLICT',
      'someone else changed the dispute first (it is now open)',
    ]);
  });

  it('a held line adjusted to 40 % with a note: audited by the admin, with the share, the note and 40 % of 50000 = 20000 cents', async () => {
    const { s, lineId } = await billed();
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '40' },
      note: 'agreed on the phone',
    });
    expect(res.ok ? res.value.amountAfterMinor : res.code).to.equal(20000n);
    const [adjusted] = await audits('dispute.adjusted');
    expect(adjusted).to.deep.equal({
      actor: ['admin', '1'],
      entity: ['dispute', String(d.id)],
      details: {
        lineId,
        amountBeforeMinor: '50000',
        amountAfterMinor: '20000',
        currency: 'EUR',
        resolution: {
          adjustment: { kind: 'share', percent: '40' },
          note: 'agreed on the phone',
          rerated: null,
        },
        // decided 10 June + 14 days
        dueDate: '2013-06-24',
      },
    });
  });

  it("a held line adjusted to 40 % after the admin added a goodwill item naming it on the draft: the line's item goes to €200.00, his stays", async () => {
    const { s, lineId, ref } = await billed();
    const d = await disputeLine(s, lineId);
    // the admin's own item on the held draft, after the line's, with the line's reference in its text
    await s.f.panel.api.updateInvoice({
      invoiceId: d.heldInvoiceId!,
      newItems: [{ description: `Goodwill on [${ref}]`, amount: '-20.00', taxed: false }],
    });
    const [lineItem, goodwill] = (await s.f.panel.api.getInvoice(d.heldInvoiceId!)).items;
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '40' },
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    // 40 % of €500.00 = €200.00 on the line's own item (the one recorded at the hold); the admin's
    // −€20.00 untouched: the published invoice bills 200.00 − 20.00 = 180.00
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(held.items.map((i) => [i.id, i.amount])).to.deep.equal([
      [lineItem!.id, '200.00'],
      [goodwill!.id, '-20.00'],
    ]);
    expect(held.items[1]!.description).to.equal(`Goodwill on [${ref}]`);
    expect([held.status, held.total]).to.deep.equal(['Unpaid', '180.00']);
  });

  it('a paid line waived: the line is waived at 0, the waiver and its credit note audited by the admin', async () => {
    const { s, lineId, renewal } = await billed();
    await pay(s, renewal);
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    if (!res.ok) throw new Error(res.message);
    const line = await lineRow(lineId);
    expect([line.status, line.amountMinor]).to.deep.equal(['waived', 0n]);
    const [waived] = await audits('dispute.waived');
    expect([waived!.actor, waived!.entity]).to.deep.equal([
      ['admin', '1'],
      ['dispute', String(d.id)],
    ]);
    const [note] = await audits('dispute.credit_note');
    expect([note!.actor, note!.entity]).to.deep.equal([
      ['admin', '1'],
      ['invoice', String(res.value.creditNoteInvoiceId)],
    ]);
  });

  it('a paid line reduced to 40 %: the line stays billed (placed) at €200.00, not waived', async () => {
    const { s, lineId, renewal } = await billed();
    await pay(s, renewal);
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '40' },
      settlement: 'credit',
    });
    if (!res.ok) throw new Error(res.message);
    // 40 % of €500.00 = €200.00
    const line = await lineRow(lineId);
    expect([line.status, line.amountMinor]).to.deep.equal(['placed', 20000n]);
  });

  // --- re-rating at the rate agreed in advance: its limits ---

  /** Ann's product with these EUR prices, billed on 2 June and disputed on 5 June. */
  async function repriced(eur: { overage: string; precommit: string; cap?: string }) {
    knex = db().knex;
    logged = [];
    const s = await buildBillingStory(knex);
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: eur },
        window: { days: 14, counting: 'calendar', holidays: 'BE' },
      },
      CLI_ACTOR,
    );
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    const d = await disputeLine(s, toNum(row.id));
    s.f.clock.set('2013-06-10T09:00:00Z');
    return { s, d, lineId: toNum(row.id) };
  }

  it('a rate agreed in advance equal to the billed one re-rates to the same €500.00: allowed, not refused as a raise', async () => {
    const { s, d } = await repriced({ overage: '0.50', precommit: '0.50' });
    // 1 000 GB × €0.50 = €500.00 both ways
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
    });
    expect(res.ok ? [res.value.state, res.value.amountAfterMinor] : [res.code, res.message]).to.deep.equal([
      'adjusted',
      50000n,
    ]);
  });

  it('a cap neither rating reaches (€600.00) is not recorded with the re-rating: only the two rates and amounts are', async () => {
    const { s, d } = await repriced({ overage: '0.50', precommit: '0.35', cap: '600.00' });
    // 1 000 GB × €0.50 = €500.00 and × €0.35 = €350.00, both under €600.00
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
    });
    expect(res.ok ? res.value.amountAfterMinor : res.code).to.equal(35000n);
    const [adjusted] = await audits('dispute.adjusted');
    expect((adjusted!.details as { resolution: { rerated: unknown } }).resolution.rerated).to.deep.equal({
      from: '0.50',
      to: '0.35',
      fromMinor: '50000',
      toMinor: '35000',
      exact: true,
    });
  });
});
