import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import {
  parseDisputeState,
  parseResolvingTo,
  parseSettlement,
  type Adjustment,
  type DisputeState,
  type Resolution,
  type Settlement,
} from '../domain/dispute-state.js';
import { parseHoldState, type HoldState } from '../domain/hold-state.js';
import { parseLineStatus, type LineStatus } from '../domain/line-status.js';
import { storedWord } from '../domain/stored-value.js';
import type { ActorType } from './audit-store.js';
import {
  sqlBig,
  sqlBigOrNull,
  sqlInstant,
  toBig,
  toBigOrNull,
  toBool,
  toDate,
  toDateOrNull,
  toInstant,
  toInstantOrNull,
  toNum,
  toNumOrNull,
} from './rows.js';
import { retryTransaction } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * The disputes aggregate as stored: a dispute and the overusage line it holds (their states change
 * together, in one transaction). Rows are parsed here, where they enter the code: a state word the
 * transition tables do not know is reported as UNEXPECTED_STATE with its column, never cast.
 */
const ACTOR_TYPES = ['system', 'admin', 'client', 'cli'] as const satisfies readonly ActorType[];

/** A re-rating as the decision stores it (JSON): the rates, the amounts before cap and minimum, and whether the line's quantity gives the new one exactly. */
export interface StoredRerate {
  from: string;
  to: string;
  fromMinor?: string;
  toMinor?: string;
  exact?: boolean;
}

/** What an admin asked for when deciding (kept with the decision: the line's new text names it). */
export interface DisputeResolutionRecord {
  adjustment: Adjustment | null;
  note: string | null;
  /** a re-rating at the rate agreed in advance */
  rerated: StoredRerate | null;
}

export interface DisputeRecord {
  id: number;
  lineId: number;
  clientId: number;
  serviceId: number;
  state: DisputeState;
  /** while a decision is being carried out through the panel: where it is heading */
  resolvingTo: Resolution | null;
  reason: string;
  openedBy: { type: ActorType; id: string | null };
  overrideReason: string | null;
  openedAt: DateTime;
  holdState: HoldState;
  originalInvoiceId: number;
  originalItemId: number | null;
  heldInvoiceId: number | null;
  heldItemId: number | null;
  amountBeforeMinor: bigint;
  amountAfterMinor: bigint | null;
  currency: string;
  resolution: DisputeResolutionRecord | null;
  resolvedBy: { type: ActorType; id: string | null } | null;
  resolvedAt: DateTime | null;
  newDueDate: string | null;
  settlement: Settlement | null;
  /** the credit note that corrected a paid line's invoice (a Paid invoice of its own on the panel) */
  creditNoteInvoiceId: number | null;
  /** what a paid line's decision gave back, VAT included, in minor units (null: nothing, or decided before credit notes) */
  creditedMinor: bigint | null;
  version: number;
}

/** The overusage line a dispute is about, as the dispute steps need it. */
export interface DisputedLine {
  id: number;
  chargeId: number;
  clientId: number;
  serviceId: number;
  invoiceId: number;
  invoiceItemId: number | null;
  refCode: string;
  status: LineStatus;
  amountMinor: bigint;
  currency: string;
  description: string;
  deadlineLastDay: string;
  deadlineClosesAt: DateTime;
}

export interface NewDispute {
  lineId: number;
  clientId: number;
  serviceId: number;
  reason: string;
  openedBy: { type: ActorType; id: string | null };
  overrideReason: string | null;
  originalInvoiceId: number;
  originalItemId: number | null;
  amountBeforeMinor: bigint;
  currency: string;
}

/** A decision claimed by one request: only an open dispute nobody is deciding (at that version) takes it. */
export interface DisputeClaim {
  to: Resolution;
  amountAfterMinor: bigint | null;
  resolution: DisputeResolutionRecord;
  resolvedBy: { type: ActorType; id: string | null };
  newDueDate: string;
  settlement: 'credit' | 'refund' | null;
  expectedVersion?: number;
}

