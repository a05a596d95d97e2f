/**
 * Admin logins and API credentials. API secrets are long random strings, so a salted HMAC-SHA256
 * is enough to store them (nothing to brute-force) and keeps each API call fast; admin passwords
 * are chosen by people, so they get scrypt. The stored admin hash is of md5(password), because
 * WHMCS's legacy API login sends md5(password) while the login page has the password itself.
 */
import crypto from 'node:crypto';
import type { DateTime } from 'luxon';
import { intCell, sqlLocalDatetime, textCell, flagCell, type Db } from './db/rows.js';

const md5 = (s: string): string => crypto.createHash('md5').update(s, 'utf8').digest('hex');

export function hashApiSecret(secret: string, salt = crypto.randomBytes(16).toString('hex')): string {
  return `hmac-sha256$${salt}$${crypto.createHmac('sha256', salt).update(secret, 'utf8').digest('hex')}`;
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && crypto.timingSafeEqual(x, y);
}

export function verifyApiSecret(stored: string, secret: string): boolean {
  const [kind, salt, hash] = stored.split('$');
  if (kind !== 'hmac-sha256' || !salt || !hash) return false;
  return safeEqualHex(crypto.createHmac('sha256', salt).update(secret, 'utf8').digest('hex'), hash);
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

export function hashAdminPassword(password: string, salt = crypto.randomBytes(16).toString('hex')): string {
  const key = crypto.scryptSync(md5(password), salt, SCRYPT.keylen, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return `scrypt$${SCRYPT.N}$${salt}$${key.toString('hex')}`;
}

/** Verifies either the password or its md5 hex (the legacy API form). */
export function verifyAdminPassword(stored: string, given: { password: string } | { md5: string }): boolean {
  const [kind, n, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !n || !salt || !hash) return false;
  const pre = 'password' in given ? md5(given.password) : given.md5.toLowerCase();
  const key = crypto.scryptSync(pre, salt, SCRYPT.keylen, { N: Number(n), r: SCRYPT.r, p: SCRYPT.p });
  return safeEqualHex(key.toString('hex'), hash);
}

export async function createAdmin(
  db: Db,
  a: {
    username: string;
    password: string;
    email?: string;
    firstname?: string;
    lastname?: string;
    roleid?: number;
    language?: string;
  },
  now: DateTime,
  zone: string,
): Promise<number> {
  const stamp = sqlLocalDatetime(now, zone);
  const [id] = await db('tbladmins').insert({
    uuid: crypto.randomUUID(),
    roleid: a.roleid ?? 1,
    username: a.username,
    password: hashAdminPassword(a.password),
    firstname: a.firstname ?? '',
    lastname: a.lastname ?? '',
    email: a.email ?? '',
    language: a.language ?? 'english',
    disabled: 0,
    created_at: stamp,
    updated_at: stamp,
  });
  return intCell(id);
}

/** A new API credential for an admin; the secret is shown once and only its hash is kept. */
export async function createApiCredential(
  db: Db,
  opts: { adminId: number; description?: string },
  now: DateTime,
  zone: string,
): Promise<{ identifier: string; secret: string }> {
  const identifier = crypto.randomBytes(16).toString('hex');
  const secret = crypto.randomBytes(24).toString('base64url');
  const stamp = sqlLocalDatetime(now, zone);
  await db('tbldeviceauth').insert({
    user_id: opts.adminId,
    identifier,
    secret: hashApiSecret(secret),
    compat_secret: '',
    role_ids: '',
    description: opts.description ?? '',
    is_admin: 1,
    created_at: stamp,
    updated_at: stamp,
  });
  return { identifier, secret };
}

// used to keep the time of a failed lookup close to that of a real check
const DUMMY_SECRET_HASH = hashApiSecret('dummy-secret', '00000000000000000000000000000000');

/**
 * API authentication: `identifier` + `secret` (also accepted as `username` + `password`, as WHMCS
 * does), else an admin `username` + md5(`password`). The admin must exist and be enabled.
 */
export async function authenticateApi(
  db: Db,
  creds: { identifier?: string; secret?: string; username?: string; password?: string },
): Promise<{ adminId: number } | null> {
  const identifier = creds.identifier ?? creds.username ?? '';
  const secret = creds.secret ?? creds.password ?? '';
  if (identifier === '' || secret === '') return null;
  const cred = await db('tbldeviceauth').where({ identifier }).whereNull('deleted_at').first();
  if (cred) {
    if (!verifyApiSecret(textCell(cred.secret), secret)) return null;
    return enabledAdmin(db, intCell(cred.user_id));
  }
  verifyApiSecret(DUMMY_SECRET_HASH, secret);
  if (
    creds.username !== undefined &&
    creds.password !== undefined &&
    /^[0-9a-f]{32}$/i.test(creds.password)
  ) {
    const admin = await db('tbladmins').where({ username: creds.username }).first();
    if (
      admin &&
      !flagCell(admin.disabled) &&
      verifyAdminPassword(textCell(admin.password), { md5: creds.password })
    )
      return { adminId: intCell(admin.id) };
  }
  return null;
}

async function enabledAdmin(db: Db, id: number): Promise<{ adminId: number } | null> {
  const admin = await db('tbladmins').where({ id }).first('id', 'disabled');
  return admin && !flagCell(admin.disabled) ? { adminId: intCell(admin.id) } : null;
}

export async function touchCredential(
  db: Db,
  identifier: string,
  now: DateTime,
  zone: string,
): Promise<void> {
  await db('tbldeviceauth')
    .where({ identifier })
    .update({ last_access: sqlLocalDatetime(now, zone) });
}
