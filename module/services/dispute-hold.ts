import { INVOICE_NOTES, withLineNote } from '../domain/dispute-text.js';
import { ModuleError } from '../domain/errors.js';
import { isNotOwed, isOwedUnpaid } from '../domain/invoice-status.js';
import { formatAmount, localeForClient, textLanguage, type TextLanguage } from '../domain/line-text.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { DisputedLine, DisputeRecord } from '../adapters/dispute-store.js';
import type { PanelInvoice } from '../adapters/panel-api.js';
import { addDays } from '../domain/calendar.js';
import type { DisputeContext } from './dispute-context.js';
import { refPattern } from './invoice-lines.js';
import { lateFeeOffRenewal } from './late-fee-share.js';
import { settleAtZero } from './invoice-settle.js';
import { releaseHeld } from './dispute-invoices.js';
import { notOwedOriginal, owedOnPublishedHeld, voidNow } from './dispute-void.js';

/**
 * Holding a disputed line: it moves off the renewal invoice onto a draft invoice of its own, so the
 * rest of the renewal stays payable and goes through dunning as usual, while drafts are never
 * dunned. A line whose invoice was paid (or closed) has nothing to hold back: the admin's decision
 * is then settled as credit or refund. Each step is recorded before the next touches the panel, so
 * a hold a failure interrupted is finished by the next sweep, never done twice.
 */
export const hold = (ctx: DisputeContext, disputeId: number): Promise<void> =>
  ctx.exclusive(`dispute:${disputeId}`, () => holdNow(ctx, disputeId));

export async function holdNow(ctx: DisputeContext, disputeId: number): Promise<void> {
  const { deps, store } = ctx;
  let d = await ctx.dispute(disputeId);
  if (d.holdState !== 'holding') return;
  // its invoice cancelled or refunded (the hook missed): not owed, so nothing to hold, unless the
  // admin published the held draft (owed there: the hold is finished onto it); a decision being
  // carried out checks the same itself
  if (!d.resolvingTo) {
    const by = await notOwedOriginal(ctx, d);
    if (by && !(await owedOnPublishedHeld(ctx, d))) {
      await voidNow(ctx, disputeId, by);
      return;
    }
  }
  const line = (await store.line(d.lineId))!;
  const client = await deps.panel.getClientsDetails(d.clientId);
  const locale = localeForClient(client.language);
  if (d.heldInvoiceId === null) {
    const original = await deps.panel.getInvoice(d.originalInvoiceId);
    const onOriginal = lineItemOf(original, line.refCode) !== undefined;
    if (
      original.status === 'Paid' ||
      (!onOriginal && !isOwedUnpaid(original.status) && original.status !== 'Draft')
    ) {
      // Paid already: nothing to hold back; the admin decides between refund and credit. A line
      // taken off an invoice still owed (Unpaid, Collections, Payment Pending) or a draft was never
      // paid: it is held like one still on it, or a waiver would credit money nobody paid.
      // (docs/billing-rules.md, "Cancelled and refunded invoices": the two other statuses)
      await store.update(disputeId, { holdState: 'refund_decision' }, deps.clock.now());
      await auditRefundDecision(ctx, disputeId, original);
      return;
    }
    const held =
      (await findHeldDraft(ctx, d.clientId, line.refCode)) ??
      (await createHeldDraft(ctx, d, line, textLanguage(locale)));
    await store.update(
      disputeId,
      { heldInvoiceId: held.invoice.invoiceId, heldItemId: held.itemId },
      deps.clock.now(),
    );
    d = await ctx.dispute(disputeId);
  } else if (await paidWhileHolding(ctx, d, line.refCode)) return;
  await leaveOriginal(ctx, d, line, locale);
  await store.transaction(async (tx, trx) => {
    await tx.holdLine(d.lineId, { invoiceId: d.heldInvoiceId!, itemId: d.heldItemId });
    await tx.update(disputeId, { holdState: 'held' }, deps.clock.now());
    await deps.audit.record(
      trx,
      {
        actor: { type: 'system', id: null },
        action: 'dispute.held',
        entityType: 'dispute',
        entityId: disputeId,
        details: {
          from: d.originalInvoiceId,
          heldInvoiceId: d.heldInvoiceId,
          amountMinor: String(line.amountMinor),
        },
      },
      deps.clock.now(),
    );
  });
}

/** The item of an invoice that carries the line with this reference, found by its [OU-…] text. */
const lineItemOf = (invoice: PanelInvoice, ref: string) =>
  invoice.items.find((i) => i.description.includes(refPattern(ref)));

/** The refund-or-credit decision audited, by the system, with the invoice and its status. */
async function auditRefundDecision(
  ctx: DisputeContext,
  disputeId: number,
  original: PanelInvoice,
): Promise<void> {
  await ctx.deps.audit.record(
    ctx.deps.knex,
    {
      actor: { type: 'system', id: null },
      action: 'dispute.refund_decision',
      entityType: 'dispute',
      entityId: disputeId,
      details: { invoiceId: original.invoiceId, status: original.status },
    },
    ctx.deps.clock.now(),
  );
}

/**
 * The renewal paid while a hold was half-way (its draft made and recorded, the line still on the
 * renewal): the client paid the line with it, so it is not held but goes to the refund-or-credit
 * decision (docs/billing-rules.md, "Late fees": a paid invoice's line is not held). The held invoice
 * is let go first, so the panel's InvoiceCancelled does not take it for the dispute's invoice, then
 * its line goes to 0.00: a draft, or one the admin published with nothing else on it, cancelled
 * (the client would otherwise owe the line twice); a paid one left as it is. Gives whether it did.
 */
