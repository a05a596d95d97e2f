import { loadClient, loadCurrency } from '../db/clients.js';
import { moneyCell } from '../db/rows.js';
import { loadProduct } from '../db/services.js';
import type { BillingCycle } from '../domain/billing-cycle.js';
import { isPhpArray, type PhpValue } from '../domain/php-params.js';
import { decodeSerializedMap } from '../domain/php-serialize.js';
import { CommandError, MSG } from '../core/errors.js';
import { PAYMENT_GATEWAYS, acceptOrder, placeOrder, type OrderItem } from '../core/orders.js';
import { promotionApplies, promotionDiscount, type Promotion } from '../domain/promotion.js';
import { intKeys, parseMoneyText, type Params } from './params.js';
import { pricedOptions } from './order-options.js';
import { usablePromotion } from './order-promo.js';
import type { CommandContext, CommandFn } from './registry.js';

/**
 * The cycles AddOrder's billingcycle[] takes (WHMCS's lower-case system names), with the
 * tblpricing columns of their price and setup fee; a one-time price is kept in `monthly`.
 */
const CYCLES: Record<
  string,
  { cycle: BillingCycle; price: string; setup: string } | { cycle: 'Free Account' }
> = {
  monthly: { cycle: 'Monthly', price: 'monthly', setup: 'msetupfee' },
  quarterly: { cycle: 'Quarterly', price: 'quarterly', setup: 'qsetupfee' },
  semiannually: { cycle: 'Semi-Annually', price: 'semiannually', setup: 'ssetupfee' },
  annually: { cycle: 'Annually', price: 'annually', setup: 'asetupfee' },
  biennially: { cycle: 'Biennially', price: 'biennially', setup: 'bsetupfee' },
  triennially: { cycle: 'Triennially', price: 'triennially', setup: 'tsetupfee' },
  onetime: { cycle: 'One Time', price: 'monthly', setup: 'msetupfee' },
  free: { cycle: 'Free Account' },
};

/**
 * A per-product parameter: `pid[]=1&pid[]=2` (what http_build_query sends for an array) in index
 * order, or a single value for a one-product order (`pid=1`, as WHMCS also accepts).
 */
function perItem(p: Params, name: string): Array<PhpValue | undefined> {
  const v = p.tree[name];
  if (v === undefined) return [];
  if (!isPhpArray(v)) return [v];
  return intKeys(v, name).map((k) => v[k]);
}

const scalarAt = (list: Array<PhpValue | undefined>, i: number, name: string): string | undefined => {
  const v = list[i];
  if (v !== undefined && isPhpArray(v)) throw new CommandError(MSG.notAnArray(name));
  return v;
};

async function orderItem(
  p: Params,
  ctx: CommandContext,
  i: number,
  currency: { id: number; code: string },
): Promise<OrderItem> {
  const db = ctx.core.knex;
  const pidText = scalarAt(perItem(p, 'pid'), i, 'pid') ?? '';
  const product = /^\d{1,9}$/.test(pidText.trim()) ? await loadProduct(db, Number(pidText.trim())) : null;
  if (!product) throw new CommandError(MSG.productNotFound(pidText));
  const row = await db('tblproducts').where({ id: product.id }).first('paytype');
  const cycleText = (scalarAt(perItem(p, 'billingcycle'), i, 'billingcycle') ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]/g, '');
  const paytype = String(row?.paytype ?? 'recurring');
  const key =
    cycleText !== ''
      ? cycleText
      : paytype === 'free'
        ? 'free'
        : paytype === 'onetime'
          ? 'onetime'
          : 'monthly';
  const spec = CYCLES[key];
  if (!spec) throw new CommandError(MSG.invalidCycle(cycleText));
  const qtyText = scalarAt(perItem(p, 'qty'), i, 'qty');
  const qty =
    qtyText === undefined || qtyText.trim() === ''
      ? 1
      : /^[1-9]\d{0,3}$/.test(qtyText.trim())
        ? Number(qtyText.trim())
        : 0;
  if (qty === 0) throw new CommandError(MSG.integerRequired('qty'));
  const override = scalarAt(perItem(p, 'priceoverride'), i, 'priceoverride');
  const columns =
    spec.cycle !== 'Free Account' && 'price' in spec ? { price: spec.price, setup: spec.setup } : null;
  const options = await pricedOptions(
    db,
    product.id,
    scalarAt(perItem(p, 'configoptions'), i, 'configoptions'),
    currency.id,
    columns,
  );
  let recurringMinor = 0n;
  let setupMinor = 0n;
  if (columns) {
    const price = await db('tblpricing')
      .where({ type: 'product', relid: product.id, currency: currency.id })
      .first();
    // an override is the whole price the admin agreed, options included
    if (override !== undefined && override.trim() !== '') recurringMinor = parseMoneyText(override);
    else {
      const listed = price ? moneyCell(price[columns.price]) : -100n;
      if (listed < 0n) throw new CommandError(MSG.noPrice(product.name, key, currency.code));
      recurringMinor = listed + options.recurringMinor;
      setupMinor = (price ? moneyCell(price[columns.setup]) : 0n) + options.setupMinor;
    }
    if (recurringMinor < 0n) throw new CommandError(MSG.amountNegative);
  }
  const fieldsText = scalarAt(perItem(p, 'customfields'), i, 'customfields');
  let customfields: Record<number, string> = {};
  if (fieldsText !== undefined && fieldsText !== '') {
    const map = decodeSerializedMap(fieldsText);
    if (!map) throw new CommandError('Invalid customfields: a base64 encoded serialized array is expected');
    // like WHMCS, ids that are not the product's custom fields are left out
    const ids = new Set(
      (await db('tblcustomfields').where({ type: 'product', relid: product.id }).select('id')).map((f) =>
        Number(f.id),
      ),
    );
    customfields = Object.fromEntries(Object.entries(map).filter(([k]) => ids.has(Number(k))));
  }
  const domain = (scalarAt(perItem(p, 'domain'), i, 'domain') ?? '').trim();
  return {
    product,
    cycle: spec.cycle,
    domain,
    qty,
    recurringMinor: recurringMinor * BigInt(qty),
    setupMinor: setupMinor * BigInt(qty),
    customfields,
    options: options.chosen,
    discountMinor: 0n,
  };
}

