import { UNIT_BYTES } from './bytes.js';
import { invalidInput } from './errors.js';
import { minorDigits } from './money.js';
import { rateUsage, type RatingPlan } from './usage-rating.js';

/**
 * A client's own monthly cap on overusage: an amount of money or of bytes over the allowance he is
 * willing to pay for, and what happens when it is reached (throttle or suspend until the next
 * period). Two rules follow from it, both exact:
 *  - the limit policy acts once the service has used its allowance, the free tolerance and the
 *    bytes the cap pays for (capOverBytes);
 *  - the period never bills more than the cap (capMinor): a bytes cap bills at most what those
 *    bytes cost.
 */
export interface ClientCap {
  kind: 'money' | 'bytes';
  /** minor units of `currency` (money), or bytes */
  amount: bigint;
  currency: string | null;
  action: 'throttle' | 'suspend';
}

function assertVolume(plan: RatingPlan): void {
  if (plan.model.kind !== 'per_unit' && plan.model.kind !== 'per_block')
    throw invalidInput(`a cap applies to billing per unit or per block of bytes, not ${plan.model.kind}`);
}

function assertCurrencyOf(cap: ClientCap, plan: RatingPlan): void {
  if (cap.kind === 'money' && cap.currency !== plan.currency)
    throw invalidInput(`the cap is in ${cap.currency}, but the service is billed in ${plan.currency}`);
}

/**
 * The bytes over the allowance (and tolerance) the cap pays for; null when it pays for any amount
 * (a rate of 0 never reaches a money cap). Money: the most bytes whose exact price is at most the
 * cap — per unit, ⌊cap × unit bytes ÷ rate⌋; per block, the whole blocks the cap pays for.
 */
export function capOverBytes(cap: ClientCap, plan: RatingPlan): bigint | null {
  assertVolume(plan);
  assertCurrencyOf(cap, plan);
  if (cap.kind === 'bytes') return cap.amount;
  if (plan.rate.units === 0n) return null;
  const perMinor = 10n ** BigInt(minorDigits(plan.currency));
  const rateScale = 10n ** BigInt(plan.rate.scale);
  const unitBytes = UNIT_BYTES[plan.unit];
  if (plan.model.kind === 'per_unit')
    return (cap.amount * unitBytes * rateScale) / (plan.rate.units * perMinor);
  const blockBytes = unitBytes * BigInt(plan.model.kind === 'per_block' ? plan.model.blockUnits : 1);
  return ((cap.amount * rateScale) / (plan.rate.units * perMinor)) * blockBytes;
}

/** The most the period may bill under the cap, in minor units (a bytes cap: what its bytes cost, rounded once). */
export function capMinor(cap: ClientCap, plan: RatingPlan): bigint {
  assertVolume(plan);
  assertCurrencyOf(cap, plan);
  if (cap.kind === 'money') return cap.amount;
  const base = plan.allowanceBytes + plan.toleranceBytes;
  return rateUsage(
    { usedBytes: base + cap.amount, days: 1, nominalDays: 1, seconds: 86_400n },
    { ...plan, prorate: false, capMinor: null, minimumMinor: 0n },
  ).roundedMinor;
}

/** The plan with the client's cap as its cap (the lower of the provider's and the client's). */
export function cappedPlan(plan: RatingPlan, cap: ClientCap | null): RatingPlan {
  if (!cap) return plan;
  const c = capMinor(cap, plan);
  return { ...plan, capMinor: plan.capMinor === null || c < plan.capMinor ? c : plan.capMinor };
}
