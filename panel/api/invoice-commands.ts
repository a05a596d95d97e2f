import { isPhpArray } from '../domain/php-params.js';
import { loadClient, loadCurrency } from '../db/clients.js';
import { INVOICE_STATUSES, loadInvoice, type InvoiceStatus } from '../db/invoices.js';
import { engineOf } from '../../module/adapters/database.js';
import { intCell } from '../db/rows.js';
import type { NewItem } from '../db/invoices.js';
import {
  addInvoicePayment,
  createInvoice,
  generateInvoices,
  updateInvoice,
  type UpdateInvoiceInput,
} from '../core/billing.js';
import { CommandError, MSG } from '../core/errors.js';
import { invoiceListView, invoiceView } from '../core/views.js';
import { intKeys, parseDate, parseMoneyText, parseTaxRate, phpBool, type Params } from './params.js';
import type { CommandFn } from './registry.js';

const isStatus = (s: string): s is InvoiceStatus => (INVOICE_STATUSES as readonly string[]).includes(s);

function statusParam(p: Params): InvoiceStatus | undefined {
  const s = p.str('status');
  if (s === undefined || s === '') return undefined;
  if (!isStatus(s)) throw new CommandError(MSG.invalidStatus(s));
  return s;
}

function taxRateParam(p: Params, name: string): bigint | undefined {
  const v = p.str(name);
  return v === undefined || v.trim() === '' ? undefined : parseTaxRate(v);
}

export const GetInvoice: CommandFn = async (p, { core }) => {
  const inv = await loadInvoice(core.knex, p.id('invoiceid'));
  if (!inv) throw new CommandError(MSG.invoiceNotFound);
  return invoiceView(inv);
};

const ORDER_COLUMNS: Record<string, string> = {
  id: 'id',
  invoicenumber: 'invoicenum',
  date: 'date',
  duedate: 'duedate',
  total: 'total',
  status: 'status',
};

export const GetInvoices: CommandFn = async (p, { core, when }) => {
  const db = core.knex;
  const limitstart = p.int('limitstart') ?? 0;
  const limitnum = p.int('limitnum') ?? 25;
  let q = db('tblinvoices');
  if (p.given('userid')) q = q.where({ userid: p.id('userid') });
  const status = p.text('status');
  if (status === 'Overdue') q = q.where({ status: 'Unpaid' }).where('duedate', '<', when.today);
  else if (status !== '') q = q.where({ status });
  const total = intCell((await q.clone().count({ n: '*' }))[0]?.n);
  const column = ORDER_COLUMNS[p.text('orderby', 'id').toLowerCase()] ?? 'id';
  const direction = p.text('order', 'asc').toLowerCase() === 'desc' ? 'desc' : 'asc';
  // SQLite keeps money as text: order it as a number there (ordering only, never arithmetic)
  const ordered =
    column === 'total' && engineOf(db) === 'sqlite'
      ? q.orderByRaw(`CAST(total AS REAL) ${direction}`)
      : q.orderBy(column, direction);
  const rows = await ordered.orderBy('id', direction).offset(limitstart).limit(limitnum).select('id');
  const invoices = [];
  for (const r of rows) {
    const inv = (await loadInvoice(db, intCell(r.id)))!;
    const client = await loadClient(db, inv.userid);
    invoices.push(invoiceListView(inv, client, await loadCurrency(db, client?.currency ?? 1)));
  }
  return {
    totalresults: String(total),
    startnumber: String(limitstart),
    numreturned: String(invoices.length),
    invoices: { invoice: invoices },
  };
};

/** itemdescriptionN / itemamountN / itemtaxedN, N = 1, 2, … in numeric order */
function createItems(p: Params, duedate: string): NewItem[] {
  const suffixes = new Set<string>();
  for (const key of Object.keys(p.tree)) {
    const m = /^item(?:description|amount|taxed)(\d{1,6})$/.exec(key);
    if (m) suffixes.add(m[1]!);
  }
  const items: NewItem[] = [];
  for (const n of [...suffixes].sort((a, b) => Number(a) - Number(b))) {
    const description = p.str(`itemdescription${n}`);
    if (description === undefined || description === '') throw new CommandError(MSG.createItemVars(n));
    const amount = p.str(`itemamount${n}`);
    items.push({
      type: '',
      relid: 0,
      description,
      amountMinor: amount === undefined || amount === '' ? 0n : parseMoneyText(amount),
      taxed: p.bool(`itemtaxed${n}`),
      duedate,
    });
  }
  return items;
}

