import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { parseResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import { retryTransaction } from '../adapters/sql-helpers.js';
import { createMasterStore, type MasterLinkRule, type MasterStore } from '../adapters/master-store.js';
import {
  createServiceLinkStore,
  type LinkFields,
  type ServiceLinkStore,
  type StoredLink,
} from '../adapters/service-link-store.js';

/**
 * Which SolusVM server a panel service is. The panel knows services and clients; SolusVM knows
 * servers; this link is what metering walks.
 */
export interface ServiceLink extends LinkFields {
  lastSampleDate: string | null;
}

const linkInput = z
  .object({
    serviceId: z.number().int().positive(),
    clientId: z.number().int().positive(),
    productId: z.number().int().nonnegative().default(0),
    masterId: z.number().int().positive(),
    serverRef: z.string().trim().min(1).max(64),
    serverUuid: z.string().trim().min(1).max(64).nullish(),
    resetPolicy: z.string().nullish(),
    resetDay: z.number().int().min(1).max(31).nullish(),
    /** the day of the month the panel bills the service on (its next due date's day) */
    billingDay: z.number().int().min(1).max(31).nullish(),
    /** the client's currency in the panel (charges are rated in it) */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO currency code such as EUR')
      .default('EUR'),
    /** the service's registration day: a first period that starts earlier is prorated */
    regdate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
      .nullish(),
    active: z.boolean().default(true),
  })
  .strict();

export type LinkInput = z.input<typeof linkInput>;

export interface ServiceLinkService {
  link(input: LinkInput, actor: Actor): Promise<ServiceLink>;
  /** many links at once, for imports and the demo; one transaction */
  linkMany(inputs: LinkInput[], actor: Actor): Promise<number>;
  setActive(serviceId: number, active: boolean, actor: Actor): Promise<ServiceLink>;
  get(serviceId: number): Promise<ServiceLink>;
  list(opts?: {
    masterId?: number;
    clientId?: number;
    limit?: number;
    afterServiceId?: number;
  }): Promise<ServiceLink[]>;
}

type Deps = {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  store?: ServiceLinkStore;
  masters?: MasterStore;
};
type Ctx = Deps & { store: ServiceLinkStore; masters: MasterStore };
type ValidLink = z.output<typeof linkInput> & { resetPolicy: ResetPolicy | null };

const unlinked = (serviceId: number) => notFound(`service ${serviceId} is not linked to a SolusVM server`);

export function createServiceLinkService(deps: Deps): ServiceLinkService {
  const ctx: Ctx = {
    ...deps,
    store: deps.store ?? createServiceLinkStore(deps.knex),
    masters: deps.masters ?? createMasterStore(deps.knex),
  };
  const { knex, store } = ctx;
  return {
    link: (input, actor) => linkOne(ctx, input, actor),
    linkMany: (inputs, actor) => linkMany(ctx, inputs, actor),
    setActive: (serviceId, active, actor) => setActive(ctx, serviceId, active, actor),
    async get(serviceId) {
      const l = await store.get(knex, serviceId);
      if (!l) throw unlinked(serviceId);
      return view(l);
    },
    async list(opts = {}) {
      const links = await store.list({ ...opts, limit: Math.min(opts.limit ?? 100, 1000) });
      return links.map(view);
    },
  };
}

/** A stored link as shown (without its sampling state). */
const view = (l: StoredLink): ServiceLink => ({
  serviceId: l.serviceId,
  clientId: l.clientId,
  productId: l.productId,
  masterId: l.masterId,
  serverRef: l.serverRef,
  serverUuid: l.serverUuid,
  resetPolicy: l.resetPolicy,
  resetDay: l.resetDay,
  billingDay: l.billingDay,
  currency: l.currency,
  regdate: l.regdate,
  active: l.active,
  lastSampleDate: l.lastSampleDate,
});

/**
 * A link's input checked against its master: `label` names it in the message. SolusVM 2 tells the
 * VM's creation day with every read; SolusVM 1 does not, so an anniversary reset needs the day.
 */
function checkLink(
  input: LinkInput,
  master: MasterLinkRule | undefined,
  label: (l: { serviceId: number }) => string,
): ValidLink {
  const parsed = linkInput.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw invalidInput(
      `${label({ serviceId: Number((input as { serviceId?: unknown }).serviceId) })}${first.path.join('.') || 'link'}: ${first.message}`,
    );
  }
  const l = parsed.data;
  if (!master) throw notFound(`SolusVM master ${l.masterId} does not exist`);
  const policy = l.resetPolicy ? parseResetPolicy(l.resetPolicy) : null;
  if (
    (policy ?? parseResetPolicy(master.resetPolicy)) === 'anniversary' &&
    !l.resetDay &&
    !l.regdate &&
    master.version !== 2
  ) {
    throw invalidInput(
      `service ${l.serviceId} resets on its anniversary: give resetDay (the day of the month the VPS was created) or its registration date`,
    );
  }
  return { ...l, resetPolicy: policy };
}

