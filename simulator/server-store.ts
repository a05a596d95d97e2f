import type { ResetPolicy } from './resets.js';
import type { TrafficProfile } from './traffic.js';
import { compileProfile } from './traffic.js';
import { toEpochMs } from './zone-calendar.js';

export type ServerType = 'kvm' | 'openvz' | 'xen' | 'xenhvm';
export const SERVER_TYPES: readonly ServerType[] = ['kvm', 'openvz', 'xen', 'xenhvm'];

/** SolusVM 1 states; `disabled` is suspended. */
export type ServerState = 'online' | 'offline' | 'disabled';

export interface NodeRef {
  id: number;
  name: string;
}

export interface PlanRef {
  id: number;
  name: string;
}

/** A SolusVM 2 plan limit, as the API writes it. */
export interface PlanLimit {
  is_enabled: boolean;
  limit: number;
  unit: string;
}

export interface ServerSpec {
  id: number;
  uuid?: string;
  hostname: string;
  node: NodeRef;
  clientId: number;
  type: ServerType;
  /** traffic limit in bytes; 0 = unlimited */
  limitBytes: bigint;
  /** ISO instant (no offset: read in the master's zone) or epoch ms; the anniversary reset day comes from it */
  createdAt: string | number;
  profile: TrafficProfile;
  state?: ServerState;
  /** main IPv4; default derived from the id (10.x.y.z) */
  ip?: string;
  template?: string;
  plan?: PlanRef;
  /** share of the counter SolusVM 2 reports as incoming, in whole percent (default 30) */
  incomingPercent?: number;
  hddBytes?: bigint;
  memoryBytes?: bigint;
  /** SolusVM 2: this server's plan resets on its own policy (reset_limit_policy), not the master's */
  resetPolicy?: ResetPolicy;
}

export interface BulkTemplate extends Omit<
  ServerSpec,
  'id' | 'uuid' | 'hostname' | 'ip' | 'profile' | 'createdAt' | 'node'
> {
  idStart: number;
  /** `{id}` is replaced by the server id; default vps{id}.example.net */
  hostname?: string;
  node: NodeRef;
  createdAt: string | number;
  profile?: TrafficProfile;
  /** per-id profile; should return shared objects (profiles are compiled once per object) */
  profileFor?: (id: number) => TrafficProfile;
  createdAtFor?: (id: number) => string | number;
  nodeFor?: (id: number) => NodeRef;
}

/** Everything about one server, fixed part and the part API calls and test hooks change. */
export interface ServerRecord {
  id: number;
  uuid: string;
  hostname: string;
  node: NodeRef;
  clientId: number;
  type: ServerType;
  createdAtMs: number;
  profile: TrafficProfile;
  ip: string;
  template: string;
  incomingPercent: number;
  hddBytes: bigint;
  memoryBytes: bigint;
  // mutable
  power: 'online' | 'offline';
  suspended: boolean;
  limitBytes: bigint;
  overlimitBytes: bigint;
  /** vserver-change-nspeed customnspeed; 0 = not limited */
  nspeed: number;
  plan: PlanRef;
  /** SolusVM 2 limits applied by resize (custom plan), keyed like plan.limits */
  limits: Record<string, PlanLimit>;
  /** manual counter resets, ascending epoch ms */
  manualResets: number[];
  /** the plan's own reset policy (SolusVM 2), else the master's */
  resetPolicy: ResetPolicy | null;
  /** an admin lowering the counter on the master (not to zero), ascending */
  corrections: Array<{ atMs: number; bytes: bigint }>;
}

interface Range {
  start: number;
  count: number;
  tpl: BulkTemplate;
  createdAtMs: number;
  /** the hostname template cut at each {id} (a server's name is its pieces joined by its id) */
  hostParts: string[];
}

interface Segment {
  start: number;
  count: number;
}

export interface NodeInfo extends NodeRef {
  type: ServerType;
}

function defaultIp(id: number): string {
  return `10.${(id >>> 16) & 255}.${(id >>> 8) & 255}.${id & 255}`;
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)
    throw new Error(`server id must be a positive integer, got ${String(id)}`);
  return id;
}

/**
 * Servers of one master. Bulk ranges stay as one template each and are materialised per read;
 * only servers that something changed are kept as objects, so 100 000 servers cost little memory.
 */
