import { DateTime } from 'luxon';

/**
 * Calendar days in a time zone, as integer day numbers (0 = 1970-01-01 local). Day starts are
 * resolved once with luxon and cached, so the hot path (thousands of counter reads a second) is
 * integer arithmetic plus a Map lookup.
 */

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function civilDate(dayNum: number): { year: number; month: number; day: number } {
  const z = dayNum + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day };
}

export function daysInMonth(year: number, month: number): number {
  return (
    dayNumber(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - dayNumber(year, month, 1)
  );
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseIsoDay(date: string): number {
  const m = ISO_DATE.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw new Error(`not a calendar date: ${date}`);
  return dayNumber(y, mo, d);
}

export function isoDay(dayNum: number): string {
  const { year, month, day } = civilDate(dayNum);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export class ZoneCalendar {
  readonly zone: string;
  private readonly starts = new Map<number, number>();

  constructor(zone: string) {
    if (!DateTime.local({ zone }).isValid) throw new Error(`unknown time zone "${zone}"`);
    this.zone = zone;
  }

  /** The first instant (epoch ms) of a local day; a midnight skipped by DST resolves to the first existing instant. */
  startOf(dayNum: number): number {
    let ms = this.starts.get(dayNum);
    if (ms === undefined) {
      const { year, month, day } = civilDate(dayNum);
      ms = DateTime.fromObject({ year, month, day }, { zone: this.zone }).startOf('day').toMillis();
      if (this.starts.size > 20_000) this.starts.clear();
      this.starts.set(dayNum, ms);
    }
    return ms;
  }

  /** The local day an instant falls on. Offsets stay within ±14 h, so the UTC day is off by at most one. */
  dayOf(ms: number): number {
    const guess = Math.floor(ms / MS_PER_DAY);
    if (this.startOf(guess + 1) <= ms) return guess + 1;
    if (this.startOf(guess) <= ms) return guess;
    return guess - 1;
  }
}

const calendars = new Map<string, ZoneCalendar>();

export function zoneCalendar(zone: string): ZoneCalendar {
  let cal = calendars.get(zone);
  if (!cal) {
    cal = new ZoneCalendar(zone);
    calendars.set(zone, cal);
  }
  return cal;
}

/** Epoch ms from an ISO string (one without an offset is read in `zone`), a Date or epoch ms. */
export function toEpochMs(value: string | number | Date, zone = 'utc'): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  const ms = DateTime.fromISO(value, { zone }).toMillis();
  if (!Number.isFinite(ms)) throw new Error(`not an ISO instant: ${value}`);
  return ms;
}
