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
