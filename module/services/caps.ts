import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { parseByteAmount } from '../domain/bytes.js';
import type { ClientCap } from '../domain/client-cap.js';
import { capOverBytes } from '../domain/client-cap.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import type { LimitPolicy } from '../domain/limit-policy.js';
import { moneyToDecimalString, parseMoney } from '../domain/money.js';
import type { RatingPlan } from '../domain/usage-rating.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { BillingProfile, BillingSettingsService } from './billing-settings.js';
import { createCapStore, type CapStore, type NewCap, type StoredCap } from '../adapters/cap-store.js';
import { createLimitActionStore } from '../adapters/limit-action-store.js';
import { isUnreadable, type Listed, type SetAside, type UnreadableRow } from '../adapters/rows.js';

/** The largest amount (minor units or bytes) a cap's BIGINT column holds, on SQLite and MariaDB. */
const MOST_STORED = 2n ** 63n - 1n;

/**
 * Client-chosen caps: per service, a monthly amount of money (or bytes) over the allowance the
 * client is willing to pay for, and what happens when it is reached — within what the product
 * allows (clientCaps). The limit policy carries it out (module/services/limit-actions.ts), the
 * rating never bills more (module/services/rating.ts). Setting and lifting are audited; lifting takes
 * effect at once (the caller runs the limit policy, which puts the server back).
 */
export interface CapView {
  id: number;
  serviceId: number;
  kind: 'money' | 'bytes';
  amount: bigint;
  currency: string | null;
  action: 'throttle' | 'suspend';
  setAt: DateTime;
}

export interface CapInput {
  kind: unknown;
  amount: unknown;
  action: unknown;
}

/** Caps set and lifted; the services with one that cannot be read, when asked to go on without it. */
export type CapHistory = Array<{
  serviceId: number;
  cap: ClientCap;
  setAt: DateTime;
  liftedAt: DateTime | null;
}> & {
  unreadable?: Map<number, UnreadableRow>;
};

/** A cap of the admin's list. */
export type ListedCap = CapView & {
  clientId: number;
  status: 'active' | 'lifted';
  liftedAt: DateTime | null;
};

export interface CapService {
  set(clientId: number, serviceId: number, input: CapInput, actor: Actor): Promise<CapView>;
  /** lifts the active cap; false when there was none */
  lift(clientId: number, serviceId: number, actor: Actor): Promise<boolean>;
  get(serviceId: number): Promise<CapView | null>;
  /**
   * the active caps of these services. With `setAside`, a service whose cap (or its pool's) cannot
   * be read has that row in its place, told there once; without, such a row is refused.
   */
  activeFor(
    serviceIds: readonly number[],
    setAside?: SetAside,
  ): Promise<Map<number, ClientCap | UnreadableRow>>;
  /**
   * every cap of these services, set and lifted, oldest first (what rating matches to a period's
   * end). With `setAside`, a service with a cap that cannot be read is named in `unreadable`.
   */
  history(serviceIds: readonly number[], setAside?: SetAside): Promise<CapHistory>;
  /** every cap, newest first (the admin's view): active and lifted, with the client who set it; one that cannot be read in its place */
  list(opts?: { limit?: number }): Promise<Array<Listed<ListedCap>>>;
  /** what the product lets a client choose; null when it offers no caps */
  options(serviceId: number): Promise<{ actions: Array<'throttle' | 'suspend'>; currency: string } | null>;
}

/**
 * The services a cap of each of these covers: a service in a transfer pool now shares one cap with
 * every member of its pool (set on any of them, it covers them all, as the pool is billed as one);
 * any other service only itself. Each list is sorted, and holds the service itself.
 */
export const capMates = (
  knex: Knex | Knex.Transaction,
  serviceIds: readonly number[],
): Promise<Map<number, number[]>> => createCapStore(knex as Knex).mates(knex, serviceIds);

const view = (c: StoredCap): CapView => ({
  id: c.id,
  serviceId: c.serviceId,
  kind: c.kind,
  amount: c.amount,
  currency: c.currency,
  action: c.action,
  setAt: c.setAt,
});

const asCap = (v: CapView | StoredCap): ClientCap => ({
  kind: v.kind,
  amount: v.amount,
  currency: v.currency,
  action: v.action,
});

type CapDeps = {
  knex: Knex;
  clock: Clock;
  billing: BillingSettingsService;
  audit: AuditLog;
  /** told of each cap the admin's list could not read (listed in its place as unreadable) */
  setAside?: SetAside;
};
type CapCtx = CapDeps & { store: CapStore };

