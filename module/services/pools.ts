import {
  isUnreadable,
  logUnreadable,
  loggedError,
  readableOf,
  whyUnreadable,
  type Listed,
  type ReadOf,
  type SetAside,
  type UnreadableRow,
} from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createPoolStore,
  type NewPoolCharge,
  type PoolSpanRow,
  type PoolStore,
  type StoredPoolMonth,
  type SyncedService,
} from '../adapters/pool-store.js';
import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Clock } from '../domain/clock.js';
import { addDays, type IsoDate, localDate, startOfDay } from '../domain/calendar.js';
import {
  anchorOf,
  poolMonth,
  poolMonthId,
  poolShares,
  ratePool,
  type PoolMemberInput,
  type PoolRating,
  type PoolShares,
  type PoolSpan,
} from '../domain/pools.js';
import type { Logger } from '../adapters/logger.js';
import { withLease, type LockStore } from '../adapters/lock-store.js';
import { ModuleError } from '../domain/errors.js';
import { SYSTEM, type AuditLog } from '../adapters/audit-store.js';
import { cappedPlan, type ClientCap } from '../domain/client-cap.js';
import type { RatingPlan } from '../domain/usage-rating.js';
import type { ServiceLinkService } from './service-links.js';
import {
  type BillingProfile,
  type BillingSettingsService,
  PlanNotPossible,
  ratingPlan,
} from './billing-settings.js';

/**
 * Transfer pools in the database. Membership spans are kept from what the module knows of each
 * service (linked, active, on a pooled product): a service that appears joins, one that is
 * cancelled or moved to another plan leaves, at the clock's instant (at the start of its
 * registration day when the module first sees it). After a calendar month ends, each client's pool
 * is rated once (module/domain/pools.ts) into one charge: kind 'pool', on the member that anchors
 * the pool (the longest member still in it at the month's end), so it goes on that service's
 * renewal invoice through the usual line placement — exactly once, as every charge. The members'
 * own periods are rated as 'pooled' (evidence, not billed).
 *
 * A member's use in the month is the traffic of the days it was a member: the intervals whose day
 * (to_date) falls on a day of one of its spans.
 */
export interface PoolSkip {
  clientId: number;
  pool: string;
  start: IsoDate;
  reason: string;
}

export interface PoolService {
  /** records joins and departures since the last call (of these services only, when given); returns how many spans opened and closed */
  syncMembers(serviceIds?: readonly number[]): Promise<{ joined: number; left: number }>;
  /**
   * rates every pool month that ended before today (panel zone) and is not rated yet; with
   * `serviceIds`, only the pools of the clients that ever pooled one of them
   */
  ratePools(opts?: { serviceIds?: readonly number[] }): Promise<{ rated: number; skipped: PoolSkip[] }>;
  /** whether ratePools would find a month to rate (reads only, no lease) */
  anyMonthDue(opts?: { serviceIds?: readonly number[] }): Promise<boolean>;
  /** a pool month's rating as stored: the arithmetic the evidence shows */
  /** one month that cannot be read is in its place (admin.row_unreadable logged) */
  poolPeriods(clientId: number): Promise<Array<Listed<PoolPeriodView>>>;
  /** every client's rated pool months, newest first (the admin's list) */
  recentPeriods(limit?: number): Promise<Array<Listed<PoolPeriodView & { clientId: number }>>>;
  /**
   * Where each pool stands in the month that is open now (panel zone): its allowance (every member's
   * share, a member still in it counted to the month's end) and what its members used so far; keyed
   * by each member that is in a pool now. What threshold notices and the limit policy work on;
   * with a client, that client's pools only (the widget's page).
   */
  standing(clientId?: number): Promise<Map<number, PoolStanding>>;
}

export interface PoolStanding {
  clientId: number;
  pool: string;
  start: IsoDate;
  end: IsoDate;
  /** the month as a period id for per-period keys (poolMonthId) */
  monthId: number;
  allowanceBytes: bigint;
  usedBytes: bigint;
  /** the last day with traffic measured in the month (its first day when none yet) */
  asOf: IsoDate;
  /** the member a pool's notice is addressed on: the anchor as things stand */
  anchorServiceId: number;
  /** the members now, lowest id first */
  memberIds: number[];
  members: PoolShares['members'];
}

