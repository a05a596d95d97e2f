/**
 * `overusage panel …`: the reference panel's own commands, on any panel database (`--db`,
 * OVERUSAGE_DB) — its API credentials, clients, products and services (thin wrappers over the
 * panel's API commands, so a provider builds a scenario without code), and the daily cron.
 */
import { Option, type Command } from 'commander';
import { DateTime } from 'luxon';
import { ModuleError, type ErrorCode } from '../module/domain/errors.js';
import { parseIsoDate, type IsoDate } from '../module/domain/calendar.js';
import { ManualClock } from '../module/adapters/clocks.js';
import { createLogger } from '../module/adapters/logger.js';
import { base64PhpSerialize, toFormPairs, type PanelParams } from '../module/adapters/panel-api.js';
import { parsePhpPairs } from '../panel/domain/php-params.js';
import { createApiCredential } from '../panel/auth.js';
import { addProductCustomField, addProductGroup } from '../panel/records.js';
import { MSG } from '../panel/core/errors.js';
import { intCell, sqlLocalDatetime, textCell } from '../panel/db/rows.js';
import { loadConfig, type AppConfig } from './config.js';
import type { PanelHost } from './panel-host.js';
import type { CommandContext } from './main.js';

interface Globals {
  db?: string;
  zone?: string;
  demo?: boolean;
}

/** A refusal of the panel's API as the CLI's error: "… Not Found" exits 3, a duplicate 4, the rest 2. */
export function codeForPanelMessage(message: string): ErrorCode {
  if (message === MSG.internal) return 'UNEXPECTED_STATE';
  if (/not found/i.test(message)) return 'NOT_FOUND';
  if (/already exists/i.test(message)) return 'CONFLICT';
  return 'INVALID_INPUT';
}

async function execute(
  host: PanelHost,
  action: string,
  params: PanelParams,
): Promise<Record<string, unknown>> {
  const envelope = await host.panel.commands.execute(action, parsePhpPairs(toFormPairs(params)), {
    source: 'localapi',
    user: 'system',
  });
  if (envelope.result === 'error')
    throw new ModuleError(codeForPanelMessage(envelope.message), `${action}: ${envelope.message}`);
  return envelope;
}

/** '--price monthly=19.95' → ['monthly', '19.95'] */
function pairsOf(values: string[] | undefined, what: string): Array<[string, string]> {
  return (values ?? []).map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new ModuleError('INVALID_INPUT', `${what} takes NAME=VALUE, not "${v}"`);
    return [v.slice(0, eq).trim(), v.slice(eq + 1)];
  });
}

