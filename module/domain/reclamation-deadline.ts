import type { DateTime } from 'luxon';
import { addDays, assertZone, type IsoDate, parseIsoDate, startOfDay } from './calendar.js';
import { invalidInput } from './errors.js';
import { type HolidayCalendar, isBusinessDay } from './holidays.js';
import { boundedMemo } from './bounded-memo.js';

/**
 * How long a client has to dispute an overusage line. Counted from the invoice date; the window
 * ends at the end of its last day in the panel's time zone. Stored on the line when it is issued,
 * so a later change of the setting never moves a deadline already given.
 */
export interface ReclamationWindow {
  days: number;
  counting: 'calendar' | 'business';
  /** which public holidays do not count as business days */
  holidays: HolidayCalendar;
}

export const DEFAULT_WINDOW: ReclamationWindow = { days: 14, counting: 'calendar', holidays: 'BE' };

export function validateWindow(w: ReclamationWindow): ReclamationWindow {
  if (!Number.isInteger(w.days) || w.days < 1 || w.days > 365)
    throw invalidInput('the reclamation window must be 1 to 365 days');
  if (w.counting !== 'calendar' && w.counting !== 'business')
    throw invalidInput('the window counts calendar or business days');
  if (!['none', 'BE', 'NL'].includes(w.holidays)) throw invalidInput('holidays must be none, BE or NL');
  return w;
}

export interface Deadline {
  /** the last day on which a dispute is accepted (panel zone) */
  lastDay: IsoDate;
  /** the first instant after the window: disputes at or after it are refused */
  closesAt: DateTime;
}

/**
 * The last day of the window. Calendar: invoice date + N days. Business: the N-th business day
 * after the invoice date (weekends and the chosen public holidays skipped). The window closes at
 * the start of the next day in the panel's zone, so the whole last day counts, DST or not.
 */
export function reclamationDeadline(invoiceDate: IsoDate, window: ReclamationWindow, zone: string): Deadline {
  // A renewal run's invoices share their date and a few windows: each deadline is worked out once
  // (the zone's midnight and the business days cost a delivery more than its own statements).
  const key = `${invoiceDate}|${window.days}|${window.counting}|${window.holidays}|${zone}`;
  return deadlines(key, () => Object.freeze(deadlineOf(invoiceDate, window, zone)));
}

const deadlines = boundedMemo<Deadline>(1024);

function deadlineOf(invoiceDate: IsoDate, window: ReclamationWindow, zone: string): Deadline {
  validateWindow(window);
  parseIsoDate(invoiceDate, 'the invoice date');
  assertZone(zone);
  let lastDay: IsoDate;
  if (window.counting === 'calendar') {
    lastDay = addDays(invoiceDate, window.days);
  } else {
    lastDay = invoiceDate;
    let counted = 0;
    while (counted < window.days) {
      lastDay = addDays(lastDay, 1);
      if (isBusinessDay(lastDay, window.holidays)) counted++;
    }
  }
  return { lastDay, closesAt: startOfDay(addDays(lastDay, 1), zone) };
}

/** Whether a dispute at `at` is still in time. */
export const withinWindow = (deadline: { closesAt: DateTime }, at: DateTime): boolean =>
  at < deadline.closesAt;
