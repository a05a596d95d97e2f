import { expect } from 'chai';
import type http from 'node:http';
import type { LookupFunction } from 'node:net';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { SolusVmError, type ServerSummary } from '../../module/adapters/solusvm-types.js';
import { createSolusVmV1Client, type SolusVmV1Client } from '../../module/adapters/solusvm-v1-client.js';
import {
  APIID,
  APIKEY,
  refusedPort,
  send,
  startStub,
  type Stub,
  type StubRequest,
  testCert,
  v1Conn,
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

interface FakeVps {
  state: 'online' | 'offline' | 'disabled';
  bandwidth: string;
  node: string;
}

/** A small SolusVM 1 master: XML fragments by default, JSON with rdtype=json, bare-text errors. */
function fakeMaster(
  servers: Record<string, FakeVps>,
  nodes: Record<string, { type: string; servers: string[] }>,
) {
  const answer = (req: StubRequest, res: http.ServerResponse, fields: Record<string, unknown>): void => {
    if (req.form.get('rdtype') === 'json') return send(res, 200, JSON.stringify(fields));
    const xml = Object.entries(fields)
      .map(([k, v]) =>
        Array.isArray(v)
          ? `<${k}>${v
              .map(
                (e: Record<string, string>) =>
                  `<virtualserver>${Object.entries(e)
                    .map(([a, b]) => `<${a}>${b}</${a}>`)
                    .join('')}</virtualserver>`,
              )
              .join('\n')}</${k}>`
          : `<${k}>${String(v)}</${k}>`,
      )
      .join('\n');
    send(res, 200, xml);
  };
  return (req: StubRequest, res: http.ServerResponse): void => {
    const f = req.form;
    if (f.get('id') !== APIID || f.get('key') !== APIKEY) return send(res, 200, 'Invalid id or key');
    const action = f.get('action') ?? '';
    const found = servers[f.get('vserverid') ?? ''];
    if (action.startsWith('vserver-') && !found) return send(res, 200, 'Virtual server not found');
    const vps = found as FakeVps;
    switch (action) {
      case 'vserver-infoall':
        return answer(req, res, {
          status: 'success',
          statusmsg: '',
          ...(f.get('nostatus') ? {} : { state: vps.state }),
          node: vps.node,
          mainipaddress: '198.51.100.24',
          ipaddresses: '198.51.100.24',
          type: 'kvm',
          hdd: '53687091200,0,53687091200,0',
          memory: '2147483648,0,2147483648,0',
          bandwidth: vps.bandwidth,
          internalips: '',
        });
      case 'vserver-status':
        return answer(req, res, { status: 'success', statusmsg: vps.state });
      case 'vserver-suspend':
        if (vps.state === 'disabled')
          return answer(req, res, { status: 'error', statusmsg: 'Virtual server is already suspended' });
        vps.state = 'disabled';
        return answer(req, res, { status: 'success', statusmsg: 'Virtual server suspended' });
      case 'vserver-unsuspend':
        vps.state = 'online';
        return answer(req, res, { status: 'success', statusmsg: 'Virtual server unsuspended' });
      case 'node-idlist':
      case 'listnodes': {
        const ids = Object.entries(nodes)
          .filter(([, n]) => n.type === f.get('type'))
          .map(([id]) => (action === 'listnodes' ? `node-${id}` : id));
        if (ids.length === 0) return answer(req, res, { status: 'error', statusmsg: 'No nodes found' });
        return answer(req, res, { status: 'success', statusmsg: '', nodes: ids.join(',') });
      }
      case 'node-virtualservers': {
        const node = nodes[f.get('nodeid') ?? ''];
        if (!node) return send(res, 200, 'Node not found');
        return answer(req, res, {
          status: 'success',
          statusmsg: '',
          virtualservers: node.servers.map((id) => ({
            vserverid: id,
            'ctid-xid': `kvm${id}`,
            clientid: '7',
            hostname: `vps${id}.example.net`,
            type: 'kvm',
          })),
        });
      }
      default:
        return answer(req, res, { status: 'success', statusmsg: `did ${action}` });
    }
  };
}

const TIB = '1099511627776,386547056640,712964571136,35';

describe('SolusVM 1 client', () => {
  let stub: Stub;
  let client: SolusVmV1Client;
  let servers: Record<string, FakeVps>;

  beforeEach(async () => {
    servers = {
      '101': { state: 'online', bandwidth: TIB, node: 'kvm-node-03' },
      '102': { state: 'online', bandwidth: '0,9007199254740993,0,0', node: 'kvm-node-03' },
    };
    stub = await startStub(
      fakeMaster(servers, {
        '1': { type: 'kvm', servers: ['101', '102'] },
        '2': { type: 'xen hvm', servers: ['103'] },
        '3': { type: 'kvm', servers: [] },
      }),
    );
    client = createSolusVmV1Client(v1Conn(stub.url));
  });
  afterEach(async () => {
    client.close();
    await stub.close();
  });

  describe('reading traffic', () => {
    it('posts vserver-infoall as a form with id, key, nographs, nostatus and rdtype=json, and reads bytes as bigint', async () => {
      const r = await client.readTraffic('101');
      expect(r).to.deep.equal({
        usedBytes: 386547056640n,
        limitBytes: 1099511627776n,
        incomingBytes: null,
        outgoingBytes: null,
        // nostatus: the node is not asked for the live state, and none comes back
        state: 'unknown',
        raw: `bandwidth=${TIB};state=`,
      });
      const req = stub.requests[0]!;
      expect(req.method).to.equal('POST');
      expect(req.url).to.equal('/api/admin/command.php');
      expect(req.headers['content-type']).to.equal('application/x-www-form-urlencoded');
      expect(req.headers.expect).to.equal(undefined);
      expect(Object.fromEntries(req.form)).to.deep.equal({
        id: APIID,
        key: APIKEY,
        action: 'vserver-infoall',
        vserverid: '101',
        nographs: 'true',
        nostatus: 'true',
        rdtype: 'json',
      });
    });

    it('writes the form as URLSearchParams would, odd characters and parameters named like id, key or rdtype included', async () => {
      stub.handler = (_req, res) => send(res, 200, '<status>success</status><statusmsg></statusmsg>');
      const odd = createSolusVmV1Client(
        v1Conn(stub.url, { credentials: { kind: 'v1', apiId: 'id +&=é~!', apiKey: "key'()*-._ /?" } }),
      );
      const calls: Array<[string, Record<string, string>, boolean]> = [
        ['vserver-infoall', { vserverid: '101', nographs: 'true', nostatus: 'true' }, true],
        ['a b&c', { 'we ird': 'x y+z&%20é漢', empty: '' }, false],
        ['vserver-status', { key: 'other', vserverid: '7' }, true],
        ['node-idlist', { rdtype: 'xml', type: 'kvm' }, true],
        ['node-idlist', { action: 'listnodes', type: 'xen hvm' }, false],
      ];
      for (const [action, params, json] of calls) await odd.call(action, params, { idempotent: true, json });
      odd.close();
      const expected = calls.map(([action, params, json]) => {
        const form = new URLSearchParams({ id: 'id +&=é~!', key: "key'()*-._ /?", action, ...params });
        if (json) form.set('rdtype', 'json');
        return form.toString();
      });
      expect(stub.requests.map((r) => r.body)).to.deep.equal(expected);
    });

    it('reads traffic from XML when the master is set to XML', async () => {
      const xmlClient = createSolusVmV1Client(v1Conn(stub.url), { useXml: true });
      const r = await xmlClient.readTraffic('101');
      xmlClient.close();
      expect(r.usedBytes).to.equal(386547056640n);
      expect(stub.requests[0]!.form.has('rdtype')).to.equal(false);
    });

    it('keeps a counter above 2^53 exact and reads total 0 as no limit', async () => {
      const r = await client.readTraffic('102');
      expect(r.usedBytes).to.equal(9007199254740993n);
      expect(r.limitBytes).to.equal(null);
    });

    it('sends nostatus only when asked, and then reports the state as unknown', async () => {
      const info = await client.vserverInfoAll('101', { nostatus: true, json: false });
      expect(stub.requests[0]!.form.get('nostatus')).to.equal('true');
      expect(info.state).to.equal('unknown');
      expect(info.bandwidth.usedBytes).to.equal(386547056640n);
    });

    it('reads an XML answer from an old master that ignores rdtype=json', async () => {
      stub.handler = (_req, res) =>
        send(
          res,
          200,
          `<?xml version='1.0'?>\n<status>success</status><state>online</state><bandwidth>${TIB}</bandwidth>`,
        );
      expect((await client.readTraffic('101')).usedBytes).to.equal(386547056640n);
    });

    it('reports over-limit counters as they are: used above total', async () => {
      servers['101']!.bandwidth = '1099511627776,1209462790553,-109951162777,110';
      const r = await client.readTraffic('101');
      expect(r.usedBytes).to.equal(1209462790553n);
      expect(r.limitBytes).to.equal(1099511627776n);
    });

    it('fails with the bare-text errors even though rdtype=json was sent', async () => {
      const wrongKey = createSolusVmV1Client(
        v1Conn(stub.url, { credentials: { kind: 'v1', apiId: APIID, apiKey: 'wrong-key-value' } }),
      );
      expect((await rejection(wrongKey.readTraffic('101'))).kind).to.equal('auth');
      wrongKey.close();
      expect((await rejection(client.readTraffic('999'))).kind).to.equal('not_found');
      stub.handler = (_req, res) => send(res, 200, 'Invalid ipaddress');
      expect((await rejection(client.readTraffic('101'))).kind).to.equal('ip_refused');
      stub.handler = (_req, res) => send(res, 200, 'Node not found');
      expect((await rejection(client.nodeVirtualServers('9'))).kind).to.equal('not_found');
    });

    it('never turns an answer without status, an HTML page or status=error into a reading', async () => {
      stub.handler = (_req, res) => send(res, 200, `{"bandwidth":"${TIB}"}`);
      expect((await rejection(client.readTraffic('101'))).code).to.equal('NO_STATUS');
      stub.handler = (_req, res) => send(res, 200, '<html><body><form>Login</form></body></html>');
      expect((await rejection(client.readTraffic('101'))).code).to.equal('HTML_PAGE');
      stub.handler = (_req, res) => send(res, 200, '{"status":"error","statusmsg":"Database error"}');
      const e = await rejection(client.readTraffic('101'));
      expect(e.kind).to.equal('app_error');
      expect(e.message).to.equal('SolusVM answered an error: Database error');
    });

    it('maps an htpasswd 401 to auth, asking for the basic-auth settings', async () => {
      stub.handler = (_req, res) =>
        send(res, 401, '<html><title>401 Authorization Required</title></html>', {
          'WWW-Authenticate': 'Basic realm="x"',
        });
      const e = await rejection(client.readTraffic('101'));
      expect(e.kind).to.equal('auth');
      expect(e.httpStatus).to.equal(401);
      expect(e.message).to.contain('htpasswd');
    });

    it('keeps the API id and key out of messages and snippets even when the master echoes them', async () => {
      stub.handler = (req, res) =>
        send(res, 200, `<status>error</status><statusmsg>bad request ${req.body}</statusmsg>`);
      const e = await rejection(client.readTraffic('101'));
      expect(e.message + e.snippet).not.to.contain(APIID);
      expect(e.message + e.snippet).not.to.contain(APIKEY);
      stub.handler = (req, res) => send(res, 500, `crash ${req.body}`);
      const e2 = await rejection(client.readTraffic('101'));
      expect(e2.kind).to.equal('transport');
      expect(String(e2.snippet)).not.to.contain(APIKEY);
    });

    it('never has more reads in flight at one master than its concurrency', async () => {
      const inner = stub.handler;
      stub.handler = (req, res) => setTimeout(() => inner(req, res, undefined as never), 15);
      const limited = createSolusVmGateway(v1Conn(stub.url, { concurrency: 3 }));
      await Promise.all(Array.from({ length: 12 }, () => limited.readTraffic('101')));
      limited.close();
      expect(stub.maxInFlight).to.equal(3);
    });
  });

  describe('state and actions', () => {
    it('reads the state with vserver-status, disabled meaning suspended', async () => {
      expect(await client.getState('101')).to.equal('online');
      servers['101']!.state = 'disabled';
      expect(await client.getState('101')).to.equal('suspended');
      expect(stub.requests[0]!.form.get('action')).to.equal('vserver-status');
    });

    it('suspends and unsuspends', async () => {
      await client.suspend('101');
      expect(servers['101']!.state).to.equal('disabled');
      await client.unsuspend('101');
      expect(servers['101']!.state).to.equal('online');
      expect(stub.requests.map((r) => r.form.get('action'))).to.deep.equal([
        'vserver-suspend',
        'vserver-unsuspend',
      ]);
    });

    it('accepts a suspend answered with an error only after re-reading that the server is suspended', async () => {
      servers['101']!.state = 'disabled';
      await client.suspend('101');
      expect(stub.requests.map((r) => r.form.get('action'))).to.deep.equal([
        'vserver-suspend',
        'vserver-status',
      ]);
    });

    it('fails a suspend answered with an error when the server is still online', async () => {
      stub.handler = (req, res) =>
        req.form.get('action') === 'vserver-suspend'
          ? send(res, 200, '<status>error</status><statusmsg>Node is locked</statusmsg>')
          : send(res, 200, '<status>success</status><statusmsg>online</statusmsg>');
      const e = await rejection(client.suspend('101'));
      expect(e.kind).to.equal('app_error');
      expect(e.message).to.contain('Node is locked');
    });

    it('does not retry a suspend that got a 502, and fails it unless the state shows it worked', async () => {
      stub.handler = (req, res) =>
        req.form.get('action') === 'vserver-suspend'
          ? send(res, 502, 'Bad Gateway')
          : send(res, 200, '<status>success</status><statusmsg>online</statusmsg>');
      const e = await rejection(client.suspend('101'));
      expect(e.httpStatus).to.equal(502);
      expect(stub.requests.filter((r) => r.form.get('action') === 'vserver-suspend')).to.have.length(1);
    });

    it('does not hide an auth failure behind a state re-read', async () => {
      stub.handler = (_req, res) => send(res, 200, 'Invalid id or key');
      expect((await rejection(client.suspend('101'))).kind).to.equal('auth');
      expect(stub.requests).to.have.length(1);
    });

    it('sends vserver-bandwidth with limit and overlimit in GB, and vserver-change-nspeed', async () => {
      await client.vserverBandwidth('101', 15000n, 100);
      await client.vserverBandwidth('101', 2000);
      await client.vserverChangeNspeed('101', 10240);
      const [bw, bwOnly, ns] = stub.requests.map((r) => Object.fromEntries(r.form));
      expect(bw).to.include({
        action: 'vserver-bandwidth',
        vserverid: '101',
        limit: '15000',
        overlimit: '100',
      });
      expect(bwOnly).not.to.have.property('overlimit');
      expect(ns).to.include({ action: 'vserver-change-nspeed', vserverid: '101', customnspeed: '10240' });
    });

    it('refuses a non-numeric server id or a fractional limit before calling the master', async () => {
      for (const [p, words] of [
        [client.vserverBandwidth('101', 1.5), 'whole number'],
        [client.readTraffic('abc'), 'numeric id'],
        [client.suspend('1; drop'), 'numeric id'],
      ] as const) {
        await p.then(
          () => expect.fail('should fail'),
          (e: Error) => expect(e.message).to.contain(words),
        );
      }
      expect(stub.requests).to.have.length(0);
    });
  });

  describe('listing', () => {
    it('walks node-idlist for every virtualization type, then node-virtualservers per node', async () => {
      const found: ServerSummary[] = [];
      for await (const s of client.listServers()) found.push(s);
      expect(found.map((s) => [s.ref, s.node, s.hostname, s.clientRef, s.ip])).to.deep.equal([
        ['103', '2', 'vps103.example.net', '7', null],
        ['101', '1', 'vps101.example.net', '7', null],
        ['102', '1', 'vps102.example.net', '7', null],
      ]);
      const idlistTypes = stub.requests
        .filter((r) => r.form.get('action') === 'node-idlist')
        .map((r) => r.form.get('type'));
      expect(idlistTypes).to.deep.equal(['openvz', 'xen', 'xen hvm', 'kvm']);
    });

    it('lists the same servers from XML', async () => {
      const xmlClient = createSolusVmV1Client(v1Conn(stub.url), { useXml: true });
      const refs: string[] = [];
      for await (const s of xmlClient.listServers()) refs.push(s.ref);
      xmlClient.close();
      expect(refs).to.deep.equal(['103', '101', '102']);
    });

    it('lists node names and ids by type', async () => {
      expect(await client.listNodes('kvm')).to.deep.equal(['node-1', 'node-3']);
      expect(await client.nodeIdList('kvm')).to.deep.equal(['1', '3']);
    });
  });

  describe('connection test', () => {
    it('reports OK with nodes, servers and latency', async () => {
      const r = await client.testConnection();
      expect(r.ok).to.equal(true);
      expect(r.serverCount).to.equal(3);
      expect(r.latencyMs).to.be.a('number');
      expect(r.message).to.match(
        /^Connected to SolusVM 1 at 127\.0\.0\.1:\d+ in \d+ ms: 3 nodes, 3 servers\. The connection is plain http/,
      );
    });

    it('says the id/key is wrong', async () => {
      stub.handler = (_req, res) => send(res, 200, 'Invalid id or key');
      const r = await client.testConnection();
      expect(r).to.deep.include({ ok: false, errorKind: 'auth' });
      expect(r.message).to.contain('Configuration > API Access');
    });

    it('says which list to add our IP to', async () => {
      stub.handler = (_req, res) => send(res, 200, 'Invalid ipaddress');
      const r = await client.testConnection();
      expect(r.errorKind).to.equal('ip_refused');
      expect(r.message).to.contain(
        "add this server's IP to the API user's allowed IPs in SolusVM > Configuration > API Access",
      );
    });

    it('says an HTML page came back', async () => {
      stub.handler = (_req, res) => send(res, 200, '<!DOCTYPE html><html><body>Please log in</body></html>');
      const r = await client.testConnection();
      expect(r.errorKind).to.equal('bad_response');
      expect(r.message).to.match(/HTML page came back.*htpasswd/);
    });

    it('says the connection was refused and which ports SolusVM uses', async () => {
      const port = await refusedPort();
      const c = createSolusVmV1Client(v1Conn(`http://127.0.0.1:${port}`, { retries: 0 }));
      const r = await c.testConnection();
      c.close();
      expect(r.errorKind).to.equal('transport');
      expect(r.message).to.contain(`The connection to 127.0.0.1:${port} was refused`);
      expect(r.message).to.contain('5656 (https) or 5353 (http)');
    });

    it('says the master did not answer in time', async () => {
      stub.handler = () => undefined;
      const c = createSolusVmV1Client(v1Conn(stub.url, { retries: 0, timeoutMs: 50 }));
      const r = await c.testConnection();
      c.close();
      expect(r.errorKind).to.equal('timeout');
      expect(r.message).to.match(/^No answer from 127\.0\.0\.1:\d+ within 0\.05 s/);
    });

    it('says the host name does not resolve', async () => {
      const lookup = ((_h: string, _o: unknown, cb: (e: NodeJS.ErrnoException) => void) =>
        cb(
          Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }),
        )) as unknown as LookupFunction;
      const c = createSolusVmV1Client(v1Conn('https://master.example.invalid:5656', { retries: 0 }), {
        lookup,
      });
      const r = await c.testConnection();
      c.close();
      expect(r.message).to.equal(
        "Cannot resolve the host name master.example.invalid (DNS lookup failed: EAI_AGAIN); check the master's address.",
      );
    });

    it('gives the fingerprint to pin when the certificate is not trusted', async () => {
      const cert = await testCert();
      const tlsStub = await startStub(fakeMaster(servers, {}), { tls: cert });
      const c = createSolusVmV1Client(v1Conn(tlsStub.url));
      const r = await c.testConnection();
      expect(r.errorKind).to.equal('tls');
      expect(r.fingerprint256).to.equal(cert.fingerprint256);
      expect(r.message).to.contain(`not trusted (self-signed?`);
      expect(r.message).to.contain(`pin its fingerprint ${cert.fingerprint256}`);
      const pinned = createSolusVmV1Client(
        v1Conn(tlsStub.url, { tls: { mode: 'pinned', fingerprint256: cert.fingerprint256 } }),
      );
      const ok = await pinned.testConnection();
      expect(ok.ok).to.equal(true);
      expect(ok.fingerprint256).to.equal(cert.fingerprint256);
      const insecure = createSolusVmV1Client(v1Conn(tlsStub.url, { tls: { mode: 'insecure' } }));
      expect((await insecure.testConnection()).message).to.contain('verification is off (insecure)');
      for (const x of [c, pinned, insecure]) x.close();
      await tlsStub.close();
    });

    it('says the pinned fingerprint does not match', async () => {
      const cert = await testCert();
      const tlsStub = await startStub(fakeMaster(servers, {}), { tls: cert });
      const c = createSolusVmV1Client(
        v1Conn(tlsStub.url, { tls: { mode: 'pinned', fingerprint256: '00'.repeat(32) } }),
      );
      const r = await c.testConnection();
      c.close();
      await tlsStub.close();
      expect(r.errorKind).to.equal('tls');
      expect(r.message).to.contain(`presented a certificate with fingerprint ${cert.fingerprint256}`);
      expect(tlsStub.requests).to.have.length(0);
    });
  });

  it('is what createSolusVmGateway builds for a version 1 master', () => {
    const g = createSolusVmGateway(v1Conn(stub.url));
    expect(g.version).to.equal(1);
    g.close();
  });
});
