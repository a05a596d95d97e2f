import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { daysBetween, maxDate, type IsoDate } from '../domain/calendar.js';
import type { ObservedState } from '../domain/limit-policy.js';
import {
  crossedThresholds,
  openPeriodShape,
  percentUsed,
  periodAllowance,
  projectCost,
  projectUsage,
  type PeriodShape,
  type ProjectedCost,
  type Projection,
} from '../domain/thresholds.js';
import type { RatingPlan } from '../domain/usage-rating.js';
import { createOpenUsageStore, type OpenPeriodRow } from '../adapters/open-usage-store.js';
import { createPeriodReadStore, type MasterRule } from '../adapters/period-read-store.js';
import { isUnreadable, readableOf, type SetAside } from '../adapters/rows.js';
import { chunks } from '../adapters/sql-helpers.js';
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

/**
 * Reads the open periods of active services, a page at a time (or just the given services). With
 * `setAside`, a service whose row cannot be read is told there and left out of its page (its use is
 * not known: no notice, no decision); the others are read as usual.
 */
export function createOpenUsageReader(knex: Knex, setAside?: SetAside) {
  const store = createOpenUsageStore(knex);
  const reads = createPeriodReadStore(knex);
  return {
    /** every active service with an open period, in pages of service ids */
    async *pages(pageSize = 1000): AsyncIterable<OpenUsage[]> {
      const ms = await reads.masters();
      let cursor = 0;
      for (;;) {
        const listed = setAside
          ? await store.activePage(cursor, pageSize, setAside)
          : await store.activePage(cursor, pageSize);
        if (listed.length === 0) return;
        // the cursor goes past a row that cannot be read (its key, service_id, reads)
        const last = listed[listed.length - 1]!;
        const next = isUnreadable(last) ? last.id : last.serviceId;
        if (next === null) return;
        cursor = next;
        const page = usagesOf(readableOf(listed), ms);
        if (page.length) yield page;
        if (listed.length < pageSize) return;
      }
    },
    /**
     * these services (active or not), by id. With the reader's `setAside`, a service whose row
     * cannot be read is left out and named in `unreadable` (its use is not known: whoever acts on
     * it leaves it as it stands; "no open period" would lift a suspension).
     */
    async some(
      serviceIds: readonly number[],
    ): Promise<Map<number, OpenUsage> & { unreadable?: Set<number> }> {
      const ms = await reads.masters();
      const out: Map<number, OpenUsage> & { unreadable?: Set<number> } = new Map();
      for (const part of chunks(serviceIds, 500)) {
        const rows = await store.ofServices(part, setAside);
        for (const u of usagesOf(rows, ms)) out.set(u.serviceId, u);
        for (const id of rows.unreadable?.keys() ?? []) (out.unreadable ??= new Set()).add(id);
      }
      return out;
    },
  };
}

/** The rows whose master is known, with their period's shape; a service on a master gone is left out. */
function usagesOf(rows: OpenPeriodRow[], masters: Map<number, MasterRule>): OpenUsage[] {
  const out: OpenUsage[] = [];
  for (const r of rows) {
    const master = masters.get(r.masterId);
    if (master) out.push(toUsage(r, master));
  }
  return out;
}

function toUsage(r: OpenPeriodRow, master: MasterRule): OpenUsage {
  const { shape, asOf } = openPeriodShape({
    start: r.periodStart,
    end: r.periodEnd,
    regdate: r.regdate,
    lastSampleDate: r.lastSampleDate,
  });
  return {
    serviceId: r.serviceId,
    clientId: r.clientId,
    productId: r.productId,
    masterId: r.masterId,
    serverRef: r.serverRef,
    periodId: r.periodId,
    shape,
    periodStart: r.periodStart,
    asOf,
    usedBytes: r.usedBytes,
    lastSampledAt: r.lastSampledAt,
    state: r.state,
    solusvmLimitBytes: r.solusvmLimitBytes,
    currency: r.currency,
    zone: master.zone,
  };
}

export type OpenUsageReader = ReturnType<typeof createOpenUsageReader>;

/**
 * What the product makes of a service's open period; null when it cannot be said (no price in the
 * client's currency, or the allowance comes from SolusVM and SolusVM reports none).
 */
export function assessUsage(
  u: Pick<OpenUsage, 'currency' | 'solusvmLimitBytes' | 'shape' | 'asOf' | 'usedBytes' | 'zone'>,
  profile: BillingProfile,
  poolAllowanceBytes?: bigint,
): UsageAssessment | null {
  let plan: RatingPlan;
  try {
    plan = ratingPlan(profile, u.currency, u.solusvmLimitBytes);
  } catch (err) {
    if (err instanceof PlanNotPossible) return null;
    throw err;
  }
  // a pool's allowance is already every member's prorated share, summed: nothing is prorated again
  if (poolAllowanceBytes !== undefined)
    plan = { ...plan, allowanceBytes: poolAllowanceBytes, prorate: false };
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
