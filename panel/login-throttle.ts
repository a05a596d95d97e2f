/**
 * Lockout after failed logins, for the admin and client login pages and for API credentials:
 * after `threshold` failures of one name or one address, further attempts are refused unchecked
 * for a time that doubles with each further failure (back-off), from `baseMs` up to `maxMs`. The
 * start of each lock is written to the activity log (WHMCS logs failed logins and bans there).
 * A success clears the name's and the address's count. Kept in memory: a restart forgets it, and
 * the locks last minutes.
 */
export interface ThrottleOptions {
  threshold?: number;
  baseMs?: number;
  maxMs?: number;
  /** failures are forgotten after this long without one */
  windowMs?: number;
  now?: () => number;
}

export interface LoginThrottle {
  /** ms until the key may try again, or 0 */
  lockedFor(keys: string[]): number;
  /** a failed attempt; answers the new lock's length (0: not locked) */
  fail(keys: string[]): number;
  succeed(keys: string[]): void;
}

export function createLoginThrottle(o: ThrottleOptions = {}): LoginThrottle {
  const threshold = o.threshold ?? 5;
  const baseMs = o.baseMs ?? 30_000;
  const maxMs = o.maxMs ?? 15 * 60_000;
  const windowMs = o.windowMs ?? 60 * 60_000;
  const now = o.now ?? Date.now;
  const state = new Map<string, { failures: number; last: number; until: number }>();

  const prune = () => {
    if (state.size < 10_000) return;
    const t = now();
    for (const [k, v] of state) if (t - v.last > windowMs && v.until <= t) state.delete(k);
  };

  return {
    lockedFor(keys) {
      const t = now();
      return Math.max(0, ...keys.map((k) => (state.get(k)?.until ?? 0) - t));
    },
    fail(keys) {
      prune();
      const t = now();
      let lock = 0;
      for (const k of keys) {
        const s = state.get(k);
        const failures = s && t - s.last <= windowMs ? s.failures + 1 : 1;
        const until = failures >= threshold ? t + Math.min(maxMs, baseMs * 2 ** (failures - threshold)) : 0;
        state.set(k, { failures, last: t, until });
        lock = Math.max(lock, until ? until - t : 0);
      }
      return lock;
    },
    succeed(keys) {
      for (const k of keys) state.delete(k);
    },
  };
}
