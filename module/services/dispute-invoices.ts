import type { Resolution } from '../domain/dispute-state.js';
import { givenBackMinor, INVOICE_NOTES, withLineNote } from '../domain/dispute-text.js';
import {
  describeAdjustedLine,
  describeWaivedLine,
  formatAmount,
  textLanguage,
  type Rerated,
} from '../domain/line-text.js';
import { isNotOwed, isOwedUnpaid } from '../domain/invoice-status.js';
import type { LineStatus } from '../domain/line-status.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { DisputeRecord, StoredRerate } from '../adapters/dispute-store.js';
import { panelHundredths, type PanelInvoice } from '../adapters/panel-api.js';
import type { DisputeContext } from './dispute-context.js';
import { lateFeeOffHeld } from './late-fee-share.js';
import { settleAtZero } from './invoice-settle.js';
import { refPattern } from './line-placing.js';

/**
 * What a decision does to the invoices: the held draft published (upheld, adjusted, withdrawn) or
 * cancelled (waived), and the invoice the line came from told what was decided — each in the
 * client's language, each idempotent (a resumed step finds it done and changes nothing).
 */

/** What a paid line's decision gave back, and how. */
export type SettledBack = { minor: bigint; how: 'credit' | 'refund'; creditNote: number | null } | null;

/** The line's text after a decision: adjusted or waived say so; upheld and withdrawn keep it. */
export function decidedText(
  d: DisputeRecord,
  to: Resolution,
  billedText: string,
  after: bigint,
  locale: string,
): string {
  if (to === 'adjusted') {
    const r = d.resolution?.rerated ?? null;
    const rerated = r
      ? {
          from: r.from,
          to: r.to,
          exact: r.exact,
          ...(r.fromMinor && r.toMinor ? { fromMinor: BigInt(r.fromMinor), toMinor: BigInt(r.toMinor) } : {}),
          ...reratedParts(r),
        }
      : null;
    return describeAdjustedLine(billedText, { currency: d.currency, afterMinor: after, rerated }, locale);
  }
  if (to === 'waived')
    return describeWaivedLine(billedText, { currency: d.currency, beforeMinor: d.amountBeforeMinor }, locale);
  return billedText;
}

/** The figures a re-rating changed besides the rate (cap, pool part, upgrade credit, a correction's period amount), as bigints for the line's text. */
function reratedParts(r: StoredRerate): Pick<Rerated, 'cap' | 'pool' | 'upgrade' | 'correction'> {
  const big = BigInt;
  return {
    ...(r.cap ? { cap: { minor: big(r.cap.minor), from: r.cap.from, to: r.cap.to } } : {}),
    ...(r.pool
      ? {
          pool: {
            fromMinor: big(r.pool.fromMinor),
            toMinor: big(r.pool.toMinor),
            partFromMinor: big(r.pool.partFromMinor),
            partToMinor: big(r.pool.partToMinor),
          },
        }
      : {}),
    ...(r.upgrade
      ? {
          upgrade: {
            percent: r.upgrade.percent,
            fromMinor: big(r.upgrade.fromMinor),
            toMinor: big(r.upgrade.toMinor),
          },
        }
      : {}),
    ...(r.correction
      ? { correction: { fromMinor: big(r.correction.fromMinor), toMinor: big(r.correction.toMinor) } }
      : {}),
  };
}

/**
 * The item of the held invoice that carries the line: found by its [OU-…] text, the recorded item
 * first. An item whose id is recorded but which no longer names the line (the admin replaced it and
 * the panel gave its id to another item) is not the line, and the line re-added under another id is.
 */
export function heldItemOf(
  held: PanelInvoice,
  itemId: number | null,
  ref: string,
): PanelInvoice['items'][number] | undefined {
  const named = held.items.filter((i) => i.description.includes(refPattern(ref)));
  return named.find((i) => i.id === itemId) ?? named[0];
}

/**
 * What a paid line's decision gave back (VAT included), how, and the credit note: nothing for a
 * held line the client never paid (no credit note on it).
 */
export function settledBack(d: DisputeRecord, to: Resolution, after: bigint): SettledBack {
  if (to !== 'waived' && to !== 'adjusted') return null;
  if (d.holdState !== 'refund_decision' && d.creditNoteInvoiceId === null) return null;
  const back = givenBackMinor(d, to === 'waived' ? 0n : after);
  return back > 0n
    ? { minor: back, how: d.settlement === 'refund' ? 'refund' : 'credit', creditNote: d.creditNoteInvoiceId }
    : null;
}

/** The decision in the client's words, with the money: "reduced from €500.00 to €350.00 after your dispute; billed on invoice #12". */
export function decisionWords(
  to: Resolution,
  d: DisputeRecord,
  after: bigint,
  locale: string,
  back: SettledBack,
  naming = true,
): string {
  const w = INVOICE_NOTES[textLanguage(locale)];
  const money = (minor: bigint) => formatAmount(minor, d.currency, locale);
  const before = d.amountBeforeMinor;
  const gone = to === 'waived' || (to === 'adjusted' && after === 0n);
  const what = gone
    ? w.waived(money(before))
    : to === 'adjusted'
      ? w.reduced(money(before), money(after))
      : to === 'withdrawn'
        ? w.withdrawn(money(after))
        : w.upheld(money(after));
  const where =
    naming && !gone && d.holdState === 'held' && d.heldInvoiceId !== null
      ? `; ${w.billedOn(d.heldInvoiceId)}`
      : '';
  const returned = back
    ? `; ${back.how === 'refund' ? w.refunded(money(back.minor)) : w.credited(money(back.minor))}${back.creditNote ? ` (${w.creditNote(back.creditNote)})` : ''}`
    : '';
  return `${what}${where}${returned}`;
}

