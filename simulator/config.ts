import { isInteger, parse } from 'lossless-json';
import type { Faults } from './faults.js';
import type { MasterOptions } from './master.js';
import type { BulkTemplate, NodeRef, ServerSpec } from './server-store.js';
import type { TrafficProfile } from './traffic.js';

/**
 * JSON ⇄ simulator objects, for the runner's config file and the control endpoint. Byte counts
 * may be JSON numbers of any size or decimal strings; they become bigint without passing through
 * a float.
 */

export class ConfigError extends Error {}

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint). */
export function parseJson(text: string): unknown {
  return parse(text, null, (s) => {
    if (!isInteger(s)) return Number(s);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  });
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(`${what} must be an object`);
  return v as Obj;
}

export function toBigint(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  throw new ConfigError(`${what} must be an integer number of bytes (a JSON integer or a decimal string)`);
}

function toInt(v: unknown, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ConfigError(`${what} must be an integer`);
  return n;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${what} must be a non-empty string`);
  return v;
}

function instant(v: unknown, what: string): string | number {
  if (typeof v === 'string') return v;
  return toInt(v, what);
}

export function profileFromJson(v: unknown, what = 'profile'): TrafficProfile {
  const p = obj(v, what);
  switch (p.kind) {
    case 'constant':
      return { kind: 'constant', bytesPerDay: toBigint(p.bytesPerDay, `${what}.bytesPerDay`) };
    case 'pattern': {
      if (!Array.isArray(p.bytesPerDay)) throw new ConfigError(`${what}.bytesPerDay must be an array`);
      const out: TrafficProfile = {
        kind: 'pattern',
        bytesPerDay: p.bytesPerDay.map((b, i) => toBigint(b, `${what}.bytesPerDay[${i}]`)),
      };
      if (p.startDate !== undefined) out.startDate = str(p.startDate, `${what}.startDate`);
      return out;
    }
    case 'days': {
      const byDate: Record<string, bigint> = {};
      for (const [d, b] of Object.entries(obj(p.byDate ?? {}, `${what}.byDate`)))
        byDate[d] = toBigint(b, `${what}.byDate.${d}`);
      return {
        kind: 'days',
        byDate,
        defaultBytesPerDay: toBigint(p.defaultBytesPerDay ?? 0, `${what}.defaultBytesPerDay`),
      };
    }
    default:
      throw new ConfigError(`${what}.kind must be constant, pattern or days`);
  }
}

function nodeFromJson(v: unknown, what: string): NodeRef {
  const n = obj(v, what);
  return { id: toInt(n.id, `${what}.id`), name: str(n.name, `${what}.name`) };
}

function commonFields(s: Obj, what: string): Partial<ServerSpec> {
  const out: Partial<ServerSpec> = {};
  if (s.state !== undefined) out.state = s.state as ServerSpec['state'];
  if (s.template !== undefined) out.template = str(s.template, `${what}.template`);
  if (s.plan !== undefined) {
    const p = obj(s.plan, `${what}.plan`);
    out.plan = { id: toInt(p.id, `${what}.plan.id`), name: str(p.name, `${what}.plan.name`) };
  }
  if (s.incomingPercent !== undefined)
    out.incomingPercent = toInt(s.incomingPercent, `${what}.incomingPercent`);
  if (s.hddBytes !== undefined) out.hddBytes = toBigint(s.hddBytes, `${what}.hddBytes`);
  if (s.memoryBytes !== undefined) out.memoryBytes = toBigint(s.memoryBytes, `${what}.memoryBytes`);
  return out;
}

export function serverFromJson(v: unknown, what = 'server'): ServerSpec {
  const s = obj(v, what);
  const spec: ServerSpec = {
    id: toInt(s.id, `${what}.id`),
    hostname:
      s.hostname === undefined ? `vps${String(s.id)}.example.net` : str(s.hostname, `${what}.hostname`),
    node: nodeFromJson(s.node ?? { id: 1, name: 'node-1' }, `${what}.node`),
    clientId: toInt(s.clientId ?? 1, `${what}.clientId`),
    type: (s.type ?? 'kvm') as ServerSpec['type'],
    limitBytes: toBigint(s.limitBytes ?? 0, `${what}.limitBytes`),
    createdAt: instant(s.createdAt, `${what}.createdAt`),
    profile: profileFromJson(s.profile, `${what}.profile`),
    ...commonFields(s, what),
  };
  if (s.uuid !== undefined) spec.uuid = str(s.uuid, `${what}.uuid`);
  if (s.ip !== undefined) spec.ip = str(s.ip, `${what}.ip`);
  return spec;
}

/**
 * A bulk block: {count, idStart, …template}. Besides one `profile`, JSON can give `profiles`,
 * `nodes` and `createdAts`, cycled by position in the block, for variety without a function.
 */
export function bulkFromJson(v: unknown, what = 'bulk'): { count: number; template: BulkTemplate } {
  const b = obj(v, what);
  const count = toInt(b.count, `${what}.count`);
  const idStart = toInt(b.idStart ?? 1, `${what}.idStart`);
  const profiles = Array.isArray(b.profiles)
    ? b.profiles.map((p, i) => profileFromJson(p, `${what}.profiles[${i}]`))
    : null;
  const nodes = Array.isArray(b.nodes) ? b.nodes.map((n, i) => nodeFromJson(n, `${what}.nodes[${i}]`)) : null;
  const createdAts = Array.isArray(b.createdAts)
    ? b.createdAts.map((c, i) => instant(c, `${what}.createdAts[${i}]`))
    : null;
  if (!profiles && b.profile === undefined) throw new ConfigError(`${what} needs profile or profiles`);
  const template: BulkTemplate = {
    idStart,
    node: nodes ? nodes[0]! : nodeFromJson(b.node ?? { id: 1, name: 'node-1' }, `${what}.node`),
    clientId: toInt(b.clientId ?? 1, `${what}.clientId`),
    type: (b.type ?? 'kvm') as BulkTemplate['type'],
    limitBytes: toBigint(b.limitBytes ?? 0, `${what}.limitBytes`),
    createdAt: createdAts ? createdAts[0]! : instant(b.createdAt, `${what}.createdAt`),
    ...commonFields(b, what),
  };
  if (b.hostname !== undefined) template.hostname = str(b.hostname, `${what}.hostname`);
  if (profiles) template.profileFor = (id) => profiles[(id - idStart) % profiles.length]!;
  else template.profile = profileFromJson(b.profile, `${what}.profile`);
  if (nodes && nodes.length > 1) template.nodeFor = (id) => nodes[(id - idStart) % nodes.length]!;
  if (createdAts && createdAts.length > 1)
    template.createdAtFor = (id) => createdAts[(id - idStart) % createdAts.length]!;
  return { count, template };
}

export function faultsFromJson(v: unknown): Faults {
  const f = obj(v ?? {}, 'faults');
  const out: Faults = {};
  for (const [k, val] of Object.entries(f)) {
    (out as Record<string, unknown>)[k] = typeof val === 'bigint' ? Number(val) : val;
  }
  return out;
}

export interface MasterConfig {
  options: MasterOptions;
  servers: ServerSpec[];
  bulk: Array<{ count: number; template: BulkTemplate }>;
  faults: Faults | null;
}

export function masterFromJson(v: unknown, what = 'master'): MasterConfig {
  const m = obj(v, what);
  const version = toInt(m.version ?? 1, `${what}.version`);
  if (version !== 1 && version !== 2) throw new ConfigError(`${what}.version must be 1 or 2`);
  const c = obj(
    m.credentials ?? (version === 1 ? { apiId: 'sim-id', apiKey: 'sim-key' } : { token: 'sim-token' }),
    `${what}.credentials`,
  );
  const options: MasterOptions = {
    name: str(m.name, `${what}.name`),
    version,
    zone: typeof m.zone === 'string' ? m.zone : 'UTC',
    resetPolicy: (m.resetPolicy ?? 'first_of_month') as MasterOptions['resetPolicy'],
    credentials:
      version === 1
        ? {
            apiId: str(c.apiId, `${what}.credentials.apiId`),
            apiKey: str(c.apiKey, `${what}.credentials.apiKey`),
          }
        : { token: str(c.token, `${what}.credentials.token`) },
  };
  if (m.tls !== undefined) options.tls = Boolean(m.tls);
  if (m.port !== undefined) options.port = toInt(m.port, `${what}.port`);
  if (m.v1NotFound === 'bare' || m.v1NotFound === 'status') options.v1NotFound = m.v1NotFound;
  if (m.allowedIps !== undefined) {
    if (!Array.isArray(m.allowedIps)) throw new ConfigError(`${what}.allowedIps must be an array`);
    options.allowedIps = m.allowedIps.map((ip, i) => str(ip, `${what}.allowedIps[${i}]`));
  }
  if (m.basicAuth !== undefined) {
    const ba = obj(m.basicAuth, `${what}.basicAuth`);
    options.basicAuth = {
      user: str(ba.user, `${what}.basicAuth.user`),
      password: str(ba.password, `${what}.basicAuth.password`),
    };
  }
  const servers = Array.isArray(m.servers)
    ? m.servers.map((s, i) => serverFromJson(s, `${what}.servers[${i}]`))
    : [];
  const bulk = Array.isArray(m.bulk) ? m.bulk.map((b, i) => bulkFromJson(b, `${what}.bulk[${i}]`)) : [];
  return { options, servers, bulk, faults: m.faults === undefined ? null : faultsFromJson(m.faults) };
}

/** Instants in control requests: epoch ms or an ISO string. */
export function instantMs(v: unknown, what: string): number {
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return Number(v);
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ConfigError(`${what} must be epoch ms or an ISO instant`);
}
