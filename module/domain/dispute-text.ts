import type { TextLanguage } from './line-text.js';

/**
 * Why a dispute is refused, in the words of the person who asked: the client in their language,
 * an admin in English. Dates come formatted for the same locale.
 */
export const DISPUTE_REFUSALS = {
  en: {
    alreadyDisputed: 'This line is already disputed.',
    notDisputable: 'This line cannot be disputed any more.',
    notOwed: (invoice: number, status: 'Cancelled' | 'Refunded') =>
      status === 'Cancelled'
        ? `Invoice #${invoice}, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.`
        : `Invoice #${invoice}, which this line is on, was refunded to you: you owe nothing for the line, so there is nothing to dispute.`,
    reasonRequired: 'Please say why you dispute this line (at least 3 characters).',
    windowClosed: (last: string) =>
      `The window to dispute this line ended on ${last}; a dispute after it cannot be accepted.`,
  },
  nl: {
    alreadyDisputed: 'Tegen deze regel is al bezwaar gemaakt.',
    notDisputable: 'Tegen deze regel kan geen bezwaar meer worden gemaakt.',
    notOwed: (invoice: number, status: 'Cancelled' | 'Refunded') =>
      status === 'Cancelled'
        ? `Factuur #${invoice}, waarop deze regel staat, is geannuleerd: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.`
        : `Factuur #${invoice}, waarop deze regel staat, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.`,
    reasonRequired: 'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).',
    windowClosed: (last: string) =>
      `De termijn om bezwaar te maken tegen deze regel liep tot en met ${last}; een bezwaar daarna kunnen we niet aanvaarden.`,
  },
} satisfies Record<TextLanguage, unknown>;

/** The admin's words (English, with English dates). */
export const ADMIN_DISPUTE_REFUSALS = {
  alreadyDisputed: (id: number, state: string) => `this line is already disputed (dispute ${id}, ${state})`,
  notDisputable: (status: string) => `this line cannot be disputed (it is ${status})`,
  notOwed: (invoice: number, status: string) =>
    `this line cannot be disputed: its invoice #${invoice} is ${status}, so nothing is owed on it`,
  reasonRequired: 'say why you dispute this line',
  windowClosed: (last: string) =>
    `the window closed on ${last}; an admin can still open a dispute with an override reason`,
};

/** The figures a dispute email's sentence is made of, already formatted for its locale. */
export interface DisputeMailFigures {
  ref: string;
  before: string;
  after: string;
  due: string;
  credited: string | null;
  /** what the admin refunds by hand (a paid line waived or reduced, the refund chosen), VAT included */
  refunded?: string | null;
  /** the line was paid before its dispute: nothing of it is held, and nothing is due again */
  paid?: boolean;
  /** a voided dispute: the invoice that was cancelled or refunded */
  closedBy?: { invoice: number; refunded: boolean } | null;
}

type MailSentences = {
  [K in 'opened' | 'upheld' | 'adjusted' | 'waived' | 'withdrawn' | 'voided']: (
    f: DisputeMailFigures,
  ) => string;
} & { greeting: (name: string) => string; signOff: string; subject: (ref: string) => string };

/**
 * What a dispute's email says, from the decision's own figures: to the client in their language
 * ("you"), and to the admin in English about the client ("the client").
 */
