import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { UnreadableRow } from '../../module/adapters/rows.js';
import {
  createUpgradeStore,
  type NewUpgradeRequest,
  type UpgradeStore,
} from '../../module/adapters/upgrade-store.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';

const NOW = DateTime.fromISO('2013-06-05T10:00:00.000Z', { zone: 'utc' });
/** 2^53 + 1: the first integer a JS number cannot hold; it must come back exactly */
const PAST_2_53 = 9_007_199_254_740_993n;

const request = (over: Partial<NewUpgradeRequest> = {}): NewUpgradeRequest => ({
  serviceId: 10,
  clientId: 1,
  fromProductId: 3,
  toProductId: 4,
  requestedOn: '2013-06-05',
  requestedAt: NOW,
  creditPercent: 50,
  panelUpgradeId: 77,
  invoiceId: null,
  figures: '{"currentMinor":"1000"}',
  ...over,
});

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

/**
 * Upgrades and their suggestions on both engines. Charges are written by hand as rating writes
 * them (test/support/charge-rows.ts: service 10 of client 1, product 3, €500.00 for 1 000 GB over
 * in May 2013), one per month, ids 1…n.
 */
describeEachEngine('upgrade store', ({ db, engine }) => {
  let knex: Knex;
  let store: UpgradeStore;

  const month = (id: number, start: string, end: string, over: Record<string, unknown> = {}) =>
    insertCharge(knex, id, { period_start: start, period_end: end, ...over });

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createUpgradeStore(knex);
    await knex(TABLES.masters).insert({
      id: 1,
      name: 'm1',
      version: 1,
      base_url: 'https://solusvm.example',
      credentials_enc: 'x',
      time_zone: 'UTC',
      reset_policy: 'monthly',
      created_at: '2013-01-01 00:00:00.000',
      updated_at: '2013-01-01 00:00:00.000',
    });
    await knex(TABLES.services).insert({
      service_id: 10,
      client_id: 1,
      product_id: 3,
      master_id: 1,
      server_ref: 'vs10',
      currency: 'USD',
      created_at: '2013-01-01 00:00:00.000',
      updated_at: '2013-01-01 00:00:00.000',
    });
  });
  beforeEach(async () => {
    await knex(TABLES.charges).delete();
    await knex(TABLES.upgrades).delete();
    await knex(TABLES.notices).delete();
  });

  it("reads a service's client, product and currency, and nothing for one it does not know", async () => {
    expect(await store.service(10)).to.deep.equal({ clientId: 1, productId: 3, currency: 'USD' });
    expect(await store.service(11)).to.equal(null);
  });

  it("gives a service's last rated periods newest first, amounts past 2^53 exact", async () => {
    await month(1, '2013-03-01', '2013-03-31');
    await month(2, '2013-04-01', '2013-04-30', {
      amount_minor: PAST_2_53.toString(),
      over_bytes: PAST_2_53.toString(),
    });
    await month(3, '2013-05-01', '2013-05-31', {
      status: 'not_billed',
      explanation: '{"rated":{"days":31}}',
    });
    await month(4, '2013-05-01', '2013-05-31', { service_id: 11 });
    const last2 = await store.ratedPeriods(10, 2);
    expect(
      last2.map((c) => [
        c.periodId,
        c.periodStart,
        c.periodEnd,
        c.status,
        c.amountMinor,
        c.overBytes,
        c.explanation,
      ]),
    ).to.deep.equal([
      [3, '2013-05-01', '2013-05-31', 'not_billed', 50_000n, 1_000_000_000_000n, { rated: { days: 31 } }],
      [2, '2013-04-01', '2013-04-30', 'unbilled', PAST_2_53, PAST_2_53, { rated: {} }],
    ]);
    expect(last2[0]!.usedBytes).to.equal(6_000_000_000_000n);
    expect(last2[0]!.allowanceBytes).to.equal(5_000_000_000_000n);
    // the upgrade figures count only usage charges that billed: May (not billed) is left out
    expect((await store.ratedPeriods(10, 2, { usageOnly: true })).map((c) => c.periodId)).to.deep.equal([
      2, 1,
    ]);
  });

  it('finds the services whose latest rated period was over, not those whose latest was within the allowance', async () => {
    // service 10: April over, May over → latest over; service 11: April over, May within → not
    await month(1, '2013-04-01', '2013-04-30');
    await month(2, '2013-05-01', '2013-05-31');
    await month(3, '2013-04-01', '2013-04-30', { service_id: 11, client_id: 2 });
    await month(4, '2013-05-01', '2013-05-31', {
      service_id: 11,
      client_id: 2,
      status: 'within_allowance',
      over_bytes: '0',
    });
    expect(await store.latestOver()).to.deep.equal([
      { serviceId: 10, clientId: 1, productId: 3, periodId: 2 },
    ]);
  });

  it("leaves out a service whose rated period cannot be read, told with the charge's id, column and why", async () => {
    // service 10: April and May over; service 11: May over, its April's status edited by hand
    await month(1, '2013-04-01', '2013-04-30');
    await month(2, '2013-05-01', '2013-05-31');
    await month(3, '2013-04-01', '2013-04-30', { service_id: 11, client_id: 2, status: 'paid' });
    await month(4, '2013-05-01', '2013-05-31', { service_id: 11, client_id: 2 });
    const told: Array<[string, UnreadableRow]> = [];
    const setAside = (table: string, u: UnreadableRow) => told.push([table, u]);
    const ten = await store.ratedPeriods(10, 3, { usageOnly: true, setAside });
    expect([ten.map((c) => c.periodId), ten.unreadable]).to.deep.equal([[2, 1], undefined]);
    // usageOnly leaves out the known statuses it does not want by name: 'paid' is read, and refused
    const eleven = await store.ratedPeriods(11, 3, { usageOnly: true, setAside });
    expect(eleven.map((c) => c.periodId)).to.deep.equal([4]);
    const why = {
      column: 'mod_overusage_charges.status',
      reason: 'not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
    };
    expect([...eleven.unreadable!]).to.deep.equal([[11, { id: 3, unreadable: why }]]);
    expect(told).to.deep.equal([[TABLES.charges, { id: 3, unreadable: why }]]);
  });

  it("leaves out of the streak's candidates a service whose latest charge cannot be read (SQLite keeps text in an integer column)", async function () {
    if (engine !== 'sqlite') this.skip();
    await month(1, '2013-05-01', '2013-05-31');
    await month(2, '2013-05-01', '2013-05-31', { service_id: 11, client_id: 2, product_id: 'x' });
    const told: Array<[string, UnreadableRow]> = [];
    const over = await store.latestOver((table, u) => told.push([table, u]));
    expect(over).to.deep.equal([{ serviceId: 10, clientId: 1, productId: 3, periodId: 1 }]);
    const why = { column: 'mod_overusage_charges.product_id', reason: 'not an integer' };
    expect([...over.unreadable!]).to.deep.equal([[11, { id: 2, unreadable: why }]]);
    expect(told).to.deep.equal([[TABLES.charges, { id: 2, unreadable: why }]]);
  });

  it("records a request, accepts the service's open suggestions, and finds it again by plan and day", async () => {
    const sent = await store.suggestionFor({ serviceId: 10, clientId: 1, key: 'period:1' }, NOW);
    await store.markSuggestion(sent.id, { status: 'sent', at: NOW });
    await store.suggestionFor({ serviceId: 10, clientId: 1, key: 'period:2' }, NOW);
    const failed = await store.suggestionFor({ serviceId: 10, clientId: 1, key: 'period:3' }, NOW);
    await store.markSuggestion(failed.id, { status: 'failed', details: 'x'.repeat(600) });
    const id = await store.transaction((tx) => tx.recordRequest(request()));
    expect(await store.requestOn(10, 4, '2013-06-05')).to.deep.equal({
      id,
      serviceId: 10,
      clientId: 1,
      fromProductId: 3,
      toProductId: 4,
      requestedOn: '2013-06-05',
      creditPercent: 50,
      panelUpgradeId: 77,
      invoiceId: null,
    });
    expect(await store.requestOn(10, 4, '2013-06-06')).to.equal(null);
    expect(await store.requestOn(10, 5, '2013-06-05')).to.equal(null);
    // sent and pending became accepted; the failed one stays failed, its reason cut to 500 characters
    const notices = await knex(TABLES.notices).orderBy('id').select('status', 'details');
    expect(notices.map((n) => n.status)).to.deep.equal(['accepted', 'accepted', 'failed']);
    expect(String(notices[2].details)).to.have.length(500);
  });

  it('writes a suggestion once per key: asking again gives the same one, as it stands', async () => {
    const first = await store.suggestionFor({ serviceId: 10, clientId: 1, key: 'period:7' }, NOW);
    expect([first.serviceId, first.clientId, first.status, first.createdAt.toISO()]).to.deep.equal([
      10,
      1,
      'pending',
      '2013-06-05T10:00:00.000Z',
    ]);
    await store.markSuggestion(first.id, { status: 'sent', at: NOW });
    const again = await store.suggestionFor(
      { serviceId: 10, clientId: 1, key: 'period:7' },
      NOW.plus({ days: 1 }),
    );
    expect([again.id, again.status, again.createdAt.toISO()]).to.deep.equal([
      first.id,
      'sent',
      '2013-06-05T10:00:00.000Z',
    ]);
  });

  it('lists suggestions and requests newest first, up to the limit', async () => {
    for (const k of [1, 2, 3])
      await store.suggestionFor({ serviceId: 10 + k, clientId: k, key: 'period:1' }, NOW);
    await store.recordRequest(request({ serviceId: 11, toProductId: 4 }));
    await store.recordRequest(request({ serviceId: 12, toProductId: 5 }));
    expect(readable(await store.recentSuggestions(2)).map((s) => s.serviceId)).to.deep.equal([13, 12]);
    expect(readable(await store.recentRequests(5)).map((r) => [r.serviceId, r.toProductId])).to.deep.equal([
      [12, 5],
      [11, 4],
    ]);
  });

  it('writes nothing of a request whose transaction fails', async () => {
    await refusal(
      store.transaction(async (tx) => {
        await tx.recordRequest(request());
        throw new Error('the audit failed');
      }),
    );
    expect(await store.recentRequests(5)).to.deep.equal([]);
  });

  it('lists a stored suggestion status outside its set in its place, and refuses such a charge status, naming the column', async () => {
    const { id } = await store.suggestionFor({ serviceId: 10, clientId: 1, key: 'period:1' }, NOW);
    await store.suggestionFor({ serviceId: 11, clientId: 2, key: 'period:1' }, NOW);
    await knex(TABLES.notices).where({ id }).update({ status: 'lost' });
    // the admin's recent list: service 11's as usual, service 10's named in its place
    const listed = await store.recentSuggestions(5);
    expect(listed[0]).to.deep.include({ serviceId: 11, status: 'pending' });
    expect(listed[1]).to.deep.equal({
      id,
      unreadable: {
        column: 'mod_overusage_notices.status',
        reason: 'not one of pending, sent, failed, accepted',
      },
    });
    await month(1, '2013-05-01', '2013-05-31', { status: 'paid' });
    const badCharge = await refusal(store.ratedPeriods(10, 3));
    expect((badCharge as ModuleError).message).to.equal(
      'mod_overusage_charges.status holds "paid", which is not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review',
    );
  });
});
