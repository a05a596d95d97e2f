import { type ByteUnit, UNIT_BYTES } from './bytes.js';
import { invalidInput } from './errors.js';
import {
  assertCurrency,
  type Decimal,
  divCeil,
  divRoundHalfUp,
  fractionToDecimalString,
  minorDigits,
  parseDecimal,
  RATE_SCALE,
  scaledToString,
} from './money.js';

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
  /** the allowance applied: prorated for a short period, or what the commit moves in the period */
  allowanceBytes: bigint;
  /** true when the allowance was shrunk for a short period */
  prorated: boolean;
  /** days in the period and in a full one (what the proration used) */
  days: number;
  nominalDays: number;
  periodSeconds: bigint;
  /** the free tolerance applied (always 0 for p95, which rates a rate, not bytes) */
  toleranceBytes: bigint;
  overBytes: bigint;
  /** what the rate is applied to, exact to 6 decimals (half-up), and in what */
  quantity: string;
  quantityUnit: SoldUnit | 'block' | 'Mbit/s';
  /** per_block: the size of a block in sold units; otherwise null */
  blockUnits: number | null;
  rate: string;
  /** the amount before rounding, in major units, 10 decimals */
  preciseAmount: string;
  /** rounded once, half-up, before cap and minimum */
  roundedMinor: bigint;
  capped: boolean;
  capMinor: bigint | null;
  minimumMinor: bigint;
  /** what the line bills (0 when within the allowance or written off) */
  amountMinor: bigint;
  /** what would have been billed had it not been written off (0 otherwise) */
  writtenOffMinor: bigint;
  outcome: RatingOutcome;
  /**
   * for the Mbit/s models, bits per second: the measured rate (avg_mbps: all used bytes × 8 ÷
   * seconds, half-up; p95: the 95th-percentile sample) and the commit
   */
  measuredBps: bigint | null;
  commitBps: bigint | null;
}

const MBPS = 1_000_000n;

const isScale = (scale: number): boolean => Number.isInteger(scale) && scale >= 0 && scale <= RATE_SCALE;

export function validatePlan(plan: RatingPlan): RatingPlan {
  if (!SOLD_UNITS.includes(plan.unit))
    throw invalidInput(`the unit sold must be one of ${SOLD_UNITS.join(', ')}`);
  assertCurrency(plan.currency);
  if (plan.allowanceBytes < 0n || plan.toleranceBytes < 0n)
    throw invalidInput('allowance and tolerance must not be negative');
  if (plan.rate.units < 0n) throw invalidInput('the rate must not be negative');
  if (!isScale(plan.rate.scale)) throw invalidInput(`the rate has at most ${RATE_SCALE} decimals`);
  if (plan.minimumMinor < 0n) throw invalidInput('the minimum charge must not be negative');
  if (plan.capMinor !== null && plan.capMinor < 0n) throw invalidInput('the cap must not be negative');
  switch (plan.model.kind) {
    case 'per_unit':
      break;
    case 'per_block':
      if (!Number.isSafeInteger(plan.model.blockUnits) || plan.model.blockUnits < 1) {
        throw invalidInput('a block must be a whole number of units, at least 1');
      }
      break;
    case 'p95':
    case 'avg_mbps':
      if (plan.model.commitMbps.units < 0n || !isScale(plan.model.commitMbps.scale)) {
        throw invalidInput(
          `the committed rate must be a non-negative number of Mbit/s with at most ${RATE_SCALE} decimals`,
        );
      }
      // A byte tolerance has no meaning against a percentile of rates; refuse it rather than ignore it.
      if (plan.model.kind === 'p95' && plan.toleranceBytes > 0n) {
        throw invalidInput(
          'a free tolerance in bytes does not apply to 95th-percentile billing; set it to 0 or raise the commit',
        );
      }
      break;
    default:
      throw invalidInput('unknown pricing model');
  }
  return plan;
}

function validateUsage(usage: PeriodUsage): void {
  if (usage.usedBytes < 0n) throw invalidInput('used bytes must not be negative');
  if (!Number.isSafeInteger(usage.nominalDays) || usage.nominalDays < 1)
    throw invalidInput('a full period has at least one day');
  if (!Number.isSafeInteger(usage.days) || usage.days < 0)
    throw invalidInput('the days of a period must be a whole number, not negative');
  if (usage.seconds < 0n) throw invalidInput('the length of a period must not be negative');
  if (usage.fiveMinuteBps?.some((b) => b < 0n)) throw invalidInput('a 5-minute rate must not be negative');
}

/** Allowance for a partial period: rounded up to the byte, in the client's favour. */
export function proratedAllowance(allowance: bigint, days: number, nominalDays: number): bigint {
  if (days >= nominalDays) return allowance;
  return divCeil(allowance * BigInt(days), BigInt(nominalDays));
}