export const DISPUTE_MAIL: Record<TextLanguage | 'admin', MailSentences> = {
  en: {
    greeting: (name) => `Dear ${name},`,
    signOff: 'Kind regards,',
    subject: (ref) => `Your dispute of ${ref}`,
    opened: (f) =>
      f.paid
        ? `We received your dispute of ${f.ref}. You had paid the line (${f.before}) already: if it is reduced or waived, you get the difference back.`
        : `We received your dispute of ${f.ref}. The line (${f.before}) is on hold and not due while we look at it; the rest of the invoice stays due as usual.`,
    upheld: (f) =>
      f.paid
        ? `After review the line ${f.ref} stands at ${f.before}; you had paid it already, so nothing changes.`
        : `After review the line ${f.ref} stands at ${f.before}, due on ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; you had paid it already, so we credited ${f.credited} to your account.`
        : f.refunded
          ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; you had paid it already, so we refund ${f.refunded} to you.`
          : `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}, due on ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `After review the line ${f.ref} (${f.before}) is waived; you had paid it already, so we credited ${f.credited} to your account.`
        : f.refunded
          ? `After review the line ${f.ref} (${f.before}) is waived; you had paid it already, so we refund ${f.refunded} to you.`
          : `After review the line ${f.ref} (${f.before}) is waived: you owe nothing for it.`,
    withdrawn: (f) => `You withdrew your dispute of ${f.ref}; the line (${f.before}) is due on ${f.due}.`,
    voided: (f) =>
      `Invoice #${f.closedBy?.invoice}, which the line ${f.ref} (${f.before}) was billed on, was ${f.closedBy?.refunded ? 'refunded to you' : 'cancelled'}: you owe nothing for the line, so your dispute is closed with nothing to settle.`,
  },
  nl: {
    greeting: (name) => `Beste ${name},`,
    signOff: 'Met vriendelijke groet,',
    subject: (ref) => `Uw bezwaar tegen ${ref}`,
    opened: (f) =>
      f.paid
        ? `We hebben uw bezwaar tegen ${f.ref} ontvangen. U had de regel (${f.before}) al betaald: wordt hij verlaagd of kwijtgescholden, dan krijgt u het verschil terug.`
        : `We hebben uw bezwaar tegen ${f.ref} ontvangen. De regel (${f.before}) is opgeschort en niet verschuldigd zolang we ernaar kijken; de rest van de factuur blijft gewoon verschuldigd.`,
    upheld: (f) =>
      f.paid
        ? `Na onderzoek blijft de regel ${f.ref} staan op ${f.before}; u had hem al betaald, dus er verandert niets.`
        : `Na onderzoek blijft de regel ${f.ref} staan op ${f.before}, te betalen uiterlijk ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `Na onderzoek is de regel ${f.ref} verlaagd van ${f.before} naar ${f.after}; u had hem al betaald, dus hebben we ${f.credited} op uw tegoed gezet.`
        : f.refunded
          ? `Na onderzoek is de regel ${f.ref} verlaagd van ${f.before} naar ${f.after}; u had hem al betaald, dus betalen we u ${f.refunded} terug.`
          : `Na onderzoek is de regel ${f.ref} verlaagd van ${f.before} naar ${f.after}, te betalen uiterlijk ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `Na onderzoek schelden we de regel ${f.ref} (${f.before}) kwijt; u had hem al betaald, dus hebben we ${f.credited} op uw tegoed gezet.`
        : f.refunded
          ? `Na onderzoek schelden we de regel ${f.ref} (${f.before}) kwijt; u had hem al betaald, dus betalen we u ${f.refunded} terug.`
          : `Na onderzoek schelden we de regel ${f.ref} (${f.before}) kwijt: u hoeft hiervoor niets te betalen.`,
    withdrawn: (f) =>
      `U hebt uw bezwaar tegen ${f.ref} ingetrokken; de regel (${f.before}) is te betalen uiterlijk ${f.due}.`,
    voided: (f) =>
      `Factuur #${f.closedBy?.invoice}, waarop de regel ${f.ref} (${f.before}) stond, is ${f.closedBy?.refunded ? 'aan u terugbetaald' : 'geannuleerd'}: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.`,
  },
  admin: {
    greeting: () => '',
    signOff: '',
    subject: (ref) => `Dispute of ${ref}`,
    opened: (f) =>
      f.paid
        ? `The line ${f.ref} (${f.before}) is disputed; the client had paid it already: if it is reduced or waived, the difference goes back to them (as credit or a refund, your choice).`
        : `The line ${f.ref} (${f.before}) is disputed: it is on hold and not due while it is reviewed; the rest of the invoice stays due as usual.`,
    upheld: (f) =>
      f.paid
        ? `After review the line ${f.ref} stands at ${f.before}; the client had paid it already, so nothing changes.`
        : `After review the line ${f.ref} stands at ${f.before}, due on ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; the client had paid it already, so ${f.credited} was credited to their account.`
        : f.refunded
          ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; the client had paid it already, so ${f.refunded} is to be refunded to them (by hand, in the panel).`
          : `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}, due on ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `After review the line ${f.ref} (${f.before}) is waived; the client had paid it already, so ${f.credited} was credited to their account.`
        : f.refunded
          ? `After review the line ${f.ref} (${f.before}) is waived; the client had paid it already, so ${f.refunded} is to be refunded to them (by hand, in the panel).`
          : `After review the line ${f.ref} (${f.before}) is waived: the client owes nothing for it.`,
    withdrawn: (f) =>
      `The client withdrew the dispute of ${f.ref}; the line (${f.before}) is due on ${f.due}.`,
    voided: (f) =>
      `Invoice #${f.closedBy?.invoice}, which the line ${f.ref} (${f.before}) was billed on, was ${f.closedBy?.refunded ? 'refunded' : 'cancelled'}: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).`,
  },
};

