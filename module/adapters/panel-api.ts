import { parseDecimal, rescale, scaledToString } from '../domain/money.js';

/**
 * The panel port: the WHMCS API commands the add-on uses, with WHMCS's command and parameter names.
 * Two adapters implement it: an HTTP client of the WHMCS External API (whmcs-http-api.ts) and the
 * reference panel's in-process API (panel/local-api.ts, like WHMCS localAPI). Both go through
 * `createPanelApi`, so the typed helpers and the error handling are the same code for both.
 *
 * WHMCS answers with numbers as strings ("15.95", "1") and sometimes as JSON numbers; the typed
 * helpers accept both. Money stays an exact decimal string ("15.95"): the add-on turns it into
 * bigint minor units with its own money rules.
 */

/** A parameter value as a caller writes it; sent the way PHP's http_build_query would send it. */
export type PanelParamValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly PanelParamValue[]
  | { readonly [key: string]: PanelParamValue };

export type PanelParams = { readonly [key: string]: PanelParamValue };

/** A success envelope as the panel sent it (`result: "success"` plus the command's fields). */
export type PanelResult = Record<string, unknown>;

export type PanelErrorKind =
  /** the panel answered `result: error` (bad ids, bad input, a refused action) */
  | 'api'
  /** Authentication Failed, Invalid IP */
  | 'auth'
  /** no answer: connection refused/reset, DNS */
  | 'transport'
  | 'timeout'
  /** an answer that is not a WHMCS envelope */
  | 'bad_response';

export class PanelApiError extends Error {
  readonly upstream = 'panel' as const;
  readonly kind: PanelErrorKind;
  readonly command: string;
  /** HTTP status when there was an HTTP answer */
  readonly status: number | undefined;
  /** true only when repeating the same call may succeed and is safe */
  readonly retryable: boolean;

  constructor(
    kind: PanelErrorKind,
    message: string,
    opts: { command: string; status?: number; retryable?: boolean; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PanelApiError';
    this.kind = kind;
    this.command = opts.command;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
  }
}

/** Commands that only read: the only ones a client may repeat after a transport failure. */
export const SAFE_TO_REPEAT: ReadonlySet<string> = new Set(
  [
    'GetInvoice',
    'GetInvoices',
    'GetClientsDetails',
    'GetClientsProducts',
    'GetConfigurationValue',
    'GetActivityLog',
    'GetEmails',
    'GetProducts',
    'GetAdminUsers',
  ].map((c) => c.toLowerCase()),
);

export const isSafeToRepeat = (command: string): boolean => SAFE_TO_REPEAT.has(command.toLowerCase());

// Messages the panel uses when authentication or the IP check fails (WHMCS's wording).
const AUTH_MESSAGES = [/^Authentication Failed/i, /^Invalid IP/i, /^Invalid Access Key/i];

/**
 * Reads a decoded WHMCS answer: `result` (or `status`, a quirk of some documented examples) is
 * "success" or "error" with `message`. Anything else is a bad response.
 */
export function interpretEnvelope(command: string, body: unknown, status?: number): PanelResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new PanelApiError(
      'bad_response',
      `the panel answered ${command} with something that is not a JSON object`,
      { command, status },
    );
  }
  const env = body as Record<string, unknown>;
  const result = env.result ?? env.status;
  if (result === 'success') return env;
  if (result === 'error') {
    const message = typeof env.message === 'string' && env.message !== '' ? env.message : 'Unknown error';
    const kind: PanelErrorKind = AUTH_MESSAGES.some((re) => re.test(message)) ? 'auth' : 'api';
    throw new PanelApiError(kind, message, { command, status });
  }
  throw new PanelApiError('bad_response', `the panel answered ${command} without result=success|error`, {
    command,
    status,
  });
}

/**
 * Flattens parameters into name/value pairs exactly as PHP's http_build_query does: arrays and
 * objects become `name[key]`, booleans 1/0 (the string "false" would be true in PHP), null and
 * undefined are left out.
 */
export function toFormPairs(params: PanelParams): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (name: string, value: PanelParamValue): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'boolean') out.push([name, value ? '1' : '0']);
    else if (typeof value === 'string') out.push([name, value]);
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`parameter ${name} is not a finite number`);
      out.push([name, String(value)]);
    } else if (typeof value === 'bigint') out.push([name, value.toString()]);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(`${name}[${i}]`, v));
    else
      for (const [k, v] of Object.entries(value as Record<string, PanelParamValue>)) walk(`${name}[${k}]`, v);
  };
  for (const [k, v] of Object.entries(params)) walk(k, v);
  return out;
}

