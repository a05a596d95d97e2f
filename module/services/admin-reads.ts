import type { Knex } from 'knex';
import { parseDisputeState, parseResolvingTo, type DisputeState, type Resolution } from '../domain/dispute-state.js';
import { parseHoldState, type HoldState } from '../domain/hold-state.js';
import { addDays, daysBetween, isIsoDate, type IsoDate } from '../domain/calendar.js';
import { invalidInput } from '../domain/errors.js';
import { containsPattern, foldForSearch } from '../domain/search-text.js';
import { toBig, toBigOrNull, toDate, toInstant, toNum } from '../adapters/rows.js';
import { engineOf } from '../adapters/database.js';
import type { BillingSettingsService } from './billing-settings.js';
import { idCursor, lineRow, linesQuery, pageOf, serviceRow, thresholdsOf, type LineRow, type Page, type ServiceRow, type UsageAssessment, type UsageReads } from './usage-reads.js';

/**
 * The admin tab's lists. Each reads one page by a keyset (the last row's sort key), never an
 * OFFSET or a COUNT over a big table, so a page costs the same on the first and the 2 000th page
 * of 100 000 rows. The dashboard's figures over all services are kept for a minute.
 */

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

export interface DisputeRow {
  id: number;
  lineId: number;
  clientId: number;
  serviceId: number;
  state: DisputeState;
  resolvingTo: Resolution | null;
  holdState: HoldState;
  reason: string;
  openedByType: string;
  overrideReason: string | null;
  openedAt: string;
  resolvedAt: string | null;
  amountBeforeMinor: bigint;
  amountAfterMinor: bigint | null;
  currency: string;
  heldInvoiceId: number | null;
  originalInvoiceId: number;
  version: number;
  refCode: string;
  description: string;
  deadlineLastDay: IsoDate;
  invoiceDate: IsoDate;
}

export interface AuditRow {
  id: number;
  at: string;
  actorType: string;
  /** the admin who acted as this actor through a token minted for it */
  actingAdminId: string | null;
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  details: string | null;
}

export interface Dashboard {
  meteredServices: number;
  openDisputes: number;
  /** services at or past their lowest threshold, most used first */
  attention: Array<ServiceListRow & { pct: number }>;
  /** the projected overusage at the end of the open periods, per currency */
  projected: Array<{ currency: string; amountMinor: bigint; services: number }>;
  oldestDisputes: DisputeRow[];
  recentLines: LineRow[];
  /** the SolusVM masters and the latest sampling runs: is metering working */
  masters: Array<{ id: number; name: string; version: number; active: boolean }>;
  runs: Array<{ id: number; date: IsoDate; status: string; read: number; failed: number; gaps: number; resets: number; message: string }>;
  /** real time, for keeping the figures a minute */
  computedAt: number;
  /** the panel's clock when they were computed (a replayed or demo clock in tests and the demo): what the page says */
  asOf: number;
}

