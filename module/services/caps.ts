import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { parseByteAmount } from '../domain/bytes.js';
import type { ClientCap } from '../domain/client-cap.js';
import { capOverBytes } from '../domain/client-cap.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import type { LimitPolicy } from '../domain/limit-policy.js';
import { parseMoney } from '../domain/money.js';
import type { RatingPlan } from '../domain/usage-rating.js';
import { sqlInstant, toBig, toInstant, toNum } from '../adapters/rows.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { BillingProfile, BillingSettingsService } from './billing-settings.js';
import { TABLES } from '../adapters/tables.js';

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

export interface CapService {
  set(clientId: number, serviceId: number, input: CapInput, actor: Actor): Promise<CapView>;
  /** lifts the active cap; false when there was none */
  lift(clientId: number, serviceId: number, actor: Actor): Promise<boolean>;
  get(serviceId: number): Promise<CapView | null>;
  /** the active caps of these services */
  activeFor(serviceIds: readonly number[]): Promise<Map<number, ClientCap>>;
  /** every cap of these services, set and lifted, oldest first (what rating matches to a period's end) */
  history(
    serviceIds: readonly number[],
  ): Promise<Array<{ serviceId: number; cap: ClientCap; setAt: DateTime; liftedAt: DateTime | null }>>;
  /** every cap, newest first (the admin's view): active and lifted, with the client who set it */
  list(opts?: {
    limit?: number;
  }): Promise<Array<CapView & { clientId: number; status: 'active' | 'lifted'; liftedAt: DateTime | null }>>;
  /** what the product lets a client choose; null when it offers no caps */
  options(serviceId: number): Promise<{ actions: Array<'throttle' | 'suspend'>; currency: string } | null>;
}

const CAPS = TABLES.caps;
const MEMBERS = TABLES.poolMembers;

/**
 * The services a cap of each of these covers: a service in a transfer pool now shares one cap with
 * every member of its pool (set on any of them, it covers them all, as the pool is billed as one);
 * any other service only itself. Each list is sorted, and holds the service itself.
 */
export async function capMates(
  knex: Knex | Knex.Transaction,
  serviceIds: readonly number[],
): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>(serviceIds.map((id) => [id, [id]]));
  if (!serviceIds.length) return out;
  const mine = await knex(MEMBERS)
    .whereNull('left_at')
    .whereIn('service_id', [...serviceIds])
    .select('service_id', 'client_id', 'pool_key');
  if (!mine.length) return out;
  const all = await knex(MEMBERS)
    .whereNull('left_at')
    .whereIn('client_id', [...new Set(mine.map((m) => toNum(m.client_id)))])
    .select('service_id', 'client_id', 'pool_key');
  for (const m of mine) {
    const same = all
      .filter((x) => toNum(x.client_id) === toNum(m.client_id) && String(x.pool_key) === String(m.pool_key))
      .map((x) => toNum(x.service_id));
    out.set(
      toNum(m.service_id),
      [...new Set([toNum(m.service_id), ...same])].sort((a, b) => a - b),
    );
  }
  return out;
}

const view = (r: Record<string, unknown>): CapView => ({
  id: toNum(r.id),
  serviceId: toNum(r.service_id),
  kind: r.kind === 'bytes' ? 'bytes' : 'money',
  amount: toBig(r.amount),
  currency: r.currency === null || r.currency === undefined ? null : String(r.currency),
  action: r.action === 'suspend' ? 'suspend' : 'throttle',
  setAt: toInstant(r.set_at),
});

const asCap = (v: CapView): ClientCap => ({
  kind: v.kind,
  amount: v.amount,
  currency: v.currency,
  action: v.action,
});

type CapDeps = { knex: Knex; clock: Clock; billing: BillingSettingsService; audit: AuditLog };

/** The service as the client may act on it: his own, linked, on a product that offers caps. */
async function ownService(
  deps: CapDeps,
  clientId: number,
  serviceId: number,
): Promise<{ currency: string; profile: BillingProfile }> {
  const s = await deps
    .knex(TABLES.services)
    .where({ service_id: serviceId })
    .first('client_id', 'product_id', 'currency');
  // another client's service is answered as if it did not exist: nothing about it leaks
  if (!s || toNum(s.client_id) !== clientId) throw notFound(`there is no service ${serviceId} of yours`);
  const profile = await deps.billing.forService(toNum(s.product_id), serviceId, clientId);
  if (!profile?.clientCaps || (profile.model !== 'per_unit' && profile.model !== 'per_block'))
    throw new ModuleError('CONFLICT', 'this plan does not offer a spending cap');
  return { currency: String(s.currency), profile };
}

