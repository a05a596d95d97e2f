import { expect } from 'chai';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, buildWebStory, login, type WebStory } from '../support/web-story.js';

const API = '/overusage/api/v1';

/**
 * The validation layer (issue 18): lists, groups, prototype keys, numbers that are not numbers,
 * impossible or out-of-range days and products the panel does not have are answered 4xx with a
 * code and a message, and change nothing. The clock stands at 5 June 2013 (Europe/Brussels), so
 * the latest day a samples page may start from is 6 June 2013.
 */
describeEachEngine('security: bad input gets a 4xx with a code and a message', ({ db }) => {
  let s: WebStory;
  let admin: string;
  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex);
    admin = s.token('admin', s.adminId, 3600);
  });
  const get = (path: string) => request(s.app).get(`${API}${path}`).set('Authorization', `Bearer ${admin}`);
  const refused = (res: request.Response, status: number, message: RegExp) => {
    expect(res.status, res.text).to.equal(status);
    expect(res.body.error.code).to.equal(status === 404 ? 'NOT_FOUND' : 'INVALID_INPUT');
    expect(res.body.error.message).to.match(message);
  };

  it('refuses list- and group-valued query parameters on the JSON API', async () => {
    refused(await get('/admin/anomalies?status[]=open'), 422, /query field "status\[\]" takes one value/);
    refused(await get('/admin/disputes?list=open&list=all'), 422, /query field "list" takes one value/);
    refused(await get(`/admin/services/${s.ann.serviceId}/samples?limit[]=1`), 422, /takes one value/);
    refused(await get('/admin/lines?q[x]=1'), 422, /takes one value/);
  });

  it('refuses impossible days and days after tomorrow as the samples cursor (no invented gap rows)', async () => {
    refused(
      await get(`/admin/services/${s.ann.serviceId}/samples?before=2013-13-45`),
      422,
      /^cursor must be a calendar day written YYYY-MM-DD$/,
    );
    refused(
      await get(`/admin/services/${s.ann.serviceId}/samples?before=2014-06-01`),
      422,
      /^cursor must be a day from 2000-01-01 to 2013-06-06$/,
    );
    // the latest day allowed is 6 June: the page lists the days before it, 5 and 4 June without a
    // sample (gaps), then the sample of 3 June
    const ok = await get(`/admin/services/${s.ann.serviceId}/samples?before=2013-06-06&limit=3`);
    expect(ok.status).to.equal(200);
    expect(
      ok.body.samples.map((x: { kind: string; date: string }) => `${x.kind} ${x.date}`).slice(0, 3),
    ).to.deep.equal(['gap 2013-06-05', 'gap 2013-06-04', 'sample 2013-06-03']);
  });

  it('refuses toString, constructor and __proto__ as settings, and changes nothing', async () => {
    const before = await request(s.app).get(`${API}/admin/settings`).set('Authorization', `Bearer ${admin}`);
    for (const body of [
      '{"toString":"x"}',
      '{"constructor":"x"}',
      '{"__proto__":{"sample_at":"01:00"}}',
      '{"sample_at":"22:00","nested":{"__proto__":1}}',
    ]) {
      const res = await request(s.app)
        .put(`${API}/admin/settings`)
        .set('Authorization', `Bearer ${admin}`)
        .set('Content-Type', 'application/json')
        .send(body);
      refused(res, 422, /is not a field this takes/);
    }
    const after = await request(s.app).get(`${API}/admin/settings`).set('Authorization', `Bearer ${admin}`);
    expect(after.body).to.deep.equal(before.body);
  });

  it('refuses billing settings for a product the panel does not have', async () => {
    const settings = { unit: 'GB', allowance: '5 TB', prices: { EUR: { overage: '0.50' } } };
    refused(
      await request(s.app)
        .put(`${API}/admin/products/999`)
        .set('Authorization', `Bearer ${admin}`)
        .send({ settings }),
      404,
      /the panel has no product 999/,
    );
    const products = await request(s.app)
      .get(`${API}/admin/products`)
      .set('Authorization', `Bearer ${admin}`);
    expect(products.body.products.map((p: { productId: number }) => p.productId)).to.not.include(999);
    expect(
      (
        await request(s.app)
          .put(`${API}/admin/products/${s.story.productId}`)
          .set('Authorization', `Bearer ${admin}`)
          .send({ settings })
      ).status,
    ).to.equal(200);
  });

  it("answers the panel's admin tab 400 for list- and group-valued parameters, on every page, instead of a 500", async () => {
    const { agent } = await login(s.app, ADMIN);
    const tab = '/admin/addonmodules.php?module=overusage';
    for (const q of [
      'a[]=x',
      'a[x]=1',
      'a=service&id[]=1',
      'a=dispute&id[]=1',
      'a=line&id[]=1',
      'a=lines&q[]=x',
      'a=disputes&list[]=x',
      'a=services&after[]=1',
      'a=audit&before[]=1',
      'a=anomalies&list[]=x',
      `a=service&id=${s.ann.serviceId}&samples[]=1`,
      'a=dashboard&fresh[]=1',
      'download=lines&q[]=x',
    ]) {
      const res = await agent.get(`${tab}&${q}`);
      expect(res.status, q).to.equal(400);
      expect(res.text, q).to.match(
        /query field (&#34;|")[a-z_]+(&#34;|") takes one value, not a list or a group/,
      );
    }
  });

  it('refuses a resolve form whose version is not a number instead of skipping the concurrency check', async () => {
    const { agent, token } = await login(s.app, ADMIN);
    const opened = await request(s.app)
      .post(`${API}/admin/lines/${s.ann.lineId}/dispute`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ reason: 'checking' });
    expect(opened.status).to.equal(201);
    const id = opened.body.dispute.id as number;
    const res = await agent
      .post(`/admin/addonmodules.php?module=overusage&a=dispute&id=${id}`)
      .type('form')
      .send({ token, do: 'resolve', dispute: String(id), to: 'waived', version: 'abc' });
    expect(res.text).to.include('version must be a whole number');
    expect((await db().knex('mod_overusage_disputes').where({ id }).first()).state).to.equal('open');
  });

  it("answers the reference panel's own pages 400 with a code and a message for lists, groups and Object's property names", async () => {
    const { agent, token } = await login(s.app, ADMIN);
    for (const p of [
      'clients.php?search[]=x',
      'clients.php?page=1&page=2',
      'invoices.php?status[]=x',
      'automationstatus.php?date[x]=1',
      'systemactivitylog.php?toString=1',
    ]) {
      const res = await agent.get(`/admin/${p}`);
      expect(res.status, p).to.equal(400);
      expect(res.text, p).to.match(/^Bad request \(INVALID_INPUT\): /);
    }
    const form = await agent
      .post('/admin/invoices.php?action=edit&id=1')
      .type('form')
      .send(`token=${encodeURIComponent(token)}&sub=addpayment&__proto__[amount]=1`);
    expect(form.status).to.equal(400);
    expect(form.text).to.equal('Bad request (INVALID_INPUT): form: "__proto__" is not a field this takes');
    const list = await agent
      .post('/admin/invoices.php?action=edit&id=1')
      .type('form')
      .send(`token=${encodeURIComponent(token)}&sub=addpayment&amount[]=1`);
    expect(list.text).to.equal(
      'Bad request (INVALID_INPUT): form field "amount" takes one value, not a list or a group',
    );
    const client = await login(s.app, { email: 'ann@example.net', password: 'ann-password' });
    expect((await client.agent.get('/viewinvoice.php?id[]=1')).status).to.equal(400);
  });
});
