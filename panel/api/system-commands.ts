import { isPhpArray } from '../domain/php-params.js';
import { decodeSerializedMap } from '../domain/php-serialize.js';
import { loadClient } from '../db/clients.js';
import { datetimeCell, flagCell, intCell, textCell } from '../db/rows.js';
import { getSetting, hasSetting, setSetting } from '../db/settings.js';
import { SUPPORTED_TYPES, CLIENT_TEMPLATE_TYPES, sendAdminEmail, sendClientEmail } from '../core/emails.js';
import { CommandError, MSG } from '../core/errors.js';
import { ZERO_DATETIME } from '../core/views.js';
import type { Params } from './params.js';
import type { CommandFn } from './registry.js';

/** customvars: base64 serialized array, or a plain array from the local API */
function customVars(p: Params): Record<string, string> | undefined {
  const raw = p.tree.customvars;
  if (raw === undefined || raw === '') return undefined;
  if (isPhpArray(raw)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (isPhpArray(v)) throw new CommandError(MSG.emailBadCustomVars);
      out[k] = v;
    }
    return out;
  }
  const map = decodeSerializedMap(raw);
  if (!map) throw new CommandError(MSG.emailBadCustomVars);
  return map;
}

const REASON_MESSAGE = {
  not_found: MSG.emailTemplateNotFound,
  disabled: MSG.emailTemplateDisabled,
  bad_relid: MSG.emailSendingFailed,
  aborted: MSG.emailSendingFailed,
  unsupported_type: MSG.emailInvalidType,
} as const;

export const SendEmail: CommandFn = async (p, { core, when }) => {
  const messagename = p.text('messagename');
  const customtype = p.text('customtype');
  if (messagename === '' && customtype === '') throw new CommandError(MSG.emailNeedTemplateOrType);
  if (messagename === '') {
    if (!(CLIENT_TEMPLATE_TYPES as readonly string[]).includes(customtype))
      throw new CommandError(MSG.emailInvalidType);
    if (p.text('customsubject').trim() === '') throw new CommandError(MSG.emailSubjectRequired);
    if (p.text('custommessage').trim() === '') throw new CommandError(MSG.emailBodyRequired);
    // domain, support and affiliate emails need records this panel does not have
    if (!(SUPPORTED_TYPES as readonly string[]).includes(customtype))
      throw new CommandError(MSG.emailInvalidType);
  }
  const vars = customVars(p);
  if (!p.given('id')) throw new CommandError(MSG.emailRelatedIdRequired);
  const outcome = await sendClientEmail(
    core,
    {
      ...(messagename !== ''
        ? { messagename }
        : {
            custom: { type: customtype, subject: p.text('customsubject'), message: p.text('custommessage') },
          }),
      relid: p.id('id'),
      ...(vars ? { customvars: vars } : {}),
    },
    when,
  );
  if (!outcome.sent) throw new CommandError(REASON_MESSAGE[outcome.reason]);
  return {};
};

export const SendAdminEmail: CommandFn = async (p, { core, when }) => {
  const messagename = p.text('messagename');
  const merge = p.array('mergefields');
  const mergefields: Record<string, string> = {};
  for (const [k, v] of Object.entries(merge ?? {})) if (!isPhpArray(v)) mergefields[k] = v;
  if (messagename === '' && (p.text('customsubject') === '' || p.text('custommessage') === ''))
    throw new CommandError(MSG.adminTemplateNeeded);
  const outcome = await sendAdminEmail(
    core,
    {
      ...(messagename !== ''
        ? { messagename }
        : { custom: { subject: p.text('customsubject'), message: p.text('custommessage') } }),
      mergefields,
      type: p.text('type', 'system'),
    },
    when,
  );
  if (!outcome.sent)
    throw new CommandError(
      outcome.reason === 'disabled' ? MSG.emailTemplateDisabled : MSG.emailTemplateNotFound,
    );
  return {};
};

export const LogActivity: CommandFn = async (p, { core, actor, when }) => {
  const description = p.text('description').trim();
  if (description === '') throw new CommandError(MSG.descriptionRequired);
  // 8.0 renamed userid to clientid; both are read
  const userid = p.given('clientid') ? p.id('clientid') : p.id('userid');
  // WHMCS records who called: the API credential's admin, or System for the local API
  const admin =
    actor.user === 'system'
      ? undefined
      : await core.knex('tbladmins').where({ id: actor.user }).first('username');
  await core.activity(
    {
      description,
      userid,
      user: admin ? textCell(admin.username) : 'System',
      ...(actor.ip ? { ipaddr: actor.ip } : {}),
    },
    when,
  );
  return {};
};

