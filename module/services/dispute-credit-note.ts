import { CREDIT_NOTE, isCreditNoteOf } from '../domain/dispute-text.js';
import { formatAmount, textLanguage } from '../domain/line-text.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { DisputedLine, DisputeRecord } from '../adapters/dispute-store.js';
import { panelAmount, panelHundredths } from '../adapters/panel-api.js';
import type { DisputeContext } from './dispute-context.js';
import { heldItemOf } from './dispute-invoices.js';
import { lateFeeShareOnPaid } from './late-fee-share.js';

/** A paid line's credit note as the panel has it: its invoice, and what it gives back (VAT included) in the panel's hundredths. */
export interface CreditNote {
  invoiceId: number;
  grossHundredths: bigint;
}

/**
 * The invoice the client paid the line on, which a credit note corrects: the held invoice when the
 * admin published it and the client paid it there, else the invoice the line was billed on.
 */
export const paidOnInvoiceId = (d: DisputeRecord): number =>
  d.holdState === 'held' && d.heldInvoiceId !== null ? d.heldInvoiceId : d.originalInvoiceId;

/**
 * The same invoice once the dispute is decided (its hold then 'released' or 'published'): a line
 * with a held invoice was off its renewal, so it was paid there; one paid before its dispute never
 * got one (refund_decision). Where the admin refunds what the credit note gives back.
 */
export const paidOnInvoiceAfterDecision = (
  d: Pick<DisputeRecord, 'heldInvoiceId' | 'originalInvoiceId'>,
): number => d.heldInvoiceId ?? d.originalInvoiceId;

/**
 * The credit note for a paid line waived or reduced (docs/billing-rules.md, "Credit notes"): a Paid
 * invoice of its own with one negative line of `back`, taxed as the line was on the invoice it
 * corrects and at that invoice's tax rates, so the panel reverses the VAT the client paid on it.
 * Idempotent: the note is found by its id on the dispute, else among the client's latest paid
 * invoices by its credit reference (a crash between creating it and storing the id), else created.
 */
export async function creditNote(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: 'waived' | 'adjusted',
  x: { line: DisputedLine; after: bigint; back: bigint; locale: string },
): Promise<CreditNote> {
  const invoiceId =
    d.creditNoteInvoiceId ??
    (await findCreditNote(ctx, d.clientId, x.line.refCode)) ??
    (await createCreditNote(ctx, d, to, x));
  const note = await ctx.deps.panel.getInvoice(invoiceId);
  // the note's total is negative: what it gives back is its opposite
  return { invoiceId, grossHundredths: -panelHundredths(note.total, 'total') };
}

export async function findCreditNote(
  ctx: DisputeContext,
  clientId: number,
  ref: string,
): Promise<number | null> {
  const { invoices } = await ctx.deps.panel.getInvoices({
    userId: clientId,
    status: 'Paid',
    orderBy: 'id',
    order: 'desc',
    limitNum: 25,
  });
  return invoices.find((i) => isCreditNoteOf(i.notes, ref))?.id ?? null;
}

async function createCreditNote(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: 'waived' | 'adjusted',
  x: { line: DisputedLine; after: bigint; back: bigint; locale: string },
): Promise<number> {
  const { panel } = ctx.deps;
  // the invoice the line was paid on: the renewal, or the held invoice the admin published
  const original = await panel.getInvoice(paidOnInvoiceId(d));
  const item =
    original.invoiceId === d.originalInvoiceId
      ? original.items.find((i) => i.id === d.originalItemId)
      : heldItemOf(original, d.heldItemId, x.line.refCode);
  const taxed = item ? item.taxed : ((await ctx.store.charge(x.line.chargeId))?.taxed ?? true);
  const words = CREDIT_NOTE[textLanguage(x.locale)];
  const money = (minor: bigint) => formatAmount(minor, d.currency, x.locale);
  const ref = x.line.refCode;
  const description =
    to === 'waived'
      ? words.waived(ref, original.invoiceId, money(d.amountBeforeMinor))
      : words.adjusted(ref, original.invoiceId, money(d.amountBeforeMinor), money(x.after));
  // a paid late fee on the invoice the line was paid on (the renewal, or the published held invoice)
  // gives back the part of it that fell on the amount taken off, on the same note
  const fee = await lateFeeShareOnPaid(ctx.deps, original, {
    amount: panelHundredths(moneyToDecimalString({ amountMinor: x.back, currency: d.currency })),
    taxed,
  });
  const today = ctx.today();
  const created = await panel.createInvoice({
    userId: d.clientId,
    status: 'Paid',
    date: today,
    dueDate: today,
    paymentMethod: original.paymentMethod,
    taxRate: original.taxRate,
    taxRate2: original.taxRate2,
    // VAT is named only where the line was charged it: a taxed line on an invoice with a rate above zero
    notes: vatCharged(taxed, original)
      ? words.notes(ref, original.invoiceId)
      : words.notesNoVat(ref, original.invoiceId),
    items: [
      { description, amount: moneyToDecimalString({ amountMinor: -x.back, currency: d.currency }), taxed },
      ...(fee.share > 0n
        ? [
            {
              description: words.lateFee(ref, original.invoiceId),
              amount: panelAmount(-fee.share),
              taxed: fee.taxed,
            },
          ]
        : []),
    ],
    sendInvoice: false,
    autoApplyCredit: false,
  });
  return created.invoiceId;
}

/**
 * Whether the corrected invoice charged VAT on the line: the line taxed, a tax rate above zero
 * ("21.000", not "0.00") and tax on the invoice (none when the panel's tax is switched off).
 */
const vatCharged = (
  taxed: boolean,
  invoice: { taxRate: string; taxRate2: string; tax: string; tax2: string },
): boolean =>
  taxed &&
  [invoice.taxRate, invoice.taxRate2].some((rate) => /[1-9]/.test(rate)) &&
  [invoice.tax, invoice.tax2].some((amount) => /[1-9]/.test(amount));
