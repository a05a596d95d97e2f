/**
 * Sessions of the panel's pages: a signed cookie, no server-side store. The cookie holds
 * base64url(JSON) and an HMAC-SHA256 of the cookie's *name* and payload, so an admin cookie can
 * never be replayed as a client cookie (client 1 is not admin 1). Each session carries its own
 * CSRF token; a visitor (uid 0) gets a session too, so the login form has a token to check.
 *
 * Expiry is checked on the server (the cookie's Max-Age only helps the browser forget) against
 * real time, not the panel's clock: the demo moves the billing clock by months, and that must not
 * log anybody out. A logout revokes the session id in memory until it would have expired anyway
 * (lost on restart; the expiry bounds what a stolen cookie is worth). The fingerprint of the
 * user's stored password hash ends every session of that user when the password changes.
 */
import crypto from 'node:crypto';
import type { Request, Response } from 'express';

export type Surface = 'client' | 'admin';

export interface SessionData {
  /** random id of this session (revocation) */
  sid: string;
  /** client id / admin id; 0 = a visitor */
  uid: number;
  csrf: string;
  /** expiry, epoch seconds */
  exp: number;
  /** fingerprint of the user's password hash at login ('' for a visitor) */
  fp: string;
}

export const COOKIE: Record<Surface, string> = { client: 'ou_client', admin: 'ou_admin' };
export const FLASH_COOKIE: Record<Surface, string> = { client: 'ou_flash', admin: 'ou_admin_flash' };

const b64 = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url');
const randomToken = (bytes = 24): string => crypto.randomBytes(bytes).toString('base64url');

/** The fingerprint of a stored password hash: enough to notice a change, useless to crack. */
export const passwordFingerprint = (storedHash: string): string =>
  crypto.createHash('sha256').update(`fp:${storedHash}`).digest('base64url').slice(0, 16);

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && x.length > 0 && crypto.timingSafeEqual(x, y);
}

export interface SessionManagerOptions {
  secret: string | Buffer;
  ttlSeconds: number;
  /** ms since the epoch; real time */
  now: () => number;
  /** Secure cookies always; otherwise only when the request came over TLS */
  secureCookies: boolean;
}

export interface SessionManager {
  read(req: Request, surface: Surface): SessionData | null;
  /** a fresh session (new id and CSRF token: a login never keeps the visitor's) */
  issue(req: Request, res: Response, surface: Surface, uid: number, fp: string): SessionData;
  revoke(req: Request, res: Response, surface: Surface, session: SessionData | null): void;
  /** a one-shot message shown by the next page (signed, short-lived) */
  setFlash(req: Request, res: Response, surface: Surface, flash: Flash): void;
  takeFlash(req: Request, res: Response, surface: Surface): Flash | null;
}

export interface Flash {
  kind: 'success' | 'error' | 'info';
  text: string;
}

export function createSessionManager(opts: SessionManagerOptions): SessionManager {
  const secret = typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
  if (secret.length < 32) throw new RangeError('sessionSecret must be at least 32 bytes');
  const revoked = new Map<string, number>();
  const nowSec = () => Math.floor(opts.now() / 1000);

  const mac = (name: string, payload: string) =>
    crypto.createHmac('sha256', secret).update(`${name}.${payload}`).digest('base64url');

  function seal(name: string, value: unknown): string {
    const payload = b64(JSON.stringify(value));
    return `${payload}.${mac(name, payload)}`;
  }

  function unseal(name: string, cookie: unknown): unknown {
    if (typeof cookie !== 'string' || cookie.length > 4096) return null;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return null;
    const payload = cookie.slice(0, dot);
    if (!safeEqual(cookie.slice(dot + 1), mac(name, payload))) return null;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
  }

  // cookies live under the path each surface's router is mounted at (the admin's: …/admin)
  const cookieOptions = (req: Request, maxAgeMs: number) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: opts.secureCookies || req.secure,
    path: req.baseUrl || '/',
    maxAge: maxAgeMs,
  });

  function prune(): void {
    const t = nowSec();
    for (const [sid, exp] of revoked) if (exp < t) revoked.delete(sid);
  }

  return {
    read(req, surface) {
      const v = unseal(
        COOKIE[surface],
        (req.cookies as Record<string, unknown> | undefined)?.[COOKIE[surface]],
      ) as Partial<SessionData> | null;
      if (
        !v ||
        typeof v.sid !== 'string' ||
        typeof v.csrf !== 'string' ||
        typeof v.exp !== 'number' ||
        typeof v.fp !== 'string'
      )
        return null;
      if (typeof v.uid !== 'number' || !Number.isSafeInteger(v.uid) || v.uid < 0) return null;
      if (v.exp <= nowSec() || revoked.has(v.sid)) return null;
      return { sid: v.sid, uid: v.uid, csrf: v.csrf, exp: v.exp, fp: v.fp };
    },

    issue(req, res, surface, uid, fp) {
      const data: SessionData = {
        sid: randomToken(16),
        uid,
        csrf: randomToken(24),
        exp: nowSec() + opts.ttlSeconds,
        fp,
      };
      res.cookie(COOKIE[surface], seal(COOKIE[surface], data), cookieOptions(req, opts.ttlSeconds * 1000));
      return data;
    },

    revoke(req, res, surface, session) {
      if (session) {
        prune();
        revoked.set(session.sid, session.exp);
      }
      const { maxAge: _m, ...clear } = cookieOptions(req, 0);
      res.clearCookie(COOKIE[surface], clear);
    },

    setFlash(req, res, surface, flash) {
      const name = FLASH_COOKIE[surface];
      res.cookie(name, seal(name, { ...flash, exp: nowSec() + 60 }), cookieOptions(req, 60_000));
    },

    takeFlash(req, res, surface) {
      const name = FLASH_COOKIE[surface];
      const raw = (req.cookies as Record<string, unknown> | undefined)?.[name];
      if (raw === undefined) return null;
      const { maxAge: _m, ...clear } = cookieOptions(req, 0);
      res.clearCookie(name, clear);
      const v = unseal(name, raw) as { kind?: unknown; text?: unknown; exp?: unknown } | null;
      if (!v || typeof v.text !== 'string' || typeof v.exp !== 'number' || v.exp <= nowSec()) return null;
      const kind = v.kind === 'success' || v.kind === 'error' ? v.kind : 'info';
      return { kind, text: v.text.slice(0, 2000) };
    },
  };
}
