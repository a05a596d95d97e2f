import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseLineStatus, type LineStatus } from '../domain/line-status.js';
import {
  parseDisputeState,
  parseResolvingTo,
  type DisputeState,
  type Resolution,
} from '../domain/dispute-state.js';
import { parseHoldState, type HoldState } from '../domain/hold-state.js';
import { voidedByOf, type VoidedBy } from './dispute-store.js';
import { engineOf } from './database.js';
import { ModuleError } from '../domain/errors.js';
import {
  bigIn,
  intIn,
  isUnreadable,
  readEach,
  rowReader,
  sqlInstant,
  type Listed,
  type SetAside,
} from './rows.js';
import { retryTransaction, sendDirect } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * The overusage lines (one per charge, on a panel invoice) and the record of finished
 * InvoiceCreation deliveries, as the placing and the reconciliation read and change them. Rows are
 * checked where they come in: a status outside the line's transition table is an error, not a cast.
 */

type Db = Knex | Knex.Transaction;

/** A line as placing it needs it. */
export interface StoredLine {
  id: number;
  chargeId: number;
  serviceId: number;
  clientId: number;
  invoiceId: number;
  refCode: string;
  status: LineStatus;
  amountMinor: bigint;
  currency: string;
  description: string;
  deadlineLastDay: IsoDate;
}

/** A line to write as pending (module/services/line-placing.ts fills it in). */
export interface NewLine {
  chargeId: number;
  serviceId: number;
  clientId: number;
  invoiceId: number;
  refCode: string;
  amountMinor: bigint;
  currency: string;
  description: string;
  locale: string;
  invoiceDate: IsoDate;
  window: { days: number; counting: string; holidays: string };
  deadlineLastDay: IsoDate;
  deadlineClosesAt: DateTime;
  createdAt: DateTime;
}

export interface LineStore {
  /** runs `work` in one transaction, retried on a deadlock or a lost certification (module/adapters/sql-helpers.ts) */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** the invoice's lines in these statuses (all of them when none given), oldest first */
  onInvoice(invoiceId: number, statuses?: readonly LineStatus[]): Promise<StoredLine[]>;
  /** the client's lines written for a standalone invoice not yet created (invoice 0) */
  awaitingStandalone(clientId: number): Promise<StoredLine[]>;
  /** the invoices with a pending line (not invoice 0) */
  invoicesWithPending(): Promise<number[]>;
  /**
   * Writes the line as pending only while its charge is still unbilled at the line's amount, in one
   * statement: the line as onInvoice reads it; null when the charge was billed, replaced or re-rated
   * meanwhile, or has a line.
   */
  insertPendingIfChargeUnbilled(line: NewLine): Promise<StoredLine | null>;
  /** records the invoice the pending lines went on */
  moveToInvoice(lineIds: number[], invoiceId: number): Promise<void>;
  /** pending → placed on the invoice item; false when the line was no longer pending */
  markPlaced(db: Db, lineId: number, invoiceItemId: number, at: DateTime): Promise<boolean>;
  /**
   * pending → placed on the invoice item, and its charge billed (one statement on MariaDB); false,
   * with nothing changed, when the line was no longer pending
   */
  placeAndBill(
    db: Db,
    line: { id: number; chargeId: number },
    invoiceItemId: number,
    at: DateTime,
  ): Promise<boolean>;
  /** deletes a pending line (its invoice was paid first); false when it was no longer pending */
  deletePending(db: Db, lineId: number): Promise<boolean>;
  /** an invoice's delivery finished (by the hook or the reconciliation) with this many lines added; `db`: in that transaction */
  recordDelivery(
    invoiceId: number,
    by: 'hook' | 'reconcile',
    added: number,
    at: DateTime,
    db?: Db,
  ): Promise<void>;
  /** which of these invoices had their delivery finished */
  deliveredOf(invoiceIds: number[]): Promise<Set<number>>;
}

/**
 * An invoice's lines, all of them or none: one that cannot be read refuses the invoice
 * (UNEXPECTED_STATE naming the line and the column, never the value), since what a delivery or the
 * reconciliation does with an invoice depends on every line on it.
 */
function everyLineOf(invoiceId: number, rows: Array<Record<string, unknown>>): StoredLine[] {
  const read = readEach(rows, parseStoredLine, TABLES.lines);
  const bad = read.find(isUnreadable);
  if (bad === undefined) return read as StoredLine[];
  const column = bad.unreadable.column ?? `${TABLES.lines}.?`;
  throw new ModuleError(
    'UNEXPECTED_STATE',
    `line ${bad.id ?? '?'} of invoice ${invoiceId} cannot be read: ${column} is ${bad.unreadable.reason}`,
    { column, reason: bad.unreadable.reason, lineId: bad.id, invoiceId },
  );
}

