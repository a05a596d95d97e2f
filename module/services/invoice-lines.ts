import { retryTransaction } from '../adapters/sql-helpers.js';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { addDays, isIsoDate, type IsoDate } from '../domain/calendar.js';
import { moneyToDecimalString } from '../domain/money.js';
import { reclamationDeadline } from '../domain/reclamation-deadline.js';
import { ModuleError } from '../domain/errors.js';
import { ratedChargeFromJson, type RatedCharge } from '../domain/usage-rating.js';
import { withLease, type LockStore } from '../adapters/lock-store.js';
import type { AuditLog } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi, PanelInvoice } from '../adapters/panel-api.js';
import { sqlInstant, toBig, toBool, toNum } from '../adapters/rows.js';
import { engineOf } from '../adapters/database.js';
import type { BillingProfile, BillingSettingsService } from './billing-settings.js';
import type { RatingService } from './rating.js';

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
}

export interface InvoiceLineService {
  /** the InvoiceCreation hook: one line per unbilled charge of every service the invoice renews */
  addToRenewalInvoice(invoiceId: number): Promise<PlaceOutcome>;
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
  knex: Knex;
  clock: Clock;
  zone: string;
  panel: PanelApi;
  billing: BillingSettingsService;
  rating: RatingService;
  /** transfer pools: months that ended are rated before a renewal invoice gets its lines */
  pools?: { ratePools(): Promise<unknown> };
  locks: LockStore;
  audit: AuditLog;
  log: Logger;
  describe: DescribeLine;
  /** how long a delivery waits for another delivery of the same invoice */
  waitMs?: number;
}

const LINES = 'mod_overusage_lines';
const CHARGES = 'mod_overusage_charges';
const DELIVERIES = 'mod_overusage_deliveries';
const EDITABLE = new Set(['Draft', 'Unpaid']);

export const refPattern = (ref: string) => `[${ref}]`;
const newRef = () => `OU-${crypto.randomBytes(5).toString('hex').toUpperCase()}`;

