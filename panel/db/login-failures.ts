import type { Knex } from 'knex';
import { intCell } from './rows.js';

/**
 * Failed client logins through ValidateLogin, per email address (tblpanel_login_failures). An
 * attempt is counted before its password is checked, so parallel guesses cannot all slip in before
 * the first failure is written: at most THRESHOLD passwords are ever checked per ban period.
 */
export const LOGIN_THRESHOLD = 3;

const TABLE = 'tblpanel_login_failures';
const DAY_MS = 24 * 3600_000;

/** ms until `email` may try again (0: go on, the attempt is now counted). */
export async function claimLoginAttempt(
  db: Knex,
  email: string,
  nowMs: number,
  banMs: number,
): Promise<number> {
  // the row exists before the locking read: an insert inside concurrent transactions takes gap
  // locks on MariaDB and deadlocks the guesses against each other
  await db(TABLE)
    .insert({ email, failures: 0, locked_until_ms: 0, updated_ms: nowMs })
    .onConflict('email')
    .ignore();
  return db.transaction(async (trx) => {
    const row = await trx(TABLE).where({ email }).forUpdate().first();
    const lockedUntil = Number(row.locked_until_ms);
    if (lockedUntil > nowMs) return lockedUntil - nowMs;
    // three attempts already under way: the lock they are about to set is as good as set
    if (intCell(row.failures) >= LOGIN_THRESHOLD) return banMs;
    await trx(TABLE)
      .where({ email })
      .update({ failures: intCell(row.failures) + 1, locked_until_ms: 0, updated_ms: nowMs });
    return 0;
  });
}

/** A right password: the count starts again. */
export async function loginSucceeded(db: Knex, email: string): Promise<void> {
  await db(TABLE).where({ email }).delete();
}

/** A wrong password (already counted): answers the lock it starts, in ms (0: none). */
export async function loginFailed(db: Knex, email: string, nowMs: number, banMs: number): Promise<number> {
  const lock = await db.transaction(async (trx) => {
    const row = await trx(TABLE).where({ email }).forUpdate().first();
    if (!row || intCell(row.failures) < LOGIN_THRESHOLD || Number(row.locked_until_ms) > nowMs) return 0;
    await trx(TABLE)
      .where({ email })
      .update({ failures: 0, locked_until_ms: nowMs + banMs, updated_ms: nowMs });
    return banMs;
  });
  // addresses nobody has tried for a day are forgotten (made-up ones would pile up); outside the
  // lock's transaction, whose rows it would otherwise hold
  if (lock > 0)
    await db(TABLE)
      .where('updated_ms', '<', nowMs - DAY_MS)
      .andWhere('locked_until_ms', '<', nowMs)
      .delete();
  return lock;
}
