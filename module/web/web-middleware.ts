import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { escapeHtml } from '../domain/html.js';
import { HTTP_STATUS, ModuleError, notFound } from '../domain/errors.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { Logger } from '../adapters/logger.js';
import { loggedError, whyUnreadable } from '../adapters/rows.js';
import type { DisputeService } from '../services/disputes.js';
import { nameTheAnswer, type NameDirectory } from './name-directory.js';
import type { PageUi } from './page-host.js';
import { flatFields, refuseObjectKeys } from './validation.js';

/**
 * What the client, admin and embed routers share besides who is asking (web-auth.ts): bodies
 * through the validation layer, refusals with their status, CSV files, the embed pages' shell and
 * the one error handler — a code and a message, never a stack trace.
 */

/** Outcome codes of the dispute service → HTTP status. */
const REFUSAL_STATUS: Record<string, number> = {
  WINDOW_CLOSED: 422,
  REASON_REQUIRED: 422,
  NO_PRECOMMIT_RATE: 422,
  ALREADY_DISPUTED: 409,
  NOT_DISPUTABLE: 409,
  // the line's invoice was cancelled or refunded: nothing is owed (docs/billing-rules.md)
  NOT_OWED: 409,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  NOT_ALLOWED: 403,
};

export function refusal(
  res: Response,
  outcome: { code: string; message: string; details?: Record<string, unknown> },
) {
  res.status(REFUSAL_STATUS[outcome.code] ?? 409).json({
    error: {
      code: outcome.code,
      message: outcome.message,
      ...(outcome.details ? { details: outcome.details } : {}),
    },
  });
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

export const jsonBody = thenCheck(express.json({ limit: '32kb' }), (b) => refuseObjectKeys(b, 'body'));
export const formBody = thenCheck(
  express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 100 }),
  (b) => flatFields(b, 'form'),
);

/** and every query: one value per field */
export const flatQuery: RequestHandler = (req, _res, next) => {
  flatFields(req.query, 'query');
  next();
};

export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

export const csv = (res: Response, name: string, body: string) => {
  res
    .set('Content-Type', 'text/csv; charset=utf-8')
    .set('Content-Disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, '_')}"`)
    .send(body);
};

export const requireDisputes = (disputes: DisputeService | undefined): DisputeService => {
  if (!disputes) throw notFound('disputes are not available: the module has no panel API');
  return disputes;
};

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
/** bigints as strings, then through res.json like every answer (the names go beside the ids) */
export const bigJson = (res: Response, body: unknown) =>
  res.json(JSON.parse(JSON.stringify(body, big)) as unknown);

/**
 * The JSON answers carry the panel's names beside the ids (name-directory.ts): res.json is
 * wrapped once per router rather than in each of the forty routes. Refusals go out as they are.
 */
export function namedAnswers(names: NameDirectory, log: Logger): RequestHandler {
  return (_req, res, next) => {
    const send = res.json.bind(res);
    res.json = ((body: unknown) => {
      if (res.statusCode >= 400 || body === null || typeof body !== 'object') return send(body);
      nameTheAnswer(body, names).then(
        () => send(body),
        (err: unknown) => {
          // names are a courtesy: the answer goes out with its ids
          log.warn('api.naming_failed', { ...loggedError(err) });
          send(body);
        },
      );
      return res;
    }) as typeof res.json;
    next();
  };
}

export type EmbedShell = (lang: string, title: string, body: string) => string;

/** An embed page: the module's stylesheets around the body, no script of its own. */
export const embedShellWith =
  (ui: PageUi): EmbedShell =>
  (lang, title, body) =>
    `<!doctype html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>${ui.styles.map((href) => `<link rel="stylesheet" href="${href}">`).join('')}</head><body class="ou-embed"><main style="max-width:1100px;margin:0 auto;padding:1rem">${body}</main></body></html>`;

/** The errors of every route: a code and a message (an embed page's as a page), never a stack trace. */
export function errorAnswers(log: Logger, embedShell: EmbedShell) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    res.set('Cache-Control', 'no-store');
    if (err instanceof ModuleError) {
      const status = HTTP_STATUS[err.code];
      if (status >= 500)
        log.error('web.failed', {
          path: req.originalUrl.split('?', 1)[0],
          code: err.code,
          message: err.message,
        });
      // a stored row that cannot be read: the admin's answers name the column; anyone else is told
      // only that it cannot be shown now, and the operator gets the log line
      const column = storedColumnOf(err);
      const hidden = column !== null && !/^\/(api\/v1|embed)\/admin(\/|$)/.test(req.path);
      if (hidden)
        log.warn('web.row_unreadable', { path: req.originalUrl.split('?', 1)[0], ...whyUnreadable(err) });
      const answer = {
        error: {
          code: err.code,
          message: hidden
            ? 'this figure cannot be shown right now'
            : status >= 500 && err.code === 'CONFIG'
              ? 'the module is not configured for this'
              : err.message,
        },
      };
      if (req.path.startsWith('/embed/'))
        return res
          .status(status)
          .type('html')
          .send(
            embedShell(
              'en',
              'Overusage',
              `<p class="ou-flash ou-flash-error">${escapeHtml(answer.error.message)}</p>`,
            ),
          );
      return res.status(status).json(answer);
    }
    const e = err as { status?: number; type?: string; message?: string; stack?: string };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      return res.status(e.status).json({
        error: {
          code: e.status === 413 ? 'TOO_LARGE' : 'BAD_REQUEST',
          message:
            e.status === 413 ? 'the request is too large' : 'the request body could not be read (send JSON)',
        },
      });
    }
    log.error('web.failed', {
      method: req.method,
      path: req.originalUrl.split('?', 1)[0],
      // the error's kind and where it was thrown, not its message (its stack's first line), which
      // can quote a stored value (loggedError)
      ...loggedError(err),
      stack: e?.stack?.split('\n').slice(1, 6).join(' | '),
    });
    res
      .status(500)
      .json({ error: { code: 'INTERNAL', message: 'something went wrong; it has been logged' } });
  };
}