/**
 * The 95th percentile (docs/billing-rules.md, "95th percentile"): sort, drop the top 5 % rounded down, bill the highest
 * sample left. 8 640 five-minute samples (30 days) → drop 432, bill the 8 208th from the bottom.
 */
export function percentile95(samples: readonly bigint[]): bigint {
  if (samples.length === 0)
    throw invalidInput('the 95th percentile needs 5-minute samples, and this period has none');
  const sorted = [...samples].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const keep = sorted.length - Math.floor(sorted.length / 20);
  return sorted[keep - 1]!;
}

/** The rate of one currency from a product's rates ({ EUR: "0.50", JPY: "80" }), parsed once. */
export function rateFor(rates: Readonly<Record<string, string>>, currency: string): Decimal {
  assertCurrency(currency);
  const text = Object.hasOwn(rates, currency) ? rates[currency] : undefined;
  if (text === undefined) throw invalidInput(`the product has no overusage rate in ${currency}`);
  return parseDecimal(text, `the ${currency} rate`, RATE_SCALE);
}

/** What a pricing model measured: the amount as an exact fraction of minor units, and its figures. */
interface Measured {
  /** amount in minor units = numerator / denominator, exact until the one rounding */
  numerator: bigint;
  denominator: bigint;
  quantity: string;
  quantityUnit: RatedCharge['quantityUnit'];
  allowanceBytes: bigint;
  overBytes: bigint;
  toleranceBytes: bigint;
  blockUnits: number | null;
  /** whether anything at all is over the allowance (the amount may still round to 0) */
  over: boolean;
  measuredBps: bigint | null;
  commitBps: bigint | null;
}

/** Per unit and per started block: bytes over the (prorated) allowance and the tolerance. */
function measureVolume(
  usage: PeriodUsage,
  plan: RatingPlan,
  model: Extract<PricingModel, { kind: 'per_unit' | 'per_block' }>,
): Measured {
  const digits = 10n ** BigInt(minorDigits(plan.currency));
  const rateScale = 10n ** BigInt(plan.rate.scale);
  const unitBytes = UNIT_BYTES[plan.unit];
  const allowanceBytes = plan.prorate
    ? proratedAllowance(plan.allowanceBytes, usage.days, usage.nominalDays)
    : plan.allowanceBytes;
  const overBytes = maxZero(usage.usedBytes - allowanceBytes - plan.toleranceBytes);
  const common = {
    allowanceBytes,
    overBytes,
    toleranceBytes: plan.toleranceBytes,
    over: overBytes > 0n,
    measuredBps: null,
    commitBps: null,
  };
  if (model.kind === 'per_unit') {
    return {
      ...common,
      numerator: overBytes * plan.rate.units * digits,
      denominator: unitBytes * rateScale,
      quantity: fractionToDecimalString(overBytes, unitBytes, RATE_SCALE),
      quantityUnit: plan.unit,
      blockUnits: null,
    };
  }
  const blocks = divCeil(overBytes, unitBytes * BigInt(model.blockUnits));
  return {
    ...common,
    numerator: blocks * plan.rate.units * digits,
    denominator: rateScale,
    quantity: blocks.toString(),
    quantityUnit: 'block',
    blockUnits: model.blockUnits,
  };
}

/** Average Mbit/s and 95th percentile: the rate over the commit, in Mbit/s. */
function measureRate(
  usage: PeriodUsage,
  plan: RatingPlan,
  model: Extract<PricingModel, { kind: 'avg_mbps' | 'p95' }>,
): Measured {
  if (usage.seconds <= 0n)
    throw invalidInput('a period must last at least one second to have an average rate');
  const digits = 10n ** BigInt(minorDigits(plan.currency));
  const rateScale = 10n ** BigInt(plan.rate.scale);
  // exact: the commit has at most 6 decimals of Mbit/s, i.e. whole bits per second
  const commitBps = (model.commitMbps.units * MBPS) / 10n ** BigInt(model.commitMbps.scale);
  // What the commit moves in the period, rounded down so that overBytes > 0 exactly when the
  // average is over the commit.
  const allowanceBytes = (commitBps * usage.seconds) / 8n;
  const toleranceBytes = model.kind === 'p95' ? 0n : plan.toleranceBytes;
  const overBytes = maxZero(usage.usedBytes - allowanceBytes - toleranceBytes);
  // over Mbit/s = overNum / den
  let overNum: bigint;
  let den: bigint;
  let measuredBps: bigint;
  if (model.kind === 'avg_mbps') {
    measuredBps = divRoundHalfUp(usage.usedBytes * 8n, usage.seconds);
    overNum = maxZero((usage.usedBytes - toleranceBytes) * 8n - commitBps * usage.seconds);
    den = usage.seconds * MBPS;
  } else {
    measuredBps = percentile95(usage.fiveMinuteBps ?? []);
    overNum = maxZero(measuredBps - commitBps);
    den = MBPS;
  }
  return {
    numerator: overNum * plan.rate.units * digits,
    denominator: den * rateScale,
    quantity: fractionToDecimalString(overNum, den, RATE_SCALE),
    quantityUnit: 'Mbit/s',
    allowanceBytes,
    overBytes,
    toleranceBytes,
    blockUnits: null,
    over: overNum > 0n,
    measuredBps,
    commitBps,
  };
}

