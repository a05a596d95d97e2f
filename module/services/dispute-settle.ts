import { DISPUTE_CREDIT, isDisputeCredit } from '../domain/dispute-text.js';
import { hundredthsToMinor } from '../domain/credit-use.js';
import { formatAmount, textLanguage } from '../domain/line-text.js';
import type { DisputedLine, DisputeRecord } from '../adapters/dispute-store.js';
import { creditLogged, panelAmount, panelHundredths } from '../adapters/panel-api.js';
import type { DisputeContext } from './dispute-context.js';
import { creditNote } from './dispute-credit-note.js';
import { heldItemOf } from './dispute-invoices.js';

/**
 * A line paid before its dispute, waived or reduced: a credit note corrects the paid invoice
 * (reversing the VAT on the difference), and what it gives back, VAT included, goes to the client's
 * account credit (or, when the admin chose a refund, is recorded for the admin to pay back).
 * Gives what was credited, or null.
 */
export async function settlePaid(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: 'waived' | 'adjusted',
  x: { line: DisputedLine; after: bigint; locale: string },
): Promise<bigint | null> {
  const { deps, store } = ctx;
  const back = d.amountBeforeMinor - (to === 'waived' ? 0n : x.after);
  if (back <= 0n) return null;
  const note = await creditNote(ctx, d, to, { ...x, back });
  const gross = hundredthsToMinor(note.grossHundredths, d.currency);
  if (d.creditNoteInvoiceId === null)
    await store.update(d.id, { creditNoteInvoiceId: note.invoiceId, creditedMinor: gross }, deps.clock.now());
  if (d.settlement === 'refund') return null;
  if (d.settlement !== 'credited') {
    // The intent is recorded before the panel is asked: after a crash between the two, the
    // client's credit log says whether the credit went through (found by the line's credit
    // reference, in any language, or by the English form of earlier versions), so it is never given twice.
    const given =
      d.settlement === 'crediting' &&
      (await creditLogged(deps.panel, d.clientId, (text) =>
        isDisputeCredit(text, { disputeId: d.id, decision: to, ref: x.line.refCode }),
      ));
    if (d.settlement !== 'crediting') await store.update(d.id, { settlement: 'crediting' }, deps.clock.now());
    if (!given)
      await deps.panel.call('AddCredit', {
        clientid: d.clientId,
        description: creditDescription(d, to, x),
        amount: panelAmount(note.grossHundredths),
      });
    await store.update(d.id, { settlement: 'credited' }, deps.clock.now());
  }
  return gross;
}

/**
 * A held line the client paid on the held invoice the admin published, then waived or reduced: the
 * money came in all the same, so it is settled as a paid line (a credit note correcting the held
 * invoice, then credit or refund), never kept. Null, settling nothing, when the held invoice is not
 * Paid or no longer carries the line; once its credit note is recorded, it goes on from there.
 */
export async function settlePaidOnHeld(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: 'waived' | 'adjusted',
  x: { line: DisputedLine; after: bigint; locale: string },
): Promise<bigint | null> {
  if (d.heldInvoiceId === null) return null;
  if (d.creditNoteInvoiceId === null && !(await paidOnPublishedHeld(ctx, d, x.line.refCode))) return null;
  return settlePaid(ctx, d, to, x);
}

/**
 * Whether a held line was paid on its held invoice the admin published: that invoice Paid and
 * still carrying the line at its amount. A waiver or reduction then gives money back, as for a line paid before
 * its dispute, so the admin chooses credit or refund the same way.
 */
export async function paidOnPublishedHeld(
  ctx: DisputeContext,
  d: DisputeRecord,
  ref: string,
): Promise<boolean> {
  if (d.holdState !== 'held' || d.heldInvoiceId === null) return false;
  const held = await ctx.deps.panel.getInvoice(d.heldInvoiceId);
  const item = heldItemOf(held, d.heldItemId, ref);
  // a line the waiver already let go (0.00) on an invoice paid in part and then settled: what was
  // paid went to credit as its overpayment (releaseHeld), so a resumed decision gives nothing again
  return held.status === 'Paid' && item !== undefined && panelHundredths(item.amount) > 0n;
}

/** The credit as the client reads it in their credit log, in their language. */
function creditDescription(
  d: DisputeRecord,
  to: 'waived' | 'adjusted',
  x: { line: DisputedLine; after: bigint; locale: string },
): string {
  const words = DISPUTE_CREDIT[textLanguage(x.locale)];
  const money = (minor: bigint) => formatAmount(minor, d.currency, x.locale);
  return to === 'waived'
    ? words.waived(x.line.refCode, money(d.amountBeforeMinor))
    : words.adjusted(x.line.refCode, money(d.amountBeforeMinor), money(x.after));
}
