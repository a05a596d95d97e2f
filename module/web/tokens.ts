import crypto from 'node:crypto';
import { ModuleError } from '../domain/errors.js';

/**
 * Short-lived signed tokens that name an admin or a client, for the JSON API and for pages
 * embedded in a panel that is not the reference host. A token is
 *
 *   ou2.<a|c>.<id>.<issued, unix ms>.<expires, unix s>.<scope f|t|r>.<by>.<bound>.<nonce>.<mac>
 *
 * where mac = base64url(HMAC-SHA256(key, everything before it)) and the key is derived from the
 * module's secret key with HKDF-SHA256 (info "overusage web tokens v1"), so the secret that seals
 * SolusVM credentials is never used as a MAC key itself. The nonce (16 random bytes) makes every
 * token distinct and keys its CSRF token.
 *
 *  - scope: `f` full; `t` the admin tab's script (reads, and previews a resolution: never writes,
 *    never mints); `r` read-only (the download links a page carries, which must not post).
 *  - by: the admin who minted a token naming someone else (0: nobody): what is done with it is
 *    audited as "admin <by> acting as <subject>", and it dies with that admin.
 *  - bound: the session the token belongs to: `-` none; `h` the host panel's login session of the
 *    admin (revoked when that admin logs out of the panel); or the nonce of the embed page's
 *    cookie token, which every request with it must carry.
 *
 * Tokens are bearer credentials kept short; revocations (logout, a disabled admin) are kept in
 * the database (token-revocations.ts), so they hold across a restart.
 */
export type SubjectType = 'admin' | 'client';

export interface Subject {
  type: SubjectType;
  id: number;
}

export type TokenScope = 'full' | 'tab' | 'read';

export interface VerifiedToken extends Subject {
  /** unix seconds */
  expiresAt: number;
  /** unix milliseconds */
  issuedAt: number;
  nonce: string;
  /** good for reading only (GET): what download links carry */
  readOnly: boolean;
  scope: TokenScope;
  /** the admin who minted it for someone else */
  by: number | null;
  /** '-' none, 'h' the host's admin session, or the embed cookie token's nonce */
  bound: string | null;
}

export interface IssueOptions {
  ttlSeconds?: number;
  /** scope `read` */
  readOnly?: boolean;
  scope?: TokenScope;
  by?: number | null;
  bound?: string | null;
}

export const TOKEN_PREFIX = 'ou2';
/** the longest a token may live; a longer one is refused even with a good MAC */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
/** the admin tab's tokens: its page is built again on every action, so a short life is enough */
export const TAB_TOKEN_TTL_SECONDS = 10 * 60;

const SCOPE_LETTER: Record<TokenScope, string> = { full: 'f', tab: 't', read: 'r' };
const LETTER_SCOPE: Record<string, TokenScope> = { f: 'full', t: 'tab', r: 'read' };
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const TOKEN =
  /^ou2\.([ac])\.([1-9]\d{0,15})\.(\d{12,14})\.(\d{9,11})\.([ftr])\.(0|[1-9]\d{0,15})\.(-|h|[A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface TokenSigner {
  issue(subject: Subject, opts?: IssueOptions): { token: string; expiresAt: number };
  /** the subject, or an UNAUTHORIZED error saying what is wrong (malformed, bad signature, expired) */
  verify(token: string): VerifiedToken;
  /** the CSRF token that goes with a token (forms of pages opened with it) */
  csrfFor(verified: VerifiedToken): string;
  checkCsrf(verified: VerifiedToken, csrf: unknown): boolean;
}

/** The web token key, derived from the module's secret key. */
export function deriveTokenKey(secretKey: Buffer): Buffer {
  if (secretKey.length < 32) throw new Error('the secret key must be at least 32 bytes');
  return Buffer.from(
    crypto.hkdfSync(
      'sha256',
      secretKey,
      Buffer.from('overusage'),
      Buffer.from('overusage web tokens v1'),
      32,
    ),
  );
}

const mac = (key: Buffer, text: string): Buffer => crypto.createHmac('sha256', key).update(text).digest();

/** `now` is real time in milliseconds (not the billing clock, which the demo moves). */
export function createTokenSigner(secretKey: Buffer, now: () => number = Date.now): TokenSigner {
  const key = deriveTokenKey(secretKey);
  const csrfKey = mac(key, 'csrf');
  const seconds = () => Math.floor(now() / 1000);
  const csrfFor = (v: VerifiedToken): string =>
    mac(csrfKey, `${v.type}.${v.id}.${v.nonce}`).toString('base64url');

  return {
    issue(subject, opts = {}) {
      const ttl = opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS)
        throw new ModuleError(
          'INVALID_INPUT',
          `a token lives from 1 second to ${MAX_TOKEN_TTL_SECONDS} seconds`,
        );
      if (!Number.isSafeInteger(subject.id) || subject.id < 1)
        throw new ModuleError('INVALID_INPUT', 'a token names an admin or a client by a positive id');
      const scope: TokenScope = opts.scope ?? (opts.readOnly ? 'read' : 'full');
      const by = opts.by ?? 0;
      if (!Number.isSafeInteger(by) || by < 0)
        throw new ModuleError('INVALID_INPUT', 'a token is minted by an admin named by a positive id');
      const bound = opts.bound ?? '-';
      if (bound !== '-' && bound !== 'h' && !NONCE.test(bound))
        throw new ModuleError(
          'INVALID_INPUT',
          'a token is bound to no session, the host session (h) or an embed session',
        );
      const issuedAt = now();
      const expiresAt = Math.floor(issuedAt / 1000) + ttl;
      const nonce = crypto.randomBytes(16).toString('base64url');
      const body = `${TOKEN_PREFIX}.${subject.type === 'admin' ? 'a' : 'c'}.${subject.id}.${issuedAt}.${expiresAt}.${SCOPE_LETTER[scope]}.${by}.${bound}.${nonce}`;
      return { token: `${body}.${mac(key, body).toString('base64url')}`, expiresAt };
    },

    verify(token) {
      const m = TOKEN.exec(token);
      if (!m) throw new ModuleError('UNAUTHORIZED', 'the access token is malformed');
      const body = token.slice(0, token.lastIndexOf('.'));
      // compared as text: base64url has more than one spelling of the same bytes
      if (!crypto.timingSafeEqual(Buffer.from(m[9]!), Buffer.from(mac(key, body).toString('base64url'))))
        throw new ModuleError('UNAUTHORIZED', 'the access token is not valid');
      const expiresAt = Number(m[4]);
      const left = expiresAt - seconds();
      if (left <= 0) throw new ModuleError('UNAUTHORIZED', 'the access token has expired');
      if (left > MAX_TOKEN_TTL_SECONDS)
        throw new ModuleError('UNAUTHORIZED', 'the access token lives longer than allowed');
      const scope = LETTER_SCOPE[m[5]!]!;
      return {
        type: m[1] === 'a' ? 'admin' : 'client',
        id: Number(m[2]),
        issuedAt: Number(m[3]),
        expiresAt,
        nonce: m[8]!,
        readOnly: scope === 'read',
        scope,
        by: m[6] === '0' ? null : Number(m[6]),
        bound: m[7] === '-' ? null : m[7]!,
      };
    },

    csrfFor,

    checkCsrf(verified, csrf) {
      if (typeof csrf !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(csrf)) return false;
      return crypto.timingSafeEqual(Buffer.from(csrf), Buffer.from(csrfFor(verified)));
    },
  };
}
