/**
 * SolusVM 1 Admin API client (docs/solusvm.md, "SolusVM 1 Admin API"): the protocol calls, and the
 * SolusVmGateway the services use on top of them.
 */
import { performance } from 'node:perf_hooks';
import { invalidInput } from '../domain/errors.js';
import type { SpeedSettings } from '../domain/limit-policy.js';
import {
  createSolusVmHttp,
  type HttpReply,
  type SolusVmHttp,
  type SolusVmHttpOptions,
} from './solusvm-http.js';
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
import {
  parseInfoAll,
  parseNodeList,
  parseNodeVirtualServers,
  parseStatusState,
  parseV1Body,
  type V1InfoAll,
  type V1Response,
  type V1VirtualServer,
} from './solusvm-v1-parse.js';

export const V1_COMMAND_PATH = '/api/admin/command.php';
export const V1_RESELLER_PATH = '/api/reseller/command.php';
export const V1_VIRTUALIZATION_TYPES: readonly string[] = ['openvz', 'xen', 'xen hvm', 'kvm'];

export interface SolusVmV1ClientOptions extends SolusVmHttpOptions {
  /** read traffic in XML instead of JSON (a per-master setting; masters before 1.14 have no JSON) */
  useXml?: boolean;
  /** types walked by listServers */
  virtualizationTypes?: readonly string[];
  /** the connection test counts servers only on masters with at most this many nodes */
  maxNodesToCount?: number;
}

export interface V1CallOptions {
  /** reads are retried on transport failures; actions are not */
  idempotent: boolean;
  /** send rdtype=json; the answer is parsed by its content either way */
  json?: boolean;
}

export interface SolusVmV1Client extends SolusVmGateway {
  readonly version: 1;
  readonly http: SolusVmHttp;
  call(action: string, params: Record<string, string>, opts: V1CallOptions): Promise<V1Response>;
  vserverInfoAll(vserverid: string, opts?: { json?: boolean; nostatus?: boolean }): Promise<V1InfoAll>;
  /** whether the server exists on the master (vserver-checkexists) */
  vserverExists(vserverid: string): Promise<boolean>;
  vserverStatus(vserverid: string): Promise<ServerState>;
  vserverSuspend(vserverid: string): Promise<V1Response>;
  vserverUnsuspend(vserverid: string): Promise<V1Response>;
  vserverBandwidth(
    vserverid: string,
    limitGb: bigint | number,
    overlimitGb?: bigint | number,
  ): Promise<V1Response>;
  vserverChangeNspeed(vserverid: string, customnspeed: bigint | number): Promise<V1Response>;
  nodeIdList(type: string): Promise<string[]>;
  listNodes(type: string): Promise<string[]>;
  nodeVirtualServers(nodeid: string): Promise<V1VirtualServer[]>;
}

/** Errors after which an action may still have happened, or the server was already in the state. */
const AMBIGUOUS: ReadonlySet<SolusVmErrorKind> = new Set([
  'app_error',
  'timeout',
  'transport',
  'bad_response',
]);

const checkId = (value: string, what: string): string => {
  const v = String(value).trim();
  if (!/^\d+$/.test(v)) throw invalidInput(`${what} must be a SolusVM numeric id, not "${value}"`);
  return v;
};

const checkWhole = (value: bigint | number, what: string): string => {
  if (typeof value === 'bigint' ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
    throw invalidInput(`${what} must be a whole number ≥ 0`, { value: String(value) });
  }
  return String(value);
};

export function createSolusVmV1Client(
  conn: MasterConnection,
  opts: SolusVmV1ClientOptions = {},
): SolusVmV1Client {
  const core = v1Core(conn, opts);
  const calls = v1Calls(core);
  const vserverStatus = calls.vserverStatus;
  return {
    version: 1,
    http: core.http,
    call: core.call,
    ...calls,
    ...v1Gateway(core, calls),
    serverExists: calls.vserverExists,
    getState: vserverStatus,
    testConnection: () => v1TestConnection(core, calls),
    close: () => core.http.close(),
  };
}

/** The master's transport and its one call, with what the master's settings decide. */
interface V1Core {
  conn: MasterConnection;
  http: SolusVmHttp;
  useJson: boolean;
  reseller: boolean;
  commandPath: string;
  types: readonly string[];
  maxNodesToCount: number;
  call(action: string, params: Record<string, string>, callOpts: V1CallOptions): Promise<V1Response>;
  read(action: string, params: Record<string, string>, json?: boolean): Promise<V1Response>;
  act(action: string, params: Record<string, string>): Promise<V1Response>;
}

