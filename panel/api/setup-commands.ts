/**
 * The commands WHMCS's own scripts use to set up a client and a product: AddClient and
 * AddProduct. Every check runs before the first write, and the writes are one transaction, so a
 * refused call leaves nothing behind.
 */
import crypto from 'node:crypto';
import { intCell, sqlLocalDatetime, sqlMoney, textCell } from '../db/rows.js';
import { isPhpArray, type PhpArray } from '../domain/php-params.js';
import { CommandError, MSG } from '../core/errors.js';
import { sendClientEmail } from '../core/emails.js';
import { hashClientPassword } from '../web/passwords.js';
import { parseMoneyText, type Params } from './params.js';
import type { CommandFn } from './registry.js';

// A pragmatic address check (what WHMCS's own validation amounts to): one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The required fields in WHMCS's order, with its messages word for word
 * (developers.whmcs.com/api-reference/addclient/, "Error Responses" — the double space too).
 */
const CLIENT_REQUIRED: ReadonlyArray<readonly [string, string]> = [
  ['firstname', 'You did not enter your first name'],
  ['lastname', 'You did not enter your last name'],
  ['email', 'You did not enter your email address'],
  ['address1', 'You did not enter your  address line 1'],
  ['city', 'You did not enter your city'],
  ['state', 'You did not enter your state'],
  ['postcode', 'You did not enter your postcode'],
  ['country', 'You did not enter your country'],
  ['phonenumber', 'You did not enter your phone number'],
];

const CLIENT_TEXT = [
  'firstname',
  'lastname',
  'companyname',
  'email',
  'address1',
  'address2',
  'city',
  'state',
  'postcode',
  'country',
  'phonenumber',
] as const;

function checkClientFields(p: Params): void {
  const skip = p.bool('skipvalidation');
  for (const [field, message] of CLIENT_REQUIRED) {
    // the email address is always required: it is how the client logs in
    if ((!skip || field === 'email') && p.text(field).trim() === '') throw new CommandError(message);
    if (field === 'email' && !EMAIL.test(p.text('email').trim()))
      throw new CommandError('The email address you entered was not valid');
  }
  const country = p.text('country').trim();
  if (country !== '' && !/^[A-Za-z]{2}$/.test(country)) throw new CommandError(MSG.invalidCountry);
  const phone = p.text('phonenumber').trim();
  if (phone !== '' && !/^\+?[\d\s().-]{4,30}$/.test(phone))
    throw new CommandError('Invalid telephone phone number');
}

/**
 * AddClient (developers.whmcs.com/api-reference/addclient/): a client with the address and the
 * login password (`password2`, stored as the client area's hash), the currency (default: the
 * default currency), language, group, admin notes; the "Client Signup Email" unless `noemail`.
 * Out: `clientid` (a string, as WHMCS's example answers). A second client with the same email
 * address is refused, as WHMCS 7 words it.
 */
export const AddClient: CommandFn = async (p, { core, when }) => {
  const db = core.knex;
  checkClientFields(p);
  const email = p.text('email').trim();
  if (await db('tblclients').whereRaw('lower(email) = ?', [email.toLowerCase()]).first('id'))
    throw new CommandError(MSG.clientEmailExists);
  let currency: number;
  if (p.given('currency')) {
    currency = p.id('currency');
    if (!(await db('tblcurrencies').where({ id: currency }).first('id')))
      throw new CommandError(MSG.invalidCurrency);
  } else
    currency = intCell(
      (
        await db('tblcurrencies')
          .orderBy([{ column: 'default', order: 'desc' }, 'id'])
          .first('id')
      )?.id ?? 1,
    );
  const groupid = p.given('groupid') ? p.id('groupid') : 0;
  const password = p.text('password2');
  const hash = password === '' ? '' : await hashClientPassword(password);
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const row: Record<string, unknown> = {
    uuid: crypto.randomUUID(),
    currency,
    groupid,
    password: hash,
    language: p.text('language').trim().toLowerCase(),
    notes: p.text('notes'),
    datecreated: when.today,
    status: 'Active',
    created_at: stamp,
    updated_at: stamp,
  };
  for (const f of CLIENT_TEXT) row[f] = p.text(f).trim();
  row.country = textCell(row.country).toUpperCase();
  row.email = email;
  const [id] = await db('tblclients').insert(row);
  const clientId = intCell(id);
  await core.activity(
    {
      description: `Created Client ${textCell(row.firstname)} ${textCell(row.lastname)} - User ID: ${clientId}`,
      userid: clientId,
      ...(p.given('clientip') ? { ipaddr: p.text('clientip') } : {}),
    },
    when,
  );
  await core.hooks.run('ClientAdd', {
    userid: clientId,
    client_id: clientId,
    firstname: row.firstname,
    lastname: row.lastname,
    companyname: row.companyname,
    email,
    country: row.country,
    currency,
    groupid,
  });
  if (!p.bool('noemail'))
    await sendClientEmail(core, { messagename: 'Client Signup Email', relid: clientId }, when);
  return { clientid: String(clientId) };
};

