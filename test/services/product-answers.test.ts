import { expect } from 'chai';
import type { Knex } from 'knex';
import type { PanelParams } from '../../module/adapters/panel-api.js';
import { createProductAnswers } from '../../module/services/product-answers.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, type BillingStory } from '../support/billing-story.js';

/**
 * The double-billing guard asks the panel's GetProducts about a product at most once a minute: the
 * renewals of one cron run share a few products. Against the reference host (which lists
 * `overagesenabled`), an admin switching the panel's own overage billing on is seen within 60 s;
 * against a panel that never lists it (WHMCS), one call a minute tells that it cannot say.
 */
describeEachEngine('the panel’s answer about a product, kept a minute', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
  });
  // the GetProducts calls the answers made through the panel's API
  const asked = () => s.faulty.calls.filter((c) => c === 'call').length;

  it('asks once, keeps the answer 60 s, then sees the flag the admin switched on', async () => {
    const ask = createProductAnswers(s.faulty.api(), s.f.clock);
    s.f.clock.set('2013-06-02T07:00:00Z');
    expect((await ask(s.story.productId))?.overagesenabled).to.equal('');
    // 07:00:30: the admin switches the panel's own overage billing on; the kept answer still says off
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    s.f.clock.set('2013-06-02T07:00:30Z');
    expect((await ask(s.story.productId))?.overagesenabled).to.equal('');
    s.f.clock.set('2013-06-02T07:00:59.999Z');
    expect((await ask(s.story.productId))?.overagesenabled).to.equal('');
    expect(asked()).to.equal(1);
    // 07:01:00, 60 s after the first call: asked again, and the refusal follows from 'GB'
    s.f.clock.set('2013-06-02T07:01:00Z');
    expect((await ask(s.story.productId))?.overagesenabled).to.equal('GB');
    expect(asked()).to.equal(2);
  });

  it('asks again at once after a failed call, and about each product on its own', async () => {
    const ask = createProductAnswers(s.faulty.api(), s.f.clock);
    s.f.clock.set('2013-06-02T07:00:00Z');
    s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
    expect(await ask(s.story.productId)).to.equal(undefined);
    expect((await ask(s.story.productId))?.overagesenabled).to.equal('');
    // an unknown product is listed by no one: asked, and asked again (it may be made meanwhile)
    expect(await ask(9999)).to.equal(undefined);
    expect(asked()).to.equal(3);
    // two deliveries asking side by side share one call
    s.f.clock.set('2013-06-02T08:00:00Z');
    const [a, b] = await Promise.all([ask(s.story.productId), ask(s.story.productId)]);
    expect([a?.overagesenabled, b?.overagesenabled]).to.deep.equal(['', '']);
    expect(asked()).to.equal(4);
  });

  it('against a panel that never lists the flag (WHMCS), asks once a minute for all products', async () => {
    const real = s.faulty.real.call.bind(s.faulty.real);
    s.faulty.real.call = async (action: string, params?: PanelParams) => {
      const res = await real(action, params);
      const products = (res.products as { product: Array<Record<string, unknown>> }).product;
      return { ...res, products: { product: products.map(({ overagesenabled: _, ...p }) => p) } };
    };
    const ask = createProductAnswers(s.faulty.api(), s.f.clock);
    s.f.clock.set('2013-06-02T07:00:00Z');
    // the product, without the flag: the guard then asks the admin to confirm instead
    const first = await ask(s.story.productId);
    expect(first).to.include({ pid: String(s.story.productId) });
    expect(first).to.not.have.property('overagesenabled');
    s.f.clock.set('2013-06-02T07:00:40Z');
    expect(await ask(s.story.productId + 1)).to.equal(undefined);
    expect(await ask(s.story.productId)).to.equal(undefined);
    expect(asked()).to.equal(1);
    // a minute on, asked again (the panel may have been upgraded meanwhile)
    s.f.clock.set('2013-06-02T07:01:00Z');
    expect(await ask(s.story.productId)).to.not.have.property('overagesenabled');
    expect(asked()).to.equal(2);
  });
});
