import { expect } from 'chai';
import type { PanelClient } from '../../module/adapters/panel-api.js';
import {
  disputeEmails,
  disputeStateWord,
  type DisputeEmailInput,
} from '../../module/services/dispute-notify.js';

/**
 * What the client and the admin read about a dispute (issue 13: the dispute emails were asserted by
 * subject only). Each decision's two emails are written out in full: the client's in their
 * language, the admin's in English, quoting what the client was sent when that was not English.
 * The figures are the story's (test/support/billing-story.ts): 1 000 GB over the allowance.
 */
const client = (language: string): PanelClient => ({
  id: 12,
  firstName: 'Ann',
  lastName: 'Peeters',
  companyName: '',
  email: 'ann@example.test',
  status: 'Active',
  language,
  currency: 1,
  currencyCode: 'EUR',
  credit: '0.00',
  lateFeeOveride: false,
  overideDueNotices: false,
  taxExempt: false,
});
const REF = 'OU-7Q2K';
const line = {
  refCode: REF,
  serviceId: 34,
  description: `Bandwidth overusage 1 – 31 May 2013 [${REF}]: 1,000 GB × €0.50 = €500.00`,
};
const input = (x: Partial<DisputeEmailInput>): DisputeEmailInput => ({
  disputeId: 7,
  what: 'opened',
  client: client('english'),
  line,
  amountBeforeMinor: 50000n,
  amountAfterMinor: null,
  currency: 'EUR',
  newDueDate: null,
  reason: 'I cannot tell where this traffic came from',
  ...x,
});

/** the emails as read: the no-break spaces Intl puts in amounts ("€\u00a0500,00", "BHD\u00a0187.654") as spaces */
const read = (e: { html: string } | undefined) => e!.html.replace(/[\u00a0\u202f]/g, ' ');

