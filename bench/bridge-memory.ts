/**
 * Memory of the bridge endpoint under 16 parallel 4 MB posts (issue 18's figure: unsigned posts
 * took the service from 117 MB to 298 MB when the body was read before the headers were checked).
 *
 *   node --import tsx bench/bridge-memory.ts [--kind unsigned|forged] [--posts 16] [--mb 4]
 *
 * The service runs in a process of its own (the posting client's buffers must not count); it
 * reports its resident set before and after, and its peak (maxRSS). `unsigned`: no signature
 * headers at all; `forged`: well-formed, fresh headers with a signature that does not match, so
 * the body has to be read before it can be refused.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const args = parseArgs({
  options: {
    serve: { type: 'boolean' },
    kind: { type: 'string', default: 'unsigned' },
    posts: { type: 'string', default: '16' },
    mb: { type: 'string', default: '4' },
  },
}).values;
const MB = 1024 * 1024;

if (args.serve) {
  const express = (await import('express')).default;
  const { openDatabase } = await import('../module/adapters/database.js');
  const { migrateLatest } = await import('../module/adapters/migrator.js');
  const { createBridgeStore } = await import('../module/adapters/bridge-store.js');
  const { createBridgeRelay } = await import('../module/adapters/bridge-relay.js');
  const { createBridgeRouter } = await import('../module/web/bridge-router.js');
  const { silentLogger } = await import('../module/adapters/logger.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bridge-mem-'));
  const db = openDatabase(`sqlite:${path.join(dir, 'db.sqlite')}`);
  await migrateLatest(db.knex);
  const store = createBridgeStore(db.knex);
  const relay = createBridgeRelay({ store, log: silentLogger });
  const app = express();
  app.get('/mem', (_req, res) => {
    (globalThis as { gc?: () => void }).gc?.();
    res.json({ rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 });
  });
  const addon = {
    activate: () => undefined,
    deactivate: () => undefined,
    upgrade: () => undefined,
    output: () => '',
    download: () => ({ filename: 'f', contentType: 'text/csv; charset=utf-8' as const, body: '' }),
    clientarea: () => ({ pagetitle: '', breadcrumb: {}, templatefile: 'x' }),
  };
  app.use(
    createBridgeRouter({
      secret: 'bench-secret-0123456789abcdef0123456789abcdef',
      store,
      relay,
      hooks: () => [],
      addon,
      log: silentLogger,
    }),
  );
  const server = http
    .createServer(app)
    .listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', import.meta.filename, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
  );
  const mem = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/mem`)).json()) as { rss: number; maxRss: number };
  const body = Buffer.alloc(Number(args.mb) * MB, 0x20);
  const headers: Record<string, string> =
    args.kind === 'forged'
      ? {
          'x-overusage-timestamp': String(Math.floor(Date.now() / 1000)),
          'x-overusage-nonce': 'a'.repeat(32),
          'x-overusage-signature': 'ab'.repeat(32),
        }
      : {};
  const post = () =>
    new Promise<number>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/bridge/v1/hook',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(-1));
      req.end(body);
    });
  const before = await mem();
  const statuses = await Promise.all(Array.from({ length: Number(args.posts) }, post));
  const after = await mem();
  const f = (n: number) => `${(n / MB).toFixed(0)} MB`;
  process.stdout.write(
    `${args.posts} parallel ${args.kind} ${args.mb} MB posts: answers ${[...new Set(statuses)].join(',')}; service RSS ${f(before.rss)} before, ${f(after.rss)} after, peak ${f(after.maxRss)} (peak before: ${f(before.maxRss)})\n`,
  );
  child.kill('SIGTERM');
}
