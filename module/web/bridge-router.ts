/**
 * The service end of the WHMCS bridge (modules/addons/overusage/ on the WHMCS side; protocol in
 * docs/whmcs.md). Every endpoint is `POST /bridge/v1/<endpoint>` with a JSON body, signed by the
 * bridge (bridge-signing.ts); the answer is signed back and names the request's nonce.
 *
 *   hook         {hook, vars}             → the module's handlers for that WHMCS hook (the same
 *                                           ones the reference panel calls in-process)
 *   results      {conversation, results}  → the bridge's results for relayed panel commands
 *   report       {results}                → results the bridge could not deliver earlier
 *   activate | deactivate | upgrade {version}
 *   output       {identity, request, modulelink, language, csrf?, assets?, downloads?}  → the admin tab's HTML
 *   clientarea   {identity, request, modulelink, language, csrf?, assets?, downloads?}  → the client page's HTML
 *   download     {identity, request, modulelink, language}  → {filename, contentType, body} of the file the
 *                                           request's query names (`download=<kind>`), or {error}
 *
 * `csrf` ({name, value}: WHMCS's form token, put in every form), `assets` ({base, version}: where WHMCS
 * serves the addon's stylesheet and script) and `downloads` ("host": links come back to WHMCS's
 * page, which asks for the file here) make the pages whole inside WHMCS (module/web/page-host.ts).
 *
 * Every answer that is not an error is a relay step: `done` with the answer, `commands` for the
 * bridge to apply (relay mode), `working` (poll again), or `failed`. Refusals are 4xx with
 * `{status: "error", code, message}`: bad_signature, stale, replayed, bad_identity, bad_request.
 *
 * Order of checks: before the body is read, the headers (a nonce of the right form, a timestamp
 * within ±5 min of this machine's real clock, a signature of the right form, a length within the
 * limit); then the signature over the raw body, then the nonce is remembered (so unsigned junk
 * never fills the table), then the body is parsed.
 */
import { loggedError } from '../adapters/rows.js';
import path from 'node:path';
import fs from 'node:fs';
import ejs from 'ejs';
import pLimit from 'p-limit';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { silentLogger, type Logger } from '../adapters/logger.js';
import { parsePanelJson } from '../adapters/whmcs-http-api.js';
import {
  MAX_SKEW_SECONDS,
  SIGNATURE_HEADERS,
  answerSignature,
  checkTimestamp,
  isValidNonce,
  newNonce,
  readIdentityToken,
  requestSignature,
  sameSignature,
  type Identity,
} from '../adapters/bridge-signing.js';
import type { BridgeStore } from '../adapters/bridge-store.js';
import type { BridgeRelay, RelayStep, ReportedResult } from '../adapters/bridge-relay.js';
import { DateTime } from 'luxon';
import type { HookContext, HookDefinition, HookVars } from '../../hooks/hook-types.js';
import { dispatchBridgeHook } from './bridge-hooks.js';
import { ModuleError } from '../domain/errors.js';

export const BRIDGE_BASE = '/bridge/v1';

type MaybePromise<T> = T | Promise<T>;

/** The part of the module's addon definition the bridge relays to. */
export interface BridgedAddon {
  templatesDir?: string;
  activate(): MaybePromise<{ status: string; description: string } | void>;
  deactivate(): MaybePromise<{ status: string; description: string } | void>;
  upgrade(vars: { version: string }): MaybePromise<unknown>;
  output(vars: Record<string, unknown>): MaybePromise<string>;
  download(
    vars: Record<string, unknown>,
  ): MaybePromise<{ filename: string; contentType: string; body: string }>;
  clientarea(vars: Record<string, unknown>): MaybePromise<{
    pagetitle: string;
    breadcrumb: Record<string, string>;
    templatefile: string;
    requirelogin?: boolean;
    vars?: Record<string, unknown>;
  }>;
}

export interface BridgeRouterDeps {
  /** the shared secret, as set in the WHMCS addon's configuration */
  secret: string;
  store: BridgeStore;
  relay: BridgeRelay;
  hooks: () => readonly HookDefinition[];
  addon: BridgedAddon;
  log?: Logger;
  /** the machine's real time in ms: timestamps and token expiry are transport matters, not billing */
  nowMs?: () => number;
  /** the largest signed body read (default 4 MB) */
  maxBodyBytes?: number;
  /** bodies above 64 KB read at the same time (default 2); the others wait, unread */
  largeReadsAtOnce?: number;
}

