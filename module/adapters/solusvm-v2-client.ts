/**
 * SolusVM 2 REST client (docs/solusvm.md, "SolusVM 2 REST API"): bearer token, JSON with exact big integers,
 * Laravel pagination and errors, asynchronous actions as tasks. Plus the SolusVmGateway on top.
 */
import { performance } from 'node:perf_hooks';
import { stringify as stringifyLosslessJson } from 'lossless-json';
import { isByteUnit, parseByteAmount } from '../domain/bytes.js';
import { invalidInput } from '../domain/errors.js';
import { sameSpeed, type BandwidthLimit, type SpeedSettings } from '../domain/limit-policy.js';
import type { ResetPolicy } from '../domain/reset-policy.js';
import {
  createSolusVmHttp,
  parseRetryAfter,
  type HttpReply,
  type SolusVmHttp,
  type SolusVmHttpOptions,
} from './solusvm-http.js';
import { parseJsonNumbersAsText } from './exact-json.js';
import { failureReport, okReport, type ReportContext } from './solusvm-report.js';
import {
  type ConnectionReport,
  type MasterConnection,
  type ServerState,
  type ServerSummary,
  SolusVmError,
  type SolusVmErrorKind,
  type SolusVmGateway,
  type TrafficReading,
} from './solusvm-types.js';

export interface SolusVmV2ClientOptions extends SolusVmHttpOptions {
  /** time between two task polls */
  pollIntervalMs?: number;
  /** a task still running after this is reported as a timeout (it may still finish on the master) */
  taskDeadlineMs?: number;
  /** guard against a pager that never ends */
  maxPages?: number;
  /** monotonic ms, for the task deadline */
  now?: () => number;
}

export interface V2TrafficLimit {
  isEnabled: boolean;
  /** the number as sent, in `unit` */
  limit: string;
  unit: string;
  /** null when disabled or 0 (no limit) */
  bytes: bigint | null;
}

export interface V2Server {
  id: string;
  uuid: string | null;
  name: string | null;
  status: string | null;
  state: ServerState;
  isSuspended: boolean;
  /** cumulative bytes since the last reset; null when the answer has no usage (lists) */
  incomingBytes: bigint | null;
  outgoingBytes: bigint | null;
  totalTrafficLimit: V2TrafficLimit | null;
  resetLimitPolicy: string | null;
  networkTrafficLimitType: string | null;
  ips: string[];
  createdAt: string | null;
  userId: string | null;
  computeResource: string | null;
  planId: string | null;
  /** plan.limits.network_incoming_bandwidth / network_outgoing_bandwidth; null when absent */
  incomingBandwidth: BandwidthLimit | null;
  outgoingBandwidth: BandwidthLimit | null;
}

export type V2TaskStatus =
  'pending' | 'queued' | 'running' | 'done' | 'done_with_errors' | 'failed' | 'canceled' | string;

export interface V2Task {
  id: string;
  status: V2TaskStatus;
  action: string | null;
  output: string | null;
  progress: string | null;
}

export interface V2Page {
  servers: V2Server[];
  currentPage: number | null;
  lastPage: number | null;
  total: number | null;
  next: string | null;
}

export interface SolusVmV2Client extends SolusVmGateway {
  readonly version: 2;
  readonly http: SolusVmHttp;
  /** a JSON call; returns the parsed body (numbers as their source text), or null when empty */
  send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<unknown>;
  getServer(id: string): Promise<V2Server>;
  listServerPage(page: number): Promise<V2Page>;
  /** POST …/suspend, then polls its task; resolves with the finished task (null when none was returned) */
  suspendServer(id: string): Promise<V2Task | null>;
  resumeServer(id: string): Promise<V2Task | null>;
  /** POST …/resize (custom plan limits), then polls its task */
  resize(id: string, body: Record<string, unknown>): Promise<V2Task | null>;
  getTask(id: string): Promise<V2Task>;
  waitForTask(task: V2Task): Promise<V2Task>;
}

