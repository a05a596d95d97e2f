/**
 * Orders (issue 19): AddOrder writes the order, its services (Pending) and the invoice for the
 * first payment in one transaction; AcceptOrder makes the order and its services Active. As in
 * WHMCS, the order invoice's hosting line carries the service and its due date, so paying it
 * moves the service's next due date one cycle on and the renewal cron does not bill that period
 * again.
 */
import type { IsoDate } from '../../module/domain/calendar.js';
import { periodEnd, type BillingCycle } from '../domain/billing-cycle.js';
import { formatMoney, sum } from '../domain/money.js';
import { clientTaxRates, type Client } from '../db/clients.js';
import { insertItems, recalcInvoice, type NewItem } from '../db/invoices.js';
import { intCell, sqlLocalDatetime, sqlMoney, textCell, type Db } from '../db/rows.js';
import type { Product } from '../db/services.js';
import { afterCreation, autoCreditOn, hostingLineDescription } from './billing.js';
import type { Actor, PanelCore, When } from './context.js';
import { sendClientEmail } from './emails.js';
import { promotionLineText, type Promotion } from '../domain/promotion.js';
import type { ChosenOption } from '../api/order-options.js';
import { CommandError, MSG } from './errors.js';

export interface OrderItem {
  product: Product;
  cycle: BillingCycle;
  domain: string;
  qty: number;
  /** what the service renews at, and what the first invoice asks (recurring + setup fee) */
  recurringMinor: bigint;
  setupMinor: bigint;
  customfields: Record<number, string>;
  /** the configurable options chosen (their price is already in recurringMinor and setupMinor) */
  options: ChosenOption[];
  /** the promotion's discount on the first payment (0: none); off every renewal when it recurs */
  discountMinor: bigint;
}

export interface NewOrder {
  client: Client;
  paymentmethod: string;
  items: OrderItem[];
  promotion?: Promotion | undefined;
  noinvoice: boolean;
  noinvoiceemail: boolean;
  noemail: boolean;
  ipaddress: string;
}

export interface PlacedOrder {
  orderid: number;
  serviceids: number[];
  invoiceid: number;
}

const ORDER_NUMBER_DIGITS = 10;

/** The panel's active payment gateways (WHMCS: Setup › Payments › Payment Gateways), by system name. */
export const PAYMENT_GATEWAYS = ['banktransfer', 'mailin', 'paypal'] as const;

/** WHMCS's order number: random digits, unique among the orders. */
async function freshOrderNumber(trx: Db): Promise<string> {
  for (;;) {
    const n = String(
      Math.floor(Math.random() * 9 * 10 ** (ORDER_NUMBER_DIGITS - 1)) + 10 ** (ORDER_NUMBER_DIGITS - 1),
    );
    if (!(await trx('tblorders').where({ ordernum: n }).first('id'))) return n;
  }
}

/** What the service renews at: the price, less the discount when the promotion recurs. */
const renewsAt = (order: NewOrder, it: OrderItem): bigint =>
  it.recurringMinor - (order.promotion?.recurring ? it.discountMinor : 0n);

async function insertServices(
  trx: Db,
  order: NewOrder,
  orderid: number,
  today: IsoDate,
  stamp: string,
): Promise<number[]> {
  const ids: number[] = [];
  for (const it of order.items) {
    const [id] = await trx('tblhosting').insert({
      userid: order.client.id,
      orderid,
      packageid: it.product.id,
      regdate: today,
      domain: it.domain,
      paymentmethod: order.paymentmethod,
      qty: it.qty,
      firstpaymentamount: sqlMoney(it.recurringMinor + it.setupMinor - it.discountMinor),
      amount: sqlMoney(renewsAt(order, it)),
      promoid: it.discountMinor > 0n && order.promotion ? order.promotion.id : 0,
      billingcycle: it.cycle,
      nextduedate: today,
      nextinvoicedate: today,
      domainstatus: 'Pending',
      created_at: stamp,
      updated_at: stamp,
    });
    const serviceId = intCell(id);
    for (const o of it.options)
      await trx('tblhostingconfigoptions').insert({
        relid: serviceId,
        configid: o.configid,
        optionid: o.optionid,
        qty: o.qty,
      });
    for (const [fieldid, value] of Object.entries(it.customfields)) {
      await trx('tblcustomfieldsvalues').insert({
        fieldid: Number(fieldid),
        relid: serviceId,
        value,
        created_at: stamp,
        updated_at: stamp,
      });
    }
    ids.push(serviceId);
  }
  return ids;
}

/**
 * The first payment's lines: the service for its first period (its options named under it, one a
 * line, their price in its amount), a setup fee where there is one, and the promotion's discount
 * as a line of its own (type PromoHosting, a negative amount, taxed like the product).
 */
function invoiceItems(order: NewOrder, serviceids: number[], today: IsoDate): NewItem[] {
  const items: NewItem[] = [];
  order.items.forEach((it, i) => {
    const relid = serviceids[i]!;
    const recurring = it.cycle !== 'Free Account' && it.cycle !== 'One Time';
    const to = recurring ? periodEnd(today, it.cycle, Number(today.slice(8, 10))) : today;
    const head = recurring
      ? hostingLineDescription(it.product.name, it.domain, today, to)
      : `${it.product.name}${it.domain ? ` - ${it.domain}` : ''}`;
    const description = [head, ...it.options.map((o) => o.label)].join('\n');
    items.push({
      type: 'Hosting',
      relid,
      description,
      amountMinor: it.recurringMinor,
      taxed: it.product.tax,
      duedate: today,
    });
    if (it.setupMinor > 0n)
      items.push({
        type: 'Setup',
        relid,
        description: `${it.product.name} - Setup Fee`,
        amountMinor: it.setupMinor,
        taxed: it.product.tax,
        duedate: today,
      });
    if (it.discountMinor > 0n && order.promotion)
      items.push({
        type: 'PromoHosting',
        relid,
        description: promotionLineText(order.promotion),
        amountMinor: -it.discountMinor,
        taxed: it.product.tax,
        duedate: today,
      });
  });
  return items;
}

