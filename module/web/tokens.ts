import crypto from 'node:crypto';
import { ModuleError } from '../domain/errors.js';

/**
 * Short-lived signed tokens that name an admin or a client, for the JSON API and for pages
 * embedded in a panel that is not the reference host. A token is
 *
 *   ou1.<a|c>.<id>.<expires, unix seconds>.<nonce>.<mac>
 *
 * (`ou1r.` for a read-only token: the download links a page carries, which must not post) where
 * mac = base64url(HMAC-SHA256(key, everything before it)) and the key is
 * derived from the module's secret key with HKDF-SHA256 (info "overusage web tokens v1"), so the
 * secret that seals SolusVM credentials is never used as a MAC key itself. The nonce (16 random
 * bytes) makes every token distinct and keys its CSRF token. Tokens are bearer credentials: they
 * are not stored, so they cannot be revoked; they are kept short instead.
 */
export type SubjectType = 'admin' | 'client';

export interface Subject {
  type: SubjectType;
  id: number;
}

export interface VerifiedToken extends Subject {
  /** unix seconds */
  expiresAt: number;
  nonce: string;
  /** good for reading only (GET): what download links carry */
  readOnly: boolean;
}

export const TOKEN_PREFIX = 'ou1';
/** the longest a token may live; a longer one is refused even with a good MAC */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;

const TOKEN = /^ou1(r?)\.([ac])\.([1-9]\d{0,15})\.(\d{9,11})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface TokenSigner {
  issue(subject: Subject, opts?: { ttlSeconds?: number; readOnly?: boolean }): { token: string; expiresAt: number };
  /** the subject, or an UNAUTHORIZED error saying what is wrong (malformed, bad signature, expired) */
  verify(token: string): VerifiedToken;
  /** the CSRF token that goes with a token (forms of pages opened with it) */
  csrfFor(verified: VerifiedToken): string;
  checkCsrf(verified: VerifiedToken, csrf: unknown): boolean;
}

/** The web token key, derived from the module's secret key. */
export function deriveTokenKey(secretKey: Buffer): Buffer {
  if (secretKey.length < 32) throw new Error('the secret key must be at least 32 bytes');
  return Buffer.from(crypto.hkdfSync('sha256', secretKey, Buffer.from('overusage'), Buffer.from('overusage web tokens v1'), 32));
}

const mac = (key: Buffer, text: string): Buffer => crypto.createHmac('sha256', key).update(text).digest();

/** `now` is real time in milliseconds (not the billing clock, which the demo moves). */
export function createTokenSigner(secretKey: Buffer, now: () => number = Date.now): TokenSigner {
  const key = deriveTokenKey(secretKey);
  const csrfKey = mac(key, 'csrf');
  const seconds = () => Math.floor(now() / 1000);
  const csrfFor = (v: VerifiedToken): string => mac(csrfKey, `${v.type}.${v.id}.${v.nonce}`).toString('base64url');

  return {
    issue(subject, opts = {}) {
      const ttl = opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) throw new ModuleError('INVALID_INPUT', `a token lives from 1 second to ${MAX_TOKEN_TTL_SECONDS} seconds`);
      if (!Number.isSafeInteger(subject.id) || subject.id < 1) throw new ModuleError('INVALID_INPUT', 'a token names an admin or a client by a positive id');
      const expiresAt = seconds() + ttl;
      const nonce = crypto.randomBytes(16).toString('base64url');
      const body = `${TOKEN_PREFIX}${opts.readOnly ? 'r' : ''}.${subject.type === 'admin' ? 'a' : 'c'}.${subject.id}.${expiresAt}.${nonce}`;
      return { token: `${body}.${mac(key, body).toString('base64url')}`, expiresAt };
    },

    verify(token) {
      const m = TOKEN.exec(token);
      if (!m) throw new ModuleError('UNAUTHORIZED', 'the access token is malformed');
      const body = token.slice(0, token.lastIndexOf('.'));
      // compared as text: base64url has more than one spelling of the same bytes
      if (!crypto.timingSafeEqual(Buffer.from(m[6]!), Buffer.from(mac(key, body).toString('base64url')))) throw new ModuleError('UNAUTHORIZED', 'the access token is not valid');
      const expiresAt = Number(m[4]);
      const left = expiresAt - seconds();
      if (left <= 0) throw new ModuleError('UNAUTHORIZED', 'the access token has expired');
      if (left > MAX_TOKEN_TTL_SECONDS) throw new ModuleError('UNAUTHORIZED', 'the access token lives longer than allowed');
      return { type: m[2] === 'a' ? 'admin' : 'client', id: Number(m[3]), expiresAt, nonce: m[5]!, readOnly: m[1] === 'r' };
    },

    csrfFor,

    checkCsrf(verified, csrf) {
      if (typeof csrf !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(csrf)) return false;
      return crypto.timingSafeEqual(Buffer.from(csrf), Buffer.from(csrfFor(verified)));
    },
  };
}