/** A rated pool month as its pages show it: the stored month without the client it belongs to. */
export type PoolPeriodView = Omit<StoredPoolMonth, 'clientId'>;

type PoolDeps = {
  knex: Knex;
  clock: Clock;
  zone: string;
  billing: BillingSettingsService;
  audit: AuditLog;
  log: Logger;
  locks: LockStore;
  /** client-chosen caps: a pool's month never bills more than the cap in force at its end (module/services/caps.ts) */
  caps?: {
    /** with `setAside`: the services with a cap that cannot be read in `unreadable`, told there */
    history(
      serviceIds: readonly number[],
      setAside?: SetAside,
    ): Promise<
      Array<{ serviceId: number; cap: ClientCap; setAt: DateTime; liftedAt: DateTime | null }> & {
        unreadable?: Map<number, UnreadableRow>;
      }
    >;
  };
  /** services per page of the member sync (default MEMBER_SYNC_PAGE) */
  memberPageSize?: number;
};

/** The deps with the store every step reads and writes through. */
type PoolCtx = PoolDeps & { store: PoolStore };

export function createPoolService(raw: PoolDeps): PoolService {
  const deps: PoolCtx = { ...raw, store: createPoolStore(raw.knex, { setAside: logUnreadable(raw.log) }) };
  // one run at a time: two runs reading the same open spans would both open a new one
  const exclusive = <T>(name: string, work: () => Promise<T>) =>
    withLease(
      deps.locks,
      `pools:${name}`,
      {
        ttlMs: 60_000,
        waitMs: 30_000,
        busy: (heldBy) =>
          new ModuleError(
            'LOCKED',
            `pools are being ${name === 'members' ? 'updated' : 'rated'} by ${heldBy}; try again`,
          ),
      },
      work,
    );

  return {
    syncMembers: (serviceIds) => exclusive('members', () => syncMembers(deps, serviceIds)),
    // Found before the lease: most runs (every InvoiceCreation delivery asks) find no month to
    // rate and take no lease, so deliveries do not queue on it. Under the lease they are read again.
    ratePools: async (opts = {}) =>
      (await monthsDue(deps, opts.serviceIds)).length === 0
        ? { rated: 0, skipped: [] }
        : exclusive('rating', () => ratePools(deps, opts.serviceIds)),
    anyMonthDue: async (opts = {}) => (await monthsDue(deps, opts.serviceIds)).length > 0,
    poolPeriods: (clientId) => deps.store.months(clientId),
    recentPeriods: (limit = 50) => deps.store.months(null, Math.min(Math.max(1, limit), 500)),
    standing: (clientId) => standing(deps, clientId),
  };
}

/** A row the pools read that cannot be read (a span, a cap, a service): one warning with its table, id, column and why (never the value). */
const rowWarning =
  (deps: PoolCtx): SetAside =>
  (table, u) =>
    deps.log.warn('pools.row_unreadable', { table, id: u.id, ...u.unreadable });

/**
 * The spans of the clients whose every span reads: a client with a span that cannot be read has
 * its pools left out (their members and hours are not known), so no pool figure of theirs is told,
 * acted on or rated from part of its members; the other clients' pools go on.
 */
function readableSpans(rows: ReadOf<PoolSpanRow>): PoolSpanRow[] {
  const bad = rows.unreadable;
  return bad ? rows.filter((r) => !bad.has(r.clientId)) : rows;
}

/** Spans grouped by client and pool, in the order first seen. */
function byPool(spans: PoolSpanRow[]): Map<string, PoolSpanRow[]> {
  const pools = new Map<string, PoolSpanRow[]>();
  for (const s of spans) {
    const key = `${s.clientId}|${s.poolKey}`;
    pools.set(key, [...(pools.get(key) ?? []), s]);
  }
  return pools;
}

