import { expect } from 'chai';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { bandwidthField } from '../../simulator/v1-api.js';
import { GIB, multipart, request, v1Get } from './http-helpers.js';

const AUTH = { id: 'api-id', key: 'api-key' };
const xml = new XMLParser({ parseTagValue: false, ignoreDeclaration: true });

/** Parse a root-less fragment the way robust clients do: strip the declaration, wrap it. */
function parseFragment(body: string): Record<string, unknown> {
  const stripped = body.replace(/^<\?xml[^>]*\?>\s*/, '');
  return xml.parse(`<root>${stripped}</root>`).root as Record<string, unknown>;
}

describe('simulator SolusVM 1 Admin API', () => {
  let sim: Simulator;
  let m: SimMaster;
  let origin: string;
  const now = Date.parse('2024-03-15T12:00:00Z'); // 13:00 in Brussels

  before(async () => {
    sim = createSimulator({ now: () => now });
    m = sim.addMaster({
      name: 'v1',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: AUTH.id, apiKey: AUTH.key },
      tls: true,
    });
    const base = {
      clientId: 7,
      createdAt: '2023-06-01T00:00:00Z',
      profile: { kind: 'constant' as const, bytesPerDay: 24n * GIB },
    };
    m.addServer({
      id: 101,
      hostname: 'vps101.example.net',
      node: { id: 3, name: 'kvm-node-03' },
      type: 'kvm',
      limitBytes: 1024n * GIB,
      ...base,
    });
    m.addServer({
      id: 102,
      hostname: 'ct102.example.net',
      node: { id: 4, name: 'ovz-node-01' },
      type: 'openvz',
      limitBytes: 100n * GIB,
      ...base,
    });
    m.addServer({
      id: 103,
      hostname: 'vps103.example.net',
      node: { id: 3, name: 'kvm-node-03' },
      type: 'kvm',
      limitBytes: 0n,
      ...base,
    });
    m.addNode({ id: 9, name: 'empty-node', type: 'xenhvm' });
    origin = await m.listen();
  });

  after(() => sim.close());

  it('serves https with a self-signed certificate whose fingerprint it exposes', async () => {
    const r = await v1Get(origin, { ...AUTH, action: 'vserver-status', vserverid: '101' });
    expect(origin).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(r.peerFingerprint256)
      .to.equal(m.fingerprint256)
      .and.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('answers vserver-infoall as XML fragments without a root element, counter in bytes', async () => {
    const r = await v1Get(origin, { ...AUTH, action: 'vserver-infoall', vserverid: '101' });
    expect(r.status).to.equal(200);
    expect(r.body.startsWith('<status>success</status>')).to.equal(true);
    expect(XMLValidator.validate(r.body)).to.not.equal(true); // several roots: not a document
    const f = parseFragment(r.body);
    // 14 full days of March plus 13 of 24 hours at 24 GiB/day
    expect(f.bandwidth).to.equal(`${1024n * GIB},${349n * GIB},${675n * GIB},34`);
    expect(f).to.include({
      status: 'success',
      statusmsg: '',
      state: 'online',
      node: 'kvm-node-03',
      type: 'kvm',
      mainipaddress: '10.0.0.101',
    });
    expect(f.trafficgraph).to.be.a('string');
  });

  it('answers rdtype=json with a flat object mixing strings and numbers, bandwidth a comma-joined string', async () => {
    const r = await v1Get(origin, {
      ...AUTH,
      action: 'vserver-infoall',
      vserverid: '102',
      rdtype: 'json',
      nographs: 'true',
      nostatus: 'true',
    });
    const j = JSON.parse(r.body) as Record<string, unknown>;
    expect(j.status).to.equal('success');
    expect(j.bandwidth).to.equal(`${100n * GIB},${349n * GIB},${-249n * GIB},349`); // over the limit: free < 0, percent > 100
    expect(j).to.not.have.property('trafficgraph');
    expect(j.rescuemode).to.equal(0);
    const info = JSON.parse(
      (await v1Get(origin, { ...AUTH, action: 'vserver-info', vserverid: '102', rdtype: 'json' })).body,
    ) as Record<string, unknown>;
    expect(info.vserverid).to.equal(102);
    expect(info.clientid).to.equal('7');
    expect(info['ctid-xid']).to.equal('102');
  });

  it('reports an unlimited server as total 0 with percent 0, and rounds percent half-up', async () => {
    const f = parseFragment(
      (await v1Get(origin, { ...AUTH, action: 'vserver-infoall', vserverid: '103', nographs: 'true' })).body,
    );
    expect(f.bandwidth).to.equal(`0,${349n * GIB},${-349n * GIB},0`);
    expect(bandwidthField(8n, 5n)).to.equal('8,5,3,63');
    expect(bandwidthField(3n, 1n)).to.equal('3,1,2,33');
  });

  it('accepts GET, urlencoded POST and multipart POST alike', async () => {
    const form = new URLSearchParams({ ...AUTH, action: 'vserver-status', vserverid: '101' }).toString();
    const a = await request(`${origin}/api/admin/command.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', expect: '' },
      body: form,
    });
    const mp = multipart({ ...AUTH, action: 'vserver-status', vserverid: '101' });
    const b = await request(`${origin}/api/admin/command.php`, {
      method: 'POST',
      headers: { 'content-type': mp.contentType },
      body: mp.body,
    });
    expect(a.body).to.equal('<status>success</status><statusmsg>online</statusmsg>');
    expect(b.body).to.equal(a.body);
  });

  it('reads a urlencoded body as URLSearchParams does, with or without escapes: the last of a repeated name, = inside a value', async () => {
    const auth = new URLSearchParams(AUTH).toString();
    const post = (body: string) =>
      request(`${origin}/api/admin/command.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    const plain = await post(
      `${auth}&action=vserver-infoall&vserverid=999&&vserverid=102&rdtype=json&nographs=true&nostatus=true&x=a=b&flag`,
    );
    const escaped = await post(
      `${auth}&action=vserver%2Dinfoall&vserverid=999&vserverid=%31%30%32&rdtype=json&nographs=true&nostatus=true&x=a+b`,
    );
    const j = JSON.parse(plain.body) as Record<string, unknown>;
    expect(j.bandwidth).to.equal(`${100n * GIB},${349n * GIB},${-249n * GIB},349`);
    expect(escaped.body).to.equal(plain.body);
    // the JSON text JSON.stringify writes for the same fields, in the same order
    expect(plain.body).to.equal(JSON.stringify(j));
    expect(Object.keys(j)).to.deep.equal([
      'status',
      'statusmsg',
      'node',
      'mainipaddress',
      'ipaddresses',
      'type',
      'hdd',
      'memory',
      'bandwidth',
      'internalips',
      'rescuemode',
    ]);
  });

  it('answers a wrong id or key with the bare text, even when JSON was asked for', async () => {
    const r = await v1Get(origin, {
      id: 'api-id',
      key: 'wrong',
      action: 'vserver-infoall',
      vserverid: '101',
      rdtype: 'json',
    });
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('Invalid id or key');
  });

  it('answers unknown servers and nodes with bare text and an unknown action with status error', async () => {
    expect(
      (await v1Get(origin, { ...AUTH, action: 'vserver-infoall', vserverid: '999', rdtype: 'json' })).body,
    ).to.equal('Virtual server not found');
    expect((await v1Get(origin, { ...AUTH, action: 'node-virtualservers', nodeid: '77' })).body).to.equal(
      'Node not found',
    );
    expect((await v1Get(origin, { ...AUTH, action: 'vserver-explode' })).body).to.equal(
      '<status>error</status><statusmsg>Invalid action</statusmsg>',
    );
    expect(JSON.parse((await v1Get(origin, { ...AUTH, action: 'nope', rdtype: 'json' })).body)).to.deep.equal(
      { status: 'error', statusmsg: 'Invalid action' },
    );
  });

  it('suspends and unsuspends, which vserver-status and infoall then read as disabled and online', async () => {
    const s = await v1Get(origin, { ...AUTH, action: 'vserver-suspend', vserverid: '101' });
    expect(s.body).to.equal('<status>success</status><statusmsg>Virtual server suspended</statusmsg>');
    expect(m.server(101)!.state).to.equal('disabled');
    expect(
      JSON.parse(
        (await v1Get(origin, { ...AUTH, action: 'vserver-status', vserverid: '101', rdtype: 'json' })).body,
      ),
    ).to.deep.equal({ status: 'success', statusmsg: 'disabled' });
    await v1Get(origin, { ...AUTH, action: 'vserver-unsuspend', vserverid: '101' });
    expect(
      parseFragment((await v1Get(origin, { ...AUTH, action: 'vserver-infoall', vserverid: '101' })).body)
        .state,
    ).to.equal('online');
  });

  it('sets the bandwidth limit in GB meaning GiB, and the network speed', async () => {
    const r = await v1Get(origin, {
      ...AUTH,
      action: 'vserver-bandwidth',
      vserverid: '103',
      limit: '15000',
      overlimit: '100',
    });
    expect(parseFragment(r.body).status).to.equal('success');
    expect(m.server(103)!.limitBytes).to.equal(16_106_127_360_000n);
    expect(m.server(103)!.overlimitBytes).to.equal(100n * GIB);
    expect(
      parseFragment(
        (await v1Get(origin, { ...AUTH, action: 'vserver-bandwidth', vserverid: '103', limit: 'lots' })).body,
      ).status,
    ).to.equal('error');
    await v1Get(origin, { ...AUTH, action: 'vserver-change-nspeed', vserverid: '103', customnspeed: '1024' });
    expect(m.server(103)!.nspeed).to.equal(1024);
  });

  it('lists nodes with an XML declaration first, filtered by type', async () => {
    const r = await v1Get(origin, { ...AUTH, action: 'listnodes', type: 'kvm' });
    expect(r.body.startsWith("<?xml version='1.0'?>\n<status>success</status>")).to.equal(true);
    expect(parseFragment(r.body).nodes).to.equal('kvm-node-03');
    expect(
      parseFragment((await v1Get(origin, { ...AUTH, action: 'node-idlist', type: 'xen hvm' })).body).nodes,
    ).to.equal('9');
    expect(
      JSON.parse((await v1Get(origin, { ...AUTH, action: 'node-idlist', rdtype: 'json' })).body).nodes,
    ).to.equal('3,4,9');
  });

  it('lists a node’s servers nested in XML and as a JSON array, [] when empty', async () => {
    const r = await v1Get(origin, { ...AUTH, action: 'node-virtualservers', nodeid: '3' });
    expect(r.body.startsWith("<?xml version='1.0'?>\n")).to.equal(true);
    const vs = (parseFragment(r.body).virtualservers as { virtualserver: Array<Record<string, string>> })
      .virtualserver;
    expect(vs.map((v) => v.vserverid)).to.deep.equal(['101', '103']);
    expect(vs[0]).to.include({
      hostname: 'vps101.example.net',
      'ctid-xid': 'kvm101',
      clientid: '7',
      type: 'kvm',
    });
    const j = JSON.parse(
      (await v1Get(origin, { ...AUTH, action: 'node-virtualservers', nodeid: '4', rdtype: 'json' })).body,
    );
    expect(j.virtualservers[0]).to.include({ vserverid: '102', hdd: '53687091200' });
    expect(
      JSON.parse(
        (await v1Get(origin, { ...AUTH, action: 'node-virtualservers', nodeid: '9', rdtype: 'json' })).body,
      ).virtualservers,
    ).to.deep.equal([]);
  });

  it('confirms existence with vserver-checkexists', async () => {
    expect(
      parseFragment((await v1Get(origin, { ...AUTH, action: 'vserver-checkexists', vserverid: '102' })).body)
        .statusmsg,
    ).to.equal('Virtual server exists');
  });

  it('counts requests per action', () => {
    const s = m.stats();
    expect(s.byAction['vserver-infoall']).to.be.greaterThan(2);
    expect(s.requests).to.be.greaterThan(20);
    expect(s.maxInFlight).to.be.greaterThan(0);
  });
});

describe('simulator SolusVM 1 access control', () => {
  let sim: Simulator;
  let origin: string;
  let other: string;
  let later: string;

  before(async () => {
    sim = createSimulator({ now: () => Date.parse('2024-03-15T12:00:00Z') });
    const common = {
      version: 1 as const,
      zone: 'UTC',
      resetPolicy: 'first_of_month' as const,
      credentials: { apiId: 'i', apiKey: 'k' },
    };
    const a = sim.addMaster({ name: 'a', ...common, allowedIps: ['192.0.2.10'] });
    const b = sim.addMaster({
      name: 'b',
      ...common,
      allowedIps: ['127.0.0.1'],
      basicAuth: { user: 'u', password: 'p' },
    });
    const c = sim.addMaster({ name: 'c', ...common, v1NotFound: 'status' });
    for (const x of [a, b, c])
      x.addServer({
        id: 1,
        hostname: 'h',
        node: { id: 1, name: 'n' },
        clientId: 1,
        type: 'kvm',
        limitBytes: 0n,
        createdAt: '2024-01-01T00:00:00Z',
        profile: { kind: 'constant', bytesPerDay: 1n },
      });
    origin = await a.listen();
    other = await b.listen();
    later = await c.listen();
  });

  after(() => sim.close());

  it('refuses a caller outside the allow-list with the bare text Invalid ipaddress', async () => {
    const r = await v1Get(origin, {
      id: 'i',
      key: 'k',
      action: 'vserver-status',
      vserverid: '1',
      rdtype: 'json',
    });
    expect(r.body).to.equal('Invalid ipaddress');
  });

  it('puts an htpasswd in front when asked, and lets the right basic credentials through', async () => {
    const denied = await v1Get(other, { id: 'i', key: 'k', action: 'vserver-status', vserverid: '1' });
    expect(denied.status).to.equal(401);
    expect(denied.headers['www-authenticate']).to.match(/^Basic/);
    const ok = await v1Get(
      other,
      { id: 'i', key: 'k', action: 'vserver-status', vserverid: '1' },
      { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } },
    );
    expect(ok.body).to.equal('<status>success</status><statusmsg>online</statusmsg>');
  });

  it('can answer an unknown server the later way, as status error', async () => {
    const r = await v1Get(later, {
      id: 'i',
      key: 'k',
      action: 'vserver-infoall',
      vserverid: '404',
      rdtype: 'json',
    });
    expect(JSON.parse(r.body)).to.deep.equal({ status: 'error', statusmsg: 'Virtual server not found' });
  });
});
