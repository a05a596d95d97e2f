import crypto from 'node:crypto';
import path from 'node:path';
import ejs from 'ejs';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { escapeHtml } from '../domain/html.js';
import { ModuleError } from '../domain/errors.js';
import { localeForClient } from '../domain/line-text.js';
import type { Href, PanelLinks } from './present-admin.js';
import type { WidgetLinks } from './present-usage.js';
import type { PageUi } from './page-host.js';
import type { WebRouterDeps as Deps } from './router-deps.js';
import { ttlCache } from './ttl-cache.js';
import type { VerifiedToken } from './tokens.js';
import { cookieName, subjectOf, type CookieType, type WebAuth } from './web-auth.js';
import { formBody, type EmbedShell } from './web-middleware.js';
import { idField, inputOf, queryText } from './validation.js';

/**
 * The embed pages (`<base>/embed/client`, `<base>/embed/admin`): the client widget and the admin
 * tab as pages of their own, for a panel that frames them. The token a link carries is moved into
 * an httpOnly cookie; a form posted with that cookie carries the page's CSRF field.
 */
const CLIENT_VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'client');

const ClientPageQuery = z.object({
  service: idField('service'),
  periods: queryText.transform((v) => v || null),
  period: idField('period'),
  lang: queryText,
});
const LangQuery = z.object({ lang: queryText });
const SwitchForm = z.object({ token: z.string({ error: 'the form names no account to switch to' }) });

export interface EmbedContext {
  deps: Deps;
  auth: WebAuth;
  /** the router's mount point, '' at the root */
  base: string;
  apiBase: string;
  ui: PageUi;
  embedShell: EmbedShell;
}

/** what application/x-www-form-urlencoded (URLSearchParams) writes as it is */
const URL_SAFE = /^[A-Za-z0-9*._-]*$/;

type Flash = { kind: 'success' | 'error'; text: string } | null;

const who = (v: VerifiedToken) => `${v.type} ${v.id}`;

function setEmbedCookie(
  cx: EmbedContext,
  req: Request,
  res: Response,
  type: CookieType,
  token: string,
  v: VerifiedToken,
): void {
  res.cookie(cookieName(type), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cx.deps.secureCookies || req.secure,
    path: cx.base || '/',
    maxAge: Math.max(1, v.expiresAt * 1000 - cx.deps.now()),
  });
}

