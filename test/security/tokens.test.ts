import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { silentLogger } from '../../module/adapters/logger.js';
import { createModule } from '../../module/index.js';
import { createAdmin } from '../../panel/index.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { TEST_SECRET_KEY } from '../support/module-fixture.js';
import { ZONE } from '../panel/support.js';
import { ADMIN, buildWebStory, login, type WebStory } from '../support/web-story.js';

const API = '/overusage/api/v1';

/**
 * Admin tokens (issue 18): a leaked tab token must not become permanent access, a token minted
 * for a client must leave the admin's name in the audit, and revocations must hold across a
 * restart. Every figure here is a token's life in seconds, read from the token itself.
 */
describeEachEngine('security: admin tokens', ({ db }) => {
  let s: WebStory;
  let admin: string;

  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex, { web: { adminsTtlMs: 0 } });
    admin = s.token('admin', s.adminId, 3600);
  });

  const parts = (token: string) => {
    const [, type, id, iat, exp, scope, by, bound] = token.split('.');
    return {
      type,
      id: Number(id),
      lifeSeconds: Number(exp) - Math.floor(Number(iat) / 1000),
      scope,
      by: Number(by),
      bound,
    };
  };
  const mint = (token: string, body: Record<string, unknown>) =>
    request(s.app).post(`${API}/admin/tokens`).set('Authorization', `Bearer ${token}`).send(body);
  const me = (token: string, cookie?: string) => {
    const r = request(s.app).get(`${API}/me`).set('Authorization', `Bearer ${token}`);
    return cookie ? r.set('Cookie', cookie) : r;
  };
  /** The admin tab in the reference panel, as the logged-in admin sees it, and its script's token. */
  async function tabToken(agent: request.Agent): Promise<string> {
    const page = await agent.get('/admin/addonmodules.php?module=overusage').expect(200);
    const m = /data-token="([^"]+)"/.exec(page.text);
    if (!m) throw new Error('no token in the tab');
    return m[1]!;
  }

  it("gives the admin tab's script a 10-minute token bound to the panel session, which reads and previews but never mints nor writes", async () => {
    const { agent } = await login(s.app, ADMIN);
    const tab = await tabToken(agent);
    // by hand: 10 minutes = 600 s, scope t, bound to the host session h
    expect(parts(tab)).to.deep.include({
      type: 'a',
      id: s.adminId,
      lifeSeconds: 600,
      scope: 't',
      bound: 'h',
    });
    expect((await me(tab)).status).to.equal(200);
    const minted = await mint(tab, { type: 'admin', id: s.adminId, ttlSeconds: 86400 });
    expect(minted.status, minted.text).to.equal(403);
    expect(minted.body.error.code).to.equal('NOT_ALLOWED');
    const write = await request(s.app)
      .put(`${API}/admin/settings`)
      .set('Authorization', `Bearer ${tab}`)
      .send({ sample_at: '22:00' });
    expect(write.status).to.equal(403);
    expect(
      (
        await request(s.app)
          .post(`${API}/admin/disputes/1/preview`)
          .set('Authorization', `Bearer ${tab}`)
          .send({ adjustment: { kind: 'precommit' } })
      ).status,
    ).to.not.equal(403);
  });

  it('mints only tokens no longer-lived than the minting one, for admins the panel has and has not disabled', async () => {
    const short = s.token('admin', s.adminId, 300);
    const longer = await mint(short, { type: 'client', id: s.ann.clientId, ttlSeconds: 3600 });
    expect(longer.status).to.equal(422);
    expect(longer.body.error.message).to.match(
      /cannot outlive the one that mints it \((299|300) seconds left\)/,
    );
    // by default: what the minting token has left when it is under 15 minutes
    const dflt = await mint(short, { type: 'client', id: s.ann.clientId });
    expect(dflt.status).to.equal(201);
    expect(parts(dflt.body.token).lifeSeconds).to.be.within(299, 300);
    expect((await mint(admin, { type: 'admin', id: 999 })).status).to.equal(404);
    const second = await createAdmin(
      db().knex,
      { username: 'second', password: 'second-password' },
      s.f.clock.now(),
      ZONE,
    );
    const forSecond = await mint(admin, { type: 'admin', id: second, ttlSeconds: 600 });
    expect(forSecond.status).to.equal(201);
    expect(parts(forSecond.body.token)).to.deep.include({
      id: second,
      by: s.adminId,
      lifeSeconds: 600,
      scope: 'f',
    });
    await db().knex('tbladmins').where({ id: second }).update({ disabled: 1 });
    expect((await mint(admin, { type: 'admin', id: second })).status).to.equal(404);
    expect((await mint(admin, { type: 'client', id: 424242 })).status).to.equal(404);
    // a read-only token mints nothing (it does not post); neither does a token minted read-only
    const ro = await mint(admin, { type: 'admin', id: s.adminId, readOnly: true });
    expect(parts(ro.body.token).scope).to.equal('r');
    expect((await mint(ro.body.token, { type: 'client', id: s.ann.clientId })).status).to.equal(403);
  });

  it('audits the minting of a client token, and what is done with it as "admin X acting as client Y"', async () => {
    const minted = await mint(admin, { type: 'client', id: s.jan.clientId, ttlSeconds: 600 });
    expect(minted.status).to.equal(201);
    const issued = await db()
      .knex('mod_overusage_audit')
      .where({ action: 'token.issued', entity_type: 'client', entity_id: String(s.jan.clientId) })
      .first();
    expect(issued).to.include({ actor_type: 'admin', actor_id: String(s.adminId) });
    const opened = await request(s.app)
      .post(`${API}/client/lines/${s.jan.lineId}/dispute`)
      .set('Authorization', `Bearer ${minted.body.token}`)
      .send({ reason: 'Opened by support on the phone' });
    expect(opened.status, opened.text).to.equal(201);
    const row = await db()
      .knex('mod_overusage_audit')
      .where({ action: 'dispute.opened', entity_id: String(opened.body.dispute.id) })
      .first();
    expect(row).to.include({
      actor_type: 'client',
      actor_id: String(s.jan.clientId),
      acting_admin_id: String(s.adminId),
    });
    const page = await request(s.app)
      .get('/overusage/embed/admin')
      .query({ a: 'audit' })
      .set('Authorization', `Bearer ${admin}`);
    expect(page.text).to.include(`admin ${s.adminId} acting as client ${s.jan.clientId}`);
  });

  it("revokes the tab's tokens when the admin logs out of the panel, and a revoked token stays refused after a restart", async () => {
    const { agent, token: csrf } = await login(s.app, ADMIN);
    const tab = await tabToken(agent);
    expect((await me(tab)).status).to.equal(200);
    await agent.post('/admin/logout.php').type('form').send({ token: csrf }).expect(303);
    const after = await me(tab);
    expect(after.status).to.equal(401);
    expect(after.body.error.message).to.equal('the access token was revoked (logout)');
    // a full token of the same admin (a script's) is not a session's: it still works
    expect((await me(admin)).status).to.equal(200);
    const loggedOut = s.token('client', s.ann.clientId);
    await request(s.app).post(`${API}/logout`).set('Authorization', `Bearer ${loggedOut}`).expect(204);

    // a restart: a new module on the same database, with nothing kept in memory
    const again = createModule({
      knex: db().knex,
      clock: s.f.clock,
      secretKey: TEST_SECRET_KEY,
      zone: 'Europe/Brussels',
      gatewayFor: () => new FakeMaster().gateway(),
      panel: s.f.panel.api,
      log: silentLogger,
      metering: { writer: 'inline' },
    });
    const app = express().use(again.web.router());
    expect((await request(app).get(`${API}/me`).set('Authorization', `Bearer ${tab}`)).status).to.equal(401);
    expect((await request(app).get(`${API}/me`).set('Authorization', `Bearer ${loggedOut}`)).status).to.equal(
      401,
    );
    expect((await request(app).get(`${API}/me`).set('Authorization', `Bearer ${admin}`)).status).to.equal(
      200,
    );
    await again.close();
  });

  it('refuses the tokens of a disabled admin, and those the admin minted, for good (kept in the database)', async () => {
    const third = await createAdmin(
      db().knex,
      { username: 'third', password: 'third-password' },
      s.f.clock.now(),
      ZONE,
    );
    const own = s.token('admin', third, 3600);
    const forAnn = (await mint(own, { type: 'client', id: s.ann.clientId, ttlSeconds: 600 })).body
      .token as string;
    expect((await me(forAnn)).status).to.equal(200);
    await db().knex('tbladmins').where({ id: third }).update({ disabled: 1 });
    const refused = await me(own);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.message).to.match(/disabled/);
    expect((await me(forAnn)).status).to.equal(401);
    const kept = await db()
      .knex('mod_overusage_token_revocations')
      .where({ kind: 'subject', subject_type: 'admin', subject_id: third })
      .first();
    expect(kept).to.include({ reason: 'admin disabled' });
    // enabled again: the old tokens stay revoked, a new one works
    await db().knex('tbladmins').where({ id: third }).update({ disabled: 0 });
    expect((await me(own)).status).to.equal(401);
    expect((await me(s.token('admin', third, 600))).status).to.equal(200);
  });

  it("binds the embed admin page's script token to that page's cookie", async () => {
    const agent = request.agent(s.app);
    await agent.get('/overusage/embed/admin').query({ token: admin }).expect(303);
    const page = await agent.get('/overusage/embed/admin').expect(200);
    const tab = /data-token="([^"]+)"/.exec(page.text)![1]!;
    expect(parts(tab).bound).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect((await agent.get(`${API}/me`).set('Authorization', `Bearer ${tab}`)).status).to.equal(200);
    const elsewhere = await me(tab);
    expect(elsewhere.status).to.equal(401);
    expect(elsewhere.body.error.message).to.match(/page session/);
  });
});
