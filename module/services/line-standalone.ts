import { addDays, type IsoDate } from '../domain/calendar.js';
import { withLease } from '../adapters/lock-store.js';
import { whyUnreadable, type SetAside } from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { StoredCharge } from '../adapters/charge-store.js';
import type { InvoiceLineDeps } from './invoice-lines.js';
import {
  confirm,
  doubleBilling,
  emptyPlaceOutcome,
  itemsOf,
  refPattern,
  writePendingLine,
} from './line-placing.js';

/**
 * Charges no renewal picks up (annual cycles, cancelled services): after the product's number of
 * days, on an invoice of their own, one per client and currency.
 */

export async function billUnpicked(deps: InvoiceLineDeps): Promise<{ invoices: number; lines: number }> {
  const today = deps.clock.now().setZone(deps.zone).toISODate()!;
  let invoices = 0;
  let placed = 0;
  for (const [key, charges] of await dueByClient(deps, today)) {
    const clientId = Number(key.split('|')[0]);
    const out = await withLease(
      deps.locks,
      `standalone:client:${clientId}`,
      {
        ttlMs: 120_000,
        waitMs: 0,
        busy: (heldBy) =>
          new Error(`standalone:client:${clientId} is being handled by another run (${heldBy})`),
      },
      () => billStandaloneFor(deps, clientId, charges, today),
    ).catch((err: unknown) => {
      // one of the client's own lines waiting for this invoice cannot be read (read before the
      // panel is asked for an invoice): this client is named and left as it stands, not the others
      if (storedColumnOf(err) === null) throw err;
      const lineId = (err as { details?: { lineId?: unknown } }).details?.lineId;
      const why = whyUnreadable(err);
      deps.log.warn('lines.row_unreadable', {
        table: why.column?.split('.')[0],
        id: typeof lineId === 'number' ? lineId : null,
        clientId,
        ...why,
      });
      return { invoices: 0, lines: 0 };
    });
    invoices += out.invoices;
    placed += out.lines;
  }
  return { invoices, lines: placed };
}

/**
 * Unbilled charges due on an invoice of their own today, by client and currency. A client one of
 * whose charges cannot be read (a column changed by hand) is left out whole and named to the
 * operator: what their invoice would hold is not known. The other clients are billed; theirs once
 * the row is corrected.
 */
async function dueByClient(deps: InvoiceLineDeps, today: IsoDate): Promise<Map<string, StoredCharge[]>> {
  const setAside: SetAside = (table, u) =>
    deps.log.warn('lines.row_unreadable', { table, id: u.id, ...u.unreadable });
  const profileFor = await deps.billing.snapshot(undefined, { setAside });
  const unbilled = await deps.charges.unbilledForStandalone(setAside);
  // a client with a charge, or billing settings, that cannot be read is left out whole
  const notKnown = new Set(unbilled.unreadable?.keys());
  const due = unbilled.filter((c) => {
    if (notKnown.has(c.clientId)) return false;
    let p;
    try {
      p = profileFor(c.productId, c.serviceId, c.clientId);
    } catch (err) {
      if (storedColumnOf(err) === null) throw err;
      notKnown.add(c.clientId);
      return false;
    }
    return p && p.unpicked.policy === 'standalone' && addDays(c.periodEnd, p.unpicked.afterDays) <= today;
  });
  const groups = new Map<string, StoredCharge[]>();
  for (const c of due) {
    if (notKnown.has(c.clientId)) continue;
    const key = `${c.clientId}|${c.currency}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return groups;
}

/**
 * One standalone invoice for a client's unpicked charges. The lines are written as pending with
 * invoice 0 first; their reference codes let a retry find an invoice that was created but not
 * recorded, so a crash never gives the client a second invoice.
 */
async function billStandaloneFor(
  deps: InvoiceLineDeps,
  clientId: number,
  charges: StoredCharge[],
  today: IsoDate,
): Promise<{ invoices: number; lines: number }> {
  const adopted = await adoptCreated(deps, clientId);
  if (adopted !== null) return { invoices: 0, lines: adopted };
  const client = await deps.panel.getClientsDetails(clientId);
  for (const c of charges) {
    if (c.line) continue;
    const profile = await deps.billing.forService(c.productId, c.serviceId, clientId);
    if (!profile || c.currency !== client.currencyCode) continue;
    const refusal = await doubleBilling(deps, c.productId, profile);
    if (refusal) continue;
    await writePendingLine(deps, c, profile, client.language, 0, today);
  }
  const lines = await deps.lines.awaitingStandalone(clientId);
  if (lines.length === 0) return { invoices: 0, lines: 0 };
  const taxed = new Map(charges.map((c) => [c.id, c.taxed]));
  const created = await deps.panel.createInvoice({
    userId: clientId,
    date: today,
    dueDate: addDays(today, 14),
    sendInvoice: true,
    items: itemsOf(lines, taxed),
  });
  await deps.lines.moveToInvoice(
    lines.map((l) => l.id),
    created.invoiceId,
  );
  const outcome = emptyPlaceOutcome(created.invoiceId);
  await confirm(deps, await deps.panel.getInvoice(created.invoiceId), outcome, undefined, 'standalone');
  deps.log.info('lines.standalone_invoice', { clientId, invoiceId: created.invoiceId, lines: outcome.added });
  return { invoices: 1, lines: outcome.added };
}

/**
 * Lines left pending on invoice 0 by a run that died after the panel created their invoice: found
 * on it by their reference codes, recorded on it and confirmed. null when there is no such invoice.
 */
async function adoptCreated(deps: InvoiceLineDeps, clientId: number): Promise<number | null> {
  const waiting = await deps.lines.awaitingStandalone(clientId);
  if (waiting.length === 0) return null;
  const { invoices } = await deps.panel.getInvoices({
    userId: clientId,
    limitNum: 25,
    orderBy: 'id',
    order: 'desc',
  });
  for (const s of invoices) {
    const inv = await deps.panel.getInvoice(s.id);
    const refs = waiting.filter((l) => inv.items.some((i) => i.description.includes(refPattern(l.refCode))));
    if (refs.length === 0) continue;
    await deps.lines.moveToInvoice(
      refs.map((l) => l.id),
      inv.invoiceId,
    );
    const outcome = emptyPlaceOutcome(inv.invoiceId);
    await confirm(deps, inv, outcome, undefined, 'standalone');
    return outcome.added;
  }
  return null;
}
