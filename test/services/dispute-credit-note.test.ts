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
  type StoryMoney,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR } from '../support/module-fixture.js';

/**
 * A paid overusage line waived or reduced after its dispute (issue 15 item 1): a credit note of its
 * own on the panel (a Paid invoice, one negative line, the VAT reversed at the paid invoice's rate),
 * and the client's credit equal to what he paid for the line, VAT included.
 *
 * The story (test/support/billing-story.ts) with VAT on: 21 % for every country. The client's VPS
 * (not taxed) and 1 000 GB over the 5 TB allowance in May on the renewal of 2 June, paid on 3 June,
 * disputed on 5 June (a paid line: no hold, a refund-or-credit decision), decided on 10 June.
 */
describeEachEngine('the credit note of a paid line waived or reduced', ({ db }) => {
  let knex: Knex;

  async function paidAndDisputed(
    money: StoryMoney,
    language: string,
    vat = true,
    before?: (s: BillingStory) => Promise<unknown>,
    beforePaying?: (s: BillingStory, renewal: number) => Promise<unknown>,
  ) {
    knex = db().knex;
    const s = await buildBillingStory(knex, money);
    if (vat) {
      await s.f.setting('TaxEnabled', 'on');
      await knex('tbltax').insert({ level: 1, name: 'VAT', state: '', country: '', taxrate: '21.000' });
    }
    if (before) await before(s);
    await knex('tblclients').where({ id: s.story.clientId }).update({ language });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    const renewal = toNum(line.invoice_id);
    if (beforePaying) await beforePaying(s, renewal);
    const paid = await s.f.panel.api.getInvoice(renewal);
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const d = await disputeLine(s, toNum(line.id));
    expect(d.holdState).to.equal('refund_decision');
    s.f.clock.set('2013-06-10T09:00:00Z');
    return { s, renewal, paid, d, ref: String(line.ref_code) };
  }

  /** The client's invoices other than the renewal: the credit notes, with their lines. */
  async function notesOf(s: BillingStory, renewal: number) {
    const rows = await knex('tblinvoices')
      .where({ userid: s.story.clientId })
      .whereNot({ id: renewal })
      .orderBy('id')
      .select('id', 'status', 'date', 'subtotal', 'tax', 'total', 'notes');
    const out = [];
    for (const r of rows) {
      const items = await knex('tblinvoiceitems')
        .where({ invoiceid: r.id })
        .select('description', 'amount', 'taxed');
      out.push({
        id: toNum(r.id),
        status: String(r.status),
        subtotal: String(r.subtotal),
        tax: String(r.tax),
        total: String(r.total),
        notes: plain(String(r.notes)),
        items: items.map((i) => [String(i.amount), plain(String(i.description)), toNum(i.taxed)]),
      });
    }
    return out;
  }
  /** no-break spaces (Dutch amounts: "€\u00a0100,00") read as spaces */
  const plain = (t: string) => t.replace(/\u00a0/g, ' ');
  const notesOn = async (s: BillingStory, invoiceId: number) =>
    plain((await s.f.panel.api.getInvoice(invoiceId)).notes);
  const creditOf = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);

  it('EUR, English: €100.00 + 21 % VAT paid → a note of −€100.00 and −€21.00 VAT, €121.00 credited, told everywhere', async () => {
    // 1 000 GB × €0.10 = €100.00, taxed; VAT 21 % of 100.00 = 21.00; with the VPS (19.95, not taxed) 140.95
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
    );
    expect([paid.subtotal, paid.tax, paid.total]).to.deep.equal(['119.95', '21.00', '140.95']);
    // paid before its dispute: the admin chooses between credit and refund
    expect(await s.mod.disputes!.givesMoneyBack(d.id)).to.equal(true);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const notes = await notesOf(s, renewal);
    expect(notes).to.have.length(1);
    const note = notes[0]!;
    expect(note).to.deep.include({ status: 'Paid', subtotal: '-100.00', tax: '-21.00', total: '-121.00' });
    expect(note.items).to.deep.equal([
      [
        '-100.00',
        `Credit note CR-${ref} for invoice #${renewal}: overusage line ${ref} (€100.00) waived after review of your dispute`,
        1,
      ],
    ]);
    expect(note.notes).to.equal(
      `Credit note [CR-${ref}] correcting invoice #${renewal}: the VAT is reversed at that invoice's rate.`,
    );
    // what he paid for the line: 100.00 + 21.00
    expect(await creditOf(s)).to.equal('121.00');
    const after = await s.mod.disputes!.get(d.id);
    expect([after.creditNoteInvoiceId, after.creditedMinor, after.settlement]).to.deep.equal([
      note.id,
      12100n,
      'credited',
    ]);
    // the line itself: waived, nothing billed for it
    const line = await knex('mod_overusage_lines').where({ id: d.lineId }).first('status', 'amount_minor');
    expect([String(line.status), String(line.amount_minor)]).to.deep.equal(['waived', '0']);
    // the paid invoice says what came back and where
    expect(await notesOn(s, renewal)).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €100.00); you owe nothing for it; we credited €121.00 to your account (see credit note #${note.id}).`,
    );
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.credit_note' })
      .select('entity_type', 'entity_id', 'details');
    expect(audit).to.have.length(1);
    expect([String(audit[0].entity_type), String(audit[0].entity_id)]).to.deep.equal([
      'invoice',
      String(note.id),
    ]);
    expect(JSON.parse(String(audit[0].details))).to.deep.include({
      correctsInvoiceId: renewal,
      netMinor: '-10000',
      grossMinor: '-12100',
      currency: 'EUR',
    });
    const mail = await knex('tblemails')
      .where({ userid: s.story.clientId })
      .andWhere('subject', 'like', `%${ref}%`)
      .orderBy('id', 'desc')
      .first('message');
    expect(String(mail.message)).to.include(
      `is waived; you had paid it already, so we credited €121.00 to your account.`,
    );
    // the note is not mailed as an invoice: on 10 June the client gets the dispute's email only
    const sent = await knex('tblemails')
      .where({ userid: s.story.clientId })
      .andWhere('date', '>=', '2013-06-10 00:00:00')
      .select('subject');
    expect(sent.map((m) => String(m.subject))).to.deep.equal([`Your dispute of ${ref}`]);
  });

  it('a retried decision makes no second note and no second credit (the panel failed after creating the note)', async () => {
    const { s, renewal, d } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
    );
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const first = await s.mod
      .disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement: 'credit' })
      .then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    expect(first).to.equal('UPSTREAM');
    expect(s.faulty.failNext!.times, 'the note was created, then the call failed').to.equal(0);
    s.faulty.failNext = null;
    await s.mod.disputes!.resume();
    await s.mod.disputes!.resume();
    const notes = await notesOf(s, renewal);
    expect(notes.map((n) => n.total)).to.deep.equal(['-121.00']);
    expect(await creditOf(s)).to.equal('121.00');
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.credit_note' })).to.have.length(1);
  });

  it('a decision resumed after the credit was given (the panel failed on the invoice notes) credits nothing twice', async () => {
    // the note −121.00 and the credit of 121.00 are done before the paid invoice's notes are written
    const { s, renewal, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
    );
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const first = await s.mod
      .disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement: 'credit' })
      .then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    expect(first).to.equal('UPSTREAM');
    expect([(await s.mod.disputes!.get(d.id)).settlement, await creditOf(s)]).to.deep.equal([
      'credited',
      '121.00',
    ]);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect(await creditOf(s)).to.equal('121.00');
    const [note] = await notesOf(s, renewal);
    expect(await notesOn(s, renewal)).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €100.00); you owe nothing for it; we credited €121.00 to your account (see credit note #${note!.id}).`,
    );
  });

  it('reduced to a share, Dutch: the note carries the difference and its VAT', async () => {
    // €100.00 → 40 % = €40.00: the note −60.00, VAT −12.60 (21 % of 60.00), −72.60; credit 72.60
    const { s, renewal, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'dutch',
    );
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '40' },
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note).to.deep.include({ status: 'Paid', subtotal: '-60.00', tax: '-12.60', total: '-72.60' });
    expect(note!.items).to.deep.equal([
      [
        '-60.00',
        `Creditnota CR-${ref} bij factuur #${renewal}: regel overschrijding ${ref} verlaagd van € 100,00 naar € 40,00 na onderzoek van uw bezwaar`,
        1,
      ],
    ]);
    expect(note!.notes).to.equal(
      `Creditnota [CR-${ref}] ter correctie van factuur #${renewal}: de btw wordt teruggeboekt tegen het tarief van die factuur.`,
    );
    expect(await creditOf(s)).to.equal('72.60');
    // the line stays on the paid invoice, at €40.00
    const line = await knex('mod_overusage_lines').where({ id: d.lineId }).first('status', 'amount_minor');
    expect([String(line.status), String(line.amount_minor)]).to.deep.equal(['placed', '4000']);
    expect(await notesOn(s, renewal)).to.equal(
      `Regel overschrijding [${ref}]: verlaagd van € 100,00 naar € 40,00 na uw bezwaar; we hebben € 72,60 op uw tegoed gezet (zie creditnota #${note!.id}).`,
    );
  });

  it('no VAT charged, Dutch: the note gives back the line alone and its notes say nothing of VAT', async () => {
    // €100.00 → 40 % = €40.00: the note −60.00, no tax (VAT is off), credit 60.00
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'dutch',
      false,
    );
    expect([paid.tax, paid.total]).to.deep.equal(['0.00', '119.95']);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '40' },
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note).to.deep.include({ status: 'Paid', subtotal: '-60.00', tax: '0.00', total: '-60.00' });
    expect(note!.notes).to.equal(`Creditnota [CR-${ref}] ter correctie van factuur #${renewal}.`);
    expect(await creditOf(s)).to.equal('60.00');
  });

  it('JPY, Dutch: ¥80 000 + 21 % VAT paid → a note of −¥80 000 and −¥16 800 VAT, ¥96 800 credited', async () => {
    // 1 000 GB × ¥80 = ¥80 000, taxed; VAT 21 % = ¥16 800; with the VPS (¥2 980, not taxed) ¥99 780
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'JPY', hosting: '2980.00', overage: '80', precommit: '60' },
      'dutch',
    );
    expect([paid.subtotal, paid.tax, paid.total]).to.deep.equal(['82980.00', '16800.00', '99780.00']);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note).to.deep.include({
      status: 'Paid',
      subtotal: '-80000.00',
      tax: '-16800.00',
      total: '-96800.00',
    });
    expect(note!.items[0]![1]).to.equal(
      `Creditnota CR-${ref} bij factuur #${renewal}: regel overschrijding ${ref} (JP¥ 80.000) kwijtgescholden na onderzoek van uw bezwaar`,
    );
    expect(await creditOf(s)).to.equal('96800.00');
    const after = await s.mod.disputes!.get(d.id);
    expect([after.creditedMinor, after.currency]).to.deep.equal([96800n, 'JPY']);
    expect(await notesOn(s, renewal)).to.include(
      `we hebben JP¥ 96.800 op uw tegoed gezet (zie creditnota #${note!.id}).`,
    );
  });

  it('"reduced" to what was paid, €100.00 by hand: nothing comes back, so no note and no credit', async () => {
    // 100.00 − 100.00 = 0.00 given back
    const { s, renewal, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
    );
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'amount', amount: '100.00' },
      settlement: 'credit',
    });
    expect(
      res.ok
        ? [
            res.value.state,
            res.value.amountAfterMinor,
            res.value.creditNoteInvoiceId,
            res.value.creditedMinor,
          ]
        : res.code,
    ).to.deep.equal(['adjusted', 10000n, null, null]);
    expect(await notesOf(s, renewal)).to.deep.equal([]);
    expect(await creditOf(s)).to.equal('0.00');
    // the paid invoice names no credit, not even of €0.00
    expect(await notesOn(s, renewal)).to.equal(
      `Overusage line [${ref}]: reduced from €100.00 to €100.00 after your dispute.`,
    );
  });

  it('refund chosen: the same note, nothing on the account, the refund told VAT included', async () => {
    const { s, renewal, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
    );
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'refund',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note!.total).to.equal('-121.00');
    expect(await creditOf(s)).to.equal('0.00');
    expect(await notesOn(s, renewal)).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €100.00); you owe nothing for it; we refund €121.00 to you (see credit note #${note!.id}).`,
    );
  });

  it('an untaxed line on an invoice with VAT (the VPS taxed): the note gives back the line alone, untaxed, and names no VAT', async () => {
    // the VPS €19.95 taxed: VAT 21 % = 4.1895 → €4.19; the line 1 000 GB × €0.10 = €100.00, not taxed;
    // paid 119.95 + 4.19 = 124.14. Waived: the note −100.00 with no tax, €100.00 credited
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
      true,
      async (x) => {
        await knex('tblproducts').where({ id: x.story.productId }).update({ tax: 1 });
        await x.mod.billing.setProduct(
          x.story.productId,
          {
            unit: 'GB',
            model: 'per_unit',
            allowance: '5 TB',
            prices: { EUR: { overage: '0.10', precommit: '0.07' } },
            taxed: false,
            window: { days: 14, counting: 'calendar', holidays: 'BE' },
          },
          CLI_ACTOR,
        );
      },
    );
    expect([paid.subtotal, paid.tax, paid.total]).to.deep.equal(['119.95', '4.19', '124.14']);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note).to.deep.include({ status: 'Paid', subtotal: '-100.00', tax: '0.00', total: '-100.00' });
    expect(
      note!.items.map((i) => i[2]),
      'taxed as the line was: not',
    ).to.deep.equal([0]);
    expect(note!.notes).to.equal(`Credit note [CR-${ref}] correcting invoice #${renewal}.`);
    expect(await creditOf(s)).to.equal('100.00');
  });

  it('a taxed line the admin made untaxed on the renewal before it was paid: the note follows the invoice, −€100.00 untaxed, €100.00 credited', async () => {
    // the product taxes the line (its charge says taxed), but the admin unticked "taxed" on the
    // renewal's line before Ann paid: 119.95 + VAT 0.00 = 119.95 paid, nothing of it VAT on the line.
    // Waived: the note gives back what was paid for the line, 100.00, untaxed (not 100.00 + 21.00)
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.10', precommit: '0.07' },
      'english',
      true,
      undefined,
      async (x, invoiceId) => {
        const item = (await x.f.panel.api.getInvoice(invoiceId)).items.find((i) =>
          i.description.includes('[OU-'),
        )!;
        await x.f.panel.api.updateInvoice({
          invoiceId,
          changeItems: [{ id: item.id, description: item.description, amount: item.amount, taxed: false }],
        });
      },
    );
    expect([paid.subtotal, paid.tax, paid.total]).to.deep.equal(['119.95', '0.00', '119.95']);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect(note).to.deep.include({ status: 'Paid', subtotal: '-100.00', tax: '0.00', total: '-100.00' });
    expect(note!.items.map((i) => i[2])).to.deep.equal([0]);
    expect(note!.notes).to.equal(`Credit note [CR-${ref}] correcting invoice #${renewal}.`);
    expect(await creditOf(s)).to.equal('100.00');
  });

  it('a taxed line too small to carry VAT (€0.02 at 21 % = €0.0042 → €0.00): the note names no VAT', async () => {
    // 1 000 GB × €0.00002 = €0.02, taxed; the invoice's VAT 21 % of 0.02 = 0.0042, rounded to 0.00
    const { s, renewal, paid, d, ref } = await paidAndDisputed(
      { code: 'EUR', hosting: '19.95', overage: '0.00002', precommit: '0.00001' },
      'english',
    );
    expect([paid.taxRate, paid.subtotal, paid.tax, paid.total]).to.deep.equal([
      '21.00',
      '19.97',
      '0.00',
      '19.97',
    ]);
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const [note] = await notesOf(s, renewal);
    expect([note!.total, note!.notes]).to.deep.equal([
      '-0.02',
      `Credit note [CR-${ref}] correcting invoice #${renewal}.`,
    ]);
    expect(await creditOf(s)).to.equal('0.02');
  });
});

