import { invoiceTotals } from '../domain/invoice-totals.js';
import { sum } from '../domain/money.js';
import { dateCell, datetimeCell, flagCell, intCell, moneyCell, sqlMoney, textCell, type Db } from './rows.js';

export const INVOICE_STATUSES = [
  'Draft',
  'Unpaid',
  'Paid',
  'Cancelled',
  'Refunded',
  'Collections',
  'Payment Pending',
] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export interface InvoiceItem {
  id: number;
  invoiceid: number;
  userid: number;
  type: string;
  relid: number;
  description: string;
  amountMinor: bigint;
  taxed: boolean;
  duedate: string | null;
  paymentmethod: string;
  notes: string;
}

export interface Payment {
  id: number;
  userid: number;
  currency: number;
  gateway: string;
  date: string | null;
  description: string;
  amountInMinor: bigint;
  feesMinor: bigint;
  amountOutMinor: bigint;
  rate: string;
  transid: string;
  invoiceid: number;
  refundid: number;
}

export interface Invoice {
  id: number;
  userid: number;
  invoicenum: string;
  date: string | null;
  duedate: string | null;
  datepaid: string | null;
  lastCaptureAttempt: string | null;
  dateRefunded: string | null;
  dateCancelled: string | null;
  subtotalMinor: bigint;
  creditMinor: bigint;
  taxMinor: bigint;
  tax2Minor: bigint;
  totalMinor: bigint;
  taxRateScaled: bigint;
  taxRate2Scaled: bigint;
  status: InvoiceStatus;
  paymentmethod: string;
  paymethodid: number | null;
  notes: string;
  createdAt: string | null;
  updatedAt: string | null;
  items: InvoiceItem[];
  payments: Payment[];
  /** payments received net of refunds */
  paidMinor: bigint;
  balanceMinor: bigint;
}

export function parseItem(r: Record<string, unknown>): InvoiceItem {
  return {
    id: intCell(r.id),
    invoiceid: intCell(r.invoiceid),
    userid: intCell(r.userid),
    type: textCell(r.type),
    relid: intCell(r.relid),
    description: textCell(r.description),
    amountMinor: moneyCell(r.amount),
    taxed: flagCell(r.taxed),
    duedate: dateCell(r.duedate),
    paymentmethod: textCell(r.paymentmethod),
    notes: textCell(r.notes),
  };
}

export function parsePayment(r: Record<string, unknown>): Payment {
  return {
    id: intCell(r.id),
    userid: intCell(r.userid),
    currency: intCell(r.currency),
    gateway: textCell(r.gateway),
    date: datetimeCell(r.date),
    description: textCell(r.description),
    amountInMinor: moneyCell(r.amountin),
    feesMinor: moneyCell(r.fees),
    amountOutMinor: moneyCell(r.amountout),
    rate: textCell(r.rate),
    transid: textCell(r.transid),
    invoiceid: intCell(r.invoiceid),
    refundid: intCell(r.refundid),
  };
}

export function parseInvoiceRow(
  r: Record<string, unknown>,
  items: InvoiceItem[] = [],
  payments: Payment[] = [],
): Invoice {
  const paidMinor = sum(payments.map((p) => p.amountInMinor - p.amountOutMinor));
  const totalMinor = moneyCell(r.total);
  return {
    id: intCell(r.id),
    userid: intCell(r.userid),
    invoicenum: textCell(r.invoicenum),
    date: dateCell(r.date),
    duedate: dateCell(r.duedate),
    datepaid: datetimeCell(r.datepaid),
    lastCaptureAttempt: datetimeCell(r.last_capture_attempt),
    dateRefunded: datetimeCell(r.date_refunded),
    dateCancelled: datetimeCell(r.date_cancelled),
    subtotalMinor: moneyCell(r.subtotal),
    creditMinor: moneyCell(r.credit),
    taxMinor: moneyCell(r.tax),
    tax2Minor: moneyCell(r.tax2),
    totalMinor,
    taxRateScaled: moneyCell(r.taxrate, 3),
    taxRate2Scaled: moneyCell(r.taxrate2, 3),
    status: textCell(r.status) as InvoiceStatus,
    paymentmethod: textCell(r.paymentmethod),
    paymethodid: r.paymethodid === null || r.paymethodid === undefined ? null : intCell(r.paymethodid),
    notes: textCell(r.notes),
    createdAt: datetimeCell(r.created_at),
    updatedAt: datetimeCell(r.updated_at),
    items,
    payments,
    paidMinor,
    balanceMinor: totalMinor - paidMinor,
  };
}

export async function loadItems(db: Db, invoiceId: number): Promise<InvoiceItem[]> {
  return (await db('tblinvoiceitems').where({ invoiceid: invoiceId }).orderBy('id')).map(parseItem);
}

export async function loadPayments(db: Db, invoiceId: number): Promise<Payment[]> {
  return (await db('tblaccounts').where({ invoiceid: invoiceId }).orderBy('id')).map(parsePayment);
}

export async function loadInvoice(db: Db, invoiceId: number): Promise<Invoice | null> {
  if (!Number.isSafeInteger(invoiceId) || invoiceId <= 0) return null;
  // The three reads do not depend on each other: outside a transaction they go out side by side.
  const [row, items, payments] = await Promise.all([
    db('tblinvoices').where({ id: invoiceId }).first(),
    loadItems(db, invoiceId),
    loadPayments(db, invoiceId),
  ]);
  if (!row) return null;
  return parseInvoiceRow(row, items, payments);
}

/**
 * Recomputes subtotal, tax, tax2 and total from the lines (WHMCS's updateInvoiceTotal) and writes
 * them. Called after every change to an invoice's lines, rates or credit.
 */
export async function recalcInvoice(db: Db, invoiceId: number, updatedAt: string): Promise<Invoice> {
  const inv = await loadInvoice(db, invoiceId);
  if (!inv) throw new Error(`invoice ${invoiceId} vanished`);
  const t = invoiceTotals(inv.items, inv.taxRateScaled, inv.taxRate2Scaled, inv.creditMinor, inv.paidMinor);
  await db('tblinvoices')
    .where({ id: invoiceId })
    .update({
      subtotal: sqlMoney(t.subtotalMinor),
      tax: sqlMoney(t.taxMinor),
      tax2: sqlMoney(t.tax2Minor),
      total: sqlMoney(t.totalMinor),
      updated_at: updatedAt,
    });
  return { ...inv, ...t };
}

export interface NewItem {
  type: string;
  relid: number;
  description: string;
  amountMinor: bigint;
  taxed: boolean;
  duedate: string | null;
  paymentmethod?: string;
  notes?: string;
}

export async function insertItems(
  db: Db,
  invoiceId: number,
  userid: number,
  items: readonly NewItem[],
  paymentmethod: string,
): Promise<number[]> {
  const ids: number[] = [];
  for (const it of items) {
    const [id] = await db('tblinvoiceitems').insert({
      invoiceid: invoiceId,
      userid,
      type: it.type,
      relid: it.relid,
      description: it.description,
      amount: sqlMoney(it.amountMinor),
      taxed: it.taxed ? 1 : 0,
      duedate: it.duedate,
      paymentmethod: it.paymentmethod ?? paymentmethod,
      notes: it.notes ?? '',
    });
    ids.push(intCell(id));
  }
  return ids;
}
