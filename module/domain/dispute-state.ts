/**
 * A dispute of one overusage line, as a transition table: who may take which step. The service
 * saves, audits and tells people; this only says whether a step is allowed.
 */
export type DisputeState = 'open' | 'upheld' | 'waived' | 'adjusted' | 'withdrawn';
export type Resolution = Exclude<DisputeState, 'open'>;
export type DisputeActor = 'client' | 'admin' | 'system';

export const TRANSITIONS: Readonly<Record<DisputeState, Partial<Record<Resolution, readonly DisputeActor[]>>>> = {
  // The admin decides; the client may only take the dispute back.
  open: { upheld: ['admin'], waived: ['admin'], adjusted: ['admin'], withdrawn: ['client', 'admin'] },
  upheld: {},
  waived: {},
  adjusted: {},
  withdrawn: {},
};

export const isFinal = (s: DisputeState): boolean => Object.keys(TRANSITIONS[s]).length === 0;

export type TransitionCheck = { ok: true } | { ok: false; code: 'INVALID_TRANSITION' | 'NOT_ALLOWED'; message: string };

export function checkTransition(from: DisputeState, to: Resolution, actor: DisputeActor): TransitionCheck {
  const allowed = TRANSITIONS[from][to];
  if (!allowed) {
    return { ok: false, code: 'INVALID_TRANSITION', message: from === 'open' ? `a dispute cannot become ${to}` : `the dispute is already ${from}` };
  }
  if (!allowed.includes(actor)) return { ok: false, code: 'NOT_ALLOWED', message: `only ${allowed.join(' or ')} may make a dispute ${to}` };
  return { ok: true };
}

/** How an adjustment sets the new amount. */
export type Adjustment =
  /** re-rated at the product's rate agreed in advance */
  | { kind: 'precommit' }
  /** the client pays this share, in percent (0–100, up to 2 decimals) */
  | { kind: 'share'; percent: string }
  /** a new amount set by hand */
  | { kind: 'amount'; amount: string };
