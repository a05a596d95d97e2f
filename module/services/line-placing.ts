import crypto from 'node:crypto';
import { isIsoDate, type IsoDate } from '../domain/calendar.js';
import { moneyToDecimalString } from '../domain/money.js';
import { reclamationDeadline } from '../domain/reclamation-deadline.js';
import { ModuleError } from '../domain/errors.js';
import { ratedChargeFromJson } from '../domain/usage-rating.js';
import { withLease } from '../adapters/lock-store.js';
import type { PanelApi, PanelClient, PanelInvoice } from '../adapters/panel-api.js';
import type { StoredLine } from '../adapters/line-store.js';
import type { StoredCharge } from '../adapters/charge-store.js';
import type { BillingProfile } from './billing-settings.js';
import type { InvoiceLineDeps, PlaceOutcome } from './invoice-lines.js';

/**
 * Placing one invoice's overusage lines (the InvoiceCreation delivery, and a reconciliation that
 * finishes one): each line is written pending, then added to the invoice, then confirmed placed
 * when its reference code is found on the invoice.
 */

export const EDITABLE = new Set(['Draft', 'Unpaid']);

/** What placed a line, as its audit says: the InvoiceCreation hook, a reconciliation, or the job that made a standalone invoice. */
export type PlacedVia = 'hook' | 'reconcile' | 'standalone';

export const refPattern = (ref: string) => `[${ref}]`;
const newRef = () => `OU-${crypto.randomBytes(5).toString('hex').toUpperCase()}`;

export const emptyPlaceOutcome = (invoiceId: number): PlaceOutcome => ({
  invoiceId,
  added: 0,
  alreadyPlaced: 0,
  skipped: [],
});

/** The work under an invoice's lease: deliveries of the same invoice queue, one at a time. */
export function withInvoiceLease<T>(
  deps: InvoiceLineDeps,
  invoiceId: number,
  work: () => Promise<T>,
  wait = deps.waitMs ?? 20_000,
): Promise<T> {
  return withLease(
    deps.locks,
    `invoice:${invoiceId}`,
    {
      ttlMs: 60_000,
      waitMs: wait,
      busy: (heldBy) =>
        new ModuleError(
          'LOCKED',
          `invoice ${invoiceId} is being handled by another delivery (${heldBy}); try again`,
        ),
      // The panel need not wait for the lease to go: the answer is final once the work is done.
      releaseInBackground: (err) =>
        deps.log.warn('lines.lease_release_failed', { invoiceId, error: err.message }),
    },
    work,
  );
}

/**
 * Marks pending lines of the invoice placed when their item is on it; removes duplicates of one
 * reference. `pendingRows`: the invoice's pending lines when the caller, holding the invoice's
 * lease, has just read them (each update still checks that its line is pending).
 */
export async function confirm(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  outcome: PlaceOutcome,
  pendingRows: StoredLine[] | undefined,
  via: PlacedVia,
): Promise<void> {
  const pending = pendingRows ?? (await deps.lines.onInvoice(invoice.invoiceId, ['pending']));
  const duplicates: number[] = [];
  for (const line of pending) {
    const items = invoice.items
      .filter((i) => i.description.includes(refPattern(line.refCode)))
      .sort((a, b) => a.id - b.id);
    if (items.length === 0) continue;
    // Should two deliveries ever both have added the line, the later copies go.
    duplicates.push(...items.slice(1).map((i) => i.id));
    if (!(await markPlaced(deps, invoice.invoiceId, line, items[0]!.id, via))) continue;
    outcome.added++;
    (outcome.placed ??= []).push({
      lineId: line.id,
      chargeId: line.chargeId,
      refCode: line.refCode,
      amountMinor: line.amountMinor,
      currency: line.currency,
    });
  }
  if (duplicates.length) {
    await deps.panel.updateInvoice({ invoiceId: invoice.invoiceId, deleteLineIds: duplicates });
    deps.log.warn('lines.duplicates_removed', { invoiceId: invoice.invoiceId, items: duplicates });
  }
}

