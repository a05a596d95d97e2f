import type { Adjustment } from '../domain/dispute-state.js';
import { invalidInput, type Outcome } from '../domain/errors.js';
import { formatRate, quantityGivesAmount } from '../domain/line-text.js';
import { allocate, divRoundHalfUp, parseDecimal, parseMoney } from '../domain/money.js';
import { upgradeCredit } from '../domain/upgrade-figures.js';
import { rateUsage, ratedChargeFromJson, type RatedCharge } from '../domain/usage-rating.js';
import type { DisputeRecord, StoredRerate } from '../adapters/dispute-store.js';
import { ratingPlan, type BillingProfile } from './billing-settings.js';
import type { DisputeContext } from './dispute-context.js';
import type { ResolveRefusal } from './disputes.js';

export interface AdjustedAmount {
  amountMinor: bigint;
  /** how it was reached, for the admin's preview */
  explanation: string;
  /** a re-rating at the rate agreed in advance, as the decision stores it */
  rerated?: StoredRerate;
}

/** The new amount of an adjustment, exactly, with a sentence saying how. */
export async function adjustedAmount(
  ctx: DisputeContext,
  d: DisputeRecord,
  adjustment: Adjustment,
): Promise<Outcome<AdjustedAmount, ResolveRefusal>> {
  const before = d.amountBeforeMinor;
  if (adjustment.kind === 'share') {
    const pct = parseDecimal(adjustment.percent, 'percent', 2);
    if (pct.units < 0n || pct.units > 100n * 10n ** BigInt(pct.scale))
      throw invalidInput('percent must be between 0 and 100');
    const amount = divRoundHalfUp(before * pct.units, 100n * 10n ** BigInt(pct.scale));
    return {
      ok: true,
      value: { amountMinor: amount, explanation: `${adjustment.percent} % of the original amount` },
    };
  }
  if (adjustment.kind === 'amount') {
    const m = parseMoney(adjustment.amount, d.currency, 'amount');
    if (m.amountMinor > before)
      throw invalidInput('an adjustment cannot raise the amount; uphold the line instead');
    return { ok: true, value: { amountMinor: m.amountMinor, explanation: 'set by hand' } };
  }
  return reratedAtPrecommit(ctx, d);
}

/** What a charge's stored explanation keeps that a re-rating must carry over (module/services/rating.ts, pools.ts). */
interface StoredExplanation {
  rated: Record<string, unknown>;
  profile: BillingProfile;
  /** a pool's month: every member's own bytes over its share, the weights its money was split by */
  pool?: { members?: Array<{ serviceId: number; ownOverBytes: string }> };
  /** one VPS's part of a pool's charge */
  poolPart?: { serviceId: number; amountMinor: string };
  /** the provider's credit on an upgrade: this share of the overusage was not billed */
  upgradeCredit?: { percent: number; creditedMinor: string };
  /** a correction: what the invoices had already billed for the period (the charge bills the rest) */
  correction?: { billedMinor: string };
}

/**
 * Re-rated at the rate agreed in advance: the same period and plan, another rate. What the line
 * bills follows as it did when rated: the plan's cap on the new amount, a VPS's part of a pool
 * split again by the same weights (pools.ts: largest remainder), the upgrade credit taken again
 * from the new amount. The old and new figures of each are kept for the line's text.
 */
