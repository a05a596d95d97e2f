import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Listed } from '../adapters/rows.js';
import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { formatSoldBytes } from '../domain/line-text.js';
import { ModuleError, notFound } from '../domain/errors.js';
import {
  actionAtLimit,
  beforeSuspend,
  beforeUnsuspend,
  callOff,
  liftReason,
  limitActionKey,
  releasedBehindOurBack,
  restoredSpeed,
  retryDelayMs,
  throttledSpeed,
  type LiftReason,
  type LimitPolicy,
  type LimitStatus,
} from '../domain/limit-policy.js';
import type { ObservedState } from '../domain/limit-policy.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { LimitActionRow, LimitActionStore } from '../adapters/limit-action-store.js';
import type { LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import { errorKind, isUnreadable, loggedError, type SetAside, type UnreadableRow } from '../adapters/rows.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { SolusVmError, type MasterSettings, type SolusVmGateway } from '../adapters/solusvm-types.js';
import type { BillingProfile, BillingSettingsService } from './billing-settings.js';
import type { MasterService } from './masters.js';
import { asPool, assessUsage, type OpenUsage, type OpenUsageReader } from './open-usage.js';
import type { PoolStanding } from './pools.js';
import { policyWithCap } from './caps.js';
import type { ClientCap } from '../domain/client-cap.js';

const LOCK = 'usage-watch:limits';
const LEASE_MS = 10 * 60_000;

/**
 * The reason the panel shows for a suspension by the policy. Not WHMCS's "Overdue on Payment", so the
 * panel's AutoUnsuspend (which lifts only that reason, or none) never lifts it when an invoice is
 * paid; and the prefix tells our suspensions from anyone else's when we put the panel back.
 */
export const PANEL_SUSPEND_REASON =
  'Overusage: traffic allowance used up (lifted when the next period starts)';
const OUR_REASON_PREFIX = 'Overusage:';

/**
 * The policy at 100 % of the allowance, per product with a per-service override: bill (nothing to
 * do here), throttle, or suspend, until the next period starts or the admin raises the limit.
 *
 * Rules, so that the add-on never fights SolusVM or the admin:
 * - The state is re-read just before acting. A server SolusVM (or anyone) already suspended is
 *   recorded as `observed` and left alone: we neither suspend nor, later, unsuspend it.
 * - Once we suspended it, a later sample showing it running again means someone undid it on
 *   purpose (SolusVM's auto-unsuspend, an admin in SolusVM or the panel): the action becomes
 *   `released` and is not repeated this period. Its key (period, action, allowance) exists, so no
 *   run decides it again; only a raised allowance that is reached again is a new decision.
 * - Lifting unsuspends only a server that is still suspended, and puts the panel back only when
 *   the panel still shows our reason.
 * - Every step is an audit row; a failed call to SolusVM or the panel leaves the action pending,
 *   retried on later cron ticks with backoff (5 min doubling to 4 h).
 *
 * The panel is kept in step with UpdateClientProduct (status + suspendreason), not ModuleSuspend:
 * ModuleSuspend would run the product's server module, which suspends the VPS on SolusVM a second
 * time and fires PreModuleSuspend (whose dispute hold may abort it); we already acted on SolusVM
 * and only the panel's record has to follow. Neither call touches the panel's dunning.
 */
export interface LimitActionService {
  /** After metering: decide actions for services at their limit (when `decide`), then do whatever work is due. */
  run(opts?: { decide?: boolean }): Promise<LimitRunResult>;
  /** Lifts an action now (an admin's decision, audited); it is not taken again this period at this allowance. */
  lift(actionId: number, actor: Actor, note?: string): Promise<LimitActionRow>;
  /** Retries a pending or lifting action at the next run instead of waiting for its backoff. */
  retryNow(actionId: number, actor: Actor): Promise<LimitActionRow>;
  list(filter?: {
    serviceId?: number;
    status?: LimitStatus | readonly LimitStatus[];
    limit?: number;
    beforeId?: number;
  }): Promise<Array<Listed<LimitActionRow>>>;
  get(actionId: number): Promise<LimitActionRow>;
}

export interface LimitRunResult {
  decided: number;
  applied: number;
  observed: number;
  released: number;
  lifted: number;
  cancelled: number;
  failed: number;
  locked: boolean;
}

interface Now {
  usage: OpenUsage | null;
  profile: BillingProfile | null;
  /** the bytes at which the policy acts: the allowance, or past it by what a client's cap pays for */
  allowanceBytes: bigint | null;
  /** the policy in force: the product's, or the client's cap's action */
  policy: LimitPolicy | null;
  /** its open period or a cap it is under cannot be read: nothing is decided for it, it stays as it stands */
  notKnown?: true;
}

type LimitDeps = {
  knex: Knex;
  clock: Clock;
  store: LimitActionStore;
  usage: OpenUsageReader;
  billing: BillingSettingsService;
  masters: MasterService;
  gatewayFor: (settings: MasterSettings) => SolusVmGateway;
  audit: AuditLog;
  locks: LockStore;
  log: Logger;
  owner: string;
  panel?: PanelApi;
  /** client-chosen caps (module/services/caps.ts) */
  caps?: {
    activeFor(
      serviceIds: readonly number[],
      setAside?: SetAside,
    ): Promise<Map<number, ClientCap | UnreadableRow>>;
  };
  /** transfer pools: a pooled service is held to its pool's allowance (module/services/pools.ts) */
  pools?: { standing(): Promise<Map<number, PoolStanding>> };
};

/** The deps with the clock read, the audit row and the panel's activity line every step uses. */
interface LimitCtx extends LimitDeps {
  now(): DateTime;
  record(
    row: Pick<LimitActionRow, 'id' | 'serviceId' | 'action'>,
    action: string,
    details: Record<string, unknown>,
    actor?: Actor,
  ): Promise<void>;
  activity(text: string, clientId: number): Promise<void>;
}

const SYSTEM: Actor = { type: 'system', id: null };

const busy = (what: string) =>
  new SolusVmError('app_error', `the server is busy (${what}); tried again later`, {
    retryable: true,
    code: 'PROCESSING',
  });

const standingsNow = async (deps: LimitCtx) =>
  deps.pools ? deps.pools.standing() : new Map<number, PoolStanding>();

/** The service's context: the clock read per step, audit and the panel's activity log in one place. */
function limitContext(raw: LimitDeps): LimitCtx {
  return {
    ...raw,
    now: () => raw.clock.now(),
    record: (row, action, details, actor = SYSTEM) =>
      raw.audit.record(
        raw.knex,
        {
          actor,
          action: `limit.${action}`,
          entityType: 'limit_action',
          entityId: row.id,
          details: { serviceId: row.serviceId, action: row.action, ...details },
        },
        raw.clock.now(),
      ),
    activity: async (text, clientId) => {
      await raw.panel
        ?.logActivity(`Overusage: ${text}`, clientId)
        .catch((err: unknown) => raw.log.warn('limit.activity_failed', { ...loggedError(err) }));
    },
  };
}

const noResult = (): LimitRunResult => ({
  decided: 0,
  applied: 0,
  observed: 0,
  released: 0,
  lifted: 0,
  cancelled: 0,
  failed: 0,
  locked: false,
});

async function limitAction(deps: LimitCtx, actionId: number): Promise<LimitActionRow> {
  const row = await deps.store.get(actionId);
  if (!row) throw notFound(`there is no limit action ${actionId}`);
  return row;
}

/** An admin lifts an action of ours: called off, and undone now when no run is busy. */
async function liftAction(
  deps: LimitCtx,
  actionId: number,
  actor: Actor,
  note: string | undefined,
): Promise<LimitActionRow> {
  const row = await limitAction(deps, actionId);
  if (row.status === 'lifting') return row;
  if (row.status !== 'pending' && row.status !== 'applied') {
    throw new ModuleError(
      'CONFLICT',
      `action ${actionId} is ${row.status}: there is nothing of ours to lift`,
      { status: row.status },
    );
  }
  const moved = await callItOff(deps, row, 'admin', actor, note);
  if (!moved) return limitAction(deps, actionId);
  // done now when no run is busy; otherwise the running one (or the next tick) does it
  if (moved.status === 'lifting') {
    await withLease(deps, async () => {
      await undo(deps, moved, noResult());
      const after = (await deps.store.get(actionId))!;
      if (after.panelState === 'to_restore') await syncPanel(deps, after);
    });
  }
  return limitAction(deps, actionId);
}

export function createLimitActionService(raw: LimitDeps): LimitActionService {
  const deps = limitContext(raw);
  return {
    async run(opts = {}) {
      const result = noResult();
      const done = await withLease(deps, async () => {
        if (opts.decide) await decide(deps, result);
        await work(deps, result);
        return true;
      });
      return done ? result : { ...result, locked: true };
    },

    lift: (actionId, actor, note) => liftAction(deps, actionId, actor, note),

    async retryNow(actionId, actor) {
      const row = await limitAction(deps, actionId);
      if (row.status !== 'pending' && row.status !== 'lifting')
        throw new ModuleError('CONFLICT', `action ${actionId} is ${row.status}: nothing to retry`, {
          status: row.status,
        });
      if (
        await deps.store.transition(deps.knex, row.id, row.status, { nextAttemptAt: deps.now() }, deps.now())
      )
        await deps.record(row, 'retry_requested', {}, actor);
      return limitAction(deps, actionId);
    },

    list: (filter = {}) => deps.store.list(filter),
    get: (actionId) => limitAction(deps, actionId),
  };
}

async function withGateway<T>(
  deps: LimitCtx,
  masterId: number,
  work: (g: SolusVmGateway) => Promise<T>,
): Promise<T> {
  const gateway = deps.gatewayFor(await deps.masters.settings(masterId));
  try {
    return await work(gateway);
  } finally {
    gateway.close();
  }
}

/**
 * A service as the policy sees it: on its own, or, when its product pools it, as its pool (the
 * month, the members' use, the pool's allowance); null when a pooled service's pool cannot be told.
 */
function asSeen(
  deps: LimitCtx,
  u: OpenUsage,
  profile: BillingProfile,
  standings: Map<number, PoolStanding>,
): { u: OpenUsage; a: ReturnType<typeof assessUsage> } | null {
  if (profile.pool === undefined) return { u, a: assessUsage(u, profile) };
  const s = standings.get(u.serviceId);
  if (!s) return null;
  const pooled = asPool(u, s);
  return { u: pooled, a: assessUsage(pooled, profile, s.allowanceBytes) };
}

/** The service now: its open period and what its product asks for. */
async function serviceNow(deps: LimitCtx, serviceIds: number[]): Promise<Map<number, Now>> {
  const profileFor = await deps.billing.snapshot();
  const [usages, caps, standings] = await Promise.all([
    deps.usage.some(serviceIds),
    deps.caps ? deps.caps.activeFor(serviceIds, rowWarning(deps)) : new Map<number, ClientCap>(),
    standingsNow(deps),
  ]);
  const out = new Map<number, Now>();
  for (const id of serviceIds) {
    const own = usages.get(id) ?? null;
    const profile = own ? profileFor(own.productId, own.serviceId, own.clientId) : null;
    const seen = own && profile ? asSeen(deps, own, profile, standings) : null;
    const u = seen?.u ?? own;
    const a = seen?.a ?? null;
    const cap = caps.get(id) ?? null;
    // its use (told by the reader) or its cap cannot be read: no lift, no action from a guess
    if (usages.unreadable?.has(id) || (cap && isUnreadable(cap))) {
      out.set(id, { usage: u, profile, allowanceBytes: null, policy: null, notKnown: true });
      continue;
    }
    const eff = a && profile ? policyWithCap(profile, a.plan, a.allowanceBytes, cap) : null;
    out.set(id, {
      usage: u,
      profile,
      allowanceBytes: eff?.limitBytes ?? null,
      policy: eff?.policy ?? profile?.limitPolicy ?? null,
    });
  }
  return out;
}

async function failAttempt(
  deps: LimitCtx,
  row: LimitActionRow,
  phase: 'apply' | 'lift',
  err: unknown,
): Promise<void> {
  const attempts = row.attempts + 1;
  const e = err instanceof SolusVmError ? err : null;
  // the phase and the error's kind (errorKind), never the master's or the database's words
  const message = `the ${phase} was not carried out: ${errorKind(err)}`;
  const next = deps.now().plus({ milliseconds: retryDelayMs(attempts) });
  await deps.store.transition(
    deps.knex,
    row.id,
    row.status,
    { attempts, nextAttemptAt: next, lastError: message },
    deps.now(),
  );
  await deps.record(row, 'attempt_failed', {
    phase,
    attempt: attempts,
    error: message,
    kind: e?.kind ?? 'internal',
    retryAt: next.toISO(),
  });
  deps.log.warn('limit.attempt_failed', {
    id: row.id,
    serviceId: row.serviceId,
    phase,
    attempt: attempts,
    error: message,
  });
}

/** Takes a pending action on SolusVM, after re-reading the server. */
/** Suspends the server unless SolusVM has it suspended already (then only observed). */
async function applySuspend(
  deps: LimitCtx,
  g: SolusVmGateway,
  row: LimitActionRow,
  state: ObservedState,
  result: LimitRunResult,
): Promise<void> {
  const step = beforeSuspend(state);
  if (step === 'wait') throw busy(state);
  if (step === 'observe') {
    if (
      await deps.store.transition(
        deps.knex,
        row.id,
        'pending',
        { status: 'observed', nextAttemptAt: null, lastError: null },
        deps.now(),
      )
    ) {
      await deps.record(row, 'observed', {
        state,
        note: 'SolusVM already had the server suspended: left to SolusVM, never unsuspended by us',
      });
      result.observed++;
    }
    return;
  }
  await g.suspend(row.serverRef);
  const panelState = deps.panel ? 'to_suspend' : 'none';
  await markApplied(
    deps,
    row,
    { panelState },
    { stateBefore: state, version: g.version },
    'suspended',
    result,
  );
}

/** Throttles the server, keeping the settings to put back. */
async function applyThrottle(
  deps: LimitCtx,
  g: SolusVmGateway,
  row: LimitActionRow,
  policy: LimitPolicy,
  state: ObservedState,
  result: LimitRunResult,
): Promise<void> {
  // throttle: SolusVM 2's settings are read once, before the first attempt, and kept: a retry
  // after a lost answer must not take the throttled settings for the ones to put back
  let restore = row.speedRestore;
  if (restore === null) {
    restore = g.version === 2 ? await g.readSpeed(row.serverRef) : restoredSpeed(1, policy, null);
    if (restore === null) throw new Error('SolusVM did not give the speed settings to put back');
    await deps.store.transition(deps.knex, row.id, 'pending', { speedRestore: restore }, deps.now());
  }
  const target = row.speedTarget ?? throttledSpeed(g.version, policy, restore);
  if (row.speedTarget === null)
    await deps.store.transition(deps.knex, row.id, 'pending', { speedTarget: target }, deps.now());
  await g.setSpeed(row.serverRef, target);
  const details = { stateBefore: state, version: g.version, speed: target, restore };
  await markApplied(deps, row, {}, details, 'throttled', result);
}

/** The action applied on SolusVM: recorded once (a retry that lost the race records nothing), audited and logged on the panel. */
async function markApplied(
  deps: LimitCtx,
  row: LimitActionRow,
  patch: { panelState?: 'to_suspend' | 'none' },
  details: Record<string, unknown>,
  verb: 'suspended' | 'throttled',
  result: LimitRunResult,
): Promise<void> {
  const applied = {
    status: 'applied' as const,
    appliedAt: deps.now(),
    nextAttemptAt: null,
    lastError: null,
    ...patch,
  };
  if (!(await deps.store.transition(deps.knex, row.id, 'pending', applied, deps.now()))) return;
  await deps.record(row, 'applied', details);
  await deps.activity(
    `service ${row.serviceId} ${verb} on SolusVM: traffic allowance of ${fmt(row.allowanceBytes)} used up`,
    row.clientId,
  );
  result.applied++;
}

async function apply(
  deps: LimitCtx,
  row: LimitActionRow,
  policy: LimitPolicy,
  result: LimitRunResult,
): Promise<void> {
  try {
    await withGateway(deps, row.masterId, async (g) => {
      const state = await g.getState(row.serverRef);
      if (row.action === 'suspend') await applySuspend(deps, g, row, state, result);
      else await applyThrottle(deps, g, row, policy, state, result);
    });
  } catch (err) {
    await failAttempt(deps, row, 'apply', err);
    result.failed++;
  }
}

/** Puts a server back; only what is still ours to put back. */
async function undo(deps: LimitCtx, row: LimitActionRow, result: LimitRunResult): Promise<void> {
  try {
    await withGateway(deps, row.masterId, async (g) => {
      let note: string;
      if (row.action === 'suspend') {
        const state = await g.getState(row.serverRef);
        const step = beforeUnsuspend(state);
        if (step === 'wait') throw busy(state);
        if (step === 'act') {
          await g.unsuspend(row.serverRef);
          note = 'unsuspended';
        } else note = `already ${state}: nothing to undo on SolusVM`;
      } else if (row.speedRestore) {
        await g.setSpeed(row.serverRef, row.speedRestore);
        note = 'speed put back';
      } else note = 'nothing was changed on SolusVM';
      const panelState =
        row.panelState === 'suspended' || row.panelState === 'to_suspend' ? 'to_restore' : row.panelState;
      if (
        await deps.store.transition(
          deps.knex,
          row.id,
          'lifting',
          { status: 'lifted', liftedAt: deps.now(), nextAttemptAt: null, lastError: null, panelState },
          deps.now(),
        )
      ) {
        await deps.record(row, 'lifted', { reason: row.liftReason, note, version: g.version });
        await deps.activity(
          `service ${row.serviceId}: ${row.action === 'suspend' ? 'suspension' : 'throttle'} lifted (${row.liftReason ?? 'lifted'}): ${note}`,
          row.clientId,
        );
        result.lifted++;
      }
    });
  } catch (err) {
    await failAttempt(deps, row, 'lift', err);
    result.failed++;
  }
}

/** Moves an action towards its lift: cancelled if nothing was sent yet, else lifting. */
async function callItOff(
  deps: LimitCtx,
  row: LimitActionRow,
  reason: LiftReason,
  actor: Actor,
  note?: string,
): Promise<LimitActionRow | null> {
  if (row.status !== 'pending' && row.status !== 'applied') return null;
  const to = callOff(row.status, row.attempts);
  const liftedBy = actor.type === 'system' ? null : `${actor.type}:${actor.id ?? ''}`;
  const moved = await deps.store.transition(
    deps.knex,
    row.id,
    row.status,
    to === 'cancelled'
      ? {
          status: 'cancelled',
          liftReason: reason,
          liftRequestedAt: deps.now(),
          liftedAt: deps.now(),
          nextAttemptAt: null,
          liftedBy,
        }
      : {
          status: 'lifting',
          liftReason: reason,
          liftRequestedAt: deps.now(),
          attempts: 0,
          nextAttemptAt: deps.now(),
          lastError: null,
          liftedBy,
        },
    deps.now(),
  );
  if (!moved) return null;
  await deps.record(
    row,
    to === 'cancelled' ? 'cancelled' : 'lift_requested',
    { reason, from: row.status, ...(note ? { note } : {}) },
    actor,
  );
  return deps.store.get(row.id);
}

/** The panel's record follows: our suspension shown, and taken away again only while it is ours. */
async function syncPanel(deps: LimitCtx, row: LimitActionRow): Promise<void> {
  const panel = deps.panel;
  if (!panel) return;
  try {
    const { products } = await panel.getClientsProducts({ serviceId: row.serviceId });
    const p = products[0];
    let to: 'suspended' | 'restored' | 'untouched';
    if (row.panelState === 'to_suspend') {
      // a service the panel already suspended (e.g. for non-payment) keeps the panel's reason
      if (p?.status === 'Active' && row.status === 'applied') {
        await panel.updateClientProduct({
          serviceId: row.serviceId,
          status: 'Suspended',
          suspendReason: PANEL_SUSPEND_REASON,
        });
        to = 'suspended';
      } else to = 'untouched';
    } else {
      if (p?.status === 'Suspended' && p.suspensionReason.startsWith(OUR_REASON_PREFIX)) {
        await panel.updateClientProduct({ serviceId: row.serviceId, status: 'Active', suspendReason: '' });
        to = 'restored';
      } else to = 'untouched';
    }
    await deps.store.panelSynced(deps.knex, row.id, row.panelState, to, deps.now());
    await deps.record(row, 'panel_synced', { panel: to, panelStatusBefore: p?.status ?? null });
  } catch (err) {
    // retried on the next run: the action itself stands
    deps.log.warn('limit.panel_sync_failed', {
      id: row.id,
      serviceId: row.serviceId,
      ...loggedError(err),
    });
  }
}

async function decide(deps: LimitCtx, result: LimitRunResult): Promise<void> {
  const profileFor = await deps.billing.snapshot();
  const standings = await standingsNow(deps);
  for await (const page of deps.usage.pages()) {
    const wanted: Array<{ u: OpenUsage; action: 'throttle' | 'suspend'; allowanceBytes: bigint }> = [];
    const caps = deps.caps
      ? await deps.caps.activeFor(
          page.map((u) => u.serviceId),
          rowWarning(deps),
        )
      : new Map<number, ClientCap>();
    for (const own of page) {
      const profile = profileFor(own.productId, own.serviceId, own.clientId);
      const cap = caps.get(own.serviceId) ?? null;
      // its cap cannot be read: left undecided (which policy holds is not known)
      if (cap && isUnreadable(cap)) continue;
      if (!profile || (profile.limitPolicy.action === 'bill' && !cap)) continue;
      const seen = asSeen(deps, own, profile, standings);
      if (!seen?.a) continue;
      const { u, a } = seen;
      const { policy, limitBytes } = policyWithCap(profile, a.plan, a.allowanceBytes, cap);
      if (limitBytes === null) continue;
      const action = actionAtLimit(policy, u.usedBytes, limitBytes);
      if (action) wanted.push({ u, action, allowanceBytes: limitBytes });
    }
    if (!wanted.length) continue;
    const active = await deps.store.activeFor(
      wanted.map((w) => w.u.serviceId),
      rowWarning(deps),
    );
    for (const { u, action, allowanceBytes } of wanted) {
      if (active.undecided?.has(u.serviceId)) continue;
      // one action in force per service, period and kind: a raised allowance reached again while
      // the first action still stands needs nothing new
      if (active.some((r) => r.serviceId === u.serviceId && r.periodId === u.periodId && r.action === action))
        continue;
      const key = limitActionKey(u.periodId, action, allowanceBytes);
      const inserted = await retryTransaction(deps.knex, async (trx) => {
        const id = await deps.store.insertIfNew(
          trx,
          {
            serviceId: u.serviceId,
            clientId: u.clientId,
            periodId: u.periodId,
            action,
            actionKey: key,
            masterId: u.masterId,
            serverRef: u.serverRef,
            allowanceBytes,
            usedBytes: u.usedBytes,
          },
          deps.now(),
        );
        if (id !== null) {
          await deps.audit.record(
            trx,
            {
              actor: SYSTEM,
              action: 'limit.decided',
              entityType: 'limit_action',
              entityId: id,
              details: {
                serviceId: u.serviceId,
                action,
                periodId: u.periodId,
                usedBytes: u.usedBytes,
                allowanceBytes,
              },
            },
            deps.now(),
          );
        }
        return id !== null;
      });
      if (inserted) result.decided++;
    }
  }
}

/** A limit action's row that cannot be read: one warning with its id, column and what it is not (never the value). */
const rowWarning =
  (deps: LimitCtx): SetAside =>
  (table, u) =>
    deps.log.warn('limit.row_unreadable', { table, id: u.id, ...u.unreadable });

/** Whatever is due: lifts to start, releases to note, attempts to make, the panel to update. */
async function work(deps: LimitCtx, result: LimitRunResult): Promise<void> {
  const rows = await deps.store.needingWork(rowWarning(deps));
  if (!rows.length) return;
  const current = await serviceNow(deps, [...new Set(rows.map((r) => r.serviceId))]);
  for (let row of rows) {
    const n = current.get(row.serviceId)!;
    // with its use or its cap not known no lift is decided (nor, below, an action taken): it waits to be mended
    if ((row.status === 'pending' || row.status === 'applied') && !n.notKnown) {
      const reason = liftReason(row, {
        openPeriodId: n.usage?.periodId ?? null,
        usedBytes: n.usage?.usedBytes ?? row.usedBytes,
        allowanceBytes: n.allowanceBytes,
        policyAction: n.policy?.action ?? null,
      });
      if (reason) {
        const moved = await callItOff(deps, row, reason, SYSTEM);
        if (moved) {
          if (moved.status === 'cancelled') result.cancelled++;
          row = moved;
        }
      }
    }
    if (
      row.status === 'applied' &&
      row.action === 'suspend' &&
      row.appliedAt &&
      n.usage?.lastSampledAt &&
      n.usage.periodId === row.periodId
    ) {
      // SolusVM 1 reads the counter without the live state (nostatus): what the VPS's state is now
      // is asked here, only for the few servers we suspended
      let sample: { state: ObservedState; sampledAtMs: number } | null =
        n.usage.state && n.usage.state !== 'unknown'
          ? { state: n.usage.state, sampledAtMs: n.usage.lastSampledAt.toMillis() }
          : null;
      if (!sample) {
        const live = await withGateway(deps, row.masterId, (g) => g.getState(row.serverRef)).catch(
          () => null,
        );
        if (live) sample = { state: live, sampledAtMs: deps.now().toMillis() };
      }
      if (releasedBehindOurBack(row.appliedAt.toMillis(), sample)) {
        const panelState =
          row.panelState === 'suspended' || row.panelState === 'to_suspend' ? 'to_restore' : row.panelState;
        if (
          await deps.store.transition(
            deps.knex,
            row.id,
            'applied',
            { status: 'released', panelState },
            deps.now(),
          )
        ) {
          await deps.record(row, 'released', {
            state: sample!.state,
            sampledAt: n.usage.lastSampledAt.toISO(),
            note: 'unsuspended by someone else mid-period: not suspended again this period',
          });
          result.released++;
          row = (await deps.store.get(row.id))!;
        }
      }
    }
    const due = row.nextAttemptAt === null || row.nextAttemptAt <= deps.now();
    if (row.status === 'pending' && due) {
      if (!n.policy) continue;
      await apply(deps, row, n.policy, result);
      row = (await deps.store.get(row.id))!;
    } else if (row.status === 'lifting' && due) {
      await undo(deps, row, result);
      row = (await deps.store.get(row.id))!;
    }
    if (row.panelState === 'to_suspend' || row.panelState === 'to_restore') await syncPanel(deps, row);
  }
}

async function withLease<T>(deps: LimitCtx, fn: () => Promise<T>): Promise<T | null> {
  const lease = await deps.locks.acquire(LOCK, deps.owner, LEASE_MS);
  if (!lease.acquired) return null;
  const renew = setInterval(
    () => void deps.locks.renew(LOCK, deps.owner, LEASE_MS).catch(() => {}),
    LEASE_MS / 3,
  );
  renew.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await deps.locks.release(LOCK, deps.owner).catch(() => {});
  }
}

// Log and activity lines only: the exact figures are in the audit details.
const fmt = (bytes: bigint) => formatSoldBytes(bytes, 'GB', 'en-GB');
