import { DateTime } from 'luxon';
import { addDays, type IsoDate, startOfDay } from './calendar.js';
import { invalidInput } from './errors.js';
import { allocate, divCeil } from './money.js';
import { rateUsage, type RatedCharge, type RatingPlan } from './usage-rating.js';

/**
 * Transfer pools: a client's services of pooled products share one allowance per period. Each
 * member adds its own allowance prorated by the hours it was a member in the period (created,
 * moved to another plan or cancelled mid-period); the pool's overusage is what the pool used over
 * what it was given, never less than zero, rated once with the pool's plan, and split back onto
 * the members in proportion to what each used over its own share. Pure and exact: bytes and money
 * are bigint, hours are whole.
 *
 * The period is a calendar month in the panel's zone, from midnight on the 1st to midnight on the
 * 1st of the next month: 744 hours, 743 in the month the clocks go forward, 745 in the month they
 * go back (Europe/Brussels: March and October).
 */
export interface PoolSpan {
  /** the instant the service became a member (joined the pool, or moved to a pooled plan) */
  from: DateTime;
  /** the instant it stopped being one (cancelled, moved off the plan); null: still a member */
  to: DateTime | null;
}

export interface PoolMemberInput {
  serviceId: number;
  currency: string;
  /** the allowance of the member's plan for a whole period */
  allowanceBytes: bigint;
  /** what it used while a member in the period (the evidence's days) */
  usedBytes: bigint;
  spans: readonly PoolSpan[];
}

export interface PoolMemberRating {
  serviceId: number;
  /**
   * hours of membership in the period: every hour of the period (from its midnight) the service was
   * a member in, for however short a time, counted whole and once (in the client's favour)
   */
  hours: number;
  fullAllowanceBytes: bigint;
  /** its allowance × hours ÷ the period's hours, rounded up to the byte (in the client's favour) */
  shareBytes: bigint;
  usedBytes: bigint;
  /** max(0, used − share): what it would have been over on its own */
  ownOverBytes: bigint;
  /** its part of the pool's overusage and of the amount (in proportion to ownOverBytes) */
  billedOverBytes: bigint;
  amountMinor: bigint;
  /** a member at the period's end */
  memberAtEnd: boolean;
}

export interface PoolRating {
  start: IsoDate;
  /** the last day of the period */
  end: IsoDate;
  periodHours: number;
  currency: string;
  members: PoolMemberRating[];
  pooledAllowanceBytes: bigint;
  pooledUsedBytes: bigint;
  /** the pool rated as one usage with the pooled allowance (overBytes, amountMinor …) */
  rated: RatedCharge;
  /** the member whose renewal invoice carries the pool's one line (see anchorOf) */
  anchorServiceId: number;
}

const HOUR_MS = 3_600_000;

/** The calendar month that holds `day`, as the pool's period: its first and last day. */
export function poolMonth(day: IsoDate): { start: IsoDate; end: IsoDate } {
  const start = `${day.slice(0, 7)}-01`;
  const next = DateTime.fromISO(start, { zone: 'utc' }).plus({ months: 1 }).toISODate()!;
  return { start, end: addDays(next, -1) };
}

/** Whole hours from midnight of `start` to midnight after `end`, in the zone (DST-safe). */
export function periodHours(start: IsoDate, end: IsoDate, zone: string): number {
  const ms = startOfDay(addDays(end, 1), zone).toMillis() - startOfDay(start, zone).toMillis();
  return ms / HOUR_MS;
}

/**
 * Hours of [from, to) the spans touch, counting from `from`: a started hour counts whole, and an
 * hour touched by several spans once, so a member never has more hours than the period.
 */
export function membershipHours(spans: readonly PoolSpan[], from: DateTime, to: DateTime): number {
  const start = from.toMillis();
  // each span as the hours of the period it touches, counted from the period's start (midnight)
  const touched = spans
    .map(
      (s) => [Math.max(s.from.toMillis(), start), Math.min((s.to ?? to).toMillis(), to.toMillis())] as const,
    )
    .filter(([a, b]) => b > a)
    .map(([a, b]) => [Math.floor((a - start) / HOUR_MS), Math.ceil((b - start) / HOUR_MS)] as const)
    .sort((x, y) => x[0] - y[0]);
  // An hour is counted once however many spans touch it: two short spans in one hour are one
  // started hour, and a service recorded twice does not get twice the allowance.
  let hours = 0;
  let counted = 0; // the hours before this one are counted
  for (const [first, end] of touched) {
    const begin = Math.max(first, counted);
    if (end > begin) hours += end - begin;
    counted = Math.max(counted, end);
  }
  return hours;
}

/**
 * The member whose renewal invoice carries the pool's line: of those still members at the period's
 * end, the one with the most hours in it (the lowest service id on a tie) — it renews after the
 * period, so the line lands on the next invoice of the pool, and the choice does not move when
 * another service joins later. When no member is left at the end, the one that left last: its
 * charge goes out as an unpicked charge (the product's unpicked policy).
 */
export function anchorOf(
  members: readonly PoolMemberRating[],
  lastLeft: ReadonlyMap<number, number>,
): number {
  const atEnd = members.filter((m) => m.memberAtEnd);
  const pool = atEnd.length ? atEnd : members;
  const sorted = [...pool].sort((a, b) => {
    if (!atEnd.length) {
      const d = (lastLeft.get(b.serviceId) ?? 0) - (lastLeft.get(a.serviceId) ?? 0);
      if (d !== 0) return d;
    }
    return b.hours - a.hours || a.serviceId - b.serviceId;
  });
  return sorted[0]!.serviceId;
}