export class ServerStore {
  private readonly uuidPrefix: string;
  private readonly zone: string;
  private readonly records = new Map<number, ServerRecord>();
  /** ids added one by one (as opposed to materialised from a range) */
  private readonly singles = new Set<number>();
  private readonly ranges: Range[] = [];
  private readonly uuids = new Map<string, number>();
  private readonly nodeMap = new Map<number, NodeInfo>();
  private segments: Segment[] | null = null;
  private segmentEnds: number[] = [];

  constructor(serial: number, zone: string) {
    this.uuidPrefix = (0x5e1f0000 + (serial & 0xffff)).toString(16);
    this.zone = zone;
  }

  get size(): number {
    let n = this.singles.size;
    for (const r of this.ranges) n += r.count;
    return n;
  }

  derivedUuid(id: number): string {
    return `${this.uuidPrefix}-0000-4000-8000-${id.toString(16).padStart(12, '0')}`;
  }

  add(spec: ServerSpec): ServerRecord {
    const id = checkId(spec.id);
    if (this.has(id)) throw new Error(`server ${id} already exists`);
    if (!SERVER_TYPES.includes(spec.type)) throw new Error(`unknown server type ${String(spec.type)}`);
    compileProfile(spec.profile);
    const uuid = spec.uuid ?? this.derivedUuid(id);
    if (this.uuids.has(uuid)) throw new Error(`uuid ${uuid} already used`);
    const rec: ServerRecord = {
      id,
      uuid,
      hostname: spec.hostname,
      node: { ...spec.node },
      clientId: spec.clientId,
      type: spec.type,
      createdAtMs: toEpochMs(spec.createdAt, this.zone),
      profile: spec.profile,
      ip: spec.ip ?? defaultIp(id),
      template: spec.template ?? 'debian-12-x86_64',
      incomingPercent: spec.incomingPercent ?? 30,
      hddBytes: spec.hddBytes ?? 53_687_091_200n,
      memoryBytes: spec.memoryBytes ?? 2_147_483_648n,
      power: spec.state === 'offline' ? 'offline' : 'online',
      suspended: spec.state === 'disabled',
      limitBytes: spec.limitBytes,
      overlimitBytes: 0n,
      nspeed: 0,
      plan: spec.plan ? { ...spec.plan } : { id: 1, name: 'VPS' },
      limits: {},
      manualResets: [],
      resetPolicy: spec.resetPolicy ?? null,
      corrections: [],
    };
    if (rec.incomingPercent < 0 || rec.incomingPercent > 100)
      throw new Error('incomingPercent must be 0..100');
    this.records.set(id, rec);
    this.singles.add(id);
    if (spec.uuid) this.uuids.set(uuid, id);
    this.registerNode(rec.node, rec.type);
    this.segments = null;
    return rec;
  }

  addRange(count: number, tpl: BulkTemplate): { idStart: number; idEnd: number } {
    const start = checkId(tpl.idStart);
    if (!Number.isSafeInteger(count) || count <= 0) throw new Error('count must be a positive integer');
    const end = start + count; // exclusive
    for (const r of this.ranges) {
      if (start < r.start + r.count && r.start < end)
        throw new Error(`ids ${start}..${end - 1} overlap an existing range`);
    }
    for (const id of this.singles) {
      if (id >= start && id < end) throw new Error(`server ${id} already exists`);
    }
    if (!tpl.profile && !tpl.profileFor) throw new Error('a bulk template needs profile or profileFor');
    if (tpl.profile) compileProfile(tpl.profile);
    if (!SERVER_TYPES.includes(tpl.type)) throw new Error(`unknown server type ${String(tpl.type)}`);
    const range: Range = {
      start,
      count,
      tpl,
      createdAtMs: toEpochMs(tpl.createdAt, this.zone),
      hostParts: (tpl.hostname ?? 'vps{id}.example.net').split('{id}'),
    };
    this.registerNode(tpl.node, tpl.type);
    if (tpl.nodeFor) {
      for (let id = start; id < end; id++) this.registerNode(tpl.nodeFor(id), tpl.type);
    }
    this.ranges.push(range);
    this.ranges.sort((a, b) => a.start - b.start);
    this.segments = null;
    return { idStart: start, idEnd: end - 1 };
  }

  /** A node known to the master even without servers (node-virtualservers then answers []). */
  addNode(node: NodeInfo): void {
    if (!SERVER_TYPES.includes(node.type)) throw new Error(`unknown node type ${String(node.type)}`);
    this.nodeMap.set(node.id, { id: node.id, name: node.name, type: node.type });
  }

