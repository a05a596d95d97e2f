import { expect } from 'chai';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { addProduct } from '../../panel/records.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, buildWebStory, login, type Agent, type WebStory } from '../support/web-story.js';

/**
 * The admin tab's forms, posted as a browser posts them (the panel's session and CSRF token): a
 * product's billing settings field by field, each refusal shown beside its field with nothing
 * saved; a SolusVM master added, tested (against the simulator, through the real client), edited
 * and removed, its secrets never in a page.
 */
const tab = '/admin/addonmodules.php?module=overusage';

const decode = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
/** the refusal printed beside a field, or null */
const errorFor = (html: string, field: string): string | null => {
  const m = new RegExp(
    `<p class="ou-field-error[^"]*" id="err-${field}" data-error-for="${field}">([^<]*)</p>`,
  ).exec(html);
  return m ? decode(m[1]!) : null;
};
const allErrors = (html: string): Record<string, string> =>
  Object.fromEntries(
    [...html.matchAll(/data-error-for="([^"]+)">([^<]*)<\/p>/g)].map((m) => [m[1]!, decode(m[2]!)]),
  );

/** every field of the product form, filled as an admin would for a new SolusVM 2 product */
const FULL: Record<string, string> = {
  enabled: 'on',
  unit: 'GiB',
  allowance_kind: 'bytes',
  allowance: '1.5',
  allowance_unit: 'TiB',
  tolerance: '10',
  tolerance_unit: 'GiB',
  model: 'per_block',
  block_units: '100',
  commit_mbps: '',
  cur_1: 'eur',
  overage_1: '0.45',
  precommit_1: '0.30',
  minimum_1: '5.00',
  cap_1: '250.00',
  cur_2: 'USD',
  overage_2: '0.55',
  precommit_2: '',
  minimum_2: '',
  cap_2: '',
  cur_3: '',
  overage_3: '',
  precommit_3: '',
  minimum_3: '',
  cap_3: '',
  taxed: 'on',
  panel_overage_off: 'on',
  window_days: '10',
  window_counting: 'business',
  window_holidays: 'NL',
  unpicked_policy: 'next_renewal',
  unpicked_days: '20',
  upgrade_after: '4',
  thresholds: '75, 100 %, 90',
  limit_action: 'throttle',
  throttle_mbps: '10',
  restore_mbps: '0',
  throttle_plan: '',
};

