import { expect } from 'chai';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { ANN, loggedWebStory, login, pageText } from '../support/web-story.js';

/**
 * A period's notes (what metering found in its counter) with one anomaly changed by hand. Ann's May
 * period (test/support/web-story.ts) carries two long gaps: 2 days up to 30 May, as the module
 * writes it, and one whose details are cut-off JSON. Before: her service's page in the admin tab and
 * her own page failed (UNEXPECTED_STATE) on that one row. Now the readable note is shown; the admin's
 * page names the other (its id, the column, why), w.logged once a read (admin.row_unreadable); Ann is
 * told only that a note cannot be shown right now.
 */
describeEachEngine("a period's notes with an anomaly that cannot be read", ({ db }) => {
  const w = loggedWebStory(db);
  let good: number;
  let bad: number;
  beforeEach(async () => {
    const knex = db().knex;
    const may = await knex('mod_overusage_periods')
      .where({ service_id: w.s.ann.serviceId })
      .whereNot({ status: 'open' })
      .first('id');
    const sampleOf = async (date: string) =>
      toNum(
        (
          await knex('mod_overusage_samples')
            .where({ service_id: w.s.ann.serviceId, sample_date: date })
            .first('id')
        ).id,
      );
    const longGap = async (date: string, details: string) => {
      await knex('mod_overusage_anomalies').insert({
        service_id: w.s.ann.serviceId,
        period_id: toNum(may.id),
        kind: 'long_gap',
        sample_id: await sampleOf(date),
        seen_on: date,
        details,
        status: 'info',
        created_at: '2013-05-31 21:50:00.000',
      });
      return toNum((await knex('mod_overusage_anomalies').max({ id: 'id' }).first())!.id);
    };
    good = await longGap('2013-05-30', JSON.stringify({ days: 2, toDate: '2013-05-30' }));
    bad = await longGap('2013-05-31', '{"days": 3, "toDate": "2013-05-');
  });
  const GOOD_NOTE =
    'No reading for 2 days up to 30 May 2013: the daily figures of those days are estimates; the total is exact.';

  it("shows the admin May's readable note and names the other by its anomaly id and column", async () => {
    const res = await w.adminPage('service', `&id=${w.s.ann.serviceId}`);
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include(GOOD_NOTE);
    expect(t).to.include(
      `Anomaly ${bad} cannot be read: mod_overusage_anomalies.details is not JSON; correct the column in the database.`,
    );
    expect(t).not.to.include('"days": 3');
    expect(good).to.equal(bad - 1);
    // once for the periods' notes, once for the page's list of anomalies beside them
    const once = ['mod_overusage_anomalies', bad, 'mod_overusage_anomalies.details'];
    expect(w.unreadable()).to.deep.equal([once, once]);
  });

  it('tells Ann only that a note of May cannot be shown, beside the readable one', async () => {
    const { agent } = await login(w.s.app, ANN);
    const res = await agent.get('/index.php?m=overusage');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include(GOOD_NOTE);
    expect(t).to.include('A note about this period cannot be shown right now.');
    for (const hidden of ['mod_overusage_anomalies', 'not JSON', '"days": 3', 'days&#34;: 3'])
      expect(res.text, hidden).not.to.include(hidden);
    expect(w.unreadable()).to.deep.equal([
      ['mod_overusage_anomalies', bad, 'mod_overusage_anomalies.details'],
    ]);
  });
});
