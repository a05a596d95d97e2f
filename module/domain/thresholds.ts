import { addDays, daysBetween, type IsoDate, maxDate, startOfDay } from './calendar.js';
import { invalidInput } from './errors.js';
import { divCeil, divRoundHalfUp, fractionToDecimalString } from './money.js';
import { proratedAllowance, rateUsage, type RatingPlan } from './usage-rating.js';

/**
 * Threshold notices: which percentages of the allowance a service has crossed in its open usage
 * period, which one (if any) to tell the client about now, and where the period is heading at the
 * pace so far. Pure and exact: bytes and money are bigint, days are calendar days, and "today" is
 * the day of the latest sample, given by the caller.
 */

export const DEFAULT_THRESHOLDS: readonly number[] = [80, 90, 100];

/** Percentages of the allowance, whole numbers 1–1000, sorted, without repeats. */
export function parseThresholds(input: readonly unknown[]): number[] {
  if (!Array.isArray(input) || input.length === 0)
    throw invalidInput('give at least one threshold, like [80, 90, 100]');
  if (input.length > 20) throw invalidInput('at most 20 thresholds');
  for (const p of input) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 1000) {
      throw invalidInput(
        `a threshold is a whole percentage of the allowance from 1 to 1000, not ${JSON.stringify(p)}`,
      );
    }
  }
  return [...new Set(input as number[])].sort((a, b) => a - b);
}

/**
 * The thresholds reached: used ≥ p % of the allowance, compared exactly (used × 100 ≥ allowance × p).
 * With no allowance at all every byte is over it, so every threshold is reached by the first byte.
 */
export function crossedThresholds(
  usedBytes: bigint,
  allowanceBytes: bigint,
  thresholds: readonly number[],
): number[] {
  if (usedBytes < 0n || allowanceBytes < 0n)
    throw invalidInput('used bytes and the allowance must not be negative');
  if (allowanceBytes === 0n) return usedBytes > 0n ? [...thresholds] : [];
  return thresholds.filter((p) => usedBytes * 100n >= allowanceBytes * BigInt(p));
}

export interface ThresholdNotice {
  /** the threshold the notice names: the highest one reached */
  pct: number;
  /** every threshold this one notice stands for (reached since the last notice) */
  covers: number[];
}

/**
 * What to tell now, given the thresholds reached and those already told this period: one notice
 * naming the highest threshold reached, when it is above every threshold told so far; otherwise
 * nothing. Crossing 80 % and 90 % between two samples gives one notice, for 90 %; once 90 % was told,
 * 80 % is never told this period.
 */
export function thresholdToNotify(
  crossed: readonly number[],
  alreadyNotified: readonly number[],
): ThresholdNotice | null {
  if (crossed.length === 0) return null;
  const highest = Math.max(...crossed);
  const told = alreadyNotified.length ? Math.max(...alreadyNotified) : 0;
  if (highest <= told) return null;
  return { pct: highest, covers: crossed.filter((p) => p > told).sort((a, b) => a - b) };
}

/** used as a percentage of the allowance, exact to `decimals` (half-up), as a decimal string; null without an allowance. */
export function percentUsed(usedBytes: bigint, allowanceBytes: bigint, decimals = 1): string | null {
  if (allowanceBytes <= 0n) return null;
  return fractionToDecimalString(usedBytes * 100n, allowanceBytes, decimals);
}

/** The days a service had in its period, and in a full period, for the allowance: as rating prorates it. */
export interface PeriodShape {
  /** first day the service had (the period's start, or the service's registration day if later) */
  from: IsoDate;
  /** the period's expected last day; null when the counter never resets */
  end: IsoDate | null;
  /** days in a full period of the reset policy; null when it never resets */
  nominalDays: number | null;
}

/**
 * An open period's shape and the day it is measured to, from the period's dates (a whole span of
 * the billing calendar: only a service registered during it had less), the service's registration
 * day and the day its latest sample closes.
 */
export function openPeriodShape(p: {
  start: IsoDate;
  end: IsoDate | null;
  regdate: IsoDate | null;
  lastSampleDate: IsoDate;
}): { shape: PeriodShape; asOf: IsoDate } {
  const from = p.regdate ? maxDate(p.start, p.regdate) : p.start;
  return {
    shape: {
      from,
      end: p.end === null ? null : maxDate(p.end, from),
      nominalDays: p.end === null ? null : daysBetween(p.start, p.end) + 1,
    },
    asOf: maxDate(p.lastSampleDate, from),
  };
}

/** The allowance that applies to this period: the plan's, prorated (rounded up) when the service had only part of it. */
export function periodAllowance(
  plan: Pick<RatingPlan, 'allowanceBytes' | 'prorate'>,
  shape: PeriodShape,
): bigint {
  if (!plan.prorate || shape.end === null || shape.nominalDays === null) return plan.allowanceBytes;
  const days = Math.max(1, daysBetween(shape.from, shape.end) + 1);
  return proratedAllowance(plan.allowanceBytes, days, shape.nominalDays);
}

