import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Knex } from 'knex';
import { silentLogger, type Logger } from '../../module/adapters/logger.js';
import { createWhmcsHttpApi } from '../../module/adapters/whmcs-http-api.js';
import { createBridgeStore, type BridgeStore } from '../../module/adapters/bridge-store.js';
import { createBridgeRelay, type BridgeRelay, type IdleTimer } from '../../module/adapters/bridge-relay.js';
import { createBridgeRouter } from '../../module/web/bridge-router.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import type { HookDefinition } from '../../hooks/hook-types.js';
import {
  buildPanel,
  seedStory,
  serveApi,
  type PanelFixture,
  type ServedApi,
  type Story,
} from '../panel/support.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { freePort } from '../support/free-port.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import {
  checkMysql,
  createTestDatabase,
  MYSQL_URL,
  REQUIRE_MYSQL,
  type TestDatabase,
} from '../support/engines.js';

export const REQUIRE_PHP = process.env.OVERUSAGE_TEST_REQUIRE_PHP === '1';
export const HARNESS = path.resolve(import.meta.dirname, 'harness', 'run.php');
export const SECRET = 'test-bridge-secret-0123456789abcdef-0123456789';
export const GB = 10n ** 9n;

let phpCheck: { ok: true; curl: boolean; version: string } | { ok: false; reason: string } | null = null;