export function parseStoredLine(r: Record<string, unknown>): StoredLine {
  const l = rowReader(TABLES.lines, r);
  return {
    id: l.num('id'),
    chargeId: l.num('charge_id'),
    serviceId: l.num('service_id'),
    clientId: l.num('client_id'),
    invoiceId: l.num('invoice_id'),
    refCode: l.str('ref_code'),
    status: parseLineStatus(r.status),
    amountMinor: l.big('amount_minor'),
    currency: l.str('currency'),
    description: l.str('description'),
    deadlineLastDay: l.date('deadline_last_day'),
  };
}

const LINE_COLUMNS = [
  'id',
  'charge_id',
  'service_id',
  'client_id',
  'invoice_id',
  'ref_code',
  'status',
  'amount_minor',
  'currency',
  'description',
  'deadline_last_day',
];

const lineColumns = (l: NewLine): Record<string, string | number> => ({
  charge_id: l.chargeId,
  service_id: l.serviceId,
  client_id: l.clientId,
  invoice_id: l.invoiceId,
  ref_code: l.refCode,
  status: 'pending',
  amount_minor: l.amountMinor.toString(),
  currency: l.currency,
  description: l.description,
  locale: l.locale,
  invoice_date: l.invoiceDate,
  window_days: l.window.days,
  window_counting: l.window.counting,
  window_holidays: l.window.holidays,
  deadline_last_day: l.deadlineLastDay,
  deadline_closes_at: sqlInstant(l.deadlineClosesAt),
  created_at: sqlInstant(l.createdAt),
});

export function createLineStore(knex: Knex): LineStore {
  const mysql = engineOf(knex) === 'mysql';
  const lines = (db: Db = knex) => db(TABLES.lines);
  return {
    transaction: (work) => retryTransaction(knex, work),
    async onInvoice(invoiceId, statuses) {
      if (mysql) {
        // every delivery reads its invoice's lines: written out, sent past knex's builder
        if (statuses?.length === 0) return [];
        const only = statuses ? ` AND status IN (${statuses.map(() => '?').join(', ')})` : '';
        const sql = `SELECT ${LINE_COLUMNS.join(', ')} FROM ${TABLES.lines} WHERE invoice_id = ?${only} ORDER BY id`;
        const rows = await sendDirect<Array<Record<string, unknown>>>(knex, sql, [
          invoiceId,
          ...(statuses ?? []),
        ]);
        return everyLineOf(invoiceId, rows);
      }
      const q = lines().where({ invoice_id: invoiceId }).orderBy('id').select(LINE_COLUMNS);
      if (statuses) q.whereIn('status', statuses);
      return everyLineOf(invoiceId, (await q) as Array<Record<string, unknown>>);
    },
    async awaitingStandalone(clientId) {
      const rows = await lines()
        .where({ client_id: clientId, status: 'pending', invoice_id: 0 })
        .orderBy('id')
        .select(LINE_COLUMNS);
      // all of them or none, as an invoice's (invoice 0: the standalone invoice not yet made)
      return everyLineOf(0, rows as Array<Record<string, unknown>>);
    },
    async invoicesWithPending() {
      const rows = await lines()
        .where({ status: 'pending' })
        .andWhere('invoice_id', '>', 0)
        .distinct('invoice_id')
        .orderBy('invoice_id');
      return rows.map((r) => intIn(r.invoice_id, `${TABLES.lines}.invoice_id`));
    },
    async insertPendingIfChargeUnbilled(line) {
      // It locks the charge row as rating again does, so the two never cross; the unique
      // charge_id keeps a second line for the same charge out on both engines.
      const row = lineColumns(line);
      const cols = Object.keys(row);
      const sql = `INSERT ${mysql ? 'IGNORE ' : ''}INTO ${TABLES.lines} (${cols.join(', ')}) SELECT ${cols.map(() => '?').join(', ')} FROM ${TABLES.charges} WHERE id = ? AND status = 'unbilled' AND amount_minor = ?${mysql ? '' : ' ON CONFLICT (charge_id) DO NOTHING'}`;
      const values = [...cols.map((k) => row[k]!), line.chargeId, line.amountMinor.toString()];
      // the delivery's one write before the panel's: past knex's builder on MariaDB/MySQL
      const res: unknown = mysql ? [await sendDirect(knex, sql, values)] : await knex.raw(sql, values);
      if (insertedRows(res, mysql) !== 1) return null;
      // what was written is known: the placing need not read it back
      return writtenLine(insertedId(res, mysql), line);
    },
    async moveToInvoice(lineIds, invoiceId) {
      if (lineIds.length) await lines().whereIn('id', lineIds).update({ invoice_id: invoiceId });
    },
    async markPlaced(db, lineId, invoiceItemId, at) {
      const n = await lines(db)
        .where({ id: lineId, status: 'pending' })
        .update({ status: 'placed', invoice_item_id: invoiceItemId, placed_at: sqlInstant(at) });
      return n === 1;
    },
    placeAndBill: (db, line, invoiceItemId, at) => placeAndBill(db, mysql, line, invoiceItemId, at),
    async deletePending(db, lineId) {
      return (await lines(db).where({ id: lineId, status: 'pending' }).delete()) === 1;
    },
    async recordDelivery(invoiceId, by, added, at, db = knex) {
      const row = { invoice_id: invoiceId, finished_by: by, added, finished_at: sqlInstant(at) };
      await db(TABLES.deliveries).insert(row).onConflict('invoice_id').merge(['added', 'finished_at']);
    },
    async deliveredOf(invoiceIds) {
      if (invoiceIds.length === 0) return new Set();
      const rows = await knex(TABLES.deliveries).whereIn('invoice_id', invoiceIds).select('invoice_id');
      return new Set(rows.map((r) => intIn(r.invoice_id, `${TABLES.deliveries}.invoice_id`)));
    },
  };
}

