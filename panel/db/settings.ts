import type { DateTime } from 'luxon';
import { decimalAsStored } from '../domain/money.js';
import type { DunningSettings } from '../domain/dunning-schedule.js';
import { sqlLocalDatetime, textCell, type Db } from './rows.js';

/** tblconfiguration: WHMCS's key/value settings. A missing key reads as ''. */
export async function getSetting(db: Db, setting: string): Promise<string> {
  const row = await db('tblconfiguration').where({ setting }).first('value');
  return textCell(row?.value);
}

export async function hasSetting(db: Db, setting: string): Promise<boolean> {
  return (await db('tblconfiguration').where({ setting }).first('setting')) !== undefined;
}

export async function getSettings(db: Db, settings: readonly string[]): Promise<Record<string, string>> {
  const rows = await db('tblconfiguration')
    .whereIn('setting', settings as string[])
    .select('setting', 'value');
  const out: Record<string, string> = Object.fromEntries(settings.map((s) => [s, '']));
  for (const r of rows) out[String(r.setting)] = textCell(r.value);
  return out;
}

export async function setSetting(
  db: Db,
  setting: string,
  value: string,
  now: DateTime,
  zone: string,
): Promise<void> {
  const at = sqlLocalDatetime(now, zone);
  await db('tblconfiguration')
    .insert({ setting, value, created_at: at, updated_at: at })
    .onConflict('setting')
    .merge({ value, updated_at: at });
}

/** WHMCS tick boxes store 'on'; some older keys store '1'. */
export const isOn = (v: string): boolean => ['on', '1', 'yes', 'true'].includes(v.trim().toLowerCase());

const days = (v: string): number => {
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : 0;
  return Math.min(n, 3650);
};

const DUNNING_KEYS = [
  'CreateInvoiceDaysBefore',
  'ContinuousInvoiceGeneration',
  'SendReminder',
  'SendInvoiceReminderDays',
  'SendFirstOverdueInvoiceReminder',
  'SendSecondOverdueInvoiceReminder',
  'SendThirdOverdueInvoiceReminder',
  'AddLateFeeDays',
  'LateFeeType',
  'InvoiceLateFeeAmount',
  'LateFeeMinimum',
  'TaxLateFee',
  'AutoSuspension',
  'AutoSuspensionDays',
  'AutoUnsuspend',
] as const;

/** The automation settings, parsed once per run; unreadable numbers count as 0 (= off). */
export async function dunningSettings(db: Db): Promise<DunningSettings> {
  const s = await getSettings(db, DUNNING_KEYS);
  return {
    invoiceDaysBefore: days(s.CreateInvoiceDaysBefore!),
    continuousInvoicing: isOn(s.ContinuousInvoiceGeneration!),
    sendReminders: isOn(s.SendReminder!),
    reminderDaysBefore: days(s.SendInvoiceReminderDays!),
    overdueDays: [
      days(s.SendFirstOverdueInvoiceReminder!),
      days(s.SendSecondOverdueInvoiceReminder!),
      days(s.SendThirdOverdueInvoiceReminder!),
    ],
    lateFeeDays: days(s.AddLateFeeDays!),
    lateFeeType: /^fixed/i.test(s.LateFeeType!) ? 'Fixed Amount' : 'Percentage',
    lateFeeAmountScaled: decimalAsStored(s.InvoiceLateFeeAmount || '0', 2) ?? 0n,
    lateFeeMinimumMinor: decimalAsStored(s.LateFeeMinimum || '0', 2) ?? 0n,
    taxLateFee: isOn(s.TaxLateFee!),
    autoSuspend: isOn(s.AutoSuspension!),
    suspendDays: days(s.AutoSuspensionDays!),
    autoUnsuspend: isOn(s.AutoUnsuspend!),
  };
}
