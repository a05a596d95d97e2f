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
 * The panel's InvoiceCancelled / InvoiceRefunded hook missed (the add-on was down): the status is
 * read again before a hold and before a decision moves money, so the sweep (resume) and the
 * decision close the dispute with nothing to settle all the same (docs/billing-rules.md,
 * "Cancelled and refunded invoices"). The invoice's status is changed in the panel's table, so no
 * hook runs. The story (test/support/billing-story.ts): 1 000 GB over in May on the renewal of
 * 2 June beside the VPS: EUR 1 000 × €0.50 = €500.00 + €19.95 = €519.95; JPY 1 000 × ¥80 =
 * ¥80,000 + ¥2,980 = ¥82,980. Ann disputes on 5 June.
 */
describeEachEngine('a cancelled or refunded invoice whose hook was missed', ({ db }) => {
  let knex: Knex;

  async function billed(money: StoryMoney) {
    knex = db().knex;
    return billMay(knex, undefined, money);
  }
  /** the status set behind the add-on's back: no hook runs */
  const behindItsBack = (id: number, status: string) => knex('tblinvoices').where({ id }).update({ status });
  const credit = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  const invoices = async (s: BillingStory) =>
    (
      await knex('tblinvoices')
        .where({ userid: s.story.clientId })
        .orderBy('id')
        .select('id', 'status', 'total')
    ).map((r) => [toNum(r.id), String(r.status), String(r.total)]);
  const voided = async () =>
    (await knex('mod_overusage_audit').where({ action: 'dispute.voided' }).select('details')).map(
      (r) => (JSON.parse(String(r.details)) as { invoiceStatus: string }).invoiceStatus,
    );

  for (const [money, hosting] of [
    [STORY_EUR, '19.95'],
    [STORY_JPY, '2980.00'],
  ] as const) {
    it(`${money.code}: held, renewal cancelled unseen, then upheld → voided instead; the held draft is cancelled at 0.00, never billed`, async () => {
      const { s, renewal, lineId } = await billed(money);
      const d = await disputeLine(s, lineId);
      await behindItsBack(renewal, 'Cancelled');
      expect((await s.mod.disputes!.get(d.id)).state, 'no hook: still open').to.equal('open');
      s.f.clock.set('2013-06-10T09:00:00Z');
      const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
      expect(out.ok ? [out.value.state, out.value.holdState, out.value.voidedBy] : out.code).to.deep.equal([
        'voided',
        'released',
        { invoiceId: renewal, status: 'Cancelled' },
      ]);
      // nothing Unpaid: the upholding would have published the line at €500.00 / ¥80,000
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
      expect(await voided()).to.deep.equal(['Cancelled']);
    });

    it(`${money.code}: paid, renewal refunded unseen, then waived with credit → voided; no credit note, credit stays 0.00`, async () => {
      const { s, renewal, lineId } = await billed(money);
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'pay-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
      const d = await disputeLine(s, lineId);
      await behindItsBack(renewal, 'Refunded');
      s.f.clock.set('2013-06-10T09:00:00Z');
      const out = await s.mod.disputes!.resolve({
        disputeId: d.id,
        to: 'waived',
        actor: ADMIN,
        settlement: 'credit',
      });
      expect(
        out.ok ? [out.value.state, out.value.creditNoteInvoiceId, out.value.creditedMinor] : out.code,
      ).to.deep.equal(['voided', null, null]);
      // only the renewal: €519.95 / ¥82,980 refunded, no credit note beside it
      const total = money.code === 'EUR' ? '519.95' : '82980.00';
      expect(await invoices(s)).to.deep.equal([[renewal, 'Refunded', total]]);
      expect(await credit(s)).to.equal('0.00');
      expect(await voided()).to.deep.equal(['Refunded']);
    });
  }

  it('a hold interrupted, the renewal cancelled unseen: the sweep voids the dispute and makes no draft', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('holding');
    await behindItsBack(renewal, 'Cancelled');
    s.f.clock.set('2013-06-05T10:05:00Z');
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.holdState, after.heldInvoiceId]).to.deep.equal(['voided', 'released', null]);
    // €519.95 on the cancelled renewal, as it was: the line was never moved
    expect(await invoices(s)).to.deep.equal([[renewal, 'Cancelled', '519.95']]);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 0, failed: 0 });
  });

  it('Collections is still owed: an upholding publishes the held €500.00 as usual', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    await behindItsBack(renewal, 'Collections');
    s.f.clock.set('2013-06-10T09:00:00Z');
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
    expect(out.ok ? out.value.state : out.code).to.equal('upheld');
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).status).to.equal('Unpaid');
    expect(await voided()).to.deep.equal([]);
  });
  /** the decision recorded, the panel failing half-way: resolve rejects with UPSTREAM (the sweep retries) */
  const expectUpstream = async (p: Promise<unknown>) =>
    expect(
      await p.then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      ),
    ).to.equal('UPSTREAM');
  /**
   * A waiver with credit of the paid €500.00 line interrupted (the panel failing at the named call),
   * then the renewal refunded unseen. Its credit note is -€500.00 (the story's line carries no VAT),
   * so the credit it gives is €500.00.
   */
  async function waiverInterrupted(settlement: 'credit' | 'refund', failAt: 'call' | 'updateInvoice') {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    s.faulty.failNext = { method: failAt, when: 'before', times: 1 };
    await expectUpstream(
      s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement }),
    );
    await behindItsBack(renewal, 'Refunded');
    return { s, renewal, d };
  }
  const row = (id: number) =>
    knex('mod_overusage_disputes')
      .where({ id })
      .first('resolving_to', 'settlement', 'credit_note_invoice_id');
  /** the client's credit notes (Paid, negative), as id and total */
  const creditNotes = async (s: BillingStory) =>
    (await invoices(s)).filter(([, status, total]) => status === 'Paid' && String(total).startsWith('-'));

  it('a waiver to be refunded whose credit note is made, then the renewal refunded unseen: the waiver stands, not voided', async () => {
    // the refund settlement's one panel update (the note on the renewal) fails: the credit note is made
    const { s, d } = await waiverInterrupted('refund', 'updateInvoice');
    const r = await row(d.id);
    expect([r.resolving_to, r.settlement]).to.deep.equal(['waived', 'refund']);
    // the credit note of -€500.00 made and recorded on the dispute
    const noteId = toNum(r.credit_note_invoice_id);
    expect(await creditNotes(s)).to.deep.equal([[noteId, 'Paid', '-500.00']]);
    // the admin writes the note's notes over (its reference gone): only the dispute's record finds it
    await s.f.panel.api.updateInvoice({ invoiceId: noteId, notes: 'Refunded by bank transfer, 11 June.' });
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
    expect(await voided()).to.deep.equal([]);
  });

  /**
   * The credit intent recorded without a credit note: what a version before credit notes (27412fa)
   * left half-way, upgraded (the column added empty, no credit note in the panel). Built here from
   * the credit waiver interrupted, its credit note taken out of the panel and off the dispute; the
   * waiver, resumed, makes its credit note (-€500.00) and gives €500.00 once.
   */
  for (const [settlement, failAt] of [
    ['crediting', 'call'],
    ['credited', 'updateInvoice'],
  ] as const)
    it(`a waiver with credit left '${settlement}' by an earlier version (no credit note recorded), then the renewal refunded unseen: the waiver stands`, async () => {
      const { s, d } = await waiverInterrupted('credit', failAt);
      const made = toNum((await row(d.id)).credit_note_invoice_id);
      await knex('tblinvoiceitems').where({ invoiceid: made }).delete();
      await knex('tblinvoices').where({ id: made }).delete();
      await knex('mod_overusage_disputes').where({ id: d.id }).update({ credit_note_invoice_id: null });
      expect(await creditNotes(s)).to.deep.equal([]);
      const r = await row(d.id);
      expect([r.resolving_to, r.settlement, r.credit_note_invoice_id]).to.deep.equal([
        'waived',
        settlement,
        null,
      ]);
      expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
      expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
      expect(await voided()).to.deep.equal([]);
      // €500.00 credited once, by the one credit note of -€500.00
      expect(await credit(s)).to.equal('500.00');
      expect((await creditNotes(s)).map(([, , total]) => total)).to.deep.equal(['-500.00']);
    });

  it('a waiver with credit interrupted after its credit note was made but before it was recorded, then the renewal refunded unseen: the waiver stands', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    // the panel fails at its first call after making the credit note (reading it back), before
    // the module records the note on the dispute
    const real = s.faulty.real;
    const createInvoice = real.createInvoice.bind(real);
    real.createInvoice = async (x) => {
      const made = await createInvoice(x);
      s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
      return made;
    };
    await expectUpstream(
      s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement: 'credit' }),
    );
    real.createInvoice = createInvoice;
    const r = await row(d.id);
    expect([r.resolving_to, r.settlement, r.credit_note_invoice_id]).to.deep.equal([
      'waived',
      'credit',
      null,
    ]);
    await behindItsBack(renewal, 'Refunded');
    // the client already holds a credit note of -€500.00 for the line: it is not left without its
    // decision (voided "with no credit note"); the waiver finishes with that note and €500.00 credit
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const notes = await creditNotes(s);
    expect(notes.map(([, , total]) => total)).to.deep.equal(['-500.00']);
    expect([
      (await s.mod.disputes!.get(d.id)).state,
      toNum((await row(d.id)).credit_note_invoice_id),
    ]).to.deep.equal(['waived', notes[0]![0]]);
    expect(await credit(s)).to.equal('500.00');
    expect(await voided()).to.deep.equal([]);
  });

  it('an upholding interrupted after the held draft was published, then the renewal cancelled unseen: the upholding stands', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-06-10T09:00:00Z');
    // the first panel update publishes the held draft (€500.00, Unpaid), then the call fails
    s.faulty.failNext = { method: 'updateInvoice', when: 'after', times: 1 };
    await expectUpstream(s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN }));
    await behindItsBack(renewal, 'Cancelled');
    expect(await invoices(s)).to.deep.equal([
      [renewal, 'Cancelled', '19.95'],
      [d.heldInvoiceId, 'Unpaid', '500.00'],
    ]);
    // money moved (the client was billed €500.00): the sweep finishes the upholding
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.resolvingTo, after.voidedBy]).to.deep.equal(['upheld', null, null]);
    expect(await voided()).to.deep.equal([]);
  });

  /**
   * A hold interrupted after its draft was recorded (the panel refused the renewal's update: the
   * €500.00 line still on the €519.95 renewal), the admin then publishing the held draft (Unpaid,
   * €500.00), then the renewal cancelled unseen. The line is owed on the published held invoice (live,
   * Unpaid, carrying it): a decision is not voided but carried out there.
   */
  async function heldPublishedRenewalCancelled() {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    s.faulty.failNext = null;
    expect([d.holdState, d.heldInvoiceId === null]).to.deep.equal(['holding', false]);
    await s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, publish: true });
    await behindItsBack(renewal, 'Cancelled');
    s.f.clock.set('2013-06-10T09:00:00Z');
    return { s, d, lineId };
  }
  const lineAt = async (lineId: number) => {
    const r = await knex('mod_overusage_lines')
      .where({ id: lineId })
      .first('status', 'amount_minor', 'invoice_id');
    return [String(r.status), String(r.amount_minor), toNum(r.invoice_id)];
  };
  const heldInvoice = async (s: BillingStory, id: number) => {
    const inv = await s.f.panel.api.getInvoice(id);
    return [inv.status, inv.total, inv.items.map((i) => i.amount)];
  };

  it('a hold stopped after its draft was recorded, the draft published by the admin, the renewal cancelled unseen, then upheld: billed on the published invoice, not voided', async () => {
    const { s, d, lineId } = await heldPublishedRenewalCancelled();
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
    expect(out.ok ? [out.value.state, out.value.holdState, out.value.voidedBy] : out.code).to.deep.equal([
      'upheld',
      'published',
      null,
    ]);
    // the hold finished on the way: the line (50000 cents = €500.00) now on the published invoice, still owed
    expect(await lineAt(lineId)).to.deep.equal(['placed', '50000', d.heldInvoiceId]);
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Unpaid', '500.00', ['500.00']]);
    expect(await voided()).to.deep.equal([]);
  });

  it('a hold stopped after its draft was recorded, the draft published by the admin, the renewal cancelled unseen, then the sweep: the hold finishes onto the published invoice, the dispute stays open', async () => {
    const { s, d, lineId } = await heldPublishedRenewalCancelled();
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.holdState, after.voidedBy]).to.deep.equal(['open', 'held', null]);
    // the €500.00 line (50000 cents) held on the published invoice, still owed there; the cancelled
    // renewal left as it was cancelled, €19.95 + €500.00 = €519.95 (the module rewrites no closed invoice)
    expect(await lineAt(lineId)).to.deep.equal(['held', '50000', d.heldInvoiceId]);
    expect(await invoices(s)).to.deep.equal([
      [d.originalInvoiceId, 'Cancelled', '519.95'],
      [d.heldInvoiceId, 'Unpaid', '500.00'],
    ]);
    expect(await voided()).to.deep.equal([]);
  });

  it('the same, then waived: the published invoice is cancelled with the line at 0.00; nothing owed, nothing credited, not voided', async () => {
    const { s, d, lineId } = await heldPublishedRenewalCancelled();
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(out.ok ? [out.value.state, out.value.holdState, out.value.voidedBy] : out.code).to.deep.equal([
      'waived',
      'released',
      null,
    ]);
    expect(await lineAt(lineId)).to.deep.equal(['waived', '0', d.heldInvoiceId]);
    // €500.00 − €500.00 = €0.00 on the held invoice, which carried nothing else; nothing was paid, so no credit
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Cancelled', '0.00', ['0.00']]);
    expect(await credit(s)).to.equal('0.00');
    expect(await voided()).to.deep.equal([]);
  });

  /** An item the admin adds to the published held invoice. */
  const addItem = (
    s: BillingStory,
    d: { heldInvoiceId: number | null },
    description: string,
    amount: string,
  ) => s.f.panel.api.updateInvoice({ invoiceId: d.heldInvoiceId!, newItems: [{ description, amount }] });
  /** The admin waives the line: the state the dispute ends in (or the refusal's code). */
  const waive = async (s: BillingStory, d: { id: number }) => {
    const out = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    return out.ok ? out.value.state : out.code;
  };

  it('the same with a €12.00 item the admin added to the published invoice, then waived: the line goes to 0.00, the invoice stays Unpaid at €12.00', async () => {
    const { s, d } = await heldPublishedRenewalCancelled();
    await addItem(s, d, 'Setup fee', '12.00');
    expect(await waive(s, d)).to.equal('waived');
    // €500.00 + €12.00 = €512.00 before; the line at 0.00 leaves the admin's €12.00 owed
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Unpaid', '12.00', ['0.00', '12.00']]);
  });

  it('the same with a 0.00 item the admin added to the published invoice, then waived: nothing else is billed, so the invoice is cancelled', async () => {
    const { s, d } = await heldPublishedRenewalCancelled();
    await addItem(s, d, 'Goodwill note', '0.00');
    expect(await waive(s, d)).to.equal('waived');
    // €500.00 + €0.00 before; the line at 0.00 leaves €0.00 + €0.00 = €0.00 billed: cancelled
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Cancelled', '0.00', ['0.00', '0.00']]);
  });

  it('the same with the line replaced by the admin with a €12.00 item, then waived: the waiver stands, the invoice is left at €12.00', async () => {
    const { s, d } = await heldPublishedRenewalCancelled();
    const line = (await s.f.panel.api.getInvoice(d.heldInvoiceId!)).items;
    expect(line.map((i) => i.amount)).to.deep.equal(['500.00']);
    await s.f.panel.api.updateInvoice({
      invoiceId: d.heldInvoiceId!,
      deleteLineIds: [line[0]!.id],
      newItems: [{ description: 'Setup fee', amount: '12.00' }],
    });
    expect(await waive(s, d)).to.equal('waived');
    // €500.00 − €500.00 + €12.00 = €12.00: the line no longer on it, nothing to change; the €12.00 still owed
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Unpaid', '12.00', ['12.00']]);
  });

  it('the same with the published invoice paid by the client, then waived: the Paid invoice is left as it is', async () => {
    const { s, d } = await heldPublishedRenewalCancelled();
    await s.f.panel.api.addInvoicePayment({
      invoiceId: d.heldInvoiceId!,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-08 10:00:00',
    });
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Paid', '500.00', ['500.00']]);
    expect(await waive(s, d)).to.equal('waived');
    // €500.00 paid: a waiver neither rewrites the paid item nor cancels the paid invoice
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Paid', '500.00', ['500.00']]);
  });

  it("the same with a €12.00 item the admin added to the published invoice, then the renewal's cancellation hook: the line is still owed there, the dispute stays open", async () => {
    const { s, d } = await heldPublishedRenewalCancelled();
    await addItem(s, d, 'Setup fee', '12.00');
    // €500.00 line + €12.00 = €512.00 Unpaid: the line owed on it, whatever else it carries
    expect(await heldInvoice(s, d.heldInvoiceId!)).to.deep.equal(['Unpaid', '512.00', ['500.00', '12.00']]);
    expect(await s.mod.disputes!.invoiceClosed(d.originalInvoiceId)).to.equal(0);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
    expect(await voided()).to.deep.equal([]);
  });
});
