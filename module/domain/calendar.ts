import { DateTime, Info } from 'luxon';
import { invalidInput } from './errors.js';

/** A calendar day, 'YYYY-MM-DD', meaningful only together with a time zone. */
export type IsoDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(value: unknown): value is IsoDate {
  if (typeof value !== 'string') return false;
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [+m[1]!, +m[2]!, +m[3]!];
  if (mo < 1 || mo > 12 || d < 1) return false;
  // days in month without constructing an invalid DateTime (luxon may be set to throw)
  return d <= DateTime.fromObject({ year: y, month: mo, day: 1 }, { zone: 'utc' }).daysInMonth!;
}

export function parseIsoDate(value: unknown, what = 'date'): IsoDate {
  if (!isIsoDate(value))
    throw invalidInput(`${what} must be a real calendar date written YYYY-MM-DD`, { value: String(value) });
  return value;
}

const DAY_MS = 86_400_000;
const utcDay = (date: IsoDate): number =>
  Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10));

/** Pure calendar arithmetic on UTC day numbers: days, not hours, so DST never moves a date. */
export function addDays(date: IsoDate, days: number): IsoDate {
  return new Date(utcDay(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from a to b (b − a). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((utcDay(b) - utcDay(a)) / DAY_MS);
}

export const maxDate = (a: IsoDate, b: IsoDate): IsoDate => (a >= b ? a : b);
export const minDate = (a: IsoDate, b: IsoDate): IsoDate => (a <= b ? a : b);

/** The instant a calendar day starts in a zone (DST-safe: luxon resolves the local midnight). */
export function startOfDay(date: IsoDate, zone: string): DateTime {
  return DateTime.fromISO(date, { zone }).startOf('day');
}

/** The calendar day an instant falls on in a zone. */
export function localDate(instant: DateTime, zone: string): IsoDate {
  return instant.setZone(zone).toISODate()!;
}

export function assertZone(zone: string): string {
  // Checked on the zone itself: building a DateTime in a bad zone throws luxon's own error when
  // Settings.throwOnInvalid is on, instead of this one.
  if (typeof zone !== 'string' || !Info.normalizeZone(zone).isValid)
    throw invalidInput(`"${zone}" is not a time zone (try "Europe/Brussels")`);
  return zone;
}

/**
 * The day a daily sample closes: the day whose end (local midnight) is nearest to the sample.
 * A read at 23:50 closes that day; a read at 00:30 or 09:00 closes the previous one. So a day D
 * can only be sampled in the 24 hours around its end, [end(D) − 12 h, end(D) + 12 h): afterwards
 * the counter has moved on and the figure for D can no longer be read.
 */
export function closingDateOf(instant: DateTime, zone: string): IsoDate {
  // Every local midnight falls on a quarter hour in UTC, so the answer is the same for a whole
  // quarter hour: remember it (a daily run asks once per sample).
  const bucket = Math.floor(instant.toMillis() / 900_000);
  const key = `${zone}|${bucket}`;
  let date = closingCache.get(key);
  if (date === undefined) {
    date = addDays(localDate(instant.plus({ hours: 12 }), zone), -1);
    if (closingCache.size > 10_000) closingCache.clear();
    closingCache.set(key, date);
  }
  return date;
}

const closingCache = new Map<string, IsoDate>();

export function samplingWindow(date: IsoDate, zone: string): { opens: DateTime; closes: DateTime } {
  const end = startOfDay(addDays(date, 1), zone);
  return { opens: end.minus({ hours: 12 }), closes: end.plus({ hours: 12 }) };
}
