import { loggedError } from '../adapters/rows.js';
import crypto from 'node:crypto';
import { isIsoDate, type IsoDate } from '../domain/calendar.js';
import { moneyToDecimalString } from '../domain/money.js';
import { reclamationDeadline } from '../domain/reclamation-deadline.js';
import { ModuleError } from '../domain/errors.js';
import { ratedChargeFromJson } from '../domain/usage-rating.js';
import { withLease, type HeldLease } from '../adapters/lock-store.js';
import type { PanelClient, PanelInvoice } from '../adapters/panel-api.js';
import type { StoredLine } from '../adapters/line-store.js';
import type { DeliveryReads, StoredCharge } from '../adapters/charge-store.js';
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

/**
 * What a delivery reads while its lease is being taken, used when the lease was free at once (no
 * other delivery of the invoice ran in between): the invoice, then its own reads (forDelivery).
 * Read before the lease, they may miss what a delivery that just let go wrote: a line is still
 * written only while its charge is unbilled and has none (insertPendingIfChargeUnbilled), so a
 * stale read places nothing twice. The client is not asked for here: most renewals have nothing
 * over, and the panel is asked about a client only when there is a line to write.
 */
export interface EarlyReads {
  invoice: PanelInvoice;
  read?: Promise<DeliveryReads>;
}

/** The services an invoice renews; those the module does not meter simply have no charges. */
const renewedServices = (invoice: PanelInvoice) => [
  ...new Set(invoice.items.filter((i) => i.type === 'Hosting' && i.relId > 0).map((i) => i.relId)),
];

export async function readEarly(deps: InvoiceLineDeps, invoiceId: number): Promise<EarlyReads> {
  const invoice = await deps.panel.getInvoice(invoiceId);
  const ids = renewedServices(invoice);
  if (!EDITABLE.has(invoice.status) || ids.length === 0) return { invoice };
  const read = deps.charges.forDelivery(invoiceId, ids);
  read.catch(() => {}); // awaited when used; a lease taken after a wait leaves it unused
  return { invoice, read };
}

/** The work under an invoice's lease: deliveries of the same invoice queue, one at a time. */
export function withInvoiceLease<T>(
  deps: InvoiceLineDeps,
  invoiceId: number,
  work: (lease: HeldLease) => Promise<T>,
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
        deps.log.warn('lines.lease_release_failed', { invoiceId, ...loggedError(err) }),
    },
    work,
  );
}

/**
 * Marks pending lines of the invoice placed when their item is on it; removes duplicates of one
 * reference. `pendingRows`: the invoice's pending lines when the caller, holding the invoice's
 * lease, has just read them (each update still checks that its line is pending). `finish`: the
 * delivery ends here, and is recorded finished in the commit of its last line (its lease, when
 * given, let go in that commit too); true when it was.
 */