async function standing(deps: PoolCtx, clientId?: number): Promise<Map<number, PoolStanding>> {
  const { zone } = deps;
  const month = poolMonth(localDate(deps.clock.now(), zone));
  const rows = readableSpans(
    await deps.store.spansSince(startOfDay(month.start, zone), clientId, rowWarning(deps)),
  );
  const out = new Map<number, PoolStanding>();
  for (const group of byPool(rows).values()) {
    const now = group.filter((r) => r.leftAt === null).map((r) => r.serviceId);
    if (!now.length) continue;
    const read = await memberInputs(deps, group, month).catch((err: unknown) => {
      // a member whose product no longer gives bytes: the pool cannot be told, as rating would refuse it
      if (err instanceof PlanNotPossible) return null;
      throw err;
    });
    if (!read) continue;
    const shares = poolShares({ start: month.start, end: month.end, zone, members: read.members });
    const s: PoolStanding = {
      clientId: read.clientId,
      pool: read.poolKey,
      start: month.start,
      end: month.end,
      monthId: poolMonthId(month.start),
      allowanceBytes: shares.pooledAllowanceBytes,
      usedBytes: shares.pooledUsedBytes,
      asOf: read.lastDay ?? month.start,
      anchorServiceId: anchorOf(shares.members, shares.lastLeft),
      memberIds: [...new Set(now)].sort((a, b) => a - b),
      members: shares.members,
    };
    for (const id of s.memberIds) out.set(id, s);
  }
  return out;
}

/** services per page of the member sync: what it holds in memory at once (issue 22: 1 000 000 services) */
export const MEMBER_SYNC_PAGE = 2000;

/**
 * Records who joined or left a pool since the last sync: every service, or only the ones named. A
 * page of services at a time (keyset on service_id, each page its own transaction), so the
 * evening's sync over 1 000 000 services never holds them all (nor their pool spans) in memory.
 */
async function syncMembers(
  deps: PoolCtx,
  only?: readonly number[],
): Promise<{ joined: number; left: number }> {
  // a service whose billing settings cannot be read (told here once) is left as it is, below
  const profileFor = await deps.billing.snapshot(undefined, { setAside: rowWarning(deps) });
  const now = deps.clock.now();
  const named = only ? [...new Set(only)].sort((x, y) => x - y) : null;
  const page = deps.memberPageSize ?? MEMBER_SYNC_PAGE;
  const total = { joined: 0, left: 0 };
  let after = 0;
  for (let i = 0; ; i += page) {
    // a service whose row cannot be read is left as it is (its plan and state not known)
    const listed = await deps.store.services(
      named ? { only: named.slice(i, i + page) } : { after, limit: page },
      rowWarning(deps),
    );
    const services = readableOf(listed);
    if (listed.length) {
      // the cursor goes past a row that cannot be read (its key, service_id, reads)
      const last = listed[listed.length - 1]!;
      const next = isUnreadable(last) ? last.id : last.serviceId;
      if (next === null) break;
      after = next;
      const r = await syncPage(deps, services, profileFor, now);
      total.joined += r.joined;
      total.left += r.left;
    }
    if (named ? i + page >= named.length : listed.length < page) break;
  }
  if (total.joined || total.left) deps.log.info('pools.members', total);
  return total;
}

/** The settings a lookup answers, or undefined when a document it bears on cannot be read (told at the snapshot). */
function settingsOrUnknown(
  profileFor: Awaited<ReturnType<BillingSettingsService['snapshot']>>,
  productId: number,
  serviceId: number,
  clientId: number,
): BillingProfile | null | undefined {
  try {
    return profileFor(productId, serviceId, clientId);
  } catch (err) {
    if (storedColumnOf(err) === null) throw err;
    return undefined;
  }
}

