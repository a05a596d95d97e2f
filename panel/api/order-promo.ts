/**
 * AddOrder's promocode (developers.whmcs.com/api-reference/addorder/: "The promotion code to
 * apply to the order"; promooverride: "apply to the order even without matching promotional
 * products"). The code is looked up as typed (case-insensitively, as the order form takes it);
 * a code that does not exist, is not valid yet, has expired or is used up refuses the order
 * before anything is written, as does one that applies to none of its items. WHMCS documents no
 * error for these; the sentences are the panel's (core/errors.ts).
 */
import { dateCell, intCell, moneyCell, textCell, type Db } from '../db/rows.js';
import type { IsoDate } from '../../module/domain/calendar.js';
import {
  PROMOTION_TYPES,
  promotionRefusal,
  type Promotion,
  type PromotionType,
} from '../domain/promotion.js';
import { CommandError, MSG } from '../core/errors.js';

const list = (v: unknown): string[] =>
  textCell(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function promotionOf(r: Record<string, unknown>): Promotion {
  const type = textCell(r.type);
  return {
    id: intCell(r.id),
    code: textCell(r.code),
    type: ((PROMOTION_TYPES as readonly string[]).includes(type) ? type : 'Percentage') as PromotionType,
    recurring: intCell(r.recurring) === 1,
    valueMinor: moneyCell(r.value),
    appliesto: list(r.appliesto)
      .map(Number)
      .filter((n) => Number.isSafeInteger(n) && n > 0),
    cycles: list(r.cycles),
    startdate: dateCell(r.startdate),
    expirationdate: dateCell(r.expirationdate),
    maxuses: intCell(r.maxuses),
    uses: intCell(r.uses),
  };
}

const REFUSALS = {
  notStarted: MSG.promoNotStarted,
  expired: MSG.promoExpired,
  usedUp: MSG.promoUsedUp,
} as const;

/** The promotion for `code` usable today, or a refusal; undefined when no code was given. */
export async function usablePromotion(db: Db, code: string, today: IsoDate): Promise<Promotion | undefined> {
  const typed = code.trim();
  if (typed === '') return undefined;
  const row = await db('tblpromotions').whereRaw('LOWER(code) = ?', [typed.toLowerCase()]).first();
  if (!row) throw new CommandError(MSG.promoNotFound);
  const promo = promotionOf(row);
  const refusal = promotionRefusal(promo, today);
  if (refusal) throw new CommandError(REFUSALS[refusal]);
  return promo;
}
