import { loggedError } from '../adapters/rows.js';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import type { Adjustment, Resolution } from '../domain/dispute-state.js';
import { ModuleError, notFound, type Outcome } from '../domain/errors.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import { createDisputeStore, type DisputeRecord, type DisputeStore } from '../adapters/dispute-store.js';
import type { LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { adjustedAmount } from './dispute-adjust.js';
import { disputeContext, viewOf } from './dispute-context.js';
import { hold } from './dispute-hold.js';
import { openDispute } from './dispute-open.js';
import { carryOut, resolveDispute } from './dispute-resolve.js';
import { paidOnPublishedHeld } from './dispute-settle.js';
import { voidForInvoice } from './dispute-void.js';
import { refPattern } from './invoice-lines.js';
import type { Outbox } from './outbox.js';

export { disputeEmails } from './dispute-notify.js';

/**
 * Disputing one overusage line. Opening a dispute in time holds the line: it moves off the
 * renewal invoice onto a draft invoice of its own, so the rest of the renewal stays payable and
 * goes through dunning as usual (paying it renews the service), while drafts are never dunned.
 * The admin then upholds (the line is published with a new due date), waives (the draft is
 * cancelled) or adjusts (new amount, then published); the client may withdraw. A line already paid
 * goes to a refund-or-credit decision instead. Every step is recorded before and after it touches
 * the panel, so `resume()` finishes any step a failure interrupted, without doing one twice.
 */
export type DisputeView = Omit<
  DisputeRecord,
  'openedAt' | 'resolvedAt' | 'originalItemId' | 'heldItemId' | 'resolution' | 'resolvedBy'
> & {
  /** ISO instants */
  openedAt: string;
  resolvedAt: string | null;
};

export type OpenRefusal =
  'WINDOW_CLOSED' | 'ALREADY_DISPUTED' | 'NOT_DISPUTABLE' | 'NOT_OWED' | 'REASON_REQUIRED';
export type ResolveRefusal = 'CONFLICT' | 'INVALID_TRANSITION' | 'NOT_ALLOWED' | 'NO_PRECOMMIT_RATE';

export interface DisputeService {
  open(input: {
    lineId: number;
    reason: string;
    actor: Actor;
    overrideReason?: string;
  }): Promise<Outcome<DisputeView, OpenRefusal>>;
  resolve(input: {
    disputeId: number;
    to: Resolution;
    actor: Actor;
    adjustment?: Adjustment;
    note?: string;
    expectedVersion?: number;
    settlement?: 'credit' | 'refund';
  }): Promise<Outcome<DisputeView, ResolveRefusal>>;
  /** the new amount an adjustment would give, for the admin's preview */
  preview(
    disputeId: number,
    adjustment: Adjustment,
  ): Promise<{ amountMinor: bigint; currency: string; explanation: string }>;
  get(disputeId: number, opts?: { clientId?: number }): Promise<DisputeView>;
  /**
   * whether a waiver or reduction gives money back, so the admin chooses credit or refund: the line
   * paid before its dispute (refund_decision), or paid on the held invoice the admin published
   */
  givesMoneyBack(disputeId: number): Promise<boolean>;
  forLine(lineId: number): Promise<DisputeView | null>;
  /**
   * the panel cancelled or refunded an invoice: the open disputes of lines billed or held on it
   * close with nothing to settle (docs/billing-rules.md, "Cancelled and refunded invoices"); gives
   * how many
   */
  invoiceClosed(invoiceId: number): Promise<number>;
  /** finishes holds and resolutions that a failure interrupted */
  resume(): Promise<{ resumed: number; failed: number }>;
  /** the client's open disputes with their lines (for reminders and the widget) */
  openForClient(
    clientId: number,
  ): Promise<
    Array<{ disputeId: number; lineId: number; description: string; amountMinor: bigint; currency: string }>
  >;
  /**
   * open disputes' lines on an invoice, by panel item: what dunning must leave alone. `panelAmount`
   * is the item's amount as the panel has it (see PANEL_DECIMALS), to weigh against its balance.
   */
  heldItemsOnInvoice(
    invoiceId: number,
  ): Promise<Array<{ itemId: number; amountMinor: bigint; panelAmount: string; description: string }>>;
}

export interface DisputeDeps {
  knex: Knex;
  clock: Clock;
  zone: string;
  panel: PanelApi;
  audit: AuditLog;
  log: Logger;
  locks: LockStore;
  /** the emails to the client and the admin, written with the change that causes them */
  outbox: Outbox;
  /** days until an upheld or adjusted line is due once published */
  dueDays?: number;
  /** the disputes store (built on `knex` when not given) */
  store?: DisputeStore;
}

/**
 * The dispute service, built from its steps: open (dispute-open.ts), hold (dispute-hold.ts),
 * resolve (dispute-resolve.ts, with dispute-adjust, dispute-invoices and dispute-settle) and notify
 * (dispute-notify.ts). Every step reads and writes through the disputes store.
 */
export function createDisputeService(deps: DisputeDeps): DisputeService {
  const ctx = disputeContext(deps, deps.store ?? createDisputeStore(deps.knex));
  const { store } = ctx;
  return {
    open: (input) => openDispute(ctx, input),
    resolve: (input) => resolveDispute(ctx, input),
    invoiceClosed: (invoiceId) => voidForInvoice(ctx, invoiceId),
    async preview(disputeId, adjustment) {
      const d = await ctx.dispute(disputeId);
      const a = await adjustedAmount(ctx, d, adjustment);
      if (!a.ok) throw new ModuleError('INVALID_INPUT', a.message);
      return { amountMinor: a.value.amountMinor, currency: d.currency, explanation: a.value.explanation };
    },
    async get(disputeId, opts = {}) {
      const d = await ctx.dispute(disputeId);
      if (opts.clientId !== undefined && d.clientId !== opts.clientId)
        throw notFound(`dispute ${disputeId} does not exist`);
      return viewOf(d);
    },
    async givesMoneyBack(disputeId) {
      const d = await ctx.dispute(disputeId);
      if (d.holdState === 'refund_decision') return true;
      const line = await store.line(d.lineId);
      return line !== null && (await paidOnPublishedHeld(ctx, d, line.refCode));
    },
    async forLine(lineId) {
      const d = await store.forLine(lineId);
      return d ? viewOf(d) : null;
    },
    async resume() {
      let resumed = 0;
      let failed = 0;
      for (const s of await store.unfinished(500)) {
        try {
          if (s.deciding) await carryOut(ctx, s.id);
          else await hold(ctx, s.id);
          resumed++;
        } catch (err) {
          failed++;
          deps.log.warn('dispute.resume_failed', { disputeId: s.id, ...loggedError(err) });
        }
      }
      return { resumed, failed };
    },
    openForClient: (clientId) => store.openForClient(clientId),
    async heldItemsOnInvoice(invoiceId) {
      const lines = await store.openLinesOfInvoice(invoiceId);
      if (lines.length === 0) return [];
      const inv = await deps.panel.getInvoice(invoiceId);
      return lines.flatMap((l) => {
        const item = inv.items.find((i) => i.description.includes(refPattern(l.refCode)));
        return item
          ? [
              {
                itemId: item.id,
                amountMinor: l.amountMinor,
                panelAmount: item.amount,
                description: l.description,
              },
            ]
          : [];
      });
    },
  };
}
