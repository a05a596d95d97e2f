import { expect } from 'chai';
import { foldForSearch } from '../../module/domain/search-text.js';
import { describeEachEngine } from '../support/engines.js';
import { addSearchClients } from '../support/search-clients.js';
import { ADMIN, buildWebStory, login, type WebStory } from '../support/web-story.js';

const TAB = '/admin/addonmodules.php?module=overusage';
/** the service ids the Services page lists, in order */
const listed = (html: string) => [...html.matchAll(/<tr data-service="(\d+)"/g)].map((m) => Number(m[1]));

describeEachEngine('searching the admin tab by client name, hostname or IP', ({ db }) => {
  let s: WebStory;
  let ids: { obrien: number; muller: number; cloud: number };
  // every test reads: one story for all
  before(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
    ids = await addSearchClients(s, db().knex);
  });

  it("folds case, accents and the apostrophe's forms, and nothing else", () => {
    expect(foldForSearch('  Siobhán  O’Brien ')).to.equal("siobhan o'brien");
    expect(foldForSearch('Müller & SØN')).to.equal('muller & son');
    expect(foldForSearch('Straße')).to.equal('strasse');
  });

  const find = async (q: string) => {
    const { agent } = await login(s.app, ADMIN);
    return listed((await agent.get(`${TAB}&a=services&q=${encodeURIComponent(q)}`).expect(200)).text);
  };

  it('finds a service by its client\u2019s name as typed, with a straight or a curly apostrophe, in any case', async () => {
    expect(await find("O'Brien")).to.deep.equal([ids.obrien]);
    expect(await find('o’brien')).to.deep.equal([ids.obrien]);
    expect(await find('SIOBHAN')).to.deep.equal([ids.obrien]);
    expect(await find('Siobhán O')).to.deep.equal([ids.obrien]);
  });

  it('finds a name with accents typed or not, and by the company ("Müller & Søn" holds "muller" too)', async () => {
    expect(await find('Zoë')).to.deep.equal([ids.muller]);
    expect(await find('zoe muller')).to.deep.equal([ids.muller]);
    expect(await find('& Søn')).to.deep.equal([ids.muller]);
  });

  it('finds by hostname, whole or in part: "example.ie" is O\u2019Brien\u2019s alone, "example.be" Jan\u2019s', async () => {
    expect(await find('obrien-vps.example.ie')).to.deep.equal([ids.obrien]);
    expect(await find('example.be')).to.deep.equal([s.jan.serviceId]);
  });

  it('finds by IP, dedicated or assigned (IPv6); "192.0.2.1" is in 192.0.2.10, .11 and .110', async () => {
    expect(await find('2001:db8::10')).to.deep.equal([ids.obrien]);
    expect(await find('192.0.2.110')).to.deep.equal([ids.muller]);
    expect(await find('192.0.2.1')).to.deep.equal([ids.obrien, ids.muller]);
  });

  it('takes % and _ as themselves: "100%" matches the company, not every name; "_" only edge_1 / 100%_Cloud', async () => {
    expect(await find('100%')).to.deep.equal([ids.cloud]);
    expect(await find('_')).to.deep.equal([ids.cloud]);
    expect(await find('%')).to.deep.equal([ids.cloud]);
    expect(await find("'")).to.deep.equal([ids.obrien]);
  });

  it("finds by an id: the service's own or the client's", async () => {
    expect(await find(String(ids.muller))).to.include(ids.muller);
  });

  it('says when nothing matches, with the search escaped in the message and its box', async () => {
    const { agent } = await login(s.app, ADMIN);
    const none = await agent.get(`${TAB}&a=services&q=${encodeURIComponent('<b>nobody</b>')}`).expect(200);
    expect(listed(none.text)).to.deep.equal([]);
    expect(none.text).to.include('No metered service matches “&lt;b&gt;nobody&lt;/b&gt;”.');
    expect(none.text).to.include('value="&lt;b&gt;nobody&lt;/b&gt;"');
    expect(none.text).not.to.include('<b>nobody</b>');
  });

  it('shows the matches by name and the search in its box, escaped', async () => {
    const { agent } = await login(s.app, ADMIN);
    const page = await agent.get(`${TAB}&a=services&q=${encodeURIComponent("o'brien")}`).expect(200);
    expect(page.text).to.include('Siobhán O&#39;Brien');
    expect(page.text).to.include('obrien-vps.example.ie');
    expect(page.text).to.include('value="o&#39;brien"');
  });

  it('answers the same search on the JSON API (GET /admin/services?q=), and refuses over 100 characters', async () => {
    const token = s.token('admin', s.adminId);
    const { default: request } = await import('supertest');
    const res = await request(s.app)
      .get('/overusage/api/v1/admin/services')
      .query({ q: 'müller' })
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect((res.body.services as Array<{ serviceId: number }>).map((x) => x.serviceId)).to.deep.equal([
      ids.muller,
    ]);
    const long = await request(s.app)
      .get('/overusage/api/v1/admin/services')
      .query({ q: 'x'.repeat(101) })
      .set('Authorization', `Bearer ${token}`)
      .expect(422);
    expect(long.body.error.message).to.include('at most 100 characters');
  });
});
