import type { Knex } from 'knex';
import type { IsoDate } from '../domain/calendar.js';
import { toBig, toBigOrNull, toDate, toNum } from '../adapters/rows.js';
import { PlanNotPossible, type BillingProfile } from './billing-settings.js';
import { fiveMinuteRates, loadMasters, rate, type RatingMemo } from './rating.js';

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

const PERIODS = 'mod_overusage_periods';

export async function previewLastPeriods(knex: Knex, productId: number, profile: BillingProfile, opts: { limit?: number } = {}): Promise<ProductPreview> {
  const limit = opts.limit ?? 200;
  // each metered service's latest closed period (a correlated MAX, the same on both engines)
  const rows: Array<Record<string, unknown>> = await knex(`${PERIODS} as p`)
    .join('mod_overusage_services as s', 's.service_id', 'p.service_id')
    .leftJoin('mod_overusage_charges as c', (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
    .leftJoin('mod_overusage_samples as smp', 'smp.id', 'p.last_sample_id')
    .where('s.product_id', productId)
    .andWhere('s.active', true)
    .andWhere('p.status', 'closed')
    .whereRaw(`p.end_date = (SELECT MAX(p2.end_date) FROM ${PERIODS} p2 WHERE p2.service_id = p.service_id AND p2.status = 'closed')`)
    .orderBy('p.service_id')
    .limit(limit + 1)
    .select('p.id', 'p.service_id', 'p.start_date', 'p.end_date', 'p.used_bytes', 's.client_id', 's.product_id', 's.currency', 's.regdate', 's.master_id', 'smp.limit_bytes', 'c.amount_minor as charge_minor', 'c.status as charge_status');
  const more = Math.max(0, rows.length - limit);
  const page = rows.slice(0, limit);
  const masters = await loadMasters(knex);
  const memo: RatingMemo = { shapes: new Map(), plans: new WeakMap(), profileJson: new WeakMap() };
  const out: PeriodPreview[] = [];
  for (const r of page) {
    const master = masters.get(toNum(r.master_id));
    const used = toBig(r.used_bytes);
    const base = {
      serviceId: toNum(r.service_id),
      clientId: toNum(r.client_id),
      periodStart: toDate(r.start_date),
      periodEnd: toDate(r.end_date),
      usedBytes: used,
      currency: String(r.currency),
      nowMinor: r.charge_minor === null || r.charge_minor === undefined || r.charge_status === 'void' ? null : (toBigOrNull(r.charge_minor) ?? null),
    };
    if (!master) {
      out.push({ ...base, previewMinor: null, outcome: null, reason: 'its SolusVM master is gone' });
      continue;
    }
    try {
      if (profile.model === 'p95') r.five_minute_bps = await fiveMinuteRates(knex, r, String(master.time_zone));
      const rated = rate(r, master, used, profile, memo);
      out.push({ ...base, previewMinor: rated.amountMinor, outcome: rated.outcome, reason: null });
    } catch (err) {
      if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
      out.push({ ...base, previewMinor: null, outcome: null, reason: (err as Error).message });
    }
  }
  const totals = new Map<string, { nowMinor: bigint; previewMinor: bigint }>();
  for (const p of out) {
    if (p.previewMinor === null) continue;
    const t = totals.get(p.currency) ?? { nowMinor: 0n, previewMinor: 0n };
    t.nowMinor += p.nowMinor ?? 0n;
    t.previewMinor += p.previewMinor;
    totals.set(p.currency, t);
  }
  return { unit: profile.unit, rows: out, totals: [...totals].map(([currency, t]) => ({ currency, ...t })).sort((a, b) => a.currency.localeCompare(b.currency)), more };
}
