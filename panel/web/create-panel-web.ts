/**
 * The reference panel's web pages as one express Router: the client area at the mount point and
 * the admin area under …/admin. Mount it next to the External API:
 *
 *   const app = express();
 *   app.use(panel.apiRouter);                       // POST /includes/api.php
 *   app.use(createPanelWeb({ panel, sessionSecret: process.env.PANEL_SESSION_SECRET! }));
 *   // → /clientarea.php, /viewinvoice.php?id=N, /index.php?m=<addon>, /admin/ …
 *
 * Behind a reverse proxy set the app's `trust proxy`, so the login rate limit sees real addresses.
 */
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet, { type HelmetOptions } from 'helmet';
import type { Knex } from 'knex';
import path from 'node:path';
import type { Logger } from '../../module/adapters/logger.js';
import type { Clock } from '../../module/domain/clock.js';
import type { Panel } from '../index.js';
import { createAdminRouter } from './admin-router.js';
import { createClientRouter, TOO_MANY_LOGINS } from './client-router.js';
import { VIEWS_DIR, checkQuery, clientIp, createRenderer, todayOf, type WebContext } from './context.js';
import { createSessionManager } from './session.js';

export interface PanelWebOptions {
  panel: Panel;
  /** default: panel.knex */
  knex?: Knex;
  /** the billing clock (today's date for "Overdue", payment dates); default: the panel's */
  clock?: Clock;
  /** default: the panel's logger */
  log?: Logger;
  /** signs the session cookies (HMAC-SHA256); at least 32 bytes; never logged */
  sessionSecret: string | Buffer;
  /** default: panel.zone */
  zone?: string;
  /** session lifetime; default 8 hours */
  sessionTtlSeconds?: number;
  /** mark cookies Secure on every request (behind TLS); otherwise only on requests that came over TLS */
  secureCookies?: boolean;
  /** failed logins allowed per address and window, per surface; default 10 per 15 minutes */
  loginRateLimit?: { windowMs: number; limit: number };
  /** rows per page of every list; default 50 */
  perPage?: number;
  /** real time for session expiry (ms); default Date.now — not the billing clock, which the demo moves */
  now?: () => number;
  /** helmet's options (e.g. a wider CSP for an addon that loads scripts from elsewhere) */
  helmet?: HelmetOptions;
  /** cache compiled views; default true */
  cacheViews?: boolean;
}

/** Every path the pages answer (helmet and the cookie reader run on these only). */
const CLIENT_PATHS = [
  '/login.php',
  '/dologin.php',
  '/logout.php',
  '/clientarea.php',
  '/viewinvoice.php',
  '/index.php',
  '/assets/panel.css',
];

export function createPanelWeb(opts: PanelWebOptions): Router {
  const sessions = createSessionManager({
    secret: opts.sessionSecret,
    ttlSeconds: opts.sessionTtlSeconds ?? 8 * 3600,
    now: opts.now ?? Date.now,
    secureCookies: opts.secureCookies ?? false,
  });
  const panel = opts.panel;
  const log = (opts.log ?? panel.core.log).child({ component: 'panel-web' });
  const clock = opts.clock ?? panel.core.clock;
  const zone = opts.zone ?? panel.zone;
  const cacheViews = opts.cacheViews ?? true;
  const ctx: WebContext = {
    panel,
    knex: opts.knex ?? panel.knex,
    clock,
    zone,
    log,
    sessions,
    perPage: Math.min(Math.max(opts.perPage ?? 50, 1), 500),
    cacheViews,
    today: todayOf(clock, zone),
    ...createRenderer(cacheViews),
  };

  const limit = opts.loginRateLimit ?? { windowMs: 15 * 60_000, limit: 10 };
  const limiter = () =>
    rateLimit({
      windowMs: limit.windowMs,
      limit: limit.limit,
      // only failed attempts count: a successful login answers with a redirect
      skipSuccessfulRequests: true,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      // counted per client address by the panel's one rule (never a client-written X-Forwarded-For entry)
      keyGenerator: (req) => ipKeyGenerator(clientIp(req, panel.trustProxy)),
      validate: { xForwardedForHeader: false },
      handler: (req, res) => {
        log.warn('panel_web.login_rate_limited', { ip: clientIp(req, panel.trustProxy) });
        res.status(429).type('text').send(TOO_MANY_LOGINS);
      },
    });

  const secure = opts.secureCookies ?? false;
  const headers = helmet(
    opts.helmet ?? {
      contentSecurityPolicy: {
        directives: {
          // upgrading to https would break the demo on plain http://127.0.0.1
          upgradeInsecureRequests: secure ? [] : null,
        },
      },
    },
  );

  const router = express.Router();
  router.use([...CLIENT_PATHS, '/admin'], headers, cookieParser(), checkQuery);
  router.get('/assets/panel.css', (_req, res) => {
    res
      .type('css')
      .set('Cache-Control', 'public, max-age=3600')
      .sendFile(path.join(VIEWS_DIR, 'assets', 'panel.css'));
  });
  // browsers ask for /favicon.ico on every page: an SVG icon, not a 404
  router.get('/favicon.ico', (_req, res) => {
    res
      .type('image/svg+xml')
      .set('Cache-Control', 'public, max-age=86400')
      .sendFile(path.join(VIEWS_DIR, 'assets', 'favicon.svg'));
  });
  router.use('/admin', createAdminRouter(ctx, limiter()));
  router.use(createClientRouter(ctx, limiter()));

  // only errors of these pages land here; the text never leaks an internal message
  router.use([...CLIENT_PATHS, '/admin'], (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status =
      typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 400 && status < 500) {
      res
        .status(status)
        .type('text')
        .send(status === 413 ? 'The request is too large.' : 'The request could not be read.');
      return;
    }
    log.error('panel_web.page_failed', {
      method: req.method,
      path: req.path,
      message: (err as Error)?.message,
      stack: (err as Error)?.stack?.split('\n').slice(0, 5).join(' | '),
    });
    res
      .status(500)
      .type('text')
      .set('Cache-Control', 'no-store')
      .send('Something went wrong while building this page. The error has been logged.');
  });
  return router;
}
