import type { IsoDate } from '../domain/calendar.js';
import { moneyToDecimalString } from '../domain/money.js';
import { ModuleError } from '../domain/errors.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { PanelInvoice } from '../adapters/panel-api.js';
import type { StoredLine } from '../adapters/line-store.js';
import { whyUnreadable } from '../adapters/rows.js';
import type { InvoiceLineDeps, ReconcileOutcome } from './invoice-lines.js';
import { confirm, EDITABLE, emptyPlaceOutcome, itemsOf, placeOn, withInvoiceLease } from './line-placing.js';

/**
 * Finishing what InvoiceCreation deliveries left undone: pending lines confirmed, put on their
 * unpaid invoice or released once it was paid first, and invoices whose delivery never finished.
 */

export const emptyReconcileOutcome = (): ReconcileOutcome => ({
  confirmed: 0,
  placed: 0,
  released: [],
  recovered: [],
  busy: [],
  unreadable: [],
});
const money = (l: { amountMinor: bigint; currency: string }) =>
  `${moneyToDecimalString({ amountMinor: l.amountMinor, currency: l.currency })} ${l.currency}`;
const isBusy = (err: unknown) => err instanceof ModuleError && err.code === 'LOCKED';

/** Pending lines on invoices (never the standalone ones still being created: invoice 0). */
export async function reconcilePending(deps: InvoiceLineDeps): Promise<ReconcileOutcome> {
  const out = emptyReconcileOutcome();
  for (const invoiceId of await deps.lines.invoicesWithPending()) {
    // A delivery still at work holds the invoice's lease; one that died has left it to expire
    // (or to be taken over at once on its own host).
    await withInvoiceLease(deps, invoiceId, () => finishPending(deps, invoiceId, out), 0).catch(
      (err: unknown) => {
        if (isBusy(err)) out.busy.push(invoiceId);
        else if (!setAside(deps, invoiceId, err, out)) throw err;
      },
    );
  }
  return out;
}

/**
 * A line of the invoice cannot be read (refused before anything is written: its lines are read
 * first): the invoice is left as it is, its pending lines pending, told each run (the log, the
 * outcome), and the reconciliation goes on with the other invoices instead of stopping for all.
 */
function setAside(deps: InvoiceLineDeps, invoiceId: number, err: unknown, out: ReconcileOutcome): boolean {
  const column = storedColumnOf(err);
  if (column === null) return false;
  const lineId = (err as ModuleError).details?.lineId;
  const row = { invoiceId, lineId: typeof lineId === 'number' ? lineId : null, column };
  out.unreadable.push(row);
  deps.log.warn('lines.row_unreadable', {
    table: column.split('.')[0],
    id: row.lineId,
    invoiceId,
    ...whyUnreadable(err),
  });
  return true;
}

async function finishPending(deps: InvoiceLineDeps, invoiceId: number, out: ReconcileOutcome): Promise<void> {
  const invoice = await deps.panel.getInvoice(invoiceId);
  const found = emptyPlaceOutcome(invoiceId);
  await confirm(deps, invoice, found, undefined, 'reconcile');
  out.confirmed += found.added;
  const left = await deps.lines.onInvoice(invoiceId, ['pending']);
  if (left.length === 0) return;
  // Still unpaid: the line goes on, as the delivery meant it to.
  if (EDITABLE.has(invoice.status)) return putLeftOn(deps, invoiceId, left, out);
  // Paid or cancelled before the line got on: the client's invoice is not changed after the
  // fact; the charge waits for the next invoice, and the admin is told (activity log, tab).
  for (const l of left) await release(deps, invoice, l, out);
}

async function putLeftOn(
  deps: InvoiceLineDeps,
  invoiceId: number,
  left: StoredLine[],
  out: ReconcileOutcome,
): Promise<void> {
  const taxed = await deps.charges.taxedOf(left.map((l) => l.chargeId));
  await deps.panel.updateInvoice({ invoiceId, newItems: itemsOf(left, taxed) });
  const invoice = await deps.panel.getInvoice(invoiceId);
  const placed = emptyPlaceOutcome(invoiceId);
  await confirm(deps, invoice, placed, left, 'reconcile');
  out.placed += placed.added;
  for (const l of placed.placed ?? []) {
    await deps.panel
      .logActivity(
        `Overusage: line ${l.refCode} (${money(l)}) added to invoice ${invoiceId} by the reconciliation; the delivery that began it had stopped before the line was on the invoice`,
        invoice.userId,
      )
      .catch(() => {});
  }
  deps.log.info('lines.reconciled', { invoiceId, placed: placed.added });
}