const TERMINAL = new Set(['done', 'done_with_errors', 'failed', 'canceled', 'cancelled']);
const AMBIGUOUS: ReadonlySet<SolusVmErrorKind> = new Set([
  'app_error',
  'timeout',
  'transport',
  'bad_response',
  'validation',
]);

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : null;
const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

const badField = (message: string): SolusVmError =>
  new SolusVmError('bad_response', message, { code: 'BAD_FIELD' });

/** Whole bytes from a JSON number kept as text (exact above 2^53); "123.0" is tolerated. */
function bytesOf(v: unknown, what: string): bigint {
  const s = str(v)?.trim() ?? '';
  const m = /^(\d+)(?:\.0*)?$/.exec(s);
  if (!m) throw badField(`${what} is not a whole number of bytes: ${JSON.stringify(v)?.slice(0, 40)}`);
  return BigInt(m[1]!);
}

/**
 * SolusIO labelled its 1024-based units KB, MB, GB, TB before March 2022 and KiB … after (a rename
 * in the public Go SDK, plans.go); the official module converts with 1024 multipliers throughout
 * (Helpers/Unit.php). So the old labels are read as 1024-based unless a master says otherwise.
 */
const BINARY_OF: Record<string, string> = { KB: 'KiB', MB: 'MiB', GB: 'GiB', TB: 'TiB', PB: 'PiB' };
export const v2UnitMeaning = (unit: string, labels: 'binary' | 'decimal'): string =>
  labels === 'binary' ? (BINARY_OF[unit] ?? unit) : unit;

function parseLimit(
  v: unknown,
  what: string,
  labels: 'binary' | 'decimal' = 'binary',
): V2TrafficLimit | null {
  if (!isObj(v)) return null;
  const isEnabled = bool(v['is_enabled']);
  const limit = str(v['limit'])?.trim() ?? '0';
  const unit = str(v['unit'])?.trim() ?? '';
  let bytes: bigint | null = null;
  if (isEnabled) {
    if (!isByteUnit(unit)) throw badField(`${what} has an unknown unit "${unit}"`);
    try {
      bytes = parseByteAmount(`${limit} ${v2UnitMeaning(unit, labels)}`);
    } catch {
      throw badField(`${what} limit "${limit} ${unit}" is not a whole number of bytes`);
    }
    if (bytes === 0n) bytes = null; // as in SolusVM 1, a zero limit is no limit
  }
  return { isEnabled, limit, unit, bytes };
}

function parseBandwidth(v: unknown, what: string): BandwidthLimit | null {
  if (!isObj(v)) return null;
  const limit = str(v['limit'])?.trim() ?? '0';
  if (!/^\d{1,15}(?:\.0*)?$/.test(limit)) throw badField(`${what} limit "${limit}" is not a whole number`);
  return {
    isEnabled: bool(v['is_enabled']),
    limit: Number(limit.replace(/\..*$/, '')),
    unit: str(v['unit'])?.trim() ?? '',
  };
}

export function mapV2State(status: string | null, isSuspended: boolean, isProcessing = false): ServerState {
  if (isSuspended) return 'suspended';
  switch ((status ?? '').toLowerCase()) {
    case 'started':
    case 'running':
      return 'online';
    case 'stopped':
    case 'paused':
      return 'offline';
    case 'processing':
    case 'starting':
    case 'stopping':
    case 'restarting':
      return 'processing';
    default:
      return isProcessing ? 'processing' : 'unknown';
  }
}

function ipsOf(d: Json): string[] {
  const out: string[] = [];
  const ipAddresses = d['ip_addresses'];
  if (isObj(ipAddresses)) {
    for (const family of ['ipv4', 'ipv6']) {
      const list = ipAddresses[family];
      if (Array.isArray(list)) for (const e of list) if (isObj(e) && str(e['ip'])) out.push(str(e['ip'])!);
    }
  }
  const ips = d['ips'];
  if (Array.isArray(ips)) {
    for (const e of ips) {
      const ip = typeof e === 'string' ? e : isObj(e) ? (str(e['ip']) ?? str(e['address'])) : null;
      if (ip) out.push(ip);
    }
  }
  return [...new Set(out)];
}

