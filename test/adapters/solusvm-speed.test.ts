import { expect } from 'chai';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import type { MasterConnection } from '../../module/adapters/solusvm-types.js';
import type { SpeedSettings } from '../../module/domain/limit-policy.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';

/** Throttling on both SolusVM versions through the gateway: what each call sets on the (simulated) master. */
describe('SolusVM speed settings through the gateway', () => {
  let sim: Simulator;
  let v1: SimMaster;
  let v2: SimMaster;
  const conn = (m: SimMaster, version: 1 | 2): MasterConnection => ({
    baseUrl: m.url,
    version,
    credentials: version === 1 ? { kind: 'v1', apiId: 'id', apiKey: 'key' } : { kind: 'v2', token: 'tok' },
    tls: version === 1 ? { mode: 'verify' } : { mode: 'pinned', fingerprint256: m.fingerprint256! },
    timeoutMs: 5000,
    concurrency: 2,
    retries: 0,
  });
  const server = {
    id: 101,
    hostname: 'vps101.example.net',
    node: { id: 1, name: 'n1' },
    clientId: 7,
    type: 'kvm' as const,
    limitBytes: 1024n ** 4n,
    createdAt: '2013-01-01T00:00:00Z',
    profile: { kind: 'constant' as const, bytesPerDay: 10n ** 9n },
  };

  before(async () => {
    sim = createSimulator({ now: () => Date.parse('2013-05-20T12:00:00Z') });
    v1 = sim.addMaster({
      name: 'v1',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'id', apiKey: 'key' },
    });
    v2 = sim.addMaster({
      name: 'v2',
      version: 2,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { token: 'tok' },
      tls: true,
    });
    v1.addServer(server);
    v2.addServer({ ...server, plan: { id: 7, name: 'VPS-4G' } });
    await v1.listen();
    await v2.listen();
  });
  after(() => sim.close());

  it('SolusVM 1: cannot read the speed, sets customnspeed', async () => {
    const g = createSolusVmGateway(conn(v1, 1));
    expect(await g.readSpeed('101')).to.equal(null);
    await g.setSpeed('101', { version: 1, customnspeed: 10 });
    expect(v1.server(101)!.nspeed).to.equal(10);
    await g.setSpeed('101', { version: 1, customnspeed: 0 });
    expect(v1.server(101)!.nspeed).to.equal(0);
    g.close();
  });

  it('SolusVM 2: reads the plan and bandwidth limits, throttles by resize with custom limits, and puts them back', async () => {
    const g = createSolusVmGateway(conn(v2, 2), { pollIntervalMs: 1 });
    const saved = await g.readSpeed('101');
    expect(saved).to.deep.equal({
      version: 2,
      planId: 7,
      incoming: { isEnabled: false, limit: 0, unit: 'Kbps' },
      outgoing: { isEnabled: false, limit: 0, unit: 'Kbps' },
    });
    const throttled: SpeedSettings = {
      version: 2,
      planId: 7,
      incoming: { isEnabled: true, limit: 10, unit: 'Mbps' },
      outgoing: { isEnabled: true, limit: 10, unit: 'Mbps' },
    };
    await g.setSpeed('101', throttled);
    expect(v2.server(101)!.limits.network_incoming_bandwidth).to.deep.equal({
      is_enabled: true,
      limit: 10,
      unit: 'Mbps',
    });
    expect(await g.readSpeed('101')).to.deep.equal(throttled);
    // the traffic limit is not touched by a throttle
    expect(v2.server(101)!.limitBytes).to.equal(1024n ** 4n);
    await g.setSpeed('101', saved!);
    expect(v2.server(101)!.limits.network_incoming_bandwidth!.is_enabled).to.equal(false);
    g.close();
  });

  it('SolusVM 2: a failed resize task is an error, and the settings stay as they were', async () => {
    const g = createSolusVmGateway(conn(v2, 2), { pollIntervalMs: 1 });
    await v2.setFaults({ taskFail: true });
    try {
      await g.setSpeed('101', {
        version: 2,
        planId: 7,
        incoming: { isEnabled: true, limit: 5, unit: 'Mbps' },
        outgoing: { isEnabled: true, limit: 5, unit: 'Mbps' },
      });
      expect.fail('a failed task was taken for done');
    } catch (err) {
      expect((err as Error).message).to.match(/failed/);
    } finally {
      await v2.clearFaults();
    }
    expect(v2.server(101)!.limits.network_incoming_bandwidth!.is_enabled).to.equal(false);
    g.close();
  });
});
