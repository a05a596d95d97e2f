import type { DateTime } from 'luxon';
import { addDays, type IsoDate, localDate, maxDate } from './calendar.js';
import { ModuleError } from './errors.js';
import { boundaryBetween, expectedEndDate, policyPeriodAt, type ResetRule } from './reset-policy.js';

/**
 * Deriving traffic from a cumulative counter. SolusVM only tells us "used since the last reset";
 * every figure we bill is the difference between two good samples (an interval). A decrease is a
 * reset. Nothing here reads or writes: the store applies the step this returns.
 */

export interface GoodSample {
  usedBytes: bigint;
  sampledAt: DateTime;
  /** The day the sample closes (see `closingDateOf`). */
  sampleDate: IsoDate;
}

export interface OpenPeriod {
  startDate: IsoDate;
  endDate: IsoDate | null;
}

export type IntervalKind =
  /** between the samples that close two consecutive days: one day, measured */
  | 'daily'
  /** between samples more than a day apart (a gap): exact in total, per day only an estimate */
  | 'span'
  /** from a counter reset to the first sample after it: the counter restarted at 0 */
  | 'since_reset'
  /** from the start of the period to the first sample we ever took of this service */
  | 'before_metering';

export interface IntervalPlan {
  kind: IntervalKind;
  bytes: bigint;
  /** first and last day the bytes belong to, inclusive */
  fromDate: IsoDate;
  toDate: IsoDate;
}

export interface PeriodPlan {
  startDate: IsoDate;
  endDate: IsoDate | null;
  openedBy: 'policy_reset' | 'manual_reset' | 'first_sample';
}

export type MeterStep =
  | { kind: 'first'; period: PeriodPlan; interval: IntervalPlan }
  | { kind: 'continue'; interval: IntervalPlan; anomaly: 'reset_not_seen' | null }
  | {
      kind: 'reset';
      resetKind: 'policy' | 'manual';
      /** the old period ends the day before the new one starts */
      closeEndDate: IsoDate;
      /** the reset instant when the policy gives it; else null (a manual reset happened somewhere between the samples) */
      resetAt: DateTime | null;
      /** traffic after this instant and before the reset is gone: SolusVM zeroed it before we read it */
      unmeasuredAfter: DateTime;
      period: PeriodPlan;
      interval: IntervalPlan;
    };

const spanKind = (from: IsoDate, to: IsoDate): IntervalKind => (from === to ? 'daily' : 'span');

/** The one step of metering: what a new good sample means, given the last good one. */
export function meterStep(
  last: GoodSample | null,
  open: OpenPeriod | null,
  sample: GoodSample,
  rule: ResetRule,
): MeterStep {
  if (!last || !open) {
    const policyPeriod = policyPeriodAt(rule, sample.sampledAt);
    const period: PeriodPlan = policyPeriod
      ? { ...policyPeriod, openedBy: 'first_sample' }
      : { startDate: sample.sampleDate, endDate: null, openedBy: 'first_sample' };
    return {
      kind: 'first',
      period,
      interval: {
        kind: 'before_metering',
        bytes: sample.usedBytes,
        fromDate: period.startDate,
        toDate: maxDate(sample.sampleDate, period.startDate),
      },
    };
  }
  if (sample.sampledAt <= last.sampledAt || sample.sampleDate <= last.sampleDate) {
    throw new ModuleError('UNEXPECTED_STATE', 'a sample must be later than the last good sample of its service', {
      last: last.sampledAt.toISO(),
      sample: sample.sampledAt.toISO(),
    });
  }
  const boundary = boundaryBetween(rule, last.sampledAt, sample.sampledAt);
  const decreased = sample.usedBytes < last.usedBytes;
  // A boundary passed but the counter did not go down. With nothing counted before, both readings
  // agree (a reset from 0); otherwise we cannot tell, so we keep counting and flag it.
  const policyReset = boundary !== null && (decreased || last.usedBytes === 0n);

  if (policyReset || decreased) {
    const resetKind = policyReset ? 'policy' : 'manual';
    let startDate: IsoDate;
    let endDate: IsoDate | null;
    if (policyReset) {
      startDate = localDate(boundary!, rule.zone);
      endDate = expectedEndDate(rule, startDate);
    } else {
      // The reset happened somewhere after the last sample: the new period takes the first day
      // the last sample did not close; SolusVM still resets on its policy afterwards.
      startDate = maxDate(addDays(last.sampleDate, 1), addDays(open.startDate, 1));
      endDate = policyPeriodAt(rule, sample.sampledAt)?.endDate ?? null;
      if (endDate !== null && endDate < startDate) endDate = expectedEndDate(rule, startDate);
    }
    const fromDate = maxDate(addDays(last.sampleDate, 1), startDate);
    return {
      kind: 'reset',
      resetKind,
      closeEndDate: addDays(startDate, -1),
      resetAt: policyReset ? boundary : null,
      unmeasuredAfter: last.sampledAt,
      period: { startDate, endDate, openedBy: policyReset ? 'policy_reset' : 'manual_reset' },
      interval: { kind: 'since_reset', bytes: sample.usedBytes, fromDate, toDate: maxDate(sample.sampleDate, fromDate) },
    };
  }

  const fromDate = maxDate(addDays(last.sampleDate, 1), open.startDate);
  const toDate = maxDate(sample.sampleDate, fromDate);
  return {
    kind: 'continue',
    anomaly: boundary !== null ? 'reset_not_seen' : null,
    interval: { kind: spanKind(fromDate, toDate), bytes: sample.usedBytes - last.usedBytes, fromDate, toDate },
  };
}
