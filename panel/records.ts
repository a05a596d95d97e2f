/**
 * Creating the panel's records directly (what WHMCS does through its order process and admin
 * pages, which this panel does not have): clients, products with their custom fields, servers
 * and services. Used by the demo data, the CLI and the tests.
 */
import crypto from 'node:crypto';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../module/domain/calendar.js';
import { parseBillingCycle } from './domain/billing-cycle.js';
import { decimalAsStored } from './domain/money.js';
import { insertId, intCell, sqlLocalDatetime, sqlMoney, type Db } from './db/rows.js';

const money = (text: string, what: string): string => {
  const m = decimalAsStored(text, 2, 13);
  if (m === null) throw new RangeError(`${what} must be a decimal amount, not "${text}"`);
  return sqlMoney(m);
};

export interface NewClient {
  firstname: string;
  lastname: string;
  email: string;
  companyname?: string;
  country?: string;
  /** 'english', 'dutch'; '' = the panel's default */
  language?: string;
  currency?: number;
  credit?: string;
  latefeeoveride?: boolean;
  overideduenotices?: boolean;
  separateinvoices?: boolean;
  taxexempt?: boolean;
  defaultgateway?: string;
  /** scrypt hash of the client-area password (the login pages set it) */
  passwordHash?: string;
}

export async function addClient(db: Db, c: NewClient, now: DateTime, zone: string): Promise<number> {
  const stamp = sqlLocalDatetime(now, zone);
  const [id] = await db('tblclients').insert({
    uuid: crypto.randomUUID(),
    firstname: c.firstname,
    lastname: c.lastname,
    companyname: c.companyname ?? '',
    email: c.email,
    country: c.country ?? '',
    language: c.language ?? '',
    currency: c.currency ?? 1,
    credit: money(c.credit ?? '0', 'credit'),
    latefeeoveride: c.latefeeoveride ? 1 : 0,
    overideduenotices: c.overideduenotices ? 1 : 0,
    separateinvoices: c.separateinvoices ? 1 : 0,
    taxexempt: c.taxexempt ? 1 : 0,
    defaultgateway: c.defaultgateway ?? '',
    password: c.passwordHash ?? '',
    datecreated: stamp.slice(0, 10),
    status: 'Active',
    created_at: stamp,
    updated_at: stamp,
  });
  return intCell(id);
}

export async function addProductGroup(db: Db, name: string): Promise<number> {
  const [id] = await db('tblproductgroups').insert({ name });
  return intCell(id);
}

export interface NewProduct {
  name: string;
  gid?: number;
  type?: string;
  /** provisioning module, e.g. 'solusvmpro' */
  servertype?: string;
  tax?: boolean;
  configoptions?: Record<number, string>;
  overagesenabled?: string;
  overagesbwlimit?: number;
  overagesbwprice?: string;
  /** monthly prices by currency code ({ EUR: '19.95' }), as tblpricing rows; other cycles not offered */
  monthly?: Record<string, string>;
}

export async function addProduct(db: Db, p: NewProduct, now: DateTime, zone: string): Promise<number> {
  const stamp = sqlLocalDatetime(now, zone);
  const row: Record<string, unknown> = {
    name: p.name,
    gid: p.gid ?? 0,
    type: p.type ?? 'server',
    servertype: p.servertype ?? '',
    tax: p.tax ? 1 : 0,
    overagesenabled: p.overagesenabled ?? '',
    overagesbwlimit: p.overagesbwlimit ?? 0,
    created_at: stamp,
    updated_at: stamp,
  };
  if (p.overagesbwprice !== undefined) {
    const price = decimalAsStored(p.overagesbwprice, 4, 2);
    if (price === null) throw new RangeError(`overagesbwprice must be a decimal with up to 4 places`);
    row.overagesbwprice = sqlMoney(price, 4);
  }
  for (const [n, v] of Object.entries(p.configoptions ?? {})) row[`configoption${n}`] = v;
  const [id] = await db('tblproducts').insert(row);
  const productId = intCell(id);
  for (const [code, price] of Object.entries(p.monthly ?? {})) {
    const cur = await db('tblcurrencies').where({ code }).first('id');
    if (!cur) throw new RangeError(`there is no currency ${code}`);
    const minor = decimalAsStored(price, 2);
    if (minor === null)
      throw new RangeError(`the ${code} monthly price must be a decimal with up to 2 places`);
    await db('tblpricing').insert({
      type: 'product',
      currency: intCell(cur.id),
      relid: productId,
      monthly: sqlMoney(minor),
    });
  }
  return productId;
}

