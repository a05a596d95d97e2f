import { expect } from 'chai';
import request from 'supertest';
import { createAdmin } from '../../panel/index.js';
import { ZONE } from '../panel/support.js';
import { describeEachEngine } from '../support/engines.js';
import { buildWebStory, type WebStory } from '../support/web-story.js';

/**
 * Login CSRF on the embed pages (issue 18): a link with someone else's token must not silently
 * replace the cookie of the person who opens it. Ann is signed in; the attacker sends her a link
 * with Jan's token.
 */
describeEachEngine('security: an embed page never switches accounts behind your back', ({ db }) => {
  let s: WebStory;
  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex);
  });

  const signedInAsAnn = async () => {
    const agent = request.agent(s.app);
    await agent
      .get('/overusage/embed/client')
      .query({ token: s.token('client', s.ann.clientId) })
      .expect(303);
    const page = await agent.get('/overusage/embed/client').expect(200);
    expect(page.text).to.include('lang="en"');
    return agent;
  };

  it("asks before a link with another person's token replaces the cookie, and keeps the cookie until the person clicks", async () => {
    const agent = await signedInAsAnn();
    const jan = s.token('client', s.jan.clientId);
    const ask = await agent.get('/overusage/embed/client').query({ token: jan });
    expect(ask.status).to.equal(200);
    expect(ask.headers['set-cookie']).to.equal(undefined);
    expect(ask.text).to.include(`signed in as <strong>client ${s.ann.clientId}</strong>`);
    expect(ask.text).to.include(`Continue as client ${s.jan.clientId}`);
    // still Ann
    expect((await agent.get('/overusage/embed/client').expect(200)).text).to.include('lang="en"');
    // another site's form cannot make the switch: it lacks the page's CSRF field
    const forged = await agent
      .post('/overusage/embed/client')
      .type('form')
      .send({ do: 'switch_identity', token: jan });
    expect(forged.status).to.equal(403);
    expect((await agent.get('/overusage/embed/client').expect(200)).text).to.include('lang="en"');
    // the person's own click: the form the page showed
    const csrf = /name="csrf" value="([^"]+)"/.exec(ask.text)![1]!;
    const switched = await agent
      .post('/overusage/embed/client')
      .type('form')
      .send({ csrf, do: 'switch_identity', token: jan });
    expect(switched.status).to.equal(303);
    expect(switched.headers['set-cookie']![0]).to.match(/^ou_embed_c=ou2\.c\./);
    expect((await agent.get('/overusage/embed/client').expect(200)).text).to.include('lang="nl"');
  });

  it('replaces the cookie without asking for a new token of the same person, and sets it when there is none', async () => {
    const agent = await signedInAsAnn();
    const again = await agent
      .get('/overusage/embed/client')
      .query({ token: s.token('client', s.ann.clientId) });
    expect(again.status).to.equal(303);
    expect(again.headers['set-cookie']![0]).to.match(/^ou_embed_c=/);
  });

  it('asks the same on the admin page', async () => {
    const other = await createAdmin(
      db().knex,
      { username: 'other-admin', password: 'other-password' },
      s.f.clock.now(),
      ZONE,
    );
    const agent = request.agent(s.app);
    await agent
      .get('/overusage/embed/admin')
      .query({ token: s.token('admin', s.adminId) })
      .expect(303);
    const ask = await agent.get('/overusage/embed/admin').query({ token: s.token('admin', other) });
    expect(ask.status).to.equal(200);
    expect(ask.headers['set-cookie']).to.equal(undefined);
    expect(ask.text).to.include(`Continue as admin ${other}`);
  });
});
