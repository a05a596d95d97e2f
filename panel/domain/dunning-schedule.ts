import { addDays, type IsoDate } from '../../module/domain/calendar.js';
import type { LateFeeRule } from '../../module/domain/dunning.js';
import { divRoundHalfUp } from '../../module/domain/money.js';

/**
 * WHMCS's dunning rules as pure functions of "today" and the automation settings
 * (docs/whmcs.md, "Automation and dunning"). Days are calendar days in the panel's zone; 0 switches a step off.
 */
export type NoticeType = 'reminder' | 'firstoverdue' | 'secondoverdue' | 'thirdoverdue';

export const NOTICE_TEMPLATE: Record<NoticeType, string> = {
  reminder: 'Invoice Payment Reminder',
  firstoverdue: 'First Invoice Overdue Notice',
  secondoverdue: 'Second Invoice Overdue Notice',
  thirdoverdue: 'Third Invoice Overdue Notice',
};

export interface DunningSettings {
  /** CreateInvoiceDaysBefore */
  invoiceDaysBefore: number;
  /** ContinuousInvoiceGeneration: invoice on nextinvoicedate even while earlier invoices are unpaid */
  continuousInvoicing: boolean;
  /** SendReminder: master switch of the reminder and the three overdue notices */
  sendReminders: boolean;
  /** SendInvoiceReminderDays: days before the due date */
  reminderDaysBefore: number;
  /** Send{First,Second,Third}OverdueInvoiceReminder: days after the due date */
  overdueDays: readonly [number, number, number];
  /** AddLateFeeDays */
  lateFeeDays: number;
  /** LateFeeType */
  lateFeeType: 'Percentage' | 'Fixed Amount';
  /** InvoiceLateFeeAmount: a percentage (scale 2) or an amount in minor units */
  lateFeeAmountScaled: bigint;
  /** LateFeeMinimum, minor units */
  lateFeeMinimumMinor: bigint;
  /** TaxLateFee */
  taxLateFee: boolean;
  /** AutoSuspension / AutoSuspensionDays */
  autoSuspend: boolean;
  suspendDays: number;
  /** AutoUnsuspend */
  autoUnsuspend: boolean;
}

/**
 * The notices due for an unpaid invoice today. WHMCS sends each on its exact day (duedate − N or
 * duedate + N): a day the cron did not run is not caught up later.
 */
export function noticesDueOn(today: IsoDate, dueDate: IsoDate, s: DunningSettings): NoticeType[] {
  if (!s.sendReminders) return [];
  const out: NoticeType[] = [];
  if (s.reminderDaysBefore > 0 && addDays(dueDate, -s.reminderDaysBefore) === today) out.push('reminder');
  const types: NoticeType[] = ['firstoverdue', 'secondoverdue', 'thirdoverdue'];
  s.overdueDays.forEach((days, i) => {
    if (days > 0 && addDays(dueDate, days) === today) out.push(types[i]!);
  });
  return out;
}

/**
 * A late fee is due once the invoice is AddLateFeeDays or more past due (caught up on later runs),
 * and never on an invoice due on its own invoice date. As WHMCS's AddLateFees task selects them
 * (decoded WHMCS 7.8/8.7, docs/whmcs.md "Automation and dunning"): `duedate <= today − AddLateFeeDays
 * AND duedate != date`, an empty setting read as 0 — so 0 charges from the due date itself on.
 */
export const lateFeeDue = (
  today: IsoDate,
  inv: { duedate: IsoDate; date: IsoDate | null },
  s: DunningSettings,
): boolean =>
  // SQL's `duedate != date` is not true when the invoice date is NULL: such an invoice is skipped too
  inv.date !== null && inv.duedate !== inv.date && addDays(inv.duedate, Math.max(0, s.lateFeeDays)) <= today;

/**
 * The settings' late fee rule: for the panel's own fee (whmcsLateFee) and the add-on's reading of it
 * (module/domain/dunning.ts lateFeeOn). Late Fee Amount 0 is no fee; the minimum raises a percentage
 * and a fixed amount alike.
 */
export const lateFeeRuleOf = (s: DunningSettings): LateFeeRule => ({
  fixed: s.lateFeeType === 'Fixed Amount',
  amount: s.lateFeeAmountScaled,
  minimum: s.lateFeeMinimumMinor,
});

/**
 * The fee WHMCS's AddLateFees task puts on an overdue Unpaid invoice that has no LateFee line, as the
 * decoded task computes it (WHMCS 7.8 and 8.7, vendor/whmcs/whmcs-foundation/lib/Cron/Task/
 * AddLateFees.php; docs/billing-rules.md "Late fees"): the percentage of the balance (the total less
 * what was paid on it, rounded to the hundredth) or the Fixed Amount; then, with a Late Fee Minimum
 * above 0, at least the minimum, whichever the type. WHMCS does not look at the balance first: an
 * invoice left Unpaid with nothing to pay gets the minimum (or the fixed amount, or a 0.00 line
 * without a minimum; below 0.00 with a balance below 0). Not the add-on's lateFeeOn, which charges
 * nothing when nothing is late (module/domain/dunning.ts). null: Late Fee Amount 0 ("leave as 0 to
 * disable the late fee function"), no fee at all.
 */
export function whmcsLateFee(balance: bigint, rule: LateFeeRule): bigint | null {
  if (rule.amount <= 0n) return null;
  const fee = rule.fixed ? rule.amount : divRoundHalfUp(balance * rule.amount, 10000n);
  return rule.minimum > 0n && fee < rule.minimum ? rule.minimum : fee;
}

/** The renewal of the period starting `dueDate` is invoiced CreateInvoiceDaysBefore days ahead. */
export const invoiceGenerationDue = (today: IsoDate, dueDate: IsoDate, s: DunningSettings): boolean =>
  dueDate <= addDays(today, s.invoiceDaysBefore);

export type SuspensionVerdict = 'suspend' | 'not_due' | 'overridden' | 'disabled';

/**
 * Suspension follows the SERVICE's next due date, not an invoice: it is due once the date is
 * AutoSuspensionDays in the past. "Override auto-suspend" holds it off — until the given date
 * when one is set (the hold ends after that day), for ever when none is.
 */
export function suspensionVerdict(
  today: IsoDate,
  nextDueDate: IsoDate,
  s: DunningSettings,
  override: { enabled: boolean; until: IsoDate | null },
): SuspensionVerdict {
  if (!s.autoSuspend) return 'disabled';
  if (addDays(nextDueDate, s.suspendDays) > today) return 'not_due';
  if (override.enabled && (override.until === null || today <= override.until)) return 'overridden';
  return 'suspend';
}

/** Whether a service paid up to `nextDueDate` is still overdue enough to be suspended again. */
export const stillSuspendable = (today: IsoDate, nextDueDate: IsoDate, s: DunningSettings): boolean =>
  addDays(nextDueDate, s.suspendDays) <= today;