export const CreateInvoice: CommandFn = async (p, { core, actor, when }) => {
  const draft = p.bool('draft');
  const sendinvoice = p.bool('sendinvoice');
  if (draft && sendinvoice) throw new CommandError(MSG.draftAndSend);
  const status = draft ? 'Draft' : (statusParam(p) ?? 'Unpaid');
  const date = p.date('date') ?? when.today;
  const duedate = p.date('duedate') ?? date;
  const items = createItems(p, duedate);
  const taxRateScaled = taxRateParam(p, 'taxrate');
  const taxRate2Scaled = taxRateParam(p, 'taxrate2');
  const r = await createInvoice(
    core,
    {
      userid: p.id('userid'),
      status,
      date,
      duedate,
      paymentmethod: p.str('paymentmethod'),
      ...(taxRateScaled !== undefined ? { taxRateScaled } : {}),
      ...(taxRate2Scaled !== undefined ? { taxRate2Scaled } : {}),
      notes: p.text('notes'),
      items,
      sendinvoice: sendinvoice && status !== 'Draft',
      autoapplycredit: p.bool('autoapplycredit'),
    },
    actor,
    when,
  );
  return { invoiceid: String(r.invoiceid), status: r.status };
};

/**
 * UpdateInvoice reads everything before it writes anything: a malformed array, a bad amount or a
 * line that is not on the invoice refuses the whole call.
 */
function updateInput(p: Params): UpdateInvoiceInput {
  const input: UpdateInvoiceInput = {
    invoiceid: p.id('invoiceid'),
    change: [],
    add: [],
    delete: [],
    publish: p.bool('publish'),
    publishAndSendEmail: p.bool('publishandsendemail'),
  };
  const status = statusParam(p);
  if (status !== undefined) input.status = status;
  if (p.has('paymentmethod')) input.paymentmethod = p.text('paymentmethod');
  const rate = taxRateParam(p, 'taxrate');
  if (rate !== undefined) input.taxRateScaled = rate;
  const rate2 = taxRateParam(p, 'taxrate2');
  if (rate2 !== undefined) input.taxRate2Scaled = rate2;
  const credit = p.money('credit');
  if (credit !== undefined) {
    if (credit < 0n) throw new CommandError(MSG.amountNegative);
    input.creditMinor = credit;
  }
  const date = p.date('date');
  if (date !== undefined) input.date = date;
  const duedate = p.date('duedate');
  if (duedate !== undefined) input.duedate = duedate;
  const datepaid = p.str('datepaid');
  if (datepaid !== undefined && datepaid.trim() !== '') {
    const s = datepaid.trim();
    if (!/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/.test(s)) throw new CommandError(MSG.dateFormat);
    input.datepaid =
      s.length === 10 ? `${parseDate(s)} 00:00:00` : `${parseDate(s.slice(0, 10))}${s.slice(10)}`;
  }
  if (p.has('notes')) input.notes = p.text('notes');

  // existing lines: itemdescription[id], itemamount[id], itemtaxed[id] — all three for each id
  const descs = p.array('itemdescription');
  const amounts = p.array('itemamount');
  const taxed = p.array('itemtaxed');
  if (descs || amounts || taxed) {
    if (!descs || !amounts || !taxed) throw new CommandError(MSG.missingItemVars);
    const ids = intKeys(descs, 'itemdescription');
    const sameKeys = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);
    if (!sameKeys(ids, intKeys(amounts, 'itemamount')) || !sameKeys(ids, intKeys(taxed, 'itemtaxed')))
      throw new CommandError(MSG.missingItemVars);
    for (const id of ids) {
      const d = descs[id];
      if (d === undefined || isPhpArray(d)) throw new CommandError(MSG.missingItemVars);
      input.change.push({
        id: Number(id),
        description: d,
        amountMinor: parseMoneyText(amounts[id]),
        taxed: phpBool(taxed[id]),
      });
    }
  }

  // new lines: numerically indexed parallel arrays
  const nd = p.array('newitemdescription');
  const na = p.array('newitemamount');
  const nt = p.array('newitemtaxed');
  if (nd || na || nt) {
    if (!nd || !na) throw new CommandError(MSG.newItemVars);
    const keys = intKeys(nd, 'newitemdescription');
    const amountKeys = intKeys(na, 'newitemamount');
    const taxedKeys = nt ? intKeys(nt, 'newitemtaxed') : [];
    if (
      keys.length !== amountKeys.length ||
      keys.some((k, i) => k !== amountKeys[i]) ||
      taxedKeys.some((k) => !keys.includes(k))
    )
      throw new CommandError(MSG.newItemVars);
    for (const k of keys) {
      const d = nd[k];
      if (d === undefined || isPhpArray(d) || d === '') throw new CommandError(MSG.newItemVars);
      input.add.push({ description: d, amountMinor: parseMoneyText(na[k]), taxed: phpBool(nt?.[k]) });
    }
  }

  const del = p.list('deletelineids');
  if (del) {
    for (const k of intKeys(del, 'deletelineids')) {
      const v = del[k];
      if (v === undefined || isPhpArray(v) || !/^\d{1,15}$/.test(v.trim()))
        throw new CommandError(MSG.itemNotOnInvoice(String(v)));
      input.delete.push(Number(v));
    }
  }
  return input;
}

