import { expect } from 'chai';
import {
  ADMIN_DISPUTE_FLASH,
  ADMIN_DISPUTE_MAIL,
  ADMIN_DISPUTE_REFUSALS,
  CREDIT_NOTE,
  DISPUTE_CREDIT,
  DISPUTE_MAIL,
  DISPUTE_REFUSALS,
  INVOICE_NOTES,
  LATE_FEE_CREDIT,
  givenBackMinor,
  isCreditNoteOf,
  isDisputeCredit,
  isLateFeeCredit,
  withLineNote,
} from '../../module/domain/dispute-text.js';

// An invoice's notes as a disputed line's story moves on: its paragraph put in, replaced, or taken
// out, the provider's own notes left as they were.
describe("a disputed line's paragraph in an invoice's notes", () => {
  const onHold = INVOICE_NOTES.en.onHold('OU-7', '€500.00');
  it('is added after the provider’s notes, without blank lines in between', () => {
    expect(withLineNote('Thank you for your business.\n\n', 'OU-7', onHold)).to.equal(
      'Thank you for your business.\nOverusage line [OU-7] (€500.00) is on hold while your dispute is decided: it is not part of this invoice.',
    );
    expect(withLineNote('', 'OU-7', 'Overusage line [OU-7]: upheld.')).to.equal(
      'Overusage line [OU-7]: upheld.',
    );
    // lines of spaces only at the end count as blank too (a textarea keeps them)
    expect(withLineNote('Thank you.\n  \n\t\n', 'OU-7', 'Overusage line [OU-7]: upheld.')).to.equal(
      'Thank you.\nOverusage line [OU-7]: upheld.',
    );
  });

  it("replaces the line's earlier paragraph and leaves another line's alone", () => {
    const notes = `Pay by bank transfer.\n${onHold}\nOverusage line [OU-8]: waived.`;
    expect(
      withLineNote(notes, 'OU-7', 'Overusage line [OU-7]: upheld after your dispute (€500.00).'),
    ).to.equal(
      'Pay by bank transfer.\nOverusage line [OU-8]: waived.\nOverusage line [OU-7]: upheld after your dispute (€500.00).',
    );
    // no paragraph: the line's is taken out
    expect(withLineNote(notes, 'OU-7', null)).to.equal(
      'Pay by bank transfer.\nOverusage line [OU-8]: waived.',
    );
  });
});

