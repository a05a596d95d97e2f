import { addDays, daysBetween, isIsoDate, type IsoDate } from '../domain/calendar.js';
import { invalidInput } from '../domain/errors.js';
import { containsPattern, foldForSearch } from '../domain/search-text.js';
import type {
  AdminReadStore,
  AllowanceRule,
  AuditRow,
  DisputeRow,
  ListedDispute,
  ServiceOrUnreadable,
  WaitingCharge,
} from '../adapters/admin-read-store.js';
import type { LineQuery, LineReads } from '../adapters/line-store.js';
import { isUnreadable, type Listed, type UnreadableRow } from '../adapters/rows.js';
import type { PeriodReadStore } from '../adapters/period-read-store.js';
import type { BillingSettingsService } from './billing-settings.js';
import {
  assess,
  idCursor,
  pageOf,
  thresholdsOf,
  type LineRow,
  type Page,
  type ServiceRow,
  type UsageAssessment,
} from './usage-reads.js';

/**
 * The admin tab's lists. Each reads one page by a keyset (the last row's sort key), never an
 * OFFSET or a COUNT over a big table, so a page costs the same on the first and the 2 000th page
 * of 100 000 rows. The dashboard's figures over all services are kept for a minute.
 */

export type { AuditRow, DisputeRow, ListedDispute, WaitingCharge };

export interface ServiceListRow extends ServiceRow {
  assessment: UsageAssessment | null;
}

export interface SampleRow {
  kind: 'sample' | 'gap';
  date: IsoDate;
  id: number | null;
  sampledAt: string | null;
  usedBytes: bigint | null;
  limitBytes: bigint | null;
  state: string | null;
  raw: string | null;
  failures: Array<{ at: string; kind: string; message: string }>;
}

/**
 * A currency's projected overusage over the services on pace to pass their allowance. A service
 * among them that cannot be read makes its currency's total unavailable (amountMinor null, the
 * services named in `unreadable`), never a smaller sum; one whose currency cannot be read either
 * makes every total unavailable (with no total yet: one of currency null).
 */
export interface ProjectedTotal {
  currency: string | null;
  amountMinor: bigint | null;
  /** the services counted in the sum (readable, with a cost at the end) */
  services: number;
  unreadable: UnreadableRow[];
}

export interface Dashboard {
  meteredServices: number;
  openDisputes: number;
  /** services at or past their lowest threshold, most used first; those that cannot be read before them */
  attention: Array<Listed<ServiceListRow & { pct: number }>>;
  /** the projected overusage at the end of the open periods, per currency */
  projected: ProjectedTotal[];
  oldestDisputes: ListedDispute[];
  recentLines: Array<Listed<LineRow>>;
  /** the SolusVM masters and the latest sampling runs: is metering working */
  masters: Array<{ id: number; name: string; version: number; active: boolean }>;
  runs: Array<{
    id: number;
    date: IsoDate;
    status: string;
    read: number;
    failed: number;
    gaps: number;
    resets: number;
    message: string;
  }>;
  /** real time, for keeping the figures a minute */
  computedAt: number;
  /** the panel's clock when they were computed (a replayed or demo clock in tests and the demo): what the page says */
  asOf: number;
}

export interface LineFilter {
  q?: string;
  status?: string;
  clientId?: number;
  serviceId?: number;
  invoiceId?: number;
}

export const LINE_STATUSES = ['pending', 'placed', 'held', 'waived', 'released'] as const;
export const DISPUTE_LISTS = ['open', 'resolved', 'all'] as const;

export interface AdminReads {
  dashboard(opts?: { fresh?: boolean }): Promise<Dashboard>;
  /** `q`: a client's name or company, a hostname, an IP or a product (module/domain/search-text.ts), or a service or client id */
  services(opts?: {
    after?: unknown;
    limit?: number;
    clientId?: number;
    q?: string;
  }): Promise<Page<Listed<ServiceListRow>>>;
  samples(serviceId: number, opts?: { before?: unknown; limit?: number }): Promise<Page<SampleRow>>;
  disputes(opts?: { list?: string; after?: unknown; limit?: number }): Promise<Page<ListedDispute>>;
  dispute(id: number): Promise<DisputeRow | null>;
  /** a line that cannot be read is listed in its place as unreadable (never left out: it is money) */
  lines(filter: LineFilter, opts?: { before?: unknown; limit?: number }): Promise<Page<Listed<LineRow>>>;
  audit(
    filter: { entityType?: string; entityId?: string; actorType?: string },
    opts?: { before?: unknown; limit?: number },
  ): Promise<Page<Listed<AuditRow>>>;
  /** charges still unbilled whose line was released because its invoice was paid or cancelled first */
  waitingCharges(filter?: { serviceId?: number }): Promise<WaitingCharge[]>;
}