describeEachEngine('the admin tab’s product form', ({ db }) => {
  let s: WebStory;
  let agent: Agent;
  let token = '';
  let productId = 0;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
    productId = await addProduct(
      db().knex,
      { name: 'VPS 1.5 TiB', servertype: 'solusvmpro', tax: true },
      s.f.clock.now(),
      'Europe/Brussels',
    );
    ({ agent, token } = await login(s.app, ADMIN));
  });

  const post = (form: Record<string, string>, id: number | null = productId) =>
    agent
      .post(`${tab}&a=product${id === null ? '' : `&id=${id}`}`)
      .type('form')
      .send({ token, do: 'save_product_form', product: id === null ? '' : String(id), ...form })
      .expect(200);

  it('shows every field for a product not billed yet, and saves them all', async () => {
    const page = await agent.get(`${tab}&a=product&id=${productId}`).expect(200);
    for (const f of Object.keys(FULL)) expect(page.text, f).to.match(new RegExp(`name="${f}"`));
    expect(page.text).to.include('Billing of VPS 1.5 TiB');
    const saved = await post(FULL);
    expect(allErrors(saved.text)).to.deep.equal({});
    expect(decode(saved.text)).to.include(`Billing settings of product ${productId} saved.`);
    const p = await s.mod.billing.getProduct(productId);
    // 1.5 TiB = 1.5 × 1024⁴ = 1 649 267 441 664 bytes; 10 GiB = 10 × 1024³ = 10 737 418 240
    expect(p).to.deep.include({
      enabled: true,
      unit: 'GiB',
      model: 'per_block',
      blockUnits: 100,
      allowance: '1649267441664',
      tolerance: '10737418240',
      prorate: false,
      taxed: true,
      panelOverageOff: true,
      window: { days: 10, counting: 'business', holidays: 'NL' },
      unpicked: { policy: 'next_renewal', afterDays: 20 },
      upgradeAfterPeriods: 4,
      thresholds: [75, 90, 100],
      limitPolicy: { action: 'throttle', throttleMbps: 10, restoreMbps: 0 },
    });
    expect(p!.prices).to.deep.equal({
      EUR: { overage: '0.45', precommit: '0.30', minimum: '5.00', cap: '250.00' },
      USD: { overage: '0.55' },
    });
    // shown back exactly: 1.5 TiB is not a whole number of TiB, so 1536 GiB (1.5 × 1024)
    const again = await agent.get(`${tab}&a=product&id=${productId}`).expect(200);
    expect(again.text).to.match(/name="allowance" value="1536"/);
    expect(again.text).to.match(/name="allowance_unit"[^>]*>[\s\S]*?<option selected>GiB<\/option>/);
    expect(again.text).to.match(/name="thresholds" value="75, 90, 100"/);
    expect(again.text).to.match(/name="cur_2" value="USD"/);
    // the settings page's summary reads it in words
    const settings = decode((await agent.get(`${tab}&a=settings`).expect(200)).text);
    expect(settings).to.include('per started block of 100 GiB');
  });

  it('adds a product by choosing it from the panel’s products', async () => {
    const page = await agent.get(`${tab}&a=product`).expect(200);
    expect(page.text).to.match(
      new RegExp(`<option value="${productId}">VPS 1.5 TiB \\(#${productId}\\)</option>`),
    );
    // the product the story bills already is not offered again
    expect(page.text).not.to.match(new RegExp(`<option value="${s.story.productId}">`));
    const saved = await post({ ...FULL, product: String(productId) }, null);
    expect(allErrors(saved.text)).to.deep.equal({});
    expect((await s.mod.billing.getProduct(productId))!.allowance).to.equal('1649267441664');
  });

  // one field wrong at a time: its refusal beside it, nothing else refused, nothing saved
  const refusals: Array<[string, Record<string, string>, string, string]> = [
    [
      'no allowance',
      { allowance: '' },
      'allowance',
      'the allowance: required, like 5 (with the unit beside it)',
    ],
    [
      'an allowance in words',
      { allowance: 'five' },
      'allowance',
      'the allowance: a number like 5 or 2.5, not "five"',
    ],
    [
      'a comma for a decimal point',
      { allowance: '1,5' },
      'allowance',
      'the allowance: a number like 5 or 2.5, not "1,5"',
    ],
    [
      // 10^23 TiB = 10^23 × 2^40 bytes ≈ 1.1 × 10^35, beyond the 2^63 − 1 = 9 223 372 036 854 775 807
      // bytes of a rating's BIGINT allowance_bytes (MariaDB would refuse the rating, SQLite keep a float)
      'an allowance beyond what a rating can hold',
      { allowance: '100000000000000000000000' },
      'allowance',
      '"100000000000000000000000 TiB" is more than the 9223372036854775807 bytes (about 9.2 EB) a figure may be',
    ],
    [
      // 8 388 608 TiB = 2^23 × 2^40 = 2^63 bytes: one byte too many
      'a tolerance one byte beyond it',
      { tolerance: '8388608', tolerance_unit: 'TiB' },
      'tolerance',
      '"8388608 TiB" is more than the 9223372036854775807 bytes (about 9.2 EB) a figure may be',
    ],
    [
      'an allowance unit not offered',
      { allowance_unit: 'PB' },
      'allowance_unit',
      'choose one of GB, GiB, TB, TiB',
    ],
    [
      'an allowance source not offered',
      { allowance_kind: 'panel' },
      'allowance_kind',
      'choose one of bytes, solusvm',
    ],
    ['a billing unit not offered', { unit: 'MB' }, 'unit', 'choose one of GB, GiB, TB, TiB'],
    ['a model not offered', { model: 'flat' }, 'model', 'choose one of per_unit, per_block, avg_mbps, p95'],
    [
      'per block without a block size',
      { block_units: '' },
      'block_units',
      'the block size: required, a whole number from 1 to 1000000',
    ],
    [
      'a block of 0',
      { block_units: '0' },
      'block_units',
      'the block size: a whole number from 1 to 1000000, not "0"',
    ],
    [
      '95th percentile without a commitment',
      { model: 'p95', commit_mbps: '' },
      'commit_mbps',
      'the committed rate: required for this model, in Mbit/s, like 100',
    ],
    [
      'a commitment in words',
      { model: 'p95', commit_mbps: 'fast' },
      'commit_mbps',
      'must be a decimal with at most 6 decimals, like "0.50"',
    ],
    [
      'a tolerance in words',
      { tolerance: 'some' },
      'tolerance',
      'the tolerance: a number like 5 or 2.5, not "some"',
    ],
    [
      'a tolerance unit not offered',
      { tolerance_unit: 'KB' },
      'tolerance_unit',
      'choose one of GB, GiB, TB, TiB',
    ],
    [
      'a currency of four letters',
      { cur_1: 'EURO' },
      'cur_1',
      '"EURO" is not a currency code: three letters, like EUR',
    ],
    ['a currency twice', { cur_2: 'EUR' }, 'cur_2', 'EUR is given twice'],
    [
      'prices without a currency',
      { cur_3: '', overage_3: '0.70' },
      'cur_3',
      'the currency of these prices: three letters, like EUR',
    ],
    [
      'no price over the allowance',
      { overage_2: '' },
      'overage_2',
      'the price of one GiB over the allowance in USD: required, like 0.50',
    ],
    [
      'a price with two points',
      { overage_1: '0.4.5' },
      'overage_1',
      'must be a decimal with at most 6 decimals, like "0.50"',
    ],
    [
      'an agreed rate in words',
      { precommit_1: 'less' },
      'precommit_1',
      'must be a decimal with at most 6 decimals, like "0.50"',
    ],
    ['a minimum in words', { minimum_1: 'five' }, 'minimum_1', null as unknown as string],
    ['a cap with three decimals', { cap_1: '250.001' }, 'cap_1', null as unknown as string],
    [
      'no currency at all',
      { cur_1: '', overage_1: '', precommit_1: '', minimum_1: '', cap_1: '', cur_2: '', overage_2: '' },
      'cur_1',
      'give a price for at least one currency',
    ],
    [
      'a window of 0 days',
      { window_days: '0' },
      'window_days',
      'the reclamation window: a whole number from 1 to 365, not "0"',
    ],
    [
      'a window of a year and more',
      { window_days: '366' },
      'window_days',
      'the reclamation window: a whole number from 1 to 365, not "366"',
    ],
    [
      'no window',
      { window_days: '' },
      'window_days',
      'the reclamation window: required, a whole number from 1 to 365',
    ],
    [
      'days counted weekly',
      { window_counting: 'weekly' },
      'window_counting',
      'choose one of calendar, business',
    ],
    ['French holidays', { window_holidays: 'FR' }, 'window_holidays', 'choose one of none, BE, NL'],
    [
      'an unpicked policy not offered',
      { unpicked_policy: 'later' },
      'unpicked_policy',
      'choose one of next_renewal, standalone',
    ],
    [
      'unpicked after 400 days',
      { unpicked_days: '400' },
      'unpicked_days',
      'the days before a period no renewal picks up is invoiced: a whole number from 0 to 366, not "400"',
    ],
    [
      'an upgrade after 0 periods',
      { upgrade_after: '0' },
      'upgrade_after',
      'the periods over in a row before a bigger plan is suggested: a whole number from 1 to 24, not "0"',
    ],
    [
      'an upgrade after 25 periods',
      { upgrade_after: '25' },
      'upgrade_after',
      'the periods over in a row before a bigger plan is suggested: a whole number from 1 to 24, not "25"',
    ],
    ['no thresholds', { thresholds: '' }, 'thresholds', 'at least one percentage, like 80, 90, 100'],
    [
      'a threshold in words',
      { thresholds: '80, ninety' },
      'thresholds',
      'percentages of the allowance from 1 to 1000, separated by commas; "ninety" is not one',
    ],
    [
      'a threshold of 0',
      { thresholds: '0, 100' },
      'thresholds',
      'percentages of the allowance from 1 to 1000, separated by commas; "0" is not one',
    ],
    [
      'a limit action not offered',
      { limit_action: 'warn' },
      'limit_action',
      'choose one of bill, throttle, suspend',
    ],
    [
      'a throttle without a speed',
      { throttle_mbps: '' },
      'throttle_mbps',
      'a throttle needs the speed (SolusVM 1 and 2) or a SolusVM 2 plan to resize to',
    ],
    [
      'a throttle to 0 Mbit/s',
      { throttle_mbps: '0' },
      'throttle_mbps',
      'the throttled speed: a whole number from 1 to 100000, not "0"',
    ],
    [
      'a negative restored speed',
      { restore_mbps: '-1' },
      'restore_mbps',
      'the speed restored: a whole number from 0 to 100000, not "-1"',
    ],
    [
      'a plan id in words',
      { throttle_plan: 'small' },
      'throttle_plan',
      'the SolusVM 2 plan id: a whole number from 1 to 2147483647, not "small"',
    ],
  ];

  it('refuses each wrong field beside it and saves nothing', async function () {
    this.timeout(120_000);
    await post(FULL);
    const before = await s.mod.billing.getProduct(productId);
    for (const [what, change, field, message] of refusals) {
      const res = await post({ ...FULL, ...change });
      const errors = allErrors(res.text);
      expect(Object.keys(errors), what).to.deep.equal([field]);
      if (message) expect(errors[field], what).to.equal(message);
      else expect(errors[field], what).to.match(new RegExp(`${field.startsWith('cap') ? 'cap' : 'minimum'}`));
      expect(decode(res.text), what).to.include('Not saved: one field needs a change (marked below).');
      // the field says it is wrong, for a screen reader too
      expect(res.text, what).to.match(
        new RegExp(`name="${field}"[^>]*aria-invalid="true" aria-describedby="err-${field}"`),
      );
      // what was typed is shown back to correct it
      const typed = change[field];
      if (
        typed &&
        ![
          'allowance_unit',
          'tolerance_unit',
          'unit',
          'model',
          'allowance_kind',
          'window_counting',
          'window_holidays',
          'unpicked_policy',
          'limit_action',
        ].includes(field)
      )
        expect(decode(res.text), what).to.include(`value="${typed}"`);
      expect(await s.mod.billing.getProduct(productId), what).to.deep.equal(before);
    }
  });

  it('refuses a product the panel does not have, and a form without a product', async () => {
    const none = await post({ ...FULL, product: '' }, null);
    expect(errorFor(none.text, 'product')).to.equal('choose the product these settings are for');
    const ghost = await agent
      .post(`${tab}&a=product`)
      .type('form')
      .send({ token, do: 'save_product_form', product: '9999', ...FULL })
      .expect(200);
    expect(errorFor(ghost.text, 'product')).to.equal('the panel has no product 9999');
    expect(await s.mod.billing.getProduct(9999)).to.equal(null);
  });

  it('needs the CSRF token', async () => {
    await agent
      .post(`${tab}&a=product&id=${productId}`)
      .type('form')
      .send({ do: 'save_product_form', product: String(productId), ...FULL })
      .expect(403);
    expect(await s.mod.billing.getProduct(productId)).to.equal(null);
  });

  it('keeps the JSON settings, and takes a number where a decimal string is expected', async () => {
    await s.mod.billing.setProduct(
      productId,
      {
        unit: 'GB',
        model: 'p95',
        commitMbps: 2 as never,
        allowance: '1 TB',
        prices: { EUR: { overage: 0.5 as never, minimum: 5 as never } },
      },
      { type: 'admin', id: '1' },
    );
    const p = (await s.mod.billing.getProduct(productId))!;
    expect(p.commitMbps).to.equal('2');
    expect(p.prices.EUR).to.deep.equal({ overage: '0.5', minimum: '5' });
  });
});

