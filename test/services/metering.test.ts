import { expect } from 'chai';
import type { Knex } from 'knex';
import { dailySeries } from '../../module/domain/daily-series.js';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { createMeteringStore, type MeteringStore } from '../../module/adapters/metering-store.js';
import { createMeteringService } from '../../module/services/metering.js';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { SolusVmError } from '../../module/adapters/solusvm-types.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

const GB = 10n ** 9n;
let nextService = 1000;
let nextMaster = 1;

describeEachEngine('metering', ({ db }) => {
  let knex: Knex;
  let fake: FakeMaster;
  let fx: ModuleFixture;

  async function setup(serviceCount: number, opts: { resetPolicy?: string } = {}) {
    fake = new FakeMaster();
    knex = db().knex;
    fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
    const master = await fx.mod.masters.add(
      {
        name: `m${nextMaster++}`,
        version: 1,
        baseUrl: 'https://solus.example.net:5656',
        apiId: 'id',
        apiKey: 'key',
        timeZone: 'Europe/Brussels',
        resetPolicy: opts.resetPolicy ?? 'first_of_month',
        concurrency: 3,
      },
      CLI_ACTOR,
    );
    const ids: number[] = [];
    for (let i = 0; i < serviceCount; i++) {
      const id = nextService++;
      ids.push(id);
      await fx.mod.links.link(
        { serviceId: id, clientId: 7, masterId: master.id, serverRef: `vs${id}` },
        CLI_ACTOR,
      );
      fake.set(`vs${id}`, 1000n * GB);
    }
    return { master, ids };
  }

  const samples = (ids: number[]) =>
    knex('mod_overusage_samples').whereIn('service_id', ids).orderBy(['service_id', 'sample_date']);
  const intervals = (ids: number[]) =>
    knex('mod_overusage_intervals').whereIn('service_id', ids).orderBy(['service_id', 'to_date']);
  const periods = (ids: number[]) =>
    knex('mod_overusage_periods').whereIn('service_id', ids).orderBy(['service_id', 'start_date']);

  it('stores one sample per service and day, and re-running the day changes nothing', async () => {
    const { master, ids } = await setup(7);
    const first = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(first).to.deep.include({ sampleDate: '2013-05-10', readOk: 7, failed: 0, gaps: 0 });
    const before = {
      s: (await samples(ids)).length,
      i: (await intervals(ids)).length,
      p: (await periods(ids)).length,
    };
    expect(before).to.deep.equal({ s: 7, i: 7, p: 7 });

    fake.add(`vs${ids[0]}`, 5n * GB);
    fx.clock.advance({ hours: 1 });
    const again = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(again).to.deep.include({ readOk: 0, already: 7, failed: 0, gaps: 0 });
    expect({
      s: (await samples(ids)).length,
      i: (await intervals(ids)).length,
      p: (await periods(ids)).length,
    }).to.deep.equal(before);
    expect(fake.reads).to.equal(7);
  });

  it('derives each day as the counter increase and keeps the period equal to the counter', async () => {
    const { master, ids } = await setup(2);
    await fx.mod.metering.collect({ masterIds: [master.id] });
    for (const [day, add] of [
      [11, 40n],
      [12, 0n],
      [13, 75n],
    ] as const) {
      fx.clock.set(`2013-05-${day}T21:50:00Z`);
      fake.add(`vs${ids[0]}`, add * GB);
      await fx.mod.metering.collect({ masterIds: [master.id] });
    }
    const rows = (await intervals([ids[0]!])).map((r) => [r.kind, r.from_date, r.to_date, toBig(r.bytes)]);
    expect(rows).to.deep.equal([
      ['before_metering', '2013-05-01', '2013-05-10', 1000n * GB],
      ['daily', '2013-05-11', '2013-05-11', 40n * GB],
      ['daily', '2013-05-12', '2013-05-12', 0n],
      ['daily', '2013-05-13', '2013-05-13', 75n * GB],
    ]);
    const [p] = await periods([ids[0]!]);
    expect(toBig(p.used_bytes)).to.equal(1115n * GB);
    expect(p.status).to.equal('open');
  });

  it('closes the period at the reset on the 1st and opens the next one, losing and inventing nothing', async () => {
    const { master, ids } = await setup(3);
    fx.clock.set('2013-05-30T21:50:00Z');
    fake.set(`vs${ids[0]}`, 5900n * GB);
    await fx.mod.metering.collect({ masterIds: [master.id] });
    fx.clock.set('2013-05-31T21:50:00Z');
    fake.set(`vs${ids[0]}`, 6000n * GB);
    await fx.mod.metering.collect({ masterIds: [master.id] });
    fx.clock.set('2013-06-01T21:50:00Z');
    for (const id of ids) fake.set(`vs${id}`, 12n * GB);
    const run = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(run.resets).to.equal(3);
    const ps = await periods([ids[0]!]);
    // May closes on the calendar with the read of its last day; the reset at midnight Brussels
    // (22:00 UTC) is noted on it, with the 10 minutes before it that nobody measured.
    expect(
      ps.map((p) => [p.start_date, p.end_date, p.status, p.closed_by, toBig(p.used_bytes)]),
    ).to.deep.equal([
      ['2013-05-01', '2013-05-31', 'closed', 'calendar', 6000n * GB],
      ['2013-06-01', '2013-06-30', 'open', null, 12n * GB],
    ]);
    expect(String(ps[0]!.reset_at).slice(0, 19)).to.equal('2013-05-31 22:00:00');
    expect(String(ps[0]!.unmeasured_after).slice(0, 19)).to.equal('2013-05-31 21:50:00');
    // the intervals of each period sum to its total
    for (const p of ps) {
      const sum = (await knex('mod_overusage_intervals').where({ period_id: p.id })).reduce(
        (s, r) => s + toBig(r.bytes),
        0n,
      );
      expect(sum).to.equal(toBig(p.used_bytes));
    }
  });

  it('records a failed read as a gap, never a zero, and spans the gap with one interval', async () => {
    const { master, ids } = await setup(3);
    await fx.mod.metering.collect({ masterIds: [master.id] });
    fake.fail(`vs${ids[1]}`, new SolusVmError('ip_refused', "the master refuses this server's IP address"));
    fx.clock.set('2013-05-11T21:50:00Z');
    fake.add(`vs${ids[1]}`, 30n * GB);
    const run = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(run).to.deep.include({ readOk: 2, failed: 1, gaps: 1 });
    expect(run.failureReasons[0]).to.deep.include({ kind: 'ip_refused', count: 1 });
    const failures = await knex('mod_overusage_read_failures').where({ service_id: ids[1] });
    expect(failures).to.have.length(1);
    expect(failures[0].sample_date).to.equal('2013-05-11');
    expect(
      await knex('mod_overusage_samples').where({ service_id: ids[1], sample_date: '2013-05-11' }),
    ).to.have.length(0);

    fake.fail(`vs${ids[1]}`, null);
    fx.clock.set('2013-05-12T21:50:00Z');
    fake.add(`vs${ids[1]}`, 20n * GB);
    await fx.mod.metering.collect({ masterIds: [master.id] });
    const iv = (await intervals([ids[1]!])).map((r) => ({
      kind: r.kind,
      from: r.from_date,
      to: r.to_date,
      bytes: toBig(r.bytes),
    }));
    expect(iv[1]).to.deep.equal({ kind: 'span', from: '2013-05-11', to: '2013-05-12', bytes: 50n * GB });
    const days = dailySeries(
      iv.map((i) => ({ fromDate: i.from, toDate: i.to, bytes: i.bytes })),
      '2013-05-11',
      '2013-05-12',
    );
    expect(days.map((d) => [d.bytes, d.estimatedBytes])).to.deep.equal([
      [25n * GB, 25n * GB],
      [25n * GB, 25n * GB],
    ]);
  });

  it('fills what can be filled when the day is run again after the master comes back', async () => {
    const { master, ids } = await setup(4);
    for (const id of ids) fake.fail(`vs${id}`);
    const down = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(down).to.deep.include({ readOk: 0, failed: 4, gaps: 4 });
    for (const id of ids) fake.fail(`vs${id}`, null);
    fx.clock.advance({ hours: 2 });
    const up = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(up).to.deep.include({ readOk: 4, failed: 0, gaps: 0 });
    expect(await samples(ids)).to.have.length(4);
  });

  it('refuses to sample a day outside its window, naming the window', async () => {
    await setup(1);
    try {
      await fx.mod.metering.collect({ date: '2013-05-08' });
      expect.fail('should have refused');
    } catch (err) {
      expect((err as Error).message).to.match(
        /2013-05-08 can only be sampled between 2013-05-08 12:00 and 2013-05-09 12:00 \(Europe\/Brussels\)/,
      );
    }
  });

  it('resumes a run killed half-way without duplicates', async () => {
    const { master, ids } = await setup(10);
    const real = createMeteringStore(knex);
    let batches = 0;
    const crashing: MeteringStore = {
      ...real,
      async writeBatch(...args) {
        if (++batches === 2) throw new Error('killed');
        return real.writeBatch(...args);
      },
    };
    const crashingService = createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store: crashing,
      locks: createLockStore(knex),
      masters: fx.mod.masters,
      gatewayFor: () => fake.gateway(),
      batchSize: 3,
      pageSize: 4,
    });
    const partial = await crashingService.collect({ masterIds: [master.id] });
    expect(partial.masters[0]!.status).to.equal('error');
    const stored = (await samples(ids)).length;
    expect(stored).to.be.greaterThan(0).and.lessThan(10);

    const resumed = await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(resumed.readOk).to.equal(10 - stored);
    expect(await samples(ids)).to.have.length(10);
    expect(await intervals(ids)).to.have.length(10);
    const perService = await knex('mod_overusage_samples')
      .whereIn('service_id', ids)
      .groupBy('service_id')
      .select('service_id')
      .count({ n: '*' });
    expect(perService.every((r) => toNum(r.n) === 1)).to.equal(true);
  });

  it('lets two runs at once split the work without counting anything twice', async () => {
    const { master, ids } = await setup(12);
    fake.delayMs = 5;
    const [a, b] = await Promise.all([
      fx.mod.metering.collect({ masterIds: [master.id] }),
      fx.mod.metering.collect({ masterIds: [master.id] }),
    ]);
    expect(a.readOk + b.readOk).to.equal(12);
    expect([a.masters[0]!.status, b.masters[0]!.status].sort()).to.deep.equal(['done', 'locked']);
    expect(await samples(ids)).to.have.length(12);
    expect(await intervals(ids)).to.have.length(12);
  });

  it('lets a run that waits for a master another run holds find it done, reading nothing twice', async () => {
    const { master, ids } = await setup(12);
    fake.delayMs = 5;
    // both ask for the one master; the second to take its lease waits (up to 30 s) instead of
    // saying it is held, tries again after the first let it go, and finds nothing left to read
    const [a, b] = await Promise.all([
      fx.mod.metering.collect({ masterIds: [master.id], waitMs: 30_000 }),
      fx.mod.metering.collect({ masterIds: [master.id], waitMs: 30_000 }),
    ]);
    expect([a.masters[0]!.status, b.masters[0]!.status]).to.deep.equal(['done', 'done']);
    expect([a.readOk + b.readOk, a.already + b.already]).to.deep.equal([12, 12]);
    expect(fake.reads).to.equal(12);
    expect(await samples(ids)).to.have.length(12);
  });

  it('never calls a master with more than its concurrency at once', async () => {
    const { master } = await setup(20);
    fake.delayMs = 3;
    await fx.mod.metering.collect({ masterIds: [master.id] });
    expect(fake.maxInFlight).to.be.at.most(3).and.at.least(2);
  });
});
