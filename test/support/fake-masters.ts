import type { FakeMaster } from './fake-gateway.js';
import { CLI_ACTOR, type ModuleFixture } from './module-fixture.js';

const GB = 10n ** 9n;

/**
 * A SolusVM 1 master of `count` services read by the FakeMaster: services `firstServiceId`,
 * `firstServiceId + 1`, … of client 7, on servers "<name>-1", "<name>-2", …, each counter at
 * 1 000 GB. The metering tests' common ground (collect-run, collect-breaker, metering-master).
 */
export async function addFakeMaster(
  fx: ModuleFixture,
  fake: FakeMaster,
  opts: { name: string; count: number; firstServiceId: number; concurrency?: number },
): Promise<{ id: number; refs: string[] }> {
  const m = await fx.mod.masters.add(
    {
      name: opts.name,
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'id',
      apiKey: 'key',
      timeZone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      concurrency: opts.concurrency ?? 1,
    },
    CLI_ACTOR,
  );
  const refs: string[] = [];
  for (let i = 0; i < opts.count; i++) {
    const ref = `${opts.name}-${i + 1}`;
    refs.push(ref);
    await fx.mod.links.link(
      { serviceId: opts.firstServiceId + i, clientId: 7, masterId: m.id, serverRef: ref },
      CLI_ACTOR,
    );
    fake.set(ref, 1000n * GB);
  }
  return { id: m.id, refs };
}
