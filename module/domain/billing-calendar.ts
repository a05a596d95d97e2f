import { DateTime } from 'luxon';
import { addDays, daysBetween, type IsoDate } from './calendar.js';
import { invalidInput } from './errors.js';
import type { ResetPolicy, ResetRule } from './reset-policy.js';

/**
 * The billing calendar of a metered service: the spans (usage periods) its traffic is billed in.
 * Periods come from the calendar the client is billed on, never from what the counter did: a
 * period starts on the calendar's day of the month (the 1st, the anniversary day, or the day the
 * panel bills the service) and ends the day before the next one, whatever SolusVM reset or missed.
 * Days are calendar days; an anniversary on the 29th–31st falls on a shorter month's last day, as
 * SolusVM resets it.
 */
export interface BillingCalendar {
  /** day of the month periods start on, 1–31 (1 = calendar months) */
  anchorDay: number;
  /** where the calendar comes from, for the explanation */
  basis: CalendarBasis;
}

export type CalendarBasis =
  /** SolusVM resets on the 1st (v1 default, v2 first_day_of_month) */
  | 'first_of_month'
  /** SolusVM resets on the VPS's creation day (v1 "Reset Bandwidth on Anniversary", v2 vm_created_day) */
  | 'anniversary'
  /** SolusVM never resets: the panel's billing cycle, from the service's due day */
  | 'billing_cycle';

export interface CalendarPeriod {
  start: IsoDate;
  end: IsoDate;
}

function checkAnchor(day: number): number {
  if (!Number.isInteger(day) || day < 1 || day > 31)
    throw invalidInput(`a period starts on a day of the month from 1 to 31, not ${day}`);
  return day;
}

const daysIn = (year: number, month: number): number =>
  DateTime.fromObject({ year, month, day: 1 }, { zone: 'utc' }).daysInMonth!;
const pad = (n: number): string => String(n).padStart(2, '0');

/** The day periods start on in a month, clamped to the month's last day. */
export function periodStartIn(anchorDay: number, year: number, month: number): IsoDate {
  return `${year}-${pad(month)}-${pad(Math.min(checkAnchor(anchorDay), daysIn(year, month)))}`;
}

const shift = (year: number, month: number, by: number): [number, number] => {
  const m = year * 12 + (month - 1) + by;
  return [Math.floor(m / 12), (m % 12) + 1];
};

// Every service of a provider shares a handful of (anchor, month) pairs; each is worked out once.
const periods = new Map<string, CalendarPeriod>();

/**
 * The period of the calendar that contains `date`. `cache` is the module's own unless a test
 * passes a new one: a test runner that keeps one process across runs (Stryker does) would
 * otherwise answer from periods worked out in an earlier run.
 */
