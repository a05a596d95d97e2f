import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';
import { readable, readablePage } from '../support/readable.js';

/**
 * A rebuild makes a service's periods again from its kept samples (issue 11): on the same
 * calendar it must give back exactly what metering wrote day by day — periods, intervals, resets,
 * anomalies and decisions, and where metering goes on from — and on a new calendar it must move
 * what was billed to the period that now covers those days.
 *
 * And what an admin asks of the anomalies metering found: a page at a time, and a decision on a
 * drop, refused in words when it cannot be taken.
 *
 * The counters are read at 23:50 Brussels (21:50 UTC in May and June 2013); periods on the 1st.
 */
const GB = 10n ** 9n;
const S = 1; // resets on time; a long gap; a drop an admin says was a reset
const T = 2; // SolusVM skips the reset of 1 June and resets late, on 4 June
const U = 3; // SolusVM skips the reset of 1 June and has not reset yet

/** The counters of each day, per service (undefined: the read fails, a gap). */
const DAYS: Array<[string, Partial<Record<number, bigint>>]> = [
  ['2013-05-29', { [S]: 100n * GB, [T]: 100n * GB, [U]: 100n * GB }],
  ['2013-05-30', { [S]: 110n * GB, [T]: 110n * GB, [U]: 110n * GB }],
  ['2013-05-31', { [S]: 120n * GB, [T]: 120n * GB, [U]: 120n * GB }],
  ['2013-06-01', { [S]: 5n * GB, [T]: 130n * GB, [U]: 130n * GB }],
  ['2013-06-02', { [S]: 8n * GB, [T]: 140n * GB, [U]: 140n * GB }],
  ['2013-06-03', { [T]: 150n * GB }],
  ['2013-06-04', { [T]: 2n * GB }],
  ['2013-06-05', {}],
  ['2013-06-06', { [S]: 20n * GB }],
  ['2013-06-07', { [S]: 12n * GB }],
  ['2013-06-08', { [S]: 15n * GB }],
];

