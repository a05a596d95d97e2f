import path from 'node:path';
import ejs from 'ejs';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { localDate, type IsoDate } from '../domain/calendar.js';
import { localeForClient } from '../domain/line-text.js';
import {
  retryDelayMs,
  type LimitAction,
  type LimitPolicy,
  type LimitStatus,
} from '../domain/limit-policy.js';
import { decimalToString, parseDecimal } from '../domain/money.js';
import {
  presentThresholdNotice,
  presentThresholdNoticeForAdmin,
  type NoticePlan,
  type ThresholdNoticeFacts,
} from '../domain/threshold-text.js';
import { thresholdToNotify, type RunOut } from '../domain/thresholds.js';
import type { PricingModel, SoldUnit } from '../domain/usage-rating.js';
import type { LimitActionStore } from '../adapters/limit-action-store.js';
import type { LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { createPeriodReadStore, type PeriodReadStore } from '../adapters/period-read-store.js';
import { errorKind, isUnreadable, loggedError } from '../adapters/rows.js';
import {
  createThresholdNoticeStore,
  type NoticeRecord,
  type ThresholdNoticeStore,
} from '../adapters/threshold-notice-store.js';
import type { BillingSettingsService } from './billing-settings.js';

type ProfileFor = Awaited<ReturnType<BillingSettingsService['snapshot']>>;
import { asPool, assessUsage, type OpenUsage, type OpenUsageReader } from './open-usage.js';
import type { PoolStanding } from './pools.js';
import { poolMonth, poolMonthId } from '../domain/pools.js';
import type { Outbox, OutboxEmail } from './outbox.js';

const TEMPLATE = path.resolve(import.meta.dirname, '..', '..', 'views', 'email', 'threshold-notice.ejs');
const LOCK = 'usage-watch:thresholds';
const LEASE_MS = 10 * 60_000;

/**
 * Threshold notices: when metering sees a service's open period reach a threshold of its allowance
 * (80/90/100 % by default, per product, per service), the client gets an email through the panel in
 * their language and the admin gets one too. Once per threshold per period, however often this
 * runs: each notice is a row of mod_overusage_notices keyed `period:<id>:<pct>`, written before
 * anything is sent. Several thresholds reached at once give one notice naming the highest.
 *
 * A notice remembers which of its two emails went out, so a retry after a failure sends only the
 * missing one. The figures are those of the sample that reached the threshold, kept with the
 * notice: the email says what was true then, and the widget's banner shows the same.
 */
export interface ThresholdNoticeService {
  /**
   * Decides the notices of services whose usage reached a threshold (all, or the given ones; not
   * when `decide` is false) and sends whatever is owed, retries included.
   */
  run(opts?: { serviceIds?: number[]; decide?: boolean }): Promise<ThresholdRunResult>;
  /** the latest threshold notice of the service's open period, for the widget's banner; null when none */
  bannerFor(serviceId: number): Promise<ThresholdBanner | null>;
}

export interface ThresholdRunResult {
  decided: number;
  sent: number;
  failed: number;
  /** services a product bills but whose allowance could not be told (no price in the currency, no SolusVM limit) */
  unassessed: number;
  locked: boolean;
}

export interface ThresholdBanner {
  serviceId: number;
  periodId: number;
  /** the threshold reached, and every one the notice stood for */
  pct: number;
  covers: number[];
  /** pending | sending | sent | failed */
  noticeStatus: string;
  decidedAt: string;
  asOf: IsoDate;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  usedBytes: bigint;
  allowanceBytes: bigint;
  percentUsed: string;
  runOut: RunOut;
  projectedUsedBytes: bigint | null;
  cost: { soFarMinor: bigint; atEndMinor: bigint; currency: string } | null;
  unit: SoldUnit;
  policy: LimitPolicy['action'];
  /** a transfer pool's notice: the figures are the pool's (its month, every member's use and share) */
  pool: { name: string; serviceIds: number[] } | null;
  /** the latest action at the limit in this period, if any */
  limitAction: { id: number; action: LimitAction; status: LimitStatus } | null;
}

/** The facts of a notice as stored with it (bigints as strings). */
interface StoredNotice {
  v: 1;
  pct: number;
  covers: number[];
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  asOf: IsoDate;
  usedBytes: string;
  allowanceBytes: string;
  percentUsed: string;
  projection: {
    daysElapsed: number;
    daysInPeriod: number | null;
    dailyAverageBytes: string;
    runOut: RunOut;
    projectedUsedBytes: string | null;
  };
  cost: { soFarMinor: string; atEndMinor: string; currency: string } | null;
  plan: {
    unit: SoldUnit;
    currency: string;
    rate: string;
    model: { kind: PricingModel['kind']; blockUnits?: number; commitMbps?: string };
  };
  policy: LimitPolicy;
  /** a pool's notice: its name and members (the figures are the pool's) */
  pool?: { name: string; serviceIds: number[] };
  delivery: {
    attempts: number;
    nextAttemptAt: string | null;
    lastError: string | null;
    clientSentAt: string | null;
    adminSentAt: string | null;
    locale: string | null;
    subject: string | null;
  };
}

const keyOf = (periodId: number, pct: number) => `period:${periodId}:${pct}`;
const periodOfKey = (key: string): number | null => {
  const m = /^period:(\d+):(\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
};
/** A pool's notice is the client's, for one pool and month: `pool:<name>:<first day>:<pct>`. */
const poolScope = (pool: string, start: IsoDate) => `pool:${pool}:${start}`;
const poolMonthOfKey = (key: string): IsoDate | null =>
  /^pool:[a-z0-9_-]+:(\d{4}-\d{2}-\d{2}):\d+$/.exec(key)?.[1] ?? null;
/** the key without its percentage: the period (or pool month) the notice belongs to */
const scopeOfKey = (key: string) => key.replace(/:\d+$/, '');
const pctOfKey = (key: string) => Number(key.split(':').at(-1));

function storeFacts(
  u: OpenUsage,
  a: NonNullable<ReturnType<typeof assessUsage>>,
  notice: { pct: number; covers: number[] },
  policy: LimitPolicy,
): StoredNotice {
  const m = a.plan.model;
  return {
    v: 1,
    pct: notice.pct,
    covers: notice.covers,
    periodId: u.periodId,
    periodStart: u.shape.from,
    periodEnd: u.shape.end,
    asOf: u.asOf,
    usedBytes: u.usedBytes.toString(),
    allowanceBytes: a.allowanceBytes.toString(),
    percentUsed: a.percentUsed ?? '100.0',
    projection: {
      daysElapsed: a.projection.daysElapsed,
      daysInPeriod: a.projection.daysInPeriod,
      dailyAverageBytes: a.projection.dailyAverageBytes.toString(),
      runOut: a.projection.runOut,
      projectedUsedBytes: a.projection.projectedUsedBytes?.toString() ?? null,
    },
    cost: a.cost
      ? {
          soFarMinor: a.cost.soFarMinor.toString(),
          atEndMinor: a.cost.atEndMinor.toString(),
          currency: a.cost.currency,
        }
      : null,
    plan: {
      unit: a.plan.unit,
      currency: a.plan.currency,
      rate: decimalToString(a.plan.rate),
      model:
        m.kind === 'per_block'
          ? { kind: m.kind, blockUnits: m.blockUnits }
          : m.kind === 'per_unit'
            ? { kind: m.kind }
            : { kind: m.kind, commitMbps: decimalToString(m.commitMbps) },
    },
    policy,
    delivery: {
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      clientSentAt: null,
      adminSentAt: null,
      locale: null,
      subject: null,
    },
  };
}

function planOf(s: StoredNotice): NoticePlan {
  const m = s.plan.model;
  let model: PricingModel;
  if (m.kind === 'per_block') model = { kind: 'per_block', blockUnits: m.blockUnits ?? 1 };
  else if (m.kind === 'avg_mbps' || m.kind === 'p95')
    model = { kind: m.kind, commitMbps: parseDecimal(m.commitMbps ?? '0', 'commitMbps') };
  else model = { kind: 'per_unit' };
  return { unit: s.plan.unit, currency: s.plan.currency, rate: parseDecimal(s.plan.rate, 'rate'), model };
}

function factsOf(
  s: StoredNotice,
  who: { firstName: string; domain: string; company: string },
): ThresholdNoticeFacts {
  return {
    ...who,
    pct: s.pct,
    periodStart: s.periodStart,
    periodEnd: s.periodEnd,
    asOf: s.asOf,
    usedBytes: BigInt(s.usedBytes),
    allowanceBytes: BigInt(s.allowanceBytes),
    percentUsed: s.percentUsed,
    projection: {
      daysElapsed: s.projection.daysElapsed,
      daysInPeriod: s.projection.daysInPeriod,
      dailyAverageBytes: BigInt(s.projection.dailyAverageBytes),
      runOut: s.projection.runOut,
      projectedUsedBytes:
        s.projection.projectedUsedBytes === null ? null : BigInt(s.projection.projectedUsedBytes),
    },
    cost: s.cost
      ? {
          soFarMinor: BigInt(s.cost.soFarMinor),
          atEndMinor: BigInt(s.cost.atEndMinor),
          currency: s.cost.currency,
        }
      : null,
    plan: planOf(s),
    policy: s.policy,
  };
}

// The panel reads {…} in a custom message as merge fields: none of our text may look like one.
const noMergeFields = (html: string) => html.replace(/\{/g, '&#123;').replace(/\}/g, '&#125;');

type NoticeDeps = {
  knex: Knex;
  store?: ThresholdNoticeStore;
  /** the service's open period, for its banner */
  services?: Pick<PeriodReadStore, 'service'>;
  clock: Clock;
  panel: PanelApi;
  billing: BillingSettingsService;
  usage: OpenUsageReader;
  limits: LimitActionStore;
  locks: LockStore;
  log: Logger;
  owner: string;
  outbox: Outbox;
  /** transfer pools: a pooled service's notices are its pool's (module/services/pools.ts); zone: the panel's, for the pool's month */
  pools?: { standing(): Promise<Map<number, PoolStanding>>; zone: string };
};

type Ctx = NoticeDeps & { store: ThresholdNoticeStore; services: Pick<PeriodReadStore, 'service'> };

export function createThresholdNoticeService(given: NoticeDeps): ThresholdNoticeService {
  const deps: Ctx = {
    ...given,
    // one notice that cannot be read leaves its service (or pool) undecided, not the notices of all
    store:
      given.store ??
      createThresholdNoticeStore(given.knex, {
        setAside: (table, u) =>
          given.log.warn('threshold_notice.row_unreadable', { table, id: u.id, ...u.unreadable }),
      }),
    services: given.services ?? createPeriodReadStore(given.knex),
  };
  return {
    run: (opts = {}) => runNotices(deps, opts),
    bannerFor: (serviceId) => bannerFor(deps, serviceId),
  };
}

/** The members' names as the panel shows them (their ids where it has none). */
async function domainsOf(deps: Ctx, serviceIds: readonly number[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of serviceIds)
    out.push((await deps.panel.getClientsProducts({ serviceId: id })).products[0]?.domain || `#${id}`);
  return out;
}

type ClientDetails = Awaited<ReturnType<PanelApi['getClientsDetails']>>;

/** The emails a notice still owes (the client's, the admin's), its delivery record marked as if they went. */
async function owedEmails(
  deps: Ctx,
  n: NoticeRecord,
  stored: StoredNotice,
  client: ClientDetails,
): Promise<OutboxEmail[]> {
  const { id, serviceId, clientId } = n;
  const d = stored.delivery;
  const { products } = await deps.panel.getClientsProducts({ serviceId });
  const domain = products[0]?.domain || `#${serviceId}`;
  const company = await deps.panel.getConfigurationValue('CompanyName').catch(() => '');
  const facts = factsOf(stored, { firstName: client.firstName, domain, company });
  if (stored.pool)
    facts.pool = { name: stored.pool.name, domains: await domainsOf(deps, stored.pool.serviceIds) };
  const emails: OutboxEmail[] = [];
  const at = deps.clock.now().toISO();
  if (!d.clientSentAt) {
    const locale = localeForClient(client.language);
    const text = presentThresholdNotice(facts, locale);
    const html = noMergeFields(await ejs.renderFile(TEMPLATE, { text }));
    emails.push({
      key: `threshold:${id}:client`,
      kind: 'threshold',
      to: { client: { clientId, customType: 'product', relatedId: serviceId } },
      subject: text.subject,
      html,
    });
    d.clientSentAt = at;
    d.locale = locale;
    d.subject = text.subject;
  }
  if (!d.adminSentAt) {
    const clientName = `${client.firstName} ${client.lastName}`.trim();
    const admin = presentThresholdNoticeForAdmin({ ...facts, clientName, serviceId });
    const copy = presentThresholdNotice(facts, 'en-GB');
    const html = noMergeFields(
      `<p>${ejs.escapeXML(admin.summary)}</p><p>The client was sent this notice:</p>${await ejs.renderFile(TEMPLATE, { text: copy })}`,
    );
    emails.push({
      key: `threshold:${id}:admin`,
      kind: 'threshold',
      to: { admin: true },
      subject: admin.subject,
      html,
    });
    d.adminSentAt = at;
  }
  return emails;
}

/** Sends what a notice still lacks; the claim (pending|failed → sending) keeps two runs from sending it both. */
async function deliver(deps: Ctx, id: number): Promise<'sent' | 'failed' | 'skipped'> {
  if (!(await deps.store.claim(id))) return 'skipped';
  const n = (await deps.store.get(id))!;
  const stored = n.details as StoredNotice;
  const d = stored.delivery;
  try {
    const emails = await owedEmails(deps, n, stored, await deps.panel.getClientsDetails(n.clientId));
    // the notice is told once: its emails go to the outbox with it, and the outbox sends them
    await deps.store.transaction(async (trx) => {
      await deps.outbox.enqueue(trx, emails);
      await deps.store.markSent(trx, id, stored, deps.clock.now());
    });
    await deps.panel
      .logActivity(
        `Overusage: service ${n.serviceId} reached ${stored.pct}% of its traffic allowance; client and admin told`,
        n.clientId,
      )
      .catch(() => {});
    return 'sent';
  } catch (err) {
    d.attempts++;
    // what failed and its kind (errorKind), never the error's words: the panel's or the database's
    // can quote the client's address or a stored figure, and this is kept in the notice
    d.lastError = `the notice's emails were not queued: ${errorKind(err)}`.slice(0, 500);
    d.nextAttemptAt = deps.clock
      .now()
      .plus({ milliseconds: retryDelayMs(d.attempts) })
      .toISO();
    await deps.store.markFailed(id, stored);
    deps.log.warn('threshold_notice.failed', {
      serviceId: n.serviceId,
      notice: n.key,
      attempt: d.attempts,
      error: d.lastError,
    });
    return 'failed';
  }
}

type Candidate = {
  u: OpenUsage;
  a: NonNullable<ReturnType<typeof assessUsage>>;
  policy: LimitPolicy;
  pool?: PoolStanding;
};

/** Writes the notice a candidate owes now, if any (before anything is sent: however often this runs, one notice). */
async function decideOne(
  deps: Ctx,
  c: Candidate,
  told: number[],
  toSend: number[],
  result: ThresholdRunResult,
): Promise<void> {
  const notice = thresholdToNotify(c.a.crossed, told);
  if (!notice) return;
  const key = c.pool
    ? `${poolScope(c.pool.pool, c.pool.start)}:${notice.pct}`
    : keyOf(c.u.periodId, notice.pct);
  const facts = storeFacts(c.u, c.a, notice, c.policy);
  if (c.pool) facts.pool = { name: c.pool.pool, serviceIds: c.pool.memberIds };
  const row = await deps.store.insertPending(
    { serviceId: c.u.serviceId, clientId: c.u.clientId, key, details: facts },
    deps.clock.now(),
  );
  if (row.status === 'pending') {
    result.decided++;
    toSend.push(row.id);
  }
}

const coversOf = (n: NoticeRecord) => ((n.details ?? {}) as Partial<StoredNotice>).covers ?? [];

/** Services on their own: a notice per open period. Pooled services are left to decidePools. */
async function decideServices(
  deps: Ctx,
  page: OpenUsage[],
  profileFor: ProfileFor,
  openPeriods: Map<number, number>,
  toSend: number[],
  result: ThresholdRunResult,
): Promise<void> {
  const candidates: Candidate[] = [];
  for (const u of page) {
    openPeriods.set(u.serviceId, u.periodId);
    const profile = profileFor(u.productId, u.serviceId, u.clientId);
    if (!profile || profile.pool !== undefined) continue;
    const a = assessUsage(u, profile);
    if (!a) {
      result.unassessed++;
      continue;
    }
    if (a.crossed.length) candidates.push({ u, a, policy: profile.limitPolicy });
  }
  if (!candidates.length) return;
  const told = new Map<number, number[]>();
  const notes = await deps.store.ofServices(candidates.map((c) => c.u.serviceId));
  for (const n of notes) {
    const sid = n.serviceId;
    if (periodOfKey(n.key) !== openPeriods.get(sid)) continue;
    told.set(sid, [...(told.get(sid) ?? []), ...coversOf(n)]);
  }
  for (const c of candidates) {
    // a notice of its own cannot be read: what it was told is not known, a new one could repeat it
    if (notes.unreadable?.has(c.u.serviceId)) continue;
    await decideOne(deps, c, told.get(c.u.serviceId) ?? [], toSend, result);
  }
}

/**
 * Pools: one notice per pool and month, on the pool's figures (what every member used against
 * every member's share), addressed on the member that anchors the pool as things stand.
 */
async function decidePools(
  deps: Ctx,
  standings: Map<number, PoolStanding>,
  profileFor: ProfileFor,
  only: readonly number[] | undefined,
  toSend: number[],
  result: ThresholdRunResult,
): Promise<void> {
  const pools = [...new Set(standings.values())].filter(
    (s) => !only || s.memberIds.some((id) => only.includes(id)),
  );
  if (!pools.length) return;
  const usages = await deps.usage.some(pools.flatMap((s) => s.memberIds));
  for (const s of pools) {
    // the anchor when it was sampled, else the first member that was
    const own =
      usages.get(s.anchorServiceId) ?? s.memberIds.map((id) => usages.get(id)).find((u) => u !== undefined);
    const profile = own ? profileFor(own.productId, own.serviceId, own.clientId) : null;
    if (!own || !profile) continue;
    const u = asPool(own, s);
    const a = assessUsage(u, profile, s.allowanceBytes);
    if (!a) {
      result.unassessed++;
      continue;
    }
    if (!a.crossed.length) continue;
    const scope = poolScope(s.pool, s.start);
    const mine = await deps.store.ofClient(s.clientId, `${scope}:`);
    if (mine.unreadable) continue;
    const told = mine.flatMap(coversOf);
    await decideOne(deps, { u, a, policy: profile.limitPolicy, pool: s }, told, toSend, result);
  }
}

/** Notices still owed from earlier runs (the panel failed, or a run stopped mid-way), while their period is open. */
async function owedNotices(
  deps: Ctx,
  current: Map<number, number>,
  poolMonth: IsoDate | null,
  toSend: number[],
): Promise<void> {
  const owed = await deps.store.owed();
  const now = deps.clock.now();
  for (const o of owed) {
    const id = o.id;
    if (toSend.includes(id)) continue;
    const sid = o.serviceId;
    const key = o.key;
    const month = poolMonthOfKey(key);
    if (month === null && !current.has(sid)) continue;
    const stale =
      month === null ? periodOfKey(key) !== current.get(sid) : poolMonth !== null && month < poolMonth;
    if (stale) {
      await deps.store.retire(id, 'expired');
      continue;
    }
    const stored = o.details as StoredNotice;
    const due =
      stored.delivery.nextAttemptAt === null || DateTime.fromISO(stored.delivery.nextAttemptAt) <= now;
    if (due) toSend.push(id);
  }
}

/** Sends each notice due, unless a higher one of the same period (or pool month) makes it pointless. */
async function sendDue(deps: Ctx, toSend: number[], result: ThresholdRunResult): Promise<void> {
  for (const id of toSend) {
    const row = await deps.store.get(id);
    if (!row) continue;
    const higher = await deps.store.ofClient(row.clientId, `${scopeOfKey(row.key)}:`, { live: true });
    // one of the same period that cannot be read may be higher: it waits, owed, rather than repeat
    if (higher.unreadable) continue;
    if (higher.some((h) => pctOfKey(h.key) > pctOfKey(row.key))) {
      await deps.store.retire(id, 'superseded');
      continue;
    }
    const out = await deliver(deps, id);
    if (out === 'sent') result.sent++;
    else if (out === 'failed') result.failed++;
  }
}

/** Decides the notices owed now, then sends what is due, under the watch's lease. */
async function runNotices(
  deps: Ctx,
  opts: Parameters<ThresholdNoticeService['run']>[0] = {},
): Promise<ThresholdRunResult> {
  const result: ThresholdRunResult = { decided: 0, sent: 0, failed: 0, unassessed: 0, locked: false };
  const lease = await deps.locks.acquire(LOCK, deps.owner, LEASE_MS);
  if (!lease.acquired) return { ...result, locked: true };
  const renew = setInterval(
    () => void deps.locks.renew(LOCK, deps.owner, LEASE_MS).catch(() => {}),
    LEASE_MS / 3,
  );
  renew.unref();
  try {
    // We hold the lease, so a notice still 'sending' was left by a run that stopped mid-way: it is
    // owed (its delivery record says which email, if any, already went).
    await deps.store.releaseSending();
    const profileFor = await deps.billing.snapshot();
    const openPeriods = new Map<number, number>();
    const toSend: number[] = [];
    if (opts.decide !== false) {
      // the pools' figures only when deciding: a tick that only sends what is owed needs none
      const standings = deps.pools ? await deps.pools.standing() : new Map<number, PoolStanding>();
      const pages: AsyncIterable<OpenUsage[]> = opts.serviceIds
        ? (async function* () {
            yield [...(await deps.usage.some(opts.serviceIds!)).values()];
          })()
        : deps.usage.pages();
      for await (const page of pages)
        await decideServices(deps, page, profileFor, openPeriods, toSend, result);
      await decidePools(deps, standings, profileFor, opts.serviceIds, toSend, result);
    }
    const owedSids = await deps.store.owedServiceIds();
    const current = opts.serviceIds
      ? openPeriods
      : new Map([...(await deps.usage.some(owedSids))].map(([sid, u]) => [sid, u.periodId]));
    await owedNotices(
      deps,
      current,
      deps.pools ? poolMonth(localDate(deps.clock.now(), deps.pools.zone)).start : null,
      toSend,
    );
    await sendDue(deps, toSend, result);
    // the emails go now (and those a failure left waiting), before the policy at the limit acts on the VPS
    await deps.outbox
      .drain()
      .catch((err: unknown) => deps.log.warn('threshold_notice.outbox_failed', { ...loggedError(err) }));
    return result;
  } finally {
    clearInterval(renew);
    await deps.locks.release(LOCK, deps.owner).catch(() => {});
  }
}

/** The banner a service's page shows: its latest notice of the open period (or its pool's month), with the action taken. */
async function bannerFor(deps: Ctx, serviceId: number): ReturnType<ThresholdNoticeService['bannerFor']> {
  const svc = await deps.services.service(serviceId);
  if (!svc || svc.openPeriodId === null) return null;
  let periodId = svc.openPeriodId;
  let rows = await deps.store.liveOfService(serviceId, `period:${periodId}:`);
  if (!rows.length && deps.pools) {
    // a pooled service shows its pool's notice of this month, whichever member it was addressed on
    const month = poolMonth(localDate(deps.clock.now(), deps.pools.zone)).start;
    const mine = (await deps.store.ofClient(svc.clientId, 'pool:', { live: true })).filter(
      (r) =>
        poolMonthOfKey(r.key) === month &&
        ((r.details as StoredNotice).pool?.serviceIds ?? []).includes(serviceId),
    );
    if (mine.length) {
      rows = mine;
      periodId = poolMonthId(month);
    }
  }
  if (!rows.length) return null;
  const latest = rows.reduce((a, b) => (pctOfKey(b.key) > pctOfKey(a.key) ? b : a));
  const s = latest.details as StoredNotice;
  // the newest action row of the period says what stands; one that cannot be read says nothing to
  // the client (the VPS's state is not claimed from an older row), and the operator is told which
  const [newest] = await deps.limits.forService(serviceId, periodId, (table, u) =>
    deps.log.warn('limit.row_unreadable', { table, id: u.id, ...u.unreadable }),
  );
  const action = newest === undefined || isUnreadable(newest) ? null : newest;
  return {
    serviceId,
    periodId,
    pct: s.pct,
    covers: s.covers,
    noticeStatus: latest.status,
    decidedAt: latest.createdAt.toISO()!,
    asOf: s.asOf,
    periodStart: s.periodStart,
    periodEnd: s.periodEnd,
    usedBytes: BigInt(s.usedBytes),
    allowanceBytes: BigInt(s.allowanceBytes),
    percentUsed: s.percentUsed,
    runOut: s.projection.runOut,
    projectedUsedBytes:
      s.projection.projectedUsedBytes === null ? null : BigInt(s.projection.projectedUsedBytes),
    cost: s.cost
      ? {
          soFarMinor: BigInt(s.cost.soFarMinor),
          atEndMinor: BigInt(s.cost.atEndMinor),
          currency: s.cost.currency,
        }
      : null,
    unit: s.plan.unit,
    policy: s.policy.action,
    pool: s.pool ?? null,
    limitAction: action ? { id: action.id, action: action.action, status: action.status } : null,
  };
}