/** One server object (GET /servers/{id} data, or an entry of GET /servers). */
export function parseV2Server(d: unknown, opts: { unitLabels?: 'binary' | 'decimal' } = {}): V2Server {
  if (!isObj(d)) throw badField('the server is not an object');
  const id = str(d['id']);
  if (!id) throw badField('the server has no id');
  const usage = isObj(d['usage']) ? d['usage'] : null;
  const network = usage && isObj(usage['network']) ? usage['network'] : null;
  const value = (dir: string): bigint | null => {
    const side = network?.[dir];
    return isObj(side) && side['value'] !== undefined && side['value'] !== null
      ? bytesOf(side['value'], `usage.network.${dir}.value`)
      : null;
  };
  const plan = isObj(d['plan']) ? d['plan'] : null;
  const limits = plan && isObj(plan['limits']) ? plan['limits'] : null;
  const isSuspended = bool(d['is_suspended']);
  const status = str(d['status']);
  const user = isObj(d['user']) ? d['user'] : null;
  const cr = isObj(d['compute_resource']) ? d['compute_resource'] : null;
  return {
    id,
    uuid: str(d['uuid']),
    name: str(d['name']),
    status,
    state: mapV2State(status, isSuspended, bool(d['is_processing'])),
    isSuspended,
    incomingBytes: value('incoming'),
    outgoingBytes: value('outgoing'),
    totalTrafficLimit: parseLimit(
      limits?.['network_total_traffic'],
      'plan.limits.network_total_traffic',
      opts.unitLabels ?? 'binary',
    ),
    resetLimitPolicy: plan ? str(plan['reset_limit_policy']) : null,
    networkTrafficLimitType: plan ? str(plan['network_traffic_limit_type']) : null,
    ips: ipsOf(d),
    createdAt: str(d['created_at']),
    userId: str(d['user_id']) ?? (user ? str(user['id']) : null),
    computeResource: cr ? (str(cr['name']) ?? str(cr['id'])) : str(d['compute_resource_id']),
    planId: plan ? str(plan['id']) : str(d['plan_id']),
    incomingBandwidth: parseBandwidth(
      limits?.['network_incoming_bandwidth'],
      'plan.limits.network_incoming_bandwidth',
    ),
    outgoingBandwidth: parseBandwidth(
      limits?.['network_outgoing_bandwidth'],
      'plan.limits.network_outgoing_bandwidth',
    ),
  };
}

/** plan.reset_limit_policy in the module's words; an unknown value is left to the master's setting. */
function planPolicy(v: string | null): ResetPolicy | null {
  if (v === 'first_day_of_month') return 'first_of_month';
  if (v === 'vm_created_day') return 'anniversary';
  if (v === 'never') return 'never';
  return null;
}

export function parseV2Task(v: unknown): V2Task | null {
  const t = isObj(v) && isObj(v['data']) ? v['data'] : v;
  if (!isObj(t) || str(t['id']) === null || str(t['status']) === null) return null;
  return {
    id: str(t['id'])!,
    status: str(t['status'])!,
    action: str(t['action']),
    output: str(t['output']),
    progress: str(t['progress']),
  };
}

/** Laravel's {"errors":{"field":["msg",…]}} in words. */
export function flattenErrors(errors: unknown): string {
  if (!isObj(errors)) return '';
  return Object.entries(errors)
    .map(
      ([field, msgs]) =>
        `${field}: ${(Array.isArray(msgs) ? msgs : [msgs]).map((m) => str(m) ?? JSON.stringify(m)).join(', ')}`,
    )
    .join('; ');
}

const checkId = (value: string, what: string): string => {
  const v = String(value).trim();
  if (!/^\d+$/.test(v)) throw invalidInput(`${what} must be a SolusVM 2 numeric id, not "${value}"`);
  return v;
};

