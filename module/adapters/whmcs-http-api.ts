/**
 * The panel port over WHMCS's External API: POST form-encoded to `${url}/includes/api.php` with
 * `action`, API credentials (`identifier` + `secret`) and `responsetype=json`. Array parameters go
 * PHP-style (`x[]`, `x[5]`), numbers come back as strings. Only read commands are repeated after a
 * transport failure: a write that may have reached the panel is never sent twice.
 */
import { loggedError } from './rows.js';
import { parse as parseLosslessJson } from 'lossless-json';
import { silentLogger, type Logger } from './logger.js';
import {
  PanelApiError,
  createPanelApi,
  encodeForm,
  interpretEnvelope,
  isSafeToRepeat,
  toFormPairs,
  type PanelApi,
  type PanelParams,
  type PanelResult,
} from './panel-api.js';

export interface WhmcsHttpApiOptions {
  /** the panel's base URL, e.g. https://billing.example.net/ (api.php is appended) */
  url: string;
  identifier: string;
  secret: string;
  /** WHMCS's $api_access_key, which lets a caller past the IP allow-list */
  accessKey?: string;
  /** per attempt; default 30 s */
  timeoutMs?: number;
  /** extra attempts for read commands after a transport failure; default 2 */
  retries?: number;
  retryBaseMs?: number;
  log?: Logger;
  /** injectable for tests */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const RETRY_STATUS = new Set([502, 503, 504]);

/**
 * Parses JSON without losing digits: integers that fit a JS number become numbers, every other
 * number stays its exact text (WHMCS usually sends money as strings, but not always).
 */
export function parsePanelJson(text: string): unknown {
  return parseLosslessJson(text, null, (value: string) =>
    /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : value,
  );
}

export function apiEndpoint(url: string): string {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new PanelApiError('transport', `the panel URL "${url}" is not a valid URL`, { command: '' });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new PanelApiError('transport', `the panel URL must be http:// or https://`, { command: '' });
  const path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  return `${base.origin}${path}includes/api.php`;
}

export function createWhmcsHttpApi(opts: WhmcsHttpApiOptions): PanelApi {
  const endpoint = apiEndpoint(opts.url);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = Math.max(0, Math.trunc(opts.retries ?? 2));
  const retryBaseMs = opts.retryBaseMs ?? 300;
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = opts.log ?? silentLogger;

  async function call(command: string, params: PanelParams = {}): Promise<PanelResult> {
    const body = requestBody(opts, command, params);
    const repeatable = isSafeToRepeat(command);
    const started = Date.now();
    for (let n = 0; ; n++) {
      try {
        const result = await postOnce({ doFetch, endpoint, timeoutMs }, command, body);
        log.info('panel.call', { command, attempts: n + 1, ms: Date.now() - started });
        return result;
      } catch (err) {
        const retry = err instanceof PanelApiError && err.retryable && repeatable && n < retries;
        log.warn('panel.call_failed', {
          command,
          attempt: n + 1,
          kind: (err as PanelApiError).kind,
          // the kind and status, never the panel's words, which can echo what was sent (errorKind)
          ...loggedError(err),
          willRetry: retry,
        });
        if (!retry) {
          // A write that failed in transit may or may not have happened: the caller must check, not repeat.
          if (err instanceof PanelApiError && err.retryable && !repeatable) {
            throw new PanelApiError(
              err.kind,
              `${err.message}; ${command} changes data, so it was not repeated`,
              { command, status: err.status, retryable: false, cause: err },
            );
          }
          throw err;
        }
        await sleep(retryBaseMs * 2 ** n);
      }
    }
  }

  return createPanelApi(call);
}

/** One POST of the command, its answer read as JSON: a timeout, an unreachable panel or a proxy's error page may be tried again. */
async function postOnce(
  x: { doFetch: typeof fetch; endpoint: string; timeoutMs: number },
  command: string,
  body: string,
): Promise<PanelResult> {
  const { doFetch, endpoint, timeoutMs } = x;
  let res: Response;
  let text: string;
  try {
    res = await doFetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    text = await res.text();
  } catch (err) {
    const name = (err as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new PanelApiError('timeout', `the panel did not answer ${command} within ${timeoutMs} ms`, {
        command,
        retryable: true,
        cause: err,
      });
    }
    const code = (err as { cause?: { code?: string } })?.cause?.code;
    throw new PanelApiError(
      'transport',
      `could not reach the panel for ${command}${code ? ` (${code})` : ''}`,
      { command, retryable: true, cause: err },
    );
  }
  let decoded: unknown;
  try {
    decoded = parsePanelJson(text);
  } catch {
    // A proxy's error page (502/503/504) is a transport failure; anything else is a bad answer.
    if (RETRY_STATUS.has(res.status))
      throw new PanelApiError('transport', `the panel answered ${command} with HTTP ${res.status}`, {
        command,
        status: res.status,
        retryable: true,
      });
    throw new PanelApiError(
      'bad_response',
      `the panel answered ${command} with HTTP ${res.status} and a body that is not JSON`,
      { command, status: res.status },
    );
  }
  return interpretEnvelope(command, decoded, res.status);
}

/** The form body: the credentials first, so they are never mistaken for a command parameter of the same name. */
function requestBody(opts: WhmcsHttpApiOptions, command: string, params: PanelParams): string {
  const pairs: Array<[string, string]> = [
    ['action', command],
    ['identifier', opts.identifier],
    ['secret', opts.secret],
    ['responsetype', 'json'],
  ];
  if (opts.accessKey) pairs.push(['accesskey', opts.accessKey]);
  for (const [k, v] of toFormPairs(params)) {
    if (['action', 'identifier', 'secret', 'responsetype', 'accesskey', 'username', 'password'].includes(k))
      continue;
    pairs.push([k, v]);
  }
  return encodeForm(pairs);
}
