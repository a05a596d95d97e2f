import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { addDays, type IsoDate } from '../domain/calendar.js';
import { checkTransition, parseDisputeState, parseResolvingTo, type Adjustment, type DisputeActor, type DisputeState, type Resolution } from '../domain/dispute-state.js';
import { holdAfterDecision, parseHoldState, type HoldState } from '../domain/hold-state.js';
import { isDisputable, parseLineStatus, type LineStatus } from '../domain/line-status.js';
import { invalidInput, ModuleError, notFound, type Outcome } from '../domain/errors.js';
import { escapeHtml } from '../domain/html.js';
import { ADMIN_DISPUTE_REFUSALS, DISPUTE_MAIL, DISPUTE_REFUSALS, INVOICE_NOTES, withLineNote, type DisputeMailFigures } from '../domain/dispute-text.js';
import { describeAdjustedLine, describeWaivedLine, formatDay, formatAmount, localeForClient, quantityGivesAmount, textLanguage } from '../domain/line-text.js';
import { divRoundHalfUp, moneyToDecimalString, parseDecimal, parseMoney } from '../domain/money.js';
import { rateUsage, ratedChargeFromJson } from '../domain/usage-rating.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import { withLease, type LockStore } from '../adapters/lock-store.js';
import { creditLogged, type PanelApi, type PanelClient, type PanelInvoice } from '../adapters/panel-api.js';
import type { Outbox, OutboxEmail } from './outbox.js';
import { sqlInstant, toBig, toBool, toInstant, toNum } from '../adapters/rows.js';
import { ratingPlan, type BillingProfile } from './billing-settings.js';
import { refPattern } from './invoice-lines.js';
import { creditLateFeeShare } from './late-fee-share.js';

/**
 * Disputing one overusage line. Opening a dispute in time holds the line: it moves off the
 * renewal invoice onto a draft invoice of its own, so the rest of the renewal stays payable and
 * goes through dunning as usual (paying it renews the service), while drafts are never dunned.
 * The admin then upholds (the line is published with a new due date), waives (the draft is
 * cancelled) or adjusts (new amount, then published); the client may withdraw. A line already paid
 * goes to a refund-or-credit decision instead. Every step is recorded before and after it touches
 * the panel, so `resume()` finishes any step a failure interrupted, without doing one twice.
 */
export interface DisputeView {
  id: number;
  lineId: number;
  clientId: number;
  serviceId: number;
  state: DisputeState;
  resolvingTo: Resolution | null;
  reason: string;
  openedBy: { type: string; id: string | null };
  overrideReason: string | null;
  openedAt: string;
  holdState: HoldState;
  originalInvoiceId: number;
  heldInvoiceId: number | null;
  amountBeforeMinor: bigint;
  amountAfterMinor: bigint | null;
  currency: string;
  resolvedAt: string | null;
  newDueDate: string | null;
  settlement: string | null;
  version: number;
}

export type OpenRefusal = 'WINDOW_CLOSED' | 'ALREADY_DISPUTED' | 'NOT_DISPUTABLE' | 'REASON_REQUIRED';
export type ResolveRefusal = 'CONFLICT' | 'INVALID_TRANSITION' | 'NOT_ALLOWED' | 'NO_PRECOMMIT_RATE';

/** A re-rating as the decision stores it (JSON): the rates, the amounts before cap and minimum, and whether the line's quantity gives the new one exactly. */
interface StoredRerate {
  from: string;
  to: string;
  fromMinor?: string;
  toMinor?: string;
  exact?: boolean;
}

export interface DisputeService {
  open(input: { lineId: number; reason: string; actor: Actor; overrideReason?: string }): Promise<Outcome<DisputeView, OpenRefusal>>;
  resolve(input: { disputeId: number; to: Resolution; actor: Actor; adjustment?: Adjustment; note?: string; expectedVersion?: number; settlement?: 'credit' | 'refund' }): Promise<Outcome<DisputeView, ResolveRefusal>>;
  /** the new amount an adjustment would give, for the admin's preview */
  preview(disputeId: number, adjustment: Adjustment): Promise<{ amountMinor: bigint; currency: string; explanation: string }>;
  get(disputeId: number, opts?: { clientId?: number }): Promise<DisputeView>;
  forLine(lineId: number): Promise<DisputeView | null>;
  /** finishes holds and resolutions that a failure interrupted */
  resume(): Promise<{ resumed: number; failed: number }>;
  /** the client's open disputes with their lines (for reminders and the widget) */
  openForClient(clientId: number): Promise<Array<{ disputeId: number; lineId: number; description: string; amountMinor: bigint; currency: string }>>;
  /**
   * open disputes' lines on an invoice, by panel item: what dunning must leave alone. `panelAmount`
   * is the item's amount as the panel has it (see PANEL_DECIMALS), to weigh against its balance.
   */
  heldItemsOnInvoice(invoiceId: number): Promise<Array<{ itemId: number; amountMinor: bigint; panelAmount: string; description: string }>>;
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
}