export interface AdminReadDeps {
  store: AdminReadStore;
  periods: PeriodReadStore;
  lines: LineReads;
  billing: BillingSettingsService;
  now?: () => number;
  cacheMs?: number;
  today?: () => IsoDate;
  clockNow?: () => number;
}

export function createAdminReads(deps: AdminReadDeps): AdminReads {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 60_000;
  let cached: Dashboard | null = null;
  return {
    waitingCharges: (filter = {}) => deps.store.waitingCharges(filter.serviceId),
    async dashboard(opts = {}) {
      // the lists are cheap: only the figures over all services come from the cache
      if (!opts.fresh && cached && now() - cached.computedAt < cacheMs)
        return { ...cached, ...(await dashboardLists(deps)) };
      cached = await computeDashboard(deps, now);
      return cached;
    },
    services: (opts = {}) => services(deps, opts),
    samples: (serviceId, opts = {}) => samples(deps, now, serviceId, opts),
    disputes: (opts = {}) => disputes(deps, opts),
    dispute: (id) => deps.store.dispute(id),
    async lines(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      return pageOf(
        await deps.lines.listed(lineQuery(filter), idCursor(opts.before), limit + 1),
        limit,
        (last) => String(last.id),
      );
    },
    async audit(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      return pageOf(await deps.store.audit(filter, idCursor(opts.before), limit + 1), limit, (last) =>
        String(last.id),
      );
    },
  };
}

/** The same for a list with rows that cannot be read: those stay in their place, unassessed. */
async function assessListed(
  deps: AdminReadDeps,
  rows: Array<Listed<ServiceRow>>,
): Promise<Array<Listed<ServiceListRow>>> {
  const assessed = await assessRows(
    deps,
    rows.flatMap((r) => (isUnreadable(r) ? [] : [r])),
  );
  let i = 0;
  return rows.map((r) => (isUnreadable(r) ? r : assessed[i++]!));
}

/** Services with what their open period means under their product (the SolusVM limit read where it is the allowance). */
async function assessRows(deps: AdminReadDeps, rows: ServiceRow[]): Promise<ServiceListRow[]> {
  if (rows.length === 0) return [];
  const [profileFor, ms, limits] = await Promise.all([
    deps.billing.snapshot(),
    deps.periods.masters(),
    deps.periods.limitsOf(rows.flatMap((r) => (r.lastSampleId === null ? [] : [r.lastSampleId]))),
  ]);
  return rows.map((r) => {
    const profile = profileFor(r.productId, r.serviceId, r.clientId);
    const limit = r.lastSampleId === null ? null : (limits.get(r.lastSampleId) ?? null);
    return { ...r, assessment: assess(r, profile, limit, ms).assessment };
  });
}

/** What the dashboard lists besides its figures: open disputes, the recent lines, metering's masters and runs. */
async function dashboardLists(
  deps: AdminReadDeps,
): Promise<Pick<Dashboard, 'openDisputes' | 'oldestDisputes' | 'recentLines' | 'masters' | 'runs'>> {
  const [openDisputes, oldestDisputes, recentLines, masters, runs] = await Promise.all([
    deps.store.countOpenDisputes(),
    deps.store.openDisputes(null, 10),
    deps.lines.listed({}, null, 10),
    deps.store.masters(),
    deps.store.recentRuns(5),
  ]);
  return { openDisputes, oldestDisputes, recentLines, masters, runs };
}