/** A pending line whose invoice was paid or cancelled first: deleted (audited), its charge left unbilled. */
async function release(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  l: StoredLine,
  out: ReconcileOutcome,
): Promise<void> {
  const { invoiceId } = invoice;
  const now = deps.clock.now();
  const gone = await deps.lines.transaction(async (trx) => {
    if (!(await deps.lines.deletePending(trx, l.id))) return false;
    await deps.audit.record(
      trx,
      {
        actor: { type: 'system', id: null },
        action: 'line.released',
        entityType: 'charge',
        entityId: l.chargeId,
        details: {
          invoiceId,
          invoiceStatus: invoice.status,
          refCode: l.refCode,
          amountMinor: String(l.amountMinor),
          currency: l.currency,
          reason: `invoice ${invoiceId} was ${invoice.status.toLowerCase()} before the line could be added; the charge waits for the next invoice`,
        },
      },
      now,
    );
    return true;
  });
  if (!gone) return;
  out.released.push({ chargeId: l.chargeId, invoiceId, invoiceStatus: invoice.status });
  await deps.panel
    .logActivity(
      `Overusage: line ${l.refCode} (${money(l)}) could not be added to invoice ${invoiceId}: the invoice was ${invoice.status.toLowerCase()} first; charge ${l.chargeId} waits for the next invoice`,
      invoice.userId,
    )
    .catch(() => {});
  deps.log.warn('lines.released', { invoiceId, chargeId: l.chargeId, invoiceStatus: invoice.status });
}

/**
 * Per client with an unbilled charge that has no line: each service's earliest period end. A client
 * one of whose waiting charges cannot be read (a column changed by hand) is left out, named to the
 * operator: which of their invoices miss a line is not known, and placing reads the charges again.
 * The other clients' missed renewals are recovered; theirs once the row is corrected.
 */
async function waitingByClient(deps: InvoiceLineDeps): Promise<Map<number, Map<number, IsoDate>>> {
  const byClient = new Map<number, Map<number, IsoDate>>();
  const waiting = await deps.charges.waitingWithoutLine((table, u) =>
    deps.log.warn('lines.row_unreadable', { table, id: u.id, ...u.unreadable }),
  );
  for (const c of waiting) {
    if (waiting.unreadable?.has(c.clientId)) continue;
    const services = byClient.get(c.clientId) ?? new Map<number, IsoDate>();
    if (!services.has(c.serviceId) || c.periodEnd < services.get(c.serviceId)!)
      services.set(c.serviceId, c.periodEnd);
    byClient.set(c.clientId, services);
  }
  return byClient;
}

/**
 * Renewal invoices whose InvoiceCreation delivery never finished (the process died before even
 * its first write): per client with an unbilled charge that has no line, its unpaid invoices
 * dated after the charge's period, renewing the charge's service, get what the delivery would
 * have given them. Finished deliveries are recorded, so each invoice is looked at once.
 */
export async function catchUpMissed(deps: InvoiceLineDeps, out: ReconcileOutcome): Promise<void> {
  for (const [clientId, services] of await waitingByClient(deps)) {
    const earliest = [...services.values()].sort()[0]!;
    const { invoices } = await deps.panel.getInvoices({
      userId: clientId,
      limitNum: 25,
      orderBy: 'id',
      order: 'desc',
    });
    const open = invoices
      .filter((i) => EDITABLE.has(i.status) && i.date !== null && i.date.slice(0, 10) > earliest)
      .sort((a, b) => a.id - b.id);
    if (open.length === 0) continue;
    const known = await deps.lines.deliveredOf(open.map((i) => i.id));
    for (const summary of open) {
      if (known.has(summary.id)) continue;
      const date = summary.date!.slice(0, 10);
      const invoice = await deps.panel.getInvoice(summary.id);
      const renews = invoice.items.some(
        (i) => i.type === 'Hosting' && services.has(i.relId) && services.get(i.relId)! < date,
      );
      if (renews) await recover(deps, clientId, summary.id, date, out);
    }
  }
}

/** Gives a missed invoice its lines now, as its delivery would have (or leaves it to a delivery at work). */
async function recover(
  deps: InvoiceLineDeps,
  clientId: number,
  invoiceId: number,
  date: IsoDate,
  out: ReconcileOutcome,
): Promise<void> {
  try {
    const placed = await withInvoiceLease(
      deps,
      invoiceId,
      (lease) => placeOn(deps, invoiceId, 'reconcile', date, lease),
      0,
    );
    out.recovered.push({ invoiceId, added: placed.added });
    for (const l of placed.placed ?? []) {
      await deps.panel
        .logActivity(
          `Overusage: line ${l.refCode} (${money(l)}) added to invoice ${invoiceId} by the reconciliation; the invoice's InvoiceCreation delivery had not finished`,
          clientId,
        )
        .catch(() => {});
    }
    deps.log.info('lines.recovered', { invoiceId, added: placed.added });
  } catch (err) {
    if (!isBusy(err)) throw err;
    out.busy.push(invoiceId);
  }
}
