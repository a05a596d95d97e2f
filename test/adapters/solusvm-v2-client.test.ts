import { expect } from 'chai';
import type http from 'node:http';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { SolusVmError, type ServerSummary } from '../../module/adapters/solusvm-types.js';
import {
  createSolusVmV2Client,
  flattenErrors,
  parseV2Server,
  type SolusVmV2Client,
} from '../../module/adapters/solusvm-v2-client.js';
import {
  send,
  sendJson,
  startStub,
  type Stub,
  type StubRequest,
  TOKEN,
  v2Conn,
} from '../support/solusvm-stub.js';

async function rejection(p: Promise<unknown>): Promise<SolusVmError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(SolusVmError);
    return e as SolusVmError;
  }
  throw new Error('expected the call to fail');
}

/** Raw JSON text for a server, so numbers above 2^53 reach the client unrounded. */
function serverJson(
  id: number,
  o: { incoming?: string; outgoing?: string; suspended?: boolean; limit?: string; ips?: 'v4' | 'list' } = {},
): string {
  const ips =
    o.ips === 'list'
      ? `"ips":[{"ip":"203.0.113.${id % 250}"}]`
      : `"ip_addresses":{"ipv4":[{"ip":"203.0.113.7"}]}`;
  return `{"id":${id},"uuid":"5b0d2c7e-8a51-4f7e-9d3e-00000000${String(id).padStart(4, '0')}","name":"vps${id}.example.net",
 "status":"started","is_suspended":${o.suspended ?? false},"is_processing":false,"user":{"id":31},
 "usage":{"cpu":3.5,"network":{"incoming":{"value":${o.incoming ?? '52613349376'}},"outgoing":{"value":${o.outgoing ?? '162135015424'}}}},
 "plan":{"id":7,"name":"VPS-4G","reset_limit_policy":"first_day_of_month","network_traffic_limit_type":"total",
   "limits":{"network_total_traffic":${o.limit ?? '{"is_enabled":true,"limit":1,"unit":"TiB"}'},
     "network_incoming_traffic":{"is_enabled":false,"limit":0,"unit":"GiB"},
     "network_reduce_bandwidth":{"is_enabled":true,"limit":10,"unit":"Mbps"}}},
 ${ips},"created_at":"2024-03-05T10:12:44+00:00"}`;
}

interface Fake {
  suspended: Record<string, boolean>;
  taskSteps: string[];
  tasksPolled: number;
  perPage: number;
  total: number;
  withMeta: boolean;
}

function fakeSolus2(fake: Fake) {
  return (req: StubRequest, res: http.ServerResponse): void => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return sendJson(res, 401, '{"message":"Unauthenticated."}');
    const url = new URL(req.url, 'http://x');
    const path = url.pathname.replace(/^\/api\/v1/, '');
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/servers') {
      const page = Number(url.searchParams.get('page') ?? '1');
      const last = Math.max(1, Math.ceil(fake.total / fake.perPage));
      const ids = Array.from({ length: fake.total }, (_, i) => i + 1).slice(
        (page - 1) * fake.perPage,
        page * fake.perPage,
      );
      const next = page < last ? `"https://elsewhere.example/api/v1/servers?page=${page + 1}"` : 'null';
      const meta = fake.withMeta
        ? `,"meta":{"current_page":${page},"from":1,"last_page":${last},"path":"/servers","per_page":${fake.perPage},"to":2,"total":${fake.total}}`
        : '';
      return sendJson(
        res,
        200,
        `{"data":[${ids.map((id) => serverJson(id)).join(',')}],"links":{"first":null,"last":null,"prev":null,"next":${next}}${meta}}`,
      );
    }
    if (req.method === 'GET' && (m = /^\/servers\/(\d+)$/.exec(path))) {
      if (m[1] === '404') return sendJson(res, 404, '{"message":"Server not found."}');
      return sendJson(
        res,
        200,
        `{"data":${serverJson(Number(m[1]), { suspended: fake.suspended[m[1]!] ?? false })}}`,
      );
    }
    if (req.method === 'POST' && (m = /^\/servers\/(\d+)\/(suspend|resume)$/.exec(path))) {
      fake.tasksPolled = 0;
      return sendJson(
        res,
        200,
        `{"data":{"id":9001,"compute_resource_id":1,"queue":"q","action":"vm-${m[2]}","status":"pending","output":"","progress":0,"duration":0}}`,
      );
    }
    if (req.method === 'GET' && (m = /^\/tasks\/(\d+)$/.exec(path))) {
      const step = fake.taskSteps[Math.min(fake.tasksPolled++, fake.taskSteps.length - 1)]!;
      if (step === 'done') fake.suspended['412'] = true;
      return sendJson(
        res,
        200,
        `{"data":{"id":${m[1]},"action":"vm-suspend","status":"${step}","output":"${step === 'failed' ? 'libvirt: domain is locked' : ''}","progress":50}}`,
      );
    }
    if (req.method === 'POST' && (m = /^\/servers\/(\d+)\/resize$/.exec(path))) return sendJson(res, 200, '');
    return sendJson(res, 404, '{"message":"No route."}');
  };
}

