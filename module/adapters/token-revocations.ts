import type { Knex } from 'knex';
import { sqlInstant } from './rows.js';
import { DateTime } from 'luxon';

/**
 * Web token revocations, kept in `mod_overusage_token_revocations` so that they hold across a
 * restart and across the processes that share the database. What a token carries decides what
 * can refuse it (module/web/tokens.ts):
 *
 *   token     one token by its nonce; tokens bound to it (the embed page's script and links) too
 *   subject   every token naming the subject, and every token an admin minted for others, issued
 *             up to an instant (a disabled or removed admin, a subject's "log out everywhere")
 *   sessions  every token of an admin bound to a login session, issued up to an instant (the
 *             admin logged out of the panel)
 *
 * Reads go to a snapshot of the live rows, read again after a write here and at most `refreshMs`
 * after the last read (another process's revocation is seen within that time).
 */
export interface RevocableToken {
  type: 'admin' | 'client';
  id: number;
  nonce: string;
  /** unix ms */
  issuedAt: number;
  /** unix s */
  expiresAt: number;
  by: number | null;
  bound: string | null;
}

export interface TokenRevocations {
  revokeToken(t: RevocableToken, reason: string): Promise<void>;
  revokeSubject(subject: { type: 'admin' | 'client'; id: number }, reason: string): Promise<void>;
  revokeSessions(adminId: number, reason: string): Promise<void>;
  /** why the token is refused, or null */
  check(t: RevocableToken): Promise<string | null>;
}

const TABLE = 'mod_overusage_token_revocations';
/** no token lives longer (tokens.ts MAX_TOKEN_TTL_SECONDS), so older revocations refuse nothing */
const KEEP_SECONDS = 24 * 3600 + 60;

interface Snapshot {
  at: number;
  nonces: Map<string, string>;
  subjects: Map<string, { beforeMs: number; reason: string }>;
  sessions: Map<number, { beforeMs: number; reason: string }>;
}

export function createTokenRevocations(
  knex: Knex,
  opts: { now?: () => number; refreshMs?: number } = {},
): TokenRevocations {
  const now = opts.now ?? Date.now;
  const refreshMs = opts.refreshMs ?? 5000;
  let snapshot: Snapshot | null = null;
  let loading: Promise<Snapshot> | null = null;

  async function current(): Promise<Snapshot> {
    if (snapshot && now() - snapshot.at < refreshMs) return snapshot;
    loading ??= loadSnapshot(knex, now()).finally(() => (loading = null));
    snapshot = await loading;
    return snapshot;
  }

  async function insert(row: Record<string, unknown>): Promise<void> {
    const t = now();
    await knex(TABLE)
      .insert({
        ...row,
        created_at: sqlInstant(DateTime.fromMillis(t, { zone: 'utc' })),
        expires_at: Math.floor(t / 1000) + KEEP_SECONDS,
      })
      .onConflict('nonce')
      .ignore();
    // pruned on the way: a revocation older than the longest token refuses nothing
    await knex(TABLE)
      .where('expires_at', '<', Math.floor(t / 1000))
      .delete();
    snapshot = null;
  }

  return {
    revokeToken: (t, reason) =>
      insert({
        kind: 'token',
        subject_type: t.type,
        subject_id: t.id,
        nonce: t.nonce,
        before_ms: null,
        reason,
      }),
    revokeSubject: (subject, reason) =>
      insert({
        kind: 'subject',
        subject_type: subject.type,
        subject_id: subject.id,
        nonce: null,
        before_ms: now(),
        reason,
      }),
    revokeSessions: (adminId, reason) =>
      insert({
        kind: 'sessions',
        subject_type: 'admin',
        subject_id: adminId,
        nonce: null,
        before_ms: now(),
        reason,
      }),

    check: async (t) => revokedBecause(await current(), t),
  };
}

/** The revocations still in force at `t` (ms), by nonce, subject and admin session. */
async function loadSnapshot(knex: Knex, t: number): Promise<Snapshot> {
  const rows = await knex(TABLE).where('expires_at', '>', Math.floor(t / 1000));
  const s: Snapshot = { at: t, nonces: new Map(), subjects: new Map(), sessions: new Map() };
  for (const r of rows) {
    const beforeMs = Number(r.before_ms ?? 0);
    const reason = String(r.reason);
    if (r.kind === 'token' && r.nonce) s.nonces.set(String(r.nonce), reason);
    else if (r.kind === 'subject') {
      const key = `${String(r.subject_type)}:${Number(r.subject_id)}`;
      if (beforeMs >= (s.subjects.get(key)?.beforeMs ?? -1)) s.subjects.set(key, { beforeMs, reason });
    } else if (r.kind === 'sessions') {
      const id = Number(r.subject_id);
      if (beforeMs >= (s.sessions.get(id)?.beforeMs ?? -1)) s.sessions.set(id, { beforeMs, reason });
    }
  }
  return s;
}

/** Why the token is revoked (its own nonce or the one it is bound to, its subject, its minter, its session), or null. */
function revokedBecause(s: Snapshot, t: RevocableToken): string | null {
  const own = s.nonces.get(t.nonce) ?? (t.bound && t.bound !== 'h' ? s.nonces.get(t.bound) : undefined);
  if (own) return own;
  const subject = s.subjects.get(`${t.type}:${t.id}`);
  if (subject && t.issuedAt <= subject.beforeMs) return subject.reason;
  const minter = t.by === null ? undefined : s.subjects.get(`admin:${t.by}`);
  if (minter && t.issuedAt <= minter.beforeMs) return minter.reason;
  const session = t.type === 'admin' && t.bound ? s.sessions.get(t.id) : undefined;
  if (session && t.issuedAt <= session.beforeMs) return session.reason;
  return null;
}