/** Bodies up to this size are read without waiting for a turn. */
export const SMALL_BODY_BYTES = 64 * 1024;

const ENDPOINTS = new Set([
  'hook',
  'results',
  'report',
  'activate',
  'deactivate',
  'upgrade',
  'output',
  'clientarea',
  'download',
]);
const HOOK_NAME = /^[A-Za-z][A-Za-z0-9]{1,60}$/;
const PRUNE_EVERY_MS = 60_000;

type Refusal =
  'bad_signature' | 'stale' | 'replayed' | 'bad_identity' | 'bad_request' | 'not_found' | 'internal';

const MESSAGES: Record<Refusal, string> = {
  bad_signature: 'the signature does not match: the shared secret in WHMCS differs from the service’s',
  stale: `the request's timestamp is more than ${MAX_SKEW_SECONDS / 60} minutes from the service's clock: check the time on both machines`,
  replayed: 'this request was already received once; a replayed request is refused',
  bad_identity: 'the admin or client token is missing, expired or not signed by the bridge',
  bad_request: 'the request body is not what this endpoint takes',
  not_found: 'no such bridge endpoint',
  internal: 'the service failed while answering; see its log',
};

const STATUS: Record<Refusal, number> = {
  bad_signature: 401,
  stale: 401,
  replayed: 401,
  bad_identity: 401,
  bad_request: 400,
  not_found: 404,
  internal: 500,
};

class BadRequest extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** PHP's json_encode writes an empty array as [] where an object was meant. */
const objectOf = (v: unknown): Record<string, unknown> =>
  isObject(v) ? v : Array.isArray(v) && v.length === 0 ? {} : {};

function requestShape(v: unknown): {
  method: string;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
} {
  const r = objectOf(v);
  const method = typeof r.method === 'string' && /^[A-Z]{3,7}$/.test(r.method) ? r.method : 'GET';
  return { method, query: objectOf(r.query), body: objectOf(r.body) };
}

function resultsOf(v: unknown): ReportedResult[] {
  if (!Array.isArray(v)) throw new BadRequest('results must be a list');
  if (v.length > 1000) throw new BadRequest('too many results at once');
  return v.map((x) => {
    const r = objectOf(x);
    if (typeof r.key !== 'string' || !/^[a-z]-[A-Za-z0-9-]{1,76}$/.test(r.key))
      throw new BadRequest('a result has no valid key');
    if (r.status !== 'ok' && r.status !== 'refused' && r.status !== 'unknown')
      throw new BadRequest(`result ${r.key}: status must be ok, refused or unknown`);
    const out: ReportedResult = { key: r.key, status: r.status };
    if (r.status === 'ok') {
      if (!isObject(r.result)) throw new BadRequest(`result ${r.key}: an ok result needs localAPI's answer`);
      out.result = r.result;
    }
    if (typeof r.message === 'string') out.message = r.message.slice(0, 2000);
    return out;
  });
}

/** What every request of the bridge endpoint shares. */
interface Ctx {
  deps: BridgeRouterDeps;
  log: Logger;
  nowMs: () => number;
  maxBody: number;
  lastPrune: number;
}

export function createBridgeRouter(deps: BridgeRouterDeps): Router {
  const ctx: Ctx = {
    deps,
    log: (deps.log ?? silentLogger).child({ component: 'bridge' }),
    nowMs: deps.nowMs ?? Date.now,
    maxBody: deps.maxBodyBytes ?? 4 * 1024 * 1024,
    lastPrune: 0,
  };
  const router = express.Router();
  router.post(`${BRIDGE_BASE}/:endpoint`, preflight(ctx), (req: Request, res: Response) =>
    answer(ctx, req, res),
  );
  router.all(`${BRIDGE_BASE}/:endpoint`, (_req: Request, res: Response) => {
    res.status(405).json({ status: 'error', code: 'method', message: 'the bridge only takes POST' });
  });
  // a body that cannot be read (too large, aborted) still gets the error envelope
  router.use(BRIDGE_BASE, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status =
      typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 400;
    res.status(status >= 400 && status < 500 ? status : 400).json({
      status: 'error',
      code: 'bad_request',
      message: status === 413 ? 'the request body is too large' : 'the request body could not be read',
    });
  });
  return router;
}