/** Rows a raw INSERT wrote: mysql2 answers [ResultSetHeader, …], better-sqlite3 a RunResult. */
function insertedRows(res: unknown, mysql: boolean): number {
  const header = mysql ? (res as Array<{ affectedRows?: number }>)[0] : (res as { changes?: number });
  const n = mysql
    ? (header as { affectedRows?: number }).affectedRows
    : (header as { changes?: number }).changes;
  if (typeof n !== 'number') throw new TypeError('the database did not say how many rows the insert wrote');
  return n;
}

/** A pending line as onInvoice would read it back. */
const writtenLine = (id: number, line: NewLine): StoredLine => ({
  id,
  chargeId: line.chargeId,
  serviceId: line.serviceId,
  clientId: line.clientId,
  invoiceId: line.invoiceId,
  refCode: line.refCode,
  status: 'pending',
  amountMinor: line.amountMinor,
  currency: line.currency,
  description: line.description,
  deadlineLastDay: line.deadlineLastDay,
});

/** LineStore.placeAndBill. */
async function placeAndBill(
  db: Db,
  mysql: boolean,
  line: { id: number; chargeId: number },
  invoiceItemId: number,
  at: DateTime,
): Promise<boolean> {
  const when = sqlInstant(at);
  if (!mysql) {
    const placed = await db(TABLES.lines)
      .where({ id: line.id, status: 'pending' })
      .update({ status: 'placed', invoice_item_id: invoiceItemId, placed_at: when });
    if (placed !== 1) return false;
    await db(TABLES.charges).where({ id: line.chargeId }).update({ status: 'billed', billed_at: when });
    return true;
  }
  // both rows in one round trip; mysql2 counts the rows matched, so 0 only when the line was not pending
  const res = (await db.raw(
    `UPDATE ${TABLES.lines} AS l JOIN ${TABLES.charges} AS c ON c.id = ?
     SET l.status = 'placed', l.invoice_item_id = ?, l.placed_at = ?, c.status = 'billed', c.billed_at = ?
     WHERE l.id = ? AND l.status = 'pending'`,
    [line.chargeId, invoiceItemId, when, when, line.id],
  )) as unknown as [{ affectedRows?: number }];
  const n = res[0]?.affectedRows;
  if (typeof n !== 'number') throw new TypeError('the database did not say how many rows the update changed');
  return n > 0;
}

/** The id a raw INSERT gave its row: mysql2's insertId, better-sqlite3's lastInsertRowid. */
function insertedId(res: unknown, mysql: boolean): number {
  const id = mysql
    ? (res as Array<{ insertId?: number }>)[0]?.insertId
    : (res as { lastInsertRowid?: number | bigint }).lastInsertRowid;
  return intIn(id, `${TABLES.lines}.id`);
}

