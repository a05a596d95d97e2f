/**
 * The admin area, mounted at …/admin, with WHMCS's page names where it has them: login.php,
 * index.php (dashboard), clients.php, clientssummary.php, services.php, clientsservices.php,
 * invoices.php (+ ?action=edit&id=N with "add payment"), systememaillog.php + viewemail.php,
 * automationstatus.php (the panel's automation log), systemactivitylog.php, configaddonmods.php
 * (Setup > Addon Modules) and addonmodules.php?module=<name> (an addon's admin tab).
 * Every list is paginated; changes go through the panel's commands and the AddonHost.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { addDays, isIsoDate } from '../../module/domain/calendar.js';
import { formatMoney, decimalAtScaleExact } from '../domain/money.js';
import { loadClient, loadCurrency, parseAdmin, type Admin } from '../db/clients.js';
import { INVOICE_STATUSES, loadInvoice } from '../db/invoices.js';
import { dateCell, datetimeCell, intCell, moneyCell, textCell } from '../db/rows.js';
import { SERVICE_STATUSES, loadProduct, loadService, serviceCustomFields } from '../db/services.js';
import { verifyAdminPassword, hashAdminPassword } from '../auth.js';
import { balanceOf, rateText } from '../core/views.js';
import type { Actor } from '../core/context.js';
import type { AddonField } from '../addon-host.js';
import { optionValues } from '../addon-host.js';
import { addonRequest, injectFormToken } from './addon-embed.js';
import { registerApiCredentialPages } from './admin-api-credentials.js';
import { registerPromotionPages } from './admin-promotions.js';
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
import { adminFormat } from './format.js';
import { MSG } from '../core/errors.js';
import { serviceModel, LOGIN_FAILED } from './client-router.js';
import { pageParam, pagerFor } from './pagination.js';
import {
  activityPage,
  clientPage,
  countOf,
  currencies,
  currencyOf,
  emailPage,
  invoicePage,
  runCounts,
  runPage,
  servicePage,
  stepPage,
} from './queries.js';
import { passwordFingerprint, type SessionData } from './session.js';

interface AdminState {
  session: SessionData;
  admin: Admin;
}

// the role WHMCS calls Full Administrator: the only one that may configure addon modules here
const FULL_ADMIN_ROLE = 1;
// made when the first router is, not at load: scrypt costs ~170 ms of CPU, and most processes that
// import this file (the CLI, test workers) never serve a login; not on the first failed login either,
// which would then take twice as long and tell an unknown name from a wrong password
let dummyAdminHash: string | null = null;
const fmt = adminFormat;

export function createAdminRouter(ctx: WebContext, loginLimiter: RequestHandler): Router {
  const router = express.Router();
  const dummyHash = (dummyAdminHash ??= hashAdminPassword(
    'dummy-password',
    '00000000000000000000000000000000',
  ));
  const db = ctx.knex;
  const guard = [...formBody(), csrfGuard(ctx.sessions, 'admin', ctx.log)];
  const to = (req: Request, page: string) => `${req.baseUrl}/${page}`;

  async function stateOf(req: Request): Promise<AdminState | null> {
    const session = ctx.sessions.read(req, 'admin');
    if (!session || session.uid === 0) return null;
    const row = await db('tbladmins').where({ id: session.uid }).first();
    // a disabled admin or a changed password ends the session
    if (!row || intCell(row.disabled) === 1 || passwordFingerprint(textCell(row.password)) !== session.fp)
      return null;
    return { session, admin: parseAdmin(row) };
  }

  /** The logged-in admin, or a redirect to the login page that comes back here. */
  async function requireAdmin(req: Request, res: Response): Promise<AdminState | null> {
    const st = await stateOf(req);
    if (st) return st;
    const goto = safeGoto(req.url.replace(/^\//, ''));
    res.redirect(303, to(req, goto ? `login.php?goto=${encodeURIComponent(goto)}` : 'login.php'));
    return null;
  }

  async function page(
    req: Request,
    res: Response,
    st: AdminState | null,
    status: number,
    view: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const addonsMenu: Array<{ name: string; label: string }> = [];
    if (st) {
      for (const a of await ctx.panel.addons.list()) {
        if (a.active && a.has.output && (await ctx.panel.addons.canAccess(a.name, st.admin.roleid)))
          addonsMenu.push({ name: a.name, label: a.config.name });
      }
    }
    const token = st
      ? st.session.csrf
      : (ctx.sessions.read(req, 'admin') ?? ctx.sessions.issue(req, res, 'admin', 0, '')).csrf;
    await ctx.render(res, status, view, {
      fmt,
      me: st ? { username: st.admin.username, fullAdmin: st.admin.roleid === FULL_ADMIN_ROLE } : null,
      token,
      flash: ctx.sessions.takeFlash(req, res, 'admin'),
      active: '',
      addonsMenu,
      ...data,
    });
  }

  const notFound = (req: Request, res: Response, st: AdminState, what = 'Page') =>
    page(req, res, st, 404, 'admin/message', { title: `${what} Not Found`, message: `${what} not found.` });
  const flash = (req: Request, res: Response, kind: 'success' | 'error' | 'info', text: string) =>
    ctx.sessions.setFlash(req, res, 'admin', { kind, text });

  // ---- login / logout ------------------------------------------------------------------------

  router.get('/login.php', async (req, res) => {
    if (await stateOf(req)) return res.redirect(303, to(req, 'index.php'));
    await page(req, res, null, 200, 'admin/login', {
      title: 'Admin Login',
      goto: safeGoto(queryText(req, 'goto')) ?? '',
      username: '',
      error: null,
    });
  });

  router.post('/dologin.php', loginLimiter, ...guard, async (req, res) => {
    const username = field(res, 'username').trim().slice(0, 100);
    const password = field(res, 'password').slice(0, 1024);
    const goto = safeGoto(field(res, 'goto'));
    const ip = clientIp(req, ctx.panel.trustProxy);
    const keys = [`admin:ip:${ip}`, `admin:user:${username.toLowerCase()}`];
    const locked = ctx.panel.loginThrottle.lockedFor(keys);
    if (locked > 0)
      return page(req, res, null, 429, 'admin/login', {
        title: 'Admin Login',
        goto: goto ?? '',
        username,
        error: MSG.tooManyAttempts(Math.ceil(locked / 1000)),
      });
    const row = username === '' ? undefined : await db('tbladmins').where({ username }).first();
    // the same work and the same answer for an unknown name, a wrong password and a disabled admin
    const ok =
      verifyAdminPassword(row ? textCell(row.password) : dummyHash, { password }) &&
      row !== undefined &&
      intCell(row.disabled) !== 1;
    if (!ok || !row) {
      ctx.log.info('panel_web.login_failed', { surface: 'admin', ip: clientIp(req, ctx.panel.trustProxy) });
      await ctx.panel.core.activity({
        description: `Failed Admin Login Attempt - Username: ${username.slice(0, 60)}`,
        ipaddr: ip,
      });
      const lock = ctx.panel.loginThrottle.fail(keys);
      if (lock > 0)
        await ctx.panel.core.activity({
          description: `Admin login locked for ${Math.ceil(lock / 1000)} seconds after repeated failures - Username: ${username.slice(0, 60)}`,
          ipaddr: ip,
        });
      return page(req, res, null, 401, 'admin/login', {
        title: 'Admin Login',
        goto: goto ?? '',
        username,
        error: LOGIN_FAILED,
      });
    }
    ctx.panel.loginThrottle.succeed(keys);
    ctx.sessions.issue(req, res, 'admin', intCell(row.id), passwordFingerprint(textCell(row.password)));
    await ctx.panel.core.activity({
      description: `Admin Logged In - Username: ${textCell(row.username)}`,
      user: textCell(row.username),
      ipaddr: clientIp(req, ctx.panel.trustProxy),
    });
    res.redirect(303, to(req, goto ?? 'index.php'));
  });

  router.post('/logout.php', ...guard, async (req, res) => {
    const session = ctx.sessions.read(req, 'admin');
    ctx.sessions.revoke(req, res, 'admin', session);
    // as WHMCS: addons learn that the admin's session ended (the add-on revokes the tab's tokens)
    if (session && session.uid > 0) await ctx.panel.hooks.run('AdminLogout', { adminid: session.uid });
    flash(req, res, 'info', 'You have been logged out.');
    res.redirect(303, to(req, 'login.php'));
  });

  // ---- dashboard -------------------------------------------------------------------------------

  const dashboard = async (req: Request, res: Response) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const today = ctx.today();
    const lastRun = await db('tblpanel_automation_runs').orderBy('run_date', 'desc').first();
    await page(req, res, st, 200, 'admin/dashboard', {
      title: 'Dashboard',
      active: 'dashboard',
      today,
      counts: {
        clients: await countOf(db('tblclients')),
        activeServices: await countOf(db('tblhosting').where({ domainstatus: 'Active' })),
        suspendedServices: await countOf(db('tblhosting').where({ domainstatus: 'Suspended' })),
        unpaid: await countOf(db('tblinvoices').where({ status: 'Unpaid' })),
        overdue: await countOf(db('tblinvoices').where({ status: 'Unpaid' }).where('duedate', '<', today)),
        drafts: await countOf(db('tblinvoices').where({ status: 'Draft' })),
        emailsToday: await countOf(
          db('tblemails')
            .where('date', '>=', `${today} 00:00:00`)
            .where('date', '<', `${addDays(today, 1)} 00:00:00`),
        ),
      },
      lastRun: lastRun
        ? {
            date: dateCell(lastRun.run_date),
            status: textCell(lastRun.status),
            finishedAt: datetimeCell(lastRun.finished_at),
            counts: runCounts(lastRun.summary),
          }
        : null,
    });
  };
  router.get(['/', '/index.php'], dashboard);

  // ---- clients -----------------------------------------------------------------------------------

  router.get('/clients.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const q = queryText(req, 'q').trim().slice(0, 100);
    const status = ['Active', 'Inactive', 'Closed'].includes(queryText(req, 'status'))
      ? queryText(req, 'status')
      : '';
    const p = await clientPage(db, { q, status }, pageParam(queryText(req, 'page')), ctx.perPage);
    await page(req, res, st, 200, 'admin/clients', {
      title: 'Clients',
      active: 'clients',
      q,
      status,
      clients: p.rows,
      pager: pagerFor(p, 'clients.php', { q, status }),
    });
  });

  router.get('/clientssummary.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const id = idOf(queryText(req, 'userid'));
    const client = id === null ? null : await loadClient(db, id);
    if (!client) return notFound(req, res, st, 'Client');
    const currency = await loadCurrency(db, client.currency);
    const today = ctx.today();
    const services = await servicePage(
      db,
      { userid: client.id },
      pageParam(queryText(req, 'spage')),
      ctx.perPage,
    );
    const invoices = await invoicePage(
      db,
      { userid: client.id, today },
      pageParam(queryText(req, 'ipage')),
      ctx.perPage,
    );
    const statusCounts: Record<string, number> = {};
    const grouped = (await db('tblinvoices')
      .where({ userid: client.id })
      .groupBy('status')
      .select('status')
      .count({ n: '*' })) as Array<Record<string, unknown>>;
    for (const r of grouped) statusCounts[textCell(r.status)] = intCell(r.n);
    const hookHtml = (await ctx.panel.hooks.run('AdminAreaClientSummaryPage', { userid: client.id })).html;
    await page(req, res, st, 200, 'admin/client-summary', {
      title: `Client Profile: ${`${client.firstname} ${client.lastname}`.trim()}`,
      active: 'clients',
      client: {
        id: client.id,
        name: `${client.firstname} ${client.lastname}`.trim(),
        companyname: client.companyname,
        email: client.email,
        country: client.country,
        language: client.language || '(default)',
        status: client.status,
        datecreated: fmt.date(client.datecreated),
        credit: fmt.money(client.creditMinor, currency),
        currency: currency.code,
        flags: [
          client.taxexempt && 'Tax exempt',
          client.latefeeoveride && 'No late fees',
          client.overideduenotices && 'No overdue notices',
          client.separateinvoices && 'Separate invoices',
        ].filter(Boolean),
      },
      statusCounts,
      services: services.rows.map((s) => ({ ...s, amount: fmt.money(s.amountMinor, currency) })),
      servicesPager:
        services.pages > 1
          ? pagerForParam(services, 'clientssummary.php', { userid: client.id }, 'spage')
          : null,
      invoices: invoices.rows.map((i) => invoiceListRow(i, currency, today)),
      invoicesPager:
        invoices.pages > 1
          ? pagerForParam(invoices, 'clientssummary.php', { userid: client.id }, 'ipage')
          : null,
      hookHtml,
    });
  });

  // ---- services ----------------------------------------------------------------------------------

  router.get('/services.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const status = (SERVICE_STATUSES as readonly string[]).includes(queryText(req, 'status'))
      ? queryText(req, 'status')
      : '';
    const userid = idOf(queryText(req, 'userid')) ?? undefined;
    const q = queryText(req, 'q').trim().slice(0, 100);
    const p = await servicePage(
      db,
      { status, q, ...(userid !== undefined ? { userid } : {}) },
      pageParam(queryText(req, 'page')),
      ctx.perPage,
    );
    const cur = await currencies(db);
    await page(req, res, st, 200, 'admin/services', {
      title: 'Products/Services',
      active: 'services',
      status,
      q,
      userid: userid ?? '',
      statuses: SERVICE_STATUSES,
      services: p.rows.map((s) => ({ ...s, amount: fmt.money(s.amountMinor, currencyOf(cur, s.currency)) })),
      pager: pagerFor(p, 'services.php', { status, q, userid }),
    });
  });

  router.get('/clientsservices.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const id = idOf(queryText(req, 'id'));
    const svc = id === null ? null : await loadService(db, id);
    if (!svc) return notFound(req, res, st, 'Service');
    const row = (await db('tblhosting').where({ id: svc.id }).first())!;
    const client = await loadClient(db, svc.userid);
    const currency = await loadCurrency(db, client?.currency ?? 1);
    const product = await loadProduct(db, svc.packageid);
    const fields = await serviceCustomFields(db, svc);
    // this service's invoice lines, newest first, one page
    const lines = await db({ it: 'tblinvoiceitems' })
      .leftJoin({ i: 'tblinvoices' }, 'i.id', 'it.invoiceid')
      .where({ 'it.relid': svc.id, 'it.type': 'Hosting' })
      .orderBy('it.id', 'desc')
      .limit(20)
      .select('it.invoiceid', 'it.description', 'it.amount', 'i.status', 'i.duedate');
    const tabFields = (await ctx.panel.hooks.run('AdminClientServicesTabFields', { id: svc.id })).merged;
    await page(req, res, st, 200, 'admin/service', {
      title: `Service #${svc.id}`,
      active: 'services',
      service: {
        id: svc.id,
        userid: svc.userid,
        clientName: client ? `${client.firstname} ${client.lastname}`.trim() : '(deleted client)',
        product: product?.name ?? '',
        servertype: product?.servertype ?? '',
        domain: svc.domain,
        status: svc.domainstatus,
        suspendreason: svc.suspendreason,
        regdate: fmt.date(svc.regdate),
        nextduedate: fmt.date(svc.nextduedate),
        nextinvoicedate: fmt.date(svc.nextinvoicedate),
        billingcycle: svc.billingcycleText,
        amount: fmt.money(svc.amountMinor, currency),
        paymentmethod: svc.paymentmethod,
        username: svc.username,
        override: svc.overideautosuspend
          ? `on${svc.overidesuspenduntil ? ` until ${svc.overidesuspenduntil}` : ''}`
          : 'off',
        bw: `${svc.bwusage} / ${svc.bwlimit} MB`,
        lastupdate: fmt.datetime(svc.lastupdate),
        customFields: fields,
      },
      model: serviceModel(row),
      lines: lines.map((l) => ({
        invoiceid: intCell(l.invoiceid),
        description: textCell(l.description),
        amount: fmt.money(moneyCell(l.amount), currency),
        status: textCell(l.status),
        duedate: fmt.date(dateCell(l.duedate)),
      })),
      tabFields: Object.entries(tabFields).map(([label, html]) => ({
        label,
        html: typeof html === 'string' ? html : String(html ?? ''),
      })),
    });
  });

  // ---- invoices ----------------------------------------------------------------------------------

  const STATUS_FILTERS = [...INVOICE_STATUSES, 'Overdue'];

  router.get('/invoices.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    if (queryText(req, 'action') === 'edit') return invoiceView(req, res, st, 200, null);
    const status = STATUS_FILTERS.includes(queryText(req, 'status')) ? queryText(req, 'status') : '';
    const userid = idOf(queryText(req, 'userid')) ?? undefined;
    const today = ctx.today();
    const p = await invoicePage(
      db,
      { status, today, ...(userid !== undefined ? { userid } : {}) },
      pageParam(queryText(req, 'page')),
      ctx.perPage,
    );
    const cur = await currencies(db);
    await page(req, res, st, 200, 'admin/invoices', {
      title: status ? `Invoices: ${status}` : 'Invoices',
      active: 'invoices',
      status,
      userid: userid ?? '',
      statuses: STATUS_FILTERS,
      invoices: p.rows.map((i) => invoiceListRow(i, currencyOf(cur, i.currency), today)),
      pager: pagerFor(p, 'invoices.php', { status, userid }),
    });
  });

  async function invoiceView(
    req: Request,
    res: Response,
    st: AdminState,
    status: number,
    error: string | null,
    form: Record<string, string> = {},
  ): Promise<void> {
    const id = idOf(queryText(req, 'id'));
    const inv = id === null ? null : await loadInvoice(db, id);
    if (!inv) return notFound(req, res, st, 'Invoice');
    const client = await loadClient(db, inv.userid);
    const currency = await loadCurrency(db, client?.currency ?? 1);
    const money = (m: bigint) => fmt.money(m, currency);
    const balance = balanceOf(inv);
    const controlsHtml = (
      await ctx.panel.hooks.run('AdminInvoicesControlsOutput', {
        invoiceid: inv.id,
        userid: inv.userid,
        subtotal: formatMoney(inv.subtotalMinor),
        tax: formatMoney(inv.taxMinor),
        tax2: formatMoney(inv.tax2Minor),
        credit: formatMoney(inv.creditMinor),
        total: formatMoney(inv.totalMinor),
        balance: formatMoney(balance),
        taxrate: rateText(inv.taxRateScaled),
        taxrate2: rateText(inv.taxRate2Scaled),
        paymentmethod: inv.paymentmethod,
      })
    ).html;
    const today = ctx.today();
    await page(req, res, st, status, 'admin/invoice', {
      title: `Invoice #${inv.invoicenum || inv.id}`,
      active: 'invoices',
      invoice: {
        id: inv.id,
        userid: inv.userid,
        clientName: client ? `${client.firstname} ${client.lastname}`.trim() : '(deleted client)',
        status: inv.status,
        overdue: inv.status === 'Unpaid' && inv.duedate !== null && inv.duedate < today,
        date: fmt.date(inv.date),
        duedate: fmt.date(inv.duedate),
        datepaid: fmt.datetime(inv.datepaid),
        paymentmethod: inv.paymentmethod,
        notes: inv.notes,
        items: inv.items.map((i) => ({
          id: i.id,
          type: i.type,
          relid: i.relid,
          description: i.description,
          amount: money(i.amountMinor),
          taxed: i.taxed,
        })),
        subtotal: money(inv.subtotalMinor),
        tax: { rate: rateText(inv.taxRateScaled), amount: money(inv.taxMinor) },
        tax2: { rate: rateText(inv.taxRate2Scaled), amount: money(inv.tax2Minor) },
        credit: money(inv.creditMinor),
        total: money(inv.totalMinor),
        paid: money(inv.paidMinor),
        balance: money(balance),
        balanceValue: formatMoney(balance),
        payments: inv.payments.map((p) => ({
          id: p.id,
          date: fmt.datetime(p.date),
          gateway: p.gateway,
          transid: p.transid,
          amountIn: money(p.amountInMinor),
          fees: money(p.feesMinor),
          amountOut: money(p.amountOutMinor),
        })),
        canPay: inv.status !== 'Cancelled',
      },
      today,
      controlsHtml,
      error,
      form: {
        amount: formatMoney(balance),
        date: today,
        transid: '',
        gateway: inv.paymentmethod || 'banktransfer',
        ...form,
      },
    });
  }

  router.post('/invoices.php', ...guard, async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const id = idOf(queryText(req, 'id'));
    if (queryText(req, 'action') !== 'edit' || id === null || !(await loadInvoice(db, id)))
      return notFound(req, res, st, 'Invoice');
    if (field(res, 'sub') !== 'addpayment') return invoiceView(req, res, st, 400, 'Unknown action.');
    const form = {
      amount: field(res, 'amount').trim(),
      date: field(res, 'date').trim(),
      transid: field(res, 'transid').trim().slice(0, 255),
      gateway: field(res, 'gateway').trim().slice(0, 64),
    };
    const amount = decimalAtScaleExact(form.amount, 2, 12);
    if (amount === null || amount <= 0n)
      return invoiceView(
        req,
        res,
        st,
        400,
        'The amount must be greater than zero, with at most two decimals.',
        form,
      );
    if (form.date !== '' && !isIsoDate(form.date))
      return invoiceView(req, res, st, 400, 'The date must be YYYY-MM-DD.', form);
    const actor: Actor = { source: 'adminarea', user: st.admin.id, ip: clientIp(req, ctx.panel.trustProxy) };
    const envelope = await ctx.panel.commands.execute(
      'AddInvoicePayment',
      {
        invoiceid: String(id),
        amount: formatMoney(amount),
        transid: form.transid,
        gateway: form.gateway || 'banktransfer',
        ...(form.date !== '' ? { date: form.date } : {}),
        ...(field(res, 'noemail') !== '' ? { noemail: 'true' } : {}),
      },
      actor,
    );
    if (envelope.result !== 'success') return invoiceView(req, res, st, 400, envelope.message, form);
    flash(req, res, 'success', `Payment of ${formatMoney(amount)} added.`);
    res.redirect(303, to(req, `invoices.php?action=edit&id=${id}`));
  });

  // ---- logs --------------------------------------------------------------------------------------

  router.get('/systememaillog.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const userid = idOf(queryText(req, 'userid')) ?? undefined;
    const p = await emailPage(
      db,
      { ...(userid !== undefined ? { userid } : {}) },
      pageParam(queryText(req, 'page')),
      ctx.perPage,
    );
    await page(req, res, st, 200, 'admin/emails', {
      title: 'Email Message Log',
      active: 'emails',
      userid: userid ?? '',
      emails: p.rows,
      pager: pagerFor(p, 'systememaillog.php', { userid }),
    });
  });

  router.get('/viewemail.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const id = idOf(queryText(req, 'id'));
    const row = id === null ? undefined : await db('tblemails').where({ id }).first();
    if (!row) return notFound(req, res, st, 'Email');
    await page(req, res, st, 200, 'admin/email', {
      title: `Email #${intCell(row.id)}`,
      active: 'emails',
      email: {
        id: intCell(row.id),
        userid: intCell(row.userid),
        date: fmt.datetime(datetimeCell(row.date)),
        to: textCell(row.to),
        cc: textCell(row.cc),
        bcc: textCell(row.bcc),
        subject: textCell(row.subject),
        attachments: textCell(row.attachments),
        message: textCell(row.message),
      },
    });
  });

  router.get('/automationstatus.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const date = queryText(req, 'date');
    if (date !== '') {
      if (!isIsoDate(date)) return notFound(req, res, st, 'Automation run');
      const run = await db('tblpanel_automation_runs').where({ run_date: date }).first();
      const task = /^[A-Za-z]{1,40}$/.test(queryText(req, 'task')) ? queryText(req, 'task') : '';
      const p = await stepPage(db, { date, task }, pageParam(queryText(req, 'page')), ctx.perPage);
      if (!run && p.total === 0) return notFound(req, res, st, 'Automation run');
      const tasks = (
        await db('tblpanel_automation_log').where({ run_date: date }).distinct('task').orderBy('task')
      ).map((r) => textCell(r.task));
      let failures: Array<{ task: string; entity: string; message: string }> = [];
      try {
        const s = run?.summary ? (JSON.parse(textCell(run.summary)) as { failures?: typeof failures }) : {};
        failures = Array.isArray(s.failures) ? s.failures.slice(0, 100) : [];
      } catch {
        failures = [];
      }
      return page(req, res, st, 200, 'admin/automation-run', {
        title: `Automation run ${date}`,
        active: 'automation',
        run: run
          ? {
              date,
              status: textCell(run.status),
              startedAt: fmt.datetime(datetimeCell(run.started_at)),
              finishedAt: fmt.datetime(datetimeCell(run.finished_at)),
              counts: runCounts(run.summary),
            }
          : { date, status: '(no run row)', startedAt: '-', finishedAt: '-', counts: null },
        failures,
        task,
        tasks,
        steps: p.rows,
        pager: pagerFor(p, 'automationstatus.php', { date, task }),
      });
    }
    const p = await runPage(db, pageParam(queryText(req, 'page')), ctx.perPage);
    await page(req, res, st, 200, 'admin/automation-runs', {
      title: 'Automation Log',
      active: 'automation',
      runs: p.rows,
      pager: pagerFor(p, 'automationstatus.php', {}),
    });
  });

  router.get('/systemactivitylog.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const userid = idOf(queryText(req, 'userid')) ?? undefined;
    const q = queryText(req, 'q').trim().slice(0, 100);
    const p = await activityPage(
      db,
      { q, ...(userid !== undefined ? { userid } : {}) },
      pageParam(queryText(req, 'page')),
      ctx.perPage,
    );
    await page(req, res, st, 200, 'admin/activity', {
      title: 'Activity Log',
      active: 'activity',
      userid: userid ?? '',
      q,
      entries: p.rows,
      pager: pagerFor(p, 'systemactivitylog.php', { userid, q }),
    });
  });

  // ---- Setup > Addon Modules ---------------------------------------------------------------------

  async function addonConfigPage(
    req: Request,
    res: Response,
    st: AdminState,
    status: number,
    errors: Record<string, Record<string, string>> = {},
  ): Promise<void> {
    const modules = [];
    for (const info of await ctx.panel.addons.list()) {
      const stored = info.active ? await ctx.panel.addons.settings(info.name) : {};
      modules.push({
        name: info.name,
        label: info.config.name,
        description: info.config.description,
        version: info.config.version,
        installedVersion: info.installedVersion,
        author: info.config.author,
        active: info.active,
        access: stored.access ?? '',
        fields: Object.entries(info.config.fields ?? {}).map(([key, f]) =>
          fieldView(key, f, stored[key] ?? f.Default ?? ''),
        ),
        errors: errors[info.name] ?? {},
      });
    }
    await page(req, res, st, status, 'admin/addon-config', {
      title: 'Addon Modules',
      active: 'setup',
      modules,
    });
  }

  router.get('/configaddonmods.php', async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    if (st.admin.roleid !== FULL_ADMIN_ROLE)
      return page(req, res, st, 403, 'admin/message', {
        title: 'Access Denied',
        message: 'Only a full administrator can configure addon modules.',
      });
    await addonConfigPage(req, res, st, 200);
  });

  router.post('/configaddonmods.php', ...guard, async (req, res) => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    if (st.admin.roleid !== FULL_ADMIN_ROLE)
      return page(req, res, st, 403, 'admin/message', {
        title: 'Access Denied',
        message: 'Only a full administrator can configure addon modules.',
      });
    const name = field(res, 'module');
    const info = /^[a-z][a-z0-9_]{0,63}$/.test(name) ? await ctx.panel.addons.info(name) : null;
    if (!info) return notFound(req, res, st, 'Addon module');
    const action = field(res, 'action');
    const who = {
      description: '',
      userid: 0,
      user: st.admin.username,
      ipaddr: clientIp(req, ctx.panel.trustProxy),
    };
    if (action === 'activate' || action === 'deactivate') {
      const result =
        action === 'activate'
          ? await ctx.panel.addons.activate(name)
          : await ctx.panel.addons.deactivate(name);
      if (result.status !== 'error')
        await ctx.panel.core.activity({
          ...who,
          description: `Addon Module ${action === 'activate' ? 'Activated' : 'Deactivated'}: ${name}`,
        });
      flash(
        req,
        res,
        result.status === 'error' ? 'error' : result.status === 'info' ? 'info' : 'success',
        result.description,
      );
      return res.redirect(303, to(req, 'configaddonmods.php'));
    }
    if (action === 'save') {
      if (!info.active) {
        flash(req, res, 'error', `${info.config.name} is not active.`);
        return res.redirect(303, to(req, 'configaddonmods.php'));
      }
      const posted = bodyOf(res).fields;
      const given = posted && typeof posted === 'object' ? (posted as Record<string, unknown>) : {};
      const values: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(info.config.fields ?? {})) {
        const v = given[key];
        // a password left blank keeps the stored one (it is never sent to the page)
        if (f.Type === 'password' && (v === undefined || v === '')) continue;
        if (f.Type === 'yesno' && v === undefined) continue;
        values[key] = typeof v === 'string' ? v : v === undefined ? '' : v;
      }
      const outcome = await ctx.panel.addons.saveSettings(name, values);
      if (!outcome.ok) return addonConfigPage(req, res, st, 400, { [name]: outcome.errors });
      await ctx.panel.core.activity({ ...who, description: `Addon Module Settings Saved: ${name}` });
      flash(req, res, 'success', `${info.config.name}: changes saved.`);
      return res.redirect(303, to(req, 'configaddonmods.php'));
    }
    flash(req, res, 'error', 'Unknown action.');
    res.redirect(303, to(req, 'configaddonmods.php'));
  });

  // ---- an addon's admin tab ----------------------------------------------------------------------

  const addonTab = async (req: Request, res: Response): Promise<void> => {
    const st = await requireAdmin(req, res);
    if (!st) return;
    const name = queryText(req, 'module');
    if (name === '') {
      return page(req, res, st, 200, 'admin/message', {
        title: 'Addons',
        message: 'Choose an addon from the Addons menu.',
        active: 'addons',
      });
    }
    const info = /^[a-z][a-z0-9_]{0,63}$/.test(name) ? await ctx.panel.addons.info(name) : null;
    if (!info || !info.active || !info.has.output) return notFound(req, res, st, 'Addon module');
    if (!(await ctx.panel.addons.canAccess(name, st.admin.roleid))) {
      return page(req, res, st, 403, 'admin/message', {
        title: 'Access Denied',
        message: `You do not have access to ${info.config.name}.`,
      });
    }
    const request = addonRequest(req, bodyOf(res));
    const language = st.admin.language || 'english';
    let output: unknown;
    try {
      output = await ctx.panel.addons.output(name, { request, adminId: st.admin.id, language });
    } catch (err) {
      // an addon that refuses the request's input (a list where one value goes, …) said why: 400 with its words
      const e = err as { code?: unknown; message?: unknown };
      if (e?.code === 'INVALID_INPUT' && typeof e.message === 'string')
        return page(req, res, st, 400, 'admin/message', { title: 'Bad Request', message: e.message });
      throw err;
    }
    const sidebar = info.has.sidebar
      ? await ctx.panel.addons.sidebar(name, { request, adminId: st.admin.id, language })
      : '';
    await page(req, res, st, 200, 'admin/addon-page', {
      title: info.config.name,
      active: `addon:${name}`,
      addonName: name,
      outputHtml: injectFormToken(String(output ?? ''), st.session.csrf),
      sidebarHtml: injectFormToken(String(sidebar ?? ''), st.session.csrf),
    });
  };

  const setupKit = (what: string) => ({
    guard,
    async requireFullAdmin(req: Request, res: Response) {
      const st = await requireAdmin(req, res);
      if (!st) return null;
      if (st.admin.roleid === FULL_ADMIN_ROLE) return { username: st.admin.username };
      await page(req, res, st, 403, 'admin/message', {
        title: 'Access Denied',
        message: `Only a full administrator can manage ${what}.`,
      });
      return null;
    },
    page: async (req: Request, res: Response, status: number, view: string, data: Record<string, unknown>) =>
      page(req, res, await stateOf(req), status, view, data),
    flash,
    to,
  });
  registerApiCredentialPages(router, ctx, setupKit('API credentials'));
  registerPromotionPages(router, ctx, setupKit('promotions'));

  router.get('/addonmodules.php', addonTab);
  router.post('/addonmodules.php', ...guard, addonTab);

  return router;

  // --------------------------------------------------------------------------------------------

  function invoiceListRow(
    i: Awaited<ReturnType<typeof invoicePage>>['rows'][number],
    currency: Parameters<typeof fmt.money>[1],
    today: string,
  ) {
    return {
      id: i.id,
      userid: i.userid,
      clientName: i.clientName,
      date: fmt.date(i.date),
      duedate: fmt.date(i.duedate),
      status: i.status,
      overdue: i.status === 'Unpaid' && i.duedate !== null && i.duedate < today,
      total: fmt.money(i.totalMinor, currency),
      balance: fmt.money(i.balanceMinor, currency),
      paymentmethod: i.paymentmethod,
    };
  }
}