const fieldsOf = (l: ValidLink): LinkFields => ({
  serviceId: l.serviceId,
  clientId: l.clientId,
  productId: l.productId,
  masterId: l.masterId,
  serverRef: l.serverRef,
  serverUuid: l.serverUuid ?? null,
  resetPolicy: l.resetPolicy,
  resetDay: l.resetDay ?? null,
  billingDay: l.billingDay ?? null,
  currency: l.currency,
  regdate: l.regdate ?? null,
  active: l.active,
});

async function linkOne(
  { knex, clock, audit, store, masters }: Ctx,
  input: LinkInput,
  actor: Actor,
): Promise<ServiceLink> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const masterId = Number((input as { masterId?: unknown }).masterId);
    const master =
      Number.isSafeInteger(masterId) && masterId > 0
        ? (await masters.linkRules(trx, masterId)).get(masterId)
        : undefined;
    const l = checkLink(input, master, () => '');
    const clash = await store.serverTakenBy(trx, l.masterId, l.serverRef, l.serviceId);
    if (clash !== null)
      throw new ModuleError(
        'CONFLICT',
        `server ${l.serverRef} on master ${l.masterId} is already linked to service ${clash}`,
      );
    const existing = await store.get(trx, l.serviceId);
    if (
      existing &&
      (existing.masterId !== l.masterId || existing.serverRef !== l.serverRef) &&
      existing.lastSampleId !== null
    ) {
      // A different server means a different counter: its samples must not continue the old ones.
      throw new ModuleError(
        'CONFLICT',
        `service ${l.serviceId} already has samples from server ${existing.serverRef}; a move to another server needs a new service link`,
      );
    }
    // never sampled when new: already on the billing calendar, nothing for migrate's rebuild to do
    if (existing) await store.update(trx, fieldsOf(l), now);
    else await store.insert(trx, [fieldsOf(l)], now);
    await audit.record(
      trx,
      {
        actor,
        action: existing ? 'service.relinked' : 'service.linked',
        entityType: 'service',
        entityId: l.serviceId,
        details: { masterId: l.masterId, serverRef: l.serverRef },
      },
      now,
    );
    return view((await store.get(trx, l.serviceId))!);
  });
}

async function linkMany(
  { knex, clock, audit, store, masters }: Ctx,
  inputs: LinkInput[],
  actor: Actor,
): Promise<number> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const rules = await masters.linkRules(trx);
    const rows = inputs.map((input) => {
      const masterId = Number((input as { masterId?: unknown }).masterId);
      return fieldsOf(checkLink(input, rules.get(masterId), (l) => `service ${l.serviceId}: `));
    });
    // new services, never sampled: already on the billing calendar (at 1 000 000 links, the next
    // migrate would otherwise mark them all in one UPDATE before the first collect could start)
    await store.insert(trx, rows, now);
    await audit.record(
      trx,
      {
        actor,
        action: 'service.linked_many',
        entityType: 'service',
        entityId: null,
        details: { count: rows.length },
      },
      now,
    );
    return rows.length;
  });
}

async function setActive(
  { knex, clock, audit, store }: Ctx,
  serviceId: number,
  active: boolean,
  actor: Actor,
): Promise<ServiceLink> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    if (!(await store.setActive(trx, serviceId, active, now))) throw unlinked(serviceId);
    await audit.record(
      trx,
      {
        actor,
        action: active ? 'service.activated' : 'service.deactivated',
        entityType: 'service',
        entityId: serviceId,
      },
      now,
    );
    return view((await store.get(trx, serviceId))!);
  });
}
