import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { spoilInstant } from '../support/spoil.js';
import { loggedWebStory, pageText } from '../support/web-story.js';

/**
 * The admin tab's lists with one row changed by hand in the database (a status outside its set, an
 * instant that is none): the page and the JSON API answer 200, the other rows read as usual, and
 * the spoiled row is in its place as unreadable, by its id and the column refused, never its value;
 * each read logs it once (admin.row_unreadable, its table, id, column and why: the same words as the
 * list's `reason`). Before: the whole list
 * failed (the page an error, the API 409 UNEXPECTED_STATE).
 *
 * The story (test/support/web-story.ts): Ann used 6 000 GB in May on a 5 000 GB allowance, Jan 5 500
 * GB; at €0.50 a GB over, Ann's line is 1 000 × 0.50 = €500.00, Jan's 500 × 0.50 = €250.00.
 */

describeEachEngine('an admin list with a row that cannot be read', ({ db, engine }) => {
  const w = loggedWebStory(db);
  beforeEach(async () => {});
  const unreadableLogs = () =>
    w.logged
      .filter((l) => l.event === 'admin.row_unreadable')
      .map((l) => [l.level, l.table, l.id, l.column, l.reason, Object.keys(l).sort().join(',')]);
  const LOG_KEYS = 'at,column,event,id,level,reason,table';
  const api = (path: string, query: Record<string, string> = {}) => w.api('admin', path).query(query);
  const page = (a: string, query = '') => w.adminPage(a, query);
  const LINE_STATUSES = 'not one of pending, placed, held, waived';

  it("lists Ann's €500.00 line and Jan's line as unreadable when its status was changed by hand", async () => {
    await db().knex('mod_overusage_lines').where({ id: w.s.jan.lineId }).update({ status: 'lost' });

    const res = await page('lines');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include('€500.00');
    expect(res.text).to.match(new RegExp(`<tr data-line="${w.s.ann.lineId}">`));
    expect(res.text).to.include(
      `<tr data-line="${w.s.jan.lineId}" data-unreadable data-column="mod_overusage_lines.status"`,
    );
    expect(t).to.include(
      `line ${w.s.jan.lineId} Unreadable row: mod_overusage_lines.status is ${LINE_STATUSES}. It is counted in no total here`,
    );
    expect(t).not.to.include('€250.00');
    expect(t).not.to.include('lost');

    const json = await api('/lines');
    expect(json.status).to.equal(200);
    const byId = new Map(json.body.lines.map((l: { id: number }) => [l.id, l]));
    expect(byId.get(w.s.ann.lineId)).to.deep.include({ amount: { amount: '500.00', currency: 'EUR' } });
    expect(byId.get(w.s.jan.lineId)).to.deep.equal({
      id: w.s.jan.lineId,
      unreadable: { column: 'mod_overusage_lines.status', reason: LINE_STATUSES },
    });
    expect(json.text).not.to.include('lost');

    // the export keeps its place with the id, no amount: it counts in no sum
    const csv = await api('/lines.csv');
    expect(csv.status).to.equal(200);
    expect(csv.text).to.include(
      `\r\n${w.s.jan.lineId},,,,,unreadable,,,,,,,,,"mod_overusage_lines.status: ${LINE_STATUSES}"\r\n`,
    );
    expect(csv.text).to.match(new RegExp(`\\r\\n${w.s.ann.lineId},OU-[^\\r]*,500\\.00,EUR,`));

    // once a read: the page, the API, the export (the tab's page reads the list once)
    const once = [
      'warn',
      'mod_overusage_lines',
      w.s.jan.lineId,
      'mod_overusage_lines.status',
      LINE_STATUSES,
      LOG_KEYS,
    ];
    expect(unreadableLogs()).to.deep.equal([once, once, once]);
  });

  it("lists the services with Jan's, whose last sampling instant is no instant, as unreadable", async () => {
    await spoilInstant(db().knex, engine, 'mod_overusage_services', 'last_sampled_at', {
      service_id: w.s.jan.serviceId,
    });
    const res = await page('services');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    // Ann: 450 GB of 5 000 GB used in June (sampled on the 3rd) = 9 %
    expect(res.text).to.include(`<tr data-service="${w.s.ann.serviceId}">`);
    expect(t).to.include('9.0 %');
    expect(t).to.include(
      `service ${w.s.jan.serviceId} Unreadable row: mod_overusage_services.last_sampled_at is not a datetime.`,
    );

    const json = await api('/services');
    expect(json.status).to.equal(200);
    expect(json.body.services).to.have.length(2);
    expect(json.body.services[0]).to.deep.include({ serviceId: w.s.ann.serviceId });
    expect(json.body.services[0].openPeriod).to.deep.include({ usedBytes: '450000000000' });
    expect(json.body.services[1]).to.deep.equal({
      id: w.s.jan.serviceId,
      unreadable: { column: 'mod_overusage_services.last_sampled_at', reason: 'not a datetime' },
    });
    const once = [
      'warn',
      'mod_overusage_services',
      w.s.jan.serviceId,
      'mod_overusage_services.last_sampled_at',
      'not a datetime',
      LOG_KEYS,
    ];
    expect(unreadableLogs()).to.deep.equal([once, once]);
  });

  it("lists Ann's open dispute of €500.00 and Jan's, whose state was changed by hand, as unreadable", async () => {
    for (const who of [w.s.ann, w.s.jan]) {
      await request(w.s.app)
        .post(`/overusage/api/v1/client/lines/${who.lineId}/dispute`)
        .set('Authorization', `Bearer ${w.s.token('client', who.clientId)}`)
        .send({ reason: 'I cannot tell where this came from.' })
        .expect(201);
    }
    const idOf = async (lineId: number) =>
      toNum((await db().knex('mod_overusage_disputes').where({ line_id: lineId }).first('id')).id);
    const [annDispute, janDispute] = [await idOf(w.s.ann.lineId), await idOf(w.s.jan.lineId)];
    await db().knex('mod_overusage_disputes').where({ id: janDispute }).update({ state: 'lost' });
    const STATES = 'not one of open, upheld, waived, adjusted, withdrawn, voided';
    const HOLD_STATES = 'not one of holding, held, refund_decision, published, released';

    const res = await page('disputes', '&list=all');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(res.text).to.include(`<tr data-dispute="${annDispute}">`);
    expect(t).to.include('€500.00');
    expect(t).to.include(`dispute ${janDispute} Unreadable row: mod_overusage_disputes.state is ${STATES}.`);
    expect(t).not.to.include('€250.00');

    const json = await api('/disputes', { list: 'all' });
    expect(json.status).to.equal(200);
    // newest first: Jan's (opened second), then Ann's
    expect(json.body.disputes[0]).to.deep.equal({
      id: janDispute,
      unreadable: { column: 'mod_overusage_disputes.state', reason: STATES },
    });
    expect(json.body.disputes[1]).to.deep.include({
      id: annDispute,
      amountBefore: { amount: '500.00', currency: 'EUR' },
    });
    // the open queue: Ann's open one; Jan's, whose state reads as no word at all, in its place
    const open = await api('/disputes', { list: 'open' });
    expect(open.status).to.equal(200);
    expect(open.body.disputes.map((d: { id: number }) => d.id)).to.deep.equal([annDispute]);
    const once = [
      'warn',
      'mod_overusage_disputes',
      janDispute,
      'mod_overusage_disputes.state',
      STATES,
      LOG_KEYS,
    ];
    expect(unreadableLogs()).to.deep.equal([once, once]);

    // the open queue a page at a time, the oldest (Ann's) unreadable: its cursor is its own
    // (opened_at, id), so the next page begins at Jan's, not at Ann's again
    await db().knex('mod_overusage_disputes').where({ id: janDispute }).update({ state: 'open' });
    await db().knex('mod_overusage_disputes').where({ id: annDispute }).update({ hold_state: 'lost' });
    const first = await api('/disputes', { list: 'open', limit: '1' });
    expect(first.body.disputes).to.deep.equal([
      { id: annDispute, unreadable: { column: 'mod_overusage_disputes.hold_state', reason: HOLD_STATES } },
    ]);
    expect(first.body.next).to.match(new RegExp(`^2013-06-05T10:00:00\\.000Z\\|${annDispute}$`));
    const second = await api('/disputes', { list: 'open', limit: '1', after: first.body.next });
    expect(second.body.disputes.map((d: { id: number }) => d.id)).to.deep.equal([janDispute]);
    expect(second.body.disputes[0]).to.deep.include({ amountBefore: { amount: '250.00', currency: 'EUR' } });
  });

  it('pages the audit log with an entry whose instant is no instant as unreadable', async () => {
    const knex = db().knex;
    const entries = await knex('mod_overusage_audit').orderBy('id', 'desc').select('id', 'action');
    expect(entries.length).to.be.greaterThan(2);
    const spoiled = toNum(entries[1]!.id);
    await spoilInstant(knex, engine, 'mod_overusage_audit', 'at', { id: spoiled });

    const res = await page('audit');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(res.text).to.include(`data-audit="${toNum(entries[0]!.id)}"`);
    expect(res.text).to.include(`data-audit="${toNum(entries[2]!.id)}"`);
    expect(t).to.include(`audit ${spoiled} Unreadable row: mod_overusage_audit.at is not a datetime.`);

    const json = await api('/audit');
    expect(json.status).to.equal(200);
    expect(json.body.entries.map((e: { id: number }) => e.id)).to.deep.equal(
      entries.slice(0, json.body.entries.length).map((e) => toNum(e.id)),
    );
    expect(json.body.entries[0]).to.deep.include({ action: entries[0]!.action });
    expect(json.body.entries[1]).to.deep.equal({
      id: spoiled,
      unreadable: { column: 'mod_overusage_audit.at', reason: 'not a datetime' },
    });
    const once = [
      'warn',
      'mod_overusage_audit',
      spoiled,
      'mod_overusage_audit.at',
      'not a datetime',
      LOG_KEYS,
    ];
    expect(unreadableLogs()).to.deep.equal([once, once]);
  });
  it("lists Ann's anomaly and Jan's, whose details are no JSON, as unreadable", async () => {
    const knex = db().knex;
    const anomalyOf = async (serviceId: number, details: string) => {
      const period = await knex('mod_overusage_periods')
        .where({ service_id: serviceId, start_date: '2013-06-01' })
        .first('id');
      const sample = await knex('mod_overusage_samples')
        .where({ service_id: serviceId, sample_date: '2013-06-03' })
        .first('id');
      await knex('mod_overusage_anomalies').insert({
        service_id: serviceId,
        period_id: toNum(period.id),
        kind: 'long_gap',
        sample_id: toNum(sample.id),
        seen_on: '2013-06-03',
        details,
        status: 'info',
        created_at: '2013-06-03 21:50:00.000',
      });
      return toNum(
        (await knex('mod_overusage_anomalies').where({ service_id: serviceId }).max({ id: 'id' }).first())!
          .id,
      );
    };
    const ann = await anomalyOf(w.s.ann.serviceId, JSON.stringify({ days: 2, toDate: '2013-06-03' }));
    const jan = await anomalyOf(w.s.jan.serviceId, '{"days": 2, "toDate": "2013-06-0');

    const res = await page('anomalies', '&list=all');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(res.text).to.include(`<tr data-anomaly="${ann}" data-kind="long gap" data-status="info">`);
    expect(t).to.include('no good read for 2 days up to 2013-06-03');
    expect(t).to.include(
      `anomaly ${jan} Unreadable row: mod_overusage_anomalies.details is not JSON. It is counted in no total here`,
    );
    expect(t).not.to.include('"days": 2'); // the stored text is not shown

    const json = await api('/anomalies', { status: 'all' });
    expect(json.status).to.equal(200);
    const byId = new Map(json.body.anomalies.map((a: { id: number }) => [a.id, a]));
    expect(byId.get(ann)).to.deep.include({ kind: 'long_gap', details: { days: 2, toDate: '2013-06-03' } });
    expect(byId.get(jan)).to.deep.equal({
      id: jan,
      unreadable: { column: 'mod_overusage_anomalies.details', reason: 'not JSON' },
    });
    const once = [
      'warn',
      'mod_overusage_anomalies',
      jan,
      'mod_overusage_anomalies.details',
      'not JSON',
      LOG_KEYS,
    ];
    expect(unreadableLogs()).to.deep.equal([once, once]);
  });
});
