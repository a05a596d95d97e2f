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
import { isNotOwed, type NotOwedStatus } from '../domain/invoice-status.js';
import { parseLineStatus, type LineStatus } from '../domain/line-status.js';
import type { ActorType } from './audit-store.js';
import { rowReader, sqlBig, sqlBigOrNull, sqlInstant } from './rows.js';
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
  /** the plan's cap, and whether it held the amount before and after the re-rating */
  cap?: { minor: string; from: boolean; to: boolean };
  /** a VPS's part of a pool: the pool's amount and the part, before and after */
  pool?: { fromMinor: string; toMinor: string; partFromMinor: string; partToMinor: string };
  /** the upgrade credit taken from the amount, before and after */
  upgrade?: { percent: number; fromMinor: string; toMinor: string };
  /** a correction line: the period's amount it names ("now €…"), before and after */
  correction?: { fromMinor: string; toMinor: string };
}

/** What an admin asked for when deciding (kept with the decision: the line's new text names it). */
export interface DisputeResolutionRecord {
  adjustment: Adjustment | null;
  note: string | null;
  /** a re-rating at the rate agreed in advance */
  rerated: StoredRerate | null;
  /** a voided dispute: the invoice whose cancellation or refund closed it */
  voidedBy?: VoidedBy | null;
}

/** The invoice that closed a dispute with nothing to settle, and its status then. */
export interface VoidedBy {
  invoiceId: number;
  status: NotOwedStatus;
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
  /** a voided dispute: the invoice that closed it (from the resolution) */
  voidedBy: VoidedBy | null;
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
  /** null for a voiding: nothing becomes due */
  newDueDate: string | null;
  settlement: 'credit' | 'refund' | null;
  expectedVersion?: number;
}

/** The columns a step of the hold or the settlement sets (each change bumps the version). */
export interface DisputeChange {
  holdState?: HoldState;
  /** null: the held draft let go (the renewal was paid while the hold was half-way) */
  heldInvoiceId?: number | null;
  heldItemId?: number | null;
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
  /** a claimed decision not carried out yet turned into a voiding (its invoice was since cancelled or refunded); false when none is claimed */
  reclaimAsVoided(id: number, by: VoidedBy, now: DateTime): Promise<boolean>;
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
  /** open disputes nobody is deciding whose line was billed on, or is held on, an invoice */
  undecidedOnInvoice(invoiceId: number): Promise<number[]>;
  /** lines of open disputes that were on, or are held on, an invoice */
  openLinesOfInvoice(
    invoiceId: number,
  ): Promise<Array<{ refCode: string; amountMinor: bigint; description: string }>>;
  /** work in one transaction (retried on a deadlock when not nested): the store and the transaction, for the audit and outbox */
  transaction<T>(work: (tx: DisputeStore, db: Knex.Transaction) => Promise<T>): Promise<T>;
}

function parseResolution(v: unknown): DisputeResolutionRecord | null {
  if (v === null || v === undefined || v === '') return null;
  const r = JSON.parse(String(v)) as Partial<DisputeResolutionRecord>;
  return {
    adjustment: r.adjustment ?? null,
    note: r.note ?? null,
    rerated: r.rerated ?? null,
    ...(r.voidedBy ? { voidedBy: r.voidedBy } : {}),
  };
}

/** The invoice that voided a dispute, from its stored resolution (JSON); null for any other. */
export function voidedByOf(v: unknown): VoidedBy | null {
  const b = parseResolution(v)?.voidedBy;
  return b && Number.isSafeInteger(b.invoiceId) && isNotOwed(b.status)
    ? { invoiceId: b.invoiceId, status: b.status }
    : null;
}

export function disputeFromRow(r: Record<string, unknown>): DisputeRecord {
  const d = rowReader(TABLES.disputes, r);
  return {
    id: d.num('id'),
    lineId: d.num('line_id'),
    clientId: d.num('client_id'),
    serviceId: d.num('service_id'),
    state: parseDisputeState(r.state),
    resolvingTo: parseResolvingTo(r.resolving_to),
    reason: d.str('reason'),
    openedBy: { type: d.word(ACTOR_TYPES, 'opened_by_type'), id: d.strOrNull('opened_by_id') },
    overrideReason: d.strOrNull('override_reason'),
    openedAt: d.instant('opened_at'),
    holdState: parseHoldState(r.hold_state),
    originalInvoiceId: d.num('original_invoice_id'),
    originalItemId: d.numOrNull('original_item_id'),
    heldInvoiceId: d.numOrNull('held_invoice_id'),
    heldItemId: d.numOrNull('held_item_id'),
    amountBeforeMinor: d.big('amount_before_minor'),
    amountAfterMinor: d.bigOrNull('amount_after_minor'),
    currency: d.str('currency'),
    resolution: parseResolution(r.resolution),
    voidedBy: voidedByOf(r.resolution),
    resolvedBy:
      r.resolved_by_type === null || r.resolved_by_type === undefined
        ? null
        : { type: d.word(ACTOR_TYPES, 'resolved_by_type'), id: d.strOrNull('resolved_by_id') },
    resolvedAt: d.instantOrNull('resolved_at'),
    newDueDate: d.dateOrNull('new_due_date'),
    settlement: parseSettlement(r.settlement),
    creditNoteInvoiceId: d.numOrNull('credit_note_invoice_id'),
    creditedMinor: d.bigOrNull('credited_minor'),
    version: d.num('version'),
  };
}

