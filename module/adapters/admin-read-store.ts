import type { Knex } from 'knex';
import type { IsoDate } from '../domain/calendar.js';
import { engineOf } from './database.js';
import { disputeFromRow, type DisputeRecord } from './dispute-store.js';
import { parseServiceRow, type ServiceRow } from './period-read-store.js';
import {
  isUnreadable,
  readEach,
  textOrNullIn,
  rowReader,
  toBool,
  toInstant,
  toNum,
  type Listed,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { TABLES } from './tables.js';

/**
 * The admin tab's reads over all clients: services near their allowance, disputes, samples with
 * their failed reads, the audit trail, masters and runs, charges waiting after a released line.
 * Each list reads one page by a keyset, never an OFFSET. Rows are checked here.
 */

/**
 * A dispute as the admin tab lists it: the stored dispute (DisputeRecord, parsed by the dispute
 * store's own row parser, so the two cannot drift) with its times as ISO text, and the line it is about.
 */
export type DisputeRow = Pick<
  DisputeRecord,
  | 'id'
  | 'lineId'
  | 'clientId'
  | 'serviceId'
  | 'state'
  | 'resolvingTo'
  | 'holdState'
  | 'reason'
  | 'overrideReason'
  | 'amountBeforeMinor'
  | 'amountAfterMinor'
  | 'currency'
  | 'heldInvoiceId'
  | 'originalInvoiceId'
  | 'version'
  | 'voidedBy'
> & {
  openedByType: DisputeRecord['openedBy']['type'];
  openedAt: string;
  resolvedAt: string | null;
  refCode: string;
  description: string;
  deadlineLastDay: IsoDate;
  invoiceDate: IsoDate;
};

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

export interface StoredSample {
  id: number;
  date: IsoDate;
  sampledAt: string | null;
  usedBytes: bigint;
  limitBytes: bigint | null;
  state: string;
  raw: string;
}

export interface ReadFailureRow {
  date: IsoDate;
  at: string;
  kind: string;
  message: string;
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

export interface MasterSummary {
  id: number;
  name: string;
  version: number;
  active: boolean;
}

export interface RunSummary {
  id: number;
  date: IsoDate;
  status: string;
  read: number;
  failed: number;
  gaps: number;
  resets: number;
  message: string;
}

/**
 * A dispute of the admin's queue that cannot be read, with its opening instant when that column
 * reads (the open queue's cursor): the pages after it follow on from it.
 */
export type UnreadableDispute = UnreadableRow & { openedAt: string | null };
export type ListedDispute = DisputeRow | UnreadableDispute;

/**
 * A service of the dashboard's panels that cannot be read, with its currency when that column reads
 * (null: it does not): a total it would count in is unavailable, never smaller.
 */
export type UnreadableService = UnreadableRow & { currency: string | null };
export type ServiceOrUnreadable = ServiceRow | UnreadableService;

/** The allowance a product's services are held against: a number of bytes, or the SolusVM limit of their latest sample. */
export type AllowanceRule = { kind: 'bytes'; bytes: bigint } | { kind: 'solusvm' };

export interface AdminReadStore {
  /** active services of the product with an open, measured period at or past `pct` % of their allowance, most used first */
  servicesAtLeast(
    productId: number,
    allowance: AllowanceRule,
    pct: number,
    limit: number,
  ): Promise<ServiceOrUnreadable[]>;
  /** those whose use so far, spread over the whole period, would pass their allowance (a prefilter: exact figures after) */
  servicesOnPaceToPass(
    productId: number,
    allowance: AllowanceRule,
    limit: number,
  ): Promise<ServiceOrUnreadable[]>;
  /**
   * services by id, after `after`; `search`: a folded LIKE pattern over the panel's names, and an id
   * to match. A service whose row cannot be read is an UnreadableRow (its service id) in its place.
   */
  services(opts: {
    after: number | null;
    limit: number;
    clientId?: number;
    search?: { pattern: string; id: number | null };
  }): Promise<Array<Listed<ServiceRow>>>;
  countActiveServices(): Promise<number>;
  countOpenDisputes(): Promise<number>;
  /** open disputes, the oldest first, after the (opened_at, id) cursor; one that cannot be read in its place */
  openDisputes(after: [string, number] | null, limit: number): Promise<ListedDispute[]>;
  /** disputes newest first, ids below `before`; only the decided ones with `resolvedOnly` */
  disputes(resolvedOnly: boolean, before: number | null, limit: number): Promise<ListedDispute[]>;
  dispute(id: number): Promise<DisputeRow | null>;
  masters(): Promise<MasterSummary[]>;
  recentRuns(limit: number): Promise<RunSummary[]>;
  /** a service's samples, newest first, before `before` */
  samples(serviceId: number, before: IsoDate | null, limit: number): Promise<StoredSample[]>;
  failures(serviceId: number, from: IsoDate, to: IsoDate): Promise<ReadFailureRow[]>;
  audit(
    filter: { entityType?: string; entityId?: string; actorType?: string },
    before: number | null,
    limit: number,
  ): Promise<Array<Listed<AuditRow>>>;
  /** charges still unbilled and without a line whose line was released (its invoice was paid or cancelled first) */
  waitingCharges(serviceId?: number): Promise<WaitingCharge[]>;
}

const parseDisputeRow = (r: Record<string, unknown>): DisputeRow => {
  const d = disputeFromRow(r);
  const l = rowReader(TABLES.lines, r);
  return {
    id: d.id,
    lineId: d.lineId,
    clientId: d.clientId,
    serviceId: d.serviceId,
    state: d.state,
    resolvingTo: d.resolvingTo,
    holdState: d.holdState,
    reason: d.reason,
    openedByType: d.openedBy.type,
    overrideReason: d.overrideReason,
    // the same text as luxon's toISO() of a UTC instant, for a tenth of its cost (a page has 50)
    openedAt: new Date(d.openedAt.toMillis()).toISOString(),
    resolvedAt: d.resolvedAt ? new Date(d.resolvedAt.toMillis()).toISOString() : null,
    amountBeforeMinor: d.amountBeforeMinor,
    amountAfterMinor: d.amountAfterMinor,
    currency: d.currency,
    heldInvoiceId: d.heldInvoiceId,
    originalInvoiceId: d.originalInvoiceId,
    version: d.version,
    voidedBy: d.voidedBy,
    refCode: l.str('ref_code'),
    description: l.str('description'),
    deadlineLastDay: l.date('deadline_last_day'),
    invoiceDate: l.date('invoice_date'),
  };
};

function parseAuditRow(r: Record<string, unknown>): AuditRow {
  const a = rowReader(TABLES.audit, r);
  return {
    id: a.num('id'),
    at: a.instant('at').toISO()!,
    actorType: a.str('actor_type'),
    actorId: a.strOrNull('actor_id'),
    actingAdminId: a.strOrNull('acting_admin_id'),
    action: a.str('action'),
    entityType: a.str('entity_type'),
    entityId: a.strOrNull('entity_id'),
    details: a.strOrNull('details'),
  };
}

const SERVICE_COLUMNS = [
  's.service_id',
  's.client_id',
  's.product_id',
  's.master_id',
  's.server_ref',
  's.active',
  's.currency',
  's.regdate',
  's.last_sample_date',
  's.last_sampled_at',
  's.open_period_id',
  's.open_period_start',
  's.open_period_end',
  's.open_period_used_bytes',
  's.reset_policy',
  's.reset_day',
  's.last_sample_id',
];

/** `setAside`: told of each row a list could not read (shown in its place as unreadable). */
export function createAdminReadStore(knex: Knex, opts: { setAside?: SetAside } = {}): AdminReadStore {
  const { setAside } = opts;
  return {
    ...serviceReads(knex, setAside),
    ...disputeReads(knex, setAside),
    ...meteringReads(knex),
    audit: async (filter, before, limit) =>
      readEach(await auditPage(knex, filter, before, limit), parseAuditRow, TABLES.audit, { setAside }),
    waitingCharges: (serviceId) => waitingCharges(knex, serviceId),
  };
}

const count = async (q: Knex.QueryBuilder) => toNum((await q.count({ n: '*' }).first())?.n ?? 0);

/** Services by their use of the allowance, by id or name, and how many are active. */
function serviceReads(
  knex: Knex,
  setAside?: SetAside,
): Pick<AdminReadStore, 'servicesAtLeast' | 'servicesOnPaceToPass' | 'services' | 'countActiveServices'> {
  const mysql = engineOf(knex) === 'mysql';
  // Days from a to b + 1, in SQL, per engine (a prefilter only: the exact figures are computed after).
  const dayCount = (a: string, b: string) =>
    mysql ? `(DATEDIFF(${b}, ${a}) + 1)` : `(julianday(${b}) - julianday(${a}) + 1)`;
  const measured = (productId: number) =>
    knex(`${TABLES.services} as s`)
      .where('s.product_id', productId)
      .andWhere('s.active', true)
      .whereNotNull('s.open_period_id')
      .whereNotNull('s.last_sample_date');
  const withLimit = (productId: number) =>
    measured(productId)
      .join(`${TABLES.samples} as smp`, 'smp.id', 's.last_sample_id')
      .whereNotNull('smp.limit_bytes');
  return {
    async servicesAtLeast(productId, allowance, pct, limit) {
      const q =
        allowance.kind === 'solusvm'
          ? withLimit(productId).whereRaw('s.open_period_used_bytes * 100 >= smp.limit_bytes * ?', [pct])
          : measured(productId).andWhere(
              's.open_period_used_bytes',
              '>=',
              String((allowance.bytes * BigInt(pct) + 99n) / 100n),
            );
      const rows = await q.orderBy('s.open_period_used_bytes', 'desc').limit(limit).select(SERVICE_COLUMNS);
      return withCurrency(rows, setAside);
    },
    async servicesOnPaceToPass(productId, allowance, limit) {
      const pace = `s.open_period_used_bytes * ${dayCount('s.open_period_start', 's.open_period_end')}`;
      const sofar = dayCount('s.open_period_start', 's.last_sample_date');
      const q =
        allowance.kind === 'solusvm'
          ? withLimit(productId).whereRaw(`${pace} > smp.limit_bytes * ${sofar}`)
          : measured(productId).whereRaw(`${pace} > ? * ${sofar}`, [String(allowance.bytes)]);
      return withCurrency(await q.limit(limit).select(SERVICE_COLUMNS), setAside);
    },
    async services(opts) {
      const q = knex(`${TABLES.services} as s`)
        .orderBy('s.service_id')
        .limit(opts.limit)
        .select(SERVICE_COLUMNS);
      if (opts.after) q.where('s.service_id', '>', opts.after);
      if (opts.clientId !== undefined) q.where('s.client_id', opts.clientId);
      const search = opts.search;
      if (search) {
        // the names are the panel's, as the last panel sync read them (mod_overusage_directory)
        q.leftJoin(`${TABLES.directory} as dir`, 'dir.service_id', 's.service_id').where((w) => {
          w.whereRaw(`dir.search_text LIKE ? ESCAPE '!'`, [search.pattern]);
          if (search.id !== null) w.orWhere('s.service_id', search.id).orWhere('s.client_id', search.id);
        });
      }
      const rows = (await q) as Array<Record<string, unknown>>;
      return readEach(rows, parseServiceRow, TABLES.services, { key: 'service_id', setAside });
    },
    countActiveServices: () => count(knex(TABLES.services).where({ active: true })),
  };
}

/** Disputes with their line: open ones oldest first, all or the decided newest first, one by id. */
function disputeReads(
  knex: Knex,
  setAside?: SetAside,
): Pick<AdminReadStore, 'countOpenDisputes' | 'openDisputes' | 'disputes' | 'dispute'> {
  // At 1 000 000 lines (100 000 open disputes) MariaDB read a page deep in the open queue as every
  // open dispute before it (ref on `state`, 6–8 ms) instead of a range of (state, opened_at) (1 ms):
  // the cursor's OR hides the range from its cost model, so the index is named for it.
  const openIndex =
    engineOf(knex) === 'mysql' ? ' FORCE INDEX (mod_overusage_disputes_state_opened_at_index)' : '';
  const disputesQuery = (hint = '') =>
    knex
      .from(knex.raw(`?? as d${hint}`, [TABLES.disputes]))
      .join(`${TABLES.lines} as l`, 'l.id', 'd.line_id')
      .select('d.*', 'l.ref_code', 'l.description', 'l.deadline_last_day', 'l.invoice_date');
  const openQuery = (after: [string, number] | null, limit: number) => {
    const q = disputesQuery(after ? openIndex : '')
      .where('d.state', 'open')
      .orderBy([
        { column: 'd.opened_at', order: 'asc' },
        { column: 'd.id', order: 'asc' },
      ])
      .limit(limit);
    if (after) {
      const [at, id] = after;
      // (opened_at, id) > (at, id), written so both engines read it as a range of the (state, opened_at) index
      q.andWhere('d.opened_at', '>=', at).andWhere((w) =>
        w.where('d.opened_at', '>', at).orWhere('d.id', '>', id),
      );
    }
    return q;
  };
  // The queue's two queries compiled once, their values bound on each read: building and compiling
  // the query was a tenth of the server's CPU for a page of the queue.
  const mysql = engineOf(knex) === 'mysql';
  const [firstSql, afterSql] = [null, ['', 0] as [string, number]].map((after, i) => {
    const { sql, bindings } = openQuery(after, 1).toSQL();
    // state, limit; or state, at, at, id, limit (the order openDisputes binds them in)
    if (bindings.length !== (i ? 5 : 2)) throw new Error('the open queue query changed its bindings');
    return sql;
  });
  return {
    countOpenDisputes: () => count(knex(TABLES.disputes).where({ state: 'open' })),
    async openDisputes(after, limit) {
      const res: unknown = after
        ? await knex.raw(afterSql!, ['open', after[0], after[0], after[1], limit])
        : await knex.raw(firstSql!, ['open', limit]);
      // mysql2 answers [rows, fields], better-sqlite3 the rows
      const rows = (mysql ? (res as unknown[])[0] : res) as Array<Record<string, unknown>>;
      return listedDisputes(rows, setAside);
    },
    async disputes(resolvedOnly, before, limit) {
      const q = disputesQuery().orderBy('d.id', 'desc').limit(limit);
      if (resolvedOnly) q.whereNot('d.state', 'open');
      if (before) q.andWhere('d.id', '<', before);
      return listedDisputes(await q, setAside);
    },
    async dispute(id) {
      const r = await disputesQuery().where('d.id', id).first();
      return r ? parseDisputeRow(r) : null;
    },
  };
}

/** Masters, the daily runs, a service's samples and its failed reads. */
function meteringReads(knex: Knex): Pick<AdminReadStore, 'masters' | 'recentRuns' | 'samples' | 'failures'> {
  return {
    async masters() {
      const rows = await knex(TABLES.masters).orderBy('id').select('id', 'name', 'version', 'active');
      return rows.map((m) => ({
        id: toNum(m.id),
        name: String(m.name),
        version: toNum(m.version),
        active: toBool(m.active),
      }));
    },
    async recentRuns(limit) {
      const rows = await knex(TABLES.runs)
        .orderBy('id', 'desc')
        .limit(limit)
        .select('id', 'sample_date', 'status', 'read_ok', 'failed', 'gaps', 'resets', 'message');
      return rows.map((row) => {
        const r = rowReader(TABLES.runs, row);
        return {
          id: r.num('id'),
          date: r.date('sample_date'),
          status: r.str('status'),
          read: r.num('read_ok'),
          failed: r.num('failed'),
          gaps: r.num('gaps'),
          resets: r.num('resets'),
          message: r.strOrNull('message') ?? '',
        };
      });
    },
    async samples(serviceId, before, limit) {
      const q = knex(TABLES.samples)
        .where({ service_id: serviceId })
        .orderBy('sample_date', 'desc')
        .limit(limit)
        .select('id', 'sample_date', 'sampled_at', 'used_bytes', 'limit_bytes', 'state', 'raw');
      if (before) q.andWhere('sample_date', '<', before);
      return (await q).map((row) => {
        const s = rowReader(TABLES.samples, row);
        return {
          id: s.num('id'),
          date: s.date('sample_date'),
          sampledAt: s.instant('sampled_at').toISO(),
          usedBytes: s.big('used_bytes'),
          limitBytes: s.bigOrNull('limit_bytes'),
          state: s.str('state'),
          raw: s.str('raw'),
        };
      });
    },
    async failures(serviceId, from, to) {
      const rows = await knex(TABLES.readFailures)
        .where({ service_id: serviceId })
        .andWhere('sample_date', '>=', from)
        .andWhere('sample_date', '<=', to)
        .orderBy('attempted_at')
        .select('sample_date', 'attempted_at', 'error_kind', 'message');
      return rows.map((row) => {
        const f = rowReader(TABLES.readFailures, row);
        return {
          date: f.date('sample_date'),
          at: f.instant('attempted_at').toISO()!,
          kind: f.str('error_kind'),
          message: f.str('message'),
        };
      });
    },
  };
}

async function waitingCharges(knex: Knex, serviceId?: number): Promise<WaitingCharge[]> {
  const released = await knex(TABLES.audit)
    .where({ action: 'line.released', entity_type: 'charge' })
    .orderBy('id', 'desc')
    .limit(200)
    .select('entity_id', 'details', 'at');
  if (released.length === 0) return [];
  const latest = new Map<number, Record<string, unknown>>();
  for (const r of released) if (!latest.has(Number(r.entity_id))) latest.set(Number(r.entity_id), r);
  const q = knex(`${TABLES.charges} as c`)
    .leftJoin(`${TABLES.lines} as l`, 'l.charge_id', 'c.id')
    .whereIn('c.id', [...latest.keys()])
    .andWhere('c.status', 'unbilled')
    .whereNull('l.id')
    .select(
      'c.id',
      'c.service_id',
      'c.client_id',
      'c.period_start',
      'c.period_end',
      'c.amount_minor',
      'c.currency',
    )
    .orderBy('c.id');
  if (serviceId !== undefined) q.andWhere('c.service_id', serviceId);
  return (await q).map((row) => {
    const c = rowReader(TABLES.charges, row);
    const a = rowReader(TABLES.audit, latest.get(c.num('id'))!);
    const d = (a.jsonOrNull('details') ?? {}) as { invoiceId?: number; invoiceStatus?: string };
    return {
      chargeId: c.num('id'),
      serviceId: c.num('service_id'),
      clientId: c.num('client_id'),
      periodStart: c.date('period_start'),
      periodEnd: c.date('period_end'),
      amountMinor: c.big('amount_minor'),
      currency: c.str('currency'),
      invoiceId: Number(d.invoiceId ?? 0),
      invoiceStatus: String(d.invoiceStatus ?? 'closed'),
      releasedAt: a.instant('at').toISO()!,
    };
  });
}

/** Services each read on its own: one that cannot be read in its place, with its currency when that reads. */
function withCurrency(rows: Array<Record<string, unknown>>, setAside?: SetAside): ServiceOrUnreadable[] {
  const listed = readEach(rows, parseServiceRow, TABLES.services, { key: 'service_id', setAside });
  return listed.map((r, i) => {
    if (!isUnreadable(r)) return r;
    let currency: string | null;
    try {
      // as parseServiceRow reads it: none stored is EUR
      currency = textOrNullIn(rows[i]!.currency, `${TABLES.services}.currency`) ?? 'EUR';
    } catch {
      currency = null;
    }
    return { ...r, currency };
  });
}

/** Disputes each read on its own: one that cannot be read in its place, with its opening instant when that reads. */
function listedDisputes(rows: Array<Record<string, unknown>>, setAside?: SetAside): ListedDispute[] {
  return readEach(rows, parseDisputeRow, TABLES.disputes, { setAside }).map((d, i) => {
    if (!('unreadable' in d)) return d;
    let openedAt: string | null = null;
    try {
      openedAt = new Date(toInstant(rows[i]!.opened_at).toMillis()).toISOString();
    } catch {
      // its opening instant is what cannot be read: the page after it follows on from the row before
    }
    return { ...d, openedAt };
  });
}

async function auditPage(
  knex: Knex,
  filter: { entityType?: string; entityId?: string; actorType?: string },
  before: number | null,
  limit: number,
): Promise<Array<Record<string, unknown>>> {
  const q = knex(TABLES.audit).orderBy('id', 'desc').limit(limit);
  if (filter.entityType) q.where('entity_type', filter.entityType);
  if (filter.entityId) q.where('entity_id', filter.entityId);
  if (filter.actorType) q.where('actor_type', filter.actorType);
  if (before) q.where('id', '<', before);
  return q;
}