/** Whether Debian's php-cli is here (and whether it has curl). */
export function php(): { ok: true; curl: boolean; version: string } | { ok: false; reason: string } {
  if (phpCheck) return phpCheck;
  const r = spawnSync('php', ['-r', 'echo json_encode([PHP_VERSION, function_exists("curl_init")]);'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error || r.status !== 0)
    phpCheck = { ok: false, reason: r.error ? r.error.message : `php exited with ${r.status}: ${r.stderr}` };
  else {
    const [version, curl] = JSON.parse(r.stdout) as [string, boolean];
    phpCheck = { ok: true, curl, version };
  }
  return phpCheck;
}

/**
 * WHMCS's database for a bridge test: MariaDB, a database of the test's own (dropped by the
 * caller). Skips without php or MariaDB, unless CI requires them (OVERUSAGE_TEST_REQUIRE_PHP=1,
 * OVERUSAGE_TEST_REQUIRE_MYSQL=1), where a missing one fails.
 */
export async function bridgeDatabase(ctx: Mocha.Context): Promise<TestDatabase> {
  requirePhp(ctx);
  const reason = await checkMysql();
  if (reason) {
    if (REQUIRE_MYSQL)
      throw new Error(`MariaDB/MySQL is required but unreachable at ${MYSQL_URL}: ${reason}`);
    ctx.skip();
  }
  return createTestDatabase('mysql');
}

/** WHMCS's form token for a session's tkval (the harness's generate_token; php-cli has no session id). */
export function whmcsToken(tkval: string, sessionId = ''): string {
  return crypto.createHash('sha1').update(`${tkval}${sessionId}:whmcscrsf`).digest('hex');
}

/**
 * Skips when php's curl extension is missing (the bridge then uses PHP's HTTP streams, tested
 * apart); in CI (OVERUSAGE_TEST_REQUIRE_PHP=1, which installs php-curl) requirePhp fails instead:
 * WHMCS always has curl, so CI never passes without the curl transport tested.
 */
export function requireCurl(ctx: Mocha.Context): void {
  requirePhp(ctx);
  if (!(php() as { curl?: boolean }).curl) ctx.skip();
}

/** Skips when php is missing, unless OVERUSAGE_TEST_REQUIRE_PHP=1 (CI), where it fails (and so does a php without curl). */
export function requirePhp(ctx: Mocha.Context): void {
  const p = php();
  // CI runs the bridge as WHMCS does, over curl (the streams fallback has a test of its own)
  if (p.ok && REQUIRE_PHP && !p.curl)
    throw new Error(
      "php's curl extension is required (OVERUSAGE_TEST_REQUIRE_PHP=1) but missing: install php-curl",
    );
  if (p.ok) return;
  if (REQUIRE_PHP)
    throw new Error(`php-cli is required (OVERUSAGE_TEST_REQUIRE_PHP=1) but not usable: ${p.reason}`);
  ctx.skip();
}

export interface HarnessInput {
  action: 'hook' | 'hooks' | 'activate' | 'deactivate' | 'upgrade' | 'output' | 'clientarea' | 'config';
  hook?: string;
  vars?: unknown;
  session?: Record<string, unknown>;
  get?: Record<string, unknown>;
  post?: Record<string, unknown>;
  method?: string;
  settings?: Record<string, string>;
  noCurl?: boolean;
  failLocalApi?: string[];
  menu?: Array<{ name: string; label: string; order: number; bodyHtml?: string }>;
  service?: Record<string, unknown>;
  fromVersion?: string;
  /** what WHMCS's check_token does on a bad token: end the request (as WHMCS does) or answer false */
  tokenFailure?: 'exit' | 'false';
  /** the addon folder to load (default: the repository's modules/addons/overusage) */
  addonDir?: string;
}

export interface HarnessOutput {
  ret: unknown;
  echoed: string;
  activity: Array<{ description: string; userid: number }>;
  localApi: string[];
  errors: string[];
  menu: Array<{
    name: string;
    label: string;
    order: number;
    bodyHtml: string;
    footerHtml: string;
    icon: string;
    badge: string;
    extras: Record<string, string>;
    children: unknown[];
  }> | null;
  answers?: number;
  /** WHMCS's module log as logModuleCall() kept it (its replace list masked) */
  moduleLog: Array<{ module: string; action: string; request: string; response: string; processed: string }>;
  /** what hooks.php registered: hook name → priorities */
  hooks: Record<string, number[]>;
  /** the namespace of a check_token() call that failed, if one did */
  tokenRefused: string | null;
}

/** Runs one "WHMCS page load" of the harness under php-cli with every error reported. */
export function runHarness(
  input: HarnessInput & { db: string; panelApi?: { url: string; identifier: string; secret: string } },
): Promise<HarnessOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'php',
      ['-d', 'error_reporting=-1', '-d', 'display_errors=stderr', '-d', 'log_errors=0', HARNESS],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as HarnessOutput;
        // anything PHP printed on stderr is an error too (display_errors=stderr)
        if (err.trim()) parsed.errors.push(`stderr: ${err.trim()}`);
        resolve(parsed);
      } catch {
        reject(new Error(`the harness exited with ${code} and no JSON:\nstdout: ${out}\nstderr: ${err}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

export interface Gate {
  /** destroy the connection of the next /results request that reports one of these commands */
  dropResultsOf: string | null;
  /** requests seen, by endpoint */
  seen: string[];
  /** raw requests, for replay tests */
  captured: Array<{ endpoint: string; headers: Record<string, string>; body: Buffer }>;
}

/**
 * The relay's idle timeout counted by the test instead of the wall clock: nothing expires until
 * `expire()` says the bridge did not come back, however slow a loaded machine is.
 */
export interface ManualIdle extends IdleTimer {
  /** the timeouts armed and not yet disarmed or fired, in ms */
  armed(): number[];
  /** the time is up: fires every armed timeout; how many */
  expire(): number;
}

export function manualIdle(): ManualIdle {
  const timers = new Set<{ fire: () => void; ms: number }>();
  return {
    arm(fire, ms) {
      const t = { fire, ms };
      timers.add(t);
      return () => void timers.delete(t);
    },
    armed: () => [...timers].map((t) => t.ms),
    expire() {
      const due = [...timers];
      timers.clear();
      for (const t of due) t.fire();
      return due.length;
    },
  };
}

export interface BridgeWorld {
  f: PanelFixture;
  story: Story;
  mod: OverusageModule;
  fake: FakeMaster;
  api: ServedApi;
  store: BridgeStore;
  relay: BridgeRelay;
  /** the relay's idle timeout, when the world was built with `manualIdle` */
  idle: ManualIdle | null;
  serviceUrl: string;
  /** WHMCS's database as the bridge's Capsule connects to it (the panel's, which holds WHMCS's tables) */
  dbUrl: string;
  /** a folder of the world's own, removed on close */
  dir: string;
  gate: Gate;
  /** handlers added to the module's own (tests of return semantics for hooks the module does not handle yet) */
  extraHooks: HookDefinition[];
  /** what the module's addon functions were called with, through the bridge */
  addonCalls: Array<{
    fn: 'activate' | 'deactivate' | 'upgrade' | 'output' | 'clientarea' | 'download';
    vars: Record<string, unknown>;
    result?: unknown;
  }>;
  settings: Record<string, string>;
  runs: HarnessOutput[];
  php(input: HarnessInput): Promise<HarnessOutput>;
  fire(hook: string, vars?: unknown, extra?: Partial<HarnessInput>): Promise<HarnessOutput>;
  /** the reference panel's own hook points forward to the bridge, like WHMCS with hooks.php */
  connectPanel(hooks?: string[]): void;
  close(): Promise<void>;
}

/** The bridge's own tables in WHMCS's database (modules/addons/overusage/lib/Schema.php). */
export const BRIDGE_TABLES = [
  'mod_overusage_bridge_outbox',
  'mod_overusage_bridge_missed',
  'mod_overusage_bridge_throttle',
];

export async function listenOn(
  app: Express,
  tls?: { key: string; cert: string },
): Promise<{ server: http.Server; url: string }> {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, app) : http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A port nothing listens on: "the service is down". */
export async function deadUrl(): Promise<string> {
  // below the ephemeral range: no other process's port-0 server can take it meanwhile (free-port.ts)
  return `http://127.0.0.1:${await freePort()}`;
}

/**
 * The seed scenario with WHMCS's side played by the bridge under php-cli: the reference panel
 * (its API served on 127.0.0.1 for localAPI), the module composed with it — through the relay
 * (the default) or through the External API —, and the bridge router serving the module.
 */
export async function buildBridgeWorld(
  db: { knex: Knex; url: string },
  opts: {
    mode?: 'relay' | 'api';
    failMode?: 'open' | 'closed';
    log?: Logger;
    idleTimeoutMs?: number;
    /** how long the relay waits before answering "working" (1 500 ms unless said) */
    pollMs?: number;
    manualIdle?: boolean;
    tls?: { key: string; cert: string };
  } = {},
): Promise<BridgeWorld> {
  const knex = db.knex;
  // the bridge's tables of an earlier world in this database are not this world's
  for (const t of BRIDGE_TABLES) await knex.schema.dropTableIfExists(t);
  const f = await buildPanel(knex, {
    start: '2013-04-30T08:00:00Z',
    settings: { CreateInvoiceDaysBefore: '7' },
  });
  const story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-06-09' });
  const api = await serveApi(f);
  const log = opts.log ?? silentLogger;
  const store = createBridgeStore(knex);
  const idle = opts.manualIdle ? manualIdle() : null;
  const relay = createBridgeRelay({
    store,
    log,
    pollMs: opts.pollMs ?? 1500,
    idleTimeoutMs: opts.idleTimeoutMs ?? 8000,
    ...(idle ? { idleTimer: idle } : {}),
  });
  const panelApi =
    opts.mode === 'api'
      ? createWhmcsHttpApi({ url: api.url, identifier: api.identifier, secret: api.secret, retries: 0 })
      : relay.api;
  const fake = new FakeMaster();
  const mod = createModule({
    knex,
    clock: f.clock,
    secretKey: TEST_SECRET_KEY,
    zone: 'Europe/Brussels',
    gatewayFor: () => fake.gateway(),
    panel: panelApi,
    log,
    metering: { writer: 'inline' },
  });
  await mod.migrateDown();
  await mod.migrate();
  const master = await mod.masters.add(
    {
      name: 'solus',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: 'Europe/Brussels',
    },
    CLI_ACTOR,
  );
  for (const [serviceId, clientId, ref] of [
    [story.serviceId, story.clientId, '101'],
    [story.dutchServiceId, story.dutchClientId, '102'],
  ] as const) {
    await mod.links.link(
      { serviceId, clientId, productId: story.productId, masterId: master.id, serverRef: ref },
      CLI_ACTOR,
    );
  }
  await mod.billing.setProduct(
    story.productId,
    {
      unit: 'GB',
      model: 'per_unit',
      allowance: '5 TB',
      prices: { EUR: { overage: '0.50', precommit: '0.35' } },
      window: { days: 14, counting: 'calendar', holidays: 'BE' },
    },
    CLI_ACTOR,
  );

  const gate: Gate = { dropResultsOf: null, seen: [], captured: [] };
  const extraHooks: HookDefinition[] = [];
  const addonCalls: BridgeWorld['addonCalls'] = [];
  const a = mod.addon;
  const addon = {
    templatesDir: a.templatesDir,
    activate: () => (addonCalls.push({ fn: 'activate', vars: {} }), a.activate()),
    deactivate: () => (addonCalls.push({ fn: 'deactivate', vars: {} }), a.deactivate()),
    upgrade: (v: { version: string }) => (addonCalls.push({ fn: 'upgrade', vars: v }), a.upgrade(v)),
    output: async (v: Record<string, unknown>) => {
      const call: BridgeWorld['addonCalls'][number] = { fn: 'output', vars: v };
      addonCalls.push(call);
      return (call.result = await a.output(v));
    },
    clientarea: async (v: Record<string, unknown>) => {
      const call: BridgeWorld['addonCalls'][number] = { fn: 'clientarea', vars: v };
      addonCalls.push(call);
      return (call.result = await a.clientarea(v));
    },
    download: async (v: Record<string, unknown>) => {
      const call: BridgeWorld['addonCalls'][number] = { fn: 'download', vars: v };
      addonCalls.push(call);
      return (call.result = await a.download(v));
    },
  };
  const app = express();
  app.use('/bridge/v1/:endpoint', express.raw({ type: () => true, limit: '8mb' }), async (req, res, next) => {
    const endpoint = String(req.params.endpoint);
    gate.seen.push(endpoint);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    gate.captured.push({
      endpoint,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body,
    });
    if (endpoint === 'results' && gate.dropResultsOf) {
      const results =
        (JSON.parse(body.toString('utf8')) as { results?: Array<{ key: string }> }).results ?? [];
      for (const r of results) {
        if ((await store.get(r.key))?.command === gate.dropResultsOf) {
          gate.dropResultsOf = null;
          // the bridge applied it, but its report never arrives
          req.socket.destroy();
          return;
        }
      }
    }
    next();
  });
  app.use(
    createBridgeRouter({
      secret: SECRET,
      store,
      relay,
      hooks: () => [...mod.hooks(), ...extraHooks],
      addon,
      log,
    }),
  );
  const { server, url: serviceUrl } = await listenOn(app, opts.tls);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bridge-'));
  const settings: Record<string, string> = {
    service_url: serviceUrl,
    shared_secret: SECRET,
    timeout: '10',
    fail_mode: opts.failMode ?? 'open',
  };
  const runs: HarnessOutput[] = [];
  let settingsWritten = false;

  const world: BridgeWorld = {
    f,
    story,
    mod,
    fake,
    api,
    store,
    relay,
    idle,
    serviceUrl,
    dbUrl: db.url,
    dir,
    gate,
    extraHooks,
    addonCalls,
    settings,
    runs,
    async php(input) {
      // the admin's configuration goes in once, and again whenever a test changes it
      const withSettings = input.settings
        ? { ...settings, ...input.settings }
        : settingsWritten
          ? undefined
          : settings;
      settingsWritten = true;
      const out = await runHarness({
        ...input,
        ...(withSettings ? { settings: withSettings } : {}),
        db: db.url,
        panelApi: { url: api.url, identifier: api.identifier, secret: api.secret },
      });
      runs.push(out);
      return out;
    },
    fire(hook, vars = {}, extra = {}) {
      return world.php({ action: 'hook', hook, vars, ...extra });
    },
    connectPanel(
      hooks = [
        'PreCronJob',
        'InvoiceCreation',
        'DailyCronJob',
        'AfterCronJob',
        'EmailPreSend',
        'PreModuleSuspend',
        'AddInvoiceLateFee',
      ],
    ) {
      for (const name of hooks) {
        f.panel.hooks.add(
          name,
          10,
          async (vars: Record<string, unknown>) => (await world.fire(name, vars)).ret,
          'bridge (php)',
        );
      }
    },
    async close() {
      relay.close();
      await new Promise<void>((r) => server.close(() => r()));
      await api.close();
      await mod.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** May's last days and the reset on 1 June: the May period closes at 6 TB (the Dutch VPS at 4 TB). */
export async function closeMay(w: {
  f: PanelFixture;
  fake: FakeMaster;
  mod: OverusageModule;
}): Promise<void> {
  const days: Array<[string, bigint, bigint]> = [
    ['2013-05-30T21:50:00Z', 5900n * GB, 3900n * GB],
    ['2013-05-31T21:50:00Z', 6000n * GB, 4000n * GB],
    ['2013-06-01T21:50:00Z', 150n * GB, 90n * GB],
  ];
  for (const [at, a, b] of days) {
    w.f.clock.set(at);
    w.fake.set('101', a);
    w.fake.set('102', b);
    await w.mod.metering.collect();
  }
}

/** Every PHP run of a world ended without a single error, warning, notice or deprecation. */
export function phpErrors(runs: HarnessOutput[]): string[] {
  return runs.flatMap((r) => r.errors);
}
