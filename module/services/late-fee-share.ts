import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { lateFeeShareOnHeld } from '../domain/dunning.js';
import { isLateFeeCredit, LATE_FEE_CREDIT } from '../domain/dispute-text.js';
import { isOwedUnpaid } from '../domain/invoice-status.js';
import type { TextLanguage } from '../domain/line-text.js';
import type { AuditLog } from '../adapters/audit-store.js';
import {
  creditLogged,
  panelAmount,
  panelHundredths,
  type PanelApi,
  type PanelInvoice,
} from '../adapters/panel-api.js';
import { lateFeeRule } from './dunning-shield.js';

/**
 * A line held after its invoice got a late fee (issue 19): WHMCS leaves the fee as it is, so the
 * client would pay a fee on disputed money. Before the line leaves the invoice, the part of the
 * fee that fell on it (module/domain/dunning.ts lateFeeShareOnHeld, with the panel's late fee
 * settings) is given back with AddCredit, once: the credit's description (in the client's language)
 * names the line and invoice by a reference, and the client's credit log is asked first, so a retry after a crash never gives it
 * twice. Audited as dispute.late_fee_credit.
 */
export async function creditLateFeeShare(
  deps: { knex: Knex; panel: PanelApi; audit: AuditLog },
  input: {
    disputeId: number;
    clientId: number;
    ref: string;
    invoice: PanelInvoice;
    heldItemIds: number[];
    language: TextLanguage;
  },
  now: DateTime,
): Promise<bigint> {
  const { invoice } = input;
  // a fee stays on an invoice still owed (Collections and Payment Pending included), never on a paid one
  if (!isOwedUnpaid(invoice.status)) return 0n;
  const fees = invoice.items.filter((i) => i.type === 'LateFee');
  if (fees.length === 0) return 0n;
  const fee = fees.reduce((a, i) => a + panelHundredths(i.amount), 0n);
  const held = invoice.items
    .filter((i) => input.heldItemIds.includes(i.id))
    .reduce((a, i) => a + panelHundredths(i.amount), 0n);
  const rule = await lateFeeRule(deps.panel);
  const share = lateFeeShareOnHeld({ balance: panelHundredths(invoice.balance), fee, held }, rule);
  if (share === 0n) return 0n;
  const mine = { disputeId: input.disputeId, ref: input.ref, invoiceId: invoice.invoiceId };
  if (await creditLogged(deps.panel, input.clientId, (d) => isLateFeeCredit(d, mine))) return share;
  const description = LATE_FEE_CREDIT[input.language](input.ref, invoice.invoiceId);
  await deps.panel.call('AddCredit', { clientid: input.clientId, description, amount: panelAmount(share) });
  await deps.audit.record(
    deps.knex,
    {
      actor: { type: 'system', id: null },
      action: 'dispute.late_fee_credit',
      entityType: 'dispute',
      entityId: input.disputeId,
      details: {
        invoiceId: invoice.invoiceId,
        feeMinor: String(fee),
        heldMinor: String(held),
        creditMinor: String(share),
        rule,
      },
    },
    now,
  );
  return share;
}
