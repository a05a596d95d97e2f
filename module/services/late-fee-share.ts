import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { lateFeeShareOnHeld } from '../domain/dunning.js';
import { isLateFeeCredit } from '../domain/dispute-text.js';
import { isOwedUnpaid } from '../domain/invoice-status.js';
import type { AuditLog } from '../adapters/audit-store.js';
import {
  creditLogged,
  panelAmount,
  panelHundredths,
  type PanelApi,
  type PanelInvoice,
  type PanelInvoiceItem,
} from '../adapters/panel-api.js';
import { lateFeeCameAt } from '../adapters/late-fee-retry-store.js';
import { lateFeeRule, taxCarried, unpaidWhenFeeCame } from './dunning-shield.js';

/**
 * A line held after its invoice got a late fee (issue 19): WHMCS leaves the fee as it is, so the
 * client would be dunned for a fee on disputed money. The fee is not paid (the invoice is still
 * owed, or a draft), so the part of it that fell on the line (lateFeeShareOnHeld, with the panel's
 * late fee settings) comes off the fee in the same update that takes the line off the invoice
 * (docs/billing-rules.md, "Late fees": an unpaid fee is reduced, a paid one's share given back).
 * Audited once (dispute.late_fee_reduced) before the panel is asked: a retry after the update
 * finds the line gone, one before it the audit written. A share an earlier version gave as credit
 * (`LF-<line ref>` for this invoice in the client's credit log) is not taken off a second time.
 */
export async function lateFeeOffRenewal(
  deps: FeeDeps,
  input: { disputeId: number; clientId: number; ref: string; invoice: PanelInvoice; heldItemIds: number[] },
  now: DateTime,
): Promise<FeeOff> {
  const { invoice } = input;
  if (!isOwedUnpaid(invoice.status) && invoice.status !== 'Draft') return { change: [] };
  const held = invoice.items.filter((i) => input.heldItemIds.includes(i.id));
  const none: FeeOff = { change: [] };
  const mine = { disputeId: input.disputeId, ref: input.ref, invoiceId: invoice.invoiceId };
  if (
    !invoice.items.some((i) => i.type === 'LateFee' && panelHundredths(i.amount) > 0n) ||
    (await creditLogged(deps.panel, input.clientId, (d) => isLateFeeCredit(d, mine)))
  )
    return none;
  return lateFeeOff(deps, { disputeId: input.disputeId, invoice, held }, 'reduced', now);
}

/** What a late fee's share is worked out with: the module's tables (when the fee came), the panel and its zone, the audit. */
export interface FeeDeps {
  knex: Knex;
  panel: PanelApi;
  audit: AuditLog;
  zone: string;
}

/**
 * What was unpaid when the late fee on an invoice came (the fee's base; unpaidWhenFeeCame with the
 * moment the AddInvoiceLateFee hook kept): the payments made since are put back, so one between the
 * fee and a hold does not take the fee's part on what was late then off it. Null when the hook
 * never told (a fee from before the module, or a hook that failed before it kept it).
 */
async function unpaidAtFee(
  deps: Pick<FeeDeps, 'knex' | 'zone'>,
  invoice: PanelInvoice,
): Promise<bigint | null> {
  const at = await lateFeeCameAt(deps.knex, invoice.invoiceId);
  return at ? unpaidWhenFeeCame(invoice, at, deps.zone) : null;
}

/** An invoice's lines as amounts in hundredths with their taxed flags. */
const amounts = (items: readonly PanelInvoiceItem[]) =>
  items.map((i) => ({ amount: panelHundredths(i.amount), taxed: i.taxed }));

/**
 * The late fee's part held lines caused, by the panel's late fee settings: the fee and the held
 * lines leave the base with the VAT the invoice carries for them (taxCarried).
 */
async function shareOfFee(
  deps: FeeDeps,
  invoice: PanelInvoice,
  fees: readonly PanelInvoiceItem[],
  held: readonly PanelInvoiceItem[],
) {
  const rule = await lateFeeRule(deps.panel);
  // what was unpaid when the fee came; without its moment today's balance (a payment since then
  // lowers the base: the client keeps less of the fee, never more)
  const balance = (await unpaidAtFee(deps, invoice)) ?? panelHundredths(invoice.balance);
  const sum = (items: readonly PanelInvoiceItem[]) =>
    items.reduce((a, i) => a + panelHundredths(i.amount), 0n);
  const [fee, heldSum] = [sum(fees), sum(held)];
  const tax = taxCarried(invoice, amounts([...fees, ...held]));
  const share = lateFeeShareOnHeld({ balance, fee, held: heldSum, tax }, rule);
  return { rule, fee, held: heldSum, share };
}

/** The audit of a late fee's share given back (credited, or taken off the fee). */
function shareAudit(
  action: string,
  disputeId: number,
  invoiceId: number,
  f: { fee: bigint; held: bigint; rule: Awaited<ReturnType<typeof lateFeeRule>> },
  given: Record<string, string>,
) {
  return {
    actor: { type: 'system' as const, id: null },
    action,
    entityType: 'dispute',
    entityId: disputeId,
    details: { invoiceId, feeMinor: String(f.fee), heldMinor: String(f.held), ...given, rule: f.rule },
  };
}