// Every sentence of the dispute catalogs, in full: a word lost or a figure left out of one of them
// is a client told the wrong thing about money. The figures are the decision story's (Ann's May
// line OU-7 of €500.00, reduced to 40 %: €200.00, due 19 June 2026; €300.00 credited when she had
// paid it), passed in already formatted, as the services do.
describe('the dispute catalogs, sentence by sentence', () => {
  const en = { ref: 'OU-7', before: '€500.00', after: '€200.00', due: '19 June 2026', credited: null };
  const nl = { ref: 'OU-7', before: '€ 500,00', after: '€ 200,00', due: '19 juni 2026', credited: null };

  it("refuses a dispute in the client's language and in the admin's words", () => {
    expect(DISPUTE_REFUSALS.en).to.deep.include({
      alreadyDisputed: 'This line is already disputed.',
      notDisputable: 'This line cannot be disputed any more.',
      reasonRequired: 'Please say why you dispute this line (at least 3 characters).',
    });
    expect(DISPUTE_REFUSALS.en.windowClosed('4 July 2026')).to.equal(
      'The window to dispute this line ended on 4 July 2026; a dispute after it cannot be accepted.',
    );
    expect(DISPUTE_REFUSALS.nl).to.deep.include({
      alreadyDisputed: 'Tegen deze regel is al bezwaar gemaakt.',
      notDisputable: 'Tegen deze regel kan geen bezwaar meer worden gemaakt.',
      reasonRequired: 'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).',
    });
    expect(DISPUTE_REFUSALS.nl.windowClosed('4 juli 2026')).to.equal(
      'De termijn om bezwaar te maken tegen deze regel liep tot en met 4 juli 2026; een bezwaar daarna kunnen we niet aanvaarden.',
    );
    expect(ADMIN_DISPUTE_REFUSALS.alreadyDisputed(3, 'open')).to.equal(
      'this line is already disputed (dispute 3, open)',
    );
    expect(ADMIN_DISPUTE_REFUSALS.notDisputable('credited')).to.equal(
      'this line cannot be disputed (it is credited)',
    );
    expect(ADMIN_DISPUTE_REFUSALS.reasonRequired).to.equal('say why you dispute this line');
    expect(ADMIN_DISPUTE_REFUSALS.windowClosed('2026-07-04')).to.equal(
      'the window closed on 2026-07-04; an admin can still open a dispute with an override reason',
    );
  });

  it('writes the English email of every step', () => {
    const m = DISPUTE_MAIL.en;
    expect([m.greeting('Ann'), m.signOff, m.subject('OU-7')]).to.deep.equal([
      'Dear Ann,',
      'Kind regards,',
      'Your dispute of OU-7',
    ]);
    expect(m.opened(en)).to.equal(
      'We received your dispute of OU-7. The line (€500.00) is on hold and not due while we look at it; the rest of the invoice stays due as usual.',
    );
    expect(m.upheld(en)).to.equal('After review the line OU-7 stands at €500.00, due on 19 June 2026.');
    expect(m.adjusted(en)).to.equal(
      'After review the line OU-7 is reduced from €500.00 to €200.00, due on 19 June 2026.',
    );
    expect(m.adjusted({ ...en, credited: '€300.00' })).to.equal(
      'After review the line OU-7 is reduced from €500.00 to €200.00; you had paid it already, so we credited €300.00 to your account.',
    );
    expect(m.waived(en)).to.equal('After review the line OU-7 (€500.00) is waived: you owe nothing for it.');
    expect(m.waived({ ...en, credited: '€500.00' })).to.equal(
      'After review the line OU-7 (€500.00) is waived; you had paid it already, so we credited €500.00 to your account.',
    );
    expect(m.withdrawn(en)).to.equal(
      'You withdrew your dispute of OU-7; the line (€500.00) is due on 19 June 2026.',
    );
  });

  it('writes the Dutch email of every step', () => {
    const m = DISPUTE_MAIL.nl;
    expect([m.greeting('Jan'), m.signOff, m.subject('OU-7')]).to.deep.equal([
      'Beste Jan,',
      'Met vriendelijke groet,',
      'Uw bezwaar tegen OU-7',
    ]);
    expect(m.opened(nl)).to.equal(
      'We hebben uw bezwaar tegen OU-7 ontvangen. De regel (€ 500,00) is opgeschort en niet verschuldigd zolang we ernaar kijken; de rest van de factuur blijft gewoon verschuldigd.',
    );
    expect(m.upheld(nl)).to.equal(
      'Na onderzoek blijft de regel OU-7 staan op € 500,00, te betalen uiterlijk 19 juni 2026.',
    );
    expect(m.adjusted(nl)).to.equal(
      'Na onderzoek is de regel OU-7 verlaagd van € 500,00 naar € 200,00, te betalen uiterlijk 19 juni 2026.',
    );
    expect(m.adjusted({ ...nl, credited: '€ 300,00' })).to.equal(
      'Na onderzoek is de regel OU-7 verlaagd van € 500,00 naar € 200,00; u had hem al betaald, dus hebben we € 300,00 op uw tegoed gezet.',
    );
    expect(m.waived(nl)).to.equal(
      'Na onderzoek schelden we de regel OU-7 (€ 500,00) kwijt: u hoeft hiervoor niets te betalen.',
    );
    expect(m.waived({ ...nl, credited: '€ 500,00' })).to.equal(
      'Na onderzoek schelden we de regel OU-7 (€ 500,00) kwijt; u had hem al betaald, dus hebben we € 500,00 op uw tegoed gezet.',
    );
    expect(m.withdrawn(nl)).to.equal(
      'U hebt uw bezwaar tegen OU-7 ingetrokken; de regel (€ 500,00) is te betalen uiterlijk 19 juni 2026.',
    );
  });

  it("writes the admin's copy about the client, with no greeting or sign-off", () => {
    const m = DISPUTE_MAIL.admin;
    expect([m.greeting('Ann'), m.signOff, m.subject('OU-7')]).to.deep.equal(['', '', 'Dispute of OU-7']);
    expect(m.opened(en)).to.equal(
      'The line OU-7 (€500.00) is disputed: it is on hold and not due while it is reviewed; the rest of the invoice stays due as usual.',
    );
    expect(m.upheld(en)).to.equal('After review the line OU-7 stands at €500.00, due on 19 June 2026.');
    expect(m.adjusted(en)).to.equal(
      'After review the line OU-7 is reduced from €500.00 to €200.00, due on 19 June 2026.',
    );
    expect(m.adjusted({ ...en, credited: '€300.00' })).to.equal(
      'After review the line OU-7 is reduced from €500.00 to €200.00; the client had paid it already, so €300.00 was credited to their account.',
    );
    expect(m.waived(en)).to.equal(
      'After review the line OU-7 (€500.00) is waived: the client owes nothing for it.',
    );
    expect(m.waived({ ...en, credited: '€500.00' })).to.equal(
      'After review the line OU-7 (€500.00) is waived; the client had paid it already, so €500.00 was credited to their account.',
    );
    expect(m.withdrawn(en)).to.equal(
      'The client withdrew the dispute of OU-7; the line (€500.00) is due on 19 June 2026.',
    );
  });

  it("writes the invoices' notes on a held line in English", () => {
    const n = INVOICE_NOTES.en;
    expect(`Overusage May 2026${n.heldSuffix}`).to.equal('Overusage May 2026 — on hold, under dispute');
    expect(n.heldDraft('OU-7', 1)).to.equal('Overusage line [OU-7] of invoice #1, held while disputed.');
    expect(n.published('OU-7', 1, n.upheld('€500.00'))).to.equal(
      'Overusage line [OU-7] of invoice #1: upheld after your dispute (€500.00).',
    );
    expect(n.onHold('OU-7', '€500.00')).to.equal(
      'Overusage line [OU-7] (€500.00) is on hold while your dispute is decided: it is not part of this invoice.',
    );
    expect(n.withdrawn('€500.00')).to.equal('you withdrew your dispute (€500.00)');
    expect(n.reduced('€500.00', '€200.00')).to.equal('reduced from €500.00 to €200.00 after your dispute');
    expect(n.waived('€500.00')).to.equal('waived after your dispute (was €500.00); you owe nothing for it');
    expect(n.billedOn(3)).to.equal('billed on invoice #3');
    expect(n.credited('€300.00')).to.equal('we credited €300.00 to your account');
    expect(n.refunded('€300.00')).to.equal('we refund €300.00 to you');
    expect(n.decided('OU-7', 'billed on invoice #3')).to.equal(
      'Overusage line [OU-7]: billed on invoice #3.',
    );
  });

  it("writes the invoices' notes on a held line in Dutch", () => {
    const n = INVOICE_NOTES.nl;
    expect(`Overschrijding mei 2026${n.heldSuffix}`).to.equal(
      'Overschrijding mei 2026 — opgeschort, in betwisting',
    );
    expect(n.heldDraft('OU-7', 1)).to.equal(
      'Regel overschrijding [OU-7] van factuur #1, opgeschort tijdens het bezwaar.',
    );
    expect(n.published('OU-7', 1, n.upheld('€ 500,00'))).to.equal(
      'Regel overschrijding [OU-7] van factuur #1: gehandhaafd na uw bezwaar (€ 500,00).',
    );
    expect(n.onHold('OU-7', '€ 500,00')).to.equal(
      'Regel overschrijding [OU-7] (€ 500,00) is opgeschort tot over uw bezwaar is beslist: ze hoort niet bij deze factuur.',
    );
    expect(n.withdrawn('€ 500,00')).to.equal('u hebt uw bezwaar ingetrokken (€ 500,00)');
    expect(n.reduced('€ 500,00', '€ 200,00')).to.equal('verlaagd van € 500,00 naar € 200,00 na uw bezwaar');
    expect(n.waived('€ 500,00')).to.equal(
      'kwijtgescholden na uw bezwaar (was € 500,00); u bent er niets voor verschuldigd',
    );
    expect(n.billedOn(3)).to.equal('gefactureerd op factuur #3');
    expect(n.credited('€ 300,00')).to.equal('we hebben € 300,00 op uw tegoed gezet');
    expect(n.refunded('€ 300,00')).to.equal('we betalen u € 300,00 terug');
    expect(n.decided('OU-7', 'gefactureerd op factuur #3')).to.equal(
      'Regel overschrijding [OU-7]: gefactureerd op factuur #3.',
    );
  });

  it("says in the admin's flash what a decision did to the money", () => {
    expect(ADMIN_DISPUTE_FLASH.opened(3, 'on hold')).to.equal('Dispute 3 opened; the line is on hold.');
    // 40 % of €250.00 = €100.00, nothing paid yet
    expect(
      ADMIN_DISPUTE_FLASH.decided(3, 'adjusted', { now: '€100.00', before: '€250.00', credited: null }),
    ).to.equal('Dispute 3 adjusted: the line now bills €100.00 (was €250.00).');
    expect(
      ADMIN_DISPUTE_FLASH.decided(1, 'waived', { now: '€0.00', before: '€500.00', credited: '€500.00' }),
    ).to.equal(
      "Dispute 1 waived: the line now bills €0.00 (was €500.00); €500.00 credited to the client's account.",
    );
    // a refund chosen: the amount to refund by hand, the paid invoice it comes from, the note
    expect(
      ADMIN_DISPUTE_FLASH.decided(1, 'waived', {
        now: '€0.00',
        before: '€500.00',
        credited: null,
        refund: { amount: '€605.00', paidOnInvoiceId: 31, creditNoteId: 40 },
      }),
    ).to.equal(
      "Dispute 1 waived: the line now bills €0.00 (was €500.00). Refund €605.00 to the client yourself, the module does not: in the panel, invoice #31 › Refund tab: the client's payment, amount €605.00, through the gateway or recorded as made outside; credit note #40 records it.",
    );
    // upheld: the figure does not change, so no "was"
    expect(
      ADMIN_DISPUTE_FLASH.decided(2, 'upheld', { now: '€500.00', before: '€500.00', credited: null }),
    ).to.equal('Dispute 2 upheld: the line now bills €500.00.');
  });
});