export function createSolusVmV2Client(
  conn: MasterConnection,
  opts: SolusVmV2ClientOptions = {},
): SolusVmV2Client {
  const core = v2Core(conn, opts);
  const reads = v2Reads(core, opts);
  const tasks = v2Tasks(core, opts);
  return {
    version: 2,
    http: core.http,
    send: core.send,
    getServer: reads.getServer,
    listServerPage: reads.listServerPage,
    ...tasks,
    ...v2Gateway(core, reads, tasks),
    testConnection: () => v2TestConnection(core, reads),
    close: () => core.http.close(),
  };
}

/** The master's transport and its one request, answers read as exact JSON and errors in words. */
interface V2Core {
  conn: MasterConnection;
  http: SolusVmHttp;
  send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<unknown>;
}

function v2Core(conn: MasterConnection, opts: SolusVmV2ClientOptions): V2Core {
  if (conn.credentials.kind !== 'v2') throw invalidInput('a SolusVM 2 master needs an API token');
  const bearer = `Bearer ${conn.credentials.token}`;
  // the Go SDK retries ≥ 500; 429 is retried for reads after Retry-After
  const http = createSolusVmHttp(conn, { ...opts, retryStatus: (s) => s >= 500, honourRetryAfter: true });
  async function send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<unknown> {
    const headers: Record<string, string> = { Authorization: bearer, Accept: 'application/json' };
    let payload: string | undefined;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = stringifyLosslessJson(body) ?? undefined; // bigint limits go out as exact numbers
    } else if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
    }
    const reply = await http.request({
      method,
      path,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      idempotent,
    });
    if (reply.status < 200 || reply.status >= 300) throw errorFor(reply, http);
    if (reply.body.trim() === '') return null;
    const json = tryJson(reply.body);
    if (json === undefined) {
      throw new SolusVmError('bad_response', `the answer is not JSON: ${rawText(reply.body, http)}`, {
        httpStatus: reply.status,
        snippet: http.snippet(reply.body),
        code: 'NOT_JSON',
      });
    }
    return json;
  }

  return { conn, http, send };
}

const rawText = (body: string, http: SolusVmHttp): string => {
  const t = /<[a-z!][^>]*>/i.test(body)
    ? body.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]+>/g, ' ')
    : body;
  return http.scrub(t.replace(/\s+/g, ' ').trim()).slice(0, 200);
};

const tryJson = (body: string): unknown => {
  try {
    return parseJsonNumbersAsText(body); // numbers as text: exact beyond 2^53
  } catch {
    return undefined;
  }
};

function errorFor(reply: HttpReply, http: SolusVmHttp): SolusVmError {
  const s = reply.status;
  const json = tryJson(reply.body);
  let text: string;
  if (isObj(json) && (str(json['message']) || json['errors'])) {
    const flat = flattenErrors(json['errors']);
    const message = http.scrub(str(json['message']) ?? '').slice(0, 300);
    text =
      message && flat
        ? `${message} (${http.scrub(flat).slice(0, 500)})`
        : message || http.scrub(flat).slice(0, 500);
  } else {
    text = rawText(reply.body, http) || `HTTP ${s}`;
  }
  const common = { httpStatus: s, snippet: http.snippet(reply.body), code: `HTTP_${s}` };
  if (s === 401)
    return new SolusVmError(
      'auth',
      `the API token was refused (HTTP 401: ${text}); create a token under Access > API Tokens`,
      common,
    );
  if (s === 403)
    return new SolusVmError(
      'auth',
      `the token's user may not do this (HTTP 403: ${text}); the token needs a user with the Admin role`,
      common,
    );
  if (s === 404) return new SolusVmError('not_found', `not found (HTTP 404): ${text}`, common);
  if (s === 422)
    return new SolusVmError('validation', `SolusVM refused the request (HTTP 422): ${text}`, common);
  if (s === 429) {
    const retryAfterMs = parseRetryAfter(reply.headers['retry-after']);
    return new SolusVmError(
      'rate_limited',
      `SolusVM asks us to slow down (HTTP 429)${retryAfterMs !== null ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}: ${text}`,
      { ...common, retryable: true, retryAfterMs },
    );
  }
  if (s >= 500)
    return new SolusVmError('transport', `SolusVM failed (HTTP ${s}): ${text}`, {
      ...common,
      retryable: true,
    });
  return new SolusVmError('app_error', `SolusVM answered HTTP ${s}: ${text}`, common);
}