/** Language names as the admin reads them (English), for quoting what a client was sent. */
const LANGUAGE_NAMES: Record<TextLanguage, string> = { en: 'English', nl: 'Dutch' };

/**
 * The admin's dispute email around its sentence (English, the admin's language): the subject, the
 * client's reason, and what the client was sent, quoted in the language it was sent in.
 */
export const ADMIN_DISPUTE_MAIL = {
  subject: (id: number, what: string, client: string, ref: string) =>
    `Overusage dispute ${id} ${what}: ${client}, ${ref}`,
  reasonGiven: (reason: string) => `Reason given: ${reason}`,
  clientWasTold: (language: TextLanguage, sent: string) =>
    `The client was told (in ${LANGUAGE_NAMES[language]}): ${sent}`,
};

/**
 * A paid line's credit reference: the same in every language, written into the account credit's
 * description. A resumed step finds the credit in the client's credit log by it, whatever language
 * the description was written in.
 */
export const disputeCreditRef = (ref: string): string => `CR-${ref}`;

/**
 * The account credit a paid line's decision gives, as the client reads it in their credit log: in
 * their language, with the amounts formatted for it, led by the credit reference.
 */
export const DISPUTE_CREDIT = {
  en: {
    waived: (ref: string, before: string) =>
      `Credit ${disputeCreditRef(ref)}: overusage line ${ref} (${before}) waived after review of your dispute`,
    adjusted: (ref: string, before: string, after: string) =>
      `Credit ${disputeCreditRef(ref)}: overusage line ${ref} reduced from ${before} to ${after} after review of your dispute`,
  },
  nl: {
    waived: (ref: string, before: string) =>
      `Creditering ${disputeCreditRef(ref)}: regel overschrijding ${ref} (${before}) kwijtgescholden na onderzoek van uw bezwaar`,
    adjusted: (ref: string, before: string, after: string) =>
      `Creditering ${disputeCreditRef(ref)}: regel overschrijding ${ref} verlaagd van ${before} naar ${after} na onderzoek van uw bezwaar`,
  },
} satisfies Record<TextLanguage, unknown>;

/**
 * Whether a credit-log description is this decision's credit: by its credit reference (any
 * language), or in the English form earlier versions wrote ("Overusage dispute 12: waived (line
 * OU-…)"), so a step resumed after an upgrade never credits twice.
 */
export function isDisputeCredit(
  description: string,
  c: { disputeId: number; decision: string; ref: string },
): boolean {
  const tag = disputeCreditRef(c.ref).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    new RegExp(`(^|[^0-9A-Za-z-])${tag}(?![0-9A-Za-z])`).test(description) ||
    description === `Overusage dispute ${c.disputeId}: ${c.decision} (line ${c.ref})`
  );
}

/**
 * The credit note that corrects the paid invoice a waived or reduced line was on (a Paid invoice of
 * its own with one negative line, docs/billing-rules.md "Credit notes"): its line and notes in the
 * client's language, naming the invoice it corrects and led by the line's credit reference, which is
 * the same in every language. Amounts are the line's own, before VAT; the panel adds the VAT at the
 * corrected invoice's rate.
 */
export const CREDIT_NOTE = {
  en: {
    waived: (ref: string, invoiceId: number, before: string) =>
      `Credit note ${disputeCreditRef(ref)} for invoice #${invoiceId}: overusage line ${ref} (${before}) waived after review of your dispute`,
    adjusted: (ref: string, invoiceId: number, before: string, after: string) =>
      `Credit note ${disputeCreditRef(ref)} for invoice #${invoiceId}: overusage line ${ref} reduced from ${before} to ${after} after review of your dispute`,
    notes: (ref: string, invoiceId: number) =>
      `Credit note [${disputeCreditRef(ref)}] correcting invoice #${invoiceId}: the VAT is reversed at that invoice's rate.`,
    notesNoVat: (ref: string, invoiceId: number) =>
      `Credit note [${disputeCreditRef(ref)}] correcting invoice #${invoiceId}.`,
    lateFee: (ref: string, invoiceId: number) =>
      `Credit note ${disputeCreditRef(ref)} for invoice #${invoiceId}: the part of its late fee that fell on overusage line ${ref}`,
  },
  nl: {
    waived: (ref: string, invoiceId: number, before: string) =>
      `Creditnota ${disputeCreditRef(ref)} bij factuur #${invoiceId}: regel overschrijding ${ref} (${before}) kwijtgescholden na onderzoek van uw bezwaar`,
    adjusted: (ref: string, invoiceId: number, before: string, after: string) =>
      `Creditnota ${disputeCreditRef(ref)} bij factuur #${invoiceId}: regel overschrijding ${ref} verlaagd van ${before} naar ${after} na onderzoek van uw bezwaar`,
    notes: (ref: string, invoiceId: number) =>
      `Creditnota [${disputeCreditRef(ref)}] ter correctie van factuur #${invoiceId}: de btw wordt teruggeboekt tegen het tarief van die factuur.`,
    notesNoVat: (ref: string, invoiceId: number) =>
      `Creditnota [${disputeCreditRef(ref)}] ter correctie van factuur #${invoiceId}.`,
    lateFee: (ref: string, invoiceId: number) =>
      `Creditnota ${disputeCreditRef(ref)} bij factuur #${invoiceId}: het deel van de boete dat op regel overschrijding ${ref} viel`,
  },
} satisfies Record<TextLanguage, unknown>;

