/**
 * Invoices: creation (API and renewal generation), updates, payments, late fees. Each change is
 * one database transaction (a refused or failing call writes nothing); hooks and emails run after
 * the commit, never inside it — a hook handler calls back into the API, and on SQLite the single
 * connection is held by an open transaction.
 */
import type { Knex } from 'knex';
import { addDays, type IsoDate } from '../../module/domain/calendar.js';
import { advanceDueDate, anchorDayOf, isRecurring, periodEnd } from '../domain/billing-cycle.js';
import { stillSuspendable, type DunningSettings } from '../domain/dunning-schedule.js';
import { formatMoney, maxBig, minBig, sum } from '../domain/money.js';
import { clientTaxRates, loadClient, loadCurrency } from '../db/clients.js';
import { completeUpgrades } from './upgrades.js';
import {
  insertItems,
  loadInvoice,
  recalcInvoice,
  type Invoice,
  type InvoiceStatus,
  type NewItem,
} from '../db/invoices.js';
import { intCell, moneyCell, sqlLocalDatetime, sqlMoney, textCell, type Db } from '../db/rows.js';
import { loadProduct, parseService, type Service } from '../db/services.js';
import { dunningSettings, getSetting, getSettings } from '../db/settings.js';
import { AUTOGEN, type Actor, type PanelCore, type When } from './context.js';
import { sendClientEmail } from './emails.js';
import { CommandError, MSG } from './errors.js';
import { OVERDUE_REASON, unsuspendService } from './services.js';
import { invoiceView } from './views.js';

const DEFAULT_GATEWAY = 'banktransfer';

/** Thrown inside a transaction to roll it back when another run did the work first. */
class AlreadyDone extends Error {}

const invoiceHookVars = (invoiceId: number, status: string, actor: Actor) => ({
  source: actor.source,
  user: actor.user,
  invoiceid: invoiceId,
  status,
});

/** WHMCS's line text: "Product - domain (dd/mm/yyyy - dd/mm/yyyy)". */
export function hostingLineDescription(
  productName: string,
  domain: string,
  from: IsoDate,
  to: IsoDate,
): string {
  const dmy = (d: IsoDate) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
  return `${productName}${domain ? ` - ${domain}` : ''} (${dmy(from)} - ${dmy(to)})`;
}

