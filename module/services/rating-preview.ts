import type { Knex } from 'knex';
import type { IsoDate } from '../domain/calendar.js';
import { createUsagePeriodStore, type LastClosedPeriod } from '../adapters/usage-period-store.js';
import { PlanNotPossible, type BillingProfile } from './billing-settings.js';
import { createRatingStore, type MasterZone } from '../adapters/rating-store.js';
import { unreadableRow, type SetAside } from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
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

/** A service whose last closed period (or what rating it reads) cannot be read: in no total, named. */
export interface UnreadablePreview {
  serviceId: number;
  /** the period's id as stored (null: it does not read either) */
  periodId: number | null;
  /** `table.column` refused and why in a few words, never the value */
  column: string | null;
  reason: string;
}

export interface ProductPreview {
  rows: PeriodPreview[];
  /** services whose period cannot be read: counted in no total, named to the admin (and told to setAside) */
  unreadable: UnreadablePreview[];
  /** per currency, over the rows that could be rated: now and under the edited settings */
  totals: Array<{ currency: string; nowMinor: bigint; previewMinor: bigint }>;
  /** services left out past `limit` */
  more: number;
  /** the edited settings' unit, to show the use in */
  unit: string;
}

/**
 * `setAside`: told of each service whose period cannot be read (a column changed by hand); that
 * service is listed in `unreadable`, in no total, and the other services are previewed as usual.
 * Without it, such a row refuses the whole preview (naming the column).
 */
export async function previewLastPeriods(
  knex: Knex,
  productId: number,
  profile: BillingProfile,
  opts: { limit?: number; setAside?: SetAside } = {},
): Promise<ProductPreview> {
  const limit = opts.limit ?? 200;
  const read = await createUsagePeriodStore(knex).lastClosedOfProduct(productId, limit + 1, opts.setAside);
  // the services in their order (by id), those that read and those that do not, the first `limit`
  const all: Array<LastClosedPeriod | UnreadablePreview> = [...read];
  for (const [serviceId, u] of read.unreadable ?? [])
    all.push({ serviceId, periodId: u.id, ...u.unreadable });
  all.sort((a, b) => a.serviceId - b.serviceId);
  const more = Math.max(0, all.length - limit);
  const masters = await createRatingStore(knex).masters();
  const memo: RatingMemo = { shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() };
  const out: PeriodPreview[] = [];
  const unreadable: UnreadablePreview[] = [];
  for (const p of all.slice(0, limit)) {
    if (!('id' in p)) {
      unreadable.push(p);
      continue;
    }
    try {
      out.push(await previewPeriod(knex, p, masters, profile, memo));
    } catch (err) {
      // what rating reads of it (its five-minute rates) cannot be read: this service only. Told by
      // the refused column's table; that row's key is not read (the preview names the service)
      const column = storedColumnOf(err);
      if (!opts.setAside || column === null) throw err;
      const u = unreadableRow(null, err);
      opts.setAside(column.split('.')[0]!, u);
      unreadable.push({ serviceId: p.serviceId, periodId: p.id, ...u.unreadable });
    }
  }
  return { unit: profile.unit, rows: out, unreadable, totals: totalsOf(out), more };
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
