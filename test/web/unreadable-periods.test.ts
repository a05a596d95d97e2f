import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { spoilDate } from '../support/spoil.js';
import { ANN, loggedWebStory, login, pageText } from '../support/web-story.js';

const P = 'mod_overusage_periods';
const I = 'mod_overusage_intervals';
const GB = 1_000_000_000n;

/**
 * Ann's periods and daily figures with one row changed by hand (test/support/web-story.ts: May
 * closed at 6 000 GB, rated (6 000 − 5 000) × €0.50 = €500.00; June open, sampled on the 1st and
 * the 3rd: 150 GB on 1 June, 300 GB over 2–3 June spread as 150 + 150, 450 GB so far). An April
 * period is added by hand (4 000 GB, within the allowance: no charge). Before: one period or one
 * interval that could not be read failed her page, the admin's service page, both periods APIs
 * and the days CSV for every period.
 */
describeEachEngine('periods and daily figures with one row that cannot be read', ({ db, engine }) => {
  const w = loggedWebStory(db);
  let may: number;
  let june: number;
  let april: number;
  beforeEach(async () => {
    const knex = db().knex;
    const id = async (start: string) =>
      Number((await knex(P).where({ service_id: w.s.ann.serviceId, start_date: start }).first('id')).id);
    may = await id('2013-05-01');
    june = await id('2013-06-01');
    await knex(P).insert({
      service_id: w.s.ann.serviceId,
      start_date: '2013-04-01',
      end_date: '2013-04-30',
      status: 'closed',
      used_bytes: (4_000n * GB).toString(),
      opened_by: 'calendar',
      closed_by: 'calendar',
      created_at: '2013-04-01 00:05:00.000',
      closed_at: '2013-05-01 00:05:00.000',
    });
    april = await id('2013-04-01');
  });
  const client = (path: string) => w.api('client', path);
  const admin = (path: string) => w.api('admin', path);

  describe("May's end date not a date", () => {
    beforeEach(async () => {
      await spoilDate(db().knex, engine, P, 'end_date', { id: may });
      w.logged.length = 0;
    });

    it('lists June and April and names May in its place, a page of two at a time', async () => {
      const first = await admin(`/services/${w.s.ann.serviceId}/periods?limit=2`);
      expect(first.status).to.equal(200);
      expect(first.body.periods.map((p: { id: number }) => p.id)).to.deep.equal([june, may]);
      // June: 150 + 300 = 450 GB so far, read as usual
      expect(first.body.periods[0]).to.deep.include({
        start: '2013-06-01',
        usedBytes: (450n * GB).toString(),
      });
      expect(first.body.periods[1]).to.deep.equal({
        id: may,
        unreadable: { column: `${P}.end_date`, reason: 'not a date' },
      });
      // the next page starts before May's stored first day: April, 4 000 GB
      expect(first.body.next).to.equal('2013-05-01');
      const second = await admin(`/services/${w.s.ann.serviceId}/periods?limit=2&before=2013-05-01`);
      expect(second.body.periods).to.have.length(1);
      expect(second.body.periods[0]).to.deep.include({
        id: april,
        usedBytes: (4_000n * GB).toString(),
        charge: null,
      });
      expect(w.unreadable()).to.deep.equal([[P, may, `${P}.end_date`]]);
    });

    it('tells Ann in the API and on her page only that one period cannot be shown', async () => {
      const res = await client(`/services/${w.s.ann.serviceId}/periods`);
      expect(res.status).to.equal(200);
      expect(
        res.body.periods.map((p: { id: number; unavailable?: boolean }) => [p.id, p.unavailable ?? false]),
      ).to.deep.equal([
        [june, false],
        [may, true],
        [april, false],
      ]);
      expect(res.body.periods[1]).to.deep.equal({ id: may, unavailable: true });
      const { agent } = await login(w.s.app, ANN);
      const page = await agent.get('/index.php?m=overusage');
      expect(page.status).to.equal(200);
      const t = pageText(page.text);
      expect(t).to.include('One of your periods cannot be shown right now.');
      expect(t).to.include('vps1.example.net');
      for (const hidden of [P, 'end_date', 'not a date']) expect(page.text).not.to.include(hidden);
      // her list, her API and the page's list each read May once
      expect(w.unreadable()).to.deep.equal([
        [P, may, `${P}.end_date`],
        [P, may, `${P}.end_date`],
      ]);
    });

    it("names May on the admin's service page, the rest of it as usual", async () => {
      const res = await w.adminPage('service', `&id=${w.s.ann.serviceId}`);
      expect(res.status).to.equal(200);
      expect(pageText(res.text)).to.include(
        `Period ${may} cannot be read: ${P}.end_date is not a date; it is left out of the periods below and counted in no total; correct the column in the database.`,
      );
    });
  });

  describe("the 2–3 June interval's first day not a date", () => {
    let bad: number;
    beforeEach(async () => {
      const knex = db().knex;
      bad = Number((await knex(I).where({ period_id: june, from_date: '2013-06-02' }).first('id')).id);
      await spoilDate(knex, engine, I, 'from_date', { id: bad });
      w.logged.length = 0;
    });

    it("shows Ann's June chart with 1 June only and says some days cannot be shown", async () => {
      const res = await client(`/services/${w.s.ann.serviceId}`);
      expect(res.status).to.equal(200);
      // 1 June's 150 GB measured; 2 and 3 June lack the 300 GB interval: missing, never 0 or 150 each
      expect(res.body.service.days).to.deep.equal([
        {
          date: '2013-06-01',
          bytes: (150n * GB).toString(),
          estimatedBytes: '0',
          missing: false,
          undecided: false,
        },
        { date: '2013-06-02', bytes: null, estimatedBytes: '0', missing: true, undecided: false },
        { date: '2013-06-03', bytes: null, estimatedBytes: '0', missing: true, undecided: false },
      ]);
      expect(res.body.service.daysIncomplete).to.equal(true);
      // the period's own counter is what bills: still 450 GB (9.0 % of 5 000 GB)
      expect(res.body.service.period.usedBytes).to.equal((450n * GB).toString());
      const { agent } = await login(w.s.app, ANN);
      const page = await agent.get('/index.php?m=overusage');
      expect(page.status).to.equal(200);
      expect(pageText(page.text)).to.include('Some days of this chart cannot be shown right now.');
      for (const hidden of [I, 'from_date']) expect(page.text).not.to.include(hidden);
      expect(w.unreadable()).to.deep.include([I, bad, `${I}.from_date`]);
    });

    it("refuses June's days and CSV (409) rather than 150 GB short of 450, and gives May's", async () => {
      const days = await client(`/services/${w.s.ann.serviceId}/periods/${june}/days`);
      expect(days.status).to.equal(409);
      expect(days.body.error.message).to.equal('this figure cannot be shown right now');
      const csv = await admin(`/services/${w.s.ann.serviceId}/periods/${june}/days.csv`);
      expect(csv.status).to.equal(409);
      expect(csv.body.error.message).to.include(`interval ${bad} of period ${june} cannot be read`);
      expect(csv.body.error.message).to.include(`${I}.from_date is not a date`);
      // May's 31 days read: 5 800 GB over 1–29 May, 100 GB on the 30th and on the 31st = 6 000 GB
      const mayCsv = await admin(`/services/${w.s.ann.serviceId}/periods/${may}/days.csv`);
      expect(mayCsv.status).to.equal(200);
      expect(mayCsv.text.trim().split('\n')).to.have.length(1 + 31);
      const page = await w.adminPage('service', `&id=${w.s.ann.serviceId}`);
      expect(page.status).to.equal(200);
      expect(pageText(page.text)).to.include(
        `Interval ${bad} cannot be read: ${I}.from_date is not a date; its days are missing from this chart and the period's CSV is refused; correct the column in the database.`,
      );
    });
  });
});
