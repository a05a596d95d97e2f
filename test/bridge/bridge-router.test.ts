import { expect } from 'chai';
import { ModuleError } from '../../module/domain/errors.js';
import express from 'express';
import request from 'supertest';
import type { Knex } from 'knex';
import { Settings } from 'luxon';
import { silentLogger } from '../../module/adapters/logger.js';
import { createBridgeStore, type BridgeStore } from '../../module/adapters/bridge-store.js';
import { createBridgeRelay, type BridgeRelay } from '../../module/adapters/bridge-relay.js';
import {
  answerSignature,
  mintIdentityToken,
  newNonce,
  requestSignature,
} from '../../module/adapters/bridge-signing.js';
import { createBridgeRouter, type BridgedAddon } from '../../module/web/bridge-router.js';
import { migrateDownAll, migrateLatest } from '../../module/adapters/migrator.js';
import type { HookDefinition } from '../../hooks/hook-types.js';
import { describeEachEngine } from '../support/engines.js';

const SECRET = 'router-test-secret-0123456789abcdef0123456789';

function signed(endpoint: string, body: string, o: { secret?: string; ts?: number; nonce?: string } = {}) {
  const timestamp = o.ts ?? Math.floor(Date.now() / 1000);
  const nonce = o.nonce ?? newNonce();
  return {
    nonce,
    headers: {
      'content-type': 'application/json',
      'x-overusage-timestamp': String(timestamp),
      'x-overusage-nonce': nonce,
      'x-overusage-signature': requestSignature(o.secret ?? SECRET, { timestamp, nonce, endpoint, body }),
    },
  };
}

/** The answer is signed for this request's nonce, with the shared secret. */
function answerIsSigned(res: request.Response, requestNonce: string): boolean {
  const ts = Number(res.headers['x-overusage-timestamp']);
  const nonce = String(res.headers['x-overusage-nonce'] ?? '');
  return (
    res.headers['x-overusage-signature'] ===
    answerSignature(SECRET, { timestamp: ts, requestNonce, nonce, status: res.status, body: res.text })
  );
}

