import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createLogger } from '../../module/adapters/logger.js';
import { createAdmin, createPanelWeb } from '../../panel/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from './support.js';
import { ADMIN, adminLogin, SECRET, tokenOf } from './web-support.js';

/**
 * Setup › Staff › Manage API Credentials (issue 19): a full administrator creates a credential for
 * an admin and sees its secret once; the secret works on /includes/api.php, is never stored,
 * logged or shown again; revoking it refuses the next call. CSRF and escaping on the forms.
 */
describeEachEngine('admin page: API credentials (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let app: express.Express;
  const lines: string[] = [];

  beforeEach(async () => {
    lines.length = 0;
    f = await buildPanel(db().knex, {
      start: '2025-01-20T09:30:00Z',
      log: createLogger({ write: (l) => void lines.push(l) }),
    });
    story = await seedStory(f);
    await createAdmin(f.knex, { username: ADMIN.username, password: ADMIN.password }, f.clock.now(), ZONE);
    await createAdmin(
      f.knex,
      { username: 'support', password: 'support-password', roleid: 2 },
      f.clock.now(),
      ZONE,
    );
    app = express();
    app.use(f.panel.apiRouter);
    app.use(createPanelWeb({ panel: f.panel, sessionSecret: SECRET }));
  });

  const apiCall = (identifier: string, secret: string) =>
    request(app)
      .post('/includes/api.php')
      .type('form')
      .send({
        action: 'GetClientsDetails',
        clientid: String(story.clientId),
        identifier,
        secret,
        responsetype: 'json',
      });

  describe('a credential made for the support admin', () => {
    let agent: Awaited<ReturnType<typeof adminLogin>>['agent'];
    let made: request.Response;
    let identifier: string;
    let secret: string;

    beforeEach(async () => {
      ({ agent } = await adminLogin(app));
      const empty = await agent.get('/admin/configapicredentials.php').expect(200);
      expect(empty.text).to.include('No API credentials.');
      const supportId = (await f.knex('tbladmins').where({ username: 'support' }).first('id'))!.id;
      made = await agent
        .post('/admin/configapicredentials.php')
        .type('form')
        .send({
          token: tokenOf(empty.text),
          action: 'create',
          adminid: String(supportId),
          description: '<script>alert(1)</script> billing',
        })
        .expect(201);
      identifier = /id="new-identifier">([0-9a-f]{32})</.exec(made.text)![1]!;
      secret = /id="new-secret">([A-Za-z0-9_-]{32})</.exec(made.text)![1]!;
    });

    it('shows its secret once, on a page that is not cached, with the description as text', () => {
      expect(made.headers['cache-control']).to.equal('no-store');
      expect(made.text)
        .to.include('&lt;script&gt;alert(1)&lt;/script&gt; billing')
        .and.not.include('<script>alert(1)');
    });

    it('works on /includes/api.php', async () => {
      const ok = await apiCall(identifier, secret).expect(200);
      expect(ok.body).to.include({ result: 'success' });
      expect(ok.body.client).to.include({ email: 'ann@example.net' });
    });

    it('is stored only as an HMAC, and the page never shows the secret again', async () => {
      const again = await agent.get('/admin/configapicredentials.php').expect(200);
      expect(again.text).to.include(identifier).and.not.include(secret);
      const row = await f.knex('tbldeviceauth').where({ identifier }).first();
      expect(String(row.secret))
        .to.match(/^hmac-sha256\$/)
        .and.not.include(secret);
    });

    it('is named in the activity log, and the secret is in no log', async () => {
      const activity = (await f.knex('tblactivitylog').select('description')).map((r) =>
        String(r.description),
      );
      expect(activity).to.include(`API Credential Created - Identifier: ${identifier} - Admin: support`);
      expect(activity.join('\n')).to.not.include(secret);
      expect(lines.join('\n')).to.not.include(secret);
    });

    it('refuses the next call once revoked, and a second revoke finds nothing (404)', async () => {
      const page = await agent.get('/admin/configapicredentials.php').expect(200);
      const revoked = await agent
        .post('/admin/configapicredentials.php')
        .type('form')
        .send({ token: tokenOf(page.text), action: 'revoke', identifier })
        .expect(303);
      expect(revoked.headers.location).to.equal('/admin/configapicredentials.php');
      const refused = await apiCall(identifier, secret).expect(403);
      expect(refused.body).to.deep.equal({ result: 'error', message: 'Authentication Failed' });
      const after = await agent.get('/admin/configapicredentials.php').expect(200);
      expect(after.text)
        .to.include(`API credential ${identifier} revoked.`)
        .and.include('No API credentials.');
      await agent
        .post('/admin/configapicredentials.php')
        .type('form')
        .send({ token: tokenOf(after.text), action: 'revoke', identifier })
        .expect(404);
    });
  });

  it('refuses a form without the CSRF token, a disabled or unknown admin, and admins who are not full administrators, creating nothing', async () => {
    const { agent } = await adminLogin(app);
    const form = await agent.get('/admin/configapicredentials.php').expect(200);
    await agent
      .post('/admin/configapicredentials.php')
      .type('form')
      .send({ action: 'create', adminid: '1' })
      .expect(403);
    await agent
      .post('/admin/configapicredentials.php')
      .type('form')
      .send({ token: 'wrong', action: 'create', adminid: '1' })
      .expect(403);
    await f.knex('tbladmins').where({ username: 'support' }).update({ disabled: 1 });
    const supportId = String((await f.knex('tbladmins').where({ username: 'support' }).first('id'))!.id);
    for (const adminid of [supportId, '999', 'abc', '']) {
      const res = await agent
        .post('/admin/configapicredentials.php')
        .type('form')
        .send({ token: tokenOf(form.text), action: 'create', adminid })
        .expect(400);
      expect(res.text).to.include('Choose an enabled admin user for the credential.');
    }
    await f.knex('tbladmins').where({ username: 'support' }).update({ disabled: 0 });
    const support = await adminLogin(app, { username: 'support', password: 'support-password' });
    await support.agent.get('/admin/configapicredentials.php').expect(403);
    await support.agent
      .post('/admin/configapicredentials.php')
      .type('form')
      .send({ token: support.token, action: 'create', adminid: supportId })
      .expect(403);
    expect(await f.knex('tbldeviceauth').select('id')).to.deep.equal([]);
  });
});