export function periodOf(
  cal: BillingCalendar,
  date: IsoDate,
  cache: Map<string, CalendarPeriod> = periods,
): CalendarPeriod {
  const key = `${cal.anchorDay}|${date}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let [y, m] = [Number(date.slice(0, 4)), Number(date.slice(5, 7))];
  let start = periodStartIn(cal.anchorDay, y, m);
  if (start > date) {
    [y, m] = shift(y, m, -1);
    start = periodStartIn(cal.anchorDay, y, m);
  }
  const [ny, nm] = shift(y, m, 1);
  const period = { start, end: addDays(periodStartIn(cal.anchorDay, ny, nm), -1) };
  if (cache.size > 50_000) cache.clear();
  cache.set(key, period);
  return period;
}

/** The period that follows one ending on `end`: from the next day to the end of its calendar period. */
export function periodAfter(cal: BillingCalendar, end: IsoDate): CalendarPeriod {
  const start = addDays(end, 1);
  return { start, end: periodOf(cal, start).end };
}

/**
 * The periods that cover the days [from, to], oldest first, the first starting where `first`
 * starts (a service's current period, which may be shorter than a calendar period when the
 * calendar changed under it), each next one from the day after.
 */
export function periodsCovering(cal: BillingCalendar, first: CalendarPeriod, to: IsoDate): CalendarPeriod[] {
  const out: CalendarPeriod[] = [first];
  while (out[out.length - 1]!.end < to) out.push(periodAfter(cal, out[out.length - 1]!.end));
  return out;
}

/** Days in a full period of the calendar that contains `date`: what a partial period is prorated against. */
export function fullPeriodDays(cal: BillingCalendar, date: IsoDate): number {
  const p = periodOf(cal, date);
  return daysBetween(p.start, p.end) + 1;
}

/** The period's description as stored with it ("first_of_month", "anniversary:17", "billing_cycle:5"). */
export function calendarLabel(cal: BillingCalendar): string {
  return cal.basis === 'first_of_month' ? 'first_of_month' : `${cal.basis}:${cal.anchorDay}`;
}

export function parseCalendarLabel(label: string): BillingCalendar {
  if (label === 'first_of_month') return { basis: 'first_of_month', anchorDay: 1 };
  const m = /^(anniversary|billing_cycle):(\d{1,2})$/.exec(label);
  if (!m) throw invalidInput(`"${label}" is not a billing calendar`);
  return { basis: m[1] as CalendarBasis, anchorDay: checkAnchor(Number(m[2])) };
}

/** What decides a service's calendar and counter: its own settings, what SolusVM reports, the master's and the panel's. */
export interface CalendarSources {
  /** the admin's choice for this service (service link --reset-policy / --reset-day) */
  servicePolicy: ResetPolicy | null;
  serviceDay: number | null;
  /** SolusVM 2: the server's plan reset_limit_policy and the VM's creation day, from the latest read */
  solusvmPolicy: ResetPolicy | null;
  solusvmCreatedOn: IsoDate | null;
  /** the master's reset policy and zone */
  masterPolicy: ResetPolicy;
  zone: string;
  /** the panel's registration day and the day of the month it bills the service on */
  regdate: IsoDate | null;
  billingDay: number | null;
  /** where an anniversary day comes from when the service does not say: SolusVM's creation day first (default), or the panel's registration day */
  anniversaryFrom?: 'solusvm' | 'panel';
}

export interface ServiceCalendar {
  /** when the counter resets (boundaries in the master's zone) */
  counter: ResetRule;
  /** the periods the service is billed in */
  calendar: BillingCalendar;
}

const dayOfDate = (d: IsoDate | null): number | null => (d ? Number(d.slice(8, 10)) : null);

/**
 * One service's counter rule and billing calendar. The policy is the service's own setting, else
 * what SolusVM 2's plan says for this server, else the master's; an anniversary falls on the
 * service's set day, else SolusVM's creation day (where the API gives it), else the panel's
 * registration day; a counter that never resets is billed on the panel's billing cycle.
 */
export function serviceCalendar(s: CalendarSources): ServiceCalendar {
  const policy = s.servicePolicy ?? s.solusvmPolicy ?? s.masterPolicy;
  if (policy === 'first_of_month') {
    return {
      counter: { policy, anchorDay: 1, zone: s.zone },
      calendar: { basis: 'first_of_month', anchorDay: 1 },
    };
  }
  if (policy === 'anniversary') {
    const fromSolusvm = dayOfDate(s.solusvmCreatedOn);
    const fromPanel = dayOfDate(s.regdate);
    const day =
      s.serviceDay ??
      (s.anniversaryFrom === 'panel' ? (fromPanel ?? fromSolusvm) : (fromSolusvm ?? fromPanel)) ??
      1;
    return {
      counter: { policy, anchorDay: checkAnchor(day), zone: s.zone },
      calendar: { basis: 'anniversary', anchorDay: checkAnchor(day) },
    };
  }
  const day = s.billingDay ?? dayOfDate(s.regdate) ?? 1;
  return {
    counter: { policy: 'never', anchorDay: 1, zone: s.zone },
    calendar: { basis: 'billing_cycle', anchorDay: checkAnchor(day) },
  };
}

/** The day a VM was made, in the master's zone (its anniversary), from SolusVM 2's created_at; null when unreadable. */
export function createdOnIn(createdAt: string, zone: string): IsoDate | null {
  // a VM's created_at comes back the same on every read: remembered (luxon's ISO parse and zone
  // conversion were 9 % of a metering run's CPU)
  const key = `${zone}|${createdAt}`;
  const known = createdOnCache.get(key);
  if (known !== undefined) return known;
  let day: IsoDate | null;
  try {
    const t = DateTime.fromISO(createdAt, { setZone: true });
    day = t.isValid ? t.setZone(zone).toISODate() : null;
  } catch {
    day = null; // luxon throws on an invalid date when told to
  }
  if (createdOnCache.size > 10_000) createdOnCache.clear();
  createdOnCache.set(key, day);
  return day;
}

const createdOnCache = new Map<string, IsoDate | null>();

/**
 * The day of the month a panel bills a service on, from its next due date: WHMCS keeps a monthly
 * service on its registration day, so a due date on a short month's last day (28 February for a
 * service registered on the 31st) stands for the registration day.
 */
export function billingDayOf(nextDueDate: IsoDate | null, regdate: IsoDate | null): number | null {
  if (!nextDueDate) return null;
  const day = Number(nextDueDate.slice(8, 10));
  const reg = regdate ? Number(regdate.slice(8, 10)) : null;
  const lastOfMonth = day === daysIn(Number(nextDueDate.slice(0, 4)), Number(nextDueDate.slice(5, 7)));
  return reg !== null && lastOfMonth && reg > day ? reg : day;
}
