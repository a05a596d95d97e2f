import { DateTime } from 'luxon';
import { addDays, type IsoDate } from './calendar.js';

/**
 * Public holidays that stop a business-day count, for Belgium and the Netherlands: the days on
 * which offices are closed by law or general collective agreement.
 */
export type HolidayCalendar = 'none' | 'BE' | 'NL';

/** Easter Sunday (Gregorian, anonymous algorithm). */
export function easterSunday(year: number): IsoDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return DateTime.fromObject({ year, month, day }, { zone: 'utc' }).toISODate()!;
}

const fixed = (year: number, month: number, day: number) =>
  DateTime.fromObject({ year, month, day }, { zone: 'utc' }).toISODate()!;

export function holidaysOf(calendar: HolidayCalendar, year: number): Map<IsoDate, string> {
  const out = new Map<IsoDate, string>();
  if (calendar === 'none') return out;
  const easter = easterSunday(year);
  if (calendar === 'BE') {
    out.set(fixed(year, 1, 1), "New Year's Day");
    out.set(addDays(easter, 1), 'Easter Monday');
    out.set(fixed(year, 5, 1), 'Labour Day');
    out.set(addDays(easter, 39), 'Ascension Day');
    out.set(addDays(easter, 50), 'Whit Monday');
    out.set(fixed(year, 7, 21), 'National Day');
    out.set(fixed(year, 8, 15), 'Assumption');
    out.set(fixed(year, 11, 1), "All Saints' Day");
    out.set(fixed(year, 11, 11), 'Armistice Day');
    out.set(fixed(year, 12, 25), 'Christmas Day');
  } else {
    out.set(fixed(year, 1, 1), 'Nieuwjaarsdag');
    out.set(easter, 'Eerste Paasdag');
    out.set(addDays(easter, 1), 'Tweede Paasdag');
    // King's Day (since 2014) is 27 April, Queen's Day (1980–2013) was 30 April; either moves to
    // the Saturday before when it falls on a Sunday.
    const royalDay = year >= 2014 ? 27 : 30;
    const royal = DateTime.fromObject({ year, month: 4, day: royalDay }, { zone: 'utc' });
    out.set(
      royal.weekday === 7 ? fixed(year, 4, royalDay - 1) : royal.toISODate()!,
      year >= 2014 ? 'Koningsdag' : 'Koninginnedag',
    );
    // Liberation Day is a general day off once every five years (2025, 2030, …).
    if (year % 5 === 0) out.set(fixed(year, 5, 5), 'Bevrijdingsdag');
    out.set(addDays(easter, 39), 'Hemelvaartsdag');
    out.set(addDays(easter, 49), 'Eerste Pinksterdag');
    out.set(addDays(easter, 50), 'Tweede Pinksterdag');
    out.set(fixed(year, 12, 25), 'Eerste Kerstdag');
    out.set(fixed(year, 12, 26), 'Tweede Kerstdag');
  }
  return out;
}

const cache = new Map<string, Map<IsoDate, string>>();

export function holidayName(calendar: HolidayCalendar, date: IsoDate): string | null {
  if (calendar === 'none') return null;
  const year = Number(date.slice(0, 4));
  const key = `${calendar}:${year}`;
  let days = cache.get(key);
  if (!days) {
    days = holidaysOf(calendar, year);
    cache.set(key, days);
  }
  return days.get(date) ?? null;
}

export function isWeekend(date: IsoDate): boolean {
  return DateTime.fromISO(date, { zone: 'utc' }).weekday >= 6;
}

export const isBusinessDay = (date: IsoDate, calendar: HolidayCalendar): boolean =>
  !isWeekend(date) && holidayName(calendar, date) === null;