// The account credit of a paid line, found again after a crash by its reference in any language,
// or in the English form earlier versions wrote.
describe("a paid line's credit in the client's credit log", () => {
  const c = { disputeId: 12, decision: 'waived', ref: 'OU-0A1B2C3D4E' };
  it('is found by its credit reference, in English and in Dutch', () => {
    expect(isDisputeCredit(DISPUTE_CREDIT.en.waived('OU-0A1B2C3D4E', '€500.00'), c)).to.equal(true);
    expect(isDisputeCredit(DISPUTE_CREDIT.nl.adjusted('OU-0A1B2C3D4E', '€ 500,00', '€ 350,00'), c)).to.equal(
      true,
    );
  });
  it('is found in the English form written before the credit reference existed', () => {
    expect(isDisputeCredit('Overusage dispute 12: waived (line OU-0A1B2C3D4E)', c)).to.equal(true);
  });
  it("is not another line's credit, another dispute's old-form credit, nor the late fee share of the same line", () => {
    expect(isDisputeCredit(DISPUTE_CREDIT.en.waived('OU-0A1B2C3D4F', '€500.00'), c)).to.equal(false);
    expect(isDisputeCredit('Overusage dispute 13: waived (line OU-0A1B2C3D4E)', c)).to.equal(false);
    expect(
      isDisputeCredit('Overusage dispute 12: late fee share on held line OU-0A1B2C3D4E (invoice 31)', c),
    ).to.equal(false);
    // a longer reference that starts with this one is another line
    expect(
      isDisputeCredit(
        'Credit CR-OU-0A1B2C3D4E7: overusage line OU-0A1B2C3D4E7 (€1.00) waived after review of your dispute',
        c,
      ),
    ).to.equal(false);
  });
  it('reads in the language of the client, with the amounts of the decision', () => {
    expect(DISPUTE_CREDIT.en.waived('OU-7', '€500.00')).to.equal(
      'Credit CR-OU-7: overusage line OU-7 (€500.00) waived after review of your dispute',
    );
    expect(DISPUTE_CREDIT.nl.adjusted('OU-7', '€ 500,00', '€ 350,00')).to.equal(
      'Creditering CR-OU-7: regel overschrijding OU-7 verlaagd van € 500,00 naar € 350,00 na onderzoek van uw bezwaar',
    );
  });
});

