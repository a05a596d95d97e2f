/**
 * WHMCS's response shapes, built from the panel's records: numbers as strings, money with two
 * decimals, "" for false flags, zero-dates for unset dates, lists as `{item: [...]}`.
 */
import { formatDecimal, formatMoney, maxBig } from '../domain/money.js';
import type { Client, Currency } from '../db/clients.js';
import type { Invoice } from '../db/invoices.js';
import type { CustomFieldValue, Product, Service } from '../db/services.js';

export const ZERO_DATE = '0000-00-00';
export const ZERO_DATETIME = '0000-00-00 00:00:00';

const flagText = (b: boolean): string => (b ? '1' : '');

/** Tax rates are kept at 3 decimals; shown with 2 unless the third is used ("21.00", "5.125"). */
export function rateText(scaled: bigint): string {
  const s = formatDecimal(scaled, 3);
  return s.endsWith('0') ? s.slice(0, -1) : s;
}

/** What is left to pay; an overpayment went to the client's credit, so it never shows below 0. */
export const balanceOf = (inv: Invoice): bigint => maxBig(inv.balanceMinor, 0n);

export function invoiceView(inv: Invoice): Record<string, unknown> {
  return {
    invoiceid: String(inv.id),
    invoicenum: inv.invoicenum,
    userid: String(inv.userid),
    date: inv.date ?? ZERO_DATE,
    duedate: inv.duedate ?? ZERO_DATE,
    datepaid: inv.datepaid ?? ZERO_DATETIME,
    lastcaptureattempt: inv.lastCaptureAttempt ?? ZERO_DATETIME,
    subtotal: formatMoney(inv.subtotalMinor),
    credit: formatMoney(inv.creditMinor),
    tax: formatMoney(inv.taxMinor),
    tax2: formatMoney(inv.tax2Minor),
    total: formatMoney(inv.totalMinor),
    balance: formatMoney(balanceOf(inv)),
    taxrate: rateText(inv.taxRateScaled),
    taxrate2: rateText(inv.taxRate2Scaled),
    status: inv.status,
    paymentmethod: inv.paymentmethod,
    notes: inv.notes,
    ccgateway: '',
    items: {
      item: inv.items.map((i) => ({
        id: String(i.id),
        type: i.type,
        relid: String(i.relid),
        description: i.description,
        amount: formatMoney(i.amountMinor),
        taxed: i.taxed ? '1' : '0',
      })),
    },
    // WHMCS sends "" when there are none
    transactions:
      inv.payments.length === 0
        ? ''
        : {
            transaction: inv.payments.map((p) => ({
              id: String(p.id),
              userid: String(p.userid),
              currency: String(p.currency),
              gateway: p.gateway,
              date: p.date ?? ZERO_DATETIME,
              description: p.description,
              amountin: formatMoney(p.amountInMinor),
              fees: formatMoney(p.feesMinor),
              amountout: formatMoney(p.amountOutMinor),
              rate: p.rate,
              transid: p.transid,
              invoiceid: String(p.invoiceid),
              refundid: String(p.refundid),
            })),
          },
  };
}

export function invoiceListView(
  inv: Invoice,
  client: Client | null,
  currency: Currency,
): Record<string, unknown> {
  return {
    id: String(inv.id),
    userid: String(inv.userid),
    firstname: client?.firstname ?? '',
    lastname: client?.lastname ?? '',
    companyname: client?.companyname ?? '',
    invoicenum: inv.invoicenum,
    date: inv.date ?? ZERO_DATE,
    duedate: inv.duedate ?? ZERO_DATE,
    datepaid: inv.datepaid ?? ZERO_DATETIME,
    last_capture_attempt: inv.lastCaptureAttempt ?? ZERO_DATETIME,
    date_refunded: inv.dateRefunded ?? ZERO_DATETIME,
    date_cancelled: inv.dateCancelled ?? ZERO_DATETIME,
    subtotal: formatMoney(inv.subtotalMinor),
    credit: formatMoney(inv.creditMinor),
    tax: formatMoney(inv.taxMinor),
    tax2: formatMoney(inv.tax2Minor),
    total: formatMoney(inv.totalMinor),
    taxrate: rateText(inv.taxRateScaled),
    taxrate2: rateText(inv.taxRate2Scaled),
    status: inv.status,
    paymentmethod: inv.paymentmethod,
    paymethodid: inv.paymethodid === null ? null : String(inv.paymethodid),
    notes: inv.notes,
    created_at: inv.createdAt ?? ZERO_DATETIME,
    updated_at: inv.updatedAt ?? ZERO_DATETIME,
    currencycode: currency.code,
    currencyprefix: currency.prefix,
    currencysuffix: currency.suffix,
  };
}