export function encodeForm(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/**
 * PHP serialize() of a flat or nested array of strings/integers, for parameters WHMCS takes as
 * base64_encode(serialize(array)) (SendEmail customvars, UpdateClientProduct customfields).
 * String lengths are in UTF-8 bytes, as PHP counts them.
 */
export function phpSerialize(value: unknown): string {
  if (value === null || value === undefined) return 'N;';
  if (typeof value === 'boolean') return `b:${value ? 1 : 0};`;
  if (typeof value === 'bigint') return `i:${value};`;
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return `i:${value};`;
    throw new TypeError('phpSerialize: pass non-integer numbers as strings');
  }
  if (typeof value === 'string') return `s:${Buffer.byteLength(value, 'utf8')}:"${value}";`;
  if (Array.isArray(value)) return phpSerialize(Object.fromEntries(value.map((v, i) => [String(i), v])));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const body = entries
      .map(([k, v]) => (/^(0|-?[1-9]\d*)$/.test(k) ? `i:${k};` : phpSerialize(k)) + phpSerialize(v))
      .join('');
    return `a:${entries.length}:{${body}}`;
  }
  throw new TypeError(`phpSerialize: cannot serialize ${typeof value}`);
}

export const base64PhpSerialize = (value: Record<string, unknown> | unknown[]): string =>
  Buffer.from(phpSerialize(value), 'utf8').toString('base64');

// ---------------------------------------------------------------------------------------------
// Typed shapes (parsed from the envelope; money as exact decimal strings)

export type InvoiceStatus =
  'Draft' | 'Unpaid' | 'Paid' | 'Cancelled' | 'Refunded' | 'Collections' | 'Payment Pending';
export type ServiceStatus =
  'Pending' | 'Active' | 'Suspended' | 'Terminated' | 'Cancelled' | 'Fraud' | 'Completed';

export interface PanelInvoiceItem {
  id: number;
  type: string;
  relId: number;
  description: string;
  amount: string;
  taxed: boolean;
}

export interface PanelInvoice {
  invoiceId: number;
  invoiceNum: string;
  userId: number;
  date: string | null;
  dueDate: string | null;
  /** 'YYYY-MM-DD HH:mm:ss' in the panel's time zone, null when unpaid */
  datePaid: string | null;
  subtotal: string;
  credit: string;
  tax: string;
  tax2: string;
  total: string;
  balance: string;
  taxRate: string;
  taxRate2: string;
  status: InvoiceStatus;
  paymentMethod: string;
  notes: string;
  items: PanelInvoiceItem[];
  transactions: Array<{
    id: number;
    transId: string;
    gateway: string;
    date: string;
    amountIn: string;
    fees: string;
    amountOut: string;
  }>;
}

export interface PanelInvoiceSummary {
  id: number;
  userId: number;
  invoiceNum: string;
  date: string | null;
  dueDate: string | null;
  datePaid: string | null;
  subtotal: string;
  credit: string;
  tax: string;
  tax2: string;
  total: string;
  status: InvoiceStatus;
  paymentMethod: string;
  /** the invoice's notes (shown to the client) */
  notes: string;
  currencyCode: string;
}

export interface PanelClient {
  id: number;
  firstName: string;
  lastName: string;
  companyName: string;
  email: string;
  status: string;
  language: string;
  currency: number;
  currencyCode: string;
  credit: string;
  lateFeeOveride: boolean;
  overideDueNotices: boolean;
  taxExempt: boolean;
}

export interface PanelService {
  id: number;
  clientId: number;
  pid: number;
  name: string;
  groupName: string;
  domain: string;
  /** the service's dedicated (main) IP address */
  dedicatedIp: string;
  /** the service's other IPs, one a line as WHMCS keeps them */
  assignedIps: string;
  serverId: number;
  regDate: string | null;
  billingCycle: string;
  nextDueDate: string | null;
  status: ServiceStatus;
  suspensionReason: string;
  recurringAmount: string;
  firstPaymentAmount: string;
  paymentMethod: string;
  overideAutoSuspend: boolean;
  overideSuspendUntil: string | null;
  /** MB, as WHMCS's UsageUpdate writes them */
  bwUsage: number;
  bwLimit: number;
  diskUsage: number;
  diskLimit: number;
  lastUpdate: string | null;
  customFields: Record<string, string>;
  customFieldList: Array<{ id: number; name: string; value: string }>;
}

