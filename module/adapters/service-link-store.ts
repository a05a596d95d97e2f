import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { storedResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import {
  column,
  dateOrNullIn,
  intIn,
  intOrNullIn,
  sqlInstant,
  textIn,
  textOrNullIn,
  toBool,
} from './rows.js';
import { insertChunked } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * The links of panel services to SolusVM servers, as stored in mod_overusage_services. Metering
 * writes the same rows' sampling columns (module/adapters/metering-store.ts); this store reads and
 * writes the link itself.
 */

type Db = Knex | Knex.Transaction;

/** A link as the service-links service writes it. */
export interface LinkFields {
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
}

export interface StoredLink extends LinkFields {
  lastSampleDate: string | null;
  /** the latest good sample: a link that has one keeps its server (a new server is a new counter) */
  lastSampleId: number | null;
}

export interface LinkListFilter {
  masterId?: number;
  clientId?: number;
  /** only services after this one */
  afterServiceId?: number;
  limit: number;
}

export interface ServiceLinkStore {
  get(db: Db, serviceId: number): Promise<StoredLink | null>;
  /** links by service id ascending, at most `limit` */
  list(filter: LinkListFilter): Promise<StoredLink[]>;
  /** the service other than `serviceId` already linked to the master's server; null when none */
  serverTakenBy(db: Db, masterId: number, serverRef: string, serviceId: number): Promise<number | null>;
  /** new links: never sampled, so already on the billing calendar (calendar_version 1) */
  insert(db: Db, links: readonly LinkFields[], now: DateTime): Promise<void>;
  /** an existing link's fields replaced (its sampling state and creation time kept) */
  update(db: Db, link: LinkFields, now: DateTime): Promise<void>;
  /** false when the service is not linked */
  setActive(db: Db, serviceId: number, active: boolean, now: DateTime): Promise<boolean>;
}

const T = TABLES.services;

/** `currency` was added with a default; a row without one bills in euros, as before. */
const toCurrency = (v: unknown, c: string) => (v === null || v === undefined ? 'EUR' : textIn(v, c));
const toPolicyOrNull = (v: unknown, c: string) =>
  v === null || v === undefined || v === '' ? null : storedResetPolicy(v, c);

export function linkFromRow(r: Record<string, unknown>): StoredLink {
  return {
    serviceId: column(r, T, 'service_id', intIn),
    clientId: column(r, T, 'client_id', intIn),
    productId: column(r, T, 'product_id', intIn),
    masterId: column(r, T, 'master_id', intIn),
    serverRef: column(r, T, 'server_ref', textIn),
    serverUuid: column(r, T, 'server_uuid', textOrNullIn),
    resetPolicy: column(r, T, 'reset_policy', toPolicyOrNull),
    resetDay: column(r, T, 'reset_day', intOrNullIn),
    billingDay: column(r, T, 'billing_day', intOrNullIn),
    currency: column(r, T, 'currency', toCurrency),
    regdate: column(r, T, 'regdate', dateOrNullIn),
    active: toBool(r.active),
    lastSampleDate: column(r, T, 'last_sample_date', dateOrNullIn),
    lastSampleId: column(r, T, 'last_sample_id', intOrNullIn),
  };
}

const toColumns = (l: LinkFields, now: DateTime) => ({
  service_id: l.serviceId,
  client_id: l.clientId,
  product_id: l.productId,
  master_id: l.masterId,
  server_ref: l.serverRef,
  server_uuid: l.serverUuid,
  reset_policy: l.resetPolicy,
  reset_day: l.resetDay,
  billing_day: l.billingDay,
  currency: l.currency,
  regdate: l.regdate,
  active: l.active,
  updated_at: sqlInstant(now),
});

export function createServiceLinkStore(knex: Knex): ServiceLinkStore {
  return {
    async get(db, serviceId) {
      const r = await db(T).where({ service_id: serviceId }).first();
      return r ? linkFromRow(r) : null;
    },
    async list(filter) {
      const q = knex(T).orderBy('service_id').limit(filter.limit);
      if (filter.masterId) q.where({ master_id: filter.masterId });
      if (filter.clientId) q.where({ client_id: filter.clientId });
      if (filter.afterServiceId) q.where('service_id', '>', filter.afterServiceId);
      return (await q).map(linkFromRow);
    },
    async serverTakenBy(db, masterId, serverRef, serviceId) {
      const r = await db(T)
        .where({ master_id: masterId, server_ref: serverRef })
        .whereNot({ service_id: serviceId })
        .first('service_id');
      return r ? column(r, T, 'service_id', intIn) : null;
    },
    async insert(db, links, now) {
      const rows = links.map((l) => ({
        ...toColumns(l, now),
        created_at: sqlInstant(now),
        calendar_version: 1,
      }));
      await insertChunked(db, T, rows);
    },
    async update(db, link, now) {
      await db(T).where({ service_id: link.serviceId }).update(toColumns(link, now));
    },
    async setActive(db, serviceId, active, now) {
      const n = await db(T)
        .where({ service_id: serviceId })
        .update({ active, updated_at: sqlInstant(now) });
      return n > 0;
    },
  };
}