describeEachEngine('the admin tab’s master form', ({ db }) => {
  let s: WebStory;
  let sim: Simulator;
  let simMaster: SimMaster;
  let agent: Agent;
  let token = '';
  // a key no page may ever show
  const KEY = 'k3y-that-must-never-show-4e1d';
  beforeEach(async function () {
    this.timeout(30_000);
    sim = createSimulator({ now: () => Date.parse('2013-06-05T10:00:00Z') });
    simMaster = sim.addMaster({
      name: 'sim',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'ops-id', apiKey: KEY },
    });
    simMaster.addServer({
      id: 501,
      hostname: 'vps501.example.net',
      node: { id: 1, name: 'n1' },
      clientId: 1,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2013-01-01T10:00:00Z',
      profile: { kind: 'days', byDate: {}, defaultBytesPerDay: 10n ** 9n },
    });
    await simMaster.listen();
    // the story's own master stays on the fake; masters the form adds reach the simulator
    s = await buildWebStory(db().knex, {
      gatewayFor: (settings) => (settings.name === 'solus' ? null : createSolusVmGateway(settings)),
    });
    ({ agent, token } = await login(s.app, ADMIN));
  });
  afterEach(async () => {
    await sim.close();
  });

  const form = (over: Record<string, string> = {}) => ({
    name: 'ams-1',
    version: '1',
    url: simMaster.url,
    api_id: 'ops-id',
    api_key: KEY,
    api_token: '',
    tls: 'verify',
    fingerprint: '',
    zone: 'Europe/Amsterdam',
    reset_policy: 'first_of_month',
    anniversary_from: 'solusvm',
    api_user_type: 'admin',
    unit_labels: 'binary',
    basic_auth_user: '',
    basic_auth_password: '',
    concurrency: '4',
    timeout: '30',
    retries: '1',
    panel_server: '',
    active: 'on',
    ...over,
  });
  const post = (url: string, body: Record<string, string>) =>
    agent
      .post(url)
      .type('form')
      .send({ token, ...body })
      .expect(200);

  /** no page shows a master's key, the one it was added with nor the one that replaced it */
  const expectNoKeys = (...pages: string[]) => {
    for (const p of pages) {
      expect(p).not.to.include(KEY);
      expect(p).not.to.include('new-key-0001');
    }
  };

  describe('a master added through the form', () => {
    it('shows every field of a new master, and no key', async () => {
      const blank = await agent.get(`${tab}&a=master`).expect(200);
      for (const f of Object.keys(form())) expect(blank.text, f).to.match(new RegExp(`name="${f}"`));
      expectNoKeys(blank.text);
    });

    it('tests the form before saving with a wrong key: the master refuses it, the report is shown once, the key is not', async () => {
      const wrong = await post(`${tab}&a=master`, {
        do: 'test_master_form',
        master: '',
        ...form({ api_key: 'wrong-key' }),
      });
      expect((wrong.text.match(/data-report/g) ?? []).length).to.equal(1);
      expect(wrong.text).to.match(/<p class="ou-refusal[^"]*" data-report/);
      expect(wrong.text).not.to.include('wrong-key');
      expectNoKeys(wrong.text);
    });

    it('tests the form before saving with the right key: the servers are counted and nothing is added', async () => {
      const right = await post(`${tab}&a=master`, { do: 'test_master_form', master: '', ...form() });
      expect(right.text).to.match(
        /<p class="ou-preview[^"]*" data-report role="status">[^<]* \(\d+ ms, 1 servers\)/,
      );
      expect(await s.mod.masters.list()).to.have.length(1);
      expectNoKeys(right.text);
    });

    it('adds the master as posted, its key stored but never shown', async () => {
      const added = await post(`${tab}&a=master`, { do: 'save_master', master: '', ...form() });
      expect(decode(added.text)).to.include('Master ams-1 added.');
      const m = (await s.mod.masters.list()).find((x) => x.name === 'ams-1')!;
      expect(m).to.deep.include({
        version: 1,
        baseUrl: simMaster.url,
        timeZone: 'Europe/Amsterdam',
        concurrency: 4,
        timeoutMs: 30_000,
        retries: 1,
        active: true,
      });
      expect((await s.mod.masters.settings(m.id)).credentials).to.deep.equal({
        kind: 'v1',
        apiId: 'ops-id',
        apiKey: KEY,
      });
      expectNoKeys(added.text);
    });

    describe('once added', () => {
      let id = 0;
      beforeEach(async () => {
        await post(`${tab}&a=master`, { do: 'save_master', master: '', ...form() });
        id = (await s.mod.masters.list()).find((x) => x.name === 'ams-1')!.id;
      });

      it('opens it for editing with the secrets’ fields empty', async () => {
        const edit = await agent.get(`${tab}&a=master&id=${id}`).expect(200);
        expect(edit.text).to.match(/name="api_key" value=""/);
        expect(edit.text).to.match(/name="name" value="ams-1"/);
        expectNoKeys(edit.text);
      });

      it('tests it with the stored secrets when their fields are left empty', async () => {
        const tested = await post(`${tab}&a=master&id=${id}`, {
          do: 'test_master_form',
          master: String(id),
          ...form({ api_id: '', api_key: '' }),
        });
        expect(tested.text).to.match(/<p class="ou-preview[^"]*" data-report/);
        expectNoKeys(tested.text);
      });

      it('saves the edits with the secrets’ fields left empty, keeping the stored key', async () => {
        const saved = await post(`${tab}&a=master&id=${id}`, {
          do: 'save_master',
          master: String(id),
          ...form({ name: 'ams-2', api_id: '', api_key: '', concurrency: '6', active: '' }),
        });
        expect(decode(saved.text)).to.include('Master ams-2 saved.');
        expect(await s.mod.masters.get(id)).to.deep.include({ name: 'ams-2', concurrency: 6, active: false });
        expect((await s.mod.masters.settings(id)).credentials).to.deep.equal({
          kind: 'v1',
          apiId: 'ops-id',
          apiKey: KEY,
        });
        expectNoKeys(saved.text);
      });

      it('takes a new key in place of the stored one, shown on neither the settings nor the audit page', async () => {
        await post(`${tab}&a=master&id=${id}`, {
          do: 'save_master',
          master: String(id),
          ...form({ name: 'ams-2', api_key: 'new-key-0001' }),
        });
        expect((await s.mod.masters.settings(id)).credentials).to.deep.equal({
          kind: 'v1',
          apiId: 'ops-id',
          apiKey: 'new-key-0001',
        });
        expectNoKeys(
          (await agent.get(`${tab}&a=settings`).expect(200)).text,
          (await agent.get(`${tab}&a=audit`).expect(200)).text,
        );
      });

      it('removes it, leaving the story’s own master', async () => {
        const removed = await post(`${tab}&a=master&id=${id}`, { do: 'remove_master', master: String(id) });
        expect(decode(removed.text)).to.include('Master ams-1 removed.');
        expect((await s.mod.masters.list()).map((x) => x.name)).to.deep.equal(['solus']);
        expectNoKeys(removed.text);
      });
    });
  });

  it('lists the masters that read when one stored row does not, and names that master and its column', async () => {
    await post(`${tab}&a=master`, { do: 'save_master', master: '', ...form() });
    const solus = (await s.mod.masters.list()).find((m) => m.name === 'solus')!;
    // someone wrote a reset policy the module does not know into the story's master
    await db().knex('mod_overusage_masters').where({ id: solus.id }).update({ reset_policy: 'weekly' });
    const page = decode((await agent.get(`${tab}&a=settings`).expect(200)).text);
    const ams = (await s.mod.masters.list()).find((m) => m.name === 'ams-1')!;
    expect(page).to.match(new RegExp(`<tr data-master="${ams.id}">\\s*<th scope="row"><a [^>]*>ams-1</a>`));
    expect(page).to.include(`<tr data-master="${solus.id}" data-unreadable class="danger">`);
    expect(page).to.include(
      `solus (master ${solus.id})</th><td colspan="7" class="ou-refusal text-danger">Its stored row cannot be read: mod_overusage_masters.reset_policy holds "weekly", which is not one of first_of_month, anniversary, never. Its services are not metered, and it cannot be edited here, until that column is corrected in the database.</td>`,
    );
    expect(page).to.not.include('No SolusVM master yet');
    expectNoKeys(page);
  });

  it('refuses a master with linked services to be removed', async () => {
    const solus = (await s.mod.masters.list())[0]!;
    const res = await post(`${tab}&a=master&id=${solus.id}`, {
      do: 'remove_master',
      master: String(solus.id),
    });
    expect(decode(res.text)).to.include(
      `master ${solus.id} still has linked services; deactivate it instead, or unlink them first`,
    );
    expect(await s.mod.masters.list()).to.have.length(1);
  });

  const refusals: Array<[string, Record<string, string>, string, string | RegExp]> = [
    ['no name', { name: '' }, 'name', 'a name to tell it by, like solus-ams-1'],
    ['no URL', { url: '' }, 'url', 'the master’s address, like https://master.example.net:5656'],
    [
      'an ftp URL',
      { url: 'ftp://solus.example.net' },
      'url',
      'the master URL must start with https:// (or http://), not ftp://',
    ],
    [
      'a password in the URL',
      { url: 'https://u:p@solus.example.net:5656' },
      'url',
      /do not put a user and password in the master URL/,
    ],
    [
      'a SolusVM 2 URL without /api/v1',
      { version: '2', api_token: 'tok', api_id: '', api_key: '', url: 'https://solus.example.net/panel' },
      'url',
      /a SolusVM 2 master URL is its API root, ending in \/api\/v1/,
    ],
    ['a version not offered', { version: '3' }, 'version', 'choose one of 1, 2'],
    [
      'SolusVM 1 without an API id',
      { api_id: '' },
      'api_id',
      'the API id (SolusVM: Configuration › API Access)',
    ],
    [
      'SolusVM 1 without an API key',
      { api_key: '' },
      'api_key',
      'the API key (SolusVM: Configuration › API Access)',
    ],
    [
      'SolusVM 2 without a token',
      { version: '2', url: 'https://solus.example.net/api/v1', api_id: '', api_key: '' },
      'api_token',
      'an API token (SolusVM 2: Access › API Tokens)',
    ],
    [
      'a reseller on SolusVM 2',
      {
        version: '2',
        url: 'https://solus.example.net/api/v1',
        api_token: 'tok',
        api_id: '',
        api_key: '',
        api_user_type: 'reseller',
      },
      'api_user_type',
      'the reseller API user is SolusVM 1’s',
    ],
    [
      'pinned without a fingerprint',
      { tls: 'pinned' },
      'fingerprint',
      'a pinned certificate needs its SHA-256 fingerprint (the connection test shows it)',
    ],
    [
      'a fingerprint too short',
      { fingerprint: 'AB:CD' },
      'fingerprint',
      'a SHA-256 fingerprint: 64 hex digits, colons allowed',
    ],
    ['a TLS mode not offered', { tls: 'maybe' }, 'tls', 'choose one of verify, pinned, insecure'],
    [
      'no time zone',
      { zone: '' },
      'zone',
      'the master’s time zone: SolusVM resets its counters at midnight on its own clock (like Europe/Brussels)',
    ],
    [
      'a zone that is not one',
      { zone: 'Mars/Olympus' },
      'zone',
      '"Mars/Olympus" is not a time zone (like Europe/Brussels or UTC)',
    ],
    [
      'a reset policy not offered',
      { reset_policy: 'weekly' },
      'reset_policy',
      'reset policy must be one of first_of_month, anniversary, never',
    ],
    [
      'a password without its user',
      { basic_auth_password: 'pw' },
      'basic_auth_user',
      'the htpasswd user that goes with the password',
    ],
    [
      '0 reads at once',
      { concurrency: '0' },
      'concurrency',
      'reads at once: a whole number from 1 to 64, not "0"',
    ],
    [
      'a timeout in words',
      { timeout: 'long' },
      'timeout',
      'the timeout in seconds: a whole number from 1 to 600, not "long"',
    ],
    ['11 retries', { retries: '11' }, 'retries', 'retries: a whole number from 0 to 10, not "11"'],
    [
      'a panel server in words',
      { panel_server: 'main' },
      'panel_server',
      'the panel’s server id: a whole number from 1 to 2147483647, not "main"',
    ],
    ['an unknown API user type', { api_user_type: 'root' }, 'api_user_type', 'choose one of admin, reseller'],
    ['unit labels not offered', { unit_labels: 'metric' }, 'unit_labels', 'choose one of binary, decimal'],
    [
      'an anniversary source not offered',
      { anniversary_from: 'moon' },
      'anniversary_from',
      'choose one of solusvm, panel',
    ],
  ];

  it('refuses each wrong field beside it, adds nothing and never shows the key back', async function () {
    this.timeout(60_000);
    for (const [what, change, field, message] of refusals) {
      for (const action of ['save_master', 'test_master_form']) {
        const res = await post(`${tab}&a=master`, { do: action, master: '', ...form(change) });
        const errors = allErrors(res.text);
        expect(Object.keys(errors), `${what} (${action})`).to.deep.equal([field]);
        if (typeof message === 'string') expect(errors[field], what).to.equal(message);
        else expect(errors[field], what).to.match(message);
        expect(res.text, what).not.to.include(KEY);
        expect(res.text, what).not.to.include('data-report');
      }
    }
    expect((await s.mod.masters.list()).map((m) => m.name)).to.deep.equal(['solus']);
  });

  it('refuses a second master of the same name beside the name', async () => {
    const res = await post(`${tab}&a=master`, { do: 'save_master', master: '', ...form({ name: 'solus' }) });
    expect(errorFor(res.text, 'name')).to.equal('a master named "solus" already exists');
    expect(res.text).not.to.include(KEY);
    expect(await s.mod.masters.list()).to.have.length(1);
  });
});
