/**
 * Faults a master can be told to show. Latency applies to every request the faults cover; the
 * failure modes apply to the requests selected by failRate / failAfterRequests (all of them when
 * neither is set). When several modes are set, the first in FAILURE_ORDER wins.
 */
export type MalformedMode =
  /** the body cut off mid-element */
  | 'truncated'
  /** a closing tag mangled */
  | 'garbled'
  /** a stray </sessionexpire> after the fields (seen on real masters; a tolerant client copes) */
  | 'sessionexpire'
  /** a stray "." after each closing tag (the 2011 fixture; a tolerant client copes) */
  | 'dots';

export interface Faults {
  latencyMs?: number;
  jitterMs?: number;
  /** accept the request and never answer */
  timeout?: boolean;
  /** close the listener and drop connections: connection refused until cleared */
  down?: boolean;
  /** an htpasswd/proxy HTML page; true = HTTP 200 */
  html?: boolean | 200 | 401;
  /** HTTP 200 with this plain text, even with rdtype=json ('Invalid id or key', 'Invalid ipaddress', …) */
  bareText?: string;
  /** v1 XML (or JSON) body damaged; true = 'truncated'. v2: JSON truncated */
  malformedXml?: boolean | MalformedMode;
  /** answer with this status and a proxy-style body */
  httpStatus?: number;
  /** v2: 429 with Retry-After (seconds, default 30) */
  rateLimit?: boolean | { retryAfterSec?: number };
  /** v2: tasks created while set end `failed` and their change is not applied */
  taskFail?: boolean;
  /** probability 0..1 that a covered request fails (seeded, reproducible) */
  failRate?: number;
  seed?: number;
  /** the first N covered requests succeed, later ones fail */
  failAfterRequests?: number;
  /** cover only requests about these server ids (default: all requests) */
  onlyServers?: number[];
}

export type Failure =
  | { kind: 'down' }
  | { kind: 'timeout' }
  | { kind: 'rateLimit'; retryAfterSec: number }
  | { kind: 'httpStatus'; status: number }
  | { kind: 'html'; status: 200 | 401 }
  | { kind: 'bareText'; text: string }
  | { kind: 'malformed'; mode: MalformedMode };

export interface FaultDecision {
  delayMs: number;
  failure: Failure | null;
  /** v2: a task created by this request must fail */
  taskFail: boolean;
}

const NONE: FaultDecision = { delayMs: 0, failure: null, taskFail: false };

/** mulberry32: tiny, fast and good enough for reproducible fault sampling */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function firstFailure(f: Faults): Failure | null {
  if (f.down) return { kind: 'down' };
  if (f.timeout) return { kind: 'timeout' };
  if (f.rateLimit)
    return {
      kind: 'rateLimit',
      retryAfterSec: typeof f.rateLimit === 'object' ? (f.rateLimit.retryAfterSec ?? 30) : 30,
    };
  if (f.httpStatus !== undefined) return { kind: 'httpStatus', status: f.httpStatus };
  if (f.html) return { kind: 'html', status: f.html === 401 ? 401 : 200 };
  if (f.bareText !== undefined) return { kind: 'bareText', text: f.bareText };
  if (f.malformedXml)
    return { kind: 'malformed', mode: f.malformedXml === true ? 'truncated' : f.malformedXml };
  return null;
}

export function validateFaults(f: Faults): Faults {
  const num = (v: unknown, what: string, min: number, max = Infinity) => {
    if (v !== undefined && (typeof v !== 'number' || !(v >= min && v <= max)))
      throw new Error(`${what} must be a number in ${min}..${max}`);
  };
  num(f.latencyMs, 'latencyMs', 0);
  num(f.jitterMs, 'jitterMs', 0);
  num(f.failRate, 'failRate', 0, 1);
  num(f.failAfterRequests, 'failAfterRequests', 0);
  if (
    f.httpStatus !== undefined &&
    (!Number.isInteger(f.httpStatus) || f.httpStatus < 100 || f.httpStatus > 599)
  )
    throw new Error('httpStatus must be an HTTP status');
  if (
    f.malformedXml !== undefined &&
    ![true, false, 'truncated', 'garbled', 'sessionexpire', 'dots'].includes(f.malformedXml)
  )
    throw new Error('malformedXml must be true or truncated|garbled|sessionexpire|dots');
  if (f.onlyServers !== undefined && !Array.isArray(f.onlyServers))
    throw new Error('onlyServers must be an array of ids');
  return { ...f, onlyServers: f.onlyServers ? [...f.onlyServers] : undefined };
}

