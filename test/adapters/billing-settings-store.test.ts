import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createBillingSettingsStore,
  type BillingSettingsStore,
} from '../../module/adapters/billing-settings-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2026-12-05T22:00:00Z', { zone: 'utc' });
const PROFILE = { unit: 'GB', allowance: '1000000000000', prices: { EUR: { overage: '0.50' } } };
const WINDOW = { window: { days: 30, counting: 'business', holidays: 'NL' } };

describeEachEngine('billing settings store', ({ db }) => {
  let knex: Knex;
  let store: BillingSettingsStore;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ModuleError,
    );

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createBillingSettingsStore(knex);
  });
  beforeEach(async () => {
    for (const t of [TABLES.billingProfiles, TABLES.serviceOverrides, TABLES.clientOverrides])
      await knex(t).delete();
  });

  it("reads a service's product settings with its own override and its client's, and nothing of another service's", async () => {
    await store.put(knex, 'product', 3, PROFILE, AT);
    await store.put(knex, 'service', 10, { tolerance: '5000000000' }, AT);
    await store.put(knex, 'service', 11, { enabled: false }, AT);
    await store.put(knex, 'client', 1, WINDOW, AT);
    expect(await store.forService(3, 10, 1)).to.deep.equal({
      product: PROFILE,
      service: { tolerance: '5000000000' },
      client: WINDOW,
    });
    // service 12 of client 2: only the product's
    expect(await store.forService(3, 12, 2)).to.deep.equal({ product: PROFILE, service: null, client: null });
    // product 4 has nothing stored: the overrides still come back, the service decides
    expect(await store.forService(4, 10, 1)).to.deep.equal({
      product: null,
      service: { tolerance: '5000000000' },
      client: WINDOW,
    });
  });

  it('lists every document of a scope by id ascending, the ids as numbers', async () => {
    // written 12, 3, 7: read 3, 7, 12
    for (const id of [12, 3, 7]) await store.put(knex, 'product', id, { ...PROFILE, unit: `P${id}` }, AT);
    await store.put(knex, 'client', 9, WINDOW, AT);
    expect(
      (await store.all('product')).map((r) => [r.id, (r.settings as { unit: string }).unit]),
    ).to.deep.equal([
      [3, 'P3'],
      [7, 'P7'],
      [12, 'P12'],
    ]);
    expect(await store.all('client')).to.deep.equal([{ id: 9, settings: WINDOW }]);
    expect(await store.all('service')).to.deep.equal([]);
  });

  it('keeps one document per id: a second write replaces the first', async () => {
    await store.put(knex, 'service', 10, { tolerance: '1' }, AT);
    await store.put(knex, 'service', 10, { tolerance: '2' }, AT.plus({ hours: 1 }));
    expect(await store.all('service')).to.deep.equal([{ id: 10, settings: { tolerance: '2' } }]);
    // 22:00 + 1 h = 23:00
    const [row] = await knex(TABLES.serviceOverrides).select('updated_at');
    expect(String(row.updated_at).slice(0, 19)).to.equal('2026-12-05 23:00:00');
  });

  it('removes a document written as null, and only that one', async () => {
    await store.put(knex, 'client', 1, WINDOW, AT);
    await store.put(knex, 'client', 2, WINDOW, AT);
    await store.put(knex, 'client', 1, null, AT);
    expect(await store.get('client', 1)).to.equal(null);
    expect(await store.get('client', 2)).to.deep.equal(WINDOW);
  });

  it('refuses a document that is not JSON, naming its column', async () => {
    await knex(TABLES.billingProfiles).insert({
      product_id: 3,
      settings: '{unit: GB',
      updated_at: '2026-12-05 22:00:00.000',
    });
    const err = await refusal(store.get('product', 3));
    expect(err?.code).to.equal('UNEXPECTED_STATE');
    expect(err?.message).to.equal(
      'mod_overusage_billing_profiles.settings holds "{unit: GB", which is not JSON',
    );
    expect(err?.details).to.deep.equal({
      column: 'mod_overusage_billing_profiles.settings',
      value: '{unit: GB',
    });
    expect((await refusal(store.forService(3, 10, 1)))?.code).to.equal('UNEXPECTED_STATE');
  });
});