/** The columns a step of the hold or the settlement sets (each change bumps the version). */
export interface DisputeChange {
  holdState?: HoldState;
  heldInvoiceId?: number;
  heldItemId?: number;
  settlement?: Settlement;
  creditNoteInvoiceId?: number;
  creditedMinor?: bigint;
}

export interface DisputeStore {
  get(id: number): Promise<DisputeRecord | null>;
  forLine(lineId: number): Promise<DisputeRecord | null>;
  /** the line, or null; with `clientId`, only that client's */
  line(lineId: number, opts?: { clientId?: number }): Promise<DisputedLine | null>;
  /** the charge a line bills: whether it is taxed, and how it was rated (JSON as rating wrote it) */
  charge(chargeId: number): Promise<{ taxed: boolean; explanation: unknown } | null>;
  /** writes an open dispute unless the line has one already, and gives the line's dispute back */
  insertOpen(d: NewDispute, now: DateTime): Promise<DisputeRecord>;
  update(id: number, change: DisputeChange, now: DateTime): Promise<void>;
  claim(id: number, c: DisputeClaim, now: DateTime): Promise<boolean>;
  /** the claimed decision done: state set, claim cleared; false when another request finished it */
  finish(id: number, to: Resolution, holdState: HoldState, now: DateTime): Promise<boolean>;
  /** the line now sits on the held draft */
  holdLine(lineId: number, at: { invoiceId: number; itemId: number | null }): Promise<void>;
  /** the line after the decision: its status, amount and text */
  decideLine(
    lineId: number,
    d: { status: LineStatus; amountMinor: bigint; description: string },
  ): Promise<void>;
  /** disputes a failure left half-way (a hold not finished, a decision not carried out) */
  unfinished(limit: number): Promise<Array<{ id: number; deciding: boolean }>>;
  openForClient(
    clientId: number,
  ): Promise<
    Array<{ disputeId: number; lineId: number; description: string; amountMinor: bigint; currency: string }>
  >;
  /** lines of open disputes that were on, or are held on, an invoice */
  openLinesOfInvoice(
    invoiceId: number,
  ): Promise<Array<{ refCode: string; amountMinor: bigint; description: string }>>;
  /** work in one transaction (retried on a deadlock when not nested): the store and the transaction, for the audit and outbox */
  transaction<T>(work: (tx: DisputeStore, db: Knex.Transaction) => Promise<T>): Promise<T>;
}

const actorType = (v: unknown, column: string): ActorType =>
  storedWord(ACTOR_TYPES, v, `${TABLES.disputes}.${column}`);
const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function parseResolution(v: unknown): DisputeResolutionRecord | null {
  if (v === null || v === undefined || v === '') return null;
  const r = JSON.parse(String(v)) as Partial<DisputeResolutionRecord>;
  return { adjustment: r.adjustment ?? null, note: r.note ?? null, rerated: r.rerated ?? null };
}

export function disputeFromRow(r: Record<string, unknown>): DisputeRecord {
  return {
    id: toNum(r.id),
    lineId: toNum(r.line_id),
    clientId: toNum(r.client_id),
    serviceId: toNum(r.service_id),
    state: parseDisputeState(r.state),
    resolvingTo: parseResolvingTo(r.resolving_to),
    reason: String(r.reason),
    openedBy: { type: actorType(r.opened_by_type, 'opened_by_type'), id: textOrNull(r.opened_by_id) },
    overrideReason: textOrNull(r.override_reason),
    openedAt: toInstant(r.opened_at),
    holdState: parseHoldState(r.hold_state),
    originalInvoiceId: toNum(r.original_invoice_id),
    originalItemId: toNumOrNull(r.original_item_id),
    heldInvoiceId: toNumOrNull(r.held_invoice_id),
    heldItemId: toNumOrNull(r.held_item_id),
    amountBeforeMinor: toBig(r.amount_before_minor),
    amountAfterMinor: toBigOrNull(r.amount_after_minor),
    currency: String(r.currency),
    resolution: parseResolution(r.resolution),
    resolvedBy:
      r.resolved_by_type === null || r.resolved_by_type === undefined
        ? null
        : { type: actorType(r.resolved_by_type, 'resolved_by_type'), id: textOrNull(r.resolved_by_id) },
    resolvedAt: toInstantOrNull(r.resolved_at),
    newDueDate: toDateOrNull(r.new_due_date),
    settlement: parseSettlement(r.settlement),
    creditNoteInvoiceId: toNumOrNull(r.credit_note_invoice_id),
    creditedMinor: toBigOrNull(r.credited_minor),
    version: toNum(r.version),
  };
}

