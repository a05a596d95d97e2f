import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SettableClock } from './clock.js';
import {
  bulkFromJson,
  ConfigError,
  faultsFromJson,
  instantMs,
  type MasterConfig,
  masterFromJson,
  parseJson,
  serverFromJson,
  toBigint,
} from './config.js';
import type { Simulator } from './index.js';
import { toJsonText } from './json-text.js';
import type { SimMaster } from './master.js';

/**
 * The runner's control endpoint (/_sim/…, loopback only, its own port): what tests do in-process
 * with the master objects, a benchmark or a demo does over HTTP to a child process. Bigints go out
 * as decimal strings so any JSON client reads them exactly.
 */

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** bigint → string, so the JSON answer survives JSON.parse exactly */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function masterInfo(m: SimMaster): Record<string, unknown> {
  return {
    name: m.name,
    version: m.version,
    url: m.url,
    fingerprint256: m.fingerprint256,
    zone: m.zone,
    resetPolicy: m.resetPolicy,
    credentials: m.v1Credentials ?? { token: m.v2Token },
    servers: m.store.size,
    down: m.down,
  };
}

/** Create, populate and start a master from its JSON config. */
export async function startMasterFromConfig(sim: Simulator, cfg: MasterConfig): Promise<SimMaster> {
  const m = sim.addMaster(cfg.options);
  for (const s of cfg.servers) m.addServer(s);
  for (const b of cfg.bulk) m.addServers(b.count, b.template);
  await m.listen();
  if (cfg.faults) await m.setFaults(cfg.faults);
  return m;
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        resolve(parseJson(text));
      } catch (e) {
        reject(new HttpError(400, `body is not JSON: ${(e as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

export async function startControlServer(
  sim: Simulator,
  clock: SettableClock | null,
  opts: { port?: number; onShutdown?: () => void } = {},
): Promise<ControlServer> {
  const getMaster = (name: string): SimMaster => {
    const m = sim.master(decodeURIComponent(name));
    if (!m) throw new HttpError(404, `no master named ${name}`);
    return m;
  };
  const serverId = (m: SimMaster, raw: string): number => {
    const id = Number(raw);
    if (!Number.isSafeInteger(id) || !m.store.has(id))
      throw new HttpError(404, `no server ${raw} on master ${m.name}`);
    return id;
  };
  const clockInfo = () => ({
    nowMs: sim.now(),
    now: new Date(sim.now()).toISOString(),
    frozen: clock?.frozen ?? false,
    offsetMs: clock?.offsetMs ?? 0,
    settable: clock !== null,
  });

  async function route(
    method: string,
    parts: string[],
    q: URLSearchParams,
    req: http.IncomingMessage,
  ): Promise<unknown> {
    const body = method === 'GET' || method === 'DELETE' ? {} : await readBody(req);
    const b = body as Record<string, unknown>;
    const [a0, a1, a2, a3, a4] = parts;

    if (a0 === 'health' && parts.length === 1) return { ok: true };

    if (a0 === 'clock' && parts.length === 1) {
      if (method === 'GET') return clockInfo();
      if (method !== 'POST') throw new HttpError(405, 'GET or POST');
      if (!clock) throw new HttpError(409, 'this simulator runs on a clock that cannot be set');
      if (b.offsetMs !== undefined) clock.setOffset(Number(b.offsetMs));
      if (b.set !== undefined) clock.set(instantMs(b.set, 'set'));
      if (b.advanceMs !== undefined) clock.advance(Number(b.advanceMs));
      if (b.freeze === true) clock.freeze();
      if (b.freeze === false) clock.unfreeze();
      return clockInfo();
    }

    if (a0 === 'shutdown' && parts.length === 1 && method === 'POST') {
      setImmediate(() => opts.onShutdown?.());
      return { ok: true };
    }

    if (a0 !== 'masters') throw new HttpError(404, 'unknown route');
    if (parts.length === 1) {
      if (method === 'GET') return sim.masters().map(masterInfo);
      if (method === 'POST') return masterInfo(await startMasterFromConfig(sim, masterFromJson(body)));
      throw new HttpError(405, 'GET or POST');
    }
    const m = getMaster(a1!);
    if (parts.length === 2) {
      if (method === 'GET') return masterInfo(m);
      if (method === 'DELETE') {
        await m.close();
        return { ok: true };
      }
    }
    if (a2 === 'stats' && parts.length === 3 && method === 'GET') return m.stats();
    if (a2 === 'stats' && a3 === 'reset' && parts.length === 4 && method === 'POST') {
      m.resetStats();
      return m.stats();
    }
    if (a2 === 'faults' && parts.length === 3) {
      if (method === 'GET') return m.currentFaults();
      if (method === 'DELETE') await m.clearFaults();
      else if (method === 'POST' || method === 'PUT') await m.setFaults(faultsFromJson(body));
      else throw new HttpError(405, 'GET, POST, PUT or DELETE');
      return m.currentFaults();
    }
    if (a2 === 'servers' && parts.length === 3 && method === 'POST') {
      if (b.count !== undefined) {
        const { count, template } = bulkFromJson(body);
        return m.addServers(count, template);
      }
      return m.addServer(serverFromJson(body));
    }
    if (a2 === 'servers' && parts.length >= 4) {
      const id = serverId(m, a3!);
      if (parts.length === 4 && method === 'GET') return m.server(id);
      if (parts.length === 5 && method === 'GET' && a4 === 'counter') {
        const at = q.get('at');
        const ms = at === null ? sim.now() : instantMs(at, 'at');
        return { id, at: new Date(ms).toISOString(), counter: m.counterAt(id, ms) };
      }
      if (parts.length === 5 && method === 'GET' && a4 === 'traffic') {
        const from = instantMs(q.get('from') ?? '', 'from');
        const to = instantMs(q.get('to') ?? '', 'to');
        return {
          id,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          bytes: m.trafficBetween(id, from, to),
        };
      }
      if (parts.length === 5 && method === 'POST' && a4 === 'reset') {
        m.resetCounter(id, b.at === undefined ? undefined : instantMs(b.at, 'at'));
        return m.server(id);
      }
      if (parts.length === 5 && method === 'POST' && a4 === 'state') {
        if (b.state !== 'online' && b.state !== 'offline' && b.state !== 'disabled')
          throw new HttpError(400, 'state must be online, offline or disabled');
        m.setState(id, b.state);
        return m.server(id);
      }
      if (parts.length === 5 && method === 'POST' && a4 === 'limit') {
        m.setLimit(id, toBigint(b.limitBytes, 'limitBytes'));
        return m.server(id);
      }
    }
    throw new HttpError(404, 'unknown route');
  }

  const server = http.createServer((req, res) => {
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const send = (status: number, v: unknown) => {
      const text = toJsonText(plain(v));
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (!path.startsWith('/_sim/')) return send(404, { error: 'routes live under /_sim/' });
    const parts = path.slice('/_sim/'.length).split('/').filter(Boolean);
    route(req.method ?? 'GET', parts, q, req).then(
      (v) => send(200, v ?? { ok: true }),
      (e: unknown) => {
        const status = e instanceof HttpError ? e.status : e instanceof ConfigError ? 400 : 400;
        send(status, { error: e instanceof Error ? e.message : String(e) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
