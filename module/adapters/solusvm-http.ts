/**
 * The transport shared by the SolusVM 1 and 2 clients: one keep-alive agent per master, timeouts,
 * TLS verify/pinned/insecure, retries on transport failures only, and a per-master concurrency
 * limit. It returns every HTTP answer as is (status, headers, text); the clients give it meaning.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import pLimit, { type LimitFunction } from 'p-limit';
import { invalidInput } from '../domain/errors.js';
import { type MasterConnection, SolusVmError } from './solusvm-types.js';

export interface SolusVmHttpOptions {
  /** extra CA certificates trusted in 'verify' mode (a private CA; tests) */
  ca?: string | Buffer | Array<string | Buffer>;
  /** time to open the connection, TLS handshake included; defaults to conn.timeoutMs */
  connectTimeoutMs?: number;
  /** ceiling of one backoff delay */
  maxBackoffMs?: number;
  /** a Retry-After longer than this is not waited for: the call fails as rate_limited */
  maxRetryAfterMs?: number;
  /** an answer larger than this is refused (bad_response) instead of filling memory */
  maxBodyBytes?: number;
  /** injectable for tests */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** custom DNS lookup (tests simulate DNS failures with it) */
  lookup?: LookupFunction;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** appended to the base URL's path; may carry a query string */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** reads: retried on any transport failure; actions: only when nothing was sent */
  idempotent: boolean;
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** time of the last attempt, connection included */
  latencyMs: number;
  attempts: number;
}

export interface SolusVmHttp {
  request(call: HttpCall): Promise<HttpReply>;
  /** SHA-256 fingerprint (AA:BB:...) of the certificate seen on the last new TLS connection */
  readonly peerFingerprint256: string | null;
  /** host:port, for messages */
  readonly hostPort: string;
  readonly isTls: boolean;
  /** removes the master's credentials from any text we keep */
  scrub(text: string): string;
  /** the first characters of a body, scrubbed, for SolusVmError.snippet */
  snippet(text: string): string;
  close(): void;
}

export interface StatusRetryPolicy {
  /** HTTP statuses worth retrying for reads (a proxy's 502/503/504 by default) */
  retryStatus?: (status: number) => boolean;
  /** retry reads answered 429 after Retry-After (v2) */
  honourRetryAfter?: boolean;
}

const DEFAULT_RETRY_STATUS = (s: number): boolean => s === 502 || s === 503 || s === 504;

/** Upper-case hex without separators, so pins compare case- and colon-insensitively. */
export const normalizeFingerprint = (fp: string): string => fp.replace(/[^0-9a-fA-F]/g, '').toUpperCase();

/** AA:BB:... as Node and browsers show it. */
export const formatFingerprint = (fp: string): string => normalizeFingerprint(fp).replace(/(..)(?!$)/g, '$1:');