/** One page of the member sync: its services' open spans closed or opened as their plans say now. */
async function syncPage(
  deps: PoolCtx,
  services: SyncedService[],
  profileFor: Awaited<ReturnType<BillingSettingsService['snapshot']>>,
  now: DateTime,
): Promise<{ joined: number; left: number }> {
  const { store, zone } = deps;
  const ids = services.map((s) => s.serviceId);
  const open = await store.openSpansOf(ids, rowWarning(deps));
  const seenBefore = await store.everMembers(ids);
  let joined = 0;
  let left = 0;
  await retryTransaction(deps.knex, async (trx) => {
    // counted afresh on each attempt: a retried transaction starts over
    joined = 0;
    left = 0;
    for (const s of services) {
      const { serviceId, clientId, productId } = s;
      // its open span cannot be read: whether and where it is pooled is not known, it stays as it is
      if (open.unreadable?.has(serviceId)) continue;
      const profile = s.active ? settingsOrUnknown(profileFor, productId, serviceId, clientId) : null;
      // its billing settings cannot be read: whether and where it is pooled is not known either
      if (profile === undefined) continue;
      const pool = profile?.pool ?? null;
      const current = open.get(serviceId);
      const same =
        current &&
        pool !== null &&
        current.poolKey === pool &&
        current.productId === productId &&
        current.clientId === clientId;
      if (current && !same) {
        await store.closeSpan(trx, current.id, now);
        left++;
      }
      if (pool !== null && !same) {
        // First seen: a member since the start of its registration day (the panel keeps no hour);
        // afterwards (moved to this plan, reactivated) from now.
        const joinedAt =
          !seenBefore.has(serviceId) && s.regdate ? DateTime.min(startOfDay(s.regdate, zone), now)! : now;
        await store.openSpan(trx, { clientId, poolKey: pool, serviceId, productId, joinedAt }, now);
        joined++;
      }
    }
  });
  return { joined, left };
}

/** The pool months that ended before this month and are not rated yet, pool by pool, oldest first. */
async function monthsDue(
  deps: PoolCtx,
  serviceIds?: readonly number[],
): Promise<Array<{ rows: PoolSpanRow[]; month: { start: IsoDate; end: IsoDate } }>> {
  const { zone } = deps;
  // per client and pool: the months from the first the module knew of, to the last that ended
  const spans = readableSpans(await deps.store.spans(serviceIds, rowWarning(deps)));
  // most renewals' services are in no pool: no month to work out (luxon's zone arithmetic)
  if (spans.length === 0) return [];
  const thisMonth = poolMonth(localDate(deps.clock.now(), zone)).start;
  const done = await deps.store.ratedMonths(
    serviceIds ? [...new Set(spans.map((s) => s.clientId))] : undefined,
    rowWarning(deps),
  );
  const due: Array<{ rows: PoolSpanRow[]; month: { start: IsoDate; end: IsoDate } }> = [];
  for (const [key, rows] of byPool(spans)) {
    // a client with a rated month that cannot be read: which months are billed is not known, and
    // rating one again would bill it twice; their pools wait (the row named), the others are rated
    if (done.unreadable?.has(rows[0]!.clientId)) continue;
    const firstKnown = rows.map((r) => localDate(r.createdAt, zone)).sort()[0]!;
    for (
      let start = poolMonth(firstKnown).start;
      start < thisMonth;
      start = addDays(poolMonth(start).end, 1)
    ) {
      if (done.has(`${key}|${start}`)) continue;
      // a month no member was in has nothing to rate and is never recorded: not due (once every
      // member left, each later month would be, every day, and every run would look again)
      const month = poolMonth(start);
      if (membersIn(rows, month, zone).length) due.push({ rows, month });
    }
  }
  return due;
}

async function ratePools(
  deps: PoolCtx,
  serviceIds?: readonly number[],
): Promise<{ rated: number; skipped: PoolSkip[] }> {
  const result = { rated: 0, skipped: [] as PoolSkip[] };
  for (const { rows, month } of await monthsDue(deps, serviceIds)) {
    const out = await rateMonth(deps, rows, month).catch((err: unknown) => {
      // a row it reads (a member's currency, a day's traffic) cannot be read: this pool month only,
      // named by its column and why, never the value (refused before anything is written)
      if (storedColumnOf(err) !== null) {
        const why = whyUnreadable(err);
        deps.log.warn('pools.row_unreadable', { clientId: rows[0]!.clientId, ...why });
        return {
          skipped: `a row of its members cannot be read (${why.column ?? 'a column'}: ${why.reason}); not rated`,
        };
      }
      if ((err as { code?: string }).code !== 'INVALID_INPUT' && !(err instanceof PlanNotPossible)) throw err;
      return { skipped: (err as Error).message };
    });
    if (out === null) continue;
    if ('skipped' in out) {
      result.skipped.push({
        clientId: rows[0]!.clientId,
        pool: rows[0]!.poolKey,
        start: month.start,
        reason: out.skipped,
      });
      continue;
    }
    if (out.written) result.rated++;
  }
  if (result.skipped.length)
    deps.log.warn('pools.skipped', { count: result.skipped.length, first: result.skipped[0] });
  return result;
}

