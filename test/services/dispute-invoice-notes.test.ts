import { expect } from 'chai';
import type { Knex } from 'knex';
import { describeEachEngine } from '../support/engines.js';
import { billMay, disputeLine, type BillingStory } from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/** no-break spaces (Intl puts them in "€ 200,00") read as spaces */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/**
 * What the invoices' notes say of a disputed line, as the client reads them on the invoice. The
 * seed story: 6 TB used of 5 TB in May 2013, 1,000 GB over at €0.50/GB = €500.00 on the renewal of
 * 2 June (with the provider's own note on it); disputed on 5 June, decided on 1 July.
 */
describeEachEngine('invoice notes after a dispute', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;
  let ref: string;

  async function bill(language: string) {
    knex = db().knex;
    ({ s, renewal, lineId, ref } = await billMay(knex, language));
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, notes: 'Thank you for your business.' });
  }

  const dispute = () => disputeLine(s, lineId);

  async function decide(
    disputeId: number,
    input: Omit<Parameters<NonNullable<typeof s.mod.disputes>['resolve']>[0], 'disputeId' | 'actor'>,
    actor: { type: 'admin' | 'client'; id: string } = ADMIN,
  ) {
    s.f.clock.set('2013-07-01T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId, actor, ...input });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
  }

  const notesOf = async (invoiceId: number) => plain((await s.f.panel.api.getInvoice(invoiceId)).notes);

  it('while held, the renewal says the line is not part of it, without naming the draft the client cannot open', async () => {
    await bill('english');
    const d = await dispute();
    const notes = await notesOf(renewal);
    expect(notes).to.equal(
      `Thank you for your business.\nOverusage line [${ref}] (€500.00) is on hold while your dispute is decided: it is not part of this invoice.`,
    );
    expect(notes).not.to.include(`#${d.heldInvoiceId}`);
  });

  it('upheld: the renewal says where the €500.00 is billed, and the published invoice says what it is, once each', async () => {
    await bill('english');
    const d = await dispute();
    await decide(d.id, { to: 'upheld' });
    expect(await notesOf(renewal)).to.equal(
      `Thank you for your business.\nOverusage line [${ref}]: upheld after your dispute (€500.00); billed on invoice #${d.heldInvoiceId}.`,
    );
    expect(await notesOf(d.heldInvoiceId!)).to.equal(
      `Overusage line [${ref}] of invoice #${renewal}: upheld after your dispute (€500.00).`,
    );
  });

  it('a 40 % share for a Dutch client: "verlaagd van € 500,00 naar € 200,00" on both invoices', async () => {
    await bill('dutch');
    const d = await dispute();
    // 40 % of €500.00 = €200.00
    await decide(d.id, { to: 'adjusted', adjustment: { kind: 'share', percent: '40' } });
    expect(await notesOf(renewal)).to.equal(
      `Thank you for your business.\nRegel overschrijding [${ref}]: verlaagd van € 500,00 naar € 200,00 na uw bezwaar; gefactureerd op factuur #${d.heldInvoiceId}.`,
    );
    expect(await notesOf(d.heldInvoiceId!)).to.equal(
      `Regel overschrijding [${ref}] van factuur #${renewal}: verlaagd van € 500,00 naar € 200,00 na uw bezwaar.`,
    );
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('200.00');
  });

  it('waived before it was paid: the renewal says the client owes nothing for it, and names no invoice', async () => {
    await bill('english');
    const d = await dispute();
    await decide(d.id, { to: 'waived' });
    const notes = await notesOf(renewal);
    expect(notes).to.equal(
      `Thank you for your business.\nOverusage line [${ref}]: waived after your dispute (was €500.00); you owe nothing for it.`,
    );
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).status).to.equal('Cancelled');
  });

  it('waived, for a Dutch client: the cancelled invoice it was held on (which the client can open) says waived, € 500,00 at € 0,00, not "held"', async () => {
    await bill('dutch');
    const d = await dispute();
    await decide(d.id, { to: 'waived' });
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect([held.status, held.total]).to.deep.equal(['Cancelled', '0.00']);
    // the line's €500.00 is waived: the item says so at 0.00, and so does the invoice's note
    expect(plain(held.notes)).to.equal(
      `Regel overschrijding [${ref}] van factuur #${renewal}: kwijtgescholden na uw bezwaar (was € 500,00); u bent er niets voor verschuldigd.`,
    );
    expect(plain(held.items[0]!.description)).to.match(
      / — kwijtgescholden na beoordeling van uw bezwaar \(€ 500,00\) \[OU-[0-9A-F]+\]$/,
    );
    expect(held.items[0]!.amount).to.equal('0.00');
  });

  it('waived after it was paid: the renewal says €500.00 was credited to the account, and names the credit note', async () => {
    await bill('english');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const d = await dispute();
    await decide(d.id, { to: 'waived', settlement: 'credit' });
    // no VAT in this story: the credit note gives back the €500.00 paid, and the notes name it
    const note = (await s.mod.disputes!.get(d.id)).creditNoteInvoiceId;
    expect(note).to.be.a('number');
    expect(await notesOf(renewal)).to.equal(
      `Thank you for your business.\nOverusage line [${ref}]: waived after your dispute (was €500.00); you owe nothing for it; we credited €500.00 to your account (see credit note #${note}).`,
    );
  });

  it('withdrawn by the client: billed on the published invoice, said in Dutch', async () => {
    await bill('dutch');
    const d = await dispute();
    await decide(d.id, { to: 'withdrawn' }, CLIENT(s.story.clientId));
    expect(await notesOf(renewal)).to.equal(
      `Thank you for your business.\nRegel overschrijding [${ref}]: u hebt uw bezwaar ingetrokken (€ 500,00); gefactureerd op factuur #${d.heldInvoiceId}.`,
    );
    expect(await notesOf(d.heldInvoiceId!)).to.equal(
      `Regel overschrijding [${ref}] van factuur #${renewal}: u hebt uw bezwaar ingetrokken (€ 500,00).`,
    );
  });
});
