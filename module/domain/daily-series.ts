import { addDays, daysBetween, type IsoDate, maxDate, minDate } from './calendar.js';
import { invalidInput } from './errors.js';

export interface IntervalFigure {
  fromDate: IsoDate;
  toDate: IsoDate;
  bytes: bigint;
  /** the bytes are an estimate even over one day (a share of an interval split between periods) */
  estimated?: boolean;
  /** a counter drop waiting for a decision: nothing booked, and not a day without traffic */
  undecided?: boolean;
}

export interface DayFigure {
  date: IsoDate;
  /** all bytes attributed to the day */
  bytes: bigint;
  /** the part that comes from intervals longer than one day, split evenly: an estimate */
  estimatedBytes: bigint;
  /** true when no interval touches the day (no data at all, not zero traffic) */
  missing: boolean;
  /** the counter dropped on the day and nobody has said yet what it was: its traffic is not booked */
  undecided?: boolean;
}

/**
 * Equal split of `total` over `n` parts whose sum is exactly `total`: the remainder goes one byte
 * at a time to the first days (largest remainder with equal weights).
 */
export function splitEvenly(total: bigint, n: number): bigint[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('can only split over one or more days');
  if (total < 0n) throw new RangeError('cannot split a negative number of bytes');
  const parts = BigInt(n);
  const base = total / parts;
  const rest = total % parts;
  return Array.from({ length: n }, (_, i) => base + (BigInt(i) < rest ? 1n : 0n));
}

/**
 * The daily series for [from, to]. A one-day interval is measured; a longer one (a gap, or the part
 * before metering began) is spread evenly over its days and marked as an estimate. The sum over all
 * days equals the sum of the intervals inside the range exactly.
 */
export function dailySeries(intervals: readonly IntervalFigure[], from: IsoDate, to: IsoDate): DayFigure[] {
  const n = daysBetween(from, to) + 1;
  if (n <= 0) return [];
  const days: DayFigure[] = Array.from({ length: n }, (_, i) => ({
    date: addDays(from, i),
    bytes: 0n,
    estimatedBytes: 0n,
    missing: true,
  }));
  for (const iv of intervals) {
    if (iv.toDate < iv.fromDate)
      throw invalidInput('an interval must not end before it starts', {
        fromDate: iv.fromDate,
        toDate: iv.toDate,
      });
    const span = daysBetween(iv.fromDate, iv.toDate) + 1;
    const shares = span === 1 ? [iv.bytes] : splitEvenly(iv.bytes, span);
    const lo = maxDate(iv.fromDate, from);
    const hi = minDate(iv.toDate, to);
    if (lo > hi) continue;
    for (let d = lo; d <= hi; d = addDays(d, 1)) {
      const day = days[daysBetween(from, d)]!;
      const share = shares[daysBetween(iv.fromDate, d)]!;
      day.bytes += share;
      if (span > 1 || iv.estimated) day.estimatedBytes += share;
      if (iv.undecided) day.undecided = true;
      day.missing = false;
    }
  }
  return days;
}