/** The spans that have hours in the month (panel zone). */
function membersIn(
  rows: PoolSpanRow[],
  month: { start: IsoDate; end: IsoDate },
  zone: string,
): PoolSpanRow[] {
  const from = startOfDay(month.start, zone);
  const to = startOfDay(addDays(month.end, 1), zone);
  return rows.filter((r) => r.joinedAt < to && (r.leftAt === null || r.leftAt > from));
}

/** One pool month: null when no member had hours in it. */
async function rateMonth(
  deps: PoolCtx,
  rows: PoolSpanRow[],
  month: { start: IsoDate; end: IsoDate },
): Promise<{ written: boolean } | { skipped: string } | null> {
  const { zone } = deps;
  const to = startOfDay(addDays(month.end, 1), zone);
  const inMonth = membersIn(rows, month, zone);
  if (inMonth.length === 0) return null;
  const { clientId, poolKey, serviceIds, currencyOf, profiles, members, daysOf } = await memberInputs(
    deps,
    inMonth,
    month,
  );
  // Priced with the anchor's plan: its anchor is known from the hours alone, before any price.
  const first = profiles.get(serviceIds[0]!)!;
  const span = { start: month.start, end: month.end, zone, members };
  let rating: PoolRating = ratePool({ ...span, plan: ratingPlan(first, members[0]!.currency, null) });
  const anchorProfile = profiles.get(rating.anchorServiceId)!;
  const anchorCurrency = currencyOf.get(rating.anchorServiceId) ?? 'EUR';
  const cap = await capAtEnd(deps, serviceIds, to);
  // a cap limits the bill: the month is not billed without knowing which cap was in force
  if (cap && isUnreadable(cap)) {
    const { column, reason } = cap.unreadable;
    return { skipped: `a cap of its pool cannot be read (${column ?? 'a column'}: ${reason}); not rated` };
  }
  if (anchorProfile !== first || anchorCurrency !== members[0]!.currency || cap) {
    rating = ratePool({ ...span, plan: withCap(ratingPlan(anchorProfile, anchorCurrency, null), cap) });
  }
  // each member's plan as of its latest span in the month: the product its own line is billed under
  const productOf = new Map(
    serviceIds.map((id) => [id, inMonth.filter((r) => r.serviceId === id).at(-1)!.productId]),
  );
  const w: PoolWrite = { clientId, poolKey, r: rating, productOf, profiles, anchorProfile, daysOf };
  return { written: await write(deps, w) };
}

/** The days (in the zone) a member's spans cover of the month [from, to). */
function memberDays(spans: PoolSpan[], from: DateTime, to: DateTime, zone: string): Set<IsoDate> {
  const days = new Set<IsoDate>();
  for (const s of spans) {
    const first = localDate(s.from < from ? from : s.from, zone);
    const lastInstant = s.to === null || s.to >= to ? to.minus({ milliseconds: 1 }) : s.to;
    for (let d = first; d <= localDate(lastInstant, zone); d = addDays(d, 1)) days.add(d);
  }
  return days;
}

/** The members of one pool in a month (rows: their spans overlapping it) as rating takes them, with the evidence's days. */
async function memberInputs(deps: PoolCtx, inMonth: PoolSpanRow[], month: { start: IsoDate; end: IsoDate }) {
  const { zone } = deps;
  const from = startOfDay(month.start, zone);
  const to = startOfDay(addDays(month.end, 1), zone);
  const clientId = inMonth[0]!.clientId;
  const poolKey = inMonth[0]!.poolKey;
  const serviceIds = [...new Set(inMonth.map((r) => r.serviceId))];
  const [currencyOf, traffic] = await Promise.all([
    deps.store.currencies(serviceIds),
    deps.store.traffic(serviceIds, month.start, month.end),
  ]);
  const profiles = new Map<number, BillingProfile>();
  const members: PoolMemberInput[] = [];
  const daysOf = new Map<number, IsoDate[]>();
  for (const serviceId of serviceIds) {
    const mine = inMonth.filter((r) => r.serviceId === serviceId);
    const spans: PoolSpan[] = mine.map((r) => ({ from: r.joinedAt, to: r.leftAt }));
    // the allowance of the plan of its latest span in the month (an upgrade: see the note)
    const productId = mine[mine.length - 1]!.productId;
    const profile = await deps.billing.forService(productId, serviceId, clientId);
    if (!profile || profile.allowance === 'solusvm')
      throw new PlanNotPossible(
        `service ${serviceId}: its product ${productId} is no longer billed with an allowance in bytes`,
      );
    profiles.set(serviceId, profile);
    const days = memberDays(spans, from, to, zone);
    const used = traffic
      .filter((i) => i.serviceId === serviceId && days.has(i.day))
      .reduce((sum, i) => sum + i.bytes, 0n);
    daysOf.set(serviceId, [...days].sort());
    const currency = currencyOf.get(serviceId) ?? 'EUR';
    members.push({ serviceId, currency, allowanceBytes: BigInt(profile.allowance), usedBytes: used, spans });
  }
  const lastDay = traffic.reduce<IsoDate | null>((d, i) => (d === null || i.day > d ? i.day : d), null);
  return { clientId, poolKey, serviceIds, currencyOf, profiles, members, daysOf, lastDay };
}

