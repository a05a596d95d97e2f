/**
 * The module's view of a SolusVM master, whatever its version. Services depend on these types
 * only; the v1 and v2 clients implement them. Bytes are bigint, never numbers.
 */
import type { ResetPolicy } from '../domain/reset-policy.js';
import type { SpeedSettings } from '../domain/limit-policy.js';

export type SolusVmVersion = 1 | 2;

export type TlsMode =
  /** verify the certificate chain and host name (default) */
  | 'verify'
  /** accept exactly the certificate whose SHA-256 fingerprint is pinned (self-signed masters) */
  | 'pinned'
  /** accept any certificate: only by explicit setting, and reported as insecure */
  | 'insecure';

export interface MasterConnection {
  /** v1: the master's origin, e.g. https://master.example.net:5656 (the client appends /api/admin/command.php);
   *  v2: the API root, e.g. https://solus.example.net/api/v1 */
  baseUrl: string;
  version: SolusVmVersion;
  /** v1 Admin API id + key, or v2 bearer token */
  credentials: { kind: 'v1'; apiId: string; apiKey: string } | { kind: 'v2'; token: string };
  tls: { mode: TlsMode; fingerprint256?: string | null };
  /** optional htpasswd in front of a v1 master */
  basicAuth?: { user: string; password: string } | null;
  /** SolusVM 1: the Admin API (default) or a Reseller API user (/api/reseller/command.php), as the official module's "Module User Type" */
  apiUserType?: 'admin' | 'reseller';
  /** SolusVM 2: how KB/MB/GB/TB unit labels are read: 1024-based (binary, default: what SolusIO meant before it relabelled them KiB/MiB/GiB/TiB in 2022) or 10^n */
  unitLabels?: 'binary' | 'decimal';
  timeoutMs: number;
  /** concurrent calls to this master, at most */
  concurrency: number;
  /** extra attempts on transport failures (not on answers from SolusVM) */
  retries: number;
  /** first backoff delay; doubled per attempt, with jitter */
  retryBaseMs?: number;
}

export interface MasterSettings extends MasterConnection {
  id: number;
  name: string;
  /** IANA zone of the master's clock (its reset cron runs at local midnight) */
  zone: string;
  resetPolicy: ResetPolicy;
  /** where an anniversary day comes from when a service does not say (default SolusVM's creation day) */
  anniversaryFrom?: 'solusvm' | 'panel';
}

/** `disabled` in SolusVM 1 and `is_suspended` in SolusVM 2 both map to `suspended`. */
export type ServerState = 'online' | 'offline' | 'suspended' | 'processing' | 'unknown';

export interface TrafficReading {
  /** the cumulative counter: bytes used since the last reset (v2: incoming + outgoing) */
  usedBytes: bigint;
  /** the traffic limit SolusVM applies, in bytes; null when none/unlimited */
  limitBytes: bigint | null;
  incomingBytes: bigint | null;
  outgoingBytes: bigint | null;
  state: ServerState;
  /** the counter fields exactly as SolusVM sent them, kept as evidence (short) */
  raw: string;
  /** SolusVM 2: when the server's plan resets the counter (plan.reset_limit_policy); absent for SolusVM 1 */
  planResetPolicy?: ResetPolicy | null;
  /** SolusVM 2: when the VM was made (created_at, ISO 8601): its anniversary; absent for SolusVM 1 */
  createdAt?: string | null;
}

export interface ServerSummary {
  /** what the module stores to find the server again: v1 vserverid, v2 numeric id */
  ref: string;
  uuid: string | null;
  hostname: string | null;
  node: string | null;
  clientRef: string | null;
  createdAt: string | null;
  /** the main IPv4 address, where the list gives it */
  ip: string | null;
}

export type SolusVmErrorKind =
  /** wrong API id/key or token (bare text "Invalid id or key", HTTP 401) */
  | 'auth'
  /** the master refuses our IP ("Invalid ipaddress") */
  | 'ip_refused'
  /** no such server or node */
  | 'not_found'
  /** SolusVM answered status=error with a message */
  | 'app_error'
  /** v2 422 validation */
  | 'validation'
  /** v2 429 */
  | 'rate_limited'
  | 'timeout'
  /** connection refused/reset, DNS, 5xx from a proxy */
  | 'transport'
  /** certificate not trusted or fingerprint mismatch */
  | 'tls'
  /** an answer we cannot read: HTML, malformed XML, JSON without status, missing fields */
  | 'bad_response';

export class SolusVmError extends Error {
  readonly kind: SolusVmErrorKind;
  readonly retryable: boolean;
  readonly httpStatus: number | null;
  /** the first characters of the body, for the log; never contains credentials */
  readonly snippet: string | null;
  /** the low-level cause, for callers that word their own advice: ECONNREFUSED, ENOTFOUND, CONNECT_TIMEOUT,
   *  DEPTH_ZERO_SELF_SIGNED_CERT, FINGERPRINT_MISMATCH, HTML_PAGE, TASK_FAILED ... */
  readonly code: string | null;
  /** the certificate the master presented, when the error is about TLS (to pin it) */
  readonly fingerprint256: string | null;
  /** how long the master asked us to wait (v2 429 Retry-After) */
  readonly retryAfterMs: number | null;

  constructor(
    kind: SolusVmErrorKind,
    message: string,
    opts: {
      retryable?: boolean;
      httpStatus?: number | null;
      snippet?: string | null;
      code?: string | null;
      fingerprint256?: string | null;
      retryAfterMs?: number | null;
    } = {},
  ) {
    super(message);
    this.name = 'SolusVmError';
    this.kind = kind;
    this.retryable = opts.retryable ?? false;
    this.httpStatus = opts.httpStatus ?? null;
    this.snippet = opts.snippet ?? null;
    this.code = opts.code ?? null;
    this.fingerprint256 = opts.fingerprint256 ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}

export interface ConnectionReport {
  ok: boolean;
  /** one sentence an admin understands: what works, or what is wrong and what to do */
  message: string;
  version: SolusVmVersion;
  /** SHA-256 fingerprint of the certificate the master presented, to pin it */
  fingerprint256: string | null;
  latencyMs: number | null;
  serverCount: number | null;
  errorKind: SolusVmErrorKind | null;
}

/** What metering and the limit policy need from a master, for either version. */
export interface SolusVmGateway {
  readonly version: SolusVmVersion;
  readTraffic(serverRef: string): Promise<TrafficReading>;
  /** whether the master has this server (false when it answers "not found") */
  serverExists(serverRef: string): Promise<boolean>;
  getState(serverRef: string): Promise<ServerState>;
  suspend(serverRef: string): Promise<void>;
  unsuspend(serverRef: string): Promise<void>;
  /** the server's speed settings, to put back after a throttle; null where SolusVM cannot tell (SolusVM 1) */
  readSpeed(serverRef: string): Promise<SpeedSettings | null>;
  /** sets the speed settings (absolute values, so a retry repeats nothing); accepted after a doubtful answer only if a re-read shows them */
  setSpeed(serverRef: string, speed: SpeedSettings): Promise<void>;
  listServers(): AsyncIterable<ServerSummary>;
  testConnection(): Promise<ConnectionReport>;
  /** release sockets */
  close(): void;
}
