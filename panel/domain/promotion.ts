/**
 * A promotion's rules for an order (pure), as WHMCS's documentation describes them
 * (docs.whmcs.com/products/promotions): a Percentage or a Fixed Amount off the price, on the first
 * invoice only or, when recurring, on every renewal too; for the products it applies to and, when
 * cycles are listed, only those billing cycles; between its start and expiry dates; up to its
 * maximum uses. WHMCS's "Recur For" limit and the Price Override and Free Setup types are not
 * modelled: the panel refuses to store them (records.ts), so they never reach an order.
 */
import type { IsoDate } from '../../module/domain/calendar.js';
import type { BillingCycle } from './billing-cycle.js';
import { formatMoney, minBig, mulDivHalfUp } from './money.js';

export const PROMOTION_TYPES = ['Percentage', 'Fixed Amount'] as const;
export type PromotionType = (typeof PROMOTION_TYPES)[number];

export interface Promotion {
  id: number;
  code: string;
  type: PromotionType;
  recurring: boolean;
  /** a percentage or an amount, in hundredths */
  valueMinor: bigint;
  /** product ids; empty: none (AddOrder's promooverride applies it to every item anyway) */
  appliesto: number[];
  /** WHMCS's cycle names; empty: every cycle */
  cycles: string[];
  startdate: IsoDate | null;
  expirationdate: IsoDate | null;
  /** 0: unlimited */
  maxuses: number;
  uses: number;
}

export type PromotionRefusal = 'notStarted' | 'expired' | 'usedUp';

/** Why the code cannot be used today at all (null: it can). Both dates are inclusive. */
export function promotionRefusal(p: Promotion, today: IsoDate): PromotionRefusal | null {
  if (p.startdate !== null && today < p.startdate) return 'notStarted';
  if (p.expirationdate !== null && today > p.expirationdate) return 'expired';
  if (p.maxuses > 0 && p.uses >= p.maxuses) return 'usedUp';
  return null;
}

/** Whether the promotion applies to one ordered product in one cycle. */
export const promotionApplies = (
  p: Promotion,
  productId: number,
  cycle: BillingCycle,
  override: boolean,
): boolean =>
  (override || p.appliesto.includes(productId)) &&
  (p.cycles.length === 0 || p.cycles.some((c) => c.toLowerCase() === cycle.toLowerCase()));

/**
 * The discount on a price (minor units): a percentage rounded half up to the cent once, or the
 * fixed amount, never more than the price itself (a promotion never makes a line negative).
 */
export function promotionDiscount(p: Promotion, priceMinor: bigint): bigint {
  if (priceMinor <= 0n) return 0n;
  const off = p.type === 'Percentage' ? mulDivHalfUp(priceMinor, p.valueMinor, 10_000n) : p.valueMinor;
  return minBig(off, priceMinor);
}

/** The invoice line's text: "Promotional Code: SPRING10 - 10.00% Recurring Discount". */
export function promotionLineText(p: Promotion): string {
  const value = p.type === 'Percentage' ? `${formatMoney(p.valueMinor)}%` : formatMoney(p.valueMinor);
  return `Promotional Code: ${p.code} - ${value} ${p.recurring ? 'Recurring' : 'One Time'} Discount`;
}