export function createInvoiceLineService(deps: InvoiceLineDeps): InvoiceLineService {
  const { knex } = deps;
  const waitMs = deps.waitMs ?? 20_000;

  const withInvoiceLease = <T>(invoiceId: number, work: () => Promise<T>, wait = waitMs): Promise<T> =>
    withLease(
      deps.locks,
      `invoice:${invoiceId}`,
      {
        ttlMs: 60_000,
        waitMs: wait,
        busy: (heldBy) => new ModuleError('LOCKED', `invoice ${invoiceId} is being handled by another delivery (${heldBy}); try again`),
        // The panel need not wait for the lease to go: the answer is final once the work is done.
        releaseInBackground: (err) => deps.log.warn('lines.lease_release_failed', { invoiceId, error: err.message }),
      },
      work,
    );

  /**
   * Marks pending lines of the invoice placed when their item is on it; removes duplicates of one
   * reference. `pendingRows`: the invoice's pending lines when the caller, holding the invoice's
   * lease, has just read them (each update still checks that its line is pending).
   */
  async function confirm(invoice: PanelInvoice, outcome: PlaceOutcome, pendingRows?: Record<string, unknown>[], via: 'hook' | 'reconcile' = 'hook'): Promise<void> {
    const pending = pendingRows ?? (await knex(LINES).where({ invoice_id: invoice.invoiceId, status: 'pending' }));
    const duplicates: number[] = [];
    for (const line of pending) {
      const items = invoice.items.filter((i) => i.description.includes(refPattern(String(line.ref_code)))).sort((a, b) => a.id - b.id);
      if (items.length === 0) continue;
      // Should two deliveries ever both have added the line, the later copies go.
      duplicates.push(...items.slice(1).map((i) => i.id));
      const now = deps.clock.now();
      const done = await retryTransaction(knex, async (trx) => {
        const n = await trx(LINES).where({ id: line.id, status: 'pending' }).update({ status: 'placed', invoice_item_id: items[0]!.id, placed_at: sqlInstant(now) });
        if (n !== 1) return false;
        await trx(CHARGES).where({ id: line.charge_id }).update({ status: 'billed', billed_at: sqlInstant(now) });
        await deps.audit.record(
          trx,
          {
            actor: { type: 'system', id: null },
            action: 'line.placed',
            entityType: 'line',
            entityId: toNum(line.id),
            details: { invoiceId: invoice.invoiceId, invoiceItemId: items[0]!.id, chargeId: toNum(line.charge_id), amountMinor: String(line.amount_minor), currency: line.currency, deadline: line.deadline_last_day, via },
          },
          now,
        );
        return true;
      });
      if (!done) continue;
      outcome.added++;
      (outcome.placed ??= []).push({ lineId: toNum(line.id), chargeId: toNum(line.charge_id), refCode: String(line.ref_code), amountMinor: toBig(line.amount_minor), currency: String(line.currency) });
    }
    if (duplicates.length) {
      await deps.panel.updateInvoice({ invoiceId: invoice.invoiceId, deleteLineIds: duplicates });
      deps.log.warn('lines.duplicates_removed', { invoiceId: invoice.invoiceId, items: duplicates });
    }
  }

  /**
   * The line a charge becomes, written as pending before the panel is asked to add it: its text in
   * the client's language, the reclamation deadline from the invoice date (kept with the line), and
   * the reference code that finds it on the invoice again. The unique charge_id makes a second
   * line for the same charge impossible.
   */
  async function writePendingLine(c: Record<string, unknown>, profile: BillingProfile, language: string, invoiceId: number, invoiceDate: IsoDate): Promise<void> {
    const deadline = reclamationDeadline(invoiceDate, profile.window, deps.zone);
    const refCode = newRef();
    const explained = JSON.parse(String(c.explanation)) as { rated: Record<string, unknown>; correction?: { billedMinor: string }; upgradeCredit?: { percent: number; creditedMinor: string }; poolPart?: { pool: string; overBytes: string; amountMinor: string } };
    const rated = ratedChargeFromJson(explained.rated);
    const correction = explained.correction ? { billedMinor: BigInt(explained.correction.billedMinor) } : null;
    const upgradeCredit = explained.upgradeCredit ? { percent: explained.upgradeCredit.percent, creditedMinor: BigInt(explained.upgradeCredit.creditedMinor) } : null;
    // a VPS's part of a pool may sit on another member's invoice: its line names the VPS
    const domain = explained.poolPart ? (await deps.panel.getClientsProducts({ serviceId: toNum(c.service_id) })).products[0]?.domain || `#${toNum(c.service_id)}` : '';
    const poolPart = explained.poolPart ? { pool: explained.poolPart.pool, domain, overBytes: BigInt(explained.poolPart.overBytes), amountMinor: BigInt(explained.poolPart.amountMinor) } : null;
    const { text, locale } = deps.describe({ rated, periodStart: String(c.period_start), periodEnd: String(c.period_end), deadlineLastDay: deadline.lastDay, refCode, correction, upgradeCredit, poolPart }, language);
    const line: Record<string, unknown> = {
      charge_id: toNum(c.id),
      service_id: toNum(c.service_id),
      client_id: toNum(c.client_id),
      invoice_id: invoiceId,
      ref_code: refCode,
      status: 'pending',
      amount_minor: String(c.amount_minor),
      currency: String(c.currency),
      description: text,
      locale,
      invoice_date: invoiceDate,
      window_days: profile.window.days,
      window_counting: profile.window.counting,
      window_holidays: profile.window.holidays,
      deadline_last_day: deadline.lastDay,
      deadline_closes_at: sqlInstant(deadline.closesAt),
      created_at: sqlInstant(deps.clock.now()),
    };
    // One statement that writes the line only while the charge is still unbilled at the amount
    // read: a period rated again meanwhile (an admin's decision) has replaced or voided it, and
    // then the line is not written (the charge waits for the next invoice). It locks the charge
    // row as rating again does, so the two never cross.
    const cols = Object.keys(line);
    const mysql = engineOf(knex) === 'mysql';
    const sql = `INSERT ${mysql ? 'IGNORE ' : ''}INTO ${LINES} (${cols.join(', ')}) SELECT ${cols.map(() => '?').join(', ')} FROM ${CHARGES} WHERE id = ? AND status = 'unbilled' AND amount_minor = ?${mysql ? '' : ' ON CONFLICT (charge_id) DO NOTHING'}`;
    await knex.raw(sql, [...cols.map((k) => line[k]), toNum(c.id), String(c.amount_minor)] as Knex.RawBinding[]);
  }

  /**
   * One standalone invoice for a client's unpicked charges. The lines are written as pending with
   * invoice 0 first; their reference codes let a retry find an invoice that was created but not
   * recorded, so a crash never gives the client a second invoice.
   */
  async function billStandaloneFor(clientId: number, charges: Record<string, unknown>[], today: IsoDate): Promise<{ invoices: number; lines: number }> {
    const waiting = await knex(LINES).where({ client_id: clientId, status: 'pending', invoice_id: 0 });
    if (waiting.length) {
      const { invoices } = await deps.panel.getInvoices({ userId: clientId, limitNum: 25, orderBy: 'id', order: 'desc' });
      for (const s of invoices) {
        const inv = await deps.panel.getInvoice(s.id);
        const refs = waiting.filter((l) => inv.items.some((i) => i.description.includes(refPattern(String(l.ref_code)))));
        if (refs.length === 0) continue;
        await knex(LINES).whereIn('id', refs.map((l) => l.id)).update({ invoice_id: inv.invoiceId });
        const outcome: PlaceOutcome = { invoiceId: inv.invoiceId, added: 0, alreadyPlaced: 0, skipped: [] };
        await confirm(inv, outcome);
        return { invoices: 0, lines: outcome.added };
      }
    }
    const client = await deps.panel.getClientsDetails(clientId);
    for (const c of charges) {
      if (c.line_id) continue;
      const profile = await deps.billing.forService(toNum(c.product_id), toNum(c.service_id), clientId);
      if (!profile || String(c.currency) !== client.currencyCode) continue;
      const refusal = await doubleBilling(deps.panel, toNum(c.product_id), profile);
      if (refusal) continue;
      await writePendingLine(c, profile, client.language, 0, today);
    }
    const lines = await knex(LINES).where({ client_id: clientId, status: 'pending', invoice_id: 0 });
    if (lines.length === 0) return { invoices: 0, lines: 0 };
    const taxed = new Map(charges.map((c) => [toNum(c.id), toBool(c.taxed)]));
    const created = await deps.panel.createInvoice({
      userId: clientId,
      date: today,
      dueDate: addDays(today, 14),
      sendInvoice: true,
      items: lines.map((l) => ({ description: String(l.description), amount: moneyToDecimalString({ amountMinor: toBig(l.amount_minor), currency: String(l.currency) }), taxed: taxed.get(toNum(l.charge_id)) ?? true })),
    });
    await knex(LINES).whereIn('id', lines.map((l) => l.id)).update({ invoice_id: created.invoiceId });
    const outcome: PlaceOutcome = { invoiceId: created.invoiceId, added: 0, alreadyPlaced: 0, skipped: [] };
    await confirm(await deps.panel.getInvoice(created.invoiceId), outcome);
    deps.log.info('lines.standalone_invoice', { clientId, invoiceId: created.invoiceId, lines: outcome.added });
    return { invoices: 1, lines: outcome.added };
  }

  /**
   * The lines an invoice gets for the services it renews: one per unbilled charge (pending first,
   * then on the invoice, then placed). `periodEndBefore`: only periods that ended before this day
   * (a reconciliation after the fact gives what the delivery at the time would have given).
   * The caller holds the invoice's lease.
   */
  async function placeOn(invoiceId: number, via: 'hook' | 'reconcile', periodEndBefore?: IsoDate): Promise<PlaceOutcome> {
    const outcome: PlaceOutcome = { invoiceId, added: 0, alreadyPlaced: 0, skipped: [] };
    let invoice = await deps.panel.getInvoice(invoiceId);
    if (!EDITABLE.has(invoice.status)) return outcome;
    // The services the invoice renews; those the module does not meter simply have no charges.
    const ids = [...new Set(invoice.items.filter((i) => i.type === 'Hosting' && i.relId > 0).map((i) => i.relId))];
    if (ids.length === 0) return outcome;

    // Lines a crashed delivery left pending on this invoice are confirmed, not added again.
    // Neither step touches what the other reads (new charges vs. this invoice's pending
    // lines), so they run side by side: the delivery waits for the slower one, not for both.
    const rateFirst = async () => {
      await deps.rating.rateClosedPeriods({ serviceIds: ids });
      if (deps.pools) await deps.pools.ratePools();
    };
    await settleBoth(rateFirst(), confirm(invoice, outcome, undefined, via));

    const charges = await knex(`${CHARGES} as c`)
      .leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id')
      .whereIn('c.service_id', ids)
      .andWhere('c.status', 'unbilled')
      // a late reconciliation gives the invoice only what its delivery would have found
      .andWhere((q) => (periodEndBefore ? q.where('c.period_end', '<', periodEndBefore) : q))
      .select('c.*', 'l.id as line_id', 'l.invoice_id as line_invoice', 'l.status as line_status')
      .orderBy(['c.service_id', 'c.period_start']);
    if (charges.length === 0) return outcome;

    // What placing the lines needs, read side by side rather than one after the other: the
    // client (currency, language), each open charge's settings, each product's overage flag.
    const open = charges.filter((c) => !c.line_id);
    const productIds = [...new Set(open.map((c) => toNum(c.product_id)))];
    const [client, profiles, overages] = await allOrFirstError([
      deps.panel.getClientsDetails(invoice.userId),
      Promise.all(open.map((c) => deps.billing.forService(toNum(c.product_id), toNum(c.service_id), toNum(c.client_id)))),
      Promise.all(productIds.map((id) => productOverage(deps.panel, id))),
    ] as const);
    const profileOf = new Map(open.map((c, i) => [toNum(c.id), profiles[i]!]));
    const overageOf = new Map(productIds.map((id, i) => [id, overages[i]]));
    const invoiceDate = invoice.date && isIsoDate(invoice.date.slice(0, 10)) ? invoice.date.slice(0, 10) : deps.clock.now().setZone(deps.zone).toISODate()!;
    for (const c of charges) {
      const chargeId = toNum(c.id);
      if (c.line_id) {
        // placed elsewhere already, or pending on another invoice: that invoice's delivery owns it
        if (toNum(c.line_invoice) !== invoiceId) outcome.skipped.push({ chargeId, reason: `already on invoice ${toNum(c.line_invoice)}` });
        continue;
      }
      if (String(c.currency) !== client.currencyCode) {
        outcome.skipped.push({ chargeId, reason: `the charge is in ${c.currency} but the client pays in ${client.currencyCode}` });
        continue;
      }
      const profile = profileOf.get(chargeId)!;
      const refusal = profile ? doubleBillingRefusal(overageOf.get(toNum(c.product_id)), toNum(c.product_id), profile) : 'the product is no longer billed for overusage';
      if (refusal) {
        outcome.skipped.push({ chargeId, reason: refusal });
        await deps.panel.logActivity(`Overusage: charge ${chargeId} of service ${toNum(c.service_id)} not billed: ${refusal}`, invoice.userId).catch(() => {});
        continue;
      }
      await writePendingLine(c, profile!, client.language, invoiceId, invoiceDate);
    }

    // Everything pending on this invoice that is not on it yet goes on in one call. The placed
    // ones are read in the same query: under the lease, nothing else changes them.
    const current = await knex(LINES).where({ invoice_id: invoiceId }).whereIn('status', ['pending', 'placed']);
    const pending = current.filter((l) => l.status === 'pending');
    const placedBefore = current.length - pending.length;
    const confirmedBefore = outcome.added;
    const missing = pending.filter((l) => !invoice.items.some((i) => i.description.includes(refPattern(String(l.ref_code)))));
    if (missing.length) {
      const taxedByCharge = new Map(charges.map((c) => [toNum(c.id), Boolean(c.taxed === true || c.taxed === 1 || c.taxed === 1n || c.taxed === '1')]));
      await deps.panel.updateInvoice({
        invoiceId,
        newItems: missing.map((l) => ({
          description: String(l.description),
          amount: moneyToDecimalString({ amountMinor: toBig(l.amount_minor), currency: String(l.currency) }),
          taxed: taxedByCharge.get(toNum(l.charge_id)) ?? true,
        })),
      });
    }
    invoice = await deps.panel.getInvoice(invoiceId);
    await confirm(invoice, outcome, pending, via);
    // placed before this delivery: what was placed when read, less what its first confirm placed
    outcome.alreadyPlaced = placedBefore - confirmedBefore;
    if (outcome.added) deps.log.info('lines.added', { invoiceId, added: outcome.added });
    return outcome;
  }

  /** The delivery of an invoice finished (whatever it placed): the reconciliation need not look at it again. */
  async function finished(invoiceId: number, via: 'hook' | 'reconcile', outcome: PlaceOutcome): Promise<PlaceOutcome> {
    const row = { invoice_id: invoiceId, finished_by: via, added: outcome.added, finished_at: sqlInstant(deps.clock.now()) };
    await knex(DELIVERIES).insert(row).onConflict('invoice_id').merge(['added', 'finished_at']);
    return outcome;
  }

  const emptyOutcome = (): ReconcileOutcome => ({ confirmed: 0, placed: 0, released: [], recovered: [], busy: [] });
  const money = (l: { amountMinor: bigint; currency: string }) => `${moneyToDecimalString({ amountMinor: l.amountMinor, currency: l.currency })} ${l.currency}`;
  const isBusy = (err: unknown) => err instanceof ModuleError && err.code === 'LOCKED';

  /** Pending lines on invoices (never the standalone ones still being created: invoice 0). */
  async function reconcilePending(): Promise<ReconcileOutcome> {
    const out = emptyOutcome();
    const invoices = await knex(LINES).where({ status: 'pending' }).andWhere('invoice_id', '>', 0).distinct('invoice_id');
    for (const { invoice_id } of invoices) {
      const invoiceId = toNum(invoice_id);
      // A delivery still at work holds the invoice's lease; one that died has left it to expire
      // (or to be taken over at once on its own host).
      await withInvoiceLease(invoiceId, () => finishPending(invoiceId, out), 0).catch((err: unknown) => {
        if (!isBusy(err)) throw err;
        out.busy.push(invoiceId);
      });
    }
    return out;
  }

  async function finishPending(invoiceId: number, out: ReconcileOutcome): Promise<void> {
    let invoice = await deps.panel.getInvoice(invoiceId);
    const found: PlaceOutcome = { invoiceId, added: 0, alreadyPlaced: 0, skipped: [] };
    await confirm(invoice, found, undefined, 'reconcile');
    out.confirmed += found.added;
    const left = await knex(LINES).where({ invoice_id: invoiceId, status: 'pending' });
    if (left.length === 0) return;
    if (EDITABLE.has(invoice.status)) {
      // Still unpaid: the line goes on, as the delivery meant it to.
      const taxed = new Map((await knex(CHARGES).whereIn('id', left.map((l) => l.charge_id)).select('id', 'taxed')).map((c) => [toNum(c.id), toBool(c.taxed)]));
      await deps.panel.updateInvoice({
        invoiceId,
        newItems: left.map((l) => ({ description: String(l.description), amount: moneyToDecimalString({ amountMinor: toBig(l.amount_minor), currency: String(l.currency) }), taxed: taxed.get(toNum(l.charge_id)) ?? true })),
      });
      invoice = await deps.panel.getInvoice(invoiceId);
      const placed: PlaceOutcome = { invoiceId, added: 0, alreadyPlaced: 0, skipped: [] };
      await confirm(invoice, placed, left, 'reconcile');
      out.placed += placed.added;
      for (const l of placed.placed ?? []) {
        await deps.panel.logActivity(`Overusage: line ${l.refCode} (${money(l)}) added to invoice ${invoiceId} by the reconciliation; the delivery that began it had stopped before the line was on the invoice`, invoice.userId).catch(() => {});
      }
      deps.log.info('lines.reconciled', { invoiceId, placed: placed.added });
      return;
    }
    // Paid or cancelled before the line got on: the client's invoice is not changed after the
    // fact; the charge waits for the next invoice, and the admin is told (activity log, tab).
    for (const l of left) {
      const now = deps.clock.now();
      const gone = await retryTransaction(knex, async (trx) => {
        const n = await trx(LINES).where({ id: l.id, status: 'pending' }).delete();
        if (n !== 1) return false;
        await deps.audit.record(
          trx,
          {
            actor: { type: 'system', id: null },
            action: 'line.released',
            entityType: 'charge',
            entityId: toNum(l.charge_id),
            details: { invoiceId, invoiceStatus: invoice.status, refCode: l.ref_code, amountMinor: String(l.amount_minor), currency: l.currency, reason: `invoice ${invoiceId} was ${invoice.status.toLowerCase()} before the line could be added; the charge waits for the next invoice` },
          },
          now,
        );
        return true;
      });
      if (!gone) continue;
      out.released.push({ chargeId: toNum(l.charge_id), invoiceId, invoiceStatus: invoice.status });
      await deps.panel
        .logActivity(`Overusage: line ${l.ref_code} (${money({ amountMinor: toBig(l.amount_minor), currency: String(l.currency) })}) could not be added to invoice ${invoiceId}: the invoice was ${invoice.status.toLowerCase()} first; charge ${toNum(l.charge_id)} waits for the next invoice`, invoice.userId)
        .catch(() => {});
      deps.log.warn('lines.released', { invoiceId, chargeId: toNum(l.charge_id), invoiceStatus: invoice.status });
    }
  }

  /**
   * Renewal invoices whose InvoiceCreation delivery never finished (the process died before even
   * its first write): per client with an unbilled charge that has no line, its unpaid invoices
   * dated after the charge's period, renewing the charge's service, get what the delivery would
   * have given them. Finished deliveries are recorded, so each invoice is looked at once.
   */
  async function catchUpMissed(out: ReconcileOutcome): Promise<void> {
    const waiting = await knex(`${CHARGES} as c`)
      .leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id')
      .whereNull('l.id')
      .andWhere('c.status', 'unbilled')
      .select('c.client_id', 'c.service_id', 'c.period_end');
    const byClient = new Map<number, Map<number, IsoDate>>();
    for (const c of waiting) {
      const services = byClient.get(toNum(c.client_id)) ?? new Map<number, IsoDate>();
      const end = String(c.period_end).slice(0, 10);
      const sid = toNum(c.service_id);
      if (!services.has(sid) || end < services.get(sid)!) services.set(sid, end);
      byClient.set(toNum(c.client_id), services);
    }
    for (const [clientId, services] of byClient) {
      const earliest = [...services.values()].sort()[0]!;
      const { invoices } = await deps.panel.getInvoices({ userId: clientId, limitNum: 25, orderBy: 'id', order: 'desc' });
      const open = invoices.filter((i) => EDITABLE.has(i.status) && i.date !== null && i.date.slice(0, 10) > earliest).sort((a, b) => a.id - b.id);
      if (open.length === 0) continue;
      const known = new Set((await knex(DELIVERIES).whereIn('invoice_id', open.map((i) => i.id)).select('invoice_id')).map((r) => toNum(r.invoice_id)));
      for (const summary of open) {
        if (known.has(summary.id)) continue;
        const date = summary.date!.slice(0, 10);
        const invoice = await deps.panel.getInvoice(summary.id);
        const renews = invoice.items.some((i) => i.type === 'Hosting' && services.has(i.relId) && services.get(i.relId)! < date);
        if (!renews) continue;
        try {
          const placed = await withInvoiceLease(summary.id, async () => finished(summary.id, 'reconcile', await placeOn(summary.id, 'reconcile', date)), 0);
          out.recovered.push({ invoiceId: summary.id, added: placed.added });
          for (const l of placed.placed ?? []) {
            await deps.panel.logActivity(`Overusage: line ${l.refCode} (${money(l)}) added to invoice ${summary.id} by the reconciliation; the invoice's InvoiceCreation delivery had not finished`, clientId).catch(() => {});
          }
          deps.log.info('lines.recovered', { invoiceId: summary.id, added: placed.added });
        } catch (err) {
          if (!isBusy(err)) throw err;
          out.busy.push(summary.id);
        }
      }
    }
  }

  return {
    async billUnpicked() {
      const today = deps.clock.now().setZone(deps.zone).toISODate()!;
      const profileFor = await deps.billing.snapshot();
      const candidates = await knex(`${CHARGES} as c`)
        .leftJoin(`${LINES} as l`, 'l.charge_id', 'c.id')
        .where('c.status', 'unbilled')
        .andWhere((q) => q.whereNull('l.id').orWhere((w) => w.where('l.status', 'pending').andWhere('l.invoice_id', 0)))
        .select('c.*', 'l.id as line_id')
        .orderBy(['c.client_id', 'c.period_start']);
      const due = candidates.filter((c) => {
        const p = profileFor(toNum(c.product_id), toNum(c.service_id), toNum(c.client_id));
        return p && p.unpicked.policy === 'standalone' && addDays(String(c.period_end), p.unpicked.afterDays) <= today;
      });
      const groups = new Map<string, Record<string, unknown>[]>();
      for (const c of due) {
        const key = `${toNum(c.client_id)}|${c.currency}`;
        groups.set(key, [...(groups.get(key) ?? []), c]);
      }
      let invoices = 0;
      let placed = 0;
      for (const [key, charges] of groups) {
        const clientId = Number(key.split('|')[0]);
        const out = await withLease(
          deps.locks,
          `standalone:client:${clientId}`,
          { ttlMs: 120_000, waitMs: 0, busy: (heldBy) => new Error(`standalone:client:${clientId} is being handled by another run (${heldBy})`) },
          () => billStandaloneFor(clientId, charges, today),
        );
        invoices += out.invoices;
        placed += out.lines;
      }
      return { invoices, lines: placed };
    },

    reconcilePending,

    async reconcile() {
      const out = await reconcilePending();
      await catchUpMissed(out);
      return out;
    },

    async addToRenewalInvoice(invoiceId) {
      return withInvoiceLease(invoiceId, async () => finished(invoiceId, 'hook', await placeOn(invoiceId, 'hook')));
    },
  };
}