/** Runs `work` in a transaction; on SQLite knex serialises through the one connection. */
export const inTransaction = <T>(knex: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
  knex.transaction(work);

async function applyCredit(trx: Db, inv: Invoice, stamp: string, today: IsoDate): Promise<void> {
  const client = await loadClient(trx, inv.userid);
  if (!client || client.creditMinor <= 0n) return;
  const amount = minBig(client.creditMinor, maxBig(inv.balanceMinor, 0n));
  if (amount <= 0n) return;
  await trx('tblclients')
    .where({ id: client.id })
    .update({ credit: sqlMoney(client.creditMinor - amount), updated_at: stamp });
  await trx('tblinvoices')
    .where({ id: inv.id })
    .update({ credit: sqlMoney(inv.creditMinor + amount) });
  await trx('tblcredit').insert({
    clientid: client.id,
    date: today,
    description: `Credit Applied to Invoice #${inv.id}`,
    amount: sqlMoney(-amount),
    relid: inv.id,
  });
}

// ---------------------------------------------------------------------------------------------

export interface CreateInvoiceInput {
  userid: number;
  status: InvoiceStatus;
  date: IsoDate;
  duedate: IsoDate;
  paymentmethod?: string;
  taxRateScaled?: bigint;
  taxRate2Scaled?: bigint;
  notes: string;
  items: NewItem[];
  sendinvoice: boolean;
  autoapplycredit: boolean;
}

/**
 * After a new invoice is committed: InvoiceCreation (lines may change; totals recalculated after),
 * the client's credit when `autoCredit` (generated invoices, unless NoAutoApplyCredit is ticked),
 * then delivery. The credit comes after InvoiceCreation so it also covers what hooks added (the
 * add-on's overusage lines); as WHMCS, before InvoiceCreationPreEmail and the "Invoice Created"
 * email, and an invoice it covers in full is paid.
 */
export async function afterCreation(
  core: PanelCore,
  invoiceId: number,
  status: InvoiceStatus,
  actor: Actor,
  sendEmail: boolean,
  when: When,
  autoCredit = false,
): Promise<void> {
  await core.hooks.run('InvoiceCreation', invoiceHookVars(invoiceId, status, actor));
  const inv = await recalcInvoice(core.knex, invoiceId, sqlLocalDatetime(when.now, core.zone));
  if (status === 'Draft') return;
  if (
    autoCredit &&
    inv.status === 'Unpaid' &&
    inv.balanceMinor > 0n &&
    ((await loadClient(core.knex, inv.userid))?.creditMinor ?? 0n) > 0n
  ) {
    const applied = await applyCreditToInvoice(core, { invoiceid: invoiceId, noemail: !sendEmail }, when);
    await core.activity(
      {
        description: `Credit Automatically Applied at Invoice Creation - Invoice ID: ${invoiceId} - Amount: ${formatMoney(applied.amountMinor)}`,
        userid: inv.userid,
      },
      when,
    );
  }
  await deliverInvoice(core, invoiceId, actor, sendEmail, when);
}

/** WHMCS's General Settings › Credit: "Disable Auto Credit Applying" (NoAutoApplyCredit), unticked by default. */
export async function autoCreditOn(db: Db): Promise<boolean> {
  return (await getSetting(db, 'NoAutoApplyCredit')) !== 'on';
}

/** InvoiceCreationPreEmail → "Invoice Created" email → InvoiceCreated (also when a draft is published). */
async function deliverInvoice(
  core: PanelCore,
  invoiceId: number,
  actor: Actor,
  sendEmail: boolean,
  when: When,
): Promise<void> {
  const inv = await loadInvoice(core.knex, invoiceId);
  const status = inv?.status ?? 'Unpaid';
  await core.hooks.run('InvoiceCreationPreEmail', invoiceHookVars(invoiceId, status, actor));
  if (sendEmail) await sendClientEmail(core, { messagename: 'Invoice Created', relid: invoiceId }, when);
  await core.hooks.run('InvoiceCreated', invoiceHookVars(invoiceId, status, actor));
}

export async function createInvoice(
  core: PanelCore,
  input: CreateInvoiceInput,
  actor: Actor,
  when: When,
): Promise<{ invoiceid: number; status: InvoiceStatus }> {
  const client = await loadClient(core.knex, input.userid);
  if (!client) throw new CommandError(MSG.clientIdNotFound);
  const [rate1, rate2] = await clientTaxRates(core.knex, client);
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const paymentmethod = input.paymentmethod || client.defaultgateway || DEFAULT_GATEWAY;
  const invoiceId = await inTransaction(core.knex, async (trx) => {
    const [id] = await trx('tblinvoices').insert({
      userid: client.id,
      invoicenum: '',
      date: input.date,
      duedate: input.duedate,
      status: input.status,
      paymentmethod,
      taxrate: sqlMoney(input.taxRateScaled ?? rate1, 3),
      taxrate2: sqlMoney(input.taxRate2Scaled ?? rate2, 3),
      notes: input.notes,
      datepaid: input.status === 'Paid' ? stamp : null,
      created_at: stamp,
      updated_at: stamp,
    });
    const invoiceId = intCell(id);
    await insertItems(trx, invoiceId, client.id, input.items, paymentmethod);
    const inv = await recalcInvoice(trx, invoiceId, stamp);
    if (input.autoapplycredit && input.status !== 'Draft') {
      await applyCredit(trx, inv, stamp, when.today);
      await recalcInvoice(trx, invoiceId, stamp);
    }
    return invoiceId;
  });
  await core.activity({ description: `Created Invoice - Invoice ID: ${invoiceId}`, userid: client.id }, when);
  await afterCreation(core, invoiceId, input.status, actor, input.sendinvoice, when);
  return { invoiceid: invoiceId, status: input.status };
}

// ---------------------------------------------------------------------------------------------

export interface UpdateInvoiceInput {
  invoiceid: number;
  status?: InvoiceStatus;
  paymentmethod?: string;
  taxRateScaled?: bigint;
  taxRate2Scaled?: bigint;
  creditMinor?: bigint;
  date?: IsoDate;
  duedate?: IsoDate;
  datepaid?: string;
  notes?: string;
  change: Array<{ id: number; description: string; amountMinor: bigint; taxed: boolean }>;
  add: Array<{ description: string; amountMinor: bigint; taxed: boolean }>;
  delete: number[];
  publish: boolean;
  publishAndSendEmail: boolean;
}

export async function updateInvoice(
  core: PanelCore,
  input: UpdateInvoiceInput,
  actor: Actor,
  when: When,
): Promise<{ invoiceid: number }> {
  const before = await loadInvoice(core.knex, input.invoiceid);
  if (!before) throw new CommandError(MSG.invoiceNotFound);
  const lineIds = new Set(before.items.map((i) => i.id));
  for (const id of [...input.change.map((c) => c.id), ...input.delete]) {
    if (!lineIds.has(id)) throw new CommandError(MSG.itemNotOnInvoice(String(id)));
  }
  const publishing = input.publish || input.publishAndSendEmail;
  if (publishing && before.status !== 'Draft') throw new CommandError(MSG.mustBeDraftToPublish);

  const stamp = sqlLocalDatetime(when.now, core.zone);
  let status = input.status ?? before.status;
  if (publishing && input.status === undefined) status = 'Unpaid';
  const linesChanged =
    input.change.length > 0 ||
    input.add.length > 0 ||
    input.delete.length > 0 ||
    input.taxRateScaled !== undefined ||
    input.taxRate2Scaled !== undefined ||
    input.creditMinor !== undefined;

  await inTransaction(core.knex, async (trx) => {
    const row: Record<string, unknown> = { updated_at: stamp };
    if (status !== before.status) row.status = status;
    if (input.paymentmethod !== undefined) row.paymentmethod = input.paymentmethod;
    if (input.taxRateScaled !== undefined) row.taxrate = sqlMoney(input.taxRateScaled, 3);
    if (input.taxRate2Scaled !== undefined) row.taxrate2 = sqlMoney(input.taxRate2Scaled, 3);
    if (input.creditMinor !== undefined) row.credit = sqlMoney(input.creditMinor);
    if (input.date !== undefined) row.date = input.date;
    if (input.duedate !== undefined) row.duedate = input.duedate;
    if (input.notes !== undefined) row.notes = input.notes;
    if (input.datepaid !== undefined) row.datepaid = input.datepaid;
    else if (status === 'Paid' && before.status !== 'Paid') row.datepaid = stamp;
    if (status === 'Cancelled' && before.status !== 'Cancelled') row.date_cancelled = stamp;
    if (status === 'Refunded' && before.status !== 'Refunded') row.date_refunded = stamp;
    await trx('tblinvoices').where({ id: before.id }).update(row);
    for (const c of input.change) {
      await trx('tblinvoiceitems')
        .where({ id: c.id, invoiceid: before.id })
        .update({ description: c.description, amount: sqlMoney(c.amountMinor), taxed: c.taxed ? 1 : 0 });
    }
    if (input.delete.length > 0)
      await trx('tblinvoiceitems').where({ invoiceid: before.id }).whereIn('id', input.delete).delete();
    // lines added through the API have no type and no related id (docs/whmcs.md, "API commands")
    await insertItems(
      trx,
      before.id,
      before.userid,
      input.add.map((a) => ({
        type: '',
        relid: 0,
        description: a.description,
        amountMinor: a.amountMinor,
        taxed: a.taxed,
        duedate: input.duedate ?? before.duedate,
      })),
      input.paymentmethod ?? before.paymentmethod,
    );
    await recalcInvoice(trx, before.id, stamp);
  });

  if (linesChanged) await core.hooks.run('UpdateInvoiceTotal', { invoiceid: before.id });
  if (status !== before.status) {
    if (status === 'Cancelled') await core.hooks.run('InvoiceCancelled', { invoiceid: before.id });
    else if (status === 'Refunded') await core.hooks.run('InvoiceRefunded', { invoiceid: before.id });
    else if (status === 'Unpaid' && before.status !== 'Draft')
      await core.hooks.run('InvoiceUnpaid', { invoiceid: before.id });
  }
  if (publishing) {
    await core.activity(
      { description: `Published Draft Invoice - Invoice ID: ${before.id}`, userid: before.userid },
      when,
    );
    await deliverInvoice(core, before.id, actor, input.publishAndSendEmail, when);
  }
  return { invoiceid: before.id };
}

// ---------------------------------------------------------------------------------------------

export interface PaymentInput {
  invoiceid: number;
  transid: string;
  gateway: string;
  /** 'YYYY-MM-DD HH:mm:ss' in the panel's zone */
  date: string;
  amountMinor?: bigint;
  feesMinor: bigint;
  noemail: boolean;
}

const PAYABLE: ReadonlySet<string> = new Set(['Unpaid', 'Draft', 'Payment Pending', 'Collections']);

/** The credit already given for an invoice's overpayments: its positive tblcredit rows (relid). */
async function overpaymentCredited(trx: Db, invoiceId: number): Promise<bigint> {
  const rows = await trx('tblcredit').where({ relid: invoiceId }).where('amount', '>', 0).select('amount');
  return sum(rows.map((r) => moneyCell(r.amount)));
}

/**
 * Records a payment. When it settles the balance the invoice is marked Paid and each service it
 * renews gets its next due date moved one billing cycle on; an overpayment becomes client credit.
 */
export async function addInvoicePayment(
  core: PanelCore,
  input: PaymentInput,
  actor: Actor,
  when: When,
): Promise<{ paid: boolean }> {
  const inv = await loadInvoice(core.knex, input.invoiceid);
  if (!inv) throw new CommandError(MSG.invoiceNotFound);
  if (inv.status === 'Cancelled') throw new CommandError(MSG.paymentOnCancelled);
  const amount = input.amountMinor ?? maxBig(inv.balanceMinor, 0n);
  if (amount < 0n) throw new CommandError(MSG.amountNegative);
  const client = await loadClient(core.knex, inv.userid);
  const stamp = sqlLocalDatetime(when.now, core.zone);

  const outcome = await inTransaction(core.knex, async (trx) => {
    const [txId] = await trx('tblaccounts').insert({
      userid: inv.userid,
      currency: 0,
      gateway: input.gateway,
      date: input.date,
      description: `Invoice Payment`,
      amountin: sqlMoney(amount),
      fees: sqlMoney(input.feesMinor),
      amountout: sqlMoney(0n),
      rate: '1.00000',
      transid: input.transid,
      invoiceid: inv.id,
      refundid: 0,
    });
    const balanceAfter = inv.balanceMinor - amount;
    const becomesPaid = balanceAfter <= 0n && PAYABLE.has(inv.status);
    // WHMCS's addPayment: with the balance at or below 0, what is paid beyond it and not yet given
    // as credit for this invoice (tblcredit rows with its relid) becomes credit: all of a payment
    // on an invoice already paid, and an overpayment an edit left (lines taken off what was paid)
    // once a payment, of 0.00 too, settles it. The credit applied to it (negative rows) does not count.
    const creditedBefore = balanceAfter <= 0n ? await overpaymentCredited(trx, inv.id) : 0n;
    const excess = balanceAfter <= 0n ? maxBig(-balanceAfter - creditedBefore, 0n) : 0n;
    if (excess > 0n && client) {
      await trx('tblclients')
        .where({ id: client.id })
        .update({ credit: sqlMoney(client.creditMinor + excess), updated_at: stamp });
      await trx('tblcredit').insert({
        clientid: client.id,
        date: when.today,
        description: `Invoice #${inv.id} Overpayment`,
        amount: sqlMoney(excess),
        relid: inv.id,
      });
    }
    const renewed: Array<{ serviceId: number; nextduedate: IsoDate }> = [];
    if (becomesPaid) {
      await trx('tblinvoices')
        .where({ id: inv.id })
        .update({ status: 'Paid', datepaid: input.date, updated_at: stamp });
      renewed.push(...(await advanceRenewedServices(trx, inv, stamp)));
    }
    return { txId: intCell(txId), becomesPaid, renewed };
  });

  await core.activity(
    { description: `Added Invoice Payment - Invoice ID: ${inv.id}`, userid: inv.userid },
    when,
  );
  await core.hooks.run('AddTransaction', {
    id: outcome.txId,
    userid: inv.userid,
    currency: 0,
    gateway: input.gateway,
    date: input.date,
    description: 'Invoice Payment',
    amountin: formatMoney(amount),
    fees: formatMoney(input.feesMinor),
    amountout: '0.00',
    rate: '1.00000',
    transid: input.transid,
    invoiceid: inv.id,
    refundid: 0,
  });
  await core.hooks.run('AddInvoicePayment', { invoiceid: inv.id });
  if (outcome.becomesPaid) await afterPaid(core, inv, outcome.renewed, input.noemail, when);
  else if (!input.noemail)
    await sendClientEmail(core, { messagename: 'Invoice Payment Confirmation', relid: inv.id }, when);
  return { paid: outcome.becomesPaid };
}

/** What follows an invoice becoming Paid (after the commit): hooks, the confirmation, upgrades, unsuspension. */
async function afterPaid(
  core: PanelCore,
  inv: Invoice,
  renewed: ReadonlyArray<{ serviceId: number; nextduedate: IsoDate }>,
  noemail: boolean,
  when: When,
): Promise<void> {
  await core.activity(
    { description: `Invoice Marked Paid - Invoice ID: ${inv.id}`, userid: inv.userid },
    when,
  );
  await core.hooks.run('InvoicePaidPreEmail', { invoiceid: inv.id });
  if (!noemail)
    await sendClientEmail(core, { messagename: 'Invoice Payment Confirmation', relid: inv.id }, when);
  // an upgrade ordered with UpgradeProduct is carried out once its invoice is paid
  const upgrades = inv.items.filter((i) => i.type === 'Upgrade' && i.relid > 0).map((i) => i.relid);
  if (upgrades.length) await completeUpgrades(core, upgrades, when);
  await autoUnsuspend(core, renewed, when);
  const paid = await loadInvoice(core.knex, inv.id);
  await core.hooks.run('InvoicePaid', { invoiceid: inv.id, invoice: paid ? invoiceView(paid) : null });
}

export interface ApplyCreditInput {
  invoiceid: number;
  /** undefined: as much as the credit and the balance allow */
  amountMinor?: bigint;
  noemail: boolean;
}

/**
 * WHMCS's ApplyCredit (developers.whmcs.com/api-reference/applycredit/): moves client credit onto
 * an Unpaid invoice — the client's balance down, the invoice's credit up (its total with it), a
 * "Credit Applied to Invoice #N" row in the credit log — and marks the invoice Paid when nothing is
 * left to pay. The checks run inside the transaction on locked rows, so two calls at once cannot
 * spend the same credit twice.
 */
export async function applyCreditToInvoice(
  core: PanelCore,
  input: ApplyCreditInput,
  when: When,
): Promise<{ amountMinor: bigint; paid: boolean }> {
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const outcome = await inTransaction(core.knex, async (trx) => {
    const row = await trx('tblinvoices').where({ id: input.invoiceid }).forUpdate().first('id');
    const inv = row ? await loadInvoice(trx, input.invoiceid) : null;
    if (!inv) throw new CommandError(MSG.invoiceNotFound);
    if (inv.status !== 'Unpaid') throw new CommandError(MSG.invoiceNotUnpaid);
    const clientRow = await trx('tblclients').where({ id: inv.userid }).forUpdate().first('id');
    const client = clientRow ? await loadClient(trx, inv.userid) : null;
    const credit = client?.creditMinor ?? 0n;
    const balance = maxBig(inv.balanceMinor, 0n);
    const amount = input.amountMinor ?? minBig(credit, balance);
    if (amount > credit) throw new CommandError(MSG.creditExceedsBalance);
    if (amount > balance) throw new CommandError(MSG.creditExceedsInvoice);
    if (amount <= 0n) throw new CommandError(MSG.creditNotPositive);
    await trx('tblclients')
      .where({ id: inv.userid })
      .update({ credit: sqlMoney(credit - amount), updated_at: stamp });
    await trx('tblinvoices')
      .where({ id: inv.id })
      .update({ credit: sqlMoney(inv.creditMinor + amount) });
    await trx('tblcredit').insert({
      clientid: inv.userid,
      date: when.today,
      description: `Credit Applied to Invoice #${inv.id}`,
      amount: sqlMoney(-amount),
      relid: inv.id,
    });
    const after = await recalcInvoice(trx, inv.id, stamp);
    const paid = after.balanceMinor <= 0n;
    const renewed: Array<{ serviceId: number; nextduedate: IsoDate }> = [];
    if (paid) {
      await trx('tblinvoices')
        .where({ id: inv.id })
        .update({ status: 'Paid', datepaid: stamp, updated_at: stamp });
      renewed.push(...(await advanceRenewedServices(trx, inv, stamp)));
    }
    return { inv, amount, paid, renewed };
  });
  await core.activity(
    {
      description: `Credit Applied - Invoice ID: ${outcome.inv.id} - Amount: ${formatMoney(outcome.amount)}`,
      userid: outcome.inv.userid,
    },
    when,
  );
  await core.hooks.run('UpdateInvoiceTotal', { invoiceid: outcome.inv.id });
  if (outcome.paid) await afterPaid(core, outcome.inv, outcome.renewed, input.noemail, when);
  return { amountMinor: outcome.amount, paid: outcome.paid };
}

/**
 * A paid renewal moves the service's next due date one cycle on — once per service and invoice,
 * and only when the line is for the current due date or a later one (an old invoice paid late
 * does not push the date twice).
 */
async function advanceRenewedServices(
  trx: Db,
  inv: Invoice,
  stamp: string,
): Promise<Array<{ serviceId: number; nextduedate: IsoDate }>> {
  const out: Array<{ serviceId: number; nextduedate: IsoDate }> = [];
  const seen = new Set<number>();
  for (const item of inv.items) {
    if (item.type !== 'Hosting' || item.relid <= 0 || seen.has(item.relid)) continue;
    seen.add(item.relid);
    const row = await trx('tblhosting').where({ id: item.relid }).first();
    if (!row) continue;
    const svc = parseService(row);
    if (!svc.billingcycle || !isRecurring(svc.billingcycle) || !svc.nextduedate) continue;
    if (item.duedate !== null && item.duedate < svc.nextduedate) continue;
    const next = advanceDueDate(svc.nextduedate, svc.billingcycle, anchorDayOf(svc.regdate, svc.nextduedate));
    const update: Record<string, unknown> = { nextduedate: next, updated_at: stamp };
    if (!svc.nextinvoicedate || svc.nextinvoicedate < next) update.nextinvoicedate = next;
    await trx('tblhosting').where({ id: svc.id }).update(update);
    out.push({ serviceId: svc.id, nextduedate: next });
  }
  return out;
}

/** AutoUnsuspend: lift a suspension for non-payment once the service is paid up again. */
async function autoUnsuspend(
  core: PanelCore,
  renewed: ReadonlyArray<{ serviceId: number; nextduedate: IsoDate }>,
  when: When,
): Promise<void> {
  if (renewed.length === 0) return;
  const s = await dunningSettings(core.knex);
  if (!s.autoUnsuspend) return;
  for (const r of renewed) {
    const row = await core.knex('tblhosting').where({ id: r.serviceId }).first();
    if (!row) continue;
    const svc = parseService(row);
    if (svc.domainstatus !== 'Suspended') continue;
    // a suspension with a reason of its own (abuse, a dispute) is an admin's to lift
    if (svc.suspendreason !== '' && svc.suspendreason !== OVERDUE_REASON) continue;
    if (stillSuspendable(when.today, r.nextduedate, s)) continue;
    await unsuspendService(core, svc.id, { requireModule: false }, when);
  }
}

// ---------------------------------------------------------------------------------------------

export interface GenerateOptions {
  clientId?: number;
  serviceIds?: number[];
  noemails: boolean;
}

/** A duplicate key on either engine (the way "exactly once" is enforced). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * Claims a step in the automation log; false when it was done already. The unique key decides,
 * so two runs at once cannot both claim it. (A plain insert whose duplicate is caught: an ignored
 * insert reports no reliable id on SQLite.)
 */
export async function claimStep(
  db: Db,
  step: {
    runDate: IsoDate;
    task: string;
    entityType: string;
    entityId: number;
    key: string;
    outcome?: string;
    detail?: string;
  },
  stamp: string,
): Promise<boolean> {
  try {
    await db('tblpanel_automation_log').insert({
      run_date: step.runDate,
      task: step.task,
      entity_type: step.entityType,
      entity_id: step.entityId,
      step_key: step.key,
      outcome: step.outcome ?? 'pending',
      detail: step.detail ?? null,
      created_at: stamp,
    });
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

export async function finishStep(
  db: Db,
  step: { task: string; entityType: string; entityId: number; key: string },
  outcome: string,
  detail?: string,
): Promise<void> {
  await db('tblpanel_automation_log')
    .where({ task: step.task, entity_type: step.entityType, entity_id: step.entityId, step_key: step.key })
    .update({ outcome, detail: detail ?? null });
}

interface DueRenewal {
  service: Service;
  due: IsoDate;
}

async function dueRenewals(
  db: Db,
  today: IsoDate,
  s: DunningSettings,
  opts: GenerateOptions,
): Promise<DueRenewal[]> {
  const horizon = addDays(today, s.invoiceDaysBefore);
  const dateCol = s.continuousInvoicing ? 'nextinvoicedate' : 'nextduedate';
  let q = db('tblhosting')
    .whereIn('domainstatus', ['Active', 'Suspended'])
    .whereNotNull(dateCol)
    .where(dateCol, '<=', horizon)
    .orderBy(['userid', 'id']);
  if (opts.clientId !== undefined) q = q.where({ userid: opts.clientId });
  if (opts.serviceIds !== undefined) q = q.whereIn('id', opts.serviceIds);
  const out: DueRenewal[] = [];
  for (const row of await q) {
    const service = parseService(row);
    if (!service.billingcycle || !isRecurring(service.billingcycle)) continue;
    const due = s.continuousInvoicing ? service.nextinvoicedate! : service.nextduedate!;
    // once per due date: a renewal line for this service and date means it was invoiced already
    const existing = await db('tblinvoiceitems')
      .where({ type: 'Hosting', relid: service.id, duedate: due })
      .first('id');
    if (existing) continue;
    out.push({ service, due });
  }
  return out;
}

async function insertRenewalInvoice(
  trx: Knex.Transaction,
  inv: {
    group: DueRenewal[];
    clientId: number;
    duedate: IsoDate;
    paymentmethod: string;
    rates: [bigint, bigint];
    items: NewItem[];
  },
  when: When,
  stamp: string,
): Promise<number> {
  // the claims make a concurrent or repeated run skip these renewals (and roll back with us)
  for (const r of inv.group) {
    const claimed = await claimStep(
      trx,
      {
        runDate: when.today,
        task: 'InvoiceGeneration',
        entityType: 'service',
        entityId: r.service.id,
        key: `due:${r.due}`,
        outcome: 'invoiced',
      },
      stamp,
    );
    if (!claimed) throw new AlreadyDone();
  }
  const [id] = await trx('tblinvoices').insert({
    userid: inv.clientId,
    invoicenum: '',
    date: when.today,
    duedate: inv.duedate,
    status: 'Unpaid',
    paymentmethod: inv.paymentmethod,
    taxrate: sqlMoney(inv.rates[0], 3),
    taxrate2: sqlMoney(inv.rates[1], 3),
    notes: '',
    created_at: stamp,
    updated_at: stamp,
  });
  const invoiceId = intCell(id);
  await insertItems(trx, invoiceId, inv.clientId, inv.items, inv.paymentmethod);
  await recalcInvoice(trx, invoiceId, stamp);
  for (const r of inv.group) {
    const next = advanceDueDate(r.due, r.service.billingcycle!, anchorDayOf(r.service.regdate, r.due));
    if (!r.service.nextinvoicedate || r.service.nextinvoicedate < next)
      await trx('tblhosting').where({ id: r.service.id }).update({ nextinvoicedate: next });
    await trx('tblpanel_automation_log')
      .where({
        task: 'InvoiceGeneration',
        entity_type: 'service',
        entity_id: r.service.id,
        step_key: `due:${r.due}`,
      })
      .update({ detail: `invoice ${invoiceId}` });
  }
  return invoiceId;
}

/**
 * WHMCS's invoice generation: PreInvoicingGenerateInvoiceItems, then one invoice per client (or
 * per service when the client wants separate invoices) holding the renewals due within
 * CreateInvoiceDaysBefore days, each followed by InvoiceCreation → InvoiceCreationPreEmail →
 * "Invoice Created" → InvoiceCreated, and AfterInvoicingGenerateInvoiceItems at the end.
 */
export async function generateInvoices(
  core: PanelCore,
  opts: GenerateOptions,
  when: When,
  actor: Actor = AUTOGEN,
): Promise<number[]> {
  const db = core.knex;
  await core.hooks.run('PreInvoicingGenerateInvoiceItems', {});
  const s = await dunningSettings(db);
  const renewals = await dueRenewals(db, when.today, s, opts);
  const groups = new Map<string, DueRenewal[]>();
  for (const r of renewals) {
    const client = await loadClient(db, r.service.userid);
    if (!client) continue;
    const key = client.separateinvoices ? `s${r.service.id}` : `c${client.id}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const created: number[] = [];
  const stamp = sqlLocalDatetime(when.now, core.zone);
  for (const group of groups.values()) {
    const first = group[0]!;
    const client = (await loadClient(db, first.service.userid))!;
    const [rate1, rate2] = await clientTaxRates(db, client);
    const items: NewItem[] = [];
    for (const r of group) {
      const product = await loadProduct(db, r.service.packageid);
      const anchor = anchorDayOf(r.service.regdate, r.due);
      items.push({
        type: 'Hosting',
        relid: r.service.id,
        description: hostingLineDescription(
          product?.name ?? 'Service',
          r.service.domain,
          r.due,
          periodEnd(r.due, r.service.billingcycle!, anchor),
        ),
        amountMinor: r.service.amountMinor,
        taxed: product?.tax ?? false,
        duedate: r.due,
        paymentmethod: r.service.paymentmethod || client.defaultgateway || DEFAULT_GATEWAY,
      });
    }
    const duedate = group.map((r) => r.due).sort()[0]!;
    const paymentmethod = first.service.paymentmethod || client.defaultgateway || DEFAULT_GATEWAY;
    let invoiceId: number;
    try {
      invoiceId = await inTransaction(db, (trx) =>
        insertRenewalInvoice(
          trx,
          { group, clientId: client.id, duedate, paymentmethod, rates: [rate1, rate2], items },
          when,
          stamp,
        ),
      );
    } catch (err) {
      if (err instanceof AlreadyDone) continue;
      throw err;
    }
    created.push(invoiceId);
    await core.activity(
      { description: `Cron Job: Created Invoice - Invoice ID: ${invoiceId}`, userid: client.id },
      when,
    );
    await afterCreation(core, invoiceId, 'Unpaid', actor, !opts.noemails, when, await autoCreditOn(db));
  }
  await core.hooks.run('AfterInvoicingGenerateInvoiceItems', {});
  return created;
}

// ---------------------------------------------------------------------------------------------

/** Adds the late fee line and recalculates; the caller has checked it is due and not yet added. */
export async function addLateFee(
  core: PanelCore,
  inv: Invoice,
  feeMinor: bigint,
  taxed: boolean,
  when: When,
): Promise<void> {
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const [d, m, y] = [when.today.slice(8, 10), when.today.slice(5, 7), when.today.slice(0, 4)];
  await inTransaction(core.knex, async (trx) => {
    await insertItems(
      trx,
      inv.id,
      inv.userid,
      [
        {
          type: 'LateFee',
          relid: 0,
          description: `Late Fee (Added ${d}/${m}/${y})`,
          amountMinor: feeMinor,
          taxed,
          duedate: inv.duedate,
        },
      ],
      inv.paymentmethod,
    );
    await recalcInvoice(trx, inv.id, stamp);
  });
  await core.activity(
    {
      description: `Cron Job: Late Fee Added - Invoice ID: ${inv.id} - Amount: ${formatMoney(feeMinor)}`,
      userid: inv.userid,
    },
    when,
  );
  await core.hooks.run('AddInvoiceLateFee', { invoiceid: inv.id });
}

/** The client's summary numbers for GetClientsDetails stats (computed in bigint, never in SQL). */
export async function clientStats(db: Db, clientId: number, today: IsoDate): Promise<Record<string, string>> {
  const client = await loadClient(db, clientId);
  const cur = await loadCurrency(db, client?.currency ?? 1);
  const rows = await db('tblinvoices').where({ userid: clientId }).select('id');
  const invoices: Invoice[] = [];
  for (const r of rows) {
    const inv = await loadInvoice(db, intCell(r.id));
    if (inv) invoices.push(inv);
  }
  const fmt = (m: bigint) => `${cur.prefix}${formatMoney(m)}${cur.suffix}`;
  const pick = (f: (i: Invoice) => boolean) => invoices.filter(f);
  const total = (xs: Invoice[], f: (i: Invoice) => bigint) => xs.reduce((a, i) => a + f(i), 0n);
  const unpaid = pick((i) => i.status === 'Unpaid');
  const overdue = unpaid.filter((i) => i.duedate !== null && i.duedate < today);
  const services = await db('tblhosting').where({ userid: clientId }).select('domainstatus');
  return {
    numdueinvoices: String(unpaid.length),
    dueinvoicesbalance: fmt(total(unpaid, (i) => maxBig(i.balanceMinor, 0n))),
    numoverdueinvoices: String(overdue.length),
    overdueinvoicesbalance: fmt(total(overdue, (i) => maxBig(i.balanceMinor, 0n))),
    numDraftInvoices: String(pick((i) => i.status === 'Draft').length),
    draftInvoicesBalance: fmt(
      total(
        pick((i) => i.status === 'Draft'),
        (i) => i.totalMinor,
      ),
    ),
    numpaidinvoices: String(pick((i) => i.status === 'Paid').length),
    paidinvoicesamount: fmt(
      total(
        pick((i) => i.status === 'Paid'),
        (i) => i.totalMinor,
      ),
    ),
    numunpaidinvoices: String(unpaid.length),
    unpaidinvoicesamount: fmt(total(unpaid, (i) => i.totalMinor)),
    numcancelledinvoices: String(pick((i) => i.status === 'Cancelled').length),
    cancelledinvoicesamount: fmt(
      total(
        pick((i) => i.status === 'Cancelled'),
        (i) => i.totalMinor,
      ),
    ),
    numrefundedinvoices: String(pick((i) => i.status === 'Refunded').length),
    refundedinvoicesamount: fmt(
      total(
        pick((i) => i.status === 'Refunded'),
        (i) => i.totalMinor,
      ),
    ),
    numcollectionsinvoices: String(pick((i) => i.status === 'Collections').length),
    collectionsinvoicesamount: fmt(
      total(
        pick((i) => i.status === 'Collections'),
        (i) => i.totalMinor,
      ),
    ),
    creditbalance: fmt(client?.creditMinor ?? 0n),
    income: fmt(total(invoices, (i) => i.paidMinor)),
    productsnumactive: String(services.filter((s) => textCell(s.domainstatus) === 'Active').length),
    productsnumtotal: String(services.length),
  };
}

export { getSettings };
