import {
  SERVICE_STATUSES,
  loadProduct,
  loadService,
  serviceCustomFields,
  serviceConfigOptions,
  type ServiceStatus,
} from '../db/services.js';
import crypto from 'node:crypto';
import { loadClient, loadCurrency, recordClientLogin, type Client } from '../db/clients.js';
import { getSetting } from '../db/settings.js';
import { checkClientLogin } from '../core/client-login.js';
import { countryName, lastLoginText, phoneParts } from '../domain/client-details.js';
import { intCell, sqlLocalDatetime, sqlMoney, textCell, type Db } from '../db/rows.js';
import { parseBillingCycle } from '../domain/billing-cycle.js';
import { isPhpArray } from '../domain/php-params.js';
import { decodeSerializedMap } from '../domain/php-serialize.js';
import { clientStats } from '../core/billing.js';
import { CommandError, MSG } from '../core/errors.js';
import { suspendService, unsuspendService } from '../core/services.js';
import { clientView, serviceView } from '../core/views.js';
import type { Params } from './params.js';
import type { CommandFn } from './registry.js';

export const GetClientsDetails: CommandFn = async (p, { core, when }) => {
  const db = core.knex;
  let id = 0;
  if (p.given('clientid')) id = p.id('clientid');
  else if (p.given('email')) {
    const row = await db('tblclients')
      .where({ email: p.text('email') })
      .first('id');
    id = row ? intCell(row.id) : 0;
  } else throw new CommandError(MSG.clientIdOrEmail);
  const client = await loadClient(db, id);
  if (!client) throw new CommandError(MSG.clientNotFound);
  const out: Record<string, unknown> = {
    client: {
      ...clientView(client, await loadCurrency(db, client.currency)),
      ...(await contactFields(db, client)),
    },
  };
  if (p.bool('stats')) out.stats = await clientStats(db, client.id, when.today);
  return out;
};

/**
 * The fields WHMCS derives for the client block (https://developers.whmcs.com/api-reference/getclientsdetails/):
 * statecode (the state as stored: the reference panel keeps no per-country state lists),
 * countryname, phonecc, phonenumberformatted and telephoneNumber ("+32.470123456"), lastlogin.
 */
async function contactFields(db: Db, c: Client): Promise<Record<string, string>> {
  const phone = phoneParts(c.phonenumber, c.country);
  return {
    statecode: c.state,
    countryname: countryName(c.country),
    phonecc: phone.phonecc,
    phonenumberformatted: phone.formatted,
    telephoneNumber: phone.formatted,
    lastlogin: lastLoginText(c.lastlogin, c.ip, c.host, await getSetting(db, 'DateFormat')),
  };
}

export const GetClientsProducts: CommandFn = async (p, { core }) => {
  const db = core.knex;
  const limitstart = p.int('limitstart') ?? 0;
  const limitnum = p.int('limitnum') ?? 25;
  let q = db('tblhosting');
  // a filter that is given but not a valid id matches nothing (rather than PHP's "no filter")
  if (p.given('clientid')) q = q.where({ userid: p.id('clientid') });
  if (p.given('serviceid')) q = q.where({ id: p.id('serviceid') });
  if (p.given('pid')) q = q.where({ packageid: p.id('pid') });
  if (p.given('domain')) q = q.where({ domain: p.text('domain') });
  if (p.given('username2')) q = q.where({ username: p.text('username2') });
  const total = intCell((await q.clone().count({ n: '*' }))[0]?.n);
  const rows = await q.orderBy('id').offset(limitstart).limit(limitnum).select('id');
  const products = [];
  for (const r of rows) {
    const svc = (await loadService(db, intCell(r.id)))!;
    const product = await loadProduct(db, svc.packageid);
    const server = svc.server > 0 ? await db('tblservers').where({ id: svc.server }).first() : undefined;
    products.push(
      serviceView(
        svc,
        product,
        server
          ? {
              name: textCell(server.name),
              ipaddress: textCell(server.ipaddress),
              hostname: textCell(server.hostname),
            }
          : null,
        await serviceCustomFields(db, svc),
        await serviceConfigOptions(db, svc.id),
      ),
    );
  }
  // as WHMCS's own example: the filters echoed back (null when not given), counts partly as numbers
  return {
    clientid: p.given('clientid') ? p.text('clientid') : null,
    serviceid: p.given('serviceid') ? p.text('serviceid') : null,
    pid: p.given('pid') ? p.text('pid') : null,
    domain: p.given('domain') ? p.text('domain') : null,
    totalresults: String(total),
    startnumber: limitstart,
    numreturned: products.length,
    products: { product: products },
  };
};

