import { storedWord } from './stored-value.js';

/**
 * A charge's status (module/services/rating.ts writes it): `unbilled` until its line is placed,
 * then `billed`; `within_allowance`, `written_off` (the cap or the minimum made it 0), `not_billed`
 * (the product is not billed), `pooled` (a pool member's own period: shown, not billed) and `void`
 * (replaced by a rating again) never get a line; a correction charge waits in `review` while its
 * period is disputed or a drop in its counter is undecided.
 */
export const CHARGE_STATUSES = [
  'unbilled',
  'billed',
  'written_off',
  'within_allowance',
  'not_billed',
  'pooled',
  'void',
  'review',
] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

export const parseChargeStatus = (value: unknown): ChargeStatus =>
  storedWord(CHARGE_STATUSES, value, 'mod_overusage_charges.status');
