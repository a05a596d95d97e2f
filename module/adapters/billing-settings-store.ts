import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { column, intIn, jsonIn, readOwned, sqlInstant, type ReadOf, type SetAside } from './rows.js';
import { engineOf } from './database.js';
import { sendDirect } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * How products bill overusage, with the overrides of a service and of a client, as stored: one JSON
 * document per product, service or client. The store gives the documents back parsed as JSON; what
 * they must hold is the billing settings service's to check (module/services/billing-settings.ts).
 */

type Db = Knex | Knex.Transaction;

/** whose settings: a product's profile, a service's override, a client's override */
export type SettingsScope = 'product' | 'service' | 'client';

const SCOPES = {
  product: { table: TABLES.billingProfiles, key: 'product_id' },
  service: { table: TABLES.serviceOverrides, key: 'service_id' },
  client: { table: TABLES.clientOverrides, key: 'client_id' },
} as const satisfies Record<SettingsScope, { table: string; key: string }>;

export interface BillingSettingsStore {
  /** a product's settings and the overrides of one of its services and that service's client (null: none stored) */
  forService(productId: number, serviceId: number, clientId: number): Promise<Record<SettingsScope, unknown>>;
  /** one product's, service's or client's settings; null when none are stored */
  get(scope: SettingsScope, id: number): Promise<unknown>;
  /**
   * every stored document of a scope, by id ascending. With `setAside`, one that cannot be read is
   * told there and left out, its id in `unreadable` (what that product, service or client has set is
   * not known); without, it refuses the read
   */
  all(scope: SettingsScope, setAside?: SetAside): Promise<ReadOf<StoredDocument>>;
  /**
   * every product's settings, and the overrides of these services and clients only: what rating a
   * few services needs, in one round trip, however many overrides other services have; `setAside`
   * as for `all`
   */
  allFor(
    serviceIds: readonly number[],
    clientIds: readonly number[],
    setAside?: SetAside,
  ): Promise<Record<SettingsScope, ReadOf<StoredDocument>>>;
  /** writes the settings (replacing what was stored), or removes them when null */
  put(db: Db, scope: SettingsScope, id: number, settings: unknown, now: DateTime): Promise<void>;
}

/** One product's, service's or client's stored settings, by its id. */
export interface StoredDocument {
  id: number;
  settings: unknown;
}

/** The rows of one scope, each read on its own with `setAside` (readOwned by the scope's key). */
const documentsOf = (
  scope: SettingsScope,
  rows: Array<Record<string, unknown>>,
  key: string,
  setAside: SetAside | undefined,
): ReadOf<StoredDocument> =>
  readOwned(
    rows,
    (r) => ({ id: column(r, SCOPES[scope].table, key, intIn), settings: settingsOf(scope, r) }),
    SCOPES[scope].table,
    { owner: key, key, setAside },
  );

const settingsOf = (scope: SettingsScope, r: Record<string, unknown>) =>
  column(r, SCOPES[scope].table, 'settings', jsonIn);

/** A product's settings and the overrides of one of its services and its client, as stored (null: none). */
export type StoredSettings = Record<SettingsScope, unknown>;

/**
 * Another statement's columns `product_settings`, `service_settings` and `client_settings`: the
 * documents forService reads, found by the SQL expressions given for the product, service and client
 * (an InvoiceCreation delivery reads them with its charges, charge-store.ts forDelivery).
 */
export const settingsColumns = (
  ids: Record<SettingsScope, string>,
): Record<`${SettingsScope}_settings`, string> => ({
  product_settings: `(SELECT settings FROM ${SCOPES.product.table} WHERE ${SCOPES.product.key} = ${ids.product})`,
  service_settings: `(SELECT settings FROM ${SCOPES.service.table} WHERE ${SCOPES.service.key} = ${ids.service})`,
  client_settings: `(SELECT settings FROM ${SCOPES.client.table} WHERE ${SCOPES.client.key} = ${ids.client})`,
});

/** What settingsColumns read, as forService gives it. */
export const settingsFromColumns = (r: Record<string, unknown>): StoredSettings => {
  const of = (scope: SettingsScope) => {
    const v = r[`${scope}_settings`];
    return v === null || v === undefined ? null : settingsOf(scope, { settings: v });
  };
  return { product: of('product'), service: of('service'), client: of('client') };
};

const FOR_SERVICE = (['product', 'service', 'client'] as const)
  .map((k) => `SELECT '${k}' AS k, settings FROM ${SCOPES[k].table} WHERE ${SCOPES[k].key} = ?`)
  .join(' UNION ALL ');

export function createBillingSettingsStore(knex: Knex): BillingSettingsStore {
  const { product, service, client } = SCOPES;
  const mysql = engineOf(knex) === 'mysql';
  return {
    async forService(productId, serviceId, clientId) {
      // the three in one round trip: every invoice line asks (on MariaDB/MySQL past knex's builder)
      const rows: Array<Record<string, unknown>> = mysql
        ? await sendDirect(knex, FOR_SERVICE, [productId, serviceId, clientId])
        : await knex
            .select(knex.raw("'product' AS k"), 'settings')
            .from(product.table)
            .where({ [product.key]: productId })
            .unionAll((q) =>
              q
                .select(knex.raw("'service' AS k"), 'settings')
                .from(service.table)
                .where({ [service.key]: serviceId }),
            )
            .unionAll((q) =>
              q
                .select(knex.raw("'client' AS k"), 'settings')
                .from(client.table)
                .where({ [client.key]: clientId }),
            );
      const of = (scope: SettingsScope) => {
        const r = rows.find((x) => x.k === scope);
        return r ? settingsOf(scope, r) : null;
      };
      return { product: of('product'), service: of('service'), client: of('client') };
    },
    async get(scope, id) {
      const { table, key } = SCOPES[scope];
      const r = await knex(table)
        .where({ [key]: id })
        .first('settings');
      return r ? settingsOf(scope, r) : null;
    },
    async all(scope, setAside) {
      const { table, key } = SCOPES[scope];
      const rows = await knex(table).select(key, 'settings').orderBy(key);
      return documentsOf(scope, rows, key, setAside);
    },
    async allFor(serviceIds, clientIds, setAside) {
      const part = (scope: SettingsScope, ids?: readonly number[]) => (q: Knex.QueryBuilder) => {
        const { table, key } = SCOPES[scope];
        q.select(knex.raw(`'${scope}' AS k`), `${key} AS id`, 'settings').from(table);
        if (ids) q.whereIn(key, ids.length ? [...ids] : [0]);
      };
      const rows: Array<Record<string, unknown>> = await knex
        .queryBuilder()
        .modify(part('product'))
        .unionAll((q) => q.modify(part('service', serviceIds)))
        .unionAll((q) => q.modify(part('client', clientIds)));
      const of = (scope: SettingsScope) =>
        documentsOf(
          scope,
          rows.filter((r) => r.k === scope),
          'id',
          setAside,
        );
      return { product: of('product'), service: of('service'), client: of('client') };
    },
    async put(db, scope, id, settings, now) {
      const { table, key } = SCOPES[scope];
      if (settings === null) {
        await db(table)
          .where({ [key]: id })
          .delete();
        return;
      }
      await db(table)
        .insert({ [key]: id, settings: JSON.stringify(settings), updated_at: sqlInstant(now) })
        .onConflict(key)
        .merge(['settings', 'updated_at']);
    },
  };
}