/** A pending line found on its invoice: placed, its charge billed, audited; false when it was no longer pending. */
async function markPlaced(
  deps: InvoiceLineDeps,
  invoiceId: number,
  line: StoredLine,
  invoiceItemId: number,
  via: PlacedVia,
): Promise<boolean> {
  const now = deps.clock.now();
  return deps.lines.transaction(async (trx) => {
    if (!(await deps.lines.markPlaced(trx, line.id, invoiceItemId, now))) return false;
    await deps.charges.markBilled(trx, line.chargeId, now);
    await deps.audit.record(
      trx,
      {
        actor: { type: 'system', id: null },
        action: 'line.placed',
        entityType: 'line',
        entityId: line.id,
        details: {
          invoiceId,
          invoiceItemId,
          chargeId: line.chargeId,
          amountMinor: String(line.amountMinor),
          currency: line.currency,
          deadline: line.deadlineLastDay,
          via,
        },
      },
      now,
    );
    return true;
  });
}

/** The texts a charge's stored explanation gives its line. */
async function lineInputs(deps: InvoiceLineDeps, c: StoredCharge) {
  const explained = JSON.parse(c.explanation) as {
    rated: Record<string, unknown>;
    correction?: { billedMinor: string };
    upgradeCredit?: { percent: number; creditedMinor: string };
    poolPart?: { pool: string; overBytes: string; amountMinor: string };
  };
  const rated = ratedChargeFromJson(explained.rated);
  const correction = explained.correction ? { billedMinor: BigInt(explained.correction.billedMinor) } : null;
  const upgradeCredit = explained.upgradeCredit
    ? {
        percent: explained.upgradeCredit.percent,
        creditedMinor: BigInt(explained.upgradeCredit.creditedMinor),
      }
    : null;
  // a VPS's part of a pool may sit on another member's invoice: its line names the VPS
  const domain = explained.poolPart
    ? (await deps.panel.getClientsProducts({ serviceId: c.serviceId })).products[0]?.domain ||
      `#${c.serviceId}`
    : '';
  const poolPart = explained.poolPart
    ? {
        pool: explained.poolPart.pool,
        domain,
        overBytes: BigInt(explained.poolPart.overBytes),
        amountMinor: BigInt(explained.poolPart.amountMinor),
      }
    : null;
  return { rated, correction, upgradeCredit, poolPart };
}

/**
 * The line a charge becomes, written as pending before the panel is asked to add it: its text in
 * the client's language, the reclamation deadline from the invoice date (kept with the line), and
 * the reference code that finds it on the invoice again. The unique charge_id makes a second
 * line for the same charge impossible.
 */
export async function writePendingLine(
  deps: InvoiceLineDeps,
  c: StoredCharge,
  profile: BillingProfile,
  language: string,
  invoiceId: number,
  invoiceDate: IsoDate,
): Promise<void> {
  const deadline = reclamationDeadline(invoiceDate, profile.window, deps.zone);
  const refCode = newRef();
  const { text, locale } = deps.describe(
    {
      ...(await lineInputs(deps, c)),
      periodStart: c.periodStart,
      periodEnd: c.periodEnd,
      deadlineLastDay: deadline.lastDay,
      refCode,
    },
    language,
  );
  // Written only while the charge is still unbilled at the amount read: a period rated again
  // meanwhile (an admin's decision) has replaced or voided it, and then the line is not written
  // (the charge waits for the next invoice).
  await deps.lines.insertPendingIfChargeUnbilled({
    chargeId: c.id,
    serviceId: c.serviceId,
    clientId: c.clientId,
    invoiceId,
    refCode,
    amountMinor: c.amountMinor,
    currency: c.currency,
    description: text,
    locale,
    invoiceDate,
    window: profile.window,
    deadlineLastDay: deadline.lastDay,
    deadlineClosesAt: deadline.closesAt,
    createdAt: deps.clock.now(),
  });
}

