import type { TextLanguage } from './line-text.js';

/**
 * Why a dispute is refused, in the words of the person who asked: the client in their language,
 * an admin in English. Dates come formatted for the same locale.
 */
export const DISPUTE_REFUSALS = {
  en: {
    alreadyDisputed: 'This line is already disputed.',
    notDisputable: 'This line cannot be disputed any more.',
    reasonRequired: 'Please say why you dispute this line (at least 3 characters).',
    windowClosed: (last: string) => `The window to dispute this line ended on ${last}; a dispute after it cannot be accepted.`,
  },
  nl: {
    alreadyDisputed: 'Tegen deze regel is al bezwaar gemaakt.',
    notDisputable: 'Tegen deze regel kan geen bezwaar meer worden gemaakt.',
    reasonRequired: 'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).',
    windowClosed: (last: string) => `De termijn om bezwaar te maken tegen deze regel liep tot en met ${last}; een bezwaar daarna kunnen we niet aanvaarden.`,
  },
} satisfies Record<TextLanguage, unknown>;

/** The admin's words (English, with English dates). */
export const ADMIN_DISPUTE_REFUSALS = {
  alreadyDisputed: (id: number, state: string) => `this line is already disputed (dispute ${id}, ${state})`,
  notDisputable: (status: string) => `this line cannot be disputed (it is ${status})`,
  reasonRequired: 'say why you dispute this line',
  windowClosed: (last: string) => `the window closed on ${last}; an admin can still open a dispute with an override reason`,
};

/** The figures a dispute email's sentence is made of, already formatted for its locale. */
export interface DisputeMailFigures {
  ref: string;
  before: string;
  after: string;
  due: string;
  credited: string | null;
}

type MailSentences = {
  [K in 'opened' | 'upheld' | 'adjusted' | 'waived' | 'withdrawn']: (f: DisputeMailFigures) => string;
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
    opened: (f) => `We received your dispute of ${f.ref}. The line (${f.before}) is on hold and not due while we look at it; the rest of the invoice stays due as usual.`,
    upheld: (f) => `After review the line ${f.ref} stands at ${f.before}, due on ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; you had paid it already, so we credited ${f.credited} to your account.`
        : `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}, due on ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `After review the line ${f.ref} (${f.before}) is waived; you had paid it already, so we credited ${f.credited} to your account.`
        : `After review the line ${f.ref} (${f.before}) is waived: you owe nothing for it.`,
    withdrawn: (f) => `You withdrew your dispute of ${f.ref}; the line (${f.before}) is due on ${f.due}.`,
  },
  nl: {
    greeting: (name) => `Beste ${name},`,
    signOff: 'Met vriendelijke groet,',
    subject: (ref) => `Uw bezwaar tegen ${ref}`,
    opened: (f) => `We hebben uw bezwaar tegen ${f.ref} ontvangen. De regel (${f.before}) is opgeschort en niet verschuldigd zolang we ernaar kijken; de rest van de factuur blijft gewoon verschuldigd.`,
    upheld: (f) => `Na onderzoek blijft de regel ${f.ref} staan op ${f.before}, te betalen uiterlijk ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `Na onderzoek is de regel ${f.ref} verlaagd van ${f.before} naar ${f.after}; u had hem al betaald, dus hebben we ${f.credited} op uw tegoed gezet.`
        : `Na onderzoek is de regel ${f.ref} verlaagd van ${f.before} naar ${f.after}, te betalen uiterlijk ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `Na onderzoek schelden we de regel ${f.ref} (${f.before}) kwijt; u had hem al betaald, dus hebben we ${f.credited} op uw tegoed gezet.`
        : `Na onderzoek schelden we de regel ${f.ref} (${f.before}) kwijt: u hoeft hiervoor niets te betalen.`,
    withdrawn: (f) => `U hebt uw bezwaar tegen ${f.ref} ingetrokken; de regel (${f.before}) is te betalen uiterlijk ${f.due}.`,
  },
  admin: {
    greeting: () => '',
    signOff: '',
    subject: (ref) => `Dispute of ${ref}`,
    opened: (f) => `The line ${f.ref} (${f.before}) is disputed: it is on hold and not due while it is reviewed; the rest of the invoice stays due as usual.`,
    upheld: (f) => `After review the line ${f.ref} stands at ${f.before}, due on ${f.due}.`,
    adjusted: (f) =>
      f.credited
        ? `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}; the client had paid it already, so ${f.credited} was credited to their account.`
        : `After review the line ${f.ref} is reduced from ${f.before} to ${f.after}, due on ${f.due}.`,
    waived: (f) =>
      f.credited
        ? `After review the line ${f.ref} (${f.before}) is waived; the client had paid it already, so ${f.credited} was credited to their account.`
        : `After review the line ${f.ref} (${f.before}) is waived: the client owes nothing for it.`,
    withdrawn: (f) => `The client withdrew the dispute of ${f.ref}; the line (${f.before}) is due on ${f.due}.`,
  },
};