export interface NewInvoiceLine {
  description: string;
  /** exact decimal string, e.g. "12.50"; may be negative */
  amount: string;
  taxed?: boolean;
}

export interface CreateInvoiceInput {
  userId: number;
  status?: InvoiceStatus;
  draft?: boolean;
  sendInvoice?: boolean;
  paymentMethod?: string;
  taxRate?: string;
  taxRate2?: string;
  date?: string;
  dueDate?: string;
  notes?: string;
  items: NewInvoiceLine[];
  autoApplyCredit?: boolean;
}

export interface UpdateInvoiceInput {
  invoiceId: number;
  status?: InvoiceStatus;
  paymentMethod?: string;
  taxRate?: string;
  taxRate2?: string;
  date?: string;
  dueDate?: string;
  notes?: string;
  /** existing lines by id; WHMCS needs description, amount and taxed for each */
  changeItems?: Array<{ id: number; description: string; amount: string; taxed: boolean }>;
  newItems?: NewInvoiceLine[];
  deleteLineIds?: number[];
  publish?: boolean;
  publishAndSendEmail?: boolean;
}

export interface UpdateClientProductInput {
  serviceId: number;
  status?: ServiceStatus;
  nextDueDate?: string;
  overideAutoSuspend?: boolean;
  /** '' clears it */
  overideSuspendUntil?: string;
  suspendReason?: string;
  bwUsage?: number;
  bwLimit?: number;
  diskUsage?: number;
  diskLimit?: number;
  recurringAmount?: string;
  notes?: string;
  /** custom field id → value */
  customFields?: Record<number, string>;
}

export interface PanelApi {
  /**
   * true when the panel can be asked only while one of its hook calls is open (WHMCS through the
   * bridge's relay): work after a hook's answer cannot ask it anything
   */
  readonly onlyDuringHooks?: boolean;
  /** Any command, raw: the success envelope, or a thrown PanelApiError. */
  call(command: string, params?: PanelParams): Promise<PanelResult>;
  getInvoice(invoiceId: number): Promise<PanelInvoice>;
  getInvoices(filter?: {
    userId?: number;
    status?: InvoiceStatus | 'Overdue';
    limitStart?: number;
    limitNum?: number;
    orderBy?: string;
    order?: 'asc' | 'desc';
  }): Promise<{ totalResults: number; invoices: PanelInvoiceSummary[] }>;
  createInvoice(input: CreateInvoiceInput): Promise<{ invoiceId: number; status: InvoiceStatus }>;
  updateInvoice(input: UpdateInvoiceInput): Promise<{ invoiceId: number }>;
  addInvoicePayment(input: {
    invoiceId: number;
    transId: string;
    gateway: string;
    date?: string;
    amount?: string;
    fees?: string;
    noEmail?: boolean;
  }): Promise<void>;
  getClientsDetails(clientId: number): Promise<PanelClient>;
  getClientsProducts(filter: {
    clientId?: number;
    serviceId?: number;
    pid?: number;
    limitStart?: number;
    limitNum?: number;
  }): Promise<{ totalResults: number; products: PanelService[] }>;
  updateClientProduct(input: UpdateClientProductInput): Promise<{ serviceId: number }>;
  moduleSuspend(serviceId: number, suspendReason?: string): Promise<void>;
  moduleUnsuspend(serviceId: number): Promise<void>;
  sendEmail(
    input:
      | { messageName: string; id: number; customVars?: Record<string, string> }
      | {
          customType: 'general' | 'product' | 'invoice';
          customSubject: string;
          customMessage: string;
          id: number;
          customVars?: Record<string, string>;
        },
  ): Promise<void>;
  sendAdminEmail(
    input:
      | { messageName: string; mergeFields?: Record<string, string>; type?: 'system' | 'account' | 'support' }
      | {
          customSubject: string;
          customMessage: string;
          mergeFields?: Record<string, string>;
          type?: 'system' | 'account' | 'support';
        },
  ): Promise<void>;
  logActivity(description: string, clientId?: number): Promise<void>;
  genInvoices(input?: {
    clientId?: number;
    serviceIds?: number[];
    noEmails?: boolean;
  }): Promise<{ numCreated: number; latestInvoiceId: number | null }>;
  getConfigurationValue(setting: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Parsing helpers: WHMCS's numbers-as-strings, "" for false, zero-dates for null

const bad = (command: string, what: string): PanelApiError =>
  new PanelApiError('bad_response', `${command}: ${what}`, { command });

export function int(command: string, v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v))) return Number(v);
  throw bad(command, `${what} is not an integer (${JSON.stringify(v)})`);
}

