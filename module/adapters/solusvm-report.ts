/**
 * Words for the connection test: what is wrong with a master, and what the admin should do.
 * Shared by the v1 and v2 clients so both say the same thing for the same failure.
 */
import {
  type ConnectionReport,
  type SolusVmErrorKind,
  SolusVmError,
  type SolusVmVersion,
} from './solusvm-types.js';

export interface ReportContext {
  version: SolusVmVersion;
  hostPort: string;
  host: string;
  timeoutMs: number;
  fingerprint256: string | null;
}

const sentence = (s: string): string => {
  const t = s.trim();
  const c = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : c + '.';
};

/** One sentence (or two) an admin understands, for any failure of a test call. */
export function describeFailure(e: unknown, ctx: ReportContext): string {
  if (!(e instanceof SolusVmError))
    return sentence(`Unexpected failure: ${(e as Error)?.message ?? String(e)}`);
  const ports =
    ctx.version === 1
      ? "SolusVM 1's Admin API listens on port 5656 (https) or 5353 (http) unless it was changed"
      : "SolusVM 2's API is normally served on port 443 (https)";
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return sentence(
        `Cannot resolve the host name ${ctx.host} (DNS lookup failed: ${e.code}); check the master's address`,
      );
    case 'ECONNREFUSED':
      return sentence(
        `The connection to ${ctx.hostPort} was refused: nothing listens there or a firewall rejects it. ${ports}; check the port and the master's firewall`,
      );
    case 'CONNECT_TIMEOUT':
    case 'TIMEOUT':
      return sentence(
        `No answer from ${ctx.hostPort} within ${ctx.timeoutMs / 1000} s: a firewall may be dropping the traffic (${ports}), or the master is overloaded`,
      );
    case 'HTML_PAGE':
      return sentence(
        'An HTML page came back instead of an API answer: probably an htpasswd prompt, a proxy or a login page in front of the master; check the URL and the basic-auth (htpasswd) settings',
      );
    default:
      return sentence(e.message);
  }
}

export function failureReport(e: unknown, ctx: ReportContext, latencyMs: number | null): ConnectionReport {
  const kind: SolusVmErrorKind = e instanceof SolusVmError ? e.kind : 'transport';
  return {
    ok: false,
    message: describeFailure(e, ctx),
    version: ctx.version,
    fingerprint256: (e instanceof SolusVmError ? e.fingerprint256 : null) ?? ctx.fingerprint256,
    latencyMs,
    serverCount: null,
    errorKind: kind,
  };
}

/** A warning added to a successful test when certificate checks are off. */
/** A successful connection test, in the same words for both versions. */
export function okReport(
  version: 1 | 2,
  http: { hostPort: string; isTls: boolean; peerFingerprint256: string | null },
  mode: string,
  latencyMs: number,
  found: string,
  serverCount: number | null,
): ConnectionReport {
  return {
    ok: true,
    message:
      `Connected to SolusVM ${version} at ${http.hostPort} in ${latencyMs} ms: ${found}.` +
      insecureNote(mode, http.isTls, http.peerFingerprint256),
    version,
    fingerprint256: http.peerFingerprint256,
    latencyMs,
    serverCount,
    errorKind: null,
  };
}

export const insecureNote = (mode: string, isTls: boolean, fp: string | null): string =>
  !isTls
    ? ' The connection is plain http: the API key travels unencrypted.'
    : mode === 'insecure'
      ? ` TLS certificate verification is off (insecure); pin the fingerprint ${fp ?? '(unknown)'} instead.`
      : '';