export async function confirm(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  outcome: PlaceOutcome,
  pendingRows: StoredLine[] | undefined,
  via: PlacedVia,
  finish?: { by: 'hook' | 'reconcile'; lease?: HeldLease },
): Promise<boolean> {
  const pending = pendingRows ?? (await deps.lines.onInvoice(invoice.invoiceId, ['pending']));
  const duplicates: number[] = [];
  const found: Array<{ line: StoredLine; itemId: number }> = [];
  for (const line of pending) {
    const items = invoice.items
      .filter((i) => i.description.includes(refPattern(line.refCode)))
      .sort((a, b) => a.id - b.id);
    if (items.length === 0) continue;
    // Should two deliveries ever both have added the line, the later copies go.
    duplicates.push(...items.slice(1).map((i) => i.id));
    found.push({ line, itemId: items[0]!.id });
  }
  let recorded = false;
  for (const [i, { line, itemId }] of found.entries()) {
    // the last line's commit also records the delivery (not while duplicates are still to go)
    const last = finish !== undefined && i === found.length - 1 && duplicates.length === 0;
    const delivery = last ? { ...finish, added: outcome.added + 1 } : null;
    if (!(await markPlaced(deps, invoice.invoiceId, line, itemId, via, delivery))) continue;
    recorded ||= last;
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
  return recorded;
}

/**
 * A pending line found on its invoice: placed, its charge billed, audited, and with `delivery` the
 * delivery recorded finished, in one transaction; false when the line was no longer pending.
 */
async function markPlaced(
  deps: InvoiceLineDeps,
  invoiceId: number,
  line: StoredLine,
  invoiceItemId: number,
  via: PlacedVia,
  delivery: { by: 'hook' | 'reconcile'; added: number; lease?: HeldLease } | null,
): Promise<boolean> {
  const now = deps.clock.now();
  return deps.lines.transaction(async (trx) => {
    if (!(await deps.lines.placeAndBill(trx, line, invoiceItemId, now))) return false;
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
    if (delivery) await deps.lines.recordDelivery(invoiceId, delivery.by, delivery.added, now, trx);
    // the delivery's last write: its lease goes with this commit, not in one of its own
    if (delivery?.lease) await delivery.lease.releaseIn(trx);
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
): Promise<StoredLine | null> {
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
  return deps.lines.insertPendingIfChargeUnbilled({
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
  lease?: HeldLease,
  early?: Promise<EarlyReads>,
  answer?: () => void,
): Promise<PlaceOutcome> {
  const outcome = emptyPlaceOutcome(invoiceId);
  // The delivery is recorded finished whatever it placed: the reconciliation need not look at it
  // again. Most deliveries record it with the commit of their line.
  if (!(await placeLines(deps, invoiceId, { via, lease, early, answer }, outcome, periodEndBefore))) {
    answer?.(); // the invoice gets nothing (more): the rest is the module's own record
    await deps.lines.recordDelivery(invoiceId, via, outcome.added, deps.clock.now());
  }
  return outcome;
}

/** placeOn's work: true when the delivery was recorded finished with its last line. */
async function placeLines(
  deps: InvoiceLineDeps,
  invoiceId: number,
  finish: {
    via: 'hook' | 'reconcile';
    lease?: HeldLease | undefined;
    early?: Promise<EarlyReads> | undefined;
    answer?: (() => void) | undefined;
  },
  outcome: PlaceOutcome,
  periodEndBefore?: IsoDate,
): Promise<boolean> {
  const { via } = finish;
  // What was read while the lease was taken serves when the lease was free at once: no other
  // delivery of it ran in between. What another delivery may have left pending is checked
  // against the invoice read again (below).
  const usable = finish.early && finish.lease && !finish.lease.waited && periodEndBefore === undefined;
  const early = usable ? await finish.early : undefined;
  const invoice = early ? early.invoice : await deps.panel.getInvoice(invoiceId);
  if (!EDITABLE.has(invoice.status)) return false;
  const ids = renewedServices(invoice);
  if (ids.length === 0) return false;

  // What the delivery needs of its own is read in one statement: the services' unbilled charges,
  // the invoice's lines, and whether rating or a pool could add a charge (most deliveries find their
  // period rated and no pool, and then rate nothing). Lines a crashed delivery left pending on this
  // invoice are confirmed, not added again, beside the rating: the delivery waits for the slower.
  // A late reconciliation gives the invoice only what its delivery would have found.
  let rated = 0;
  // The client (currency, language) is asked for as soon as there is a charge to place, beside
  // what is still read or rated rather than after it.
  let client: Promise<PanelClient> | undefined;
  const clientRead = () => {
    client ??= deps.panel.getClientsDetails(invoice.userId);
    client.catch(() => {}); // awaited when the lines are written; never an unhandled rejection
    return client;
  };
  const read = await (early?.read ?? deps.charges.forDelivery(invoiceId, ids, periodEndBefore));
  if (read.charges.some((c) => !c.line)) clientRead();
  const rateFirst = async () => {
    // whether a pool month waits is read beside the rating; the pools are rated after it, as ever
    const [periods, poolsDue] = await allOrFirstError([
      read.unrated ? deps.rating.rateClosedPeriods({ serviceIds: ids }) : Promise.resolve({ rated: 0 }),
      read.pooled && deps.pools ? deps.pools.anyMonthDue({ serviceIds: ids }) : Promise.resolve(false),
    ] as const);
    rated += periods.rated;
    if (rated) clientRead();
    if (poolsDue && deps.pools) {
      // a month whose last day misses samples waits for DailyCronJob's collect (its charge goes
      // on a later invoice); rated now, it would be billed short of that day
      if (await (deps.daySampled?.() ?? true))
        rated += (await deps.pools.ratePools({ serviceIds: ids })).rated;
      else deps.log.info('lines.pool_month_waits', { invoiceId, via });
    }
    // what PreCronJob rates before the panel's invoices is rated here only when it could not
    if (rated) deps.log.info('lines.rated_on_delivery', { invoiceId, via, rated });
  };
  // The invoice's lines are read once: under the lease nothing else changes them, so what this
  // delivery places and writes is known without reading them again.
  const confirmFirst = async () => {
    const pending = read.lines.filter((l) => l.status === 'pending');
    if (pending.length) await confirm(deps, invoice, outcome, pending, via);
    const confirmed = new Set(outcome.placed?.map((p) => p.lineId));
    return { left: pending.filter((l) => !confirmed.has(l.id)), placed: read.lines.length - pending.length };
  };
  const [, lines] = await allOrFirstError([rateFirst(), confirmFirst()] as const);
  const before = read.charges;
  // what the rating wrote just now is read again (most deliveries find their periods rated)
  const charges = rated ? await deps.charges.unbilledOf(ids, periodEndBefore) : before;
  if (charges.length === 0) {
    await client?.catch(() => {}); // nothing left running under the lease
    return false;
  }
  const written = await writeLinesFor(deps, invoice, charges, outcome, clientRead);
  const pending = [...lines.left, ...written].sort((a, b) => a.id - b.id);
  // placed before this delivery: what its first confirm placed is not counted
  outcome.alreadyPlaced = lines.placed;
  // Lines an earlier delivery left pending may be on the invoice since the early read (that
  // delivery failed after adding them): the invoice is read again, so none is added twice.
  const current = early && lines.left.length ? await deps.panel.getInvoice(invoiceId) : invoice;
  return putPendingOn(deps, current, charges, outcome, finish, pending);
}

/** Each charge without a line gets one, pending on the invoice, unless it must not be billed here: the lines written. */
async function writeLinesFor(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  charges: StoredCharge[],
  outcome: PlaceOutcome,
  clientRead: () => Promise<PanelClient>,
): Promise<StoredLine[]> {
  const written: StoredLine[] = [];
  const { client, profileOf, overageOf } = await placingFacts(
    deps,
    charges.filter((c) => !c.line),
    clientRead,
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
    const line = await writePendingLine(deps, c, profile!, client.language, invoice.invoiceId, invoiceDate);
    if (line) written.push(line);
  }
  return written;
}

/**
 * What placing the lines needs, read side by side rather than one after the other: the client
 * (currency, language), each open charge's settings, each product's overage flag.
 */
async function placingFacts(
  deps: InvoiceLineDeps,
  open: StoredCharge[],
  clientRead: () => Promise<PanelClient>,
) {
  const productIds = [...new Set(open.map((c) => c.productId))];
  const [client, profiles, overages] = await allOrFirstError([
    clientRead(),
    // read with the charges, unless the delivery rated them just now (billing-settings-store.ts)
    Promise.all(
      open.map((c) =>
        c.settings
          ? deps.billing.fromStored(c.productId, c.settings)
          : deps.billing.forService(c.productId, c.serviceId, c.clientId),
      ),
    ),
    Promise.all(productIds.map((id) => deps.products!(id))),
  ] as const);
  return {
    client: client as PanelClient,
    profileOf: new Map(open.map((c, i) => [c.id, profiles[i]!])),
    overageOf: new Map(productIds.map((id, i) => [id, overages[i]])),
  };
}

/** Everything pending on this invoice (`pending`, oldest first) that is not on it yet goes on in one call; true when the delivery was recorded. */
async function putPendingOn(
  deps: InvoiceLineDeps,
  invoice: PanelInvoice,
  charges: StoredCharge[],
  outcome: PlaceOutcome,
  {
    via,
    lease,
    answer,
  }: { via: 'hook' | 'reconcile'; lease?: HeldLease | undefined; answer?: (() => void) | undefined },
  pending: StoredLine[],
): Promise<boolean> {
  const { invoiceId } = invoice;
  if (pending.length === 0) return false;
  const missing = pending.filter(
    (l) => !invoice.items.some((i) => i.description.includes(refPattern(l.refCode))),
  );
  if (missing.length) {
    const taxedByCharge = new Map(charges.map((c) => [c.id, c.taxed]));
    await deps.panel.updateInvoice({ invoiceId, newItems: itemsOf(missing, taxedByCharge) });
  }
  // The invoice holds every line now: the panel may go on (totals, its email) while the lines are
  // recorded placed. They are pending until then, which a crash leaves to reconcilePending.
  answer?.();
  const recorded = await confirm(deps, await deps.panel.getInvoice(invoiceId), outcome, pending, via, {
    by: via,
    ...(lease ? { lease } : {}),
  });
  if (outcome.added) deps.log.info('lines.added', { invoiceId, added: outcome.added });
  return recorded;
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
  deps: InvoiceLineDeps,
  productId: number,
  profile: BillingProfile,
): Promise<string | null> {
  return doubleBillingRefusal(await deps.products!(productId), productId, profile);
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
