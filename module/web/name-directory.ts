import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { loggedError, toNum } from '../adapters/rows.js';
import { clientLabel, serviceLabel } from '../domain/search-text.js';

export { clientLabel, serviceLabel };

/**
 * The names a provider thinks in, for the admin tab and the admin API: a client's name (and
 * company), a service's hostname and product, a product's name. The module keeps ids; the names
 * are the panel's, asked through its API (GetClientsDetails, GetClientsProducts, GetProducts) for
 * the ids on the page, a few at a time, and kept for a minute (`ttlMs`, on the real clock: it is a
 * cache, not a billing instant). An id the panel cannot name (no panel API, the call failed, gone)
 * stays a bare id.
 */
export interface ServiceNames {
  hostname: string;
  productName: string;
}

export interface FoundNames {
  clients: Map<number, string>;
  services: Map<number, ServiceNames>;
  products: Map<number, string>;
}

export interface NameDirectory {
  /** labels: "Ann Smith (Smith BV)", "vps1.example.net · VPS 5 TB" */
  resolve(ids: {
    clients: Iterable<number>;
    services: Iterable<number>;
  }): Promise<{ clients: Map<number, string>; services: Map<number, string> }>;
  /** the pieces, for the JSON API */
  details(ids: {
    clients: Iterable<number>;
    services: Iterable<number>;
    products: Iterable<number>;
  }): Promise<FoundNames>;
}

type Cache<T> = Map<number, { at: number; value: T | null }>;

/** how the caches ask and keep: the clock (real time), how long an answer is kept, a few asks at a time */
interface Lookup {
  now: () => number;
  ttlMs: number;
  limit: LimitFunction;
  log: Logger;
}

/**
 * The values of the ids (positive safe integers) the panel can name: from the cache while fresh,
 * else asked. A failed ask is logged and not cached (the next page asks again).
 */
async function fill<T>(
  lookup: Lookup,
  cache: Cache<T>,
  ids: Iterable<number>,
  ask: (id: number) => Promise<T | null>,
): Promise<Map<number, T>> {
  const { now, ttlMs, limit } = lookup;
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
            cache.set(id, { at: now(), value: await ask(id) });
          } catch (err) {
            // not cached: the next page asks again
            lookup.log.warn('admin_tab.name_lookup_failed', { id, ...loggedError(err) });
          }
        }),
      ),
  );
  if (cache.size > 5000) cache.clear();
  const out = new Map<number, T>();
  for (const id of wanted) {
    const value = cache.get(id)?.value;
    if (value) out.set(id, value);
  }
  return out;
}

/** Every product's name, in one GetProducts call, kept for the cache's time; none when the call fails. */
function productNameCache(lookup: Lookup): (panel: PanelApi) => Promise<Map<number, string>> {
  let products: { at: number; names: Map<number, string> } | null = null;
  return async (panel) => {
    if (products && lookup.now() - products.at < lookup.ttlMs) return products.names;
    try {
      const res = await panel.call('GetProducts', {});
      const list = (res.products as { product?: Array<Record<string, unknown>> } | undefined)?.product ?? [];
      products = { at: lookup.now(), names: new Map(list.map((p) => [toNum(p.pid), String(p.name ?? '')])) };
      return products.names;
    } catch (err) {
      lookup.log.warn('admin_tab.name_lookup_failed', { products: true, ...loggedError(err) });
      return new Map();
    }
  };
}