const intOr0 = (command: string, v: unknown, what: string): number =>
  v === null || v === undefined || v === '' ? 0 : int(command, v, what);

/**
 * The panel keeps every amount with two decimals, whatever the currency (WHMCS's decimal(16,2)
 * columns): a JPY invoice reads "82980.00", and a BHD line of 187.654 is 187.65 on it. Amounts the
 * panel gives are added and compared in these hundredths, never mixed with a currency's minor units.
 */
export const PANEL_DECIMALS = 2;

/** "519.95" → 51995n; more than two decimals is refused (no panel writes them). */
export const panelHundredths = (amount: string, what = 'amount'): bigint =>
  rescale(parseDecimal(amount, what, PANEL_DECIMALS, true), PANEL_DECIMALS);

/** 200n → "2.00" */
export const panelAmount = (hundredths: bigint): string => scaledToString(hundredths, PANEL_DECIMALS);

/** Money or rate: an exact decimal string, normalised to at least two decimals. */
export function decimal(command: string, v: unknown, what: string): string {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^-?\d+(\.\d+)?$/.test(s.trim()))
    throw bad(command, `${what} is not a decimal (${JSON.stringify(v)})`);
  const [whole, frac = ''] = s.trim().split('.');
  return `${whole}.${frac.padEnd(2, '0')}`;
}

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** WHMCS booleans: true, 1, "1", "on", "true" are true; "", 0, "0", false are false. */
export const flag = (v: unknown): boolean =>
  v === true || v === 1 || (typeof v === 'string' && ['1', 'on', 'true', 'yes'].includes(v.toLowerCase()));

/** Zero-dates ('0000-00-00', '0000-00-00 00:00:00') and empty values are "unset". */
export function dateOrNull(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = String(v);
  return s.startsWith('0000-00-00') ? null : s;
}

/** `items: {item: [...]}` or `""` (WHMCS's empty list) → array */
/** Whether the client's credit log (GetCredits) holds a credit with this description: a credit given before a crash is never given twice. */
export async function creditLogged(
  panel: Pick<PanelApi, 'call'>,
  clientId: number,
  description: string | ((description: string) => boolean),
): Promise<boolean> {
  const r = await panel.call('GetCredits', { clientid: clientId });
  const matches = typeof description === 'string' ? (d: string) => d === description : description;
  return listOf(r.credits, 'credit').some((c) => matches(String(c.description ?? '')));
}

/** A list in WHMCS's envelope (`{credits: {credit: [...]}}`; one item may come as an object): its items. */
export function listOf(v: unknown, key: string): Record<string, unknown>[] {
  if (!v || typeof v !== 'object') return [];
  const inner = (v as Record<string, unknown>)[key];
  if (Array.isArray(inner)) return inner as Record<string, unknown>[];
  if (inner && typeof inner === 'object')
    return Object.values(inner as Record<string, unknown>) as Record<string, unknown>[];
  return [];
}

function parseInvoice(c: string, r: PanelResult): PanelInvoice {
  return {
    invoiceId: int(c, r.invoiceid, 'invoiceid'),
    invoiceNum: text(r.invoicenum),
    userId: int(c, r.userid, 'userid'),
    date: dateOrNull(r.date),
    dueDate: dateOrNull(r.duedate),
    datePaid: dateOrNull(r.datepaid),
    subtotal: decimal(c, r.subtotal, 'subtotal'),
    credit: decimal(c, r.credit, 'credit'),
    tax: decimal(c, r.tax, 'tax'),
    tax2: decimal(c, r.tax2, 'tax2'),
    total: decimal(c, r.total, 'total'),
    balance: decimal(c, r.balance, 'balance'),
    taxRate: decimal(c, r.taxrate, 'taxrate'),
    taxRate2: decimal(c, r.taxrate2, 'taxrate2'),
    status: text(r.status) as InvoiceStatus,
    paymentMethod: text(r.paymentmethod),
    notes: text(r.notes),
    items: listOf(r.items, 'item').map((i) => ({
      id: int(c, i.id, 'item id'),
      type: text(i.type),
      relId: intOr0(c, i.relid, 'item relid'),
      description: text(i.description),
      amount: decimal(c, i.amount, 'item amount'),
      taxed: flag(i.taxed),
    })),
    transactions: listOf(r.transactions, 'transaction').map((t) => ({
      id: int(c, t.id, 'transaction id'),
      transId: text(t.transid),
      gateway: text(t.gateway),
      date: text(t.date),
      amountIn: decimal(c, t.amountin ?? '0', 'amountin'),
      fees: decimal(c, t.fees ?? '0', 'fees'),
      amountOut: decimal(c, t.amountout ?? '0', 'amountout'),
    })),
  };
}