function v1Core(conn: MasterConnection, opts: SolusVmV1ClientOptions): V1Core {
  if (conn.credentials.kind !== 'v1') throw invalidInput('a SolusVM 1 master needs an API id and key');
  const { apiId, apiKey } = conn.credentials;
  const http = createSolusVmHttp(conn, opts);
  const useJson = !opts.useXml;
  const reseller = conn.apiUserType === 'reseller';
  const commandPath = reseller ? V1_RESELLER_PATH : V1_COMMAND_PATH;
  const core: V1Core = {
    conn,
    http,
    useJson,
    reseller,
    commandPath,
    types: opts.virtualizationTypes ?? V1_VIRTUALIZATION_TYPES,
    maxNodesToCount: opts.maxNodesToCount ?? 50,
    call,
    read: (action, params, json = useJson) => call(action, params, { idempotent: true, json }),
    act: (action, params) => call(action, params, { idempotent: false, json: useJson }),
  };
  const credentials = `id=${formEncode(apiId)}&key=${formEncode(apiKey)}`;
  async function call(
    action: string,
    params: Record<string, string>,
    callOpts: V1CallOptions,
  ): Promise<V1Response> {
    const reply = await http.request({
      method: 'POST',
      path: commandPath,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json, text/xml, */*',
      },
      body: formBody(credentials, apiId, apiKey, action, params, callOpts.json === true),
      idempotent: callOpts.idempotent,
    });
    if (reply.status < 200 || reply.status >= 300) throw httpStatusError(reply, core);
    return parseV1Body(reply.body, { scrub: http.scrub, httpStatus: reply.status });
  }

  return core;
}

const FORM_SAFE = /^[A-Za-z0-9*._-]*$/;

/** One value as application/x-www-form-urlencoded writes it (URLSearchParams' own encoding). */
const formEncode = (v: string): string =>
  FORM_SAFE.test(v) ? v : new URLSearchParams([['', v]]).toString().slice(1);

/**
 * The form of a call: id, key, action, the parameters, and rdtype=json when asked, as
 * URLSearchParams writes them; the credentials' part is encoded once per client. Parameters named
 * like one of those go through URLSearchParams itself, which decides where they land.
 */
function formBody(
  credentials: string,
  apiId: string,
  apiKey: string,
  action: string,
  params: Record<string, string>,
  json: boolean,
): string {
  let body = `${credentials}&action=${formEncode(action)}`;
  for (const k of Object.keys(params)) {
    if (k === 'id' || k === 'key' || k === 'action' || k === 'rdtype' || !FORM_SAFE.test(k)) {
      const form = new URLSearchParams({ id: apiId, key: apiKey, action, ...params });
      if (json) form.set('rdtype', 'json');
      return form.toString();
    }
    body += `&${k}=${formEncode(String(params[k]))}`;
  }
  return json ? `${body}&rdtype=json` : body;
}

function httpStatusError(
  reply: HttpReply,
  core: Pick<V1Core, 'conn' | 'http' | 'reseller' | 'commandPath'>,
): SolusVmError {
  const { conn, http, reseller, commandPath } = core;
  const s = reply.status;
  const common = { httpStatus: s, snippet: http.snippet(reply.body) };
  if (s === 401) {
    return new SolusVmError(
      'auth',
      `HTTP 401: the master (or a proxy in front of it) asks for a password; ${conn.basicAuth ? 'the htpasswd user/password was refused' : 'set the htpasswd (basic auth) user and password'}`,
      { ...common, code: 'HTTP_401' },
    );
  }
  if (s === 404) {
    return new SolusVmError(
      'transport',
      `HTTP 404: there is no SolusVM ${reseller ? 'Reseller' : 'Admin'} API at ${commandPath} on ${http.hostPort}; check the master URL (its origin only, e.g. https://master.example.net:5656)`,
      { ...common, code: 'HTTP_404' },
    );
  }
  const advice =
    s >= 500
      ? "an error inside SolusVM or the web server in front of it: look at the master's web server error log; reads are tried again on the next run"
      : 'the master (or a proxy in front of it) refused the request: check the URL and any proxy or firewall rules';
  return new SolusVmError('transport', `HTTP ${s} from ${http.hostPort}: ${advice}`, {
    ...common,
    retryable: s >= 500,
    code: `HTTP_${s}`,
  });
}

/** The Admin and Reseller API calls the add-on makes, each checked and parsed. */
function v1Calls(core: V1Core) {
  const { read, act, useJson, types } = core;
  async function vserverInfoAll(
    vserverid: string,
    o: { json?: boolean; nostatus?: boolean } = {},
  ): Promise<V1InfoAll> {
    // nographs always: without it the master renders PNG graphs on every call, which is slow
    const params: Record<string, string> = { vserverid: checkId(vserverid, 'vserverid'), nographs: 'true' };
    if (o.nostatus) params['nostatus'] = 'true';
    return parseInfoAll(await read('vserver-infoall', params, o.json ?? useJson));
  }

  async function vserverExists(vserverid: string): Promise<boolean> {
    try {
      await read('vserver-checkexists', { vserverid: checkId(vserverid, 'vserverid') });
      return true;
    } catch (e) {
      if (e instanceof SolusVmError && e.kind === 'not_found') return false;
      throw e;
    }
  }

  const vserverStatus = async (vserverid: string): Promise<ServerState> =>
    parseStatusState(await read('vserver-status', { vserverid: checkId(vserverid, 'vserverid') }));

  const vserverSuspend = async (vserverid: string): Promise<V1Response> =>
    act('vserver-suspend', { vserverid: checkId(vserverid, 'vserverid') });
  const vserverUnsuspend = async (vserverid: string): Promise<V1Response> =>
    act('vserver-unsuspend', { vserverid: checkId(vserverid, 'vserverid') });

  async function vserverBandwidth(
    vserverid: string,
    limitGb: bigint | number,
    overlimitGb?: bigint | number,
  ): Promise<V1Response> {
    const params: Record<string, string> = {
      vserverid: checkId(vserverid, 'vserverid'),
      limit: checkWhole(limitGb, 'limit (GB)'),
    };
    if (overlimitGb !== undefined) params['overlimit'] = checkWhole(overlimitGb, 'overlimit (GB)');
    return act('vserver-bandwidth', params);
  }

  // customnspeed's unit is not documented (docs/solusvm.md, "SolusVM 1 Admin API"); the caller owns the number it sends
  const vserverChangeNspeed = async (vserverid: string, customnspeed: bigint | number): Promise<V1Response> =>
    act('vserver-change-nspeed', {
      vserverid: checkId(vserverid, 'vserverid'),
      customnspeed: checkWhole(customnspeed, 'customnspeed'),
    });

  const nodeIdList = async (type: string): Promise<string[]> =>
    parseNodeList(await read('node-idlist', { type }));
  const listNodes = async (type: string): Promise<string[]> =>
    parseNodeList(await read('listnodes', { type }));
  const nodeVirtualServers = async (nodeid: string): Promise<V1VirtualServer[]> =>
    parseNodeVirtualServers(await read('node-virtualservers', { nodeid: checkId(nodeid, 'nodeid') }));

  /** A type without nodes may answer with an error rather than an empty list. */
  async function nodeIdsOfType(type: string): Promise<string[]> {
    try {
      return await nodeIdList(type);
    } catch (e) {
      if (e instanceof SolusVmError && (e.kind === 'app_error' || e.kind === 'not_found')) return [];
      throw e;
    }
  }

  async function allNodeIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const t of types) for (const id of await nodeIdsOfType(t)) ids.add(id);
    return [...ids];
  }

  return {
    vserverInfoAll,
    vserverExists,
    vserverStatus,
    vserverSuspend,
    vserverUnsuspend,
    vserverBandwidth,
    vserverChangeNspeed,
    nodeIdList,
    listNodes,
    nodeVirtualServers,
    nodeIdsOfType,
    allNodeIds,
  };
}

type V1Calls = ReturnType<typeof v1Calls>;

/** What every SolusVM gateway does (solusvm-types.ts), in SolusVM 1's calls. */
function v1Gateway(
  core: V1Core,
  calls: V1Calls,
): Pick<SolusVmGateway, 'readTraffic' | 'listServers' | 'suspend' | 'unsuspend' | 'readSpeed' | 'setSpeed'> {
  const { useJson, reseller } = core;
  const { vserverInfoAll, vserverStatus, vserverSuspend, vserverUnsuspend, vserverChangeNspeed } = calls;
  const listServers = () => v1ListServers(reseller, calls);
  async function readTraffic(serverRef: string): Promise<TrafficReading> {
    // nostatus: the counter needs no live state check on the node (slow, and a timeout per VPS when
    // a node is down); the limit policy reads the state itself where it needs it
    const info = await vserverInfoAll(serverRef, { json: useJson, nostatus: true });
    return {
      usedBytes: info.bandwidth.usedBytes,
      limitBytes: info.bandwidth.limitBytes,
      incomingBytes: null, // SolusVM 1 gives one combined counter
      outgoingBytes: null,
      state: info.state,
      raw: `bandwidth=${info.bandwidth.raw};state=${info.rawState}`.slice(0, 200),
    };
  }

  // SolusVM 1 has no call that reads customnspeed back: nothing to save, and a doubtful answer is
  // retried (setting the same speed again changes nothing).
  const readSpeed = async (): Promise<null> => null;
  async function setSpeed(ref: string, speed: SpeedSettings): Promise<void> {
    if (speed.version !== 1) throw invalidInput('SolusVM 1 takes a customnspeed, not a SolusVM 2 plan');
    await vserverChangeNspeed(ref, speed.customnspeed);
  }

  const suspend = (ref: string): Promise<void> =>
    ensureState(
      vserverStatus,
      ref,
      () => vserverSuspend(ref),
      (s) => s === 'suspended',
    );
  const unsuspend = (ref: string): Promise<void> =>
    ensureState(
      vserverStatus,
      ref,
      () => vserverUnsuspend(ref),
      (s) => s === 'online' || s === 'offline',
    );

  return { readTraffic, listServers, suspend, unsuspend, readSpeed, setSpeed };
}

/** Every server of every node (a reseller has no node calls: it cannot list). */
async function* v1ListServers(reseller: boolean, calls: V1Calls): AsyncIterable<ServerSummary> {
  const { nodeVirtualServers, allNodeIds } = calls;
  if (reseller) {
    throw new SolusVmError(
      'app_error',
      'the SolusVM 1 Reseller API cannot list servers (it has no node calls): link services by their vserverid, or use an Admin API user to match by hostname or IP',
      { code: 'RESELLER_NO_LIST' },
    );
  }
  for (const nodeid of await allNodeIds()) {
    let servers: V1VirtualServer[];
    try {
      servers = await nodeVirtualServers(nodeid);
    } catch (e) {
      if (e instanceof SolusVmError && e.kind === 'not_found') continue; // node removed meanwhile
      throw e;
    }
    for (const s of servers) {
      // node-virtualservers gives no node name; the node id is what we have
      yield {
        ref: s.vserverid,
        uuid: null,
        hostname: s.hostname,
        node: nodeid,
        clientRef: s.clientid,
        createdAt: null,
        ip: s.ipaddress,
      };
    }
  }
}

/**
 * Runs an action; when it fails in a way that leaves doubt (an error message, a lost answer),
 * re-reads the state and accepts only if the server is now in the wanted state.
 */
async function ensureState(
  vserverStatus: V1Calls['vserverStatus'],
  serverRef: string,
  action: () => Promise<unknown>,
  reached: (s: ServerState) => boolean,
): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (!(e instanceof SolusVmError) || !AMBIGUOUS.has(e.kind)) throw e;
    let state: ServerState;
    try {
      state = await vserverStatus(serverRef);
    } catch {
      throw e;
    }
    if (!reached(state)) throw e;
  }
}

