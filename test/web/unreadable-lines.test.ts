import { expect } from 'chai';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { ADMIN, ANN, buildWebStory, login, pageText, type WebStory } from '../support/web-story.js';
import { logInto } from '../support/log-lines.js';

/**
 * A client's line changed by hand (status 'lost'). Ann (test/support/web-story.ts) has one line:
 * May, 6 000 − 5 000 = 1 000 GB × €0.50 = €500.00, on the June renewal. Her May period bills what
 * its lines bill now: with its only line unreadable that sum is not known, so it shows no figure
 * (neither €500.00 nor a smaller €0.00). Before: her page, her home panel, the client API's lines
 * and periods and the admin's service page all failed on that one row.
 */
describeEachEngine('a line that cannot be read, on her pages and the admin service page', ({ db }) => {
  let s: WebStory;
  let logged: Array<Record<string, unknown>>;
  const check = documented();
  beforeEach(async function () {
    this.timeout(30_000);
    logged = [];
    s = await buildWebStory(db().knex, { log: logInto(logged) });
    await db().knex('mod_overusage_lines').where({ id: s.ann.lineId }).update({ status: 'lost' });
  });
  const unreadableLogs = () =>
    logged.filter((l) => l.event === 'admin.row_unreadable').map((l) => [l.table, l.id, l.column]);
  const once = () => ['mod_overusage_lines', s.ann.lineId, 'mod_overusage_lines.status'];

  it('shows Ann her service with the line said apart and May without a figure', async () => {
    const { agent } = await login(s.app, ANN);
    logged.length = 0;
    const res = await agent.get('/index.php?m=overusage');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include('vps1.example.net');
    expect(t).to.include('One of your lines cannot be shown right now.');
    expect(t).to.include('This figure cannot be shown right now.');
    expect(t).not.to.include('€500.00');
    expect(t).not.to.include('Billed: €0.00');
    expect(res.text).not.to.include(`data-line="${s.ann.lineId}"`);
    for (const hidden of ['mod_overusage_lines', 'lost', 'not one of'])
      expect(res.text).not.to.include(hidden);
    // the page's lines and its periods' sums each read the line once
    expect(unreadableLogs()).to.deep.equal([once(), once()]);
    expect((await agent.get('/clientarea.php')).status).to.equal(200);
  });

  it("answers the client API's lines and periods without an amount for it", async () => {
    const token = s.token('client', s.ann.clientId);
    const get = (p: string) => request(s.app).get(`/overusage${p}`).set('Authorization', `Bearer ${token}`);
    const lines = await get('/api/v1/client/lines');
    expect(lines.status).to.equal(200);
    expect(check('/api/v1/client/lines', lines.body)).to.equal(true);
    expect(lines.body.lines).to.deep.equal([{ id: s.ann.lineId, unavailable: true }]);
    const periods = await get(`/api/v1/client/services/${s.ann.serviceId}/periods`);
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
    const { agent } = await login(s.app, ADMIN);
    const res = await agent.get(`/admin/addonmodules.php?module=overusage&a=service&id=${s.ann.serviceId}`);
    expect(res.status).to.equal(200);
    expect(res.text).to.include(
      `<tr data-line="${s.ann.lineId}" data-unreadable data-column="mod_overusage_lines.status"`,
    );
    const t = pageText(res.text);
    expect(t).to.include('This figure cannot be shown right now.');
    expect(t).not.to.include('Billed: €500.00');
    expect(unreadableLogs()).to.deep.include(once());
  });
});
