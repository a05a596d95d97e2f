import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { daysBetween, maxDate, type IsoDate } from '../domain/calendar.js';
import type { ObservedState } from '../domain/limit-policy.js';
import { crossedThresholds, openPeriodShape, percentUsed, periodAllowance, projectCost, projectUsage, type PeriodShape, type ProjectedCost, type Projection } from '../domain/thresholds.js';
import type { RatingPlan } from '../domain/usage-rating.js';
import { toBig, toBigOrNull, toDate, toDateOrNull, toInstantOrNull, toNum } from '../adapters/rows.js';
import { PlanNotPossible, ratingPlan, type BillingProfile } from './billing-settings.js';
import type { PoolStanding } from './pools.js';

/**
 * The open usage period of each metered service, as the latest sample left it (the metering cache
 * in mod_overusage_services), with what its product makes of it: the allowance that applies (as
 * rating will compute it), the thresholds reached and the projection. Shared by the threshold
 * notices and the limit policy.
 */
export interface OpenUsage {
  serviceId: number;
  clientId: number;
  productId: number;
  masterId: number;
  serverRef: string;
  periodId: number;
  shape: PeriodShape;
  /** the period's first day (before a later registration day is applied) */
  periodStart: IsoDate;
  /** the last day measured */
  asOf: IsoDate;
  usedBytes: bigint;
  lastSampledAt: DateTime | null;
  /** the state and limit SolusVM reported with the latest sample */
  state: ObservedState | null;
  solusvmLimitBytes: bigint | null;
  currency: string;
  /** the master's zone (period seconds for the Mbit/s models) */
  zone: string;
}

export interface UsageAssessment {
  plan: RatingPlan;
  allowanceBytes: bigint;
  crossed: number[];
  percentUsed: string | null;
  projection: Projection;
  cost: ProjectedCost | null;
}

interface MasterRule {
  policy: unknown;
  zone: string;
}

const STATES: readonly ObservedState[] = ['online', 'offline', 'suspended', 'processing', 'unknown'];
const stateOf = (v: unknown): ObservedState | null => (typeof v === 'string' && (STATES as readonly string[]).includes(v) ? (v as ObservedState) : null);

/** Reads the open periods of active services, a page at a time (or just the given services). */
export function createOpenUsageReader(knex: Knex) {
  async function masters(): Promise<Map<number, MasterRule>> {
    const rows = await knex('mod_overusage_masters').select('id', 'reset_policy', 'time_zone');
    return new Map(rows.map((m) => [toNum(m.id), { policy: m.reset_policy, zone: String(m.time_zone) }]));
  }

  function toUsage(r: Record<string, unknown>, master: MasterRule): OpenUsage {
    const start = toDate(r.open_period_start);
    const { shape, asOf } = openPeriodShape({ start, end: toDateOrNull(r.open_period_end), regdate: toDateOrNull(r.regdate), lastSampleDate: toDate(r.last_sample_date) });
    return {
      serviceId: toNum(r.service_id),
      clientId: toNum(r.client_id),
      productId: toNum(r.product_id),
      masterId: toNum(r.master_id),
      serverRef: String(r.server_ref),
      periodId: toNum(r.open_period_id),
      shape,
      periodStart: start,
      asOf,
      usedBytes: toBig(r.open_period_used_bytes),
      lastSampledAt: toInstantOrNull(r.last_sampled_at),
      state: stateOf(r.state),
      solusvmLimitBytes: toBigOrNull(r.limit_bytes),
      currency: String(r.currency),
      zone: master.zone,
    };
  }

  const query = () =>
    knex('mod_overusage_services as s')
      .leftJoin('mod_overusage_samples as smp', 'smp.id', 's.last_sample_id')
      .whereNotNull('s.open_period_id')
      .whereNotNull('s.last_sample_date')
      .select(
        's.service_id',
        's.client_id',
        's.product_id',
        's.master_id',
        's.server_ref',
        's.reset_policy',
        's.reset_day',
        's.regdate',
        's.currency',
        's.open_period_id',
        's.open_period_start',
        's.open_period_end',
        's.open_period_used_bytes',
        's.last_sample_date',
        's.last_sampled_at',
        'smp.limit_bytes',
        'smp.state',
      );

  return {
    /** every active service with an open period, in pages of service ids */
    async *pages(pageSize = 1000): AsyncIterable<OpenUsage[]> {
      const ms = await masters();
      let cursor = 0;
      for (;;) {
        const rows: Record<string, unknown>[] = await query().where('s.active', true).andWhere('s.service_id', '>', cursor).orderBy('s.service_id').limit(pageSize);
        if (rows.length === 0) return;
        cursor = toNum(rows[rows.length - 1]!.service_id);
        const page = rows.filter((r) => ms.has(toNum(r.master_id))).map((r) => toUsage(r, ms.get(toNum(r.master_id))!));
        if (page.length) yield page;
        if (rows.length < pageSize) return;
      }
    },
    /** these services (active or not), by id */
    async some(serviceIds: readonly number[]): Promise<Map<number, OpenUsage>> {
      const ms = await masters();
      const out = new Map<number, OpenUsage>();
      for (let i = 0; i < serviceIds.length; i += 500) {
        const rows: Record<string, unknown>[] = await query().whereIn('s.service_id', serviceIds.slice(i, i + 500));
        for (const r of rows) {
          const m = ms.get(toNum(r.master_id));
          if (m) out.set(toNum(r.service_id), toUsage(r, m));
        }
      }
      return out;
    },
  };
}

export type OpenUsageReader = ReturnType<typeof createOpenUsageReader>;

/**
 * What the product makes of a service's open period; null when it cannot be said (no price in the
 * client's currency, or the allowance comes from SolusVM and SolusVM reports none).
 */
export function assessUsage(u: Pick<OpenUsage, 'currency' | 'solusvmLimitBytes' | 'shape' | 'asOf' | 'usedBytes' | 'zone'>, profile: BillingProfile, poolAllowanceBytes?: bigint): UsageAssessment | null {
  let plan: RatingPlan;
  try {
    plan = ratingPlan(profile, u.currency, u.solusvmLimitBytes);
  } catch (err) {
    if (err instanceof PlanNotPossible) return null;
    throw err;
  }
  // a pool's allowance is already every member's prorated share, summed: nothing is prorated again
  if (poolAllowanceBytes !== undefined) plan = { ...plan, allowanceBytes: poolAllowanceBytes, prorate: false };
  const allowanceBytes = periodAllowance(plan, u.shape);
  const projection = projectUsage({ shape: u.shape, asOf: u.asOf, usedBytes: u.usedBytes, allowanceBytes });
  return {
    plan,
    allowanceBytes,
    crossed: crossedThresholds(u.usedBytes, allowanceBytes, profile.thresholds),
    percentUsed: percentUsed(u.usedBytes, allowanceBytes),
    projection,
    cost: projectCost(plan, u.shape, u.usedBytes, projection.projectedUsedBytes, u.zone),
  };
}

/**
 * A pooled service seen as its pool: the pool's month for its period (keyed by the month's id), and
 * what all members used in it; assess it with the pool's allowance (assessUsage's third argument).
 * Notices and the limit policy then act when the pool is used up, never on one member's own share.
 */
export function asPool(u: OpenUsage, s: PoolStanding): OpenUsage {
  return {
    ...u,
    periodId: s.monthId,
    shape: { from: s.start, end: s.end, nominalDays: daysBetween(s.start, s.end) + 1 },
    periodStart: s.start,
    asOf: maxDate(s.asOf, s.start),
    usedBytes: s.usedBytes,
  };
}
