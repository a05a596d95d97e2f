import { DateTime } from 'luxon';
import { daysBetween } from '../../module/domain/calendar.js';
import { intCell, moneyCell, textCell } from '../db/rows.js';
import { loadClient } from '../db/clients.js';
import { loadProduct, loadService } from '../db/services.js';
import { cycleMonths, parseBillingCycle } from '../domain/billing-cycle.js';
import { formatMoney, maxBig, mulDivHalfUp } from '../domain/money.js';
import { createInvoice } from '../core/billing.js';
import type { PanelCore } from '../core/context.js';
import { completeUpgrades } from '../core/upgrades.js';
import { CommandError, MSG } from '../core/errors.js';
import type { CommandFn } from './registry.js';

/**
 * GetProducts: the configured products (WHMCS documents pid — one id or a comma list —, gid and
 * module as filters). WHMCS's documented answer lists no overage fields; the reference host adds
 * `overagesenabled` from tblproducts, so an add-on can refuse to double-bill here. Against a real
 * WHMCS the field is absent and the add-on must ask the admin instead.
 */
export const GetProducts: CommandFn = async (p, { core }) => {
  let q = core.knex('tblproducts');
  if (p.given('pid')) {
    const ids = p
      .text('pid')
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isSafeInteger(n) && n > 0);
    q = q.whereIn('id', ids.length ? ids : [0]);
  }
  if (p.given('gid')) q = q.where({ gid: p.id('gid') });
  if (p.given('module')) q = q.where({ servertype: p.text('module') });
  const rows = await q.orderBy('id');
  const pricingById = new Map(
    await Promise.all(rows.map(async (r) => [intCell(r.id), await pricingOf(core, intCell(r.id))] as const)),
  );
  return {
    totalresults: String(rows.length),
    products: {
      product: await Promise.all(
        rows.map(async (r) => ({
          pid: String(intCell(r.id)),
          gid: String(intCell(r.gid ?? 0)),
          type: textCell(r.type ?? 'server'),
          name: textCell(r.name),
          description: textCell(r.description ?? ''),
          module: textCell(r.servertype ?? ''),
          paytype: textCell(r.paytype ?? 'recurring'),
          overagesenabled: textCell(r.overagesenabled ?? ''),
          pricing: pricingById.get(intCell(r.id)) ?? {},
          customfields: { customfield: await orderFormFields(core, intCell(r.id)) },
          configoptions: { configoption: await configOptionsOf(core, intCell(r.id)) },
        })),
      ),
    },
  };
};

const CYCLE_COLUMN: Record<string, string> = {
  Monthly: 'monthly',
  Quarterly: 'quarterly',
  'Semi-Annually': 'semiannually',
  Annually: 'annually',
  Biennially: 'biennially',
  Triennially: 'triennially',
};

/** A product's prices by currency code, as GetProducts lists them (WHMCS's `pricing` block). */
async function pricingOf(
  core: PanelCore,
  productId: number,
): Promise<Record<string, Record<string, string>>> {
  const rows = await core
    .knex('tblpricing as p')
    .join('tblcurrencies as c', 'c.id', 'p.currency')
    .where({ 'p.type': 'product', 'p.relid': productId })
    .select('p.*', 'c.code', 'c.prefix', 'c.suffix');
  const out: Record<string, Record<string, string>> = {};
  for (const r of rows) {
    const entry: Record<string, string> = { prefix: textCell(r.prefix), suffix: textCell(r.suffix) };
    for (const c of [
      'msetupfee',
      'qsetupfee',
      'ssetupfee',
      'asetupfee',
      'bsetupfee',
      'tsetupfee',
      'monthly',
      'quarterly',
      'semiannually',
      'annually',
      'biennially',
      'triennially',
    ])
      entry[c] = formatMoney(moneyCell(r[c]));
    out[textCell(r.code)] = entry;
  }
  return out;
}

/**
 * The product's custom fields shown on the order form (GetProducts lists only those, as WHMCS's
 * reference says), in the shape of its example answer: id, name, description, required ('on'|'').
 */
async function orderFormFields(core: PanelCore, productId: number): Promise<Array<Record<string, unknown>>> {
  const rows = await core
    .knex('tblcustomfields')
    .where({ type: 'product', relid: productId, showorder: 'on' })
    .orderBy(['sortorder', 'id']);
  return rows.map((r) => ({
    id: intCell(r.id),
    name: textCell(r.fieldname),
    description: textCell(r.description),
    required: textCell(r.required),
  }));
}

