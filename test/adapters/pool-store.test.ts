import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import {
  createPoolStore,
  type NewPoolCharge,
  type NewPoolMonth,
  type PoolStore,
} from '../../module/adapters/pool-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';

const T = '2013-10-01 00:00:00.000';
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
// 2^53 + 1: a Number would read 9 007 199 254 740 992
const PAST_2_53 = 9_007_199_254_740_993n;

/** October 2013 of Ann's pool "eu" (VPS 10 and 11): 2^53 + 1 bytes used, a share of it on each. */
const october = (over: Partial<NewPoolMonth> = {}): NewPoolMonth => ({
  clientId: 1,
  poolKey: 'eu',
  start: '2013-10-01',
  end: '2013-10-31',
  currency: 'EUR',
  periodHours: 745,
  anchorServiceId: 10,
  allowanceBytes: 2_000_000_000_000n,
  usedBytes: PAST_2_53,
  overBytes: PAST_2_53 - 2_000_000_000_000n,
  amountMinor: 52_953n,
  details: JSON.stringify({
    periodHours: 745,
    members: [
      {
        serviceId: 10,
        hours: 745,
        shareBytes: '1000000000000',
        usedBytes: PAST_2_53.toString(),
        ownOverBytes: '0',
        billedOverBytes: '0',
        amountMinor: '52953',
        days: ['2013-10-01'],
      },
      {
        serviceId: 11,
        hours: 100,
        shareBytes: '1000000000000',
        usedBytes: '0',
        ownOverBytes: '0',
        billedOverBytes: '0',
        amountMinor: '0',
      },
    ],
  }),
  ...over,
});

const part = (seq: number, serviceId: number, amountMinor: bigint): NewPoolCharge => ({
  seq,
  serviceId,
  clientId: 1,
  productId: 3,
  periodStart: '2013-10-01',
  periodEnd: '2013-10-31',
  currency: 'EUR',
  usedBytes: PAST_2_53,
  ratedAt: utc('2013-11-01T00:10:00Z'),
  allowanceBytes: 1_000_000_000_000n,
  overBytes: 1n,
  amountMinor,
  roundedMinor: amountMinor,
  status: 'unbilled',
  taxed: true,
  explanation: '{"pool":{"key":"eu"}}',
});

