import type { Knex } from 'knex';
import type { AuditLog } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import type { DateTime } from 'luxon';
import { panelAmount, panelHundredths, type PanelApi, type PanelInvoice } from '../adapters/panel-api.js';
import type { Clock } from '../domain/clock.js';
import {
  lateFeeBase,
  lateFeeOn,
  onlyHeldUnpaid,
  overdueSplit,
  suspensionShielded,
  taxOfLines,
  type LateFeeRule,
} from '../domain/dunning.js';
import { ModuleError } from '../domain/errors.js';
import { readDecimal } from '../domain/money.js';
import { formatAmount, localeForClient, textLanguage } from '../domain/line-text.js';
import type { DisputeService } from './disputes.js';
import { settleAtZero } from './invoice-settle.js';

/** The dunning emails about an invoice (WHMCS's template names). */
export const DUNNING_TEMPLATES: ReadonlySet<string> = new Set([
  'Invoice Payment Reminder',
  'First Invoice Overdue Notice',
  'Second Invoice Overdue Notice',
  'Third Invoice Overdue Notice',
  'Credit Card Payment Due',
]);

const HELD_NOTE = {
  en: 'on hold, under dispute: not due until we decide',
  nl: 'opgeschort, in betwisting: niet verschuldigd tot we beslissen',
};

/**
 * Keeps held (disputed) amounts out of the panel's dunning: the reminders, the suspension and the
 * late fee. The hooks (hooks/EmailPreSend.ts, PreModuleSuspend.ts, AddInvoiceLateFee.ts) parse what
 * the panel gives them, ask this, and answer; the rules themselves are in module/domain/dunning.ts.
 */
export interface DunningShield {
  /** A dunning email is stopped, or gets the client's held lines as a merge field; undefined leaves it alone. */
  dunningEmail(
    invoiceId: number,
    template: string,
  ): Promise<{ abortsend: true } | { overusage_held_lines: string } | undefined>;
  /** Whether a suspension for non-payment must be stopped: only disputed amounts are overdue. */
  suspensionShielded(clientId: number): Promise<boolean>;
  /**
   * Sets the late fee the panel added on an invoice with held lines to the fee on its undisputed
   * rest; gives the fee before and after (the same when it was right already), or null without a
   * held line or a fee. Run again it finds the fee right: the base leaves the fee out. An invoice
   * left at 0.00 by it, everything else paid, is settled (`settled`). `feeAt`: when the panel
   * added the fee, for a correction done later (payments since then are put back); now without it.
   */
  correctLateFee(invoiceId: number, feeAt?: DateTime): Promise<LateFeeCorrection | null>;
}

/** A late fee set to the fee on the undisputed rest: before, after, and whether that left 0.00 to settle. */
export interface LateFeeCorrection {
  fee: bigint;
  newFee: bigint;
  settled: boolean;
  /** paid beyond what the invoice bills once the fee came off: given to the client's credit as it was settled */
  overpaid?: bigint;
}