/** Servers: one, a page of them, all of them. */
function v2Reads(core: V2Core, opts: SolusVmV2ClientOptions) {
  const { conn, send } = core;
  const maxPages = opts.maxPages ?? 100_000;
  async function getServer(id: string): Promise<V2Server> {
    const json = await send('GET', `/servers/${checkId(id, 'server id')}`, undefined, true);
    if (!isObj(json) || !isObj(json['data'])) throw badField('GET /servers/{id} did not return {"data":{…}}');
    return parseV2Server(json['data'], { unitLabels: conn.unitLabels ?? 'binary' });
  }

  async function listServerPage(page: number): Promise<V2Page> {
    const json = await send('GET', `/servers?page=${page}`, undefined, true);
    if (!isObj(json) || !Array.isArray(json['data']))
      throw badField('GET /servers did not return {"data":[…]}');
    const meta = isObj(json['meta']) ? json['meta'] : null;
    const links = isObj(json['links']) ? json['links'] : null;
    const int = (v: unknown): number | null => {
      const s = str(v);
      return s !== null && /^\d+$/.test(s) ? Number(s) : null;
    };
    return {
      servers: json['data'].map((d: unknown) =>
        parseV2Server(d, { unitLabels: conn.unitLabels ?? 'binary' }),
      ),
      currentPage: int(meta?.['current_page']),
      lastPage: int(meta?.['last_page']),
      total: int(meta?.['total']),
      next: links ? str(links['next']) : null,
    };
  }

  async function* listV2Servers(): AsyncIterable<V2Server> {
    for (let page = 1; page <= maxPages;) {
      const p = await listServerPage(page);
      yield* p.servers;
      const more =
        p.currentPage !== null && p.lastPage !== null
          ? p.currentPage < p.lastPage
          : p.next !== null && p.next !== ''; // without meta, links.next decides; without both, one page
      if (!more || p.servers.length === 0) return;
      // we ask for the next page number ourselves rather than follow links.next to another host
      page = (p.currentPage ?? page) + 1;
    }
    throw new SolusVmError('bad_response', `GET /servers still had more pages after ${maxPages}`, {
      code: 'TOO_MANY_PAGES',
    });
  }

  return { getServer, listServerPage, listV2Servers };
}

type V2Reads = ReturnType<typeof v2Reads>;

/** Actions run as tasks, waited for until they end or the deadline passes. */
function v2Tasks(core: V2Core, opts: SolusVmV2ClientOptions) {
  const { http, send } = core;
  const pollIntervalMs = opts.pollIntervalMs ?? 2000;
  const taskDeadlineMs = opts.taskDeadlineMs ?? 10 * 60_000;
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  async function getTask(id: string): Promise<V2Task> {
    const t = parseV2Task(await send('GET', `/tasks/${checkId(id, 'task id')}`, undefined, true));
    if (!t) throw badField('GET /tasks/{id} did not return a task');
    return t;
  }

  async function waitForTask(task: V2Task): Promise<V2Task> {
    const deadline = now() + taskDeadlineMs;
    let t = task;
    for (;;) {
      if (TERMINAL.has(t.status)) {
        if (t.status === 'failed' || t.status === 'canceled' || t.status === 'cancelled') {
          throw new SolusVmError(
            'app_error',
            `task ${t.id}${t.action ? ` (${t.action})` : ''} ${t.status}${t.output ? `: ${http.scrub(t.output).slice(0, 200)}` : ''}`,
            {
              code: 'TASK_FAILED',
            },
          );
        }
        return t;
      }
      if (now() >= deadline) {
        throw new SolusVmError(
          'timeout',
          `task ${t.id}${t.action ? ` (${t.action})` : ''} is still ${t.status} after ${Math.round(taskDeadlineMs / 1000)} s`,
          {
            code: 'TASK_TIMEOUT',
            retryable: true,
          },
        );
      }
      await sleep(pollIntervalMs);
      t = await getTask(t.id);
    }
  }

  async function runTask(path: string, body: unknown): Promise<V2Task | null> {
    const task = parseV2Task(await send('POST', path, body, false));
    return task ? waitForTask(task) : null; // some versions answer without a task
  }

  const suspendServer = async (id: string): Promise<V2Task | null> =>
    runTask(`/servers/${checkId(id, 'server id')}/suspend`, undefined);
  const resumeServer = async (id: string): Promise<V2Task | null> =>
    runTask(`/servers/${checkId(id, 'server id')}/resume`, undefined);
  const resize = async (id: string, body: Record<string, unknown>): Promise<V2Task | null> =>
    runTask(`/servers/${checkId(id, 'server id')}/resize`, body);

  return { getTask, waitForTask, suspendServer, resumeServer, resize };
}