// The admin's dispute email: subject, the client's reason, and what the client was sent, with the
// language named in English (the admin's language).
describe("the admin's dispute email around its sentence", () => {
  it('names the dispute, the client and the line in the subject, then the reason and what the client read', () => {
    expect(ADMIN_DISPUTE_MAIL.subject(12, 'opened', 'Jan Jansen', 'OU-7')).to.equal(
      'Overusage dispute 12 opened: Jan Jansen, OU-7',
    );
    expect(ADMIN_DISPUTE_MAIL.reasonGiven('the server was down')).to.equal(
      'Reason given: the server was down',
    );
    expect(ADMIN_DISPUTE_MAIL.clientWasTold('nl', 'Uw bezwaar is ontvangen.')).to.equal(
      'The client was told (in Dutch): Uw bezwaar is ontvangen.',
    );
    expect(ADMIN_DISPUTE_MAIL.clientWasTold('en', 'Your dispute was received.')).to.equal(
      'The client was told (in English): Your dispute was received.',
    );
  });
});

describe("a paid line's credit and credit note, as the client reads them", () => {
  it('words the account credit of a waived or reduced line in both languages', () => {
    expect(DISPUTE_CREDIT.en.adjusted('OU-7', '€500.00', '€350.00')).to.equal(
      'Credit CR-OU-7: overusage line OU-7 reduced from €500.00 to €350.00 after review of your dispute',
    );
    expect(DISPUTE_CREDIT.nl.waived('OU-7', '€ 500,00')).to.equal(
      'Creditering CR-OU-7: regel overschrijding OU-7 (€ 500,00) kwijtgescholden na onderzoek van uw bezwaar',
    );
  });

  it("words the credit note's line and notes in English", () => {
    const n = CREDIT_NOTE.en;
    expect(n.waived('OU-7', 31, '€500.00')).to.equal(
      'Credit note CR-OU-7 for invoice #31: overusage line OU-7 (€500.00) waived after review of your dispute',
    );
    expect(n.adjusted('OU-7', 31, '€500.00', '€350.00')).to.equal(
      'Credit note CR-OU-7 for invoice #31: overusage line OU-7 reduced from €500.00 to €350.00 after review of your dispute',
    );
    expect(n.notes('OU-7', 31)).to.equal(
      "Credit note [CR-OU-7] correcting invoice #31: the VAT is reversed at that invoice's rate.",
    );
    expect(n.notesNoVat('OU-7', 31)).to.equal('Credit note [CR-OU-7] correcting invoice #31.');
  });

  it("words the credit note's line and notes in Dutch", () => {
    const n = CREDIT_NOTE.nl;
    expect(n.waived('OU-7', 31, '€ 500,00')).to.equal(
      'Creditnota CR-OU-7 bij factuur #31: regel overschrijding OU-7 (€ 500,00) kwijtgescholden na onderzoek van uw bezwaar',
    );
    expect(n.adjusted('OU-7', 31, '€ 500,00', '€ 350,00')).to.equal(
      'Creditnota CR-OU-7 bij factuur #31: regel overschrijding OU-7 verlaagd van € 500,00 naar € 350,00 na onderzoek van uw bezwaar',
    );
    expect(n.notes('OU-7', 31)).to.equal(
      'Creditnota [CR-OU-7] ter correctie van factuur #31: de btw wordt teruggeboekt tegen het tarief van die factuur.',
    );
    expect(n.notesNoVat('OU-7', 31)).to.equal('Creditnota [CR-OU-7] ter correctie van factuur #31.');
  });

  it("points the old invoice's notes at the credit note in both languages", () => {
    expect(INVOICE_NOTES.en.creditNote(40)).to.equal('see credit note #40');
    expect(INVOICE_NOTES.nl.creditNote(40)).to.equal('zie creditnota #40');
  });

  it("finds an invoice's credit note by the bracketed reference in any language, not another line's", () => {
    expect(isCreditNoteOf(CREDIT_NOTE.nl.notes('OU-7', 31), 'OU-7')).to.equal(true);
    expect(isCreditNoteOf(CREDIT_NOTE.en.notesNoVat('OU-7', 31), 'OU-7')).to.equal(true);
    expect(isCreditNoteOf(CREDIT_NOTE.en.notesNoVat('OU-8', 31), 'OU-7')).to.equal(false);
    // the unbracketed reference in the line's description is not the notes' mark
    expect(isCreditNoteOf('Thank you. CR-OU-7', 'OU-7')).to.equal(false);
  });

  it('finds a credit whose line reference holds a regex character only by that exact reference', () => {
    // a provider's reference may hold a dot; it stands for itself, not for any character
    const c = { disputeId: 12, decision: 'waived', ref: 'OU-1.5' };
    expect(isDisputeCredit(DISPUTE_CREDIT.en.waived('OU-1.5', '€5.00'), c)).to.equal(true);
    expect(isDisputeCredit(DISPUTE_CREDIT.en.waived('OU-1x5', '€5.00'), c)).to.equal(false);
  });

  it('gives back the stored figure, or for an older decision the drop in the line', () => {
    // stored with VAT: €605.00 given back, whatever the line bills now
    expect(givenBackMinor({ amountBeforeMinor: 50000n, creditedMinor: 60500n }, 20000n)).to.equal(60500n);
    // older decision, nothing stored: €500.00 - €200.00 = €300.00
    expect(givenBackMinor({ amountBeforeMinor: 50000n, creditedMinor: null }, 20000n)).to.equal(30000n);
    expect(givenBackMinor({ amountBeforeMinor: 50000n }, 0n)).to.equal(50000n);
  });
});