describe('the dispute emails', () => {
  it('opened (EUR, English): the client is told the €500.00 line is on hold; the admin gets the reason, HTML escaped, and no quote', () => {
    const [toClient, toAdmin] = disputeEmails(input({ reason: 'traffic <b>I</b> never made & more' }));
    expect(toClient).to.deep.equal({
      key: 'dispute:7:opened:client',
      kind: 'dispute_opened',
      to: { client: { clientId: 12, customType: 'product', relatedId: 34 } },
      subject: `Your dispute of ${REF}`,
      html:
        '<p>Dear Ann,</p>' +
        `<p>We received your dispute of ${REF}. The line (€500.00) is on hold and not due while we look at it; the rest of the invoice stays due as usual.</p>` +
        `<p>Bandwidth overusage 1 – 31 May 2013 [${REF}]: 1,000 GB × €0.50 = €500.00</p>` +
        '<p>Kind regards,</p>',
    });
    expect(toAdmin).to.deep.equal({
      key: 'dispute:7:opened:admin',
      kind: 'dispute_opened',
      to: { admin: true },
      subject: `Overusage dispute 7 opened: Ann Peeters, ${REF}`,
      html:
        `<p>The line ${REF} (€500.00) is disputed: it is on hold and not due while it is reviewed; the rest of the invoice stays due as usual.</p>` +
        '<p>Reason given: traffic &lt;b&gt;I&lt;/b&gt; never made &amp; more</p>',
    });
  });

  it('reduced after it was paid (EUR, Dutch): €500.00 → €350.00, €150.00 + 21 % VAT = €181.50 credited; the admin reads English and the Dutch quoted', () => {
    const newText = `Overschrijding bandbreedte 1–31 mei 2013 [${REF}]: verlaagd naar € 350,00`;
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'adjusted',
        client: client('dutch'),
        amountAfterMinor: 35000n,
        creditedMinor: 18150n,
        newDueDate: '2013-07-15',
        newText,
      }),
    );
    const told = `Na onderzoek is de regel ${REF} verlaagd van € 500,00 naar € 350,00; u had hem al betaald, dus hebben we € 181,50 op uw tegoed gezet.`;
    expect([toClient!.key, toClient!.kind, toClient!.subject]).to.deep.equal([
      'dispute:7:adjusted:client',
      'dispute_adjusted',
      `Uw bezwaar tegen ${REF}`,
    ]);
    expect(read(toClient)).to.equal(
      `<p>Beste Ann,</p><p>${told}</p><p>${newText}</p><p>Met vriendelijke groet,</p>`,
    );
    expect([toAdmin!.key, toAdmin!.subject]).to.deep.equal([
      'dispute:7:adjusted:admin',
      `Overusage dispute 7 adjusted: Ann Peeters, ${REF}`,
    ]);
    expect(read(toAdmin)).to.equal(
      `<p>After review the line ${REF} is reduced from €500.00 to €350.00; the client had paid it already, so €181.50 was credited to their account.</p>` +
        '<p>Reason given: I cannot tell where this traffic came from</p>' +
        `<p>The client was told (in Dutch): ${told}</p>`,
    );
  });

  it('opened on a paid invoice (EUR, Dutch): nothing is "on hold", the difference comes back if it is reduced or waived', () => {
    const [toClient, toAdmin] = disputeEmails(input({ client: client('dutch'), paid: true }));
    const told = `We hebben uw bezwaar tegen ${REF} ontvangen. U had de regel (€ 500,00) al betaald: wordt hij verlaagd of kwijtgescholden, dan krijgt u het verschil terug.`;
    expect(read(toClient)).to.equal(
      `<p>Beste Ann,</p><p>${told}</p><p>${line.description}</p><p>Met vriendelijke groet,</p>`,
    );
    expect(read(toAdmin)).to.equal(
      `<p>The line ${REF} (€500.00) is disputed; the client had paid it already: if it is reduced or waived, the difference goes back to them (as credit or a refund, your choice).</p>` +
        '<p>Reason given: I cannot tell where this traffic came from</p>' +
        `<p>The client was told (in Dutch): ${told}</p>`,
    );
  });

  it('reduced after it was paid, refunded (EUR, Dutch): €500.00 → €350.00, €150.00 + 21 % VAT = €181.50 refunded, no due date', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'adjusted',
        client: client('dutch'),
        amountAfterMinor: 35000n,
        creditedMinor: null,
        refundedMinor: 18150n,
        paid: true,
        newDueDate: '2013-07-15',
      }),
    );
    const told = `Na onderzoek is de regel ${REF} verlaagd van € 500,00 naar € 350,00; u had hem al betaald, dus betalen we u € 181,50 terug.`;
    expect(read(toClient)).to.include(`<p>${told}</p>`);
    expect(read(toClient)).not.to.include('uiterlijk');
    expect(read(toAdmin)).to.equal(
      `<p>After review the line ${REF} is reduced from €500.00 to €350.00; the client had paid it already, so €181.50 is to be refunded to them (by hand, in the panel).</p>` +
        '<p>Reason given: I cannot tell where this traffic came from</p>' +
        `<p>The client was told (in Dutch): ${told}</p>`,
    );
  });

  it('waived after it was paid, refunded (EUR, English): €500.00 + 21 % VAT = €605.00 back', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({ what: 'waived', refundedMinor: 60500n, paid: true, newDueDate: '2013-07-15' }),
    );
    expect(read(toClient)).to.include(
      `<p>After review the line ${REF} (€500.00) is waived; you had paid it already, so we refund €605.00 to you.</p>`,
    );
    expect(read(toAdmin)).to.equal(
      `<p>After review the line ${REF} (€500.00) is waived; the client had paid it already, so €605.00 is to be refunded to them (by hand, in the panel).</p><p>Reason given: I cannot tell where this traffic came from</p>`,
    );
  });

  it('upheld after it was paid (EUR, English): it stands at €500.00, nothing changes, no due date', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({ what: 'upheld', paid: true, newDueDate: '2013-07-15' }),
    );
    expect(read(toClient)).to.include(
      `<p>After review the line ${REF} stands at €500.00; you had paid it already, so nothing changes.</p>`,
    );
    expect(read(toAdmin)).to.include(
      `<p>After review the line ${REF} stands at €500.00; the client had paid it already, so nothing changes.</p>`,
    );
  });

  it('reduced before it was paid (USD, English): $550.00 → $183.32 (33.33 %), due 15 July 2013, nothing credited', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'adjusted',
        currency: 'USD',
        amountBeforeMinor: 55000n,
        amountAfterMinor: 18332n,
        creditedMinor: null,
        newDueDate: '2013-07-15',
      }),
    );
    expect(read(toClient)).to.include(
      `<p>After review the line ${REF} is reduced from US$550.00 to US$183.32, due on 15 July 2013.</p>`,
    );
    expect(read(toAdmin)).to.equal(
      `<p>After review the line ${REF} is reduced from US$550.00 to US$183.32, due on 15 July 2013.</p><p>Reason given: I cannot tell where this traffic came from</p>`,
    );
  });

  it('upheld (JPY, Dutch): ¥80 000 due on 15 juli 2013; the admin reads the English date', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'upheld',
        client: client('dutch'),
        currency: 'JPY',
        amountBeforeMinor: 80000n,
        newDueDate: '2013-07-15',
      }),
    );
    expect(read(toClient)).to.include(
      `<p>Na onderzoek blijft de regel ${REF} staan op JP¥ 80.000, te betalen uiterlijk 15 juli 2013.</p>`,
    );
    expect(read(toAdmin)).to.include(
      `<p>After review the line ${REF} stands at JP¥80,000, due on 15 July 2013.</p>`,
    );
  });

  it('waived before it was paid (BHD, three decimals, English): BD 187.654 is owed no more; no credit is named', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'waived',
        currency: 'BHD',
        amountBeforeMinor: 187654n,
        amountAfterMinor: 0n,
        creditedMinor: 0n,
      }),
    );
    expect(read(toClient)).to.include(
      `<p>After review the line ${REF} (BHD 187.654) is waived: you owe nothing for it.</p>`,
    );
    expect(read(toAdmin)).to.include(
      `<p>After review the line ${REF} (BHD 187.654) is waived: the client owes nothing for it.</p>`,
    );
  });

  it('withdrawn (EUR, English): the €500.00 line is due on 16 July 2013', () => {
    const [toClient] = disputeEmails(input({ what: 'withdrawn', newDueDate: '2013-07-16' }));
    expect(read(toClient)).to.include(
      `<p>You withdrew your dispute of ${REF}; the line (€500.00) is due on 16 July 2013.</p>`,
    );
  });

  it('voided by a refund (EUR, Dutch): invoice #4711 was refunded, so the €500.00 line is owed no more; the admin reads English', () => {
    const [toClient, toAdmin] = disputeEmails(
      input({
        what: 'voided',
        client: client('dutch'),
        voidedBy: { invoiceId: 4711, status: 'Refunded' },
      }),
    );
    // the invoice named as it was given (#4711), and "refunded", not "cancelled"
    expect(read(toClient)).to.include(
      `<p>Factuur #4711, waarop de regel ${REF} (€ 500,00) stond, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.</p>`,
    );
    expect(read(toAdmin)).to.include(
      `<p>Invoice #4711, which the line ${REF} (€500.00) was billed on, was refunded: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).</p>`,
    );
  });

  it('voided by a cancellation (EUR, English): invoice #4712 was cancelled', () => {
    const [toClient] = disputeEmails(
      input({ what: 'voided', voidedBy: { invoiceId: 4712, status: 'Cancelled' } }),
    );
    expect(read(toClient)).to.include(
      `<p>Invoice #4712, which the line ${REF} (€500.00) was billed on, was cancelled: you owe nothing for the line, so your dispute is closed with nothing to settle.</p>`,
    );
  });

  it("names a dispute's state in words, and any state it does not know as decided", () => {
    expect(
      ['open', 'upheld', 'waived', 'adjusted', 'withdrawn', 'resolving'].map((s) =>
        disputeStateWord(s as 'open'),
      ),
    ).to.deep.equal(['open', 'upheld', 'waived', 'adjusted', 'withdrawn', 'decided']);
  });
});