/**
 * A held line the admin published and the client then paid on the held invoice, waived or reduced
 * afterwards: the money came in, so it comes back as for any paid line — a credit note correcting
 * the held invoice (which stays Paid, as issued) and the client's credit. The story without VAT:
 * 1 000 GB × €0.50 = €500.00 held off the renewal of 2 June (which keeps the €19.95 VPS) on 5 June;
 * the admin publishes the held invoice on 7 June (Unpaid, €500.00), Ann pays it on 8 June, and the
 * admin decides on 10 June.
 */
describeEachEngine('a held line paid on its published held invoice, then waived or reduced', ({ db }) => {
  let knex: Knex;

  async function paidOnHeld() {
    knex = db().knex;
    const { s, renewal, lineId, ref } = await billMay(knex);
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('held');
    const held = d.heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-08 10:00:00',
    });
    expect((await s.f.panel.api.getInvoice(held)).status).to.equal('Paid');
    s.f.clock.set('2013-06-10T09:00:00Z');
    return { s, renewal, held, d, ref };
  }
  const creditOf = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  /** the client's invoices after the renewal and the held one: the credit notes, total and line */
  const notesAfter = async (s: BillingStory, held: number) =>
    (
      await knex('tblinvoices as i')
        .join('tblinvoiceitems as t', 't.invoiceid', 'i.id')
        .where('i.userid', s.story.clientId)
        .andWhere('i.id', '>', held)
        .orderBy('i.id')
        .select('i.id', 'i.status', 'i.total', 't.description')
    ).map((r) => [toNum(r.id), String(r.status), String(r.total), String(r.description)]);

  it('the admin put his own €30.00 item on the held draft in place of the line, published it and Ann paid it: waiving gives nothing back', async () => {
    knex = db().knex;
    const { s, lineId } = await billMay(knex);
    const d = await disputeLine(s, lineId);
    const held = d.heldInvoiceId!;
    const [lineItem] = (await s.f.panel.api.getInvoice(held)).items;
    // the €500.00 line taken off the draft, a €30.00 setup fee of the admin's on it instead
    await s.f.panel.api.updateInvoice({
      invoiceId: held,
      deleteLineIds: [lineItem!.id],
      newItems: [{ description: 'Setup fee', amount: '30.00', taxed: false }],
    });
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-08 10:00:00',
    });
    const paid = await s.f.panel.api.getInvoice(held);
    expect([paid.status, paid.total]).to.deep.equal(['Paid', '30.00']);
    s.f.clock.set('2013-06-10T09:00:00Z');
    // Ann paid €30.00 for the setup fee and nothing for the line: no credit or refund to choose
    expect(await s.mod.disputes!.givesMoneyBack(d.id)).to.equal(false);
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    // no credit note, €0.00 credit, nothing recorded as given back
    expect(await notesAfter(s, held)).to.deep.equal([]);
    expect(await creditOf(s)).to.equal('0.00');
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.creditNoteInvoiceId, after.creditedMinor]).to.deep.equal([
      'waived',
      null,
      null,
    ]);
  });

  it('waived: a note of −€500.00 corrects the paid held invoice, €500.00 credited (was: the line waived and the €500.00 kept)', async () => {
    const { s, renewal, held, d, ref } = await paidOnHeld();
    // the €500.00 paid on the held invoice: credit or refund to choose, as for a line paid before
    expect(await s.mod.disputes!.givesMoneyBack(d.id)).to.equal(true);
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const notes = await notesAfter(s, held);
    expect(notes.map(([, status, total, text]) => [status, total, text])).to.deep.equal([
      [
        'Paid',
        '-500.00',
        `Credit note CR-${ref} for invoice #${held}: overusage line ${ref} (€500.00) waived after review of your dispute`,
      ],
    ]);
    const note = notes[0]![0] as number;
    // what Ann paid for the line: €500.00, VAT off
    expect(await creditOf(s)).to.equal('500.00');
    // the paid held invoice stays as issued: Paid, €500.00
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total]).to.deep.equal(['Paid', '500.00']);
    const after = await s.mod.disputes!.get(d.id);
    expect([after.state, after.creditNoteInvoiceId, after.creditedMinor, after.settlement]).to.deep.equal([
      'waived',
      note,
      50000n,
      'credited',
    ]);
    expect((await s.f.panel.api.getInvoice(renewal)).notes).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €500.00); you owe nothing for it; we credited €500.00 to your account (see credit note #${note}).`,
    );
    const audit = await knex('mod_overusage_audit')
      .where({ action: 'dispute.credit_note' })
      .select('entity_id', 'details');
    expect(audit.map((a) => String(a.entity_id))).to.deep.equal([String(note)]);
    expect(JSON.parse(String(audit[0].details))).to.deep.include({
      correctsInvoiceId: held,
      netMinor: '-50000',
      grossMinor: '-50000',
    });
    const mail = await knex('tblemails')
      .where({ userid: s.story.clientId })
      .andWhere('subject', 'like', `%${ref}%`)
      .orderBy('id', 'desc')
      .first('message');
    expect(String(mail.message)).to.include(
      'you had paid it already, so we credited €500.00 to your account.',
    );
  });

  it('reduced to 70 %: €500.00 → €350.00, the note −€150.00 and €150.00 credited', async () => {
    // 70 % of 500.00 = 350.00; paid 500.00, so 150.00 back
    const { s, held, d, ref } = await paidOnHeld();
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '70' },
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    expect((await notesAfter(s, held)).map(([, , total, text]) => [total, text])).to.deep.equal([
      [
        '-150.00',
        `Credit note CR-${ref} for invoice #${held}: overusage line ${ref} reduced from €500.00 to €350.00 after review of your dispute`,
      ],
    ]);
    expect(await creditOf(s)).to.equal('150.00');
    const line = await knex('mod_overusage_lines').where({ id: d.lineId }).first('status', 'amount_minor');
    expect([String(line.status), String(line.amount_minor)]).to.deep.equal(['placed', '35000']);
  });

  it('a late fee on it the hook did not correct, paid with it: the same note gives back −€500.00 and the −€50.00 fee the line caused, €550.00 credited', async () => {
    // published 7 June, due 19 June; the module's AddInvoiceLateFee hook fails on 22 June, so the
    // panel's 10 % of €500.00 = €50.00 stands; Ann pays €550.00 on 23 June. Waived on 24 June:
    // without the line nothing would be late (10 % of 0.00), so all €50.00 fell on it: 500 + 50 = 550
    knex = db().knex;
    const { s, lineId, ref } = await billMay(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    const d = await disputeLine(s, lineId);
    const held = d.heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    for (let day = '2013-06-07'; day <= '2013-06-22'; day = addDays(day, 1)) {
      s.f.clock.set(`${day}T07:00:00Z`);
      // the panel does not answer the module that day: the hook fails, and the sweep after it
      if (day === '2013-06-22') s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
      await s.f.panel.runDailyAutomation(day);
      s.faulty.failNext = null;
    }
    expect((await s.f.panel.api.getInvoice(held)).total).to.equal('550.00');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-23 10:00:00',
    });
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    expect((await notesAfter(s, held)).map(([, status, total, text]) => [status, total, text])).to.deep.equal(
      [
        [
          'Paid',
          '-550.00',
          `Credit note CR-${ref} for invoice #${held}: overusage line ${ref} (€500.00) waived after review of your dispute`,
        ],
        [
          'Paid',
          '-550.00',
          `Credit note CR-${ref} for invoice #${held}: the part of its late fee that fell on overusage line ${ref}`,
        ],
      ],
    );
    const note = (await notesAfter(s, held))[0]![0] as number;
    expect(
      (await knex('tblinvoiceitems').where({ invoiceid: note }).orderBy('id').select('amount')).map((r) =>
        String(r.amount),
      ),
    ).to.deep.equal(['-500.00', '-50.00']);
    expect(await creditOf(s)).to.equal('550.00');
    expect((await s.mod.disputes!.get(d.id)).creditedMinor).to.equal(55000n);
    await s.mod.disputes!.resume();
    expect(await creditOf(s)).to.equal('550.00');
  });

  it("the line made untaxed on the held invoice before it was published and paid: the note's line is untaxed as the paid one was", async () => {
    // the product taxes the line, so the held invoice's line starts taxed (1); the admin unticks it
    // before publishing. No VAT in this story, so €500.00 either way: the note's line follows the
    // held invoice the client paid (taxed 0), not the charge (taxed 1); €500.00 credited
    knex = db().knex;
    const { s, lineId } = await billMay(knex);
    const d = await disputeLine(s, lineId);
    const held = d.heldInvoiceId!;
    const item = (await s.f.panel.api.getInvoice(held)).items[0]!;
    expect(item.taxed).to.equal(true);
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({
      invoiceId: held,
      changeItems: [{ id: item.id, description: item.description, amount: item.amount, taxed: false }],
      publish: true,
    });
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-08 10:00:00',
    });
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const note = (await s.mod.disputes!.get(d.id)).creditNoteInvoiceId!;
    const lines = await knex('tblinvoiceitems').where({ invoiceid: note }).select('amount', 'taxed');
    expect(lines.map((r) => [String(r.amount), toNum(r.taxed)])).to.deep.equal([['-500.00', 0]]);
    expect(await creditOf(s)).to.equal('500.00');
  });

  it('the panel failing after making the note: resumed twice, one note and €500.00 credited once', async () => {
    const { s, held, d } = await paidOnHeld();
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const first = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN }).then(
      () => null,
      (e: { code?: string }) => e.code,
    );
    expect(first).to.equal('UPSTREAM');
    s.faulty.failNext = null;
    await s.mod.disputes!.resume();
    await s.mod.disputes!.resume();
    expect((await notesAfter(s, held)).map(([, , total]) => total)).to.deep.equal(['-500.00']);
    expect(await creditOf(s)).to.equal('500.00');
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.credit_note' })).to.have.length(1);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.waived' })).to.have.length(1);
  });
});

