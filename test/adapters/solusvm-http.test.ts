import { expect } from 'chai';
import https from 'node:https';
import net, { type AddressInfo, type LookupFunction, type Socket } from 'node:net';
import { generate } from 'selfsigned';
import {
  createSolusVmHttp,
  formatFingerprint,
  normalizeFingerprint,
  parseRetryAfter,
  scrubSecrets,
} from '../../module/adapters/solusvm-http.js';
import { SolusVmError } from '../../module/adapters/solusvm-types.js';
import {
  APIID,
  APIKEY,
  refusedPort,
  send,
  startStub,
  type Stub,
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

const READ = { method: 'POST' as const, path: '/api/admin/command.php', body: 'action=x', idempotent: true };
const ACTION = { ...READ, idempotent: false };

describe('SolusVM transport', () => {
  let stub: Stub;
  afterEach(async () => stub?.close());

  describe('requests', () => {
    it('posts the form with basic auth and without any Expect header (no 100-continue)', async () => {
      stub = await startStub((_req, res) => send(res, 200, 'ok'));
      const http = createSolusVmHttp(v1Conn(stub.url, { basicAuth: { user: 'ht', password: 'htpw' } }));
      const reply = await http.request({
        ...READ,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      http.close();
      expect(reply.status).to.equal(200);
      expect(reply.body).to.equal('ok');
      const seen = stub.requests[0]!;
      expect(seen.headers.expect).to.equal(undefined);
      expect(seen.headers.authorization).to.equal('Basic ' + Buffer.from('ht:htpw').toString('base64'));
      expect(seen.body).to.equal('action=x');
    });

    it('keeps one connection alive across sequential calls', async () => {
      stub = await startStub((_req, res) => send(res, 200, 'ok'));
      const http = createSolusVmHttp(v1Conn(stub.url));
      for (let i = 0; i < 4; i++) await http.request(READ);
      http.close();
      expect(stub.connections).to.equal(1);
    });

    it('never has more calls in flight at the master than its concurrency', async () => {
      stub = await startStub((_req, res) => setTimeout(() => send(res, 200, 'ok'), 20));
      const http = createSolusVmHttp(v1Conn(stub.url, { concurrency: 2 }));
      await Promise.all(Array.from({ length: 9 }, () => http.request(READ)));
      http.close();
      expect(stub.requests).to.have.length(9);
      expect(stub.maxInFlight).to.equal(2);
    });

    it('appends the call path to a base URL that has a path of its own', async () => {
      stub = await startStub((_req, res) => send(res, 200, 'ok'));
      const http = createSolusVmHttp(v1Conn(stub.url + '/api/v1/'));
      await http.request({ method: 'GET', path: '/servers?page=2', idempotent: true });
      http.close();
      expect(stub.requests[0]!.url).to.equal('/api/v1/servers?page=2');
    });

    it("lets the call's own Authorization, in any case, win over the htpasswd's", async () => {
      stub = await startStub((_req, res) => send(res, 200, 'ok'));
      const http = createSolusVmHttp(v1Conn(stub.url, { basicAuth: { user: 'ht', password: 'htpw' } }));
      await http.request({ ...READ, headers: { authorization: 'Bearer t0k' } });
      await http.request(READ);
      http.close();
      expect(stub.requests.map((r) => r.headers.authorization)).to.deep.equal([
        'Bearer t0k',
        'Basic ' + Buffer.from('ht:htpw').toString('base64'),
      ]);
    });

    it('does not follow a redirect: the 302 is the answer and its Location is never called', async () => {
      stub = await startStub((req, res) =>
        req.url === '/elsewhere'
          ? send(res, 200, 'moved here')
          : send(res, 302, '', { Location: '/elsewhere' }),
      );
      const http = createSolusVmHttp(v1Conn(stub.url));
      const reply = await http.request(READ);
      http.close();
      expect(reply.status).to.equal(302);
      expect(reply.headers.location).to.equal('/elsewhere');
      expect(stub.requests.map((r) => r.url)).to.deep.equal(['/api/admin/command.php']);
    });

    it('refuses an answer larger than the limit without retrying, then calls on a new connection', async () => {
      // 1 001 bytes against a limit of 1 000: one byte too many; the second answer is 2 bytes
      stub = await startStub((req, res) => send(res, 200, req.body === 'small' ? 'ok' : 'x'.repeat(1001)));
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 2 }), { maxBodyBytes: 1000 });
      const e = await rejection(http.request(READ));
      expect(e.kind).to.equal('bad_response');
      expect(e.httpStatus).to.equal(200);
      expect(e.message).to.equal(`the answer from 127.0.0.1:${stub.port} is larger than 1000 bytes`);
      expect((await http.request({ ...READ, body: 'small' })).body).to.equal('ok');
      http.close();
      expect(stub.requests).to.have.length(2); // not retried
      expect(stub.connections).to.equal(2); // the refused answer's connection was dropped
    });
  });

  describe('failures and retries', () => {
    it('times out a call that gets no answer, retrying reads, as kind timeout', async () => {
      stub = await startStub(() => undefined); // never answers
      const http = createSolusVmHttp(v1Conn(stub.url, { timeoutMs: 60, retries: 1 }));
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('timeout');
      expect(e.message).to.match(/no answer from 127\.0\.0\.1:\d+ within 60 ms \(after 2 attempts\)/);
      expect(stub.requests).to.have.length(2);
    });

    it('does not retry an action that timed out after it was sent', async () => {
      stub = await startStub(() => undefined);
      const http = createSolusVmHttp(v1Conn(stub.url, { timeoutMs: 60, retries: 3 }));
      const e = await rejection(http.request(ACTION));
      http.close();
      expect(e.kind).to.equal('timeout');
      expect(stub.requests).to.have.length(1);
    });

    it('retries a refused connection, then fails with a clear message', async () => {
      const port = await refusedPort();
      const sleeps: number[] = [];
      const http = createSolusVmHttp(v1Conn(`http://127.0.0.1:${port}`, { retries: 2, retryBaseMs: 10 }), {
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 1,
      });
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('transport');
      expect(e.code).to.equal('ECONNREFUSED');
      expect(e.message).to.equal(
        `the connection to 127.0.0.1:${port} was refused (nothing listens on that port, or a firewall rejects it) (after 3 attempts)`,
      );
      expect(sleeps).to.deep.equal([10, 20]); // exponential backoff
    });

    it('retries an action whose connection was refused, since nothing was sent', async () => {
      const port = await refusedPort();
      let attempts = 0;
      const http = createSolusVmHttp(v1Conn(`http://127.0.0.1:${port}`, { retries: 2 }), {
        sleep: async () => void attempts++,
      });
      const e = await rejection(http.request(ACTION));
      http.close();
      expect(e.code).to.equal('ECONNREFUSED');
      expect(attempts).to.equal(2);
    });

    it('jitters the backoff between half and all of the exponential delay, capped', async () => {
      const port = await refusedPort();
      const sleeps: number[] = [];
      const http = createSolusVmHttp(v1Conn(`http://127.0.0.1:${port}`, { retries: 4, retryBaseMs: 100 }), {
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 0,
        maxBackoffMs: 300,
      });
      await rejection(http.request(READ));
      http.close();
      expect(sleeps).to.deep.equal([50, 100, 150, 150]);
    });

    it('times out a connection that never finishes its TLS handshake, and retries even an action since nothing was sent', async () => {
      let connections = 0;
      const silent = net.createServer((s) => {
        connections++;
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      const port = (silent.address() as AddressInfo).port;
      const http = createSolusVmHttp(
        v1Conn(`https://127.0.0.1:${port}`, { retries: 1, tls: { mode: 'insecure' } }),
        { connectTimeoutMs: 50 },
      );
      const e = await rejection(http.request(ACTION));
      http.close();
      silent.close();
      expect(e.kind).to.equal('timeout');
      expect(e.code).to.equal('CONNECT_TIMEOUT');
      expect(e.message).to.match(/could not connect to 127\.0\.0\.1:\d+ within 50 ms \(after 2 attempts\)/);
      expect(connections).to.equal(2);
    });

    it('gives up a connection still in its TLS handshake when the call times out: the retry connects anew', async () => {
      let connections = 0;
      const silent = net.createServer((s) => {
        connections++;
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      const port = (silent.address() as AddressInfo).port;
      // the call's 80 ms end long before the 5 s allowed to connect
      const http = createSolusVmHttp(
        v1Conn(`https://127.0.0.1:${port}`, { timeoutMs: 80, retries: 1, tls: { mode: 'insecure' } }),
        { connectTimeoutMs: 5000 },
      );
      const e = await rejection(http.request(READ));
      http.close();
      silent.close();
      expect(e.kind).to.equal('timeout');
      expect(e.code).to.equal('CONNECT_TIMEOUT');
      expect(e.message).to.match(/^no answer from 127\.0\.0\.1:\d+ within 80 ms \(after 2 attempts\)$/);
      expect(connections).to.equal(2); // one per attempt
    });

    it('reports a DNS failure in words', async () => {
      const lookup = ((_host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException) => void) => {
        const err: NodeJS.ErrnoException = new Error('getaddrinfo ENOTFOUND master.invalid');
        err.code = 'ENOTFOUND';
        cb(err);
      }) as unknown as LookupFunction;
      const http = createSolusVmHttp(v1Conn('http://master.invalid:5353', { retries: 0 }), { lookup });
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('transport');
      expect(e.message).to.equal('the host name master.invalid could not be resolved (DNS: ENOTFOUND)');
    });

    it('retries a 502 from a proxy for reads and returns the last answer', async () => {
      stub = await startStub((_req, res) => send(res, 502, '<html>Bad Gateway</html>'));
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 2 }));
      const reply = await http.request(READ);
      http.close();
      expect(reply.status).to.equal(502);
      expect(reply.attempts).to.equal(3);
      expect(stub.requests).to.have.length(3);
    });

    it('recovers when a retried read succeeds', async () => {
      let n = 0;
      stub = await startStub((_req, res) => (++n < 3 ? send(res, 503, 'busy') : send(res, 200, 'ok')));
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 3 }));
      const reply = await http.request(READ);
      http.close();
      expect(reply.status).to.equal(200);
      expect(reply.attempts).to.equal(3);
    });

    it('does not retry a 502 for an action such as suspend', async () => {
      stub = await startStub((_req, res) => send(res, 502, 'Bad Gateway'));
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 2 }));
      const reply = await http.request(ACTION);
      http.close();
      expect(reply.status).to.equal(502);
      expect(stub.requests).to.have.length(1);
    });

    it('retries a read whose connection was dropped (socket hang up), but not an action', async () => {
      let n = 0;
      stub = await startStub((_req, res) => (n++ === 0 ? res.socket?.destroy() : send(res, 200, 'ok')));
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 1 }));
      expect((await http.request(READ)).body).to.equal('ok');
      n = 0;
      const e = await rejection(http.request(ACTION));
      http.close();
      expect(e.kind).to.equal('transport');
      expect(e.message).to.match(/closed unexpectedly \(socket hang up\)/);
      expect(stub.requests).to.have.length(3);
    });

    it('times out a master that sends its headers, then stalls in the body, retrying a read', async () => {
      stub = await startStub((_req, res) => {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('x'.repeat(10)); // 10 of 100 bytes, then nothing
      });
      const http = createSolusVmHttp(v1Conn(stub.url, { timeoutMs: 80, retries: 1 }));
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('timeout');
      expect(e.code).to.equal('TIMEOUT');
      expect(e.message).to.match(/^no answer from 127\.0\.0\.1:\d+ within 80 ms \(after 2 attempts\)$/);
      expect(stub.requests).to.have.length(2);
    });

    it('reports an answer cut off in its body as a transport failure, retried for a read', async () => {
      let n = 0;
      stub = await startStub((_req, res) => {
        if (n++ > 0) return send(res, 200, 'ok');
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('x'.repeat(10), () => res.socket?.destroy()); // 10 of 100 bytes, then the connection drops
      });
      const http = createSolusVmHttp(v1Conn(stub.url, { retries: 1 }));
      expect((await http.request(READ)).body).to.equal('ok');
      n = 0;
      const e = await rejection(http.request(ACTION));
      http.close();
      expect(e.kind).to.equal('transport');
      expect(e.code).to.equal('ECONNRESET');
      expect(e.retryable).to.equal(true);
      expect(e.message).to.equal(`the answer from 127.0.0.1:${stub.port} was cut off`);
      expect(stub.requests).to.have.length(3);
    });

    it('retries 429 after Retry-After only when asked to, and not beyond the bound', async () => {
      let n = 0;
      stub = await startStub((_req, res) =>
        n++ === 0 ? send(res, 429, 'slow', { 'Retry-After': '2' }) : send(res, 200, 'ok'),
      );
      const sleeps: number[] = [];
      const http = createSolusVmHttp(v1Conn(stub.url), {
        honourRetryAfter: true,
        sleep: async (ms) => void sleeps.push(ms),
      });
      expect((await http.request(READ)).status).to.equal(200);
      expect(sleeps).to.deep.equal([2000]);
      n = 0;
      const bounded = createSolusVmHttp(v1Conn(stub.url), {
        honourRetryAfter: true,
        maxRetryAfterMs: 1000,
        sleep: async () => undefined,
      });
      expect((await bounded.request(READ)).status).to.equal(429);
      http.close();
      bounded.close();
    });
  });

  describe('TLS', () => {
    it('refuses a self-signed master in verify mode, names the fingerprint to pin, and sends nothing', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const http = createSolusVmHttp(v1Conn(stub.url));
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('tls');
      expect(e.retryable).to.equal(false);
      expect(e.message).to.contain("the master's certificate is not trusted (self-signed?");
      expect(e.message).to.contain(`pin its fingerprint ${cert.fingerprint256}`);
      expect(e.fingerprint256).to.equal(cert.fingerprint256);
      expect(stub.requests).to.have.length(0); // the credentials never left
    });

    it('accepts the master in verify mode when its CA is trusted', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const http = createSolusVmHttp(v1Conn(stub.url), { ca: cert.cert });
      expect((await http.request(READ)).body).to.equal('ok');
      expect(http.peerFingerprint256).to.equal(cert.fingerprint256);
      http.close();
    });

    it('still checks the host name in verify mode: a trusted certificate for another host is refused', async () => {
      const r = await generate([{ name: 'commonName', value: 'other.example' }], {
        keyType: 'ec',
        curve: 'P-256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'other.example' }] }],
      });
      stub = await startStub((_req, res) => send(res, 200, 'ok'), {
        tls: { key: r.private, cert: r.cert, fingerprint256: '' },
      });
      const http = createSolusVmHttp(v1Conn(stub.url), { ca: r.cert });
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('tls');
      expect(e.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(e.message).to.contain('issued for another host name than 127.0.0.1');
      expect(stub.requests).to.have.length(0);
    });

    it('accepts a pinned fingerprint written in lower case without colons', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const pin = cert.fingerprint256.replaceAll(':', '').toLowerCase();
      const http = createSolusVmHttp(v1Conn(stub.url, { tls: { mode: 'pinned', fingerprint256: pin } }));
      expect((await http.request(READ)).body).to.equal('ok');
      expect((await http.request(READ)).body).to.equal('ok');
      expect(http.peerFingerprint256).to.equal(cert.fingerprint256);
      http.close();
    });

    it('refuses a mismatched pin, naming both fingerprints, and sends nothing', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const wrong = 'AB'.repeat(32);
      const http = createSolusVmHttp(v1Conn(stub.url, { tls: { mode: 'pinned', fingerprint256: wrong } }));
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('tls');
      expect(e.code).to.equal('FINGERPRINT_MISMATCH');
      expect(e.message).to.contain(cert.fingerprint256);
      expect(e.message).to.contain(formatFingerprint(wrong));
      expect(stub.requests).to.have.length(0);
    });

    it('refuses pinned mode without a pin, giving the fingerprint to pin', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const http = createSolusVmHttp(v1Conn(stub.url, { tls: { mode: 'pinned', fingerprint256: null } }));
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('tls');
      expect(e.message).to.contain(cert.fingerprint256);
    });

    it('checks every new connection but not one kept alive: a certificate changed under a pin is refused', async () => {
      const a = await testCert();
      const r = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
        keyType: 'ec',
        curve: 'P-256',
      });
      const sockets = new Set<Socket>();
      let requests = 0;
      const server = https.createServer({ key: a.key, cert: a.cert }, (_req, res) => {
        requests++;
        res.end('ok');
      });
      server.on('secureConnection', (s: Socket) => sockets.add(s));
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const http = createSolusVmHttp(
        v1Conn(url, { tls: { mode: 'pinned', fingerprint256: a.fingerprint256 } }),
      );
      expect((await http.request(READ)).body).to.equal('ok');
      server.setSecureContext({ key: r.private, cert: r.cert }); // the master now shows another certificate
      expect((await http.request(READ)).body).to.equal('ok'); // on the connection already checked
      for (const s of sockets) s.destroy(); // the master drops it: the next call connects anew
      await new Promise((ok) => setTimeout(ok, 20));
      const e = await rejection(http.request(READ));
      http.close();
      server.close();
      expect(e.kind).to.equal('tls');
      expect(e.code).to.equal('FINGERPRINT_MISMATCH');
      expect(e.fingerprint256).to.not.equal(a.fingerprint256);
      expect(requests).to.equal(2); // nothing was sent to the new certificate
    });

    it('accepts any certificate in insecure mode', async () => {
      const cert = await testCert();
      stub = await startStub((_req, res) => send(res, 200, 'ok'), { tls: cert });
      const http = createSolusVmHttp(v1Conn(stub.url, { tls: { mode: 'insecure' } }));
      expect((await http.request(READ)).body).to.equal('ok');
      expect(http.peerFingerprint256).to.equal(cert.fingerprint256);
      http.close();
    });

    it('reports an https URL pointed at a plain-http port as a TLS failure', async () => {
      stub = await startStub((_req, res) => send(res, 200, 'ok'));
      const http = createSolusVmHttp(
        v1Conn(stub.url.replace('http:', 'https:'), { retries: 0, tls: { mode: 'insecure' } }),
      );
      const e = await rejection(http.request(READ));
      http.close();
      expect(e.kind).to.equal('tls');
      expect(e.message).to.contain('plain HTTP');
    });
  });

  describe('helpers', () => {
    it('scrubs credentials from text, raw or as parameters', () => {
      const text = `id=${APIID}&key=${APIKEY}&action=x; echoed ${APIKEY}; Authorization: Bearer abc.def; hash=zz`;
      const out = scrubSecrets(text, [APIID, APIKEY]);
      expect(out).not.to.contain(APIID);
      expect(out).not.to.contain(APIKEY);
      expect(out).not.to.contain('abc.def');
      expect(out).to.equal('id=***&key=***&action=x; echoed ***; Authorization: Bearer ***; hash=***');
    });

    it('compares fingerprints without regard to case or colons', () => {
      expect(normalizeFingerprint('ab:cd:0f')).to.equal(normalizeFingerprint('ABCD0F'));
      expect(formatFingerprint('abcd0f')).to.equal('AB:CD:0F');
    });

    it('reads Retry-After in seconds or as a date', () => {
      expect(parseRetryAfter('3')).to.equal(3000);
      expect(
        parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
      ).to.equal(10_000);
      expect(parseRetryAfter(undefined)).to.equal(null);
      expect(parseRetryAfter('soon')).to.equal(null);
    });
  });
});
