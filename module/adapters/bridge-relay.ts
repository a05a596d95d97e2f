/**
 * Relay mode: the PanelApi for a service that cannot reach WHMCS's External API (it is often
 * firewalled). The panel commands the add-on issues are handed back to the PHP bridge, which
 * applies them with WHMCS's localAPI() and reports their results.
 *
 * Every request from the bridge (a hook, the admin tab, the client page, activation) runs as a
 * *conversation*: the work (a hook handler, say) runs inside it, and each panel call it makes
 * becomes a command in the HTTP answer, `{status: "commands", conversation, commands: [{key,
 * command, params}]}`. The bridge applies them and posts the results back (`/results`), which
 * resumes the work; this repeats until `{status: "done", answer}`. A step that makes no progress
 * within `pollMs` answers `{status: "working"}` so no single HTTP exchange outlives the bridge's
 * timeout (metering 100 000 services on DailyCronJob takes a while).
 *
 * Exactly once: each command carries an idempotency key. Writes (anything not in SAFE_TO_REPEAT)
 * are recorded in mod_overusage_bridge_commands before they leave, handed out once, and never
 * re-sent; the bridge applies a key once and keeps the result in its outbox until the service has
 * acknowledged it, so a result lost in transit is reported on the next AfterCronJob. A result that
 * never comes back leaves the command "unknown" — never repeated blindly; callers that need
 * certainty check the panel (invoice lines carry a reference code for exactly this).
 *
 * Outside a conversation (the service's own schedule, the CLI) there is nobody to ask: reads fail
 * with a clear error, and the fire-and-forget writes (SendEmail, SendAdminEmail, LogActivity) are
 * queued and handed to the bridge on its next AfterCronJob.
 *
 * Conversations live in this process's memory: with several service instances behind a load
 * balancer, a conversation's requests must reach the same instance (sticky routing), or run one.
 */
import { loggedError } from './rows.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import { silentLogger, type Logger } from './logger.js';
import {
  PanelApiError,
  createPanelApi,
  interpretEnvelope,
  isSafeToRepeat,
  type PanelApi,
  type PanelParamValue,
  type PanelParams,
  type PanelResult,
} from './panel-api.js';
import type { BridgeStore } from './bridge-store.js';

/** Parameters as localAPI takes them: what PHP would have parsed from the External API's form body. */
export type LocalApiValue = string | LocalApiValue[] | { [key: string]: LocalApiValue };
export type LocalApiParams = { [key: string]: LocalApiValue };

export interface RelayCommand {
  key: string;
  command: string;
  params: LocalApiParams;
}

/**
 * What the bridge reports per command: `ok` with localAPI's answer (which may itself be
 * result=error), `refused` when it did not run it (not on its list), `unknown` when it cannot tell
 * (it crashed or threw while applying).
 */
export interface ReportedResult {
  key: string;
  status: 'ok' | 'refused' | 'unknown';
  result?: Record<string, unknown>;
  message?: string;
}

export type RelayStep<T = unknown> =
  | { status: 'done'; answer: T }
  | { status: 'commands'; conversation: string; commands: RelayCommand[] }
  | { status: 'working'; conversation: string }
  | { status: 'failed'; message: string };

/** Writes that may wait for the bridge's next visit: nobody needs their answer. */
const DEFERRABLE = new Set(['sendemail', 'sendadminemail', 'logactivity']);

export interface BridgeRelayOptions {
  store: BridgeStore;
  log?: Logger;
  /** the machine's real time in ms (not the business clock) */
  nowMs?: () => number;
  /** the longest a step waits for progress before answering "working" */
  pollMs?: number;
  /** how long the bridge may take to come back after a step before the conversation is abandoned */
  idleTimeoutMs?: number;
  /** what counts the idle timeout (real timers by default; a test fires it when it says) */
  idleTimer?: IdleTimer;
  /** queued commands handed out per AfterCronJob */
  queuedBatch?: number;
}

/** Arms a conversation's idle timeout: `fire` runs after `ms` unless the returned disarm runs first. */
export interface IdleTimer {
  arm(fire: () => void, ms: number): () => void;
}

