/**
 * WHMCS's External API endpoint, POST /includes/api.php: a form body with PHP-style arrays,
 * `action`, API credentials, `responsetype=json|xml`. The IP allow-list is checked first, then the
 * credentials, then the command. Every answer is an envelope in the format asked for (JSON, or
 * WHMCS's XML: domain/whmcs-xml.ts) — a bad request never gets a 500 and never writes half of
 * itself. Requests are logged without their parameters, so secrets and passwords never reach a log.
 *
 * `responsetype` is read in any case: json, xml or nvp, the three types WHMCS documents
 * (developers.whmcs.com/api/response-types/; nvp deprecated, domain/whmcs-nvp.ts). WHMCS's public
 * documentation names no default; without it the panel answers JSON, the recommended type that
 * every documented example asks for (docs/whmcs.md). Other values are refused in JSON, HTTP 400.
 *
 * HTTP status: 403 for a refused IP or credentials (WHMCS does not document it), 200 for every
 * command answer including `result: error` (as WHMCS), 400/413 for a body that cannot be read.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';
import { formPairs, parsePhpPairs, type PhpValue } from './domain/php-params.js';
import { normaliseAction, whmcsXml } from './domain/whmcs-xml.js';
import { whmcsNvp } from './domain/whmcs-nvp.js';
import { authenticateApi, touchCredential } from './auth.js';
import { getSetting } from './db/settings.js';
import type { CommandRegistry, Envelope } from './api/registry.js';
import type { PanelCore } from './core/context.js';
import { MSG } from './core/errors.js';
import { clientAddress, normalizeIp, type TrustProxy } from '../module/web/client-address.js';
import { createLoginThrottle, type LoginThrottle } from './login-throttle.js';

export const API_PATH = '/includes/api.php';
const MAX_PARAMS = 1000;

export interface ApiRouterOptions {
  core: PanelCore;
  commands: CommandRegistry;
  /** WHMCS's $api_access_key: a request carrying it skips the IP allow-list */
  accessKey?: string;
  /** the proxies in front (client-address.ts); default none: the socket's address */
  trustProxy?: TrustProxy | boolean;
  /** lockout after failed authentications (shared with the login pages) */
  throttle?: LoginThrottle;
  maxBodyBytes?: number;
}

export { normalizeIp };

/** APIAllowedIPs: addresses separated by commas, spaces or new lines; '*' allows any. */
export async function ipAllowed(db: Knex, ip: string): Promise<boolean> {
  const list = (await getSetting(db, 'APIAllowedIPs'))
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(normalizeIp);
  return list.includes('*') || list.includes(normalizeIp(ip));
}

type Format = 'json' | 'xml' | 'nvp';

function send(res: Response, status: number, body: Envelope, format: Format = 'json', action = ''): void {
  if (format === 'json') {
    res.status(status).type('application/json').send(JSON.stringify(body));
    return;
  }
  if (format === 'nvp') {
    res.status(status).type('text/plain; charset=utf-8').send(whmcsNvp(body));
    return;
  }
  let xml: string;
  try {
    xml = whmcsXml(action, body);
  } catch {
    // an answer XML cannot carry (a key that is no element name) is the panel's bug, said as one
    [status, xml] = [500, whmcsXml(action, { result: 'error', message: MSG.internal })];
  }
  res.status(status).type('application/xml; charset=utf-8').send(xml);
}

/** `responsetype` read in any case; absent → JSON (docs/whmcs.md, "API answer formats"). */
function formatOf(v: PhpValue | undefined): Format | { refused: string } {
  if (v === undefined || v === '') return 'json';
  const t = typeof v === 'string' ? v.toLowerCase() : '';
  if (t === 'json' || t === 'xml' || t === 'nvp') return t;
  return { refused: MSG.unsupportedResponseType(typeof v === 'string' ? v : 'Array') };
}

