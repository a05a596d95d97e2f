import { invalidInput } from './errors.js';

/**
 * The policy at 100 % of the allowance: bill the overusage (the default), throttle the VPS, or
 * suspend it; and when to put it back. Pure: the service reads SolusVM and the database, asks these
 * rules what to do, and records the answer.
 *
 * An action is keyed by service, period, action and the allowance it enforces, so it is applied
 * at most once per period: a retry, a second cron run or a repeated hook finds the key and does
 * nothing. A new allowance (the admin raised it) is a new key, so reaching the raised limit applies
 * the policy again.
 */

export type LimitPolicyAction = 'bill' | 'throttle' | 'suspend';
export type LimitAction = Exclude<LimitPolicyAction, 'bill'>;

export interface LimitPolicy {
  action: LimitPolicyAction;
  /** SolusVM 1: the customnspeed sent to throttle; SolusVM 2: the in/out bandwidth limit, in Mbit/s */
  throttleMbps?: number | undefined;
  /** SolusVM 1: the customnspeed sent to lift the throttle (0, SolusVM's "no limit", by default) */
  restoreMbps?: number | undefined;
  /** SolusVM 2: resize to this (throttled) plan instead of keeping the server's own plan */
  throttlePlanId?: number | undefined;
}

/**
 * pending: decided, not yet taken on SolusVM (retried with backoff);
 * applied: taken by us;
 * observed: SolusVM had already suspended the VPS itself; we record it and never touch it;
 * released: someone else (SolusVM's auto-unsuspend, an admin in SolusVM or the panel) undid our
 *   suspension mid-period; we do not suspend it again this period;
 * lifting: to be put back (next period, allowance raised, policy changed, admin), retried with backoff;
 * lifted: put back; cancelled: called off before anything was sent to SolusVM.
 */
export type LimitStatus =
  'pending' | 'applied' | 'observed' | 'released' | 'lifting' | 'lifted' | 'cancelled';
export const ACTIVE_LIMIT_STATUSES: readonly LimitStatus[] = ['pending', 'applied', 'lifting'];

export type LiftReason = 'next_period' | 'allowance_raised' | 'policy_changed' | 'admin';

/**
 * What the policy asks for now: an action once the allowance is used up, else nothing. A VPS that
 * moved no traffic is never acted on, even with an allowance of 0.
 */
export function actionAtLimit(
  policy: Pick<LimitPolicy, 'action'>,
  usedBytes: bigint,
  allowanceBytes: bigint,
): LimitAction | null {
  if (policy.action === 'bill') return null;
  return usedBytes >= allowanceBytes && usedBytes > 0n ? policy.action : null;
}

/** The idempotency key of an action within a service. */
export const limitActionKey = (periodId: number, action: LimitAction, allowanceBytes: bigint): string =>
  `period:${periodId}:${action}:${allowanceBytes}`;

export interface ActionInForce {
  action: LimitAction;
  periodId: number;
}

export interface ServiceNow {
  /** the open period now (null when the service has none, e.g. never sampled since it was linked) */
  openPeriodId: number | null;
  usedBytes: bigint;
  /** the allowance that applies now; null when the product no longer bills this service */
  allowanceBytes: bigint | null;
  /** the product's policy now; null when the product no longer bills this service */
  policyAction: LimitPolicyAction | null;
}

/**
 * Why an action in force should be put back now, if it should: a reset was seen (a new period is
 * open), the allowance now exceeds what was used (the admin raised it), or the policy no longer asks
 * for this action. An admin's lift is the service's own call.
 */
export function liftReason(a: ActionInForce, now: ServiceNow): LiftReason | null {
  if (now.openPeriodId !== null && now.openPeriodId !== a.periodId) return 'next_period';
  if (now.policyAction !== a.action) return 'policy_changed';
  if (now.allowanceBytes !== null && now.usedBytes < now.allowanceBytes) return 'allowance_raised';
  return null;
}

/**
 * Calling off an action that is not put back yet: one never sent to SolusVM is simply cancelled; one
 * that was sent, even if the answer was lost, goes through a lift (which re-reads SolusVM first).
 */
export function callOff(status: 'pending' | 'applied', attempts: number): 'cancelled' | 'lifting' {
  return status === 'pending' && attempts === 0 ? 'cancelled' : 'lifting';
}

/** A server state as SolusVM reports it (SolusVM 1 `disabled` is `suspended`). */
export type ObservedState = 'online' | 'offline' | 'suspended' | 'processing' | 'unknown';

