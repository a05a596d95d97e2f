import type { Clock } from '../domain/clock.js';
import type { IsoDate } from '../domain/calendar.js';
import type { RatedCharge } from '../domain/usage-rating.js';
import type { LockStore } from '../adapters/lock-store.js';
import type { AuditLog } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { LineStore } from '../adapters/line-store.js';
import type { ChargeStore } from '../adapters/charge-store.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { RatingService } from './rating.js';
import { placeOn, readEarly, withInvoiceLease } from './line-placing.js';
import { catchUpMissed, reconcilePending } from './line-reconcile.js';
import { billUnpicked } from './line-standalone.js';
import { createProductAnswers, type ProductAnswers } from './product-answers.js';

/**
 * Placing overusage lines on renewal invoices, exactly once. Each charge gets at most one line
 * row (unique charge_id), written as "pending" before the panel is asked to add the invoice item;
 * the item carries the line's reference code, so after a crash the line is recognised on the
 * invoice instead of being added again. Deliveries of the same hook queue on a lease per invoice.
 */
export interface LineTextInput {
  rated: RatedCharge;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  deadlineLastDay: IsoDate;
  refCode: string;
  /** a correction charge: what the invoices already billed for the period */
  correction?: { billedMinor: bigint } | null;
  /** the provider's credit on an upgrade (module/services/upgrades.ts) */
  upgradeCredit?: { percent: number; creditedMinor: bigint } | null;
  /** one VPS's part of a transfer pool's charge (module/services/pools.ts) */
  poolPart?: { pool: string; domain: string; overBytes: bigint; amountMinor: bigint } | null;
}

export type DescribeLine = (input: LineTextInput, language: string) => { text: string; locale: string };

export interface PlaceOutcome {
  invoiceId: number;
  added: number;
  alreadyPlaced: number;
  skipped: Array<{ chargeId: number; reason: string }>;
  /** the lines this call recorded as placed */
  placed?: PlacedLine[];
}

export interface PlacedLine {
  lineId: number;
  chargeId: number;
  refCode: string;
  amountMinor: bigint;
  currency: string;
}

/**
 * What a reconciliation did. An InvoiceCreation delivery that stopped part-way (a crash, a lost
 * database connection) is finished: its pending lines go on the invoice while the invoice is still
 * unpaid, and an invoice whose delivery never finished at all gets its lines as the hook would have
 * given them. Only an invoice paid or cancelled first makes the charge wait for the next one.
 */
export interface ReconcileOutcome {
  /** pending lines found on their invoice, recorded as placed */
  confirmed: number;
  /** pending lines put on their (still unpaid) invoice now */
  placed: number;
  /** pending lines whose invoice was paid or cancelled first: the charge waits for the next invoice */
  released: Array<{ chargeId: number; invoiceId: number; invoiceStatus: string }>;
  /** renewal invoices whose delivery never finished, done now, with the lines they got */
  recovered: Array<{ invoiceId: number; added: number }>;
  /** invoices another delivery is handling right now: left for the next reconciliation */
  busy: number[];
  /**
   * invoices left as they are because one of their lines cannot be read (a column changed by hand):
   * their pending lines stay pending until it is corrected; the other invoices are reconciled
   */
  unreadable: Array<{ invoiceId: number; lineId: number | null; column: string }>;
}

export interface InvoiceLineService {
  /**
   * the InvoiceCreation hook: one line per unbilled charge of every service the invoice renews.
   * `answer` is called as soon as the invoice holds its items (the panel's hook may return then;
   * not through the bridge's relay, which can ask the panel nothing after); recording them placed
   * goes on under the invoice's lease, and the promise settles after it.
   */
  addToRenewalInvoice(invoiceId: number, answer?: () => void): Promise<PlaceOutcome>;
  /** resolves once no delivery's work goes on after its answer (shutdown; tests) */
  idle(): Promise<void>;
  /**
   * Charges no renewal picks up (annual cycles, cancelled services): after the product's number of
   * days, on an invoice of their own, one per client and currency.
   */
  billUnpicked(): Promise<{ invoices: number; lines: number }>;
  /**
   * Pending lines a delivery left behind (it crashed or lost the database): confirmed if on the
   * invoice, put on it while it is unpaid, released (audited, in the activity log) once it is paid
   * or cancelled. Cheap: the 5-minute tick runs it.
   */
  reconcilePending(): Promise<ReconcileOutcome>;
  /**
   * reconcilePending, then the renewal invoices whose delivery never finished (the daily job,
   * `overusage reconcile`). Charges of periods not rated yet are not seen: rate closed periods first.
   */
  reconcile(): Promise<ReconcileOutcome>;
}

export interface InvoiceLineDeps {
  lines: LineStore;
  charges: ChargeStore;
  clock: Clock;
  zone: string;
  panel: PanelApi;
  billing: BillingSettingsService;
  rating: RatingService;
  /** transfer pools: months that ended are rated before a renewal invoice gets its lines (the pools of its services' clients) */
  pools?: {
    ratePools(opts: { serviceIds: readonly number[] }): Promise<{ rated: number }>;
    anyMonthDue(opts: { serviceIds: readonly number[] }): Promise<boolean>;
  };
  /**
   * whether the day that ended has all its samples (as PreCronJob asks): a pool month ends by the
   * calendar and is rated from its members' daily traffic, so a delivery rates one only then;
   * without it, a renewal generated before the morning's collect billed the month short of its
   * last day, for good. When not given: always.
   */
  daySampled?: () => Promise<boolean>;
  locks: LockStore;
  audit: AuditLog;
  log: Logger;
  describe: DescribeLine;
  /** how long a delivery waits for another delivery of the same invoice */
  waitMs?: number;
  /** the panel's answer about a product (its own overage billing), kept a minute; made here when not given */
  products?: ProductAnswers;
}

export { refPattern } from './line-placing.js';

export function createInvoiceLineService(given: InvoiceLineDeps): InvoiceLineService {
  const deps = { ...given, products: given.products ?? createProductAnswers(given.panel, given.clock) };
  const running = new Set<Promise<unknown>>();
  const tracked = <T>(work: Promise<T>) => {
    const settled: Promise<unknown> = work.then(
      () => running.delete(settled),
      () => running.delete(settled),
    );
    running.add(settled);
    return work;
  };
  return {
    async idle() {
      while (running.size) await Promise.all(running);
    },
    billUnpicked: () => billUnpicked(deps),
    reconcilePending: () => reconcilePending(deps),
    async reconcile() {
      const out = await reconcilePending(deps);
      await catchUpMissed(deps, out);
      return out;
    },
    addToRenewalInvoice: (invoiceId, answer) => {
      // The invoice and the delivery's own reads are read while the lease is taken (the lease's
      // commit and the reads overlap); used only when the lease was free at once (line-placing.ts).
      const early = readEarly(deps, invoiceId);
      early.catch(() => {}); // awaited when used; a lease never taken leaves it unused
      return tracked(
        withInvoiceLease(deps, invoiceId, (lease) =>
          // through the bridge's relay the panel is asked nothing after the answer: it waits for all
          placeOn(
            deps,
            invoiceId,
            'hook',
            undefined,
            lease,
            early,
            deps.panel.onlyDuringHooks ? undefined : answer,
          ),
        ),
      );
    },
  };
}
