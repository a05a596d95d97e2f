import pLimit from 'p-limit';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { clientLabel, serviceLabel } from '../domain/search-text.js';

export { clientLabel, serviceLabel };

/**
 * The names a provider thinks in, for the admin tab: a client's name (and company), a service's
 * hostname and product. The module keeps ids; the names are the panel's, asked through its API
 * (GetClientsDetails, GetClientsProducts) for the ids on the page, a few at a time, and kept for a
 * minute. An id the panel cannot name (no panel API, the call failed, gone) stays a bare id.
 */
export interface NameDirectory {
  resolve(ids: { clients: Iterable<number>; services: Iterable<number> }): Promise<{ clients: Map<number, string>; services: Map<number, string> }>;
}

export function createNameDirectory(deps: { panel: PanelApi | undefined; log: Logger; now?: () => number; ttlMs?: number }): NameDirectory {
  const now = deps.now ?? Date.now;
  const ttlMs = deps.ttlMs ?? 60_000;
  const limit = pLimit(4);
  const clients = new Map<number, { at: number; label: string | null }>();
  const services = new Map<number, { at: number; label: string | null }>();

  async function fill(cache: Map<number, { at: number; label: string | null }>, ids: Iterable<number>, ask: (id: number) => Promise<string | null>): Promise<Map<number, string>> {
    const t = now();
    const wanted = [...new Set(ids)].filter((id) => Number.isSafeInteger(id) && id > 0);
    await Promise.all(
      wanted
        .filter((id) => {
          const hit = cache.get(id);
          return !hit || t - hit.at >= ttlMs;
        })
        .map((id) =>
          limit(async () => {
            try {
              cache.set(id, { at: now(), label: await ask(id) });
            } catch (err) {
              // not cached: the next page asks again
              deps.log.warn('admin_tab.name_lookup_failed', { id, message: (err as Error).message });
            }
          }),
        ),
    );
    if (cache.size > 5000) cache.clear();
    const out = new Map<number, string>();
    for (const id of wanted) {
      const label = cache.get(id)?.label;
      if (label) out.set(id, label);
    }
    return out;
  }

  return {
    async resolve(ids) {
      const panel = deps.panel;
      if (!panel) return { clients: new Map(), services: new Map() };
      const [c, s] = await Promise.all([
        fill(clients, ids.clients, async (id) => clientLabel(await panel.getClientsDetails(id)) || null),
        fill(services, ids.services, async (id) => {
          const p = (await panel.getClientsProducts({ serviceId: id })).products[0];
          return p ? serviceLabel(p) || null : null;
        }),
      ]);
      return { clients: c, services: s };
    },
  };
}

/**
 * Gives every object of a page's data that carries a `clientId` or a `serviceId` its
 * `clientName`/`serviceName` (null when the panel cannot name it), after one lookup for all the
 * ids on the page.
 */
export async function nameThePage(data: unknown, names: NameDirectory): Promise<void> {
  const holders: Array<Record<string, unknown>> = [];
  const clientIds = new Set<number>();
  const serviceIds = new Set<number>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return;
    const o = v as Record<string, unknown>;
    if (typeof o.clientId === 'number' || typeof o.serviceId === 'number') {
      holders.push(o);
      if (typeof o.clientId === 'number') clientIds.add(o.clientId);
      if (typeof o.serviceId === 'number') serviceIds.add(o.serviceId);
    }
    for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(data, 0);
  if (holders.length === 0) return;
  const found = await names.resolve({ clients: clientIds, services: serviceIds });
  for (const o of holders) {
    if (typeof o.clientId === 'number') o.clientName = found.clients.get(o.clientId) ?? null;
    if (typeof o.serviceId === 'number') o.serviceName = found.services.get(o.serviceId) ?? null;
  }
}
