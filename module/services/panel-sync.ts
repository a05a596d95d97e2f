import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import type { Actor } from '../adapters/audit-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi, PanelClient, PanelService } from '../adapters/panel-api.js';
import {
  SOLUSIO_TABLE,
  type DirectoryEntry,
  type LinkedService,
  type PanelSyncStore,
} from '../adapters/panel-sync-store.js';
import { errorKind, loggedError, type SetAside, type UnreadableRow } from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { ServerSummary } from '../adapters/solusvm-types.js';
import { billingDayOf } from '../domain/billing-calendar.js';
import { clientLabel, searchTextOf } from '../domain/search-text.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { MasterService, MasterView } from './masters.js';
import type { SettingsService } from './settings.js';
import type { LinkInput, ServiceLinkService } from './service-links.js';

/**
 * Links the panel's services to SolusVM servers the way the official WHMCS modules know them (on a
 * service of a server entry that a master is mapped to, panel_server_id):
 *   1. SolusVM 2 (`solusio/solusiovps`): its own table `solusiovps_servers` (service_id →
 *      server_id), which it writes at CreateAccount and keeps no custom field for;
 *   2. SolusVM 1 (`solusvmpro`), or a SolusVM 2 server id kept by hand: the product's custom field
 *      `vserverid`;
 *   3. opt-in (setting sync_match_by): the service's hostname (domain) or dedicated IP against the
 *      master's own server list, when exactly one server matches.
 * Services that end (Terminated, Cancelled, Fraud) stop being metered; their data is kept. Every
 * active service of a billed product that could not be linked is kept with why (sync issues), for
 * the CLI, the admin tab and the JSON API.
 */
const METERED = new Set(['Active', 'Suspended']);
export const VSERVER_FIELD = 'vserverid';
export { SOLUSIO_TABLE };

export interface SyncSkip {
  serviceId: number;
  clientId: number;
  productId: number;
  domain: string;
  reason: string;
}

export interface PanelSyncResult {
  linked: number;
  updated: number;
  stopped: number;
  skipped: SyncSkip[];
}

export interface PanelSyncService {
  sync(): Promise<PanelSyncResult>;
  /** the services of billed products the last sync could not link, with why */
  issues(): Promise<Array<SyncSkip & { seenAt: string }>>;
}

type SyncDeps = {
  store: PanelSyncStore;
  clock: Clock;
  panel: PanelApi;
  billing: BillingSettingsService;
  masters: MasterService;
  links: ServiceLinkService;
  settings: SettingsService;
  log: Logger;
};

export function createPanelSyncService(deps: SyncDeps): PanelSyncService {
  return {
    async issues() {
      return (await deps.store.issues()).map((i) => ({ ...i, seenAt: i.seenAt.toISO()! }));
    },

    async sync() {
      const run = await startRun(deps);
      for (const { productId } of await deps.billing.listProducts()) {
        for (let start = 0; ; start += 250) {
          const page = await deps.panel.getClientsProducts({
            pid: productId,
            limitStart: start,
            limitNum: 250,
          });
          for (const svc of page.products) await syncService(run, svc, productId);
          if (page.products.length < 250 || start + 250 >= page.totalResults) break;
        }
      }
      await deps.store.replaceIssues(run.result.skipped, deps.clock.now());
      await deps.store.writeDirectory([...run.directory.values()], deps.clock.now());
      if (run.result.skipped.length)
        deps.log.warn('panel_sync.skipped', {
          count: run.result.skipped.length,
          first: run.result.skipped[0],
        });
      return run.result;
    },
  };
}

const ACTOR: Actor = { type: 'system', id: 'panel-sync' };

/** One sync: what it read once at the start, what it has linked so far, and its result. */
interface SyncRun {
  deps: SyncDeps;
  result: PanelSyncResult;
  byServer: Map<number, MasterView>;
  existing: Map<number, LinkedService>;
  /** service id → its own services row, which cannot be read: the service is left as it stands */
  unreadable: Map<number, UnreadableRow>;
  /** "master|server" → the service linked to it */
  taken: Map<string, number>;
  /** service id → its SolusVM 2 server, or its row there that cannot be read */
  v2Servers: Map<number, string | UnreadableRow>;
  matchBy: string;
  /** the masters' server lists, read once per sync and only when a service needs them */
  serversOf(masterId: number): Promise<ServerSummary[]>;
  /** the panel's clients this sync asked about */
  clients: Map<number, PanelClient>;
  /** service id → its names, for the admin tab's search */
  directory: Map<number, DirectoryEntry>;
}

