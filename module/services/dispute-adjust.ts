import type { Adjustment } from '../domain/dispute-state.js';
import { invalidInput, type Outcome } from '../domain/errors.js';
import { quantityGivesAmount } from '../domain/line-text.js';
import { divRoundHalfUp, parseDecimal, parseMoney } from '../domain/money.js';
import { rateUsage, ratedChargeFromJson } from '../domain/usage-rating.js';
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

/** Re-rated at the rate agreed in advance: the same period and plan, another rate. */
async function reratedAtPrecommit(
  ctx: DisputeContext,
  d: DisputeRecord,
): Promise<Outcome<AdjustedAmount, ResolveRefusal>> {
  const currency = d.currency;
  const line = (await ctx.store.line(d.lineId))!;
  const stored = (await ctx.store.charge(line.chargeId))!.explanation as {
    rated: Record<string, unknown>;
    profile: BillingProfile;
  };
  const rated = ratedChargeFromJson(stored.rated);
  const precommit = stored.profile.prices[currency]?.precommit;
  if (!precommit)
    return {
      ok: false,
      code: 'NO_PRECOMMIT_RATE',
      message: `the product has no ${currency} rate agreed in advance (precommit) to re-rate at`,
    };
  const prices = {
    ...stored.profile.prices,
    [currency]: { ...stored.profile.prices[currency]!, overage: precommit },
  };
  const plan = {
    ...ratingPlan({ ...stored.profile, prices }, currency, rated.allowanceBytes),
    allowanceBytes: rated.fullAllowanceBytes,
  };
  const again = rateUsage(
    {
      usedBytes: rated.usedBytes,
      days: rated.days,
      nominalDays: rated.nominalDays,
      seconds: rated.periodSeconds,
    },
    plan,
  );
  return {
    ok: true,
    value: {
      amountMinor: again.amountMinor,
      explanation: `re-rated at the rate agreed in advance (${precommit} instead of ${rated.rate})`,
      rerated: {
        from: rated.rate,
        to: again.rate,
        fromMinor: String(rated.roundedMinor),
        toMinor: String(again.roundedMinor),
        exact: quantityGivesAmount(again),
      },
    },
  };
}