function parseService(c: string, p: Record<string, unknown>): PanelService {
  const fields = listOf(p.customfields, 'customfield').map((f) => ({
    id: int(c, f.id, 'customfield id'),
    name: text(f.name),
    value: text(f.value),
  }));
  return {
    id: int(c, p.id, 'id'),
    clientId: int(c, p.clientid, 'clientid'),
    pid: int(c, p.pid, 'pid'),
    name: text(p.name),
    groupName: text(p.groupname),
    domain: text(p.domain),
    dedicatedIp: text(p.dedicatedip),
    assignedIps: text(p.assignedips),
    serverId: intOr0(c, p.serverid, 'serverid'),
    regDate: dateOrNull(p.regdate),
    billingCycle: text(p.billingcycle),
    nextDueDate: dateOrNull(p.nextduedate),
    status: text(p.status) as ServiceStatus,
    suspensionReason: text(p.suspensionreason),
    recurringAmount: decimal(c, p.recurringamount, 'recurringamount'),
    firstPaymentAmount: decimal(c, p.firstpaymentamount, 'firstpaymentamount'),
    paymentMethod: text(p.paymentmethod),
    overideAutoSuspend: flag(p.overideautosuspend),
    overideSuspendUntil: dateOrNull(p.overidesuspenduntil),
    bwUsage: intOr0(c, p.bwusage, 'bwusage'),
    bwLimit: intOr0(c, p.bwlimit, 'bwlimit'),
    diskUsage: intOr0(c, p.diskusage, 'diskusage'),
    diskLimit: intOr0(c, p.disklimit, 'disklimit'),
    lastUpdate: dateOrNull(p.lastupdate),
    customFields: Object.fromEntries(fields.map((f) => [f.name, f.value])),
    customFieldList: fields,
  };
}

const optionalBool = (v: boolean | undefined): boolean | undefined => v;

type RawCall = (command: string, params?: PanelParams) => Promise<PanelResult>;

async function getInvoices(
  call: RawCall,
  filter: Parameters<PanelApi['getInvoices']>[0] = {},
): ReturnType<PanelApi['getInvoices']> {
  const c = 'GetInvoices';
  const r = await call(c, {
    userid: filter.userId,
    status: filter.status,
    limitstart: filter.limitStart,
    limitnum: filter.limitNum,
    orderby: filter.orderBy,
    order: filter.order,
  });
  return {
    totalResults: int(c, r.totalresults, 'totalresults'),
    invoices: listOf(r.invoices, 'invoice').map((i) => ({
      id: int(c, i.id, 'id'),
      userId: int(c, i.userid, 'userid'),
      invoiceNum: text(i.invoicenum),
      date: dateOrNull(i.date),
      dueDate: dateOrNull(i.duedate),
      datePaid: dateOrNull(i.datepaid),
      subtotal: decimal(c, i.subtotal, 'subtotal'),
      credit: decimal(c, i.credit, 'credit'),
      tax: decimal(c, i.tax, 'tax'),
      tax2: decimal(c, i.tax2, 'tax2'),
      total: decimal(c, i.total, 'total'),
      status: text(i.status) as InvoiceStatus,
      paymentMethod: text(i.paymentmethod),
      notes: text(i.notes),
      currencyCode: text(i.currencycode),
    })),
  };
}

