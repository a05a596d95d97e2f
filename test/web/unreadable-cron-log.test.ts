import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { GB, loggedWebStory } from '../support/web-story.js';

const P = 'mod_overusage_billing_profiles';
const BAD = 'h108-planted-not-json-QL47';

/**
 * The 5-minute cron when the billing settings of Ann's plan cannot be read, as the operator reads
 * its log. The story (test/support/web-story.ts): Ann and Jan on the 5 TB plan, the clock at
 * 5 June. Her plan's settings are edited by hand into `BAD`, text that is no JSON. At 21:50Z
 * (23:50 in Brussels, the sampling time) the panel runs AfterCronJob: the collect reads both
 * VPSes (Ann's counter at 5 000 GB), then the usage watch: the panel's bandwidth fields and the
 * watch read the plan's settings, and that read is refused.
 * Before: panel_fields.failed and hook.after_cron.watch_failed logged the refusal's message, which
 * repeats the stored text. Now each names the column and why, and no log line holds the text.
 */
describeEachEngine('the cron’s log when a plan’s billing settings cannot be read', ({ db }) => {
  const w = loggedWebStory(db);

  it('logs panel_fields.failed and hook.after_cron.watch_failed with the column and reason, not the text', async function () {
    this.timeout(30_000);
    const s = w.s;
    await db()
      .knex(P)
      .insert({ product_id: s.story.productId, settings: BAD, updated_at: '2013-06-04 08:00:00.000' })
      .onConflict('product_id')
      .merge();
    w.logged.length = 0;
    s.f.clock.set('2013-06-05T21:50:00Z');
    s.fake.set('101', 5000n * GB);
    await s.f.panel.hooks.run('AfterCronJob', {});
    // the collect still ran: both VPSes read
    const collect = w.logged.filter((l) => l.event === 'hook.after_cron.collect');
    expect(collect.map((l) => [l.date, l.read, l.failed])).to.deep.equal([['2013-06-05', 2, 0]]);
    const failed = w.logged.filter(
      (l) => l.event === 'panel_fields.failed' || l.event === 'hook.after_cron.watch_failed',
    );
    expect(failed.map((l) => [l.level, l.event, l.column, l.reason, l.error])).to.deep.equal([
      ['warn', 'panel_fields.failed', `${P}.settings`, 'not JSON', undefined],
      ['error', 'hook.after_cron.watch_failed', `${P}.settings`, 'not JSON', undefined],
    ]);
    expect(JSON.stringify(w.logged)).not.to.include(BAD);
  });
});