// The late fee's share on a held line, given back as credit; found again by its LF- reference in any
// language, or in the English form earlier versions wrote.
describe("a held line's late fee credit in the client's credit log", () => {
  const c = { disputeId: 12, ref: 'OU-0A1B2C3D4E', invoiceId: 31 };
  it('reads in the language of the client', () => {
    expect(LATE_FEE_CREDIT.en('OU-7', 31)).to.equal(
      "Credit LF-OU-7: the part of invoice #31's late fee that fell on overusage line OU-7, held while your dispute is decided",
    );
    expect(LATE_FEE_CREDIT.nl('OU-7', 31)).to.equal(
      'Creditering LF-OU-7: het deel van de boete op factuur #31 dat op regel overschrijding OU-7 viel, die opgeschort is zolang uw bezwaar loopt',
    );
  });
  it('is found by its reference, in English and in Dutch', () => {
    expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-0A1B2C3D4E', 31), c)).to.equal(true);
    expect(isLateFeeCredit(LATE_FEE_CREDIT.nl('OU-0A1B2C3D4E', 31), c)).to.equal(true);
  });
  it('is found in the English form written before the reference existed', () => {
    expect(
      isLateFeeCredit('Overusage dispute 12: late fee share on held line OU-0A1B2C3D4E (invoice 31)', c),
    ).to.equal(true);
  });
  it("is not another line's, another dispute's or invoice's old form, nor the dispute credit of the same line", () => {
    expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-0A1B2C3D4F', 31), c)).to.equal(false);
    expect(
      isLateFeeCredit('Overusage dispute 13: late fee share on held line OU-0A1B2C3D4E (invoice 31)', c),
    ).to.equal(false);
    expect(
      isLateFeeCredit('Overusage dispute 12: late fee share on held line OU-0A1B2C3D4E (invoice 32)', c),
    ).to.equal(false);
    expect(isLateFeeCredit(DISPUTE_CREDIT.en.waived('OU-0A1B2C3D4E', '€500.00'), c)).to.equal(false);
    // a longer reference that starts with this one is another line
    expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-0A1B2C3D4E7', 31), c)).to.equal(false);
  });
  it("is not the same line's credit for another invoice's fee (#32, #310, #3), in either language", () => {
    for (const other of [32, 310, 3]) {
      expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-0A1B2C3D4E', other), c), `en #${other}`).to.equal(false);
      expect(isLateFeeCredit(LATE_FEE_CREDIT.nl('OU-0A1B2C3D4E', other), c), `nl #${other}`).to.equal(false);
    }
  });
  it('finds a reference holding a regex character only by that exact reference', () => {
    const d = { disputeId: 12, ref: 'OU-1.5', invoiceId: 31 };
    expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-1.5', 31), d)).to.equal(true);
    expect(isLateFeeCredit(LATE_FEE_CREDIT.en('OU-1x5', 31), d)).to.equal(false);
  });
});

