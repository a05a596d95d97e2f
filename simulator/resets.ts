import { civilDate, dayNumber, daysInMonth, type ZoneCalendar } from './zone-calendar.js';

/** SolusVM 1: the 1st (default) or "Reset Bandwidth on Anniversary"; SolusVM 2: reset_limit_policy. */
export type ResetPolicy = 'first_of_month' | 'anniversary' | 'never';

export const RESET_POLICIES: readonly ResetPolicy[] = ['first_of_month', 'anniversary', 'never'];

/** The reset day of a month: the anniversary day, clamped to the month's last day (31st → 28/29 Feb). */
function resetDayIn(policy: ResetPolicy, anchorDay: number, year: number, month: number): number {
  const dom = policy === 'first_of_month' ? 1 : Math.min(anchorDay, daysInMonth(year, month));
  return dayNumber(year, month, dom);
}

/**
 * The latest policy reset at or before `ms`: local midnight in the master's zone, where the
 * master's daily cron zeroes counters. Null for 'never'.
 */
export function lastPolicyReset(
  cal: ZoneCalendar,
  policy: ResetPolicy,
  anchorDay: number,
  ms: number,
): number | null {
  if (policy === 'never') return null;
  const today = cal.dayOf(ms);
  const { year, month } = civilDate(today);
  let day = resetDayIn(policy, anchorDay, year, month);
  if (day > today) {
    const prevYear = month === 1 ? year - 1 : year;
    const prevMonth = month === 1 ? 12 : month - 1;
    day = resetDayIn(policy, anchorDay, prevYear, prevMonth);
  }
  return cal.startOf(day);
}

/** The next policy reset strictly after `ms`, or null for 'never'. */
export function nextPolicyReset(
  cal: ZoneCalendar,
  policy: ResetPolicy,
  anchorDay: number,
  ms: number,
): number | null {
  if (policy === 'never') return null;
  const today = cal.dayOf(ms);
  const { year, month } = civilDate(today);
  let day = resetDayIn(policy, anchorDay, year, month);
  if (cal.startOf(day) <= ms) {
    day = resetDayIn(policy, anchorDay, month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1);
  }
  return cal.startOf(day);
}