/**
 * A late fee on the renewal itself, paid with it before the line was disputed (the lead's ruling:
 * a waived line never carries a late fee; a paid fee's share comes back on the line's credit note).
 * The renewal of 2 June: hosting €19.95 + the €500.00 line = €519.95, due 9 June; 3 days late
 * (12 June) the panel adds 10 % = 51.995 → €52.00; Ann pays the €571.95 on 13 June and disputes on
 * 14 June, in time (window to 16 June): paid, so a refund-or-credit decision. Waived on 15 June.
 */
describeEachEngine('a paid line whose paid renewal carried a late fee, waived', ({ db }) => {
  it('the note gives back −€500.00 and the −€50.00 of the fee the line caused (52.00 − 10 % of 19.95 = 2.00), €550.00 credited once', async () => {
    const knex = db().knex;
    const { s, renewal, lineId, ref } = await billMay(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    for (let day = '2013-06-03'; day <= '2013-06-12'; day = addDays(day, 1)) {
      s.f.clock.set(`${day}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(day);
    }
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('571.95');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-13 10:00:00',
    });
    s.f.clock.set('2013-06-14T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I cannot tell where this traffic came from.',
      actor: { type: 'client', id: String(s.story.clientId) },
    });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.holdState).to.equal('refund_decision');
    s.f.clock.set('2013-06-15T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: opened.value.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const notes = await knex('tblinvoices')
      .where({ userid: s.story.clientId })
      .andWhere('id', '>', renewal)
      .select('id', 'status', 'total');
    expect(notes.map((n) => [String(n.status), String(n.total)])).to.deep.equal([['Paid', '-550.00']]);
    const items = await knex('tblinvoiceitems')
      .where({ invoiceid: notes[0].id })
      .orderBy('id')
      .select('amount', 'description');
    expect(items.map((i) => [String(i.amount), String(i.description)])).to.deep.equal([
      [
        '-500.00',
        `Credit note CR-${ref} for invoice #${renewal}: overusage line ${ref} (€500.00) waived after review of your dispute`,
      ],
      [
        '-50.00',
        `Credit note CR-${ref} for invoice #${renewal}: the part of its late fee that fell on overusage line ${ref}`,
      ],
    ]);
    const credit = async () =>
      String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
    expect(await credit()).to.equal('550.00');
    await s.mod.disputes!.resume();
    expect(await credit()).to.equal('550.00');
  });
});