async function reratedAtPrecommit(
  ctx: DisputeContext,
  d: DisputeRecord,
): Promise<Outcome<AdjustedAmount, ResolveRefusal>> {
  const currency = d.currency;
  const line = (await ctx.store.line(d.lineId))!;
  const stored = (await ctx.store.charge(line.chargeId))!.explanation as StoredExplanation;
  const rated = ratedChargeFromJson(stored.rated);
  const precommit = stored.profile.prices[currency]?.precommit;
  const again = ratedAtAgreedRate(stored, currency);
  if (!precommit || !again)
    return {
      ok: false,
      code: 'NO_PRECOMMIT_RATE',
      message: `the product has no ${currency} rate agreed in advance (precommit) to re-rate at`,
    };
  const rerated: StoredRerate = {
    from: rated.rate,
    to: again.rate,
    fromMinor: String(rated.roundedMinor),
    toMinor: String(again.roundedMinor),
    exact: quantityGivesAmount(again),
  };
  const capMinor = again.capMinor ?? rated.capMinor;
  if ((rated.capped || again.capped) && capMinor !== null)
    rerated.cap = { minor: String(capMinor), from: rated.capped, to: again.capped };
  let amount = again.amountMinor;
  if (stored.correction) {
    // A correction bills the period's new amount less what the invoices already billed for it
    // (rating.ts); at the agreed rate the same, never below nothing: the decision lowers this line only.
    const billed = BigInt(stored.correction.billedMinor);
    rerated.correction = { fromMinor: String(rated.amountMinor), toMinor: String(again.amountMinor) };
    amount = again.amountMinor > billed ? again.amountMinor - billed : 0n;
  }
  const part = poolPartAgain(stored, amount, again.overBytes);
  if (part !== null) {
    rerated.pool = {
      fromMinor: String(rated.amountMinor),
      toMinor: String(again.amountMinor),
      partFromMinor: stored.poolPart!.amountMinor,
      partToMinor: String(part),
    };
    amount = part;
  }
  if (stored.upgradeCredit) {
    const credited = upgradeCredit(amount, stored.upgradeCredit.percent);
    rerated.upgrade = {
      percent: stored.upgradeCredit.percent,
      fromMinor: stored.upgradeCredit.creditedMinor,
      toMinor: String(credited),
    };
    amount -= credited;
  }
  // a rate agreed in advance above the one billed would raise the line: as for an amount, refused
  if (amount > d.amountBeforeMinor)
    throw invalidInput(
      `the rate agreed in advance (${precommit}) would raise the line above what it bills; uphold the line instead`,
    );
  return {
    ok: true,
    value: {
      amountMinor: amount,
      // the admin's words (English): the rates as money, per the unit billed ("€0.35 per GB instead of €0.50")
      explanation: `re-rated at the rate agreed in advance: ${formatRate(precommit, rated.currency, 'en-GB')} per ${rated.unit} instead of ${formatRate(rated.rate, rated.currency, 'en-GB')}`,
      rerated,
    },
  };
}

/**
 * The charge rated again at the rate agreed in advance, from what its stored explanation keeps
 * (the period's figures and the product's settings when it was rated): the same period and plan,
 * another rate. Null where the product had no such rate. The decision and the evidence both read it.
 */
export function ratedAtAgreedRate(explanation: unknown, currency: string): RatedCharge | null {
  const stored = explanation as StoredExplanation;
  const rated = ratedChargeFromJson(stored.rated);
  const precommit = stored.profile.prices[currency]?.precommit;
  if (!precommit) return null;
  const prices = {
    ...stored.profile.prices,
    [currency]: { ...stored.profile.prices[currency]!, overage: precommit },
  };
  const plan = {
    ...ratingPlan({ ...stored.profile, prices }, currency, rated.allowanceBytes),
    allowanceBytes: rated.fullAllowanceBytes,
  };
  return rateUsage(
    {
      usedBytes: rated.usedBytes,
      days: rated.days,
      nominalDays: rated.nominalDays,
      seconds: rated.periodSeconds,
    },
    plan,
  );
}

/** A VPS's part of the pool's new amount, split by the weights the pool's money was split by (null: not a part). */
function poolPartAgain(stored: StoredExplanation, poolMinor: bigint, overBytes: bigint): bigint | null {
  const part = stored.poolPart;
  const members = stored.pool?.members ?? [];
  if (!part) return null;
  const i = members.findIndex((m) => m.serviceId === part.serviceId);
  const weights = members.map((m) => BigInt(m.ownOverBytes));
  if (i < 0 || weights.reduce((a, b) => a + b, 0n) <= 0n)
    throw new Error(`the pool's stored month has no weights for service ${part.serviceId}`);
  return overBytes > 0n ? allocate(poolMinor, weights)[i]! : 0n;
}
