import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { expect } from 'chai';
import { openDatabase } from '../../module/adapters/database.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { collectEnv, seedCollectFleet } from '../support/collect-fleet.js';
import { overusage, until, type Proc } from '../support/cli-process.js';

/**
 * The SQLite side of "the database goes away mid-run" (issue 12): another process takes the
 * database file's write lock (BEGIN EXCLUSIVE) while `overusage collect` is writing, as a backup
 * tool or a stuck admin shell would. 1 100 services in batches of 500: by hand, a run cut after its
 * first batch has 500 samples kept and 600 to read again.
 * - held for 3 s: the write waits (busy timeout) and the run finishes, every service once;
 * - held until the command gives up (its busy timeouts now count in its back-off of about 16 s:
 *   it used to wait 5 × 10 s per attempt, over 5 minutes in all): exit 1 with one JSON error and
 *   no unhandled rejection; released, the next run reads only what is missing.
 */
const SERVICES = 1100;

describe('collect while another process holds the SQLite database', function () {
  this.timeout(300_000);
  let dir: string;
  let file: string;
  let sim: Simulator;
  let master: SimMaster;
  const procs: Proc[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-sqlite-locked-'));
    file = path.join(dir, 'overusage.sqlite');
    const db = openDatabase(`sqlite:${file}`);
    sim = createSimulator({ now: () => Date.now() });
    master = await seedCollectFleet(db.knex, sim, SERVICES);
    await master.setFaults({ latencyMs: 20 });
  });

  afterEach(async () => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    procs.length = 0;
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const collect = () => {
    // the default writer: SQLite writes in a worker thread
    const p = overusage(
      ['--db', `sqlite:${file}`, '--zone', 'Europe/Brussels', '--json', 'collect'],
      collectEnv(dir),
    );
    procs.push(p);
    return p;
  };
  const peek = () => new Sqlite(file, { readonly: true, fileMustExist: true });
  const count = (q: string) => {
    const db = peek();
    try {
      return Number((db.prepare(q).get() as { n: number }).n);
    } finally {
      db.close();
    }
  };

  /** Waits for the first batch of 500, then takes the write lock from this process. */
  async function lockAfterFirstBatch(p: Proc): Promise<Sqlite.Database> {
    await until(
      'the first batch of 500 samples',
      () => {
        if (p.child.exitCode !== null)
          throw new Error(`collect ended early (${p.child.exitCode}): ${p.stderr()}`);
        return count('select count(*) n from mod_overusage_samples') >= 500;
      },
      120_000,
    );
    const holder = new Sqlite(file);
    holder.pragma('busy_timeout = 30000');
    holder.exec('BEGIN EXCLUSIVE');
    return holder;
  }

  it('waits out a lock of 3 s and finishes: every service sampled once', async () => {
    const p = collect();
    const holder = await lockAfterFirstBatch(p);
    await new Promise((r) => setTimeout(r, 3000));
    holder.exec('COMMIT');
    holder.close();
    const done = await p.exited;
    expect(done.code, p.stderr()).to.equal(0);
    expect(JSON.parse(p.stdout())).to.deep.include({
      services: SERVICES,
      readOk: SERVICES,
      failed: 0,
      gaps: 0,
    });
    expect(count('select count(*) n from mod_overusage_samples')).to.equal(SERVICES);
    expect(count('select count(distinct service_id) n from mod_overusage_samples')).to.equal(SERVICES);
  });

  it('gives up with one JSON error and exit 1 while the lock stays, and the next run reads only what is missing', async () => {
    const p = collect();
    const holder = await lockAfterFirstBatch(p);
    const locked = Date.now();
    const done = await p.exited;
    const silentMs = Date.now() - locked;
    holder.exec('COMMIT');
    holder.close();
    expect(done.code).to.equal(1);
    const out = JSON.parse(p.stdout()) as { error: { code: string; message: string } };
    expect(out.error.code).to.equal('DATABASE_GONE');
    expect(out.error.message).to.match(/database is locked.*still so after \d+ attempts/);
    expect(p.stderr()).to.not.match(/unhandled|UnhandledPromiseRejection/i);
    // a bound, not a speed: it gives up at all. Measured 84 s on 2 loaded cores (the writer's
    // attempts within the back-off's 15.75 s budget, then one busy timeout of 10 s each for
    // marking the run and freeing the lease); it was over 5 minutes before
    expect(silentMs).to.be.below(180_000);

    const kept = count('select count(*) n from mod_overusage_samples');
    expect(kept % 500).to.equal(0); // whole batches: a batch is one transaction
    expect(kept).to.be.within(500, 1000);
    master.resetStats();
    await master.setFaults({});
    const again = collect();
    const second = await again.exited;
    expect(second.code, again.stderr()).to.equal(0);
    const summary = JSON.parse(again.stdout());
    // by hand: what the first run kept is not read again
    expect(summary).to.deep.include({ readOk: SERVICES - kept, already: kept, failed: 0 });
    expect(master.stats().requests).to.equal(SERVICES - kept);
    expect(count('select count(distinct service_id) n from mod_overusage_samples')).to.equal(SERVICES);
    expect(count("select count(*) n from mod_overusage_runs where status = 'finished'")).to.equal(1);
  });
});
