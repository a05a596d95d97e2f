import type { SimMaster } from './master.js';
import { toJsonText } from './json-text.js';
import { jsonReply, type Reply } from './reply.js';
import type { ResetPolicy } from './resets.js';
import type { PlanLimit, ServerRecord } from './server-store.js';

/**
 * SolusVM 2 REST API under /api/v1 (docs/solusvm.md, "SolusVM 2 REST API"): Bearer token, {"data":…} envelopes, Laravel
 * pagination and validation errors, asynchronous actions as tasks.
 */

export const TRAFFIC_UNITS: Record<string, bigint> = {
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
};
const BANDWIDTH_UNITS = ['Kbps', 'Mbps', 'Gbps'];
const TRAFFIC_KEYS = ['network_total_traffic', 'network_incoming_traffic', 'network_outgoing_traffic'];
const BANDWIDTH_KEYS = [
  'network_incoming_bandwidth',
  'network_outgoing_bandwidth',
  'network_reduce_bandwidth',
];

export type TaskStatus =
  'pending' | 'queued' | 'running' | 'done' | 'done_with_errors' | 'failed' | 'canceled';

export interface Task {
  id: number;
  serverId: number;
  computeResourceId: number;
  action: string;
  status: TaskStatus;
  progress: number;
  willFail: boolean;
  createdAtMs: number;
}

const NOT_FOUND = jsonReply(404, '{"message":"Not found."}');

export function policyName(p: ResetPolicy): string {
  return p === 'first_of_month' ? 'first_day_of_month' : p === 'anniversary' ? 'vm_created_day' : 'never';
}

/** Laravel-style timestamp: seconds precision, +00:00 */
export function isoSeconds(ms: number): string {
  // bulk servers share one creation instant: the last text is kept
  if (ms !== lastIso.ms) lastIso = { ms, text: `${new Date(ms).toISOString().slice(0, 19)}+00:00` };
  return lastIso.text;
}

let lastIso = { ms: NaN, text: '' };

/** The largest unit in which a byte limit is a whole number (KiB floored for odd sizes). */
function limitInUnit(bytes: bigint, preferred: string | undefined): { limit: bigint; unit: string } {
  if (preferred && TRAFFIC_UNITS[preferred] && bytes % TRAFFIC_UNITS[preferred] === 0n)
    return { limit: bytes / TRAFFIC_UNITS[preferred], unit: preferred };
  for (const unit of ['PiB', 'TiB', 'GiB', 'MiB']) {
    const size = TRAFFIC_UNITS[unit]!;
    if (bytes % size === 0n) return { limit: bytes / size, unit };
  }
  return { limit: bytes / 1024n, unit: 'KiB' };
}

function disabled(unit: string): PlanLimit {
  return { is_enabled: false, limit: 0, unit };
}

export function splitCounter(rec: ServerRecord, total: bigint): { incoming: bigint; outgoing: bigint } {
  const incoming = (total * BigInt(rec.incomingPercent)) / 100n;
  return { incoming, outgoing: total - incoming };
}

export function serverJson(m: SimMaster, rec: ServerRecord, now: number): Record<string, unknown> {
  const { incoming, outgoing } = splitCounter(rec, m.counterOf(rec, now));
  const inUnit =
    rec.limitBytes > 0n ? limitInUnit(rec.limitBytes, rec.limits.network_total_traffic?.unit) : null;
  // masters before 2022 label the same 1024-based units KB, MB, GB, TB
  const total = inUnit && m.oldUnitLabels ? { ...inUnit, unit: inUnit.unit.replace('iB', 'B') } : inUnit;
  const limits: Record<string, unknown> = {
    network_total_traffic: total
      ? { is_enabled: true, limit: total.limit, unit: total.unit }
      : disabled(rec.limits.network_total_traffic?.unit ?? 'GiB'),
    network_incoming_traffic: rec.limits.network_incoming_traffic ?? disabled('GiB'),
    network_outgoing_traffic: rec.limits.network_outgoing_traffic ?? disabled('GiB'),
    network_incoming_bandwidth: rec.limits.network_incoming_bandwidth ?? disabled('Kbps'),
    network_outgoing_bandwidth: rec.limits.network_outgoing_bandwidth ?? disabled('Kbps'),
    network_reduce_bandwidth: rec.limits.network_reduce_bandwidth ?? disabled('Kbps'),
  };
  return {
    id: rec.id,
    uuid: rec.uuid,
    name: rec.hostname,
    description: '',
    status: rec.power === 'online' ? 'started' : 'stopped',
    virtualization_type: rec.type === 'xenhvm' ? 'xen' : rec.type,
    is_suspended: rec.suspended,
    is_processing: false,
    usage: { cpu: 0, network: { incoming: { value: incoming }, outgoing: { value: outgoing } } },
    plan: {
      id: rec.plan.id,
      name: rec.plan.name,
      reset_limit_policy: policyName(m.policyOf(rec)),
      network_traffic_limit_type: 'total',
      limits,
    },
    ip_addresses: {
      ipv4: [{ id: rec.id, ip: rec.ip, gateway: rec.ip.replace(/\.\d+$/, '.1'), netmask: '255.255.255.0' }],
      ipv6: [],
    },
    compute_resource: { id: rec.node.id, name: rec.node.name },
    user: { id: rec.clientId },
    created_at: isoSeconds(rec.createdAtMs),
  };
}