const OPTION_PRICE_COLUMNS = [
  'msetupfee',
  'qsetupfee',
  'ssetupfee',
  'asetupfee',
  'bsetupfee',
  'tsetupfee',
  'monthly',
  'quarterly',
  'semiannually',
  'annually',
  'biennially',
  'triennially',
];

/**
 * The configurable options of the groups linked to the product, not hidden, in the shape of
 * GetProducts' example answer (https://developers.whmcs.com/api-reference/getproducts/): each
 * option's id, name, type ("1" dropdown … "4" quantity), minqty/maxqty, and its choices with their
 * prices per currency code. A choice named "value|Label" shows the label; rawName keeps the whole.
 * `recurring` is the price for a chosen cycle, and GetProducts chooses none: 0.
 */
async function configOptionsOf(core: PanelCore, productId: number): Promise<Array<Record<string, unknown>>> {
  const db = core.knex;
  const options = await db('tblproductconfigoptions as o')
    .join('tblproductconfiglinks as l', 'l.gid', 'o.gid')
    .where({ 'l.pid': productId, 'o.hidden': 0 })
    .orderBy([{ column: 'o.order' }, { column: 'o.id' }])
    .select('o.*');
  const out: Array<Record<string, unknown>> = [];
  for (const o of options) {
    const subs = await db('tblproductconfigoptionssub')
      .where({ configid: intCell(o.id), hidden: 0 })
      .orderBy(['sortorder', 'id']);
    const choices = [];
    for (const sub of subs) {
      const prices = await db('tblpricing as p')
        .join('tblcurrencies as c', 'c.id', 'p.currency')
        .where({ 'p.type': 'configoptions', 'p.relid': intCell(sub.id) })
        .orderBy('c.id')
        .select('p.*', 'c.code');
      const pricing: Record<string, Record<string, string>> = {};
      for (const p of prices)
        pricing[textCell(p.code)] = Object.fromEntries(
          OPTION_PRICE_COLUMNS.map((c) => [c, formatMoney(moneyCell(p[c]))]),
        );
      const raw = textCell(sub.optionname);
      const bar = raw.indexOf('|');
      choices.push({
        id: intCell(sub.id),
        name: bar >= 0 ? raw.slice(bar + 1) : raw,
        rawName: raw,
        recurring: 0,
        required: null,
        pricing,
      });
    }
    out.push({
      id: intCell(o.id),
      name: textCell(o.optionname),
      type: textCell(o.optiontype),
      minqty: intCell(o.qtyminimum),
      maxqty: intCell(o.qtymaximum),
      options: { option: choices },
    });
  }
  return out;
}

/** The recurring price of a product in a client's currency for a cycle; null when not offered. */
async function recurringPrice(
  core: PanelCore,
  productId: number,
  currencyId: number,
  cycle: string,
): Promise<bigint | null> {
  const column = CYCLE_COLUMN[cycle];
  if (!column) return null;
  const row = await core
    .knex('tblpricing')
    .where({ type: 'product', relid: productId, currency: currencyId })
    .first(column);
  if (!row) return null;
  const price = moneyCell(row[column]);
  return price < 0n ? null : price;
}

/**
 * UpgradeProduct (type=product): moves a service to another product. As WHMCS does for a product
 * upgrade, the price difference is charged for the days left until the next due date: (new − old
 * recurring price) × days remaining ÷ days in the current cycle, rounded once — the unused part of
 * the old plan is credited against the new one (credit_amount). With calconly it only answers the
 * figures. Otherwise a tblupgrades row and, when something is due, an invoice with an "Upgrade"
 * line; the upgrade is carried out when that invoice is paid (at once when nothing is due), and
 * AfterProductUpgrade runs. WHMCS documents only result/upgradeinprogress; the figures and ids
 * answered here are the reference host's.
 */
