/**
 * Client and admin emails, rendered in the client's language and kept in the email log
 * (tblemails) — never sent. Templated client emails pass through EmailPreSend first: a handler
 * may add merge fields or answer `abortsend` to stop the email.
 */
import { DateTime } from 'luxon';
import { formatDecimal } from '../domain/money.js';
import { escapeHtml } from '../../module/domain/html.js';
import { renderMergeFields, type MergeValue } from '../domain/merge-fields.js';
import { loadClient, loadCurrency, type Client, type Currency } from '../db/clients.js';
import { loadInvoice, type Invoice } from '../db/invoices.js';
import { sqlLocalDatetime, textCell, type Db } from '../db/rows.js';
import { loadProduct, loadService } from '../db/services.js';
import { getSettings } from '../db/settings.js';
import type { PanelCore, When } from './context.js';

export const CLIENT_TEMPLATE_TYPES = [
  'general',
  'product',
  'invoice',
  'domain',
  'support',
  'affiliate',
] as const;
/** the types this panel can fill in (it has no domains, tickets or affiliates) */
export const SUPPORTED_TYPES = ['general', 'product', 'invoice'] as const;
export type EmailType = (typeof SUPPORTED_TYPES)[number];

const LOCALES: Record<string, string> = { english: 'en-GB', dutch: 'nl-NL' };

export const localeOf = (language: string): string => LOCALES[language.toLowerCase()] ?? 'en-GB';

/** Money for people: Intl for the client's locale, from the exact decimal string (no float). */
export function formatMoneyFor(minor: bigint, currency: Currency, locale: string): string {
  const text = formatDecimal(minor, 2);
  if (!/^[A-Z]{3}$/.test(currency.code)) return `${currency.prefix}${text}${currency.suffix}`;
  // Intl.NumberFormat formats a decimal string exactly (ES2023); the typings only list numbers.
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: currency.code })
    .format as unknown as (v: string) => string;
  return format(text);
}

export const formatDateFor = (iso: string | null, locale: string): string =>
  iso
    ? DateTime.fromISO(iso.slice(0, 10), { zone: 'utc' })
        .setLocale(locale)
        .toLocaleString(DateTime.DATE_SHORT)
    : '';

export type EmailOutcome =
  | { sent: true; emailId: number; subject: string }
  | { sent: false; reason: 'aborted' | 'not_found' | 'disabled' | 'bad_relid' | 'unsupported_type' };

interface Template {
  type: string;
  name: string;
  subject: string;
  message: string;
  disabled: boolean;
  plaintext: boolean;
  attachments: string;
}

async function findTemplate(
  db: Db,
  name: string,
  types: readonly string[],
  language: string,
): Promise<Template | null> {
  const rows = await db('tblemailtemplates')
    .where({ name })
    .whereIn('type', types as string[])
    .whereIn('language', ['', language.toLowerCase()]);
  if (rows.length === 0) return null;
  // the translation when there is one, else the default version
  const row =
    rows.find((r) => textCell(r.language) !== '' && textCell(r.language) === language.toLowerCase()) ??
    rows.find((r) => textCell(r.language) === '') ??
    rows[0]!;
  const master = rows.find((r) => textCell(r.language) === '') ?? row;
  return {
    type: textCell(row.type),
    name: textCell(row.name),
    subject: textCell(row.subject),
    message: textCell(row.message),
    // disabling the default version disables every translation, as in WHMCS
    disabled: [row.disabled, master.disabled].some((d) => d === 1 || d === 1n || d === '1'),
    plaintext: row.plaintext === 1 || row.plaintext === 1n || row.plaintext === '1',
    attachments: textCell(row.attachments),
  };
}

async function generalFields(db: Db): Promise<Record<string, string>> {
  const s = await getSettings(db, ['CompanyName', 'SystemURL', 'Signature', 'Language', 'Email']);
  return {
    company_name: s.CompanyName!,
    company_email: s.Email!,
    whmcs_url: s.SystemURL!,
    whmcs_link: s.SystemURL!,
    signature: s.Signature!,
  };
}

function clientFields(c: Client, currency: Currency, locale: string): Record<string, string> {
  return {
    client_id: String(c.id),
    client_name: `${c.firstname} ${c.lastname}`.trim(),
    client_first_name: c.firstname,
    client_last_name: c.lastname,
    client_company_name: c.companyname,
    client_email: c.email,
    client_language: c.language,
    client_credit: formatMoneyFor(c.creditMinor, currency, locale),
    client_status: c.status,
  };
}

const TOTAL_LABEL: Record<string, string> = { 'nl-NL': 'Totaal' };

