import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { addDays, daysBetween, type IsoDate, maxDate, startOfDay } from '../domain/calendar.js';
import { expectedEndDate, lastBoundaryAtOrBefore, parseResetPolicy, type ResetRule } from '../domain/reset-policy.js';
import { rateUsage, type RatedCharge } from '../domain/usage-rating.js';
import { insertChunked } from '../adapters/sql-helpers.js';
import { sqlBig, sqlInstant, toBig, toBigOrNull, toDate, toDateOrNull, toNum } from '../adapters/rows.js';
import type { Logger } from '../adapters/logger.js';
import { PlanNotPossible, ratingPlan, type BillingProfile, type BillingSettingsService } from './billing-settings.js';

/**
 * Closing and rating: every closed usage period becomes exactly one charge (the unique period_id
 * makes a second rating impossible), with the rating's full explanation. Periods of products the
 * module does not bill are recorded as not billed, so they are never looked at again.
 */
export type ChargeStatus = 'unbilled' | 'billed' | 'written_off' | 'within_allowance' | 'not_billed' | 'void';

export interface RatingSkip {
  periodId: number;
  serviceId: number;
  reason: string;
}

export interface RatingResult {
  rated: number;
  skipped: RatingSkip[];
}

export interface RatingService {
  rateClosedPeriods(opts?: { serviceIds?: number[]; pageSize?: number }): Promise<RatingResult>;
}

const PERIODS = 'mod_overusage_periods';
const CHARGES = 'mod_overusage_charges';

const bigintJson = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export function createRatingService(deps: { knex: Knex; clock: Clock; billing: BillingSettingsService; log: Logger }): RatingService {
  const { knex } = deps;
  return {
    async rateClosedPeriods(opts = {}) {
      const pageSize = opts.pageSize ?? 2000;
      const profileFor = await deps.billing.snapshot();
      const result: RatingResult = { rated: 0, skipped: [] };
      let cursor = 0;
      for (;;) {
        const q = knex(`${PERIODS} as p`)
          .join('mod_overusage_services as s', 's.service_id', 'p.service_id')
          .join('mod_overusage_masters as m', 'm.id', 's.master_id')
          .leftJoin(`${CHARGES} as c`, 'c.period_id', 'p.id')
          .leftJoin('mod_overusage_samples as smp', 'smp.id', 'p.last_sample_id')
          .where('p.status', 'closed')
          .whereNull('c.id')
          .andWhere('p.id', '>', cursor)
          .select(
            'p.id',
            'p.service_id',
            'p.start_date',
            'p.end_date',
            'p.used_bytes',
            'p.opened_by',
            's.client_id',
            's.product_id',
            's.currency',
            's.regdate',
            's.reset_policy',
            's.reset_day',
            'm.reset_policy as master_policy',
            'm.time_zone',
            'smp.limit_bytes',
          )
          .orderBy('p.id')
          .limit(pageSize);
        if (opts.serviceIds) q.whereIn('p.service_id', opts.serviceIds);
        const rows = await q;
        if (rows.length === 0) break;
        cursor = toNum(rows[rows.length - 1]!.id);

        // The evidence must add up: the daily rows of each period sum to its total, or it is not rated.
        const sums = new Map<number, bigint>();
        const agg: Array<{ period_id: unknown; total: unknown }> = await knex('mod_overusage_intervals')
          .whereIn('period_id', rows.map((r) => r.id))
          .groupBy('period_id')
          .select('period_id', knex.raw('SUM(bytes) AS total'));
        // MySQL sums BIGINT into DECIMAL (a string, maybe with ".0"); SQLite into an integer
        for (const a of agg) sums.set(toNum(a.period_id), toBig(String(a.total).replace(/\.0+$/, '')));

        const now = sqlInstant(deps.clock.now());
        const charges: Record<string, unknown>[] = [];
        for (const r of rows) {
          const periodId = toNum(r.id);
          const serviceId = toNum(r.service_id);
          const used = toBig(r.used_bytes);
          if ((sums.get(periodId) ?? 0n) !== used) {
            result.skipped.push({ periodId, serviceId, reason: `its daily figures sum to ${sums.get(periodId) ?? 0n} bytes, not the ${used} bytes counted; not rated` });
            continue;
          }
          const base = {
            period_id: periodId,
            service_id: serviceId,
            client_id: toNum(r.client_id),
            product_id: toNum(r.product_id),
            period_start: toDate(r.start_date),
            period_end: toDate(r.end_date),
            currency: String(r.currency),
            used_bytes: sqlBig(used),
            rated_at: now,
          };
          const profile = profileFor(toNum(r.product_id), serviceId, toNum(r.client_id));
          if (!profile) {
            charges.push({ ...base, allowance_bytes: '0', over_bytes: '0', amount_minor: '0', rounded_minor: '0', status: 'not_billed', taxed: false, explanation: JSON.stringify({ reason: 'the product is not billed for overusage' }) });
            continue;
          }
          try {
            const rated = rate(r, used, profile);
            charges.push({
              ...base,
              allowance_bytes: sqlBig(rated.allowanceBytes),
              over_bytes: sqlBig(rated.overBytes),
              amount_minor: sqlBig(rated.amountMinor),
              rounded_minor: sqlBig(rated.roundedMinor),
              status: rated.outcome === 'billed' ? 'unbilled' : rated.outcome,
              taxed: profile.taxed,
              explanation: JSON.stringify({ rated, profile }, bigintJson),
            });
          } catch (err) {
            if (!(err instanceof PlanNotPossible) && (err as { code?: string }).code !== 'INVALID_INPUT') throw err;
            result.skipped.push({ periodId, serviceId, reason: (err as Error).message });
          }
        }
        await insertChunked(knex, CHARGES, charges, { ignoreOn: ['period_id'] });
        result.rated += charges.length;
        if (rows.length < pageSize) break;
      }
      if (result.skipped.length) deps.log.warn('rating.skipped', { count: result.skipped.length, first: result.skipped[0] });
      return result;
    },
  };
}

/** One period through the product's model: partial periods prorated, the allowance from SolusVM when asked. */
function rate(r: Record<string, unknown>, used: bigint, profile: BillingProfile): RatedCharge {
  const zone = String(r.time_zone);
  const policy = parseResetPolicy(r.reset_policy ?? r.master_policy);
  const rule: ResetRule = { policy, anchorDay: r.reset_day ? toNum(r.reset_day) : 1, zone };
  const start = toDate(r.start_date);
  const end = toDate(r.end_date);
  // A service registered during the period only had part of it.
  const regdate = toDateOrNull(r.regdate);
  const from: IsoDate = regdate ? maxDate(start, regdate) : start;
  const days = Math.max(1, daysBetween(from, end) + 1);
  const nominalDays = nominalLength(rule, start) ?? days;
  const seconds = BigInt(Math.round(startOfDay(addDays(end, 1), zone).diff(startOfDay(from, zone), 'seconds').seconds));
  const plan = ratingPlan(profile, String(r.currency), toBigOrNull(r.limit_bytes));
  return rateUsage({ usedBytes: used, days, nominalDays, seconds }, plan);
}

/** Days in the full policy period that contains `start` (null when the policy never resets). */
function nominalLength(rule: ResetRule, start: IsoDate): number | null {
  const b = lastBoundaryAtOrBefore(rule, startOfDay(start, rule.zone));
  if (!b) return null;
  const first = b.setZone(rule.zone).toISODate()!;
  const last = expectedEndDate(rule, first);
  return last ? daysBetween(first, last) + 1 : null;
}
