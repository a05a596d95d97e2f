import type { Knex } from 'knex';
import { silentLogger } from '../../module/adapters/logger.js';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import type { WebOptions } from '../../module/web/web-module.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from './module-fixture.js';

export interface SimStory {
  f: PanelFixture;
  story: Story;
  sim: Simulator;
  m: SimMaster;
  mod: OverusageModule;
  /** the module's id of the simulated master */
  masterId: number;
}

/**
 * The seed story (test/panel/support.ts: clock at 30 April 2013, a VPS renewing on 9 June) read
 * from one simulated SolusVM master of `version` through the real client: v1 with an API id and
 * key, v2 with a token over TLS pinned to the simulator's certificate; no retries, polled every
 * 1 ms. Shared by the simulator tests of caps and of threshold notices.
 */
export async function buildSimStory(
  knex: Knex,
  version: 1 | 2,
  opts: { web?: WebOptions } = {},
): Promise<SimStory> {
  const f = await buildPanel(knex, { start: '2013-04-30T08:00:00Z' });
  const story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-06-09' });
  const sim = createSimulator({ now: () => f.clock.nowMs() });
  const base = { name: `v${version}`, version, zone: ZONE, resetPolicy: 'first_of_month' } as const;
  const m =
    version === 1
      ? sim.addMaster({ ...base, version: 1, credentials: { apiId: 'apiid', apiKey: 'apikey' } })
      : sim.addMaster({ ...base, version: 2, credentials: { token: 'tok' }, tls: true });
  const mod = createModule({
    knex,
    clock: f.clock,
    secretKey: TEST_SECRET_KEY,
    zone: ZONE,
    gatewayFor: (s) => createSolusVmGateway(s, { pollIntervalMs: 1 }),
    panel: f.panel.api,
    log: silentLogger,
    metering: { writer: 'inline' },
    ...(opts.web ? { web: opts.web } : {}),
  });
  await mod.migrateDown();
  await mod.migrate();
  await m.listen();
  const common = { name: 'sim', baseUrl: m.url, timeZone: ZONE, retries: 0 };
  const added =
    version === 1
      ? await mod.masters.add({ ...common, version: 1, apiId: 'apiid', apiKey: 'apikey' }, CLI_ACTOR)
      : await mod.masters.add(
          { ...common, version: 2, token: 'tok', tlsMode: 'pinned', tlsFingerprint: m.fingerprint256! },
          CLI_ACTOR,
        );
  return { f, story, sim, m, mod, masterId: added.id };
}
