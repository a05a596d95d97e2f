import { expect } from 'chai';
import type { Knex } from 'knex';
import { DatabaseGoneError } from '../../module/adapters/db-errors.js';
import {
  createMeteringStore,
  type BatchOutcome,
  type MeteringStore,
  type ReadResult,
  type SampleBatch,
} from '../../module/adapters/metering-store.js';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { createMeteringService } from '../../module/services/metering.js';
import { createGroupWriter } from '../../module/services/metering-writer.js';
import { addFakeMaster } from '../support/fake-masters.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, type ModuleFixture } from '../support/module-fixture.js';

/** A batch of `n` reads of master `masterId` (the writer only counts them; the store is faked). */
const batchOf = (masterId: number, n: number): SampleBatch => ({
  masterId,
  results: Array.from({ length: n }, () => ({}) as ReadResult),
});
const sizes = (batches: SampleBatch[]) => batches.map((b) => `${b.masterId}:${b.results.length}`);
const allStored = (batches: SampleBatch[]): BatchOutcome => {
  const storedByBatch = batches.map((b) => b.results.length);
  const stored = storedByBatch.reduce((a, b) => a + b, 0);
  return { stored, storedByBatch, duplicates: 0, resets: 0, anomalies: 0 };
};

describe('the collect’s group writer', () => {
  /** a store whose writes end when the test says so, in order */
  function heldStore(fail: (batches: SampleBatch[]) => Error | null = () => null) {
    const writes: SampleBatch[][] = [];
    const ends: Array<() => void> = [];
    const counted: number[] = [];
    const writer = createGroupWriter({
      groupSize: 10,
      serial: (work) => work(),
      write: (batches) =>
        new Promise((resolve, reject) => {
          writes.push(batches);
          ends.push(() => {
            const err = fail(batches);
            if (err) reject(err);
            else resolve(allStored(batches));
          });
        }),
      counted: (out) => counted.push(out.stored),
    });
    const turn = () => new Promise((r) => setImmediate(r));
    return { writer, writes, ends, counted, turn };
  }

  it('writes the first batch at once and takes every batch that waited into the next write, up to the group size', async () => {
    const { writer, writes, ends, counted, turn } = heldStore();
    const a = writer.write(batchOf(1, 3));
    await turn();
    // masters 2, 3 and 4 hand theirs in while master 1's is being written
    const b = writer.write(batchOf(2, 2));
    const c = writer.write(batchOf(3, 4));
    const d = writer.write(batchOf(4, 5));
    expect(writes.map(sizes)).to.deep.equal([['1:3']]);
    ends[0]!();
    await turn();
    // 2 + 4 = 6 reads fit the group of 10; with master 4's 5 it would be 11, so that one waits
    expect(writes.map(sizes)).to.deep.equal([['1:3'], ['2:2', '3:4']]);
    ends[1]!();
    await turn();
    expect(writes.map(sizes)).to.deep.equal([['1:3'], ['2:2', '3:4'], ['4:5']]);
    ends[2]!();
    // each master hears how many of its own reads were stored; the run counts each write once
    expect(await Promise.all([a, b, c, d])).to.deep.equal([3, 2, 4, 5]);
    expect(counted).to.deep.equal([3, 6, 5]);
  });

  it('writes a failed group again a batch at a time, so only the master whose batch fails hears of it', async () => {
    // master 3's reads cannot be written (say a value the column refuses), whoever they go in with
    const { writer, writes, ends, counted, turn } = heldStore((batches) =>
      batches.some((b) => b.masterId === 3) ? new Error('Out of range value for column used_bytes') : null,
    );
    const first = writer.write(batchOf(1, 1));
    await turn();
    const two = writer.write(batchOf(2, 2));
    const three = writer.write(batchOf(3, 3));
    const threeFails = three.then(
      () => 'stored',
      (e: Error) => e.message,
    );
    ends[0]!();
    await turn();
    ends[1]!(); // the group of masters 2 and 3 fails
    await turn();
    ends[2]!(); // master 2 alone
    await turn();
    ends[3]!(); // master 3 alone
    expect(writes.map(sizes)).to.deep.equal([['1:1'], ['2:2', '3:3'], ['2:2'], ['3:3']]);
    expect(await first).to.equal(1);
    expect(await two).to.equal(2);
    expect(await threeFails).to.equal('Out of range value for column used_bytes');
    expect(counted).to.deep.equal([1, 2]);
  });

  it('fails every batch of a group at once when the database is gone: no batch is tried again', async () => {
    const gone = new DatabaseGoneError(new Error('connect ECONNREFUSED 127.0.0.1:3306'), 7, 15_750);
    const { writer, writes, ends, turn } = heldStore((batches) => (batches.length > 1 ? gone : null));
    const first = writer.write(batchOf(1, 1));
    await turn();
    const outcomes = [writer.write(batchOf(2, 2)), writer.write(batchOf(3, 3))].map((p) =>
      p.then(
        () => 'stored',
        (e: unknown) => (e === gone ? 'gone' : String(e)),
      ),
    );
    ends[0]!();
    await turn();
    ends[1]!();
    expect(await Promise.all(outcomes)).to.deep.equal(['gone', 'gone']);
    expect(await first).to.equal(1);
    expect(writes.map(sizes)).to.deep.equal([['1:1'], ['2:2', '3:3']]);
  });
});