const PRODUCT_TYPES = ['hostingaccount', 'reselleraccount', 'server', 'other'];
const PAY_TYPES = ['free', 'onetime', 'recurring'];
const AUTOSETUP = ['', 'on', 'order', 'payment'];
/** tblpricing's columns, as AddProduct's pricing[currency][cycle] names them */
export const PRICING_COLUMNS = [
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
] as const;

/** pricing[currencyid][cycle] → one tblpricing row per currency; a cycle left out is not offered (-1.00). */
async function pricingRows(
  p: Params,
  currencyExists: (id: number) => Promise<boolean>,
): Promise<Array<Record<string, string | number>>> {
  const pricing = p.array('pricing');
  if (pricing === undefined) return [];
  const rows: Array<Record<string, string | number>> = [];
  for (const [cur, cycles] of Object.entries(pricing)) {
    const currency = /^\d{1,9}$/.test(cur) ? Number(cur) : 0;
    if (!isPhpArray(cycles) || !(await currencyExists(currency)))
      throw new CommandError(MSG.invalidPricing(cur));
    const row: Record<string, string | number> = { type: 'product', currency };
    for (const [col, value] of Object.entries(cycles as PhpArray)) {
      if (!(PRICING_COLUMNS as readonly string[]).includes(col))
        throw new CommandError(MSG.invalidPricing(`${cur}][${col}`));
      const minor = parseMoneyText(value);
      if (minor < 0n && !(minor === -100n && !col.endsWith('setupfee')))
        throw new CommandError(MSG.amountNegative);
      row[col] = sqlMoney(minor);
    }
    rows.push(row);
  }
  return rows;
}

/**
 * AddProduct (developers.whmcs.com/api-reference/addproduct/): `name` and `gid` (an existing
 * group) required; `type` (default 'other'), `paytype` (default 'recurring'), `hidden`, `tax`,
 * `description`, `autosetup`, `welcomeemail` (a product email template), `module` (the
 * provisioning module, tblproducts.servertype), `configoption1`…`24`, and
 * `pricing[currencyid][monthly|msetupfee|…]`. Out: `pid`.
 */
export const AddProduct: CommandFn = async (p, { core, when }) => {
  const db = core.knex;
  const name = p.text('name').trim();
  if (name === '') throw new CommandError('You must supply a name for the product');
  const gid = p.id('gid');
  if (gid <= 0 || !(await db('tblproductgroups').where({ id: gid }).first('id')))
    throw new CommandError('You must supply a valid Product Group ID');
  const welcomeemail = p.given('welcomeemail') ? p.id('welcomeemail') : 0;
  if (
    p.given('welcomeemail') &&
    !(await db('tblemailtemplates').where({ id: welcomeemail, type: 'product' }).first('id'))
  )
    throw new CommandError('You must supply a valid welcome email ID');
  const type = p.given('type') ? p.text('type').trim().toLowerCase() : 'other';
  if (!PRODUCT_TYPES.includes(type))
    throw new CommandError(
      'Invalid product type. Must be one of "hostingaccount", "reselleraccount", "server" or "other"',
    );
  const paytype = p.given('paytype') ? p.text('paytype').trim().toLowerCase() : 'recurring';
  if (!PAY_TYPES.includes(paytype))
    throw new CommandError('Invalid pay type. Must be one of "free", "onetime" or "recurring"');
  const autosetup = p.text('autosetup').trim().toLowerCase();
  if (!AUTOSETUP.includes(autosetup))
    throw new CommandError('Invalid autosetup value. Must be one of "", "on", "order" or "payment"');
  const prices = await pricingRows(
    p,
    async (id) => id > 0 && !!(await db('tblcurrencies').where({ id }).first('id')),
  );
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const row: Record<string, unknown> = {
    name,
    gid,
    type,
    paytype,
    autosetup,
    welcomeemail,
    hidden: p.bool('hidden') ? 1 : 0,
    tax: p.bool('tax') ? 1 : 0,
    description: p.text('description'),
    servertype: p.text('module').trim(),
    created_at: stamp,
    updated_at: stamp,
  };
  for (let i = 1; i <= 24; i++)
    if (p.has(`configoption${i}`)) row[`configoption${i}`] = p.text(`configoption${i}`);
  const pid = await db.transaction(async (trx) => {
    const [id] = await trx('tblproducts').insert(row);
    const productId = intCell(id);
    for (const r of prices) await trx('tblpricing').insert({ ...r, relid: productId });
    return productId;
  });
  await core.activity({ description: `Product Created - ${name} - Product ID: ${pid}` }, when);
  return { pid };
};
