import { INVOICE_NOTES, withLineNote } from '../domain/dispute-text.js';
import { holdAfterDecision } from '../domain/hold-state.js';
import { isNotOwed, isOwedUnpaid } from '../domain/invoice-status.js';
import { localeForClient, textLanguage } from '../domain/line-text.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { DisputeRecord, VoidedBy } from '../adapters/dispute-store.js';
import { sendNow, type DisputeContext } from './dispute-context.js';
import { findCreditNote } from './dispute-credit-note.js';
import { heldItemOf } from './dispute-invoices.js';
import { disputeEmails } from './dispute-notify.js';

/**
 * Closing a dispute with nothing to settle: its line's invoice was cancelled or refunded, so the
 * line is not owed (docs/billing-rules.md, "Cancelled and refunded invoices"). No credit, no credit
 * note, no refund; a held draft is cancelled at 0.00, never published. Claimed like a decision
 * (resolving to `voided`), so a failure half-way is finished by `resume()`.
 */

/**
 * The panel says an invoice was cancelled or refunded (InvoiceCancelled, InvoiceRefunded): every
 * open dispute nobody is deciding whose line was billed on it, or is held on it, is voided. A
 * dispute being decided is left alone (its own waiver cancels the held draft, and fires this hook),
 * and the status is read back first: a hook replayed late must not void a dispute of an invoice
 * since reopened. A dispute whose line is owed on its held invoice the admin published stays open,
 * for the admin to decide. Gives how many were voided.
 */
export async function voidForInvoice(ctx: DisputeContext, invoiceId: number): Promise<number> {
  const ids = await ctx.store.undecidedOnInvoice(invoiceId);
  if (ids.length === 0) return 0;
  const inv = await ctx.deps.panel.getInvoice(invoiceId);
  if (!isNotOwed(inv.status)) return 0;
  let voided = 0;
  for (const id of ids)
    if (
      await ctx.exclusive(
        `dispute:${id}`,
        async () =>
          !(await owedOnPublishedHeld(ctx, await ctx.dispute(id))) &&
          voidNow(ctx, id, { invoiceId: inv.invoiceId, status: inv.status as VoidedBy['status'] }),
      )
    )
      voided++;
  return voided;
}

/**
 * The invoice the line was billed on, when it is now Cancelled or Refunded: read before a step
 * moves money, since the panel's hook may have been missed (the service was down).
 */
export async function notOwedOriginal(ctx: DisputeContext, d: DisputeRecord): Promise<VoidedBy | null> {
  const inv = await ctx.deps.panel.getInvoice(d.originalInvoiceId);
  return isNotOwed(inv.status)
    ? { invoiceId: inv.invoiceId, status: inv.status as VoidedBy['status'] }
    : null;
}

/**
 * The line owed on its held invoice, which the admin published (Unpaid, Collections, Payment Pending
 * or Paid) and which still carries it: the original invoice cancelled or refunded then does not void
 * the dispute (docs/billing-rules.md, "Cancelled and refunded invoices"). A held invoice itself
 * cancelled or refunded, or still a draft, does not keep it owed.
 */
export async function owedOnPublishedHeld(ctx: DisputeContext, d: DisputeRecord): Promise<boolean> {
  if (d.heldInvoiceId === null) return false;
  const held = await ctx.deps.panel.getInvoice(d.heldInvoiceId);
  if (!isOwedUnpaid(held.status) && held.status !== 'Paid') return false;
  // the line's item as the decision finds it: by its [OU-…] text, not by a recorded id alone
  const line = (await ctx.store.line(d.lineId))!;
  return heldItemOf(held, d.heldItemId, line.refCode) !== undefined;
}

/**
 * A decision claimed but not carried out, on a line whose invoice was since cancelled or refunded:
 * voided instead, as long as no money moved yet (no credit note, recorded or found in the panel, no
 * credit, the held draft still a draft). Gives whether it did; call under the dispute's lease.
 */