function overrideFlag(v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['on', '1', 'true', 'yes'].includes(s)) return true;
  if (['off', '0', 'false', 'no', ''].includes(s)) return false;
  throw new CommandError(MSG.badOverride);
}

/** customfields: base64 serialized array (fieldid → value), or a plain array from the local API */
function customFieldValues(p: Params): Record<string, string> | undefined {
  const raw = p.tree.customfields;
  if (raw === undefined) return undefined;
  if (isPhpArray(raw)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (isPhpArray(v)) throw new CommandError(MSG.notAnArray('customfields'));
      out[k] = v;
    }
    return out;
  }
  const map = decodeSerializedMap(raw);
  if (!map) throw new CommandError('Invalid customfields: a base64 encoded serialized array is expected');
  return map;
}

const UNSETTABLE = [
  'domain',
  'serviceusername',
  'servicepassword',
  'subscriptionid',
  'ns1',
  'ns2',
  'dedicatedip',
  'assignedips',
  'notes',
  'suspendreason',
];
const UNSET_COLUMN: Record<string, string> = { serviceusername: 'username', servicepassword: 'password' };

export const UpdateClientProduct: CommandFn = async (p, { core, when }) => {
  const db = core.knex;
  const svc = await loadService(db, p.id('serviceid'));
  if (!svc) throw new CommandError(MSG.serviceIdNotFound);
  const stamp = sqlLocalDatetime(when.now, core.zone);
  const row: Record<string, unknown> = {};

  // read and check everything first: a bad value refuses the whole call
  if (p.given('pid')) row.packageid = p.id('pid');
  if (p.given('serverid')) row.server = p.id('serverid');
  const regdate = p.date('regdate');
  if (regdate) row.regdate = regdate;
  const nextduedate = p.date('nextduedate');
  // WHMCS moves the next invoice date with the next due date
  if (nextduedate) Object.assign(row, { nextduedate, nextinvoicedate: nextduedate });
  const termination = p.date('terminationDate') ?? p.date('terminationdate');
  if (termination) row.termination_date = termination;
  const completed = p.date('completedDate') ?? p.date('completeddate');
  if (completed) row.completed_date = completed;
  for (const [param, column] of [
    ['domain', 'domain'],
    ['paymentmethod', 'paymentmethod'],
    ['subscriptionid', 'subscriptionid'],
    ['notes', 'notes'],
    ['serviceusername', 'username'],
    ['servicepassword', 'password'],
    ['ns1', 'ns1'],
    ['ns2', 'ns2'],
    ['dedicatedip', 'dedicatedip'],
    ['assignedips', 'assignedips'],
    ['suspendreason', 'suspendreason'],
  ] as const) {
    if (p.has(param)) row[column] = p.text(param);
  }
  const first = p.money('firstpaymentamount');
  if (first !== undefined) row.firstpaymentamount = sqlMoney(first);
  const recurring = p.money('recurringamount');
  if (recurring !== undefined) row.amount = sqlMoney(recurring);
  if (p.given('billingcycle')) {
    const cycle = parseBillingCycle(p.text('billingcycle'));
    if (!cycle) throw new CommandError(MSG.invalidCycle(p.text('billingcycle')));
    row.billingcycle = cycle;
  }
  if (p.given('status')) {
    const status = p.text('status');
    if (!(SERVICE_STATUSES as readonly string[]).includes(status))
      throw new CommandError(MSG.invalidStatus(status));
    row.domainstatus = status as ServiceStatus;
  }
  if (p.has('overideautosuspend'))
    row.overideautosuspend = overrideFlag(p.text('overideautosuspend')) ? 1 : 0;
  if (p.has('overidesuspenduntil')) {
    const v = p.text('overidesuspenduntil').trim();
    row.overidesuspenduntil = v === '' || v === '0000-00-00' ? null : p.date('overidesuspenduntil');
  }
  let usageChanged = false;
  for (const col of ['diskusage', 'disklimit', 'bwusage', 'bwlimit'] as const) {
    const v = p.int(col);
    if (v !== undefined) {
      if (v > 2_147_483_647) throw new CommandError(MSG.integerRequired(col));
      row[col] = v;
      usageChanged = true;
    }
  }
  // the last usage import: set when the usage figures are written (as WHMCS's UsageUpdate does)
  if (usageChanged) row.lastupdate = stamp;
  if (p.given('promoid')) row.promoid = p.id('promoid');
  const unset = p.list('unset');
  if (unset) {
    for (const v of Object.values(unset)) {
      if (isPhpArray(v) || !UNSETTABLE.includes(v)) continue;
      row[UNSET_COLUMN[v] ?? v] = '';
    }
  }
  const fields = customFieldValues(p);
  const productFieldIds = fields
    ? new Set(
        (
          await db('tblcustomfields')
            .where({ type: 'product', relid: row.packageid ?? svc.packageid })
            .select('id')
        ).map((f) => intCell(f.id)),
      )
    : new Set<number>();

  await db.transaction(async (trx) => {
    if (Object.keys(row).length > 0)
      await trx('tblhosting')
        .where({ id: svc.id })
        .update({ ...row, updated_at: stamp });
    for (const [k, value] of Object.entries(fields ?? {})) {
      const fieldid = /^\d+$/.test(k) ? Number(k) : 0;
      // like WHMCS, ids that are not the product's custom fields are ignored
      if (!productFieldIds.has(fieldid)) continue;
      await trx('tblcustomfieldsvalues')
        .insert({ fieldid, relid: svc.id, value, created_at: stamp, updated_at: stamp })
        .onConflict(['fieldid', 'relid'])
        .merge({ value, updated_at: stamp });
    }
  });
  await core.activity(
    { description: `Modified Product/Service - Service ID: ${svc.id}`, userid: svc.userid },
    when,
  );
  return { serviceid: String(svc.id) };
};