async function createInvoice(
  call: RawCall,
  input: Parameters<PanelApi['createInvoice']>[0],
): ReturnType<PanelApi['createInvoice']> {
  const c = 'CreateInvoice';
  const params: Record<string, PanelParamValue> = {
    userid: input.userId,
    status: input.status,
    draft: optionalBool(input.draft),
    sendinvoice: optionalBool(input.sendInvoice),
    paymentmethod: input.paymentMethod,
    taxrate: input.taxRate,
    taxrate2: input.taxRate2,
    date: input.date,
    duedate: input.dueDate,
    notes: input.notes,
    autoapplycredit: optionalBool(input.autoApplyCredit),
  };
  input.items.forEach((item, i) => {
    params[`itemdescription${i + 1}`] = item.description;
    params[`itemamount${i + 1}`] = item.amount;
    params[`itemtaxed${i + 1}`] = item.taxed ?? false;
  });
  const r = await call(c, params);
  return { invoiceId: int(c, r.invoiceid, 'invoiceid'), status: text(r.status) as InvoiceStatus };
}

async function updateInvoice(
  call: RawCall,
  input: Parameters<PanelApi['updateInvoice']>[0],
): ReturnType<PanelApi['updateInvoice']> {
  const c = 'UpdateInvoice';
  const params: Record<string, PanelParamValue> = {
    invoiceid: input.invoiceId,
    status: input.status,
    paymentmethod: input.paymentMethod,
    taxrate: input.taxRate,
    taxrate2: input.taxRate2,
    date: input.date,
    duedate: input.dueDate,
    notes: input.notes,
    publish: optionalBool(input.publish),
    publishandsendemail: optionalBool(input.publishAndSendEmail),
  };
  if (input.changeItems?.length) {
    params.itemdescription = Object.fromEntries(input.changeItems.map((i) => [String(i.id), i.description]));
    params.itemamount = Object.fromEntries(input.changeItems.map((i) => [String(i.id), i.amount]));
    params.itemtaxed = Object.fromEntries(input.changeItems.map((i) => [String(i.id), i.taxed]));
  }
  if (input.newItems?.length) {
    params.newitemdescription = input.newItems.map((i) => i.description);
    params.newitemamount = input.newItems.map((i) => i.amount);
    params.newitemtaxed = input.newItems.map((i) => i.taxed ?? false);
  }
  if (input.deleteLineIds?.length) params.deletelineids = input.deleteLineIds;
  const r = await call(c, params);
  return { invoiceId: int(c, r.invoiceid, 'invoiceid') };
}

async function getClientsDetails(call: RawCall, clientId: number): ReturnType<PanelApi['getClientsDetails']> {
  const c = 'GetClientsDetails';
  const r = await call(c, { clientid: clientId });
  const cl = (r.client && typeof r.client === 'object' ? r.client : r) as Record<string, unknown>;
  return {
    id: int(c, cl.id ?? cl.userid, 'client id'),
    firstName: text(cl.firstname),
    lastName: text(cl.lastname),
    companyName: text(cl.companyname),
    email: text(cl.email),
    status: text(cl.status),
    language: text(cl.language),
    currency: intOr0(c, cl.currency, 'currency'),
    currencyCode: text(cl.currency_code),
    credit: decimal(c, cl.credit ?? '0', 'credit'),
    lateFeeOveride: flag(cl.latefeeoveride),
    overideDueNotices: flag(cl.overideduenotices),
    taxExempt: flag(cl.taxexempt),
  };
}

async function updateClientProduct(
  call: RawCall,
  input: Parameters<PanelApi['updateClientProduct']>[0],
): ReturnType<PanelApi['updateClientProduct']> {
  const c = 'UpdateClientProduct';
  const r = await call(c, {
    serviceid: input.serviceId,
    status: input.status,
    nextduedate: input.nextDueDate,
    overideautosuspend:
      input.overideAutoSuspend === undefined ? undefined : input.overideAutoSuspend ? 'on' : 'off',
    overidesuspenduntil: input.overideSuspendUntil,
    suspendreason: input.suspendReason,
    bwusage: input.bwUsage,
    bwlimit: input.bwLimit,
    diskusage: input.diskUsage,
    disklimit: input.diskLimit,
    recurringamount: input.recurringAmount,
    notes: input.notes,
    customfields: input.customFields ? base64PhpSerialize(input.customFields) : undefined,
  });
  return { serviceId: int(c, r.serviceid, 'serviceid') };
}

/** Builds the typed helpers over one raw `call`. */
export function createPanelApi(
  call: (command: string, params?: PanelParams) => Promise<PanelResult>,
  opts: { onlyDuringHooks?: boolean } = {},
): PanelApi {
  return {
    ...(opts.onlyDuringHooks ? { onlyDuringHooks: true } : {}),
    call: (command, params = {}) => call(command, params),
    ...invoiceCommands(call),
    ...serviceCommands(call),
    ...messageCommands(call),
  };
}

