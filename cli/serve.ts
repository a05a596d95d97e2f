import http from 'node:http';
import crypto from 'node:crypto';
import express, { type Express } from 'express';
import type { App } from './app.js';
import { trustFunction } from '../module/web/client-address.js';

/**
 * The HTTP server: health check and request logging for now; the panel host, the admin tab, the
 * client widget and the JSON API mount here.
 */
export function createServerApp(app: App, mounts: Array<(server: Express) => void> = []): Express {
  const server = express();
  server.disable('x-powered-by');
  // the proxies in front (OVERUSAGE_TRUST_PROXY): req.ip is the right-most address none of them is
  server.set('trust proxy', trustFunction(app.config?.trustProxy ?? ['loopback']));
  server.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const id = crypto.randomBytes(6).toString('hex');
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      // Only the path: query strings can carry tokens. The original URL's: a nested router has
      // cut its mount point from req.path by the time the answer is sent.
      app.log.info('http.request', {
        id,
        method: req.method,
        path: requestPath(req),
        status: res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      });
    });
    next();
  });
  server.get('/health', async (_req, res) => {
    try {
      await app.db.knex.raw('select 1');
      const status = await app.module.migrationStatus();
      res.json({
        status: 'ok',
        module: app.module.name,
        version: app.module.version,
        database: app.db.engine,
        pendingMigrations: status.pending.length,
      });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', error: (err as Error).message });
    }
  });
  for (const mount of mounts) mount(server);
  return server;
}

/** The whole path of a request, without its query string. */
export const requestPath = (req: { originalUrl: string }): string => req.originalUrl.split('?', 1)[0]!;

export async function listen(server: Express, host: string, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const s = http.createServer(server);
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** A port another program holds, said with what to do (exit 1); any other listen error as it is. */
export function busyPort(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return new Error(
      `${host}:${port} is already in use by another program: stop it, or choose another address with --listen or OVERUSAGE_LISTEN`,
    );
  if (code === 'EACCES')
    return new Error(
      `${host}:${port} may not be used by this user (ports below 1024 need privileges): choose another with --listen or OVERUSAGE_LISTEN`,
    );
  return err instanceof Error ? err : new Error(String(err));
}
