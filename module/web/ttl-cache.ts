import { LRUCache } from 'lru-cache';

/** What the web layer needs of a cache. */
export interface TtlCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  clear(): void;
}

/**
 * An in-memory cache with a time to live and a size bound (least recently used goes first), on
 * lru-cache. Real time, not the billing clock: it only decides how long a page may be served as it
 * was; `now` is injectable for tests. A time to live of 0 turns caching off (lru-cache would read 0
 * as "never expires").
 */
export function ttlCache<V>(ttlMs: number, maxEntries: number, now: () => number = Date.now): TtlCache<V> {
  if (ttlMs <= 0) return { get: () => undefined, set: () => {}, clear: () => {} };
  // boxed: lru-cache takes no null or undefined values, and a cached "nothing to show" is a value here
  const cache = new LRUCache<string, { v: V }>({
    max: maxEntries,
    ttl: ttlMs,
    ttlResolution: 0,
    perf: { now },
  });
  return { get: (k) => cache.get(k)?.v, set: (k, v) => void cache.set(k, { v }), clear: () => cache.clear() };
}