function lineFromRow(r: Record<string, unknown>): DisputedLine {
  const l = rowReader(TABLES.lines, r);
  return {
    id: l.num('id'),
    chargeId: l.num('charge_id'),
    clientId: l.num('client_id'),
    serviceId: l.num('service_id'),
    invoiceId: l.num('invoice_id'),
    invoiceItemId: l.numOrNull('invoice_item_id'),
    refCode: l.str('ref_code'),
    status: parseLineStatus(r.status),
    amountMinor: l.big('amount_minor'),
    currency: l.str('currency'),
    description: l.str('description'),
    deadlineLastDay: l.date('deadline_last_day'),
    deadlineClosesAt: l.instant('deadline_closes_at'),
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
  const undecided = createUndecidedReads(db);
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
      if (!r) return null;
      const c = rowReader(TABLES.charges, r);
      return { taxed: c.bool('taxed'), explanation: c.json('explanation') };
    },
    async insertOpen(d, now) {
      await disputes().insert(newDisputeRow(d, now)).onConflict('line_id').ignore();
      return (await one({ line_id: d.lineId }))!;
    },
    ...writes,
    ...undecided,
    async unfinished(limit) {
      const rows = await disputes()
        .where({ hold_state: 'holding' })
        .orWhereNotNull('resolving_to')
        .select('id', 'resolving_to')
        .orderBy('id')
        .limit(limit);
      return rows.map((r) => ({
        id: rowReader(TABLES.disputes, r).num('id'),
        deciding: r.resolving_to !== null && r.resolving_to !== undefined,
      }));
    },
    async openForClient(clientId) {
      const rows = await db(`${TABLES.disputes} as d`)
        .join(`${TABLES.lines} as l`, 'l.id', 'd.line_id')
        .where({ 'd.client_id': clientId, 'd.state': 'open' })
        .select('d.id', 'd.line_id', 'l.description', 'l.amount_minor', 'l.currency')
        .orderBy('d.id');
      return rows.map((r) => {
        const d = rowReader(TABLES.disputes, r);
        const l = rowReader(TABLES.lines, r);
        return {
          disputeId: d.num('id'),
          lineId: d.num('line_id'),
          description: l.str('description'),
          amountMinor: l.big('amount_minor'),
          currency: l.str('currency'),
        };
      });
    },
    async openLinesOfInvoice(invoiceId) {
      const rows = await db(`${TABLES.disputes} as d`)
        .join(`${TABLES.lines} as l`, 'l.id', 'd.line_id')
        .where('d.state', 'open')
        .andWhere((q) => q.where('d.original_invoice_id', invoiceId).orWhere('d.held_invoice_id', invoiceId))
        .select('l.ref_code', 'l.amount_minor', 'l.description')
        .orderBy('l.id');
      return rows.map((r) => {
        const l = rowReader(TABLES.lines, r);
        return {
          refCode: l.str('ref_code'),
          amountMinor: l.big('amount_minor'),
          description: l.str('description'),
        };
      });
    },
    transaction: (work) => retryTransaction(db, (trx) => work(createDisputeStore(trx), trx)),
  };
}

/** Open disputes nobody is deciding, by the invoice their line was billed or is held on. */
function createUndecidedReads(db: Knex | Knex.Transaction): Pick<DisputeStore, 'undecidedOnInvoice'> {
  return {
    async undecidedOnInvoice(invoiceId) {
      const rows = await db(TABLES.disputes)
        .where('state', 'open')
        .whereNull('resolving_to')
        .andWhere((q) => q.where('original_invoice_id', invoiceId).orWhere('held_invoice_id', invoiceId))
        .orderBy('id')
        .select('id');
      return rows.map((r) => rowReader(TABLES.disputes, r).num('id'));
    },
  };
}

/** The store's writes: a dispute's steps and its line's, each bumping the dispute's version. */
function createWrites(
  db: Knex | Knex.Transaction,
): Pick<DisputeStore, 'update' | 'claim' | 'reclaimAsVoided' | 'finish' | 'holdLine' | 'decideLine'> {
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
    async reclaimAsVoided(id, by, now) {
      const n = await db(TABLES.disputes)
        .where({ id, state: 'open' })
        .whereNotNull('resolving_to')
        .update({
          resolving_to: 'voided',
          amount_after_minor: null,
          resolution: JSON.stringify({ adjustment: null, note: null, rerated: null, voidedBy: by }),
          resolved_by_type: 'system',
          resolved_by_id: null,
          new_due_date: null,
          settlement: null,
          version: db.raw('version + 1'),
          updated_at: sqlInstant(now),
        });
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
