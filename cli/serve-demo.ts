import crypto from 'node:crypto';
import type http from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../module/adapters/logger.js';
import { createPanelWeb } from '../panel/web/create-panel-web.js';
import type { AppConfig } from './config.js';
import { clearDemoServer, recordDemoServer, startDemoData, type Demo } from './demo.js';
import { busyPort, createServerApp, listen } from './serve.js';
import type { App } from './app.js';

export interface RunningDemo {
  demo: Demo;
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

/** `overusage serve --demo`: the reference panel, the add-on and the simulator, on one port. */
export async function serveDemo(
  config: AppConfig,
  log: Logger,
  opts: { host: string; port: number; databaseUrl?: string },
): Promise<RunningDemo> {
  const demo = await startDemoData(config, log, opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {});
  // Sessions survive a restart: the cookie key is derived from the module's secret key.
  const sessionSecret = crypto
    .createHmac('sha256', config.secretKey)
    .update('overusage demo panel sessions')
    .digest();
  const app: App = {
    config,
    db: demo.db,
    module: demo.module,
    log,
    clock: demo.clock,
    close: () => demo.close(),
  };
  const mounts: Array<(server: Express) => void> = [
    (s) => s.use(demo.panel.apiRouter),
    (s) => s.use(createPanelWeb({ panel: demo.panel, sessionSecret, log })),
    // the module's JSON API, embed pages and the widget's stylesheet and script (same origin as the panel's pages)
    (s) => s.use(demo.module.web.router()),
    (s) => s.get('/', (_req, res) => res.redirect('/clientarea.php')),
  ];
  let server: http.Server;
  try {
    server = await listen(createServerApp(app, mounts), opts.host, opts.port);
  } catch (err) {
    // the demo's database, simulator and timers would keep the process alive with nothing served
    await demo.close();
    throw busyPort(err, opts.host, opts.port);
  }
  const port = (server.address() as { port: number }).port;
  const url = `http://${opts.host}:${port}`;
  await recordDemoServer(demo, url);
  return {
    demo,
    server,
    url,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await clearDemoServer(demo);
      await demo.close();
    },
  };
}