/** Real time: a timer that does not keep the process alive. */
export const realIdleTimer: IdleTimer = {
  arm(fire, ms) {
    const t = setTimeout(fire, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export interface BridgeRelay {
  /** the PanelApi the module is built with in relay mode */
  api: PanelApi;
  /** runs `work` as a conversation and returns its first step */
  converse<T>(work: () => Promise<T>, opts?: { deliverQueued?: boolean }): Promise<RelayStep<T>>;
  /** the bridge's results for a conversation's commands; returns the next step */
  resume(conversationId: string, results: ReportedResult[]): Promise<RelayStep>;
  /** results reported outside a conversation (the bridge's outbox); returns the keys now recorded */
  report(results: ReportedResult[]): Promise<string[]>;
  /** conversations in progress (for health and tests) */
  active(): number;
  close(): void;
}

/** Flattens parameters the way http_build_query sends them and PHP parses them back. */
export function toLocalApiParams(params: PanelParams): LocalApiParams {
  const conv = (v: PanelParamValue): LocalApiValue | undefined => {
    if (v === null || v === undefined) return undefined;
    if (typeof v === 'boolean') return v ? '1' : '0';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError('a parameter is not a finite number');
      return String(v);
    }
    if (typeof v === 'bigint') return v.toString();
    if (Array.isArray(v)) return v.map(conv).filter((x): x is LocalApiValue => x !== undefined);
    const out: Record<string, LocalApiValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, PanelParamValue>)) {
      const c = conv(x);
      if (c !== undefined) out[k] = c;
    }
    return out;
  };
  const out: LocalApiParams = {};
  for (const [k, v] of Object.entries(params)) {
    const c = conv(v);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

interface Waiter {
  command: string;
  write: boolean;
  /** already recorded (a queued command), so handing out only changes its status */
  recorded: boolean;
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

interface Conversation {
  id: string;
  outgoing: RelayCommand[];
  waiting: Map<string, Waiter>;
  seq: number;
  finished: boolean;
  outcome: { ok: true; value: unknown } | { ok: false; error: Error } | null;
  wake: (() => void) | null;
  /** disarms the idle timeout while the bridge is away */
  idle: (() => void) | null;
  busy: boolean;
  expired: boolean;
}

/** One relay's state: the conversations in progress and who waits for which result. */
class Relay implements Omit<BridgeRelay, 'api'> {
  private readonly store: BridgeStore;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly pollMs: number;
  private readonly idleTimeoutMs: number;
  private readonly idleTimer: IdleTimer;
  private readonly queuedBatch: number;
  private readonly als = new AsyncLocalStorage<Conversation>();
  private readonly conversations = new Map<string, Conversation>();
  // which conversation waits for a key, for results that arrive through report()
  private readonly owner = new Map<string, Conversation>();

  constructor(opts: BridgeRelayOptions) {
    this.store = opts.store;
    this.log = opts.log ?? silentLogger;
    this.nowMs = opts.nowMs ?? Date.now;
    this.pollMs = opts.pollMs ?? 4_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.idleTimer = opts.idleTimer ?? realIdleTimer;
    this.queuedBatch = opts.queuedBatch ?? 100;
  }

  private settle(
    conv: Conversation,
    key: string,
    outcome: { ok: true; value: Record<string, unknown> } | { ok: false; error: Error },
  ): void {
    const w = conv.waiting.get(key);
    if (!w) return;
    conv.waiting.delete(key);
    this.owner.delete(key);
    if (outcome.ok) w.resolve(outcome.value);
    else w.reject(outcome.error);
  }

  /** Records a reported result and hands it to whoever waits for it. */
  private async apply(r: ReportedResult, conv: Conversation | undefined): Promise<void> {
    const w = conv?.waiting.get(r.key);
    const write = w ? w.write : !r.key.startsWith('r-');
    const command = w?.command ?? 'command';
    if (write) {
      const envelopeOk =
        r.status === 'ok' && r.result !== undefined && (r.result.result ?? r.result.status) === 'success';
      await this.store.recordResult(
        r.key,
        {
          status: r.status === 'unknown' ? 'unknown' : r.status === 'ok' && envelopeOk ? 'done' : 'failed',
          result: r.result ?? null,
          message:
            r.message ??
            (r.status === 'ok' && !envelopeOk && typeof r.result?.message === 'string'
              ? r.result.message
              : null),
        },
        this.nowMs(),
      );
    }
    if (!conv) return;
    if (r.status === 'ok' && r.result && typeof r.result === 'object')
      this.settle(conv, r.key, { ok: true, value: r.result });
    else if (r.status === 'refused')
      this.settle(conv, r.key, {
        ok: false,
        error: new PanelApiError(
          'api',
          `the WHMCS bridge refused ${command}: ${r.message ?? 'no reason given'}`,
          { command },
        ),
      });
    else
      this.settle(conv, r.key, {
        ok: false,
        error: new PanelApiError(
          'transport',
          `the WHMCS bridge cannot tell whether ${command} was applied${r.message ? ` (${r.message})` : ''}`,
          { command },
        ),
      });
  }

  private armIdle(conv: Conversation): void {
    conv.idle?.();
    conv.idle = this.idleTimer.arm(() => void this.expire(conv), this.idleTimeoutMs);
  }

  /** The bridge went away: everything it was asked stays unknown; the work sees a timeout. */
  private async expire(conv: Conversation): Promise<void> {
    if (conv.expired) return;
    conv.expired = true;
    conv.idle = null;
    const handed = [...conv.waiting.entries()]
      .filter(([k, w]) => w.write && !conv.outgoing.some((c) => c.key === k))
      .map(([k]) => k);
    conv.outgoing.length = 0;
    await this.store
      .markUnknown(handed)
      .catch((err) => this.log.error('bridge.mark_unknown_failed', { ...loggedError(err) }));
    for (const [key, w] of [...conv.waiting.entries()]) {
      this.settle(conv, key, {
        ok: false,
        error: new PanelApiError(
          'timeout',
          `the WHMCS bridge did not report the result of ${w.command} in time`,
          { command: w.command },
        ),
      });
    }
    if (handed.length)
      this.log.warn('bridge.conversation_abandoned', { conversation: conv.id, unknown: handed });
    if (conv.finished) this.conversations.delete(conv.id);
  }

  private waitForProgress(conv: Conversation): Promise<void> {
    return new Promise((resolve) => {
      if (conv.finished || conv.outgoing.length > 0) return resolve();
      const timer = setTimeout(() => {
        conv.wake = null;
        resolve();
      }, this.pollMs);
      conv.wake = () => {
        clearTimeout(timer);
        conv.wake = null;
        resolve();
      };
    });
  }

  private async step(conv: Conversation): Promise<RelayStep> {
    conv.idle?.();
    conv.idle = null;
    conv.busy = true;
    try {
      for (;;) {
        await this.waitForProgress(conv);
        if (conv.outgoing.length > 0) {
          // calls made at the same time leave in one answer
          await new Promise((r) => setImmediate(r));
          const batch = conv.outgoing.splice(0);
          try {
            const fresh = batch.filter(
              (c) => conv.waiting.get(c.key)?.write && !conv.waiting.get(c.key)?.recorded,
            );
            const queued = batch.filter((c) => conv.waiting.get(c.key)?.recorded).map((c) => c.key);
            for (const c of fresh)
              await this.store.insertCommand(
                {
                  key: c.key,
                  conversationId: conv.id,
                  command: c.command,
                  params: c.params,
                  status: 'handed_out',
                },
                this.nowMs(),
              );
            await this.store.markHandedOut(queued, conv.id, this.nowMs());
          } catch (err) {
            // not recorded, so not sent: the work sees the failure and nothing reached the panel
            for (const c of batch)
              this.settle(conv, c.key, {
                ok: false,
                error: new PanelApiError(
                  'transport',
                  `could not record ${c.command} before relaying it: ${(err as Error).message}`,
                  { command: c.command },
                ),
              });
            continue;
          }
          return { status: 'commands', conversation: conv.id, commands: batch };
        }
        if (conv.finished) {
          this.conversations.delete(conv.id);
          const o = conv.outcome!;
          return o.ok ? { status: 'done', answer: o.value } : { status: 'failed', message: o.error.message };
        }
        return { status: 'working', conversation: conv.id };
      }
    } finally {
      conv.busy = false;
      if (this.conversations.has(conv.id)) this.armIdle(conv);
    }
  }

  private async deliverQueued(conv: Conversation): Promise<void> {
    const rows = await this.store.queued(this.queuedBatch);
    if (rows.length === 0) return;
    const waits = rows.map(
      (row) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          conv.waiting.set(row.key, { command: row.command, write: true, recorded: true, resolve, reject });
          this.owner.set(row.key, conv);
          conv.outgoing.push({ key: row.key, command: row.command, params: row.params as LocalApiParams });
        }),
    );
    conv.wake?.();
    const settled = await Promise.allSettled(waits);
    const failed = settled.filter((s) => s.status === 'rejected').length;
    this.log.info('bridge.queued_delivered', { conversation: conv.id, delivered: rows.length, failed });
  }

  async call(command: string, params: PanelParams = {}): Promise<PanelResult> {
    const conv = this.als.getStore();
    const write = !isSafeToRepeat(command);
    const localParams = toLocalApiParams(params);
    if (!conv || conv.expired) {
      if (write && DEFERRABLE.has(command.toLowerCase())) {
        const key = `q-${crypto.randomBytes(12).toString('hex')}`;
        await this.store.insertCommand(
          { key, conversationId: null, command, params: localParams, status: 'queued' },
          this.nowMs(),
        );
        this.log.info('bridge.command_queued', { key, command });
        return { result: 'success', queued: true };
      }
      throw new PanelApiError(
        'transport',
        conv
          ? `the WHMCS bridge stopped answering, so ${command} could not be relayed`
          : `WHMCS is reached through the bridge (relay mode), and ${command} was asked outside a bridge request; it can only run while WHMCS calls the add-on (a hook, the admin tab or the client page)`,
        { command },
      );
    }
    const key = `${write ? 'w' : 'r'}-${conv.id}-${++conv.seq}`;
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      conv.waiting.set(key, { command, write, recorded: false, resolve, reject });
      this.owner.set(key, conv);
      conv.outgoing.push({ key, command, params: localParams });
      conv.wake?.();
    });
    return interpretEnvelope(command, answer);
  }

  async converse<T>(work: () => Promise<T>, o: { deliverQueued?: boolean } = {}): Promise<RelayStep<T>> {
    const conv: Conversation = {
      id: crypto.randomBytes(12).toString('hex'),
      outgoing: [],
      waiting: new Map(),
      seq: 0,
      finished: false,
      outcome: null,
      wake: null,
      idle: null,
      busy: false,
      expired: false,
    };
    this.conversations.set(conv.id, conv);
    this.als
      .run(conv, async () => {
        if (o.deliverQueued)
          await this.deliverQueued(conv).catch((err) =>
            this.log.error('bridge.queued_failed', { ...loggedError(err) }),
          );
        return work();
      })
      .then(
        (value) => {
          conv.outcome = { ok: true, value };
        },
        (error) => {
          conv.outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
        },
      )
      .finally(() => {
        conv.finished = true;
        if (conv.expired) this.conversations.delete(conv.id);
        conv.wake?.();
      });
    return this.step(conv) as Promise<RelayStep<T>>;
  }

  async resume(conversationId: string, results: ReportedResult[]): Promise<RelayStep> {
    const conv = this.conversations.get(conversationId);
    if (!conv || conv.expired) {
      // too late for the work, but the results still count
      for (const r of results) await this.apply(r, undefined);
      return {
        status: 'failed',
        message: 'this conversation is over (it took too long or the service restarted)',
      };
    }
    if (conv.busy) return { status: 'failed', message: 'this conversation is already being answered' };
    for (const r of results) await this.apply(r, conv.waiting.has(r.key) ? conv : undefined);
    return this.step(conv);
  }

  async report(results: ReportedResult[]): Promise<string[]> {
    const accepted: string[] = [];
    // The bridge reports here only what it could not deliver in its conversation: a
    // conversation still waiting for one of these keys has been abandoned by the bridge.
    const abandoned = new Set<Conversation>();
    for (const r of results) {
      const conv = this.owner.get(r.key);
      if (conv) abandoned.add(conv);
      await this.apply(r, undefined);
      accepted.push(r.key);
    }
    for (const conv of abandoned) await this.expire(conv);
    if (accepted.length) this.log.info('bridge.results_reported', { count: accepted.length });
    return accepted;
  }

  active(): number {
    return this.conversations.size;
  }

  close(): void {
    for (const c of this.conversations.values()) c.idle?.();
  }
}

export function createBridgeRelay(opts: BridgeRelayOptions): BridgeRelay {
  const relay = new Relay(opts);
  return {
    // a call outside a conversation fails: nothing may be asked after a hook's answer
    api: createPanelApi((command, params) => relay.call(command, params), { onlyDuringHooks: true }),
    converse: (work, o) => relay.converse(work, o),
    resume: (id, results) => relay.resume(id, results),
    report: (results) => relay.report(results),
    active: () => relay.active(),
    close: () => relay.close(),
  };
}