/**
 * The pool's cap in force at the month's end: the newest of its members' caps set before it and not
 * lifted by then. A member's cap that cannot be read is answered in its place (logged once, never
 * the value): which cap held is then not known.
 */
async function capAtEnd(
  deps: PoolCtx,
  serviceIds: number[],
  end: DateTime,
): Promise<ClientCap | UnreadableRow | null> {
  if (!deps.caps) return null;
  const history = await deps.caps.history(serviceIds, rowWarning(deps));
  const unread = serviceIds.map((id) => history.unreadable?.get(id)).find((u) => u !== undefined);
  if (unread) return unread;
  return (
    history.filter((h) => h.setAt < end && (h.liftedAt === null || h.liftedAt >= end)).at(-1)?.cap ?? null
  );
}

/** The plan with the client's cap (a cap the plan no longer fits, another currency, is left out, as for a service). */
function withCap(plan: RatingPlan, cap: ClientCap | null): RatingPlan {
  try {
    return cappedPlan(plan, cap);
  } catch {
    return plan;
  }
}

interface PoolWrite {
  clientId: number;
  poolKey: string;
  r: PoolRating;
  productOf: Map<number, number>;
  profiles: Map<number, BillingProfile>;
  anchorProfile: BillingProfile;
  daysOf: Map<number, IsoDate[]>;
}

const bigintJson = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/**
 * The charges of a rated pool month: one on the anchor (the pool's line), or, when the anchor's
 * product bills pools per VPS and the month bills money, one per member with a part of it — its
 * part of the bytes and of the money as the rating split them (exact, the remainders by largest
 * remainder, ties to the member listed first), so the parts sum to the pool's charge.
 */
function poolCharges(w: PoolWrite, details: Record<string, unknown>, now: DateTime): NewPoolCharge[] {
  const { r } = w;
  const base = {
    clientId: w.clientId,
    periodStart: r.start,
    periodEnd: r.end,
    currency: r.currency,
    ratedAt: now,
  };
  const pool = { key: w.poolKey, ...details };
  if (w.anchorProfile.poolLines === 'per_service' && r.rated.outcome === 'billed') {
    return r.members
      .filter((m) => m.amountMinor > 0n)
      .map((m, i) => ({
        ...base,
        seq: i + 1,
        serviceId: m.serviceId,
        productId: w.productOf.get(m.serviceId)!,
        usedBytes: m.usedBytes,
        allowanceBytes: m.shareBytes,
        overBytes: m.billedOverBytes,
        amountMinor: m.amountMinor,
        roundedMinor: m.amountMinor,
        status: 'unbilled' as const,
        taxed: (w.profiles.get(m.serviceId) ?? w.anchorProfile).taxed,
        explanation: JSON.stringify(
          {
            rated: r.rated,
            profile: w.anchorProfile,
            pool,
            poolPart: {
              pool: w.poolKey,
              serviceId: m.serviceId,
              overBytes: m.billedOverBytes,
              amountMinor: m.amountMinor,
            },
          },
          bigintJson,
        ),
      }));
  }
  return [
    {
      ...base,
      seq: 0,
      serviceId: r.anchorServiceId,
      productId: w.productOf.get(r.anchorServiceId)!,
      usedBytes: r.pooledUsedBytes,
      allowanceBytes: r.pooledAllowanceBytes,
      overBytes: r.rated.overBytes,
      amountMinor: r.rated.amountMinor,
      roundedMinor: r.rated.roundedMinor,
      status: r.rated.outcome === 'billed' ? 'unbilled' : r.rated.outcome,
      taxed: w.anchorProfile.taxed,
      explanation: JSON.stringify({ rated: r.rated, profile: w.anchorProfile, pool }, bigintJson),
    },
  ];
}