async function paidWhileHolding(ctx: DisputeContext, d: DisputeRecord, ref: string): Promise<boolean> {
  const { deps } = ctx;
  const original = await deps.panel.getInvoice(d.originalInvoiceId);
  if (original.status !== 'Paid' || lineItemOf(original, ref) === undefined) return false;
  await ctx.store.update(
    d.id,
    { holdState: 'refund_decision', heldInvoiceId: null, heldItemId: null },
    deps.clock.now(),
  );
  await auditRefundDecision(ctx, d.id, original);
  const held = await deps.panel.getInvoice(d.heldInvoiceId!);
  const item = lineItemOf(held, ref);
  await releaseHeld(ctx, d, held, item, item?.description ?? '');
  return true;
}

/** Finds the draft invoice that holds a line, after a crash between creating it and recording it. */
async function findHeldDraft(
  ctx: DisputeContext,
  clientId: number,
  ref: string,
): Promise<{ invoice: PanelInvoice; itemId: number } | null> {
  const { invoices } = await ctx.deps.panel.getInvoices({
    userId: clientId,
    status: 'Draft',
    limitNum: 25,
    orderBy: 'id',
    order: 'desc',
  });
  for (const s of invoices) {
    const inv = await ctx.deps.panel.getInvoice(s.id);
    const item = inv.items.find((i) => i.description.includes(refPattern(ref)));
    if (item) return { invoice: inv, itemId: item.id };
  }
  return null;
}

/** A draft invoice of the line's own, with the line's text and amount, in the client's language. */
async function createHeldDraft(
  ctx: DisputeContext,
  d: DisputeRecord,
  line: DisputedLine,
  lang: TextLanguage,
): Promise<{ invoice: PanelInvoice; itemId: number }> {
  const charge = await ctx.store.charge(line.chargeId);
  const created = await ctx.deps.panel.createInvoice({
    userId: d.clientId,
    draft: true,
    date: ctx.today(),
    dueDate: addDays(ctx.today(), ctx.dueDays),
    notes: INVOICE_NOTES[lang].heldDraft(line.refCode, d.originalInvoiceId),
    items: [
      {
        description: `${line.description}${INVOICE_NOTES[lang].heldSuffix}`,
        amount: moneyToDecimalString({ amountMinor: line.amountMinor, currency: line.currency }),
        taxed: charge?.taxed ?? true,
      },
    ],
  });
  const inv = await ctx.deps.panel.getInvoice(created.invoiceId);
  const item = inv.items.find((i) => i.description.includes(refPattern(line.refCode)));
  if (!item)
    throw new ModuleError(
      'UPSTREAM',
      `the held invoice ${created.invoiceId} does not show line ${line.refCode}`,
    );
  return { invoice: inv, itemId: item.id };
}

/**
 * Off the original invoice (if it is still there): what remains is what dunning sees; its notes say
 * why the line is gone. A renewal cancelled or refunded meanwhile (the hold is finished onto the held
 * invoice the admin published) is left as it is: it ended the debt as it stood, and the module does
 * not rewrite a closed invoice.
 */
async function leaveOriginal(
  ctx: DisputeContext,
  d: DisputeRecord,
  line: DisputedLine,
  locale: string,
): Promise<void> {
  const { deps } = ctx;
  const original = await deps.panel.getInvoice(d.originalInvoiceId);
  if (isNotOwed(original.status)) return;
  const stale = original.items
    .filter((i) => i.description.includes(refPattern(line.refCode)))
    .map((i) => i.id);
  // the draft it waits on is not named: the client cannot open it
  const notes = withLineNote(
    original.notes,
    line.refCode,
    INVOICE_NOTES[textLanguage(locale)].onHold(
      line.refCode,
      formatAmount(line.amountMinor, line.currency, locale),
    ),
  );
  // a late fee already on the invoice counted the line: its share comes off the fee in the same update
  const fee = stale.length
    ? await lateFeeOffRenewal(
        { knex: deps.knex, panel: deps.panel, audit: deps.audit, zone: deps.zone },
        {
          disputeId: d.id,
          clientId: d.clientId,
          ref: line.refCode,
          invoice: original,
          heldItemIds: stale,
        },
        deps.clock.now(),
      )
    : { change: [] };
  const changed = stale.length > 0 || fee.change.length > 0 || notes !== original.notes;
  if (changed)
    await deps.panel.updateInvoice({
      invoiceId: original.invoiceId,
      ...(stale.length ? { deleteLineIds: stale } : {}),
      ...(fee.change.length ? { changeItems: fee.change } : {}),
      ...(notes !== original.notes ? { notes } : {}),
    });
  // the rest paid already (the hosting paid before the dispute; a fee that was all the line's at
  // 0.00): 0.00 left, settled so the renewal moves the Next Due Date on (a resumed hold checks again)
  const after = changed ? await deps.panel.getInvoice(original.invoiceId) : original;
  await settleAtZero(
    deps.panel,
    after,
    `held line ${line.refCode}`,
    { now: deps.clock.now(), zone: deps.zone },
    { knex: deps.knex, audit: deps.audit },
  );
}