export async function voidInsteadOfDecision(ctx: DisputeContext, d: DisputeRecord): Promise<boolean> {
  if (d.creditNoteInvoiceId !== null || d.settlement === 'crediting' || d.settlement === 'credited')
    return false;
  const by = await notOwedOriginal(ctx, d);
  if (!by) return false;
  // a paid line's credit note made but not yet recorded (a failure in between) is given all the same
  if (d.holdState === 'refund_decision') {
    const line = (await ctx.store.line(d.lineId))!;
    if ((await findCreditNote(ctx, d.clientId, line.refCode)) !== null) return false;
  }
  if (d.heldInvoiceId !== null && (await ctx.deps.panel.getInvoice(d.heldInvoiceId)).status !== 'Draft')
    return false;
  if (!(await ctx.store.reclaimAsVoided(d.id, by, ctx.deps.clock.now()))) return false;
  await carryOutVoid(ctx, await ctx.dispute(d.id));
  return true;
}

/** Claims the voiding of an open dispute nobody is deciding and carries it out; false when it was not open. Call under the dispute's lease. */
export async function voidNow(ctx: DisputeContext, disputeId: number, by: VoidedBy): Promise<boolean> {
  const claimed = await ctx.store.claim(
    disputeId,
    {
      to: 'voided',
      amountAfterMinor: null,
      resolution: { adjustment: null, note: null, rerated: null, voidedBy: by },
      resolvedBy: { type: 'system', id: null },
      newDueDate: null,
      settlement: null,
    },
    ctx.deps.clock.now(),
  );
  if (!claimed) return false;
  await carryOutVoid(ctx, await ctx.dispute(disputeId));
  return true;
}

/** A claimed voiding carried out: the held draft cancelled, the invoice the line came from told, the dispute closed, audited and told. Idempotent. */
export async function carryOutVoid(ctx: DisputeContext, d: DisputeRecord): Promise<void> {
  const { deps, store } = ctx;
  const by = d.voidedBy!;
  const line = (await store.line(d.lineId))!;
  const client = await deps.panel.getClientsDetails(d.clientId);
  const locale = localeForClient(client.language);
  const words = INVOICE_NOTES[textLanguage(locale)];
  const refunded = by.status === 'Refunded';
  await cancelHeldDraft(ctx, d, line.refCode);
  const original = await deps.panel.getInvoice(d.originalInvoiceId);
  const notes = withLineNote(
    original.notes,
    line.refCode,
    words.decided(line.refCode, words.voided(by.invoiceId, refunded)),
  );
  if (notes !== original.notes) await deps.panel.updateInvoice({ invoiceId: original.invoiceId, notes });
  const now = () => deps.clock.now();
  await store.transaction(async (tx, trx) => {
    if (!(await tx.finish(d.id, 'voided', holdAfterDecision(d.holdState, 'voided'), now()))) return;
    // a held line sits on the cancelled draft, billed as it was; a placed one stays on its invoice
    if (line.status === 'held')
      await tx.decideLine(d.lineId, {
        status: 'placed',
        amountMinor: line.amountMinor,
        description: line.description,
      });
    await deps.outbox.enqueue(
      trx,
      disputeEmails({
        disputeId: d.id,
        what: 'voided',
        client,
        line,
        amountBeforeMinor: d.amountBeforeMinor,
        amountAfterMinor: null,
        currency: d.currency,
        newDueDate: null,
        reason: d.reason,
        voidedBy: by,
      }),
    );
    await deps.audit.record(
      trx,
      {
        actor: { type: 'system', id: null },
        action: 'dispute.voided',
        entityType: 'dispute',
        entityId: d.id,
        details: {
          lineId: d.lineId,
          invoiceId: by.invoiceId,
          invoiceStatus: by.status,
          amountBeforeMinor: String(d.amountBeforeMinor),
          currency: d.currency,
          heldInvoiceId: d.heldInvoiceId,
        },
      },
      now(),
    );
  });
  await sendNow(ctx, d.id);
}

/** The held draft, while still a draft (a hold not yet finished included), cancelled at 0.00: the client's invoice list shows nothing owed for a line that is not. */
async function cancelHeldDraft(ctx: DisputeContext, d: DisputeRecord, ref: string): Promise<void> {
  const { deps } = ctx;
  if (d.heldInvoiceId !== null) {
    const held = await deps.panel.getInvoice(d.heldInvoiceId);
    const item = heldItemOf(held, d.heldItemId, ref);
    if (held.status === 'Draft')
      await deps.panel.updateInvoice({
        invoiceId: held.invoiceId,
        status: 'Cancelled',
        ...(item
          ? {
              changeItems: [
                {
                  id: item.id,
                  description: item.description,
                  amount: moneyToDecimalString({ amountMinor: 0n, currency: d.currency }),
                  taxed: item.taxed,
                },
              ],
            }
          : {}),
      });
  }
}