/** A product custom field, e.g. the SolusVM module's 'vserverid'. */
export async function addProductCustomField(
  db: Db,
  productId: number,
  fieldname: string,
  opts: { adminonly?: boolean; description?: string; required?: boolean; showorder?: boolean } = {},
): Promise<number> {
  const [id] = await db('tblcustomfields').insert({
    type: 'product',
    relid: productId,
    fieldname,
    fieldtype: 'text',
    description: opts.description ?? '',
    adminonly: opts.adminonly ? 'on' : '',
    required: opts.required ? 'on' : '',
    showorder: opts.showorder ? 'on' : '',
  });
  return intCell(id);
}

export async function addServer(
  db: Db,
  s: {
    name: string;
    type: string;
    ipaddress?: string;
    hostname?: string;
    username?: string;
    accesshash?: string;
    secure?: boolean;
  },
): Promise<number> {
  const [id] = await db('tblservers').insert({
    name: s.name,
    type: s.type,
    ipaddress: s.ipaddress ?? '',
    hostname: s.hostname ?? '',
    username: s.username ?? '',
    accesshash: s.accesshash ?? '',
    secure: s.secure ? 'on' : '',
    active: 1,
  });
  return intCell(id);
}

export interface NewService {
  userid: number;
  packageid: number;
  server?: number;
  domain?: string;
  regdate: IsoDate;
  /** defaults to regdate */
  nextduedate?: IsoDate;
  billingcycle?: string;
  amount: string;
  firstpaymentamount?: string;
  paymentmethod?: string;
  status?: 'Pending' | 'Active' | 'Suspended' | 'Terminated' | 'Cancelled' | 'Fraud' | 'Completed';
  username?: string;
  bwlimit?: number;
  /** custom field id → value */
  customfields?: Record<number, string>;
}

export async function addService(db: Db, s: NewService, now: DateTime, zone: string): Promise<number> {
  const cycle = parseBillingCycle(s.billingcycle ?? 'Monthly');
  if (!cycle) throw new RangeError(`unknown billing cycle "${s.billingcycle}"`);
  const stamp = sqlLocalDatetime(now, zone);
  const next = s.nextduedate ?? s.regdate;
  const [id] = await db('tblhosting').insert({
    userid: s.userid,
    packageid: s.packageid,
    server: s.server ?? 0,
    regdate: s.regdate,
    domain: s.domain ?? '',
    paymentmethod: s.paymentmethod ?? 'banktransfer',
    firstpaymentamount: money(s.firstpaymentamount ?? s.amount, 'firstpaymentamount'),
    amount: money(s.amount, 'amount'),
    billingcycle: cycle,
    nextduedate: next,
    nextinvoicedate: next,
    domainstatus: s.status ?? 'Active',
    username: s.username ?? '',
    bwlimit: s.bwlimit ?? 0,
    created_at: stamp,
    updated_at: stamp,
  });
  const serviceId = intCell(id);
  for (const [fieldid, value] of Object.entries(s.customfields ?? {})) {
    await db('tblcustomfieldsvalues').insert({
      fieldid: Number(fieldid),
      relid: serviceId,
      value,
      created_at: stamp,
      updated_at: stamp,
    });
  }
  return serviceId;
}

/**
 * What the official SolusVM 2 module's CreateAccount leaves for a service: a row of
 * solusiovps_servers with the server id and the server as SolusVM answered it.
 */
export async function addSolusIoServer(
  db: Db,
  serviceId: number,
  serverId: number,
  payload: Record<string, unknown> = {},
): Promise<void> {
  await db('solusiovps_servers').insert({
    service_id: serviceId,
    server_id: serverId,
    payload: JSON.stringify({ id: serverId, ...payload }),
  });
}

export interface NewConfigOption {
  name: string;
  /** WHMCS's optiontype: 1 dropdown, 2 radio, 3 yes/no, 4 quantity */
  type: 1 | 2 | 3 | 4;
  qtyminimum?: number;
  qtymaximum?: number;
  /** the choices, each with its prices by currency code (cycle column → decimal) */
  choices: Array<{ name: string; pricing?: Record<string, Record<string, string>> }>;
}

