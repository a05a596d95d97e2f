/**
 * The web benchmarks, one scenario on one engine per process. The server runs here; the load
 * comes from bench/load-client.ts (autocannon) in a process of its own. Prints one JSON line.
 *
 *  --scenario widget        a client's widget page (<base>/embed/client, Bearer token) for a VPS
 *                           with 400 days of history, metered day by day (gaps included) and rated,
 *                           with its lines; against a bare express route serving the same bytes.
 *                           Measured as served (the page kept for 15 s) and built on every request.
 *  --scenario dispute_list  the admin's dispute queue (<base>/embed/admin?a=disputes) and its JSON
 *                           (<base>/api/v1/admin/disputes) over 100 000 lines (20 000 disputed,
 *                           10 000 open), on the first page and on a page deep in the queue.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import { ManualClock } from '../module/adapters/clocks.js';
import { createLogger } from '../module/adapters/logger.js';
import { toNum } from '../module/adapters/rows.js';
import { createTestDatabase } from '../test/support/engines.js';
import { FakeMaster } from '../test/support/fake-gateway.js';
import { ROOT, percentile } from './support.js';
import { disputeData, moduleOn, NOW, widgetData } from './web-data.js';

const args = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    scenario: { type: 'string', default: 'widget' },
    connections: { type: 'string' },
    duration: { type: 'string', default: '8' },
    lines: { type: 'string', default: '100000' },
    days: { type: 'string', default: '400' },
  },
}).values;

const engine = args.engine as 'sqlite' | 'mysql';
const duration = Number(args.duration);
const log = createLogger({ level: 'warn' });

type Load = {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  total: number;
  bytesPerResponse: number;
  non2xx: number;
  errors: number;
  timeouts: number;
};

function load(url: string, connections: number, headers: Record<string, string> = {}): Promise<Load> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'bench', 'load-client.ts'),
        JSON.stringify({ url, connections, duration, headers, warmup: 2 }),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load-client exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

function listen(app: express.Express): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = http.createServer(app);
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** Single requests, one after another: the latency of the page alone. */
async function serial(
  url: string,
  headers: Record<string, string>,
  n = 200,
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const db = await createTestDatabase(engine);
try {
  const clock = new ManualClock(NOW);
  const fake = new FakeMaster();
  const mod = moduleOn(db, clock, fake, 15_000, log);
  await mod.migrate();
  const started = Date.now();
  if (args.scenario === 'widget') {
    const connections = Number(args.connections ?? 50);
    const data = await widgetData(db, mod, clock, fake, Number(args.days));
    const setupSeconds = (Date.now() - started) / 1000;
    const token = mod.web.issueToken({ type: 'client', id: 1 }, { ttlSeconds: 3600 }).token;
    const headers = { authorization: `Bearer ${token}` };
    const cached = express().use(mod.web.router());
    const uncachedMod = moduleOn(db, clock, fake, 0, log);
    const uncached = express().use(uncachedMod.web.router());
    const a = await listen(cached);
    const b = await listen(uncached);
    const page = `/overusage/embed/client?service=1`;
    const first = await fetch(a.url + page, { headers });
    const body = await first.text();
    if (first.status !== 200 || !body.includes('ou-chart'))
      throw new Error(`the widget answered ${first.status}`);
    // the same bytes from a bare express route: no token, no cache lookup, no headers of ours, and
    // not even the ETag express would compute (the widget's is made once with the page)
    const bareApp = express().set('etag', false);
    const bytes = Buffer.from(body, 'utf8');
    bareApp.get('/bare', (_req, res) => res.type('html').send(bytes));
    const bare = await listen(bareApp);
    const bareLoad = await load(`${bare.url}/bare`, connections);
    const widgetLoad = await load(a.url + page, connections, headers);
    const uncachedLoad = await load(b.url + page, connections, headers);
    const uncachedSerial = await serial(b.url + page, headers);
    await Promise.all([a.close(), b.close(), bare.close()]);
    process.stdout.write(
      JSON.stringify({
        scenario: 'widget',
        engine,
        connections,
        duration,
        bytes: Buffer.byteLength(body),
        ...data,
        setupSeconds,
        bare: bareLoad,
        widget: widgetLoad,
        uncached: uncachedLoad,
        uncachedSerial,
      }) + '\n',
    );
  } else if (args.scenario === 'dispute_list') {
    const connections = Number(args.connections ?? 10);
    const data = await disputeData(db, Number(args.lines));
    const setupSeconds = (Date.now() - started) / 1000;
    const token = mod.web.issueToken({ type: 'admin', id: 1 }, { ttlSeconds: 3600 }).token;
    const headers = { authorization: `Bearer ${token}` };
    const server = await listen(express().use(mod.web.router()));
    // a cursor half way down the open queue
    const mid = await db
      .knex('mod_overusage_disputes')
      .where({ state: 'open' })
      .orderBy(['opened_at', 'id'])
      .offset(Math.floor(data.open / 2))
      .first('opened_at', 'id');
    const cursor = `${String(mid.opened_at).replace(' ', 'T').slice(0, 23)}Z|${toNum(mid.id)}`;
    const pages = {
      html: `/overusage/embed/admin?a=disputes`,
      htmlDeep: `/overusage/embed/admin?a=disputes&list=open&after=${encodeURIComponent(cursor)}`,
      json: `/overusage/api/v1/admin/disputes?list=open`,
      jsonDeep: `/overusage/api/v1/admin/disputes?list=open&after=${encodeURIComponent(cursor)}`,
      linesList: `/overusage/api/v1/admin/lines?status=held`,
    };
    for (const p of Object.values(pages)) {
      const r = await fetch(server.url + p, { headers });
      const text = await r.text();
      if (r.status !== 200 || text.length < 1000)
        throw new Error(`${p} answered ${r.status}: ${text.slice(0, 200)}`);
    }
    const out: Record<string, Load> = {};
    for (const [name, p] of Object.entries(pages))
      out[name] = await load(server.url + p, connections, headers);
    const single = await serial(server.url + pages.htmlDeep, headers);
    await server.close();
    process.stdout.write(
      JSON.stringify({
        scenario: 'dispute_list',
        engine,
        connections,
        duration,
        ...data,
        setupSeconds,
        ...out,
        single,
      }) + '\n',
    );
  } else {
    throw new Error(`unknown scenario ${args.scenario}`);
  }
  await mod.close();
} finally {
  await db.drop();
}