/** Every member's hours, share, use and part, as the month's details keep them (bigints as strings). */
const monthDetails = (w: PoolWrite) => ({
  periodHours: w.r.periodHours,
  members: w.r.members.map((m) => ({
    serviceId: m.serviceId,
    hours: m.hours,
    fullAllowanceBytes: String(m.fullAllowanceBytes),
    shareBytes: String(m.shareBytes),
    usedBytes: String(m.usedBytes),
    ownOverBytes: String(m.ownOverBytes),
    billedOverBytes: String(m.billedOverBytes),
    amountMinor: String(m.amountMinor),
    memberAtEnd: m.memberAtEnd,
    days: w.daysOf.get(m.serviceId) ?? [],
  })),
});

async function write(deps: PoolCtx, w: PoolWrite): Promise<boolean> {
  const { clientId, poolKey, r } = w;
  const { store } = deps;
  const now = deps.clock.now();
  const details = monthDetails(w);
  const month = {
    clientId,
    poolKey,
    start: r.start,
    end: r.end,
    currency: r.currency,
    periodHours: r.periodHours,
    anchorServiceId: r.anchorServiceId,
    allowanceBytes: r.pooledAllowanceBytes,
    usedBytes: r.pooledUsedBytes,
    overBytes: r.rated.overBytes,
    amountMinor: r.rated.amountMinor,
    details: JSON.stringify(details),
  };
  return retryTransaction(deps.knex, async (trx) => {
    // a second run (or a concurrent one) finds the month rated and writes nothing
    const monthId = await store.recordMonth(trx, month, now);
    if (await store.hasCharges(trx, monthId)) return false;
    const charges = poolCharges(w, details, now);
    await store.addCharges(trx, monthId, charges);
    const audited = {
      clientId,
      pool: poolKey,
      start: r.start,
      overBytes: String(r.rated.overBytes),
      amountMinor: String(r.rated.amountMinor),
      currency: r.currency,
      anchor: r.anchorServiceId,
      lines: charges.map((c) => [c.serviceId, String(c.amountMinor)]),
    };
    const row = { actor: SYSTEM, action: 'pool.rated', entityType: 'pool_period', entityId: monthId };
    await deps.audit.record(trx, { ...row, details: audited }, now);
    return true;
  });
}

/**
 * Service links whose changes count in the pools at once: a service linked (or switched on or off)
 * joins or leaves its pool now, as the next member sync would record it — a new service from the
 * start of its registration day — so its pool's meter, notices and limit are right the same day.
 * Best effort: when the sync is busy or fails, the next one records the same span.
 */
export function withPoolMembership(
  links: ServiceLinkService,
  pools: () => PoolService | undefined,
  log: Logger,
): ServiceLinkService {
  const sync = async (serviceIds?: number[]): Promise<void> => {
    await pools()
      ?.syncMembers(serviceIds)
      .catch((err: unknown) =>
        log.warn('pools.sync_on_link_failed', {
          serviceIds: serviceIds?.slice(0, 10) ?? 'all',
          ...loggedError(err),
        }),
      );
  };
  return {
    ...links,
    async link(input, actor) {
      const l = await links.link(input, actor);
      await sync([l.serviceId]);
      return l;
    },
    // an import links many: one sync of the services it linked (not of every service: at
    // 1 000 000 services an import of 5 000 at a time read them all each time)
    async linkMany(inputs, actor) {
      const n = await links.linkMany(inputs, actor);
      await sync(inputs.map((l) => l.serviceId));
      return n;
    },
    async setActive(serviceId, active, actor) {
      const l = await links.setActive(serviceId, active, actor);
      await sync([serviceId]);
      return l;
    },
  };
}
