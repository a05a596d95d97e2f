import crypto from 'node:crypto';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import ejs from 'ejs';
import { escapeHtml } from '../domain/html.js';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { Knex } from 'knex';
import { capActionInForce, type CapService } from '../services/caps.js';
import type { PoolService } from '../services/pools.js';
import type { UpgradeService } from '../services/upgrades.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { Clock } from '../domain/clock.js';
import type { Adjustment, Resolution } from '../domain/dispute-state.js';
import { HTTP_STATUS, invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { localeForClient } from '../domain/line-text.js';
import type { Logger } from '../adapters/logger.js';
import { PanelApiError, type PanelApi } from '../adapters/panel-api.js';
import type { AdminReads } from '../services/admin-reads.js';
import type { BillingSettingsService } from '../services/billing-settings.js';
import type { DisputeService } from '../services/disputes.js';
import { daysCsv, evidenceJson, samplesCsv, toCsv, type EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import type { SettingsService } from '../services/settings.js';
import { idCursor, pageLimit, type UsageReads } from '../services/usage-reads.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import { panelHasProduct, type AdminTab } from './admin-tab.js';
import {
  anomalyJson,
  auditJson,
  chargeJson,
  clientAnomalyJson,
  clientDisputeJson,
  clientLineJson,
  dayJson,
  disputeRowJson,
  disputeViewJson,
  lineJson,
  money,
  periodJson,
  sampleJson,
  serviceListJson,
  serviceRowJson,
  serviceUsageJson,
  rerateJson,
  usagePeriodJson,
} from './api-json.js';
import type { Href, PanelLinks } from './present-admin.js';
import type { WidgetLinks } from './present-usage.js';
import type { DisputeLimiter } from './rate-limit.js';
import { ttlCache } from './ttl-cache.js';
import { DEFAULT_TOKEN_TTL_SECONDS, type Subject, type TokenSigner, type VerifiedToken } from './tokens.js';
import type { TokenRevocations } from '../adapters/token-revocations.js';
import type { AdminDirectory } from '../services/admin-directory.js';
import { nameTheAnswer, type NameDirectory } from './name-directory.js';
import type { Actor } from '../adapters/audit-store.js';
import { auditLog } from '../adapters/audit-store.js';
import type { Widget } from './widget.js';
import { LINES_CSV_HEADER, lineCsvRow, lineFilterOf, periodDaysCsv } from './downloads.js';
import { uiFor } from './page-host.js';
import { flatFields, refuseObjectKeys } from './validation.js';
import { formatAmount } from '../domain/line-text.js';
import { ADMIN_LOCALE } from './present-admin.js';

/**
 * The module's own HTTP surface, mounted by the demo app and `overusage serve`:
 *
 *   <base>/api/v1/…       the JSON API (docs/openapi.yaml) behind the widget and the admin tab
 *   <base>/embed/client   the client widget as a page of its own, for a panel that embeds it
 *   <base>/embed/admin    the admin tab likewise
 *   <base>/assets/…       the stylesheet and the one script (same origin: the CSP allows no inline script)
 *
 * Every request names its admin or client with a signed token (tokens.ts): `Authorization: Bearer`
 * on any route; `?token=` on GET only (downloads, opening an embed page); the embed pages keep it in
 * an httpOnly cookie and check their own CSRF field on POST. A client reaches only their own
 * services, lines and disputes: anything else answers 404, as if it did not exist. Errors are
 * {error: {code, message}} with the status of the code; never a stack trace.
 */
export interface WebRouterDeps {
  basePath: string;
  signer: TokenSigner;
  widget: Widget;
  adminTab: AdminTab;
  reads: UsageReads;
  admin: AdminReads;
  disputes: DisputeService | undefined;
  usagePeriods: UsagePeriodService;
  syncIssues: () => Promise<Array<{ serviceId: number; clientId: number; productId: number; domain: string; reason: string; seenAt: string }>>;
  evidence: EvidenceService;
  masters: MasterService;
  billing: BillingSettingsService;
  settings: SettingsService;
  links: ServiceLinkService;
  panel: PanelApi | undefined;
  limiter: DisputeLimiter;
  /** revoked tokens (logout, disabled admins), kept in the database */
  revocations: TokenRevocations;
  knex: Knex;
  /** client-chosen caps, and the limit policy run that carries a change out at once */
  caps?: { service: CapService; applyNow: () => Promise<unknown> };
  /** transfer pools' rated months (module/services/pools.ts) */
  pools?: PoolService;
  /** upgrade suggestions and what came of them */
  upgrades?: UpgradeService;
  /** the panel's admins: a token of an admin who is disabled or gone is refused */
  admins: AdminDirectory;
  /** the panel's names for the ids in an admin's answers */
  names: NameDirectory;
  clock: Clock;
  log: Logger;
  now: () => number;
  cacheMs: number;
  helmet?: HelmetOptions;
  /** origins allowed to frame the embed pages (CSP frame-ancestors); default: this origin only */
  frameAncestors?: string[];
  /** mark the embed cookie Secure on every request (behind TLS); otherwise only over TLS */
  secureCookies?: boolean;
}

/**
 * The JSON answers carry the panel's names beside the ids (name-directory.ts): res.json is
 * wrapped once here rather than in each of the forty routes. Refusals go out as they are.
 */
function namedAnswers(names: NameDirectory, log: Logger): express.RequestHandler {
  return (_req, res, next) => {
    const send = res.json.bind(res);
    res.json = ((body: unknown) => {
      if (res.statusCode >= 400 || body === null || typeof body !== 'object') return send(body);
      nameTheAnswer(body, names).then(
        () => send(body),
        (err: unknown) => {
          // names are a courtesy: the answer goes out with its ids
          log.warn('api.naming_failed', { message: (err as Error).message });
          send(body);
        },
      );
      return res;
    }) as typeof res.json;
    next();
  };
}

const ASSETS_DIR = path.resolve(import.meta.dirname, '..', '..', 'views', 'assets');
const CLIENT_VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'client');

/** Every route, for the tests that check each one is answered and documented. */
export const WEB_ROUTES: ReadonlyArray<readonly [method: string, path: string]> = [
  ['GET', '/assets/overusage.css'],
  ['GET', '/assets/overusage-page.css'],
  ['GET', '/assets/overusage.js'],
  ['GET', '/embed/client'],
  ['POST', '/embed/client'],
  ['GET', '/embed/admin'],
  ['POST', '/embed/admin'],
  ['GET', '/api/v1/me'],
  ['POST', '/api/v1/logout'],
  ['GET', '/api/v1/client/services'],
  ['GET', '/api/v1/client/services/{serviceId}'],
  ['GET', '/api/v1/client/services/{serviceId}/periods'],
  ['GET', '/api/v1/client/services/{serviceId}/usage-periods'],
  ['GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days'],
  ['GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days.csv'],
  ['GET', '/api/v1/client/lines'],
  ['GET', '/api/v1/client/lines/{lineId}'],
  ['GET', '/api/v1/client/lines/{lineId}/evidence'],
  ['GET', '/api/v1/client/lines/{lineId}/days.csv'],
  ['GET', '/api/v1/client/lines/{lineId}/samples.csv'],
  ['POST', '/api/v1/client/lines/{lineId}/dispute'],
  ['GET', '/api/v1/client/disputes/{disputeId}'],
  ['POST', '/api/v1/client/disputes/{disputeId}/withdraw'],
  ['GET', '/api/v1/client/services/{serviceId}/cap'],
  ['PUT', '/api/v1/client/services/{serviceId}/cap'],
  ['POST', '/api/v1/client/services/{serviceId}/cap/lift'],
  ['GET', '/api/v1/admin/dashboard'],
  ['GET', '/api/v1/admin/services'],
  ['GET', '/api/v1/admin/services/{serviceId}'],
  ['POST', '/api/v1/admin/services/{serviceId}/active'],
  ['GET', '/api/v1/admin/services/{serviceId}/samples'],
  ['GET', '/api/v1/admin/services/{serviceId}/periods'],
  ['GET', '/api/v1/admin/services/{serviceId}/periods/{periodId}/days.csv'],
  ['GET', '/api/v1/admin/services/{serviceId}/usage-periods'],
  ['GET', '/api/v1/admin/sync-issues'],
  ['GET', '/api/v1/admin/pools'],
  ['GET', '/api/v1/admin/caps'],
  ['GET', '/api/v1/admin/upgrades'],
  ['GET', '/api/v1/admin/anomalies'],
  ['POST', '/api/v1/admin/anomalies/{anomalyId}/decide'],
  ['GET', '/api/v1/admin/corrections'],
  ['POST', '/api/v1/admin/corrections/{chargeId}/settle'],
  ['GET', '/api/v1/admin/disputes'],
  ['GET', '/api/v1/admin/disputes/{disputeId}'],
  ['POST', '/api/v1/admin/disputes/{disputeId}/preview'],
  ['POST', '/api/v1/admin/disputes/{disputeId}/resolve'],
  ['GET', '/api/v1/admin/lines'],
  ['GET', '/api/v1/admin/lines.csv'],
  ['GET', '/api/v1/admin/lines/{lineId}'],
  ['GET', '/api/v1/admin/lines/{lineId}/evidence'],
  ['GET', '/api/v1/admin/lines/{lineId}/days.csv'],
  ['GET', '/api/v1/admin/lines/{lineId}/samples.csv'],
  ['POST', '/api/v1/admin/lines/{lineId}/dispute'],
  ['GET', '/api/v1/admin/masters'],
  ['POST', '/api/v1/admin/masters/{masterId}/test'],
  ['GET', '/api/v1/admin/products'],
  ['PUT', '/api/v1/admin/products/{productId}'],
  ['GET', '/api/v1/admin/settings'],
  ['PUT', '/api/v1/admin/settings'],
  ['GET', '/api/v1/admin/audit'],
  ['POST', '/api/v1/admin/tokens'],
];

/** Outcome codes of the dispute service → HTTP status. */
const REFUSAL_STATUS: Record<string, number> = {
  WINDOW_CLOSED: 422,
  REASON_REQUIRED: 422,
  NO_PRECOMMIT_RATE: 422,
  ALREADY_DISPUTED: 409,
  NOT_DISPUTABLE: 409,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  NOT_ALLOWED: 403,
};

const pathId = (v: unknown, what: string): number => {
  if (typeof v !== 'string' || !/^[1-9]\d{0,15}$/.test(v)) throw notFound(`no such ${what}`);
  return Number(v);
};

const text = (v: unknown): string => (typeof v === 'string' ? v : '');


export function createWebRouter(deps: WebRouterDeps): Router {
  const base = deps.basePath.replace(/\/+$/, '');
  const apiBase = `${base}/api/v1`;
  const assets = `${base}/assets`;
  const r = express.Router();
  const languages = ttlCache<string>(5 * 60_000, 10_000, deps.now);
  const pages = ttlCache<{ body: Buffer; etag: string }>(deps.cacheMs, 2000, deps.now);
  // a token is checked once and remembered (its expiry is still checked on every use)
  const verified = new Map<string, VerifiedToken>();
  const verify = (token: string): VerifiedToken => {
    const hit = verified.get(token);
    if (hit && hit.expiresAt * 1000 > deps.now()) return hit;
    const v = deps.signer.verify(token);
    if (verified.size >= 10_000) verified.clear();
    verified.set(token, v);
    return v;
  };
  const now = () => deps.clock.now();

  const headers = helmet(
    deps.helmet ?? {
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null, frameAncestors: deps.frameAncestors ?? ["'self'"] } },
      // frame-ancestors says who may frame the pages; the older header would forbid every other origin
      ...(deps.frameAncestors ? { xFrameOptions: false } : {}),
    },
  );
  r.use(headers);

  // ---- assets ---------------------------------------------------------------------------------
  r.get('/assets/:file', (req, res, next) => {
    const file = req.params.file;
    if (file !== 'overusage.css' && file !== 'overusage-page.css' && file !== 'overusage.js') return next();
    res.set('Cache-Control', 'public, max-age=3600').type(file.endsWith('.css') ? 'css' : 'js').sendFile(path.join(ASSETS_DIR, file));
  });

  // ---- authentication -------------------------------------------------------------------------
  const parseCookies = cookieParser();
  const cookieName = (type: 'a' | 'c') => `ou_embed_${type}`;

  function tokenOf(req: Request, cookie: 'a' | 'c' | null): { token: string; via: 'bearer' | 'query' | 'cookie' } | null {
    const h = req.get('authorization');
    if (h !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      if (!m) throw new ModuleError('UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
      return { token: m[1]!, via: 'bearer' };
    }
    const q = (req.query as Record<string, unknown>).token;
    if ((req.method === 'GET' || req.method === 'HEAD') && typeof q === 'string' && q !== '') return { token: q, via: 'query' };
    if (cookie) {
      const c = (req.cookies as Record<string, unknown> | undefined)?.[cookieName(cookie)];
      if (typeof c === 'string' && c !== '') return { token: c, via: 'cookie' };
    }
    return null;
  }

  /** The token of an embed page's cookie, if the request carries a good one. */
  function cookieToken(req: Request, type: 'a' | 'c'): VerifiedToken | null {
    const c = (req.cookies as Record<string, unknown> | undefined)?.[cookieName(type)];
    if (typeof c !== 'string' || c === '') return null;
    try {
      return verify(c);
    } catch {
      return null;
    }
  }

  /** Why a token that verifies is refused all the same (revoked, its admin gone, its session missing), or null. */
  async function refusedToken(req: Request, v: VerifiedToken): Promise<string | null> {
    const revoked = await deps.revocations.check(v);
    if (revoked) return `the access token was revoked (${revoked})`;
    // the admins behind it must still be the panel's admins: a disabled one's tokens are revoked for good
    for (const adminId of new Set([v.type === 'admin' ? v.id : null, v.by].filter((x): x is number => x !== null))) {
      const status = await deps.admins.status(adminId);
      if (status === 'disabled') await deps.revocations.revokeSubject({ type: 'admin', id: adminId }, 'admin disabled');
      if (status === 'disabled' || status === 'missing') return `the access token names an admin who is ${status === 'disabled' ? 'disabled' : 'not an admin of the panel'}`;
    }
    // bound to an embed page's session: only with that page's cookie
    if (v.bound !== null && v.bound !== 'h') {
      if (!req.cookies) await new Promise<void>((done, fail) => parseCookies(req, {} as Response, (err?: unknown) => (err ? fail(err) : done())));
      const session = cookieToken(req, v.type === 'admin' ? 'a' : 'c');
      if (!session || session.nonce !== v.bound) return 'the access token belongs to a page session this request does not come from';
    }
    return null;
  }

  const authenticate =
    (want: 'admin' | 'client' | 'any', cookie: 'a' | 'c' | null = null): RequestHandler =>
    async (req, res, next) => {
      const found = tokenOf(req, cookie);
      if (!found) throw new ModuleError('UNAUTHORIZED', 'an access token is required (Authorization: Bearer <token>)');
      const v = verify(found.token);
      if (want !== 'any' && v.type !== want) throw new ModuleError('NOT_ALLOWED', want === 'admin' ? 'this needs an admin token' : 'this needs a client token');
      // a download link's token reads; it neither posts nor opens a page that posts
      if (v.readOnly && (cookie !== null || (req.method !== 'GET' && req.method !== 'HEAD'))) throw new ModuleError('NOT_ALLOWED', 'this token is for reading only');
      // the admin tab's script token reads and previews a resolution; nothing else
      if (v.scope === 'tab' && (cookie !== null || !(req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/disputes\/[^/]+\/preview$/.test(req.path))))) {
        throw new ModuleError('NOT_ALLOWED', "the admin tab's token only reads and previews");
      }
      const refused = await refusedToken(req, v);
      if (refused) throw new ModuleError('UNAUTHORIZED', refused);
      res.locals.subject = v;
      res.locals.subjectKey = `${v.type}:${v.id}`;
      res.locals.via = found.via;
      res.locals.token = found.token;
      next();
    };

  const subjectOf = (res: Response): VerifiedToken => res.locals.subject as VerifiedToken;
  /** who acts: the token's subject, and the admin who minted it for them ("admin X acting as client Y") */
  const actorOf = (v: VerifiedToken): Actor => ({ type: v.type, id: String(v.id), ...(v.by !== null ? { actingAdminId: String(v.by) } : {}) });

  async function clientLocale(req: Request, clientId: number): Promise<string> {
    const lang = text((req.query as Record<string, unknown>).lang);
    if (lang === 'nl') return 'nl-NL';
    if (lang === 'en') return 'en-GB';
    const key = String(clientId);
    let language = languages.get(key);
    if (language === undefined) {
      language = deps.panel ? await deps.panel.getClientsDetails(clientId).then((c) => c.language, () => '') : '';
      languages.set(key, language);
    }
    return localeForClient(language);
  }

  // every body through the validation layer: no field named like Object's own properties, a form flat
  const thenCheck =
    (parser: RequestHandler, check: (body: unknown) => void): RequestHandler =>
    (req, res, next) =>
      parser(req, res, (err?: unknown) => {
        if (err) return next(err);
        try {
          check(req.body);
          next();
        } catch (e) {
          next(e);
        }
      });
  const json = thenCheck(express.json({ limit: '32kb' }), (b) => refuseObjectKeys(b, 'body'));
  const form = thenCheck(express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 100 }), (b) => flatFields(b, 'form'));
  // and every query: one value per field
  r.use((req, _res, next) => {
    flatFields(req.query, 'query');
    next();
  });
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  const csv = (res: Response, name: string, body: string) => {
    res.set('Content-Type', 'text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, '_')}"`).send(body);
  };
  const requireDisputes = (): DisputeService => {
    if (!deps.disputes) throw notFound('disputes are not available: the module has no panel API');
    return deps.disputes;
  };

  function adjustmentOf(v: unknown): Adjustment {
    const a = (v ?? {}) as Record<string, unknown>;
    if (a.kind === 'precommit') return { kind: 'precommit' };
    if (a.kind === 'share' && typeof a.percent === 'string') return { kind: 'share', percent: a.percent };
    if (a.kind === 'amount' && typeof a.amount === 'string') return { kind: 'amount', amount: a.amount };
    throw invalidInput('adjustment must be {"kind":"precommit"}, {"kind":"share","percent":"50"} or {"kind":"amount","amount":"250.00"}');
  }

  function refusal(res: Response, outcome: { code: string; message: string; details?: Record<string, unknown> }) {
    res.status(REFUSAL_STATUS[outcome.code] ?? 409).json({ error: { code: outcome.code, message: outcome.message, ...(outcome.details ? { details: outcome.details } : {}) } });
  }

  // ---- embed pages ------------------------------------------------------------------------------
  const cookies: RequestHandler = (req, res, next) => (req.headers.authorization ? next() : parseCookies(req, res, next));
  const ui = uiFor(null, assets);
  const embedShell = (lang: string, title: string, body: string) =>
    `<!doctype html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>${ui.styles.map((href) => `<link rel="stylesheet" href="${href}">`).join('')}</head><body class="ou-embed"><main style="max-width:1100px;margin:0 auto;padding:1rem">${body}</main></body></html>`;

  /** A token in the URL is moved into the httpOnly cookie, and the URL cleaned of it. */
  /**
   * A token in the URL is moved into the httpOnly cookie, and the URL cleaned of it; but it never
   * silently replaces the cookie of someone else (login CSRF: an attacker's link would put the
   * victim in the attacker's account). Then the page asks, and only the person's own click, a
   * form carrying the current session's CSRF field, makes the switch.
   */
  function moveTokenToCookie(req: Request, res: Response, type: 'a' | 'c'): boolean {
    if (res.locals.via !== 'query') return false;
    const v = subjectOf(res);
    const current = cookieToken(req, type);
    if (current && (current.type !== v.type || current.id !== v.id)) {
      askBeforeSwitching(req, res, current, v, res.locals.token as string);
      return true;
    }
    setEmbedCookie(req, res, type, res.locals.token as string, v);
    const params = new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '');
    params.delete('token');
    const qs = params.toString();
    res.redirect(303, `${req.baseUrl}${req.path}${qs ? `?${qs}` : ''}`);
    return true;
  }

  const who = (v: VerifiedToken) => `${v.type} ${v.id}`;

  function askBeforeSwitching(req: Request, res: Response, current: VerifiedToken, next: VerifiedToken, token: string): void {
    const page = `${req.baseUrl}${req.path}`;
    const body =
      `<div class="ou"><h1>Switch account?</h1><p>This page is signed in as <strong>${escapeHtml(who(current))}</strong>. The link you followed would sign it in as <strong>${escapeHtml(who(next))}</strong> instead.</p>` +
      `<form method="post" action="${escapeHtml(page)}"><input type="hidden" name="csrf" value="${escapeHtml(deps.signer.csrfFor(current))}"><input type="hidden" name="do" value="switch_identity"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
      `<button type="submit" class="btn btn-primary">Continue as ${escapeHtml(who(next))}</button> <a class="btn btn-default" href="${escapeHtml(page)}">Stay ${escapeHtml(who(current))}</a></form></div>`;
    res.status(200).set('Cache-Control', 'no-store').type('html').send(embedShell('en', 'Overusage', body));
  }

  /** The person's own click on "Continue as …" (a form with the current session's CSRF field). */
  async function switchIdentity(req: Request, res: Response, type: 'a' | 'c'): Promise<boolean> {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.do !== 'switch_identity') return false;
    if (typeof b.token !== 'string') throw invalidInput('the form names no account to switch to');
    const v = verify(b.token);
    if (v.type !== (type === 'a' ? 'admin' : 'client') || v.readOnly || v.scope !== 'full') throw new ModuleError('NOT_ALLOWED', 'that link cannot open this page');
    const refused = await refusedToken(req, v);
    if (refused) throw new ModuleError('UNAUTHORIZED', refused);
    setEmbedCookie(req, res, type, b.token, v);
    res.redirect(303, `${req.baseUrl}${req.path}`);
    return true;
  }

  function setEmbedCookie(req: Request, res: Response, type: 'a' | 'c', token: string, v: VerifiedToken): void {
    res.cookie(cookieName(type), token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.secureCookies || req.secure,
      path: base || '/',
      maxAge: Math.max(1, v.expiresAt * 1000 - deps.now()),
    });
  }

  const checkCsrf: RequestHandler = (req, res, next) => {
    // a bearer header cannot be sent by another site's form; a cookie can, so it needs the field
    if (res.locals.via === 'cookie' && !deps.signer.checkCsrf(subjectOf(res), (req.body as Record<string, unknown> | undefined)?.csrf)) {
      throw new ModuleError('NOT_ALLOWED', 'the form has expired or did not come from this page; reload it and try again');
    }
    next();
  };

  const clientLinks = (token: string) => (): WidgetLinks => ({
    service: (id) => `${base}/embed/client?service=${id}`,
    form: (id) => `${base}/embed/client?service=${id}`,
    periodCsv: (sid, pid) => `${apiBase}/client/services/${sid}/periods/${pid}/days.csv?token=${encodeURIComponent(token)}`,
    lineCsv: (id) => `${apiBase}/client/lines/${id}/days.csv?token=${encodeURIComponent(token)}`,
    morePeriods: (sid, cursor) => `${base}/embed/client?service=${sid}&periods=${encodeURIComponent(cursor)}`,
    periodChart: (sid, pid) => `${base}/embed/client?service=${sid}&period=${pid}#ou-days-${sid}`,
  });

  async function clientPage(req: Request, res: Response, flash: { kind: 'success' | 'error'; text: string } | null) {
    const v = subjectOf(res);
    const q = req.query as Record<string, unknown>;
    const serviceId = idCursor(text(q.service), 'service');
    const periods = text(q.periods) || null;
    const periodId = idCursor(text(q.period), 'period');
    const locale = await clientLocale(req, v.id);
    const key = `${v.id}|${deps.widget.generation(v.id)}|${v.nonce}|${serviceId ?? ''}|${periods ?? ''}|${periodId ?? ''}|${locale}`;
    let page = flash ? undefined : pages.get(key);
    if (page === undefined) {
      const view = await deps.widget.view({ clientId: v.id, locale, serviceId, periodsBefore: periods, periodId, surface: 'embed', links: clientLinks(deps.signer.issue({ type: 'client', id: v.id }, { readOnly: true }).token) });
      const html = embedShell(view.lang, view.w.title, await ejs.renderFile(path.join(CLIENT_VIEWS, 'usage.ejs'), { view: flash ? { ...view, flash } : view, ui, csrf: { name: 'csrf', value: deps.signer.csrfFor(v) } }, { cache: true }));
      // kept as bytes with their ETag: express would encode and hash the same page on every request
      const body = Buffer.from(html, 'utf8');
      page = { body, etag: `W/"${crypto.createHash('sha1').update(body).digest('base64url')}"` };
      if (!flash) pages.set(key, page);
    }
    res.set('Cache-Control', 'private, no-store').set('ETag', page.etag).type('html').send(page.body);
  }

  r.get('/embed/client', cookies, authenticate('client', 'c'), async (req, res) => {
    if (moveTokenToCookie(req, res, 'c')) return;
    await clientPage(req, res, null);
  });
  r.post('/embed/client', cookies, form, authenticate('client', 'c'), checkCsrf, async (req, res) => {
    if (await switchIdentity(req, res, 'c')) return;
    const v = subjectOf(res);
    const flash = await deps.widget.post(v.id, (req.body ?? {}) as Record<string, unknown>, await clientLocale(req, v.id), v.by);
    await clientPage(req, res, flash);
  });

  const adminHref: Href = (params) => {
    const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]): [string, string] => [k, String(v)])).toString();
    return `${base}/embed/admin${qs ? `?${qs}` : ''}`;
  };
  async function adminPage(req: Request, res: Response) {
    const v = subjectOf(res);
    const query = { ...(req.query as Record<string, unknown>) };
    delete query.token;
    const html = await deps.adminTab({ adminId: v.id, request: { method: req.method, query, body: (req.body ?? {}) as Record<string, unknown> }, href: adminHref, panel: null as PanelLinks | null, csrf: { name: 'csrf', value: deps.signer.csrfFor(v) }, ui, downloads: 'api', session: res.locals.via === 'cookie' ? v.nonce : 'h' });
    res.set('Cache-Control', 'private, no-store').type('html').send(embedShell('en', 'Overusage', html));
  }
  r.get('/embed/admin', cookies, authenticate('admin', 'a'), async (req, res) => {
    if (moveTokenToCookie(req, res, 'a')) return;
    await adminPage(req, res);
  });
  r.post('/embed/admin', cookies, form, authenticate('admin', 'a'), checkCsrf, async (req, res) => {
    if (await switchIdentity(req, res, 'a')) return;
    await adminPage(req, res);
  });

  // ---- JSON API: who am I ----------------------------------------------------------------------
  const api = express.Router();
  api.use(noStore);
  api.get('/me', authenticate('any'), (_req, res) => {
    const v = subjectOf(res);
    res.json({ subject: { type: v.type, id: v.id }, expiresAt: new Date(v.expiresAt * 1000).toISOString() });
  });
  // the token that calls it is revoked, and every token bound to it; kept in the database
  api.post('/logout', authenticate('any'), async (_req, res) => {
    const v = subjectOf(res);
    await deps.revocations.revokeToken(v, 'logout');
    res.status(204).end();
  });

  // ---- JSON API: client -------------------------------------------------------------------------
  const client = express.Router();
  client.use(authenticate('client'));
  // a client's answers hold only their own ids: their own names beside them
  client.use(namedAnswers(deps.names, deps.log));
  const me = (res: Response) => subjectOf(res).id;

  client.get('/services', async (_req, res) => {
    const clientId = me(res);
    const [rows, labels] = await Promise.all([deps.reads.clientServices(clientId), deps.widget.labels(clientId)]);
    res.json({ services: rows.map((s) => serviceRowJson(s, labels.get(s.serviceId) ?? null)) });
  });
  client.get('/services/:serviceId', async (req, res) => {
    const clientId = me(res);
    const u = await deps.reads.serviceUsage(pathId(req.params.serviceId, 'service'), { clientId });
    res.json({ service: serviceUsageJson(u, (await deps.widget.labels(clientId)).get(u.service.serviceId) ?? null) });
  });
  client.get('/services/:serviceId/periods', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const p = await deps.reads.periods(pathId(req.params.serviceId, 'service'), { clientId: me(res), before: text(q.before) || null, limit: pageLimit(q.limit, 12, 100) });
    res.json({ periods: p.rows.map(periodJson), next: p.next });
  });
  client.get('/services/:serviceId/usage-periods', async (req, res) => {
    // the client's own view: what metering found, without the operators' notes
    const periods = await deps.usagePeriods.periods(pathId(req.params.serviceId, 'service'), { clientId: me(res), limit: pageLimit((req.query as Record<string, unknown>).limit, 24, 240) });
    res.json({ periods: periods.map((p) => ({ ...usagePeriodJson(p), anomalies: p.anomalies.map(clientAnomalyJson) })) });
  });
  client.get('/services/:serviceId/periods/:periodId/days', async (req, res) => {
    const { period, days } = await deps.reads.periodDays(pathId(req.params.serviceId, 'service'), pathId(req.params.periodId, 'period'), { clientId: me(res) });
    res.json({ period: periodJson(period), days: days.map(dayJson) });
  });
  client.get('/services/:serviceId/periods/:periodId/days.csv', async (req, res) => {
    const sid = pathId(req.params.serviceId, 'service');
    const { period, days } = await deps.reads.periodDays(sid, pathId(req.params.periodId, 'period'), { clientId: me(res) });
    csv(res, `overusage-${sid}-${period.startDate}-days.csv`, periodDaysCsv(days));
  });
  client.get('/lines', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const service = idCursor(text(q.service), 'service');
    const p = await deps.reads.lines({ clientId: me(res), ...(service !== null ? { serviceId: service } : {}) }, { before: idCursor(text(q.before)), limit: pageLimit(q.limit) });
    res.json({ lines: p.rows.map((l) => clientLineJson(l, now())), next: p.next });
  });
  client.get('/lines/:lineId', async (req, res) => {
    res.json({ line: clientLineJson(await deps.reads.line(pathId(req.params.lineId, 'line'), { clientId: me(res) }), now()) });
  });
  client.get('/lines/:lineId/evidence', async (req, res) => {
    res.type('json').send(evidenceJson(await deps.evidence.forLine(pathId(req.params.lineId, 'line'), { clientId: me(res) })));
  });
  client.get('/lines/:lineId/days.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathId(req.params.lineId, 'line'), { clientId: me(res) });
    csv(res, `${e.line.refCode}-days.csv`, daysCsv(e));
  });
  client.get('/lines/:lineId/samples.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathId(req.params.lineId, 'line'), { clientId: me(res) });
    csv(res, `${e.line.refCode}-samples.csv`, samplesCsv(e));
  });
  client.post('/lines/:lineId/dispute', deps.limiter.middleware, json, async (req, res) => {
    const disputes = requireDisputes();
    const clientId = me(res);
    const lineId = pathId(req.params.lineId, 'line');
    const reason = (req.body as Record<string, unknown> | undefined)?.reason;
    if (typeof reason !== 'string') throw invalidInput('reason is required: say why you dispute this line');
    const outcome = await disputes.open({ lineId, reason: reason.slice(0, 4000), actor: actorOf(subjectOf(res)) });
    deps.widget.invalidate(clientId);
    if (!outcome.ok) return refusal(res, outcome);
    res.status(201).json({ dispute: clientDisputeJson(outcome.value) });
  });
  client.get('/disputes/:disputeId', async (req, res) => {
    res.json({ dispute: clientDisputeJson(await requireDisputes().get(pathId(req.params.disputeId, 'dispute'), { clientId: me(res) })) });
  });
  client.post('/disputes/:disputeId/withdraw', json, async (req, res) => {
    const disputes = requireDisputes();
    const clientId = me(res);
    const disputeId = pathId(req.params.disputeId, 'dispute');
    await disputes.get(disputeId, { clientId });
    const outcome = await disputes.resolve({ disputeId, to: 'withdrawn', actor: actorOf(subjectOf(res)) });
    deps.widget.invalidate(clientId);
    if (!outcome.ok) return refusal(res, outcome);
    res.json({ dispute: clientDisputeJson(outcome.value) });
  });

  // ---- JSON API: client caps --------------------------------------------------------------------
  const requireCaps = () => {
    if (!deps.caps) throw new ModuleError('NOT_FOUND', 'spending caps are not available here');
    return deps.caps;
  };
  /** the cap as the client sees it: money as a decimal string with its currency, bytes as a string */
  const capJson = async (clientId: number, serviceId: number) => {
    const caps = requireCaps();
    // his own services only: another client's is answered as not found
    await deps.reads.serviceUsage(serviceId, { clientId });
    const [cap, options, reached] = await Promise.all([caps.service.get(serviceId), caps.service.options(serviceId), capActionInForce(deps.knex, serviceId)]);
    return {
      serviceId,
      cap: cap
        ? { kind: cap.kind, amount: cap.kind === 'money' ? moneyToDecimalString({ amountMinor: cap.amount, currency: cap.currency! }) : cap.amount.toString(), currency: cap.currency, action: cap.action, setAt: cap.setAt.toISO() }
        : null,
      reached,
      options,
    };
  };
  client.get('/services/:serviceId/cap', async (req, res) => {
    res.json(await capJson(me(res), pathId(req.params.serviceId, 'service')));
  });
  client.put('/services/:serviceId/cap', json, async (req, res) => {
    const caps = requireCaps();
    const clientId = me(res);
    const serviceId = pathId(req.params.serviceId, 'service');
    const b = (req.body ?? {}) as Record<string, unknown>;
    await caps.service.set(clientId, serviceId, { kind: b.kind, amount: b.amount, action: b.action }, actorOf(subjectOf(res)));
    deps.widget.invalidate(clientId);
    await caps.applyNow().catch((err: unknown) => deps.log.warn('api.cap_apply_failed', { serviceId, error: (err as Error).message }));
    res.json(await capJson(clientId, serviceId));
  });
  client.post('/services/:serviceId/cap/lift', json, async (req, res) => {
    const caps = requireCaps();
    const clientId = me(res);
    const serviceId = pathId(req.params.serviceId, 'service');
    await caps.service.lift(clientId, serviceId, actorOf(subjectOf(res)));
    deps.widget.invalidate(clientId);
    // the server is put back at once, not at the next cron tick
    await caps.applyNow().catch((err: unknown) => deps.log.warn('api.cap_apply_failed', { serviceId, error: (err as Error).message }));
    res.json(await capJson(clientId, serviceId));
  });

  // ---- JSON API: admin -------------------------------------------------------------------------
  const admin = express.Router();
  admin.use(authenticate('admin'));
  admin.use(namedAnswers(deps.names, deps.log));
  const adminActor = (res: Response) => actorOf(subjectOf(res));

  admin.get('/dashboard', async (req, res) => {
    const d = await deps.admin.dashboard({ fresh: text((req.query as Record<string, unknown>).fresh) === '1' });
    res.json({
      meteredServices: d.meteredServices,
      openDisputes: d.openDisputes,
      attention: d.attention.map(serviceListJson),
      projected: d.projected.map((p) => ({ ...money(p.amountMinor, p.currency), services: p.services })),
      oldestDisputes: d.oldestDisputes.map(disputeRowJson),
      recentLines: d.recentLines.map((l) => lineJson(l, now())),
      computedAt: new Date(d.asOf).toISOString(),
    });
  });
  admin.get('/services', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const clientId = idCursor(text(q.client), 'client');
    const p = await deps.admin.services({ after: text(q.after), limit: pageLimit(q.limit), q: text(q.q), ...(clientId !== null ? { clientId } : {}) });
    res.json({ services: p.rows.map(serviceListJson), next: p.next });
  });
  admin.get('/services/:serviceId', async (req, res) => {
    const u = await deps.reads.serviceUsage(pathId(req.params.serviceId, 'service'));
    res.json({ service: serviceUsageJson(u, null) });
  });
  admin.post('/services/:serviceId/active', json, async (req, res) => {
    const active = (req.body as Record<string, unknown> | undefined)?.active;
    if (typeof active !== 'boolean') throw invalidInput('active must be true or false');
    const l = await deps.links.setActive(pathId(req.params.serviceId, 'service'), active, adminActor(res));
    deps.widget.invalidate(l.clientId);
    res.json({ serviceId: l.serviceId, active: l.active });
  });
  admin.get('/services/:serviceId/samples', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const id = pathId(req.params.serviceId, 'service');
    await deps.reads.serviceUsage(id);
    const p = await deps.admin.samples(id, { before: text(q.before), limit: pageLimit(q.limit, 62, 400) });
    res.json({ samples: p.rows.map(sampleJson), next: p.next });
  });
  admin.get('/services/:serviceId/periods', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const id = pathId(req.params.serviceId, 'service');
    await deps.reads.serviceUsage(id);
    const p = await deps.reads.periods(id, { before: text(q.before) || null, limit: pageLimit(q.limit, 12, 100) });
    res.json({ periods: p.rows.map(periodJson), next: p.next });
  });
  admin.get('/services/:serviceId/periods/:periodId/days.csv', async (req, res) => {
    const sid = pathId(req.params.serviceId, 'service');
    const { period, days } = await deps.reads.periodDays(sid, pathId(req.params.periodId, 'period'));
    csv(res, `overusage-${sid}-${period.startDate}-days.csv`, periodDaysCsv(days));
  });
  admin.get('/sync-issues', async (_req, res) => {
    res.json({ notLinked: await deps.syncIssues() });
  });
  const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
  // bigints as strings, then through res.json like every answer (the names go beside the ids)
  const bigJson = (res: Response, body: unknown) => res.json(JSON.parse(JSON.stringify(body, big)) as unknown);
  admin.get('/pools', async (req, res) => {
    // a client's pools: each rated month with every member's hours, share, days and part
    const client = idCursor(text((req.query as Record<string, unknown>).client), 'client');
    if (client === null) throw invalidInput('client is required: the pools of which client');
    bigJson(res, { clientId: client, pools: deps.pools ? await deps.pools.poolPeriods(client) : [] });
  });
  admin.get('/caps', async (_req, res) => {
    const rows = deps.caps ? await deps.caps.service.list() : [];
    const withState = await Promise.all(rows.map(async (c) => ({ ...c, setAt: c.setAt.toISO(), liftedAt: c.liftedAt?.toISO() ?? null, reached: c.status === 'active' ? await capActionInForce(deps.knex, c.serviceId) : null })));
    bigJson(res, { caps: withState });
  });
  admin.get('/upgrades', async (_req, res) => {
    res.json({ upgrades: deps.upgrades ? await deps.upgrades.outcomes() : [] });
  });
  admin.get('/anomalies', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const status = text(q.status) || 'open';
    if (!['open', 'decided', 'resolved', 'info', 'all'].includes(status)) throw invalidInput('status must be open, decided, resolved, info or all');
    const service = idCursor(text(q.service), 'service');
    const p = await deps.usagePeriods.anomalies({ status: status as 'all', ...(service !== null ? { serviceId: service } : {}) }, { before: idCursor(text(q.before)), limit: pageLimit(q.limit) });
    res.json({ anomalies: p.rows.map(anomalyJson), next: p.next });
  });
  admin.post('/anomalies/:anomalyId/decide', json, async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.decision !== 'reset' && b.decision !== 'correction') throw invalidInput('decision must be "reset" or "correction"');
    if (typeof b.reason !== 'string') throw invalidInput('reason is required: say what you checked on the master');
    const out = await deps.usagePeriods.decide(pathId(req.params.anomalyId, 'anomaly'), { decision: b.decision, reason: b.reason }, adminActor(res));
    const s = await deps.reads.serviceUsage(out.anomaly.serviceId).catch(() => null);
    if (s) deps.widget.invalidate(s.service.clientId);
    res.json({ anomaly: anomalyJson(out.anomaly), bookedBytes: out.bookedBytes.toString(), rerate: rerateJson(out.rerate) });
  });
  admin.get('/services/:serviceId/usage-periods', async (req, res) => {
    const periods = await deps.usagePeriods.periods(pathId(req.params.serviceId, 'service'), { limit: pageLimit((req.query as Record<string, unknown>).limit, 24, 240) });
    res.json({ periods: periods.map(usagePeriodJson) });
  });
  admin.get('/corrections', async (_req, res) => {
    res.json({ corrections: (await deps.usagePeriods.corrections()).map((c) => ({ ...chargeJson(c), serviceId: c.serviceId, clientId: c.clientId, periodStart: c.periodStart, periodEnd: c.periodEnd })) });
  });
  admin.post('/corrections/:chargeId/settle', json, async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.action !== 'bill' && b.action !== 'drop') throw invalidInput('action must be "bill" or "drop"');
    if (typeof b.reason !== 'string') throw invalidInput('reason is required');
    res.json({ correction: chargeJson(await deps.usagePeriods.settleCorrection(pathId(req.params.chargeId, 'correction'), { action: b.action, reason: b.reason }, adminActor(res))) });
  });
  admin.get('/disputes', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const p = await deps.admin.disputes({ list: text(q.list) || 'open', after: text(q.after), limit: pageLimit(q.limit) });
    res.json({ disputes: p.rows.map(disputeRowJson), next: p.next });
  });
  admin.get('/disputes/:disputeId', async (req, res) => {
    const d = await requireDisputes().get(pathId(req.params.disputeId, 'dispute'));
    res.json({ dispute: disputeViewJson(d), line: lineJson(await deps.reads.line(d.lineId), now()) });
  });
  admin.post('/disputes/:disputeId/preview', json, async (req, res) => {
    const p = await requireDisputes().preview(pathId(req.params.disputeId, 'dispute'), adjustmentOf((req.body as Record<string, unknown> | undefined)?.adjustment));
    res.json({ preview: { ...money(p.amountMinor, p.currency), formatted: formatAmount(p.amountMinor, p.currency, ADMIN_LOCALE), explanation: p.explanation } });
  });
  admin.post('/disputes/:disputeId/resolve', json, async (req, res) => {
    const disputes = requireDisputes();
    const b = (req.body ?? {}) as Record<string, unknown>;
    const to = b.to as Resolution;
    if (!['upheld', 'waived', 'adjusted', 'withdrawn'].includes(String(to))) throw invalidInput('to must be upheld, waived, adjusted or withdrawn');
    if (b.expectedVersion !== undefined && !Number.isSafeInteger(b.expectedVersion)) throw invalidInput('expectedVersion must be a whole number');
    if (b.note !== undefined && typeof b.note !== 'string') throw invalidInput('note must be text');
    if (b.settlement !== undefined && b.settlement !== 'credit' && b.settlement !== 'refund') throw invalidInput('settlement must be credit or refund');
    const disputeId = pathId(req.params.disputeId, 'dispute');
    const outcome = await disputes.resolve({
      disputeId,
      to,
      actor: adminActor(res),
      ...(to === 'adjusted' ? { adjustment: adjustmentOf(b.adjustment) } : {}),
      ...(typeof b.note === 'string' ? { note: b.note.slice(0, 2000) } : {}),
      ...(b.expectedVersion !== undefined ? { expectedVersion: b.expectedVersion as number } : {}),
      ...(b.settlement ? { settlement: b.settlement as 'credit' | 'refund' } : {}),
    });
    if (!outcome.ok) return refusal(res, outcome);
    deps.widget.invalidate(outcome.value.clientId);
    res.json({ dispute: disputeViewJson(outcome.value) });
  });
  admin.get('/lines', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const p = await deps.admin.lines(lineFilterOf(q), { before: text(q.before), limit: pageLimit(q.limit) });
    res.json({ lines: p.rows.map((l) => lineJson(l, now())), next: p.next });
  });
  admin.get('/lines.csv', async (req, res) => {
    const filter = lineFilterOf(req.query as Record<string, unknown>);
    const first = await deps.admin.lines(filter, { limit: 1000 });
    res.set('Content-Type', 'text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="overusage-lines.csv"');
    // a page at a time: an export of 100 000 lines never sits in memory whole
    let page = first;
    let head = true;
    for (;;) {
      const body = toCsv(LINES_CSV_HEADER, page.rows.map(lineCsvRow));
      res.write(head ? body : body.slice(body.indexOf('\r\n') + 2));
      head = false;
      if (!page.next) break;
      page = await deps.admin.lines(filter, { before: page.next, limit: 1000 });
    }
    res.end();
  });
  admin.get('/lines/:lineId', async (req, res) => {
    res.json({ line: lineJson(await deps.reads.line(pathId(req.params.lineId, 'line')), now()) });
  });
  admin.get('/lines/:lineId/evidence', async (req, res) => {
    res.type('json').send(evidenceJson(await deps.evidence.forLine(pathId(req.params.lineId, 'line'))));
  });
  admin.get('/lines/:lineId/days.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathId(req.params.lineId, 'line'));
    csv(res, `${e.line.refCode}-days.csv`, daysCsv(e));
  });
  admin.get('/lines/:lineId/samples.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathId(req.params.lineId, 'line'));
    csv(res, `${e.line.refCode}-samples.csv`, samplesCsv(e));
  });
  admin.post('/lines/:lineId/dispute', deps.limiter.middleware, json, async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.reason !== 'string') throw invalidInput('reason is required');
    if (b.overrideReason !== undefined && typeof b.overrideReason !== 'string') throw invalidInput('overrideReason must be text');
    const outcome = await requireDisputes().open({ lineId: pathId(req.params.lineId, 'line'), reason: b.reason.slice(0, 4000), actor: adminActor(res), ...(typeof b.overrideReason === 'string' ? { overrideReason: b.overrideReason } : {}) });
    if (!outcome.ok) return refusal(res, outcome);
    deps.widget.invalidate(outcome.value.clientId);
    res.status(201).json({ dispute: disputeViewJson(outcome.value) });
  });
  admin.get('/masters', async (_req, res) => {
    res.json({ masters: await deps.masters.list() });
  });
  admin.post('/masters/:masterId/test', async (req, res) => {
    res.json({ report: await deps.masters.test(pathId(req.params.masterId, 'master')) });
  });
  admin.get('/products', async (_req, res) => {
    res.json({ products: (await deps.billing.listProducts()).map((p) => ({ productId: p.productId, settings: p.profile })) });
  });
  admin.put('/products/:productId', json, async (req, res) => {
    const settings = (req.body as Record<string, unknown> | undefined)?.settings;
    if (!settings || typeof settings !== 'object') throw invalidInput('settings must be an object');
    const productId = pathId(req.params.productId, 'product');
    if (!(await panelHasProduct(deps.panel, productId))) throw notFound(`the panel has no product ${productId}`);
    res.json({ productId, settings: await deps.billing.setProduct(productId, settings as never, adminActor(res)) });
  });
  admin.get('/settings', async (_req, res) => {
    res.json({ settings: await deps.settings.all() });
  });
  admin.put('/settings', json, async (req, res) => {
    const b = req.body as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw invalidInput('send the settings to change as an object');
    res.json({ settings: await deps.settings.set(b, adminActor(res)) });
  });
  admin.get('/audit', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const filter = { entityType: text(q.entity_type) || undefined, entityId: text(q.entity_id) || undefined, actorType: text(q.actor) || undefined };
    const p = await deps.admin.audit(filter, { before: text(q.before), limit: pageLimit(q.limit) });
    res.json({ entries: p.rows.map(auditJson), next: p.next });
  });
  /**
   * Minting: only a full admin token mints, and only tokens no stronger (a full or a read-only
   * one) and no longer-lived than itself, for an admin the panel has (enabled) or a client the
   * panel or the module knows. A token for someone else carries the minting admin (`by`), so what
   * is done with it is audited as that admin acting as them; the minting is audited too.
   */
  admin.post('/tokens', json, async (req, res) => {
    const v = subjectOf(res);
    if (v.scope !== 'full') throw new ModuleError('NOT_ALLOWED', 'only a full admin token mints tokens');
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.type !== 'client' && b.type !== 'admin') throw invalidInput('type must be client or admin');
    if (!Number.isSafeInteger(b.id) || (b.id as number) < 1) throw invalidInput('id must be a positive whole number');
    if (b.ttlSeconds !== undefined && (!Number.isSafeInteger(b.ttlSeconds) || (b.ttlSeconds as number) < 1)) throw invalidInput('ttlSeconds must be a positive whole number');
    if (b.readOnly !== undefined && typeof b.readOnly !== 'boolean') throw invalidInput('readOnly must be true or false');
    const left = v.expiresAt - Math.floor(deps.now() / 1000);
    const ttl = (b.ttlSeconds as number | undefined) ?? Math.min(DEFAULT_TOKEN_TTL_SECONDS, left);
    if (ttl > left) throw invalidInput(`a token cannot outlive the one that mints it (${left} seconds left)`);
    const subject: Subject = { type: b.type, id: b.id as number };
    const self = subject.type === 'admin' && subject.id === v.id;
    if (subject.type === 'admin' && !self) {
      const status = await deps.admins.status(subject.id);
      if (status === null) throw new ModuleError('NOT_ALLOWED', "a token for another admin needs the panel's word that the admin exists, and the panel API cannot be asked");
      if (status !== 'enabled') throw notFound(`the panel has no ${status === 'disabled' ? 'enabled ' : ''}admin ${subject.id}`);
    }
    if (subject.type === 'client' && !(await clientExists(subject.id))) throw notFound(`the panel has no client ${subject.id}`);
    const by = self ? v.by : (v.by ?? v.id);
    const t = deps.signer.issue(subject, { ttlSeconds: ttl, scope: b.readOnly === true ? 'read' : 'full', by, bound: v.bound });
    await auditLog.record(deps.knex, { actor: adminActor(res), action: 'token.issued', entityType: subject.type, entityId: subject.id, details: { scope: b.readOnly === true ? 'read' : 'full', expiresAt: new Date(t.expiresAt * 1000).toISOString(), ...(by !== null ? { actingAdmin: by } : {}) } }, deps.clock.now());
    res.status(201).json({ token: t.token, expiresAt: new Date(t.expiresAt * 1000).toISOString(), subject });
  });

  async function clientExists(clientId: number): Promise<boolean> {
    if (deps.panel) {
      return deps.panel.getClientsDetails(clientId).then(
        () => true,
        (err: unknown) => {
          if (err instanceof PanelApiError && err.kind === 'api' && /not found/i.test(err.message)) return false;
          throw err;
        },
      );
    }
    // no panel API: the clients the module meters for
    return (await deps.reads.clientServices(clientId)).length > 0;
  }

  api.use('/client', client);
  api.use('/admin', admin);
  api.use((_req, _res) => {
    throw notFound('no such route');
  });
  r.use('/api/v1', api);

  // ---- errors: a code and a message, never a stack trace ---------------------------------------
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    res.set('Cache-Control', 'no-store');
    if (err instanceof ModuleError) {
      const status = HTTP_STATUS[err.code];
      if (status >= 500) deps.log.error('web.failed', { path: req.originalUrl.split('?', 1)[0], code: err.code, message: err.message });
      const answer = { error: { code: err.code, message: status >= 500 && err.code === 'CONFIG' ? 'the module is not configured for this' : err.message } };
      if (req.path.startsWith('/embed/')) return res.status(status).type('html').send(embedShell('en', 'Overusage', `<p class="ou-flash ou-flash-error">${escapeHtml(answer.error.message)}</p>`));
      return res.status(status).json(answer);
    }
    const e = err as { status?: number; type?: string; message?: string; stack?: string };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      return res.status(e.status).json({ error: { code: e.status === 413 ? 'TOO_LARGE' : 'BAD_REQUEST', message: e.status === 413 ? 'the request is too large' : 'the request body could not be read (send JSON)' } });
    }
    deps.log.error('web.failed', { method: req.method, path: req.originalUrl.split('?', 1)[0], message: e?.message, stack: e?.stack?.split('\n').slice(0, 6).join(' | ') });
    res.status(500).json({ error: { code: 'INTERNAL', message: 'something went wrong; it has been logged' } });
  });

  return express.Router().use(base || '/', r);
}