export const GetConfigurationValue: CommandFn = async (p, { core }) => {
  const setting = p.text('setting').trim();
  if (setting === '') throw new CommandError(MSG.settingRequired);
  if (!(await hasSetting(core.knex, setting))) throw new CommandError(MSG.settingInvalid);
  return { setting, value: await getSetting(core.knex, setting) };
};

export const SetConfigurationValue: CommandFn = async (p, { core, when }) => {
  const setting = p.text('setting').trim();
  if (setting === '') throw new CommandError(MSG.settingRequired);
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(setting)) throw new CommandError(MSG.settingInvalid);
  await setSetting(core.knex, setting, p.text('value'), when.now, core.zone);
  return {};
};

export const GetActivityLog: CommandFn = async (p, { core }) => {
  const limitstart = p.int('limitstart') ?? 0;
  const limitnum = p.int('limitnum') ?? 25;
  let q = core.knex('tblactivitylog');
  if (p.given('userid')) q = q.where({ userid: p.id('userid') });
  if (p.given('description')) q = q.where('description', 'like', `%${p.text('description')}%`);
  const total = intCell((await q.clone().count({ n: '*' }))[0]?.n);
  const rows = await q.orderBy('id', 'desc').offset(limitstart).limit(limitnum);
  return {
    totalresults: String(total),
    startnumber: String(limitstart),
    activity: {
      entry: rows.map((r) => ({
        id: String(intCell(r.id)),
        userid: String(intCell(r.userid)),
        date: datetimeCell(r.date) ?? ZERO_DATETIME,
        description: textCell(r.description),
        username: textCell(r.user),
        ipaddress: textCell(r.ipaddr),
      })),
    },
  };
};

export const GetEmails: CommandFn = async (p, { core }) => {
  const client = await loadClient(core.knex, p.id('clientid'));
  if (!client) throw new CommandError(MSG.clientIdNotFound);
  const limitstart = p.int('limitstart') ?? 0;
  const limitnum = p.int('limitnum') ?? 25;
  let q = core.knex('tblemails').where({ userid: client.id });
  if (p.given('subject')) q = q.where('subject', 'like', `%${p.text('subject')}%`);
  const date = p.date('date');
  if (date) q = q.where('date', '>=', `${date} 00:00:00`).where('date', '<=', `${date} 23:59:59`);
  const total = intCell((await q.clone().count({ n: '*' }))[0]?.n);
  const rows = await q.orderBy('id', 'asc').offset(limitstart).limit(limitnum);
  return {
    totalresults: String(total),
    startnumber: String(limitstart),
    numreturned: String(rows.length),
    emails: {
      email: rows.map((r) => ({
        id: String(intCell(r.id)),
        userid: String(intCell(r.userid)),
        subject: textCell(r.subject),
        message: textCell(r.message),
        date: datetimeCell(r.date) ?? ZERO_DATETIME,
        to: textCell(r.to),
        cc: textCell(r.cc),
        bcc: textCell(r.bcc),
      })),
    },
  };
};

/**
 * GetAdminUsers (WHMCS 8: developers.whmcs.com/api-reference/getadminusers): `admin_users` with
 * each admin's id, roleId, username, names, email and isDisabled; disabled admins only with
 * include_disabled; `roleid` and `email` (partial) filter. Never the password hash.
 */
export const GetAdminUsers: CommandFn = async (p, { core }) => {
  const q = core.knex('tbladmins').orderBy('id');
  if (!p.bool('include_disabled')) q.where((w) => w.where('disabled', 0).orWhereNull('disabled'));
  if (p.given('roleid')) q.where('roleid', p.id('roleid'));
  const email = p.text('email').trim();
  if (email !== '') q.whereRaw(`email LIKE ? ESCAPE '!'`, [`%${email.replace(/[!%_]/g, (c) => `!${c}`)}%`]);
  const rows = await q;
  const admin_users = rows.map((r: Record<string, unknown>) => ({
    id: intCell(r.id),
    uuid: textCell(r.uuid),
    roleId: intCell(r.roleid),
    username: textCell(r.username),
    firstname: textCell(r.firstname),
    lastname: textCell(r.lastname),
    email: textCell(r.email),
    language: textCell(r.language),
    isDisabled: flagCell(r.disabled),
  }));
  return { count: admin_users.length, admin_users };
};