/** Invoices: read, listed, created, changed, paid, generated. */
function invoiceCommands(
  call: (command: string, params?: PanelParams) => Promise<PanelResult>,
): Pick<
  PanelApi,
  'getInvoice' | 'getInvoices' | 'createInvoice' | 'updateInvoice' | 'addInvoicePayment' | 'genInvoices'
> {
  return {
    async getInvoice(invoiceId) {
      return parseInvoice('GetInvoice', await call('GetInvoice', { invoiceid: invoiceId }));
    },

    getInvoices: (filter = {}) => getInvoices(call, filter),

    createInvoice: (input) => createInvoice(call, input),

    updateInvoice: (input) => updateInvoice(call, input),

    async addInvoicePayment(input) {
      await call('AddInvoicePayment', {
        invoiceid: input.invoiceId,
        transid: input.transId,
        gateway: input.gateway,
        date: input.date,
        amount: input.amount,
        fees: input.fees,
        noemail: optionalBool(input.noEmail),
      });
    },

    async genInvoices(input = {}) {
      const c = 'GenInvoices';
      const r = await call(c, {
        clientid: input.clientId,
        serviceids: input.serviceIds,
        noemails: optionalBool(input.noEmails),
      });
      return {
        numCreated: intOr0(c, r.numcreated, 'numcreated'),
        latestInvoiceId:
          r.latestinvoiceid === undefined || r.latestinvoiceid === null || r.latestinvoiceid === ''
            ? null
            : int(c, r.latestinvoiceid, 'latestinvoiceid'),
      };
    },
  };
}

/** Clients and their services: details, products, changes, suspension. */
function serviceCommands(
  call: (command: string, params?: PanelParams) => Promise<PanelResult>,
): Pick<
  PanelApi,
  'getClientsDetails' | 'getClientsProducts' | 'updateClientProduct' | 'moduleSuspend' | 'moduleUnsuspend'
> {
  return {
    getClientsDetails: (clientId) => getClientsDetails(call, clientId),

    async getClientsProducts(filter) {
      const c = 'GetClientsProducts';
      const r = await call(c, {
        clientid: filter.clientId,
        serviceid: filter.serviceId,
        pid: filter.pid,
        limitstart: filter.limitStart,
        limitnum: filter.limitNum,
      });
      return {
        totalResults: int(c, r.totalresults, 'totalresults'),
        products: listOf(r.products, 'product').map((p) => parseService(c, p)),
      };
    },

    updateClientProduct: (input) => updateClientProduct(call, input),

    async moduleSuspend(serviceId, suspendReason) {
      await call('ModuleSuspend', { serviceid: serviceId, suspendreason: suspendReason });
    },

    async moduleUnsuspend(serviceId) {
      await call('ModuleUnsuspend', { serviceid: serviceId });
    },
  };
}

/** Emails to clients and admins, the activity log and the panel's settings. */
function messageCommands(
  call: (command: string, params?: PanelParams) => Promise<PanelResult>,
): Pick<PanelApi, 'sendEmail' | 'sendAdminEmail' | 'logActivity' | 'getConfigurationValue'> {
  return {
    async sendEmail(input) {
      const customvars = input.customVars ? base64PhpSerialize(input.customVars) : undefined;
      if ('messageName' in input)
        await call('SendEmail', { messagename: input.messageName, id: input.id, customvars });
      else
        await call('SendEmail', {
          customtype: input.customType,
          customsubject: input.customSubject,
          custommessage: input.customMessage,
          id: input.id,
          customvars,
        });
    },

    async sendAdminEmail(input) {
      if ('messageName' in input)
        await call('SendAdminEmail', {
          messagename: input.messageName,
          mergefields: input.mergeFields,
          type: input.type,
        });
      else
        await call('SendAdminEmail', {
          customsubject: input.customSubject,
          custommessage: input.customMessage,
          mergefields: input.mergeFields,
          type: input.type,
        });
    },

    async logActivity(description, clientId) {
      await call('LogActivity', { description, clientid: clientId });
    },

    async getConfigurationValue(setting) {
      const r = await call('GetConfigurationValue', { setting });
      return text(r.value);
    },
  };
}
