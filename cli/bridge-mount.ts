import type { Express } from 'express';
import { createBridgeRouter } from '../module/web/bridge-router.js';
import type { App } from './app.js';

/** `overusage serve` mounts the WHMCS bridge's endpoints (/bridge/v1/*) when a bridge secret is set. */
export function bridgeMounts(app: App): Array<(server: Express) => void> {
  const bridge = app.bridge;
  if (!bridge) return [];
  return [
    (server) =>
      server.use(
        createBridgeRouter({
          secret: bridge.secret,
          store: bridge.store,
          relay: bridge.relay,
          hooks: () => app.module.hooks(),
          addon: app.module.addon,
          log: app.log,
        }),
      ),
  ];
}