async function computeDashboard(deps: AdminReadDeps, now: () => number): Promise<Dashboard> {
  const products = (await deps.billing.listProducts()).filter((p) => p.profile.enabled);
  const attentionRows: ServiceOrUnreadable[] = [];
  const projectedRows: ServiceOrUnreadable[] = [];
  for (const { productId, profile } of products) {
    const lowest = thresholdsOf(profile)[0] ?? 80;
    const allowance: AllowanceRule =
      profile.allowance === 'solusvm'
        ? { kind: 'solusvm' }
        : { kind: 'bytes', bytes: BigInt(profile.allowance) };
    attentionRows.push(...(await deps.store.servicesAtLeast(productId, allowance, lowest, 25)));
    projectedRows.push(...(await deps.store.servicesOnPaceToPass(productId, allowance, 20_000)));
  }
  const assessed = await assessListed(deps, attentionRows);
  const attention = assessed
    .flatMap((s) => (!isUnreadable(s) && s.assessment && s.assessment.crossed.length > 0 ? [s] : []))
    .map((s) => ({ ...s, pct: Number(s.assessment!.percentUsed ?? '0') }))
    .sort((a, b) => b.pct - a.pct || a.serviceId - b.serviceId)
    .slice(0, 20);
  const [projected, metered, lists] = await Promise.all([
    projectedTotals(deps, projectedRows),
    deps.store.countActiveServices(),
    dashboardLists(deps),
  ]);
  return {
    meteredServices: metered,
    // a service that cannot be read is named before the others: whether it is near its allowance is unknown
    attention: [...assessed.filter((s) => isUnreadable(s)), ...attention],
    projected,
    ...lists,
    computedAt: now(),
    asOf: deps.clockNow ? deps.clockNow() : now(),
  };
}

/** The projected overusage per currency; a currency with a service that cannot be read has none (ProjectedTotal). */
async function projectedTotals(deps: AdminReadDeps, rows: ServiceOrUnreadable[]): Promise<ProjectedTotal[]> {
  const sums = new Map<string | null, ProjectedTotal>();
  const entry = (currency: string | null) => {
    const e = sums.get(currency) ?? { currency, amountMinor: 0n, services: 0, unreadable: [] };
    sums.set(currency, e);
    return e;
  };
  const unknown: UnreadableRow[] = [];
  for (const r of rows) {
    if (!isUnreadable(r)) continue;
    const u = { id: r.id, unreadable: r.unreadable };
    if (r.currency === null) unknown.push(u);
    else entry(r.currency).unreadable.push(u);
  }
  for (const s of await assessRows(
    deps,
    rows.flatMap((r) => (isUnreadable(r) ? [] : [r])),
  )) {
    const cost = s.assessment?.cost;
    if (!cost || cost.atEndMinor <= 0n) continue;
    const e = entry(cost.currency);
    e.amountMinor! += cost.atEndMinor;
    e.services++;
  }
  if (unknown.length && sums.size === 0) entry(null);
  return [...sums.values()]
    .map((e) => {
      const unreadable = [...e.unreadable, ...unknown];
      return { ...e, amountMinor: unreadable.length ? null : e.amountMinor, unreadable };
    })
    .sort((a, b) => (a.currency ?? '').localeCompare(b.currency ?? ''));
}

async function services(
  deps: AdminReadDeps,
  opts: { after?: unknown; limit?: number; clientId?: number; q?: string },
): Promise<Page<Listed<ServiceListRow>>> {
  const limit = opts.limit ?? 50;
  const after = idCursor(opts.after);
  const text = (opts.q ?? '').trim();
  if (text.length > 100) throw invalidInput('the search text is at most 100 characters');
  const search = text
    ? { pattern: containsPattern(foldForSearch(text)), id: /^\d{1,15}$/.test(text) ? Number(text) : null }
    : undefined;
  const rows = await deps.store.services({ after, limit: limit + 1, clientId: opts.clientId, search });
  return pageOf(await assessListed(deps, rows), limit, (last) =>
    String(isUnreadable(last) ? last.id : last.serviceId),
  );
}

