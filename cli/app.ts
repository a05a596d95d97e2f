import { openDatabase, type Database } from '../module/adapters/database.js';
import { systemClock } from '../module/adapters/clocks.js';
import { createLogger, type Logger } from '../module/adapters/logger.js';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import type { Clock } from '../module/domain/clock.js';
import { createModule, type OverusageModule } from '../module/index.js';
import type { AppConfig } from './config.js';
import { createWhmcsHttpApi } from '../module/adapters/whmcs-http-api.js';
import { createBridgeStore, type BridgeStore } from '../module/adapters/bridge-store.js';
import { createBridgeRelay, type BridgeRelay } from '../module/adapters/bridge-relay.js';

export interface App {
  config: AppConfig;
  db: Database;
  module: OverusageModule;
  log: Logger;
  clock: Clock;
  /** present when the WHMCS bridge is configured (OVERUSAGE_BRIDGE_SECRET) */
  bridge?: { store: BridgeStore; relay: BridgeRelay; secret: string; mode: 'api' | 'relay' };
  close(): Promise<void>;
}

/** Opens the database and builds the module for a CLI command or the server. */
export function openApp(config: AppConfig, opts: { clock?: Clock; log?: Logger } = {}): App {
  const db = openDatabase(config.databaseUrl);
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  // WHMCS's External API when it is reachable; otherwise, with the bridge, commands go back through it
  const store = config.bridge ? createBridgeStore(db.knex) : undefined;
  const relay = store ? createBridgeRelay({ store, log }) : undefined;
  const panel = config.whmcsApi ? createWhmcsHttpApi({ ...config.whmcsApi, log }) : relay?.api;
  const module = createModule({
    knex: db.knex,
    clock,
    secretKey: config.secretKey,
    zone: config.zone,
    gatewayFor: (settings) => createSolusVmGateway(settings),
    log,
    metering: { writer: config.meteringWriter },
    ...(panel ? { panel } : {}),
  });
  const bridge =
    store && relay && config.bridge
      ? {
          store,
          relay,
          secret: config.bridge.secret,
          mode: config.whmcsApi ? ('api' as const) : ('relay' as const),
        }
      : undefined;
  return {
    config,
    db,
    module,
    log,
    clock,
    ...(bridge ? { bridge } : {}),
    close: async () => {
      relay?.close();
      await module.close();
      await db.close();
    },
  };
}