/**
 * Rates a pool for one period. Refuses a pool whose members pay in more than one currency (a pool
 * is one sum of money), a member with no hours in the period, and the Mbit/s models (a pool adds
 * bytes, not rates).
 */
export function ratePool(input: {
  start: IsoDate;
  end: IsoDate;
  zone: string;
  members: readonly PoolMemberInput[];
  plan: RatingPlan;
}): PoolRating {
  const { start, end, zone, plan } = input;
  if (input.members.length === 0) throw invalidInput('a pool needs at least one member in the period');
  if (plan.model.kind !== 'per_unit' && plan.model.kind !== 'per_block') {
    throw invalidInput(`a pool is rated per unit or per block of bytes, not by ${plan.model.kind}`);
  }
  const currencies = [...new Set(input.members.map((m) => m.currency))].sort();
  if (currencies.length > 1 || currencies[0] !== plan.currency) {
    const seen = [...new Set([...currencies, plan.currency])].sort();
    throw invalidInput(`a pool holds services of one currency; this one has ${seen.join(' and ')}`, {
      services: input.members.map((m) => `${m.serviceId}:${m.currency}`).join(', '),
    });
  }
  const {
    members,
    pooledAllowanceBytes,
    pooledUsedBytes,
    periodHours: total,
    lastLeft,
    from,
    to,
  } = poolShares({ start, end, zone, members: input.members });
  // The pool as one usage: the pooled allowance is already prorated, so nothing is prorated again.
  const rated = rateUsage(
    {
      usedBytes: pooledUsedBytes,
      days: 1,
      nominalDays: 1,
      seconds: BigInt((to.toMillis() - from.toMillis()) / 1000),
    },
    { ...plan, allowanceBytes: pooledAllowanceBytes, prorate: false },
  );
  // Split in proportion to what each used over its own share. The pool is never over by more than
  // the members together are (max(0, ΣU − ΣA) ≤ Σ max(0, U − A)), so no part exceeds its weight.
  const weights = members.map((m) => m.ownOverBytes);
  if (rated.overBytes > 0n) {
    const bytes = allocate(rated.overBytes, weights);
    const money = allocate(rated.amountMinor, weights);
    members.forEach((m, i) => {
      m.billedOverBytes = bytes[i]!;
      m.amountMinor = money[i]!;
    });
  }
  return {
    start,
    end,
    periodHours: total,
    currency: plan.currency,
    members,
    pooledAllowanceBytes,
    pooledUsedBytes,
    rated,
    anchorServiceId: anchorOf(members, lastLeft),
  };
}

export interface PoolShares {
  members: PoolMemberRating[];
  pooledAllowanceBytes: bigint;
  pooledUsedBytes: bigint;
  periodHours: number;
  /** when each member left last (its period's end when it is still a member), ms */
  lastLeft: Map<number, number>;
  from: DateTime;
  to: DateTime;
}

/**
 * Each member's share of the period's allowance and what it used, summed: the pool's allowance and
 * use, before any price. A member still in the pool (a span without an end) counts to the period's
 * end, so in an open month this is the allowance the pool will have if nobody leaves.
 */
export function poolShares(input: {
  start: IsoDate;
  end: IsoDate;
  zone: string;
  members: readonly Omit<PoolMemberInput, 'currency'>[];
}): PoolShares {
  const { start, end, zone } = input;
  const from = startOfDay(start, zone);
  const to = startOfDay(addDays(end, 1), zone);
  const total = periodHours(start, end, zone);
  const lastLeft = new Map<number, number>();
  const members: PoolMemberRating[] = input.members.map((m) => {
    if (m.usedBytes < 0n || m.allowanceBytes < 0n)
      throw invalidInput(`service ${m.serviceId}: used bytes and allowance must not be negative`);
    const hours = membershipHours(m.spans, from, to);
    const shareBytes =
      hours >= total ? m.allowanceBytes : divCeil(m.allowanceBytes * BigInt(hours), BigInt(total));
    const memberAtEnd = m.spans.some(
      (s) => s.from.toMillis() < to.toMillis() && (s.to === null || s.to.toMillis() >= to.toMillis()),
    );
    lastLeft.set(m.serviceId, Math.max(...m.spans.map((s) => (s.to ?? to).toMillis())));
    return {
      serviceId: m.serviceId,
      hours,
      fullAllowanceBytes: m.allowanceBytes,
      shareBytes,
      usedBytes: m.usedBytes,
      ownOverBytes: maxZero(m.usedBytes - shareBytes),
      billedOverBytes: 0n,
      amountMinor: 0n,
      memberAtEnd,
    };
  });
  const pooledAllowanceBytes = members.reduce((s, m) => s + m.shareBytes, 0n);
  const pooledUsedBytes = members.reduce((s, m) => s + m.usedBytes, 0n);
  return { members, pooledAllowanceBytes, pooledUsedBytes, periodHours: total, lastLeft, from, to };
}

/**
 * A pool month as a period id where a per-period key needs one (limit actions): negative, so it
 * never meets a usage period's id; October 2026 is −202610.
 */
export const poolMonthId = (start: IsoDate): number =>
  -(Number(start.slice(0, 4)) * 100 + Number(start.slice(5, 7)));

const maxZero = (v: bigint): bigint => (v > 0n ? v : 0n);
