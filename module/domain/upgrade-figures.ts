import { invalidInput } from './errors.js';
import { divRoundHalfUp } from './money.js';
import { rateUsage, type PeriodUsage, type RatingPlan } from './usage-rating.js';

/**
 * What the last periods would have cost on a bigger plan, against what they cost on the plan the
 * client has: for each plan, its recurring price once per period plus the overusage its own
 * allowance and rate give for the traffic the client really used. Pure and exact.
 */
export interface PastPeriod {
  usage: PeriodUsage;
  /** what the period's overusage billed on the current plan (minor units) */
  billedMinor: bigint;
}

export interface PlanOffer {
  productId: number;
  name: string;
  /** the plan's recurring price per period, in the client's currency */
  priceMinor: bigint;
  plan: RatingPlan;
}

export interface PlanComparison {
  productId: number;
  name: string;
  /** price × periods + the overusage each period would have billed on this plan */
  totalMinor: bigint;
  overusageMinor: bigint;
}

export interface UpgradeFigures {
  currency: string;
  periods: number;
  /** what the client paid: the current price per period plus what each period billed */
  currentMinor: bigint;
  /** bigger plans, cheapest over these periods first (ties: the smaller allowance first) */
  offers: PlanComparison[];
}

export function compareUpgrades(
  past: readonly PastPeriod[],
  current: { priceMinor: bigint; plan: RatingPlan },
  offers: readonly PlanOffer[],
): UpgradeFigures {
  if (past.length === 0) throw invalidInput('there are no rated periods to compare');
  const n = BigInt(past.length);
  const currentMinor = current.priceMinor * n + past.reduce((s, p) => s + p.billedMinor, 0n);
  const bigger = offers.filter(
    (o) => o.plan.currency === current.plan.currency && o.plan.allowanceBytes > current.plan.allowanceBytes,
  );
  const compared = bigger.map((o) => {
    const overusageMinor = past.reduce((s, p) => s + rateUsage(p.usage, o.plan).amountMinor, 0n);
    return {
      productId: o.productId,
      name: o.name,
      totalMinor: o.priceMinor * n + overusageMinor,
      overusageMinor,
      allowance: o.plan.allowanceBytes,
    };
  });
  compared.sort((a, b) =>
    a.totalMinor !== b.totalMinor
      ? a.totalMinor < b.totalMinor
        ? -1
        : 1
      : a.allowance < b.allowance
        ? -1
        : a.allowance > b.allowance
          ? 1
          : a.productId - b.productId,
  );
  return {
    currency: current.plan.currency,
    periods: past.length,
    currentMinor,
    offers: compared.map(({ allowance: _a, ...c }) => c),
  };
}

/** The part of a period's overusage credited on an upgrade: percent of the amount, half-up. */
export function upgradeCredit(amountMinor: bigint, percent: number): bigint {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100)
    throw invalidInput('the upgrade credit is a whole percentage from 0 to 100');
  return divRoundHalfUp(amountMinor * BigInt(percent), 100n);
}