/** The service as the client may act on it: his own, linked, on a product that offers caps. */
async function ownService(
  deps: CapCtx,
  clientId: number,
  serviceId: number,
): Promise<{ currency: string; profile: BillingProfile }> {
  const s = await deps.store.service(serviceId);
  // another client's service is answered as if it did not exist: nothing about it leaks
  if (!s || s.clientId !== clientId) throw notFound(`there is no service ${serviceId} of yours`);
  const profile = await deps.billing.forService(s.productId, serviceId, clientId);
  if (!profile?.clientCaps || (profile.model !== 'per_unit' && profile.model !== 'per_block'))
    throw new ModuleError('CONFLICT', 'this plan does not offer a spending cap');
  return { currency: s.currency, profile };
}

/** A client sets a cap on his own service (a pooled service's cap covers its pool); audited. */
async function setCap(
  deps: CapCtx,
  clientId: number,
  serviceId: number,
  input: CapInput,
  actor: Actor,
): Promise<CapView> {
  const { currency, profile } = await ownService(deps, clientId, serviceId);
  if (input.kind !== 'money' && input.kind !== 'bytes') throw invalidInput('kind must be "money" or "bytes"');
  if (input.action !== 'throttle' && input.action !== 'suspend')
    throw invalidInput('action must be "throttle" or "suspend"');
  if (!profile.clientCaps!.actions.includes(input.action))
    throw invalidInput(
      `this plan allows ${profile.clientCaps!.actions.join(' or ')} at the cap, not ${input.action}`,
    );
  if (typeof input.amount !== 'string' || input.amount.trim() === '')
    throw invalidInput('amount is required, like "25.00" or "500 GB"');
  const amount =
    input.kind === 'money'
      ? parseMoney(input.amount.trim(), currency, 'amount').amountMinor
      : parseByteAmount(input.amount.trim());
  if (amount <= 0n) throw invalidInput('the cap must be more than zero; lift it to have none');
  // what the cap's column holds (a BIGINT): a larger figure would be stored as another (SQLite
  // keeps it as a float, 1e28 cents read back as 100000000000000009059696.64) or refused by MariaDB
  if (amount > MOST_STORED)
    throw invalidInput(
      input.kind === 'money'
        ? `the cap must be at most ${moneyToDecimalString({ amountMinor: MOST_STORED, currency })} ${currency}`
        : `the cap must be at most ${MOST_STORED} bytes`,
    );
  const cap: NewCap = {
    clientId,
    serviceId,
    kind: input.kind,
    amount,
    currency: input.kind === 'money' ? currency : null,
    action: input.action,
    throttleMbps: input.action === 'throttle' ? (profile.clientCaps!.throttleMbps ?? null) : null,
  };
  const now = deps.clock.now();
  return retryTransaction(deps.knex, async (trx) => {
    // a pooled service's cap is the pool's: it replaces the cap of every member
    const mates = (await deps.store.mates(trx, [serviceId])).get(serviceId)!;
    const before = await deps.store.activeOf(trx, mates, { lock: true });
    await deps.store.lift(
      trx,
      before.map((b) => b.id),
      now,
    );
    const created = await deps.store.insert(trx, cap, now);
    await deps.audit.record(
      trx,
      {
        actor,
        action: 'cap.set',
        entityType: 'service',
        entityId: serviceId,
        details: {
          kind: cap.kind,
          amount: amount.toString(),
          currency: cap.currency,
          action: cap.action,
          replaced: before.length,
          ...(mates.length > 1 ? { pool: mates } : {}),
        },
      },
      now,
    );
    return view(created);
  });
}

/** A client lifts the active cap of his service (or its pool); false when there was none. */
async function liftCap(deps: CapCtx, clientId: number, serviceId: number, actor: Actor): Promise<boolean> {
  await ownService(deps, clientId, serviceId).catch((err: unknown) => {
    // a plan that stopped offering caps still lets the client lift his own
    if ((err as ModuleError).code !== 'CONFLICT') throw err;
  });
  const now = deps.clock.now();
  return retryTransaction(deps.knex, async (trx) => {
    const mates = (await deps.store.mates(trx, [serviceId])).get(serviceId)!;
    const n = await deps.store.liftActiveOf(trx, mates, now);
    if (n > 0)
      await deps.audit.record(
        trx,
        {
          actor,
          action: 'cap.lifted',
          entityType: 'service',
          entityId: serviceId,
          details: mates.length > 1 ? { pool: mates } : {},
        },
        now,
      );
    return n > 0;
  });
}

