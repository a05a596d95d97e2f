import { daysBetween, maxDate, type IsoDate } from '../domain/calendar.js';
import { crossedThresholds } from '../domain/thresholds.js';
import { assessUsage } from '../services/open-usage.js';
import type { PoolStanding } from '../services/pools.js';
import { thresholdsOf, type ServiceUsage, type UsageAssessment } from '../services/usage-reads.js';

/**
 * A pooled service's figures on the widget are its pool's (issue 21): the pool's month, its
 * allowance (every member's prorated share), what all members used, and the thresholds on that —
 * the figures the notices and the limit policy act on — with each member's part.
 */
export interface PoolFigures {
  name: string;
  start: IsoDate;
  end: IsoDate;
  asOf: IsoDate;
  usedBytes: bigint;
  assessment: UsageAssessment;
  /** every member with hours in the month, lowest id first */
  members: Array<{ serviceId: number; usedBytes: bigint; shareBytes: bigint }>;
}

/** The pool's assessment as the service's product reads it; null when the product cannot tell (no price in the currency). */
export function poolFigures(u: ServiceUsage, s: PoolStanding): PoolFigures | null {
  if (!u.profile) return null;
  const asOf = maxDate(s.asOf, s.start);
  const shape = { from: s.start, end: s.end, nominalDays: daysBetween(s.start, s.end) + 1 };
  const a = assessUsage(
    {
      currency: u.service.currency,
      solusvmLimitBytes: null,
      shape,
      asOf,
      usedBytes: s.usedBytes,
      zone: u.zone,
    },
    u.profile,
    s.allowanceBytes,
  );
  if (!a) return null;
  const thresholds = thresholdsOf(u.profile);
  return {
    name: s.pool,
    start: s.start,
    end: s.end,
    asOf,
    usedBytes: s.usedBytes,
    assessment: { ...a, thresholds, crossed: crossedThresholds(s.usedBytes, a.allowanceBytes, thresholds) },
    members: [...s.members]
      .sort((x, y) => x.serviceId - y.serviceId)
      .map((m) => ({ serviceId: m.serviceId, usedBytes: m.usedBytes, shareBytes: m.shareBytes })),
  };
}
