import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { ManualClock } from '../../module/adapters/clocks.js';
import type { MasterSettings, SolusVmGateway } from '../../module/adapters/solusvm-types.js';
import { createModule, type OverusageModule } from '../../module/index.js';

export const TEST_SECRET_KEY = crypto.createHash('sha256').update('overusage test key').digest();
export const CLI_ACTOR = { type: 'cli' as const, id: 'test' };
/** the panel's first admin, as the tests' admin actions name it */
export const ADMIN_ACTOR = { type: 'admin' as const, id: '1' };
/** a client of the panel, as the tests' client actions name them */
export const CLIENT_ACTOR = (id: number) => ({ type: 'client' as const, id: String(id) });

export interface ModuleFixture {
  mod: OverusageModule;
  clock: ManualClock;
}

export async function buildModule(
  knex: Knex,
  opts: {
    start: string;
    zone?: string;
    gatewayFor: (s: MasterSettings) => SolusVmGateway;
    batchSize?: number;
    pageSize?: number;
    writer?: 'thread' | 'inline';
  },
): Promise<ModuleFixture> {
  const clock = new ManualClock(opts.start);
  const mod = createModule({
    knex,
    clock,
    secretKey: TEST_SECRET_KEY,
    zone: opts.zone ?? 'Europe/Brussels',
    gatewayFor: opts.gatewayFor,
    metering: {
      batchSize: opts.batchSize ?? 3,
      pageSize: opts.pageSize ?? 4,
      writer: opts.writer ?? 'inline',
    },
  });
  await mod.migrate();
  return { mod, clock };
}