const scalar = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function createApiRouter(opts: ApiRouterOptions): Router {
  const { core, commands } = opts;
  const router = express.Router();
  const log = core.log.child({ component: 'panel-api' });
  const throttle = opts.throttle ?? createLoginThrottle();

  router.post(
    API_PATH,
    express.raw({ type: () => true, limit: opts.maxBodyBytes ?? 2 * 1024 * 1024 }),
    async (req: Request, res: Response) => {
      const started = Date.now();
      // the right-most address no trusted proxy wrote: never the client's own X-Forwarded-For entry
      const remote = clientAddress(req, opts.trustProxy);
      let action = '';
      let format: Format = 'json';
      const finish = (status: number, body: Envelope) => {
        log.info('panel.api_request', {
          action,
          ip: remote,
          status,
          format,
          result: body.result,
          ...(body.result === 'error' ? { error: body.message } : {}),
          ms: Date.now() - started,
        });
        send(res, status, body, format, action);
      };
      try {
        const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
        const pairs = formPairs(text);
        if (pairs.length > MAX_PARAMS) return finish(400, { result: 'error', message: MSG.tooManyParams });
        const tree = parsePhpPairs(pairs);
        action = scalar(tree.action) ?? '';
        const asked = formatOf(tree.responsetype);
        if (typeof asked !== 'string') return finish(400, { result: 'error', message: asked.refused });
        // WHMCS answers GetAdminUsers in JSON whatever was asked
        format = normaliseAction(action) === 'getadminusers' ? 'json' : asked;
        const accessKey = scalar(tree.accesskey);
        const keyOk = opts.accessKey !== undefined && opts.accessKey !== '' && accessKey === opts.accessKey;
        if (!keyOk && !(await ipAllowed(core.knex, remote)))
          return finish(403, { result: 'error', message: MSG.invalidIp(remote) });
        const identifier = scalar(tree.identifier) ?? scalar(tree.username) ?? '';
        const keys = [`api:ip:${remote}`, ...(identifier ? [`api:id:${identifier.slice(0, 120)}`] : [])];
        const locked = throttle.lockedFor(keys);
        if (locked > 0)
          return finish(429, { result: 'error', message: MSG.tooManyAttempts(Math.ceil(locked / 1000)) });
        const auth = await authenticateApi(core.knex, {
          ...(scalar(tree.identifier) !== undefined ? { identifier: scalar(tree.identifier)! } : {}),
          ...(scalar(tree.secret) !== undefined ? { secret: scalar(tree.secret)! } : {}),
          ...(scalar(tree.username) !== undefined ? { username: scalar(tree.username)! } : {}),
          ...(scalar(tree.password) !== undefined ? { password: scalar(tree.password)! } : {}),
        });
        if (!auth) {
          const lock = throttle.fail(keys);
          if (lock > 0) {
            // the start of each lock, as WHMCS logs failed logins and bans
            await core
              .activity({
                description: `API authentication locked for ${Math.ceil(lock / 1000)} seconds after repeated failures - Identifier: ${identifier.slice(0, 60)}`,
                ipaddr: remote,
              })
              .catch(() => undefined);
          }
          return finish(403, { result: 'error', message: MSG.authFailed });
        }
        throttle.succeed(keys);
        if (identifier)
          await touchCredential(core.knex, identifier, core.clock.now(), core.zone).catch(() => undefined);
        // the transport's own fields are not the command's parameters
        for (const k of [
          'action',
          'identifier',
          'secret',
          'username',
          'password',
          'accesskey',
          'responsetype',
        ])
          delete tree[k];
        const envelope = await commands.execute(action, tree, {
          source: 'api',
          user: auth.adminId,
          ip: remote,
        });
        return finish(200, envelope);
      } catch (err) {
        log.error('panel.api_failed', { action, message: (err as Error)?.message });
        return finish(500, { result: 'error', message: MSG.internal });
      }
    },
  );

  // WHMCS's endpoint is POST only
  router.all(API_PATH, (_req: Request, res: Response) =>
    send(res, 405, { result: 'error', message: 'The API only accepts POST requests' }),
  );

  // a body that cannot be read (too large, aborted, bad encoding) still gets the envelope
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status =
      typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 400;
    log.warn('panel.api_bad_request', { status, message: (err as Error)?.message });
    send(res, status >= 400 && status < 500 ? status : 400, {
      result: 'error',
      message: status === 413 ? 'Request body too large' : 'The request body could not be read',
    });
  });

  return router;
}