/** A charge whose line could not go on its invoice (paid or cancelled first): it waits for the next one. */
export interface WaitingCharge {
  chargeId: number;
  serviceId: number;
  clientId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  amountMinor: bigint;
  currency: string;
  invoiceId: number;
  invoiceStatus: string;
  releasedAt: string;
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

const DISPUTES = 'mod_overusage_disputes';
const LINES = 'mod_overusage_lines';

const disputeRow = (r: Record<string, unknown>): DisputeRow => ({
  id: toNum(r.id),
  lineId: toNum(r.line_id),
  clientId: toNum(r.client_id),
  serviceId: toNum(r.service_id),
  state: parseDisputeState(r.state),
  resolvingTo: parseResolvingTo(r.resolving_to),
  holdState: parseHoldState(r.hold_state),
  reason: String(r.reason),
  openedByType: String(r.opened_by_type),
  overrideReason: (r.override_reason as string | null) ?? null,
  openedAt: toInstant(r.opened_at).toISO()!,
  resolvedAt: r.resolved_at ? toInstant(r.resolved_at).toISO() : null,
  amountBeforeMinor: toBig(r.amount_before_minor),
  amountAfterMinor: toBigOrNull(r.amount_after_minor),
  currency: String(r.currency),
  heldInvoiceId: r.held_invoice_id === null || r.held_invoice_id === undefined ? null : toNum(r.held_invoice_id),
  originalInvoiceId: toNum(r.original_invoice_id),
  version: toNum(r.version),
  refCode: String(r.ref_code),
  description: String(r.description),
  deadlineLastDay: toDate(r.deadline_last_day),
  invoiceDate: toDate(r.invoice_date),
});

const auditRow = (r: Record<string, unknown>): AuditRow => ({
  id: toNum(r.id),
  at: toInstant(r.at).toISO()!,
  actorType: String(r.actor_type),
  actorId: (r.actor_id as string | null) ?? null,
  actingAdminId: (r.acting_admin_id as string | null | undefined) ?? null,
  action: String(r.action),
  entityType: String(r.entity_type),
  entityId: (r.entity_id as string | null) ?? null,
  details: (r.details as string | null) ?? null,
});

const SERVICE_COLUMNS = ['s.service_id', 's.client_id', 's.product_id', 's.master_id', 's.server_ref', 's.active', 's.currency', 's.regdate', 's.last_sample_date', 's.last_sampled_at', 's.open_period_id', 's.open_period_start', 's.open_period_end', 's.open_period_used_bytes', 's.reset_policy', 's.reset_day', 's.last_sample_id'];

export interface AdminReads {
  dashboard(opts?: { fresh?: boolean }): Promise<Dashboard>;
  /** `q`: a client's name or company, a hostname, an IP or a product (module/domain/search-text.ts), or a service or client id */
  services(opts?: { after?: unknown; limit?: number; clientId?: number; q?: string }): Promise<Page<ServiceListRow>>;
  samples(serviceId: number, opts?: { before?: unknown; limit?: number }): Promise<Page<SampleRow>>;
  disputes(opts?: { list?: string; after?: unknown; limit?: number }): Promise<Page<DisputeRow>>;
  dispute(id: number): Promise<DisputeRow | null>;
  lines(filter: LineFilter, opts?: { before?: unknown; limit?: number }): Promise<Page<LineRow>>;
  audit(filter: { entityType?: string; entityId?: string; actorType?: string }, opts?: { before?: unknown; limit?: number }): Promise<Page<AuditRow>>;
  /** charges still unbilled whose line was released because its invoice was paid or cancelled first */
  waitingCharges(filter?: { serviceId?: number }): Promise<WaitingCharge[]>;
}

export function createAdminReads(deps: { knex: Knex; billing: BillingSettingsService; reads: UsageReads; now?: () => number; cacheMs?: number; today?: () => IsoDate; clockNow?: () => number }): AdminReads {
  const { knex } = deps;
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 60_000;
  const mysql = engineOf(knex) === 'mysql';
  let cached: Dashboard | null = null;

  const disputesQuery = () =>
    knex(`${DISPUTES} as d`)
      .join(`${LINES} as l`, 'l.id', 'd.line_id')
      .select('d.*', 'l.ref_code', 'l.description', 'l.deadline_last_day', 'l.invoice_date');

  async function assessRows(rows: Record<string, unknown>[]): Promise<ServiceListRow[]> {
    if (rows.length === 0) return [];
    const [profileFor, ms] = await Promise.all([deps.billing.snapshot(), deps.reads.masters()]);
    const limitIds = rows.map((r) => r.last_sample_id).filter((x) => x !== null && x !== undefined) as Array<string | number>;
    const limits = new Map<number, bigint | null>();
    if (limitIds.length) for (const s of await knex('mod_overusage_samples').whereIn('id', limitIds).select('id', 'limit_bytes')) limits.set(toNum(s.id), toBigOrNull(s.limit_bytes));
    return rows.map((r) => {
      const profile = profileFor(toNum(r.product_id), toNum(r.service_id), toNum(r.client_id));
      const limit = r.last_sample_id === null || r.last_sample_id === undefined ? null : (limits.get(toNum(r.last_sample_id)) ?? null);
      return { ...serviceRow(r), assessment: deps.reads.assess(r, profile, limit, ms).assessment };
    });
  }

  // Days from a to b + 1, in SQL, per engine (a prefilter only: the exact figures are computed after).
  const dayCount = (a: string, b: string) => (mysql ? `(DATEDIFF(${b}, ${a}) + 1)` : `(julianday(${b}) - julianday(${a}) + 1)`);

  async function sampling(): Promise<Pick<Dashboard, 'masters' | 'runs'>> {
    const [masters, runs] = await Promise.all([
      knex('mod_overusage_masters').orderBy('id').select('id', 'name', 'version', 'active'),
      knex('mod_overusage_runs').orderBy('id', 'desc').limit(5).select('id', 'sample_date', 'status', 'read_ok', 'failed', 'gaps', 'resets', 'message'),
    ]);
    return {
      masters: masters.map((m) => ({ id: toNum(m.id), name: String(m.name), version: toNum(m.version), active: m.active === true || m.active === 1 || m.active === 1n || m.active === '1' })),
      runs: runs.map((r) => ({ id: toNum(r.id), date: toDate(r.sample_date), status: String(r.status), read: toNum(r.read_ok), failed: toNum(r.failed), gaps: toNum(r.gaps), resets: toNum(r.resets), message: r.message ? String(r.message) : '' })),
    };
  }

  async function computeDashboard(): Promise<Dashboard> {
    const products = (await deps.billing.listProducts()).filter((p) => p.profile.enabled);
    const attentionRows: Record<string, unknown>[] = [];
    const projectedRows: Record<string, unknown>[] = [];
    for (const { productId, profile } of products) {
      const lowest = thresholdsOf(profile)[0] ?? 80;
      const base = () => knex('mod_overusage_services as s').where('s.product_id', productId).andWhere('s.active', true).whereNotNull('s.open_period_id').whereNotNull('s.last_sample_date');
      if (profile.allowance === 'solusvm') {
        const q = base().join('mod_overusage_samples as smp', 'smp.id', 's.last_sample_id').whereNotNull('smp.limit_bytes');
        attentionRows.push(...(await q.clone().whereRaw('s.open_period_used_bytes * 100 >= smp.limit_bytes * ?', [lowest]).orderBy('s.open_period_used_bytes', 'desc').limit(25).select(SERVICE_COLUMNS)));
        projectedRows.push(
          ...(await q
            .clone()
            .whereRaw(`s.open_period_used_bytes * ${dayCount('s.open_period_start', 's.open_period_end')} > smp.limit_bytes * ${dayCount('s.open_period_start', 's.last_sample_date')}`)
            .limit(20_000)
            .select(SERVICE_COLUMNS)),
        );
      } else {
        const allowance = BigInt(profile.allowance);
        attentionRows.push(...(await base().andWhere('s.open_period_used_bytes', '>=', String((allowance * BigInt(lowest) + 99n) / 100n)).orderBy('s.open_period_used_bytes', 'desc').limit(25).select(SERVICE_COLUMNS)));
        projectedRows.push(
          ...(await base()
            .whereRaw(`s.open_period_used_bytes * ${dayCount('s.open_period_start', 's.open_period_end')} > ? * ${dayCount('s.open_period_start', 's.last_sample_date')}`, [String(allowance)])
            .limit(20_000)
            .select(SERVICE_COLUMNS)),
        );
      }
    }
    const attention = (await assessRows(attentionRows))
      .filter((s) => s.assessment && s.assessment.crossed.length > 0)
      .map((s) => ({ ...s, pct: Number(s.assessment!.percentUsed ?? '0') }))
      .sort((a, b) => b.pct - a.pct || a.serviceId - b.serviceId)
      .slice(0, 20);
    const sums = new Map<string, { amountMinor: bigint; services: number }>();
    for (const s of await assessRows(projectedRows)) {
      const cost = s.assessment?.cost;
      if (!cost || cost.atEndMinor <= 0n) continue;
      const e = sums.get(cost.currency) ?? { amountMinor: 0n, services: 0 };
      e.amountMinor += cost.atEndMinor;
      e.services++;
      sums.set(cost.currency, e);
    }
    const [metered, open, oldest, recent] = await Promise.all([
      knex('mod_overusage_services').where({ active: true }).count({ n: '*' }).first(),
      knex(DISPUTES).where({ state: 'open' }).count({ n: '*' }).first(),
      disputesQuery().where('d.state', 'open').orderBy([{ column: 'd.opened_at', order: 'asc' }, { column: 'd.id', order: 'asc' }]).limit(10),
      linesQuery(knex).orderBy('l.id', 'desc').limit(10),
    ]);
    return {
      meteredServices: toNum(metered?.n ?? 0),
      openDisputes: toNum(open?.n ?? 0),
      attention,
      projected: [...sums].map(([currency, v]) => ({ currency, ...v })).sort((a, b) => a.currency.localeCompare(b.currency)),
      oldestDisputes: oldest.map(disputeRow),
      recentLines: recent.map(lineRow),
      ...(await sampling()),
      computedAt: now(),
      asOf: deps.clockNow ? deps.clockNow() : now(),
    };
  }

  const reads: AdminReads = {
    async waitingCharges(filter = {}) {
      const released = await knex('mod_overusage_audit').where({ action: 'line.released', entity_type: 'charge' }).orderBy('id', 'desc').limit(200).select('entity_id', 'details', 'at');
      if (released.length === 0) return [];
      const latest = new Map<number, Record<string, unknown>>();
      for (const r of released) if (!latest.has(Number(r.entity_id))) latest.set(Number(r.entity_id), r);
      const q = knex('mod_overusage_charges as c')
        .leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id')
        .whereIn('c.id', [...latest.keys()])
        .andWhere('c.status', 'unbilled')
        .whereNull('l.id')
        .select('c.id', 'c.service_id', 'c.client_id', 'c.period_start', 'c.period_end', 'c.amount_minor', 'c.currency')
        .orderBy('c.id');
      if (filter.serviceId !== undefined) q.andWhere('c.service_id', filter.serviceId);
      return (await q).map((c) => {
        const a = latest.get(toNum(c.id))!;
        const d = JSON.parse(String(a.details ?? '{}')) as { invoiceId?: number; invoiceStatus?: string };
        return {
          chargeId: toNum(c.id),
          serviceId: toNum(c.service_id),
          clientId: toNum(c.client_id),
          periodStart: toDate(c.period_start),
          periodEnd: toDate(c.period_end),
          amountMinor: toBig(c.amount_minor),
          currency: String(c.currency),
          invoiceId: Number(d.invoiceId ?? 0),
          invoiceStatus: String(d.invoiceStatus ?? 'closed'),
          releasedAt: toInstant(a.at).toISO()!,
        };
      });
    },

    async dashboard(opts = {}) {
      if (!opts.fresh && cached && now() - cached.computedAt < cacheMs) {
        // the lists are cheap: only the figures over all services come from the cache
        const [open, oldest, recent] = await Promise.all([
          knex(DISPUTES).where({ state: 'open' }).count({ n: '*' }).first(),
          disputesQuery().where('d.state', 'open').orderBy([{ column: 'd.opened_at', order: 'asc' }, { column: 'd.id', order: 'asc' }]).limit(10),
          linesQuery(knex).orderBy('l.id', 'desc').limit(10),
        ]);
        return { ...cached, openDisputes: toNum(open?.n ?? 0), oldestDisputes: oldest.map(disputeRow), recentLines: recent.map(lineRow), ...(await sampling()) };
      }
      cached = await computeDashboard();
      return cached;
    },

    async services(opts = {}) {
      const limit = opts.limit ?? 50;
      const after = idCursor(opts.after);
      const q = knex('mod_overusage_services as s').orderBy('s.service_id').limit(limit + 1).select(SERVICE_COLUMNS);
      if (after) q.where('s.service_id', '>', after);
      if (opts.clientId !== undefined) q.where('s.client_id', opts.clientId);
      const text = (opts.q ?? '').trim();
      if (text) {
        if (text.length > 100) throw invalidInput('the search text is at most 100 characters');
        // the names are the panel's, as the last panel sync read them (mod_overusage_directory)
        q.leftJoin('mod_overusage_directory as dir', 'dir.service_id', 's.service_id').where((w) => {
          w.whereRaw(`dir.search_text LIKE ? ESCAPE '!'`, [containsPattern(foldForSearch(text))]);
          if (/^\d{1,15}$/.test(text)) w.orWhere('s.service_id', Number(text)).orWhere('s.client_id', Number(text));
        });
      }
      const rows = await assessRows(await q);
      return pageOf(rows, limit, (last) => String(last.serviceId));
    },

    async samples(serviceId, opts = {}) {
      const limit = opts.limit ?? 62;
      const before = opts.before === undefined || opts.before === null || opts.before === '' ? null : isoCursor(opts.before, addDays(deps.today ? deps.today() : new Date(now()).toISOString().slice(0, 10), 1));
      const q = knex('mod_overusage_samples').where({ service_id: serviceId }).orderBy('sample_date', 'desc').limit(limit + 1).select('id', 'sample_date', 'sampled_at', 'used_bytes', 'limit_bytes', 'state', 'raw');
      if (before) q.andWhere('sample_date', '<', before);
      const rows = await q;
      const page = pageOf(rows, limit, (last) => toDate(last.sample_date));
      if (page.rows.length === 0) return { rows: [], next: null };
      const newest = before ? addDays(before, -1) : toDate(page.rows[0]!.sample_date);
      const oldest = page.next ? toDate(page.rows[page.rows.length - 1]!.sample_date) : toDate(page.rows[page.rows.length - 1]!.sample_date);
      const failures = await knex('mod_overusage_read_failures').where({ service_id: serviceId }).andWhere('sample_date', '>=', oldest).andWhere('sample_date', '<=', newest).orderBy('attempted_at').select('sample_date', 'attempted_at', 'error_kind', 'message');
      const failuresOn = new Map<string, SampleRow['failures']>();
      for (const f of failures) {
        const d = toDate(f.sample_date);
        const list = failuresOn.get(d) ?? [];
        list.push({ at: toInstant(f.attempted_at).toISO()!, kind: String(f.error_kind), message: String(f.message) });
        failuresOn.set(d, list);
      }
      // Days between two good samples are gaps: shown, with the failed reads of the day if any.
      const out: SampleRow[] = [];
      let expect: IsoDate | null = before ? addDays(before, -1) : null;
      for (const r of page.rows) {
        const date = toDate(r.sample_date);
        if (expect !== null && daysBetween(date, expect) > 0 && daysBetween(date, expect) <= 400) {
          for (let d = expect; d > date; d = addDays(d, -1)) out.push({ kind: 'gap', date: d, id: null, sampledAt: null, usedBytes: null, limitBytes: null, state: null, raw: null, failures: failuresOn.get(d) ?? [] });
        }
        out.push({ kind: 'sample', date, id: toNum(r.id), sampledAt: toInstant(r.sampled_at).toISO(), usedBytes: toBig(r.used_bytes), limitBytes: toBigOrNull(r.limit_bytes), state: String(r.state), raw: String(r.raw), failures: failuresOn.get(date) ?? [] });
        expect = addDays(date, -1);
      }
      return { rows: out, next: page.next };
    },

    async disputes(opts = {}) {
      const list = opts.list ?? 'open';
      if (!(DISPUTE_LISTS as readonly string[]).includes(list)) throw invalidInput(`list must be one of ${DISPUTE_LISTS.join(', ')}`);
      const limit = opts.limit ?? 50;
      if (list === 'open') {
        // the oldest waits longest: first
        const q = disputesQuery().where('d.state', 'open').orderBy([{ column: 'd.opened_at', order: 'asc' }, { column: 'd.id', order: 'asc' }]).limit(limit + 1);
        if (opts.after !== undefined && opts.after !== null && opts.after !== '') {
          const [at, id] = openCursor(opts.after);
          // (opened_at, id) > (at, id), written so both engines read it as a range of the (state, opened_at) index
          q.andWhere('d.opened_at', '>=', at).andWhere((w) => w.where('d.opened_at', '>', at).orWhere('d.id', '>', id));
        }
        const rows = (await q).map(disputeRow);
        return pageOf(rows, limit, (last) => `${last.openedAt}|${last.id}`);
      }
      const q = disputesQuery().orderBy('d.id', 'desc').limit(limit + 1);
      if (list === 'resolved') q.whereNot('d.state', 'open');
      const after = idCursor(opts.after);
      if (after) q.andWhere('d.id', '<', after);
      return pageOf((await q).map(disputeRow), limit, (last) => String(last.id));
    },

    async dispute(id) {
      const r = await disputesQuery().where('d.id', id).first();
      return r ? disputeRow(r) : null;
    },

    async lines(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      const q = linesQuery(knex).orderBy('l.id', 'desc').limit(limit + 1);
      if (filter.status) {
        if (!(LINE_STATUSES as readonly string[]).includes(filter.status)) throw invalidInput(`status must be one of ${LINE_STATUSES.join(', ')}`);
        q.where('l.status', filter.status);
      }
      if (filter.clientId !== undefined) q.where('l.client_id', filter.clientId);
      if (filter.serviceId !== undefined) q.where('l.service_id', filter.serviceId);
      if (filter.invoiceId !== undefined) q.where('l.invoice_id', filter.invoiceId);
      const text = (filter.q ?? '').trim();
      if (text) {
        if (text.length > 100) throw invalidInput('the search text is at most 100 characters');
        if (/^OU-[0-9A-F]*$/i.test(text)) {
          // a reference: a prefix read of its unique index (GLOB keeps SQLite on the index; its LIKE ignores case)
          const prefix = text.toUpperCase();
          if (mysql) q.where('l.ref_code', 'like', `${prefix}%`);
          else q.whereRaw('l.ref_code GLOB ?', [`${prefix}*`]);
        } else if (/^\d{1,15}$/.test(text)) {
          const n = Number(text);
          q.where((w) => w.where('l.id', n).orWhere('l.invoice_id', n).orWhere('l.service_id', n).orWhere('l.client_id', n));
        } else {
          // % _ and the escape character itself taken literally, on both engines: SQLite's LIKE has
          // no escape character unless it is named, and MySQL's default (\\) is not SQLite's
          q.whereRaw(`l.description LIKE ? ESCAPE '!'`, [`%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`]);
        }
      }
      const before = idCursor(opts.before);
      if (before) q.where('l.id', '<', before);
      return pageOf((await q).map(lineRow), limit, (last) => String(last.id));
    },

    async audit(filter, opts = {}) {
      const limit = opts.limit ?? 50;
      const q = knex('mod_overusage_audit').orderBy('id', 'desc').limit(limit + 1);
      if (filter.entityType) q.where('entity_type', filter.entityType);
      if (filter.entityId) q.where('entity_id', filter.entityId);
      if (filter.actorType) q.where('actor_type', filter.actorType);
      const before = idCursor(opts.before);
      if (before) q.where('id', '<', before);
      return pageOf((await q).map(auditRow), limit, (last) => String(last.id));
    },
  };
  return reads;
}

/**
 * A day to page back from: a real calendar day (2013-13-45 is not one) from 2000-01-01 to
 * `latest` (tomorrow): a later one has no samples and would only list invented gap days.
 */
function isoCursor(v: unknown, latest: IsoDate): IsoDate {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || !isIsoDate(v)) throw invalidInput('cursor must be a calendar day written YYYY-MM-DD');
  if (v < '2000-01-01' || v > latest) throw invalidInput(`cursor must be a day from 2000-01-01 to ${latest}`);
  return v;
}

/** "2013-06-05T10:00:00.000Z|12" → the stored instant text and the id */
function openCursor(v: unknown): [string, number] {
  const m = typeof v === 'string' ? /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}\.\d{3})Z\|([1-9]\d{0,15})$/.exec(v) : null;
  if (!m) throw invalidInput('cursor is not one this list gave out');
  return [`${m[1]} ${m[2]}`, Number(m[3])];
}
