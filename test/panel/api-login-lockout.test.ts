import { expect } from 'chai';
import { setClientPassword } from '../../panel/web/passwords.js';
import { addClient } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { buildPanel, serveApi, ZONE, type PanelFixture, type ServedApi } from './support.js';

type Answer = { result: string; message?: string; userid?: number };

/**
 * ValidateLogin's lockout (issue 19), over /includes/api.php on 127.0.0.1 with bodies from php-cli's
 * http_build_query: 3 wrong passwords for one email address lock it for InvalidLoginBanLength
 * minutes (15, WHMCS's default), the right password included; other addresses are not touched.
 * The clock is the panel's (injected), standing at 09:30 UTC on 20 January 2025.
 */
describeEachEngine('API: ValidateLogin lockout (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let served: ServedApi;
  let lotte: number;
  let siobhan: number;

  beforeEach(async function () {
    needPhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    served = await serveApi(f);
    const now = f.clock.now();
    lotte = await addClient(
      f.knex,
      { firstname: 'Lotte', lastname: 'Janssens', email: 'lotte@example.be', country: 'BE' },
      now,
      ZONE,
    );
    siobhan = await addClient(
      f.knex,
      { firstname: 'Siobhán', lastname: "O'Brien", email: 'siobhan@example.be', country: 'BE' },
      now,
      ZONE,
    );
    for (const id of [lotte, siobhan]) await setClientPassword(f.knex, id, 'correct horse', now, ZONE);
  });
  afterEach(async () => {
    await served?.close();
  });

  const body = (email: string, password2: string) =>
    phpBuildQuery({
      action: 'ValidateLogin',
      email,
      password2,
      identifier: served.identifier,
      secret: served.secret,
      responsetype: 'json',
    });
  const post = async (form: string): Promise<Answer> => {
    const res = await fetch(`${served.url}includes/api.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(res.status).to.equal(200);
    return (await res.json()) as Answer;
  };
  const login = (email: string, password2: string) => post(body(email, password2));
  const INVALID = { result: 'error', message: 'Email or Password Invalid' };
  const wait = (seconds: number) => ({
    result: 'error',
    message: `Too many failed login attempts. Try again in ${seconds} seconds.`,
  });
  const lastLogins = async () => f.knex('tblclients').orderBy('id').select('id', 'lastlogin', 'ip');

  it('3 wrong passwords lock the address for 15 minutes: the right one is refused until then, audited; other clients log in', async () => {
    for (let i = 0; i < 3; i++) expect(await login('lotte@example.be', `guess ${i}`)).to.deep.equal(INVALID);
    const log = await f.knex('tblactivitylog').where({ userid: lotte }).select('description');
    expect(log.map((r) => r.description)).to.deep.equal([
      'ValidateLogin locked for 15 minutes after 3 failed login attempts - Email: lotte@example.be',
    ]);

    // locked: the right password is refused unchecked and nothing is recorded; 15 × 60 = 900 s to go
    const before = await lastLogins();
    expect(await login('lotte@example.be', 'correct horse')).to.deep.equal(wait(900));
    // any case of the address is the same address
    expect(await login('LOTTE@Example.be', 'correct horse')).to.deep.equal(wait(900));
    // another client is not touched by Lotte's lock
    expect(await login('siobhan@example.be', 'correct horse')).to.deep.include({
      result: 'success',
      userid: siobhan,
    });
    f.clock.advance({ minutes: 14, seconds: 59 });
    expect(await login('lotte@example.be', 'correct horse')).to.deep.equal(wait(1));
    expect((await lastLogins()).find((r) => Number(r.id) === lotte)).to.deep.equal(
      before.find((r) => Number(r.id) === lotte),
    );

    // 15:00 after the lock began: the right password works again
    f.clock.advance({ seconds: 1 });
    expect(await login('lotte@example.be', 'correct horse')).to.deep.include({
      result: 'success',
      userid: lotte,
    });
  });

  it('a right password starts the count again: 2 wrong, right, 2 wrong is no lock', async () => {
    for (const p of ['a', 'b']) expect(await login('lotte@example.be', p)).to.deep.equal(INVALID);
    expect(await login('lotte@example.be', 'correct horse')).to.deep.include({ result: 'success' });
    for (const p of ['c', 'd']) expect(await login('lotte@example.be', p)).to.deep.equal(INVALID);
    expect(await login('lotte@example.be', 'correct horse')).to.deep.include({ result: 'success' });
  });

  it('10 guesses at once on an address nobody has: 3 are checked, 7 are refused as locked — the same as for a real client', async () => {
    const forms = Array.from({ length: 10 }, (_, i) => body('ghost@example.be', `guess ${i}`));
    const answers = await Promise.all(forms.map(post));
    const messages = answers.map((a) => a.message).sort();
    expect(messages.filter((m) => m === INVALID.message)).to.have.length(3);
    expect(messages.filter((m) => m === wait(900).message)).to.have.length(7);
    // the lock of a made-up address is audited without a client
    expect(
      (await f.knex('tblactivitylog').where({ userid: 0 }).select('description')).map((r) => r.description),
    ).to.include(
      'ValidateLogin locked for 15 minutes after 3 failed login attempts - Email: ghost@example.be',
    );
    // Lotte and Siobhán are not touched
    expect(await login('lotte@example.be', 'correct horse')).to.deep.include({
      result: 'success',
      userid: lotte,
    });
  });

  it("InvalidLoginBanLength 0 switches the lock off, as it does WHMCS's bans", async () => {
    await f.setting('InvalidLoginBanLength', '0');
    for (let i = 0; i < 5; i++) expect(await login('lotte@example.be', `guess ${i}`)).to.deep.equal(INVALID);
    expect(await login('lotte@example.be', 'correct horse')).to.deep.include({
      result: 'success',
      userid: lotte,
    });
  });
});
