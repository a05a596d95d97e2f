/**
 * Module commands on a service (suspend, unsuspend) the way WHMCS runs them: build the module
 * params, fire PreModule* (a handler may override params or answer `abortcmd`), call the product's
 * server module, then record the new status and fire AfterModule* / AfterModule*Failed.
 */
import { loadClient } from '../db/clients.js';
import { sqlLocalDatetime, type Db } from '../db/rows.js';
import { loadProduct, loadService, serviceCustomFields, type Service } from '../db/services.js';
import type { PanelCore, When } from './context.js';
import type { ModuleParams } from './server-modules.js';

/** WHMCS's reason for a suspension by the cron; only this one (or none) is lifted automatically. */
export const OVERDUE_REASON = 'Overdue on Payment';

export const ABORTED_BY_HOOK = 'Function Aborted by Action Hook Code';

export type ModuleCommandOutcome =
  { ok: true; params: ModuleParams } | { ok: false; aborted: boolean; message: string };

/** The common module params WHMCS passes to a provisioning module and to PreModule* hooks. */
export async function moduleParams(db: Db, svc: Service): Promise<ModuleParams> {
  const product = await loadProduct(db, svc.packageid);
  const client = await loadClient(db, svc.userid);
  const server = svc.server > 0 ? await db('tblservers').where({ id: svc.server }).first() : undefined;
  const fields = await serviceCustomFields(db, svc);
  const params: ModuleParams = {
    accountid: svc.id,
    serviceid: svc.id,
    userid: svc.userid,
    pid: svc.packageid,
    packageid: svc.packageid,
    serverid: svc.server,
    domain: svc.domain,
    username: svc.username,
    password: '',
    moduletype: product?.servertype ?? '',
    producttype: product?.type ?? '',
    status: svc.domainstatus,
    configoptions: {},
    customfields: Object.fromEntries(fields.map((f) => [f.name, f.value])),
    clientsdetails: client
      ? {
          userid: client.id,
          id: client.id,
          firstname: client.firstname,
          lastname: client.lastname,
          fullname: `${client.firstname} ${client.lastname}`.trim(),
          companyname: client.companyname,
          email: client.email,
          language: client.language,
          status: client.status,
        }
      : {},
    serverip: server ? String(server.ipaddress ?? '') : '',
    serverhostname: server ? String(server.hostname ?? '') : '',
    serverusername: server ? String(server.username ?? '') : '',
    serversecure: server ? String(server.secure ?? '') === 'on' : false,
  };
  product?.configoptions.forEach((v, i) => {
    params[`configoption${i + 1}`] = v;
  });
  return params;
}

type Command = 'Suspend' | 'Unsuspend';

async function runModuleCommand(
  core: PanelCore,
  command: Command,
  serviceId: number,
  opts: { suspendreason?: string; requireModule: boolean },
  when: When,
): Promise<ModuleCommandOutcome> {
  const db = core.knex;
  const svc = await loadService(db, serviceId);
  if (!svc) return { ok: false, aborted: false, message: 'Service ID not found' };
  const product = await loadProduct(db, svc.packageid);
  const servertype = product?.servertype ?? '';
  if (opts.requireModule && servertype === '')
    return { ok: false, aborted: false, message: 'Service not assigned to a module' };

  let params = await moduleParams(db, svc);
  if (command === 'Suspend') params.suspendreason = opts.suspendreason ?? '';
  const pre = await core.hooks.run(`PreModule${command}`, { params });
  if (pre.merged.abortcmd === true) {
    await core.activity(
      {
        description: `Module ${command} Aborted by Action Hook Code - Service ID: ${svc.id}`,
        userid: svc.userid,
      },
      when,
    );
    return { ok: false, aborted: true, message: ABORTED_BY_HOOK };
  }
  const { abortcmd: _a, ...overrides } = pre.merged;
  params = { ...params, ...overrides };

  const mod = core.servers.get(servertype);
  const fn = command === 'Suspend' ? mod.suspend : mod.unsuspend;
  let answer: string;
  try {
    answer = fn ? String(await fn(params)) : 'success';
  } catch (err) {
    answer = err instanceof Error ? err.message : String(err);
  }
  if (answer !== 'success') {
    await core.activity(
      {
        description: `Module ${command} Failed - Service ID: ${svc.id} - Error: ${answer}`,
        userid: svc.userid,
      },
      when,
    );
    await core.hooks.run(`AfterModule${command}Failed`, { params, failureResponseMessage: answer });
    return { ok: false, aborted: false, message: answer || 'An unknown error occurred' };
  }
  const reason = command === 'Suspend' ? String(params.suspendreason ?? '') : '';
  await db('tblhosting')
    .where({ id: svc.id })
    .update({
      domainstatus: command === 'Suspend' ? 'Suspended' : 'Active',
      suspendreason: reason,
      updated_at: sqlLocalDatetime(when.now, core.zone),
    });
  await core.activity(
    { description: `Module ${command} Successful - Service ID: ${svc.id}`, userid: svc.userid },
    when,
  );
  await core.hooks.run(`AfterModule${command}`, { params });
  return { ok: true, params };
}

export const suspendService = (
  core: PanelCore,
  serviceId: number,
  opts: { suspendreason?: string; requireModule: boolean },
  when: When = core.when(),
) => runModuleCommand(core, 'Suspend', serviceId, opts, when);

export const unsuspendService = (
  core: PanelCore,
  serviceId: number,
  opts: { requireModule: boolean },
  when: When = core.when(),
) => runModuleCommand(core, 'Unsuspend', serviceId, opts, when);