function taskJson(t: Task): Record<string, unknown> {
  return {
    id: t.id,
    compute_resource_id: t.computeResourceId,
    queue: 'default',
    action: t.action,
    status: t.status,
    output: t.status === 'failed' ? 'Simulated task failure' : '',
    progress: t.progress,
    duration: 0,
    created_at: isoSeconds(t.createdAtMs),
  };
}

/** A task moves on by one step each time it is polled: pending → running → done (or failed). */
function advance(t: Task): void {
  if (t.status === 'pending') {
    t.status = 'running';
    t.progress = 50;
  } else if (t.status === 'running') {
    t.status = t.willFail ? 'failed' : 'done';
    t.progress = 100;
  }
}

interface RouteMatch {
  /** for stats: method and pattern */
  key: string;
  serverId?: number;
  run: () => Reply;
}

function validationError(errors: Record<string, string[]>): Reply {
  const first = Object.values(errors)[0]?.[0] ?? 'The given data was invalid.';
  const more = Object.values(errors).reduce((n, e) => n + e.length, 0) - 1;
  const message = more > 0 ? `${first} (and ${more} more error${more > 1 ? 's' : ''})` : first;
  return jsonReply(422, toJsonText({ message, errors }));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface ResizeRequest {
  planId: number;
  limits: Record<string, { limit?: number; unit?: string; is_enabled?: boolean }>;
}

function validateResize(
  body: unknown,
  rec: ServerRecord,
): { ok: true; value: ResizeRequest } | { ok: false; errors: Record<string, string[]> } {
  const errors: Record<string, string[]> = {};
  const add = (k: string, msg: string) => (errors[k] ??= []).push(msg);
  const b = isObject(body) ? body : {};
  const planId = b.plan_id;
  if (planId === undefined || planId === null || planId === '')
    add('plan_id', 'The plan id field is required.');
  else if (typeof planId !== 'number' || !Number.isInteger(planId) || planId <= 0)
    add('plan_id', 'The plan id must be an integer.');
  if (b.preserve_disk !== undefined && typeof b.preserve_disk !== 'boolean')
    add('preserve_disk', 'The preserve disk field must be true or false.');
  const limits: ResizeRequest['limits'] = {};
  if (b.custom_plan !== undefined) {
    if (!isObject(b.custom_plan)) add('custom_plan', 'The custom plan must be an array.');
    else if (b.custom_plan.limits !== undefined) {
      const ls = b.custom_plan.limits;
      if (!isObject(ls)) add('custom_plan.limits', 'The custom plan.limits must be an array.');
      else {
        for (const [key, raw] of Object.entries(ls)) {
          const path = `custom_plan.limits.${key}`;
          const isTraffic = TRAFFIC_KEYS.includes(key);
          if (!isTraffic && !BANDWIDTH_KEYS.includes(key)) continue; // Laravel ignores keys it does not validate
          if (!isObject(raw)) {
            add(path, `The ${path} must be an array.`);
            continue;
          }
          const entry: { limit?: number; unit?: string; is_enabled?: boolean } = {};
          if (raw.limit !== undefined) {
            if (typeof raw.limit !== 'number' || !Number.isInteger(raw.limit))
              add(`${path}.limit`, `The ${path}.limit must be an integer.`);
            else if (raw.limit < 0) add(`${path}.limit`, `The ${path}.limit must be at least 0.`);
            else entry.limit = raw.limit;
          }
          if (raw.unit !== undefined) {
            const ok = isTraffic
              ? typeof raw.unit === 'string' && raw.unit in TRAFFIC_UNITS
              : BANDWIDTH_UNITS.includes(raw.unit as string);
            if (!ok) add(`${path}.unit`, `The selected ${path}.unit is invalid.`);
            else entry.unit = raw.unit as string;
          }
          if (raw.is_enabled !== undefined) {
            if (typeof raw.is_enabled !== 'boolean')
              add(`${path}.is_enabled`, `The ${path}.is_enabled field must be true or false.`);
            else entry.is_enabled = raw.is_enabled;
          }
          // a custom total-traffic limit is in the base plan's unit, so that limit must be enabled (docs/solusvm.md, "SolusVM 2 REST API")
          if (
            key === 'network_total_traffic' &&
            entry.limit !== undefined &&
            entry.unit === undefined &&
            rec.limitBytes === 0n
          ) {
            add(`${path}.limit`, 'The base plan has no network_total_traffic limit enabled.');
          }
          limits[key] = entry;
        }
      }
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { planId: planId as number, limits } };
}

function applyResize(rec: ServerRecord, r: ResizeRequest): void {
  if (r.planId !== rec.plan.id) rec.plan = { id: r.planId, name: `Plan ${r.planId}` };
  for (const [key, e] of Object.entries(r.limits)) {
    if (key === 'network_total_traffic') {
      const current = limitInUnit(rec.limitBytes, rec.limits.network_total_traffic?.unit);
      const unit = e.unit ?? (rec.limitBytes > 0n ? current.unit : 'GiB');
      if (e.is_enabled === false) rec.limitBytes = 0n;
      else if (e.limit !== undefined) rec.limitBytes = BigInt(e.limit) * TRAFFIC_UNITS[unit]!;
      rec.limits.network_total_traffic = { is_enabled: rec.limitBytes > 0n, limit: 0, unit };
      continue;
    }
    const prev = rec.limits[key] ?? disabled(TRAFFIC_KEYS.includes(key) ? 'GiB' : 'Kbps');
    const limit = e.limit ?? prev.limit;
    rec.limits[key] = {
      is_enabled: e.is_enabled ?? (e.limit !== undefined ? true : prev.is_enabled),
      limit,
      unit: e.unit ?? prev.unit,
    };
  }
}

export interface V2Request {
  method: string;
  /** path below /api/v1, starting with / */
  path: string;
  query: URLSearchParams;
  body: string;
}

/** Resolve a route; `run` does the work once auth and faults have had their say. */
export function routeV2(m: SimMaster, req: V2Request, taskFail: () => boolean): RouteMatch {
  const { method, path } = req;
  const parts = path.split('/').filter((p, i) => i > 0 || p !== '');
  const now = () => m.now();
  const numeric = (s: string | undefined) =>
    s !== undefined && /^\d{1,15}$/.test(s) ? Number(s) : undefined;

  const methodNotAllowed = (key: string, allowed: string): RouteMatch => ({
    key,
    run: () =>
      jsonReply(
        405,
        toJsonText({
          message: `The ${method} method is not supported for this route. Supported methods: ${allowed}.`,
        }),
      ),
  });

  if (parts[0] === 'servers' && parts.length === 1) {
    const key = 'GET /servers';
    if (method !== 'GET') return methodNotAllowed(key, 'GET, HEAD');
    return { key, run: () => listServers(m, req) };
  }

  if (parts[0] === 'servers' && parts.length === 2) {
    const key = 'GET /servers/{id}';
    const id = numeric(parts[1]);
    if (method !== 'GET') return methodNotAllowed(key, 'GET, HEAD');
    return {
      key,
      serverId: id,
      run: () => {
        const rec = id === undefined ? undefined : m.store.get(id);
        return rec ? jsonReply(200, toJsonText({ data: serverJson(m, rec, now()) })) : NOT_FOUND;
      },
    };
  }

  if (parts[0] === 'servers' && parts.length === 3 && ['suspend', 'resume', 'resize'].includes(parts[2]!)) {
    const action = parts[2]!;
    const key = `POST /servers/{id}/${action}`;
    const id = numeric(parts[1]);
    if (method !== 'POST') return methodNotAllowed(key, 'POST');
    return {
      key,
      serverId: id,
      run: () => {
        const rec = id === undefined ? undefined : m.store.mutable(id);
        if (!rec) return NOT_FOUND;
        const fail = taskFail();
        if (action === 'resize') {
          let body: unknown = {};
          try {
            body = req.body.trim() === '' ? {} : JSON.parse(req.body);
          } catch {
            body = {}; // Laravel reads an unparseable JSON body as empty input
          }
          const r = validateResize(body, rec);
          if (!r.ok) return validationError(r.errors);
          if (!fail) applyResize(rec, r.value);
        } else if (!fail) {
          rec.suspended = action === 'suspend';
        }
        const task = m.createTask(rec, `vm-${action}`, fail);
        return jsonReply(200, toJsonText({ data: taskJson(task) }));
      },
    };
  }

  if (parts[0] === 'tasks' && parts.length === 2) {
    const key = 'GET /tasks/{id}';
    if (method !== 'GET') return methodNotAllowed(key, 'GET, HEAD');
    const id = numeric(parts[1]);
    const task = id === undefined ? undefined : m.task(id);
    return {
      key,
      serverId: task?.serverId,
      run: () => {
        if (!task) return NOT_FOUND;
        advance(task);
        return jsonReply(200, toJsonText({ data: taskJson(task) }));
      },
    };
  }

  if (parts[0] === 'usage' && parts[1] === 'network' && parts.length === 3) {
    const key = 'GET /usage/network/{uuid}';
    if (method !== 'GET') return methodNotAllowed(key, 'GET, HEAD');
    const id = m.store.idByUuid(parts[2]!);
    return {
      key,
      serverId: id,
      run: () => {
        const rec = id === undefined ? undefined : m.store.get(id);
        if (!rec) return NOT_FOUND;
        return jsonReply(200, toJsonText({ data: { items: usageSeries(m, rec, now()) } }));
      },
    };
  }

  return { key: `${method} (unknown)`, run: () => NOT_FOUND };
}

/** A short live window like the real one (12 points, 5 s apart): KiB moved per point. */
function usageSeries(m: SimMaster, rec: ServerRecord, now: number): unknown[] {
  const step = 5000;
  const end = Math.floor(now / step) * step;
  const items: unknown[] = [];
  for (let i = 11; i >= 0; i--) {
    const to = end - i * step;
    const { incoming, outgoing } = splitCounter(rec, m.trafficOf(rec, to - step, to));
    items.push({
      time: new Date(to).toISOString(),
      derivative: {
        read_kb: Number((incoming * 1000n) / 1024n) / 1000,
        write_kb: Number((outgoing * 1000n) / 1024n) / 1000,
      },
    });
  }
  return items;
}

const FILTERS: Record<string, (rec: ServerRecord, v: string) => boolean> = {
  user_id: (rec, v) => String(rec.clientId) === v,
  compute_resource_id: (rec, v) => String(rec.node.id) === v,
  status: (rec, v) => (rec.power === 'online' ? 'started' : 'stopped') === v,
  virtualization_type: (rec, v) => (rec.type === 'xenhvm' ? 'xen' : rec.type) === v,
};

function listServers(m: SimMaster, req: V2Request): Reply {
  const q = req.query;
  const pageRaw = Number(q.get('page') ?? '1');
  const page = Number.isInteger(pageRaw) && pageRaw >= 1 ? pageRaw : 1;
  const ppRaw = Number(q.get('per_page') ?? '15');
  const perPage = Number.isInteger(ppRaw) && ppRaw >= 1 ? Math.min(ppRaw, 1000) : 15;
  const now = m.now();

  const active: Array<[(rec: ServerRecord, v: string) => boolean, string]> = [];
  for (const [k, fn] of Object.entries(FILTERS)) {
    const v = q.get(`filter[${k}]`);
    if (v !== null && v !== '') active.push([fn, v]);
  }

  let total: number;
  let pageRecs: ServerRecord[];
  const offset = (page - 1) * perPage;
  if (active.length === 0) {
    total = m.store.size;
    pageRecs = m.store.idsAt(offset, perPage).map((id) => m.store.get(id)!);
  } else {
    total = 0;
    pageRecs = [];
    for (const id of m.store.ids()) {
      const rec = m.store.get(id)!;
      if (!active.every(([fn, v]) => fn(rec, v))) continue;
      if (total >= offset && pageRecs.length < perPage) pageRecs.push(rec);
      total++;
    }
  }
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const path = `${m.url}/servers`;
  // links keep the caller's other parameters (per_page, filters), as withQueryString() does
  const link = (p: number) => {
    const params = new URLSearchParams(q);
    params.set('page', String(p));
    return `${path}?${params.toString()}`;
  };
  const body = {
    data: pageRecs.map((rec) => serverJson(m, rec, now)),
    links: {
      first: link(1),
      last: link(lastPage),
      prev: page > 1 ? link(page - 1) : null,
      next: page < lastPage ? link(page + 1) : null,
    },
    meta: {
      current_page: page,
      from: pageRecs.length ? offset + 1 : null,
      last_page: lastPage,
      path,
      per_page: perPage,
      to: pageRecs.length ? offset + pageRecs.length : null,
      total,
    },
  };
  return jsonReply(200, toJsonText(body));
}