export function createDunningShield(deps: {
  disputes: DisputeService;
  panel: PanelApi;
  clock: Clock;
  zone: string;
  log: Logger;
  /** where an overpayment credited on settling is audited (invoice.overpayment_credited) */
  audit?: { knex: Knex; audit: AuditLog };
}): DunningShield {
  const { disputes, panel } = deps;
  /** held lines on an invoice, as the panel counts them (two decimals in every currency) */
  const heldOn = async (invoiceId: number) => {
    const items = await disputes.heldItemsOnInvoice(invoiceId);
    return {
      count: items.length,
      total: items.reduce((a, i) => a + panelHundredths(i.panelAmount), 0n),
      itemIds: items.map((i) => i.itemId),
    };
  };

  return {
    async dunningEmail(invoiceId, template) {
      const invoice = await panel.getInvoice(invoiceId);
      const held = await heldOn(invoiceId);
      if (
        DUNNING_TEMPLATES.has(template) &&
        onlyHeldUnpaid(panelHundredths(invoice.balance, 'balance'), held.total, held.count)
      ) {
        deps.log.info('hook.email_pre_send.aborted', {
          invoiceId,
          template,
          reason: 'only disputed amounts are unpaid',
        });
        return { abortsend: true };
      }
      const open = await disputes.openForClient(invoice.userId);
      if (open.length === 0) return undefined;
      const locale = localeForClient((await panel.getClientsDetails(invoice.userId)).language);
      const note = HELD_NOTE[textLanguage(locale)];
      return {
        overusage_held_lines: open
          .map((d) => `${d.description} — ${formatAmount(d.amountMinor, d.currency, locale)} (${note})`)
          .join('\n'),
      };
    },

    async suspensionShielded(clientId) {
      // Most suspensions have nothing to do with a dispute: decide that from our own table first.
      if ((await disputes.openForClient(clientId)).length === 0) return false;
      const today = deps.clock.now().setZone(deps.zone).toISODate()!;
      const { invoices } = await panel.getInvoices({ userId: clientId, status: 'Unpaid', limitNum: 100 });
      const overdue = [];
      for (const s of invoices.filter((i) => i.dueDate !== null && i.dueDate < today)) {
        const inv = await panel.getInvoice(s.id);
        overdue.push({ balance: panelHundredths(inv.balance, 'balance'), held: (await heldOn(s.id)).total });
      }
      return suspensionShielded(overdueSplit(overdue));
    },

    async correctLateFee(invoiceId, feeAt) {
      const held = await heldOn(invoiceId);
      if (held.count === 0) return null;
      const invoice = await panel.getInvoice(invoiceId);
      const money = (s: string) => panelHundredths(s);
      const fee = invoice.items.find((i) => i.type === 'LateFee' && money(i.amount) > 0n);
      // a fee taken off whole (0.00, left alone: no update each run), or none: the invoice may still
      // wait at 0.00 to be closed
      if (!fee) {
        const s = await settleFeeOff(panel, deps, invoice);
        return s ? { ...NO_FEE_SETTLED, ...overpaidOf(s) } : null;
      }
      const base = feeBaseOf(invoice, fee, held, unpaidWhenFeeCame(invoice, feeAt, deps.zone));
      const newFee = lateFeeOn(base, await lateFeeRule(panel));
      const was = { fee: money(fee.amount), newFee };
      if (newFee !== was.fee) await setFee(panel, invoice, fee, newFee);
      // read back: the panel recomputes the balance (and the fee's tax) after the change
      const after = newFee === was.fee ? invoice : await panel.getInvoice(invoiceId);
      const settled = await settleFeeOff(panel, deps, after);
      return { ...was, settled: settled !== null, ...(settled ? overpaidOf(settled) : {}) };
    },
  };
}

/**
 * The late fee on an invoice set to `newFee`, noted in the panel's activity log. Taken off whole it
 * stays as a 0.00 LateFee line, never deleted: WHMCS's daily AddLateFees task adds a fee to every
 * overdue Unpaid invoice without one (docs/whmcs.md, "Automation and dunning"), so a deleted fee
 * would be added again the next day.
 */
async function setFee(
  panel: PanelApi,
  invoice: PanelInvoice,
  fee: PanelInvoice['items'][number],
  newFee: bigint,
): Promise<void> {
  const { invoiceId } = invoice;
  await panel.updateInvoice({
    invoiceId,
    changeItems: [
      { id: fee.id, description: fee.description, amount: panelAmount(newFee), taxed: fee.taxed },
    ],
  });
  await panel.logActivity(
    `Overusage: late fee on invoice ${invoiceId} set to ${panelAmount(newFee)}: disputed lines are not part of its base`,
    invoice.userId,
  );
}

/**
 * The base of the fee on an invoice with held lines: what was unpaid when it came, less the fee, the
 * held lines and the VAT the invoice carries for those (it is in the balance too).
 */