// A dispute closed because the invoice its line was billed on was cancelled or refunded: the debt
// is gone, so the client is told there is nothing to dispute or settle, and which invoice ended it.
// The story: Ann's May line OU-7 (€500.00) was on invoice #31, which the provider cancelled (or
// refunded to her); nothing is owed, so no credit, refund or held invoice follows.
describe('a dispute of a line whose invoice was cancelled or refunded', () => {
  const en = { ref: 'OU-7', before: '€500.00', after: '€0.00', due: '', credited: null };
  const nl = { ref: 'OU-7', before: '€ 500,00', after: '€ 0,00', due: '', credited: null };
  const cancelled = { invoice: 31, refunded: false };
  const refunded = { invoice: 31, refunded: true };

  it('is refused to the client in English and Dutch, saying whether the invoice was cancelled or refunded', () => {
    expect(DISPUTE_REFUSALS.en.notOwed(31, 'Cancelled')).to.equal(
      'Invoice #31, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.',
    );
    expect(DISPUTE_REFUSALS.en.notOwed(31, 'Refunded')).to.equal(
      'Invoice #31, which this line is on, was refunded to you: you owe nothing for the line, so there is nothing to dispute.',
    );
    expect(DISPUTE_REFUSALS.nl.notOwed(31, 'Cancelled')).to.equal(
      'Factuur #31, waarop deze regel staat, is geannuleerd: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.',
    );
    expect(DISPUTE_REFUSALS.nl.notOwed(31, 'Refunded')).to.equal(
      'Factuur #31, waarop deze regel staat, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.',
    );
  });

  it("is refused to the admin with the invoice's status as the panel names it", () => {
    expect(ADMIN_DISPUTE_REFUSALS.notOwed(31, 'Cancelled')).to.equal(
      'this line cannot be disputed: its invoice #31 is Cancelled, so nothing is owed on it',
    );
    expect(ADMIN_DISPUTE_REFUSALS.notOwed(32, 'Refunded')).to.equal(
      'this line cannot be disputed: its invoice #32 is Refunded, so nothing is owed on it',
    );
  });

  it('closes an open dispute with an email to the client in English', () => {
    expect(DISPUTE_MAIL.en.voided({ ...en, closedBy: cancelled })).to.equal(
      'Invoice #31, which the line OU-7 (€500.00) was billed on, was cancelled: you owe nothing for the line, so your dispute is closed with nothing to settle.',
    );
    expect(DISPUTE_MAIL.en.voided({ ...en, closedBy: refunded })).to.equal(
      'Invoice #31, which the line OU-7 (€500.00) was billed on, was refunded to you: you owe nothing for the line, so your dispute is closed with nothing to settle.',
    );
  });

  it('closes an open dispute with an email to the client in Dutch', () => {
    expect(DISPUTE_MAIL.nl.voided({ ...nl, closedBy: cancelled })).to.equal(
      'Factuur #31, waarop de regel OU-7 (€ 500,00) stond, is geannuleerd: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.',
    );
    expect(DISPUTE_MAIL.nl.voided({ ...nl, closedBy: refunded })).to.equal(
      'Factuur #31, waarop de regel OU-7 (€ 500,00) stond, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.',
    );
  });

  it('tells the admin, in English, that nothing is credited, refunded or billed', () => {
    expect(DISPUTE_MAIL.admin.voided({ ...en, closedBy: cancelled })).to.equal(
      'Invoice #31, which the line OU-7 (€500.00) was billed on, was cancelled: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).',
    );
    expect(DISPUTE_MAIL.admin.voided({ ...en, closedBy: refunded })).to.equal(
      'Invoice #31, which the line OU-7 (€500.00) was billed on, was refunded: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).',
    );
  });

  it("writes the paragraph on the line's invoice in English and Dutch", () => {
    const n = INVOICE_NOTES;
    expect(n.en.decided('OU-7', n.en.voided(31, false))).to.equal(
      'Overusage line [OU-7]: not owed: invoice #31 was cancelled, so your dispute is closed with nothing to settle.',
    );
    expect(n.en.voided(31, true)).to.equal(
      'not owed: invoice #31 was refunded, so your dispute is closed with nothing to settle',
    );
    expect(n.nl.decided('OU-7', n.nl.voided(31, false))).to.equal(
      'Regel overschrijding [OU-7]: niet verschuldigd: factuur #31 is geannuleerd, dus uw bezwaar is afgesloten zonder verdere afrekening.',
    );
    expect(n.nl.voided(31, true)).to.equal(
      'niet verschuldigd: factuur #31 is terugbetaald, dus uw bezwaar is afgesloten zonder verdere afrekening',
    );
  });
});
