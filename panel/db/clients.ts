import { dateCell, datetimeCell, flagCell, intCell, moneyCell, textCell, type Db } from './rows.js';

export interface Currency {
  id: number;
  code: string;
  prefix: string;
  suffix: string;
}

export interface Client {
  id: number;
  uuid: string;
  firstname: string;
  lastname: string;
  companyname: string;
  email: string;
  address1: string;
  address2: string;
  city: string;
  state: string;
  postcode: string;
  country: string;
  phonenumber: string;
  currency: number;
  defaultgateway: string;
  creditMinor: bigint;
  taxexempt: boolean;
  latefeeoveride: boolean;
  overideduenotices: boolean;
  separateinvoices: boolean;
  disableautocc: boolean;
  emailoptout: boolean;
  overrideautoclose: boolean;
  datecreated: string | null;
  notes: string;
  billingcid: number;
  groupid: number;
  status: string;
  language: string;
  /** the last client-area login or ValidateLogin, panel-local 'YYYY-MM-DD HH:mm:ss'; null = never */
  lastlogin: string | null;
  ip: string;
  host: string;
}

export function parseClient(r: Record<string, unknown>): Client {
  return {
    id: intCell(r.id),
    uuid: textCell(r.uuid),
    firstname: textCell(r.firstname),
    lastname: textCell(r.lastname),
    companyname: textCell(r.companyname),
    email: textCell(r.email),
    address1: textCell(r.address1),
    address2: textCell(r.address2),
    city: textCell(r.city),
    state: textCell(r.state),
    postcode: textCell(r.postcode),
    country: textCell(r.country),
    phonenumber: textCell(r.phonenumber),
    currency: intCell(r.currency),
    defaultgateway: textCell(r.defaultgateway),
    creditMinor: moneyCell(r.credit),
    taxexempt: flagCell(r.taxexempt),
    latefeeoveride: flagCell(r.latefeeoveride),
    overideduenotices: flagCell(r.overideduenotices),
    separateinvoices: flagCell(r.separateinvoices),
    disableautocc: flagCell(r.disableautocc),
    emailoptout: flagCell(r.emailoptout),
    overrideautoclose: flagCell(r.overrideautoclose),
    datecreated: dateCell(r.datecreated),
    notes: textCell(r.notes),
    billingcid: intCell(r.billingcid),
    groupid: intCell(r.groupid),
    status: textCell(r.status),
    language: textCell(r.language),
    lastlogin: datetimeCell(r.lastlogin),
    ip: textCell(r.ip),
    host: textCell(r.host),
  };
}

export async function loadClient(db: Db, id: number): Promise<Client | null> {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const row = await db('tblclients').where({ id }).first();
  return row ? parseClient(row) : null;
}

export async function loadCurrency(db: Db, id: number): Promise<Currency> {
  const row =
    (await db('tblcurrencies').where({ id }).first()) ??
    (await db('tblcurrencies').where({ default: 1 }).first());
  if (!row) return { id: 0, code: '', prefix: '', suffix: '' };
  return {
    id: intCell(row.id),
    code: textCell(row.code),
    prefix: textCell(row.prefix),
    suffix: textCell(row.suffix),
  };
}

/** The first-level tax rate that applies to a client (tbltax: the client's country, else any), scale 3. */
export async function clientTaxRates(db: Db, client: Client): Promise<[bigint, bigint]> {
  const enabled = await db('tblconfiguration').where({ setting: 'TaxEnabled' }).first('value');
  if (client.taxexempt || !['on', '1'].includes(textCell(enabled?.value))) return [0n, 0n];
  const rate = async (level: number) => {
    const rows = await db('tbltax')
      .where({ level })
      .whereIn('country', [client.country, ''])
      .orderBy('country', 'desc')
      .select('taxrate');
    return rows[0] ? moneyCell(rows[0].taxrate, 3) : 0n;
  };
  return [await rate(1), await rate(2)];
}

export interface Admin {
  id: number;
  roleid: number;
  username: string;
  firstname: string;
  lastname: string;
  email: string;
  language: string;
  disabled: boolean;
  updatedAt: string | null;
}

export function parseAdmin(r: Record<string, unknown>): Admin {
  return {
    id: intCell(r.id),
    roleid: intCell(r.roleid),
    username: textCell(r.username),
    firstname: textCell(r.firstname),
    lastname: textCell(r.lastname),
    email: textCell(r.email),
    language: textCell(r.language),
    disabled: flagCell(r.disabled),
    updatedAt: datetimeCell(r.updated_at),
  };
}

/** A client signed in (client area or ValidateLogin): WHMCS's lastlogin, ip and host. */
export async function recordClientLogin(
  db: Db,
  clientId: number,
  at: { stamp: string; ip: string; host?: string },
): Promise<void> {
  // no reverse DNS here: the host is the address itself, as gethostbyaddr answers without a PTR record
  await db('tblclients')
    .where({ id: clientId })
    .update({ lastlogin: at.stamp, ip: at.ip.slice(0, 64), host: (at.host ?? at.ip).slice(0, 255) });
}