async function startRun(deps: SyncDeps): Promise<SyncRun> {
  const masters = (await deps.masters.list()).filter((m) => m.panelServerId !== null);
  // one row that cannot be read leaves out its service (a sync issue), not the sync of all
  const setAside: SetAside = (table, u) =>
    deps.log.warn('panel_sync.row_unreadable', { table, id: u.id, ...u.unreadable });
  const [rows, v2Servers, matchBy] = await Promise.all([
    deps.store.linkedServices(setAside),
    deps.store.solusIoServers(setAside),
    deps.settings.get('sync_match_by'),
  ]);
  const lists = new Map<number, Promise<ServerSummary[]>>();
  return {
    deps,
    result: { linked: 0, updated: 0, stopped: 0, skipped: [] },
    byServer: new Map(masters.map((m) => [m.panelServerId!, m])),
    existing: new Map(rows.map((r) => [r.serviceId, r])),
    unreadable: rows.unreadable ?? new Map(),
    taken: new Map(rows.map((r) => [`${r.masterId}|${r.serverRef}`, r.serviceId])),
    v2Servers,
    matchBy,
    serversOf(masterId) {
      let l = lists.get(masterId);
      if (!l) lists.set(masterId, (l = deps.masters.servers(masterId)));
      return l;
    },
    clients: new Map(),
    directory: new Map(),
  };
}

function skip(run: SyncRun, svc: PanelService, productId: number, reason: string): void {
  run.result.skipped.push({
    serviceId: svc.id,
    clientId: svc.clientId,
    productId,
    domain: svc.domain,
    reason,
  });
}

/** Which server the service is, and how we know; the reason when we do not. */
async function serverRefOf(
  run: SyncRun,
  svc: PanelService,
  master: MasterView,
): Promise<{ ref: string } | { reason: string }> {
  const v2 = master.version === 2 ? run.v2Servers.get(svc.id) : undefined;
  // its row there would have named the server: none is guessed from a field or a match instead
  if (v2 !== undefined && typeof v2 !== 'string') {
    const { column, reason } = v2.unreadable;
    return {
      reason: `its row ${v2.id} in ${SOLUSIO_TABLE} (the SolusVM 2 module's table) cannot be read: ${column ? `${column} is ${reason}` : reason}; mend or delete that row, or link it by hand: overusage service link --service ${svc.id} --server <id>`,
    };
  }
  if (v2) return { ref: v2 };
  const field = (svc.customFields[VSERVER_FIELD] ?? '').trim();
  if (field) return { ref: field };
  const where =
    master.version === 2
      ? `no row in ${SOLUSIO_TABLE} (the SolusVM 2 module's table) and no ${VSERVER_FIELD} custom field value`
      : `no ${VSERVER_FIELD} custom field value`;
  if (run.matchBy === 'none')
    return {
      reason: `${where}; to link by hostname or IP, set sync_match_by (Settings), or link it by hand: overusage service link --service ${svc.id} --server <id>`,
    };
  return matchOnMaster(run, svc, master, where);
}

/** By hostname or dedicated IP against the master's own list, when exactly one server matches. */
async function matchOnMaster(
  run: SyncRun,
  svc: PanelService,
  master: MasterView,
  where: string,
): Promise<{ ref: string } | { reason: string }> {
  const matchBy = run.matchBy;
  let servers: ServerSummary[];
  try {
    servers = await run.serversOf(master.id);
  } catch (err) {
    return {
      reason: `${where}, and master "${master.name}" could not list its servers to match by ${matchBy.replace(/_/g, ' ')}: ${errorKind(err)}`,
    };
  }
  const host = svc.domain.trim().toLowerCase();
  const ip = svc.dedicatedIp.trim();
  const found = servers.filter(
    (s) =>
      ((matchBy === 'hostname' || matchBy === 'hostname_or_ip') &&
        host !== '' &&
        (s.hostname ?? '').toLowerCase() === host) ||
      ((matchBy === 'ip' || matchBy === 'hostname_or_ip') && ip !== '' && s.ip === ip),
  );
  if (found.length === 1) return { ref: found[0]!.ref };
  if (found.length > 1)
    return {
      reason: `${where}; ${found.length} servers on master "${master.name}" match ${host || ip} (${found.map((f) => f.ref).join(', ')}): link it by hand`,
    };
  return {
    reason: `${where}; no server on master "${master.name}" has the hostname ${host || '(none)'}${matchBy !== 'hostname' ? ` or the IP ${ip || '(none)'}` : ''}`,
  };
}

/**
 * Why a link was not saved, kept and shown as the sync's issue: the link's own refusal
 * (service-links: a server already linked, a field refused) in its words; anything else as what
 * failed and its kind, never the database's words, which can quote the row (MySQL "Duplicate entry
 * '…' for key …").
 */