/**
 * The invoice the line came from says what was decided, in place of what it said before. Idempotent.
 * One cancelled or refunded (the line owed on the held invoice the admin published) is left as it is.
 */
export async function noteOnOriginal(
  ctx: DisputeContext,
  d: DisputeRecord,
  ref: string,
  what: string,
  locale: string,
): Promise<void> {
  const original = await ctx.deps.panel.getInvoice(d.originalInvoiceId);
  if (isNotOwed(original.status)) return;
  const notes = withLineNote(original.notes, ref, INVOICE_NOTES[textLanguage(locale)].decided(ref, what));
  if (notes !== original.notes) await ctx.deps.panel.updateInvoice({ invoiceId: original.invoiceId, notes });
}

/**
 * The held draft after the decision; gives the line's status. A draft already published or cancelled
 * is left as it is, except for a waiver of a line still owed on it: a held invoice the admin published
 * (Unpaid, Collections, Payment Pending) would otherwise still bill the waived line.
 */
export async function decideHeldDraft(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: Resolution,
  x: { ref: string; text: string; after: bigint; locale: string },
): Promise<LineStatus> {
  const held = await ctx.deps.panel.getInvoice(d.heldInvoiceId!);
  const item = heldItemOf(held, d.heldItemId, x.ref);
  if (to === 'waived') {
    // cancelled at 0.00 with the waived text: the client's invoice list shows nothing still owed, and
    // the invoice, which the client can open once cancelled, says it was waived (not "held")
    const waived = INVOICE_NOTES[textLanguage(x.locale)].published(
      x.ref,
      d.originalInvoiceId,
      decisionWords(to, d, x.after, x.locale, null, false),
    );
    await releaseHeld(ctx, d, held, item, x.text, withLineNote(held.notes, x.ref, waived));
    return 'waived';
  }
  if (held.status === 'Draft') await publishHeld(ctx, d, to, held, item, x);
  return 'placed';
}

/**
 * The held line let go (waived, or paid on the renewal meanwhile): the item at 0.00 with the given
 * text (and the notes, when given). A draft is cancelled; a held invoice the admin published (Unpaid, Collections, Payment
 * Pending) is cancelled too when nothing else is billed on it, else only the item goes to 0.00, or
 * it would still bill the line; a late fee on it loses the part that fell on the line
 * (late-fee-share.ts lateFeeOffHeld). A held invoice paid or closed is left as it is.
 */
export async function releaseHeld(
  ctx: DisputeContext,
  d: DisputeRecord,
  held: PanelInvoice,
  item: PanelInvoice['items'][number] | undefined,
  text: string,
  notes?: string,
): Promise<void> {
  const { deps } = ctx;
  const zero = item && {
    id: item.id,
    description: text,
    amount: moneyToDecimalString({ amountMinor: 0n, currency: d.currency }),
    taxed: item.taxed,
  };
  const published = zero !== undefined && isOwedUnpaid(held.status);
  const fee = published
    ? await lateFeeOffHeld(deps, { disputeId: d.id, invoice: held, lineItem: item! }, deps.clock.now())
    : { change: [] };
  const changed = new Map([zero, ...fee.change].flatMap((c) => (c ? [[c.id, c.amount]] : [])));
  const nothingElse = held.items.every((i) => Number(changed.get(i.id) ?? i.amount) === 0);
  const update = {
    invoiceId: held.invoiceId,
    ...(zero ? { changeItems: [zero, ...fee.change] } : {}),
    ...(notes !== undefined && notes !== held.notes ? { notes } : {}),
  };
  // something paid on it stays paid: not cancelled (the payment would be lost with the invoice) but
  // settled, what was paid beyond what it still bills going to the client's credit (invoice-settle.ts)
  const paidSome = held.transactions.some((t) => panelHundredths(t.amountIn) > 0n);
  if (held.status === 'Draft' || (published && nothingElse && !paidSome))
    await deps.panel.updateInvoice({ ...update, status: 'Cancelled' });
  else if (published) {
    await deps.panel.updateInvoice(update);
    await settleAtZero(
      deps.panel,
      await deps.panel.getInvoice(held.invoiceId),
      `the line of dispute ${d.id}`,
      { now: deps.clock.now(), zone: deps.zone },
      { knex: deps.knex, audit: deps.audit },
    );
  }
}

/** The held draft, upheld or adjusted: the decided text and amount, a new due date, its note, then published (cancelled at 0.00). */
async function publishHeld(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: Resolution,
  held: PanelInvoice,
  item: PanelInvoice['items'][number] | undefined,
  x: { ref: string; text: string; after: bigint; locale: string },
): Promise<void> {
  const published = INVOICE_NOTES[textLanguage(x.locale)].published(
    x.ref,
    d.originalInvoiceId,
    decisionWords(to, d, x.after, x.locale, null, false),
  );
  await ctx.deps.panel.updateInvoice({
    invoiceId: held.invoiceId,
    dueDate: d.newDueDate!,
    date: ctx.today(),
    notes: withLineNote(held.notes, x.ref, published),
    ...(item
      ? {
          changeItems: [
            {
              id: item.id,
              description: x.text,
              amount: moneyToDecimalString({ amountMinor: x.after, currency: d.currency }),
              taxed: item.taxed,
            },
          ],
        }
      : {}),
    ...(x.after === 0n && to === 'adjusted' ? { status: 'Cancelled' as const } : { publish: true }),
  });
}
