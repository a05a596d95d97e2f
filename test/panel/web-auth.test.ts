import { expect } from 'chai';
import request from 'supertest';
import { setClientPassword } from '../../panel/web/passwords.js';
import { describeEachEngine } from '../support/engines.js';
import { ZONE } from './support.js';
import {
  ADMIN,
  ANN,
  JAN,
  adminLogin,
  buildWeb,
  clientLogin,
  tokenOf,
  type WebFixture,
} from './web-support.js';

const cookieOf = (res: request.Response, name: string): string | null => {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const line = set.find((c) => c.startsWith(`${name}=`));
  return line ? line.slice(name.length + 1).split(';')[0]! : null;
};

/** Logs in and answers the raw session cookie too. */
async function loginWithCookie(w: WebFixture, who = ANN) {
  const agent = request.agent(w.app);
  const form = await agent.get('/login.php').expect(200);
  const res = await agent
    .post('/dologin.php')
    .type('form')
    .send({ token: tokenOf(form.text), username: who.email, password: who.password })
    .expect(303);
  return { agent, res, cookie: cookieOf(res, 'ou_client')! };
}

describeEachEngine('panel pages: login, sessions and CSRF', ({ db }) => {
  let w: WebFixture;
  beforeEach(async () => {
    w = await buildWeb(db().knex);
  });

  it('logs a client in with email and password, in any letter case, and lands on the client area', async () => {
    const agent = request.agent(w.app);
    const form = await agent.get('/login.php').expect(200);
    expect(form.text).to.include('name="username"');
    const res = await agent
      .post('/dologin.php')
      .type('form')
      .send({ token: tokenOf(form.text), username: 'ANN@Example.net', password: ANN.password })
      .expect(303);
    expect(res.headers.location).to.equal('/clientarea.php');
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text).to.include('Ann Admin');
    const activity = await w
      .knex('tblactivitylog')
      .where('description', 'like', 'Client Logged In%')
      .select('userid', 'user');
    expect(activity.map((r) => [Number(r.userid), r.user])).to.deep.equal([[w.story.clientId, 'Client']]);
  });

  it('sets the session cookie httpOnly, SameSite=Lax, with an expiry, and a new CSRF token at login', async () => {
    const agent = request.agent(w.app);
    const form = await agent.get('/login.php').expect(200);
    const visitorToken = tokenOf(form.text);
    const res = await agent
      .post('/dologin.php')
      .type('form')
      .send({ token: visitorToken, username: ANN.email, password: ANN.password })
      .expect(303);
    const line = ([] as string[])
      .concat(res.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('ou_client='))!;
    expect(line)
      .to.match(/HttpOnly/i)
      .and.match(/SameSite=Lax/i)
      .and.match(/Path=\//)
      .and.match(/Max-Age=28800/);
    expect(line).to.not.match(/Secure/);
    const home = await agent.get('/clientarea.php').expect(200);
    expect(tokenOf(home.text)).to.not.equal(visitorToken);
  });

  it('answers the same generic message for a wrong password and for an unknown email', async () => {
    for (const [email, password] of [
      [ANN.email, 'wrong-password'],
      ['nobody@example.net', ANN.password],
      [ANN.email, ''],
    ] as const) {
      const agent = request.agent(w.app);
      const form = await agent.get('/login.php').expect(200);
      const res = await agent
        .post('/dologin.php')
        .type('form')
        .send({ token: tokenOf(form.text), username: email, password })
        .expect(401);
      expect(res.text).to.include('Login Details Incorrect. Please try again.');
      expect(res.text).to.not.include('ann-password');
      await agent.get('/clientarea.php').expect(303).expect('location', '/login.php?goto=clientarea.php');
    }
  });

  it('sends a visitor to the login page and back to the page they asked for', async () => {
    const agent = request.agent(w.app);
    const first = await agent.get('/clientarea.php?action=services').expect(303);
    expect(first.headers.location).to.equal('/login.php?goto=clientarea.php%3Faction%3Dservices');
    const form = await agent.get(first.headers.location!).expect(200);
    expect(form.text).to.include('value="clientarea.php?action=services"');
    const res = await agent
      .post('/dologin.php')
      .type('form')
      .send({
        token: tokenOf(form.text),
        username: ANN.email,
        password: ANN.password,
        goto: 'clientarea.php?action=services',
      })
      .expect(303);
    expect(res.headers.location).to.equal('/clientarea.php?action=services');
  });

  it('never redirects outside the panel after a login', async () => {
    const agent = request.agent(w.app);
    const form = await agent.get('/login.php?goto=https://evil.example/').expect(200);
    expect(form.text).to.not.include('evil.example');
    const res = await agent
      .post('/dologin.php')
      .type('form')
      .send({
        token: tokenOf(form.text),
        username: ANN.email,
        password: ANN.password,
        goto: '//evil.example/x.php',
      })
      .expect(303);
    expect(res.headers.location).to.equal('/clientarea.php');
  });

  it('logs out: the cookie is cleared, and the old cookie no longer works', async () => {
    const { agent, cookie } = await loginWithCookie(w);
    const home = await agent.get('/clientarea.php').expect(200);
    const out = await agent
      .post('/logout.php')
      .type('form')
      .send({ token: tokenOf(home.text) })
      .expect(303);
    expect(out.headers.location).to.equal('/login.php');
    expect(
      ([] as string[]).concat(out.headers['set-cookie'] ?? []).some((c) => /^ou_client=;/.test(c)),
    ).to.equal(true);
    await agent.get('/clientarea.php').expect(303);
    await request(w.app).get('/clientarea.php').set('Cookie', `ou_client=${cookie}`).expect(303);
    const login = await agent.get('/login.php').expect(200);
    expect(login.text).to.include('You have been logged out.');
  });

  it("refuses a POST without the CSRF token, or with another session's token, with 403", async () => {
    const { agent } = await loginWithCookie(w);
    const other = await clientLogin(w.app, JAN);
    await agent.post('/logout.php').type('form').send({}).expect(403);
    await agent.post('/logout.php').type('form').send({ token: other.token }).expect(403);
    await agent.post('/logout.php').type('form').send({ token: 'x' }).expect(403);
    await agent.get('/clientarea.php').expect(200);
    // the login form needs one too: a cross-site login is refused before the password is checked
    await request(w.app)
      .post('/dologin.php')
      .type('form')
      .send({ username: ANN.email, password: ANN.password })
      .expect(403);
    await request(w.app)
      .post('/admin/dologin.php')
      .type('form')
      .send({ username: ADMIN.username, password: ADMIN.password })
      .expect(403);
  });

  it("accepts the token in the X-CSRF-Token header (an addon's scripts)", async () => {
    const { agent } = await loginWithCookie(w);
    const home = await agent.get('/clientarea.php').expect(200);
    await agent.post('/logout.php').set('X-CSRF-Token', tokenOf(home.text)).expect(303);
  });

  it('rejects a tampered cookie and a client cookie offered as an admin one', async () => {
    const { cookie } = await loginWithCookie(w);
    const [payload, mac] = cookie.split('.');
    const data = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const forged = `${Buffer.from(JSON.stringify({ ...data, uid: w.story.dutchClientId })).toString('base64url')}.${mac}`;
    await request(w.app).get('/clientarea.php').set('Cookie', `ou_client=${forged}`).expect(303);
    await request(w.app).get('/admin/index.php').set('Cookie', `ou_admin=${cookie}`).expect(303);
    await request(w.app).get('/clientarea.php').set('Cookie', `ou_client=${cookie}`).expect(200);
  });

  it('ends a session at its expiry, on real time rather than the billing clock', async () => {
    let now = Date.UTC(2030, 0, 1);
    const web = await buildWeb(db().knex, { web: { now: () => now, sessionTtlSeconds: 600 } });
    const { agent } = await clientLogin(web.app);
    web.clock.advance({ days: 90 });
    await agent.get('/clientarea.php').expect(200);
    now += 601_000;
    await agent.get('/clientarea.php').expect(303);
  });

  it("ends a client's sessions when the password changes", async () => {
    const { agent } = await clientLogin(w.app);
    await setClientPassword(w.knex, w.story.clientId, 'a-new-password', w.clock.now(), ZONE);
    await agent.get('/clientarea.php').expect(303);
    await clientLogin(w.app, { email: ANN.email, password: 'a-new-password' });
  });

  it('logs an admin in and out; a wrong password or a disabled admin gets the generic message', async () => {
    const { agent, token } = await adminLogin(w.app);
    const dash = await agent.get('/admin/').expect(200);
    expect(dash.text).to.include('Dashboard').and.include('admin');
    await agent
      .post('/admin/logout.php')
      .type('form')
      .send({ token })
      .expect(303)
      .expect('location', '/admin/login.php');
    await agent.get('/admin/index.php').expect(303).expect('location', '/admin/login.php?goto=index.php');

    const bad = request.agent(w.app);
    const form = await bad.get('/admin/login.php').expect(200);
    const res = await bad
      .post('/admin/dologin.php')
      .type('form')
      .send({ token: tokenOf(form.text), username: ADMIN.username, password: 'nope' })
      .expect(401);
    expect(res.text).to.include('Login Details Incorrect. Please try again.');
    const failed = await w
      .knex('tblactivitylog')
      .where('description', 'like', 'Failed Admin Login Attempt%')
      .select('description');
    expect(failed.map((r) => r.description)).to.deep.equal(['Failed Admin Login Attempt - Username: admin']);

    const { agent: a2 } = await adminLogin(w.app);
    await w.knex('tbladmins').where({ id: w.adminId }).update({ disabled: 1 });
    await a2.get('/admin/index.php').expect(303);
    const form2 = await bad.get('/admin/login.php').expect(200);
    await bad
      .post('/admin/dologin.php')
      .type('form')
      .send({ token: tokenOf(form2.text), username: ADMIN.username, password: ADMIN.password })
      .expect(401);
  });

  it('keeps the admin and client sessions apart', async () => {
    const { agent } = await clientLogin(w.app);
    await agent.get('/admin/index.php').expect(303);
    const admin = await adminLogin(w.app);
    await admin.agent.get('/clientarea.php').expect(303);
  });

  it('rate-limits failed logins per address; successful ones do not count', async () => {
    const web = await buildWeb(db().knex, { web: { loginRateLimit: { windowMs: 60_000, limit: 3 } } });
    await clientLogin(web.app);
    const agent = request.agent(web.app);
    const form = await agent.get('/login.php').expect(200);
    const attempt = () =>
      agent
        .post('/dologin.php')
        .type('form')
        .send({ token: tokenOf(form.text), username: ANN.email, password: 'wrong' });
    for (let i = 0; i < 3; i++) await attempt().expect(401);
    const limited = await attempt().expect(429);
    expect(limited.text).to.equal('Too many login attempts. Please try again later.');
    // even the right password waits for the window to pass
    await agent
      .post('/dologin.php')
      .type('form')
      .send({ token: tokenOf(form.text), username: ANN.email, password: ANN.password })
      .expect(429);
    // the admin login has its own counter
    await adminLogin(web.app);
  });

  it('sends security headers on the pages', async () => {
    const res = await request(w.app).get('/login.php').expect(200);
    expect(res.headers['content-security-policy'])
      .to.include("default-src 'self'")
      .and.include("frame-ancestors 'self'")
      .and.include("script-src 'self'");
    expect(res.headers['content-security-policy']).to.not.include('upgrade-insecure-requests');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-frame-options']).to.equal('SAMEORIGIN');
    expect(res.headers['referrer-policy']).to.equal('no-referrer');
    expect(res.headers['cache-control']).to.equal('no-store');
    const admin = await request(w.app).get('/admin/login.php').expect(200);
    expect(admin.headers['content-security-policy']).to.include("default-src 'self'");
    const css = await request(w.app).get('/assets/panel.css').expect(200);
    expect(css.headers['content-type']).to.match(/text\/css/);
  });

  it('leaves requests for other routes alone (the External API keeps its own answers)', async () => {
    const res = await request(w.app)
      .post('/includes/api.php')
      .type('form')
      .send({ action: 'GetInvoice' })
      .expect(403);
    expect(res.body).to.deep.equal({ result: 'error', message: 'Authentication Failed' });
    expect(res.headers['content-security-policy']).to.equal(undefined);
  });
});

describe('panel pages: options', () => {
  it('refuses a session secret shorter than 32 bytes', async () => {
    const { createPanelWeb } = await import('../../panel/index.js');
    expect(() => createPanelWeb({ panel: {} as never, sessionSecret: 'short' })).to.throw(
      /at least 32 bytes/,
    );
  });
});