/** A client sets a cap on his own service (a pooled service's cap covers its pool); audited. */
async function setCap(
  deps: CapDeps,
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
  const now = deps.clock.now();
  return retryTransaction(deps.knex, async (trx) => {
    // a pooled service's cap is the pool's: it replaces the cap of every member
    const mates = (await capMates(trx, [serviceId])).get(serviceId)!;
    const before = await trx(CAPS)
      .whereIn('service_id', mates)
      .andWhere({ status: 'active' })
      .forUpdate()
      .select('id');
    if (before.length)
      await trx(CAPS)
        .whereIn(
          'id',
          before.map((b) => b.id),
        )
        .update({ status: 'lifted', lifted_at: sqlInstant(now) });
    const row = {
      client_id: clientId,
      service_id: serviceId,
      kind: input.kind,
      amount: amount.toString(),
      currency: input.kind === 'money' ? currency : null,
      action: input.action,
      throttle_mbps: input.action === 'throttle' ? (profile.clientCaps!.throttleMbps ?? null) : null,
      status: 'active',
      set_at: sqlInstant(now),
    };
    await trx(CAPS).insert(row);
    const created = await trx(CAPS)
      .where({ service_id: serviceId, status: 'active' })
      .orderBy('id', 'desc')
      .first();
    await deps.audit.record(
      trx,
      {
        actor,
        action: 'cap.set',
        entityType: 'service',
        entityId: serviceId,
        details: {
          kind: input.kind,
          amount: amount.toString(),
          currency: row.currency,
          action: input.action,
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
async function liftCap(deps: CapDeps, clientId: number, serviceId: number, actor: Actor): Promise<boolean> {
  await ownService(deps, clientId, serviceId).catch((err: unknown) => {
    // a plan that stopped offering caps still lets the client lift his own
    if ((err as ModuleError).code !== 'CONFLICT') throw err;
  });
  const now = deps.clock.now();
  return retryTransaction(deps.knex, async (trx) => {
    const mates = (await capMates(trx, [serviceId])).get(serviceId)!;
    const n = await trx(CAPS)
      .whereIn('service_id', mates)
      .andWhere({ status: 'active' })
      .update({ status: 'lifted', lifted_at: sqlInstant(now) });
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
function capReads(deps: CapDeps): Pick<CapService, 'get' | 'activeFor' | 'history' | 'list' | 'options'> {
  const { knex } = deps;
  return {
    async get(serviceId) {
      const mates = (await capMates(knex, [serviceId])).get(serviceId)!;
      const r = await knex(CAPS)
        .whereIn('service_id', mates)
        .andWhere({ status: 'active' })
        .orderBy('id', 'desc')
        .first();
      return r ? view(r) : null;
    },

    async activeFor(serviceIds) {
      if (!serviceIds.length) return new Map();
      const mates = await capMates(knex, serviceIds);
      const rows = await knex(CAPS)
        .whereIn('service_id', [...new Set([...mates.values()].flat())])
        .andWhere({ status: 'active' })
        .orderBy('id');
      const out = new Map<number, ClientCap>();
      for (const id of serviceIds) {
        // the newest active cap among the services it covers (a member that joined with its own cap loses to a newer pool cap)
        const r = rows.filter((x) => mates.get(id)!.includes(toNum(x.service_id))).at(-1);
        if (r) out.set(id, asCap(view(r)));
      }
      return out;
    },

    async history(serviceIds) {
      if (!serviceIds.length) return [];
      const rows = await knex(CAPS)
        .whereIn('service_id', [...serviceIds])
        .orderBy('id');
      return rows.map((r) => ({
        serviceId: toNum(r.service_id),
        cap: asCap(view(r)),
        setAt: toInstant(r.set_at),
        liftedAt: r.lifted_at === null || r.lifted_at === undefined ? null : toInstant(r.lifted_at),
      }));
    },

    async list(opts = {}) {
      const rows = await knex(CAPS)
        .orderBy('id', 'desc')
        .limit(Math.min(opts.limit ?? 200, 1000));
      return rows.map((r) => ({
        ...view(r),
        clientId: toNum(r.client_id),
        status: r.status === 'active' ? ('active' as const) : ('lifted' as const),
        liftedAt: r.lifted_at === null || r.lifted_at === undefined ? null : toInstant(r.lifted_at),
      }));
    },

    async options(serviceId) {
      const s = await knex(TABLES.services)
        .where({ service_id: serviceId })
        .first('client_id', 'product_id', 'currency');
      if (!s) return null;
      const profile = await deps.billing.forService(toNum(s.product_id), serviceId, toNum(s.client_id));
      return profile?.clientCaps
        ? { actions: profile.clientCaps.actions, currency: String(s.currency) }
        : null;
    },
  };
}

export function createCapService(deps: CapDeps): CapService {
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

/** The limit action a cap caused that is in force now (the widget says the cap is reached), if any. */
export async function capActionInForce(
  knex: Knex,
  serviceId: number,
): Promise<'throttle' | 'suspend' | null> {
  const mates = (await capMates(knex, [serviceId])).get(serviceId)!;
  const cap = await knex(CAPS)
    .whereIn('service_id', mates)
    .andWhere({ status: 'active' })
    .orderBy('id', 'desc')
    .first('set_at');
  if (!cap) return null;
  const row = await knex(TABLES.limitActions)
    .where({ service_id: serviceId })
    .whereIn('status', ['pending', 'applied'])
    .orderBy('id', 'desc')
    .first('action');
  return row ? (row.action === 'suspend' ? 'suspend' : 'throttle') : null;
}
