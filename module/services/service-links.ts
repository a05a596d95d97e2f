import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { parseResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import { insertChunked, retryTransaction } from '../adapters/sql-helpers.js';
import { sqlInstant, toBool, toDateOrNull, toNum, toNumOrNull } from '../adapters/rows.js';

/**
 * Which SolusVM server a panel service is. The panel knows services and clients; SolusVM knows
 * servers; this link is what metering walks.
 */
export interface ServiceLink {
  serviceId: number;
  clientId: number;
  productId: number;
  masterId: number;
  serverRef: string;
  serverUuid: string | null;
  resetPolicy: ResetPolicy | null;
  resetDay: number | null;
  /** the day of the month the panel bills the service on: the calendar of a counter that never resets */
  billingDay: number | null;
  currency: string;
  regdate: string | null;
  active: boolean;
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
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO currency code such as EUR').default('EUR'),
    /** the service's registration day: a first period that starts earlier is prorated */
    regdate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').nullish(),
    active: z.boolean().default(true),
  })
  .strict();

export type LinkInput = z.input<typeof linkInput>;

const TABLE = 'mod_overusage_services';

export interface ServiceLinkService {
  link(input: LinkInput, actor: Actor): Promise<ServiceLink>;
  /** many links at once, for imports and the demo; one transaction */
  linkMany(inputs: LinkInput[], actor: Actor): Promise<number>;
  setActive(serviceId: number, active: boolean, actor: Actor): Promise<ServiceLink>;
  get(serviceId: number): Promise<ServiceLink>;
  list(opts?: { masterId?: number; clientId?: number; limit?: number; afterServiceId?: number }): Promise<ServiceLink[]>;
}

type Deps = { knex: Knex; clock: Clock; audit: AuditLog };
type ValidLink = z.output<typeof linkInput> & { resetPolicy: ResetPolicy | null };

export function createServiceLinkService(deps: Deps): ServiceLinkService {
  const { knex } = deps;
  return {
    link: (input, actor) => linkOne(deps, input, actor),
    linkMany: (inputs, actor) => linkMany(deps, inputs, actor),
    setActive: (serviceId, active, actor) => setActive(deps, serviceId, active, actor),
    async get(serviceId) {
      const r = await knex(TABLE).where({ service_id: serviceId }).first();
      if (!r) throw notFound(`service ${serviceId} is not linked to a SolusVM server`);
      return view(r);
    },
    async list(opts = {}) {
      const q = knex(TABLE).orderBy('service_id').limit(Math.min(opts.limit ?? 100, 1000));
      if (opts.masterId) q.where({ master_id: opts.masterId });
      if (opts.clientId) q.where({ client_id: opts.clientId });
      if (opts.afterServiceId) q.where('service_id', '>', opts.afterServiceId);
      return (await q).map(view);
    },
  };
}

const view = (r: Record<string, unknown>): ServiceLink => ({
  serviceId: toNum(r.service_id),
  clientId: toNum(r.client_id),
  productId: toNum(r.product_id),
  masterId: toNum(r.master_id),
  serverRef: String(r.server_ref),
  serverUuid: (r.server_uuid as string | null) ?? null,
  resetPolicy: r.reset_policy ? parseResetPolicy(r.reset_policy) : null,
  resetDay: toNumOrNull(r.reset_day),
  billingDay: toNumOrNull(r.billing_day),
  currency: String(r.currency ?? 'EUR'),
  regdate: toDateOrNull(r.regdate),
  active: toBool(r.active),
  lastSampleDate: toDateOrNull(r.last_sample_date),
});

/**
 * A link's input checked against its master: `label` names it in the message. SolusVM 2 tells the
 * VM's creation day with every read; SolusVM 1 does not, so an anniversary reset needs the day.
 */
function checkLink(input: LinkInput, master: { resetPolicy: string; version: number } | undefined, label: (l: { serviceId: number }) => string): ValidLink {
  const parsed = linkInput.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw invalidInput(`${label({ serviceId: Number((input as { serviceId?: unknown }).serviceId) })}${first.path.join('.') || 'link'}: ${first.message}`);
  }
  const l = parsed.data;
  if (!master) throw notFound(`SolusVM master ${l.masterId} does not exist`);
  const policy = l.resetPolicy ? parseResetPolicy(l.resetPolicy) : null;
  if ((policy ?? parseResetPolicy(master.resetPolicy)) === 'anniversary' && !l.resetDay && !l.regdate && master.version !== 2) {
    throw invalidInput(`service ${l.serviceId} resets on its anniversary: give resetDay (the day of the month the VPS was created) or its registration date`);
  }
  return { ...l, resetPolicy: policy };
}