export interface LineRow {
  id: number;
  refCode: string;
  serviceId: number;
  clientId: number;
  invoiceId: number;
  status: string;
  amountMinor: bigint;
  currency: string;
  description: string;
  locale: string;
  invoiceDate: IsoDate;
  deadlineLastDay: IsoDate;
  deadlineClosesAt: string;
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  chargeAmountMinor: bigint;
  dispute: {
    id: number;
    state: DisputeState;
    resolvingTo: Resolution | null;
    holdState: HoldState;
    reason: string;
    openedByType: string;
    openedAt: string;
    amountBeforeMinor: bigint;
    amountAfterMinor: bigint | null;
    resolvedAt: string | null;
    newDueDate: IsoDate | null;
    heldInvoiceId: number | null;
    /** the invoice the line was billed on before it was held (0 where not read) */
    originalInvoiceId?: number;
    version: number;
    /** 'credited' once what was paid went back to the client's account credit */
    settlement?: string | null;
    /** what went back, VAT included (null before credit notes: the line's amounts tell it) */
    creditedMinor?: bigint | null;
    /** a voided dispute: the invoice whose cancellation or refund closed it */
    voidedBy?: VoidedBy | null;
    /** the credit note that corrected the paid invoice */
    creditNoteInvoiceId?: number | null;
  } | null;
}

export function parseLineRow(r: Record<string, unknown>): LineRow {
  const l = rowReader(TABLES.lines, r);
  const c = rowReader(TABLES.charges, r);
  const d = r.d_id === null || r.d_id === undefined ? null : rowReader(TABLES.disputes, r, 'd_');
  return {
    id: l.num('id'),
    refCode: l.str('ref_code'),
    serviceId: l.num('service_id'),
    clientId: l.num('client_id'),
    invoiceId: l.num('invoice_id'),
    status: parseLineStatus(r.status),
    amountMinor: l.big('amount_minor'),
    currency: l.str('currency'),
    description: l.str('description'),
    locale: l.str('locale'),
    invoiceDate: l.date('invoice_date'),
    deadlineLastDay: l.date('deadline_last_day'),
    deadlineClosesAt: l.instant('deadline_closes_at').toISO()!,
    periodId: c.num('period_id'),
    periodStart: c.date('period_start'),
    periodEnd: c.date('period_end'),
    chargeAmountMinor: c.at('charge_amount_minor', bigIn),
    dispute:
      d === null
        ? null
        : {
            id: d.num('id'),
            state: parseDisputeState(r.d_state),
            resolvingTo: parseResolvingTo(r.d_resolving_to),
            holdState: parseHoldState(r.d_hold_state),
            reason: d.str('reason'),
            openedByType: d.str('opened_by_type'),
            openedAt: d.instant('opened_at').toISO()!,
            amountBeforeMinor: d.big('amount_before_minor'),
            amountAfterMinor: d.bigOrNull('amount_after_minor'),
            resolvedAt: d.instantOrNull('resolved_at')?.toISO() ?? null,
            newDueDate: d.dateOrNull('new_due_date'),
            heldInvoiceId: d.numOrNull('held_invoice_id'),
            originalInvoiceId: d.num('original_invoice_id'),
            version: d.num('version'),
            settlement: d.strOrNull('settlement'),
            creditedMinor: d.bigOrNull('credited_minor'),
            creditNoteInvoiceId: d.numOrNull('credit_note_invoice_id'),
            voidedBy: voidedByOf(r.d_resolution),
          },
  };
}

/** Lines with their period and dispute; callers add the filter, the order and the limit. */
function linesQuery(knex: Knex) {
  return knex(`${TABLES.lines} as l`)
    .join(`${TABLES.charges} as c`, 'c.id', 'l.charge_id')
    .leftJoin(`${TABLES.disputes} as d`, 'd.line_id', 'l.id')
    .select(
      'l.id',
      'l.ref_code',
      'l.service_id',
      'l.client_id',
      'l.invoice_id',
      'l.status',
      'l.amount_minor',
      'l.currency',
      'l.description',
      'l.locale',
      'l.invoice_date',
      'l.deadline_last_day',
      'l.deadline_closes_at',
      'c.period_id',
      'c.period_start',
      'c.period_end',
      'c.amount_minor as charge_amount_minor',
      'd.id as d_id',
      'd.state as d_state',
      'd.resolving_to as d_resolving_to',
      'd.hold_state as d_hold_state',
      'd.reason as d_reason',
      'd.opened_by_type as d_opened_by_type',
      'd.opened_at as d_opened_at',
      'd.amount_before_minor as d_amount_before_minor',
      'd.amount_after_minor as d_amount_after_minor',
      'd.resolved_at as d_resolved_at',
      'd.new_due_date as d_new_due_date',
      'd.held_invoice_id as d_held_invoice_id',
      'd.original_invoice_id as d_original_invoice_id',
      'd.version as d_version',
      'd.settlement as d_settlement',
      'd.credited_minor as d_credited_minor',
      'd.credit_note_invoice_id as d_credit_note_invoice_id',
      'd.resolution as d_resolution',
    );
}