/** An answer, signed back when the request carried a good nonce (the bridge checks it). */
function send(ctx: Ctx, res: Response, requestNonce: string | null, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if (requestNonce) {
    const timestamp = Math.floor(ctx.nowMs() / 1000);
    const nonce = newNonce();
    res.setHeader(SIGNATURE_HEADERS.timestamp, String(timestamp));
    res.setHeader(SIGNATURE_HEADERS.nonce, nonce);
    res.setHeader(
      SIGNATURE_HEADERS.signature,
      answerSignature(ctx.deps.secret, { timestamp, requestNonce, nonce, status, body: text }),
    );
  }
  res.status(status).type('application/json').setHeader('Cache-Control', 'no-store');
  res.send(text);
}

const refuse = (ctx: Ctx, res: Response, requestNonce: string | null, code: Refusal, detail?: string) =>
  send(ctx, res, requestNonce, STATUS[code], {
    status: 'error',
    code,
    message: detail ? `${MESSAGES[code]} (${detail})` : MESSAGES[code],
  });

/**
 * The headers are checked before a byte of the body is read: no nonce, a stale or missing
 * timestamp, or no signature of the right form is refused at once and the connection closed, so
 * an unsigned request costs no memory. A body that says it is larger than the limit is refused
 * before it is read as well.
 */
function preflight(ctx: Ctx) {
  const readBody = express.raw({ type: () => true, limit: ctx.maxBody });
  // bodies above the small cap are read a few at a time: a signature is only known good once the
  // whole body is in, so well-formed but forged requests must not hold 4 MB each at once
  const largeReads = pLimit(ctx.deps.largeReadsAtOnce ?? 2);
  return (req: Request, res: Response, next: NextFunction): void => {
    const endpoint = String(req.params.endpoint);
    const ts = checkTimestamp(req.get(SIGNATURE_HEADERS.timestamp), ctx.nowMs());
    const reason = !isValidNonce(req.get(SIGNATURE_HEADERS.nonce))
      ? 'no_nonce'
      : !ts.ok
        ? ts.problem
        : !/^[0-9a-f]{64}$/i.test(req.get(SIGNATURE_HEADERS.signature) ?? '')
          ? 'no_signature'
          : null;
    const length = Number(req.get('content-length') ?? NaN);
    if (reason || length > ctx.maxBody) {
      ctx.log.warn('bridge.refused', { endpoint, reason: reason ?? 'too_large', unread: true });
      res.setHeader('Connection', 'close');
      if (reason) refuse(ctx, res, null, reason === 'stale' ? 'stale' : 'bad_signature');
      else
        res
          .status(413)
          .json({ status: 'error', code: 'bad_request', message: 'the request body is too large' });
      return;
    }
    if (!Number.isFinite(length) || length > SMALL_BODY_BYTES) {
      void largeReads(
        () =>
          new Promise<void>((done) => {
            res.once('close', done);
            readBody(req, res, (err?: unknown) => (err ? next(err) : next()));
          }),
      );
      return;
    }
    readBody(req, res, next);
  };
}

/** Signature, then the nonce (once only); the refusal already sent when it says false. */
async function verified(
  ctx: Ctx,
  req: Request,
  res: Response,
  endpoint: string,
  raw: Buffer,
  requestNonce: string | null,
): Promise<boolean> {
  const ts = checkTimestamp(req.get(SIGNATURE_HEADERS.timestamp), ctx.nowMs());
  if (!requestNonce || !ts.ok) {
    ctx.log.warn('bridge.refused', {
      endpoint,
      reason: !requestNonce ? 'no_nonce' : ts.ok ? '' : ts.problem,
    });
    refuse(
      ctx,
      res,
      null,
      ts.ok || !requestNonce ? 'bad_signature' : ts.problem === 'stale' ? 'stale' : 'bad_signature',
    );
    return false;
  }
  const expected = requestSignature(ctx.deps.secret, {
    timestamp: ts.timestamp,
    nonce: requestNonce,
    endpoint,
    body: raw,
  });
  if (!sameSignature(expected, req.get(SIGNATURE_HEADERS.signature))) {
    ctx.log.warn('bridge.refused', { endpoint, reason: 'bad_signature' });
    // not signed back: whoever sent this does not hold the secret
    refuse(ctx, res, null, 'bad_signature');
    return false;
  }
  if (!(await ctx.deps.store.rememberNonce(requestNonce, ctx.nowMs()))) {
    ctx.log.warn('bridge.refused', { endpoint, reason: 'replayed' });
    refuse(ctx, res, requestNonce, 'replayed');
    return false;
  }
  if (ctx.nowMs() - ctx.lastPrune > PRUNE_EVERY_MS) {
    ctx.lastPrune = ctx.nowMs();
    // a nonce older than twice the skew window can only come with a stale timestamp
    void ctx.deps.store
      .pruneNonces(ctx.nowMs() - 2 * MAX_SKEW_SECONDS * 1000)
      .catch((err) => ctx.log.warn('bridge.prune_failed', { ...loggedError(err) }));
  }
  return true;
}

