/**
 * A client's email and password checked against the client-area password, with the one lockout
 * both ways in share (issue 19): the login page (dologin.php) and ValidateLogin count failed
 * passwords per email address in the same table (db/login-failures.ts), so 3 wrong passwords on
 * either lock the address on both for InvalidLoginBanLength minutes (15; 0 switches it off), the
 * right password included — WHMCS bans after failed logins (General Settings › Security, "Invalid
 * Login Ban Time"), and a ban that one door ignored would be no ban. Every refusal costs one
 * password check, so the answer does not tell which part was wrong; made-up addresses lock alike.
 */
import { DUMMY_CLIENT_HASH, verifyClientPassword } from '../web/passwords.js';
import { getSetting } from '../db/settings.js';
import { LOGIN_THRESHOLD, claimLoginAttempt, loginFailed, loginSucceeded } from '../db/login-failures.js';
import { intCell, textCell } from '../db/rows.js';
import type { PanelCore, When } from './context.js';

export type ClientLoginOutcome =
  | { ok: true; clientId: number; passwordHash: string }
  /** `lockedMs` > 0: refused unchecked, the address is locked for that long */
  | { ok: false; lockedMs: number };

export interface ClientLoginAttempt {
  email: string;
  password: string;
  /** where the attempt came from, for the lock's line in the activity log: "ValidateLogin", "Client area login" */
  surface: string;
  ip: string;
}

export async function checkClientLogin(
  core: PanelCore,
  a: ClientLoginAttempt,
  when: When,
): Promise<ClientLoginOutcome> {
  const db = core.knex;
  const email = a.email.trim();
  const key = email.toLowerCase().slice(0, 191);
  const banMs = Math.max(0, Number.parseInt(await getSetting(db, 'InvalidLoginBanLength'), 10) || 0) * 60_000;
  const nowMs = when.now.toMillis();
  const counted = key !== '' && banMs > 0;
  if (counted) {
    const wait = await claimLoginAttempt(db, key, nowMs, banMs);
    if (wait > 0) return { ok: false, lockedMs: wait };
  }
  const rows =
    email === ''
      ? []
      : await db('tblclients')
          .whereRaw('LOWER(email) = ?', [key])
          .whereNot({ status: 'Closed' })
          .orderBy('id')
          .limit(5)
          .select('id', 'password');
  const candidates = rows.filter((r) => textCell(r.password) !== '');
  if (candidates.length === 0 || a.password === '') await verifyClientPassword(DUMMY_CLIENT_HASH, a.password);
  else {
    for (const r of candidates) {
      if (!(await verifyClientPassword(textCell(r.password), a.password))) continue;
      if (counted) await loginSucceeded(db, key);
      return { ok: true, clientId: intCell(r.id), passwordHash: textCell(r.password) };
    }
  }
  const lock = counted ? await loginFailed(db, key, nowMs, banMs) : 0;
  if (lock > 0) {
    const description = `${a.surface} locked for ${lock / 60_000} minutes after ${LOGIN_THRESHOLD} failed login attempts - Email: ${email.slice(0, 120)}`;
    await core.activity(
      { description, userid: rows.length > 0 ? intCell(rows[0]!.id) : 0, ipaddr: a.ip },
      when,
    );
  }
  return { ok: false, lockedMs: 0 };
}
