/**
 * What the client and admin routers share: the renderer, the form body reader, the CSRF guard and
 * small readers of request values.
 */
import path from 'node:path';
import ejs from 'ejs';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../../module/adapters/logger.js';
import type { Clock } from '../../module/domain/clock.js';
import { localDate } from '../../module/domain/calendar.js';
import { formPairs, parsePhpPairs } from '../domain/php-params.js';
import type { Panel } from '../index.js';
import { clientAddress, type TrustProxy } from '../../module/web/client-address.js';
import { flatFields, refuseObjectKeys } from '../../module/web/validation.js';
import { safeEqual, type SessionData, type SessionManager, type Surface } from './session.js';

export const VIEWS_DIR = path.resolve(import.meta.dirname, '..', 'views');

export interface WebContext {
  panel: Panel;
  knex: Knex;
  clock: Clock;
  zone: string;
  log: Logger;
  sessions: SessionManager;
  perPage: number;
  cacheViews: boolean;
  /** the panel's calendar day (Overdue, default payment dates) */
  today(): string;
  render(res: Response, status: number, view: string, data: Record<string, unknown>): Promise<void>;
  renderToString(view: string, data: Record<string, unknown>): Promise<string>;
}

export function createRenderer(cacheViews: boolean): Pick<WebContext, 'render' | 'renderToString'> {
  const renderToString = (view: string, data: Record<string, unknown>) =>
    ejs.renderFile(path.join(VIEWS_DIR, `${view}.ejs`), data, { cache: cacheViews, root: VIEWS_DIR });
  return {
    renderToString,
    async render(res, status, view, data) {
      const html = await renderToString(view, data);
      res.status(status).type('html').set('Cache-Control', 'no-store').send(html);
    },
  };
}

export const todayOf = (clock: Clock, zone: string) => (): string => localDate(clock.now(), zone);

// ---------------------------------------------------------------------------------------------

const MAX_FORM_PAIRS = 1000;

/**
 * Reads a form body into res.locals.body, as PHP's $_POST (x[]=…, x[k]=…); JSON bodies too (an
 * addon's scripts). A body a host app parsed before us is used as it is.
 */
export function formBody(): RequestHandler[] {
  return [
    express.text({ type: 'application/x-www-form-urlencoded', limit: '1mb' }),
    express.json({ limit: '1mb' }),
    (req: Request, res: Response, next: NextFunction) => {
      if (typeof req.body === 'string') {
        const pairs = formPairs(req.body);
        if (pairs.length > MAX_FORM_PAIRS) {
          res.status(413).type('text').send('Too many form fields');
          return;
        }
        res.locals.body = { ...parsePhpPairs(pairs) };
      } else {
        res.locals.body =
          req.body && typeof req.body === 'object' ? { ...(req.body as Record<string, unknown>) } : {};
      }
      try {
        if (!isAddonPage(req)) checkForm(res.locals.body as Record<string, unknown>);
      } catch (err) {
        return badRequest(res, (err as Error).message);
      }
      next();
    },
  ];
}

// ---- the validation layer of the pages (the add-on's own: module/web/validation.ts) -----------

/** 400 with a code and a message, for input no page takes. */
export function badRequest(res: Response, message: string): void {
  res
    .status(400)
    .type('text')
    .set('Cache-Control', 'no-store')
    .send(`Bad request (INVALID_INPUT): ${message}`);
}

/**
 * An addon's pages get $_GET and $_POST as PHP parses them, lists and groups included (WHMCS
 * does); the addon validates its own input (the add-on's: module/web/validation.ts).
 */
const isAddonPage = (req: Request): boolean => /\/(addonmodules|index)\.php$/.test(req.path);

/** Form fields that are groups on purpose (Setup > Addon Modules: fields[<name>]). */
const GROUP_FIELDS = new Set(['fields']);

function checkForm(body: Record<string, unknown>): void {
  refuseObjectKeys(body, 'form');
  for (const [k, v] of Object.entries(body)) {
    if (!GROUP_FIELDS.has(k) && v !== null && typeof v === 'object')
      throw new Error(`form field "${k}" takes one value, not a list or a group`);
  }
}

/** Every page's query: one value per field (a[]=, a[x]=, a=1&a=2 and Object's property names refused). */
export const checkQuery: RequestHandler = (req, res, next) => {
  if (isAddonPage(req)) return next();
  try {
    flatFields(req.query, 'query');
  } catch (err) {
    return badRequest(res, (err as Error).message);
  }
  next();
};

export const bodyOf = (res: Response): Record<string, unknown> =>
  (res.locals.body as Record<string, unknown> | undefined) ?? {};

/** A form value as text ('' when absent or not a single value). */
export const field = (res: Response, name: string): string => {
  const v = bodyOf(res)[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};

/** A query value as text ('' when absent or repeated). */
export const queryText = (req: Request, name: string): string => {
  const v = (req.query as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
};

/** A positive id (at most 10 digits), or null. */
export function idOf(text: string): number | null {
  if (!/^\d{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/**
 * The session's CSRF token must come with every POST (form field `token`, or the X-CSRF-Token
 * header for scripts); a missing or wrong one is refused with 403 before anything else runs.
 */
export function csrfGuard(sessions: SessionManager, surface: Surface, log: Logger): RequestHandler {
  return (req, res, next) => {
    const session: SessionData | null = sessions.read(req, surface);
    const header = req.get('x-csrf-token') ?? '';
    const given = field(res, 'token') || header;
    if (!session || given === '' || !safeEqual(given, session.csrf)) {
      log.warn('panel_web.csrf_refused', {
        surface,
        path: req.path,
        hasSession: session !== null,
        hasToken: given !== '',
      });
      res
        .status(403)
        .type('text')
        .set('Cache-Control', 'no-store')
        .send('Invalid or missing security token. Please go back, reload the page and try again.');
      return;
    }
    next();
  };
}

/** Only a page of this panel is a place to return to after a login (no open redirect). */
export function safeGoto(text: string): string | null {
  return /^[a-z0-9_]+\.php(\?[A-Za-z0-9_=&%.\-[\]]*)?$/.test(text) && text.length <= 500 ? text : null;
}

/** The client's address by the panel's one rule (right-most untrusted X-Forwarded-For hop; client-address.ts). */
export const clientIp = (req: Request, trust: TrustProxy | boolean): string => clientAddress(req, trust);
