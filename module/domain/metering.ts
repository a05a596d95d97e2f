import type { DateTime } from 'luxon';
import { addDays, daysBetween, type IsoDate, localDate, maxDate, minDate } from './calendar.js';
import { type CalendarPeriod, periodOf, periodsCovering, type ServiceCalendar } from './billing-calendar.js';
import { ModuleError } from './errors.js';
import { boundaryBetween, lastBoundaryAtOrBefore } from './reset-policy.js';

/**
 * Deriving traffic from a cumulative counter. SolusVM only tells us "used since the last reset",
 * so every figure we bill is the difference between two good samples (an interval), booked into
 * the usage periods of the service's billing calendar (`billing-calendar.ts`) by the days it
 * covers. What the counter does never moves a period; it only decides what an interval means:
 *
 * - an increase is traffic;
 * - a drop to a value a restart from zero could have reached, when SolusVM was due to reset (a
 *   reset boundary passed since the last sample, or passed earlier without a reset), is the
 *   reset: the new value is traffic since it; what came between the last read and the reset was
 *   never counted by us ("unmeasured") and is never billed;
 * - any other drop is a manual reset or a correction on the master, which no program can tell
 *   apart: nothing is booked, and an admin decides (`decideDrop`); it may also be the reset that
 *   was due, so after it no reset is due any more (a later drop is the admin's too);
 * - a boundary passed without a drop is a reset SolusVM did not do: the increase is traffic, and
 *   the reset is due until a drop comes (late); a later drop is that reset only when the new value
 *   fits the counter's recent pace (`recentPace`, the median of the latest days).
 *
 * A failed read is a gap: the next good sample closes one interval over the missing days, exact in
 * total, split over the days (and over periods, when it spans a boundary) as an estimate. Nothing
 * here reads or writes: the store applies the step this returns.
 */

export interface GoodSample {
  usedBytes: bigint;
  sampledAt: DateTime;
  /** The day the sample closes (see `closingDateOf`). */
  sampleDate: IsoDate;
}

export interface MeterState {
  /** the latest good sample */
  last: GoodSample | null;
  /** the service's latest period: open, or closed by the last sample when it read the period's last day */
  period: CalendarPeriod | null;
  /** the reset boundary (its first day) since which SolusVM should have reset the counter and has not */
  resetDueOn: IsoDate | null;
  /**
   * the traffic per day of the latest metered days, newest last, at most `PACE_DAYS` (each
   * interval that booked traffic gives each of its days its share; a drop gives none): what a
   * fresh counter could plausibly hold after an overdue reset (`recentPace`)
   */
  recentDaily?: readonly bigint[];
}

export type IntervalKind =
  /** the increase over one day between the samples that close two consecutive days: measured */
  | 'daily'
  /** an increase over several days (a gap): exact in total, per day only an estimate */
  | 'span'
  /** from a counter reset to the first sample after it: the counter restarted at 0 */
  | 'since_reset'
  /** from the start of the period to the first sample we ever took of this service */
  | 'before_metering'
  /** a drop no one can read: nothing booked until an admin says it was a reset or a correction */
  | 'drop'
  /** a drop an admin said was a reset: the new value booked */
  | 'manual_reset'
  /** a drop an admin said was a correction: nothing booked */
  | 'correction';

export interface IntervalPart {
  period: CalendarPeriod;
  kind: IntervalKind;
  bytes: bigint;
  /** first and last day the bytes belong to, inclusive, inside the period */
  fromDate: IsoDate;
  toDate: IsoDate;
  /** the split over days (or over periods) is an estimate */
  estimated: boolean;
  /** a drop: what the counter read after it (what a reset would book) */
  candidateBytes: bigint | null;
}

export type AnomalyKind =
  /** a reset boundary passed and the counter did not go down */
  | 'reset_not_seen'
  /** the counter went down after a boundary it should have reset at */
  | 'late_reset'
  /** the counter went down with no reset due: a manual reset or a correction (needs a decision) */
  | 'mid_period_drop'
  /** more than a day between the last read and a reset: that traffic was never counted */
  | 'unmeasured'
  /** several days without a good read: the days' split is an estimate */
  | 'long_gap';

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'reset_not_seen',
  'late_reset',
  'mid_period_drop',
  'unmeasured',
  'long_gap',
];