/** Waits for both, then fails with the first failure: nothing is left running under the lease. */
async function settleBoth(a: Promise<unknown>, b: Promise<unknown>): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}

/** Waits for all, then fails with the first failure (in order): nothing is left running under the lease. */
async function allOrFirstError<T extends readonly unknown[]>(work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A product whose panel overage billing is on would bill the same traffic twice. */
async function doubleBilling(panel: PanelApi, productId: number, profile: BillingProfile): Promise<string | null> {
  return doubleBillingRefusal(await productOverage(panel, productId), productId, profile);
}

/** The product as the panel's GetProducts lists it; undefined when it cannot say. */
async function productOverage(panel: PanelApi, productId: number): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await panel.call('GetProducts', { pid: productId });
    const list = (res.products as { product?: unknown } | undefined)?.product;
    return Array.isArray(list) ? (list[0] as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function doubleBillingRefusal(answer: Record<string, unknown> | undefined, productId: number, profile: BillingProfile): string | null {
  if (answer && 'overagesenabled' in answer) {
    const on = String(answer.overagesenabled ?? '').trim();
    if (on !== '' && on !== '0') return `the panel's own overage billing is enabled on product ${productId}; switch it off there, or this traffic would be billed twice`;
    return null;
  }
  // The panel cannot tell (WHMCS's GetProducts does not list it): the admin must have confirmed.
  return profile.panelOverageOff ? null : `product ${productId}: confirm in the settings that the panel's own overage billing is off for it (the panel cannot tell)`;
}
