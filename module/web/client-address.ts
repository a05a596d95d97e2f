import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * Which address a request came from, behind proxies, one rule for every place that uses it (the
 * panel API's allow-list, login lockouts and rate limits, the activity log, the request log):
 * the right-most address in X-Forwarded-For that is not a trusted proxy. Everything to its left
 * was written by the client and proves nothing. Trust is a hop count (how many proxies stand in
 * front) or a list of proxy addresses and ranges (proxy-addr's: `10.0.0.1`, `10.0.0.0/8`,
 * `loopback`, `uniquelocal`); `false` trusts none and reads the socket only.
 */
export type TrustProxy = false | number | string[];

/** `OVERUSAGE_TRUST_PROXY`-style text: "" or "false" none, "2" two hops, "10.0.0.1, loopback" a list. */
export function parseTrustProxy(text: string | undefined, fallback: TrustProxy = false): TrustProxy {
  const t = (text ?? '').trim();
  if (t === '') return fallback;
  if (t === 'false' || t === '0') return false;
  if (/^\d{1,2}$/.test(t)) return Number(t);
  const list = t.split(/[\s,]+/).filter(Boolean);
  proxyaddr.compile(list); // throws on an address it cannot read
  return list;
}

/** express's `trust proxy` setting for the same rule (req.ip then agrees with clientAddress). */
export function trustFunction(
  trust: TrustProxy | boolean | undefined,
): (addr: string, hop: number) => boolean {
  if (trust === undefined || trust === false) return () => false;
  // the old boolean meant "one proxy of mine in front"
  if (trust === true) return (_a, hop) => hop < 1;
  if (typeof trust === 'number') return (_a, hop) => hop < trust;
  return proxyaddr.compile(trust);
}

export const normalizeIp = (ip: string): string => ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

export function clientAddress(req: IncomingMessage, trust: TrustProxy | boolean | undefined): string {
  if (!req.socket?.remoteAddress) return '';
  return normalizeIp(proxyaddr(req, trustFunction(trust)));
}
