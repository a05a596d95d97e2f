import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import {
  intIn,
  isUnreadable,
  readEach,
  readOwned,
  rowReader,
  sqlInstant,
  type ReadOf,
  type SetAside,
  type UnreadableRow,
} from './rows.js';
import { chunks, insertChunked, retryTransaction } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * What the panel sync (module/services/panel-sync.ts) reads and keeps: the services linked so far,
 * the SolusVM 2 module's own server table when the panel has it, the services the last sync could
 * not link (sync issues, replaced whole by each sync) and the names the admin tab searches by (the
 * directory). Links themselves are written by the service links (module/services/service-links.ts).
 */

/** The official SolusVM 2 WHMCS module's table (service_id → server_id): the panel's, not ours. */
export const SOLUSIO_TABLE = 'solusiovps_servers';

export interface LinkedService {
  serviceId: number;
  masterId: number;
  serverRef: string;
  active: boolean;
  currency: string;
  productId: number;
  billingDay: number | null;
}

export interface SyncIssue {
  serviceId: number;
  clientId: number;
  productId: number;
  domain: string;
  reason: string;
}

export interface DirectoryEntry {
  serviceId: number;
  clientId: number;
  clientName: string;
  hostname: string;
  ips: string;
  productName: string;
  searchText: string;
}

export interface PanelSyncStore {
  /**
   * our services rows. With `setAside`, a row that cannot be read is told there and left out, its
   * service in `unreadable` with it; without, it is refused naming the column.
   */
  linkedServices(setAside?: SetAside): Promise<ReadOf<LinkedService>>;
  /**
   * service id → SolusVM 2 server id (the newest row of a service wins); empty without the table.
   * With `setAside`, a row that cannot be read is told there and stands for its service as an
   * UnreadableRow (its server is not known; a row whose service_id does not read is only told);
   * without, it is refused naming the column.
   */
  solusIoServers(setAside?: SetAside): Promise<Map<number, string | UnreadableRow>>;
  /** the issues of the last sync, by service */
  issues(): Promise<Array<SyncIssue & { seenAt: DateTime }>>;
  /** the last sync's issues in place of the ones before, in one transaction; texts cut to their columns */
  replaceIssues(issues: readonly SyncIssue[], now: DateTime): Promise<void>;
  /** writes or updates each service's entry, in chunks of 200 (one statement each on both engines) */
  writeDirectory(entries: readonly DirectoryEntry[], now: DateTime): Promise<void>;
}

export function parseLinkedService(r: Record<string, unknown>): LinkedService {
  const s = rowReader(TABLES.services, r);
  return {
    serviceId: s.num('service_id'),
    masterId: s.num('master_id'),
    serverRef: s.str('server_ref'),
    active: s.bool('active'),
    currency: s.str('currency'),
    productId: s.num('product_id'),
    billingDay: s.numOrNull('billing_day'),
  };
}

export function parseSyncIssue(r: Record<string, unknown>): SyncIssue & { seenAt: DateTime } {
  const i = rowReader(TABLES.syncIssues, r);
  return {
    serviceId: i.num('service_id'),
    clientId: i.num('client_id'),
    productId: i.num('product_id'),
    domain: i.str('domain'),
    reason: i.str('reason'),
    seenAt: i.instant('seen_at'),
  };
}

export function createPanelSyncStore(knex: Knex): PanelSyncStore {
  return {
    async linkedServices(setAside) {
      const rows = await knex(TABLES.services).select(
        'service_id',
        'master_id',
        'server_ref',
        'active',
        'currency',
        'product_id',
        'billing_day',
      );
      return readOwned(rows, parseLinkedService, TABLES.services, {
        owner: 'service_id',
        key: 'service_id',
        setAside,
      });
    },
    async solusIoServers(setAside) {
      if (!(await knex.schema.hasTable(SOLUSIO_TABLE))) return new Map();
      const rows = await knex(SOLUSIO_TABLE).select('id', 'service_id', 'server_id').orderBy('id');
      const parse = (r: Record<string, unknown>): [number, string] => {
        const s = rowReader(SOLUSIO_TABLE, r);
        return [s.num('service_id'), String(s.num('server_id'))];
      };
      if (!setAside) return new Map(rows.map(parse));
      const out = new Map<number, string | UnreadableRow>();
      readEach(rows, parse, SOLUSIO_TABLE, { setAside }).forEach((x, k) => {
        if (!isUnreadable(x)) out.set(x[0], x[1]);
        else {
          const serviceId = serviceIdOf(rows[k]!);
          if (serviceId !== null) out.set(serviceId, x);
        }
      });
      return out;
    },
    async issues() {
      return (await knex(TABLES.syncIssues).orderBy('service_id')).map(parseSyncIssue);
    },
    async replaceIssues(issues, now) {
      const at = sqlInstant(now);
      await retryTransaction(knex, async (trx) => {
        await trx(TABLES.syncIssues).delete();
        await insertChunked(
          trx,
          TABLES.syncIssues,
          issues.map((x) => ({
            service_id: x.serviceId,
            client_id: x.clientId,
            product_id: x.productId,
            domain: x.domain.slice(0, 255),
            reason: x.reason.slice(0, 500),
            seen_at: at,
          })),
        );
      });
    },
    async writeDirectory(entries, now) {
      const at = sqlInstant(now);
      for (const chunk of chunks(entries, 200)) {
        await knex(TABLES.directory)
          .insert(chunk.map((e) => directoryRow(e, at)))
          .onConflict('service_id')
          .merge([
            'client_id',
            'client_name',
            'hostname',
            'ips',
            'product_name',
            'search_text',
            'updated_at',
          ]);
      }
    },
  };
}

/** The service a row of the SolusVM 2 module's table is for, when its service_id reads. */
function serviceIdOf(r: Record<string, unknown>): number | null {
  try {
    return intIn(r.service_id, `${SOLUSIO_TABLE}.service_id`);
  } catch {
    return null;
  }
}

function directoryRow(e: DirectoryEntry, at: string): Record<string, unknown> {
  return {
    service_id: e.serviceId,
    client_id: e.clientId,
    client_name: e.clientName,
    hostname: e.hostname,
    ips: e.ips,
    product_name: e.productName,
    search_text: e.searchText,
    updated_at: at,
  };
}
