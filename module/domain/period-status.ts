import { storedWord } from './stored-value.js';

/**
 * A usage period's status (metering writes it): `open` while its days are measured, `closed` once
 * measured to its last day, `superseded` when a rebuild on the billing calendar left an old period
 * whose charges had no calendar period to go to (kept for them, never shown).
 */
export const PERIOD_STATUSES = ['open', 'closed', 'superseded'] as const;
export type PeriodStatus = (typeof PERIOD_STATUSES)[number];

export const parsePeriodStatus = (value: unknown): PeriodStatus =>
  storedWord(PERIOD_STATUSES, value, 'mod_overusage_periods.status');