/** A configurable option group with its options, linked to a product (WHMCS: Setup › Configurable Options). */
export async function addConfigOptionGroup(
  db: Db,
  productId: number,
  group: { name: string; options: NewConfigOption[] },
): Promise<{ groupId: number; optionIds: number[]; choiceIds: number[][] }> {
  const gid = await insertId(db, 'tblproductconfiggroups', { name: group.name, description: '' });
  await db('tblproductconfiglinks').insert({ gid, pid: productId });
  const optionIds: number[] = [];
  const choiceIds: number[][] = [];
  for (const [order, o] of group.options.entries()) {
    const configid = await insertId(db, 'tblproductconfigoptions', {
      gid,
      optionname: o.name,
      optiontype: String(o.type),
      qtyminimum: o.qtyminimum ?? 0,
      qtymaximum: o.qtymaximum ?? 0,
      order,
      hidden: 0,
    });
    optionIds.push(configid);
    const ids: number[] = [];
    for (const [sortorder, c] of o.choices.entries()) {
      const subId = await insertId(db, 'tblproductconfigoptionssub', {
        configid,
        optionname: c.name,
        sortorder,
        hidden: 0,
      });
      ids.push(subId);
      for (const [code, prices] of Object.entries(c.pricing ?? {})) {
        const cur = await db('tblcurrencies').where({ code }).first('id');
        if (!cur) throw new RangeError(`there is no currency ${code}`);
        const row: Record<string, unknown> = {
          type: 'configoptions',
          currency: intCell(cur.id),
          relid: subId,
        };
        // a config option's unpriced cycle is 0.00 in WHMCS, not -1.00 as for products
        for (const col of ['monthly', 'quarterly', 'semiannually', 'annually', 'biennially', 'triennially'])
          row[col] = '0.00';
        for (const [col, v] of Object.entries(prices)) {
          const minor = decimalAsStored(v, 2);
          if (minor === null) throw new RangeError(`${code} ${col} must be a decimal with up to 2 places`);
          row[col] = sqlMoney(minor);
        }
        await db('tblpricing').insert(row);
      }
    }
    choiceIds.push(ids);
  }
  return { groupId: gid, optionIds, choiceIds };
}

export interface NewPromotion {
  code: string;
  type: 'Percentage' | 'Fixed Amount';
  /** a percentage or an amount, as a decimal: '10', '5.00' */
  value: string;
  /** also off every renewal (WHMCS's "Recurring" with "Recur For" 0) */
  recurring?: boolean;
  /** the product ids it applies to */
  appliesto?: number[];
  /** WHMCS's cycle names ('Monthly', 'Annually'); none: every cycle */
  cycles?: string[];
  startdate?: IsoDate;
  expirationdate?: IsoDate;
  /** 0 or none: unlimited */
  maxuses?: number;
}

/**
 * A promotion code (WHMCS: Configuration › System Settings › Promotions; there is no API command
 * to create one). Only the kinds the panel's orders apply: a Percentage (at most 100) or a Fixed
 * Amount, once or on every renewal; cycle names are WHMCS's.
 */
export async function addPromotion(db: Db, p: NewPromotion): Promise<number> {
  const code = p.code.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(code))
    throw new RangeError(`a promotion code is 1 to 64 letters, digits, - or _, not "${p.code}"`);
  const value = decimalAsStored(p.value, 2, 13);
  if (value === null || value <= 0n || (p.type === 'Percentage' && value > 10_000n))
    throw new RangeError(
      `a ${p.type} promotion's value must be above 0${p.type === 'Percentage' ? ' and at most 100' : ''}, not "${p.value}"`,
    );
  for (const c of p.cycles ?? [])
    if (!parseBillingCycle(c)) throw new RangeError(`unknown billing cycle "${c}"`);
  return insertId(db, 'tblpromotions', {
    code,
    type: p.type,
    recurring: p.recurring ? 1 : 0,
    value: sqlMoney(value),
    cycles: (p.cycles ?? []).map((c) => parseBillingCycle(c)!).join(','),
    appliesto: (p.appliesto ?? []).join(','),
    requires: '',
    startdate: p.startdate ?? null,
    expirationdate: p.expirationdate ?? null,
    maxuses: p.maxuses ?? 0,
    uses: 0,
    upgradeconfig: '',
    notes: '',
  });
}
