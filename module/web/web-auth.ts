import cookieParser from 'cookie-parser';
import type { Request, RequestHandler, Response } from 'express';
import { ModuleError } from '../domain/errors.js';
import type { Actor } from '../adapters/audit-store.js';
import type { WebRouterDeps } from './router-deps.js';
import type { VerifiedToken } from './tokens.js';

/**
 * Who a request comes from (module/web/*-router.ts): a signed token (tokens.ts) in
 * `Authorization: Bearer`, in `?token=` on GET only, or in an embed page's httpOnly cookie; then
 * whether that token is still good (revoked, its admin gone, its page session missing), and the
 * CSRF field a form posted with a cookie must carry.
 */
export type CookieType = 'a' | 'c';

export interface WebAuth {
  /** a token checked once and remembered (its expiry is still checked on every use) */
  verify(token: string): VerifiedToken;
  /** the token of an embed page's cookie, if the request carries a good one */
  cookieToken(req: Request, type: CookieType): VerifiedToken | null;
  /** why a token that verifies is refused all the same, or null */
  refusedToken(req: Request, v: VerifiedToken): Promise<string | null>;
  authenticate(want: 'admin' | 'client' | 'any', cookie?: CookieType | null): RequestHandler;
  checkCsrf: RequestHandler;
  parseCookies: RequestHandler;
}

export const cookieName = (type: CookieType) => `ou_embed_${type}`;

export const subjectOf = (res: Response): VerifiedToken => res.locals.subject as VerifiedToken;

/** who acts: the token's subject, and the admin who minted it for them ("admin X acting as client Y") */
export const actorOf = (v: VerifiedToken): Actor => ({
  type: v.type,
  id: String(v.id),
  ...(v.by !== null ? { actingAdminId: String(v.by) } : {}),
});

function tokenOf(
  req: Request,
  cookie: CookieType | null,
): { token: string; via: 'bearer' | 'query' | 'cookie' } | null {
  const h = req.get('authorization');
  if (h !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) throw new ModuleError('UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    return { token: m[1]!, via: 'bearer' };
  }
  const q = (req.query as Record<string, unknown>).token;
  if ((req.method === 'GET' || req.method === 'HEAD') && typeof q === 'string' && q !== '')
    return { token: q, via: 'query' };
  if (cookie) {
    const c = (req.cookies as Record<string, unknown> | undefined)?.[cookieName(cookie)];
    if (typeof c === 'string' && c !== '') return { token: c, via: 'cookie' };
  }
  return null;
}

function tokenVerifier(deps: Pick<WebRouterDeps, 'signer' | 'now'>): (token: string) => VerifiedToken {
  const verified = new Map<string, VerifiedToken>();
  return (token) => {
    const hit = verified.get(token);
    if (hit && hit.expiresAt * 1000 > deps.now()) return hit;
    const v = deps.signer.verify(token);
    if (verified.size >= 10_000) verified.clear();
    verified.set(token, v);
    return v;
  };
}

function cookieTokenOf(verify: (token: string) => VerifiedToken) {
  return (req: Request, type: CookieType): VerifiedToken | null => {
    const c = (req.cookies as Record<string, unknown> | undefined)?.[cookieName(type)];
    if (typeof c !== 'string' || c === '') return null;
    try {
      return verify(c);
    } catch {
      return null;
    }
  };
}

function tokenRefusal(
  deps: WebRouterDeps,
  cookieToken: WebAuth['cookieToken'],
  parseCookies: RequestHandler,
): WebAuth['refusedToken'] {
  return async (req, v) => {
    const revoked = await deps.revocations.check(v);
    if (revoked) return `the access token was revoked (${revoked})`;
    // the admins behind it must still be the panel's admins: a disabled one's tokens are revoked for good
    for (const adminId of new Set(
      [v.type === 'admin' ? v.id : null, v.by].filter((x): x is number => x !== null),
    )) {
      const status = await deps.admins.status(adminId);
      if (status === 'disabled')
        await deps.revocations.revokeSubject({ type: 'admin', id: adminId }, 'admin disabled');
      if (status === 'disabled' || status === 'missing')
        return `the access token names an admin who is ${status === 'disabled' ? 'disabled' : 'not an admin of the panel'}`;
    }
    // bound to an embed page's session: only with that page's cookie
    if (v.bound !== null && v.bound !== 'h') {
      if (!req.cookies)
        await new Promise<void>((done, fail) =>
          parseCookies(req, {} as Response, (err?: unknown) => (err ? fail(err) : done())),
        );
      const session = cookieToken(req, v.type === 'admin' ? 'a' : 'c');
      if (!session || session.nonce !== v.bound)
        return 'the access token belongs to a page session this request does not come from';
    }
    return null;
  };
}

/** What a token's kind and scope may not do here, or null. */
function scopeRefusal(
  req: Request,
  v: VerifiedToken,
  want: 'admin' | 'client' | 'any',
  cookie: CookieType | null,
): string | null {
  if (want !== 'any' && v.type !== want)
    return want === 'admin' ? 'this needs an admin token' : 'this needs a client token';
  // a download link's token reads; it neither posts nor opens a page that posts
  if (v.readOnly && (cookie !== null || (req.method !== 'GET' && req.method !== 'HEAD')))
    return 'this token is for reading only';
  // the admin tab's script token reads and previews a resolution; nothing else
  if (
    v.scope === 'tab' &&
    (cookie !== null ||
      !(
        req.method === 'GET' ||
        req.method === 'HEAD' ||
        (req.method === 'POST' && /\/disputes\/[^/]+\/preview$/.test(req.path))
      ))
  ) {
    return "the admin tab's token only reads and previews";
  }
  return null;
}

export function createWebAuth(deps: WebRouterDeps): WebAuth {
  const parseCookies = cookieParser();
  const verify = tokenVerifier(deps);
  const cookieToken = cookieTokenOf(verify);
  const refusedToken = tokenRefusal(deps, cookieToken, parseCookies);
  const authenticate =
    (want: 'admin' | 'client' | 'any', cookie: CookieType | null = null): RequestHandler =>
    async (req, res, next) => {
      const found = tokenOf(req, cookie);
      if (!found)
        throw new ModuleError('UNAUTHORIZED', 'an access token is required (Authorization: Bearer <token>)');
      const v = verify(found.token);
      const notAllowed = scopeRefusal(req, v, want, cookie);
      if (notAllowed) throw new ModuleError('NOT_ALLOWED', notAllowed);
      const refused = await refusedToken(req, v);
      if (refused) throw new ModuleError('UNAUTHORIZED', refused);
      res.locals.subject = v;
      res.locals.subjectKey = `${v.type}:${v.id}`;
      res.locals.via = found.via;
      res.locals.token = found.token;
      next();
    };
  const checkCsrf: RequestHandler = (req, res, next) => {
    // a bearer header cannot be sent by another site's form; a cookie can, so it needs the field
    if (
      res.locals.via === 'cookie' &&
      !deps.signer.checkCsrf(subjectOf(res), (req.body as Record<string, unknown> | undefined)?.csrf)
    ) {
      throw new ModuleError(
        'NOT_ALLOWED',
        'the form has expired or did not come from this page; reload it and try again',
      );
    }
    next();
  };
  return { verify, cookieToken, refusedToken, authenticate, checkCsrf, parseCookies };
}
