import http from 'node:http';
import { expect } from 'chai';
import { XMLValidator } from 'fast-xml-parser';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { request, v1Get } from './http-helpers.js';

const AUTH = { id: 'i', key: 'k' };
const infoall = (id: number, extra: Record<string, string> = {}) => ({
  ...AUTH,
  action: 'vserver-infoall',
  vserverid: String(id),
  ...extra,
});

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

describe('simulator faults', () => {
  let sim: Simulator;
  let m: SimMaster;
  let origin: string;

  before(async () => {
    sim = createSimulator({ now: () => Date.parse('2024-03-15T12:00:00Z') });
    m = sim.addMaster({
      name: 'f',
      version: 1,
      zone: 'UTC',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'i', apiKey: 'k' },
    });
    m.addServers(3, {
      idStart: 1,
      node: { id: 1, name: 'n1' },
      clientId: 1,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2024-01-01T00:00:00Z',
      profile: { kind: 'constant', bytesPerDay: 1000n },
    });
    origin = await m.listen();
  });

  afterEach(() => m.clearFaults());
  after(() => sim.close());

  it('adds latency with jitter', async () => {
    await m.setFaults({ latencyMs: 120, jitterMs: 30 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      m.resetStats();
      const t0 = performance.now();
      const r = await v1Get(origin, infoall(1));
      const took = performance.now() - t0;
      expect(r.body).to.contain('<status>success</status>');
      // the delay the master chose: 120 ms plus 0–29 ms of jitter; the answer never came sooner
      // (a lower bound only: a loaded machine makes answers later, never earlier)
      const chosen = m.stats().delayMsTotal;
      expect(chosen).to.be.within(120, 149);
      expect(took).to.be.at.least(chosen);
      delays.push(chosen);
    }
    expect(new Set(delays).size, 'jitter varies the delay').to.be.greaterThan(1);
  });

  it('never answers before the configured 10 ms, 32 requests at a time as a collector sends them', async () => {
    await m.setFaults({ latencyMs: 10 });
    m.resetStats();
    // 320 reads, 32 in flight: timers set late in a busy loop turn once fired up to ~1 ms early
    for (let round = 0; round < 10; round++)
      await Promise.all(Array.from({ length: 32 }, () => v1Get(origin, infoall(1))));
    const st = m.stats();
    expect(st.answered).to.equal(320);
    expect(st.serviceMsMin).to.be.at.least(10);
  });

  it('accepts and never answers under timeout', async () => {
    await m.setFaults({ timeout: true });
    expect(await errorCode(v1Get(origin, infoall(1), { timeoutMs: 150 }))).to.equal('CLIENT_TIMEOUT');
    await m.clearFaults();
    expect((await v1Get(origin, infoall(1))).status).to.equal(200);
  });

  it('refuses connections while down and comes back on the same port', async () => {
    const agent = new http.Agent({ keepAlive: true });
    expect((await v1Get(origin, infoall(1), { agent })).status).to.equal(200); // an idle keep-alive socket exists now
    await m.setFaults({ down: true });
    expect(await errorCode(v1Get(origin, infoall(1)))).to.equal('ECONNREFUSED');
    expect(await errorCode(v1Get(origin, infoall(1), { agent }))).to.be.oneOf(['ECONNREFUSED', 'ECONNRESET']);
    await m.clearFaults();
    expect(m.url).to.equal(origin);
    expect((await v1Get(origin, infoall(1), { agent })).status).to.equal(200);
    agent.destroy();
  });

  it('goes down mid-run after N requests with failAfterRequests', async () => {
    await m.setFaults({ down: true, failAfterRequests: 3 });
    for (let i = 0; i < 3; i++) expect((await v1Get(origin, infoall(1))).status).to.equal(200);
    expect(await errorCode(v1Get(origin, infoall(1)))).to.be.oneOf([
      'ECONNRESET',
      'ECONNREFUSED',
      'socket hang up',
    ]);
    expect(await errorCode(v1Get(origin, infoall(1)))).to.equal('ECONNREFUSED');
    await m.clearFaults();
    expect((await v1Get(origin, infoall(1))).status).to.equal(200);
  });

  it('answers an HTML page with 200 or 401', async () => {
    await m.setFaults({ html: true });
    const a = await v1Get(origin, infoall(1, { rdtype: 'json' }));
    expect(a.status).to.equal(200);
    expect(a.body).to.match(/^<!DOCTYPE html>/i);
    await m.setFaults({ html: 401 });
    const b = await v1Get(origin, infoall(1));
    expect(b.status).to.equal(401);
    expect(b.body).to.contain('401 Unauthorized');
  });

  it('answers bare text with HTTP 200 even when JSON was asked for', async () => {
    await m.setFaults({ bareText: 'Invalid ipaddress' });
    const r = await v1Get(origin, infoall(1, { rdtype: 'json' }));
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('Invalid ipaddress');
  });

  it('damages XML and JSON bodies in each malformed mode', async () => {
    await m.setFaults({ malformedXml: true });
    const t = (await v1Get(origin, infoall(1))).body;
    expect(XMLValidator.validate(`<root>${t}</root>`)).to.not.equal(true);
    await m.setFaults({ malformedXml: 'garbled' });
    expect(XMLValidator.validate(`<root>${(await v1Get(origin, infoall(1))).body}</root>`)).to.not.equal(
      true,
    );
    await m.setFaults({ malformedXml: 'sessionexpire' });
    expect((await v1Get(origin, infoall(1))).body).to.match(/<\/bandwidth>[\s\S]*<\/sessionexpire>$/);
    await m.setFaults({ malformedXml: 'dots' });
    expect((await v1Get(origin, infoall(1))).body).to.contain('</status>.');
    await m.setFaults({ malformedXml: true });
    const j = (await v1Get(origin, infoall(1, { rdtype: 'json' }))).body;
    expect(() => JSON.parse(j)).to.throw(SyntaxError);
  });

  it('answers a front-end HTTP status', async () => {
    await m.setFaults({ httpStatus: 502 });
    const r = await v1Get(origin, infoall(1));
    expect(r.status).to.equal(502);
    expect(r.body).to.contain('502 Bad Gateway');
  });

  it('fails a seeded, reproducible share of requests with failRate', async () => {
    const run = async () => {
      await m.setFaults({ failRate: 0.3, seed: 42, httpStatus: 503 });
      const statuses: number[] = [];
      for (let i = 0; i < 100; i++) statuses.push((await v1Get(origin, infoall(1))).status);
      return statuses;
    };
    const first = await run();
    const failed = first.filter((s) => s === 503).length;
    expect(failed).to.be.within(15, 45);
    expect(first.filter((s) => s !== 503 && s !== 200)).to.deep.equal([]);
    expect(await run()).to.deep.equal(first);
  });

  it('limits faults to some servers with onlyServers', async () => {
    await m.setFaults({ httpStatus: 503, latencyMs: 0, onlyServers: [2] });
    expect((await v1Get(origin, infoall(1))).status).to.equal(200);
    expect((await v1Get(origin, infoall(2))).status).to.equal(503);
    expect((await v1Get(origin, { ...AUTH, action: 'listnodes' })).status).to.equal(200);
    await m.setFaults({ down: true, onlyServers: [3] });
    expect(await errorCode(v1Get(origin, infoall(3)))).to.be.oneOf(['ECONNRESET', 'socket hang up']);
    expect((await v1Get(origin, infoall(1))).status).to.equal(200); // the listener stayed up
  });

  it('counts injected faults in the stats', () => {
    expect(m.stats().faultsInjected).to.be.greaterThan(10);
  });

  it('also applies to SolusVM 2, truncating JSON', async () => {
    const m2 = sim.addMaster({
      name: 'f2',
      version: 2,
      zone: 'UTC',
      resetPolicy: 'never',
      credentials: { token: 't' },
    });
    m2.addServer({
      id: 1,
      hostname: 'h',
      node: { id: 1, name: 'n' },
      clientId: 1,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2024-01-01T00:00:00Z',
      profile: { kind: 'constant', bytesPerDay: 1n },
    });
    const api = await m2.listen();
    await m2.setFaults({ malformedXml: true });
    const r = await request(`${api}/servers/1`, { headers: { authorization: 'Bearer t' } });
    expect(r.status).to.equal(200);
    expect(() => JSON.parse(r.body)).to.throw(SyntaxError);
    await m2.setFaults({ down: true });
    expect(await errorCode(request(`${api}/servers/1`))).to.equal('ECONNREFUSED');
    await m2.close();
  });
});