/** The body as a JSON object (PHP's json_encode writes an empty payload as []); null when it is not one. */
function bodyOf(raw: Buffer): Record<string, unknown> | null {
  try {
    const parsed = parsePanelJson(raw.toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 0) return {};
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

async function answer(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const endpoint = String(req.params.endpoint);
  const nonceHeader = req.get(SIGNATURE_HEADERS.nonce);
  const requestNonce = isValidNonce(nonceHeader) ? nonceHeader : null;
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    if (!(await verified(ctx, req, res, endpoint, raw, requestNonce)) || !requestNonce) return;
    if (!ENDPOINTS.has(endpoint)) return refuse(ctx, res, requestNonce, 'not_found');
    const body = bodyOf(raw);
    if (!body) return refuse(ctx, res, requestNonce, 'bad_request', 'the body is not a JSON object');
    let step: RelayStep;
    if (endpoint === 'output' || endpoint === 'clientarea' || endpoint === 'download') {
      const who = identityOf(
        ctx,
        body,
        endpoint === 'output' ? 'admin' : endpoint === 'clientarea' ? 'client' : 'any',
      );
      if (!who) {
        ctx.log.warn('bridge.refused', { endpoint, reason: 'bad_identity' });
        return refuse(ctx, res, requestNonce, 'bad_identity');
      }
      step = await pageStep(ctx, endpoint, body, who);
    } else {
      step = await handle(ctx, endpoint, body);
    }
    if (step.status === 'failed') ctx.log.warn('bridge.step_failed', { endpoint, message: step.message });
    return send(ctx, res, requestNonce, 200, step);
  } catch (err) {
    if (err instanceof BadRequest) return refuse(ctx, res, requestNonce, 'bad_request', err.message);
    ctx.log.error('bridge.failed', { endpoint, ...loggedError(err) });
    return refuse(ctx, res, requestNonce, 'internal');
  }
}

function identityOf(ctx: Ctx, body: Record<string, unknown>, sub: Identity['sub'] | 'any'): Identity | null {
  const r = readIdentityToken(ctx.deps.secret, body.identity, ctx.nowMs());
  if (!r.ok || (sub !== 'any' && r.identity.sub !== sub)) return null;
  return r.identity;
}

/** The admin tab, the client page or a download, for the person WHMCS vouched for. */
function pageStep(
  ctx: Ctx,
  endpoint: 'output' | 'clientarea' | 'download',
  body: Record<string, unknown>,
  who: Identity,
): Promise<RelayStep> {
  const { deps } = ctx;
  const request = requestShape(body.request);
  const modulelink =
    typeof body.modulelink === 'string'
      ? body.modulelink.slice(0, 500)
      : who.sub === 'admin'
        ? 'addonmodules.php?module=overusage'
        : 'index.php?m=overusage';
  const language = typeof body.language === 'string' ? body.language.slice(0, 40) : '';
  // what WHMCS says about itself; the module checks it (page-host.ts)
  const host = { csrf: body.csrf, assets: body.assets, downloads: body.downloads };
  const person = who.sub === 'admin' ? { adminid: who.id } : { clientid: who.id };
  if (endpoint === 'download') {
    return deps.relay.converse(async () => {
      try {
        const file = await deps.addon.download({ modulelink, request, language, ...person });
        return { filename: file.filename, contentType: file.contentType, body: file.body };
      } catch (err) {
        // another client's line, a line that is not there: said, not failed
        if (err instanceof ModuleError && ['NOT_FOUND', 'INVALID_INPUT'].includes(err.code))
          return { error: err.message };
        throw err;
      }
    });
  }
  if (endpoint === 'output')
    return deps.relay.converse(async () => ({
      html: await deps.addon.output({ modulelink, request, adminid: who.id, language, ...host }),
    }));
  return deps.relay.converse(async () => {
    const r = await deps.addon.clientarea({ modulelink, request, clientid: who.id, language, ...host });
    return {
      pagetitle: r.pagetitle,
      breadcrumb: r.breadcrumb,
      requirelogin: Boolean(r.requirelogin),
      html: await renderClientPage(deps, r, { modulelink, clientid: who.id, language, token: '' }),
    };
  });
}

async function renderClientPage(
  deps: BridgeRouterDeps,
  result: Awaited<ReturnType<BridgedAddon['clientarea']>>,
  extra: Record<string, unknown>,
): Promise<string> {
  const dir = deps.addon.templatesDir;
  if (!dir || !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(result.templatefile))
    throw new Error(`no template "${result.templatefile}" for the client page`);
  const root = path.resolve(dir);
  const file = path.resolve(root, `${result.templatefile}.ejs`);
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file))
    throw new Error(`no template "${result.templatefile}" for the client page`);
  // the host's values win, as in the reference panel: an addon cannot replace the link
  return ejs.renderFile(file, { ...(result.vars ?? {}), ...extra }, { root });
}

