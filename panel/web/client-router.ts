/**
 * The client area, with WHMCS's page names: login.php / dologin.php / logout.php,
 * clientarea.php (home, ?action=services, ?action=invoices, ?action=productdetails&id=N),
 * viewinvoice.php?id=N (with a demo payment form) and index.php?m=<addon> (an addon's page).
 * A client sees only their own services and invoices: anything else is a 404, as if it did not
 * exist. Payments go through the panel's AddInvoicePayment command, never straight to a table.
 */
import { MSG } from '../core/errors.js';
import crypto from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { formatMoney, decimalAtScaleExact } from '../domain/money.js';
import { loadCurrency, parseClient, recordClientLogin, type Client } from '../db/clients.js';
import { loadInvoice } from '../db/invoices.js';
import { dateCell, datetimeCell, intCell, moneyCell, sqlLocalDatetime, textCell } from '../db/rows.js';
import { loadProduct, loadService } from '../db/services.js';
import { getSetting } from '../db/settings.js';
import { balanceOf, rateText } from '../core/views.js';
import type { Actor } from '../core/context.js';
import { checkClientLogin } from '../core/client-login.js';
import { addonRequest, injectFormToken, renderAddonTemplate } from './addon-embed.js';
import {
  bodyOf,
  clientIp,
  csrfGuard,
  field,
  formBody,
  idOf,
  queryText,
  safeGoto,
  type WebContext,
} from './context.js';
import { clientFormat, translator, type Formatter, type Translate } from './format.js';
import { MenuItem, panelViews } from './menu.js';
import { pageParam, pagerFor } from './pagination.js';
import { invoicePage, servicePage } from './queries.js';
import { passwordFingerprint, type Flash, type SessionData } from './session.js';

export const LOGIN_FAILED = 'Login Details Incorrect. Please try again.';
export const TOO_MANY_LOGINS = 'Too many login attempts. Please try again later.';

interface ClientState {
  session: SessionData | null;
  client: Client | null;
}

const HOME_ROWS = 10;

