/**
 * A tiny scriptable HTTP(S) server on 127.0.0.1:0 for the SolusVM client tests: each test sets
 * the handler; the stub records requests, connections and the most requests in flight at once.
 */
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';
import type { MasterConnection } from '../../module/adapters/solusvm-types.js';

export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the urlencoded body (or query string) as fields */
  form: URLSearchParams;
}

export type StubHandler = (req: StubRequest, res: http.ServerResponse, raw: http.IncomingMessage) => unknown;

export interface Stub {
  url: string;
  port: number;
  handler: StubHandler;
  requests: StubRequest[];
  connections: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

export interface TestCert {
  key: string;
  cert: string;
  /** AA:BB:… as Node reports it */
  fingerprint256: string;
}

let cached: Promise<TestCert> | null = null;

/** A self-signed certificate for 127.0.0.1 (generated once per test process). */
export function testCert(): Promise<TestCert> {
  cached ??= (async () => {
    const r = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    return { key: r.private, cert: r.cert, fingerprint256: new X509Certificate(r.cert).fingerprint256 };
  })();
  return cached;
}

export async function startStub(handler: StubHandler, opts: { tls?: TestCert } = {}): Promise<Stub> {
  const sockets = new Set<Socket>();
  const stub: Stub = {
    url: '',
    port: 0,
    handler,
    requests: [],
    connections: 0,
    inFlight: 0,
    maxInFlight: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    stub.inFlight++;
    stub.maxInFlight = Math.max(stub.maxInFlight, stub.inFlight);
    let done = false;
    const leave = (): void => {
      if (!done) {
        done = true;
        stub.inFlight--;
      }
    };
    res.on('finish', leave);
    res.on('close', leave);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const query = (req.url ?? '').split('?')[1] ?? '';
      const form = new URLSearchParams(
        body && /urlencoded/.test(req.headers['content-type'] ?? '') ? body : query,
      );
      const r: StubRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        form,
      };
      stub.requests.push(r);
      Promise.resolve(stub.handler(r, res, req)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest)
    : http.createServer(onRequest);
  server.on(opts.tls ? 'secureConnection' : 'connection', () => stub.connections++);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stub.port = (server.address() as AddressInfo).port;
  stub.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${stub.port}`;
  return stub;
}

/** A port where nothing listens (bound, then released). */
export async function refusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=UTF-8', ...headers });
  res.end(body);
}

export const sendJson = (
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void => send(res, status, body, { 'Content-Type': 'application/json', ...headers });

export const APIID = 'apiIdSecretValue1';
export const APIKEY = 'apiKeySecretValue2';
export const TOKEN = 'tokenSecretValue3';

/** A connection with fast timeouts and backoffs, so failure tests run in milliseconds. */
export function v1Conn(baseUrl: string, over: Partial<MasterConnection> = {}): MasterConnection {
  return {
    baseUrl,
    version: 1,
    credentials: { kind: 'v1', apiId: APIID, apiKey: APIKEY },
    tls: { mode: 'verify' },
    timeoutMs: 1000,
    concurrency: 4,
    retries: 2,
    retryBaseMs: 1,
    ...over,
  };
}

export function v2Conn(baseUrl: string, over: Partial<MasterConnection> = {}): MasterConnection {
  return { ...v1Conn(baseUrl, over), version: 2, credentials: { kind: 'v2', token: TOKEN }, ...over };
}