export function registerPanelCommands(panelCmd: Command, ctx: CommandContext, globals: () => Globals): void {
  const config = (): AppConfig =>
    loadConfig(ctx.io.env, {
      ...(globals().db ? { databaseUrl: globals().db! } : {}),
      ...(globals().zone ? { zone: globals().zone! } : {}),
    });
  const quietLog = (c: AppConfig) => createLogger({ level: c.logLevel === 'info' ? 'warn' : c.logLevel });
  /** the panel at 09:00 (panel time) of --date, or now */
  async function withHost<T>(
    date: string | undefined,
    work: (host: PanelHost, clock: ManualClock) => Promise<T>,
  ): Promise<T> {
    const c = config();
    const day = date === undefined ? undefined : parseIsoDate(date, '--date');
    const clock = new ManualClock(
      day ? DateTime.fromISO(`${day}T09:00:00`, { zone: c.zone }).toUTC().toISO()! : DateTime.utc().toISO()!,
    );
    const { openPanelHost } = await import('./panel-host.js');
    const host = await openPanelHost(c, { clock, log: quietLog(c) });
    try {
      return await work(host, clock);
    } finally {
      await host.close();
    }
  }
  const dateOption = () =>
    new Option('--date <YYYY-MM-DD>', 'the day it happens on (default today), at 09:00 panel time');

  const cred = panelCmd
    .command('api-credential')
    .description('API credentials for /includes/api.php (WHMCS: Setup › Staff › Manage API Credentials)');
  cred
    .command('create')
    .description(
      'a new identifier and secret for an admin; the secret is printed once and only its hash is kept',
    )
    .requiredOption('--admin <username>', 'the admin the credential acts as (tbladmins.username)')
    .option('--description <text>', 'what the credential is for', '')
    .action(async (o: { admin: string; description: string }) => {
      await withHost(undefined, async (host, clock) => {
        const admin = await host.db.knex('tbladmins').where({ username: o.admin }).first('id', 'disabled');
        if (!admin) throw new ModuleError('NOT_FOUND', `there is no admin "${o.admin}" in this panel`);
        if (intCell(admin.disabled) === 1)
          throw new ModuleError('NOT_ALLOWED', `the admin "${o.admin}" is disabled`);
        const c = await createApiCredential(
          host.db.knex,
          { adminId: intCell(admin.id), description: o.description.slice(0, 255) },
          clock.now(),
          host.panel.zone,
        );
        await host.panel.core.activity({
          description: `API Credential Created - Identifier: ${c.identifier} - Admin: ${o.admin}`,
        });
        ctx.print(
          `identifier: ${c.identifier}\nsecret:     ${c.secret}\n(the secret is shown this once: keep it now)`,
          { identifier: c.identifier, secret: c.secret, admin: o.admin },
        );
      });
    });
  cred
    .command('revoke')
    .description('revoke a credential: calls with it are refused from now on')
    .requiredOption('--identifier <id>', 'the identifier to revoke')
    .action(async (o: { identifier: string }) => {
      await withHost(undefined, async (host, clock) => {
        const n = await host.db
          .knex('tbldeviceauth')
          .where({ identifier: o.identifier })
          .whereNull('deleted_at')
          .update({ deleted_at: sqlLocalDatetime(clock.now(), host.panel.zone) });
        if (n === 0)
          throw new ModuleError('NOT_FOUND', `there is no active API credential "${o.identifier}"`);
        await host.panel.core.activity({
          description: `API Credential Revoked - Identifier: ${o.identifier}`,
        });
        ctx.print(`revoked ${o.identifier}`, { revoked: o.identifier });
      });
    });

  const client = panelCmd.command('client').description("the panel's clients");
  client
    .command('add')
    .description('add a client (AddClient; the address is optional here, as with its skipvalidation)')
    .requiredOption('--firstname <text>', 'first name')
    .requiredOption('--lastname <text>', 'last name')
    .requiredOption('--email <address>', 'email address, the client-area login')
    .option('--company <text>', 'company name')
    .option('--address <text>', 'address line 1')
    .option('--city <text>', 'city')
    .option('--state <text>', 'state or province')
    .option('--postcode <text>', 'postcode')
    .option('--country <CC>', 'ISO 3166 country code (BE, NL …)')
    .option('--phone <number>', 'phone number')
    .option('--currency <id>', "currency id (default: the panel's default currency)")
    .option('--language <name>', 'WHMCS language name (english, dutch …)')
    .option('--password <text>', 'client-area password (none: the client cannot log in)')
    .option('--no-signup-email', 'do not send the Client Signup Email')
    .addOption(dateOption())
    .action(async (o: Record<string, string | boolean | undefined>) => {
      await withHost(o.date as string | undefined, async (host) => {
        const params: Record<string, string | boolean> = {
          firstname: o.firstname as string,
          lastname: o.lastname as string,
          email: o.email as string,
          skipvalidation: true,
          noemail: o.signupEmail === false,
        };
        for (const [opt, param] of [
          ['company', 'companyname'],
          ['address', 'address1'],
          ['city', 'city'],
          ['state', 'state'],
          ['postcode', 'postcode'],
          ['country', 'country'],
          ['phone', 'phonenumber'],
          ['currency', 'currency'],
          ['language', 'language'],
          ['password', 'password2'],
        ] as const) {
          if (typeof o[opt] === 'string') params[param] = o[opt] as string;
        }
        const r = await execute(host, 'AddClient', params);
        ctx.print(
          `client ${textCell(r.clientid)} added: ${o.firstname as string} ${o.lastname as string} <${o.email as string}>`,
          { clientid: Number(r.clientid) },
        );
      });
    });

  const product = panelCmd.command('product').description("the panel's products");
  product
    .command('add')
    .description(
      'add a product (AddProduct) in a group found or made by name, with its prices and custom fields',
    )
    .requiredOption('--name <text>', 'product name')
    .option('--group <name>', 'product group, made when there is none of that name', 'Servers')
    .addOption(
      new Option('--type <type>', 'product type')
        .choices(['hostingaccount', 'reselleraccount', 'server', 'other'])
        .default('server'),
    )
    .option('--module <name>', 'provisioning module, e.g. solusvmpro')
    .option('--currency <code>', "the prices' currency code (default: the panel's default currency)")
    .option(
      '--price <cycle=amount...>',
      'prices: monthly=19.95, msetupfee=5.00, annually=199.00 … (a cycle left out is not offered)',
    )
    .option('--custom-field <name...>', 'product custom fields to add, e.g. vserverid (admin only)')
    .option('--tax', 'tax applies')
    .addOption(dateOption())
    .action(
      async (o: {
        name: string;
        group: string;
        type: string;
        module?: string;
        currency?: string;
        price?: string[];
        customField?: string[];
        tax?: boolean;
        date?: string;
      }) => {
        const prices = pairsOf(o.price, '--price');
        await withHost(o.date, async (host) => {
          const knex = host.db.knex;
          const cur = o.currency
            ? await knex('tblcurrencies').where({ code: o.currency.toUpperCase() }).first('id')
            : await knex('tblcurrencies')
                .orderBy([{ column: 'default', order: 'desc' }, 'id'])
                .first('id');
          if (!cur)
            throw new ModuleError(
              'NOT_FOUND',
              `there is no currency ${o.currency ?? '(none at all)'} in this panel`,
            );
          const group = await knex('tblproductgroups').where({ name: o.group }).first('id');
          const gid = group ? intCell(group.id) : await addProductGroup(knex, o.group);
          const pricing = { [intCell(cur.id)]: Object.fromEntries(prices) };
          const r = await execute(host, 'AddProduct', {
            name: o.name,
            gid,
            type: o.type,
            module: o.module ?? '',
            tax: Boolean(o.tax),
            ...(prices.length ? { pricing } : {}),
          });
          const pid = Number(r.pid);
          const fields: Record<string, number> = {};
          for (const f of o.customField ?? [])
            fields[f] = await addProductCustomField(knex, pid, f, { adminonly: true });
          ctx.print(
            `product ${pid} added: ${o.name} (group ${o.group})${
              Object.keys(fields).length
                ? `, custom fields ${Object.entries(fields)
                    .map(([n, id]) => `${n} (${id})`)
                    .join(', ')}`
                : ''
            }`,
            { pid, gid, customfields: fields },
          );
        });
      },
    );

  const service = panelCmd.command('service').description("the panel's services");
  service
    .command('add')
    .description(
      'order a product for a client and accept the order (AddOrder, AcceptOrder): the service is Active, its first invoice written',
    )
    .requiredOption('--client <id>', 'client id')
    .requiredOption('--product <id>', 'product id')
    .option('--cycle <cycle>', 'billing cycle (Monthly, Quarterly, Annually …)', 'Monthly')
    .option('--domain <hostname>', "the service's domain or hostname")
    .option('--payment <gateway>', 'payment method', 'banktransfer')
    .option('--price <amount>', 'recurring price instead of the product price (priceoverride)')
    .option('--field <name=value...>', 'custom field values by name, e.g. vserverid=101')
    .option('--pending', 'leave the order pending (no AcceptOrder)')
    .option('--no-invoice', 'no first invoice')
    .addOption(dateOption())
    .action(
      async (o: {
        client: string;
        product: string;
        cycle: string;
        domain?: string;
        payment: string;
        price?: string;
        field?: string[];
        pending?: boolean;
        invoice: boolean;
        date?: string;
      }) => {
        const fields = pairsOf(o.field, '--field');
        await withHost(o.date, async (host) => {
          const ids: Record<string, string> = {};
          if (fields.length) {
            const pid = /^\d+$/.test(o.product) ? Number(o.product) : 0;
            const rows = await host.db
              .knex('tblcustomfields')
              .where({ type: 'product', relid: pid })
              .select('id', 'fieldname');
            for (const [name, value] of fields) {
              const row = rows.find((r) => textCell(r.fieldname) === name);
              if (!row)
                throw new ModuleError(
                  'NOT_FOUND',
                  `product ${o.product} has no custom field "${name}"${rows.length ? ` (it has: ${rows.map((r) => textCell(r.fieldname)).join(', ')})` : ''}`,
                );
              ids[String(intCell(row.id))] = value;
            }
          }
          const order = await execute(host, 'AddOrder', {
            clientid: o.client,
            paymentmethod: o.payment,
            pid: [o.product],
            billingcycle: [o.cycle.toLowerCase()],
            domain: [o.domain ?? ''],
            ...(o.price !== undefined ? { priceoverride: [o.price] } : {}),
            ...(fields.length ? { customfields: [base64PhpSerialize(ids)] } : {}),
            noinvoice: !o.invoice,
            noemail: true,
          });
          if (!o.pending)
            await execute(host, 'AcceptOrder', { orderid: textCell(order.orderid), autosetup: true });
          const invoice = textCell(order.invoiceid);
          ctx.print(
            `service ${textCell(order.serviceids)} added (order ${textCell(order.orderid)}, ${o.pending ? 'Pending' : 'Active'}${invoice !== '' && invoice !== '0' ? `, invoice ${invoice}` : ''})`,
            {
              serviceid: Number(order.serviceids),
              orderid: Number(order.orderid),
              invoiceid: Number(invoice || 0),
              status: o.pending ? 'Pending' : 'Active',
            },
          );
        });
      },
    );

  panelCmd
    .command('cron')
    .description(
      "run the panel's daily automation for a day (or a range of days) with the clock set to that day, then the add-on's evening sampling: a month replays in seconds",
    )
    .requiredOption('--date <YYYY-MM-DD>', 'the (first) day to run')
    .option('--to <YYYY-MM-DD>', 'run every day up to and including this one')
    .option('--demo', "on the demo's data (the default database of `npm start`), with its SolusVM simulator")
    .action(async (o: { date: string; to?: string; demo?: boolean }) => {
      const from = parseIsoDate(o.date, '--date');
      const to = o.to ? parseIsoDate(o.to, '--to') : from;
      if (to < from) throw new ModuleError('INVALID_INPUT', `--to ${to} is before --date ${from}`);
      const { demoDatabaseUrl } = await import('./config.js');
      const { demoState } = await import('./demo.js');
      const c = loadConfig(ctx.io.env, {
        ...(globals().zone ? { zone: globals().zone! } : {}),
        ...(globals().db ? { databaseUrl: globals().db! } : {}),
        ...(o.demo || globals().demo ? { demo: true } : {}),
      });
      const url =
        o.demo || globals().demo
          ? (globals().db ?? ctx.io.env.OVERUSAGE_DB ?? demoDatabaseUrl(c.dataDir))
          : c.databaseUrl;
      // Under a running demo server this would move the data beneath it while the server's clock
      // stays where it was: refused, with what to do.
      const state = await demoState(url);
      if (state.server) {
        throw new ModuleError(
          'CONFLICT',
          `the demo server is running on this database (process ${state.server.pid}, ${state.server.url}): stop it (Ctrl-C), run panel cron again, then start it again; it starts at the moved clock`,
        );
      }
      // the demo's data needs its simulator and keeps its own clock; any other panel database runs as it is
      if (o.demo || globals().demo || state.now !== null) return cronOnDemo(ctx, c, url, from, to);
      const clock = new ManualClock(DateTime.fromISO(`${from}T09:00:00`, { zone: c.zone }).toUTC().toISO()!);
      const { openPanelHost } = await import('./panel-host.js');
      const host = await openPanelHost(c, { clock, log: quietLog(c) });
      try {
        const { describeDemoDay, runPanelDays } = await import('./demo.js');
        const days = await runPanelDays(
          { knex: host.db.knex, clock, panel: host.panel, zone: c.zone },
          from,
          to,
        );
        ctx.print(days.map(describeDemoDay).join('\n'), { days });
      } finally {
        await host.close();
      }
    });
}

async function cronOnDemo(
  ctx: CommandContext,
  config: AppConfig,
  url: string,
  from: IsoDate,
  to: IsoDate,
): Promise<void> {
  const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const { advanceDemo, describeDemoDay, startDemoData, DEMO_ZONE } = await import('./demo.js');
  const demo = await startDemoData(config, log, { databaseUrl: url });
  try {
    const standsAt = demo.clock.now().setZone(DEMO_ZONE);
    if (from < standsAt.toISODate()!) {
      throw new ModuleError(
        'INVALID_INPUT',
        `the demo's clock stands at ${standsAt.toFormat('yyyy-MM-dd HH:mm')} (Brussels) and does not go back: --date must be ${standsAt.toISODate()} or later`,
      );
    }
    const days = await advanceDemo(demo, from, to);
    ctx.print(
      days.map(describeDemoDay).join('\n') +
        `\nthe demo's clock now stands at ${demo.clock.now().setZone('Europe/Brussels').toFormat('yyyy-MM-dd HH:mm')} (Brussels)`,
      { days, now: demo.clock.now().toISO() },
    );
  } finally {
    await demo.close();
  }
}