export const UpgradeProduct: CommandFn = async (p, { core, actor, when }) => {
  const type = p.text('type').trim().toLowerCase();
  if (type !== 'product')
    throw new CommandError(
      type === 'configoptions'
        ? 'Configurable option upgrades are not available on this panel'
        : 'Invalid upgrade type. Use product or configoptions',
    );
  if (!p.given('paymentmethod') || p.text('paymentmethod').trim() === '')
    throw new CommandError('Invalid Payment Method. Valid options include banktransfer');
  const svc = await loadService(core.knex, p.id('serviceid'));
  if (!svc) throw new CommandError(MSG.serviceIdNotFound);
  const newProduct = p.given('newproductid') ? await loadProduct(core.knex, p.id('newproductid')) : null;
  if (!newProduct) throw new CommandError('Invalid New Product ID');
  const oldProduct = await loadProduct(core.knex, svc.packageid);
  if (newProduct.id === svc.packageid) throw new CommandError('The service is already on this product');
  const cycle = p.given('newproductbillingcycle')
    ? parseBillingCycle(p.text('newproductbillingcycle'))
    : svc.billingcycle;
  if (!cycle || !svc.nextduedate || !cycleMonths(cycle)) throw new CommandError('Invalid Billing Cycle');
  const client = await loadClient(core.knex, svc.userid);
  if (!client) throw new CommandError(MSG.clientIdNotFound);
  const newPrice = await recurringPrice(core, newProduct.id, client.currency, cycle);
  if (newPrice === null)
    throw new CommandError(`The new product has no ${cycle} price in the client's currency`);
  const next = svc.nextduedate;
  const previous = DateTime.fromISO(next, { zone: 'utc' })
    .minus({ months: cycleMonths(cycle)! })
    .toISODate()!;
  const totalDays = daysBetween(previous, next);
  const daysRemaining = Math.max(0, Math.min(totalDays, daysBetween(when.today, next)));
  const oldPrice = svc.amountMinor;
  const credit = mulDivHalfUp(oldPrice, BigInt(daysRemaining), BigInt(totalDays));
  const due = maxBig(0n, mulDivHalfUp(newPrice - oldPrice, BigInt(daysRemaining), BigInt(totalDays)));
  const figures = {
    oldproductid: svc.packageid,
    oldproductname: oldProduct?.name ?? '',
    newproductid: newProduct.id,
    newproductname: newProduct.name,
    daysuntilrenewal: daysRemaining,
    totaldays: totalDays,
    newproductbillingcycle: cycle,
    credit: formatMoney(credit),
    price: formatMoney(due),
  };
  if (p.bool('calconly')) return { ...figures, upgradeinprogress: false };
  const pending = await core.knex('tblupgrades').where({ relid: svc.id, status: 'Pending' }).first('id');
  if (pending) throw new CommandError('An upgrade is already in progress for this service');
  const [id] = await core.knex('tblupgrades').insert({
    userid: svc.userid,
    type: 'package',
    date: when.today,
    relid: svc.id,
    originalvalue: String(svc.packageid),
    newvalue: `${newProduct.id},${cycle}`,
    amount: formatMoney(due),
    credit_amount: formatMoney(credit),
    days_remaining: daysRemaining,
    total_days_in_cycle: totalDays,
    new_recurring_amount: formatMoney(newPrice),
    recurringchange: formatMoney(newPrice - oldPrice),
    status: 'Pending',
    paid: 'N',
  });
  const upgradeId = intCell(id);
  let invoiceId = 0;
  if (due > 0n) {
    const last = DateTime.fromISO(next, { zone: 'utc' }).minus({ days: 1 }).toISODate()!;
    const item = {
      type: 'Upgrade',
      relid: upgradeId,
      description: `Upgrade/Downgrade: ${oldProduct?.name ?? svc.packageid} => ${newProduct.name} (${when.today} - ${last})`,
      amountMinor: due,
      taxed: newProduct.tax,
      duedate: when.today,
    };
    const r = await createInvoice(
      core,
      {
        userid: svc.userid,
        status: 'Unpaid',
        date: when.today,
        duedate: when.today,
        paymentmethod: p.text('paymentmethod'),
        notes: '',
        items: [item],
        sendinvoice: true,
        autoapplycredit: false,
      },
      actor,
      when,
    );
    invoiceId = r.invoiceid;
  } else await completeUpgrades(core, [upgradeId], when);
  await core.activity(
    {
      description: `Upgrade Order Placed - Service ID: ${svc.id} - Upgrade ID: ${upgradeId}`,
      userid: svc.userid,
    },
    when,
  );
  return { ...figures, upgradeid: upgradeId, invoiceid: invoiceId };
};
