import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  peerFingerprint256?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
}

/** A plain node:http(s) request, so tests control keep-alive, timeouts and certificate pinning. */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    // no agent by default: a fresh connection per request, so a refused connection shows as such
    const reqOpts: https.RequestOptions = {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
    };
    // self-signed: the tests read the presented certificate's fingerprint instead of verifying a chain
    if (isHttps) reqOpts.rejectUnauthorized = false;
    const req = (isHttps ? https : http).request(u, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const peer = isHttps ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined;
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          peerFingerprint256: peer,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.timeoutMs)
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
      );
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** GET the SolusVM 1 Admin API with the given parameters. */
export function v1Get(
  origin: string,
  params: Record<string, string>,
  opts: RequestOptions = {},
): Promise<HttpResult> {
  return request(`${origin}/api/admin/command.php?${new URLSearchParams(params).toString()}`, opts);
}

export function multipart(fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = '----simtest' + Math.random().toString(16).slice(2);
  const parts = Object.entries(fields).map(
    ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

export const DAY = 86_400_000;
export const GIB = 1024n ** 3n;
