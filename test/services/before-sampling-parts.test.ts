import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';

/**
 * The work before each sampling (DailyCronJob, with a panel): the panel's sync of the links, then
 * the pools' member sync. The member sync reads the links as stored, so it does not need the
 * panel's sync to have run: when one fails the other still runs, the failure is logged
 * before_sampling.part_failed (nothing skipped), and the first failure is still thrown for the hook.
 * The story (test/support/billing-story.ts): Ann's VPS 101 and Jan's VPS 102, the panel's sync
 * and the member sync each counted as they run (two calls in all when both run).
 * Before: the panel's sync failing stopped the member sync.
 */
describeEachEngine('the work before sampling with one part failing', ({ db }) => {
  let s: BillingStory;
  let logged: Array<Record<string, unknown>>;
  let ran: string[];
  beforeEach(async () => {
    logged = [];
    ran = [];
    s = await buildBillingStory(db().knex, STORY_EUR, { log: logInto(logged) });
    const members = s.mod.pools.syncMembers.bind(s.mod.pools);
    s.mod.pools.syncMembers = (ids) => {
      ran.push('pools.members');
      return members(ids);
    };
    logged.length = 0;
  });
  const parts = () =>
    logged
      .filter((l) => String(l.event).startsWith('before_sampling.'))
      .map((l) => [l.level, l.event, l.part, l.error]);
  const runFails = () =>
    s.mod.beforeSampling!().then(
      () => null,
      (err: Error) => err.message,
    );

  it('runs the member sync when the panel’s sync fails, and still fails with the sync’s error', async () => {
    s.mod.sync!.sync = () => {
      ran.push('panel.sync');
      return Promise.reject(new Error('panel API unreachable'));
    };
    expect(await runFails()).to.equal('panel API unreachable');
    expect(ran).to.deep.equal(['panel.sync', 'pools.members']);
    expect(parts()).to.deep.equal([['warn', 'before_sampling.part_failed', 'panel.sync', 'Error']]);
  });

  it('has run the panel’s sync when the member sync fails, and fails with the member sync’s error', async () => {
    const sync = s.mod.sync!.sync.bind(s.mod.sync);
    s.mod.sync!.sync = () => {
      ran.push('panel.sync');
      return sync();
    };
    s.mod.pools.syncMembers = () => {
      ran.push('pools.members');
      return Promise.reject(new Error('pool spans: connection lost'));
    };
    expect(await runFails()).to.equal('pool spans: connection lost');
    expect(ran).to.deep.equal(['panel.sync', 'pools.members']);
    expect(parts()).to.deep.equal([['warn', 'before_sampling.part_failed', 'pools.members', 'Error']]);
  });
});
