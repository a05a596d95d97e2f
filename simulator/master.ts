import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import busboy from 'busboy';
import { generate } from 'selfsigned';
import { FaultState, type FaultDecision, type Faults, htmlPage, malform, statusPage } from './faults.js';
import { bareText, jsonReply, type Reply } from './reply.js';
import { lastPolicyReset, nextPolicyReset, RESET_POLICIES, type ResetPolicy } from './resets.js';
import {
  type BulkTemplate,
  type NodeRef,
  type PlanLimit,
  type PlanRef,
  type ServerRecord,
  ServerStore,
  type ServerSpec,
  type ServerState,
  type ServerType,
} from './server-store.js';
import { bytesBetween } from './traffic.js';
import { handleV1, v1ServerId, v1State, type V1Params } from './v1-api.js';
import { routeV2, splitCounter, type Task } from './v2-api.js';
import { civilDate, type ZoneCalendar, zoneCalendar } from './zone-calendar.js';

export interface V1Credentials {
  apiId: string;
  apiKey: string;
}

export interface V2Credentials {
  token: string;
}

export interface MasterOptions {
  name: string;
  version: 1 | 2;
  /** IANA zone of the master's clock: its daily cron resets counters at local midnight */
  zone: string;
  resetPolicy: ResetPolicy;
  credentials: V1Credentials | V2Credentials;
  /** HTTPS with a self-signed certificate (shared per process unless `fresh` or a pem pair is given) */
  tls?: boolean | { fresh?: boolean; cert?: string; key?: string };
  /** caller IPs the API user accepts (v1: else bare "Invalid ipaddress"); default any */
  allowedIps?: string[];
  /** an htpasswd in front of a v1 master */
  basicAuth?: { user: string; password: string };
  /** fixed port; default an ephemeral one */
  port?: number;
  /** v1 unknown vserverid: bare text (the 2015 behaviour, default) or status=error (later versions; docs/solusvm.md, "SolusVM 1 Admin API") */
  v1NotFound?: 'bare' | 'status';
  /** v1: a reseller API user (/api/reseller/command.php) who sees only the servers of these clients */
  reseller?: { apiId: string; apiKey: string; clientIds: number[] };
  /** v2: label 1024-based units as SolusIO did before 2022 (KB, MB, GB, TB) instead of KiB … */
  oldUnitLabels?: boolean;
}

export interface MasterStats {
  requests: number;
  /** v1: the action parameter; v2: method and route pattern */
  byAction: Record<string, number>;
  byStatus: Record<string, number>;
  faultsInjected: number;
  /** v1 reads that made the node check the server's live state (vserver-infoall without nostatus, vserver-status) */
  liveStateChecks: number;
  inFlight: number;
  maxInFlight: number;
  /** answered requests, and their total time from arrival to the last byte written (ms) */
  answered: number;
  serviceMsTotal: number;
  /** the shortest of those times (ms; null before the first answer): never under the configured latency */
  serviceMsMin: number | null;
  /** the latency faults added, in total (ms): what the master chose, whatever the machine's load */
  delayMsTotal: number;
}

/** What a test sees of a server: its settings as API calls left them, and its counter now. */
export interface ServerView {
  id: number;
  uuid: string;
  hostname: string;
  node: NodeRef;
  clientId: number;
  type: ServerType;
  ip: string;
  createdAt: string;
  /** SolusVM 1 state: disabled = suspended */
  state: ServerState;
  power: 'online' | 'offline';
  suspended: boolean;
  /** vserver-change-nspeed customnspeed (0 = not limited) */
  nspeed: number;
  limitBytes: bigint;
  overlimitBytes: bigint;
  plan: PlanRef;
  /** SolusVM 2 limits set by resize */
  limits: Record<string, PlanLimit>;
  counter: bigint;
  incoming: bigint;
  outgoing: bigint;
  lastResetAt: string;
  nextResetAt: string | null;
}

type BulkOptions = BulkTemplate;

let sharedCert: Promise<{ key: string; cert: string }> | null = null;