export const UpdateInvoice: CommandFn = async (p, { core, actor, when }) => {
  const input = updateInput(p);
  if (!(await loadInvoice(core.knex, input.invoiceid))) throw new CommandError(MSG.invoiceNotFound);
  const r = await updateInvoice(core, input, actor, when);
  return { invoiceid: String(r.invoiceid) };
};

export const AddInvoicePayment: CommandFn = async (p, { core, actor, when }) => {
  const invoiceid = p.id('invoiceid');
  if (!(await loadInvoice(core.knex, invoiceid))) throw new CommandError(MSG.invoiceNotFound);
  const rawDate = p.text('date').trim();
  let date: string;
  if (rawDate === '') date = when.now.setZone(core.zone).toFormat('yyyy-MM-dd HH:mm:ss');
  else if (/^\d{4}-\d{2}-\d{2}$/.test(rawDate)) date = `${parseDate(rawDate)} 00:00:00`;
  else if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(rawDate))
    date = `${parseDate(rawDate.slice(0, 10))}${rawDate.slice(10)}`;
  else throw new CommandError(MSG.dateFormat);
  const amountMinor = p.money('amount');
  const feesMinor = p.money('fees') ?? 0n;
  await addInvoicePayment(
    core,
    {
      invoiceid,
      transid: p.text('transid'),
      gateway: p.text('gateway'),
      date,
      ...(amountMinor !== undefined ? { amountMinor } : {}),
      feesMinor,
      noemail: p.bool('noemail'),
    },
    actor,
    when,
  );
  return {};
};

export const GenInvoices: CommandFn = async (p, { core, actor, when }) => {
  let clientId: number | undefined;
  if (p.given('clientid')) {
    clientId = p.id('clientid');
    if (!(await loadClient(core.knex, clientId))) throw new CommandError(MSG.clientIdNotFound);
  }
  let serviceIds: number[] | undefined;
  const ids = p.list('serviceids');
  if (ids) {
    serviceIds = intKeys(ids, 'serviceids').map((k) => {
      const v = ids[k];
      if (v === undefined || isPhpArray(v) || !/^\d{1,15}$/.test(v.trim()))
        throw new CommandError(MSG.invalidId('serviceids'));
      return Number(v);
    });
  }
  const created = await generateInvoices(
    core,
    {
      ...(clientId !== undefined ? { clientId } : {}),
      ...(serviceIds ? { serviceIds } : {}),
      noemails: p.bool('noemails'),
    },
    when,
    actor,
  );
  const out: Record<string, unknown> = { numcreated: String(created.length) };
  if (clientId !== undefined && created.length > 0) out.latestinvoiceid = String(created[created.length - 1]);
  return out;
};