function feeBaseOf(
  invoice: PanelInvoice,
  fee: PanelInvoice['items'][number],
  held: { total: bigint; itemIds: number[] },
  unpaid: bigint,
): bigint {
  const off = [fee, ...invoice.items.filter((i) => held.itemIds.includes(i.id))];
  const tax = taxCarried(
    invoice,
    off.map((i) => ({ amount: panelHundredths(i.amount), taxed: i.taxed })),
  );
  return lateFeeBase({ balance: unpaid, fee: panelHundredths(fee.amount), held: held.total, tax });
}

/** the invoice settled at 0.00 once its late fee came off, the payment dated now in the panel's zone */
function settleFeeOff(
  panel: Parameters<typeof settleAtZero>[0],
  deps: { clock: Clock; zone: string; audit?: { knex: Knex; audit: AuditLog } },
  invoice: PanelInvoice,
): Promise<{ overpaid: bigint } | null> {
  return settleAtZero(panel, invoice, FEE_OFF, { now: deps.clock.now(), zone: deps.zone }, deps.audit);
}

const overpaidOf = (s: { overpaid: bigint }) => (s.overpaid > 0n ? { overpaid: s.overpaid } : {});

/**
 * What was unpaid when the panel added the fee: the balance with the payments dated after `feeAt`
 * put back (a payment before the fee lowers the base, one after it does not, or the fee on the
 * undisputed rest would come out too low); today's balance without `feeAt`.
 */
export function unpaidWhenFeeCame(invoice: PanelInvoice, feeAt: DateTime | undefined, zone: string): bigint {
  const since = feeAt?.setZone(zone).toFormat('yyyy-MM-dd HH:mm:ss');
  const paidSince = invoice.transactions
    .filter((t) => since !== undefined && t.date > since)
    .reduce((a, t) => a + panelHundredths(t.amountIn) - panelHundredths(t.amountOut), 0n);
  return panelHundredths(invoice.balance, 'balance') + paidSince;
}

/**
 * The tax an invoice carries for some of its lines (its late fee, held lines, an amount a credit
 * note takes off one): taxOfLines over its taxed lines, at its own rates (GetInvoice's taxrate and
 * taxrate2, percentages). Hundredths.
 */
export function taxCarried(
  invoice: Pick<PanelInvoice, 'items' | 'taxRate' | 'taxRate2'>,
  off: ReadonlyArray<{ amount: bigint; taxed: boolean }>,
): bigint {
  const taxable = invoice.items.filter((i) => i.taxed).reduce((a, i) => a + panelHundredths(i.amount), 0n);
  const taxableOff = off.filter((o) => o.taxed).reduce((a, o) => a + o.amount, 0n);
  return taxOfLines(taxable, taxableOff, [invoice.taxRate, invoice.taxRate2].map(taxRate));
}

const taxRate = (text: string) => {
  const rate = readDecimal(text.trim() === '' ? '0' : text.trim());
  if (!rate) throw new ModuleError('UPSTREAM', `the panel gave a tax rate that is not a decimal: "${text}"`);
  return rate;
};

const NO_FEE_SETTLED = { fee: 0n, newFee: 0n, settled: true } as const;
const FEE_OFF = 'the late fee on disputed lines';

/** The panel's late fee settings (WHMCS: Setup › General Settings › Invoices), as the domain's rule; unreadable ones as WHMCS's defaults. */
export async function lateFeeRule(panel: Pick<PanelApi, 'getConfigurationValue'>): Promise<LateFeeRule> {
  const setting = (key: string, fallback: string) => panel.getConfigurationValue(key).catch(() => fallback);
  return {
    fixed: /^fixed/i.test(await setting('LateFeeType', 'Percentage')),
    amount: panelHundredths((await setting('InvoiceLateFeeAmount', '0')) || '0'),
    minimum: panelHundredths((await setting('LateFeeMinimum', '0')) || '0'),
  };
}
