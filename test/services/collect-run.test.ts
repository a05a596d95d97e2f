import os from 'node:os';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createMeteringStore, type MeteringStore } from '../../module/adapters/metering-store.js';
import { createLockStore, type LockStore } from '../../module/adapters/lock-store.js';
import { DatabaseGoneError } from '../../module/adapters/db-errors.js';
import { ModuleError } from '../../module/domain/errors.js';
import { createMeteringService, type MeteringDeps } from '../../module/services/metering.js';
import { addFakeMaster } from '../support/fake-masters.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

/**
 * A collect run's bookkeeping, in process (no HTTP): the runs left behind by collectors that died,
 * the leases of the masters and who holds them, the run's record and summary, and what it logs.
 * The run samples 10 May 2013 (Brussels) at 21:50 UTC; the counters read 1 000 GB; the lease
 * lasts 120 s (the default), so a run of another host is taken for dead 240 s after it started.
 */
/** far above any pid Linux hands out (pid_max is at most 2^22): a process that is certainly gone */
const DEAD_PID = 99_999_999;
const deadOwner = (tag: string) => `${os.hostname()}:${DEAD_PID}:${tag}`;

type Logged = [string, Record<string, unknown>];

describeEachEngine('collect: runs left behind, leases, the run record and the log', ({ db }) => {
  let knex: Knex;
  let fake: FakeMaster;
  let fx: ModuleFixture;
  let store: MeteringStore;
  let locks: LockStore;

  beforeEach(async () => {
    knex = db().knex;
    fake = new FakeMaster();
    fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
    store = createMeteringStore(knex);
    locks = createLockStore(knex);
  });
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
  });

  /** A master of `n` services (ids from `first`, servers "<name>-1" …), read one at a time. */
  async function master(name: string, n: number, first: number) {
    return addFakeMaster(fx, fake, { name, count: n, firstServiceId: first });
  }

  /** The metering service on the real stores, with what it logs kept in order. */
  function service(over: Partial<MeteringDeps> = {}) {
    const logged: Logged[] = [];
    const metering = createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store,
      locks,
      masters: fx.mod.masters,
      gatewayFor: () => fake.gateway(),
      log: (event, fields) => logged.push([event, fields]),
      ...over,
    });
    const events = (name: string) => logged.filter(([e]) => e === name).map(([, f]) => f);
    return { metering, logged, events };
  }

  const runRow = (id: number) => knex('mod_overusage_runs').where({ id }).first();
  const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

  it('marks the run of a collector of this host whose process is gone abandoned, and leaves live ones alone', async () => {
    await master('nl', 2, 100);
    const dead = await store.startRun('collect', '2013-05-10', deadOwner('dead0001'), fx.clock.now());
    // started this very instant, so only the gone process can tell: this process, its parent
    // (another live collector of this host) and a collector of another host are left running
    const self = await store.startRun(
      'collect',
      '2013-05-10',
      `${os.hostname()}:${process.pid}:a1`,
      fx.clock.now(),
    );
    const parent = await store.startRun(
      'collect',
      '2013-05-10',
      `${os.hostname()}:${process.ppid}:b2`,
      fx.clock.now(),
    );
    const remote = await store.startRun('collect', '2013-05-10', 'elsewhere:4242:c3', fx.clock.now());
    const { metering, events } = service();
    const run = await metering.collect();
    const why = `its process (${DEAD_PID}) on this host is gone`;
    expect(run.abandonedRuns).to.deep.equal([
      { runId: dead, owner: deadOwner('dead0001'), message: `abandoned: ${why}` },
    ]);
    expect(events('collect.run_abandoned')).to.deep.equal([
      { runId: dead, owner: deadOwner('dead0001'), why },
    ]);
    const row = await runRow(dead);
    expect([row.status, row.message]).to.deep.equal(['abandoned', `abandoned: ${why}`]);
    for (const id of [self, parent, remote])
      expect((await runRow(id)).status, String(id)).to.equal('running');
    // no lease was taken over: the outcome says nothing of one
    expect(run.masters).to.have.length(1);
    expect(run.masters[0]).to.not.have.property('tookOverFrom');
    expect(events('collect.lease_taken_over')).to.deep.equal([]);
  });

  it('abandons a run of another host that holds no lease once it started more than two lease lengths ago', async () => {
    await master('nl', 1, 100);
    // 21:50:00 − 240 s = 21:46:00: one second more is dead, the edge itself is not yet
    const old = await store.startRun(
      'collect',
      '2013-05-10',
      'elsewhere:4242:01',
      at('2013-05-10T21:45:59Z'),
    );
    const edge = await store.startRun(
      'collect',
      '2013-05-10',
      'elsewhere:4242:02',
      at('2013-05-10T21:46:00Z'),
    );
    // ten minutes old, but it holds a lease (a sign of life): left alone
    const leased = await store.startRun(
      'collect',
      '2013-05-10',
      'elsewhere:4242:03',
      at('2013-05-10T21:40:00Z'),
    );
    expect((await locks.acquire('collect:master:9999', 'elsewhere:4242:03', 600_000)).acquired).to.equal(
      true,
    );
    const { metering, events } = service();
    const run = await metering.collect();
    const why = 'it holds no lease and gave no sign of life since 2013-05-10T21:45:59.000Z';
    expect(run.abandonedRuns).to.deep.equal([
      { runId: old, owner: 'elsewhere:4242:01', message: `abandoned: ${why}` },
    ]);
    expect(events('collect.run_abandoned')).to.deep.equal([{ runId: old, owner: 'elsewhere:4242:01', why }]);
    expect((await runRow(old)).status).to.equal('abandoned');
    expect((await runRow(edge)).status).to.equal('running');
    expect((await runRow(leased)).status).to.equal('running');
  });

  it('takes over the lease of a collector that died while this run went on, and marks its run abandoned then', async () => {
    const m = await master('nl', 2, 100);
    const owner = deadOwner('dead0002');
    let died: number | null = null;
    // the other collector starts, takes the master's lease and dies after this run looked for
    // dead runs and before it asks for the lease
    const dying: LockStore = {
      ...locks,
      async acquire(name, who, ttlMs) {
        if (died === null) {
          died = await store.startRun('collect', '2013-05-10', owner, fx.clock.now());
          expect((await locks.acquire(name, owner, 600_000)).acquired).to.equal(true);
        }
        return locks.acquire(name, who, ttlMs);
      },
    };
    const { metering, events } = service({ locks: dying });
    const run = await metering.collect();
    expect(run.masters).to.deep.equal([
      { masterId: m.id, name: 'nl', status: 'done', read: 2, failed: 0, message: null, tookOverFrom: owner },
    ]);
    const message = `abandoned: its process (${DEAD_PID}) on this host is gone`;
    expect(run.abandonedRuns).to.deep.equal([{ runId: died, owner, message }]);
    expect(events('collect.lease_taken_over')).to.deep.equal([{ master: 'nl', from: owner }]);
    expect((await runRow(died!)).status).to.equal('abandoned');
  });

  it('says once that a master another run holds is held, and by whom, and tries a master that failed only once', async () => {
    const a = await master('nl-a', 2, 100);
    const b = await master('nl-b', 2, 200);
    const c = await master('nl-c', 0, 300);
    const d = await master('nl-d', 0, 400);
    // a collector of another host holds nl-b (its lease is good for 10 minutes)
    expect((await locks.acquire(`collect:master:${b.id}`, 'elsewhere:4242:09', 600_000)).acquired).to.equal(
      true,
    );
    const { metering, events } = service({
      gatewayFor: (s) => {
        if (s.name === 'nl-c' || s.name === 'nl-d') throw new Error(`no gateway for ${s.name}`);
        return fake.gateway();
      },
    });
    // waits up to 200 ms for nl-b: tried at once, then once more when the wait is over
    const run = await metering.collect({ waitMs: 200 });
    expect(run.masters.map((o) => [o.masterId, o.status, o.read, o.message])).to.deep.equal([
      [a.id, 'done', 2, null],
      [b.id, 'locked', 0, run.masters[1]!.message],
      [c.id, 'error', 0, 'no gateway for nl-c'],
      [d.id, 'error', 0, 'no gateway for nl-d'],
    ]);
    expect(run.masters[1]!.message).to.match(
      /^another run holds its lease \(process 4242 on host elsewhere, lease runs \d+ s more unless renewed\) and samples it$/,
    );
    // the masters go side by side: their errors are logged in whichever order they come
    const byMaster = (fs: Array<Record<string, unknown>>) =>
      [...fs].sort((x, y) => String(x.master).localeCompare(String(y.master)));
    expect(byMaster(events('collect.master_error'))).to.deep.equal([
      { master: 'nl-c', error: 'no gateway for nl-c' },
      { master: 'nl-d', error: 'no gateway for nl-d' },
    ]);
    const done = events('collect.master_done');
    expect(done.map((f) => [f.master, f.read, f.failed])).to.deep.equal([['nl-a', 2, 0]]);
    // the other run's lease is untouched
    expect(
      await knex('mod_overusage_locks')
        .where({ name: `collect:master:${b.id}` })
        .pluck('owner'),
    ).to.deep.equal(['elsewhere:4242:09']);
    // the run failed, naming both masters that did
    const row = await runRow(run.runId);
    expect([row.kind, row.status, row.message]).to.deep.equal([
      'collect',
      'failed',
      'nl-c: no gateway for nl-c; nl-d: no gateway for nl-d',
    ]);
  });

  it('keeps the first 2 000 characters of the masters’ errors in the run’s record', async () => {
    for (let i = 1; i <= 7; i++) await master(`nl-${i}`, 0, 100 * i);
    const { metering } = service({
      gatewayFor: () => {
        throw new Error('x'.repeat(400));
      },
    });
    const run = await metering.collect();
    // each error is cut to 300 characters (299 and "…"); "nl-1: " makes 306, seven of them and six
    // "; " make 7 × 306 + 6 × 2 = 2 154 characters, of which the record keeps 2 000
    const one = (i: number) => `nl-${i}: ${'x'.repeat(299)}…`;
    const whole = [1, 2, 3, 4, 5, 6, 7].map(one).join('; ');
    expect(whole).to.have.length(2154);
    const row = await runRow(run.runId);
    expect(row.message).to.equal(whole.slice(0, 2000));
  });

  it('records a run that went well as finished, of kind collect, and when it started', async () => {
    await master('nl', 2, 100);
    const { metering, events } = service();
    expect(await metering.lastRunStarted('2013-05-10')).to.equal(null);
    const run = await metering.collect();
    const row = await runRow(run.runId);
    expect([row.kind, row.status, row.message]).to.deep.equal(['collect', 'finished', null]);
    expect(run.abandonedRuns).to.deep.equal([]);
    expect((await metering.lastRunStarted('2013-05-10'))?.toISO()).to.equal('2013-05-10T21:50:00.000Z');
    expect(events('collect.master_done').map((f) => [f.master, f.read, f.failed])).to.deep.equal([
      ['nl', 2, 0],
    ]);
  });

  it('refuses a day outside its window with INVALID_INPUT, naming the day asked and the day it is', async () => {
    const { metering } = service();
    const err = await metering.collect({ date: '2013-05-08' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ModuleError);
    expect([(err as ModuleError).code, (err as ModuleError).details]).to.deep.equal([
      'INVALID_INPUT',
      { sampleDate: '2013-05-08', current: '2013-05-10' },
    ]);
  });

  it('counts no services of an inactive master as still to read', async () => {
    await master('nl-on', 2, 100);
    const off = await master('nl-off', 3, 200);
    await fx.mod.masters.update(off.id, { active: false }, CLI_ACTOR);
    const { metering } = service();
    // nl-on's 2 only
    expect(await metering.pending('2013-05-10')).to.equal(2);
  });

  it('leaves out an unreadable master that was not asked for, and names one whose name cannot be read by its id', async () => {
    const good = await master('nl-good', 2, 100);
    const bad = await master('nl-bad', 3, 200);
    await knex('mod_overusage_masters').where({ id: bad.id }).update({ name: '', tls_mode: 'maybe' });
    const { metering, events } = service();
    const only = await metering.collect({ masterIds: [good.id] });
    expect(only.masters.map((o) => [o.name, o.status])).to.deep.equal([['nl-good', 'done']]);
    expect(events('collect.master_unreadable')).to.deep.equal([]);
    fx.clock.advance({ minutes: 5 });
    const all = await metering.collect();
    // an empty name reads as none: the master is named by its id; the column refused is tls_mode
    const problem =
      'mod_overusage_masters.tls_mode holds "maybe", which is not one of verify, pinned, insecure';
    expect(events('collect.master_unreadable')).to.deep.equal([
      {
        masterId: bad.id,
        master: `master ${bad.id}`,
        column: 'mod_overusage_masters.tls_mode',
        error: problem,
      },
    ]);
    expect(all.masters.map((o) => [o.name, o.status, o.message])).to.deep.equal([
      ['nl-good', 'done', null],
      [`master ${bad.id}`, 'error', `its stored row cannot be read: ${problem}`],
    ]);
  });

  it('tells the services read before in its progress at the end of the master', async () => {
    await master('nl', 3, 100);
    const { metering } = service();
    await metering.collect();
    fx.clock.advance({ minutes: 5 });
    const seen: unknown[] = [];
    const again = await metering.collect({ onProgress: (p) => seen.push({ ...p }) });
    // all 3 read before: none now, one word at the end of the master with the 3 counted as done
    expect(again.already).to.equal(3);
    expect(seen).to.deep.equal([{ total: 3, done: 3, failed: 0, master: 'nl' }]);
  });

  it('renews a master’s lease every third of its length while it reads, stops when done, and logs how long it took', async () => {
    const m = await master('nl', 2, 100);
    // the renewal timer metering.ts sets is kept here and fired by hand (others run as they are);
    // the wall clock stands still but for 1.5 s a read
    type Kept = { ms: number | undefined; tick: () => void; cleared: boolean; unref: boolean };
    const kept = new Map<object, Kept>();
    const real = { setInterval, clearInterval, now: Date.now };
    let wall = 0;
    globalThis.setInterval = ((tick: () => void, ms?: number) => {
      if (!new Error().stack?.includes('services/metering.ts')) return real.setInterval(tick, ms);
      const k: Kept = { ms, tick, cleared: false, unref: false };
      const handle = { unref: () => ((k.unref = true), handle) };
      kept.set(handle, k);
      return handle;
    }) as unknown as typeof setInterval;
    globalThis.clearInterval = ((h: NodeJS.Timeout | undefined) => {
      const k = h ? kept.get(h) : undefined;
      if (k) k.cleared = true;
      else real.clearInterval(h);
    }) as typeof clearInterval;
    const frozen = real.now();
    Date.now = () => frozen + wall;
    const renewed: Array<[string, number]> = [];
    const spied: LockStore = {
      ...locks,
      renew: (name, who, ttlMs) => (renewed.push([name, ttlMs]), locks.renew(name, who, ttlMs)),
    };
    const g = fake.gateway();
    const { metering, events } = service({
      lockTtlMs: 6000,
      locks: spied,
      gatewayFor: () => ({
        ...g,
        readTraffic: (ref) => {
          for (const k of kept.values()) if (!k.cleared) k.tick();
          wall += 1500;
          return g.readTraffic(ref);
        },
      }),
    });
    try {
      await metering.collect();
    } finally {
      globalThis.setInterval = real.setInterval;
      globalThis.clearInterval = real.clearInterval;
      Date.now = real.now;
    }
    // a lease of 6 s is renewed every 2 s (a third), for 6 s again, by a timer that keeps no
    // process alive and is stopped with the master; it fired once a read, so two renewals
    expect([...kept.values()].map((k) => [k.ms, k.unref, k.cleared])).to.deep.equal([[2000, true, true]]);
    expect(renewed).to.deep.equal([
      [`collect:master:${m.id}`, 6000],
      [`collect:master:${m.id}`, 6000],
    ]);
    // two reads of 1.5 s each
    expect(events('collect.master_done')).to.deep.equal([{ master: 'nl', read: 2, failed: 0, ms: 3000 }]);
  });

  it('tries a master another run holds again every tenth of a lease length while it waits', async () => {
    const m = await master('nl', 1, 100);
    expect((await locks.acquire(`collect:master:${m.id}`, 'elsewhere:4242:0a', 600_000)).acquired).to.equal(
      true,
    );
    // the waits between tries (master-share.ts's timers) are kept and the wall clock moved by
    // each, at once; it stands still otherwise
    const real = { setTimeout, now: Date.now };
    const frozen = real.now();
    let wall = 0;
    const waits: Array<number | undefined> = [];
    globalThis.setTimeout = ((fire: () => void, ms?: number) => {
      // only master-share's own waits (its direct call): a timer set deeper in the same stack (the
      // pool's acquire timeout when a statement borrows a connection) runs on the real clock
      const caller = new Error().stack?.split('\n')[2] ?? '';
      if (!caller.includes('services/master-share.ts')) return real.setTimeout(fire, ms);
      waits.push(ms);
      wall += ms ?? 0;
      return setImmediate(fire);
    }) as unknown as typeof setTimeout;
    Date.now = () => frozen + wall;
    const tries: number[] = [];
    const spied: LockStore = {
      ...locks,
      acquire: (name, who, ttlMs) => (tries.push(wall), locks.acquire(name, who, ttlMs)),
    };
    try {
      const run = await service({ lockTtlMs: 1000, locks: spied }).metering.collect({ waitMs: 400 });
      expect(run.masters.map((o) => o.status)).to.deep.equal(['locked']);
    } finally {
      globalThis.setTimeout = real.setTimeout;
      Date.now = real.now;
    }
    // a lease of 1 s: a try every 100 ms (a tenth), the last when the 400 ms are over
    expect(tries).to.deep.equal([0, 100, 200, 300, 400]);
    expect(waits).to.deep.equal([100, 100, 100, 100]);
  });

  it('works one master at a time when told so', async () => {
    const a = await master('nl-a', 1, 100);
    const b = await master('nl-b', 1, 200);
    const leases: string[] = [];
    const spied: LockStore = {
      ...locks,
      acquire: (name, who, ttlMs) => (leases.push(`take ${name}`), locks.acquire(name, who, ttlMs)),
      release: (name, who) => (leases.push(`let go ${name}`), locks.release(name, who)),
    };
    await service({ locks: spied }).metering.collect({ mastersAtOnce: 1 });
    expect(leases).to.deep.equal([
      `take collect:master:${a.id}`,
      `let go collect:master:${a.id}`,
      `take collect:master:${b.id}`,
      `let go collect:master:${b.id}`,
    ]);
  });

  describe('when the database fails the run itself', () => {
    const gone = () => new DatabaseGoneError(new Error('connect ECONNREFUSED 127.0.0.1:3306'), 5, 12_000);

    it('marks the run failed with the cause and says so on the error', async () => {
      await master('nl', 1, 100);
      const err = gone();
      const { metering } = service({ store: { ...store, countGaps: () => Promise.reject(err) } });
      const thrown = await metering.collect().then(
        () => null,
        (e: unknown) => e,
      );
      expect(thrown).to.equal(err);
      const row = await knex('mod_overusage_runs').orderBy('id', 'desc').first();
      expect(err.note).to.equal(`run ${row.id} is marked failed`);
      // the cause, the retries and the code of a database gone
      expect([row.status, row.message]).to.deep.equal([
        'failed',
        'connect ECONNREFUSED 127.0.0.1:3306; still so after 5 attempts over 12.0 s (DATABASE_GONE)',
      ]);
    });

    it('says the run stays marked running when it cannot even be marked failed', async () => {
      await master('nl', 1, 100);
      const err = gone();
      const { metering } = service({
        store: {
          ...store,
          countGaps: () => Promise.reject(err),
          finishRun: () => Promise.reject(gone()),
        },
      });
      const thrown = await metering.collect().then(
        () => null,
        (e: unknown) => e,
      );
      expect(thrown).to.equal(err);
      const row = await knex('mod_overusage_runs').orderBy('id', 'desc').first();
      expect(err.note).to.equal(
        `run ${row.id} stays marked running until the next collect marks it abandoned`,
      );
      expect(row.status).to.equal('running');
    });

    it('marks the run failed on any other error too, adding no note to it', async () => {
      await master('nl', 1, 100);
      const err = new Error('disk I/O error');
      const { metering } = service({ store: { ...store, countGaps: () => Promise.reject(err) } });
      const thrown = await metering.collect().then(
        () => null,
        (e: unknown) => e,
      );
      expect(thrown).to.equal(err);
      expect(err).to.not.have.property('note');
      const row = await knex('mod_overusage_runs').orderBy('id', 'desc').first();
      expect([row.status, row.message]).to.deep.equal(['failed', 'disk I/O error']);
    });
  });
});
