import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { AuditLog } from '../adapters/audit-store.js';
import { panelAmount, panelHundredths, type PanelApi, type PanelInvoice } from '../adapters/panel-api.js';

/**
 * An invoice the client paid all of, once the module took something off it (a late fee on disputed
 * lines, a held line): WHMCS marks an invoice Paid only when a payment settles its balance, never on
 * an edit, so it would stay Unpaid at 0.00 — the service's Next Due Date not moved on, and the
 * service suspended for it, and WHMCS's daily AddLateFees task, which reads no balance, charging
 * the Late Fee Minimum on it once overdue. A payment of 0.00 settles it as WHMCS settles any balance
 * (Paid, the due date moved on, unsuspended), once: a Paid invoice is not payable. Paid counts the
 * client's credit applied to it (the invoice's `credit`: the hosting paid with credit, the held line
 * taken off). An invoice with nothing paid on it is left as it is (nothing billed is not something
 * paid; the module cancels those itself).
 * The payment is dated now in the panel's zone: WHMCS's AddInvoicePayment documents `date` as
 * required (YYYY-MM-DD HH:mm:ss), and the Next Due Date moves on from the payment. Gives whether
 * it settled it, and what was overpaid.
 *
 * Paid beyond what is left (the client paid part of the invoice, more than the lines and the fee
 * that stay): the total less what was paid is below 0 (GetInvoice's balance shows 0.00). The same payment settles it, and WHMCS's addPayment gives
 * what is paid beyond the balance and not yet credited for the invoice (its relid in the credit
 * log) to the client's credit ("Invoice #N Overpayment"), once: a second payment finds it credited,
 * and a Paid invoice is not settled again. With `audit`, that credit is audited first, once per
 * invoice (`invoice.overpayment_credited`, the amount and why), so a retry after the payment finds
 * the audit, and one before it the invoice still to settle.
 */
export async function settleAtZero(
  panel: Pick<PanelApi, 'addInvoicePayment' | 'logActivity'>,
  invoice: PanelInvoice,
  why: string,
  at: { now: DateTime; zone: string },
  audit?: { knex: Knex; audit: AuditLog },
): Promise<{ overpaid: bigint } | null> {
  const payable = invoice.status === 'Unpaid' || invoice.status === 'Collections';
  // paid with money, or with the client's credit applied to it (WHMCS's ApplyCredit: the invoice's
  // credit, taken off its total): the hosting paid with credit is paid
  const paidSome =
    invoice.transactions.some((t) => panelHundredths(t.amountIn) > 0n) ||
    panelHundredths(invoice.credit, 'credit') > 0n;
  // GetInvoice's balance stops at 0.00: what is left is the total less what was paid (in less out)
  const paid = invoice.transactions.reduce(
    (a, t) => a + panelHundredths(t.amountIn) - panelHundredths(t.amountOut),
    0n,
  );
  const left = panelHundredths(invoice.total, 'total') - paid;
  if (!payable || left > 0n || !paidSome) return null;
  const overpaid = -left;
  if (overpaid > 0n && audit)
    await audit.audit.recordOnce(
      audit.knex,
      {
        actor: { type: 'system', id: null },
        action: 'invoice.overpayment_credited',
        entityType: 'invoice',
        entityId: invoice.invoiceId,
        details: { creditedMinor: String(overpaid), why },
      },
      at.now,
    );
  await panel.addInvoicePayment({
    invoiceId: invoice.invoiceId,
    transId: `overusage-settled-${invoice.invoiceId}`,
    gateway: invoice.paymentMethod,
    date: at.now.setZone(at.zone).toFormat('yyyy-MM-dd HH:mm:ss'),
    amount: '0.00',
  });
  await panel.logActivity(
    overpaid > 0n
      ? `Overusage: invoice ${invoice.invoiceId} paid in full, ${panelAmount(overpaid)} paid beyond what is left goes to the client's credit, once ${why} came off it`
      : `Overusage: invoice ${invoice.invoiceId} paid in full at 0.00 left, once ${why} came off it`,
    invoice.userId,
  );
  return { overpaid };
}