/** The invoice items of lines, as the panel adds them (taxed as their charge says; taxed when unknown). */
export function itemsOf(lines: StoredLine[], taxed: Map<number, boolean>) {
  return lines.map((l) => ({
    description: l.description,
    amount: moneyToDecimalString({ amountMinor: l.amountMinor, currency: l.currency }),
    taxed: taxed.get(l.chargeId) ?? true,
  }));
}

/**
 * The lines an invoice gets for the services it renews: one per unbilled charge (pending first,
 * then on the invoice, then placed). `periodEndBefore`: only periods that ended before this day
 * (a reconciliation after the fact gives what the delivery at the time would have given).
 * The caller holds the invoice's lease.
 */
export async function placeOn(
  deps: InvoiceLineDeps,
  invoiceId: number,
  via: 'hook' | 'reconcile',
  periodEndBefore?: IsoDate,
): Promise<PlaceOutcome> {
  const outcome = emptyPlaceOutcome(invoiceId);
  const invoice = await deps.panel.getInvoice(invoiceId);
  if (!EDITABLE.has(invoice.status)) return outcome;
  // The services the invoice renews; those the module does not meter simply have no charges.
  const ids = [
    ...new Set(invoice.items.filter((i) => i.type === 'Hosting' && i.relId > 0).map((i) => i.relId)),
  ];
  if (ids.length === 0) return outcome;

  // Lines a crashed delivery left pending on this invoice are confirmed, not added again.
  // Neither step touches what the other reads (new charges vs. this invoice's pending
  // lines), so they run side by side: the delivery waits for the slower one, not for both.
  const rateFirst = async () => {
    await deps.rating.rateClosedPeriods({ serviceIds: ids });
    if (deps.pools) await deps.pools.ratePools();
  };
  await settleBoth(rateFirst(), confirm(deps, invoice, outcome, undefined, via));

  // a late reconciliation gives the invoice only what its delivery would have found
  const charges = await deps.charges.unbilledOf(ids, periodEndBefore);
  if (charges.length === 0) return outcome;
  await writeLinesFor(deps, invoice, charges, outcome);
  return putPendingOn(deps, invoice, charges, outcome, via);
}

/** Each charge without a line gets one, pending on the invoice, unless it must not be billed here. */
async function writeLinesFor(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  charges: StoredCharge[],
  outcome: PlaceOutcome,
): Promise<void> {
  const { client, profileOf, overageOf } = await placingFacts(
    deps,
    invoice,
    charges.filter((c) => !c.line),
  );
  const invoiceDate =
    invoice.date && isIsoDate(invoice.date.slice(0, 10))
      ? invoice.date.slice(0, 10)
      : deps.clock.now().setZone(deps.zone).toISODate()!;
  for (const c of charges) {
    const chargeId = c.id;
    if (c.line) {
      // placed elsewhere already, or pending on another invoice: that invoice's delivery owns it
      if (c.line.invoiceId !== invoice.invoiceId)
        outcome.skipped.push({ chargeId, reason: `already on invoice ${c.line.invoiceId}` });
      continue;
    }
    if (c.currency !== client.currencyCode) {
      outcome.skipped.push({
        chargeId,
        reason: `the charge is in ${c.currency} but the client pays in ${client.currencyCode}`,
      });
      continue;
    }
    const profile = profileOf.get(chargeId)!;
    const refusal = profile
      ? doubleBillingRefusal(overageOf.get(c.productId), c.productId, profile)
      : 'the product is no longer billed for overusage';
    if (refusal) {
      outcome.skipped.push({ chargeId, reason: refusal });
      await deps.panel
        .logActivity(
          `Overusage: charge ${chargeId} of service ${c.serviceId} not billed: ${refusal}`,
          invoice.userId,
        )
        .catch(() => {});
      continue;
    }
    await writePendingLine(deps, c, profile!, client.language, invoice.invoiceId, invoiceDate);
  }
}

/**
 * What placing the lines needs, read side by side rather than one after the other: the client
 * (currency, language), each open charge's settings, each product's overage flag.
 */