export type RunOut =
  /** the allowance is already used up */
  | { kind: 'reached' }
  /** at the pace so far, the allowance runs out in the course of `date` */
  | { kind: 'on'; date: IsoDate }
  /** at the pace so far, the allowance lasts until the period ends */
  | { kind: 'lasts' }
  /** nothing used yet: no pace to project */
  | { kind: 'no_traffic' };

export interface UsageSoFar {
  shape: PeriodShape;
  /** the last day measured (the day the latest sample closes) */
  asOf: IsoDate;
  usedBytes: bigint;
  allowanceBytes: bigint;
}

export interface Projection {
  /** days measured so far, counting both ends (at least 1) */
  daysElapsed: number;
  /** days the service has in the period; null when the period has no end */
  daysInPeriod: number | null;
  /** the average per day so far, half-up */
  dailyAverageBytes: bigint;
  runOut: RunOut;
  /** the traffic at the end of the period at the pace so far (half-up); null when the period has no end */
  projectedUsedBytes: bigint | null;
}

/**
 * Where the period is heading if the pace so far holds (a straight line through the days measured).
 * The run-out day is the first day on which the projected total reaches the allowance:
 * asOf + ⌈(allowance − used) × daysElapsed ÷ used⌉.
 */
export function projectUsage(u: UsageSoFar): Projection {
  if (u.usedBytes < 0n || u.allowanceBytes < 0n)
    throw invalidInput('used bytes and the allowance must not be negative');
  const { from, end } = u.shape;
  if (u.asOf < from)
    throw invalidInput('the last day measured must not be before the period starts', { asOf: u.asOf, from });
  const daysElapsed = daysBetween(from, u.asOf) + 1;
  const daysInPeriod = end === null ? null : Math.max(daysElapsed, daysBetween(from, end) + 1);
  const dailyAverageBytes = divRoundHalfUp(u.usedBytes, BigInt(daysElapsed));
  const projectedUsedBytes =
    daysInPeriod === null ? null : divRoundHalfUp(u.usedBytes * BigInt(daysInPeriod), BigInt(daysElapsed));
  let runOut: RunOut;
  if (u.usedBytes >= u.allowanceBytes) runOut = { kind: 'reached' };
  else if (u.usedBytes === 0n) runOut = { kind: 'no_traffic' };
  else {
    const more = divCeil((u.allowanceBytes - u.usedBytes) * BigInt(daysElapsed), u.usedBytes);
    const daysLeft = end === null ? null : BigInt(daysBetween(u.asOf, end));
    // past the period's last day, or (a period that never ends) more than a century away: it lasts
    const lasts = daysLeft !== null ? more > daysLeft : more > 36_500n;
    runOut = lasts ? { kind: 'lasts' } : { kind: 'on', date: addDays(u.asOf, Number(more)) };
  }
  return { daysElapsed, daysInPeriod, dailyAverageBytes, runOut, projectedUsedBytes };
}

/** Seconds from the start of `from` to the end of `end` in a zone (for the Mbit/s models): DST-safe. */
export function periodSeconds(from: IsoDate, end: IsoDate, zone: string): bigint {
  const s = startOfDay(addDays(end, 1), zone).diff(startOfDay(from, zone), 'seconds').seconds;
  return BigInt(Math.round(s));
}

export interface ProjectedCost {
  /** what the bytes so far would bill if the period ended now */
  soFarMinor: bigint;
  /** what the projected total would bill at the end of the period */
  atEndMinor: bigint;
  currency: string;
}

/**
 * What the traffic costs under the product's plan, now and at the end of the period at the pace so
 * far: the same rating as the bill, with the same proration, cap, minimum and one rounding. Null
 * when it cannot be projected: a 95th-percentile plan (it rates 5-minute rates, not bytes) or a
 * period without an end.
 */
export function projectCost(
  plan: RatingPlan,
  shape: PeriodShape,
  usedBytes: bigint,
  projectedUsedBytes: bigint | null,
  zone: string,
): ProjectedCost | null {
  if (plan.model.kind === 'p95' || shape.end === null || projectedUsedBytes === null) return null;
  const days = Math.max(1, daysBetween(shape.from, shape.end) + 1);
  const nominalDays = shape.nominalDays ?? days;
  const seconds = periodSeconds(shape.from, shape.end, zone);
  const rate = (bytes: bigint) =>
    rateUsage({ usedBytes: bytes, days, nominalDays, seconds }, plan).amountMinor;
  return { soFarMinor: rate(usedBytes), atEndMinor: rate(projectedUsedBytes), currency: plan.currency };
}
