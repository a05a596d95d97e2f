import { type ByteUnit, UNIT_BYTES } from './bytes.js';
import { invalidInput } from './errors.js';
import { type Decimal, divCeil, divRoundHalfUp, fractionToDecimalString, minorDigits, scaledToString } from './money.js';

/**
 * Rating a closed usage period: overusage priced by the product's model, with every number that
 * went into it, so a line can be explained and disputed. Pure and exact: bytes and money are
 * bigint, rates are scaled decimals, and the only rounding is once per line, half-up.
 */
export type PricingModel =
  /** each unit over the allowance at the rate; fractions of a unit count */
  | { kind: 'per_unit' }
  /** each started block of `blockUnits` units at the rate per block */
  | { kind: 'per_block'; blockUnits: number }
  /** the average rate over the period (bits ÷ seconds) above a committed Mbit/s, at the rate per Mbit/s */
  | { kind: 'avg_mbps'; commitMbps: Decimal }
  /** the 95th percentile of 5-minute rates above a committed Mbit/s, at the rate per Mbit/s */
  | { kind: 'p95'; commitMbps: Decimal };

export type SoldUnit = Extract<ByteUnit, 'GB' | 'GiB' | 'TB' | 'TiB'>;
export const SOLD_UNITS: readonly SoldUnit[] = ['GB', 'GiB', 'TB', 'TiB'];

export interface RatingPlan {
  unit: SoldUnit;
  model: PricingModel;
  /** bytes included in a full period (ignored by the Mbit/s models, whose allowance is the commit) */
  allowanceBytes: bigint;
  /** free bytes above the allowance before anything is billed */
  toleranceBytes: bigint;
  /** per unit (per_unit), per block (per_block) or per Mbit/s (avg_mbps, p95), in major units */
  rate: Decimal;
  currency: string;
  /** a charge below this is written off: recorded and shown, not billed */
  minimumMinor: bigint;
  /** at most this per period */
  capMinor: bigint | null;
  /** shrink the allowance for a period shorter than a full one */
  prorate: boolean;
}

export interface PeriodUsage {
  usedBytes: bigint;
  /** days in this period, and in a full period of the same policy */
  days: number;
  nominalDays: number;
  /** length of the period in seconds (for the average rate) */
  seconds: bigint;
  /** 5-minute average rates in bits per second, where they exist */
  fiveMinuteBps?: readonly bigint[];
}

export type RatingOutcome = 'within_allowance' | 'billed' | 'written_off';

export interface RatedCharge {
  model: PricingModel['kind'];
  unit: SoldUnit;
  currency: string;
  usedBytes: bigint;
  fullAllowanceBytes: bigint;
  allowanceBytes: bigint;
  toleranceBytes: bigint;
  overBytes: bigint;
  /** what the rate is applied to, exact to 6 decimals, and in what */
  quantity: string;
  quantityUnit: SoldUnit | 'block' | 'Mbit/s';
  rate: string;
  /** the amount before rounding, in major units, 10 decimals */
  preciseAmount: string;
  /** rounded once, half-up, before cap and minimum */
  roundedMinor: bigint;
  capped: boolean;
  /** what the line bills (0 when within the allowance or written off) */
  amountMinor: bigint;
  outcome: RatingOutcome;
  /** for the Mbit/s models: the measured rate that was compared with the commit, bits per second */
  measuredBps: bigint | null;
  commitBps: bigint | null;
}

const MBPS = 1_000_000n;

export function validatePlan(plan: RatingPlan): RatingPlan {
  if (!SOLD_UNITS.includes(plan.unit)) throw invalidInput(`the unit sold must be one of ${SOLD_UNITS.join(', ')}`);
  if (plan.allowanceBytes < 0n || plan.toleranceBytes < 0n) throw invalidInput('allowance and tolerance must not be negative');
  if (plan.rate.units < 0n) throw invalidInput('the rate must not be negative');
  if (plan.minimumMinor < 0n) throw invalidInput('the minimum charge must not be negative');
  if (plan.capMinor !== null && plan.capMinor < 0n) throw invalidInput('the cap must not be negative');
  if (plan.model.kind === 'per_block' && (!Number.isInteger(plan.model.blockUnits) || plan.model.blockUnits < 1)) {
    throw invalidInput('a block must be a whole number of units, at least 1');
  }
  return plan;
}

/** Allowance for a partial period: rounded up to the byte, in the client's favour. */
export function proratedAllowance(allowance: bigint, days: number, nominalDays: number): bigint {
  if (days >= nominalDays) return allowance;
  return divCeil(allowance * BigInt(days), BigInt(nominalDays));
}