/** Whether an invoice's notes mark it as this line's credit note (by the bracketed credit reference, in any language). */
export const isCreditNoteOf = (notes: string, ref: string): boolean =>
  notes.includes(`[${disputeCreditRef(ref)}]`);

/**
 * What a paid line's decision gave back (as credit or refund): the figure stored with the decision,
 * VAT included, or, for a decision taken before credit notes, the drop in the line's amount.
 */
export const givenBackMinor = (
  d: { amountBeforeMinor: bigint; creditedMinor?: bigint | null },
  nowMinor: bigint,
): bigint => d.creditedMinor ?? d.amountBeforeMinor - nowMinor;

/**
 * The late fee's share that fell on a held line, given back as account credit: in the client's
 * language, led by a reference that is the same in every language (`LF-<line ref>`), by which a
 * resumed hold finds it in the credit log.
 */
export const lateFeeCreditRef = (ref: string): string => `LF-${ref}`;

export const LATE_FEE_CREDIT = {
  en: (ref: string, invoiceId: number) =>
    `Credit ${lateFeeCreditRef(ref)}: the part of invoice #${invoiceId}'s late fee that fell on overusage line ${ref}, held while your dispute is decided`,
  nl: (ref: string, invoiceId: number) =>
    `Creditering ${lateFeeCreditRef(ref)}: het deel van de boete op factuur #${invoiceId} dat op regel overschrijding ${ref} viel, die opgeschort is zolang uw bezwaar loopt`,
} satisfies Record<TextLanguage, unknown>;

/**
 * Whether a credit-log description is this line's late fee credit for this invoice's fee: by its
 * reference (any language) and the invoice it names (`#<id>`, as both languages write it), or in
 * the English form earlier versions wrote, so a hold resumed after an upgrade never gives it twice.
 * The reference alone is not enough: a credit for the same line's share of another invoice's fee
 * is not this one.
 */
export function isLateFeeCredit(
  description: string,
  c: { disputeId: number; ref: string; invoiceId: number },
): boolean {
  const tag = lateFeeCreditRef(c.ref).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    (new RegExp(`(^|[^0-9A-Za-z-])${tag}(?![0-9A-Za-z])`).test(description) &&
      new RegExp(`#${c.invoiceId}(?![0-9])`).test(description)) ||
    description ===
      `Overusage dispute ${c.disputeId}: late fee share on held line ${c.ref} (invoice ${c.invoiceId})`
  );
}

/**
 * What the invoices say about a disputed line, in the client's language: the held line's own text
 * while it waits, the draft it waits on (shown once published), and a paragraph on the invoice it
 * came from — first that it is not part of it, then what was decided and where it is billed. Each
 * paragraph names the line's reference, so it is replaced, never repeated, when the story moves on;
 * amounts come formatted for the same locale. The draft's number is never given while it is a
 * draft: the client cannot open it.
 */
