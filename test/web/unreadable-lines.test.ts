import { expect } from 'chai';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { ANN, loggedWebStory, login, pageText } from '../support/web-story.js';

/**
 * A client's line changed by hand (status 'lost'). Ann (test/support/web-story.ts) has one line:
 * May, 6 000 − 5 000 = 1 000 GB × €0.50 = €500.00, on the June renewal. Her May period bills what
 * its lines bill now: with its only line unreadable that sum is not known, so it shows no figure
 * (neither €500.00 nor a smaller €0.00). Before: her page, her home panel, the client API's lines
 * and periods and the admin's service page all failed on that one row.
 */
describeEachEngine('a line that cannot be read, on her pages and the admin service page', ({ db }) => {
  const w = loggedWebStory(db);
  const check = documented();
  beforeEach(async () => {
    await db().knex('mod_overusage_lines').where({ id: w.s.ann.lineId }).update({ status: 'lost' });
  });
  const once = () => ['mod_overusage_lines', w.s.ann.lineId, 'mod_overusage_lines.status'];

  it('shows Ann her service with the line said apart and May without a figure', async () => {
    const { agent } = await login(w.s.app, ANN);
    w.logged.length = 0;
    const res = await agent.get('/index.php?m=overusage');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include('vps1.example.net');
    expect(t).to.include('One of your lines cannot be shown right now.');
    expect(t).to.include('This figure cannot be shown right now.');
    expect(t).not.to.include('€500.00');
    expect(t).not.to.include('Billed: €0.00');
    expect(res.text).not.to.include(`data-line="${w.s.ann.lineId}"`);
    for (const hidden of ['mod_overusage_lines', 'lost', 'not one of'])
      expect(res.text).not.to.include(hidden);
    // the page's lines and its periods' sums each read the line once
    expect(w.unreadable()).to.deep.equal([once(), once()]);
    expect((await agent.get('/clientarea.php')).status).to.equal(200);
  });

  it("answers the client API's lines and periods without an amount for it", async () => {
    const token = w.s.token('client', w.s.ann.clientId);
    const get = (p: string) => request(w.s.app).get(`/overusage${p}`).set('Authorization', `Bearer ${token}`);
    const lines = await get('/api/v1/client/lines');
    expect(lines.status).to.equal(200);
    expect(check('/api/v1/client/lines', lines.body)).to.equal(true);
    expect(lines.body.lines).to.deep.equal([{ id: w.s.ann.lineId, unavailable: true }]);
    const periods = await get(`/api/v1/client/services/${w.s.ann.serviceId}/periods`);
    expect(periods.status).to.equal(200);
    // (the periods' schema is not checked here: Ajv refuses its `billed` (nullable beside allOf, no type))
    const may = periods.body.periods.find((p: { charge: unknown }) => p.charge !== null);
    // what was rated stays (€500.00); what the lines bill now is unknown, not €0.00
    expect(may.charge).to.deep.include({
      amount: { amount: '500.00', currency: 'EUR' },
      billed: null,
      afterDispute: null,
      billedUnavailable: true,
    });
  });

  it("lists it as unreadable on the admin's service page, May without a billed figure", async () => {
    const res = await w.adminPage('service', `&id=${w.s.ann.serviceId}`);
    expect(res.status).to.equal(200);
    expect(res.text).to.include(
      `<tr data-line="${w.s.ann.lineId}" data-unreadable data-column="mod_overusage_lines.status"`,
    );
    const t = pageText(res.text);
    expect(t).to.include('This figure cannot be shown right now.');
    expect(t).not.to.include('Billed: €500.00');
    expect(w.unreadable()).to.deep.include(once());
  });
});