/**
 * What a held line takes off an unpaid late fee (on the renewal it leaves, or the published held
 * invoice that lets it go): the fee items changed, a fee that was all the line's set to 0.00, never
 * deleted — WHMCS's daily AddLateFees task adds a fee to every overdue Unpaid invoice without a
 * LateFee line (docs/whmcs.md, "Automation and dunning"), so a deleted fee would come back the next
 * day, and be taken off again, every day.
 */
export interface FeeOff {
  change: Array<{ id: number; description: string; amount: string; taxed: boolean }>;
}

/**
 * A held invoice the admin published, still owed, that got a late fee the AddInvoiceLateFee hook did
 * not correct (missed, or the panel failed it), when its held line is let go (waived, or paid on the
 * renewal meanwhile): the part of the fee that fell on the line (lateFeeShareOnHeld, as for a line
 * held off a renewal) is taken off the fee in the same update that sets the line to 0.00 — the fee
 * the hook would have left. Crediting it instead would leave the client dunned for a fee on nothing
 * else. Audited (dispute.late_fee_waived) before the panel is asked, once a dispute: the
 * retry after the update finds no share left, and one before it finds the audit already written.
 */
export const lateFeeOffHeld = (
  deps: FeeDeps,
  input: { disputeId: number; invoice: PanelInvoice; lineItem: PanelInvoiceItem },
  now: DateTime,
): Promise<FeeOff> =>
  isOwedUnpaid(input.invoice.status)
    ? lateFeeOff(deps, { ...input, held: [input.lineItem] }, 'waived', now)
    : Promise.resolve({ change: [] });

/** The share of an unpaid late fee a held amount caused, audited once as dispute.late_fee_<how>, as fee items changed (0.00 when it is all the share; a 0.00 fee is left alone). */
async function lateFeeOff(
  deps: FeeDeps,
  input: { disputeId: number; invoice: PanelInvoice; held: readonly PanelInvoiceItem[] },
  how: 'waived' | 'reduced',
  now: DateTime,
): Promise<FeeOff> {
  const { invoice } = input;
  const none: FeeOff = { change: [] };
  const fees = invoice.items.filter((i) => i.type === 'LateFee' && panelHundredths(i.amount) > 0n);
  if (fees.length === 0) return none;
  const { rule, share, fee, held } = await shareOfFee(deps, invoice, fees, input.held);
  if (share === 0n) return none;
  await deps.audit.recordOnce(
    deps.knex,
    shareAudit(
      `dispute.late_fee_${how}`,
      input.disputeId,
      invoice.invoiceId,
      { fee, held, rule },
      {
        [`${how}Minor`]: String(share),
      },
    ),
    now,
  );
  // the share comes off the last fee first (WHMCS adds one)
  let left = share;
  const off: FeeOff = { change: [] };
  for (const f of [...fees].reverse()) {
    const amount = panelHundredths(f.amount);
    const take = amount < left ? amount : left;
    if (take === 0n) break;
    left -= take;
    // all of it the share: 0.00, kept as a LateFee line so WHMCS does not add the fee again
    off.change.push({
      id: f.id,
      description: f.description,
      amount: panelAmount(amount - take),
      taxed: f.taxed,
    });
  }
  return off;
}

/**
 * The part of a paid invoice's late fee that fell on an amount a credit note takes off it (a held
 * line the client paid on the held invoice the admin published, waived or reduced, when the
 * AddInvoiceLateFee hook did not keep it out of the fee): the fee less the fee on what the invoice
 * billed without that amount (lateFeeShareOnHeld on its total: what was unpaid when the fee came).
 * In the panel's hundredths, with the fee's taxed flag; 0 without a fee.
 */
export async function lateFeeShareOnPaid(
  deps: Pick<FeeDeps, 'knex' | 'panel' | 'zone'>,
  invoice: PanelInvoice,
  off: { amount: bigint; taxed: boolean },
): Promise<{ share: bigint; taxed: boolean }> {
  const { panel } = deps;
  const fees = invoice.items.filter((i) => i.type === 'LateFee' && panelHundredths(i.amount) > 0n);
  if (fees.length === 0 || invoice.status !== 'Paid') return { share: 0n, taxed: false };
  const fee = fees.reduce((a, i) => a + panelHundredths(i.amount), 0n);
  // paid since: what was unpaid when the fee came is the payments after it; without its moment
  // the total (a payment before the fee then counts as unpaid)
  const total = (await unpaidAtFee(deps, invoice)) ?? panelHundredths(invoice.total, 'total');
  // the fee's and the amount's VAT (the total has it) leave the base with them
  const tax = taxCarried(invoice, [...amounts(fees), off]);
  const share = lateFeeShareOnHeld({ balance: total, fee, held: off.amount, tax }, await lateFeeRule(panel));
  return { share, taxed: fees.some((f) => f.taxed) };
}