function pagerForParam(
  p: Parameters<typeof pagerFor>[0],
  path: string,
  params: Record<string, string | number | undefined>,
  pageName: string,
) {
  const pager = pagerFor(p, path, params);
  const rename = (href: string | null) =>
    href === null ? null : href.replace(/([?&])page=/, `$1${pageName}=`);
  return { ...pager, prevHref: rename(pager.prevHref), nextHref: rename(pager.nextHref) };
}

export interface FieldView {
  key: string;
  label: string;
  type: AddonField['Type'];
  description: string;
  value: string;
  size: number;
  rows: number;
  cols: number;
  options: Array<{ value: string; label: string }>;
}

function fieldView(key: string, f: AddonField, value: string): FieldView {
  const num = (v: unknown, d: number) =>
    typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : d;
  const labels = typeof f.Options === 'object' && f.Options !== null ? f.Options : {};
  return {
    key,
    label: f.FriendlyName,
    type: f.Type,
    description: f.Description ?? '',
    // a stored password never goes back to the browser
    value: f.Type === 'password' ? '' : value,
    size: Math.min(num(f.Size, 40), 120),
    rows: Math.min(num(f.Rows, 4), 40),
    cols: Math.min(num(f.Cols, 60), 200),
    options: optionValues(f).map((v) => ({ value: v, label: labels[v] ?? v })),
  };
}