export interface AnomalyPlan {
  kind: AnomalyKind;
  period: CalendarPeriod;
  /** figures as strings (bytes), dates and instants (ISO) */
  details: Record<string, string | number>;
}

export type Reading =
  | 'first'
  | 'increase'
  /** a drop at a reset boundary (or a counter already at zero when one passed) */
  | 'reset'
  /** a drop when a reset was overdue */
  | 'late_reset'
  /** a drop nobody can read */
  | 'drop'
  /** a boundary passed without a reset */
  | 'missed_reset';

/**
 * Readings that end a reset SolusVM owed: the reset, on time or late, or a drop no one can read
 * (it may be that reset, or a correction: an admin decides the drop, and no reset is due after it).
 */
export const ENDS_RESET_DUE: readonly Reading[] = ['reset', 'late_reset', 'drop'];

/**
 * A `reset_not_seen`'s details once the counter went down: how (`endedBy`, the reading) and on
 * which day (`endedOn`), so its text can say whether the reset came or a drop an admin decides
 * took its place. Live metering and a rebuild both write it.
 */
export function resetDueEnded(
  details: Record<string, string | number>,
  reading: Reading,
  on: IsoDate,
): Record<string, string | number> {
  return { ...details, endedBy: reading, endedOn: on };
}

export interface MeterStep {
  reading: Reading;
  parts: IntervalPart[];
  /** every period from the service's latest one to the one the sample ends in, oldest first */
  periods: CalendarPeriod[];
  /** periods whose last day this sample closes (or passes): they close now */
  closes: CalendarPeriod[];
  anomalies: AnomalyPlan[];
  state: MeterState;
  /** the reset instant when the policy gives it */
  resetAt: DateTime | null;
  /** traffic after this instant and before the reset was never counted */
  unmeasuredAfter: DateTime | null;
}

/** A counter this small may drop any way near a reset: what could be at stake is negligible. */
export const RESET_FLOOR_BYTES = 1n << 30n;

/** The pace of a counter is judged on its latest metered days, this many at most. */
export const PACE_DAYS = 7;

/** Fewer metered days than this, and no pace is known: an overdue reset is not read, an admin decides. */
export const PACE_MIN_DAYS = 3;

/** The latest days' traffic after an interval of `days` days that booked `bytes`: each day its share, newest last. */
export function withDays(recent: readonly bigint[], bytes: bigint, days: number): bigint[] {
  const perDay = bytes / BigInt(Math.max(1, days));
  const added = Array.from({ length: Math.min(Math.max(1, days), PACE_DAYS) }, () => perDay);
  return [...recent, ...added].slice(-PACE_DAYS);
}

/**
 * The counter's recent pace, for an overdue reset (see billing-rules.md, "Counter resets"): the
 * median of the latest days' traffic (of an even count, the lower middle one), so one busy day
 * (a backup, an attack) does not make a large correction look like a fresh counter's few days,
 * and a quiet day alone does not either way. Null under `PACE_MIN_DAYS` days: no pace, no
 * reading; the drop goes to an admin.
 */