function invoiceHtml(inv: Invoice, currency: Currency, locale: string): string {
  const total = TOTAL_LABEL[locale] ?? 'Total';
  const rows = inv.items.map(
    (i) =>
      `<tr><td>${escapeHtml(i.description)}</td><td>${escapeHtml(formatMoneyFor(i.amountMinor, currency, locale))}</td></tr>`,
  );
  return `<table class="invoice-items">\n${rows.join('\n')}\n<tr><td><strong>${total}</strong></td><td><strong>${escapeHtml(formatMoneyFor(inv.totalMinor, currency, locale))}</strong></td></tr>\n</table>`;
}

function invoiceFields(
  inv: Invoice,
  currency: Currency,
  locale: string,
  systemUrl: string,
): Record<string, string> {
  const money = (m: bigint) => formatMoneyFor(m, currency, locale);
  const last = inv.payments.filter((p) => p.amountInMinor > 0n).at(-1);
  return {
    invoice_id: String(inv.id),
    invoice_num: inv.invoicenum || String(inv.id),
    invoice_date_created: formatDateFor(inv.date, locale),
    invoice_date_due: formatDateFor(inv.duedate, locale),
    invoice_date_paid: formatDateFor(inv.datepaid, locale),
    invoice_subtotal: money(inv.subtotalMinor),
    invoice_tax: money(inv.taxMinor),
    invoice_tax2: money(inv.tax2Minor),
    invoice_credit: money(inv.creditMinor),
    invoice_total: money(inv.totalMinor),
    invoice_balance: money(inv.balanceMinor),
    invoice_amount_paid: money(inv.paidMinor),
    invoice_last_payment_amount: last ? money(last.amountInMinor) : '',
    invoice_last_payment_transid: last?.transid ?? '',
    invoice_status: inv.status,
    invoice_payment_method: inv.paymentmethod,
    invoice_notes: inv.notes,
    invoice_items: inv.items.map((i) => `${i.description}  ${money(i.amountMinor)}`).join('\n'),
    invoice_html_contents: invoiceHtml(inv, currency, locale),
    invoice_link: `${systemUrl.replace(/\/?$/, '/')}viewinvoice.php?id=${inv.id}`,
  };
}

const RAW_FIELDS = new Set(['invoice_html_contents']);

interface Resolved {
  client: Client;
  fields: Record<string, MergeValue>;
}

/** The client and merge fields for a related id of a template type; null when the id is not valid. */
async function resolveRelated(
  db: Db,
  type: EmailType,
  relid: number,
  systemLanguage: string,
): Promise<Resolved | null> {
  let client: Client | null = null;
  let extra = async (_c: Client, _cur: Currency, _locale: string): Promise<Record<string, string>> => ({});
  if (type === 'general') {
    client = await loadClient(db, relid);
  } else if (type === 'invoice') {
    const inv = await loadInvoice(db, relid);
    if (!inv) return null;
    client = await loadClient(db, inv.userid);
    const url = (await getSettings(db, ['SystemURL'])).SystemURL!;
    extra = async (_c, cur, locale) => invoiceFields(inv, cur, locale, url);
  } else {
    const svc = await loadService(db, relid);
    if (!svc) return null;
    client = await loadClient(db, svc.userid);
    const product = await loadProduct(db, svc.packageid);
    extra = async (_c, cur, locale) => ({
      service_id: String(svc.id),
      service_product_name: product?.name ?? '',
      service_domain: svc.domain,
      service_reg_date: formatDateFor(svc.regdate, locale),
      service_next_due_date: formatDateFor(svc.nextduedate, locale),
      service_billing_cycle: svc.billingcycleText,
      service_recurring_amount: formatMoneyFor(svc.amountMinor, cur, locale),
      service_first_payment_amount: formatMoneyFor(svc.firstpaymentamountMinor, cur, locale),
      service_status: svc.domainstatus,
      service_suspension_reason: svc.suspendreason,
      service_username: svc.username,
    });
  }
  if (!client) return null;
  const currency = await loadCurrency(db, client.currency);
  const locale = localeOf(client.language || systemLanguage);
  return {
    client,
    fields: {
      ...(await generalFields(db)),
      ...clientFields(client, currency, locale),
      ...(await extra(client, currency, locale)),
    },
  };
}

async function logEmail(
  core: PanelCore,
  row: { userid: number; to: string; subject: string; message: string; attachments: string[] },
  when: When,
): Promise<number> {
  const [id] = await core.knex('tblemails').insert({
    userid: row.userid,
    subject: row.subject,
    message: row.message,
    date: sqlLocalDatetime(when.now, core.zone),
    to: row.to,
    cc: '',
    bcc: '',
    attachments: row.attachments.join(','),
    pending: 0,
    failed: 0,
  });
  return Number(id);
}

export interface ClientEmailRequest {
  /** an existing client template, or a custom message below */
  messagename?: string;
  custom?: { type: string; subject: string; message: string };
  relid: number;
  customvars?: Record<string, string>;
}