type V2Tasks = ReturnType<typeof v2Tasks>;

const NO_LIMIT: BandwidthLimit = { isEnabled: false, limit: 0, unit: 'Kbps' };

/** The plan and in/out bandwidth limits of a server, as a throttle changes them. */
function speedOf(s: V2Server): SpeedSettings {
  if (s.planId === null || !/^\d+$/.test(s.planId)) throw badField(`server ${s.id} has no numeric plan id`);
  return {
    version: 2,
    planId: Number(s.planId),
    incoming: s.incomingBandwidth ?? NO_LIMIT,
    outgoing: s.outgoingBandwidth ?? NO_LIMIT,
  };
}

const limitJson = (l: BandwidthLimit) => ({
  is_enabled: l.isEnabled,
  limit: l.limit,
  unit: l.isEnabled ? l.unit : l.unit || 'Kbps',
});

/** What every SolusVM gateway does (solusvm-types.ts), in SolusVM 2's calls. */
function v2Gateway(
  core: V2Core,
  reads: V2Reads,
  tasks: V2Tasks,
): Omit<SolusVmGateway, 'version' | 'testConnection' | 'close'> {
  const { http } = core;
  const { getServer, listV2Servers } = reads;
  const { suspendServer, resumeServer, resize } = tasks;
  const readTraffic = async (ref: string): Promise<TrafficReading> => trafficOf(await getServer(ref));
  const ensure = (ref: string, action: () => Promise<V2Task | null>, reached: (s: V2Server) => boolean) =>
    ensureV2State(http, getServer, ref, action, reached);

  /** A resize to the plan with custom in/out bandwidth limits (docs/solusvm.md, "SolusVM 2 REST API": throttling by custom plan, unverified). */
  async function setSpeed(ref: string, speed: SpeedSettings): Promise<void> {
    if (speed.version !== 2)
      throw invalidInput('SolusVM 2 takes a plan and bandwidth limits, not a customnspeed');
    const body = {
      plan_id: speed.planId,
      preserve_disk: true,
      custom_plan: {
        limits: {
          network_incoming_bandwidth: limitJson(speed.incoming),
          network_outgoing_bandwidth: limitJson(speed.outgoing),
        },
      },
    };
    await ensure(
      ref,
      () => resize(ref, body),
      (s) => sameSpeed(speedOf(s), speed),
    );
  }

  return {
    readTraffic,
    serverExists: async (ref: string) => {
      try {
        await getServer(ref);
        return true;
      } catch (e) {
        if (e instanceof SolusVmError && e.kind === 'not_found') return false;
        throw e;
      }
    },
    getState: async (ref: string) => (await getServer(ref)).state,
    suspend: (ref: string) =>
      ensure(
        ref,
        () => suspendServer(ref),
        (s) => s.isSuspended,
      ),
    unsuspend: (ref: string) =>
      ensure(
        ref,
        () => resumeServer(ref),
        (s) => !s.isSuspended,
      ),
    readSpeed: async (ref: string) => speedOf(await getServer(ref)),
    setSpeed,
    listServers: async function* (): AsyncIterable<ServerSummary> {
      for await (const s of listV2Servers()) {
        yield {
          ref: s.id,
          uuid: s.uuid,
          hostname: s.name,
          node: s.computeResource,
          clientRef: s.userId,
          createdAt: s.createdAt,
          ip: s.ips[0] ?? null,
        };
      }
    },
  };
}