const masterOf = (m: Record<string, unknown> | undefined) => (m ? { resetPolicy: String(m.reset_policy), version: toNum(m.version) } : undefined);

const toRow = (l: ValidLink, now: string) => ({
  service_id: l.serviceId,
  client_id: l.clientId,
  product_id: l.productId,
  master_id: l.masterId,
  server_ref: l.serverRef,
  server_uuid: l.serverUuid ?? null,
  reset_policy: l.resetPolicy,
  reset_day: l.resetDay ?? null,
  billing_day: l.billingDay ?? null,
  currency: l.currency,
  regdate: l.regdate ?? null,
  active: l.active,
  created_at: now,
  updated_at: now,
});

async function linkOne({ knex, clock, audit }: Deps, input: LinkInput, actor: Actor): Promise<ServiceLink> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const masterId = Number((input as { masterId?: unknown }).masterId);
    const master = Number.isSafeInteger(masterId) && masterId > 0 ? await trx('mod_overusage_masters').where({ id: masterId }).first('id', 'reset_policy', 'version') : undefined;
    const l = checkLink(input, masterOf(master), () => '');
    const clash = await trx(TABLE).where({ master_id: l.masterId, server_ref: l.serverRef }).whereNot({ service_id: l.serviceId }).first('service_id');
    if (clash) throw new ModuleError('CONFLICT', `server ${l.serverRef} on master ${l.masterId} is already linked to service ${toNum(clash.service_id)}`);
    const existing = await trx(TABLE).where({ service_id: l.serviceId }).first();
    if (existing && (toNum(existing.master_id) !== l.masterId || String(existing.server_ref) !== l.serverRef) && existing.last_sample_id !== null) {
      // A different server means a different counter: its samples must not continue the old ones.
      throw new ModuleError('CONFLICT', `service ${l.serviceId} already has samples from server ${existing.server_ref}; a move to another server needs a new service link`);
    }
    const row = toRow(l, sqlInstant(now));
    if (existing) {
      const { created_at: _c, ...update } = row;
      await trx(TABLE).where({ service_id: l.serviceId }).update(update);
    } else {
      // never sampled: already on the billing calendar, nothing for migrate's rebuild to do
      await trx(TABLE).insert({ ...row, calendar_version: 1 });
    }
    await audit.record(trx, { actor, action: existing ? 'service.relinked' : 'service.linked', entityType: 'service', entityId: l.serviceId, details: { masterId: l.masterId, serverRef: l.serverRef } }, now);
    return view(await trx(TABLE).where({ service_id: l.serviceId }).first());
  });
}

async function linkMany({ knex, clock, audit }: Deps, inputs: LinkInput[], actor: Actor): Promise<number> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const masters = new Map<number, Record<string, unknown>>();
    for (const m of await trx('mod_overusage_masters').select('id', 'reset_policy', 'version')) masters.set(toNum(m.id), m);
    const rows = inputs.map((input) => {
      const masterId = Number((input as { masterId?: unknown }).masterId);
      // new services, never sampled: already on the billing calendar (at 1 000 000 links, the next
      // migrate would otherwise mark them all in one UPDATE before the first collect could start)
      return { ...toRow(checkLink(input, masterOf(masters.get(masterId)), (l) => `service ${l.serviceId}: `), sqlInstant(now)), calendar_version: 1 };
    });
    await insertChunked(trx, TABLE, rows);
    await audit.record(trx, { actor, action: 'service.linked_many', entityType: 'service', entityId: null, details: { count: rows.length } }, now);
    return rows.length;
  });
}

async function setActive({ knex, clock, audit }: Deps, serviceId: number, active: boolean, actor: Actor): Promise<ServiceLink> {
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const n = await trx(TABLE).where({ service_id: serviceId }).update({ active, updated_at: sqlInstant(now) });
    if (n === 0) throw notFound(`service ${serviceId} is not linked to a SolusVM server`);
    await audit.record(trx, { actor, action: active ? 'service.activated' : 'service.deactivated', entityType: 'service', entityId: serviceId }, now);
    return view(await trx(TABLE).where({ service_id: serviceId }).first());
  });
}
