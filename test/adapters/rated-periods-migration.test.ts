import { expect } from 'chai';
import type { Knex } from 'knex';
import * as ratedPeriods from '../../migrations/20270102000000_rated_periods.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createRatingStore } from '../../module/adapters/rating-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { accessPlan } from '../support/query-plan.js';
import { addMaster, addService } from '../support/rating-rows.js';

const T = '2013-06-01 00:10:00.000';

/**
 * The upgrade that marks rated periods (migrations/20270102000000_rated_periods.ts) on a database
 * rated before it: a period is marked exactly when it has its own rating (a charge at seq 0, void
 * or not, the period open or closed), so the next night's run reads the others and only them.
 * Ann's VPS 10:
 *   1 May, closed, rated €500.00            → marked, not read
 *   2 April, closed, only a correction at seq 1 left from before a rebuild → not marked, rated next
 *   3 March, closed, never rated (its figures did not add up) → not marked, rated next
 *   4 June, open again after a rebuild, rated before it → marked
 *   5 February, closed, its rating void     → marked: a void rating is still its rating
 *   120 001 January, closed, rated          → marked: ids 50 000 apart are marked range by range
 * and a pool's charge (period_id −7, a pool month, no period row) that marks nothing.
 */
describeEachEngine('the migration that marks rated periods', ({ db, engine }) => {
  let knex: Knex;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    // the database as before the upgrade
    await ratedPeriods.down(knex);
    await addMaster(knex, 1);
    await addService(knex, 10);
    const period = (id: number, start: string, end: string, status: string) => ({
      id,
      service_id: 10,
      start_date: start,
      end_date: end,
      status,
      opened_by: 'reset',
      used_bytes: '0',
      created_at: T,
    });
    await knex(TABLES.periods).insert([
      period(1, '2013-05-01', '2013-05-31', 'closed'),
      period(2, '2013-04-01', '2013-04-30', 'closed'),
      period(3, '2013-03-01', '2013-03-31', 'closed'),
      period(4, '2013-06-01', '2013-06-30', 'open'),
      period(5, '2013-02-01', '2013-02-28', 'closed'),
      period(120_001, '2013-01-01', '2013-01-31', 'closed'),
    ]);
    await insertCharge(knex, 1);
    await insertCharge(knex, 2, { seq: 1, kind: 'correction' });
    await insertCharge(knex, 4);
    await insertCharge(knex, 5, { status: 'void' });
    await insertCharge(knex, 120_001);
    await insertCharge(knex, 7, { period_id: -7, kind: 'pool' });
  });

  const marked = async () =>
    (await knex(TABLES.periods).where({ rated: true }).orderBy('id').select('id')).map((p) => Number(p.id));

  it('marks the periods with a rating of their own, and the run reads the other closed ones only, through the new index', async () => {
    await ratedPeriods.up(knex);
    expect(await marked()).to.deep.equal([1, 4, 5, 120_001]);
    const store = createRatingStore(knex);
    const plan = await accessPlan(knex, engine, 'p', async () =>
      expect((await store.unrated(0, 10)).map((p) => p.id)).to.deep.equal([2, 3]),
    );
    expect(plan).to.deep.equal(
      engine === 'mysql'
        ? ['range', 'mod_overusage_periods_status_rated_id_index', '51']
        : [
            'SEARCH p USING INDEX mod_overusage_periods_status_rated_id_index (status=? AND rated=? AND id>?)',
          ],
    );
  });

  it('run again (an upgrade stopped half-way), marks what is left and changes nothing else', async () => {
    // stopped after May's range: 120 001 not marked yet
    await knex(TABLES.periods).where({ id: 120_001 }).update({ rated: false });
    await ratedPeriods.up(knex);
    expect(await marked()).to.deep.equal([1, 4, 5, 120_001]);
  });
});