function askBeforeSwitching(
  cx: EmbedContext,
  req: Request,
  res: Response,
  current: VerifiedToken,
  next: VerifiedToken,
  token: string,
): void {
  const page = `${req.baseUrl}${req.path}`;
  const body =
    `<div class="ou"><h1>Switch account?</h1><p>This page is signed in as <strong>${escapeHtml(who(current))}</strong>. The link you followed would sign it in as <strong>${escapeHtml(who(next))}</strong> instead.</p>` +
    `<form method="post" action="${escapeHtml(page)}"><input type="hidden" name="csrf" value="${escapeHtml(cx.deps.signer.csrfFor(current))}"><input type="hidden" name="do" value="switch_identity"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
    `<button type="submit" class="btn btn-primary">Continue as ${escapeHtml(who(next))}</button> <a class="btn btn-default" href="${escapeHtml(page)}">Stay ${escapeHtml(who(current))}</a></form></div>`;
  res
    .status(200)
    .set('Cache-Control', 'no-store')
    .type('html')
    .send(cx.embedShell('en', 'Overusage', body));
}

/**
 * A token in the URL is moved into the httpOnly cookie, and the URL cleaned of it; but it never
 * silently replaces the cookie of someone else (login CSRF: an attacker's link would put the
 * victim in the attacker's account). Then the page asks, and only the person's own click, a
 * form carrying the current session's CSRF field, makes the switch.
 */
function moveTokenToCookie(cx: EmbedContext, req: Request, res: Response, type: CookieType): boolean {
  if (res.locals.via !== 'query') return false;
  const v = subjectOf(res);
  const current = cx.auth.cookieToken(req, type);
  if (current && (current.type !== v.type || current.id !== v.id)) {
    askBeforeSwitching(cx, req, res, current, v, res.locals.token as string);
    return true;
  }
  setEmbedCookie(cx, req, res, type, res.locals.token as string, v);
  const params = new URLSearchParams(
    req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '',
  );
  params.delete('token');
  const qs = params.toString();
  res.redirect(303, `${req.baseUrl}${req.path}${qs ? `?${qs}` : ''}`);
  return true;
}

/** The person's own click on "Continue as …" (a form with the current session's CSRF field). */
async function switchIdentity(
  cx: EmbedContext,
  req: Request,
  res: Response,
  type: CookieType,
): Promise<boolean> {
  const b = (req.body ?? {}) as Record<string, unknown>;
  if (b.do !== 'switch_identity') return false;
  const { token } = inputOf(SwitchForm, b);
  const v = cx.auth.verify(token);
  if (v.type !== (type === 'a' ? 'admin' : 'client') || v.readOnly || v.scope !== 'full')
    throw new ModuleError('NOT_ALLOWED', 'that link cannot open this page');
  const refused = await cx.auth.refusedToken(req, v);
  if (refused) throw new ModuleError('UNAUTHORIZED', refused);
  setEmbedCookie(cx, req, res, type, token, v);
  res.redirect(303, `${req.baseUrl}${req.path}`);
  return true;
}

/** The client's language: `?lang=` first, else the panel's word for the client (kept five minutes). */
function clientLocales(cx: EmbedContext) {
  const languages = ttlCache<string>(5 * 60_000, 10_000, cx.deps.now);
  return async (lang: string, clientId: number): Promise<string> => {
    if (lang === 'nl') return 'nl-NL';
    if (lang === 'en') return 'en-GB';
    const key = String(clientId);
    let language = languages.get(key);
    if (language === undefined) {
      const panel = cx.deps.panel;
      language = panel
        ? await panel.getClientsDetails(clientId).then(
            (c) => c.language,
            () => '',
          )
        : '';
      languages.set(key, language);
    }
    return localeForClient(language);
  };
}

const clientLinks = (cx: EmbedContext, token: string) => (): WidgetLinks => ({
  service: (id) => `${cx.base}/embed/client?service=${id}`,
  form: (id) => `${cx.base}/embed/client?service=${id}`,
  periodCsv: (sid, pid) =>
    `${cx.apiBase}/client/services/${sid}/periods/${pid}/days.csv?token=${encodeURIComponent(token)}`,
  lineCsv: (id) => `${cx.apiBase}/client/lines/${id}/days.csv?token=${encodeURIComponent(token)}`,
  morePeriods: (sid, cursor) =>
    `${cx.base}/embed/client?service=${sid}&periods=${encodeURIComponent(cursor)}`,
  periodChart: (sid, pid) => `${cx.base}/embed/client?service=${sid}&period=${pid}#ou-days-${sid}`,
});

/** The client's page, kept as bytes with its ETag for a while unless it carries a flash. */
function clientPages(cx: EmbedContext) {
  const { deps } = cx;
  const pages = ttlCache<{ body: Buffer; etag: string }>(deps.cacheMs, 2000, deps.now);
  const localeOf = clientLocales(cx);
  const page = async (req: Request, res: Response, flash: Flash) => {
    const v = subjectOf(res);
    const q = inputOf(ClientPageQuery, req.query);
    const locale = await localeOf(q.lang, v.id);
    const key = `${v.id}|${deps.widget.generation(v.id)}|${v.nonce}|${q.service ?? ''}|${q.periods ?? ''}|${q.period ?? ''}|${locale}`;
    let cached = flash ? undefined : pages.get(key);
    if (cached === undefined) {
      const links = clientLinks(
        cx,
        deps.signer.issue({ type: 'client', id: v.id }, { readOnly: true }).token,
      );
      const view = await deps.widget.view({
        clientId: v.id,
        locale,
        serviceId: q.service,
        periodsBefore: q.periods,
        periodId: q.period,
        surface: 'embed',
        links,
      });
      const inner = await ejs.renderFile(
        path.join(CLIENT_VIEWS, 'usage.ejs'),
        {
          view: flash ? { ...view, flash } : view,
          ui: cx.ui,
          csrf: { name: 'csrf', value: deps.signer.csrfFor(v) },
        },
        { cache: true },
      );
      // kept as bytes with their ETag: express would encode and hash the same page on every request
      const body = Buffer.from(cx.embedShell(view.lang, view.w.title, inner), 'utf8');
      cached = { body, etag: `W/"${crypto.createHash('sha1').update(body).digest('base64url')}"` };
      if (!flash) pages.set(key, cached);
    }
    res.set('Cache-Control', 'private, no-store').set('ETag', cached.etag).type('html').send(cached.body);
  };
  return { page, localeOf };
}