  private registerNode(node: NodeRef, type: ServerType): void {
    if (!this.nodeMap.has(node.id)) this.nodeMap.set(node.id, { id: node.id, name: node.name, type });
  }

  private findRange(id: number): Range | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid]!;
      if (id < r.start) hi = mid - 1;
      else if (id >= r.start + r.count) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  has(id: number): boolean {
    return this.records.has(id) || this.findRange(id) !== undefined;
  }

  private fromRange(r: Range, id: number): ServerRecord {
    const t = r.tpl;
    return {
      id,
      uuid: this.derivedUuid(id),
      hostname: r.hostParts.join(String(id)),
      node: t.nodeFor ? t.nodeFor(id) : t.node,
      clientId: t.clientId,
      type: t.type,
      createdAtMs: t.createdAtFor ? toEpochMs(t.createdAtFor(id), this.zone) : r.createdAtMs,
      profile: t.profileFor ? t.profileFor(id) : t.profile!,
      ip: defaultIp(id),
      template: t.template ?? 'debian-12-x86_64',
      incomingPercent: t.incomingPercent ?? 30,
      hddBytes: t.hddBytes ?? 53_687_091_200n,
      memoryBytes: t.memoryBytes ?? 2_147_483_648n,
      power: t.state === 'offline' ? 'offline' : 'online',
      suspended: t.state === 'disabled',
      limitBytes: t.limitBytes,
      overlimitBytes: 0n,
      nspeed: 0,
      plan: t.plan ?? { id: 1, name: 'VPS' },
      limits: {},
      manualResets: [],
      resetPolicy: t.resetPolicy ?? null,
      corrections: [],
    };
  }

  /** A read-only view (a fresh object for range servers: do not mutate, use `mutable`). */
  get(id: number): ServerRecord | undefined {
    const rec = this.records.get(id);
    if (rec) return rec;
    const r = this.findRange(id);
    return r ? this.fromRange(r, id) : undefined;
  }

  /** called each time a record is handed out to change (the change follows in the same tick) */
  onMutate: (() => void) | null = null;

  /** The servers something changed or added one by one (range servers are their template otherwise). */
  kept(): ServerRecord[] {
    return [...this.records.values()];
  }

  /** The record to change: a range server is materialised and kept from now on. */
  mutable(id: number): ServerRecord | undefined {
    this.onMutate?.();
    const rec = this.records.get(id);
    if (rec) return rec;
    const r = this.findRange(id);
    if (!r) return undefined;
    const made = this.fromRange(r, id);
    made.node = { ...made.node };
    made.plan = { ...made.plan };
    this.records.set(id, made);
    return made;
  }

  idByUuid(uuid: string): number | undefined {
    const custom = this.uuids.get(uuid);
    if (custom !== undefined) return custom;
    const m = /^([0-9a-f]{8})-0000-4000-8000-([0-9a-f]{12})$/.exec(uuid);
    if (!m || m[1] !== this.uuidPrefix) return undefined;
    const id = parseInt(m[2]!, 16);
    const rec = this.get(id);
    return rec && rec.uuid === uuid ? id : undefined;
  }

  nodes(): NodeInfo[] {
    return [...this.nodeMap.values()].sort((a, b) => a.id - b.id);
  }

  node(id: number): NodeInfo | undefined {
    return this.nodeMap.get(id);
  }

  private buildSegments(): Segment[] {
    if (this.segments) return this.segments;
    const segs: Segment[] = this.ranges.map((r) => ({ start: r.start, count: r.count }));
    for (const id of this.singles) segs.push({ start: id, count: 1 });
    segs.sort((a, b) => a.start - b.start);
    const ends: number[] = [];
    let acc = 0;
    for (const s of segs) {
      acc += s.count;
      ends.push(acc);
    }
    this.segments = segs;
    this.segmentEnds = ends;
    return segs;
  }

  /** Ids in ascending order, from position `offset` (0-based), at most `limit`. */
  idsAt(offset: number, limit: number): number[] {
    const segs = this.buildSegments();
    const ends = this.segmentEnds;
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < segs.length && out.length < limit; i++) {
      const s = segs[i]!;
      const before = ends[i]! - s.count;
      for (let k = Math.max(0, offset - before); k < s.count && out.length < limit; k++)
        out.push(s.start + k);
    }
    return out;
  }

  *ids(): Generator<number> {
    for (const s of this.buildSegments()) {
      for (let k = 0; k < s.count; k++) yield s.start + k;
    }
  }
}
