import { expect } from 'chai';
import { isInteger, parse } from 'lossless-json';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { GIB, request } from './http-helpers.js';

const TOKEN = 'sim-token-123';
const AUTH = { authorization: `Bearer ${TOKEN}`, accept: 'application/json' };

/** JSON with integers kept exact, as a careful client reads SolusVM 2 counters. */
function exact(text: string): any {
  return parse(text, null, (s) => (isInteger(s) ? BigInt(s) : Number(s)));
}

describe('simulator SolusVM 2 REST API', () => {
  let sim: Simulator;
  let m: SimMaster;
  let api: string;
  const clock = { t: Date.parse('2024-03-15T12:00:00Z') };

  before(async () => {
    sim = createSimulator({ now: () => clock.t });
    m = sim.addMaster({
      name: 'v2',
      version: 2,
      zone: 'Europe/Amsterdam',
      resetPolicy: 'anniversary',
      credentials: { token: TOKEN },
    });
    m.addServer({
      id: 412,
      uuid: '5b0d2c7e-8a51-4f7e-9d3e-1c2b3a4d5e6f',
      hostname: 'vps412.example.net',
      node: { id: 2, name: 'cr-2' },
      clientId: 9,
      type: 'kvm',
      limitBytes: 1024n * GIB,
      createdAt: '2024-03-05T10:12:44Z',
      plan: { id: 7, name: 'VPS-4G' },
      // 2^60 bytes a day: the counter passes 2^53 long before the tests look
      profile: { kind: 'constant', bytesPerDay: 2n ** 60n },
    });
    m.addServers(40, {
      idStart: 1000,
      node: { id: 3, name: 'cr-3' },
      clientId: 5,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2024-01-01T00:00:00Z',
      profile: { kind: 'constant', bytesPerDay: 86_400_000n },
    });
    api = await m.listen();
  });

  after(() => sim.close());

  it('answers without a valid bearer token with the JSON 401', async () => {
    const r = await request(`${api}/servers/412`);
    expect(r.status).to.equal(401);
    expect(JSON.parse(r.body)).to.deep.equal({ message: 'Unauthenticated.' });
    expect(
      (await request(`${api}/servers/412`, { headers: { authorization: 'Bearer nope' } })).status,
    ).to.equal(401);
  });

  it('serves GET /servers/{id} in the data envelope, counters as exact JSON numbers beyond 2^53', async () => {
    const r = await request(`${api}/servers/412`, { headers: AUTH });
    expect(r.status).to.equal(200);
    expect(r.headers['content-type']).to.match(/application\/json/);
    const d = exact(r.body).data;
    const counter = m.counterAt(412);
    expect(counter > 2n ** 53n).to.equal(true);
    expect(d.usage.network.incoming.value + d.usage.network.outgoing.value).to.equal(counter);
    expect(r.body).to.contain(`"incoming":{"value":${m.server(412)!.incoming}}`);
    expect(d.plan.reset_limit_policy).to.equal('vm_created_day');
    expect(d.plan.limits.network_total_traffic).to.deep.equal({ is_enabled: true, limit: 1n, unit: 'TiB' });
    expect(d.ip_addresses.ipv4[0].ip).to.equal('10.0.1.156');
    expect(d).to.include({
      uuid: '5b0d2c7e-8a51-4f7e-9d3e-1c2b3a4d5e6f',
      name: 'vps412.example.net',
      status: 'started',
      is_suspended: false,
      created_at: '2024-03-05T10:12:44+00:00',
    });
  });

  it('answers an unknown server with 404 Not found.', async () => {
    const r = await request(`${api}/servers/9999`, { headers: AUTH });
    expect(r.status).to.equal(404);
    expect(JSON.parse(r.body)).to.deep.equal({ message: 'Not found.' });
  });

  it('pages GET /servers Laravel-style, 15 per page by default, honouring per_page', async () => {
    const p1 = JSON.parse((await request(`${api}/servers`, { headers: AUTH })).body);
    expect(p1.data).to.have.length(15);
    expect(p1.data[0].id).to.equal(412);
    expect(p1.meta).to.include({
      current_page: 1,
      from: 1,
      to: 15,
      last_page: 3,
      per_page: 15,
      total: 41,
      path: `${api}/servers`,
    });
    expect(p1.links.prev).to.equal(null);
    expect(p1.links.next).to.equal(`${api}/servers?page=2`);
    const p3 = JSON.parse((await request(p1.links.last, { headers: AUTH })).body);
    expect(p3.data.map((s: { id: number }) => s.id)).to.deep.equal([
      1029, 1030, 1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038, 1039,
    ]);
    expect(p3.links.next).to.equal(null);
    const big = JSON.parse((await request(`${api}/servers?per_page=40&page=2`, { headers: AUTH })).body);
    expect(big.data.map((s: { id: number }) => s.id)).to.deep.equal([1039]);
    expect(big.meta).to.include({ from: 41, to: 41, last_page: 2 });
    const filtered = JSON.parse((await request(`${api}/servers?filter[user_id]=9`, { headers: AUTH })).body);
    expect(filtered.meta.total).to.equal(1);
  });

  it('suspends through a task that goes pending, running, done over polls', async () => {
    const r = await request(`${api}/servers/1005/suspend`, { method: 'POST', headers: AUTH });
    expect(r.status).to.equal(200);
    const task = JSON.parse(r.body).data;
    expect(task).to.include({ action: 'vm-suspend', status: 'pending', compute_resource_id: 3 });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++)
      seen.push(JSON.parse((await request(`${api}/tasks/${task.id}`, { headers: AUTH })).body).data.status);
    expect(seen).to.deep.equal(['running', 'done', 'done']);
    expect(
      JSON.parse((await request(`${api}/servers/1005`, { headers: AUTH })).body).data.is_suspended,
    ).to.equal(true);
    await request(`${api}/servers/1005/resume`, { method: 'POST', headers: AUTH });
    expect(m.server(1005)!.suspended).to.equal(false);
  });

  it('ends a task failed, changing nothing, under the taskFail fault', async () => {
    await m.setFaults({ taskFail: true });
    const task = JSON.parse(
      (await request(`${api}/servers/1006/suspend`, { method: 'POST', headers: AUTH })).body,
    ).data;
    await m.clearFaults();
    await request(`${api}/tasks/${task.id}`, { headers: AUTH });
    expect(
      JSON.parse((await request(`${api}/tasks/${task.id}`, { headers: AUTH })).body).data.status,
    ).to.equal('failed');
    expect(m.server(1006)!.suspended).to.equal(false);
  });

  it('rejects a bad resize body with the Laravel 422 errors shape', async () => {
    const r = await request(`${api}/servers/412/resize`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({
        preserve_disk: 'yes',
        custom_plan: { limits: { network_total_traffic: { limit: -5 } } },
      }),
    });
    expect(r.status).to.equal(422);
    const j = JSON.parse(r.body);
    expect(j.message).to.be.a('string');
    expect(Object.keys(j.errors)).to.have.members([
      'plan_id',
      'preserve_disk',
      'custom_plan.limits.network_total_traffic.limit',
    ]);
  });

  it('applies a resize custom plan: traffic limit in the base unit and bandwidth limits for throttling', async () => {
    const body = {
      plan_id: 7,
      preserve_disk: true,
      custom_plan: {
        limits: {
          network_total_traffic: { limit: 2 },
          network_outgoing_bandwidth: { limit: 10, unit: 'Mbps', is_enabled: true },
        },
      },
    };
    const r = await request(`${api}/servers/412/resize`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.body).data.action).to.equal('vm-resize');
    const v = m.server(412)!;
    expect(v.limitBytes).to.equal(2n * 1024n * GIB);
    expect(v.limits.network_outgoing_bandwidth).to.deep.equal({ is_enabled: true, limit: 10, unit: 'Mbps' });
    const d = JSON.parse((await request(`${api}/servers/412`, { headers: AUTH })).body).data;
    expect(d.plan.limits.network_total_traffic).to.deep.equal({ is_enabled: true, limit: 2, unit: 'TiB' });
    expect(d.plan.limits.network_outgoing_bandwidth).to.deep.equal({
      is_enabled: true,
      limit: 10,
      unit: 'Mbps',
    });
  });

  it('refuses a unit-less traffic limit when the base plan has none', async () => {
    const body = { plan_id: 1, custom_plan: { limits: { network_total_traffic: { limit: 5 } } } };
    const r = await request(`${api}/servers/1001/resize`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).to.equal(422);
  });

  it('serves a short usage series by uuid', async () => {
    const uuid = m.server(1000)!.uuid;
    const j = JSON.parse((await request(`${api}/usage/network/${uuid}`, { headers: AUTH })).body);
    expect(j.data.items).to.have.length(12);
    // 86 400 000 bytes a day = 1000 B/s: 5000 bytes per 5 s point, 30 % incoming
    expect(j.data.items[11].derivative).to.deep.equal({ read_kb: 1.464, write_kb: 3.417 });
    expect(
      (await request(`${api}/usage/network/00000000-0000-4000-8000-000000000000`, { headers: AUTH })).status,
    ).to.equal(404);
  });

  it('answers 429 with Retry-After while the rate-limit fault is set', async () => {
    await m.setFaults({ rateLimit: { retryAfterSec: 7 } });
    const r = await request(`${api}/servers/412`, { headers: AUTH });
    await m.clearFaults();
    expect(r.status).to.equal(429);
    expect(r.headers['retry-after']).to.equal('7');
    expect(JSON.parse(r.body).message).to.be.a('string');
  });

  it('counts requests per route', () => {
    const s = m.stats();
    expect(s.byAction['GET /servers/{id}']).to.be.greaterThan(3);
    expect(s.byAction['GET /tasks/{id}']).to.equal(5);
    expect(s.byStatus['429']).to.equal(1);
  });
});
