import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createSettingsStore, type SettingsStore } from '../../module/adapters/settings-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2026-12-05T22:00:00Z', { zone: 'utc' });

describeEachEngine('settings store', ({ db }) => {
  let knex: Knex;
  let store: SettingsStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createSettingsStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.settings).delete();
  });

  it('reads nothing when no setting was ever written', async () => {
    expect(await store.all()).to.deep.equal(new Map());
  });

  it('reads back each value under its name, as text', async () => {
    await store.put(
      knex,
      [
        ['sample_at', '23:10'],
        ['sync_match_by', 'hostname'],
      ],
      AT,
    );
    expect(await store.all()).to.deep.equal(
      new Map([
        ['sample_at', '23:10'],
        ['sync_match_by', 'hostname'],
      ]),
    );
  });

  it('keeps one value per name: a second write replaces the first and stamps the time of the change', async () => {
    await store.put(knex, [['sample_at', '23:10']], AT);
    await store.put(knex, [['sample_at', '22:45']], AT.plus({ minutes: 5 }));
    expect(await store.all()).to.deep.equal(new Map([['sample_at', '22:45']]));
    const rows = await knex(TABLES.settings).select('name', 'updated_at');
    // one row; 22:00 + 5 min = 22:05:00.000
    expect(rows.map((r) => [r.name, String(r.updated_at).slice(0, 23)])).to.deep.equal([
      ['sample_at', '2026-12-05 22:05:00.000'],
    ]);
  });

  it('writes nothing when the transaction it wrote in is rolled back (the change and its audit go together)', async () => {
    await store.put(knex, [['sample_at', '23:10']], AT);
    const failed = knex.transaction(async (trx) => {
      await store.put(
        trx,
        [
          ['sample_at', '21:00'],
          ['drop_data_on_deactivate', 'on'],
        ],
        AT,
      );
      throw new Error('audit failed');
    });
    expect(
      await failed.then(
        () => null,
        (e: Error) => e.message,
      ),
    ).to.equal('audit failed');
    expect(await store.all()).to.deep.equal(new Map([['sample_at', '23:10']]));
  });

  it('gives back a name the module no longer knows as it is (the service ignores it)', async () => {
    await knex(TABLES.settings).insert({
      name: 'retired_option',
      value: '1',
      updated_at: '2026-01-01 00:00:00.000',
    });
    expect(await store.all()).to.deep.equal(new Map([['retired_option', '1']]));
  });
});
