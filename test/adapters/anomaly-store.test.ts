import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createAnomalyStore, type AnomalyStore } from '../../module/adapters/anomaly-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';

const T = '2013-06-02 07:00:00.000';
const AT = DateTime.fromISO('2013-06-02T07:00:00Z', { zone: 'utc' });

/**
 * What metering found, on a master in Brussels. VPS 10 (Ann, client 1), May (period 5): a drop on
 * 15 May (anomaly 1, sample 71, from 2^53 + 1 bytes to 0), undecided; a reset not seen on 1 May
 * that came later (2, resolved). VPS 11 (Jan, client 2), May (period 6): a long gap (3, info).
 */
describeEachEngine('anomaly store', ({ db }) => {
  let knex: Knex;
  let store: AnomalyStore;

  const anomaly = (
    id: number,
    serviceId: number,
    periodId: number,
    kind: string,
    sampleId: number,
    status: string,
  ) => ({
    id,
    service_id: serviceId,
    period_id: periodId,
    kind,
    sample_id: sampleId,
    seen_on: '2013-05-15',
    details: JSON.stringify({ fromBytes: '9007199254740993', toBytes: '0' }),
    status,
    created_at: T,
  });

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createAnomalyStore(knex);
    await knex(TABLES.masters).insert({
      id: 1,
      name: 'brussels',
      version: 2,
      base_url: 'https://127.0.0.1:1',
      credentials_enc: 'x',
      time_zone: 'Europe/Brussels',
      reset_policy: 'first_of_month',
      created_at: T,
      updated_at: T,
    });
    await knex(TABLES.services).insert([
      {
        service_id: 10,
        client_id: 1,
        product_id: 3,
        master_id: 1,
        server_ref: 'vm10',
        created_at: T,
        updated_at: T,
      },
      {
        service_id: 11,
        client_id: 2,
        product_id: 3,
        master_id: 1,
        server_ref: 'vm11',
        created_at: T,
        updated_at: T,
      },
    ]);
    await knex(TABLES.periods).insert([
      {
        id: 5,
        service_id: 10,
        start_date: '2013-05-01',
        end_date: '2013-05-31',
        status: 'closed',
        opened_by: 'calendar',
        created_at: T,
      },
      {
        id: 6,
        service_id: 11,
        start_date: '2013-05-01',
        end_date: null,
        status: 'open',
        opened_by: 'calendar',
        created_at: T,
      },
    ]);
  });
  beforeEach(async () => {
    await knex(TABLES.anomalies).delete();
    await knex(TABLES.anomalies).insert([
      anomaly(1, 10, 5, 'mid_period_drop', 71, 'open'),
      anomaly(2, 10, 5, 'reset_not_seen', 72, 'resolved'),
      anomaly(3, 11, 6, 'long_gap', 80, 'info'),
    ]);
  });

  it('reads an anomaly with its period’s days and its figures as metering wrote them', async () => {
    expect(await store.one(1)).to.deep.equal({
      id: 1,
      serviceId: 10,
      periodId: 5,
      periodStart: '2013-05-01',
      periodEnd: '2013-05-31',
      kind: 'mid_period_drop',
      seenOn: '2013-05-15',
      // 2^53 + 1 stays a string in the details: no double rounds it to …992
      details: { fromBytes: '9007199254740993', toBytes: '0' },
      status: 'open',
      decision: null,
      decisionReason: null,
      decidedBy: null,
      decidedAt: null,
    });
    expect(await store.one(9)).to.equal(null);
  });

  it('lists newest first, by status, service, client and below the cursor, at most the limit', async () => {
    const ids = async (f: Parameters<AnomalyStore['list']>[0], limit = 10) =>
      (await store.list(f, limit)).map((a) => a.id);
    expect(await ids({ status: 'open' })).to.deep.equal([1]);
    expect(await ids({ status: 'all' })).to.deep.equal([3, 2, 1]);
    expect(await ids({ status: 'all', clientId: 1 })).to.deep.equal([2, 1]);
    expect(await ids({ status: 'all', serviceId: 11 })).to.deep.equal([3]);
    expect(await ids({ status: 'all', before: 3 }, 1)).to.deep.equal([2]);
  });

  it('gives a page of periods their anomalies oldest first, and counts the drops waiting for a decision', async () => {
    expect((await store.ofPeriods([5, 6])).map((a) => [a.periodId, a.id])).to.deep.equal([
      [5, 1],
      [5, 2],
      [6, 3],
    ]);
    expect(await store.ofPeriods([])).to.deep.equal([]);
    expect(await store.countUndecidedDrops()).to.equal(1);
  });

  it('locks a drop, records an admin’s decision on it, and keeps that decision by its sample for a rebuild', async () => {
    await knex.transaction(async (trx) => {
      expect(await store.lock(trx, 1)).to.deep.equal({
        id: 1,
        serviceId: 10,
        kind: 'mid_period_drop',
        status: 'open',
        decision: null,
        intervalId: null,
      });
      await store.markDecided(trx, 1, {
        decision: 'reset',
        reason: 'reset by hand on the master',
        byType: 'admin',
        byId: '7',
        at: AT,
      });
    });
    expect(await store.one(1)).to.deep.include({
      status: 'decided',
      decision: 'reset',
      decisionReason: 'reset by hand on the master',
      decidedBy: { type: 'admin', id: '7' },
      decidedAt: '2013-06-02T07:00:00.000Z',
    });
    expect(await store.countUndecidedDrops()).to.equal(0);
    const kept = await store.keptDecisions(knex, 10);
    expect([...kept.keys()]).to.deep.equal([71]);
    expect(kept.get(71)!.at!.toISO()).to.equal('2013-06-02T07:00:00.000Z');
    expect(kept.get(71)).to.deep.include({
      decision: 'reset',
      reason: 'reset by hand on the master',
      byType: 'admin',
      byId: '7',
    });
  });

  it('writes a service’s anomalies again on a rebuild, the kept decision with them, and points the drop at its interval', async () => {
    await store.deleteOfService(knex, 10);
    expect((await store.list({ status: 'all' }, 10)).map((a) => a.id)).to.deep.equal([3]);
    await store.insertMany(knex, [
      {
        serviceId: 10,
        periodId: 5,
        kind: 'mid_period_drop',
        sampleId: 71,
        seenOn: '2013-05-15',
        details: { fromBytes: '9007199254740993', toBytes: '0' },
        status: 'decided',
        decided: {
          decision: 'correction',
          reason: 'SolusVM corrected it',
          byType: 'admin',
          byId: '7',
          at: AT,
        },
        createdAt: AT,
      },
    ]);
    await store.linkDrops(knex, 10, [{ id: 40, toSampleId: 71 }]);
    const [again] = readable(await store.ofPeriods([5]));
    expect(again).to.deep.include({
      kind: 'mid_period_drop',
      status: 'decided',
      decision: 'correction',
      decidedAt: '2013-06-02T07:00:00.000Z',
      details: { fromBytes: '9007199254740993', toBytes: '0' },
    });
    expect(await knex.transaction((trx) => store.lock(trx, again!.id))).to.deep.include({ intervalId: 40 });
  });

  it('refuses a kind or a status metering does not write, naming the column', async () => {
    await knex(TABLES.anomalies).where({ id: 2 }).update({ kind: 'bogus' });
    const kindErr = await store.one(2).then(
      () => null,
      (e: unknown) => e as ModuleError,
    );
    expect(kindErr?.message).to.equal(
      'mod_overusage_anomalies.kind holds "bogus", which is not one of reset_not_seen, late_reset, mid_period_drop, unmeasured, long_gap',
    );
    await knex(TABLES.anomalies).where({ id: 3 }).update({ status: 'closed' });
    const statusErr = await store.one(3).then(
      () => null,
      (e: unknown) => e as ModuleError,
    );
    expect(statusErr?.message).to.equal(
      'mod_overusage_anomalies.status holds "closed", which is not one of open, decided, resolved, info',
    );
  });
});
