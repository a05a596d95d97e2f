import { expect } from 'chai';
import type { Knex } from 'knex';
import { daysCsv, evidenceJson, samplesCsv } from '../../module/services/evidence.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, GB, type BillingStory } from '../support/billing-story.js';

describeEachEngine('evidence and upgrade suggestions', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
  });

  async function renew(): Promise<number> {
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    return toNum((await knex('mod_overusage_lines').first('id')).id);
  }

  it("gives each line's daily figures and raw samples, summing exactly to the billed bytes", async () => {
    await closeMay(s);
    const lineId = await renew();
    const e = await s.mod.evidence.forLine(lineId);
    expect(e.days).to.have.length(31);
    const sum = e.days.reduce((a, d) => a + d.bytes, 0n);
    expect(sum).to.equal(6000n * GB);
    expect(sum).to.equal(e.rated.usedBytes);
    expect(e.rated.overBytes).to.equal(1000n * GB);
    // before metering began on 30 May the split is an estimate; 31 May was measured
    expect(e.days[0]!.estimatedBytes > 0n).to.equal(true);
    expect(e.days[30]!).to.deep.include({ date: '2013-05-31', bytes: 100n * GB, estimatedBytes: 0n });
    const csv = daysCsv(e).trim().split('\r\n');
    expect(csv[0]).to.equal('date,bytes,estimated_bytes,measured,note');
    expect(csv).to.have.length(32);
    expect(csv.slice(1).reduce((a, r) => a + BigInt(r.split(',')[1]!), 0n)).to.equal(6000n * GB);
    expect(samplesCsv(e)).to.include('bandwidth=0,6000000000000,0,0');
    expect(JSON.parse(evidenceJson(e)).line.deadlineLastDay).to.equal('2013-06-16');
  });

  it("shows a client only their own line's evidence", async () => {
    await closeMay(s);
    const lineId = await renew();
    await s.mod.evidence.forLine(lineId, { clientId: s.story.clientId });
    try {
      await s.mod.evidence.forLine(lineId, { clientId: s.story.dutchClientId });
      expect.fail('another client read the evidence');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('NOT_FOUND');
    }
  });

  /** March, April and May over 5 TB for the English client: each month ends at 6 TB and resets on the 1st. */
  async function threeMonthsOver(): Promise<void> {
    for (const [end, next] of [
      ['2013-03-31', '2013-04-01'],
      ['2013-04-30', '2013-05-01'],
      ['2013-05-31', '2013-06-01'],
    ]) {
      s.f.clock.set(`${end}T21:50:00Z`);
      s.fake.set('101', 6000n * GB);
      s.fake.set('102', 10n * GB);
      await s.mod.metering.collect();
      s.f.clock.set(`${next}T21:50:00Z`);
      s.fake.set('101', 100n * GB);
      s.fake.set('102', 1n * GB);
      await s.mod.metering.collect();
    }
  }

  it('suggests a bigger plan after three periods over the allowance in a row, once', async () => {
    await threeMonthsOver();
    await s.mod.dailyBilling();
    const sent = await knex('tblemails').where('subject', 'like', '%bigger plan%');
    expect(sent).to.have.length(1);
    expect(toNum(sent[0].userid)).to.equal(s.story.clientId);
    expect(sent[0].message).to.match(/3 months/);
    const admin = await knex('tblemails').where('subject', 'like', 'Overusage:%periods in a row');
    expect(admin).to.have.length(1);
    await s.mod.dailyBilling();
    expect(await knex('tblemails').where('subject', 'like', '%bigger plan%')).to.have.length(1);
    // the Dutch client stayed within the allowance: no suggestion
    expect(await knex('mod_overusage_notices').where({ service_id: s.story.dutchServiceId })).to.have.length(
      0,
    );
  });

  it("escapes the client's name in the admin's copy of the suggestion", async () => {
    // a client chooses their own name: in the admin's HTML it is text, never markup
    await knex('tblclients')
      .where({ id: s.story.clientId })
      .update({ firstname: 'Eve <img src=x onerror=alert(1)>', lastname: "O'Hara & Co" });
    await threeMonthsOver();
    await s.mod.dailyBilling();
    const admin = await knex('tblemails').where('subject', 'like', 'Overusage:%periods in a row');
    expect(admin).to.have.length(1);
    const html = String(admin[0].message);
    expect(html).to.include('of Eve &lt;img src=x onerror=alert(1)&gt; O&#39;Hara &amp; Co was over');
    expect(html).not.to.include('<img src=x');
  });
});