/** What the rating, the limit policy and the pages read of caps. */
function capReads(deps: CapCtx): Pick<CapService, 'get' | 'activeFor' | 'history' | 'list' | 'options'> {
  const { knex, store } = deps;
  return {
    async get(serviceId) {
      const mates = (await store.mates(knex, [serviceId])).get(serviceId)!;
      const newest = (await store.activeOf(knex, mates)).at(-1);
      return newest ? view(newest) : null;
    },

    async activeFor(serviceIds, setAside) {
      if (!serviceIds.length) return new Map();
      const mates = await store.mates(knex, serviceIds);
      const rows = await store.activeOf(knex, [...new Set([...mates.values()].flat())], { setAside });
      const out = new Map<number, ClientCap | UnreadableRow>();
      for (const id of serviceIds) {
        // a cap it is under that cannot be read: which cap holds is not known
        const unread = mates
          .get(id)!
          .map((m) => rows.unreadable?.get(m))
          .find((u) => u !== undefined);
        if (unread) {
          out.set(id, unread);
          continue;
        }
        // the newest active cap among the services it covers (a member that joined with its own cap loses to a newer pool cap)
        const r = rows.filter((x) => mates.get(id)!.includes(x.serviceId)).at(-1);
        if (r) out.set(id, asCap(r));
      }
      return out;
    },

    async history(serviceIds, setAside) {
      const rows = await store.history(serviceIds, setAside);
      const out: CapHistory = rows.map((r) => ({
        serviceId: r.serviceId,
        cap: asCap(r),
        setAt: r.setAt,
        liftedAt: r.liftedAt,
      }));
      if (rows.unreadable) out.unreadable = rows.unreadable;
      return out;
    },

    async list(opts = {}) {
      const rows = await store.newest(Math.min(opts.limit ?? 200, 1000), deps.setAside);
      return rows.map((r) =>
        isUnreadable(r) ? r : { ...view(r), clientId: r.clientId, status: r.status, liftedAt: r.liftedAt },
      );
    },

    async options(serviceId) {
      const s = await store.service(serviceId);
      if (!s) return null;
      const profile = await deps.billing.forService(s.productId, serviceId, s.clientId);
      return profile?.clientCaps ? { actions: profile.clientCaps.actions, currency: s.currency } : null;
    },
  };
}

export function createCapService(raw: CapDeps): CapService {
  const deps: CapCtx = { ...raw, store: createCapStore(raw.knex) };
  return {
    set: (clientId, serviceId, input, actor) => setCap(deps, clientId, serviceId, input, actor),
    lift: (clientId, serviceId, actor) => liftCap(deps, clientId, serviceId, actor),
    ...capReads(deps),
  };
}

/**
 * The policy a service is held to now and the bytes at which it acts: with a client's cap on a
 * product that only bills, the cap's action once allowance + tolerance + what the cap pays for is
 * used; otherwise the product's own policy at the allowance. A provider's throttle or suspension at
 * 100 % comes first: the cap then only limits the bill.
 */
export function policyWithCap(
  profile: BillingProfile,
  plan: RatingPlan,
  allowanceBytes: bigint,
  cap: ClientCap | null,
): { policy: LimitPolicy; limitBytes: bigint | null } {
  if (!cap || profile.limitPolicy.action !== 'bill')
    return { policy: profile.limitPolicy, limitBytes: allowanceBytes };
  let over: bigint | null;
  try {
    over = capOverBytes(cap, plan);
  } catch {
    // a cap the plan no longer fits (another currency, a Mbit/s model): the product's policy holds
    return { policy: profile.limitPolicy, limitBytes: allowanceBytes };
  }
  return {
    policy: {
      action: cap.action,
      throttleMbps: profile.clientCaps?.throttleMbps,
      restoreMbps: profile.limitPolicy.restoreMbps,
    },
    limitBytes: over === null ? null : allowanceBytes + plan.toleranceBytes + over,
  };
}

/** What a cap caused that is in force now: its action, none, or the action's row that cannot be read. */
export type CapReached = 'throttle' | 'suspend' | null | UnreadableRow;

/**
 * The limit action a cap caused that is in force now (the widget says the cap is reached), if any.
 * A row that cannot be read is answered as such (told to `setAside`), not thrown: the caps around it
 * still read.
 */
export async function capActionInForce(
  knex: Knex,
  serviceId: number,
  setAside?: SetAside,
): Promise<CapReached> {
  const caps = createCapStore(knex);
  const mates = (await caps.mates(knex, [serviceId])).get(serviceId)!;
  if (!(await caps.activeOf(knex, mates)).length) return null;
  const [action] = await createLimitActionStore(knex, { setAside }).list({
    serviceId,
    status: ['pending', 'applied'],
    limit: 1,
  });
  if (action === undefined) return null;
  return isUnreadable(action) ? action : action.action;
}