describe('SolusVM 2 client', () => {
  let stub: Stub;
  let client: SolusVmV2Client;
  let fake: Fake;

  beforeEach(async () => {
    fake = {
      suspended: {},
      taskSteps: ['queued', 'running', 'done'],
      tasksPolled: 0,
      perPage: 2,
      total: 5,
      withMeta: true,
    };
    stub = await startStub(fakeSolus2(fake));
    client = createSolusVmV2Client(v2Conn(stub.url + '/api/v1'), { pollIntervalMs: 1, taskDeadlineMs: 2000 });
  });
  afterEach(async () => {
    client.close();
    await stub.close();
  });

  describe('reading a server', () => {
    it('reads usage, the plan limit, state, reset policy and IPs from GET /servers/{id}', async () => {
      const s = await client.getServer('412');
      expect(s).to.deep.include({
        id: '412',
        name: 'vps412.example.net',
        status: 'started',
        state: 'online',
        isSuspended: false,
        incomingBytes: 52613349376n,
        outgoingBytes: 162135015424n,
        resetLimitPolicy: 'first_day_of_month',
        networkTrafficLimitType: 'total',
        createdAt: '2024-03-05T10:12:44+00:00',
        userId: '31',
        ips: ['203.0.113.7'],
      });
      expect(s.totalTrafficLimit).to.deep.equal({
        isEnabled: true,
        limit: '1',
        unit: 'TiB',
        bytes: 1024n ** 4n,
      });
      const req = stub.requests[0]!;
      expect(req.url).to.equal('/api/v1/servers/412');
      expect(req.headers.authorization).to.equal(`Bearer ${TOKEN}`);
      expect(req.headers.accept).to.equal('application/json');
    });

    it('gives the traffic reading as incoming + outgoing bytes with the limit in bytes', async () => {
      const r = await client.readTraffic('412');
      expect(r).to.deep.include({
        usedBytes: 52613349376n + 162135015424n,
        limitBytes: 1099511627776n,
        incomingBytes: 52613349376n,
        outgoingBytes: 162135015424n,
        state: 'online',
      });
      expect(r.raw).to.contain('in=52613349376;out=162135015424;limit=1TiB');
    });

    it('keeps byte counters above 2^53 exact', async () => {
      stub.handler = (_req, res) =>
        sendJson(
          res,
          200,
          `{"data":${serverJson(1, { incoming: '9007199254740993', outgoing: '9007199254740995' })}}`,
        );
      const r = await client.readTraffic('1');
      expect(r.incomingBytes).to.equal(9007199254740993n);
      expect(r.usedBytes).to.equal(18014398509481988n);
    });

    it('reads the IPs from ips[] too, and a disabled limit as none', async () => {
      const s = parseV2Server(
        JSON.parse(serverJson(3, { ips: 'list', limit: '{"is_enabled":false,"limit":5,"unit":"TiB"}' })),
      );
      expect(s.ips).to.deep.equal(['203.0.113.3']);
      expect(s.totalTrafficLimit?.bytes).to.equal(null);
      const gib = parseV2Server(
        JSON.parse(serverJson(3, { limit: '{"is_enabled":true,"limit":"500","unit":"GiB"}' })),
      );
      expect(gib.totalTrafficLimit?.bytes).to.equal(500n * 1024n ** 3n);
    });

    it('maps is_suspended to suspended whatever the power status', async () => {
      fake.suspended['412'] = true;
      expect(await client.getState('412')).to.equal('suspended');
    });

    it('refuses a server without usage values rather than reading zero', async () => {
      stub.handler = (_req, res) =>
        sendJson(res, 200, '{"data":{"id":1,"status":"started","is_suspended":false}}');
      const e = await rejection(client.readTraffic('1'));
      expect(e.kind).to.equal('bad_response');
    });

    it('refuses a limit in an unknown unit', async () => {
      stub.handler = (_req, res) =>
        sendJson(
          res,
          200,
          `{"data":${serverJson(1, { limit: '{"is_enabled":true,"limit":1,"unit":"Parsecs"}' })}}`,
        );
      expect((await rejection(client.readTraffic('1'))).message).to.contain('unknown unit');
    });
  });

  describe('listing', () => {
    it('walks ?page=N until current_page equals last_page', async () => {
      const refs: ServerSummary[] = [];
      for await (const s of client.listServers()) refs.push(s);
      expect(refs.map((s) => s.ref)).to.deep.equal(['1', '2', '3', '4', '5']);
      expect(refs[0]).to.deep.include({
        uuid: '5b0d2c7e-8a51-4f7e-9d3e-000000000001',
        hostname: 'vps1.example.net',
        clientRef: '31',
      });
      expect(stub.requests.map((r) => r.url)).to.deep.equal([
        '/api/v1/servers?page=1',
        '/api/v1/servers?page=2',
        '/api/v1/servers?page=3',
      ]);
    });

    it('follows links.next when there is no meta, staying on the master host', async () => {
      fake.withMeta = false;
      const refs: string[] = [];
      for await (const s of client.listServers()) refs.push(s.ref);
      expect(refs).to.deep.equal(['1', '2', '3', '4', '5']);
      expect(stub.requests).to.have.length(3);
    });
  });

  describe('errors', () => {
    it('maps 401 to auth with where to make a token', async () => {
      const bad = createSolusVmV2Client(
        v2Conn(stub.url + '/api/v1', { credentials: { kind: 'v2', token: 'nope-token' } }),
      );
      const e = await rejection(bad.getServer('1'));
      bad.close();
      expect(e.kind).to.equal('auth');
      expect(e.message).to.equal(
        'the API token was refused (HTTP 401: Unauthenticated.); create a token under Access > API Tokens',
      );
    });

    it('maps 403 to auth, naming the Admin role', async () => {
      stub.handler = (_req, res) => sendJson(res, 403, '{"message":"This action is unauthorized."}');
      const e = await rejection(client.getServer('1'));
      expect(e.kind).to.equal('auth');
      expect(e.message).to.contain('Admin role');
    });

    it('maps 404 to not_found', async () => {
      const e = await rejection(client.getServer('404'));
      expect(e.kind).to.equal('not_found');
      expect(e.message).to.contain('Server not found.');
    });

    it('maps 422 to validation with Laravel errors in words', async () => {
      stub.handler = (_req, res) =>
        sendJson(
          res,
          422,
          '{"message":"The given data was invalid.","errors":{"plan_id":["The plan id field is required."],"custom_plan.limits":["Must be enabled.","Too big."]}}',
        );
      const e = await rejection(client.resize('412', { preserve_disk: true }));
      expect(e.kind).to.equal('validation');
      expect(e.message).to.equal(
        'SolusVM refused the request (HTTP 422): The given data was invalid. (plan_id: The plan id field is required.; custom_plan.limits: Must be enabled., Too big.)',
      );
      expect(flattenErrors({ a: 'x' })).to.equal('a: x');
    });

    it('retries a read answered 429 after its Retry-After, then succeeds', async () => {
      const sleeps: number[] = [];
      const c = createSolusVmV2Client(v2Conn(stub.url + '/api/v1'), {
        sleep: async (ms) => void sleeps.push(ms),
      });
      let n = 0;
      const inner = stub.handler;
      stub.handler = (req, res) =>
        n++ === 0
          ? sendJson(res, 429, '{"message":"Too Many Attempts."}', { 'Retry-After': '3' })
          : inner(req, res, undefined as never);
      expect((await c.getServer('412')).id).to.equal('412');
      expect(sleeps).to.deep.equal([3000]);
      c.close();
    });

    it('gives up on 429 as rate_limited with the advised delay when retries run out or the wait is too long', async () => {
      stub.handler = (_req, res) =>
        sendJson(res, 429, '{"message":"Too Many Attempts."}', { 'Retry-After': '120' });
      const e = await rejection(client.getServer('412'));
      expect(e.kind).to.equal('rate_limited');
      expect(e.retryAfterMs).to.equal(120_000);
      expect(e.message).to.contain('retry after 120 s');
      expect(stub.requests).to.have.length(1); // 120 s is beyond the bound, so no waiting in a read
    });

    it('gives up on 429 as rate_limited once the retries are used up', async () => {
      stub.handler = (_req, res) =>
        sendJson(res, 429, '{"message":"Too Many Attempts."}', { 'Retry-After': '0' });
      const e = await rejection(client.getServer('412'));
      expect(e.kind).to.equal('rate_limited');
      expect(e.retryAfterMs).to.equal(0);
      expect(stub.requests).to.have.length(3);
    });

    it('retries a 500 for reads and reports transport when it persists', async () => {
      stub.handler = (_req, res) => sendJson(res, 500, '{"message":"Server Error"}');
      const e = await rejection(client.getServer('412'));
      expect(e.kind).to.equal('transport');
      expect(e.retryable).to.equal(true);
      expect(stub.requests).to.have.length(3);
    });

    it('does not retry a 500 for suspend', async () => {
      stub.handler = (_req, res) => sendJson(res, 500, '{"message":"Server Error"}');
      await rejection(client.suspendServer('412'));
      expect(stub.requests).to.have.length(1);
    });

    it('uses the raw text of a non-JSON body as the message, without the token', async () => {
      stub.handler = (req, res) =>
        send(
          res,
          502,
          `<html><head><title>502 Bad Gateway</title></head><body>nginx ${req.headers.authorization}</body></html>`,
        );
      const e = await rejection(client.getServer('412'));
      expect(e.kind).to.equal('transport');
      expect(e.message).to.equal('SolusVM failed (HTTP 502): 502 Bad Gateway nginx Bearer ***');
      expect(String(e.snippet)).not.to.contain(TOKEN);
      stub.handler = (_req, res) => send(res, 200, '<html><body>Login</body></html>');
      const e2 = await rejection(client.getServer('412'));
      expect(e2.kind).to.equal('bad_response');
      expect(e2.message).to.equal('the answer is not JSON: Login');
    });
  });

  describe('actions', () => {
    it('suspends by posting and polling the task until done', async () => {
      await client.suspend('412');
      expect(stub.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal([
        'POST /api/v1/servers/412/suspend',
        'GET /api/v1/tasks/9001',
        'GET /api/v1/tasks/9001',
        'GET /api/v1/tasks/9001',
      ]);
      expect(fake.suspended['412']).to.equal(true);
    });

    it('fails a suspend whose task failed, with the task output, after seeing the server is not suspended', async () => {
      fake.taskSteps = ['running', 'failed'];
      const e = await rejection(client.suspend('412'));
      expect(e.kind).to.equal('app_error');
      expect(e.message).to.equal('task 9001 (vm-suspend) failed: libvirt: domain is locked');
      expect(stub.requests.at(-1)!.url).to.equal('/api/v1/servers/412');
    });

    it('reports a task still running at the deadline as a timeout, not as success', async () => {
      fake.taskSteps = ['running'];
      const c = createSolusVmV2Client(v2Conn(stub.url + '/api/v1'), {
        pollIntervalMs: 5,
        taskDeadlineMs: 30,
      });
      const e = await rejection(c.suspendServer('412'));
      c.close();
      expect(e.kind).to.equal('timeout');
      expect(e.code).to.equal('TASK_TIMEOUT');
    });

    it('accepts done_with_errors only when the server turns out suspended', async () => {
      fake.taskSteps = ['done_with_errors'];
      await rejection(client.suspend('412'));
      fake.suspended['412'] = true;
      await client.suspend('412');
    });

    it('accepts a suspend answered without a task', async () => {
      stub.handler = (_req, res) => {
        res.writeHead(204);
        res.end();
      };
      expect(await client.suspendServer('412')).to.equal(null);
    });

    it('treats a refused suspend of an already suspended server as done after re-reading', async () => {
      const inner = stub.handler;
      stub.handler = (req, res) =>
        req.method === 'POST'
          ? sendJson(res, 422, '{"message":"Server is already suspended."}')
          : inner(req, res, undefined as never);
      fake.suspended['412'] = true;
      await client.suspend('412');
      fake.suspended['412'] = false;
      expect((await rejection(client.suspend('412'))).kind).to.equal('validation');
    });

    it('resumes through POST /servers/{id}/resume', async () => {
      fake.suspended['412'] = false;
      await client.unsuspend('412');
      expect(stub.requests[0]!.url).to.equal('/api/v1/servers/412/resume');
    });

    it('resizes with a JSON body, keeping big numbers exact', async () => {
      await client.resize('412', {
        plan_id: 7,
        preserve_disk: true,
        custom_plan: { limits: { network_total_traffic: { limit: 9007199254740993n } } },
      });
      const req = stub.requests[0]!;
      expect(req.headers['content-type']).to.equal('application/json');
      expect(req.body).to.equal(
        '{"plan_id":7,"preserve_disk":true,"custom_plan":{"limits":{"network_total_traffic":{"limit":9007199254740993}}}}',
      );
    });
  });

  describe('connection test', () => {
    it('reports OK with the server count and latency', async () => {
      const r = await client.testConnection();
      expect(r).to.deep.include({ ok: true, version: 2, serverCount: 5, errorKind: null });
      expect(r.message).to.match(/^Connected to SolusVM 2 at 127\.0\.0\.1:\d+ in \d+ ms: 5 servers\./);
    });

    it('says the token was refused', async () => {
      const bad = createSolusVmV2Client(
        v2Conn(stub.url + '/api/v1', { credentials: { kind: 'v2', token: 'nope-token' } }),
      );
      const r = await bad.testConnection();
      bad.close();
      expect(r).to.deep.include({ ok: false, errorKind: 'auth' });
      expect(r.message).to.contain('Access > API Tokens');
    });
  });

  it('is what createSolusVmGateway builds for a version 2 master', () => {
    const g = createSolusVmGateway(v2Conn(stub.url + '/api/v1'));
    expect(g.version).to.equal(2);
    g.close();
  });
});
