import { parseBillingCycle, type BillingCycle } from '../domain/billing-cycle.js';
import { formatDecimal } from '../domain/money.js';
import { dateCell, datetimeCell, flagCell, intCell, moneyCell, textCell, type Db } from './rows.js';

export const SERVICE_STATUSES = [
  'Pending',
  'Active',
  'Suspended',
  'Terminated',
  'Cancelled',
  'Fraud',
  'Completed',
] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

export interface Product {
  id: number;
  type: string;
  gid: number;
  groupName: string;
  name: string;
  servertype: string;
  tax: boolean;
  configoptions: string[];
  overagesenabled: string;
  overagesbwlimit: number;
  overagesbwprice: string;
}

export interface Service {
  id: number;
  userid: number;
  orderid: number;
  packageid: number;
  server: number;
  regdate: string | null;
  domain: string;
  paymentmethod: string;
  qty: number;
  firstpaymentamountMinor: bigint;
  amountMinor: bigint;
  billingcycleText: string;
  billingcycle: BillingCycle | null;
  nextduedate: string | null;
  nextinvoicedate: string | null;
  terminationDate: string | null;
  domainstatus: ServiceStatus;
  username: string;
  notes: string;
  subscriptionid: string;
  promoid: number;
  suspendreason: string;
  overideautosuspend: boolean;
  overidesuspenduntil: string | null;
  dedicatedip: string;
  assignedips: string;
  ns1: string;
  ns2: string;
  diskusage: number;
  disklimit: number;
  bwusage: number;
  bwlimit: number;
  lastupdate: string | null;
}

export function parseService(r: Record<string, unknown>): Service {
  const cycleText = textCell(r.billingcycle);
  return {
    id: intCell(r.id),
    userid: intCell(r.userid),
    orderid: intCell(r.orderid),
    packageid: intCell(r.packageid),
    server: intCell(r.server),
    regdate: dateCell(r.regdate),
    domain: textCell(r.domain),
    paymentmethod: textCell(r.paymentmethod),
    qty: intCell(r.qty),
    firstpaymentamountMinor: moneyCell(r.firstpaymentamount),
    amountMinor: moneyCell(r.amount),
    billingcycleText: cycleText,
    billingcycle: parseBillingCycle(cycleText),
    nextduedate: dateCell(r.nextduedate),
    nextinvoicedate: dateCell(r.nextinvoicedate),
    terminationDate: dateCell(r.termination_date),
    domainstatus: textCell(r.domainstatus) as ServiceStatus,
    username: textCell(r.username),
    notes: textCell(r.notes),
    subscriptionid: textCell(r.subscriptionid),
    promoid: intCell(r.promoid),
    suspendreason: textCell(r.suspendreason),
    overideautosuspend: flagCell(r.overideautosuspend),
    overidesuspenduntil: dateCell(r.overidesuspenduntil),
    dedicatedip: textCell(r.dedicatedip),
    assignedips: textCell(r.assignedips),
    ns1: textCell(r.ns1),
    ns2: textCell(r.ns2),
    diskusage: intCell(r.diskusage),
    disklimit: intCell(r.disklimit),
    bwusage: intCell(r.bwusage),
    bwlimit: intCell(r.bwlimit),
    lastupdate: datetimeCell(r.lastupdate),
  };
}

export async function loadService(db: Db, id: number): Promise<Service | null> {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const row = await db('tblhosting').where({ id }).first();
  return row ? parseService(row) : null;
}

export function parseProduct(r: Record<string, unknown>, groupName = ''): Product {
  return {
    id: intCell(r.id),
    type: textCell(r.type),
    gid: intCell(r.gid),
    groupName,
    name: textCell(r.name),
    servertype: textCell(r.servertype),
    tax: flagCell(r.tax),
    configoptions: Array.from({ length: 24 }, (_, i) => textCell(r[`configoption${i + 1}`])),
    overagesenabled: textCell(r.overagesenabled),
    overagesbwlimit: intCell(r.overagesbwlimit),
    overagesbwprice: r.overagesbwprice === undefined ? '0.0000' : textCell(r.overagesbwprice),
  };
}

export async function loadProduct(db: Db, id: number): Promise<Product | null> {
  const row = await db('tblproducts').where({ id }).first();
  if (!row) return null;
  const group = await db('tblproductgroups').where({ id: row.gid }).first('name');
  // normalise the price through the exact reader so both engines give "0.5000"-style text
  const p = parseProduct(row, textCell(group?.name));
  const price = moneyCell(row.overagesbwprice, 4);
  return { ...p, overagesbwprice: formatDecimal(price, 4) };
}

export interface CustomFieldValue {
  id: number;
  name: string;
  value: string;
}

/** The product's custom fields with this service's values ('' where none stored). */
export async function serviceCustomFields(
  db: Db,
  service: { id: number; packageid: number },
): Promise<CustomFieldValue[]> {
  const fields = await db('tblcustomfields')
    .where({ type: 'product', relid: service.packageid })
    .orderBy(['sortorder', 'id'])
    .select('id', 'fieldname');
  if (fields.length === 0) return [];
  const values = await db('tblcustomfieldsvalues')
    .where({ relid: service.id })
    .whereIn(
      'fieldid',
      fields.map((f) => f.id),
    )
    .select('fieldid', 'value');
  const byField = new Map(values.map((v) => [intCell(v.fieldid), textCell(v.value)]));
  // WHMCS field names may carry a display label after a pipe: "vserverid|VPS ID"
  return fields.map((f) => ({
    id: intCell(f.id),
    name: textCell(f.fieldname).split('|')[0]!,
    value: byField.get(intCell(f.id)) ?? '',
  }));
}

const OPTION_TYPE_NAMES: Record<string, string> = {
  '1': 'dropdown',
  '2': 'radio',
  '3': 'yesno',
  '4': 'quantity',
};

/**
 * The configurable options a service was ordered with, in the shape of GetClientsProducts'
 * example answer (developers.whmcs.com/api-reference/getclientsproducts/): id, option, type
 * ("dropdown", …) and value — the chosen choice's name ("value|Label" shows the label) for a
 * dropdown or radio, the quantity for a quantity option, 1 or 0 for yes/no.
 */
export async function serviceConfigOptions(
  db: Db,
  serviceId: number,
): Promise<Array<Record<string, string>>> {
  const rows = await db('tblhostingconfigoptions as h')
    .join('tblproductconfigoptions as o', 'o.id', 'h.configid')
    .leftJoin('tblproductconfigoptionssub as s', 's.id', 'h.optionid')
    .where('h.relid', serviceId)
    .orderBy([{ column: 'o.order' }, { column: 'o.id' }])
    .select('o.id', 'o.optionname', 'o.optiontype', 'h.qty', { choice: 's.optionname' });
  return rows.map((r) => {
    const type = OPTION_TYPE_NAMES[textCell(r.optiontype)] ?? 'dropdown';
    const choice = textCell(r.choice);
    const value =
      type === 'quantity' || type === 'yesno'
        ? String(intCell(r.qty))
        : choice.includes('|')
          ? choice.slice(choice.indexOf('|') + 1)
          : choice;
    return { id: String(intCell(r.id)), option: textCell(r.optionname), type, value };
  });
}