export function clientView(c: Client, currency: Currency): Record<string, unknown> {
  return {
    userid: String(c.id),
    id: String(c.id),
    uuid: c.uuid,
    firstname: c.firstname,
    lastname: c.lastname,
    fullname: `${c.firstname} ${c.lastname}`.trim(),
    companyname: c.companyname,
    email: c.email,
    address1: c.address1,
    address2: c.address2,
    city: c.city,
    fullstate: c.state,
    state: c.state,
    postcode: c.postcode,
    countrycode: c.country,
    country: c.country,
    phonenumber: c.phonenumber,
    billingcid: String(c.billingcid),
    notes: c.notes,
    currency: String(c.currency),
    defaultgateway: c.defaultgateway,
    groupid: String(c.groupid),
    status: c.status,
    credit: formatMoney(c.creditMinor),
    taxexempt: flagText(c.taxexempt),
    latefeeoveride: flagText(c.latefeeoveride),
    overideduenotices: flagText(c.overideduenotices),
    separateinvoices: flagText(c.separateinvoices),
    disableautocc: flagText(c.disableautocc),
    emailoptout: flagText(c.emailoptout),
    overrideautoclose: flagText(c.overrideautoclose),
    language: c.language,
    currency_code: currency.code,
  };
}

/** WHMCS's way of showing money in stats: prefix, amount, suffix ("€12.00 EUR"). */
export const currencyText = (minor: bigint, cur: Currency): string =>
  `${cur.prefix}${formatMoney(minor)}${cur.suffix}`;

export function serviceView(
  s: Service,
  product: Product | null,
  server: { name: string; ipaddress: string; hostname: string } | null,
  fields: CustomFieldValue[],
  options: Array<Record<string, string>> = [],
): Record<string, unknown> {
  return {
    id: String(s.id),
    qty: String(s.qty),
    clientid: String(s.userid),
    orderid: String(s.orderid),
    ordernumber: '',
    pid: String(s.packageid),
    regdate: s.regdate ?? ZERO_DATE,
    name: product?.name ?? '',
    translated_name: product?.name ?? '',
    groupname: product?.groupName ?? '',
    translated_groupname: product?.groupName ?? '',
    domain: s.domain,
    dedicatedip: s.dedicatedip,
    serverid: String(s.server),
    servername: server?.name ?? '',
    serverip: server?.ipaddress ?? '',
    serverhostname: server?.hostname ?? '',
    suspensionreason: s.suspendreason,
    firstpaymentamount: formatMoney(s.firstpaymentamountMinor),
    recurringamount: formatMoney(s.amountMinor),
    paymentmethod: s.paymentmethod,
    paymentmethodname: s.paymentmethod,
    billingcycle: s.billingcycleText,
    nextduedate: s.nextduedate ?? ZERO_DATE,
    status: s.domainstatus,
    username: s.username,
    password: '',
    subscriptionid: s.subscriptionid,
    promoid: String(s.promoid),
    overideautosuspend: flagText(s.overideautosuspend),
    overidesuspenduntil: s.overidesuspenduntil ?? ZERO_DATE,
    ns1: s.ns1,
    ns2: s.ns2,
    assignedips: s.assignedips,
    notes: s.notes,
    diskusage: String(s.diskusage),
    disklimit: String(s.disklimit),
    bwusage: String(s.bwusage),
    bwlimit: String(s.bwlimit),
    lastupdate: s.lastupdate ?? ZERO_DATETIME,
    customfields: {
      customfield: fields.map((f) => ({
        id: String(f.id),
        name: f.name,
        translated_name: f.name,
        value: f.value,
      })),
    },
    configoptions: { configoption: options },
  };
}
