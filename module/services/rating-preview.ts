import type { Knex } from 'knex';
import type { IsoDate } from '../domain/calendar.js';
import { createUsagePeriodStore, type LastClosedPeriod } from '../adapters/usage-period-store.js';
import { PlanNotPossible, type BillingProfile } from './billing-settings.js';
import { createRatingStore, type MasterZone } from '../adapters/rating-store.js';
import { fiveMinuteRatesOf, ratePeriod, type RatingMemo } from './rating.js';

/**
 * What the last closed period of each service of a product would have cost under settings an
 * admin is editing (the product form's preview): the same rating as the daily billing
 * (rating.ts), run on the stored period and nothing written. A service's own override and a
 * client's cap are left out: the preview is the product's settings. Beside it, what the period's
 * charge bills now.
 */
export interface PeriodPreview {
  serviceId: number;
  clientId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  usedBytes: bigint;
  currency: string;
  /** what the stored charge bills (null: the period is not rated yet) */
  nowMinor: bigint | null;
  /** what it would bill under the edited settings (null: it cannot be rated, see `reason`) */
  previewMinor: bigint | null;
  outcome: 'within_allowance' | 'billed' | 'written_off' | null;
  reason: string | null;
}

export interface ProductPreview {
  rows: PeriodPreview[];
  /** per currency, over the rows that could be rated: now and under the edited settings */
  totals: Array<{ currency: string; nowMinor: bigint; previewMinor: bigint }>;
  /** services left out past `limit` */
  more: number;
  /** the edited settings' unit, to show the use in */
  unit: string;
}

export async function previewLastPeriods(
  knex: Knex,
  productId: number,
  profile: BillingProfile,
  opts: { limit?: number } = {},
): Promise<ProductPreview> {
  const limit = opts.limit ?? 200;
  const rows = await createUsagePeriodStore(knex).lastClosedOfProduct(productId, limit + 1);
  const more = Math.max(0, rows.length - limit);
  const masters = await createRatingStore(knex).masters();
  const memo: RatingMemo = { shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() };
  const out: PeriodPreview[] = [];
  for (const p of rows.slice(0, limit)) out.push(await previewPeriod(knex, p, masters, profile, memo));
  return { unit: profile.unit, rows: out, totals: totalsOf(out), more };
}

/** One period rated again under the edited settings, or why it cannot be. */
async function previewPeriod(
  knex: Knex,
  p: LastClosedPeriod,
  masters: Map<number, MasterZone>,
  profile: BillingProfile,
  memo: RatingMemo,
): Promise<PeriodPreview> {
  const base = {
    serviceId: p.serviceId,
    clientId: p.clientId,
    periodStart: p.startDate,
    periodEnd: p.endDate,
    usedBytes: p.usedBytes,
    currency: p.currency,
    nowMinor: p.charge === null || p.charge.status === 'void' ? null : p.charge.amountMinor,
  };
  const master = masters.get(p.masterId);
  if (!master) return { ...base, previewMinor: null, outcome: null, reason: 'its SolusVM master is gone' };
  try {
    const figures =
      profile.model === 'p95'
        ? { ...p, fiveMinuteBps: await fiveMinuteRatesOf(knex, p, master.timeZone) }
        : p;
    const rated = ratePeriod(figures, master.timeZone, p.usedBytes, profile, memo, null);
    return { ...base, previewMinor: rated.amountMinor, outcome: rated.outcome, reason: null };
  } catch (err) {
    if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
    return { ...base, previewMinor: null, outcome: null, reason: (err as Error).message };
  }
}

/** Per currency, over the rows that could be rated: now and under the edited settings. */
function totalsOf(rows: PeriodPreview[]): ProductPreview['totals'] {
  const totals = new Map<string, { nowMinor: bigint; previewMinor: bigint }>();
  for (const p of rows) {
    if (p.previewMinor === null) continue;
    const t = totals.get(p.currency) ?? { nowMinor: 0n, previewMinor: 0n };
    t.nowMinor += p.nowMinor ?? 0n;
    t.previewMinor += p.previewMinor;
    totals.set(p.currency, t);
  }
  return [...totals]
    .map(([currency, t]) => ({ currency, ...t }))
    .sort((a, b) => a.currency.localeCompare(b.currency));
}
