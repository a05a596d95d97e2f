import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, buildWebStory, login, type Agent, type WebStory } from '../support/web-story.js';
import { CLI_ACTOR } from '../support/module-fixture.js';

/**
 * The admin tab's "Pools & caps" page, posted as a browser posts it (the panel's session and CSRF
 * token): a product put in a pool (a bad name refused, nothing saved), the pools as they stand with
 * their figures, a cap set for a client and lifted, all audited under the admin; names escaped.
 *
 * The story (test/support/web-story.ts): Ann and Jan on "VPS 5 TB", each a pool of one once the
 * product pools (pools are per client). June 2013 so far for Ann: 150 GB read on the 1st after the
 * reset, 450 GB on the 3rd → 450 GB of 5 TB = 9.0 %; Jan 270 GB = 5.4 %. Both members for all of
 * June (registered in January): the pool's allowance is the full 5 TB.
 */
const tab = '/admin/addonmodules.php?module=overusage';
const decode = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
const flashOf = (html: string) =>
  decode(/class="ou-flash ou-flash-(?:success|error)[^"]*"[^>]*>([^<]*)</.exec(html)?.[1] ?? '');

describeEachEngine('the admin tab’s pools, caps and upgrades page', ({ db }) => {
  let s: WebStory;
  let agent: Agent;
  let token = '';
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.50', precommit: '0.35' } },
        clientCaps: { actions: ['throttle', 'suspend'], throttleMbps: 10 },
      },
      CLI_ACTOR,
    );
    ({ agent, token } = await login(s.app, ADMIN));
  });
  const post = (form: Record<string, string>) =>
    agent
      .post(`${tab}&a=pools`)
      .type('form')
      .send({ token, ...form })
      .expect(200);

  it('puts a product in a pool (CSRF; a bad name refused, nothing saved) and shows each pool with its figures', async () => {
    const empty = await agent.get(`${tab}&a=pools`).expect(200);
    expect(empty.text).to.include('No product pools its services.');
    expect(empty.text).to.include('No client has services in a pool.');
    const form = { do: 'save_pool', product: String(s.story.productId), pool: 'main', lines: 'per_service' };
    await agent.post(`${tab}&a=pools`).type('form').send(form).expect(403);
    const bad = await post({ ...form, pool: '<b>Main</b>' });
    expect(flashOf(bad.text)).to.match(/a pool name is 1 to 40 lower-case letters, digits, - or _/);
    expect(bad.text).to.not.include('<b>Main</b>');
    expect((await s.mod.billing.getProduct(s.story.productId))!.pool).to.equal(undefined);

    const saved = await post(form);
    expect(flashOf(saved.text)).to.equal('VPS 5 TB pools as "main", billed as a line per VPS.');
    const p = (await s.mod.billing.getProduct(s.story.productId))!;
    // the rest of the product's settings kept: 5 TB = 5 000 000 000 000 B, the caps it offers
    expect([p.pool, p.poolLines, p.allowance, p.clientCaps?.throttleMbps]).to.deep.equal([
      'main',
      'per_service',
      '5000000000000',
      10,
    ]);
    expect(saved.text).to.match(
      /data-pooled-product="\d+"><strong>VPS 5 TB<\/strong> \(#\d+\): pool <code>main<\/code>, billed as a line per VPS/,
    );

    // the cron records who is a member (since the registration day the panel's sync keeps); the
    // page shows each client's pool as it stands
    await db().knex('mod_overusage_services').update({ regdate: '2013-01-09' });
    await s.mod.pools.syncMembers();
    const page = await agent.get(`${tab}&a=pools`).expect(200);
    const rows = [...page.text.matchAll(/<tr data-pool="main">([\s\S]*?)<\/tr>/g)].map((m) =>
      decode(
        m[1]!
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
      ),
    );
    expect(rows).to.have.length(2);
    expect(rows.find((r) => r.startsWith('Ann Admin'))).to.match(
      /main 1\s?–\s?30 June 2013 vps1\.example\.net .*450\.00 GB \(to 3 June 2013\) 5,000\.00 GB 9\.0 %/,
    );
    expect(rows.find((r) => r.startsWith('Jan Peeters'))).to.match(
      /270\.00 GB \(to 3 June 2013\) 5,000\.00 GB 5\.4 %/,
    );
    expect(page.text).to.include('No upgrade suggested yet.');
  });

  it('sets a cap for a client and lifts it, audited under the admin, names escaped', async () => {
    // a hostname with markup in the panel: shown as text, never as markup
    await db()
      .knex('tblhosting')
      .where({ id: s.ann.serviceId })
      .update({ domain: '<img src=x onerror=alert(1)>.example.net' });
    const refused = await post({
      do: 'set_cap',
      service: String(s.ann.serviceId),
      kind: 'money',
      amount: '25.001',
      cap_action: 'throttle',
    });
    expect(flashOf(refused.text)).to.equal('amount has more than 2 decimals');
    expect(await db().knex('mod_overusage_caps')).to.deep.equal([]);
    const set = await post({
      do: 'set_cap',
      service: String(s.ann.serviceId),
      kind: 'money',
      amount: '25.00',
      cap_action: 'throttle',
    });
    expect(flashOf(set.text)).to.equal(
      `Cap of €25.00 set on service ${s.ann.serviceId} (slows the server down when reached).`,
    );
    const row = decode(
      (/<tr data-cap="\d+">([\s\S]*?)<\/tr>/.exec(set.text)?.[1] ?? '')
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
    expect(row).to.match(
      /^Ann Admin #\d+ <img src=x onerror=alert\(1\)>\.example\.net · VPS 5 TB #\d+ €25\.00 slow the server down active \(set 5 June 2013\) Lift$/,
    );
    expect(set.text).to.not.include('<img src=x');
    expect(set.text).to.include('&lt;img src=x onerror=alert(1)&gt;.example.net');

    const lifted = await post({ do: 'lift_cap', service: String(s.ann.serviceId) });
    expect(flashOf(lifted.text)).to.equal(
      `The cap of service ${s.ann.serviceId} is lifted; what it caused is put back.`,
    );
    expect(lifted.text).to.match(
      /€25\.00<\/td><td>slow the server down<\/td>\s*<td>lifted \(set 5 June 2013, lifted 5 June 2013\)/,
    );
    const audit = await db()
      .knex('mod_overusage_audit')
      .whereIn('action', ['cap.set', 'cap.lifted'])
      .orderBy('id')
      .select('action', 'actor_type', 'actor_id');
    expect(audit.map((a) => [a.action, a.actor_type, String(a.actor_id)])).to.deep.equal([
      ['cap.set', 'admin', String(s.adminId)],
      ['cap.lifted', 'admin', String(s.adminId)],
    ]);
  });
});
