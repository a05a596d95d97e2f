import os from 'node:os';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDatabase, type Database } from '../../module/adapters/database.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createMeteringStore } from '../../module/adapters/metering-store.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY, type ModuleFixture } from '../support/module-fixture.js';

/**
 * A collector's every write on a Galera cluster can lose certification and answer 1213 (issue 22):
 * `overusage collect` migrates first (the migration lock row set and freed in one transaction, the
 * never-sampled services put on the calendar), marks a dead collector's run abandoned, starts its
 * run, takes a master's lease, writes the samples and the read failures, releases the lease and
 * finishes its run. Each of those statements here fails once with MariaDB's 1213 before it runs
 * (as a commit that lost certification: nothing of it is written, its transaction rolled back); the
 * run must still end as it would have, with each row written once.
 */
const GB = 10n ** 9n;
/** far above any pid Linux hands out: a collector of this host that is certainly gone */
const DEAD_OWNER = `${os.hostname()}:99999999:dead0001`;

interface Rule {
  name: string;
  /** the statement, lower case, without quotes around names, spaces folded */
  sql: RegExp;
  /** the first binding, where the statement alone does not tell */
  first?: unknown;
}

const RULES: Rule[] = [
  { name: 'migration lock taken', sql: /^update mod_overusage_migrations_lock set is_locked = \?/, first: 1 },
  { name: 'migration lock freed', sql: /^update mod_overusage_migrations_lock set is_locked = \?/, first: 0 },
  { name: 'unsampled services on the calendar', sql: /^update mod_overusage_services set calendar_version/ },
  { name: 'dead run abandoned', sql: /^update mod_overusage_runs set status = \?/, first: 'abandoned' },
  { name: 'run started', sql: /^insert into mod_overusage_runs / },
  { name: 'lease taken', sql: /^insert into mod_overusage_locks / },
  { name: 'samples written', sql: /^insert (ignore )?into mod_overusage_samples / },
  { name: 'read failure recorded', sql: /^insert into mod_overusage_read_failures / },
  { name: 'lease released', sql: /^delete from mod_overusage_locks / },
  { name: 'run finished', sql: /^update mod_overusage_runs set status = \?/, first: 'finished' },
];