/** A server's traffic counters as a reading: in plus out, its limit, and the raw figures. */
function trafficOf(s: V2Server): TrafficReading {
  if (s.incomingBytes === null || s.outgoingBytes === null) {
    throw new SolusVmError('bad_response', `server ${s.id} has no usage.network.incoming/outgoing values`, {
      code: 'MISSING_FIELD',
    });
  }
  const limit = s.totalTrafficLimit;
  return {
    usedBytes: s.incomingBytes + s.outgoingBytes,
    limitBytes: limit?.bytes ?? null,
    incomingBytes: s.incomingBytes,
    outgoingBytes: s.outgoingBytes,
    state: s.state,
    raw: `in=${s.incomingBytes};out=${s.outgoingBytes};limit=${limit ? `${limit.isEnabled ? '' : 'off:'}${limit.limit}${limit.unit}` : 'none'};type=${s.networkTrafficLimitType ?? ''};suspended=${s.isSuspended}`.slice(
      0,
      200,
    ),
    planResetPolicy: planPolicy(s.resetLimitPolicy),
    createdAt: s.createdAt,
  };
}

/** After a doubtful answer (error, lost reply, done_with_errors), the server's state decides. */
async function ensureV2State(
  http: V2Core['http'],
  getServer: V2Reads['getServer'],
  ref: string,
  action: () => Promise<V2Task | null>,
  reached: (s: V2Server) => boolean,
): Promise<void> {
  let failure: unknown = null;
  try {
    const task = await action();
    if (task?.status !== 'done_with_errors') return;
    failure = new SolusVmError(
      'app_error',
      `task ${task.id}${task.action ? ` (${task.action})` : ''} finished with errors${task.output ? `: ${http.scrub(task.output).slice(0, 200)}` : ''}`,
      {
        code: 'TASK_DONE_WITH_ERRORS',
      },
    );
  } catch (e) {
    if (!(e instanceof SolusVmError) || !AMBIGUOUS.has(e.kind)) throw e;
    failure = e;
  }
  let server: V2Server;
  try {
    server = await getServer(ref);
  } catch {
    throw failure;
  }
  if (!reached(server)) throw failure;
}

async function v2TestConnection(core: V2Core, reads: V2Reads): Promise<ConnectionReport> {
  const { conn, http } = core;
  const { listServerPage } = reads;
  const ctx = (): ReportContext => ({
    version: 2,
    hostPort: http.hostPort,
    host: new URL(conn.baseUrl).hostname,
    timeoutMs: conn.timeoutMs,
    fingerprint256: http.peerFingerprint256,
  });
  const started = performance.now();
  try {
    const page = await listServerPage(1);
    const latencyMs = Math.round(performance.now() - started);
    const count = page.total ?? (page.lastPage === null || page.lastPage <= 1 ? page.servers.length : null);
    return okReport(
      2,
      http,
      conn.tls.mode,
      latencyMs,
      count === null ? 'servers found' : `${count} server${count === 1 ? '' : 's'}`,
      count,
    );
  } catch (e) {
    // the server list is always there: a 404 on it means the URL is not the API root
    if (e instanceof SolusVmError && e.kind === 'not_found') {
      return failureReport(
        new SolusVmError(
          'bad_response',
          `there is no SolusVM 2 API at ${conn.baseUrl} (GET /servers answered HTTP 404): the URL must be the API root, ending in /api/v1, like https://${new URL(conn.baseUrl).host}/api/v1`,
          { httpStatus: 404, code: 'NO_API' },
        ),
        ctx(),
        null,
      );
    }
    return failureReport(e, ctx(), null);
  }
}