/** The active fault set of a master, with its counters and its seeded RNG. */
export class FaultState {
  readonly faults: Faults;
  private readonly only: Set<number> | null;
  private readonly failure: Failure | null;
  private readonly rng: () => number;
  private covered = 0;

  constructor(faults: Faults) {
    this.faults = validateFaults(faults);
    this.only = this.faults.onlyServers ? new Set(this.faults.onlyServers) : null;
    const gated = this.faults.failRate !== undefined || this.faults.failAfterRequests !== undefined;
    // a rate or a threshold without a mode still has to fail somehow: a 500 from the front-end
    this.failure = firstFailure(this.faults) ?? (gated ? { kind: 'httpStatus', status: 500 } : null);
    this.rng = seededRandom(this.faults.seed ?? 1);
  }

  get isEmpty(): boolean {
    const f = this.faults;
    return !f.latencyMs && !f.jitterMs && !this.failure && !f.taskFail;
  }

  decide(serverId: number | undefined): FaultDecision {
    if (this.isEmpty) return NONE;
    if (this.only && (serverId === undefined || !this.only.has(serverId))) return NONE;
    const f = this.faults;
    const delayMs = (f.latencyMs ?? 0) + (f.jitterMs ? Math.floor(this.rng() * f.jitterMs) : 0);
    let fails = this.failure !== null;
    const n = this.covered++;
    if (fails && f.failAfterRequests !== undefined && n < f.failAfterRequests) fails = false;
    if (fails && f.failRate !== undefined && this.rng() >= f.failRate) fails = false;
    return { delayMs, failure: fails ? this.failure : null, taskFail: Boolean(f.taskFail) };
  }
}

const HTML_PROXY = `<!DOCTYPE html>
<html><head><title>Login required</title></head>
<body><h1>Please sign in</h1><form method="post" action="/login.php"><input name="username"><input type="password" name="password"><button>Sign in</button></form></body></html>
`;

const HTML_401 = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>401 Unauthorized</title>
</head><body>
<h1>Unauthorized</h1>
<p>This server could not verify that you
are authorized to access the document
requested.</p>
</body></html>
`;

export function htmlPage(status: 200 | 401): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  if (status === 401) {
    return {
      status,
      headers: {
        'content-type': 'text/html; charset=iso-8859-1',
        'www-authenticate': 'Basic realm="SolusVM"',
      },
      body: HTML_401,
    };
  }
  return { status, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: HTML_PROXY };
}

const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusPage(status: number): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const reason = REASONS[status] ?? 'Error';
  return {
    status,
    headers: { 'content-type': 'text/html' },
    body: `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
}

/** Damage a body the way a broken master or proxy does. */
export function malform(body: string, mode: MalformedMode, isXml: boolean): string {
  if (!isXml) return body.slice(0, Math.max(1, Math.floor(body.length / 2)));
  switch (mode) {
    case 'truncated': {
      // cut inside an element so no parser can take it for complete
      const cut = Math.max(1, Math.floor(body.length / 2));
      const lt = body.indexOf('<', cut);
      return body.slice(0, lt > 0 ? lt + 3 : cut);
    }
    case 'garbled':
      return body.replace('</status>', '</statu').replace(/<\/(\w+)>\s*$/, '</$1');
    case 'sessionexpire':
      return `${body}</sessionexpire>`;
    case 'dots':
      return body.replace(/(<\/[\w-]+>)/g, '$1.');
  }
}