describeEachEngine('the bridge router (/bridge/v1)', ({ db }) => {
  let knex: Knex;
  let store: BridgeStore;
  let relay: BridgeRelay;
  let app: express.Express;
  const hooks: HookDefinition[] = [];
  const outputs: Array<Record<string, unknown>> = [];

  const addon: BridgedAddon = {
    templatesDir: undefined,
    activate: () => ({ status: 'success', description: 'active' }),
    // slower than the relay's poll (200 ms): deleting the data takes a while
    deactivate: () =>
      new Promise((r) => setTimeout(() => r({ status: 'success', description: 'inactive' }), 500)),
    upgrade: () => undefined,
    output: (vars) => (outputs.push(vars), `<p>admin ${String(vars.adminid)}</p>`),
    clientarea: () => ({ pagetitle: 'x', breadcrumb: {}, templatefile: 'missing' }),
    download: (vars) => ({
      filename: 'f.csv',
      contentType: 'text/csv; charset=utf-8',
      body: `for ${String(vars.adminid ?? vars.clientid)}`,
    }),
  };

  before(async () => {
    knex = db().knex;
    await migrateDownAll(knex);
    await migrateLatest(knex);
    store = createBridgeStore(knex);
    relay = createBridgeRelay({ store, log: silentLogger, pollMs: 200, idleTimeoutMs: 2000 });
    app = express();
    app.use(
      createBridgeRouter({ secret: SECRET, store, relay, hooks: () => hooks, addon, log: silentLogger }),
    );
  });

  after(() => relay?.close()); // no relay when the engine's suite was skipped (no MariaDB)

  const post = (endpoint: string, payload: unknown, o: Parameters<typeof signed>[2] = {}) => {
    const body = JSON.stringify(payload);
    const s = signed(endpoint, body, o);
    return { nonce: s.nonce, req: request(app).post(`/bridge/v1/${endpoint}`).set(s.headers).send(body) };
  };

  it('dispatches a signed hook to the handlers and signs the answer for that request', async () => {
    hooks.push({
      name: 'EmailPreSend',
      priority: 10,
      handler: (v) => (v.relid === 9 ? { abortsend: true } : undefined),
    });
    const { nonce, req } = post('hook', {
      hook: 'EmailPreSend',
      vars: { messagename: 'Invoice Payment Reminder', relid: 9 },
    });
    const res = await req;
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      status: 'done',
      answer: { kind: 'merge', values: { abortsend: true } },
    });
    expect(answerIsSigned(res, nonce)).to.equal(true);
  });

  it("hands a replayed hook's firedAt to the handlers as a time; one that is not a time, or is after now, is not believed", async () => {
    const seen: Array<string | undefined> = [];
    hooks.push({
      name: 'InvoiceRefunded',
      priority: 10,
      handler: (_v, c) => void seen.push(c?.firedAt?.toUTC().toISO() ?? undefined),
    });
    const deliver = async (replay?: unknown) =>
      (
        await post('hook', { hook: 'InvoiceRefunded', vars: { invoiceid: 5 }, ...(replay ? { replay } : {}) })
          .req
      ).status;
    // as the composition root runs it (module/index.ts): an unreadable time throws instead of being invalid
    const throwing = Settings.throwOnInvalid;
    Settings.throwOnInvalid = true;
    try {
      // live; kept and delivered later (the bridge's UTC stamp); not a time; a day ahead of this machine
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 19) + 'Z';
      expect(await deliver()).to.equal(200);
      expect(await deliver({ firedAt: '2013-06-22T07:00:00Z' })).to.equal(200);
      expect(await deliver({ firedAt: 'yesterday' })).to.equal(200);
      const before = Date.now();
      expect(await deliver({ firedAt: tomorrow })).to.equal(200);
      expect(seen.slice(0, 3)).to.deep.equal([undefined, '2013-06-22T07:00:00.000Z', undefined]);
      // taken as now: not later than the request's answer
      expect(Date.parse(seen[3]!)).to.be.within(before, Date.now());
    } finally {
      Settings.throwOnInvalid = throwing;
    }
  });

  it('refuses a request without signature headers, or signed with another secret, and does not sign the refusal', async () => {
    const none = await request(app)
      .post('/bridge/v1/hook')
      .set('content-type', 'application/json')
      .send('{"hook":"AfterCronJob"}');
    expect(none.status).to.equal(401);
    expect(none.body.code).to.equal('bad_signature');
    const { req } = post(
      'hook',
      { hook: 'AfterCronJob' },
      { secret: 'another-secret-0123456789abcdef0123456789' },
    );
    const res = await req;
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal('bad_signature');
    expect(res.headers['x-overusage-signature']).to.equal(undefined);
  });

  it('refuses a timestamp more than 5 minutes away, either way', async () => {
    for (const skew of [-301, 301]) {
      const res = await post('hook', { hook: 'AfterCronJob' }, { ts: Math.floor(Date.now() / 1000) + skew })
        .req;
      expect(res.status).to.equal(401);
      expect(res.body.code).to.equal('stale');
    }
    const ok = await post(
      'hook',
      { hook: 'InvoicePaid', vars: {} },
      { ts: Math.floor(Date.now() / 1000) - 290 },
    ).req;
    expect(ok.status).to.equal(200);
  });

  it('accepts a nonce once: the same signed request again is a replay', async () => {
    const body = JSON.stringify({ hook: 'InvoicePaid', vars: { invoiceid: 1 } });
    const s = signed('hook', body);
    expect((await request(app).post('/bridge/v1/hook').set(s.headers).send(body)).status).to.equal(200);
    const again = await request(app).post('/bridge/v1/hook').set(s.headers).send(body);
    expect(again.status).to.equal(401);
    expect(again.body.code).to.equal('replayed');
    expect(answerIsSigned(again, s.nonce)).to.equal(true);
  });

  it('checks the signature over the exact bytes and the endpoint', async () => {
    const body = JSON.stringify({ hook: 'InvoicePaid', vars: { invoiceid: 1 } });
    const s = signed('hook', body);
    const moved = await request(app).post('/bridge/v1/activate').set(s.headers).send(body);
    expect(moved.status).to.equal(401);
    const spaced = await request(app).post('/bridge/v1/hook').set(s.headers).send(body.replace(':', ': '));
    expect(spaced.status).to.equal(401);
  });

  it('answers 4xx with a code for bad input, never a 500', async () => {
    expect((await post('nonsense', {}).req).status).to.equal(404);
    const s = signed('hook', 'not json');
    const notJson = await request(app).post('/bridge/v1/hook').set(s.headers).send('not json');
    expect(notJson.status).to.equal(400);
    expect(notJson.body.code).to.equal('bad_request');
    expect((await post('hook', { hook: '../etc' }).req).body.code).to.equal('bad_request');
    expect((await post('results', { conversation: 'x', results: [] }).req).status).to.equal(400);
    expect((await post('report', { results: [{ key: 'w-1', status: 'maybe' }] }).req).status).to.equal(400);
    expect((await request(app).get('/bridge/v1/hook')).status).to.equal(405);
  });

  it('takes the admin from a token the bridge signed, never from the request', async () => {
    const token = mintIdentityToken(SECRET, { sub: 'admin', id: 7 }, Date.now());
    const res = await post('output', {
      identity: token,
      request: { method: 'GET', query: { adminid: '1' }, body: {} },
      modulelink: 'addonmodules.php?module=overusage',
    }).req;
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'done', answer: { html: '<p>admin 7</p>' } });
    expect(outputs.at(-1)).to.deep.include({ adminid: 7 });
  });

  it('refuses a missing, forged, expired or client token on the admin tab', async () => {
    const now = Date.now();
    const [payload, sig] = mintIdentityToken(SECRET, { sub: 'admin', id: 7 }, now).split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({
        v: 1,
        sub: 'admin',
        id: 1,
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000) + 300,
      }),
    ).toString('base64url');
    for (const identity of [
      undefined,
      `${forgedPayload}.${sig}`,
      `${payload}.${'A'.repeat(43)}`,
      mintIdentityToken('another-secret-0123456789abcdef0123456789', { sub: 'admin', id: 7 }, now),
      mintIdentityToken(SECRET, { sub: 'admin', id: 7 }, now - 10 * 60_000),
      mintIdentityToken(SECRET, { sub: 'client', id: 7 }, now),
    ]) {
      const res = await post('output', { identity, request: {} }).req;
      expect(res.status, String(identity)).to.equal(401);
      expect(res.body.code).to.equal('bad_identity');
    }
  });

  it("hands WHMCS's word on itself (its form token, where it serves the assets, downloads through its page) to the admin tab", async () => {
    const token = mintIdentityToken(SECRET, { sub: 'admin', id: 7 }, Date.now());
    const host = {
      csrf: { name: 'token', value: 'a'.repeat(40) },
      assets: { base: '../modules/addons/overusage/assets', version: '0.1.0' },
      downloads: 'host',
    };
    const res = await post('output', {
      identity: token,
      request: { method: 'GET', query: {}, body: {} },
      ...host,
    }).req;
    expect(res.status).to.equal(200);
    expect(outputs.at(-1)).to.deep.include({ adminid: 7, ...host });
  });

  it('download: the file for the admin or the client the token names, and a missing line said in words', async () => {
    const now = Date.now();
    for (const [sub, id] of [
      ['admin', 7],
      ['client', 12],
    ] as const) {
      const res = await post('download', {
        identity: mintIdentityToken(SECRET, { sub, id }, now),
        request: { method: 'GET', query: { download: 'line', line: '1', clientid: '999' }, body: {} },
      }).req;
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        status: 'done',
        answer: { filename: 'f.csv', contentType: 'text/csv; charset=utf-8', body: `for ${id}` },
      });
    }
    const refused = await post('download', { identity: 'nope', request: {} }).req;
    expect(refused.status).to.equal(401);
    expect(refused.body.code).to.equal('bad_identity');
    addon.download = () => {
      throw new ModuleError('NOT_FOUND', 'line 5 does not exist');
    };
    const missing = await post('download', {
      identity: mintIdentityToken(SECRET, { sub: 'client', id: 12 }, now),
      request: { method: 'GET', query: { download: 'line', line: '5' }, body: {} },
    }).req;
    expect(missing.body).to.deep.equal({ status: 'done', answer: { error: 'line 5 does not exist' } });
  });

  it('relays lifecycle calls to the addon definition', async () => {
    expect((await post('activate', []).req).body).to.deep.equal({
      status: 'done',
      answer: { status: 'success', description: 'active' },
    });
    expect((await post('upgrade', { version: '0.9' }).req).body).to.deep.equal({
      status: 'done',
      answer: { status: 'success', description: 'Overusage is up to date.' },
    });
    // deactivation may drop the tables a follow-up poll would need: it is answered in one exchange, however long it takes
    expect((await post('deactivate', {}).req).body).to.deep.equal({
      status: 'done',
      answer: { status: 'success', description: 'inactive' },
    });
  });

  it('forgets nonces once their timestamps would be refused anyway', async () => {
    await store.rememberNonce('n'.repeat(32), Date.now() - 20 * 60_000);
    expect(await store.pruneNonces(Date.now() - 10 * 60_000)).to.be.greaterThan(0);
    expect(await store.rememberNonce('n'.repeat(32), Date.now())).to.equal(true);
    expect(await store.rememberNonce('n'.repeat(32), Date.now())).to.equal(false);
  });
});