describeEachEngine('pool store', ({ db }) => {
  let knex: Knex;
  let store: PoolStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createPoolStore(knex);
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
    const service = (
      id: number,
      clientId: number,
      active: boolean,
      currency: string,
      regdate: string | null,
    ) => ({
      service_id: id,
      client_id: clientId,
      product_id: 3,
      master_id: 1,
      server_ref: `vm${id}`,
      active,
      currency,
      regdate,
      created_at: T,
      updated_at: T,
    });
    await knex(TABLES.services).insert([
      service(10, 1, true, 'EUR', '2013-10-14'),
      service(11, 1, false, 'EUR', null),
      service(12, 2, true, 'USD', null),
    ]);
  });
  beforeEach(async () => {
    await knex(TABLES.poolMembers).delete();
    await knex(TABLES.poolPeriods).delete();
    await knex(TABLES.charges).delete();
  });

  it('reads the services the member sync pages through, by id after the cursor or as named', async () => {
    expect(await store.services({ after: 0, limit: 2 })).to.deep.equal([
      { serviceId: 10, clientId: 1, productId: 3, active: true, regdate: '2013-10-14' },
      { serviceId: 11, clientId: 1, productId: 3, active: false, regdate: null },
    ]);
    expect((await store.services({ after: 11, limit: 2 })).map((s) => s.serviceId)).to.deep.equal([12]);
    expect((await store.services({ only: [12] })).map((s) => s.serviceId)).to.deep.equal([12]);
  });

  it('opens and closes spans, and reads them by service, all by id, and those still in force after an instant', async () => {
    // VPS 10 joined 14 October 00:00 Brussels (13 October 22:00 UTC), left 20 October 12:00 UTC and joined again; Jan's VPS 12 since September
    const join = (serviceId: number, clientId: number, at: string) =>
      store.openSpan(
        knex,
        { clientId, poolKey: 'eu', serviceId, productId: 3, joinedAt: utc(at) },
        utc('2013-10-20T12:00:00Z'),
      );
    await join(10, 1, '2013-10-13T22:00:00Z');
    await join(12, 2, '2013-09-01T00:00:00Z');
    const first = (await store.openSpansOf([10])).get(10)!;
    await store.closeSpan(knex, first.id, utc('2013-10-20T12:00:00Z'));
    await join(10, 1, '2013-10-25T08:00:00Z');
    const spans = await store.spans();
    expect(spans.map((s) => [s.serviceId, s.joinedAt.toISO(), s.leftAt?.toISO() ?? null])).to.deep.equal([
      [10, '2013-10-13T22:00:00.000Z', '2013-10-20T12:00:00.000Z'],
      [12, '2013-09-01T00:00:00.000Z', null],
      [10, '2013-10-25T08:00:00.000Z', null],
    ]);
    expect([...(await store.openSpansOf([10, 11]))].map(([id, s]) => [id, s.joinedAt.toISO()])).to.deep.equal(
      [[10, '2013-10-25T08:00:00.000Z']],
    );
    expect([...(await store.everMembers([10, 11, 12]))].sort()).to.deep.equal([10, 12]);
    // in force after 21 October: the span that ended on the 20th is not
    expect((await store.spansSince(utc('2013-10-21T00:00:00Z'))).map((s) => s.serviceId)).to.deep.equal([
      12, 10,
    ]);
    expect(
      (await store.spansSince(utc('2013-10-01T00:00:00Z'), 1)).map((s) => s.leftAt === null),
    ).to.deep.equal([false, true]);
  });

  it('reads the members’ currencies and their daily traffic on the month’s days, bytes past 2^53 exact', async () => {
    const day = (serviceId: number, sampleId: number, to: string, bytes: string) => ({
      service_id: serviceId,
      period_id: 1,
      to_sample_id: sampleId,
      kind: 'normal',
      from_date: to,
      to_date: to,
      bytes,
      estimated: false,
    });
    await knex(TABLES.intervals).insert([
      day(10, 1, '2013-09-30', '5'),
      day(10, 2, '2013-10-01', PAST_2_53.toString()),
      day(11, 3, '2013-10-31', '7'),
      day(12, 4, '2013-10-15', '9'),
    ]);
    const traffic = await store.traffic([10, 11], '2013-10-01', '2013-10-31');
    expect(traffic.map((t) => [t.serviceId, t.day, t.bytes]).sort()).to.deep.equal([
      [10, '2013-10-01', PAST_2_53],
      [11, '2013-10-31', 7n],
    ]);
    expect([...(await store.currencies([10, 12]))].sort()).to.deep.equal([
      [10, 'EUR'],
      [12, 'USD'],
    ]);
    await knex(TABLES.intervals).delete();
  });

  it('records a month once (a second run finds its row), its charges under −id, and reads it back newest first', async () => {
    const id = await store.recordMonth(knex, october(), utc('2013-11-01T00:10:00Z'));
    expect(await store.recordMonth(knex, october({ amountMinor: 1n }), utc('2013-11-01T00:20:00Z'))).to.equal(
      id,
    );
    await store.recordMonth(
      knex,
      october({ start: '2013-09-01', end: '2013-09-30', amountMinor: 0n }),
      utc('2013-10-01T00:10:00Z'),
    );
    expect([...(await store.ratedMonths())].sort()).to.deep.equal(['1|eu|2013-09-01', '1|eu|2013-10-01']);
    expect(await store.hasCharges(knex, id)).to.equal(false);
    // €529.53 in two parts: €300.00 on VPS 10 and €229.53 on VPS 11
    await store.addCharges(knex, id, [part(1, 10, 30_000n), part(2, 11, 22_953n)]);
    expect(await store.hasCharges(knex, id)).to.equal(true);
    const charges = await knex(TABLES.charges)
      .orderBy('seq')
      .select('id', 'period_id', 'seq', 'kind', 'amount_minor');
    expect(
      charges.map((c) => [Number(c.period_id), Number(c.seq), c.kind, BigInt(c.amount_minor)]),
    ).to.deep.equal([
      [-id, 1, 'pool', 30_000n],
      [-id, 2, 'pool', 22_953n],
    ]);
    const [oct, sep] = readable(await store.months(1));
    expect(oct).to.deep.include({
      id,
      clientId: 1,
      pool: 'eu',
      start: '2013-10-01',
      end: '2013-10-31',
      periodHours: 745,
      usedBytes: PAST_2_53,
      amountMinor: 52_953n,
      chargeId: Number(charges[1].id),
    });
    expect(oct!.members).to.deep.equal([
      {
        serviceId: 10,
        hours: 745,
        shareBytes: 1_000_000_000_000n,
        usedBytes: PAST_2_53,
        ownOverBytes: 0n,
        billedOverBytes: 0n,
        amountMinor: 52_953n,
        days: ['2013-10-01'],
      },
      {
        serviceId: 11,
        hours: 100,
        shareBytes: 1_000_000_000_000n,
        usedBytes: 0n,
        ownOverBytes: 0n,
        billedOverBytes: 0n,
        amountMinor: 0n,
        days: [],
      },
    ]);
    expect([sep!.start, sep!.chargeId]).to.deep.equal(['2013-09-01', null]);
    expect(readable(await store.months(null, 1)).map((m) => m.start)).to.deep.equal(['2013-10-01']);
    expect(await store.months(2)).to.deep.equal([]);
  });

  it('refuses a month whose stored details are not its members, naming the column', async () => {
    await store.recordMonth(knex, october({ details: '{"members":' }), utc('2013-11-01T00:10:00Z'));
    const err = await store.months(1).then(
      () => null,
      (e: unknown) => e as ModuleError,
    );
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_pool_periods.details holds "{\\"members\\":", which is not a pool month\'s members',
    ]);
  });
});