export function rateUsage(usage: PeriodUsage, plan: RatingPlan): RatedCharge {
  validatePlan(plan);
  validateUsage(usage);
  const model = plan.model;
  const m =
    model.kind === 'per_unit' || model.kind === 'per_block'
      ? measureVolume(usage, plan, model)
      : measureRate(usage, plan, model);
  return finalise(usage, plan, m);
}

/** The shared end of every model: the one rounding, the cap, the minimum, and the explanation. */
function finalise(usage: PeriodUsage, plan: RatingPlan, m: Measured): RatedCharge {
  const digits = 10n ** BigInt(minorDigits(plan.currency));
  const roundedMinor = divRoundHalfUp(m.numerator, m.denominator);
  const capped = plan.capMinor !== null && roundedMinor > plan.capMinor;
  const afterCap = capped ? plan.capMinor! : roundedMinor;
  // Over the allowance is never "within" it, even when the amount rounds to nothing: it is
  // written off, so that it stays visible (and counts for the upgrade suggestion).
  let outcome: RatingOutcome;
  if (!m.over) outcome = 'within_allowance';
  else if (afterCap === 0n || afterCap < plan.minimumMinor) outcome = 'written_off';
  else outcome = 'billed';
  const volume = plan.model.kind === 'per_unit' || plan.model.kind === 'per_block';
  return {
    model: plan.model.kind,
    unit: plan.unit,
    currency: plan.currency,
    usedBytes: usage.usedBytes,
    fullAllowanceBytes: volume ? plan.allowanceBytes : m.allowanceBytes,
    allowanceBytes: m.allowanceBytes,
    prorated: volume && m.allowanceBytes !== plan.allowanceBytes,
    days: usage.days,
    nominalDays: usage.nominalDays,
    periodSeconds: usage.seconds,
    toleranceBytes: m.toleranceBytes,
    overBytes: m.overBytes,
    quantity: m.quantity,
    quantityUnit: m.quantityUnit,
    blockUnits: m.blockUnits,
    rate: scaledToString(plan.rate.units, plan.rate.scale),
    preciseAmount: fractionToDecimalString(m.numerator, m.denominator * digits, 10),
    roundedMinor,
    capped,
    capMinor: plan.capMinor,
    minimumMinor: plan.minimumMinor,
    amountMinor: outcome === 'billed' ? afterCap : 0n,
    writtenOffMinor: outcome === 'written_off' ? afterCap : 0n,
    outcome,
    measuredBps: m.measuredBps,
    commitBps: m.commitBps,
  };
}

const maxZero = (v: bigint): bigint => (v > 0n ? v : 0n);

const BIGINT_FIELDS = [
  'usedBytes',
  'fullAllowanceBytes',
  'allowanceBytes',
  'periodSeconds',
  'toleranceBytes',
  'overBytes',
  'roundedMinor',
  'capMinor',
  'minimumMinor',
  'amountMinor',
  'writtenOffMinor',
  'measuredBps',
  'commitBps',
] as const satisfies ReadonlyArray<keyof RatedCharge>;

/**
 * A rated charge read back from JSON (bigints stored as strings): every bigint field revived, so a
 * presenter never meets a string where it expects a bigint. Fields that older records lack get the
 * value they implied (no cap, no minimum, nothing written off unless the outcome says so).
 */
export function ratedChargeFromJson(record: Readonly<Record<string, unknown>>): RatedCharge {
  const big = (k: string): bigint | null => {
    const v = record[k];
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw invalidInput(`a stored charge has a bad ${k}`, { value: String(v) });
  };
  const out = { ...record } as Record<string, unknown>;
  for (const k of BIGINT_FIELDS) out[k] = big(k);
  const r = out as unknown as RatedCharge;
  for (const k of [
    'usedBytes',
    'fullAllowanceBytes',
    'allowanceBytes',
    'toleranceBytes',
    'overBytes',
    'roundedMinor',
    'amountMinor',
  ] as const) {
    if (r[k] === null) throw invalidInput(`a stored charge lacks ${k}`);
  }
  r.minimumMinor ??= 0n;
  r.periodSeconds ??= 0n;
  r.writtenOffMinor ??=
    r.outcome === 'written_off' ? (r.capped && r.capMinor !== null ? r.capMinor : r.roundedMinor) : 0n;
  r.blockUnits ??= null;
  r.prorated ??=
    r.allowanceBytes !== r.fullAllowanceBytes && (r.model === 'per_unit' || r.model === 'per_block');
  return r;
}