async function placingFacts(deps: InvoiceLineDeps, invoice: PanelInvoice, open: StoredCharge[]) {
  const productIds = [...new Set(open.map((c) => c.productId))];
  const [client, profiles, overages] = await allOrFirstError([
    deps.panel.getClientsDetails(invoice.userId),
    Promise.all(open.map((c) => deps.billing.forService(c.productId, c.serviceId, c.clientId))),
    Promise.all(productIds.map((id) => productOverage(deps.panel, id))),
  ] as const);
  return {
    client: client as PanelClient,
    profileOf: new Map(open.map((c, i) => [c.id, profiles[i]!])),
    overageOf: new Map(productIds.map((id, i) => [id, overages[i]])),
  };
}

/**
 * Everything pending on this invoice that is not on it yet goes on in one call. The placed ones
 * are read in the same query: under the lease, nothing else changes them.
 */
async function putPendingOn(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  charges: StoredCharge[],
  outcome: PlaceOutcome,
  via: 'hook' | 'reconcile',
): Promise<PlaceOutcome> {
  const { invoiceId } = invoice;
  const current = await deps.lines.onInvoice(invoiceId, ['pending', 'placed']);
  const pending = current.filter((l) => l.status === 'pending');
  const placedBefore = current.length - pending.length;
  const confirmedBefore = outcome.added;
  const missing = pending.filter(
    (l) => !invoice.items.some((i) => i.description.includes(refPattern(l.refCode))),
  );
  if (missing.length) {
    const taxedByCharge = new Map(charges.map((c) => [c.id, c.taxed]));
    await deps.panel.updateInvoice({ invoiceId, newItems: itemsOf(missing, taxedByCharge) });
  }
  await confirm(deps, await deps.panel.getInvoice(invoiceId), outcome, pending, via);
  // placed before this delivery: what was placed when read, less what its first confirm placed
  outcome.alreadyPlaced = placedBefore - confirmedBefore;
  if (outcome.added) deps.log.info('lines.added', { invoiceId, added: outcome.added });
  return outcome;
}

/** The delivery of an invoice finished (whatever it placed): the reconciliation need not look at it again. */
export async function finished(
  deps: InvoiceLineDeps,
  invoiceId: number,
  via: 'hook' | 'reconcile',
  outcome: PlaceOutcome,
): Promise<PlaceOutcome> {
  await deps.lines.recordDelivery(invoiceId, via, outcome.added, deps.clock.now());
  return outcome;
}

/** Waits for both, then fails with the first failure: nothing is left running under the lease. */
async function settleBoth(a: Promise<unknown>, b: Promise<unknown>): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}

/** Waits for all, then fails with the first failure (in order): nothing is left running under the lease. */
async function allOrFirstError<T extends readonly unknown[]>(work: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A product whose panel overage billing is on would bill the same traffic twice. */
export async function doubleBilling(
  panel: PanelApi,
  productId: number,
  profile: BillingProfile,
): Promise<string | null> {
  return doubleBillingRefusal(await productOverage(panel, productId), productId, profile);
}

/** The product as the panel's GetProducts lists it; undefined when it cannot say. */
async function productOverage(
  panel: PanelApi,
  productId: number,
): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await panel.call('GetProducts', { pid: productId });
    const list = (res.products as { product?: unknown } | undefined)?.product;
    return Array.isArray(list) ? (list[0] as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function doubleBillingRefusal(
  answer: Record<string, unknown> | undefined,
  productId: number,
  profile: BillingProfile,
): string | null {
  if (answer && 'overagesenabled' in answer) {
    const on = String(answer.overagesenabled ?? '').trim();
    if (on !== '' && on !== '0')
      return `the panel's own overage billing is enabled on product ${productId}; switch it off there, or this traffic would be billed twice`;
    return null;
  }
  // The panel cannot tell (WHMCS's GetProducts does not list it): the admin must have confirmed.
  return profile.panelOverageOff
    ? null
    : `product ${productId}: confirm in the settings that the panel's own overage billing is off for it (the panel cannot tell)`;
}