const moduleServiceId = (p: Params): number => (p.given('serviceid') ? p.id('serviceid') : p.id('accountid'));

export const ModuleSuspend: CommandFn = async (p, { core, when }) => {
  if (!p.given('serviceid') && !p.given('accountid')) throw new CommandError(MSG.serviceIdRequired);
  const outcome = await suspendService(
    core,
    moduleServiceId(p),
    { suspendreason: p.text('suspendreason'), requireModule: true },
    when,
  );
  if (!outcome.ok) throw new CommandError(outcome.message);
  return {};
};

export const ModuleUnsuspend: CommandFn = async (p, { core, when }) => {
  if (!p.given('serviceid') && !p.given('accountid')) throw new CommandError(MSG.serviceIdRequired);
  const outcome = await unsuspendService(core, moduleServiceId(p), { requireModule: true }, when);
  if (!outcome.ok) throw new CommandError(outcome.message);
  return {};
};

/**
 * ValidateLogin (https://developers.whmcs.com/api-reference/validatelogin/): `email` + `password2`
 * against the client-area password. On success `userid`, `passwordhash` (a fresh session token;
 * the reference panel offers no remote sign-in with it) and `twoFactorEnabled` (false: no 2FA
 * here), and the client's last login is updated, as WHMCS documents. Every refusal is the same
 * message and costs one password check, so the answer does not tell which part was wrong.
 *
 * Lockout (core/client-login.ts, shared with the client area's login page): 3 wrong passwords for
 * one email address, here or on dologin.php, lock that address on both for InvalidLoginBanLength
 * minutes (15; 0 switches it off), the right password included, whatever the caller's address —
 * the caller is the provider's own integration, whose address a ban would take from every client.
 * Made-up addresses lock the same way, so the answer tells nothing about which exist. The start of
 * each lock is in the activity log.
 */
export const ValidateLogin: CommandFn = async (p, { core, actor, when }) => {
  const outcome = await checkClientLogin(
    core,
    { email: p.text('email'), password: p.text('password2'), surface: 'ValidateLogin', ip: actor.ip ?? '' },
    when,
  );
  if (!outcome.ok)
    throw new CommandError(
      outcome.lockedMs > 0 ? MSG.tooManyAttempts(Math.ceil(outcome.lockedMs / 1000)) : MSG.loginInvalid,
    );
  await recordClientLogin(core.knex, outcome.clientId, {
    stamp: sqlLocalDatetime(when.now, core.zone),
    ip: actor.ip ?? '',
  });
  return {
    userid: outcome.clientId,
    passwordhash: crypto.randomBytes(20).toString('hex'),
    twoFactorEnabled: false,
  };
};