/** Sends (logs) a client email; the outcome says why nothing was sent. */
export async function sendClientEmail(
  core: PanelCore,
  req: ClientEmailRequest,
  when: When = core.when(),
): Promise<EmailOutcome> {
  const db = core.knex;
  const systemLanguage = (await getSettings(db, ['Language'])).Language || 'english';
  let type: EmailType;
  let probe: Template | null = null;
  if (req.messagename !== undefined) {
    // the template's type decides what the related id is
    probe = await findTemplate(db, req.messagename, CLIENT_TEMPLATE_TYPES, '');
    if (!probe) return { sent: false, reason: 'not_found' };
    if (!(SUPPORTED_TYPES as readonly string[]).includes(probe.type))
      return { sent: false, reason: 'unsupported_type' };
    type = probe.type as EmailType;
  } else if (req.custom) {
    if (!(SUPPORTED_TYPES as readonly string[]).includes(req.custom.type))
      return { sent: false, reason: 'unsupported_type' };
    type = req.custom.type as EmailType;
  } else {
    return { sent: false, reason: 'not_found' };
  }

  const resolved = await resolveRelated(db, type, req.relid, systemLanguage);
  if (!resolved) return { sent: false, reason: 'bad_relid' };
  let template: Template;
  if (probe && req.messagename !== undefined) {
    template =
      (await findTemplate(db, req.messagename, [type], resolved.client.language || systemLanguage)) ?? probe;
    if (template.disabled) return { sent: false, reason: 'disabled' };
  } else {
    template = {
      type,
      name: '',
      subject: req.custom!.subject,
      message: req.custom!.message,
      disabled: false,
      plaintext: false,
      attachments: '',
    };
  }
  let fields: Record<string, MergeValue> = { ...resolved.fields, ...(req.customvars ?? {}) };
  const attachments: string[] = template.attachments ? template.attachments.split(',').filter(Boolean) : [];

  if (req.messagename !== undefined) {
    const hook = await core.hooks.run('EmailPreSend', {
      messagename: req.messagename,
      relid: req.relid,
      mergefields: fields,
    });
    if (hook.merged.abortsend === true) {
      await core.activity(
        {
          description: `Email Sending Aborted by Hook (Template: ${req.messagename}, Related ID: ${req.relid})`,
          userid: resolved.client.id,
        },
        when,
      );
      return { sent: false, reason: 'aborted' };
    }
    const { abortsend: _a, attachments: extraFiles, ...more } = hook.merged;
    fields = { ...fields, ...(more as Record<string, MergeValue>) };
    if (Array.isArray(extraFiles)) {
      for (const f of extraFiles) {
        const name = Array.isArray(f) ? f[0] : (f as { filename?: unknown })?.filename;
        if (typeof name === 'string') attachments.push(name);
      }
    }
  }

  const subject = renderMergeFields(template.subject, fields, { html: false });
  const message = renderMergeFields(template.message, fields, { html: !template.plaintext, raw: RAW_FIELDS });
  const to = `${`${resolved.client.firstname} ${resolved.client.lastname}`.trim()} <${resolved.client.email}>`;
  const emailId = await logEmail(
    core,
    { userid: resolved.client.id, to, subject, message, attachments },
    when,
  );
  await core.activity(
    {
      description: `Email Sent to ${`${resolved.client.firstname} ${resolved.client.lastname}`.trim()} (${subject})`,
      userid: resolved.client.id,
    },
    when,
  );
  return { sent: true, emailId, subject };
}

export interface AdminEmailRequest {
  messagename?: string;
  custom?: { subject: string; message: string };
  mergefields?: Record<string, string>;
  type?: string;
}

/** Admin notifications go to every enabled admin; logged with userid 0. */
export async function sendAdminEmail(
  core: PanelCore,
  req: AdminEmailRequest,
  when: When = core.when(),
): Promise<EmailOutcome> {
  const db = core.knex;
  let subjectTpl: string;
  let messageTpl: string;
  if (req.messagename !== undefined) {
    const t = await findTemplate(db, req.messagename, ['admin'], '');
    if (!t) return { sent: false, reason: 'not_found' };
    if (t.disabled) return { sent: false, reason: 'disabled' };
    subjectTpl = t.subject;
    messageTpl = t.message;
  } else if (req.custom) {
    subjectTpl = req.custom.subject;
    messageTpl = req.custom.message;
  } else return { sent: false, reason: 'not_found' };
  const fields = { ...(await generalFields(db)), ...(req.mergefields ?? {}) };
  const admins = await db('tbladmins').where({ disabled: 0 }).orderBy('id').select('email');
  const subject = renderMergeFields(subjectTpl, fields, { html: false });
  const message = renderMergeFields(messageTpl, fields, { html: true });
  const emailId = await logEmail(
    core,
    {
      userid: 0,
      to: admins
        .map((a) => textCell(a.email))
        .filter(Boolean)
        .join(', '),
      subject,
      message,
      attachments: [],
    },
    when,
  );
  return { sent: true, emailId, subject };
}
