import http from 'node:http';
import { expect } from 'chai';
import {
  createSimulator,
  type SimMaster,
  type Simulator,
  type TrafficProfile,
} from '../../simulator/index.js';
import { GIB, request, v1Get } from './http-helpers.js';

describe('simulator at scale', () => {
  let sim: Simulator;
  let m: SimMaster;
  let origin: string;

  before(async () => {
    sim = createSimulator({ now: () => Date.parse('2024-03-15T12:00:00Z') });
    m = sim.addMaster({
      name: 'big',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'anniversary',
      credentials: { apiId: 'i', apiKey: 'k' },
    });
    origin = await m.listen();
  });

  after(() => sim.close());

  // How fast is measured in the benchmarks (npm run bench: metering over the simulator), not here.
  it('adds 100 000 servers in bulk with little memory', () => {
    const profiles: TrafficProfile[] = [
      { kind: 'constant', bytesPerDay: 10n * GIB },
      { kind: 'pattern', bytesPerDay: [1n * GIB, 50n * GIB, 3n * GIB] },
      { kind: 'constant', bytesPerDay: 0n },
    ];
    const nodes = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `node-${i + 1}` }));
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const range = m.addServers(100_000, {
      idStart: 100_000,
      node: nodes[0]!,
      nodeFor: (id) => nodes[id % 50]!,
      clientId: 1,
      type: 'kvm',
      limitBytes: 1024n * GIB,
      createdAt: '2023-05-31T08:00:00Z',
      profileFor: (id) => profiles[id % 3]!,
    });
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(range).to.deep.equal({ idStart: 100_000, idEnd: 199_999 });
    expect(heapGrowth).to.be.lessThan(50 * 1024 * 1024);
    expect(m.store.size).to.equal(100_000);
    expect(m.server(199_999)!.node.name).to.equal(`node-${(199_999 % 50) + 1}`);
  });

  it('serves any server of the bulk range and keeps API changes to one of them', async () => {
    const r = await v1Get(origin, {
      id: 'i',
      key: 'k',
      action: 'vserver-infoall',
      vserverid: '150001',
      rdtype: 'json',
    });
    const used = BigInt((JSON.parse(r.body).bandwidth as string).split(',')[1]!);
    expect(used).to.equal(m.counterAt(150_001));
    await v1Get(origin, { id: 'i', key: 'k', action: 'vserver-suspend', vserverid: '150001' });
    expect(m.server(150_001)!.state).to.equal('disabled');
    expect(m.server(150_002)!.state).to.equal('online');
    expect(
      (await v1Get(origin, { id: 'i', key: 'k', action: 'vserver-status', vserverid: '200000' })).body,
    ).to.equal('Virtual server not found');
  });

  it('answers 2000 keep-alive requests, at most 16 at once', async () => {
    m.resetStats();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        const id = 100_000 + ((next++ * 7919) % 100_000);
        const r = await request(
          `${origin}/api/admin/command.php?id=i&key=k&action=vserver-infoall&nographs=true&rdtype=json&vserverid=${id}`,
          { agent },
        );
        if (r.status !== 200 || !r.body.startsWith('{"status":"success"'))
          throw new Error(`bad answer ${r.status} ${r.body.slice(0, 80)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    agent.destroy();
    const s = m.stats();
    expect(s.requests).to.equal(2000);
    expect(s.byAction['vserver-infoall']).to.equal(2000);
    expect(s.maxInFlight).to.be.within(1, 16);
  });

  it('reports how many requests were in flight at once, to check a client’s concurrency cap', async () => {
    m.resetStats();
    await m.setFaults({ latencyMs: 30 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        request(`${origin}/api/admin/command.php?id=i&key=k&action=vserver-status&vserverid=${100_000 + i}`, {
          agent,
        }),
      ),
    );
    agent.destroy();
    await m.clearFaults();
    expect(m.stats().maxInFlight).to.equal(8);
  });
});