/** What a list of lines is narrowed to; `search` as the admin's search box gave it (module/services/admin-reads.ts). */
export interface LineQuery {
  clientId?: number;
  serviceId?: number;
  invoiceId?: number;
  status?: string;
  search?: { kind: 'ref'; prefix: string } | { kind: 'number'; n: number } | { kind: 'text'; text: string };
}

/** Lines as people read them: with their period and their dispute. */
export interface LineReads {
  /** newest first, ids below `before` when given, at most `limit` */
  page(filter: LineQuery, before: number | null, limit: number): Promise<LineRow[]>;
  /** the same page for the admin's list: a line that cannot be read is an UnreadableRow in its place */
  listed(filter: LineQuery, before: number | null, limit: number): Promise<Array<Listed<LineRow>>>;
  /** the line; with `clientId`, only when it is that client's */
  one(lineId: number, clientId?: number): Promise<LineRow | null>;
  /** the lines of these periods that are on an invoice (not pending) */
  onInvoicesOf(periodIds: number[]): Promise<InvoicedLine[]>;
}

/** A line on an invoice with its period (read from its charge, so known even when the line cannot be read). */
export interface InvoicedLine {
  periodId: number;
  line: Listed<LineRow>;
}

/** `setAside`: told of each line the admin's list could not read (`listed`). */
export function createLineReads(knex: Knex, opts: { setAside?: SetAside } = {}): LineReads {
  const mysql = engineOf(knex) === 'mysql';
  function search(q: Knex.QueryBuilder, s: NonNullable<LineQuery['search']>): void {
    if (s.kind === 'ref') {
      // a prefix read of its unique index (GLOB keeps SQLite on the index; its LIKE ignores case)
      if (mysql) q.where('l.ref_code', 'like', `${s.prefix}%`);
      else q.whereRaw('l.ref_code GLOB ?', [`${s.prefix}*`]);
    } else if (s.kind === 'number') {
      q.where((w) =>
        w
          .where('l.id', s.n)
          .orWhere('l.invoice_id', s.n)
          .orWhere('l.service_id', s.n)
          .orWhere('l.client_id', s.n),
      );
    } else {
      // % _ and the escape character itself taken literally, on both engines: SQLite's LIKE has
      // no escape character unless it is named, and MySQL's default (\\) is not SQLite's
      q.whereRaw(`l.description LIKE ? ESCAPE '!'`, [`%${s.text.replace(/[!%_]/g, (c) => `!${c}`)}%`]);
    }
  }
  const pageQuery = (filter: LineQuery, before: number | null, limit: number) => {
    const q = linesQuery(knex).orderBy('l.id', 'desc').limit(limit);
    if (filter.status) q.where('l.status', filter.status);
    if (filter.clientId !== undefined) q.where('l.client_id', filter.clientId);
    if (filter.serviceId !== undefined) q.where('l.service_id', filter.serviceId);
    if (filter.invoiceId !== undefined) q.where('l.invoice_id', filter.invoiceId);
    if (filter.search) search(q, filter.search);
    if (before) q.where('l.id', '<', before);
    return q;
  };
  return {
    async page(filter, before, limit) {
      return (await pageQuery(filter, before, limit)).map(parseLineRow);
    },
    async listed(filter, before, limit) {
      const rows = (await pageQuery(filter, before, limit)) as Array<Record<string, unknown>>;
      return readEach(rows, parseLineRow, TABLES.lines, { setAside: opts.setAside });
    },
    async one(lineId, clientId) {
      const q = linesQuery(knex).where('l.id', lineId);
      if (clientId !== undefined) q.andWhere('l.client_id', clientId);
      const r = await q.first();
      return r ? parseLineRow(r) : null;
    },
    async onInvoicesOf(periodIds) {
      if (periodIds.length === 0) return [];
      const rows = (await linesQuery(knex)
        .whereIn('c.period_id', periodIds)
        .whereNot('l.status', 'pending')) as Array<Record<string, unknown>>;
      // each on its own: one that cannot be read leaves its period's sum unknown, not smaller
      const lines = readEach(rows, parseLineRow, TABLES.lines, { setAside: opts.setAside });
      return lines.map((line, i) => ({
        periodId: intIn(rows[i]!.period_id, `${TABLES.charges}.period_id`),
        line,
      }));
    },
  };
}
