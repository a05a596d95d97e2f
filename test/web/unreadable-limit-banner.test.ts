import { expect } from 'chai';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import { ANN, GB, loggedWebStory, login, pageText } from '../support/web-story.js';

const LA = 'mod_overusage_limit_actions';
const SUSPENDED = 'The allowance is used up: this VPS is suspended until the next period starts.';
const TOLD = "On 5 June 2013 we told you this period's traffic had reached 100 % of the allowance.";

/**
 * Ann's page when the limit action of HER service cannot be read. Ann (test/support/web-story.ts:
 * vps1.example.net, 450 GB of 5 000 GB in June as of the 3rd) is held to "suspend at the
 * allowance"; on 5 June at 21:50Z her counter reads 5 000 GB, 5 000 of 5 000 GB = 100 %: the watch
 * sends the 100 % notice and suspends VPS 101; her page says both. Her action row's action is then
 * edited by hand to a word the module does not write ('explode'). Before: the banner's read threw,
 * the page lost the whole banner (the notice too) and the log line (widget.banner_failed) carried
 * the stored word. Now the page still tells the 100 % notice, claims nothing about the VPS's state
 * from that row (no older row is read in its place), and the operator gets limit.row_unreadable
 * naming the table, the row's id and the column, never the value.
 */
describeEachEngine("the client's page when her service's limit action cannot be read", ({ db }) => {
  const w = loggedWebStory(db);

  it('tells the notice, claims no suspension, and names the row to the operator', async () => {
    const knex = db().knex;
    const s = w.s;
    await s.mod.billing.setServiceOverride(
      s.ann.serviceId,
      { limitPolicy: { action: 'suspend' } },
      CLI_ACTOR,
    );
    s.f.clock.set('2013-06-05T21:50:00Z');
    s.fake.set('101', 5000n * GB);
    await s.mod.metering.collect();
    await s.mod.watchUsage({ collected: true });
    expect(s.fake.actions).to.deep.equal(['suspend 101']);
    const { agent } = await login(s.app, ANN);
    const before = pageText((await agent.get('/index.php?m=overusage').expect(200)).text);
    expect(before).to.include(SUSPENDED);
    expect(before).to.include(TOLD);

    const row = await knex(LA).where({ service_id: s.ann.serviceId }).first('id');
    await knex(LA).where({ id: row.id }).update({ action: 'explode' });
    w.logged.length = 0;
    const res = await agent.get('/index.php?m=overusage');
    expect(res.status).to.equal(200);
    const t = pageText(res.text);
    expect(t).to.include(TOLD);
    expect(t).not.to.include(SUSPENDED);
    expect(t).not.to.include('explode');
    expect(t).not.to.include(LA);
    expect(w.unreadable('limit.row_unreadable')).to.deep.equal([[LA, toNum(row.id), `${LA}.action`]]);
    expect(w.logged.filter((l) => l.event === 'widget.banner_failed')).to.deep.equal([]);
    expect(JSON.stringify(w.logged)).not.to.include('explode');
  });
});