describeEachEngine(
  'usage periods: a rebuild from the kept samples, the anomalies and decisions on drops',
  ({ db }) => {
    let knex: Knex;
    let fake: FakeMaster;
    let fx: ModuleFixture;
    let masterId: number;

    beforeEach(async () => {
      knex = db().knex;
      fake = new FakeMaster();
      fx = await buildModule(knex, { start: '2013-05-29T21:50:00Z', gatewayFor: () => fake.gateway() });
      masterId = (
        await fx.mod.masters.add(
          {
            name: 'solus',
            version: 1,
            baseUrl: 'https://solus.example.net:5656',
            apiId: 'i',
            apiKey: 'k',
            timeZone: 'Europe/Brussels',
            resetPolicy: 'first_of_month',
          },
          CLI_ACTOR,
        )
      ).id;
      for (const id of [S, T, U])
        await fx.mod.links.link({ serviceId: id, clientId: 7, masterId, serverRef: `vs${id}` }, CLI_ACTOR);
    });

    afterEach(async () => {
      await fx?.mod.close();
      await fx?.mod.migrateDown();
    });

    async function readDays(upTo = '2013-06-08'): Promise<void> {
      for (const [day, counters] of DAYS) {
        if (day > upTo) break;
        for (const id of [S, T, U]) {
          const c = counters[id];
          if (c === undefined) fake.fail(`vs${id}`);
          else (fake.fail(`vs${id}`, null), fake.set(`vs${id}`, c));
        }
        fx.clock.set(`${day}T21:50:00Z`);
        await fx.mod.metering.collect({ masterIds: [masterId] });
      }
    }

    /** Everything derived from the samples, ids of periods replaced by their first day. */
    async function derived(serviceId: number) {
      const ps = await knex('mod_overusage_periods').where({ service_id: serviceId }).orderBy('start_date');
      const startOf = new Map(ps.map((p) => [toNum(p.id), String(p.start_date)]));
      const day = (v: unknown) => (v === null ? null : String(v).slice(0, 19));
      const periods = ps.map((p) => ({
        start: String(p.start_date),
        end: p.end_date === null ? null : String(p.end_date),
        status: p.status,
        closedBy: p.closed_by,
        used: toBig(p.used_bytes),
        resetAt: day(p.reset_at),
        unmeasuredAfter: day(p.unmeasured_after),
        lastSampleId: p.last_sample_id === null ? null : toNum(p.last_sample_id),
        calendar: p.calendar,
      }));
      const intervals = (
        await knex('mod_overusage_intervals').where({ service_id: serviceId }).orderBy(['to_date', 'id'])
      ).map((i) => ({
        period: startOf.get(toNum(i.period_id)),
        kind: i.kind,
        from: String(i.from_date),
        to: String(i.to_date),
        bytes: toBig(i.bytes),
        estimated: Boolean(toNum(i.estimated)),
        candidate: i.candidate_bytes === null ? null : toBig(i.candidate_bytes),
        fromSampleId: i.from_sample_id === null ? null : toNum(i.from_sample_id),
        toSampleId: toNum(i.to_sample_id),
      }));
      const anomalies = (
        await knex('mod_overusage_anomalies').where({ service_id: serviceId }).orderBy(['seen_on', 'kind'])
      ).map((a) => ({
        period: startOf.get(toNum(a.period_id)),
        kind: a.kind,
        status: a.status,
        seenOn: String(a.seen_on),
        details: JSON.parse(String(a.details)) as Record<string, unknown>,
        decision: a.decision,
        sampleId: toNum(a.sample_id),
        hasInterval: a.interval_id !== null,
      }));
      const svc = await knex('mod_overusage_services').where({ service_id: serviceId }).first();
      const service = {
        openPeriod: svc.open_period_id === null ? null : startOf.get(toNum(svc.open_period_id)),
        openStart: svc.open_period_start === null ? null : String(svc.open_period_start),
        openEnd: svc.open_period_end === null ? null : String(svc.open_period_end),
        openUsed: svc.open_period_used_bytes === null ? null : toBig(svc.open_period_used_bytes),
        resetDueOn: svc.reset_due_on === null ? null : String(svc.reset_due_on),
        recentDaily: svc.recent_daily_bytes === null ? null : String(svc.recent_daily_bytes),
      };
      return { periods, intervals, anomalies, service };
    }

    /** The samples' ids of a service by day. */
    async function sampleIds(serviceId: number): Promise<Record<string, number>> {
      const rows = await knex('mod_overusage_samples')
        .where({ service_id: serviceId })
        .orderBy('sample_date');
      return Object.fromEntries(rows.map((r) => [String(r.sample_date), toNum(r.id)]));
    }

    it('gives back what metering wrote for a month with an on-time reset, a long gap and a drop decided as a reset', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await fx.mod.usagePeriods.decide(
        drop!.id,
        { decision: 'reset', reason: 'reset by hand on the master (its log)' },
        CLI_ACTOR,
      );
      const live = await derived(S);
      const report = await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      // 8 samples (29, 30, 31 May; 1, 2, 6, 7, 8 June), May and June before and after, no charge
      expect(report).to.deep.equal({
        serviceId: S,
        samples: 8,
        periodsBefore: 2,
        periodsAfter: 2,
        absorbed: 0,
        rerated: [],
      });
      const rebuilt = await derived(S);
      expect(rebuilt).to.deep.equal(live);
    });

    it('on the same calendar, books each interval from the sample before it, and the reset on May', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await fx.mod.usagePeriods.decide(drop!.id, { decision: 'reset', reason: 'its log says so' }, CLI_ACTOR);
      await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      const id = await sampleIds(S);
      const r = await derived(S);
      // May: 100 GB before the first read (1–29 May), +10, +10 = 120 GB, closed by the reset read
      // on 1 June; the counter restarted at midnight (22:00 UTC on 31 May), after the 21:50 read.
      // June: 5 since the reset, +3 on the 2nd, 12 over 3–6 June (a span), the drop to 12 GB on
      // the 7th booked as a reset (12 GB), +3 on the 8th: 5 + 3 + 12 + 12 + 3 = 35 GB.
      expect(
        r.periods.map((p) => [p.start, p.end, p.status, p.used, p.resetAt, p.unmeasuredAfter]),
      ).to.deep.equal([
        ['2013-05-01', '2013-05-31', 'closed', 120n * GB, '2013-05-31 22:00:00', '2013-05-31 21:50:00'],
        ['2013-06-01', '2013-06-30', 'open', 35n * GB, null, null],
      ]);
      expect(r.periods.map((p) => p.lastSampleId)).to.deep.equal([id['2013-05-31'], id['2013-06-08']]);
      expect(
        r.intervals.map((i) => [i.kind, i.from, i.to, i.bytes, i.fromSampleId, i.toSampleId]),
      ).to.deep.equal([
        ['before_metering', '2013-05-01', '2013-05-29', 100n * GB, null, id['2013-05-29']],
        ['daily', '2013-05-30', '2013-05-30', 10n * GB, id['2013-05-29'], id['2013-05-30']],
        ['daily', '2013-05-31', '2013-05-31', 10n * GB, id['2013-05-30'], id['2013-05-31']],
        ['since_reset', '2013-06-01', '2013-06-01', 5n * GB, id['2013-05-31'], id['2013-06-01']],
        ['daily', '2013-06-02', '2013-06-02', 3n * GB, id['2013-06-01'], id['2013-06-02']],
        ['span', '2013-06-03', '2013-06-06', 12n * GB, id['2013-06-02'], id['2013-06-06']],
        ['manual_reset', '2013-06-07', '2013-06-07', 12n * GB, id['2013-06-06'], id['2013-06-07']],
        ['daily', '2013-06-08', '2013-06-08', 3n * GB, id['2013-06-07'], id['2013-06-08']],
      ]);
      // the gap of 2 → 6 June is told (4 days), the drop stays decided as a reset
      expect(r.anomalies.map((a) => [a.kind, a.status, a.seenOn, a.decision])).to.deep.equal([
        ['long_gap', 'info', '2013-06-06', null],
        ['mid_period_drop', 'decided', '2013-06-07', 'reset'],
      ]);
      // metering goes on in June at 35 GB; the last 7 metered days' traffic per day, newest last:
      // 1 June 5, 2 June 3, 3–6 June 3 each (12 over 4 days), 8 June 3 (the drop gives none)
      expect(r.service).to.deep.equal({
        openPeriod: '2013-06-01',
        openStart: '2013-06-01',
        openEnd: '2013-06-30',
        openUsed: 35n * GB,
        resetDueOn: null,
        recentDaily: JSON.stringify(['5000000000', ...Array(6).fill('3000000000')]),
      });
    });

    it('keeps a drop decided as a correction booking nothing', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await fx.mod.usagePeriods.decide(
        drop!.id,
        { decision: 'correction', reason: 'a double count' },
        CLI_ACTOR,
      );
      await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      const r = await derived(S);
      // June: 5 + 3 + 12 + 0 + 3 = 23 GB
      expect(r.periods[1]!.used).to.equal(23n * GB);
      expect(
        r.intervals.filter((i) => i.to === '2013-06-07').map((i) => [i.kind, i.bytes, i.candidate]),
      ).to.deep.equal([['correction', 0n, 12n * GB]]);
      expect(r.service.openUsed).to.equal(23n * GB);
    });

    it('leaves an undecided drop open, pointing at its interval, and books nothing for it', async () => {
      await readDays();
      await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      const r = await derived(S);
      expect(r.periods[1]!.used).to.equal(23n * GB);
      expect(
        r.anomalies
          .filter((a) => a.kind === 'mid_period_drop')
          .map((a) => [a.status, a.decision, a.hasInterval]),
      ).to.deep.equal([['open', null, true]]);
      // and it can still be decided after the rebuild: 12 GB booked
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      const out = await fx.mod.usagePeriods.decide(
        drop!.id,
        { decision: 'reset', reason: 'after all' },
        CLI_ACTOR,
      );
      expect(out.bookedBytes).to.equal(12n * GB);
    });

    it('gives back a reset SolusVM made late: the reset not seen is resolved by it', async () => {
      await readDays();
      const live = await derived(T);
      await fx.mod.usagePeriods.rebuild(T, CLI_ACTOR);
      const r = await derived(T);
      expect(r).to.deep.equal(live);
      // June: +10 on the 1st (no reset), +10, +10, then 2 GB since the late reset = 32 GB
      expect(r.periods.map((p) => [p.start, p.used])).to.deep.equal([
        ['2013-05-01', 120n * GB],
        ['2013-06-01', 32n * GB],
      ]);
      expect(
        r.anomalies.map((a) => [a.kind, a.status, a.seenOn, a.details.endedBy, a.details.endedOn]),
      ).to.deep.equal([
        ['reset_not_seen', 'resolved', '2013-06-01', 'late_reset', '2013-06-04'],
        ['late_reset', 'info', '2013-06-04', undefined, undefined],
      ]);
      expect(r.service.resetDueOn).to.equal(null);
    });

    it('gives back a reset still due: the reset not seen stays open, and metering still waits for it', async () => {
      await readDays();
      const live = await derived(U);
      await fx.mod.usagePeriods.rebuild(U, CLI_ACTOR);
      const r = await derived(U);
      expect(r).to.deep.equal(live);
      expect(r.anomalies.map((a) => [a.kind, a.status, a.details.endedBy])).to.deep.equal([
        ['reset_not_seen', 'open', undefined],
      ]);
      expect(r.service.resetDueOn).to.equal('2013-06-01');
      // June so far: +10 on the 1st, +10 on the 2nd
      expect(r.service.openUsed).to.equal(20n * GB);
    });
    /** A charge rated for a period an earlier version made (the columns a rating writes). */
    async function chargeOn(
      periodId: number,
      start: string,
      end: string,
      amountMinor: bigint,
    ): Promise<number> {
      await knex('mod_overusage_charges').insert({
        period_id: periodId,
        service_id: S,
        client_id: 7,
        product_id: 5,
        period_start: start,
        period_end: end,
        currency: 'EUR',
        used_bytes: '0',
        allowance_bytes: '0',
        over_bytes: '0',
        amount_minor: String(amountMinor),
        rounded_minor: String(amountMinor),
        status: 'billed',
        explanation: '{}',
        taxed: false,
        rated_at: '2013-06-02 08:00:00.000',
      });
      return toNum(
        (await knex('mod_overusage_charges').where({ period_id: periodId }).orderBy('id', 'desc').first('id'))
          .id,
      );
    }

    it('on a new calendar, gives each old period’s charges to the calendar period that covers its first day, and keeps a billed period no sample reaches', async () => {
      await readDays();
      const old = await knex('mod_overusage_periods').where({ service_id: S }).orderBy('start_date');
      // an earlier version's period of August, billed, that no sample reaches any more
      await knex('mod_overusage_periods').insert({
        service_id: S,
        start_date: '2013-08-01',
        end_date: '2013-08-31',
        status: 'closed',
        opened_by: 'first_sample',
        used_bytes: '0',
        created_at: '2013-08-01 00:00:00.000',
      });
      const august = toNum(
        (await knex('mod_overusage_periods').where({ service_id: S, start_date: '2013-08-01' }).first('id'))
          .id,
      );
      const may = await chargeOn(toNum(old[0].id), '2013-05-01', '2013-05-31', 100n);
      const june = await chargeOn(toNum(old[1].id), '2013-06-01', '2013-06-30', 200n);
      const aug = await chargeOn(august, '2013-08-01', '2013-08-31', 300n);
      // the service now resets (and is billed) on the 5th: the samples of 29 May – 8 June fall in
      // 5 May – 4 June and 5 June – 4 July
      await knex('mod_overusage_services')
        .where({ service_id: S })
        .update({ reset_policy: 'anniversary', reset_day: 5 });
      const report = await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      const ps = await knex('mod_overusage_periods').where({ service_id: S }).orderBy('start_date');
      expect(ps.map((p) => [String(p.start_date), String(p.end_date), p.status])).to.deep.equal([
        ['2013-05-05', '2013-06-04', 'closed'],
        ['2013-06-05', '2013-07-04', 'open'],
        ['2013-08-01', '2013-08-31', 'superseded'],
      ]);
      // 1 May lies before 5 May: its charge goes to the first period after it (5 May); 1 June lies
      // in 5 May – 4 June: its charge goes there too, after May's. August's stays where it was.
      const chargesOf = async (periodId: unknown) =>
        (await knex('mod_overusage_charges').where({ period_id: periodId }).orderBy('seq')).map((c) =>
          toNum(c.id),
        );
      // Rated again (product 5 has no overage plan: €0.00), the €1.00 + €2.00 billed for these days
      // are credited by a correction of −€3.00, the period's own rating (seq 0; the moved charges
      // follow it), held for review: the drop of 1 June (120 → 5 GB, no reset due on the 1st any
      // more) is undecided.
      const correction = await knex('mod_overusage_charges')
        .where({ period_id: ps[0].id, kind: 'correction' })
        .first();
      expect([toNum(correction.seq), correction.status, toBig(correction.amount_minor)]).to.deep.equal([
        0,
        'review',
        -300n,
      ]);
      expect(await chargesOf(ps[0].id)).to.deep.equal([toNum(correction.id), may, june]);
      expect(await chargesOf(ps[1].id)).to.deep.equal([]);
      expect(await chargesOf(ps[2].id)).to.deep.equal([aug]);
      expect(toNum(ps[2].id)).to.equal(august);
      expect([report.periodsBefore, report.periodsAfter, report.absorbed]).to.deep.equal([3, 2, 2]);
      // the closed period with charges is rated again; the open one is not
      expect(report.rerated).to.deep.equal([{ periodId: toNum(ps[0].id), outcome: 'corrected' }]);
      const audit = await knex('mod_overusage_audit').where({ action: 'periods.rebuilt' }).first();
      expect(JSON.parse(String(audit.details))).to.deep.equal({
        samples: 8,
        periodsBefore: 3,
        periodsAfter: 2,
        absorbed: 2,
        calendar: 'anniversary:5',
      });
    });

    it('closes a period on a rebuild only once a sample reads its last day', async () => {
      // read up to 31 May: May's last day is read, June is not reached
      await readDays('2013-05-31');
      await fx.mod.usagePeriods.rebuild(S, CLI_ACTOR);
      const ps = await knex('mod_overusage_periods').where({ service_id: S }).orderBy('start_date');
      expect(ps.map((p) => [String(p.start_date), p.status, p.closed_at === null])).to.deep.equal([
        ['2013-05-01', 'closed', false],
      ]);
      // the open period metering goes on from is still May until a sample of June comes
      const svc = await knex('mod_overusage_services').where({ service_id: S }).first();
      expect([String(svc.open_period_start), toBig(svc.open_period_used_bytes)]).to.deep.equal([
        '2013-05-01',
        120n * GB,
      ]);
    });
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (err: { code?: string; message: string; details?: unknown }) => ({
          code: err.code,
          message: err.message,
          details: err.details,
        }),
      );

    it('lists the open anomalies by default, newest first, a page at a time', async () => {
      await readDays();
      // open: S's drop of 7 June, U's reset not seen of 1 June (T's was resolved by its late reset)
      const open = readablePage(await fx.mod.usagePeriods.anomalies({}));
      expect(open.rows.map((a) => [a.serviceId, a.kind, a.status])).to.deep.equal([
        [S, 'mid_period_drop', 'open'],
        [U, 'reset_not_seen', 'open'],
      ]);
      expect(open.next).to.equal(null);
      // all five, two a page: 2 + 2 + 1, each page's cursor the last id it gave
      const all = await knex('mod_overusage_anomalies').orderBy('id', 'desc').pluck('id');
      const first = readablePage(await fx.mod.usagePeriods.anomalies({ status: 'all' }, { limit: 2 }));
      expect(first.rows.map((a) => a.id)).to.deep.equal(all.slice(0, 2).map(toNum));
      expect(first.next).to.equal(String(toNum(all[1])));
      const second = readablePage(
        await fx.mod.usagePeriods.anomalies({ status: 'all' }, { limit: 2, before: Number(first.next) }),
      );
      expect(second.rows.map((a) => a.id)).to.deep.equal(all.slice(2, 4).map(toNum));
      expect(second.next).to.equal(String(toNum(all[3])));
      const third = readablePage(
        await fx.mod.usagePeriods.anomalies({ status: 'all' }, { limit: 2, before: Number(second.next) }),
      );
      expect(third.rows.map((a) => a.id)).to.deep.equal(all.slice(4).map(toNum));
      expect(third.next).to.equal(null);
    });

    it('gives no next page when a page holds exactly the last anomalies', async () => {
      await readDays();
      // S has two: the long gap and the drop
      const page = readablePage(
        await fx.mod.usagePeriods.anomalies({ serviceId: S, status: 'all' }, { limit: 2 }),
      );
      expect(page.rows.map((a) => a.kind)).to.deep.equal(['mid_period_drop', 'long_gap']);
      expect(page.next).to.equal(null);
    });

    it('says what waits for an admin: the undecided drops', async () => {
      await readDays();
      expect(await fx.mod.usagePeriods.waiting()).to.deep.equal({ anomalies: 1, corrections: 0 });
    });

    it('names an anomaly that does not exist', async () => {
      expect(await refusal(fx.mod.usagePeriods.anomaly(999))).to.deep.include({
        code: 'NOT_FOUND',
        message: 'anomaly 999 does not exist',
      });
      expect(
        await refusal(fx.mod.usagePeriods.decide(999, { decision: 'reset', reason: 'its log' }, CLI_ACTOR)),
      ).to.deep.include({ code: 'NOT_FOUND', message: 'anomaly 999 does not exist' });
    });

    it('refuses a decision that is neither a reset nor a correction', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      const out = await refusal(
        fx.mod.usagePeriods.decide(drop!.id, { decision: 'maybe' as 'reset', reason: 'its log' }, CLI_ACTOR),
      );
      expect(out).to.deep.include({ code: 'INVALID_INPUT' });
      expect(out!.message).to.match(/^decision must be "reset" .* or "correction"/);
    });

    it('asks for a reason of at least 3 characters, spaces around it not counted', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      for (const reason of ['  ab  ', 42 as unknown as string]) {
        const out = await refusal(
          fx.mod.usagePeriods.decide(drop!.id, { decision: 'reset', reason }, CLI_ACTOR),
        );
        expect(out, String(reason)).to.deep.include({
          code: 'INVALID_INPUT',
          message: 'give a reason for the decision (what you checked on the master), at least 3 characters',
        });
      }
      // three characters are enough, kept trimmed
      const out = await fx.mod.usagePeriods.decide(
        drop!.id,
        { decision: 'reset', reason: ' log ' },
        CLI_ACTOR,
      );
      expect([out.anomaly.status, out.anomaly.decision, out.bookedBytes]).to.deep.equal([
        'decided',
        'reset',
        12n * GB,
      ]);
      const audit = await knex('mod_overusage_audit').where({ action: 'anomaly.decided' }).first();
      expect(JSON.parse(String(audit.details))).to.deep.equal({
        serviceId: S,
        periodId: drop!.periodId,
        decision: 'reset',
        bookedBytes: String(12n * GB),
        reason: 'log',
      });
    });

    it('keeps the first 2000 characters of a long reason', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await fx.mod.usagePeriods.decide(
        drop!.id,
        { decision: 'correction', reason: 'x'.repeat(2500) },
        CLI_ACTOR,
      );
      const audit = await knex('mod_overusage_audit').where({ action: 'anomaly.decided' }).first();
      expect((JSON.parse(String(audit.details)) as { reason: string }).reason).to.equal('x'.repeat(2000));
    });

    it('tells an anomaly that is not a drop, it asks no decision', async () => {
      await readDays();
      const gap = readablePage(
        await fx.mod.usagePeriods.anomalies({ serviceId: S, status: 'all' }),
      ).rows.find((a) => a.kind === 'long_gap')!;
      expect(
        await refusal(
          fx.mod.usagePeriods.decide(gap.id, { decision: 'reset', reason: 'its log' }, CLI_ACTOR),
        ),
      ).to.deep.include({
        code: 'CONFLICT',
        message: 'a long gap is told, not decided: only a counter drop in mid-period asks for a decision',
      });
    });

    it('refuses to decide a drop twice, naming the first decision', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await fx.mod.usagePeriods.decide(drop!.id, { decision: 'reset', reason: 'its log' }, CLI_ACTOR);
      expect(
        await refusal(
          fx.mod.usagePeriods.decide(drop!.id, { decision: 'correction', reason: 'no, a fix' }, CLI_ACTOR),
        ),
      ).to.deep.equal({
        code: 'CONFLICT',
        message: `anomaly ${drop!.id} was already decided (reset)`,
        details: { decision: 'reset' },
      });
      // June still counts the 12 GB once: 5 + 3 + 12 + 12 + 3 = 35 GB
      const june = await knex('mod_overusage_periods')
        .where({ service_id: S, start_date: '2013-06-01' })
        .first();
      expect(toBig(june.used_bytes)).to.equal(35n * GB);
    });

    it('refuses to decide a drop whose interval is gone', async () => {
      await readDays();
      const [drop] = readablePage(await fx.mod.usagePeriods.anomalies({ serviceId: S })).rows;
      await knex('mod_overusage_anomalies').where({ id: drop!.id }).update({ interval_id: null });
      expect(
        await refusal(
          fx.mod.usagePeriods.decide(drop!.id, { decision: 'reset', reason: 'its log' }, CLI_ACTOR),
        ),
      ).to.deep.include({
        code: 'UNEXPECTED_STATE',
        message: `the interval of anomaly ${drop!.id} is gone or was decided already`,
      });
    });

    it('rebuilds once, at upgrade, the services whose periods were made before the billing calendar', async () => {
      await readDays();
      // S and T were metered by a version before the calendar; U is already on it
      await knex('mod_overusage_services').whereIn('service_id', [S, T]).update({ calendar_version: 0 });
      const reports = await fx.mod.usagePeriods.rebuildPending(CLI_ACTOR);
      // 8 samples of S (29 May – 2 June, 6 – 8 June), 7 of T (29 May – 4 June); May and June each
      expect(reports.map((r) => [r.serviceId, r.samples, r.periodsAfter])).to.deep.equal([
        [S, 8, 2],
        [T, 7, 2],
      ]);
      const versions = await knex('mod_overusage_services').orderBy('service_id').pluck('calendar_version');
      expect(versions.map(Number)).to.deep.equal([1, 1, 1]);
      expect(await fx.mod.usagePeriods.rebuildPending(CLI_ACTOR)).to.deep.equal([]);
    });

    it('shows each period with its own anomalies, newest first', async () => {
      await readDays();
      // S: none in May; the long gap (6 June) and the drop (7 June) in June
      const views = readable(await fx.mod.usagePeriods.periods(S));
      expect(
        views.map((v) => [
          v.start,
          v.state,
          v.usedBytes,
          readable(v.anomalies)
            .map((a) => a.kind)
            .sort(),
        ]),
      ).to.deep.equal([
        ['2013-06-01', 'open', 23n * GB, ['long_gap', 'mid_period_drop']],
        ['2013-05-01', 'closed', 120n * GB, []],
      ]);
    });

    it('names a service that is not metered here when asked to rebuild it', async () => {
      expect(await refusal(fx.mod.usagePeriods.rebuild(999, CLI_ACTOR))).to.deep.include({
        code: 'NOT_FOUND',
        message: 'service 999 is not metered here',
      });
    });
  },
);