describeEachEngine('a collect over many masters', ({ db }) => {
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

  function spied() {
    const limits = new Set<number>();
    const writes: SampleBatch[][] = [];
    const store: MeteringStore = {
      ...real,
      pageToRead: (m, d, after, limit) => (limits.add(limit), real.pageToRead(m, d, after, limit)),
      writeBatch: (run, batches, at) => (writes.push(batches), real.writeBatch(run, batches, at)),
    };
    const service = createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store,
      locks: createLockStore(knex),
      masters: fx.mod.masters,
      gatewayFor: () => fake.gateway(),
    });
    return { service, limits, writes };
  }

  it('shares the run’s memory among 40 masters: pages of 100 services, batches of 50 reads, several masters a write', async () => {
    // master 1 has 120 services (ids 1000–1119), masters 2–40 one each (ids 2000, 2001, …)
    await addFakeMaster(fx, fake, { name: 'm1', count: 120, firstServiceId: 1000 });
    for (let i = 2; i <= 40; i++)
      await addFakeMaster(fx, fake, { name: `m${i}`, count: 1, firstServiceId: 1998 + i });
    const { service, limits, writes } = spied();
    const run = await service.collect();
    // the run's budget: 4 000 services in pages and 2 000 reads in batches, shared by 40 masters
    // = a page of 100 and a batch of 50 each (on 4 masters or fewer: 1 000 and 500, as before)
    expect([...limits]).to.deep.equal([100]);
    // master 1's 120 reads go in batches of 50, 50 and the last 20, one after another
    const ofMaster1 = writes.flatMap((w) =>
      w.filter((b) => b.results.length && b.results[0]!.service.serviceId < 2000),
    );
    expect(ofMaster1.map((b) => b.results.length)).to.deep.equal([50, 50, 20]);
    // 40 masters' batches (42 with master 1's three) went in fewer writes than batches: those that
    // waited while a write was under way went in together, never two of one master in a write
    const batches = writes.flat().filter((b) => b.results.length > 0);
    expect(batches).to.have.length(42);
    expect(writes.length).to.be.below(42);
    for (const w of writes) expect(new Set(w.map((b) => b.masterId)).size).to.equal(w.length);
    // 120 + 39 = 159 read and stored, each master told its own share
    expect([run.readOk, run.failed, run.gaps]).to.deep.equal([159, 0, 0]);
    expect(run.masters.map((m) => m.read)).to.deep.equal([120, ...Array(39).fill(1)]);
    const samples = await knex('mod_overusage_samples').count({ n: '*' }).first();
    expect(Number(samples!.n)).to.equal(159);
  });

  it('keeps a page of 1 000 services a master for a run of 4 masters', async () => {
    for (let i = 1; i <= 4; i++)
      await addFakeMaster(fx, fake, { name: `m${i}`, count: 2, firstServiceId: i * 100 });
    const { service, limits } = spied();
    const run = await service.collect();
    // 4 000 ÷ 4 = 1 000 a page; 2 × 4 = 8 read
    expect([...limits]).to.deep.equal([1000]);
    expect(run.readOk).to.equal(8);
  });
});
