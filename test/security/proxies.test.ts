import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createAdmin, createApiCredential, createPanelWeb } from '../../panel/index.js';
import { clientAddress, parseTrustProxy } from '../../module/web/client-address.js';
import type { IncomingMessage } from 'node:http';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, ZONE, type PanelFixture } from '../panel/support.js';
import { tokenOf } from '../support/web-story.js';

const fakeReq = (remote: string, xff?: string) =>
  ({
    socket: { remoteAddress: remote },
    connection: { remoteAddress: remote },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage;

describe('security: the client address behind proxies', () => {
  it("is the right-most address no trusted proxy wrote, counted in hops or by the proxies' addresses", () => {
    // the review's request: a client writes 10.1.2.3 itself; the proxy (127.0.0.1) appends 6.6.6.6
    const req = fakeReq('127.0.0.1', '10.1.2.3, 6.6.6.6');
    expect(clientAddress(req, false)).to.equal('127.0.0.1');
    expect(clientAddress(req, 1)).to.equal('6.6.6.6');
    expect(clientAddress(req, ['127.0.0.1'])).to.equal('6.6.6.6');
    expect(clientAddress(req, ['loopback'])).to.equal('6.6.6.6');
    // two proxies: 192.0.2.9 (the CDN) and the local one
    const two = fakeReq('127.0.0.1', '10.1.2.3, 6.6.6.6, 192.0.2.9');
    expect(clientAddress(two, 2)).to.equal('6.6.6.6');
    expect(clientAddress(two, ['127.0.0.1', '192.0.2.0/24'])).to.equal('6.6.6.6');
    // more hops trusted than there are: the left-most, never past it
    expect(clientAddress(fakeReq('127.0.0.1', '6.6.6.6'), 5)).to.equal('6.6.6.6');
    expect(clientAddress(fakeReq('::ffff:127.0.0.1'), false)).to.equal('127.0.0.1');
  });

  it('reads OVERUSAGE_TRUST_PROXY as a hop count or a list, and refuses an address it cannot read', () => {
    expect(parseTrustProxy('2')).to.equal(2);
    expect(parseTrustProxy('10.0.0.1, 10.0.0.0/8 loopback')).to.deep.equal([
      '10.0.0.1',
      '10.0.0.0/8',
      'loopback',
    ]);
    expect(parseTrustProxy('false', ['loopback'])).to.equal(false);
    expect(parseTrustProxy(undefined, ['loopback'])).to.deep.equal(['loopback']);
    expect(() => parseTrustProxy('not-an-ip')).to.throw();
  });
});

describeEachEngine('security: the reference panel behind a proxy', ({ db }) => {
  let f: PanelFixture;
  let cred: { identifier: string; secret: string };
  let now = Date.parse('2030-01-01T00:00:00Z');
  let app: express.Express;

  before(async () => {
    f = await buildPanel(db().knex, {
      start: '2025-01-01T08:00:00Z',
      trustProxy: 1,
      loginLockout: { now: () => now },
      settings: { APIAllowedIPs: '10.1.2.3' },
    });
    const adminId = await createAdmin(
      db().knex,
      { username: 'admin', password: 'admin-password' },
      f.clock.now(),
      ZONE,
    );
    cred = await createApiCredential(db().knex, { adminId }, f.clock.now(), ZONE);
    app = express()
      .use(f.panel.apiRouter)
      .use(
        createPanelWeb({
          panel: f.panel,
          sessionSecret: 'proxies-test-session-secret-0123456789abcdef',
          loginRateLimit: { windowMs: 60_000, limit: 1000 },
        }),
      );
  });

  const api = (xff: string, body: Record<string, string>) =>
    request(app)
      .post('/includes/api.php')
      .set('X-Forwarded-For', xff)
      .type('form')
      .send({ responsetype: 'json', ...body });
  const activity = async () =>
    (await db().knex('tblactivitylog').orderBy('id')).map((r) => String(r.description));

  it("refuses a client that writes an allowed address into X-Forwarded-For itself (the allow-list reads the proxy's entry)", async () => {
    const spoofed = await api('10.1.2.3, 6.6.6.6', {
      action: 'GetConfigurationValue',
      setting: 'Language',
      ...cred,
    });
    expect(spoofed.status).to.equal(403);
    expect(spoofed.body).to.deep.equal({ result: 'error', message: 'Invalid IP 6.6.6.6' });
    const real = await api('10.1.2.3', { action: 'GetConfigurationValue', setting: 'Language', ...cred });
    expect(real.body).to.include({ result: 'success', value: 'english' });
  });

  it('locks API credentials out after 5 failures with a doubling back-off, logs each lock, and lets the right secret in once it ends', async () => {
    const wrong = {
      action: 'GetConfigurationValue',
      setting: 'Language',
      identifier: cred.identifier,
      secret: 'wrong',
    };
    const before = (await activity()).length;
    for (let i = 0; i < 4; i++) expect((await api('10.1.2.3', wrong)).status).to.equal(403);
    // the 5th failure starts a 30 s lock (by hand: base 30 s × 2^0)
    expect((await api('10.1.2.3', wrong)).body).to.deep.equal({
      result: 'error',
      message: 'Authentication Failed',
    });
    const locked = await api('10.1.2.3', { action: 'GetConfigurationValue', setting: 'Language', ...cred });
    expect(locked.status).to.equal(429);
    expect(locked.body.message).to.equal('Too many failed login attempts. Try again in 30 seconds.');
    // 35 more tries while locked: refused unchecked, nothing more logged
    for (let i = 0; i < 35; i++) expect((await api('10.1.2.3', wrong)).status).to.equal(429);
    const logged = (await activity()).slice(before);
    expect(logged).to.deep.equal([
      `API authentication locked for 30 seconds after repeated failures - Identifier: ${cred.identifier}`,
    ]);
    // 31 s later: one more failure doubles the lock to 60 s (by hand: 30 s × 2^1)
    now += 31_000;
    expect((await api('10.1.2.3', wrong)).status).to.equal(403);
    expect(
      (await api('10.1.2.3', { action: 'GetConfigurationValue', setting: 'Language', ...cred })).body.message,
    ).to.equal('Too many failed login attempts. Try again in 60 seconds.');
    now += 61_000;
    expect(
      (await api('10.1.2.3', { action: 'GetConfigurationValue', setting: 'Language', ...cred })).body,
    ).to.include({ result: 'success' });
  });

  it('locks the admin login out after 5 wrong passwords from one address, with an activity log entry', async () => {
    const agent = request.agent(app);
    const form = await agent.get('/admin/login.php').set('X-Forwarded-For', '6.6.6.7').expect(200);
    const csrf = tokenOf(form.text);
    const attempt = (password: string) =>
      agent
        .post('/admin/dologin.php')
        .set('X-Forwarded-For', '6.6.6.7')
        .type('form')
        .send({ token: csrf, username: 'admin', password });
    for (let i = 0; i < 5; i++) expect((await attempt('guess')).status).to.equal(401);
    const locked = await attempt('admin-password');
    expect(locked.status).to.equal(429);
    expect(locked.text).to.include('Too many failed login attempts. Try again in 30 seconds.');
    const rows = await db().knex('tblactivitylog').where('description', 'like', 'Admin login locked%');
    expect(rows.map((r) => [r.description, r.ipaddr])).to.deep.equal([
      ['Admin login locked for 30 seconds after repeated failures - Username: admin', '6.6.6.7'],
    ]);
    now += 31_000;
    expect((await attempt('admin-password')).status).to.equal(303);
  });
});
