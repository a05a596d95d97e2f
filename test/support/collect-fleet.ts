import type { Knex } from 'knex';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import type { SimMaster, Simulator } from '../../simulator/index.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY } from './module-fixture.js';

/**
 * A fleet for the `overusage collect` process tests (collect-db-loss, collect-sqlite-locked): one
 * simulated SolusVM master "nl-1" serving `services` KVM servers from id 100, each moving 1 GiB a
 * day, linked as services 1… of client 7 in the module's database behind `knex`, read over HTTP
 * 8 at a time without retries. The module is closed and `knex` destroyed afterwards: the command
 * under test opens the database itself.
 */
export async function seedCollectFleet(knex: Knex, sim: Simulator, services: number): Promise<SimMaster> {
  const fx = await buildModule(knex, {
    start: new Date().toISOString(),
    gatewayFor: (s) => createSolusVmGateway(s),
  });
  const master = sim.addMaster({
    name: 'nl-1',
    version: 1,
    zone: 'Europe/Brussels',
    resetPolicy: 'first_of_month',
    credentials: { apiId: 'id', apiKey: 'key' },
  });
  master.addServers(services, {
    idStart: 100,
    node: { id: 1, name: 'node-1' },
    clientId: 7,
    type: 'kvm',
    limitBytes: 0n,
    createdAt: '2012-01-01T00:00:00',
    profile: { kind: 'constant', bytesPerDay: 1n << 30n },
  });
  await master.listen();
  const added = await fx.mod.masters.add(
    {
      name: 'nl-1',
      version: 1,
      baseUrl: master.url,
      apiId: 'id',
      apiKey: 'key',
      timeZone: 'Europe/Brussels',
      concurrency: 8,
      retries: 0,
    },
    CLI_ACTOR,
  );
  await fx.mod.links.linkMany(
    Array.from({ length: services }, (_, i) => ({
      serviceId: 1 + i,
      clientId: 7,
      // the id the database gave: on Galera auto_increment steps by the cluster's size
      masterId: added.id,
      serverRef: String(100 + i),
    })),
    CLI_ACTOR,
  );
  await fx.mod.close();
  await knex.destroy();
  return master;
}

/** The environment of a collect process: its data folder, warnings only, the test's key. */
export const collectEnv = (dir: string) => ({
  OVERUSAGE_DATA_DIR: dir,
  OVERUSAGE_LOG_LEVEL: 'warn',
  OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
});
