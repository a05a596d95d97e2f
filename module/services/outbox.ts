import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { leaseOwner, type LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import { listOf, type PanelApi } from '../adapters/panel-api.js';
import type { NewOutboxRow, OutboxRow, OutboxStore } from '../adapters/outbox-store.js';
import { errorKind } from '../adapters/rows.js';

/**
 * The outbox: every email the module sends is written in the same transaction as the change that
 * causes it (a dispute opened, a resolution carried out, a notice decided), and a worker sends it
 * and marks it sent, retrying with back-off. So a change never goes without its email, and a
 * crash sends an email once, or at worst twice with the same identifier:
 *  - each email carries a reference derived from its key ("Ref. OUM-…" at its foot);
 *  - a row found 'sending' (its worker died) or retried after a failure may already have gone out:
 *    for a client, the panel's email log (GetEmails) is asked first and the email is not sent
 *    again when it is there; an admin email (the panel keeps no log an API can read) is sent again,
 *    with the same reference.
 */
export interface OutboxEmail {
  /** unique per email, e.g. dispute:12:opened:client; enqueueing it again changes nothing */
  key: string;
  /** what it is about: dispute_opened, dispute_upheld, upgrade_suggestion, threshold … */
  kind: string;
  to:
    | { client: { clientId: number; customType: 'product' | 'general' | 'invoice'; relatedId: number } }
    | { admin: true };
  subject: string;
  /** HTML; the reference is added at its foot */
  html: string;
}

export interface DrainResult {
  sent: number;
  /** found already sent after a crash: marked sent without a second email */
  alreadySent: number;
  failed: number;
  /** another worker holds the outbox and sends what is due */
  locked: boolean;
}

export interface Outbox {
  /** in the caller's transaction: the emails exist exactly when the change does */
  enqueue(trx: Knex | Knex.Transaction, emails: readonly OutboxEmail[]): Promise<void>;
  /** sends what is due, one worker at a time */
  drain(): Promise<DrainResult>;
  /** emails not sent yet (pending, being sent, or failed and waiting for their next attempt) */
  waiting(): Promise<
    Array<{
      key: string;
      ref: string;
      kind: string;
      status: string;
      attempts: number;
      lastError: string | null;
      nextAttemptAt: string;
    }>
  >;
}

const LOCK = 'outbox';
const LEASE_MS = 60_000;
/** after the first failure: 5 min, 15 min, 1 h, 4 h, then every 12 h (the 5-minute tick sends) */
const BACKOFF_MINUTES = [5, 15, 60, 240, 720];

/** The identifier an email carries: the same for every sending of it. */
export const messageRef = (key: string): string =>
  `OUM-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 10).toUpperCase()}`;

/** The email's HTML with its reference at the foot (no braces: the panel reads {…} as merge fields). */
export const withRef = (html: string, ref: string): string =>
  `${html}<p style="color:#777;font-size:11px">Ref. ${ref}</p>`;

type Payload =
  | {
      client: { clientId: number; customType: 'product' | 'general' | 'invoice'; relatedId: number };
      subject: string;
      html: string;
    }
  | { admin: true; subject: string; html: string };

type OutboxDeps = { store: OutboxStore; clock: Clock; panel: PanelApi; locks: LockStore; log: Logger };

export function createOutbox(deps: OutboxDeps): Outbox {
  return {
    enqueue: (trx, emails) => deps.store.enqueue(trx, emails.map(outboxRow), deps.clock.now()),
    drain: () => drain(deps),
    async waiting() {
      return (await deps.store.unsent(500)).map((r) => ({
        key: r.key,
        ref: r.ref,
        kind: r.kind,
        status: r.status,
        attempts: r.attempts,
        lastError: r.lastError,
        nextAttemptAt: r.nextAttemptAt.toISO()!,
      }));
    },
  };
}

function outboxRow(e: OutboxEmail): NewOutboxRow {
  const payload: Payload =
    'admin' in e.to
      ? { admin: true, subject: e.subject, html: e.html }
      : { client: e.to.client, subject: e.subject, html: e.html };
  return {
    key: e.key,
    ref: messageRef(e.key),
    audience: 'admin' in e.to ? 'admin' : 'client',
    clientId: 'client' in e.to ? e.to.client.clientId : null,
    kind: e.kind,
    payload: JSON.stringify(payload),
  };
}

/** Sends what is due under the outbox's lease; each row tried once per drain. */
async function drain(deps: OutboxDeps): Promise<DrainResult> {
  const result: DrainResult = { sent: 0, alreadySent: 0, failed: 0, locked: false };
  const owner = leaseOwner();
  if (!(await acquire(deps, owner))) return { ...result, locked: true };
  const renew = setInterval(() => void deps.locks.renew(LOCK, owner, LEASE_MS).catch(() => {}), LEASE_MS / 3);
  renew.unref();
  try {
    const tried = new Set<number>();
    for (;;) {
      // We hold the outbox: a row still 'sending' was left by a worker that stopped mid-way.
      const due = (await deps.store.due(deps.clock.now(), 100)).filter((r) => !tried.has(r.id));
      if (due.length === 0) break;
      for (const row of due) {
        tried.add(row.id);
        const out = await send(deps, row);
        if (out === 'sent') result.sent++;
        else if (out === 'already') result.alreadySent++;
        else result.failed++;
      }
    }
    return result;
  } finally {
    clearInterval(renew);
    await deps.locks.release(LOCK, owner).catch(() => {});
  }
}

async function acquire(deps: OutboxDeps, owner: string): Promise<boolean> {
  // a worker that just started holds it for a moment: wait a little rather than leave our email to the next tick
  for (let i = 0; i < 20; i++) {
    if ((await deps.locks.acquire(LOCK, owner, LEASE_MS)).acquired) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function alreadyInPanel(
  deps: OutboxDeps,
  p: Extract<Payload, { client: unknown }>,
  ref: string,
): Promise<boolean> {
  const r = await deps.panel.call('GetEmails', {
    clientid: p.client.clientId,
    subject: p.subject,
    limitnum: 100,
  });
  return listOf(r.emails, 'email').some((e) => String(e.message ?? '').includes(ref));
}

/** Claims one row and sends it; a failure is kept with its next attempt after the back-off. */
async function send(deps: OutboxDeps, row: OutboxRow): Promise<'sent' | 'already' | 'failed'> {
  const { id, ref } = row;
  const mayHaveGone = row.status === 'sending' || row.attempts > 0;
  const attempts = row.attempts + 1;
  if (!(await deps.store.claim(row, attempts))) return 'failed';
  const p = JSON.parse(row.payload) as Payload;
  try {
    let outcome: 'sent' | 'already' = 'sent';
    if ('client' in p) {
      if (mayHaveGone && (await alreadyInPanel(deps, p, ref))) outcome = 'already';
      else
        await deps.panel.sendEmail({
          customType: p.client.customType,
          id: p.client.relatedId,
          customSubject: p.subject,
          customMessage: withRef(p.html, ref),
        });
    } else {
      await deps.panel.sendAdminEmail({ customSubject: p.subject, customMessage: withRef(p.html, ref) });
    }
    await deps.store.markSent(id, outcome, deps.clock.now());
    return outcome;
  } catch (err) {
    const minutes = BACKOFF_MINUTES[Math.min(attempts, BACKOFF_MINUTES.length) - 1]!;
    // what failed and its kind (errorKind), never the panel's or the mail server's words: a refusal
    // can echo the recipient's address or the email itself
    const error = `the email was not sent: ${errorKind(err)}`;
    await deps.store.markFailed(id, error, deps.clock.now().plus({ minutes }));
    deps.log.warn('outbox.send_failed', {
      key: row.key,
      ref,
      attempt: attempts,
      retryInMinutes: minutes,
      error,
    });
    return 'failed';
  }
}