export async function placeOrder(
  core: PanelCore,
  order: NewOrder,
  actor: Actor,
  when: When,
): Promise<PlacedOrder> {
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const [rate1, rate2] = await clientTaxRates(core.knex, order.client);
  const amount = sum(order.items.map((it) => it.recurringMinor + it.setupMinor - it.discountMinor));
  const promo = order.promotion;
  const used = promo !== undefined && order.items.some((it) => it.discountMinor > 0n);
  const placed = await core.knex.transaction(async (trx) => {
    const [oid] = await trx('tblorders').insert({
      ordernum: await freshOrderNumber(trx),
      userid: order.client.id,
      date: stamp,
      amount: sqlMoney(amount),
      paymentmethod: order.paymentmethod,
      status: 'Pending',
      ipaddress: order.ipaddress,
      notes: '',
      ...(used
        ? { promocode: promo.code, promotype: promo.type, promovalue: sqlMoney(promo.valueMinor) }
        : {}),
    });
    const orderid = intCell(oid);
    // counted in the order's transaction: two orders cannot both take a promotion's last use
    if (
      used &&
      (await trx('tblpromotions')
        .where({ id: promo.id })
        .andWhere((q) => q.where('maxuses', 0).orWhereRaw('uses < maxuses'))
        .increment('uses', 1)) !== 1
    )
      throw new CommandError(MSG.promoUsedUp);
    const serviceids = await insertServices(trx, order, orderid, when.today, stamp);
    let invoiceid = 0;
    if (!order.noinvoice) {
      const [iid] = await trx('tblinvoices').insert({
        userid: order.client.id,
        invoicenum: '',
        date: when.today,
        duedate: when.today,
        status: 'Unpaid',
        paymentmethod: order.paymentmethod,
        taxrate: sqlMoney(rate1, 3),
        taxrate2: sqlMoney(rate2, 3),
        notes: '',
        created_at: stamp,
        updated_at: stamp,
      });
      invoiceid = intCell(iid);
      await insertItems(
        trx,
        invoiceid,
        order.client.id,
        invoiceItems(order, serviceids, when.today),
        order.paymentmethod,
      );
      await recalcInvoice(trx, invoiceid, stamp);
      await trx('tblorders').where({ id: orderid }).update({ invoiceid });
    }
    return { orderid, serviceids, invoiceid };
  });
  await core.activity(
    {
      description: `New Order Placed - Order ID: ${placed.orderid} - User ID: ${order.client.id} - Amount: ${formatMoney(amount)}`,
      userid: order.client.id,
    },
    when,
  );
  if (placed.invoiceid > 0) {
    await core.activity(
      { description: `Created Invoice - Invoice ID: ${placed.invoiceid}`, userid: order.client.id },
      when,
    );
    // the order's invoice takes the client's credit like every other new invoice
    await afterCreation(
      core,
      placed.invoiceid,
      'Unpaid',
      actor,
      !order.noinvoiceemail,
      when,
      await autoCreditOn(core.knex),
    );
  }
  if (!order.noemail)
    await sendClientEmail(core, { messagename: 'Order Confirmation', relid: order.client.id }, when);
  return placed;
}

export interface AcceptOptions {
  orderid: number;
  serverid?: number;
  serviceusername?: string;
  servicepassword?: string;
  autosetup: boolean;
  sendemail: boolean;
}

/**
 * AcceptOrder: the order becomes Active; with `autosetup` each Pending service is set up (the
 * panel's provisioning modules only suspend and unsuspend, so setting up is the status) and
 * becomes Active; without it the services stay Pending, as in WHMCS, for an admin to set up.
 */
export async function acceptOrder(core: PanelCore, opts: AcceptOptions, when: When): Promise<void> {
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const done = await core.knex.transaction(async (trx) => {
    const order = await trx('tblorders').where({ id: opts.orderid }).forUpdate().first();
    if (!order || textCell(order.status) !== 'Pending') throw new CommandError(MSG.orderNotPending);
    if (opts.serverid !== undefined && !(await trx('tblservers').where({ id: opts.serverid }).first('id')))
      throw new CommandError(MSG.serverNotFound);
    const services = await trx('tblhosting').where({ orderid: opts.orderid }).orderBy('id');
    for (const s of services) {
      const row: Record<string, unknown> = { updated_at: stamp };
      if (opts.serverid !== undefined) row.server = opts.serverid;
      if (opts.serviceusername !== undefined) row.username = opts.serviceusername;
      if (opts.servicepassword !== undefined) row.password = opts.servicepassword;
      if (opts.autosetup && textCell(s.domainstatus) === 'Pending') row.domainstatus = 'Active';
      await trx('tblhosting').where({ id: s.id }).update(row);
    }
    await trx('tblorders').where({ id: opts.orderid }).update({ status: 'Active' });
    return { userid: intCell(order.userid), serviceids: services.map((s) => intCell(s.id)) };
  });
  await core.activity(
    { description: `Order Accepted - Order ID: ${opts.orderid}`, userid: done.userid },
    when,
  );
  if (opts.autosetup)
    for (const id of done.serviceids)
      await core.hooks.run('AfterModuleCreate', { params: { serviceid: id, userid: done.userid } });
  await core.hooks.run('AcceptOrder', { orderid: opts.orderid });
  if (opts.sendemail)
    for (const id of done.serviceids)
      await sendClientEmail(core, { messagename: 'Hosting Account Welcome Email', relid: id }, when);
}
