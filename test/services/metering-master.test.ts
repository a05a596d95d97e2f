import { expect } from 'chai';
import type { Knex } from 'knex';
import { createMeteringStore, type MeteringStore } from '../../module/adapters/metering-store.js';
import { toNum } from '../../module/adapters/rows.js';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { SolusVmError, type SolusVmGateway } from '../../module/adapters/solusvm-types.js';
import { createMeteringService, type MeteringDeps } from '../../module/services/metering.js';
import { addFakeMaster } from '../support/fake-masters.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

/**
 * One master's work inside a collect run, in process (no HTTP): the services to read come a page
 * at a time, the next page asked for before the queue runs dry; samples and failures are written
 * in batches while reads go on, and reads wait when the writer falls behind; the breaker calls a
 * master one call at a time until a read succeeds. The stores are spied on, never replaced: what
 * is asked of them, in which order, and what they hold after. Counters read 1 000 GB; the run
 * samples 10 May 2013 (Brussels). No timers: a read either answers at once (FakeMaster) or after
 * one turn of the event loop, so the order of events is the same on every run.
 */
const GB = 10n ** 9n;

describeEachEngine('a master’s reads, pages and writes', ({ db }) => {
  let knex: Knex;
  let fake: FakeMaster;
  let fx: ModuleFixture;
  let real: MeteringStore;

  beforeEach(async () => {
    knex = db().knex;
    fake = new FakeMaster();
    fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
    real = createMeteringStore(knex);
  });
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
  });

  /** A master "nl" of `n` services 100, 101, … on servers nl-1, nl-2, … */
  async function master(n: number, concurrency = 1) {
    return addFakeMaster(fx, fake, { name: 'nl', count: n, firstServiceId: 100, concurrency });
  }

  function service(over: Partial<MeteringDeps>) {
    return createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store: real,
      locks: createLockStore(knex),
      masters: fx.mod.masters,
      gatewayFor: () => fake.gateway(),
      ...over,
    });
  }

  const stored = async () =>
    (await knex('mod_overusage_samples').orderBy('service_id').pluck('service_id')).map(Number);

  it('writes samples and failures in batches of the batch size, and no empty list of failures', async () => {
    await master(14);
    // 7 not found, then 7 read
    for (let i = 1; i <= 7; i++)
      fake.fail(`nl-${i}`, new SolusVmError('not_found', 'Virtual server not found'));
    const samples: number[] = [];
    const failures: number[] = [];
    const store: MeteringStore = {
      ...real,
      writeBatch: (r, batches, at) => (
        samples.push(...batches.map((b) => b.results.length)),
        real.writeBatch(r, batches, at)
      ),
      recordFailures: (r, f) => (failures.push(f.length), real.recordFailures(r, f)),
    };
    const run = await service({ store, batchSize: 3, pageSize: 100 }).collect();
    // a batch goes when 3 samples or 3 failures wait: F F F | F F F | F R R R | R R R | R (the end)
    expect(samples).to.deep.equal([0, 0, 3, 3, 1]);
    expect(failures).to.deep.equal([3, 3, 1]);
    expect([run.readOk, run.failed, run.gaps]).to.deep.equal([7, 7, 7]);
    expect(run.masters[0]).to.deep.include({ read: 7, failed: 7 });
    expect(await stored()).to.deep.equal([107, 108, 109, 110, 111, 112, 113]);
    const row = await knex('mod_overusage_read_failures').count({ n: '*' }).first();
    expect(toNum(row!.n)).to.equal(7);
  });

  it('holds reads back when the writer is three batches behind, so a master never keeps more in memory', async () => {
    await master(20);
    let written = 0;
    const seen: number[] = [];
    const store: MeteringStore = {
      ...real,
      async writeBatch(...args) {
        const out = await real.writeBatch(...args);
        written++;
        return out;
      },
    };
    const reading = (): SolusVmGateway => {
      const g = fake.gateway();
      return { ...g, readTraffic: (ref) => (seen.push(written), g.readTraffic(ref)) };
    };
    const run = await service({ store, gatewayFor: reading, batchSize: 3, pageSize: 100 }).collect();
    // Reads answer at once and a write needs the database, so reads run ahead of the writes. The
    // third batch waiting (reads 1–9) holds the 10th read back until those three are written;
    // then 4 and 5 wait behind nothing and 6 makes three again (reads 10–18), and the 19th waits.
    expect(seen).to.deep.equal([...Array(9).fill(0), ...Array(9).fill(3), 6, 6]);
    expect(run.readOk).to.equal(20);
    expect(await stored()).to.have.length(20);
  });

  it('holds back only the reader that filled the third batch: another reader goes on until it fills the fourth', async () => {
    await master(20, 2);
    let written = 0;
    const seen: number[] = [];
    const store: MeteringStore = {
      ...real,
      async writeBatch(...args) {
        const out = await real.writeBatch(...args);
        written++;
        return out;
      },
    };
    const reading = (): SolusVmGateway => {
      const g = fake.gateway();
      return { ...g, readTraffic: (ref) => (seen.push(written), g.readTraffic(ref)) };
    };
    await service({ store, gatewayFor: reading, batchSize: 3, pageSize: 100 }).collect();
    // Two readers. The one whose read filled the third batch (read 9) waits for it; the other
    // reads 10–12, fills the fourth and waits for that one. The first goes on once three batches
    // are written (reads 13–18, the sixth batch: waits again), the second once four are (19, 20).
    expect(seen).to.deep.equal([...Array(12).fill(0), ...Array(6).fill(3), 4, 4]);
  });

  it('asks for the next page when a quarter of a page is left, and for no page after the last', async () => {
    await master(20);
    const events: string[] = [];
    const store: MeteringStore = {
      ...real,
      pageToRead: (m, d, after, limit) => (
        events.push(`page after ${after}`),
        real.pageToRead(m, d, after, limit)
      ),
    };
    const reading = (): SolusVmGateway => {
      const g = fake.gateway();
      return { ...g, readTraffic: (ref) => (events.push(ref), g.readTraffic(ref)) };
    };
    await service({ store, gatewayFor: reading, batchSize: 100, pageSize: 8 }).collect();
    const reads = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `nl-${from + i}`);
    // pages of 8: services 100–107, 108–115, then 116–119 (4, fewer than 8: the last). Each next
    // page is asked for when one service (fewer than 8 / 4 = 2) is left, before it is read.
    expect(events).to.deep.equal([
      'page after 0',
      ...reads(1, 7),
      'page after 107',
      ...reads(8, 15),
      'page after 115',
      ...reads(16, 20),
    ]);
  });

  for (const [what, pageSize] of [
    ['asked for ahead', 8],
    ['asked for when the queue ran dry', 4],
  ] as const) {
    it(`stops the master when a page ${what} cannot be read, and writes nothing after it`, async () => {
      await master(20);
      let pages = 0;
      const store: MeteringStore = {
        ...real,
        async pageToRead(...args) {
          if (++pages === 2) throw new Error('page read lost');
          return real.pageToRead(...args);
        },
      };
      const run = await service({ store, batchSize: 3, pageSize }).collect();
      // the first batch (100–102) went to the database before the page failed; nothing after it
      expect(run.masters[0]).to.deep.include({ status: 'error', message: 'page read lost', read: 3 });
      expect(await stored()).to.deep.equal([100, 101, 102]);
    });
  }

  it('reads no more once a write failed', async () => {
    await master(20);
    let batches = 0;
    const store: MeteringStore = {
      ...real,
      async writeBatch(...args) {
        if (++batches > 1) return real.writeBatch(...args);
        // the first batch fails the way a database does: after a turn of the event loop
        await new Promise((r) => setImmediate(r));
        throw new Error('disk full');
      },
    };
    const run = await service({ store, batchSize: 3, pageSize: 100 }).collect();
    // reads 1–9 run ahead of the first write (three batches), the 10th waits for them: the first
    // failed, so the master stops there with 9 read and nothing stored
    expect(fake.reads).to.equal(9);
    expect(run.masters[0]).to.deep.include({ status: 'error', message: 'disk full', read: 0 });
    expect(await stored()).to.deep.equal([]);
  });

  /** FakeMaster's gateway whose reads answer after one turn of the event loop, noting when each starts and ends. */
  function slowReads(events: string[]) {
    return (): SolusVmGateway => {
      const g = fake.gateway();
      return {
        ...g,
        async readTraffic(ref) {
          events.push(`start ${ref}`);
          await new Promise((r) => setImmediate(r));
          try {
            return await g.readTraffic(ref);
          } finally {
            events.push(`end ${ref}`);
          }
        },
      };
    };
  }

  it('calls a master once and waits for the answer before calling it more at once', async () => {
    await master(6, 3);
    const events: string[] = [];
    const run = await service({ gatewayFor: slowReads(events) }).collect();
    // three workers, but nl-2 and nl-3 are not asked for until nl-1 has answered
    expect(events.slice(0, 2)).to.deep.equal(['start nl-1', 'end nl-1']);
    expect(run.readOk).to.equal(6);
  });

  it('goes back to one call at a time after a master-wide failure, and stops at the fifth', async () => {
    await master(12, 2);
    // nl-1 answers, every other read times out
    for (let i = 2; i <= 12; i++) fake.fail(`nl-${i}`, new SolusVmError('timeout', 'no answer in 10 s'));
    const events: string[] = [];
    const logged: Array<[string, Record<string, unknown>]> = [];
    const run = await service({
      gatewayFor: slowReads(events),
      log: (event, fields) => logged.push([event, fields]),
    }).collect();
    // Two workers. nl-1 answers alone; nl-2 (waiting behind it) and nl-3 go at once. nl-2 fails:
    // one at a time again, so nl-4 goes while nl-3 is still out (it was called before), nl-5
    // waits for nl-4, nl-6 for nl-5. nl-6 is the fifth timeout in a row: the worker waiting with
    // nl-7 is told so and never calls. 6 calls, 5 failures, 11 gaps.
    expect(fake.reads).to.equal(6);
    expect([run.readOk, run.failed, run.gaps]).to.deep.equal([1, 5, 11]);
    expect(events.filter((e) => e.startsWith('start'))).to.deep.equal(
      ['nl-1', 'nl-2', 'nl-3', 'nl-4', 'nl-5', 'nl-6'].map((r) => `start ${r}`),
    );
    expect(run.masters[0]!.message).to.match(/^stopped after 5 failed reads in a row \(no answer in 10 s\)/);
    expect(logged.filter(([e]) => e === 'collect.master_tripped')).to.deep.equal([
      ['collect.master_tripped', { master: 'nl', kind: 'timeout', code: null, failures: 5 }],
    ]);
  });

  it('neither counts an error of its own toward the breaker nor starts counting again after it', async () => {
    await master(10);
    for (let i = 1; i <= 10; i++) fake.fail(`nl-${i}`, new SolusVmError('auth', 'Invalid id or key'));
    const gatewayFor = (): SolusVmGateway => {
      const g = fake.gateway();
      return {
        ...g,
        readTraffic: async (ref) => {
          if (ref === 'nl-5') throw new TypeError('boom');
          return g.readTraffic(ref);
        },
      };
    };
    const run = await service({ gatewayFor }).collect();
    // 4 refused, nl-5 our own error, nl-6 the fifth refusal in a row: 6 calls made, 6 failed
    // (nl-5 never reached the fake, which counts 5 reads)
    expect(fake.reads).to.equal(5);
    expect(run.failed).to.equal(6);
    expect(run.masters[0]!.message).to.match(/^stopped after 5 failed reads in a row \(Invalid id or key\)/);
  });

  it('calls every VPS when each answer cannot be read, even five in a row of one code', async () => {
    await master(8);
    for (let i = 1; i <= 8; i++)
      fake.fail(
        `nl-${i}`,
        new SolusVmError('bad_response', 'the answer has no bw field', { code: 'MISSING_FIELD' }),
      );
    const run = await service({}).collect();
    expect(fake.reads).to.equal(8);
    expect([run.failed, run.masters[0]!.status]).to.deep.equal([8, 'done']);
  });

  it('groups failures by kind, code and message; a dropped connection with a code by its code alone', async () => {
    await master(6);
    const fails: SolusVmError[] = [
      new SolusVmError('bad_response', 'the answer has no bw field', { code: 'MISSING_FIELD' }),
      new SolusVmError('bad_response', 'the answer has no status field', { code: 'MISSING_FIELD' }),
      new SolusVmError('bad_response', 'the answer cannot be read', { code: 'NOT_JSON' }),
      new SolusVmError('bad_response', 'the answer cannot be read', { code: 'BAD_FIELD' }),
      new SolusVmError('transport', 'connection refused'),
      new SolusVmError('transport', 'no route to host'),
    ];
    fails.forEach((e, i) => fake.fail(`nl-${i + 1}`, e));
    const run = await service({}).collect();
    // six causes, one service each, in the order they came
    expect(run.failures.map((r) => [r.kind, r.message, r.count])).to.deep.equal([
      ['bad_response', 'nl: the answer has no bw field', 1],
      ['bad_response', 'nl: the answer has no status field', 1],
      ['bad_response', 'nl: the answer cannot be read', 1],
      ['bad_response', 'nl: the answer cannot be read', 1],
      ['transport', 'nl: connection refused', 1],
      ['transport', 'nl: no route to host', 1],
    ]);
  });

  it('puts the most frequent reason first, in the top five and in the list by master', async () => {
    await master(8);
    // causes 1–5 once each, then cause 6 three times: the most frequent came last
    for (let i = 1; i <= 5; i++) fake.fail(`nl-${i}`, new SolusVmError('app_error', `cause ${i}`));
    for (let i = 6; i <= 8; i++) fake.fail(`nl-${i}`, new SolusVmError('app_error', 'cause 6'));
    const run = await service({}).collect();
    const shown = (rs: typeof run.failures) => rs.map((r) => [r.message, r.count]);
    // ties keep the order they came in
    expect(shown(run.failureReasons)).to.deep.equal([
      ['nl: cause 6', 3],
      ['nl: cause 1', 1],
      ['nl: cause 2', 1],
      ['nl: cause 3', 1],
      ['nl: cause 4', 1],
    ]);
    expect(shown(run.failures)).to.deep.equal([
      ['nl: cause 6', 3],
      ['nl: cause 1', 1],
      ['nl: cause 2', 1],
      ['nl: cause 3', 1],
      ['nl: cause 4', 1],
      ['nl: cause 5', 1],
    ]);
    expect(run.masters[0]).to.deep.include({ status: 'done', read: 0, failed: 8 });
  });

  it('bills on the reset rule SolusVM 2 gives in the read, from the panel’s registration day when the master says so', async () => {
    const m = await fx.mod.masters.add(
      {
        name: 'nl2',
        version: 2,
        baseUrl: 'https://solus.example.net',
        token: 'token',
        timeZone: 'Europe/Brussels',
        resetPolicy: 'first_of_month',
        anniversaryFrom: 'panel',
        concurrency: 1,
      },
      CLI_ACTOR,
    );
    await fx.mod.links.link(
      { serviceId: 100, clientId: 7, masterId: m.id, serverRef: '31', regdate: '2012-01-05' },
      CLI_ACTOR,
    );
    fake.set('31', 1000n * GB);
    const g = fake.gateway();
    // the plan resets on the server's anniversary; the server was made on 17 March 2012
    const gatewayFor = (): SolusVmGateway => ({
      ...g,
      readTraffic: async (ref) => ({
        ...(await g.readTraffic(ref)),
        planResetPolicy: 'anniversary',
        createdAt: '2012-03-17T10:00:00Z',
      }),
    });
    await service({ gatewayFor }).collect();
    // the plan's rule, not the master's first of the month; the anniversary on the 5th (the panel's
    // registration), not the 17th (SolusVM's): 10 May 2013 falls in 5 May – 4 June
    const periods = await knex('mod_overusage_periods')
      .where({ service_id: 100 })
      .select('start_date', 'end_date');
    expect(periods).to.deep.equal([{ start_date: '2013-05-05', end_date: '2013-06-04' }]);
  });
});