async function samples(
  deps: AdminReadDeps,
  now: () => number,
  serviceId: number,
  opts: { before?: unknown; limit?: number },
): Promise<Page<SampleRow>> {
  const limit = opts.limit ?? 62;
  const before =
    opts.before === undefined || opts.before === null || opts.before === ''
      ? null
      : isoCursor(
          opts.before,
          addDays(deps.today ? deps.today() : new Date(now()).toISOString().slice(0, 10), 1),
        );
  const page = pageOf(await deps.store.samples(serviceId, before, limit + 1), limit, (last) => last.date);
  if (page.rows.length === 0) return { rows: [], next: null };
  const newest = before ? addDays(before, -1) : page.rows[0]!.date;
  const failuresOn = new Map<string, SampleRow['failures']>();
  for (const f of await deps.store.failures(serviceId, page.rows[page.rows.length - 1]!.date, newest)) {
    failuresOn.set(f.date, [
      ...(failuresOn.get(f.date) ?? []),
      { at: f.at, kind: f.kind, message: f.message },
    ]);
  }
  // Days between two good samples are gaps: shown, with the failed reads of the day if any.
  const out: SampleRow[] = [];
  let expect: IsoDate | null = before ? addDays(before, -1) : null;
  for (const r of page.rows) {
    if (expect !== null && daysBetween(r.date, expect) > 0 && daysBetween(r.date, expect) <= 400) {
      for (let d = expect; d > r.date; d = addDays(d, -1))
        out.push({
          kind: 'gap',
          date: d,
          id: null,
          sampledAt: null,
          usedBytes: null,
          limitBytes: null,
          state: null,
          raw: null,
          failures: failuresOn.get(d) ?? [],
        });
    }
    out.push({
      kind: 'sample',
      date: r.date,
      id: r.id,
      sampledAt: r.sampledAt,
      usedBytes: r.usedBytes,
      limitBytes: r.limitBytes,
      state: r.state,
      raw: r.raw,
      failures: failuresOn.get(r.date) ?? [],
    });
    expect = addDays(r.date, -1);
  }
  return { rows: out, next: page.next };
}

async function disputes(
  deps: AdminReadDeps,
  opts: { list?: string; after?: unknown; limit?: number },
): Promise<Page<ListedDispute>> {
  const list = opts.list ?? 'open';
  if (!(DISPUTE_LISTS as readonly string[]).includes(list))
    throw invalidInput(`list must be one of ${DISPUTE_LISTS.join(', ')}`);
  const limit = opts.limit ?? 50;
  if (list === 'open') {
    // the oldest waits longest: first
    const after =
      opts.after !== undefined && opts.after !== null && opts.after !== '' ? openCursor(opts.after) : null;
    return openPage(await deps.store.openDisputes(after, limit + 1), limit);
  }
  return pageOf(
    await deps.store.disputes(list === 'resolved', idCursor(opts.after), limit + 1),
    limit,
    (last) => String(last.id),
  );
}

/**
 * A page of the open queue; its cursor is the last row's (opened_at, id). A last row whose opening
 * instant cannot be read has none: the page after follows on from the row before it (shown again).
 */
function openPage(rows: ListedDispute[], limit: number): Page<ListedDispute> {
  const page = pageOf(rows, limit, () => '');
  if (page.next === null) return page;
  const keyed = page.rows.filter((r) => r.openedAt !== null);
  const last = keyed[keyed.length - 1];
  return { rows: page.rows, next: last ? `${last.openedAt}|${last.id}` : null };
}

/** The admin's line filter as the store reads it: a reference prefix, an id of any kind, or words of the text. */
function lineQuery(filter: LineFilter): LineQuery {
  if (filter.status && !(LINE_STATUSES as readonly string[]).includes(filter.status))
    throw invalidInput(`status must be one of ${LINE_STATUSES.join(', ')}`);
  const text = (filter.q ?? '').trim();
  if (text.length > 100) throw invalidInput('the search text is at most 100 characters');
  const search: LineQuery['search'] = !text
    ? undefined
    : /^OU-[0-9A-F]*$/i.test(text)
      ? { kind: 'ref', prefix: text.toUpperCase() }
      : /^\d{1,15}$/.test(text)
        ? { kind: 'number', n: Number(text) }
        : { kind: 'text', text };
  return {
    status: filter.status || undefined,
    clientId: filter.clientId,
    serviceId: filter.serviceId,
    invoiceId: filter.invoiceId,
    search,
  };
}

/**
 * A day to page back from: a real calendar day (2013-13-45 is not one) from 2000-01-01 to
 * `latest` (tomorrow): a later one has no samples and would only list invented gap days.
 */
function isoCursor(v: unknown, latest: IsoDate): IsoDate {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || !isIsoDate(v))
    throw invalidInput('cursor must be a calendar day written YYYY-MM-DD');
  if (v < '2000-01-01' || v > latest) throw invalidInput(`cursor must be a day from 2000-01-01 to ${latest}`);
  return v;
}

/** "2013-06-05T10:00:00.000Z|12" → the stored instant text and the id */
function openCursor(v: unknown): [string, number] {
  const m =
    typeof v === 'string'
      ? /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}\.\d{3})Z\|([1-9]\d{0,15})$/.exec(v)
      : null;
  if (!m) throw invalidInput('cursor is not one this list gave out');
  return [`${m[1]} ${m[2]}`, Number(m[3])];
}
