import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { spoilDate } from '../support/spoil.js';
import { loggedWebStory, pageText } from '../support/web-story.js';
import { documented } from '../support/openapi-schema.js';

const C = 'mod_overusage_charges';
const A = 'mod_overusage_anomalies';
const P = 'mod_overusage_periods';
const GB = 1_000_000_000n;
const STATUSES = 'unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review';

/**
 * The operators' periods (GET .../usage-periods, the CLI's `periods`) and the corrections held for
 * review, with one stored row changed by hand. Ann (test/support/web-story.ts): May closed at
 * 6 000 GB, rated (6 000 − 5 000) × €0.50 = €500.00 and billed on the June renewal; June open at
 * 450 GB. Jan: May 5 500 GB, (5 500 − 5 000) × €0.50 = €250.00. Before: one charge, anomaly or
 * period that could not be read failed the service's whole list (and the admin's and the
 * client's answer), and one held correction the whole review list and the Anomalies page.
 */
describeEachEngine(
  'usage periods and held corrections with one row that cannot be read',
  ({ db, engine }) => {
    const w = loggedWebStory(db);
    let annMay: number;
    let annJune: number;
    const check = documented();
    beforeEach(async () => {
      const id = async (serviceId: number, start: string) =>
        Number((await db().knex(P).where({ service_id: serviceId, start_date: start }).first('id')).id);
      annMay = await id(w.s.ann.serviceId, '2013-05-01');
      annJune = await id(w.s.ann.serviceId, '2013-06-01');
    });
    const get = (who: 'admin' | 'client', path: string) => w.api(who, path);
    const chargeOf = async (periodId: number) =>
      Number((await db().knex(C).where({ period_id: periodId, seq: 0 }).first('id')).id);

    it('lists May with its €500.00 charge named unreadable, no sum for it, and June as usual', async () => {
      const charge = await chargeOf(annMay);
      await db().knex(C).where({ id: charge }).update({ status: 'lost' });
      w.logged.length = 0;
      const admin = await get('admin', `/services/${w.s.ann.serviceId}/usage-periods`);
      expect(admin.status).to.equal(200);
      const [june, may] = admin.body.periods;
      expect(june).to.deep.include({
        id: annJune,
        state: 'open',
        usedBytes: (450n * GB).toString(),
        charges: [],
      });
      // the period itself reads (6 000 GB); its charge is named, with no amount; only a charge that
      // reads can show it is on an invoice, so May is said rated, not invoiced
      expect(may).to.deep.include({ id: annMay, state: 'rated', usedBytes: (6_000n * GB).toString() });
      expect(may.charges).to.deep.equal([
        { id: charge, unreadable: { column: `${C}.status`, reason: `not one of ${STATUSES}` } },
      ]);
      expect(w.unreadable()).to.deep.equal([[C, charge, `${C}.status`]]);
      expect(check('/api/v1/admin/services/{serviceId}/usage-periods', admin.body)).to.equal(true);
      // Ann: unavailable, nothing of why, and no €500.00 or smaller figure for May
      const client = await get('client', `/services/${w.s.ann.serviceId}/usage-periods`);
      expect(client.status).to.equal(200);
      expect(client.body.periods[1].charges).to.deep.equal([{ id: charge, unavailable: true }]);
      expect(JSON.stringify(client.body)).not.to.include('lost');
      expect(check('/api/v1/client/services/{serviceId}/usage-periods', client.body)).to.equal(true);
    });

    it('names a period whose status is not one in its place and an unreadable anomaly under June', async () => {
      const knex = db().knex;
      await knex(P).where({ id: annMay }).update({ status: 'lost' });
      // two of her samples (one note a sample and kind)
      const [last, before] = (
        await knex('mod_overusage_samples')
          .where({ service_id: w.s.ann.serviceId })
          .orderBy('id', 'desc')
          .limit(2)
          .pluck('id')
      ).map(Number);
      const note = (sample: number, details: string) => ({
        service_id: w.s.ann.serviceId,
        period_id: annJune,
        kind: 'long_gap',
        sample_id: sample,
        seen_on: '2013-06-03',
        details,
        status: 'info',
        created_at: '2013-06-03 21:50:00.000',
      });
      await knex(A).insert(note(last!, JSON.stringify({ days: 2, toDate: '2013-06-03' })));
      await knex(A).insert(note(before!, '{"days": 2, "toDate": "2013-06-'));
      const [good, bad] = (await knex(A).where({ period_id: annJune }).orderBy('id').pluck('id')).map(Number);
      w.logged.length = 0;
      const res = await get('admin', `/services/${w.s.ann.serviceId}/usage-periods`);
      expect(res.status).to.equal(200);
      const [june, may] = res.body.periods;
      expect(may).to.deep.equal({
        id: annMay,
        unreadable: { column: `${P}.status`, reason: 'not one of open, closed, superseded' },
      });
      expect(june.usedBytes).to.equal((450n * GB).toString());
      expect(june.anomalies.map((a: { id: number; kind?: string }) => [a.id, a.kind ?? null])).to.deep.equal([
        [good, 'long_gap'],
        [bad, null],
      ]);
      expect(june.anomalies[1]).to.deep.equal({
        id: bad,
        unreadable: { column: `${A}.details`, reason: 'not JSON' },
      });
      expect(w.unreadable()).to.deep.equal([
        [P, annMay, `${P}.status`],
        [A, bad, `${A}.details`],
      ]);
    });

    it("keeps Jan's −€25.00 correction in the review list beside Ann's unreadable one, API and page", async () => {
      const knex = db().knex;
      const held = async (periodId: number, serviceId: number, clientId: number) => {
        const [row] = await knex(C).where({ period_id: periodId, seq: 0 }).select();
        await knex(C).insert({
          ...row,
          id: undefined,
          seq: 1,
          kind: 'correction',
          status: 'review',
          service_id: serviceId,
          client_id: clientId,
          amount_minor: '-2500',
          rounded_minor: '-2500',
        });
        return Number((await knex(C).where({ period_id: periodId, seq: 1 }).first('id')).id);
      };
      const janMay = Number(
        (await knex(P).where({ service_id: w.s.jan.serviceId, start_date: '2013-05-01' }).first('id')).id,
      );
      const annHeld = await held(annMay, w.s.ann.serviceId, w.s.ann.clientId);
      const janHeld = await held(janMay, w.s.jan.serviceId, w.s.jan.clientId);
      await spoilDate(knex, engine, C, 'period_end', { id: annHeld });
      w.logged.length = 0;
      const res = await get('admin', '/corrections');
      expect(res.status).to.equal(200);
      expect(res.body.corrections[0]).to.deep.equal({
        id: annHeld,
        unreadable: { column: `${C}.period_end`, reason: 'not a date' },
      });
      expect(res.body.corrections[1]).to.deep.include({
        id: janHeld,
        serviceId: w.s.jan.serviceId,
        periodStart: '2013-05-01',
        periodEnd: '2013-05-31',
        amount: { amount: '-25.00', currency: 'EUR' },
      });
      const page = await w.adminPage('anomalies');
      expect(page.status).to.equal(200);
      expect(page.text).to.include(
        `<tr data-correction="${annHeld}" data-unreadable data-column="${C}.period_end"`,
      );
      expect(page.text).to.include(`<tr data-correction="${janHeld}">`);
      expect(pageText(page.text)).to.include('-€25.00');
      expect(w.unreadable()).to.deep.equal([
        [C, annHeld, `${C}.period_end`],
        [C, annHeld, `${C}.period_end`],
      ]);
    });
  },
);
