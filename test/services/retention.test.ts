import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { CLI_ACTOR, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/**
 * overusage prune (issue 22) on the seed story: two VPSs sampled on 30 May, 31 May and 1 June
 * 2013 (six samples). The English VPS (server 101) ends May at 6 TB, 1 TB over its 5 TB: billed
 * on the renewal of 2 June (€500.00). The Dutch one (102) ends May at 4 TB: nothing billed. On
 * 1 June both counters were reset, so June is an open period for both.
 *
 * Per VPS: May's period sums the interval up to 30 May (5 900 GB, resp. 3 900 GB) and 30 → 31 May
 * (100 GB): 6 000 GB and 4 000 GB; June's open period holds the interval from the 31 May reading
 * to the 1 June one, after the reset (150 GB and 90 GB).
 *
 * Pruned on 1 August 2014 with the defaults (13 months: samples of days before 2013-07-01 go;
 * evidence 7 years: from 2007-08-01 on it stays): all six samples are old. Kept: both VPSs' 31 May
 * and 1 June (June's open period starts from the one and ends at the other), and the English VPS's
 * 30 May (the billed line's evidence; its 31 May is evidence too, counted once under the open
 * period). Deleted: the Dutch VPS's 30 May (nothing billed). 6 examined, 1 deleted, 1 kept as
 * billed, 4 kept for open periods.
 */
describeEachEngine('overusage prune: raw samples go, evidence and totals stay', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let lineId: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    lineId = toNum(line.id);
    s.f.clock.set('2014-08-01T08:00:00Z');
  });

  const samplesOf = async (ref: string) =>
    (
      await knex('mod_overusage_samples')
        .where({ server_ref: ref })
        .orderBy('sample_date')
        .select('sample_date')
    ).map((r) =>
      String(r.sample_date instanceof Date ? r.sample_date.toISOString().slice(0, 10) : r.sample_date).slice(
        0,
        10,
      ),
    );
  const totals = async () =>
    (
      await knex('mod_overusage_periods')
        .orderBy(['service_id', 'start_date'])
        .select('service_id', 'used_bytes')
    ).map((r) => [toNum(r.service_id), String(r.used_bytes)]);
  const intervalSum = async () =>
    (await knex('mod_overusage_intervals').orderBy('id').select('bytes')).map((r) => String(r.bytes));

  it('keeps the billed line evidence, the open periods and every total; drops the rest; a dry run drops nothing', async () => {
    const before = {
      totals: await totals(),
      intervals: await intervalSum(),
      evidence: await s.mod.evidence.forLine(lineId),
    };
    // May: 6 000 GB and 4 000 GB (in bytes: × 10^9); June so far: 150 GB and 90 GB
    expect(before.totals.map((t) => t[1])).to.deep.equal([
      '6000000000000',
      '150000000000',
      '4000000000000',
      '90000000000',
    ]);
    expect(before.evidence.samples).to.have.length(2);

    const dry = await s.mod.retention.prune({ dryRun: true, actor: CLI_ACTOR });
    expect(dry).to.deep.equal({
      dryRun: true,
      cutoff: '2013-07-01',
      evidenceCutoff: '2007-08-01',
      examined: 6,
      deleted: 1,
      keptBilled: 1,
      keptDisputed: 0,
      keptOpenOrLatest: 4,
    });
    expect(
      await knex('mod_overusage_samples')
        .count({ n: '*' })
        .first()
        .then((r) => Number(r!.n)),
    ).to.equal(6);

    const done = await s.mod.retention.prune({ actor: CLI_ACTOR });
    expect(done).to.deep.equal({ ...dry, dryRun: false });
    expect(await samplesOf('101')).to.deep.equal(['2013-05-30', '2013-05-31', '2013-06-01']);
    expect(await samplesOf('102')).to.deep.equal(['2013-05-31', '2013-06-01']);
    // every total and daily figure as before, and the line's evidence whole
    expect(await totals()).to.deep.equal(before.totals);
    expect(await intervalSum()).to.deep.equal(before.intervals);
    expect(await s.mod.evidence.forLine(lineId)).to.deep.equal(before.evidence);
    // audited, with the report
    const audit = await knex('mod_overusage_audit').where({ action: 'samples.pruned' }).select('details');
    expect(audit).to.have.length(1);
    expect(JSON.parse(String(audit[0].details))).to.deep.include({ deleted: 1, keptBilled: 1 });
    // again: nothing more to drop
    expect((await s.mod.retention.prune({ actor: CLI_ACTOR })).deleted).to.equal(0);
  });

  it('past the evidence years the billed samples go too, unless the line is under an open dispute', async () => {
    // evidence kept 1 year: from 2013-08-01 on; May 2013 is older: both 30 May go (the 31 May and
    // 1 June readings stay for June's open period)
    const undisputed = await s.mod.retention.prune({ dryRun: true, evidenceYears: 1, actor: CLI_ACTOR });
    expect(undisputed).to.deep.include({
      evidenceCutoff: '2013-08-01',
      examined: 6,
      deleted: 2,
      keptBilled: 0,
      keptDisputed: 0,
      keptOpenOrLatest: 4,
    });
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I dispute this',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
    s.f.clock.set('2014-08-01T08:00:00Z');
    const disputed = await s.mod.retention.prune({ evidenceYears: 1, actor: CLI_ACTOR });
    // under dispute, the English 30 May stays; only the Dutch one goes
    expect(disputed).to.deep.include({
      examined: 6,
      deleted: 1,
      keptBilled: 0,
      keptDisputed: 1,
      keptOpenOrLatest: 4,
    });
    expect(await samplesOf('101')).to.deep.equal(['2013-05-30', '2013-05-31', '2013-06-01']);
    expect((await s.mod.evidence.forLine(lineId)).samples).to.have.length(2);
  });

  it('refuses a retention under one month or one year with a clear error, deleting nothing', async () => {
    for (const opts of [{ keepMonths: 0 }, { evidenceYears: 0 }, { keepMonths: 1.5 }]) {
      let err: unknown = null;
      await s.mod.retention.prune({ ...opts, actor: CLI_ACTOR }).catch((e: unknown) => (err = e));
      expect(err).to.have.property('code', 'INVALID_INPUT');
    }
    expect(
      await knex('mod_overusage_samples')
        .count({ n: '*' })
        .first()
        .then((r) => Number(r!.n)),
    ).to.equal(6);
  });
});