function adminPages(cx: EmbedContext) {
  const adminHref: Href = (params) => {
    const fields: Array<[string, string]> = [];
    let plain = true;
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (v === undefined || v === null || v === '') continue;
      const text = String(v);
      plain &&= URL_SAFE.test(k) && URL_SAFE.test(text);
      fields.push([k, text]);
    }
    // a page has a hundred links (two a row): ids and names need no encoding, and URLSearchParams
    // would leave them as they are
    const qs = plain ? fields.map(([k, v]) => `${k}=${v}`).join('&') : new URLSearchParams(fields).toString();
    return `${cx.base}/embed/admin${qs ? `?${qs}` : ''}`;
  };
  return async (req: Request, res: Response) => {
    const v = subjectOf(res);
    const query = { ...(req.query as Record<string, unknown>) };
    delete query.token;
    const request = { method: req.method, query, body: (req.body ?? {}) as Record<string, unknown> };
    const csrf = { name: 'csrf', value: cx.deps.signer.csrfFor(v) };
    const html = await cx.deps.adminTab({
      adminId: v.id,
      request,
      href: adminHref,
      panel: null as PanelLinks | null,
      csrf,
      ui: cx.ui,
      downloads: 'api',
      session: res.locals.via === 'cookie' ? v.nonce : 'h',
    });
    res
      .set('Cache-Control', 'private, no-store')
      .type('html')
      .send(cx.embedShell('en', 'Overusage', html));
  };
}

/** /embed/client and /embed/admin, each a GET (open, token moved to the cookie) and a POST (a form). */
export function createEmbedRouter(cx: EmbedContext): Router {
  const { auth } = cx;
  const r = express.Router();
  const cookies: RequestHandler = (req, res, next) =>
    req.headers.authorization ? next() : auth.parseCookies(req, res, next);
  const client = clientPages(cx);
  const adminPage = adminPages(cx);
  r.get('/embed/client', cookies, auth.authenticate('client', 'c'), async (req, res) => {
    if (moveTokenToCookie(cx, req, res, 'c')) return;
    await client.page(req, res, null);
  });
  r.post(
    '/embed/client',
    cookies,
    formBody,
    auth.authenticate('client', 'c'),
    auth.checkCsrf,
    async (req, res) => {
      if (await switchIdentity(cx, req, res, 'c')) return;
      const v = subjectOf(res);
      const flash = await cx.deps.widget.post(
        v.id,
        (req.body ?? {}) as Record<string, unknown>,
        await client.localeOf(inputOf(LangQuery, req.query).lang, v.id),
        v.by,
      );
      await client.page(req, res, flash);
    },
  );
  r.get('/embed/admin', cookies, auth.authenticate('admin', 'a'), async (req, res) => {
    if (moveTokenToCookie(cx, req, res, 'a')) return;
    await adminPage(req, res);
  });
  r.post(
    '/embed/admin',
    cookies,
    formBody,
    auth.authenticate('admin', 'a'),
    auth.checkCsrf,
    async (req, res) => {
      if (await switchIdentity(cx, req, res, 'a')) return;
      await adminPage(req, res);
    },
  );
  return r;
}