export function recentPace(recent: readonly bigint[] | undefined): bigint | null {
  if (!recent || recent.length < PACE_MIN_DAYS) return null;
  const sorted = [...recent].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Intervals over this many days or more are flagged as long gaps. */
export const LONG_GAP_DAYS = 3;

/**
 * A drop a restart from zero explains: the new value is at most half the old one (a month's
 * traffic against a day's at most), or the old one was negligible; and, when a pace is given, no
 * more than three times what it moves over the days since the last read (a counter that
 * restarted holds only what came after). Anything else (1.5 GB → 1.4 GB, or an admin's correction
 * that happens to halve a counter whose reset was overdue) is more likely a correction, and is
 * left to an admin even at a reset boundary.
 */
export function looksLikeReset(
  last: bigint,
  now: bigint,
  pace: { dailyBytes: bigint | null; days: number } = { dailyBytes: null, days: 1 },
): boolean {
  if (now >= last) return false;
  if (last < RESET_FLOOR_BYTES) return true;
  if (now * 2n > last) return false;
  if (pace.dailyBytes === null) return true;
  const plausible = 3n * pace.dailyBytes * BigInt(Math.max(1, pace.days));
  return now <= (plausible > RESET_FLOOR_BYTES ? plausible : RESET_FLOOR_BYTES);
}

/** Splits bytes over periods in proportion to the days each covers; the sum stays exact (the rest goes to the last). */
function place(
  cal: ServiceCalendar,
  periods: CalendarPeriod[],
  from: IsoDate,
  to: IsoDate,
  bytes: bigint,
  kind: IntervalKind,
): IntervalPart[] {
  const touched = periods.filter((p) => p.end >= from && p.start <= to);
  const span = daysBetween(from, to) + 1;
  if (touched.length <= 1) {
    const period = touched[0] ?? periodOf(cal.calendar, to);
    return [{ period, kind, bytes, fromDate: from, toDate: to, estimated: span > 1, candidateBytes: null }];
  }
  let given = 0n;
  return touched.map((period, i) => {
    const f = maxDate(from, period.start);
    const t = minDate(to, period.end);
    const share =
      i === touched.length - 1 ? bytes - given : (bytes * BigInt(daysBetween(f, t) + 1)) / BigInt(span);
    given += share;
    return { period, kind, bytes: share, fromDate: f, toDate: t, estimated: true, candidateBytes: null };
  });
}

const closingNow = (periods: CalendarPeriod[], last: IsoDate | null, now: IsoDate): CalendarPeriod[] =>
  periods.filter((p) => p.end <= now && (last === null || p.end > last));

/** The one step of metering: what a new good sample means, given the service's state. */
export function meterStep(state: MeterState, sample: GoodSample, cal: ServiceCalendar): MeterStep {
  const last = state.last;
  if (!last || !state.period) return firstReading(state, sample, cal);
  if (sample.sampledAt <= last.sampledAt || sample.sampleDate <= last.sampleDate) {
    throw new ModuleError(
      'UNEXPECTED_STATE',
      'a sample must be later than the last good sample of its service',
      {
        last: last.sampledAt.toISO(),
        sample: sample.sampledAt.toISO(),
      },
    );
  }
  const c = classify({ ...state, last, period: state.period }, sample, cal);
  const periods = periodsCovering(cal.calendar, state.period, maxDate(c.to, sample.sampleDate));
  let parts: IntervalPart[];
  if (c.kind === 'drop') {
    // One undecided interval, in the period the sample ends in: a decision books it whole.
    const period = periods.find((p) => p.start <= c.to && p.end >= c.to) ?? periods[periods.length - 1]!;
    parts = [
      {
        period,
        kind: c.kind,
        bytes: 0n,
        fromDate: maxDate(c.from, period.start),
        toDate: c.to,
        estimated: false,
        candidateBytes: sample.usedBytes,
      },
    ];
  } else {
    parts = place(cal, periods, c.from, c.to, c.bytes, c.kind);
  }
  const current = periods[periods.length - 1]!;
  return {
    reading: c.reading,
    parts,
    periods,
    closes: closingNow(periods, last.sampleDate, sample.sampleDate),
    anomalies: anomaliesOf(c, { state, last, sample, periods, parts }),
    state: {
      last: sample,
      period: current,
      resetDueOn: c.resetDueOn,
      recentDaily:
        c.kind === 'drop'
          ? (state.recentDaily ?? [])
          : withDays(state.recentDaily ?? [], c.bytes, daysBetween(c.from, c.to) + 1),
    },
    resetAt: c.resetAt,
    unmeasuredAfter: c.unmeasuredAfter,
  };
}

/** A service's first good sample: the baseline, and for a resetting counter this period's traffic so far. */
function firstReading(state: MeterState, sample: GoodSample, cal: ServiceCalendar): MeterStep {
  // A read just after a reset at midnight closes the day before, but its counter is already the
  // new period's: the period is the one the counter's last reset opened.
  const reset = cal.counter.policy === 'never' ? null : lastBoundaryAtOrBefore(cal.counter, sample.sampledAt);
  const period =
    state.period ??
    periodOf(
      cal.calendar,
      reset ? maxDate(sample.sampleDate, localDate(reset, cal.counter.zone)) : sample.sampleDate,
    );
  const periods = periodsCovering(cal.calendar, period, sample.sampleDate);
  const current = periods[periods.length - 1]!;
  // A counter that never resets holds everything since the VPS was made: the first read is
  // only the baseline. One that resets holds this period's traffic so far.
  const parts =
    cal.counter.policy === 'never'
      ? []
      : [
          {
            period: current,
            kind: 'before_metering' as const,
            bytes: sample.usedBytes,
            fromDate: current.start,
            toDate: maxDate(sample.sampleDate, current.start),
            estimated: sample.sampleDate > current.start,
            candidateBytes: null,
          },
        ];
  return {
    reading: 'first',
    parts,
    periods,
    closes: closingNow(periods, null, sample.sampleDate),
    anomalies: [],
    state: { last: sample, period: current, resetDueOn: null, recentDaily: [] },
    resetAt: null,
    unmeasuredAfter: null,
  };
}

/** What the counter did between two reads, and the days and bytes that makes an interval of. */
interface Classified {
  reading: Reading;
  kind: IntervalKind;
  bytes: bigint;
  from: IsoDate;
  to: IsoDate;
  fromDay: IsoDate;
  boundary: DateTime | null;
  boundaryDate: IsoDate | null;
  resetAt: DateTime | null;
  unmeasuredAfter: DateTime | null;
  resetDueOn: IsoDate | null;
}

function classify(
  state: MeterState & { last: GoodSample },
  sample: GoodSample,
  cal: ServiceCalendar,
): Classified {
  const last = state.last;
  const boundary =
    cal.counter.policy === 'never' ? null : boundaryBetween(cal.counter, last.sampledAt, sample.sampledAt);
  const boundaryDate = boundary ? localDate(boundary, cal.counter.zone) : null;
  const fromDay = addDays(last.sampleDate, 1);
  const base = {
    from: fromDay,
    to: sample.sampleDate,
    fromDay,
    boundary,
    boundaryDate,
    resetAt: null,
    unmeasuredAfter: null,
  };
  const dailyBytes = recentPace(state.recentDaily);
  const days = daysBetween(last.sampleDate, sample.sampleDate);
  // At a boundary the reset's moment is known and a correction would have to fall on the same
  // day; a reset that is overdue has no such anchor, so it must also fit the recent pace, and
  // with no pace known (fewer than PACE_MIN_DAYS days metered) it is not read at all.
  if (boundary !== null && (last.usedBytes === 0n || looksLikeReset(last.usedBytes, sample.usedBytes))) {
    // The counter restarted at the boundary: what it holds is traffic since then.
    const from = maxDate(fromDay, boundaryDate!);
    return {
      ...base,
      reading: 'reset',
      kind: 'since_reset',
      bytes: sample.usedBytes,
      from,
      to: maxDate(sample.sampleDate, from),
      resetAt: boundary,
      unmeasuredAfter: last.usedBytes > 0n ? last.sampledAt : null,
      resetDueOn: null,
    };
  }
  if (
    state.resetDueOn !== null &&
    dailyBytes !== null &&
    looksLikeReset(last.usedBytes, sample.usedBytes, { dailyBytes, days })
  ) {
    // The reset SolusVM owed came late, somewhere in this interval; the period stays where it is.
    return {
      ...base,
      reading: 'late_reset',
      kind: 'since_reset',
      bytes: sample.usedBytes,
      unmeasuredAfter: last.sampledAt,
      resetDueOn: null,
    };
  }
  // A drop no one can read may itself be the reset that was due: from then on no drop is read as
  // that reset, or an admin's correction would book the counter's rest as new traffic (and a
  // decision on this drop could book the same bytes again). The admin decides each drop.
  if (sample.usedBytes < last.usedBytes)
    return { ...base, reading: 'drop', kind: 'drop', bytes: 0n, resetDueOn: null };
  const resetDueOn = boundaryDate !== null ? (state.resetDueOn ?? boundaryDate) : state.resetDueOn;
  return {
    ...base,
    reading: boundaryDate !== null ? 'missed_reset' : 'increase',
    kind: fromDay === sample.sampleDate ? 'daily' : 'span',
    bytes: sample.usedBytes - last.usedBytes,
    resetDueOn,
  };
}

type AnomalyFacts = {
  state: MeterState;
  last: GoodSample;
  sample: GoodSample;
  periods: CalendarPeriod[];
  parts: IntervalPart[];
};

/** What the step must tell an admin about: resets not seen or late, drops, days never read, long gaps. */
function anomaliesOf(c: Classified, x: AnomalyFacts): AnomalyPlan[] {
  const current = x.periods[x.periods.length - 1]!;
  const anomalies: AnomalyPlan[] = [];
  const reading = readingAnomaly(c, x, current);
  if (reading) anomalies.push(reading);
  anomalies.push(...unmeasuredAcrossReset(c, x));
  const gap = daysBetween(x.last.sampleDate, x.sample.sampleDate);
  if (gap >= LONG_GAP_DAYS)
    anomalies.push({
      kind: 'long_gap',
      period: current,
      details: { fromDate: c.fromDay, toDate: x.sample.sampleDate, days: gap },
    });
  return anomalies;
}

/** The anomaly the reading itself is: a reset not seen, a late reset or a drop (at most one). */
function readingAnomaly(c: Classified, x: AnomalyFacts, current: CalendarPeriod): AnomalyPlan | null {
  const { last, sample, periods } = x;
  const periodOfDay = (d: IsoDate) => periods.find((p) => p.start <= d && p.end >= d) ?? current;
  if (c.reading === 'missed_reset') {
    return {
      kind: 'reset_not_seen',
      period: periodOfDay(c.boundaryDate!),
      details: {
        expectedOn: c.boundaryDate!,
        counterBytes: sample.usedBytes.toString(),
        lastReadAt: last.sampledAt.toISO()!,
        readAt: sample.sampledAt.toISO()!,
      },
    };
  }
  if (c.reading === 'late_reset') {
    const dueOn = x.state.resetDueOn!;
    return {
      kind: 'late_reset',
      period: periodOfDay(c.to),
      details: {
        dueOn,
        seenOn: sample.sampleDate,
        daysLate: daysBetween(dueOn, sample.sampleDate),
        lastReadAt: last.sampledAt.toISO()!,
        readAt: sample.sampledAt.toISO()!,
        counterBytes: sample.usedBytes.toString(),
      },
    };
  }
  if (c.reading === 'drop') {
    return {
      kind: 'mid_period_drop',
      period: x.parts[0]!.period,
      details: {
        fromBytes: last.usedBytes.toString(),
        toBytes: sample.usedBytes.toString(),
        lastReadAt: last.sampledAt.toISO()!,
        readAt: sample.sampledAt.toISO()!,
      },
    };
  }
  return null;
}

/** A gap across a reset: the last days before it were never read, one anomaly per period they fall in. */
function unmeasuredAcrossReset(c: Classified, x: AnomalyFacts): AnomalyPlan[] {
  const gapAcross =
    c.reading === 'reset' &&
    c.unmeasuredAfter &&
    c.boundary &&
    c.boundary.diff(c.unmeasuredAfter, 'hours').hours > 24;
  if (!gapAcross || !c.boundary) return [];
  const boundary = c.boundary;
  return x.periods
    .filter((q) => q.end >= c.fromDay && q.start < c.from)
    .map((p) => ({
      kind: 'unmeasured',
      period: p,
      details: {
        fromDate: maxDate(c.fromDay, p.start),
        toDate: minDate(addDays(c.from, -1), p.end),
        lastReadAt: x.last.sampledAt.toISO()!,
        resetAt: boundary.toISO()!,
      },
    }));
}

/** Folds samples, oldest first, into the steps metering takes: what a rebuild from the evidence replays. */
export function meterAll(
  samples: readonly GoodSample[],
  calendarAt: (s: GoodSample) => ServiceCalendar,
  start: MeterState = { last: null, period: null, resetDueOn: null, recentDaily: [] },
): { steps: MeterStep[]; state: MeterState } {
  let state = start;
  const steps: MeterStep[] = [];
  for (const s of samples) {
    const step = meterStep(state, s, calendarAt(s));
    steps.push(step);
    state = step.state;
  }
  return { steps, state };
}
