/**
 * Client-area passwords (tblclients.password): scrypt of the password itself, computed off the
 * event loop. Admin passwords keep panel/auth.ts's form (scrypt of md5, for the legacy API login).
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { sqlLocalDatetime, type Db } from '../db/rows.js';
import type { DateTime } from 'luxon';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: string,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;
const PARAMS = { N: 16384, r: 8, p: 1, keylen: 32 };

export async function hashClientPassword(
  password: string,
  salt = crypto.randomBytes(16).toString('hex'),
): Promise<string> {
  const key = await scrypt(password, salt, PARAMS.keylen, { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p });
  return `scrypt$${PARAMS.N}$${salt}$${key.toString('hex')}`;
}

export async function verifyClientPassword(stored: string, password: string): Promise<boolean> {
  const [kind, n, salt, hash] = stored.split('$');
  const cost = Number(n);
  if (kind !== 'scrypt' || !salt || !hash || !Number.isSafeInteger(cost) || cost < 2 || cost > 1 << 20)
    return false;
  const key = await scrypt(password, salt, PARAMS.keylen, {
    N: cost,
    r: PARAMS.r,
    p: PARAMS.p,
    maxmem: 256 * 1024 * 1024,
  });
  const want = Buffer.from(hash, 'hex');
  return want.length === key.length && crypto.timingSafeEqual(key, want);
}

// verified when no client matches, so an unknown email costs as much time as a wrong password
export const DUMMY_CLIENT_HASH = `scrypt$${PARAMS.N}$00000000000000000000000000000000$${'0'.repeat(64)}`;

/** Sets a client's area password (demo data, tests, a future "change password" page). */
export async function setClientPassword(
  db: Db,
  clientId: number,
  password: string,
  now: DateTime,
  zone: string,
): Promise<void> {
  await db('tblclients')
    .where({ id: clientId })
    .update({ password: await hashClientPassword(password), updated_at: sqlLocalDatetime(now, zone) });
}