export const INVOICE_NOTES = {
  en: {
    heldSuffix: ' — on hold, under dispute',
    heldDraft: (ref: string, from: number) =>
      `Overusage line [${ref}] of invoice #${from}, held while disputed.`,
    published: (ref: string, from: number, what: string) =>
      `Overusage line [${ref}] of invoice #${from}: ${what}.`,
    onHold: (ref: string, amount: string) =>
      `Overusage line [${ref}] (${amount}) is on hold while your dispute is decided: it is not part of this invoice.`,
    upheld: (amount: string) => `upheld after your dispute (${amount})`,
    withdrawn: (amount: string) => `you withdrew your dispute (${amount})`,
    reduced: (before: string, after: string) => `reduced from ${before} to ${after} after your dispute`,
    waived: (before: string) => `waived after your dispute (was ${before}); you owe nothing for it`,
    billedOn: (invoice: number) => `billed on invoice #${invoice}`,
    credited: (amount: string) => `we credited ${amount} to your account`,
    refunded: (amount: string) => `we refund ${amount} to you`,
    creditNote: (invoiceId: number) => `see credit note #${invoiceId}`,
    decided: (ref: string, what: string) => `Overusage line [${ref}]: ${what}.`,
    voided: (invoice: number, refunded: boolean) =>
      `not owed: invoice #${invoice} was ${refunded ? 'refunded' : 'cancelled'}, so your dispute is closed with nothing to settle`,
  },
  nl: {
    heldSuffix: ' — opgeschort, in betwisting',
    heldDraft: (ref: string, from: number) =>
      `Regel overschrijding [${ref}] van factuur #${from}, opgeschort tijdens het bezwaar.`,
    published: (ref: string, from: number, what: string) =>
      `Regel overschrijding [${ref}] van factuur #${from}: ${what}.`,
    onHold: (ref: string, amount: string) =>
      `Regel overschrijding [${ref}] (${amount}) is opgeschort tot over uw bezwaar is beslist: ze hoort niet bij deze factuur.`,
    upheld: (amount: string) => `gehandhaafd na uw bezwaar (${amount})`,
    withdrawn: (amount: string) => `u hebt uw bezwaar ingetrokken (${amount})`,
    reduced: (before: string, after: string) => `verlaagd van ${before} naar ${after} na uw bezwaar`,
    waived: (before: string) =>
      `kwijtgescholden na uw bezwaar (was ${before}); u bent er niets voor verschuldigd`,
    billedOn: (invoice: number) => `gefactureerd op factuur #${invoice}`,
    credited: (amount: string) => `we hebben ${amount} op uw tegoed gezet`,
    refunded: (amount: string) => `we betalen u ${amount} terug`,
    creditNote: (invoiceId: number) => `zie creditnota #${invoiceId}`,
    decided: (ref: string, what: string) => `Regel overschrijding [${ref}]: ${what}.`,
    voided: (invoice: number, refunded: boolean) =>
      `niet verschuldigd: factuur #${invoice} is ${refunded ? 'terugbetaald' : 'geannuleerd'}, dus uw bezwaar is afgesloten zonder verdere afrekening`,
  },
} satisfies Record<TextLanguage, unknown>;

/**
 * An invoice's notes with this line's paragraph put in (or replaced): every other paragraph, the
 * provider's own included, stays as it was.
 */
export function withLineNote(notes: string, ref: string, paragraph: string | null): string {
  const mark = `[${ref}]`;
  const kept = notes.split('\n').filter((p) => !p.includes(mark));
  while (kept.length && kept[kept.length - 1]!.trim() === '') kept.pop();
  if (paragraph) kept.push(paragraph);
  return kept.join('\n');
}

/** The admin tab's flashes after a dispute is opened or decided (English, the admin's language), with the money. */
export const ADMIN_DISPUTE_FLASH = {
  opened: (id: number, hold: string) => `Dispute ${id} opened; the line is ${hold}.`,
  decided: (
    id: number,
    state: string,
    f: { now: string; before: string; credited: string | null; refund?: AdminRefund | null },
  ) =>
    `Dispute ${id} ${state}: the line now bills ${f.now}${f.now === f.before ? '' : ` (was ${f.before})`}${f.credited ? `; ${f.credited} credited to the client's account` : ''}${f.refund ? refundToDo(f.refund) : ''}.`,
};

/** A refund the admin chose, which the module records but cannot make: what, from which invoice, and the note that records it. */
export interface AdminRefund {
  amount: string;
  paidOnInvoiceId: number;
  creditNoteId: number | null;
}

// WHMCS refunds from the paid invoice's Refund tab (its payment, the amount, through the gateway or
// recorded as made outside); the module has no call that refunds
const refundToDo = (r: AdminRefund) =>
  `. Refund ${r.amount} to the client yourself, the module does not: in the panel, invoice #${r.paidOnInvoiceId} › Refund tab: the client's payment, amount ${r.amount}, through the gateway or recorded as made outside${r.creditNoteId === null ? '' : `; credit note #${r.creditNoteId} records it`}`;
