import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createRateSampleStore, type RateSampleStore } from '../../module/adapters/rate-sample-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

/**
 * VPS 10's five-minute rates around midnight UTC on 1 June 2013: 23:55 at 12 Mbit/s, 00:00 at
 * 2^53 + 1 bit/s (exact past a double's 53 bits), 00:05 at 0; VPS 11 has a rate at 00:00 too.
 */
describeEachEngine('rate sample store', ({ db }) => {
  let knex: Knex;
  let store: RateSampleStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createRateSampleStore(knex);
    await store.insert(knex, 10, [
      { at: at('2013-05-31T23:55:00Z'), bps: 12_000_000n },
      { at: at('2013-06-01T00:00:00Z'), bps: 9_007_199_254_740_993n },
      { at: at('2013-06-01T00:05:00Z'), bps: 0n },
    ]);
    await store.insert(knex, 11, [{ at: at('2013-06-01T00:00:00Z'), bps: 1n }]);
  });

  it('stores each slot as its UTC start with its rate exact past 2^53', async () => {
    const rows = await knex(TABLES.rateSamples)
      .where({ service_id: 10 })
      .orderBy('slot_at')
      .select('slot_at', 'bps');
    expect(rows.map((r) => [String(r.slot_at).slice(0, 19), String(r.bps)])).to.deep.equal([
      ['2013-05-31 23:55:00', '12000000'],
      ['2013-06-01 00:00:00', '9007199254740993'],
      ['2013-06-01 00:05:00', '0'],
    ]);
  });

  it('tells which of the asked slots the service already holds, and at what rate', async () => {
    const held = await store.held(knex, 10, [at('2013-06-01T00:00:00Z'), at('2013-06-01T00:10:00Z')]);
    expect(held.map((h) => [h.at.toISO(), h.bps])).to.deep.equal([
      ['2013-06-01T00:00:00.000Z', 9_007_199_254_740_993n],
    ]);
    expect(await store.held(knex, 12, [at('2013-06-01T00:00:00Z')])).to.deep.equal([]);
  });

  it('reads the rates of [from, to): the start slot in, the end slot out, other services apart', async () => {
    // 23:55 to 00:05: 23:55 and 00:00, not 00:05
    const rates = await store.between(10, at('2013-05-31T23:55:00Z'), at('2013-06-01T00:05:00Z'));
    expect(rates.sort((a, b) => (a < b ? -1 : 1))).to.deep.equal([12_000_000n, 9_007_199_254_740_993n]);
  });

  it('refuses a second figure for a slot already held', async () => {
    const err = await store.insert(knex, 10, [{ at: at('2013-06-01T00:05:00Z'), bps: 7n }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(Error);
    expect(await store.between(10, at('2013-06-01T00:05:00Z'), at('2013-06-01T00:10:00Z'))).to.deep.equal([
      0n,
    ]);
  });
});