const DISPUTES = 'mod_overusage_disputes';
const LINES = 'mod_overusage_lines';

export function createDisputeService(deps: DisputeDeps): DisputeService {
  const { knex } = deps;
  const dueDays = deps.dueDays ?? 14;
  const today = (): IsoDate => deps.clock.now().setZone(deps.zone).toISODate()!;

  const view = (r: Record<string, unknown>): DisputeView => ({
    id: toNum(r.id),
    lineId: toNum(r.line_id),
    clientId: toNum(r.client_id),
    serviceId: toNum(r.service_id),
    state: parseDisputeState(r.state),
    resolvingTo: parseResolvingTo(r.resolving_to),
    reason: String(r.reason),
    openedBy: { type: String(r.opened_by_type), id: (r.opened_by_id as string | null) ?? null },
    overrideReason: (r.override_reason as string | null) ?? null,
    openedAt: toInstant(r.opened_at).toISO()!,
    holdState: parseHoldState(r.hold_state),
    originalInvoiceId: toNum(r.original_invoice_id),
    heldInvoiceId: r.held_invoice_id === null ? null : toNum(r.held_invoice_id),
    amountBeforeMinor: toBig(r.amount_before_minor),
    amountAfterMinor: r.amount_after_minor === null ? null : toBig(r.amount_after_minor),
    currency: String(r.currency),
    resolvedAt: r.resolved_at ? toInstant(r.resolved_at).toISO() : null,
    newDueDate: (r.new_due_date as string | null) ?? null,
    settlement: (r.settlement as string | null) ?? null,
    version: toNum(r.version),
  });

  const row = async (id: number) => {
    const r = await knex(DISPUTES).where({ id }).first();
    if (!r) throw notFound(`dispute ${id} does not exist`);
    return r;
  };

  /** One request at a time per key (a line while it is being disputed, a dispute while it is being carried out). */
  const exclusive = <T>(key: string, work: () => Promise<T>): Promise<T> =>
    withLease(deps.locks, key, { ttlMs: 60_000, waitMs: 20_000, busy: () => new ModuleError('LOCKED', 'another request is handling this dispute; try again in a moment') }, work);

  const actorOf = (a: Actor): DisputeActor => (a.type === 'client' ? 'client' : a.type === 'admin' || a.type === 'cli' ? 'admin' : 'system');

  async function bump(id: number, changes: Record<string, unknown>, now: DateTime, trx: Knex | Knex.Transaction = knex) {
    await trx(DISPUTES)
      .where({ id })
      .update({ ...changes, version: knex.raw('version + 1'), updated_at: sqlInstant(now) });
  }

  /** Finds the draft invoice that holds a line, after a crash between creating it and recording it. */
  async function findHeldDraft(clientId: number, ref: string): Promise<{ invoice: PanelInvoice; itemId: number } | null> {
    const { invoices } = await deps.panel.getInvoices({ userId: clientId, status: 'Draft', limitNum: 25, orderBy: 'id', order: 'desc' });
    for (const s of invoices) {
      const inv = await deps.panel.getInvoice(s.id);
      const item = inv.items.find((i) => i.description.includes(refPattern(ref)));
      if (item) return { invoice: inv, itemId: item.id };
    }
    return null;
  }

  /** Moves the line onto a draft invoice of its own and off the invoice it was on. Idempotent. */
  const hold = (disputeId: number): Promise<void> => exclusive(`dispute:${disputeId}`, () => holdNow(disputeId));

  async function holdNow(disputeId: number): Promise<void> {
    let d = await row(disputeId);
    if (d.hold_state !== 'holding') return;
    const line = await knex(LINES).where({ id: d.line_id }).first();
    const ref = String(line.ref_code);
    const charge = await knex('mod_overusage_charges').where({ id: line.charge_id }).first('taxed');
    const client = await deps.panel.getClientsDetails(toNum(d.client_id));
    const lang = textLanguage(localeForClient(client.language));
    const now = () => deps.clock.now();

    if (d.held_invoice_id === null) {
      const original = await deps.panel.getInvoice(toNum(d.original_invoice_id));
      const onOriginal = original.items.some((i) => i.description.includes(refPattern(ref)));
      if (original.status === 'Paid' || (!onOriginal && original.status !== 'Unpaid' && original.status !== 'Draft')) {
        // Paid already: nothing to hold back; the admin decides between refund and credit.
        await bump(disputeId, { hold_state: 'refund_decision' }, now());
        await deps.audit.record(knex, { actor: { type: 'system', id: null }, action: 'dispute.refund_decision', entityType: 'dispute', entityId: disputeId, details: { invoiceId: original.invoiceId, status: original.status } }, now());
        return;
      }
      let held = await findHeldDraft(toNum(d.client_id), ref);
      if (!held) {
        const created = await deps.panel.createInvoice({
          userId: toNum(d.client_id),
          draft: true,
          date: today(),
          dueDate: addDays(today(), dueDays),
          notes: INVOICE_NOTES[lang].heldDraft(ref, toNum(d.original_invoice_id)),
          items: [{ description: `${String(line.description)}${INVOICE_NOTES[lang].heldSuffix}`, amount: moneyToDecimalString({ amountMinor: toBig(line.amount_minor), currency: String(line.currency) }), taxed: toBool(charge?.taxed ?? true) }],
        });
        const inv = await deps.panel.getInvoice(created.invoiceId);
        const item = inv.items.find((i) => i.description.includes(refPattern(ref)));
        if (!item) throw new ModuleError('UPSTREAM', `the held invoice ${created.invoiceId} does not show line ${ref}`);
        held = { invoice: inv, itemId: item.id };
      }
      await bump(disputeId, { held_invoice_id: held.invoice.invoiceId, held_item_id: held.itemId }, now());
      d = await row(disputeId);
    }
    // Off the original invoice (if it is still there): what remains is what dunning sees.
    const original = await deps.panel.getInvoice(toNum(d.original_invoice_id));
    const stale = original.items.filter((i) => i.description.includes(refPattern(ref))).map((i) => i.id);
    // and it says why the line is gone from it (the draft it waits on is not named: the client cannot open it)
    const notes = withLineNote(original.notes, ref, INVOICE_NOTES[lang].onHold(ref, formatAmount(toBig(line.amount_minor), String(line.currency), localeForClient(client.language))));
    // a late fee already on the invoice counted the line: its share comes back as credit first
    if (stale.length) await creditLateFeeShare({ knex, panel: deps.panel, audit: deps.audit }, { disputeId, clientId: toNum(d.client_id), ref, invoice: original, heldItemIds: stale }, now());
    if (stale.length || notes !== original.notes) await deps.panel.updateInvoice({ invoiceId: original.invoiceId, ...(stale.length ? { deleteLineIds: stale } : {}), ...(notes !== original.notes ? { notes } : {}) });
    await retryTransaction(knex, async (trx) => {
      await trx(LINES).where({ id: d.line_id }).update({ status: 'held', invoice_id: d.held_invoice_id, invoice_item_id: d.held_item_id });
      await bump(disputeId, { hold_state: 'held' }, now(), trx);
      await deps.audit.record(trx, { actor: { type: 'system', id: null }, action: 'dispute.held', entityType: 'dispute', entityId: disputeId, details: { from: toNum(d.original_invoice_id), heldInvoiceId: toNum(d.held_invoice_id), amountMinor: String(line.amount_minor) } }, now());
    });
  }

  /** The new amount of an adjustment, exactly, with a sentence saying how. */
  async function adjustedAmount(d: Record<string, unknown>, adjustment: Adjustment): Promise<Outcome<{ amountMinor: bigint; explanation: string; rerated?: StoredRerate }, ResolveRefusal>> {
    const before = toBig(d.amount_before_minor);
    const currency = String(d.currency);
    if (adjustment.kind === 'share') {
      const pct = parseDecimal(adjustment.percent, 'percent', 2);
      if (pct.units < 0n || pct.units > 100n * 10n ** BigInt(pct.scale)) throw invalidInput('percent must be between 0 and 100');
      const amount = divRoundHalfUp(before * pct.units, 100n * 10n ** BigInt(pct.scale));
      return { ok: true, value: { amountMinor: amount, explanation: `${adjustment.percent} % of the original amount` } };
    }
    if (adjustment.kind === 'amount') {
      const m = parseMoney(adjustment.amount, currency, 'amount');
      if (m.amountMinor > before) throw invalidInput('an adjustment cannot raise the amount; uphold the line instead');
      return { ok: true, value: { amountMinor: m.amountMinor, explanation: 'set by hand' } };
    }
    // Re-rated at the rate agreed in advance: the same period and plan, another rate.
    const line = await knex(LINES).where({ id: d.line_id }).first('charge_id');
    const charge = await knex('mod_overusage_charges').where({ id: line.charge_id }).first('explanation', 'used_bytes');
    const stored = JSON.parse(String(charge.explanation)) as { rated: Record<string, unknown>; profile: BillingProfile };
    const rated = ratedChargeFromJson(stored.rated);
    const precommit = stored.profile.prices[currency]?.precommit;
    if (!precommit) return { ok: false, code: 'NO_PRECOMMIT_RATE', message: `the product has no ${currency} rate agreed in advance (precommit) to re-rate at` };
    const plan = { ...ratingPlan({ ...stored.profile, prices: { ...stored.profile.prices, [currency]: { ...stored.profile.prices[currency]!, overage: precommit } } }, currency, rated.allowanceBytes), allowanceBytes: rated.fullAllowanceBytes };
    const again = rateUsage({ usedBytes: rated.usedBytes, days: rated.days, nominalDays: rated.nominalDays, seconds: rated.periodSeconds }, plan);
    return { ok: true, value: { amountMinor: again.amountMinor, explanation: `re-rated at the rate agreed in advance (${precommit} instead of ${rated.rate})`, rerated: { from: rated.rate, to: again.rate, fromMinor: String(rated.roundedMinor), toMinor: String(again.roundedMinor), exact: quantityGivesAmount(again) } } };
  }

  /** The text of an adjusted line, in the language it was billed in. */
  function adjustedText(d: Record<string, unknown>, billedText: string, after: bigint, locale: string): string {
    const r = d.resolution ? (JSON.parse(String(d.resolution)) as { rerated?: StoredRerate | null }).rerated : null;
    const rerated = r ? { from: r.from, to: r.to, exact: r.exact, ...(r.fromMinor && r.toMinor ? { fromMinor: BigInt(r.fromMinor), toMinor: BigInt(r.toMinor) } : {}) } : null;
    return describeAdjustedLine(billedText, { currency: String(d.currency), afterMinor: after, rerated }, locale);
  }

  /** The line's text after a decision: adjusted or waived say so; upheld and withdrawn keep it. */
  function decidedText(d: Record<string, unknown>, to: Resolution, billedText: string, after: bigint, locale: string): string {
    if (to === 'adjusted') return adjustedText(d, billedText, after, locale);
    if (to === 'waived') return describeWaivedLine(billedText, { currency: String(d.currency), beforeMinor: toBig(d.amount_before_minor) }, locale);
    return billedText;
  }

  /** What a paid line's decision gave back, and how: nothing for a line that was held (it was never paid). */
  function settledBack(d: Record<string, unknown>, to: Resolution, after: bigint): { minor: bigint; how: 'credit' | 'refund' } | null {
    if (d.hold_state !== 'refund_decision' || (to !== 'waived' && to !== 'adjusted')) return null;
    const back = toBig(d.amount_before_minor) - (to === 'waived' ? 0n : after);
    return back > 0n ? { minor: back, how: d.settlement === 'refund' ? 'refund' : 'credit' } : null;
  }

  /** The decision in the client's words, with the money: "reduced from €500.00 to €350.00 after your dispute; billed on invoice #12". */
  function decisionWords(to: Resolution, d: Record<string, unknown>, after: bigint, locale: string, back: { minor: bigint; how: 'credit' | 'refund' } | null, naming = true): string {
    const w = INVOICE_NOTES[textLanguage(locale)];
    const money = (minor: bigint) => formatAmount(minor, String(d.currency), locale);
    const before = toBig(d.amount_before_minor);
    const gone = to === 'waived' || (to === 'adjusted' && after === 0n);
    const what = gone ? w.waived(money(before)) : to === 'adjusted' ? w.reduced(money(before), money(after)) : to === 'withdrawn' ? w.withdrawn(money(after)) : w.upheld(money(after));
    const where = naming && !gone && d.hold_state === 'held' && d.held_invoice_id !== null ? `; ${w.billedOn(toNum(d.held_invoice_id))}` : '';
    const returned = back ? `; ${back.how === 'refund' ? w.refunded(money(back.minor)) : w.credited(money(back.minor))}` : '';
    return `${what}${where}${returned}`;
  }

  /** The invoice the line came from says what was decided, in place of what it said before. Idempotent. */
  async function noteOnOriginal(d: Record<string, unknown>, ref: string, what: string, locale: string): Promise<void> {
    const original = await deps.panel.getInvoice(toNum(d.original_invoice_id));
    const notes = withLineNote(original.notes, ref, INVOICE_NOTES[textLanguage(locale)].decided(ref, what));
    if (notes !== original.notes) await deps.panel.updateInvoice({ invoiceId: original.invoiceId, notes });
  }

  /** The held draft, upheld or adjusted: the decided text and amount, a new due date, its note, then published (cancelled at 0.00). */
  async function publishHeld(d: Record<string, unknown>, to: Resolution, held: PanelInvoice, item: PanelInvoice['items'][number] | undefined, x: { ref: string; text: string; after: bigint; locale: string }): Promise<void> {
    const published = INVOICE_NOTES[textLanguage(x.locale)].published(x.ref, toNum(d.original_invoice_id), decisionWords(to, d, x.after, x.locale, null, false));
    await deps.panel.updateInvoice({
      invoiceId: held.invoiceId,
      dueDate: String(d.new_due_date),
      date: today(),
      notes: withLineNote(held.notes, x.ref, published),
      ...(item ? { changeItems: [{ id: item.id, description: x.text, amount: moneyToDecimalString({ amountMinor: x.after, currency: String(d.currency) }), taxed: item.taxed }] } : {}),
      ...(x.after === 0n && to === 'adjusted' ? { status: 'Cancelled' as const } : { publish: true }),
    });
  }

  /** Carries out a claimed resolution through the panel. Idempotent: each step checks first. */
  const carryOut = (disputeId: number): Promise<void> => exclusive(`dispute:${disputeId}`, () => carryOutNow(disputeId));

  async function carryOutNow(disputeId: number): Promise<void> {
    let d = await row(disputeId);
    const to = parseResolvingTo(d.resolving_to);
    if (!to) return;
    if (d.hold_state === 'holding') {
      await holdNow(disputeId);
      d = await row(disputeId);
    }
    const line = await knex(LINES).where({ id: d.line_id }).first();
    const after = d.amount_after_minor === null ? toBig(d.amount_before_minor) : toBig(d.amount_after_minor);
    const now = () => deps.clock.now();
    const client = await deps.panel.getClientsDetails(toNum(d.client_id));
    const locale = localeForClient(client.language);
    let lineStatus: LineStatus = 'placed';
    // The line's text after the decision, from the text it was billed with and the decision's own figures.
    const newText = decidedText(d, to, String(line.description), after, locale);
    let creditedMinor: bigint | null = null;

    if (d.hold_state === 'held') {
      const held = await deps.panel.getInvoice(toNum(d.held_invoice_id));
      const item = held.items.find((i) => i.id === toNum(d.held_item_id));
      if (to === 'waived') {
        lineStatus = 'waived';
        // cancelled at 0.00 with the waived text: the client's invoice list shows nothing still owed
        const zero = { id: item?.id ?? 0, description: newText, amount: moneyToDecimalString({ amountMinor: 0n, currency: String(d.currency) }), taxed: item?.taxed ?? true };
        if (held.status === 'Draft') await deps.panel.updateInvoice({ invoiceId: held.invoiceId, status: 'Cancelled', ...(item ? { changeItems: [zero] } : {}) });
      } else if (held.status === 'Draft') {
        await publishHeld(d, to, held, item, { ref: String(line.ref_code), text: newText, after, locale });
      }
    } else if (d.hold_state === 'refund_decision' && (to === 'waived' || to === 'adjusted')) {
      // Paid already: the difference goes back as credit (or is recorded for a refund by the admin).
      const back = toBig(d.amount_before_minor) - (to === 'waived' ? 0n : after);
      if (back > 0n && d.settlement !== 'refund' && d.settlement !== 'credited') {
        // The intent is recorded before the panel is asked: after a crash between the two, the
        // client's credit log says whether the credit went through, so it is never given twice.
        const description = `Overusage dispute ${disputeId}: ${to} (line ${String(line.ref_code)})`;
        const given = d.settlement === 'crediting' && (await creditLogged(deps.panel, toNum(d.client_id), description));
        if (d.settlement !== 'crediting') await bump(disputeId, { settlement: 'crediting' }, now());
        if (!given) await deps.panel.call('AddCredit', { clientid: toNum(d.client_id), description, amount: moneyToDecimalString({ amountMinor: back, currency: String(d.currency) }) });
        await bump(disputeId, { settlement: 'credited' }, now());
      }
      if (back > 0n && d.settlement !== 'refund') creditedMinor = back;
      if (to === 'waived') lineStatus = 'waived';
    }

    await noteOnOriginal(d, String(line.ref_code), decisionWords(to, d, after, locale, settledBack(d, to, after)), locale);

    await retryTransaction(knex, async (trx) => {
      const n = await trx(DISPUTES).where({ id: disputeId, resolving_to: to }).update({ state: to, resolving_to: null, resolved_at: sqlInstant(now()), hold_state: holdAfterDecision(parseHoldState(d.hold_state), to), version: knex.raw('version + 1'), updated_at: sqlInstant(now()) });
      if (n !== 1) return;
      await trx(LINES).where({ id: d.line_id }).update({ status: lineStatus, amount_minor: String(to === 'waived' ? 0n : after), description: newText });
      await deps.outbox.enqueue(
        trx,
        disputeEmails({
          disputeId,
          what: to,
          client,
          line,
          amountBeforeMinor: toBig(d.amount_before_minor),
          amountAfterMinor: d.amount_after_minor === null ? null : toBig(d.amount_after_minor),
          currency: String(d.currency),
          newDueDate: (d.new_due_date as string | null) ?? null,
          reason: String(d.reason),
          creditedMinor,
          newText,
        }),
      );
      await deps.audit.record(
        trx,
        {
          actor: { type: String(d.resolved_by_type) as Actor['type'], id: (d.resolved_by_id as string | null) ?? null },
          action: `dispute.${to}`,
          entityType: 'dispute',
          entityId: disputeId,
          details: { lineId: toNum(d.line_id), amountBeforeMinor: String(d.amount_before_minor), amountAfterMinor: String(to === 'waived' ? 0n : after), currency: d.currency, resolution: d.resolution ? JSON.parse(String(d.resolution)) : null, dueDate: d.new_due_date },
        },
        now(),
      );
    });
    await sendNow(disputeId);
  }

  /** The emails just written go out now; what fails is retried by the outbox's worker. */
  async function sendNow(disputeId: number): Promise<void> {
    await deps.outbox.drain().catch((err) => deps.log.warn('dispute.notify_failed', { disputeId, error: (err as Error).message }));
  }

  async function openNow({ lineId, reason, actor, overrideReason }: Parameters<DisputeService['open']>[0]): Promise<Outcome<DisputeView, OpenRefusal>> {
    const who = actorOf(actor);
    const q = knex(LINES).where({ id: lineId });
    if (who === 'client') q.andWhere({ client_id: Number(actor.id) });
    const line = await q.first();
    if (!line) throw notFound(`line ${lineId} does not exist`);
    // refusals in the words of who asked: the client in their language, an admin in English
    const asker = who === 'admin' ? null : await deps.panel.getClientsDetails(toNum(line.client_id)).catch(() => null);
    const locale = who === 'admin' ? 'en-GB' : localeForClient(asker?.language ?? '');
    const words = DISPUTE_REFUSALS[textLanguage(locale)];
    const existing = await knex(DISPUTES).where({ line_id: lineId }).first();
    if (existing) return { ok: false, code: 'ALREADY_DISPUTED', message: who === 'admin' ? ADMIN_DISPUTE_REFUSALS.alreadyDisputed(toNum(existing.id), disputeStateWord(String(existing.state))) : words.alreadyDisputed, details: { disputeId: toNum(existing.id) } };
    if (!isDisputable(parseLineStatus(line.status))) return { ok: false, code: 'NOT_DISPUTABLE', message: who === 'admin' ? ADMIN_DISPUTE_REFUSALS.notDisputable(String(line.status)) : words.notDisputable };
    const text = reason.trim();
    if (text.length < 3) return { ok: false, code: 'REASON_REQUIRED', message: who === 'admin' ? ADMIN_DISPUTE_REFUSALS.reasonRequired : words.reasonRequired };
    const now = deps.clock.now();
    const closesAt = toInstant(line.deadline_closes_at);
    if (now >= closesAt) {
      const last = formatDay(String(line.deadline_last_day), locale);
      if (who !== 'admin') return { ok: false, code: 'WINDOW_CLOSED', message: words.windowClosed(last), details: { deadlineLastDay: String(line.deadline_last_day) } };
      if (!overrideReason || overrideReason.trim().length < 3) {
        return { ok: false, code: 'WINDOW_CLOSED', message: ADMIN_DISPUTE_REFUSALS.windowClosed(last), details: { deadlineLastDay: String(line.deadline_last_day) } };
      }
    }
    // the client's language and name for the emails, asked before anything is written
    const client = await deps.panel.getClientsDetails(toNum(line.client_id));
    const inserted = await retryTransaction(knex, async (trx) => {
      await trx(DISPUTES)
        .insert({
          line_id: lineId,
          client_id: toNum(line.client_id),
          service_id: toNum(line.service_id),
          state: 'open',
          reason: text.slice(0, 4000),
          opened_by_type: actor.type,
          opened_by_id: actor.id,
          override_reason: now >= closesAt ? overrideReason!.trim().slice(0, 2000) : null,
          opened_at: sqlInstant(now),
          hold_state: 'holding',
          original_invoice_id: toNum(line.invoice_id),
          original_item_id: line.invoice_item_id === null ? null : toNum(line.invoice_item_id),
          amount_before_minor: String(line.amount_minor),
          currency: String(line.currency),
          version: 0,
          updated_at: sqlInstant(now),
        })
        .onConflict('line_id')
        .ignore();
      const d = await trx(DISPUTES).where({ line_id: lineId }).first();
      // another process got there between our check and our insert (the lease normally prevents it)
      if (d.opened_by_type !== actor.type || d.reason !== text.slice(0, 4000)) return null;
      await deps.audit.record(trx, { actor, action: 'dispute.opened', entityType: 'dispute', entityId: toNum(d.id), details: { lineId, reason: text, override: now >= closesAt ? overrideReason : null, amountMinor: String(line.amount_minor) } }, now);
      await deps.outbox.enqueue(trx, disputeEmails({ disputeId: toNum(d.id), what: 'opened', client, line, amountBeforeMinor: toBig(line.amount_minor), amountAfterMinor: null, currency: String(line.currency), newDueDate: null, reason: text }));
      return d;
    });
    if (!inserted) {
      const d = await knex(DISPUTES).where({ line_id: lineId }).first();
      return { ok: false, code: 'ALREADY_DISPUTED', message: who === 'admin' ? ADMIN_DISPUTE_REFUSALS.alreadyDisputed(toNum(d.id), disputeStateWord(String(d.state))) : DISPUTE_REFUSALS[textLanguage(localeForClient(client.language))].alreadyDisputed, details: { disputeId: toNum(d.id) } };
    }
    const id = toNum(inserted.id);
    try {
      await hold(id);
    } catch (err) {
      // The dispute stands; the hold is finished by resume() on the next cron tick.
      deps.log.warn('dispute.hold_failed', { disputeId: id, error: (err as Error).message });
    }
    await sendNow(id);
    return { ok: true, value: view(await row(id)) };
  }

  const service: DisputeService = {
    open(input) {
      return exclusive(`dispute-line:${input.lineId}`, () => openNow(input));
    },

    async resolve({ disputeId, to, actor, adjustment, note, expectedVersion, settlement }) {
      const d = await row(disputeId);
      if (actor.type === 'client' && toNum(d.client_id) !== Number(actor.id)) throw notFound(`dispute ${disputeId} does not exist`);
      const check = checkTransition(parseDisputeState(d.state), to, actorOf(actor));
      if (!check.ok) return { ok: false, code: check.code, message: check.message };
      if (d.resolving_to) return { ok: false, code: 'CONFLICT', message: `the dispute is already being ${d.resolving_to}` };
      // A hold state changed by hand stops the decision here, before it is claimed, not half-way.
      parseHoldState(d.hold_state);
      if (to === 'adjusted' && !adjustment) throw invalidInput('an adjustment needs a new amount: precommit, a share, or an amount');
      let after: bigint | null = null;
      let rerated: StoredRerate | null = null;
      if (to === 'adjusted') {
        const a = await adjustedAmount(d, adjustment!);
        if (!a.ok) return a;
        after = a.value.amountMinor;
        rerated = a.value.rerated ?? null;
      }
      const now = deps.clock.now();
      // Claiming the step: only one request moves an open dispute on; the other gets a conflict.
      const claimed = await knex(DISPUTES)
        .where({ id: disputeId, state: 'open' })
        .whereNull('resolving_to')
        .andWhere((q) => (expectedVersion === undefined ? q : q.where('version', expectedVersion)))
        .update({
          resolving_to: to,
          amount_after_minor: after === null ? null : String(after),
          // the rates of a re-rating are kept with the decision: the line's new text names them
          resolution: JSON.stringify({ adjustment: adjustment ?? null, note: note ?? null, rerated }),
          resolved_by_type: actor.type,
          resolved_by_id: actor.id,
          new_due_date: addDays(today(), dueDays),
          settlement: settlement ?? null,
          version: knex.raw('version + 1'),
          updated_at: sqlInstant(now),
        });
      if (claimed !== 1) {
        const current = await row(disputeId);
        return { ok: false, code: 'CONFLICT', message: `someone else changed the dispute first (it is now ${current.resolving_to ? `being ${current.resolving_to}` : current.state})`, details: { version: toNum(current.version) } };
      }
      try {
        await carryOut(disputeId);
      } catch (err) {
        deps.log.warn('dispute.resolution_interrupted', { disputeId, error: (err as Error).message });
        throw new ModuleError('UPSTREAM', `the decision is recorded, but the panel did not take it all yet (${(err as Error).message}); it is retried automatically`);
      }
      return { ok: true, value: view(await row(disputeId)) };
    },

    async preview(disputeId, adjustment) {
      const d = await row(disputeId);
      const a = await adjustedAmount(d, adjustment);
      if (!a.ok) throw new ModuleError('INVALID_INPUT', a.message);
      return { amountMinor: a.value.amountMinor, currency: String(d.currency), explanation: a.value.explanation };
    },

    async get(disputeId, opts = {}) {
      const r = await row(disputeId);
      if (opts.clientId !== undefined && toNum(r.client_id) !== opts.clientId) throw notFound(`dispute ${disputeId} does not exist`);
      return view(r);
    },

    async forLine(lineId) {
      const r = await knex(DISPUTES).where({ line_id: lineId }).first();
      return r ? view(r) : null;
    },

    async resume() {
      const stuck = await knex(DISPUTES)
        .where({ hold_state: 'holding' })
        .orWhereNotNull('resolving_to')
        .select('id', 'resolving_to')
        .limit(500);
      let resumed = 0;
      let failed = 0;
      for (const s of stuck) {
        try {
          if (s.resolving_to) await carryOut(toNum(s.id));
          else await hold(toNum(s.id));
          resumed++;
        } catch (err) {
          failed++;
          deps.log.warn('dispute.resume_failed', { disputeId: toNum(s.id), error: (err as Error).message });
        }
      }
      return { resumed, failed };
    },

    async openForClient(clientId) {
      const rows = await knex(`${DISPUTES} as d`).join(`${LINES} as l`, 'l.id', 'd.line_id').where({ 'd.client_id': clientId, 'd.state': 'open' }).select('d.id', 'd.line_id', 'l.description', 'l.amount_minor', 'l.currency').orderBy('d.id');
      return rows.map((r) => ({ disputeId: toNum(r.id), lineId: toNum(r.line_id), description: String(r.description), amountMinor: toBig(r.amount_minor), currency: String(r.currency) }));
    },

    async heldItemsOnInvoice(invoiceId) {
      const rows = await knex(`${DISPUTES} as d`)
        .join(`${LINES} as l`, 'l.id', 'd.line_id')
        .where('d.state', 'open')
        .andWhere((q) => q.where('d.original_invoice_id', invoiceId).orWhere('d.held_invoice_id', invoiceId))
        .select('l.ref_code', 'l.amount_minor', 'l.description');
      if (rows.length === 0) return [];
      const inv = await deps.panel.getInvoice(invoiceId);
      return rows.flatMap((r) => {
        const item = inv.items.find((i) => i.description.includes(refPattern(String(r.ref_code))));
        return item ? [{ itemId: item.id, amountMinor: toBig(r.amount_minor), panelAmount: item.amount, description: String(r.description) }] : [];
      });
    },
  };
  return service;
}

