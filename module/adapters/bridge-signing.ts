/**
 * The WHMCS bridge's wire security (docs/whmcs.md, "Protocol"): every request from the PHP bridge
 * and every answer from the service carries an HMAC-SHA256 over a timestamp, a nonce and the raw
 * body, with the shared secret as the key. The PHP side (modules/addons/overusage/lib/Signer.php)
 * computes exactly the same strings; change one, change both.
 *
 *   request:  "overusage-v1-request\n{timestamp}\n{nonce}\n{endpoint}\n{body}"
 *   answer:   "overusage-v1-answer\n{timestamp}\n{request nonce}\n{answer nonce}\n{http status}\n{body}"
 *
 * The answer names the request's nonce, so an old answer (say, an old `abortsend`) cannot be
 * replayed to a new request. The endpoint, not the URL path, is signed so a reverse proxy may
 * mount the service under a prefix.
 *
 * Identity tokens: `_output` and `_clientarea` name the logged-in admin or client (taken from the
 * WHMCS session, never from the browser) in a short-lived token the bridge signs with a key
 * derived from the same secret.
 */
import crypto from 'node:crypto';

export const SIGNATURE_HEADERS = {
  timestamp: 'x-overusage-timestamp',
  nonce: 'x-overusage-nonce',
  signature: 'x-overusage-signature',
} as const;

/** How far a timestamp may be from the receiver's clock, either way. */
export const MAX_SKEW_SECONDS = 300;
/** Identity tokens live this long. */
export const IDENTITY_TTL_SECONDS = 300;
/** A shorter secret is refused: it is the only thing standing between the network and billing. */
export const MIN_SECRET_LENGTH = 32;

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;

export const isValidNonce = (n: unknown): n is string => typeof n === 'string' && NONCE.test(n);
export const newNonce = (): string => crypto.randomBytes(16).toString('hex');

const hmacHex = (key: string | Buffer, text: string | Buffer): string =>
  crypto.createHmac('sha256', key).update(text).digest('hex');

function concat(parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

export function requestSignature(
  secret: string,
  m: { timestamp: number; nonce: string; endpoint: string; body: string | Buffer },
): string {
  return hmacHex(
    secret,
    concat([`overusage-v1-request\n${m.timestamp}\n${m.nonce}\n${m.endpoint}\n`, m.body]),
  );
}

export function answerSignature(
  secret: string,
  m: { timestamp: number; requestNonce: string; nonce: string; status: number; body: string | Buffer },
): string {
  return hmacHex(
    secret,
    concat([`overusage-v1-answer\n${m.timestamp}\n${m.requestNonce}\n${m.nonce}\n${m.status}\n`, m.body]),
  );
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || !/^[0-9a-f]{64}$/i.test(given)) return false;
  return crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given.toLowerCase(), 'hex'));
}

export type FreshnessProblem = 'missing' | 'stale';

/** A Unix timestamp in seconds within MAX_SKEW_SECONDS of `nowMs`, or why not. */
export function checkTimestamp(
  value: unknown,
  nowMs: number,
  maxSkewSeconds = MAX_SKEW_SECONDS,
): { ok: true; timestamp: number } | { ok: false; problem: FreshnessProblem } {
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) return { ok: false, problem: 'missing' };
  const ts = Number(value);
  if (Math.abs(nowMs / 1000 - ts) > maxSkewSeconds) return { ok: false, problem: 'stale' };
  return { ok: true, timestamp: ts };
}

// ---------------------------------------------------------------------------------------------
// Identity tokens: base64url(JSON payload) "." base64url(HMAC(identity key, first part))

export interface Identity {
  sub: 'admin' | 'client';
  id: number;
}

const identityKey = (secret: string): Buffer =>
  crypto.createHmac('sha256', secret).update('overusage identity token v1').digest();
const b64url = (b: Buffer): string => b.toString('base64url');

/** What the PHP bridge does in _output/_clientarea; here for tests and tools. */
export function mintIdentityToken(
  secret: string,
  who: Identity,
  nowMs: number,
  ttlSeconds = IDENTITY_TTL_SECONDS,
): string {
  const iat = Math.floor(nowMs / 1000);
  const payload = b64url(
    Buffer.from(JSON.stringify({ v: 1, sub: who.sub, id: who.id, iat, exp: iat + ttlSeconds }), 'utf8'),
  );
  return `${payload}.${b64url(crypto.createHmac('sha256', identityKey(secret)).update(payload).digest())}`;
}

export type IdentityProblem = 'missing' | 'malformed' | 'bad_signature' | 'expired';

export function readIdentityToken(
  secret: string,
  token: unknown,
  nowMs: number,
): { ok: true; identity: Identity } | { ok: false; problem: IdentityProblem } {
  if (typeof token !== 'string' || token === '') return { ok: false, problem: 'missing' };
  const m = /^([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, problem: 'malformed' };
  const expected = crypto.createHmac('sha256', identityKey(secret)).update(m[1]!).digest();
  const given = Buffer.from(m[2]!, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(expected, given))
    return { ok: false, problem: 'bad_signature' };
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  if (
    p.v !== 1 ||
    (p.sub !== 'admin' && p.sub !== 'client') ||
    typeof p.id !== 'number' ||
    !Number.isSafeInteger(p.id) ||
    p.id <= 0
  )
    return { ok: false, problem: 'malformed' };
  if (typeof p.iat !== 'number' || typeof p.exp !== 'number') return { ok: false, problem: 'malformed' };
  const now = nowMs / 1000;
  // a token from the future beyond the allowed skew is as suspect as an expired one
  if (now > p.exp || p.iat > now + MAX_SKEW_SECONDS || p.exp - p.iat > 3600)
    return { ok: false, problem: 'expired' };
  return { ok: true, identity: { sub: p.sub, id: p.id } };
}
