import { openDatabase, type Database } from '../module/adapters/database.js';
import { systemClock } from '../module/adapters/clocks.js';
import { createLogger, type Logger } from '../module/adapters/logger.js';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import type { Clock } from '../module/domain/clock.js';
import { createModule, type OverusageModule } from '../module/index.js';
import type { AppConfig } from './config.js';

export interface App {
  config: AppConfig;
  db: Database;
  module: OverusageModule;
  log: Logger;
  clock: Clock;
  close(): Promise<void>;
}

/** Opens the database and builds the module for a CLI command or the server. */
export function openApp(config: AppConfig, opts: { clock?: Clock; log?: Logger } = {}): App {
  const db = openDatabase(config.databaseUrl);
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const module = createModule({
    knex: db.knex,
    clock,
    secretKey: config.secretKey,
    zone: config.zone,
    gatewayFor: (settings) => createSolusVmGateway(settings),
    log,
    metering: { writer: config.meteringWriter },
  });
  return { config, db, module, log, clock, close: async () => {
      await module.close();
      await db.close();
    },
  };
}