/**
 * What the client (in their language) and the admin are told about a dispute: opened, or how it
 * was resolved. Built from what the change itself holds, in its transaction.
 */
export function disputeEmails(input: {
  disputeId: number;
  what: 'opened' | Resolution;
  client: PanelClient;
  line: Record<string, unknown>;
  amountBeforeMinor: bigint;
  amountAfterMinor: bigint | null;
  currency: string;
  newDueDate: string | null;
  reason: string;
  /** what went to the client's account credit (a paid line waived or reduced) */
  creditedMinor?: bigint | null;
  /** the line's text after the decision */
  newText?: string;
}): OutboxEmail[] {
  const { disputeId, what, client, line } = input;
  const locale = localeForClient(client.language);
  const nl = textLanguage(locale) === 'nl';
  const ref = String(line.ref_code);
  const words = DISPUTE_MAIL[textLanguage(locale)];
  const own = disputeText(input, nl ? locale : 'en-GB');
  const toAdmin = disputeText(input, 'en-GB', 'admin');
  const kind = `dispute_${what}`;
  const greeting = words.greeting(client.firstName);
  const signOff = words.signOff;
  const lineText = input.newText ?? String(line.description);
  return [
    {
      key: `dispute:${disputeId}:${what}:client`,
      kind,
      to: { client: { clientId: client.id, customType: 'product', relatedId: toNum(line.service_id) } },
      subject: words.subject(ref),
      html: `<p>${escapeHtml(greeting)}</p><p>${escapeHtml(own)}</p><p>${escapeHtml(lineText)}</p><p>${escapeHtml(signOff)}</p>`,
    },
    {
      key: `dispute:${disputeId}:${what}:admin`,
      kind,
      to: { admin: true },
      subject: `Overusage dispute ${disputeId} ${what}: ${client.firstName} ${client.lastName}, ${ref}`,
      // the admin reads English, with English amounts and dates; what the client was sent is quoted as sent
      html: `<p>${escapeHtml(toAdmin)}</p><p>Reason given: ${escapeHtml(input.reason)}</p>${nl ? `<p>The client was told (in Dutch): ${escapeHtml(own)}</p>` : ''}`,
    },
  ];
}

/** A dispute's state as a word for people (never the stored identifier). */
function disputeStateWord(state: string): string {
  return ({ open: 'open', upheld: 'upheld', waived: 'waived', adjusted: 'adjusted', withdrawn: 'withdrawn' } as Record<string, string>)[state] ?? 'decided';
}

/** One dispute email's sentence in a locale (the admin's: English, about the client), from the decision's own figures. */
function disputeText(input: Parameters<typeof disputeEmails>[0], locale: string, reader: 'client' | 'admin' = 'client'): string {
  const amount = (m: bigint) => formatAmount(m, input.currency, locale);
  const figures: DisputeMailFigures = {
    ref: String(input.line.ref_code),
    before: amount(input.amountBeforeMinor),
    after: amount(input.amountAfterMinor ?? 0n),
    due: input.newDueDate ? formatDay(input.newDueDate, locale) : '',
    credited: input.creditedMinor ? amount(input.creditedMinor) : null,
  };
  return DISPUTE_MAIL[reader === 'admin' ? 'admin' : textLanguage(locale)][input.what](figures);
}