/** Replaces secret values, and anything that looks like a credential parameter, with ***. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 3) continue; // too short to replace blindly; the patterns below still catch key=...
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out
    .replace(/\b(id|key|hash|token|password|pass|apikey|api_key|access_token)=([^&\s"'<]+)/gi, '$1=***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***');
}

const NOTHING_SENT_RETRYABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

type Attempt = { ok: true; reply: Omit<HttpReply, 'attempts'> } | { ok: false; error: SolusVmError; requestSent: boolean };

export function createSolusVmHttp(conn: MasterConnection, opts: SolusVmHttpOptions & StatusRetryPolicy = {}): SolusVmHttp {
  let base: URL;
  try {
    base = new URL(conn.baseUrl);
  } catch {
    throw invalidInput(`the SolusVM URL "${conn.baseUrl}" is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw invalidInput(`the SolusVM URL must start with http:// or https://, not ${base.protocol}`);
  }
  const isTls = base.protocol === 'https:';
  const hostPort = `${base.hostname}:${base.port || (isTls ? '443' : '80')}`;
  const secrets = [
    ...(conn.credentials.kind === 'v1' ? [conn.credentials.apiId, conn.credentials.apiKey] : [conn.credentials.token]),
    ...(conn.basicAuth ? [conn.basicAuth.password] : []),
  ];
  const scrub = (text: string): string => scrubSecrets(text, secrets);
  const snippet = (text: string): string => scrub(text.slice(0, 400)).slice(0, 200);

  const timeoutMs = conn.timeoutMs;
  const connectTimeoutMs = opts.connectTimeoutMs ?? conn.timeoutMs;
  const retries = Math.max(0, Math.trunc(conn.retries));
  const retryBaseMs = conn.retryBaseMs ?? 500;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retryStatus = opts.retryStatus ?? DEFAULT_RETRY_STATUS;
  const limit: LimitFunction = pLimit(Math.max(1, Math.trunc(conn.concurrency)));
  const pin = conn.tls.fingerprint256 ? normalizeFingerprint(conn.tls.fingerprint256) : null;

  let peerFingerprint256: string | null = null;
  /** sockets that finished connecting and passed our TLS check; a reused one is not checked again */
  const verdicts = new WeakMap<Socket, SolusVmError | 'ok'>();

  // Our own check replaces Node's rejectUnauthorized, so that a failure can name the fingerprint to pin.
  // The request is written only after this verdict, so credentials never reach an unchecked peer.
  const judge = (socket: TLSSocket): SolusVmError | 'ok' => {
    const cert = socket.getPeerCertificate();
    const fp = cert && typeof cert.fingerprint256 === 'string' ? cert.fingerprint256 : null;
    peerFingerprint256 = fp;
    if (conn.tls.mode === 'insecure') return 'ok';
    if (conn.tls.mode === 'pinned') {
      if (!pin) {
        return new SolusVmError('tls', `TLS mode is "pinned" but no fingerprint is set; the master at ${hostPort} presents ${fp ?? 'no certificate'}`, {
          code: 'NO_PIN', fingerprint256: fp,
        });
      }
      if (!fp || normalizeFingerprint(fp) !== pin) {
        return new SolusVmError(
          'tls',
          `the master at ${hostPort} presented a certificate with fingerprint ${fp ?? '(none)'}, but ${formatFingerprint(pin)} is pinned; ` +
            'if the certificate was renewed, pin the new fingerprint, otherwise something is intercepting the connection',
          { code: 'FINGERPRINT_MISMATCH', fingerprint256: fp },
        );
      }
      return 'ok';
    }
    if (socket.authorized) return 'ok';
    return untrusted(String(socket.authorizationError ?? 'UNKNOWN'), fp);
  };

  const untrusted = (code: string, fp: string | null): SolusVmError => {
    const why =
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN'
        ? 'self-signed?'
        : code === 'CERT_HAS_EXPIRED'
          ? 'expired'
          : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
            ? `issued for another host name than ${base.hostname}`
            : code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
              ? 'issued by an unknown CA'
              : code;
    return new SolusVmError(
      'tls',
      `the master's certificate is not trusted (${why}; ${code}); pin its fingerprint ${fp ?? '(unknown)'} ` +
        '(TLS mode "pinned") or install a certificate from a trusted CA on the master',
      { code, fingerprint256: fp },
    );
  };

  const agent: http.Agent = isTls ? makeTlsAgent() : new http.Agent({ keepAlive: true, maxSockets: conn.concurrency });

  function makeTlsAgent(): https.Agent {
    const agentOpts: https.AgentOptions = {
      keepAlive: true,
      maxSockets: conn.concurrency,
      // no TLS session resumption: every new socket shows its certificate and is checked
      maxCachedSessions: 0,
      rejectUnauthorized: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
    };
    class CheckingAgent extends https.Agent {
      override createConnection(options: ConnectionOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex {
        const socket = super.createConnection(options, callback) as TLSSocket;
        socket.once('secureConnect', () => verdicts.set(socket, judge(socket)));
        return socket;
      }
    }
    return new CheckingAgent(agentOpts);
  }

  function transportError(err: NodeJS.ErrnoException, connected: boolean): SolusVmError {
    if (err instanceof SolusVmError) return err;
    const code = err.code ?? 'UNKNOWN';
    if (code === 'ECONNREFUSED') {
      return new SolusVmError('transport', `the connection to ${hostPort} was refused (nothing listens on that port, or a firewall rejects it)`, { retryable: true, code });
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
      return new SolusVmError('transport', `the host name ${base.hostname} could not be resolved (DNS: ${code})`, { retryable: true, code });
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return new SolusVmError('transport', `the connection to ${hostPort} was closed unexpectedly (${err.message === 'socket hang up' ? 'socket hang up' : code})`, { retryable: true, code });
    }
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
      return new SolusVmError('transport', `${hostPort} cannot be reached (${code})`, { retryable: true, code });
    }
    if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || (!connected && isTls && /ssl|tls/i.test(err.message))) {
      return new SolusVmError('tls', `the TLS handshake with ${hostPort} failed (${code}); is this port really HTTPS, or does it speak plain HTTP?`, { code });
    }
    return new SolusVmError('transport', `the request to ${hostPort} failed: ${scrub(err.message)} (${code})`, { retryable: true, code });
  }

  function attempt(call: HttpCall): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      const started = performance.now();
      let settled = false;
      let requestSent = false;
      let connected = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const path = joinPath(base.pathname, call.path);
      const headers: Record<string, string> = { 'User-Agent': 'overusage-solusvm/1', ...(call.headers ?? {}) };
      if (conn.basicAuth && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
        headers['Authorization'] = 'Basic ' + Buffer.from(`${conn.basicAuth.user}:${conn.basicAuth.password}`).toString('base64');
      }
      const body = call.body !== undefined ? Buffer.from(call.body, 'utf8') : null;
      if (body || call.method !== 'GET') headers['Content-Length'] = String(body?.length ?? 0);
      // PHP clients send "Expect:" to cURL, which *removes* the header (no 100-continue). Node never adds
      // Expect by itself, and a literally empty Expect header gets 417 from Node servers, so we send none.

      const finish = (result: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(totalTimer);
        clearTimeout(connectTimer);
        resolve(result);
      };
      const fail = (error: SolusVmError): void => finish({ ok: false, error, requestSent });

      const mod = isTls ? https : http;
      const req = mod.request({
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (isTls ? 443 : 80),
        method: call.method,
        path,
        headers,
        agent,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      });

      const totalTimer = setTimeout(() => {
        const code = connected ? 'TIMEOUT' : 'CONNECT_TIMEOUT';
        fail(new SolusVmError('timeout', `no answer from ${hostPort} within ${timeoutMs} ms`, { retryable: true, code }));
        req.destroy();
      }, timeoutMs);

      const send = (): void => {
        if (settled) return;
        connected = true;
        clearTimeout(connectTimer);
        requestSent = true;
        req.end(body ?? undefined);
      };

      req.once('socket', (socket: Socket) => {
        const known = verdicts.get(socket);
        if (known === 'ok') return send();
        connectTimer = setTimeout(() => {
          fail(new SolusVmError('timeout', `could not connect to ${hostPort} within ${connectTimeoutMs} ms`, { retryable: true, code: 'CONNECT_TIMEOUT' }));
          req.destroy();
        }, connectTimeoutMs);
        if (isTls) {
          socket.once('secureConnect', () => {
            const v = verdicts.get(socket) ?? judge(socket as TLSSocket);
            if (v === 'ok') return send();
            socket.destroy();
            fail(v);
            req.destroy();
          });
        } else if (socket.connecting) {
          socket.once('connect', () => {
            verdicts.set(socket, 'ok');
            send();
          });
        } else {
          verdicts.set(socket, 'ok');
          send();
        }
      });

      req.on('error', (err: NodeJS.ErrnoException) => fail(transportError(err, connected)));

      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            fail(new SolusVmError('bad_response', `the answer from ${hostPort} is larger than ${maxBodyBytes} bytes`, { httpStatus: res.statusCode ?? null }));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err: NodeJS.ErrnoException) => fail(transportError(err, true)));
        res.on('aborted', () => fail(new SolusVmError('transport', `the answer from ${hostPort} was cut off`, { retryable: true, code: 'ECONNRESET' })));
        res.on('end', () => {
          finish({
            ok: true,
            reply: {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              latencyMs: Math.round(performance.now() - started),
            },
          });
        });
      });
    });
  }

  const backoff = (retryNo: number): number => {
    const exp = Math.min(maxBackoffMs, retryBaseMs * 2 ** (retryNo - 1));
    return Math.round(exp * (0.5 + random() * 0.5)); // jitter keeps parallel workers from retrying in step
  };

  const withAttempts = (e: SolusVmError, attempts: number): SolusVmError =>
    attempts <= 1
      ? e
      : new SolusVmError(e.kind, `${e.message} (after ${attempts} attempts)`, {
          retryable: e.retryable, httpStatus: e.httpStatus, snippet: e.snippet, code: e.code, fingerprint256: e.fingerprint256, retryAfterMs: e.retryAfterMs,
        });

  async function request(call: HttpCall): Promise<HttpReply> {
    if (!isTls && conn.tls.mode === 'pinned') {
      throw new SolusVmError('tls', `a certificate fingerprint is pinned but the URL ${base.origin} is plain http; use https://`, { code: 'PIN_WITHOUT_TLS' });
    }
    let retryNo = 0;
    for (;;) {
      const result = await limit(() => attempt(call));
      let delay: number | null = null;
      if (result.ok) {
        const r = result.reply;
        if (call.idempotent && retryNo < retries) {
          if (r.status === 429 && opts.honourRetryAfter) {
            const advised = parseRetryAfter(r.headers['retry-after']);
            // an advice longer than we are willing to wait goes back to the caller as rate_limited
            delay = advised === null ? backoff(retryNo + 1) : advised <= maxRetryAfterMs ? advised : null;
          } else if (retryStatus(r.status)) {
            delay = backoff(retryNo + 1);
          }
        }
        if (delay === null) return { ...r, attempts: retryNo + 1 };
      } else {
        const e = result.error;
        // an action may run twice if retried after its request left; only "nothing was sent" is safe
        const mayRetry = e.retryable && (call.idempotent || (!result.requestSent && NOTHING_SENT_RETRYABLE.has(e.code ?? '')));
        if (!mayRetry || retryNo >= retries) throw withAttempts(e, retryNo + 1);
        delay = backoff(retryNo + 1);
      }
      // the backoff sleeps outside the concurrency slot, so other calls to the master can go on
      await sleep(delay);
      retryNo++;
    }
  }

  return {
    request,
    get peerFingerprint256() {
      return peerFingerprint256;
    },
    hostPort,
    isTls,
    scrub,
    snippet,
    close: () => agent.destroy(),
  };
}

function joinPath(basePath: string, path: string): string {
  const b = basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
  return b + (path.startsWith('/') ? path : '/' + path);
}

/** Retry-After in seconds or as an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(v)) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
