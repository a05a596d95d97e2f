import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { addService } from '../../panel/records.js';
import { ZONE } from '../panel/support.js';
import { describeEachEngine } from '../support/engines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { documented } from '../support/openapi-schema.js';
import { spoilInstant } from '../support/spoil.js';
import { ANN, loggedWebStory, login, pageText } from '../support/web-story.js';

/**
 * The client's own pages with one of her services' records changed by hand. Ann
 * (test/support/web-story.ts: vps1.example.net, 450 GB of 5 000 GB used in June = 9.0 %) gets a
 * second VPS, vps3.example.net, linked to the module; its services row's last sampling instant is
 * then spoiled. Before: her page, her home panel and GET /client/services failed for both. Now vps1
 * reads as before, vps3 is offered by its name with "This figure cannot be shown right now." and no
 * internals (no column, no stored text); the operator gets the log line.
 */
describeEachEngine("the client's widget with one of her services unreadable", ({ db, engine }) => {
  const w = loggedWebStory(db);
  let vps3: number;
  const check = documented();
  beforeEach(async () => {
    const knex = db().knex;
    vps3 = await addService(
      knex,
      {
        userid: w.s.ann.clientId,
        packageid: w.s.story.productId,
        domain: 'vps3.example.net',
        regdate: '2013-06-01',
        nextduedate: '2013-07-01',
        amount: '19.95',
        customfields: { [w.s.story.vserverFieldId]: '103' },
      },
      w.s.f.clock.now(),
      ZONE,
    );
    const master = toNum((await knex('mod_overusage_masters').first('id')).id);
    await w.s.mod.links.link(
      {
        serviceId: vps3,
        clientId: w.s.ann.clientId,
        productId: w.s.story.productId,
        masterId: master,
        serverRef: '103',
      },
      CLI_ACTOR,
    );
    await spoilInstant(knex, engine, 'mod_overusage_services', 'last_sampled_at', { service_id: vps3 });
  });
  const logs = (event: string) =>
    w.logged.filter((l) => l.event === event).map((l) => [l.table, l.id, l.column, l.reason]);
  const HIDDEN = ['last_sampled_at', 'mod_overusage_services', '99:99:99', '0000-00-00', 'not a datetime'];
  const NEUTRAL = 'This figure cannot be shown right now.';

  it('shows vps1 as before and vps3 by name with the neutral sentence, on her page and her home panel', async () => {
    const { agent } = await login(w.s.app, ANN);
    const first = await agent.get('/index.php?m=overusage');
    expect(first.status).to.equal(200);
    const t = pageText(first.text);
    // the first service that reads is the one shown; vps3 is offered beside it
    expect(t).to.include('vps1.example.net');
    expect(t).to.include('9.0 %');
    expect(first.text).to.match(
      /<a class="nav-link" href="[^"]*service=\d+"[^>]*>vps3\.example\.net \(VPS 5 TB\)<\/a>/,
    );
    expect(t).not.to.include(NEUTRAL);

    const chosen = await agent.get(`/index.php?m=overusage&service=${vps3}`);
    expect(chosen.status).to.equal(200);
    const c = pageText(chosen.text);
    expect(c).to.include(NEUTRAL);
    expect(chosen.text).to.include('aria-current="page">vps3.example.net (VPS 5 TB)</a>');
    expect(c).to.include('vps1.example.net (VPS 5 TB)');
    expect(c).not.to.include('€');

    const home = await agent.get('/clientarea.php');
    expect(home.status).to.equal(200);
    const h = pageText(home.text);
    expect(h).to.include('vps1.example.net (VPS 5 TB) · 9.0 %');
    expect(h).to.include(`vps3.example.net (VPS 5 TB) · ${NEUTRAL}`);
    // the block on vps3's own page in the panel
    const details = await agent.get(`/clientarea.php?action=productdetails&id=${vps3}`);
    expect(details.status).to.equal(200);
    expect(pageText(details.text)).to.include(NEUTRAL);
    expect(details.text).to.include(`href="index.php?m=overusage&amp;service=${vps3}"`);
    for (const text of [first.text, chosen.text, home.text, details.text])
      for (const hidden of HIDDEN) expect(text, hidden).not.to.include(hidden);
    // the operator: once a read (the home panel at login and after, the page twice, the block)
    const once = ['mod_overusage_services', vps3, 'mod_overusage_services.last_sampled_at', 'not a datetime'];
    expect(logs('admin.row_unreadable')).to.deep.equal([once, once, once, once, once]);
  });

  it('answers her services with vps3 unavailable, and vps3 itself with the neutral refusal', async () => {
    const token = w.s.token('client', w.s.ann.clientId);
    const res = await request(w.s.app)
      .get('/overusage/api/v1/client/services')
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).to.equal(200);
    expect(check('/api/v1/client/services', res.body)).to.equal(true);
    expect(res.body.services[0]).to.deep.include({
      serviceId: w.s.ann.serviceId,
      label: 'vps1.example.net (VPS 5 TB)',
    });
    expect(res.body.services[0].openPeriod).to.deep.include({ usedBytes: '450000000000' });
    expect(res.body.services[1]).to.deep.equal({
      serviceId: vps3,
      serviceHostname: 'vps3.example.net',
      productName: 'VPS 5 TB',
      unavailable: true,
    });
    const one = await request(w.s.app)
      .get(`/overusage/api/v1/client/services/${vps3}`)
      .set('Authorization', `Bearer ${token}`);
    expect(one.status).to.equal(409);
    expect(one.body).to.deep.equal({
      error: { code: 'UNEXPECTED_STATE', message: 'this figure cannot be shown right now' },
    });
    for (const hidden of HIDDEN) {
      expect(res.text, hidden).not.to.include(hidden);
      expect(one.text, hidden).not.to.include(hidden);
    }
    expect(logs('web.row_unreadable')).to.deep.equal([
      [undefined, undefined, 'mod_overusage_services.last_sampled_at', 'not a datetime'],
    ]);
  });
});