/** Makes the first statement matching each rule fail with MariaDB's 1213; the rules that fired, in order. */
function deadlockOnce(knex: Knex, rules: readonly Rule[]): string[] {
  const fired: string[] = [];
  const left = new Set(rules);
  knex.on('query', (q: { sql: string; bindings?: unknown[] }) => {
    const sql = q.sql.replace(/[`"]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
    for (const r of left) {
      if (!r.sql.test(sql) || ('first' in r && q.bindings?.[0] !== r.first)) continue;
      left.delete(r);
      fired.push(r.name);
      // thrown from the query event: the statement is never sent
      throw Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), {
        errno: 1213,
        code: 'ER_LOCK_DEADLOCK',
        sqlState: '40001',
      });
    }
  });
  return fired;
}

describeEachEngine(
  'collect: every write of the run retried after a 1213 (Galera certification)',
  ({ db }) => {
    let fx: ModuleFixture;
    let flakyDb: Database | null = null;
    let mod: OverusageModule | null = null;

    afterEach(async () => {
      await mod?.close();
      await flakyDb?.close();
      mod = null;
      flakyDb = null;
      await fx?.mod.close();
      await fx?.mod.migrateDown();
    });

    it('fails each write once and still ends with one sample per service read, one failure, the dead run abandoned and its own finished', async () => {
      const knex = db().knex;
      const fake = new FakeMaster();
      // 10 May 2013, 23:50 in Brussels: the run samples 2013-05-10
      fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
      const m = await fx.mod.masters.add(
        {
          name: 'nl',
          version: 1,
          baseUrl: 'https://solus.example.net:5656',
          apiId: 'id',
          apiKey: 'key',
          timeZone: 'Europe/Brussels',
          resetPolicy: 'first_of_month',
          concurrency: 1,
        },
        CLI_ACTOR,
      );
      // services 1..4 on servers nl-1..nl-4; nl-1..nl-3 read 1 000 GB, nl-4 is unknown to the master
      for (let i = 1; i <= 4; i++)
        await fx.mod.links.link(
          { serviceId: i, clientId: 7, masterId: m.id, serverRef: `nl-${i}` },
          CLI_ACTOR,
        );
      for (let i = 1; i <= 3; i++) fake.set(`nl-${i}`, 1000n * GB);
      const dead = await createMeteringStore(knex).startRun(
        'collect',
        '2013-05-10',
        DEAD_OWNER,
        fx.clock.now(),
      );

      // the collector's own connection to the same database, as `overusage collect` opens it
      flakyDb = openDatabase(db().url);
      const fired = deadlockOnce(flakyDb.knex, RULES);
      mod = createModule({
        knex: flakyDb.knex,
        clock: fx.clock,
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => fake.gateway(),
        log: silentLogger,
        metering: { writer: 'inline' },
      });
      // what the command does: migrate (nothing is pending), then collect
      expect(await mod.migrate()).to.deep.equal([]);
      const run = await mod.metering.collect();

      // every rule met its statement once, in the order the command writes
      expect(fired).to.deep.equal(RULES.map((r) => r.name));
      // the summary as without the failures: 4 services, 3 read, 1 failed (nl-4) and so 1 gap;
      // the master 'done' (no master in error or held, so the command exits 0)
      expect(run.masters.map((o) => [o.name, o.status, o.read, o.failed, o.message])).to.deep.equal([
        ['nl', 'done', 3, 1, null],
      ]);
      expect([run.services, run.readOk, run.already, run.failed, run.gaps]).to.deep.equal([4, 3, 0, 1, 1]);
      expect(run.abandonedRuns.map((a) => a.runId)).to.deep.equal([dead]);

      // one sample each for services 1..3, 1 000 GB = 1 000 000 000 000 bytes, none for 4
      const samples = await knex('mod_overusage_samples')
        .orderBy('service_id')
        .select('service_id', 'sample_date', 'used_bytes', 'run_id');
      expect(
        samples.map((s) => [
          Number(s.service_id),
          String(s.sample_date),
          String(s.used_bytes),
          Number(s.run_id),
        ]),
      ).to.deep.equal([1, 2, 3].map((id) => [id, '2013-05-10', '1000000000000', run.runId]));
      // one read failure, service 4's
      const failures = await knex('mod_overusage_read_failures').select('service_id', 'error_kind', 'run_id');
      expect(failures.map((f) => [Number(f.service_id), f.error_kind, Number(f.run_id)])).to.deep.equal([
        [4, 'not_found', run.runId],
      ]);
      // two runs: the dead one abandoned, this one finished with its counts
      const runs = await knex('mod_overusage_runs')
        .orderBy('id')
        .select('id', 'status', 'read_ok', 'failed', 'gaps');
      expect(runs.map((r) => [Number(r.id), r.status])).to.deep.equal([
        [dead, 'abandoned'],
        [run.runId, 'finished'],
      ]);
      expect([runs[1].read_ok, runs[1].failed, runs[1].gaps].map(Number)).to.deep.equal([3, 1, 1]);
      // no lease left behind, and the migration lock free
      expect(await knex('mod_overusage_locks').select('name')).to.deep.equal([]);
      const lock = await knex('mod_overusage_migrations_lock').select('is_locked');
      expect(lock.map((l) => Number(l.is_locked))).to.deep.equal([0]);
    });
  },
);

describeEachEngine('migrate: a 1213 once a migration has begun is answered, not retried', ({ db }) => {
  let flakyDb: Database | null = null;
  after(async () => {
    await flakyDb?.close();
  });

  it('answers the 1213 of the first migration’s record on a new database, after one try', async () => {
    // a new database: the first migration runs, then the statement recording it fails
    flakyDb = openDatabase(db().url);
    const fired = deadlockOnce(flakyDb.knex, [
      { name: 'migration recorded', sql: /^insert into mod_overusage_migrations \(/ },
    ]);
    let err: { errno?: number } | null = null;
    await migrateLatest(flakyDb.knex).catch((e) => (err = e));
    // on MySQL its tables were committed as they were made, so a second try would start from
    // another state than the first (not every migration can run twice): the error is the
    // caller's. On SQLite all of it was rolled back, and a retry would have passed.
    expect(fired).to.deep.equal(['migration recorded']);
    expect(err).to.have.property('errno', 1213);
  });
});
