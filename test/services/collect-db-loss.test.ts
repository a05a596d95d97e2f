import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { openDatabase, type Database } from '../../module/adapters/database.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { REQUIRE_MYSQL } from '../support/engines.js';
import { collectEnv, seedCollectFleet } from '../support/collect-fleet.js';
import { overusage, until, type Proc } from '../support/cli-process.js';
import { privateMariaDb, privateMariaDbMissing, type PrivateMariaDb } from '../support/private-mariadb.js';

/**
 * `overusage collect` while its MariaDB server dies (issue 12). The server is the test's own
 * mariadbd (test/support/private-mariadb.ts), killed with SIGKILL mid-run, as a crash would.
 * 1 100 services on one master, written in batches of 500 (the command's default): by hand, a
 * run that is cut after its first batch has 500 samples kept and 600 to read again.
 * - a restart within the command's back-off (about 16 s in all) is ridden out: every service is
 *   sampled once, none twice, the run finished, exit 0;
 * - an outage longer than that ends the run with exit 1 and one JSON error naming the database;
 *   once the server is back, the next run marks the dead run abandoned and reads only the 600
 *   services still missing.
 */
const SERVICES = 1100;

describe('collect while its MariaDB server dies (a private mariadbd, killed)', function () {
  this.timeout(240_000);
  let server: PrivateMariaDb;
  let sim: Simulator;
  let master: SimMaster;
  let database: Database;
  let dir: string;
  let name = '';
  let round = 0;
  const procs: Proc[] = [];

  before(async function () {
    const missing = privateMariaDbMissing();
    if (missing) {
      if (REQUIRE_MYSQL) throw new Error(`a private MariaDB server is required: ${missing}`);
      this.skip();
    }
    server = await privateMariaDb();
    await server.start();
  });

  after(async () => {
    await server?.destroy();
  });

  const sql = (q: string) =>
    execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(server.port), '-u', 'root', '-N', '-e', q], {
      encoding: 'utf8',
    }).trim();
  const count = (table: string) => Number(sql(`select count(*) from ${name}.${table}`));
  const env = () => collectEnv(dir);
  const collect = () => {
    const p = overusage(['--db', server.url(name), '--zone', 'Europe/Brussels', '--json', 'collect'], env());
    procs.push(p);
    return p;
  };

  beforeEach(async () => {
    if (!server.running()) await server.start();
    name = `overusage_loss_${process.pid}_${++round}`;
    sql(`create database ${name}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-db-loss-'));
    database = openDatabase(server.url(name));
    sim = createSimulator({ now: () => Date.now() });
    master = await seedCollectFleet(database.knex, sim, SERVICES);
  });

  afterEach(async () => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    procs.length = 0;
    await sim?.close();
    if (server.running()) sql(`drop database if exists ${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs until its first batch of 500 samples is in, then the server is killed. */
  async function killServerAfterFirstBatch(p: Proc): Promise<void> {
    await until(
      'the first batch of 500 samples to be written',
      () => {
        if (p.child.exitCode !== null)
          throw new Error(`collect ended before the kill (${p.child.exitCode}): ${p.stderr()}`);
        return count('mod_overusage_samples') >= 500;
      },
      120_000,
    );
    await server.kill();
  }

  it('rides out a restart: every service sampled once, none twice, the run finished', async () => {
    // slow enough answers that the run is still reading when the server goes
    await master.setFaults({ latencyMs: 20 });
    const p = collect();
    await killServerAfterFirstBatch(p);
    await new Promise((r) => setTimeout(r, 1000)); // down for a second, as a restart
    await server.start();
    const done = await p.exited;
    expect(done.code, p.stderr()).to.equal(0);
    const summary = JSON.parse(p.stdout());
    expect(summary).to.deep.include({ services: SERVICES, readOk: SERVICES, failed: 0, gaps: 0 });
    expect(p.stderr()).to.match(/"event":"db\.reconnecting"/);
    // 1 100 services, 1 sample each: no duplicate, none lost
    expect(
      sql(
        `select count(*), count(distinct service_id), min(n), max(n) from (select service_id, count(*) n from ${name}.mod_overusage_samples group by service_id) t`,
      ),
    ).to.equal('1100\t1100\t1\t1');
    expect(sql(`select id, status from ${name}.mod_overusage_runs order by id`)).to.equal('1\tfinished');
  });

  it('ends with one JSON error and exit 1 when the server stays down, and the next run reads only what is missing', async () => {
    await master.setFaults({ latencyMs: 20 });
    const p = collect();
    await killServerAfterFirstBatch(p);
    const done = await p.exited; // the back-off (about 16 s) runs out with the server still down
    expect(done.code).to.equal(1);
    const out = JSON.parse(p.stdout()) as { error: { code: string; message: string } };
    expect(out.error.code).to.equal('DATABASE_GONE');
    expect(out.error.message).to.match(
      /still so after \d+ attempts over \d+\.\d s; run 1 stays marked running until the next collect marks it abandoned\. Run the command again once the database is back: what was done is kept, and collect reads only the services still missing$/,
    );

    await server.start();
    const kept = count('mod_overusage_samples');
    expect(kept % 500).to.equal(0); // whole batches only: a batch is one transaction
    expect(kept).to.be.within(500, 1000);
    master.resetStats();
    await master.setFaults({});
    const again = collect();
    const second = await again.exited;
    expect(second.code, again.stderr()).to.equal(0);
    const summary = JSON.parse(again.stdout());
    expect(summary.abandonedRuns.map((r: { runId: number }) => r.runId)).to.deep.equal([1]);
    // by hand: 1 100 services less those kept are read again, and no more
    expect(summary).to.deep.include({ readOk: SERVICES - kept, already: kept, failed: 0 });
    expect(master.stats().requests).to.equal(SERVICES - kept);
    expect(sql(`select count(*), count(distinct service_id) from ${name}.mod_overusage_samples`)).to.equal(
      '1100\t1100',
    );
    expect(sql(`select id, status from ${name}.mod_overusage_runs order by id`)).to.equal(
      '1\tabandoned\n2\tfinished',
    );
  });
});
