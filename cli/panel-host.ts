import { openDatabase, type Database } from '../module/adapters/database.js';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import type { Logger } from '../module/adapters/logger.js';
import type { Clock } from '../module/domain/clock.js';
import { createModule, type OverusageModule } from '../module/index.js';
import { createPanel, type Panel } from '../panel/index.js';
import type { AppConfig } from './config.js';

export interface PanelHost {
  db: Database;
  panel: Panel;
  module: OverusageModule;
  close(): Promise<void>;
}

/**
 * The reference panel on any database (`--db`, OVERUSAGE_DB), with the add-on registered through
 * its addon definition as the demo hosts it, both schemas migrated. The CLI's `panel` commands
 * run on it; the clock is theirs to set (cron replays days).
 */
export async function openPanelHost(
  config: AppConfig,
  opts: { clock: Clock; log: Logger },
): Promise<PanelHost> {
  const db = openDatabase(config.databaseUrl);
  try {
    const panel = createPanel({ knex: db.knex, clock: opts.clock, zone: config.zone, log: opts.log });
    await panel.migrate();
    const module = createModule({
      knex: db.knex,
      clock: opts.clock,
      secretKey: config.secretKey,
      zone: config.zone,
      gatewayFor: (s) => createSolusVmGateway(s),
      panel: panel.api,
      log: opts.log,
      metering: { writer: 'inline' },
    });
    await module.migrate();
    panel.addons.register(module.addon);
    await panel.addons.boot();
    return {
      db,
      panel,
      module,
      close: async () => {
        await module.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
