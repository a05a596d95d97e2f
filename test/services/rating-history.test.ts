import { expect } from 'chai';
import type { Knex } from 'knex';
import { createChargeStore } from '../../module/adapters/charge-store.js';
import { createRatingStore } from '../../module/adapters/rating-store.js';
import { createUsagePeriodStore } from '../../module/adapters/usage-period-store.js';
import type { RatingResult } from '../../module/services/rating.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';
import { rowsRead, statementSent } from '../support/query-plan.js';
import {
  addLine,
  addPeriod,
  chargesOf,
  GB,
  migrateRatingRows,
  threeClosedMays,
  type RatingRows,
} from '../support/rating-rows.js';

const RATED_INDEX = 'mod_overusage_periods_status_rated_id_index';
const MAY = { start: '2013-05-01', end: '2013-05-31' };
const JUNE = { start: '2013-06-01', end: '2013-06-30' };
// the whole run's page of closed periods not rated yet (RatingStore.unrated, no services given)
const isUnratedPage = (sql: string) => /mod_overusage_periods` as `?p`? /.test(sql) && / limit \?$/.test(sql);

/**
 * The nightly rating run reads only the periods still to rate (issue 22): a period stays closed
 * once rated, so a read of every closed period grew with the history (0.46–0.56 s a night per
 * 100 000 rated periods on MariaDB, all of them rated long ago). What the run reads is counted on
 * MariaDB by running its page statement under ANALYZE (the period rows the index hands over);
 * SQLite shows the range it searches. Product 3: 5 TB included, €0.50 per GB over; Ann
 * (VPS 11), Bob (12) and Cid (13) on the master in Brussels.
 */
describeEachEngine('the nightly rating run reads only the periods still to rate', ({ db, engine }) => {
  let knex: Knex;
  let r: RatingRows;

  before(async () => {
    knex = db().knex;
    await migrateRatingRows(knex);
  });
  beforeEach(async () => {
    // May: Ann 6 000 GB: (6 000 − 5 000) × €0.50 = €500.00; Bob 5 200 GB: 200 × €0.50 = €100.00;
    // Cid 4 000 GB, within the 5 000 GB: €0.00
    r = await threeClosedMays(knex, [6000n, 5200n, 4000n]);
  });

  /**
   * The night's run, and what its first page statement reads of the periods, on the data as the
   * run finds it: the statement is sent once by the store as the run sends it (checked: the run
   * sends it identical) and counted before the run — on MariaDB the period rows the index hands
   * over under ANALYZE, on SQLite the range it searches.
   */
  async function night(): Promise<{ out: RatingResult; read: unknown }> {
    const q = await statementSent(knex, () => createRatingStore(knex).unrated(0, 2000), isUnratedPage);
    let read: unknown;
    if (engine === 'mysql') read = await rowsRead(knex, q, 'p');
    else {
      // the range SQLite searches, and the period rows in it
      const plan = (await knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings)) as Array<{ detail: string }>;
      const [range] = (await knex.raw(
        `SELECT COUNT(*) AS n FROM ${TABLES.periods} INDEXED BY ${RATED_INDEX} WHERE status = 'closed' AND rated = 0 AND id > 0`,
      )) as Array<{ n: unknown }>;
      read = [plan[0]!.detail, Number(range!.n)];
    }
    let out: RatingResult | null = null;
    const sent = await statementSent(
      knex,
      async () => {
        out = await r.rating.rateClosedPeriods();
      },
      isUnratedPage,
    );
    expect(sent).to.deep.equal(q);
    return { out: out!, read };
  }

  /** MariaDB: `n` period rows read; SQLite: the range of the periods not marked rated, `n` rows in it */
  const readOnly = (n: number) =>
    engine === 'mysql' ? n : [`SEARCH p USING INDEX ${RATED_INDEX} (status=? AND rated=? AND id>?)`, n];

  it("rates Ann's June alone the night after May was rated for all three, reading June's row and none of May's", async () => {
    const may = await night();
    expect(may.out).to.deep.equal({ rated: 3, skipped: [] });
    // the first night reads the three Mays, all still to rate
    expect(may.read).to.deep.equal(readOnly(3));
    expect([await chargesOf(knex, 1), await chargesOf(knex, 2), await chargesOf(knex, 3)]).to.deep.equal([
      [[0, 50_000n, 'unbilled']],
      [[0, 10_000n, 'unbilled']],
      [[0, 0n, 'within_allowance']],
    ]);

    // June closes for Ann at 5 500 GB: (5 500 − 5 000) × €0.50 = €250.00. Before, the page read
    // all four closed periods (the three Mays and June) and dropped the Mays by their charges.
    await addPeriod(knex, 4, { serviceId: 11, ...JUNE, used: 5500n * GB });
    const june = await night();
    expect(june.out).to.deep.equal({ rated: 1, skipped: [] });
    expect(june.read).to.deep.equal(readOnly(1));
    expect(await chargesOf(knex, 4)).to.deep.equal([[0, 25_000n, 'unbilled']]);
    // May as it was: not rated twice
    expect(await chargesOf(knex, 1)).to.deep.equal([[0, 50_000n, 'unbilled']]);

    // the night after: nothing closed, nothing read
    const quiet = await night();
    expect(quiet.out).to.deep.equal({ rated: 0, skipped: [] });
    expect(quiet.read).to.deep.equal(readOnly(0));
  });

  it("reads Bob's June again each night while its daily figures do not add up, and rates it once they do", async () => {
    await night();
    // Bob's June counted 5 600 GB, but only 5 000 GB of daily figures came in: not rated
    await addPeriod(knex, 4, { serviceId: 12, ...JUNE, used: 5600n * GB, intervals: [5000n * GB] });
    const reason = `its daily figures sum to ${5000n * GB} bytes, not the ${5600n * GB} bytes counted; not rated`;
    for (let n = 0; n < 2; n++) {
      const skipped = await night();
      expect(skipped.out).to.deep.equal({ rated: 0, skipped: [{ periodId: 4, serviceId: 12, reason }] });
      expect(skipped.read).to.deep.equal(readOnly(1));
    }
    // the missing 600 GB day comes in: 5 600 − 5 000 = 600 GB × €0.50 = €300.00
    await knex(TABLES.intervals).insert({
      service_id: 12,
      period_id: 4,
      to_sample_id: 499,
      kind: 'normal',
      from_date: '2013-06-30',
      to_date: '2013-06-30',
      bytes: String(600n * GB),
      estimated: false,
    });
    expect((await night()).out).to.deep.equal({ rated: 1, skipped: [] });
    expect(await chargesOf(knex, 4)).to.deep.equal([[0, 30_000n, 'unbilled']]);
    expect((await night()).read).to.deep.equal(readOnly(0));
  });

  it("reads May again when a rebuild moves Ann's billed rating onto a new row, rates it once as a €0.00 correction, then no more", async () => {
    await night();
    // Ann's €500.00 is on an invoice (a line)
    const [[chargeId]] = (await knex(TABLES.charges).where({ period_id: 1 }).select('id')).map((c) => [
      Number(c.id),
    ]) as [[number]];
    await knex(TABLES.charges).where({ id: chargeId }).update({ status: 'billed' });
    await addLine(knex, 1, chargeId, 11);
    // An earlier version had started Ann's May on 2 May. A rebuild (module/services/usage-periods.ts)
    // puts May on a new row 5 from 1 May, moves the old row's charges there after its own (seq 1)
    // and deletes the old row: May has no rating of its own now. The new row, with May's figures:
    await knex(TABLES.periods).where({ id: 1 }).update({ start_date: '2013-05-02' });
    await addPeriod(knex, 5, { serviceId: 11, ...MAY, used: 6000n * GB });
    const periods = createUsagePeriodStore(knex);
    await knex.transaction(async (trx) => {
      await periods.moveCharges(trx, await periods.chargeIdsOf(trx, 1), 5);
      await periods.deletePeriod(trx, 1);
    });
    const charges = createChargeStore(knex);
    // the InvoiceCreation delivery reads it as rating does: a period waits for rating
    expect((await charges.forDelivery(999, [11])).unrated).to.equal(true);

    // the night: May is read and rated again. 6 000 GB is €500.00, and €500.00 is invoiced:
    // 500.00 − 500.00 = a €0.00 correction at seq 0 (void), the period's own rating
    const rerated = await night();
    expect(rerated.out).to.deep.equal({ rated: 1, skipped: [] });
    expect(rerated.read).to.deep.equal(readOnly(1));
    expect(await chargesOf(knex, 5)).to.deep.equal([
      [0, 0n, 'void'],
      [1, 50_000n, 'billed'],
    ]);
    expect((await charges.forDelivery(999, [11])).unrated).to.equal(false);
    // the night after: May is rated, and not read
    const quiet = await night();
    expect(quiet.out).to.deep.equal({ rated: 0, skipped: [] });
    expect(quiet.read).to.deep.equal(readOnly(0));
  });
});