function lineFromRow(r: Record<string, unknown>): DisputedLine {
  return {
    id: toNum(r.id),
    chargeId: toNum(r.charge_id),
    clientId: toNum(r.client_id),
    serviceId: toNum(r.service_id),
    invoiceId: toNum(r.invoice_id),
    invoiceItemId: toNumOrNull(r.invoice_item_id),
    refCode: String(r.ref_code),
    status: parseLineStatus(r.status),
    amountMinor: toBig(r.amount_minor),
    currency: String(r.currency),
    description: String(r.description),
    deadlineLastDay: toDate(r.deadline_last_day),
    deadlineClosesAt: toInstant(r.deadline_closes_at),
  };
}

const changeColumns = (c: DisputeChange): Record<string, unknown> => ({
  ...(c.holdState !== undefined ? { hold_state: c.holdState } : {}),
  ...(c.heldInvoiceId !== undefined ? { held_invoice_id: c.heldInvoiceId } : {}),
  ...(c.heldItemId !== undefined ? { held_item_id: c.heldItemId } : {}),
  ...(c.settlement !== undefined ? { settlement: c.settlement } : {}),
  ...(c.creditNoteInvoiceId !== undefined ? { credit_note_invoice_id: c.creditNoteInvoiceId } : {}),
  ...(c.creditedMinor !== undefined ? { credited_minor: sqlBig(c.creditedMinor) } : {}),
});

function newDisputeRow(d: NewDispute, now: DateTime): Record<string, unknown> {
  return {
    line_id: d.lineId,
    client_id: d.clientId,
    service_id: d.serviceId,
    state: 'open',
    reason: d.reason,
    opened_by_type: d.openedBy.type,
    opened_by_id: d.openedBy.id,
    override_reason: d.overrideReason,
    opened_at: sqlInstant(now),
    hold_state: 'holding',
    original_invoice_id: d.originalInvoiceId,
    original_item_id: d.originalItemId,
    amount_before_minor: sqlBig(d.amountBeforeMinor),
    currency: d.currency,
    version: 0,
    updated_at: sqlInstant(now),
  };
}

function claimColumns(db: Knex | Knex.Transaction, c: DisputeClaim, now: DateTime): Record<string, unknown> {
  return {
    resolving_to: c.to,
    amount_after_minor: sqlBigOrNull(c.amountAfterMinor),
    resolution: JSON.stringify(c.resolution),
    resolved_by_type: c.resolvedBy.type,
    resolved_by_id: c.resolvedBy.id,
    new_due_date: c.newDueDate,
    settlement: c.settlement,
    version: db.raw('version + 1'),
    updated_at: sqlInstant(now),
  };
}

