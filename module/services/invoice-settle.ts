import type { DateTime } from 'luxon';
import { panelHundredths, type PanelApi, type PanelInvoice } from '../adapters/panel-api.js';

/**
 * An invoice the client paid all of, once the module took something off it (a late fee on disputed
 * lines, a held line): WHMCS marks an invoice Paid only when a payment settles its balance, never on
 * an edit, so it would stay Unpaid at 0.00 — the service's Next Due Date not moved on, and the
 * service suspended for it. A payment of 0.00 settles it as WHMCS settles any balance (Paid, the due
 * date moved on, unsuspended), once: a Paid invoice is not payable. An invoice with nothing paid on
 * it is left as it is (nothing billed is not something paid; the module cancels those itself).
 * The payment is dated now in the panel's zone: WHMCS's AddInvoicePayment documents `date` as
 * required (YYYY-MM-DD HH:mm:ss), and the Next Due Date moves on from the payment. Gives whether
 * it settled it.
 */
export async function settleAtZero(
  panel: Pick<PanelApi, 'addInvoicePayment' | 'logActivity'>,
  invoice: PanelInvoice,
  why: string,
  at: { now: DateTime; zone: string },
): Promise<boolean> {
  const payable = invoice.status === 'Unpaid' || invoice.status === 'Collections';
  const paidSome = invoice.transactions.some((t) => panelHundredths(t.amountIn) > 0n);
  if (!payable || panelHundredths(invoice.balance, 'balance') !== 0n || !paidSome) return false;
  await panel.addInvoicePayment({
    invoiceId: invoice.invoiceId,
    transId: `overusage-settled-${invoice.invoiceId}`,
    gateway: invoice.paymentMethod,
    date: at.now.setZone(at.zone).toFormat('yyyy-MM-dd HH:mm:ss'),
    amount: '0.00',
  });
  await panel.logActivity(
    `Overusage: invoice ${invoice.invoiceId} paid in full at 0.00 left, once ${why} came off it`,
    invoice.userId,
  );
  return true;
}
