/**
 * A dispute of one overusage line, as a transition table: who may take which step. The service
 * saves, audits and tells people; this only says whether a step is allowed.
 */
import { storedWord, storedWordOrNull } from './stored-value.js';

// voided: closed with nothing to settle, the line's invoice was cancelled or refunded (docs/billing-rules.md)
export const DISPUTE_STATES = ['open', 'upheld', 'waived', 'adjusted', 'withdrawn', 'voided'] as const;
export type DisputeState = (typeof DISPUTE_STATES)[number];
export type Resolution = Exclude<DisputeState, 'open'>;
export const RESOLUTIONS: readonly Resolution[] = ['upheld', 'waived', 'adjusted', 'withdrawn', 'voided'];
export type DisputeActor = 'client' | 'admin' | 'system';

export const TRANSITIONS: Readonly<
  Record<DisputeState, Partial<Record<Resolution, readonly DisputeActor[]>>>
> = {
  // The admin decides; the client may only take the dispute back; the module closes it when the
  // line's invoice is cancelled or refunded.
  open: {
    upheld: ['admin'],
    waived: ['admin'],
    adjusted: ['admin'],
    withdrawn: ['client', 'admin'],
    voided: ['system'],
  },
  upheld: {},
  waived: {},
  adjusted: {},
  withdrawn: {},
  voided: {},
};

export const isFinal = (s: DisputeState): boolean => Object.keys(TRANSITIONS[s]).length === 0;

export type TransitionCheck =
  { ok: true } | { ok: false; code: 'INVALID_TRANSITION' | 'NOT_ALLOWED'; message: string };

export function checkTransition(from: DisputeState, to: Resolution, actor: DisputeActor): TransitionCheck {
  const allowed = TRANSITIONS[from][to];
  if (!allowed) {
    return {
      ok: false,
      code: 'INVALID_TRANSITION',
      message: from === 'open' ? `a dispute cannot become ${to}` : `the dispute is already ${from}`,
    };
  }
  if (!allowed.includes(actor))
    return {
      ok: false,
      code: 'NOT_ALLOWED',
      message: `only ${allowed.join(' or ')} may make a dispute ${to}`,
    };
  return { ok: true };
}

export const parseDisputeState = (value: unknown): DisputeState =>
  storedWord(DISPUTE_STATES, value, 'mod_overusage_disputes.state');
export const parseResolvingTo = (value: unknown): Resolution | null =>
  storedWordOrNull(RESOLUTIONS, value, 'mod_overusage_disputes.resolving_to');

/**
 * What becomes of the money of a line that was paid before its dispute: the admin's choice
 * (`credit`, `refund`), then `crediting` while the account credit is being given (recorded before
 * the panel is asked) and `credited` once it is.
 */
export const SETTLEMENTS = ['credit', 'refund', 'crediting', 'credited'] as const;
export type Settlement = (typeof SETTLEMENTS)[number];
export const parseSettlement = (value: unknown): Settlement | null =>
  storedWordOrNull(SETTLEMENTS, value, 'mod_overusage_disputes.settlement');

/** How an adjustment sets the new amount. */
export type Adjustment =
  /** re-rated at the product's rate agreed in advance */
  | { kind: 'precommit' }
  /** the client pays this share, in percent (0–100, up to 2 decimals) */
  | { kind: 'share'; percent: string }
  /** a new amount set by hand */
  | { kind: 'amount'; amount: string };