const linkRefusal = (err: unknown): string =>
  err instanceof ModuleError && storedColumnOf(err) === null
    ? err.message
    : `the link was not saved: ${errorKind(err)}`;

async function clientOf(run: SyncRun, clientId: number): Promise<PanelClient> {
  let client = run.clients.get(clientId);
  if (!client) {
    client = await run.deps.panel.getClientsDetails(clientId);
    run.clients.set(clientId, client);
  }
  return client;
}

async function currencyOf(run: SyncRun, clientId: number): Promise<string> {
  return (await clientOf(run, clientId)).currencyCode;
}

/** The names the admin tab searches by: the client's, the hostname, the IPs and the product. */
async function noteNames(run: SyncRun, svc: PanelService): Promise<void> {
  let clientName = '';
  try {
    clientName = clientLabel(await clientOf(run, svc.clientId));
  } catch (err) {
    // the service is still found by hostname and IP; the name comes with the next sync
    run.deps.log.warn('panel_sync.client_lookup_failed', {
      clientId: svc.clientId,
      ...loggedError(err),
    });
  }
  const ips = [svc.dedicatedIp, ...svc.assignedIps.split(/[\s,]+/)]
    .map((x) => x.trim())
    .filter((x, i, all) => x !== '' && all.indexOf(x) === i);
  const cut = (v: string, n: number) => v.slice(0, n);
  run.directory.set(svc.id, {
    serviceId: svc.id,
    clientId: svc.clientId,
    clientName: cut(clientName, 255),
    hostname: cut(svc.domain.trim(), 255),
    ips: cut(ips.join(' '), 1000),
    productName: cut(svc.name, 255),
    searchText: cut(searchTextOf([clientName, svc.domain, ...ips, svc.name]), 2000),
  });
}

/** One panel service: stopped, skipped with why, left as it is, or linked. */
async function syncService(run: SyncRun, svc: PanelService, productId: number): Promise<void> {
  const unread = run.unreadable.get(svc.id);
  if (unread) {
    // what it is linked to is not known: not linked again, stopped or moved from a guess
    const { column, reason } = unread.unreadable;
    return skip(
      run,
      svc,
      productId,
      `its row in the module's services table cannot be read: ${column ? `${column} is ${reason}` : reason}; mend that row (the service is left as it stands until then)`,
    );
  }
  const link = run.existing.get(svc.id);
  if (link || METERED.has(svc.status)) await noteNames(run, svc);
  if (!METERED.has(svc.status)) {
    if (link?.active) {
      await run.deps.links.setActive(svc.id, false, ACTOR);
      run.result.stopped++;
    }
    return;
  }
  const master = run.byServer.get(svc.serverId);
  if (!master) {
    return skip(
      run,
      svc,
      productId,
      svc.serverId === 0
        ? 'it is on no server in the panel (no server entry is set on the service)'
        : `its server entry ${svc.serverId} is not mapped to a SolusVM master (overusage master update <id> --panel-server ${svc.serverId})`,
    );
  }
  const found = await serverRefOf(run, svc, master);
  if ('reason' in found) return skip(run, svc, productId, found.reason);
  const ref = found.ref;
  const holder = run.taken.get(`${master.id}|${ref}`);
  if (holder !== undefined && holder !== svc.id)
    return skip(
      run,
      svc,
      productId,
      `server ${ref} on master "${master.name}" is already linked to service ${holder}`,
    );
  const currency = await currencyOf(run, svc.clientId);
  const billingDay = billingDayOf(svc.nextDueDate, svc.regDate);
  if (
    link &&
    link.masterId === master.id &&
    link.serverRef === ref &&
    link.currency === currency &&
    link.productId === productId &&
    link.active &&
    link.billingDay === billingDay
  )
    return;
  const input: LinkInput = {
    serviceId: svc.id,
    clientId: svc.clientId,
    productId,
    masterId: master.id,
    serverRef: ref,
    currency,
    ...(svc.regDate ? { regdate: svc.regDate } : {}),
    // an anniversary reset falls on the day of the month the VPS was made: its registration day
    ...(master.resetPolicy === 'anniversary' && svc.regDate
      ? { resetDay: Number(svc.regDate.slice(8, 10)) }
      : {}),
    // a counter that never resets is billed on the panel's own cycle: its due day
    ...(billingDay !== null ? { billingDay } : {}),
  };
  try {
    await run.deps.links.link(input, ACTOR);
    run.taken.set(`${master.id}|${ref}`, svc.id);
    if (link) run.result.updated++;
    else run.result.linked++;
  } catch (err) {
    skip(run, svc, productId, linkRefusal(err));
  }
}