/** The 95th percentile: sort, drop the top 5 % (rounded down), take the highest that is left. */
export function percentile95(samples: readonly bigint[]): bigint {
  if (samples.length === 0) throw invalidInput('the 95th percentile needs 5-minute samples, and this period has none');
  const sorted = [...samples].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const keep = sorted.length - Math.floor(sorted.length / 20);
  return sorted[keep - 1]!;
}

export function rateUsage(usage: PeriodUsage, plan: RatingPlan): RatedCharge {
  validatePlan(plan);
  if (usage.usedBytes < 0n) throw invalidInput('used bytes must not be negative');
  const digits = BigInt(minorDigits(plan.currency));
  const rateScale = 10n ** BigInt(plan.rate.scale);
  const rateText = scaledToString(plan.rate.units, plan.rate.scale);
  const unitBytes = UNIT_BYTES[plan.unit];

  // amount in minor units = numerator / denominator, exact until the one rounding
  let numerator: bigint;
  let denominator: bigint;
  let quantity: string;
  let quantityUnit: RatedCharge['quantityUnit'];
  let allowanceBytes: bigint;
  let overBytes: bigint;
  let measuredBps: bigint | null = null;
  let commitBps: bigint | null = null;

  switch (plan.model.kind) {
    case 'per_unit':
    case 'per_block': {
      allowanceBytes = plan.prorate ? proratedAllowance(plan.allowanceBytes, usage.days, usage.nominalDays) : plan.allowanceBytes;
      overBytes = maxZero(usage.usedBytes - allowanceBytes - plan.toleranceBytes);
      if (plan.model.kind === 'per_unit') {
        numerator = overBytes * plan.rate.units * 10n ** digits;
        denominator = unitBytes * rateScale;
        quantity = fractionToDecimalString(overBytes, unitBytes, 6);
        quantityUnit = plan.unit;
      } else {
        const blockBytes = unitBytes * BigInt(plan.model.blockUnits);
        const blocks = divCeil(overBytes, blockBytes);
        numerator = blocks * plan.rate.units * 10n ** digits;
        denominator = rateScale;
        quantity = blocks.toString();
        quantityUnit = 'block';
      }
      break;
    }
    case 'avg_mbps':
    case 'p95': {
      if (usage.seconds <= 0n) throw invalidInput('a period must last at least one second to have an average rate');
      commitBps = (plan.model.commitMbps.units * MBPS) / 10n ** BigInt(plan.model.commitMbps.scale);
      // The allowance of a committed rate is what that rate moves in the period.
      allowanceBytes = (commitBps * usage.seconds) / 8n;
      const billable = maxZero(usage.usedBytes - plan.toleranceBytes);
      overBytes = maxZero(usage.usedBytes - allowanceBytes - plan.toleranceBytes);
      // over Mbit/s = (measured bps − commit bps) / 10^6, as a fraction over `den`
      let overNum: bigint;
      let den: bigint;
      if (plan.model.kind === 'avg_mbps') {
        measuredBps = (billable * 8n) / usage.seconds;
        overNum = maxZero(billable * 8n - commitBps * usage.seconds);
        den = usage.seconds * MBPS;
      } else {
        measuredBps = percentile95(usage.fiveMinuteBps ?? []);
        overNum = maxZero(measuredBps - commitBps);
        den = MBPS;
      }
      numerator = overNum * plan.rate.units * 10n ** digits;
      denominator = den * rateScale;
      quantity = fractionToDecimalString(overNum, den, 6);
      quantityUnit = 'Mbit/s';
      break;
    }
  }

  const roundedMinor = divRoundHalfUp(numerator, denominator);
  const capped = plan.capMinor !== null && roundedMinor > plan.capMinor;
  const afterCap = capped ? plan.capMinor! : roundedMinor;
  let outcome: RatingOutcome;
  if (afterCap === 0n) outcome = 'within_allowance';
  else if (afterCap < plan.minimumMinor) outcome = 'written_off';
  else outcome = 'billed';
  return {
    model: plan.model.kind,
    unit: plan.unit,
    currency: plan.currency,
    usedBytes: usage.usedBytes,
    fullAllowanceBytes: plan.model.kind === 'per_unit' || plan.model.kind === 'per_block' ? plan.allowanceBytes : allowanceBytes,
    allowanceBytes,
    toleranceBytes: plan.toleranceBytes,
    overBytes,
    quantity,
    quantityUnit,
    rate: rateText,
    preciseAmount: fractionToDecimalString(numerator, denominator * 10n ** digits, 10),
    roundedMinor,
    capped,
    amountMinor: outcome === 'billed' ? afterCap : 0n,
    outcome,
    measuredBps,
    commitBps,
  };
}

const maxZero = (v: bigint): bigint => (v > 0n ? v : 0n);
