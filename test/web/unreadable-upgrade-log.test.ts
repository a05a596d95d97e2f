import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { ANN, login, loggedWebStory } from '../support/web-story.js';

const P = 'mod_overusage_billing_profiles';
const BAD = 'h107-planted-not-json-ZX81';

/**
 * Ann's widget when another product's stored billing settings cannot be read. The story
 * (test/support/web-story.ts): Ann on the 5 TB plan, 6 TB used in May; she was sent an upgrade
 * suggestion on 4 June, and her plan is priced €19.95 a month. A product 999 gets settings edited by hand into `BAD`, text that is no
 * JSON: the bigger plans are listed (listProducts) to price her upgrade, and that read is refused.
 * Before: `widget.upgrade_failed` logged the refusal's message, which repeats the stored text.
 * Now the page shows without the suggestion and the line names the column and why, never the text.
 */
describeEachEngine('the widget’s upgrade with a product’s settings that cannot be read', ({ db }) => {
  const w = loggedWebStory(db);

  it('logs widget.upgrade_failed with the column and the reason, not the stored text', async function () {
    this.timeout(30_000);
    const knex = db().knex;
    await knex('mod_overusage_notices').insert({
      service_id: w.s.ann.serviceId,
      client_id: w.s.ann.clientId,
      kind: 'upgrade_suggestion',
      notice_key: 'period:1',
      status: 'sent',
      created_at: '2013-06-04 08:00:00.000',
    });
    // her plan priced €19.95 a month on the panel, so a bigger plan is looked for
    const eur = await knex('tblcurrencies').where({ code: 'EUR' }).first('id');
    await knex('tblpricing').insert({
      type: 'product',
      currency: eur.id,
      relid: w.s.story.productId,
      monthly: '19.95',
    });
    await knex(P).insert({ product_id: 999, settings: BAD, updated_at: '2013-06-04 08:00:00.000' });
    w.logged.length = 0;
    const { agent } = await login(w.s.app, ANN);
    const page = await agent.get('/index.php?m=overusage');
    expect(page.status).to.equal(200);
    const failed = w.logged.filter((l) => l.event === 'widget.upgrade_failed');
    expect(failed.map((l) => [l.level, l.serviceId, l.column, l.reason, l.error])).to.deep.equal([
      ['warn', w.s.ann.serviceId, `${P}.settings`, 'not JSON', undefined],
    ]);
    expect(JSON.stringify(w.logged)).not.to.include(BAD);
  });
});