/**
 * Before suspending, the state just read decides: already suspended (SolusVM's own auto-suspend,
 * the panel's dunning, an admin) → record it and leave it to whoever did it; busy → try later;
 * otherwise suspend.
 */
export function beforeSuspend(state: ObservedState): 'observe' | 'wait' | 'act' {
  if (state === 'suspended') return 'observe';
  if (state === 'processing') return 'wait';
  return 'act';
}

/** Before unsuspending: only a suspended server is unsuspended; one already running was put back by someone else. */
export function beforeUnsuspend(state: ObservedState): 'act' | 'done' | 'wait' {
  if (state === 'suspended') return 'act';
  if (state === 'processing') return 'wait';
  return 'done';
}

/**
 * Our suspension was undone behind our back when a sample taken after it took shows the server
 * running. The sample's state is compared only when it is newer than the suspension, so the sample
 * of the run that triggered it never counts.
 */
export function releasedBehindOurBack(
  appliedAtMs: number,
  sample: { state: ObservedState; sampledAtMs: number } | null,
): boolean {
  if (!sample || sample.sampledAtMs <= appliedAtMs) return false;
  return sample.state === 'online' || sample.state === 'offline';
}

const MINUTE = 60_000;

/** Backoff after a failed attempt: 5 min, 10, 20, 40 … at most 4 h; the 5-minute cron retries when due. */
export function retryDelayMs(failedAttempts: number): number {
  const n = Math.max(1, Math.min(failedAttempts, 20));
  return Math.min(5 * MINUTE * 2 ** (n - 1), 240 * MINUTE);
}

export interface BandwidthLimit {
  isEnabled: boolean;
  limit: number;
  /** Kbps | Mbps | Gbps */
  unit: string;
}

/** A server's network speed settings, as each SolusVM version sets them. */
export type SpeedSettings =
  /** vserver-change-nspeed customnspeed (its unit is not documented; 0 is taken as no limit) */
  | { version: 1; customnspeed: number }
  /** the plan and its custom in/out bandwidth limits, set by resize */
  | { version: 2; planId: number; incoming: BandwidthLimit; outgoing: BandwidthLimit };

/**
 * The settings that throttle a server. SolusVM 1 cannot tell its current speed, so nothing is
 * read before; SolusVM 2 keeps the server's plan (or moves it to the throttle plan) and sets both
 * bandwidth limits, so `saved` (read before) is needed there.
 */
export function throttledSpeed(
  version: 1 | 2,
  policy: LimitPolicy,
  saved: SpeedSettings | null,
): SpeedSettings {
  if (version === 1) {
    if (!policy.throttleMbps)
      throw invalidInput('throttling on SolusVM 1 needs limitPolicy.throttleMbps (the customnspeed to set)');
    return { version: 1, customnspeed: policy.throttleMbps };
  }
  if (!saved || saved.version !== 2)
    throw invalidInput('throttling on SolusVM 2 needs the server’s plan and limits read first');
  if (!policy.throttleMbps && !policy.throttlePlanId)
    throw invalidInput(
      'throttling on SolusVM 2 needs limitPolicy.throttleMbps or limitPolicy.throttlePlanId',
    );
  const limit: BandwidthLimit | null = policy.throttleMbps
    ? { isEnabled: true, limit: policy.throttleMbps, unit: 'Mbps' }
    : null;
  return {
    version: 2,
    planId: policy.throttlePlanId ?? saved.planId,
    incoming: limit ?? saved.incoming,
    outgoing: limit ?? saved.outgoing,
  };
}

/** What lifting a throttle puts back: SolusVM 2 what was read before; SolusVM 1 the configured speed. */
export function restoredSpeed(
  version: 1 | 2,
  policy: LimitPolicy,
  saved: SpeedSettings | null,
): SpeedSettings {
  if (version === 1) return { version: 1, customnspeed: policy.restoreMbps ?? 0 };
  if (!saved || saved.version !== 2) throw invalidInput('there is no saved SolusVM 2 plan to put back');
  return saved;
}

const sameLimit = (a: BandwidthLimit, b: BandwidthLimit): boolean =>
  a.isEnabled === b.isEnabled && (!a.isEnabled || (a.limit === b.limit && a.unit === b.unit));

/** Whether a server's settings already are the wanted ones (a disabled limit matches whatever number it carries). */
export function sameSpeed(a: SpeedSettings, b: SpeedSettings): boolean {
  if (a.version === 1) return b.version === 1 && a.customnspeed === b.customnspeed;
  if (b.version === 1) return false;
  return a.planId === b.planId && sameLimit(a.incoming, b.incoming) && sameLimit(a.outgoing, b.outgoing);
}
