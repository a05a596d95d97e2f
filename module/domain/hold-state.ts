import { ModuleError } from './errors.js';
import { storedWord } from './stored-value.js';

/**
 * Where a disputed line's money stands while the dispute runs, as a transition table beside
 * `dispute-state.ts` (which says who decides). The dispute service moves it; this says which steps
 * exist.
 *
 * - `holding`: the dispute is open and the line is being moved off its invoice (a crash here is
 *   finished by the next sweep);
 * - `held`: the line sits on a draft invoice of its own, so the rest of the invoice is payable;
 * - `refund_decision`: the invoice was paid (or closed) before the hold: nothing to hold back, a
 *   waiver or adjustment is given back as credit;
 * - `published`: after an upholding, an adjustment or a withdrawal the held draft is published
 *   with its own due date;
 * - `released`: after a waiver the held draft is cancelled; after a voiding (the line's invoice was
 *   cancelled or refunded) the held draft, if one was made, is cancelled, and nothing is held any more.
 */
export const HOLD_STATES = ['holding', 'held', 'refund_decision', 'published', 'released'] as const;
export type HoldState = (typeof HOLD_STATES)[number];

export const HOLD_TRANSITIONS: Readonly<Record<HoldState, readonly HoldState[]>> = {
  // voided before the line moved: nothing was held
  holding: ['held', 'refund_decision', 'released'],
  // A waiver cancels the held draft; any other end publishes it.
  held: ['published', 'released'],
  // Paid before the hold: the line stays on the paid invoice whatever the decision.
  refund_decision: [],
  published: [],
  released: [],
};

export const canHold = (from: HoldState, to: HoldState): boolean => HOLD_TRANSITIONS[from].includes(to);

/** Throws UNEXPECTED_STATE for a step the table does not have (a bug or a concurrent change). */
export function assertHoldStep(from: HoldState, to: HoldState): void {
  if (!canHold(from, to))
    throw new ModuleError('UNEXPECTED_STATE', `a held line cannot go from ${from} to ${to}`, { from, to });
}

/** The hold's state after a decision is carried out, from the state it was in. */
export function holdAfterDecision(
  from: HoldState,
  decision: 'upheld' | 'waived' | 'adjusted' | 'withdrawn' | 'voided',
): HoldState {
  if (decision === 'voided' && from === 'holding') return 'released';
  if (from !== 'held') return from;
  return decision === 'waived' || decision === 'voided' ? 'released' : 'published';
}

export const parseHoldState = (value: unknown): HoldState =>
  storedWord(HOLD_STATES, value, 'mod_overusage_disputes.hold_state');
