import { ModuleError } from './errors.js';
import { storedWord } from './stored-value.js';

/**
 * An overusage line's status, as a transition table.
 *
 * - `pending`: written for an invoice (or for the next one: invoice 0) and not yet confirmed on it;
 *   a pending line whose invoice was paid or cancelled first is deleted (audited as
 *   `line.released`) and its charge waits for the next renewal — it never becomes another status;
 * - `placed`: on its invoice, billed;
 * - `held`: moved to a draft invoice of its own while disputed;
 * - `waived`: waived by a dispute's decision (amount 0).
 */
export const LINE_STATUSES = ['pending', 'placed', 'held', 'waived'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

export const LINE_TRANSITIONS: Readonly<Record<LineStatus, readonly LineStatus[]>> = {
  pending: ['placed'],
  // Disputed: held back while its invoice is unpaid; waived straight away when already paid.
  placed: ['held', 'waived'],
  // The decision: back on a published invoice (upheld, adjusted, withdrawn) or waived.
  held: ['placed', 'waived'],
  waived: [],
};

export const canMoveLine = (from: LineStatus, to: LineStatus): boolean => LINE_TRANSITIONS[from].includes(to);

export function assertLineStep(from: LineStatus, to: LineStatus): void {
  if (!canMoveLine(from, to))
    throw new ModuleError('UNEXPECTED_STATE', `a line cannot go from ${from} to ${to}`, { from, to });
}

/** A line can be disputed while it is billed: on its invoice, or already held by an earlier step. */
export const isDisputable = (s: LineStatus): boolean => s === 'placed' || s === 'held';

export const parseLineStatus = (value: unknown): LineStatus =>
  storedWord(LINE_STATUSES, value, 'mod_overusage_lines.status');
