import { DateTime } from 'luxon';
import { addDays, daysBetween, type IsoDate, localDate } from './calendar.js';
import { invalidInput } from './errors.js';
import { storedValueError } from './stored-value.js';

/**
 * When SolusVM zeroes a VPS's traffic counter. SolusVM 1 resets on the 1st by default or, with
 * "Reset Bandwidth on Anniversary", on the day of the month the VPS was created; SolusVM 2 has
 * `reset_limit_policy` first_day_of_month | vm_created_day | never. The reset runs at midnight on
 * the master's clock, so boundaries are computed in the master's zone.
 */
export type ResetPolicy = 'first_of_month' | 'anniversary' | 'never';

export const RESET_POLICIES: readonly ResetPolicy[] = ['first_of_month', 'anniversary', 'never'];

export interface ResetRule {
  policy: ResetPolicy;
  /** Day of month of the anniversary reset (1–31); ignored for other policies. */
  anchorDay: number;
  /** IANA zone of the SolusVM master. */
  zone: string;
}

export function parseResetPolicy(value: unknown): ResetPolicy {
  if (value === 'first_day_of_month') return 'first_of_month';
  if (value === 'vm_created_day') return 'anniversary';
  if (typeof value === 'string' && (RESET_POLICIES as readonly string[]).includes(value))
    return value as ResetPolicy;
  throw invalidInput(`reset policy must be one of ${RESET_POLICIES.join(', ')}`, { value: String(value) });
}

/** A stored policy (the same words, SolusVM 2's included): another value names its column. */
export function storedResetPolicy(value: unknown, column: string): ResetPolicy {
  try {
    return parseResetPolicy(value);
  } catch {
    throw storedValueError(column, value, `one of ${RESET_POLICIES.join(', ')}`);
  }
}

/** The reset date in a given month. An anniversary on the 29th–31st falls on the month's last day in shorter months. */
export function resetDateInMonth(rule: ResetRule, year: number, month: number): IsoDate | null {
  if (rule.policy === 'never') return null;
  const first = DateTime.fromObject({ year, month, day: 1 }, { zone: 'utc' });
  if (rule.policy === 'first_of_month') return first.toISODate()!;
  const day = Math.min(Math.max(1, Math.trunc(rule.anchorDay)), first.daysInMonth!);
  return first.set({ day }).toISODate()!;
}

function boundaryInstant(date: IsoDate, zone: string): DateTime {
  return DateTime.fromISO(date, { zone }).startOf('day');
}

// Boundaries are looked up once per sample in a daily run; they depend only on the rule and the
// month, so each is computed once.
const boundaryCache = new Map<string, DateTime>();

function boundaryOf(rule: ResetRule, year: number, month: number): DateTime {
  const key = `${rule.policy}|${rule.anchorDay}|${rule.zone}|${year}|${month}`;
  let b = boundaryCache.get(key);
  if (!b) {
    b = boundaryInstant(resetDateInMonth(rule, year, month)!, rule.zone);
    if (boundaryCache.size > 50_000) boundaryCache.clear();
    boundaryCache.set(key, b);
  }
  return b;
}

/** Boundaries of the months around `t`, newest first (a zone's month can differ from UTC's by one). */
function monthsAround(t: DateTime): Array<[number, number]> {
  const d = new Date(t.toMillis());
  const out: Array<[number, number]> = [];
  for (let k = 1; k >= -2; k--) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + k, 1));
    out.push([m.getUTCFullYear(), m.getUTCMonth() + 1]);
  }
  return out;
}

/** The latest reset boundary at or before `t`, or null when the policy never resets. */
export function lastBoundaryAtOrBefore(rule: ResetRule, t: DateTime): DateTime | null {
  if (rule.policy === 'never') return null;
  for (const [y, m] of monthsAround(t)) {
    const b = boundaryOf(rule, y, m);
    if (b <= t) return b;
  }
  throw new Error('no reset boundary found');
}

export function nextBoundaryAfter(rule: ResetRule, t: DateTime): DateTime | null {
  if (rule.policy === 'never') return null;
  let found: DateTime | null = null;
  for (const [y, m] of monthsAround(t.plus({ months: 1 }))) {
    const b = boundaryOf(rule, y, m);
    if (b > t) found = b;
    else break;
  }
  if (!found) throw new Error('no reset boundary found');
  return found;
}

/** The latest boundary in the half-open span (from, to], if any. */
export function boundaryBetween(rule: ResetRule, from: DateTime, to: DateTime): DateTime | null {
  const b = lastBoundaryAtOrBefore(rule, to);
  return b && b > from ? b : null;
}

/** The usage period (as calendar dates in the master's zone) that the policy puts `t` in. */
export function policyPeriodAt(
  rule: ResetRule,
  t: DateTime,
): { startDate: IsoDate; endDate: IsoDate | null } | null {
  const start = lastBoundaryAtOrBefore(rule, t);
  if (!start) return null;
  const next = nextBoundaryAfter(rule, t)!;
  return { startDate: localDate(start, rule.zone), endDate: addDays(localDate(next, rule.zone), -1) };
}

/** The expected last day of a period that starts on `startDate`. */
export function expectedEndDate(rule: ResetRule, startDate: IsoDate): IsoDate | null {
  if (rule.policy === 'never') return null;
  const next = nextBoundaryAfter(rule, boundaryInstant(startDate, rule.zone));
  return next ? addDays(localDate(next, rule.zone), -1) : null;
}

const nominalCache = new Map<string, number | null>();

/**
 * Days in the full policy period that contains `start` (null when the policy never resets): what a
 * period that starts late (a manual reset, a service registered mid-period) is prorated against.
 * Most services share their policy and period, so each answer is worked out once.
 */
export function nominalPeriodDays(rule: ResetRule, start: IsoDate): number | null {
  const key = `${rule.policy}|${rule.anchorDay}|${rule.zone}|${start}`;
  let n = nominalCache.get(key);
  if (n === undefined) {
    const b = lastBoundaryAtOrBefore(rule, boundaryInstant(start, rule.zone));
    const first = b ? localDate(b, rule.zone) : null;
    const last = first ? expectedEndDate(rule, first) : null;
    n = first && last ? daysBetween(first, last) + 1 : null;
    if (nominalCache.size > 10_000) nominalCache.clear();
    nominalCache.set(key, n);
  }
  return n;
}