async function v1TestConnection(core: V1Core, calls: V1Calls): Promise<ConnectionReport> {
  const { conn, http, reseller, read, types, maxNodesToCount } = core;
  const { nodeIdsOfType, allNodeIds, nodeVirtualServers } = calls;
  const ctx = (): ReportContext => ({
    version: 1,
    hostPort: http.hostPort,
    host: new URL(conn.baseUrl).hostname,
    timeoutMs: conn.timeoutMs,
    fingerprint256: http.peerFingerprint256,
  });
  const started = performance.now();
  let latencyMs: number | null = null;
  try {
    if (reseller) {
      // no node calls for a reseller: asking about a server that cannot exist shows whether the
      // key, the address and the certificate are accepted ("Virtual server not found" = yes)
      try {
        await read('vserver-checkexists', { vserverid: '0' });
      } catch (e) {
        if (!(e instanceof SolusVmError && e.kind === 'not_found')) throw e;
      }
      return okReport(
        1,
        http,
        conn.tls.mode,
        Math.round(performance.now() - started),
        'the Reseller API user is accepted (a reseller cannot list nodes or count servers)',
        null,
      );
    }
    const first = types[0] ?? 'kvm';
    await nodeIdsOfType(first); // the first call shows auth, IP and TLS problems
    latencyMs = Math.round(performance.now() - started);
    const nodes = await allNodeIds();
    let servers: number | null = null;
    if (nodes.length <= maxNodesToCount) {
      servers = 0;
      for (const n of nodes)
        servers += (
          await nodeVirtualServers(n).catch((e: unknown) => {
            if (e instanceof SolusVmError && e.kind === 'not_found') return [];
            throw e;
          })
        ).length;
    }
    const counted =
      nodes.length === 0
        ? 'it lists no nodes (check that the API user may see them)'
        : servers === null
          ? `${nodes.length} nodes (too many to count their servers here)`
          : `${nodes.length} node${nodes.length === 1 ? '' : 's'}, ${servers} server${servers === 1 ? '' : 's'}`;
    return okReport(1, http, conn.tls.mode, latencyMs, counted, servers);
  } catch (e) {
    return failureReport(e, ctx(), latencyMs);
  }
}