async function makeCert(): Promise<{ key: string; cert: string }> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'solusvm-simulator.local' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 86_400_000),
    notAfterDate: new Date(now + 5 * 365 * 86_400_000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function normaliseIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const MAX_BODY = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function readMultipart(req: http.IncomingMessage, into: V1Params): Promise<void> {
  return new Promise((resolve, reject) => {
    const bb = busboy({ headers: req.headers, limits: { fieldSize: MAX_BODY, fields: 200, files: 5 } });
    bb.on('field', (name, value) => {
      into[name] = value;
    });
    bb.on('file', (_name, stream) => stream.resume());
    bb.on('close', () => resolve());
    bb.on('error', reject);
    req.pipe(bb);
  });
}

/**
 * The name=value pairs of a form body as URLSearchParams reads them. A body without % or + (what
 * a client sends for plain ids and words) needs no decoding: it is cut at & and the first =.
 */
function formPairs(body: string): Iterable<[string, string]> {
  if (body.includes('%') || body.includes('+')) return new URLSearchParams(body);
  const pairs: Array<[string, string]> = [];
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/** GET parameters overlaid by POST fields, like PHP's $_REQUEST. */
async function readV1Params(req: http.IncomingMessage, query: string): Promise<V1Params> {
  const params: V1Params = Object.fromEntries(new URLSearchParams(query));
  if (req.method === 'POST') {
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    if (ct.startsWith('multipart/form-data')) await readMultipart(req, params);
    else {
      const body = await readBody(req);
      // PHP fills $_POST only for form encodings; other bodies are ignored
      if (ct === '' || ct.startsWith('application/x-www-form-urlencoded'))
        Object.assign(params, Object.fromEntries(formPairs(body)));
    }
  } else {
    req.resume();
  }
  return params;
}

const HTML_404 = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n`;

/**
 * One simulated SolusVM master: its servers, their counters (computed from the clock on every
 * read, never stored), the API of its version on a loopback port, and the faults it shows.
 */
/** A master's changed state, JSON-safe (bytes as decimal strings). */
export interface SimMasterState {
  servers: Array<{
    id: number;
    power: 'online' | 'offline';
    suspended: boolean;
    limitBytes: string;
    overlimitBytes: string;
    nspeed: number;
    plan: PlanRef;
    limits: Record<string, PlanLimit>;
    manualResets: number[];
    resetPolicy: ResetPolicy | null;
    corrections: Array<{ atMs: number; bytes: string }>;
  }>;
  skipped: number[];
  lateResets: number[];
}

export class SimMaster {
  readonly name: string;
  readonly version: 1 | 2;
  readonly zone: string;
  readonly resetPolicy: ResetPolicy;
  readonly store: ServerStore;
  readonly cal: ZoneCalendar;
  readonly allowedIps: Set<string> | null;
  readonly v1Credentials: V1Credentials | null;
  readonly v2Token: string | null;
  readonly v1NotFound: 'bare' | 'status';
  url = '';
  port = 0;
  /** SHA-256 fingerprint of the certificate, AA:BB:… (TLS masters) */
  fingerprint256: string | null = null;

  private readonly opts: MasterOptions;
  private readonly clock: () => number;
  private httpServer: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private isDown = false;
  private listening = false;
  private transition: Promise<void> = Promise.resolve();
  private faultState = new FaultState({});
  private readonly tasks = new Map<number, Task>();
  private nextTaskId = 1;
  private st: MasterStats = {
    requests: 0,
    byAction: {},
    byStatus: {},
    faultsInjected: 0,
    liveStateChecks: 0,
    inFlight: 0,
    maxInFlight: 0,
    answered: 0,
    serviceMsTotal: 0,
    serviceMsMin: null,
    delayMsTotal: 0,
  };
  private keyRevoked = false;

  constructor(opts: MasterOptions, clock: () => number, serial: number) {
    if (opts.version !== 1 && opts.version !== 2) throw new Error('version must be 1 or 2');
    if (!RESET_POLICIES.includes(opts.resetPolicy))
      throw new Error(`resetPolicy must be one of ${RESET_POLICIES.join(', ')}`);
    this.opts = opts;
    this.name = opts.name;
    this.version = opts.version;
    this.zone = opts.zone;
    this.resetPolicy = opts.resetPolicy;
    this.cal = zoneCalendar(opts.zone);
    this.clock = clock;
    this.store = new ServerStore(serial, opts.zone);
    this.allowedIps = opts.allowedIps ? new Set(opts.allowedIps) : null;
    this.v1NotFound = opts.v1NotFound ?? 'bare';
    const c = opts.credentials as Partial<V1Credentials & V2Credentials>;
    if (opts.version === 1) {
      if (typeof c.apiId !== 'string' || typeof c.apiKey !== 'string')
        throw new Error('a SolusVM 1 master needs credentials {apiId, apiKey}');
      this.v1Credentials = { apiId: c.apiId, apiKey: c.apiKey };
      this.v2Token = null;
    } else {
      if (typeof c.token !== 'string') throw new Error('a SolusVM 2 master needs credentials {token}');
      this.v1Credentials = null;
      this.v2Token = c.token;
    }
  }

  now(): number {
    return this.clock();
  }

  // ---- servers and counters -------------------------------------------------------------

  addServer(spec: ServerSpec): ServerView {
    const rec = this.store.add(spec);
    return this.view(rec, this.now());
  }

  addServers(count: number, template: BulkOptions): { idStart: number; idEnd: number } {
    return this.store.addRange(count, template);
  }

  addNode(node: NodeRef & { type: ServerType }): void {
    this.store.addNode(node);
  }

  private anchorDay(rec: ServerRecord): number {
    return civilDate(this.cal.dayOf(rec.createdAtMs)).day;
  }

  /** The server's reset policy: its plan's (SolusVM 2), else the master's. */
  policyOf(rec: ServerRecord): ResetPolicy {
    return rec.resetPolicy ?? this.resetPolicy;
  }

  /** Policy resets the master's cron did not do (it was down that night): the counter went on. */
  private readonly skipped = new Set<number>();
  /** The cron run late: every server's counter went to zero at these instants. */
  private readonly lateResets: number[] = [];

  /** The latest policy reset that happened at or before `ms` (one the cron skipped did not). */
  private policyResetBefore(rec: ServerRecord, ms: number): number | null {
    let b = lastPolicyReset(this.cal, this.policyOf(rec), this.anchorDay(rec), ms);
    while (b !== null && this.skipped.has(b) && b > rec.createdAtMs)
      b = lastPolicyReset(this.cal, this.policyOf(rec), this.anchorDay(rec), b - 1);
    return b;
  }

  /** The instant the counter last went to zero at or before `ms`: creation, policy reset, a late cron run or a manual reset. */
  lastResetOf(rec: ServerRecord, ms: number): number {
    let last = rec.createdAtMs;
    const policy = this.policyResetBefore(rec, ms);
    if (policy !== null && policy > last) last = policy;
    for (const list of [rec.manualResets, this.lateResets]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const r = list[i]!;
        if (r <= ms) {
          if (r > last) last = r;
          break;
        }
      }
    }
    return last;
  }

  counterOf(rec: ServerRecord, ms: number): bigint {
    if (ms <= rec.createdAtMs) return 0n;
    const from = this.lastResetOf(rec, ms);
    // A correction sets the counter lower at its instant (never below zero); traffic after it
    // counts on from there.
    let lowered = 0n;
    for (const c of rec.corrections) {
      if (c.atMs <= from || c.atMs > ms) continue;
      const then = bytesBetween(this.cal, rec.profile, from, c.atMs) - lowered;
      lowered += c.bytes < then ? c.bytes : then;
    }
    return bytesBetween(this.cal, rec.profile, from, ms) - lowered;
  }

  trafficOf(rec: ServerRecord, fromMs: number, toMs: number): bigint {
    return bytesBetween(this.cal, rec.profile, Math.max(fromMs, rec.createdAtMs), toMs);
  }

  private must(id: number): ServerRecord {
    const rec = this.store.get(id);
    if (!rec) throw new Error(`no server ${id} on master ${this.name}`);
    return rec;
  }

  private mustMutable(id: number): ServerRecord {
    const rec = this.store.mutable(id);
    if (!rec) throw new Error(`no server ${id} on master ${this.name}`);
    return rec;
  }

  /** Ground truth: the counter the API reports at `ms` (default now). */
  counterAt(id: number, ms?: number): bigint {
    return this.counterOf(this.must(id), ms ?? this.now());
  }

  /** Ground truth: bytes the server moved in [fromMs, toMs), whatever the resets. */
  trafficBetween(id: number, fromMs: number, toMs: number): bigint {
    return this.trafficOf(this.must(id), fromMs, toMs);
  }

  private view(rec: ServerRecord, now: number): ServerView {
    const counter = this.counterOf(rec, now);
    const { incoming, outgoing } = splitCounter(rec, counter);
    const next = nextPolicyReset(this.cal, this.policyOf(rec), this.anchorDay(rec), now);
    return {
      id: rec.id,
      uuid: rec.uuid,
      hostname: rec.hostname,
      node: { ...rec.node },
      clientId: rec.clientId,
      type: rec.type,
      ip: rec.ip,
      createdAt: new Date(rec.createdAtMs).toISOString(),
      state: v1State(rec),
      power: rec.power,
      suspended: rec.suspended,
      nspeed: rec.nspeed,
      limitBytes: rec.limitBytes,
      overlimitBytes: rec.overlimitBytes,
      plan: { ...rec.plan },
      limits: structuredClone(rec.limits),
      counter,
      incoming,
      outgoing,
      lastResetAt: new Date(Math.min(this.lastResetOf(rec, now), now)).toISOString(),
      nextResetAt: next === null ? null : new Date(next).toISOString(),
    };
  }

  server(id: number): ServerView | undefined {
    const rec = this.store.get(id);
    return rec ? this.view(rec, this.now()) : undefined;
  }

  /** A manual reset in the master's UI: the counter restarts from zero at `atMs` (default now). */
  resetCounter(id: number, atMs?: number): void {
    const rec = this.mustMutable(id);
    rec.manualResets.push(atMs ?? this.now());
    rec.manualResets.sort((a, b) => a - b);
  }

  /** The master's daily cron did not run at this policy boundary (epoch ms of the local midnight): no counter reset then. */
  skipPolicyReset(boundaryMs: number): void {
    this.skipped.add(boundaryMs);
  }

  /** The cron ran late: every counter goes to zero at `atMs`. */
  resetAllAt(atMs: number): void {
    this.lateResets.push(atMs);
    this.lateResets.sort((a, b) => a - b);
  }

  /** An admin corrects a server's counter down by `bytes` at `atMs` (default now): a drop that is not a reset. */
  correctCounter(id: number, bytes: bigint, atMs?: number): void {
    const rec = this.mustMutable(id);
    rec.corrections.push({ atMs: atMs ?? this.now(), bytes });
    rec.corrections.sort((a, b) => a.atMs - b.atMs);
  }

  /** SolusVM 2: move a server to a plan that resets on another policy. */
  setResetPolicy(id: number, policy: ResetPolicy | null): void {
    this.mustMutable(id).resetPolicy = policy;
  }

  /**
   * What calls and test hooks changed (per server: power, suspension, limits, speed, plan, manual
   * resets and corrections; the master's skipped and late resets), as JSON-safe data: a host that
   * restarts the simulator (the demo) gives it back with `importState` so SolusVM "remembers".
   */
  exportState(): SimMasterState {
    return {
      servers: this.store.kept().map((r) => ({
        id: r.id,
        power: r.power,
        suspended: r.suspended,
        limitBytes: r.limitBytes.toString(),
        overlimitBytes: r.overlimitBytes.toString(),
        nspeed: r.nspeed,
        plan: { ...r.plan },
        limits: structuredClone(r.limits),
        manualResets: [...r.manualResets],
        resetPolicy: r.resetPolicy,
        corrections: r.corrections.map((c) => ({ atMs: c.atMs, bytes: c.bytes.toString() })),
      })),
      skipped: [...this.skipped],
      lateResets: [...this.lateResets],
    };
  }

  /** Puts back what `exportState` gave; servers this master does not have are left out (and named). */
  importState(state: SimMasterState): { missing: number[] } {
    const missing: number[] = [];
    for (const x of state.servers) {
      if (!this.store.has(x.id)) {
        missing.push(x.id);
        continue;
      }
      const rec = this.mustMutable(x.id);
      rec.power = x.power;
      rec.suspended = x.suspended;
      rec.limitBytes = BigInt(x.limitBytes);
      rec.overlimitBytes = BigInt(x.overlimitBytes);
      rec.nspeed = x.nspeed;
      rec.plan = { ...x.plan };
      rec.limits = structuredClone(x.limits);
      rec.manualResets = [...x.manualResets].sort((a, b) => a - b);
      rec.resetPolicy = x.resetPolicy;
      rec.corrections = x.corrections
        .map((c) => ({ atMs: c.atMs, bytes: BigInt(c.bytes) }))
        .sort((a, b) => a.atMs - b.atMs);
    }
    for (const b of state.skipped) this.skipped.add(b);
    for (const at of state.lateResets) if (!this.lateResets.includes(at)) this.lateResets.push(at);
    this.lateResets.sort((a, b) => a - b);
    return { missing };
  }

  /** `fn` runs (once, on the next turn) after an API call or a hook changed a server. */
  onChange(fn: (() => void) | null): void {
    let queued = false;
    this.store.onMutate = fn
      ? () => {
          if (queued) return;
          queued = true;
          setImmediate(() => {
            queued = false;
            fn();
          });
        }
      : null;
  }

  /** SolusVM changing state on its own (auto-suspend, a crash, an admin in the UI). */
  setState(id: number, state: ServerState): void {
    const rec = this.mustMutable(id);
    if (state === 'disabled') rec.suspended = true;
    else if (state === 'online' || state === 'offline') {
      rec.power = state;
      rec.suspended = false;
    } else throw new Error(`state must be online, offline or disabled, got ${String(state)}`);
  }

  /** Change the traffic limit behind the module's back (bytes; 0 = unlimited). */
  setLimit(id: number, limitBytes: bigint): void {
    this.mustMutable(id).limitBytes = limitBytes;
  }

  // ---- tasks (SolusVM 2) ------------------------------------------------------------------

  createTask(rec: ServerRecord, action: string, willFail: boolean): Task {
    const t: Task = {
      id: this.nextTaskId++,
      serverId: rec.id,
      computeResourceId: rec.node.id,
      action,
      status: 'pending',
      progress: 0,
      willFail,
      createdAtMs: this.now(),
    };
    this.tasks.set(t.id, t);
    return t;
  }

  task(id: number): Task | undefined {
    return this.tasks.get(id);
  }

  // ---- faults and stats -------------------------------------------------------------------

  /** Replace the active faults. Resolves once a `down` master has stopped (or restarted) listening. */
  setFaults(faults: Faults): Promise<void> {
    const st = new FaultState(faults);
    this.faultState = st;
    const f = st.faults;
    const downNow =
      Boolean(f.down) && f.failRate === undefined && f.failAfterRequests === undefined && !f.onlyServers;
    return downNow ? this.goDown() : this.goUp();
  }

  clearFaults(): Promise<void> {
    return this.setFaults({});
  }

  currentFaults(): Faults {
    return { ...this.faultState.faults };
  }

  get down(): boolean {
    return this.isDown;
  }

  /** The API key (v1) or token (v2) is revoked on the master: every call is refused from now on. */
  revokeKey(): void {
    this.keyRevoked = true;
  }

  get revoked(): boolean {
    return this.keyRevoked;
  }

  get reseller(): MasterOptions['reseller'] | null {
    return this.opts.reseller ?? null;
  }

  get oldUnitLabels(): boolean {
    return this.opts.oldUnitLabels === true;
  }

  /** counted by the v1 API when a read makes the node look at the server's live state */
  noteLiveStateCheck(): void {
    this.st.liveStateChecks++;
  }

  stats(): MasterStats {
    return { ...this.st, byAction: { ...this.st.byAction }, byStatus: { ...this.st.byStatus } };
  }

  resetStats(): void {
    this.st = {
      requests: 0,
      byAction: {},
      byStatus: {},
      faultsInjected: 0,
      liveStateChecks: 0,
      inFlight: this.st.inFlight,
      maxInFlight: this.st.inFlight,
      answered: 0,
      serviceMsTotal: 0,
      serviceMsMin: null,
      delayMsTotal: 0,
    };
  }

  // ---- listener ---------------------------------------------------------------------------

  async listen(): Promise<string> {
    if (this.httpServer) return this.url;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end(`bad request: ${err instanceof Error ? err.message : String(err)}`);
        } else res.destroy();
      });
    };
    let server: http.Server;
    const tls = this.opts.tls;
    if (tls) {
      const pair =
        typeof tls === 'object' && tls.cert && tls.key
          ? { cert: tls.cert, key: tls.key }
          : typeof tls === 'object' && tls.fresh
            ? await makeCert()
            : await (sharedCert ??= makeCert());
      this.fingerprint256 = new X509Certificate(pair.cert).fingerprint256;
      server = https.createServer({ key: pair.key, cert: pair.cert }, handler);
    } else {
      server = http.createServer(handler);
    }
    server.keepAliveTimeout = 10_000;
    // node answers any Expect other than 100-continue with 417; an empty `Expect:` (what PHP
    // clients mean to send: none) must go through like a plain request
    server.on('checkExpectation', handler);
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.httpServer = server;
    await this.bind(this.opts.port ?? 0);
    const addr = server.address() as AddressInfo;
    this.port = addr.port;
    const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    this.url = this.version === 1 ? origin : `${origin}/api/v1`;
    this.listening = true;
    if (this.isDown) {
      this.isDown = false;
      await this.goDown();
    }
    return this.url;
  }

  private bind(port: number): Promise<void> {
    const server = this.httpServer!;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  private serialise(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step, step);
    return this.transition;
  }

  /** Stop listening and drop every connection: clients get ECONNREFUSED until goUp. */
  private goDown(): Promise<void> {
    return this.serialise(async () => {
      if (this.isDown) return;
      this.isDown = true;
      const server = this.httpServer;
      if (!server || !this.listening) return;
      this.listening = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of this.sockets) s.destroy();
      });
    });
  }

  private goUp(): Promise<void> {
    return this.serialise(async () => {
      if (!this.isDown) return;
      this.isDown = false;
      if (!this.httpServer || this.listening) return;
      await this.bind(this.port);
      this.listening = true;
    });
  }

  async close(): Promise<void> {
    const server = this.httpServer;
    if (!server) return;
    await this.transition.catch(() => undefined);
    this.httpServer = null;
    for (const s of this.sockets) s.destroy();
    if (this.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.listening = false;
  }

  // ---- request handling ---------------------------------------------------------------------

  private count(key: string): void {
    this.st.requests++;
    this.st.byAction[key] = (this.st.byAction[key] ?? 0) + 1;
  }

  private send(res: http.ServerResponse, reply: Reply): void {
    if (res.destroyed) return;
    const status = String(reply.status);
    this.st.byStatus[status] = (this.st.byStatus[status] ?? 0) + 1;
    res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
    res.end(reply.body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrived = performance.now();
    this.st.inFlight++;
    if (this.st.inFlight > this.st.maxInFlight) this.st.maxInFlight = this.st.inFlight;
    res.once('close', () => {
      this.st.inFlight--;
    });
    res.once('finish', () => {
      const took = performance.now() - arrived;
      this.st.answered++;
      this.st.serviceMsTotal += took;
      this.st.serviceMsMin = Math.min(this.st.serviceMsMin ?? took, took);
    });

    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? '' : raw.slice(q + 1);
    const method = req.method ?? 'GET';

    let key: string;
    let serverId: number | undefined;
    let produce: () => Reply;
    let decision: FaultDecision | null = null;

    if (this.version === 1) {
      const scope =
        path === '/api/admin/command.php'
          ? 'admin'
          : path === '/api/reseller/command.php' && this.opts.reseller
            ? 'reseller'
            : null;
      if (scope === null) {
        req.resume();
        key = `${method} ${path}`;
        produce = () => ({
          status: 404,
          headers: { 'content-type': 'text/html; charset=iso-8859-1' },
          body: HTML_404,
          kind: 'html',
        });
      } else {
        const params = await readV1Params(req, query);
        key = params.action || '(no action)';
        serverId = v1ServerId(params);
        const remoteIp = normaliseIp(req.socket.remoteAddress);
        produce = () => this.basicAuthReply(req) ?? handleV1(this, params, remoteIp, scope);
      }
    } else {
      const body = method === 'GET' || method === 'HEAD' ? (req.resume(), '') : await readBody(req);
      if (!path.startsWith('/api/v1/')) {
        key = `${method} ${path}`;
        produce = () => jsonReply(404, '{"message":"Not found."}');
      } else {
        const route = routeV2(
          this,
          { method, path: path.slice('/api/v1'.length), query: new URLSearchParams(query), body },
          () => decision?.taskFail ?? false,
        );
        key = route.key;
        serverId = route.serverId;
        produce = () => (this.bearerOk(req) ? route.run() : jsonReply(401, '{"message":"Unauthenticated."}'));
      }
    }

    this.count(key);
    decision = this.faultState.decide(serverId);
    this.st.delayMsTotal += decision.delayMs;
    if (decision.delayMs > 0) await sleepUntil(arrived + decision.delayMs);
    const failure = decision.failure;
    if (failure) {
      this.st.faultsInjected++;
      switch (failure.kind) {
        case 'down':
          // per-server: this connection is dropped; global: the whole listener goes away
          if (!this.faultState.faults.onlyServers) void this.goDown();
          req.socket.destroy();
          return;
        case 'timeout':
          return; // never answered; the socket dies with the client or with close()
        case 'rateLimit':
          return this.send(
            res,
            jsonReply(429, '{"message":"Too Many Attempts."}', {
              'retry-after': String(failure.retryAfterSec),
            }),
          );
        case 'httpStatus':
          return this.send(res, { ...statusPage(failure.status), kind: 'html' });
        case 'html':
          return this.send(res, { ...htmlPage(failure.status), kind: 'html' });
        case 'bareText':
          return this.send(res, {
            ...bareText(failure.text),
            headers: {
              'content-type': this.version === 1 ? 'text/html; charset=UTF-8' : 'text/plain; charset=UTF-8',
            },
          });
        case 'malformed': {
          const reply = produce();
          return this.send(res, {
            ...reply,
            body:
              reply.kind === 'xml' || reply.kind === 'json'
                ? malform(reply.body, failure.mode, reply.kind === 'xml')
                : reply.body,
          });
        }
      }
    }
    this.send(res, produce());
  }

  private basicAuthReply(req: http.IncomingMessage): Reply | null {
    const ba = this.opts.basicAuth;
    if (!ba) return null;
    const h = req.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${ba.user}:${ba.password}`).toString('base64')}`;
    if (h === expected) return null;
    return { ...htmlPage(401), kind: 'html' };
  }

  private bearerOk(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m !== null && m[1]!.trim() === this.v2Token && !this.keyRevoked;
  }
}

// Latency is counted from the request's arrival, so the time spent reading the request is part of
// it, as on a real master; the answer never leaves before the configured latency has passed. A
// timer counts from the event loop's cached millisecond, which can be most of a millisecond old
// when it is set, so it can fire that much early: it is set again for what is left.
async function sleepUntil(deadline: number): Promise<void> {
  for (let wait = deadline - performance.now(); wait > 0; wait = deadline - performance.now())
    await new Promise((r) => setTimeout(r, Math.ceil(wait)));
}