export function createClientRouter(ctx: WebContext, loginLimiter: RequestHandler): Router {
  const router = express.Router();
  const db = ctx.knex;
  const guard = [...formBody(), csrfGuard(ctx.sessions, 'client', ctx.log)];

  async function stateOf(req: Request): Promise<ClientState> {
    const session = ctx.sessions.read(req, 'client');
    if (!session || session.uid === 0) return { session, client: null };
    const row = await db('tblclients').where({ id: session.uid }).first();
    // a closed account or a changed password ends the session
    if (
      !row ||
      textCell(row.status) === 'Closed' ||
      passwordFingerprint(textCell(row.password)) !== session.fp
    )
      return { session: null, client: null };
    return { session, client: parseClient(row) };
  }

  /** The CSRF token for the page's forms; a visitor gets a session of their own for it. */
  const tokenFor = (req: Request, res: Response, st: ClientState): string => {
    st.session ??= ctx.sessions.issue(req, res, 'client', 0, '');
    return st.session.csrf;
  };

  const to = (req: Request, page: string) => `${req.baseUrl}/${page}`;
  const here = (req: Request) => req.url.replace(/^\//, '');

  async function systemLanguage(): Promise<string> {
    return (await getSetting(db, 'Language')) || 'english';
  }

  async function page(
    req: Request,
    res: Response,
    st: ClientState,
    status: number,
    view: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const language = st.client?.language || (await systemLanguage());
    const t = translator(language);
    const flash: Flash | null = ctx.sessions.takeFlash(req, res, 'client');
    const company = (await getSetting(db, 'CompanyName')) || 'Client Area';
    await ctx.render(res, status, view, {
      t,
      fmt: clientFormat(language),
      company,
      me: st.client ? { name: `${st.client.firstname} ${st.client.lastname}`.trim() } : null,
      token: tokenFor(req, res, st),
      flash,
      active: '',
      ...data,
    });
  }

  const notFound = (req: Request, res: Response, st: ClientState) =>
    page(req, res, st, 404, 'client/not-found', { title: 'Page Not Found' });

  /** The logged-in client, or a redirect to the login page that comes back here. */
  async function requireClient(
    req: Request,
    res: Response,
  ): Promise<(ClientState & { client: Client }) | null> {
    const st = await stateOf(req);
    if (st.client) return st as ClientState & { client: Client };
    const goto = safeGoto(here(req));
    res.redirect(303, to(req, goto ? `login.php?goto=${encodeURIComponent(goto)}` : 'login.php'));
    return null;
  }

  // ---- login / logout ------------------------------------------------------------------------

  router.get('/login.php', async (req, res) => {
    const st = await stateOf(req);
    if (st.client) return res.redirect(303, to(req, 'clientarea.php'));
    await page(req, res, st, 200, 'client/login', {
      title: 'Login',
      goto: safeGoto(queryText(req, 'goto')) ?? '',
      email: '',
      error: null,
    });
  });

  router.post('/dologin.php', loginLimiter, ...guard, async (req, res) => {
    const email = field(res, 'username').trim().slice(0, 255);
    const password = field(res, 'password').slice(0, 1024);
    const goto = safeGoto(field(res, 'goto'));
    const ip = clientIp(req, ctx.panel.trustProxy);
    const keys = [`client:ip:${ip}`, `client:email:${email.toLowerCase()}`];
    const tooMany = async (ms: number) =>
      page(req, res, await stateOf(req), 429, 'client/login', {
        title: 'Login',
        goto: goto ?? '',
        email,
        error: MSG.tooManyAttempts(Math.ceil(ms / 1000)),
      });
    const locked = ctx.panel.loginThrottle.lockedFor(keys);
    if (locked > 0) return tooMany(locked);
    // the address's failures count together with ValidateLogin's (core/client-login.ts)
    const outcome = await checkClientLogin(
      ctx.panel.core,
      { email, password, surface: 'Client area login', ip },
      ctx.panel.core.when(),
    );
    if (!outcome.ok && outcome.lockedMs > 0) return tooMany(outcome.lockedMs);
    const client = outcome.ok ? { id: outcome.clientId, passwordHash: outcome.passwordHash } : null;
    if (!client) {
      ctx.log.info('panel_web.login_failed', { surface: 'client', ip });
      const lock = ctx.panel.loginThrottle.fail(keys);
      if (lock > 0)
        await ctx.panel.core.activity({
          description: `Client login locked for ${Math.ceil(lock / 1000)} seconds after repeated failures - Email: ${email.slice(0, 60)}`,
          ipaddr: ip,
        });
      const st = await stateOf(req);
      return page(req, res, st, 401, 'client/login', {
        title: 'Login',
        goto: goto ?? '',
        email,
        error: LOGIN_FAILED,
      });
    }
    ctx.panel.loginThrottle.succeed(keys);
    ctx.sessions.issue(req, res, 'client', client.id, passwordFingerprint(client.passwordHash));
    await recordClientLogin(db, client.id, {
      stamp: sqlLocalDatetime(ctx.panel.core.clock.now(), ctx.panel.core.zone),
      ip,
    });
    await ctx.panel.core.activity({
      description: `Client Logged In - User ID: ${client.id}`,
      userid: client.id,
      user: 'Client',
      ipaddr: clientIp(req, ctx.panel.trustProxy),
    });
    res.redirect(303, to(req, goto ?? 'clientarea.php'));
  });

  router.post('/logout.php', ...guard, async (req, res) => {
    ctx.sessions.revoke(req, res, 'client', ctx.sessions.read(req, 'client'));
    ctx.sessions.setFlash(req, res, 'client', { kind: 'info', text: 'You have been logged out.' });
    res.redirect(303, to(req, 'login.php'));
  });

  // ---- client area -----------------------------------------------------------------------------

  router.get('/clientarea.php', async (req, res) => {
    const st = await requireClient(req, res);
    if (!st) return;
    const action = queryText(req, 'action');
    if (action === 'productdetails') return productDetails(req, res, st);
    if (action === 'services') return servicesList(req, res, st);
    if (action === 'invoices') return invoicesList(req, res, st);
    return home(req, res, st);
  });

  const viewCtx = (st: ClientState & { client: Client }) => {
    const t = translator(st.client.language);
    return { t, fmt: clientFormat(st.client.language) };
  };

  async function serviceRows(
    st: ClientState & { client: Client },
    pageNo: number,
    perPage: number,
    fmt: Formatter,
  ) {
    const currency = await loadCurrency(db, st.client.currency);
    const p = await servicePage(db, { userid: st.client.id }, pageNo, perPage);
    return {
      p,
      rows: p.rows.map((s) => ({
        id: s.id,
        product: s.product,
        domain: s.domain,
        status: s.status,
        billingcycle: s.billingcycle,
        amount: fmt.money(s.amountMinor, currency),
        nextduedate: fmt.date(s.nextduedate),
      })),
    };
  }

  async function invoiceRows(
    st: ClientState & { client: Client },
    pageNo: number,
    perPage: number,
    fmt: Formatter,
  ) {
    const currency = await loadCurrency(db, st.client.currency);
    const today = ctx.today();
    const p = await invoicePage(db, { userid: st.client.id, today, excludeDrafts: true }, pageNo, perPage);
    return {
      p,
      rows: p.rows.map((i) => ({
        id: i.id,
        date: fmt.date(i.date),
        duedate: fmt.date(i.duedate),
        status: i.status,
        overdue: i.status === 'Unpaid' && i.duedate !== null && i.duedate < today,
        total: fmt.money(i.totalMinor, currency),
        balance: fmt.money(i.balanceMinor, currency),
      })),
    };
  }

  async function home(req: Request, res: Response, st: ClientState & { client: Client }): Promise<void> {
    const { t, fmt } = viewCtx(st);
    const services = await serviceRows(st, 1, HOME_ROWS, fmt);
    const invoices = await invoiceRows(st, 1, HOME_ROWS, fmt);
    // WHMCS's home panels: the core ones first, then whatever ClientAreaHomepagePanels does to them
    const panels = new MenuItem('Homepage Panels');
    // what Menu::context('client') gives a WHMCS hook
    panels.setContext('client', {
      id: st.client.id,
      firstname: st.client.firstname,
      lastname: st.client.lastname,
      language: st.client.language,
      currency: st.client.currency,
    });
    panels.addChild('Active Products/Services', {
      label: t('My Services'),
      order: 100,
      badge: String(services.p.total),
      bodyHtml: await ctx.renderToString('client/_services-table', { t, services: services.rows }),
      extras:
        services.p.total > HOME_ROWS
          ? { 'btn-link': 'clientarea.php?action=services', 'btn-text': t('View all') }
          : {},
    });
    panels.addChild('Invoices', {
      label: t('My Invoices'),
      order: 200,
      badge: String(invoices.p.total),
      bodyHtml: await ctx.renderToString('client/_invoices-table', { t, invoices: invoices.rows }),
      extras:
        invoices.p.total > HOME_ROWS
          ? { 'btn-link': 'clientarea.php?action=invoices', 'btn-text': t('View all') }
          : {},
    });
    await ctx.panel.hooks.run('ClientAreaHomepagePanels', panels as unknown as Record<string, unknown>);
    const homepageHtml = (await ctx.panel.hooks.run('ClientAreaHomepage', { clientid: st.client.id })).html;
    await page(req, res, st, 200, 'client/home', {
      title: t('Client Area'),
      active: 'home',
      panels: panelViews(panels),
      homepageHtml,
    });
  }

  async function servicesList(
    req: Request,
    res: Response,
    st: ClientState & { client: Client },
  ): Promise<void> {
    const { t, fmt } = viewCtx(st);
    const { p, rows } = await serviceRows(st, pageParam(queryText(req, 'page')), ctx.perPage, fmt);
    await page(req, res, st, 200, 'client/services', {
      title: t('My Services'),
      active: 'services',
      services: rows,
      pager: pagerFor(p, 'clientarea.php', { action: 'services' }),
    });
  }

  async function invoicesList(
    req: Request,
    res: Response,
    st: ClientState & { client: Client },
  ): Promise<void> {
    const { t, fmt } = viewCtx(st);
    const { p, rows } = await invoiceRows(st, pageParam(queryText(req, 'page')), ctx.perPage, fmt);
    await page(req, res, st, 200, 'client/invoices', {
      title: t('My Invoices'),
      active: 'invoices',
      invoices: rows,
      pager: pagerFor(p, 'clientarea.php', { action: 'invoices' }),
    });
  }

  async function productDetails(
    req: Request,
    res: Response,
    st: ClientState & { client: Client },
  ): Promise<void> {
    const id = idOf(queryText(req, 'id'));
    const row = id === null ? undefined : await db('tblhosting').where({ id }).first();
    if (!row || intCell(row.userid) !== st.client.id) return notFound(req, res, st);
    const svc = (await loadService(db, intCell(row.id)))!;
    const { t, fmt } = viewCtx(st);
    const product = await loadProduct(db, svc.packageid);
    const currency = await loadCurrency(db, st.client.currency);
    // the product's custom fields a client may see (admin-only ones stay hidden)
    const fieldRows = await db('tblcustomfields')
      .where({ type: 'product', relid: svc.packageid })
      .whereNot('adminonly', 'on')
      .orderBy(['sortorder', 'id'])
      .select('id', 'fieldname');
    const values = fieldRows.length
      ? await db('tblcustomfieldsvalues')
          .where({ relid: svc.id })
          .whereIn(
            'fieldid',
            fieldRows.map((f) => f.id),
          )
          .select('fieldid', 'value')
      : [];
    const valueOf = new Map(values.map((v) => [intCell(v.fieldid), textCell(v.value)]));
    const customFields = fieldRows.map((f) => {
      const [name, label] = textCell(f.fieldname).split('|');
      return { label: label || name || '', value: valueOf.get(intCell(f.id)) ?? '' };
    });
    const hookHtml = (
      await ctx.panel.hooks.run('ClientAreaProductDetailsOutput', { service: serviceModel(row) })
    ).html;
    await page(req, res, st, 200, 'client/productdetails', {
      title: t('Service Details'),
      active: 'services',
      service: {
        id: svc.id,
        product: product?.name ?? '',
        group: product?.groupName ?? '',
        domain: svc.domain,
        status: svc.domainstatus,
        regdate: fmt.date(svc.regdate),
        nextduedate: fmt.date(svc.nextduedate),
        billingcycle: svc.billingcycleText,
        amount: fmt.money(svc.amountMinor, currency),
        bwusage: svc.bwusage,
        bwlimit: svc.bwlimit,
        customFields,
      },
      hookHtml,
    });
  }

  // ---- invoices ---------------------------------------------------------------------------------

  /** The client's own, non-draft invoice, or null (shown as a 404). */
  async function ownInvoice(req: Request, client: Client) {
    const id = idOf(queryText(req, 'id'));
    const inv = id === null ? null : await loadInvoice(db, id);
    return inv && inv.userid === client.id && inv.status !== 'Draft' ? inv : null;
  }

  const PAYABLE = new Set(['Unpaid', 'Payment Pending']);

  async function invoicePageView(
    req: Request,
    res: Response,
    st: ClientState & { client: Client },
    inv: NonNullable<Awaited<ReturnType<typeof ownInvoice>>>,
    status: number,
    error: string | null,
    t: Translate,
    fmt: Formatter,
  ) {
    const currency = await loadCurrency(db, st.client.currency);
    const money = (m: bigint) => fmt.money(m, currency);
    const balance = balanceOf(inv);
    const today = ctx.today();
    await page(req, res, st, status, 'client/viewinvoice', {
      title: `${t('Invoice #')}${inv.invoicenum || inv.id}`,
      active: 'invoices',
      invoice: {
        id: inv.id,
        number: inv.invoicenum || String(inv.id),
        status: inv.status,
        overdue: inv.status === 'Unpaid' && inv.duedate !== null && inv.duedate < today,
        date: fmt.date(inv.date),
        duedate: fmt.date(inv.duedate),
        datepaid: inv.datepaid ? fmt.datetime(inv.datepaid) : '',
        items: inv.items.map((i) => ({
          description: i.description,
          amount: money(i.amountMinor),
          taxed: i.taxed,
        })),
        subtotal: money(inv.subtotalMinor),
        tax: inv.taxMinor !== 0n ? { rate: rateText(inv.taxRateScaled), amount: money(inv.taxMinor) } : null,
        tax2:
          inv.tax2Minor !== 0n ? { rate: rateText(inv.taxRate2Scaled), amount: money(inv.tax2Minor) } : null,
        credit: inv.creditMinor !== 0n ? money(inv.creditMinor) : null,
        total: money(inv.totalMinor),
        payments: inv.payments.map((p) => ({
          date: fmt.datetime(p.date),
          gateway: p.gateway,
          transid: p.transid,
          amount: money(p.amountInMinor - p.amountOutMinor),
        })),
        balance: money(balance),
        balanceValue: formatMoney(balance),
        // WHMCS's viewinvoice.tpl shows the invoice's notes to the client under the lines
        notes: inv.notes,
        payable: PAYABLE.has(inv.status) && balance > 0n,
      },
      paid: queryText(req, 'paymentsuccess') === 'true',
      error,
      nonce: crypto.randomBytes(12).toString('base64url'),
    });
  }

  router.get('/viewinvoice.php', async (req, res) => {
    const st = await requireClient(req, res);
    if (!st) return;
    const inv = await ownInvoice(req, st.client);
    if (!inv) return notFound(req, res, st);
    await ctx.panel.hooks.run('ViewInvoiceDetailsPage', { invoiceid: inv.id });
    const { t, fmt } = viewCtx(st);
    await invoicePageView(req, res, st, inv, 200, null, t, fmt);
  });

  router.post('/viewinvoice.php', ...guard, async (req, res) => {
    const st = await requireClient(req, res);
    if (!st) return;
    const inv = await ownInvoice(req, st.client);
    if (!inv) return notFound(req, res, st);
    const { t, fmt } = viewCtx(st);
    const fail = (message: string) => invoicePageView(req, res, st, inv, 400, message, t, fmt);
    const balance = balanceOf(inv);
    if (!PAYABLE.has(inv.status) || balance <= 0n) return fail('This invoice has nothing left to pay.');
    let amount = balance;
    if (field(res, 'pay') === 'partial') {
      const given = decimalAtScaleExact(field(res, 'amount').trim(), 2, 12);
      if (given === null || given <= 0n)
        return fail('Enter an amount greater than zero, with at most two decimals (e.g. 12.50).');
      if (given > balance)
        return fail(
          `The amount must not be more than the balance (${fmt.money(balance, await loadCurrency(db, st.client.currency))}).`,
        );
      amount = given;
    }
    // the form's nonce names the payment: a second submit of the same form pays nothing more
    const nonce = field(res, 'nonce');
    const transid = /^[A-Za-z0-9_-]{8,64}$/.test(nonce)
      ? `DEMO-${nonce}`
      : `DEMO-${crypto.randomBytes(12).toString('base64url')}`;
    const done = await db('tblaccounts').where({ invoiceid: inv.id, transid }).first('id');
    if (!done) {
      const actor: Actor = { source: 'clientarea', user: 'system', ip: clientIp(req, ctx.panel.trustProxy) };
      const envelope = await ctx.panel.commands.execute(
        'AddInvoicePayment',
        {
          invoiceid: String(inv.id),
          amount: formatMoney(amount),
          gateway: inv.paymentmethod || 'banktransfer',
          transid,
        },
        actor,
      );
      if (envelope.result !== 'success') return fail(envelope.message);
    }
    res.redirect(303, to(req, `viewinvoice.php?id=${inv.id}&paymentsuccess=true`));
  });

  // ---- an addon's client area page ---------------------------------------------------------------

  const addonPage = async (req: Request, res: Response): Promise<void> => {
    const name = queryText(req, 'm');
    if (name === '') return void res.redirect(303, to(req, 'clientarea.php'));
    const st = await stateOf(req);
    const info = /^[a-z][a-z0-9_]{0,63}$/.test(name) ? await ctx.panel.addons.info(name) : null;
    if (!info || !info.active || !info.has.clientarea) return notFound(req, res, st);
    const language = st.client?.language || (await systemLanguage());
    const result = await ctx.panel.addons.clientarea(name, {
      request: addonRequest(req, bodyOf(res)),
      clientId: st.client?.id ?? null,
      language,
    });
    if ('requireLogin' in result) {
      const goto = safeGoto(here(req));
      return void res.redirect(
        303,
        to(req, goto ? `login.php?goto=${encodeURIComponent(goto)}` : 'login.php'),
      );
    }
    if (!info.templatesDir)
      throw new Error(`the addon module "${name}" declares no templatesDir for its client area template`);
    const token = tokenFor(req, res, st);
    const modulelink = `index.php?m=${name}`;
    const html = await renderAddonTemplate(
      info.templatesDir,
      result.templatefile,
      // the host's values win: an addon cannot replace the token or the link
      {
        ...(result.vars ?? {}),
        modulelink,
        token,
        clientid: st.client?.id ?? null,
        language,
        pagetitle: result.pagetitle,
      },
      ctx.cacheViews,
    );
    const breadcrumb = Object.entries(result.breadcrumb ?? {}).map(([href, label]) => ({
      href: safeAddonLink(href),
      label: String(label),
    }));
    await page(req, res, st, 200, 'client/addon', {
      title: result.pagetitle || info.config.name,
      active: `addon:${name}`,
      breadcrumb,
      addonHtml: injectFormToken(html, token),
    });
  };

  router.get('/index.php', addonPage);
  router.post('/index.php', ...guard, addonPage);

  return router;
}

/** Only relative links into the panel from an addon's breadcrumb. */
const safeAddonLink = (href: string): string =>
  /^[a-z0-9_]+\.php(\?[^\s"'<>\\]*)?$/i.test(href) ? href : '';

/** WHMCS hands hooks the service model: tblhosting's columns, money as decimal text. */
export function serviceModel(row: Record<string, unknown>): Record<string, unknown> {
  return {
    id: intCell(row.id),
    userid: intCell(row.userid),
    orderid: intCell(row.orderid),
    packageid: intCell(row.packageid),
    server: intCell(row.server),
    regdate: dateCell(row.regdate),
    domain: textCell(row.domain),
    paymentmethod: textCell(row.paymentmethod),
    firstpaymentamount: formatMoney(moneyCell(row.firstpaymentamount)),
    amount: formatMoney(moneyCell(row.amount)),
    billingcycle: textCell(row.billingcycle),
    nextduedate: dateCell(row.nextduedate),
    nextinvoicedate: dateCell(row.nextinvoicedate),
    domainstatus: textCell(row.domainstatus),
    username: textCell(row.username),
    suspendreason: textCell(row.suspendreason),
    overideautosuspend: intCell(row.overideautosuspend) === 1,
    overidesuspenduntil: dateCell(row.overidesuspenduntil),
    diskusage: intCell(row.diskusage),
    disklimit: intCell(row.disklimit),
    bwusage: intCell(row.bwusage),
    bwlimit: intCell(row.bwlimit),
    lastupdate: datetimeCell(row.lastupdate),
  };
}