/**
 * When WHMCS fired a hook the bridge kept while the service was away and delivers now
 * (`replay.firedAt`, UTC as the bridge's Store::saveMissed writes it, e.g. 2013-06-22T07:00:00Z):
 * the handlers compute with that moment, not the delivery's (a late fee's base is what was unpaid
 * when the fee came). One after this machine's time (the two clocks apart) is now; one that is not
 * a time is logged and left out (the handlers take now, as for a hook delivered as it fires).
 */
function firedAtOf(value: unknown, nowMs: number, log: Logger, hook: string): DateTime | undefined {
  const at = typeof value === 'string' ? readIso(value) : null;
  if (!at?.isValid) {
    log.warn('bridge.hook_fired_at_unreadable', { hook, firedAt: String(value ?? '').slice(0, 40) });
    return undefined;
  }
  return at.toMillis() > nowMs ? DateTime.fromMillis(nowMs, { zone: 'utc' }) : at;
}

// The composition root turns luxon's Settings.throwOnInvalid on: an unreadable time throws there
// instead of coming back invalid, and a replay's bad stamp would fail the hook (HTTP 500).
function readIso(value: string): DateTime | null {
  try {
    return DateTime.fromISO(value, { zone: 'utc' });
  } catch {
    return null;
  }
}

async function handle(ctx: Ctx, endpoint: string, body: Record<string, unknown>): Promise<RelayStep> {
  const { deps, log } = ctx;
  switch (endpoint) {
    case 'hook': {
      const hook = body.hook;
      if (typeof hook !== 'string' || !HOOK_NAME.test(hook))
        throw new BadRequest('hook must be a WHMCS hook name');
      const vars = objectOf(body.vars) as HookVars;
      const context: HookContext = {};
      if (isObject(body.replay)) {
        log.info('bridge.hook_replayed', { hook, firedAt: String(body.replay.firedAt ?? '') });
        const firedAt = firedAtOf(body.replay.firedAt, ctx.nowMs(), log, hook);
        if (firedAt) context.firedAt = firedAt;
      }
      return deps.relay.converse(() => dispatchBridgeHook(deps.hooks(), hook, vars, log, context), {
        deliverQueued: hook === 'AfterCronJob',
      });
    }
    case 'results': {
      if (typeof body.conversation !== 'string' || !/^[0-9a-f]{24}$/.test(body.conversation))
        throw new BadRequest('conversation is missing');
      return deps.relay.resume(body.conversation, resultsOf(body.results ?? []));
    }
    case 'report': {
      const accepted = await deps.relay.report(resultsOf(body.results ?? []));
      return { status: 'done', answer: { accepted } };
    }
    case 'activate':
      return deps.relay.converse(
        async () =>
          (await deps.addon.activate()) ?? { status: 'success', description: 'Overusage is active.' },
      );
    case 'deactivate':
      // answered in this one exchange, never "working": deleting the data drops the tables a
      // follow-up request would need (its nonce is remembered in one), and it needs no panel call
      return {
        status: 'done',
        answer: (await deps.addon.deactivate()) ?? {
          status: 'success',
          description: 'Overusage is deactivated.',
        },
      };
    case 'upgrade': {
      const version = typeof body.version === 'string' ? body.version.slice(0, 40) : '';
      return deps.relay.converse(async () => {
        await deps.addon.upgrade({ version });
        return { status: 'success', description: 'Overusage is up to date.' };
      });
    }
    default:
      throw new BadRequest('unknown endpoint');
  }
}