/**
 * The promotion's discount on each item it applies to: off the first payment's price (setup fees
 * not included), and off every renewal too when the promotion is recurring (placeOrder). None of
 * the items qualifying refuses the order.
 */
function discountItems(promotion: Promotion, items: OrderItem[], override: boolean): void {
  let applied = false;
  for (const it of items) {
    if (!promotionApplies(promotion, it.product.id, it.cycle, override)) continue;
    it.discountMinor = promotionDiscount(promotion, it.recurringMinor);
    applied = true;
  }
  if (!applied) throw new CommandError(MSG.promoNotApplicable);
}

/**
 * AddOrder (developers.whmcs.com/api-reference/addorder/): products only (pid[], billingcycle[],
 * domain[], qty[], priceoverride[], customfields[], configoptions[] — order-options.ts —,
 * promocode and promooverride — order-promo.ts), paid with `paymentmethod`; prices from the
 * product's and its options' pricing in the client's currency. Out: `orderid`, `serviceids`, `addonids`,
 * `domainids` (comma-separated), `invoiceid`, as strings like WHMCS's example answer.
 */
export const AddOrder: CommandFn = async (p, ctx) => {
  const { core, actor, when } = ctx;
  const client = await loadClient(core.knex, p.id('clientid'));
  if (!client) throw new CommandError(MSG.clientIdNotFound);
  if (client.status === 'Closed') throw new CommandError(MSG.clientClosed);
  const paymentmethod = p.text('paymentmethod').trim();
  if (!(PAYMENT_GATEWAYS as readonly string[]).includes(paymentmethod))
    throw new CommandError(MSG.invalidPaymentMethod(PAYMENT_GATEWAYS));
  for (const name of ['domaintype', 'regperiod'])
    if (p.has(name) && !isPhpArray(p.tree[name]!)) throw new CommandError(MSG.expectingArray(name));
  const pids = perItem(p, 'pid').filter((v) => v !== undefined && (isPhpArray(v) || v.trim() !== ''));
  if (pids.length === 0) throw new CommandError(MSG.noOrderItems);
  const currency = await loadCurrency(core.knex, client.currency);
  const items: OrderItem[] = [];
  for (let i = 0; i < perItem(p, 'pid').length; i++) items.push(await orderItem(p, ctx, i, currency));
  const promotion = await usablePromotion(core.knex, p.text('promocode'), when.today);
  if (promotion) discountItems(promotion, items, p.bool('promooverride'));
  const placed = await placeOrder(
    core,
    {
      client,
      paymentmethod,
      items,
      promotion,
      noinvoice: p.bool('noinvoice'),
      noinvoiceemail: p.bool('noinvoiceemail'),
      noemail: p.bool('noemail'),
      ipaddress: p.text('clientip') || actor.ip || '',
    },
    actor,
    when,
  );
  return {
    orderid: String(placed.orderid),
    serviceids: placed.serviceids.join(','),
    addonids: '',
    domainids: '',
    invoiceid: String(placed.invoiceid),
  };
};

/** AcceptOrder (developers.whmcs.com/api-reference/acceptorder/): out is the result alone. */
export const AcceptOrder: CommandFn = async (p, { core, when }) => {
  const orderid = p.id('orderid');
  await acceptOrder(
    core,
    {
      orderid,
      ...(p.given('serverid') ? { serverid: p.id('serverid') } : {}),
      ...(p.has('serviceusername') ? { serviceusername: p.text('serviceusername') } : {}),
      ...(p.has('servicepassword') ? { servicepassword: p.text('servicepassword') } : {}),
      autosetup: p.bool('autosetup'),
      sendemail: p.bool('sendemail'),
    },
    when,
  );
  return {};
};