export function createDisputeStore(db: Knex | Knex.Transaction): DisputeStore {
  const disputes = () => db(TABLES.disputes);
  const lines = () => db(TABLES.lines);
  const one = async (where: Record<string, unknown>) => {
    const r = await disputes().where(where).first();
    return r ? disputeFromRow(r) : null;
  };
  const writes = createWrites(db);
  return {
    get: (id) => one({ id }),
    forLine: (lineId) => one({ line_id: lineId }),
    async line(lineId, opts = {}) {
      const q = lines().where({ id: lineId });
      if (opts.clientId !== undefined) q.andWhere({ client_id: opts.clientId });
      const r = await q.first();
      return r ? lineFromRow(r) : null;
    },
    async charge(chargeId) {
      const r = await db(TABLES.charges).where({ id: chargeId }).first('taxed', 'explanation');
      return r ? { taxed: toBool(r.taxed), explanation: JSON.parse(String(r.explanation)) as unknown } : null;
    },
    async insertOpen(d, now) {
      await disputes().insert(newDisputeRow(d, now)).onConflict('line_id').ignore();
      return (await one({ line_id: d.lineId }))!;
    },
    ...writes,
    async unfinished(limit) {
      const rows = await disputes()
        .where({ hold_state: 'holding' })
        .orWhereNotNull('resolving_to')
        .select('id', 'resolving_to')
        .orderBy('id')
        .limit(limit);
      return rows.map((r) => ({
        id: toNum(r.id),
        deciding: r.resolving_to !== null && r.resolving_to !== undefined,
      }));
    },
    async openForClient(clientId) {
      const rows = await db(`${TABLES.disputes} as d`)
        .join(`${TABLES.lines} as l`, 'l.id', 'd.line_id')
        .where({ 'd.client_id': clientId, 'd.state': 'open' })
        .select('d.id', 'd.line_id', 'l.description', 'l.amount_minor', 'l.currency')
        .orderBy('d.id');
      return rows.map((r) => ({
        disputeId: toNum(r.id),
        lineId: toNum(r.line_id),
        description: String(r.description),
        amountMinor: toBig(r.amount_minor),
        currency: String(r.currency),
      }));
    },
    async openLinesOfInvoice(invoiceId) {
      const rows = await db(`${TABLES.disputes} as d`)
        .join(`${TABLES.lines} as l`, 'l.id', 'd.line_id')
        .where('d.state', 'open')
        .andWhere((q) => q.where('d.original_invoice_id', invoiceId).orWhere('d.held_invoice_id', invoiceId))
        .select('l.ref_code', 'l.amount_minor', 'l.description')
        .orderBy('l.id');
      return rows.map((r) => ({
        refCode: String(r.ref_code),
        amountMinor: toBig(r.amount_minor),
        description: String(r.description),
      }));
    },
    transaction: (work) => retryTransaction(db, (trx) => work(createDisputeStore(trx), trx)),
  };
}

/** The store's writes: a dispute's steps and its line's, each bumping the dispute's version. */
function createWrites(
  db: Knex | Knex.Transaction,
): Pick<DisputeStore, 'update' | 'claim' | 'finish' | 'holdLine' | 'decideLine'> {
  return {
    async update(id, change, now) {
      await db(TABLES.disputes)
        .where({ id })
        .update({ ...changeColumns(change), version: db.raw('version + 1'), updated_at: sqlInstant(now) });
    },
    async claim(id, c, now) {
      const n = await db(TABLES.disputes)
        .where({ id, state: 'open' })
        .whereNull('resolving_to')
        .andWhere((q) => (c.expectedVersion === undefined ? q : q.where('version', c.expectedVersion)))
        .update(claimColumns(db, c, now));
      return n === 1;
    },
    async finish(id, to, holdState, now) {
      const n = await db(TABLES.disputes)
        .where({ id, resolving_to: to })
        .update({
          state: to,
          resolving_to: null,
          resolved_at: sqlInstant(now),
          hold_state: holdState,
          version: db.raw('version + 1'),
          updated_at: sqlInstant(now),
        });
      return n === 1;
    },
    async holdLine(lineId, at) {
      await db(TABLES.lines)
        .where({ id: lineId })
        .update({ status: 'held', invoice_id: at.invoiceId, invoice_item_id: at.itemId });
    },
    async decideLine(lineId, d) {
      await db(TABLES.lines)
        .where({ id: lineId })
        .update({ status: d.status, amount_minor: sqlBig(d.amountMinor), description: d.description });
    },
  };
}
