/**
 * The lists the pages show, one page at a time, read with the panel's own cell readers. Money is
 * read as exact decimals and summed in bigint here, never in SQL (SQLite keeps it as text).
 */
import type { Knex } from 'knex';
import { maxBig } from '../domain/money.js';
import type { Currency } from '../db/clients.js';
import { dateCell, datetimeCell, intCell, moneyCell, textCell, type Db } from '../db/rows.js';
import { readPage, type Page } from './pagination.js';

/**
 * `column LIKE %text%` with the text's own % and _ taken literally. The escape character is '!'
 * because a backslash is read differently in MySQL and SQLite string literals.
 */
function whereLike(w: Knex.QueryBuilder, column: string, text: string, or = false): Knex.QueryBuilder {
  const pattern = `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return or
    ? w.orWhereRaw(`?? LIKE ? ESCAPE '!'`, [column, pattern])
    : w.whereRaw(`?? LIKE ? ESCAPE '!'`, [column, pattern]);
}

export async function currencies(db: Db): Promise<Map<number, Currency>> {
  const rows = await db('tblcurrencies').select('id', 'code', 'prefix', 'suffix', 'default');
  const out = new Map<number, Currency>();
  let fallback: Currency = { id: 0, code: '', prefix: '', suffix: '' };
  for (const r of rows) {
    const c = {
      id: intCell(r.id),
      code: textCell(r.code),
      prefix: textCell(r.prefix),
      suffix: textCell(r.suffix),
    };
    out.set(c.id, c);
    if (intCell(r.default) === 1) fallback = c;
  }
  out.set(0, fallback);
  return out;
}

export const currencyOf = (all: Map<number, Currency>, id: number): Currency => all.get(id) ?? all.get(0)!;

// ---------------------------------------------------------------------------------------------

export interface InvoiceRow {
  id: number;
  userid: number;
  clientName: string;
  currency: number;
  date: string | null;
  duedate: string | null;
  datepaid: string | null;
  status: string;
  totalMinor: bigint;
  balanceMinor: bigint;
  paymentmethod: string;
}

export interface InvoiceFilter {
  userid?: number;
  /** an invoice status, or 'Overdue' (Unpaid and past its due date, as GetInvoices reads it) */
  status?: string;
  /** the panel's today, for 'Overdue' */
  today: string;
  excludeDrafts?: boolean;
}

export async function invoicePage(
  db: Knex,
  f: InvoiceFilter,
  page: number,
  perPage: number,
): Promise<Page<InvoiceRow>> {
  let base = db({ i: 'tblinvoices' }).leftJoin({ c: 'tblclients' }, 'c.id', 'i.userid');
  if (f.userid !== undefined) base = base.where('i.userid', f.userid);
  if (f.status === 'Overdue') base = base.where('i.status', 'Unpaid').where('i.duedate', '<', f.today);
  else if (f.status) base = base.where('i.status', f.status);
  if (f.excludeDrafts) base = base.whereNot('i.status', 'Draft');
  const p = await readPage(
    base,
    page,
    perPage,
    (q) =>
      q
        .select(
          'i.id',
          'i.userid',
          'i.date',
          'i.duedate',
          'i.datepaid',
          'i.status',
          'i.total',
          'i.paymentmethod',
          'c.firstname',
          'c.lastname',
          'c.companyname',
          'c.currency',
        )
        .orderBy('i.id', 'desc'),
    (r) => ({
      id: intCell(r.id),
      userid: intCell(r.userid),
      clientName: clientName(r),
      currency: intCell(r.currency),
      date: dateCell(r.date),
      duedate: dateCell(r.duedate),
      datepaid: datetimeCell(r.datepaid),
      status: textCell(r.status),
      totalMinor: moneyCell(r.total),
      balanceMinor: 0n,
      paymentmethod: textCell(r.paymentmethod),
    }),
  );
  // the balance of the page's invoices: total minus payments net of refunds, never below 0
  const ids = p.rows.map((r) => r.id);
  if (ids.length > 0) {
    const paid = new Map<number, bigint>();
    for (const t of await db('tblaccounts')
      .whereIn('invoiceid', ids)
      .select('invoiceid', 'amountin', 'amountout')) {
      const id = intCell(t.invoiceid);
      paid.set(id, (paid.get(id) ?? 0n) + moneyCell(t.amountin) - moneyCell(t.amountout));
    }
    for (const r of p.rows) r.balanceMinor = maxBig(r.totalMinor - (paid.get(r.id) ?? 0n), 0n);
  }
  return p;
}

function clientName(r: Record<string, unknown>): string {
  const name = `${textCell(r.firstname)} ${textCell(r.lastname)}`.trim();
  const company = textCell(r.companyname);
  return company ? `${name} (${company})` : name;
}

// ---------------------------------------------------------------------------------------------

export interface ServiceRow {
  id: number;
  userid: number;
  clientName: string;
  currency: number;
  product: string;
  domain: string;
  status: string;
  billingcycle: string;
  amountMinor: bigint;
  regdate: string | null;
  nextduedate: string | null;
}

export async function servicePage(
  db: Knex,
  f: { userid?: number; status?: string; q?: string },
  page: number,
  perPage: number,
): Promise<Page<ServiceRow>> {
  let base = db({ h: 'tblhosting' })
    .leftJoin({ p: 'tblproducts' }, 'p.id', 'h.packageid')
    .leftJoin({ c: 'tblclients' }, 'c.id', 'h.userid');
  if (f.userid !== undefined) base = base.where('h.userid', f.userid);
  if (f.status) base = base.where('h.domainstatus', f.status);
  if (f.q) base = base.where((w) => whereLike(whereLike(w, 'h.domain', f.q!), 'p.name', f.q!, true));
  return readPage(
    base,
    page,
    perPage,
    (q) =>
      q
        .select(
          'h.id',
          'h.userid',
          'h.domain',
          'h.domainstatus',
          'h.billingcycle',
          'h.amount',
          'h.regdate',
          'h.nextduedate',
          'p.name as product',
          'c.firstname',
          'c.lastname',
          'c.companyname',
          'c.currency',
        )
        .orderBy('h.id', 'desc'),
    (r) => ({
      id: intCell(r.id),
      userid: intCell(r.userid),
      clientName: clientName(r),
      currency: intCell(r.currency),
      product: textCell(r.product),
      domain: textCell(r.domain),
      status: textCell(r.domainstatus),
      billingcycle: textCell(r.billingcycle),
      amountMinor: moneyCell(r.amount),
      regdate: dateCell(r.regdate),
      nextduedate: dateCell(r.nextduedate),
    }),
  );
}

// ---------------------------------------------------------------------------------------------

export interface ClientRow {
  id: number;
  name: string;
  companyname: string;
  email: string;
  status: string;
  datecreated: string | null;
}

export async function clientPage(
  db: Knex,
  f: { q?: string; status?: string },
  page: number,
  perPage: number,
): Promise<Page<ClientRow>> {
  let base = db('tblclients');
  if (f.status) base = base.where('status', f.status);
  if (f.q) {
    const text = f.q;
    base = base.where((w) => {
      whereLike(w, 'firstname', text);
      for (const c of ['lastname', 'companyname', 'email']) whereLike(w, c, text, true);
    });
  }
  return readPage(
    base,
    page,
    perPage,
    (q) =>
      q
        .select('id', 'firstname', 'lastname', 'companyname', 'email', 'status', 'datecreated')
        .orderBy('id', 'desc'),
    (r) => ({
      id: intCell(r.id),
      name: `${textCell(r.firstname)} ${textCell(r.lastname)}`.trim(),
      companyname: textCell(r.companyname),
      email: textCell(r.email),
      status: textCell(r.status),
      datecreated: dateCell(r.datecreated),
    }),
  );
}

// ---------------------------------------------------------------------------------------------

export interface EmailRow {
  id: number;
  userid: number;
  date: string | null;
  to: string;
  subject: string;
}

export async function emailPage(
  db: Knex,
  f: { userid?: number },
  page: number,
  perPage: number,
): Promise<Page<EmailRow>> {
  let base = db('tblemails');
  if (f.userid !== undefined) base = base.where('userid', f.userid);
  return readPage(
    base,
    page,
    perPage,
    // not the message: the list never reads the bodies
    (q) => q.select('id', 'userid', 'date', 'to', 'subject').orderBy('id', 'desc'),
    (r) => ({
      id: intCell(r.id),
      userid: intCell(r.userid),
      date: datetimeCell(r.date),
      to: textCell(r.to),
      subject: textCell(r.subject),
    }),
  );
}

export interface ActivityRow {
  id: number;
  date: string | null;
  description: string;
  user: string;
  userid: number;
  ipaddr: string;
}

export async function activityPage(
  db: Knex,
  f: { userid?: number; q?: string },
  page: number,
  perPage: number,
): Promise<Page<ActivityRow>> {
  let base = db('tblactivitylog');
  if (f.userid !== undefined) base = base.where('userid', f.userid);
  if (f.q) base = whereLike(base, 'description', f.q);
  return readPage(
    base,
    page,
    perPage,
    (q) => q.select('id', 'date', 'description', 'user', 'userid', 'ipaddr').orderBy('id', 'desc'),
    (r) => ({
      id: intCell(r.id),
      date: datetimeCell(r.date),
      description: textCell(r.description),
      user: textCell(r.user),
      userid: intCell(r.userid),
      ipaddr: textCell(r.ipaddr),
    }),
  );
}

// ---------------------------------------------------------------------------------------------

export interface RunRow {
  date: string;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: {
    invoices: number;
    notices: number;
    lateFees: number;
    suspensions: number;
    failures: number;
  } | null;
}

export function runCounts(summary: unknown): RunRow['counts'] {
  if (typeof summary !== 'string' || summary === '') return null;
  try {
    const s = JSON.parse(summary) as Record<string, unknown>;
    const n = (k: string) => (Array.isArray(s[k]) ? (s[k] as unknown[]).length : 0);
    return {
      invoices: n('invoicesCreated'),
      notices: n('notices'),
      lateFees: n('lateFees'),
      suspensions: n('suspensions'),
      failures: n('failures'),
    };
  } catch {
    return null;
  }
}

export async function runPage(db: Knex, page: number, perPage: number): Promise<Page<RunRow>> {
  return readPage(
    db('tblpanel_automation_runs'),
    page,
    perPage,
    (q) => q.select('run_date', 'status', 'started_at', 'finished_at', 'summary').orderBy('run_date', 'desc'),
    (r) => ({
      date: dateCell(r.run_date) ?? '',
      status: textCell(r.status),
      startedAt: datetimeCell(r.started_at),
      finishedAt: datetimeCell(r.finished_at),
      counts: runCounts(r.summary),
    }),
  );
}

export interface StepRow {
  id: number;
  task: string;
  entityType: string;
  entityId: number;
  key: string;
  outcome: string;
  detail: string;
  createdAt: string | null;
}

export async function stepPage(
  db: Knex,
  f: { date: string; task?: string },
  page: number,
  perPage: number,
): Promise<Page<StepRow>> {
  let base = db('tblpanel_automation_log').where('run_date', f.date);
  if (f.task) base = base.where('task', f.task);
  return readPage(
    base,
    page,
    perPage,
    (q) =>
      q
        .select('id', 'task', 'entity_type', 'entity_id', 'step_key', 'outcome', 'detail', 'created_at')
        .orderBy('id', 'asc'),
    (r) => ({
      id: intCell(r.id),
      task: textCell(r.task),
      entityType: textCell(r.entity_type),
      entityId: intCell(r.entity_id),
      key: textCell(r.step_key),
      outcome: textCell(r.outcome),
      detail: textCell(r.detail),
      createdAt: datetimeCell(r.created_at),
    }),
  );
}

/** COUNT(*) of a filtered table. */
export async function countOf(q: Knex.QueryBuilder): Promise<number> {
  const r = await q.clearSelect().count({ n: '*' });
  return intCell((r[0] as Record<string, unknown> | undefined)?.n);
}