export function createNameDirectory(deps: {
  panel: PanelApi | undefined;
  log: Logger;
  now?: () => number;
  ttlMs?: number;
}): NameDirectory {
  const lookup: Lookup = {
    now: deps.now ?? Date.now,
    ttlMs: deps.ttlMs ?? 60_000,
    limit: pLimit(4),
    log: deps.log,
  };
  const clients: Cache<string> = new Map();
  const services: Cache<ServiceNames> = new Map();
  const productNames = productNameCache(lookup);

  async function details(ids: {
    clients: Iterable<number>;
    services: Iterable<number>;
    products: Iterable<number>;
  }): Promise<FoundNames> {
    const panel = deps.panel;
    if (!panel) return { clients: new Map(), services: new Map(), products: new Map() };
    const wantProducts = [...ids.products];
    const [c, s, p] = await Promise.all([
      fill(
        lookup,
        clients,
        ids.clients,
        async (id) => clientLabel(await panel.getClientsDetails(id)) || null,
      ),
      fill(lookup, services, ids.services, async (id) => {
        const found = (await panel.getClientsProducts({ serviceId: id })).products[0];
        return found ? { hostname: found.domain.trim(), productName: found.name } : null;
      }),
      wantProducts.length ? productNames(panel) : Promise.resolve(new Map<number, string>()),
    ]);
    return {
      clients: c,
      services: s,
      products: new Map(wantProducts.filter((id) => p.get(id)).map((id) => [id, p.get(id)!])),
    };
  }

  return {
    details,
    async resolve(ids) {
      const found = await details({ ...ids, products: [] });
      const labels = new Map<number, string>();
      for (const [id, s] of found.services) {
        const label = serviceLabel({ domain: s.hostname, name: s.productName });
        if (label) labels.set(id, label);
      }
      return { clients: found.clients, services: labels };
    },
  };
}

/** Every plain object of `data` (lists and nested objects, a few levels down) that holds one of the ids. */
function holdersOf(data: unknown, keys: readonly string[]): Array<Record<string, unknown>> {
  const holders: Array<Record<string, unknown>> = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return;
    const o = v as Record<string, unknown>;
    if (keys.some((k) => typeof o[k] === 'number')) holders.push(o);
    for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(data, 0);
  return holders;
}

const idsOf = (holders: Array<Record<string, unknown>>, key: string) =>
  holders.map((o) => o[key]).filter((x): x is number => typeof x === 'number');

/**
 * Gives every object of a page's data that carries a `clientId` or a `serviceId` its
 * `clientName`/`serviceName` (null when the panel cannot name it), after one lookup for all the
 * ids on the page.
 */
export async function nameThePage(data: unknown, names: NameDirectory): Promise<void> {
  const holders = holdersOf(data, ['clientId', 'serviceId']);
  if (holders.length === 0) return;
  const found = await names.resolve({
    clients: idsOf(holders, 'clientId'),
    services: idsOf(holders, 'serviceId'),
  });
  for (const o of holders) {
    if (typeof o.clientId === 'number') o.clientName = found.clients.get(o.clientId) ?? null;
    if (typeof o.serviceId === 'number') o.serviceName = found.services.get(o.serviceId) ?? null;
  }
}

/**
 * The JSON API's answers to an admin: beside every `clientId` its `clientName`, beside every
 * `serviceId` its `serviceHostname` and `productName`, beside every `productId` its `productName`
 * (the product's own name wins over the service's where an object has both); null when the panel
 * cannot name it. A key the answer already has is left alone.
 */
export async function nameTheAnswer(data: unknown, names: NameDirectory): Promise<void> {
  const holders = holdersOf(data, ['clientId', 'serviceId', 'productId']);
  if (holders.length === 0) return;
  const found = await names.details({
    clients: idsOf(holders, 'clientId'),
    services: idsOf(holders, 'serviceId'),
    products: idsOf(holders, 'productId'),
  });
  const put = (o: Record<string, unknown>, key: string, value: string | null) => {
    if (!(key in o)) o[key] = value;
  };
  for (const o of holders) {
    if (typeof o.clientId === 'number') put(o, 'clientName', found.clients.get(o.clientId) ?? null);
    const service = typeof o.serviceId === 'number' ? found.services.get(o.serviceId) : undefined;
    if (typeof o.serviceId === 'number') put(o, 'serviceHostname', service ? service.hostname || null : null);
    const product = typeof o.productId === 'number' ? found.products.get(o.productId) : undefined;
    if (typeof o.serviceId === 'number' || typeof o.productId === 'number')
      put(o, 'productName', product || service?.productName || null);
  }
}
