import { DateTime } from 'luxon';
import { addDays, type IsoDate } from '../../module/domain/calendar.js';

/** WHMCS's billing cycle names as stored in tblhosting.billingcycle. */
export const BILLING_CYCLES = [
  'Free Account',
  'One Time',
  'Monthly',
  'Quarterly',
  'Semi-Annually',
  'Annually',
  'Biennially',
  'Triennially',
] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];

const MONTHS: Record<BillingCycle, number | null> = {
  'Free Account': null,
  'One Time': null,
  Monthly: 1,
  Quarterly: 3,
  'Semi-Annually': 6,
  Annually: 12,
  Biennially: 24,
  Triennially: 36,
};

/** Accepts WHMCS's spellings, case-insensitively ("One-Time" appears in the API docs). */
export function parseBillingCycle(value: string): BillingCycle | null {
  const v = value
    .trim()
    .toLowerCase()
    .replace(/-time$/, ' time')
    .replace(/^onetime$/, 'one time');
  return BILLING_CYCLES.find((c) => c.toLowerCase() === v) ?? null;
}

export const cycleMonths = (cycle: BillingCycle): number | null => MONTHS[cycle];

/** Free and one-time services are never renewed, invoiced again or suspended for non-payment. */
export const isRecurring = (cycle: BillingCycle): boolean => MONTHS[cycle] !== null;

/**
 * The next due date one cycle after `current`. The day of month is the anchor day (the service's
 * registration day) clamped to the month's length, so a service registered on the 31st is due on
 * 31 Jan, 28 Feb, 31 Mar — not drifting to the 28th for ever, which plain `plus({months})` would do
 * after February.
 */
export function advanceDueDate(current: IsoDate, cycle: BillingCycle, anchorDay?: number): IsoDate {
  const months = MONTHS[cycle];
  if (months === null) return current;
  const start = DateTime.fromISO(current, { zone: 'utc' });
  const firstOfTarget = start.startOf('month').plus({ months });
  const day = Math.min(anchorDay ?? start.day, firstOfTarget.daysInMonth!);
  return firstOfTarget.set({ day }).toISODate()!;
}

/** The last day a payment for the period starting `start` covers (the day before the next due date). */
export const periodEnd = (start: IsoDate, cycle: BillingCycle, anchorDay?: number): IsoDate =>
  addDays(advanceDueDate(start, cycle, anchorDay), -1);

/** The anchor day of a service: its registration day, else the day of its due date. */
export const anchorDayOf = (regDate: IsoDate | null, nextDueDate: IsoDate): number =>
  Number((regDate ?? nextDueDate).slice(8, 10));
