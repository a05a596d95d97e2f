import { expect } from 'chai';
import request from 'supertest';
import { createApiCredential } from '../../panel/index.js';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { ZONE } from './support.js';
import { ANN, JAN, buildWeb, tokenOf, type WebFixture } from './web-support.js';

/**
 * One failed-login count per email address for the client area's login page and ValidateLogin
 * (issue 19; panel/core/client-login.ts): WHMCS bans after failed logins, and a lock one door
 * ignored would be no lock. 3 wrong passwords (LOGIN_THRESHOLD) on either, or mixed, lock the
 * address on both for InvalidLoginBanLength = 15 minutes (WHMCS's default): 15 × 60 = 900 s.
 * ValidateLogin goes over /includes/api.php with php-cli's http_build_query bodies; the page with
 * its CSRF token, as a browser posts it. The clock stands at 09:30 UTC on 20 January 2025.
 */
describeEachEngine('client login lockout shared by dologin.php and ValidateLogin (issue 19)', ({ db }) => {
  let w: WebFixture;
  let credential: { identifier: string; secret: string };

  beforeEach(async function () {
    needPhp(this);
    w = await buildWeb(db().knex);
    credential = await createApiCredential(
      w.knex,
      { adminId: w.adminId, description: 'tests' },
      w.clock.now(),
      ZONE,
    );
  });

  const validate = async (email: string, password2: string) => {
    const body = phpBuildQuery({
      action: 'ValidateLogin',
      email,
      password2,
      identifier: credential.identifier,
      secret: credential.secret,
      responsetype: 'json',
    });
    const res = await request(w.app).post('/includes/api.php').type('form').send(body).expect(200);
    return res.body as { result: string; message?: string; userid?: number };
  };
  /** a login on the page from a fresh browser: its status and the message it shows */
  const page = async (email: string, password: string) => {
    const agent = request.agent(w.app);
    const form = await agent.get('/login.php').expect(200);
    const res = await agent
      .post('/dologin.php')
      .type('form')
      .send({ token: tokenOf(form.text), username: email, password });
    const signedIn = res.status === 303 && (await agent.get('/clientarea.php')).status === 200;
    return { status: res.status, signedIn, text: res.text };
  };
  const INVALID = { result: 'error', message: 'Email or Password Invalid' };
  const wait = (seconds: number) => `Too many failed login attempts. Try again in ${seconds} seconds.`;

  it('3 wrong passwords through ValidateLogin lock the login page for that address, the right password included, for 15 minutes', async () => {
    for (let i = 0; i < 3; i++) expect(await validate(ANN.email, `guess ${i}`)).to.deep.equal(INVALID);
    const locked = await page(ANN.email, ANN.password);
    expect(locked.status).to.equal(429);
    expect(locked.signedIn).to.equal(false);
    expect(locked.text).to.include(wait(900));
    // the address in another case is the same address; Jan's is not touched
    expect((await page('Ann@EXAMPLE.net', ANN.password)).status).to.equal(429);
    expect(await page(JAN.email, JAN.password)).to.include({ status: 303, signedIn: true });
    w.clock.advance({ minutes: 14, seconds: 59 });
    expect((await page(ANN.email, ANN.password)).text).to.include(wait(1));
    w.clock.advance({ seconds: 1 });
    expect(await page(ANN.email, ANN.password)).to.include({ status: 303, signedIn: true });
  });

  it('3 wrong passwords on the login page lock ValidateLogin for that address, audited once', async () => {
    for (let i = 0; i < 3; i++) expect((await page(JAN.email, `guess ${i}`)).status).to.equal(401);
    expect(await validate(JAN.email, JAN.password)).to.deep.equal({ result: 'error', message: wait(900) });
    expect(await validate(ANN.email, ANN.password)).to.include({
      result: 'success',
      userid: w.story.clientId,
    });
    const log = await w
      .knex('tblactivitylog')
      .where('description', 'like', '%locked for%')
      .select('description', 'userid');
    expect(log.map((r) => [r.description, Number(r.userid)])).to.deep.equal([
      [
        'Client area login locked for 15 minutes after 3 failed login attempts - Email: jan@example.be',
        w.story.dutchClientId,
      ],
    ]);
    w.clock.advance({ minutes: 15 });
    expect(await validate(JAN.email, JAN.password)).to.include({
      result: 'success',
      userid: w.story.dutchClientId,
    });
  });

  it('failures on both doors add up: 2 through ValidateLogin and 1 on the page lock both; a success on either starts the count again', async () => {
    // a success between failures clears the count: 2 + success + 2 does not lock
    await validate(ANN.email, 'guess 1');
    await validate(ANN.email, 'guess 2');
    expect(await page(ANN.email, ANN.password)).to.include({ status: 303, signedIn: true });
    await validate(ANN.email, 'guess 3');
    expect((await page(ANN.email, 'guess 4')).status).to.equal(401);
    expect(await validate(ANN.email, ANN.password)).to.include({ result: 'success' });
    // now 2 + 1 without a success between: locked on both
    await validate(ANN.email, 'guess 5');
    await validate(ANN.email, 'guess 6');
    expect((await page(ANN.email, 'guess 7')).status).to.equal(401);
    expect(await validate(ANN.email, ANN.password)).to.deep.equal({ result: 'error', message: wait(900) });
    expect((await page(ANN.email, ANN.password)).status).to.equal(429);
  });
});
