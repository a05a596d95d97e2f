import { expect } from 'chai';
import request from 'supertest';
import { createAdmin, createApiCredential } from '../../panel/index.js';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { ZONE } from './support.js';
import { adminLogin, buildWeb, tokenOf, type WebFixture } from './web-support.js';

/**
 * Setup › Promotions (issue 19; WHMCS has no API command to make a promotion): a full
 * administrator adds a code on the page, and AddOrder over /includes/api.php (php-cli body) applies
 * it. The story's product "VPS 5 TB" (id 1) is renamed with markup to show it is escaped; the
 * clock stands at 09:30 UTC on 20 January 2025.
 */
describeEachEngine('admin page: Promotions (issue 19)', ({ db }) => {
  let w: WebFixture;

  beforeEach(async function () {
    needPhp(this);
    w = await buildWeb(db().knex);
    await w.knex('tblproducts').where({ id: w.story.productId }).update({ name: 'VPS <b>5 TB</b>' });
    await w
      .knex('tblpricing')
      .insert({ type: 'product', currency: 1, relid: w.story.productId, monthly: '20.00' });
  });

  const form = (token: string, extra: Record<string, string>) => ({
    token,
    code: 'NEWYEAR',
    type: 'Percentage',
    value: '25',
    [`product_${w.story.productId}`]: 'on',
    cycle_monthly: 'on',
    expirationdate: '2025-01-31',
    maxuses: '10',
    ...extra,
  });

  it('adds a code for the ticked product and cycle that AddOrder then applies: 25 % of €20.00 = €5.00 off', async () => {
    const { agent } = await adminLogin(w.app);
    const empty = await agent.get('/admin/configpromotions.php').expect(200);
    expect(empty.text).to.include('No promotions.');
    // the product's name is text, not markup
    expect(empty.text).to.include('VPS &lt;b&gt;5 TB&lt;/b&gt;').and.not.include('<b>5 TB</b>');
    await agent
      .post('/admin/configpromotions.php')
      .type('form')
      .send(form(tokenOf(empty.text), {}))
      .expect(303);
    const listed = await agent.get('/admin/configpromotions.php').expect(200);
    const row = /<tr data-code="NEWYEAR">(.*?)<\/tr>/s.exec(listed.text)![1]!;
    expect(row.replace(/<[^>]+>/g, '|').replace(/\|+/g, '|')).to.equal(
      '|NEWYEAR|Percentage|25.00%|First invoice|VPS &lt;b&gt;5 TB&lt;/b&gt;|Monthly|— → 2025-01-31|0 / 10|',
    );
    expect(
      (
        await w
          .knex('tblactivitylog')
          .where('description', 'like', 'Promotion Created%')
          .select('description')
      ).map((r) => r.description),
    ).to.deep.equal(['Promotion Created - Code: NEWYEAR']);

    const cred = await createApiCredential(
      w.knex,
      { adminId: w.adminId, description: 'tests' },
      w.clock.now(),
      ZONE,
    );
    const body = phpBuildQuery({
      action: 'AddOrder',
      clientid: w.story.clientId,
      paymentmethod: 'banktransfer',
      pid: [w.story.productId],
      billingcycle: ['monthly'],
      promocode: 'newyear',
      noemail: true,
      identifier: cred.identifier,
      secret: cred.secret,
      responsetype: 'json',
    });
    const placed = (await request(w.app).post('/includes/api.php').type('form').send(body).expect(200))
      .body as Record<string, string>;
    expect(placed).to.include({ result: 'success' });
    const inv = await w
      .knex('tblinvoiceitems')
      .where({ invoiceid: Number(placed.invoiceid) })
      .orderBy('id')
      .select('type', 'amount');
    // 20.00 − 25 % (5.00) = 15.00
    expect(inv.map((i) => [i.type, i.amount])).to.deep.equal([
      ['Hosting', '20.00'],
      ['PromoHosting', '-5.00'],
    ]);
  });

  it('refuses a bad value, a bad date, a taken code and a missing token, and a non-full admin gets 403', async () => {
    const { agent } = await adminLogin(w.app);
    const token = tokenOf((await agent.get('/admin/configpromotions.php').expect(200)).text);
    const bad = await agent
      .post('/admin/configpromotions.php')
      .type('form')
      .send(form(token, { value: '150' }))
      .expect(400);
    expect(bad.text).to.include(
      'a Percentage promotion&#39;s value must be above 0 and at most 100, not &#34;150&#34;',
    );
    await agent
      .post('/admin/configpromotions.php')
      .type('form')
      .send(form(token, { expirationdate: '31/01/2025' }))
      .expect(400);
    await agent.post('/admin/configpromotions.php').type('form').send(form(token, {})).expect(303);
    const taken = await agent
      .post('/admin/configpromotions.php')
      .type('form')
      .send(form(token, { code: 'newyear' }))
      .expect(409);
    expect(taken.text).to.include('The promotion code newyear already exists.');
    await agent
      .post('/admin/configpromotions.php')
      .type('form')
      .send({ ...form('', {}), code: 'NOTOKEN' })
      .expect(403);
    expect(await w.knex('tblpromotions').count({ n: '*' })).to.satisfy(
      (r: Array<{ n: unknown }>) => Number(r[0]!.n) === 1,
    );
    await createAdmin(
      w.knex,
      { username: 'support', password: 'support-password', roleid: 2 },
      w.clock.now(),
      ZONE,
    );
    const support = await adminLogin(w.app, { username: 'support', password: 'support-password' });
    await support.agent.get('/admin/configpromotions.php').expect(403);
  });
});
