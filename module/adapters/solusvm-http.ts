/**
 * The transport shared by the SolusVM 1 and 2 clients: keep-alive connections per master, timeouts,
 * TLS verify/pinned/insecure, retries on transport failures only, and a per-master
 * concurrency limit. It returns every HTTP answer as is (status, headers, text); the clients give it
 * meaning. Redirects are never followed: a 3xx is an answer like any other.
 *
 * The HTTP client is undici's: at the masters' pace (thousands of calls a second on a big run) Node's http
 * client spent about 165 µs of CPU a call building and writing each request, undici's about 90.
 */
import type http from 'node:http';
import type { LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import tls from 'node:tls';
import type * as undici from 'undici';
import type { Client, Dispatcher, buildConnector } from 'undici';
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
export const formatFingerprint = (fp: string): string =>
  normalizeFingerprint(fp).replace(/(..)(?!$)/g, '$1:');

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

const NOTHING_SENT_RETRYABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

type Attempt =
  { ok: true; reply: Omit<HttpReply, 'attempts'> } | { ok: false; error: SolusVmError; requestSent: boolean };

/** Where the calls go, and how its messages name it. */
interface Target {
  base: URL;
  isTls: boolean;
  hostPort: string;
  scrub(text: string): string;
  /** what every request's options take from the URL, worked out once */
  hostname: string;
  port: string | number;
  /** the base path without its trailing slash */
  basePath: string;
}

/** What one attempt needs: the target, the limits. The connection comes with the slot. */
interface AttemptEnv {
  target: Target;
  /** User-Agent and basic auth, worked out once per master */
  baseHeaders: Readonly<Record<string, string>>;
  timeoutMs: number;
  maxBodyBytes: number;
}

type Undici = typeof undici;
let undiciLoad: Promise<Undici> | null = null;
/** undici is loaded on the first call to a master (~0.2 s), so commands that call none do not wait for it */
const loadUndici = (): Promise<Undici> => (undiciLoad ??= import('undici'));

export function createSolusVmHttp(
  conn: MasterConnection,
  opts: SolusVmHttpOptions & StatusRetryPolicy = {},
): SolusVmHttp {
  const target = targetOf(conn);
  const pin = conn.tls.fingerprint256 ? normalizeFingerprint(conn.tls.fingerprint256) : null;
  let peerFingerprint256: string | null = null;
  // Our own check replaces Node's rejectUnauthorized, so that a failure can name the fingerprint to pin.
  // A connection is used only after this verdict, so credentials never reach an unchecked peer.
  const judge = (socket: TLSSocket): SolusVmError | 'ok' => {
    const seen = judgePeer(socket, conn.tls.mode, pin, target);
    peerFingerprint256 = seen.fingerprint256;
    return seen.verdict;
  };
  const connectTimeoutMs = opts.connectTimeoutMs ?? conn.timeoutMs;
  const env: AttemptEnv = {
    target,
    baseHeaders: baseHeaders(conn.basicAuth),
    timeoutMs: conn.timeoutMs,
    maxBodyBytes: opts.maxBodyBytes ?? 64 * 1024 * 1024,
  };
  const retry: RetryPolicy = {
    retries: Math.max(0, Math.trunc(conn.retries)),
    retryBaseMs: conn.retryBaseMs ?? 500,
    maxBackoffMs: opts.maxBackoffMs ?? 30_000,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    random: opts.random ?? Math.random,
    retryStatus: opts.retryStatus ?? DEFAULT_RETRY_STATUS,
    honourRetryAfter: opts.honourRetryAfter ?? false,
  };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const slots = createSlots(Math.max(1, Math.trunc(conn.concurrency)), async () => {
    const u = await loadUndici();
    return new u.Client(target.base.origin, {
      pipelining: 1,
      connect: (where, callback) =>
        openChecked(where, callback, { target, connectTimeoutMs, judge, ...opts }),
      // our own timer bounds each call (timeoutMs), so undici's header and body timers are off
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  });

  async function request(call: HttpCall): Promise<HttpReply> {
    if (!target.isTls && conn.tls.mode === 'pinned') {
      throw new SolusVmError(
        'tls',
        `a certificate fingerprint is pinned but the URL ${target.base.origin} is plain http; use https://`,
        { code: 'PIN_WITHOUT_TLS' },
      );
    }
    for (let retryNo = 0; ; retryNo++) {
      const result = await slots.run((client) => attempt(call, env, client));
      const next = nextStep(result, call, retryNo, retry);
      if ('reply' in next) return next.reply;
      // the backoff sleeps outside the concurrency slot, so other calls to the master can go on
      await sleep(next.delayMs);
    }
  }

  return {
    request,
    get peerFingerprint256() {
      return peerFingerprint256;
    },
    hostPort: target.hostPort,
    isTls: target.isTls,
    scrub: target.scrub,
    snippet: (text: string): string => target.scrub(text.slice(0, 400)).slice(0, 200),
    close: () => slots.close(),
  };
}

function targetOf(conn: MasterConnection): Target {
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
  const secrets = [
    ...(conn.credentials.kind === 'v1'
      ? [conn.credentials.apiId, conn.credentials.apiKey]
      : [conn.credentials.token]),
    ...(conn.basicAuth ? [conn.basicAuth.password] : []),
  ];
  return {
    base,
    isTls,
    hostPort: `${base.hostname}:${base.port || (isTls ? '443' : '80')}`,
    scrub: (text) => scrubSecrets(text, secrets),
    hostname: base.hostname.replace(/^\[|\]$/g, ''),
    port: base.port || (isTls ? 443 : 80),
    basePath: base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname,
  };
}

/**
 * At most `n` calls at once, each on a keep-alive connection of its own (an undici Client, which
 * connects when first used and again after its connection is lost), the waiting calls started in
 * the order they came: a slot a call gives back goes straight to the next waiting one. The free
 * slot used last is used first, so calls one after the other keep to one connection.
 */
function createSlots(
  n: number,
  open: () => Promise<Client>,
): { run<T>(fn: (client: Client) => Promise<T>): Promise<T>; close(): void } {
  let active = 0;
  const waiting: Array<() => void> = [];
  /** idle connections; with those in use never more than n */
  const free: Client[] = [];
  const all = new Set<Client>();
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    async run<T>(fn: (client: Client) => Promise<T>): Promise<T> {
      if (active < n) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let client: Client | undefined;
      try {
        client = free.pop() ?? (await open());
        all.add(client);
        return await fn(client);
      } finally {
        if (client && !client.destroyed) free.push(client);
        release();
      }
    },
    close() {
      // a call after close() opens new connections, as the agent this replaced opened new sockets
      for (const c of all) void c.destroy().catch(() => undefined);
      all.clear();
      free.length = 0;
    },
  };
}

/** Whether the peer's certificate passes the master's TLS mode, and the fingerprint it showed. */
function judgePeer(
  socket: TLSSocket,
  mode: MasterConnection['tls']['mode'],
  pin: string | null,
  t: Target,
): { verdict: SolusVmError | 'ok'; fingerprint256: string | null } {
  const cert = socket.getPeerCertificate();
  const fp = cert && typeof cert.fingerprint256 === 'string' ? cert.fingerprint256 : null;
  const verdict = (): SolusVmError | 'ok' => {
    if (mode === 'insecure') return 'ok';
    if (mode === 'pinned') {
      if (!pin) {
        return new SolusVmError(
          'tls',
          `TLS mode is "pinned" but no fingerprint is set; the master at ${t.hostPort} presents ${fp ?? 'no certificate'}`,
          {
            code: 'NO_PIN',
            fingerprint256: fp,
          },
        );
      }
      if (!fp || normalizeFingerprint(fp) !== pin) {
        return new SolusVmError(
          'tls',
          `the master at ${t.hostPort} presented a certificate with fingerprint ${fp ?? '(none)'}, but ${formatFingerprint(pin)} is pinned; ` +
            'if the certificate was renewed, pin the new fingerprint, otherwise something is intercepting the connection',
          { code: 'FINGERPRINT_MISMATCH', fingerprint256: fp },
        );
      }
      return 'ok';
    }
    if (socket.authorized) return 'ok';
    return untrusted(String(socket.authorizationError ?? 'UNKNOWN'), fp, t.base.hostname);
  };
  return { verdict: verdict(), fingerprint256: fp };
}

function untrusted(code: string, fp: string | null, hostname: string): SolusVmError {
  const why =
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN'
      ? 'self-signed?'
      : code === 'CERT_HAS_EXPIRED'
        ? 'expired'
        : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? `issued for another host name than ${hostname}`
          : code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
            ? 'issued by an unknown CA'
            : code;
  return new SolusVmError(
    'tls',
    `the master's certificate is not trusted (${why}; ${code}); pin its fingerprint ${fp ?? '(unknown)'} ` +
      '(TLS mode "pinned") or install a certificate from a trusted CA on the master',
    { code, fingerprint256: fp },
  );
}

interface OpenOptions extends SolusVmHttpOptions {
  target: Target;
  connectTimeoutMs: number;
  judge(socket: TLSSocket): SolusVmError | 'ok';
}

/**
 * Opens a connection for undici, handing it over only once it is connected and, on TLS, its
 * certificate passed: undici writes nothing on a connection before. No TLS session is resumed, so
 * every new connection shows its certificate and is checked; one kept alive is not checked again.
 */
function openChecked(where: buildConnector.Options, callback: buildConnector.Callback, o: OpenOptions): void {
  const t = o.target;
  const host = where.hostname;
  const port = Number(where.port) || (t.isTls ? 443 : 80);
  const lookup = o.lookup ? { lookup: o.lookup } : {};
  const socket = t.isTls
    ? tls.connect({
        host,
        port,
        // no SNI for an IP address, as Node's https agent
        ...(net.isIP(host) ? {} : { servername: host }),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
        ...(o.ca ? { ca: o.ca } : {}),
        ...lookup,
      })
    : net.connect({ host, port, ...lookup });
  socket.setNoDelay(true);
  let done = false;
  const settle = (err: SolusVmError | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (!err) return callback(null, socket);
    socket.destroy();
    callback(err, null);
  };
  const timer = setTimeout(
    () =>
      settle(
        new SolusVmError('timeout', `could not connect to ${t.hostPort} within ${o.connectTimeoutMs} ms`, {
          retryable: true,
          code: 'CONNECT_TIMEOUT',
        }),
      ),
    o.connectTimeoutMs,
  );
  // stays on: once the connection is undici's, so are its errors, and this does nothing
  socket.on('error', (err: NodeJS.ErrnoException) => settle(transportError(err, false, t)));
  socket.once(t.isTls ? 'secureConnect' : 'connect', () => {
    const verdict = t.isTls ? o.judge(socket as TLSSocket) : 'ok';
    settle(verdict === 'ok' ? null : verdict);
  });
}

function transportError(err: NodeJS.ErrnoException, connected: boolean, t: Target): SolusVmError {
  if (err instanceof SolusVmError) return err;
  const code = err.code ?? 'UNKNOWN';
  if (code === 'ECONNREFUSED') {
    return new SolusVmError(
      'transport',
      `the connection to ${t.hostPort} was refused (nothing listens on that port, or a firewall rejects it)`,
      { retryable: true, code },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return new SolusVmError(
      'transport',
      `the host name ${t.base.hostname} could not be resolved (DNS: ${code})`,
      { retryable: true, code },
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new SolusVmError(
      'transport',
      `the connection to ${t.hostPort} was closed unexpectedly (${err.message === 'socket hang up' ? 'socket hang up' : code})`,
      { retryable: true, code },
    );
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return new SolusVmError('transport', `${t.hostPort} cannot be reached (${code})`, {
      retryable: true,
      code,
    });
  }
  if (
    code.startsWith('ERR_SSL_') ||
    code === 'EPROTO' ||
    (!connected && t.isTls && /ssl|tls/i.test(err.message))
  ) {
    return new SolusVmError(
      'tls',
      `the TLS handshake with ${t.hostPort} failed (${code}); is this port really HTTPS, or does it speak plain HTTP?`,
      { code },
    );
  }
  return new SolusVmError(
    'transport',
    `the request to ${t.hostPort} failed: ${t.scrub(err.message)} (${code})`,
    { retryable: true, code },
  );
}

/** The headers every call to the master sends; the call's own come on top. */
function baseHeaders(basicAuth: MasterConnection['basicAuth']): Record<string, string> {
  return {
    'User-Agent': 'overusage-solusvm/1',
    ...(basicAuth
      ? {
          Authorization: 'Basic ' + Buffer.from(`${basicAuth.user}:${basicAuth.password}`).toString('base64'),
        }
      : {}),
  };
}

function requestHeaders(call: HttpCall, base: AttemptEnv['baseHeaders']): Record<string, string> {
  if (!call.headers) return base as Record<string, string>;
  const headers: Record<string, string> = { ...base, ...call.headers };
  // the call's own Authorization (a v2 bearer token), whatever its case, wins over the htpasswd's
  const own = Object.keys(call.headers).find((h) => h.toLowerCase() === 'authorization');
  if (own !== undefined && own !== 'Authorization') delete headers['Authorization'];
  // Content-Length is undici's to write; no Expect header either: PHP clients send "Expect:" to cURL,
  // which *removes* it (no 100-continue), and a literally empty Expect gets 417 from Node servers
  return headers;
}

/** Errors that, once the answer has begun, mean it was cut off. */
const CUT_OFF = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** An error of undici while a call was under way, in our words. */
function callFailure(err: NodeJS.ErrnoException, sent: boolean, answering: boolean, t: Target): SolusVmError {
  if (err instanceof SolusVmError) return err;
  if (answering && CUT_OFF.has(err.code ?? '')) {
    return new SolusVmError('transport', `the answer from ${t.hostPort} was cut off`, {
      retryable: true,
      code: 'ECONNRESET',
    });
  }
  // undici's "other side closed": the master (or a proxy) dropped the connection before answering
  const hangUp: NodeJS.ErrnoException = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  return transportError(err.code === 'UND_ERR_SOCKET' ? hangUp : err, sent, t);
}

/** One try of a call: connect (or reuse a checked connection), send, read the whole answer. Never rejects. */
function attempt(call: HttpCall, env: AttemptEnv, client: Client): Promise<Attempt> {
  const { target: t } = env;
  return new Promise<Attempt>((resolve) => {
    const started = performance.now();
    const state = { settled: false, sent: false, status: 0, size: 0 };
    let controller: Dispatcher.DispatchController | null = null;
    let headers: http.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const finish = (result: Attempt): void => {
      if (state.settled) return;
      state.settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const fail = (error: SolusVmError): void => {
      finish({ ok: false, error, requestSent: state.sent });
      controller?.abort(error);
    };
    const timer = setTimeout(() => {
      fail(
        new SolusVmError('timeout', `no answer from ${t.hostPort} within ${env.timeoutMs} ms`, {
          retryable: true,
          code: state.sent ? 'TIMEOUT' : 'CONNECT_TIMEOUT',
        }),
      );
      // still connecting: the connection is given up with the call (the slot's next call opens a
      // new one, instead of queueing behind this one's connect)
      if (!state.sent) void client.destroy().catch(() => undefined);
    }, env.timeoutMs);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        // a call that gave up while its connection was being opened is not sent at all
        if (state.settled) c.abort(new Error('gave up'));
        else state.sent = true;
      },
      onResponseStart(_c, status, h) {
        state.status = status;
        headers = h as http.IncomingHttpHeaders;
      },
      onResponseData(_c, chunk) {
        state.size += chunk.length;
        if (state.size <= env.maxBodyBytes) chunks.push(chunk);
        else {
          fail(
            new SolusVmError(
              'bad_response',
              `the answer from ${t.hostPort} is larger than ${env.maxBodyBytes} bytes`,
              { httpStatus: state.status },
            ),
          );
        }
      },
      onResponseEnd() {
        finish({
          ok: true,
          reply: {
            status: state.status,
            headers,
            // one chunk, as most answers come, is read where it lies (concat would copy it first)
            body: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'),
            latencyMs: Math.round(performance.now() - started),
          },
        });
      },
      onResponseError(_c, err) {
        fail(callFailure(err, state.sent, state.status > 0, t));
      },
    };
    client.dispatch(
      {
        method: call.method,
        path: t.basePath + (call.path.startsWith('/') ? call.path : '/' + call.path),
        headers: requestHeaders(call, env.baseHeaders),
        body: call.body ?? null,
      },
      handler,
    );
  });
}

interface RetryPolicy {
  retries: number;
  retryBaseMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  random: () => number;
  retryStatus: (status: number) => boolean;
  honourRetryAfter: boolean;
}

function backoff(retryNo: number, p: RetryPolicy): number {
  const exp = Math.min(p.maxBackoffMs, p.retryBaseMs * 2 ** (retryNo - 1));
  return Math.round(exp * (0.5 + p.random() * 0.5)); // jitter keeps parallel workers from retrying in step
}

function withAttempts(e: SolusVmError, attempts: number): SolusVmError {
  return attempts <= 1
    ? e
    : new SolusVmError(e.kind, `${e.message} (after ${attempts} attempts)`, {
        retryable: e.retryable,
        httpStatus: e.httpStatus,
        snippet: e.snippet,
        code: e.code,
        fingerprint256: e.fingerprint256,
        retryAfterMs: e.retryAfterMs,
      });
}

/** After attempt number retryNo + 1: the answer to give, or how long to wait before the next try. Throws when giving up. */
function nextStep(
  result: Attempt,
  call: HttpCall,
  retryNo: number,
  p: RetryPolicy,
): { reply: HttpReply } | { delayMs: number } {
  if (result.ok) {
    const r = result.reply;
    let delay: number | null = null;
    if (call.idempotent && retryNo < p.retries) {
      if (r.status === 429 && p.honourRetryAfter) {
        const advised = parseRetryAfter(r.headers['retry-after']);
        // an advice longer than we are willing to wait goes back to the caller as rate_limited
        delay = advised === null ? backoff(retryNo + 1, p) : advised <= p.maxRetryAfterMs ? advised : null;
      } else if (p.retryStatus(r.status)) {
        delay = backoff(retryNo + 1, p);
      }
    }
    return delay === null ? { reply: { ...r, attempts: retryNo + 1 } } : { delayMs: delay };
  }
  const e = result.error;
  // an action may run twice if retried after its request left; only "nothing was sent" is safe
  const mayRetry =
    e.retryable && (call.idempotent || (!result.requestSent && NOTHING_SENT_RETRYABLE.has(e.code ?? '')));
  if (!mayRetry || retryNo >= p.retries) throw withAttempts(e, retryNo + 1);
  return { delayMs: backoff(retryNo + 1, p) };
}

/** Retry-After in seconds or as an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(v)) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
