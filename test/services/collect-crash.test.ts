import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../../cli/main.js';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { caughtUp, describeEachEngine, onNode } from '../support/engines.js';
import { overusage, until, type Proc } from '../support/cli-process.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY, type ModuleFixture } from '../support/module-fixture.js';

/**
 * `overusage collect` after a run died (issue 12): a real `collect` process holding a master's
 * lease is killed with SIGKILL; the next run on this host takes the lease over at once (not after
 * its 120 s), marks the dead run abandoned, reads what it missed and says so, in words and in
 * --json. A lease held by a live run on another host is respected, and the run says who holds it
 * and exits 4 (README, Exit codes: "4 conflict (… held by another run)"); the exit codes are
 * written here as the README gives them.
 */
const SERVICES = 30;
const OTHER_HOST = 'billing-2.example.net';

describeEachEngine('collect after a run died, and beside a live one', ({ db }) => {
  let sim: Simulator;
  let master: SimMaster;
  let fx: ModuleFixture;
  let dir: string;
  let procs: Proc[] = [];
  // ids are whatever the database gives: on Galera, auto_increment steps by the cluster's size
  // from an offset per node (1, 4, 7 … on one node of three), so no id is written as a literal
  let masterId: number;
  const leaseName = () => `collect:master:${masterId}`;

  const env = () => ({
    OVERUSAGE_DATA_DIR: dir,
    OVERUSAGE_LOG_LEVEL: 'info',
    OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
  });
  const knex = () => db().knex;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-crash-collect-'));
    sim = createSimulator({ now: () => Date.now() });
    fx = await buildModule(knex(), {
      start: new Date().toISOString(),
      gatewayFor: (s) => createSolusVmGateway(s),
    });
    master = sim.addMaster({
      name: 'nl-1',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'id', apiKey: 'k3y-secret' },
    });
    master.addServers(SERVICES, {
      idStart: 100,
      node: { id: 1, name: 'node-1' },
      clientId: 7,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2012-01-01T00:00:00',
      profile: { kind: 'constant', bytesPerDay: 1n << 30n },
    });
    await master.listen();
    const added = await fx.mod.masters.add(
      {
        name: 'nl-1',
        version: 1,
        baseUrl: master.url,
        apiId: 'id',
        apiKey: 'k3y-secret',
        timeZone: 'Europe/Brussels',
        concurrency: 4,
        retries: 0,
      },
      CLI_ACTOR,
    );
    masterId = added.id;
    await fx.mod.links.linkMany(
      Array.from({ length: SERVICES }, (_, i) => ({
        serviceId: 1 + i,
        clientId: 7,
        masterId,
        serverRef: String(100 + i),
      })),
      CLI_ACTOR,
    );
  });

  afterEach(async function () {
    this.timeout(60_000);
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    procs = [];
    await fx?.mod.close();
    await fx?.mod.migrateDown();
    await knex().schema.dropTableIfExists('mod_overusage_migrations_lock');
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A `collect` process that takes master 1's lease, records its run and hangs on its first read
   * (the master accepts the request and never answers); then it is killed with SIGKILL. Returns
   * its pid and the owner name its run and lease carry.
   */
  async function killedRun(): Promise<{ pid: number; owner: string; runId: number }> {
    await master.setFaults({ timeout: true });
    master.resetStats();
    // on a Galera cluster the killed run writes through node 2 and the runs after it through node 3
    const p = overusage(
      ['--db', onNode(db().url, 1), '--zone', 'Europe/Brussels', '--json', 'collect'],
      env(),
    );
    procs.push(p);
    const pid = p.child.pid!;
    await until(`the first collect (pid ${pid}) to hold the lease and be reading`, async () => {
      if (p.child.exitCode !== null)
        throw new Error(`the first collect ended early (${p.child.exitCode}): ${p.stderr()}`);
      const lease = await knex()('mod_overusage_locks').where({ name: leaseName() }).first();
      return Boolean(lease) && Number(lease.pid) === pid && master.stats().requests >= 1;
    });
    const lease = await knex()('mod_overusage_locks').where({ name: leaseName() }).first();
    expect(lease.host).to.equal(os.hostname());
    p.child.kill('SIGKILL');
    expect(await p.exited).to.deep.equal({ code: null, signal: 'SIGKILL' });
    // what it left: its run still 'running', its lease unexpired (120 s from when it was taken)
    const left = await knex()('mod_overusage_runs').select('id', 'status', 'owner');
    expect(left.map((r) => r.status)).to.deep.equal(['running']);
    expect(String(left[0].owner)).to.equal(String(lease.owner));
    await master.setFaults({});
    master.resetStats();
    return { pid, owner: String(lease.owner), runId: Number(left[0].id) };
  }

  async function samplesPerService(): Promise<number[]> {
    const rows = await knex()('mod_overusage_samples')
      .groupBy('service_id')
      .select('service_id')
      .count({ n: '*' });
    return rows.map((r) => Number(r.n));
  }

  it('takes over at once from a killed run, marks it abandoned and says so on stderr, with only JSON on stdout', async function () {
    this.timeout(120_000);
    const dead = await killedRun();
    // The rerun comes well within the dead lease's 120 s. Its process differs (so the lease is
    // not its own), its host is the same, and the dead pid no longer runs: taken over at once.
    const p = overusage(
      ['--db', onNode(db().url, 2), '--zone', 'Europe/Brussels', '--json', 'collect'],
      env(),
    );
    procs.push(p);
    const done = await p.exited;
    expect(done.code, p.stderr()).to.equal(0);
    // stdout is one JSON document and nothing else; the log lines are on stderr
    const summary = JSON.parse(p.stdout());
    const why = `abandoned: its process (${dead.pid}) on this host is gone`;
    expect(summary.abandonedRuns).to.deep.equal([{ runId: dead.runId, owner: dead.owner, message: why }]);
    // 30 services, none sampled by the dead run (it hung on its first read): 30 read, no gap
    expect(summary).to.deep.include({ services: SERVICES, readOk: SERVICES, already: 0, failed: 0, gaps: 0 });
    expect(summary.masters).to.deep.equal([
      {
        masterId,
        name: 'nl-1',
        status: 'done',
        read: SERVICES,
        failed: 0,
        message: null,
        tookOverFrom: dead.owner,
      },
    ]);
    expect(master.stats().requests).to.equal(SERVICES);
    const events = p
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; runId?: number; from?: string });
    expect(events.filter((e) => e.event === 'collect.run_abandoned').map((e) => e.runId)).to.deep.equal([
      dead.runId,
    ]);
    expect(events.filter((e) => e.event === 'collect.lease_taken_over').map((e) => e.from)).to.deep.equal([
      dead.owner,
    ]);
    // the record: the dead run abandoned with why, this one finished; one sample per service
    const runs = await knex()('mod_overusage_runs')
      .orderBy('id')
      .select('id', 'status', 'message', 'finished_at');
    expect(runs.map((r) => [Number(r.id), r.status, r.message])).to.deep.equal([
      [dead.runId, 'abandoned', why],
      [summary.runId, 'finished', null],
    ]);
    expect(runs[0].finished_at).to.not.equal(null);
    expect(await samplesPerService()).to.deep.equal(Array(SERVICES).fill(1));
    // the lease is released at the end, not left to expire
    expect(await knex()('mod_overusage_locks').where({ name: leaseName() })).to.have.length(0);
  });

  it('says in its summary line which run it marked abandoned and whose lease it took over, and the admin tab shows the run', async function () {
    this.timeout(120_000);
    const dead = await killedRun();
    const out: string[] = [];
    const err: string[] = [];
    // node 2 reads without waiting for the cluster: let it apply what this test wrote on node 1
    await caughtUp(db().url, 2);
    const code = await run(['--db', onNode(db().url, 2), '--zone', 'Europe/Brussels', 'collect'], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      isTTY: false,
      env: { ...env(), OVERUSAGE_LOG_LEVEL: 'error' },
    });
    expect(code, err.join('\n')).to.equal(0);
    const lines = out.join('\n').split('\n');
    expect(lines, err.join('\n')).to.have.length(3);
    expect(lines[0]).to.match(
      /^collect \d{4}-\d\d-\d\d: 30 read, 0 already sampled, 0 failed, 0 gaps, 0 resets in \d+\.\d s$/,
    );
    expect(lines[1]).to.equal(
      `  run ${dead.runId} abandoned: its process (${dead.pid}) on this host is gone`,
    );
    expect(lines[2]).to.equal(
      `  nl-1: took the lease over from process ${dead.pid} on this host, which is gone`,
    );
    // the admin tab's dashboard lists the latest runs: the dead one as abandoned, with why
    const page = await fx.mod.web.adminOutput({
      adminid: 1,
      request: { method: 'GET', query: {}, body: {} },
    } as never);
    expect(page).to.match(
      new RegExp(
        `<td>${dead.runId}</td><td>[^<]+</td><td>abandoned</td>(<td[^>]*>0</td>){4}<td class="ou-hide-narrow">abandoned: its process \\(${dead.pid}\\) on this host is gone</td>`,
      ),
    );
  });

  it('respects a lease a live run on another host holds, says whose it is, exits 4, and abandons only a run that gave no sign of life', async function () {
    this.timeout(60_000);
    // A run on billing-2 holds master 1 for ten more minutes of real time (leases never run on
    // the billing clock), and its run is recorded as running: it is alive and not ours to judge.
    // A second run from billing-2 started 10 minutes ago (more than twice the 120 s lease) and
    // holds no lease: it is taken for dead.
    const live = `${OTHER_HOST}:4242:0badcafe`;
    const stale = `${OTHER_HOST}:977:deadbeef`;
    const nowMs = Date.now();
    const at = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
    await knex()('mod_overusage_locks').insert({
      name: leaseName(),
      owner: live,
      host: OTHER_HOST,
      pid: 4242,
      acquired_at: at(nowMs),
      expires_at: at(nowMs + 600_000),
    });
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Brussels' }).format(new Date(nowMs));
    await knex()('mod_overusage_runs').insert([
      {
        kind: 'collect',
        sample_date: today,
        owner: stale,
        status: 'running',
        started_at: at(nowMs - 600_000),
      },
      { kind: 'collect', sample_date: today, owner: live, status: 'running', started_at: at(nowMs - 5_000) },
    ]);
    master.resetStats();
    const out: string[] = [];
    const err: string[] = [];
    // node 2 reads without waiting for the cluster: let it apply what this test wrote on node 1
    await caughtUp(db().url, 2);
    const code = await run(['--db', onNode(db().url, 2), '--zone', 'Europe/Brussels', 'collect'], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      isTTY: false,
      env: { ...env(), OVERUSAGE_LOG_LEVEL: 'error' },
    });
    expect(code, err.join('\n')).to.equal(4);
    const lines = out.join('\n').split('\n');
    // the lease had 600 s to run when inserted; the seconds left are counted when the run asks
    expect(lines, err.join('\n')).to.have.length(3);
    expect(lines[0]).to.match(
      /^collect \d{4}-\d\d-\d\d: 0 read, 0 already sampled, 0 failed, 30 gaps, 0 resets in \d+\.\d s$/,
    );
    const staleId = Number((await knex()('mod_overusage_runs').where({ owner: stale }).first()).id);
    expect(lines[1]).to.match(
      new RegExp(
        `^ {2}run ${staleId} abandoned: it holds no lease and gave no sign of life since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$`,
      ),
    );
    const held =
      /^ {2}nl-1: locked \(another run holds its lease \(process 4242 on host billing-2\.example\.net, lease runs (\d+) s more unless renewed\) and samples it\)$/.exec(
        lines[2]!,
      );
    expect(held, lines[2]).to.not.equal(null);
    expect(Number(held![1])).to.be.within(540, 600);
    // not a single call to the master the other run holds; its lease and its run untouched
    expect(master.stats().requests).to.equal(0);
    const lease = await knex()('mod_overusage_locks').where({ name: leaseName() }).first();
    expect(lease.owner).to.equal(live);
    const runs = await knex()('mod_overusage_runs').orderBy('id').select('id', 'owner', 'status');
    expect(runs.map((r) => [r.owner, r.status])).to.deep.equal([
      [stale, 'abandoned'],
      [live, 'running'],
      [String(runs[2]!.owner), 'finished'],
    ]);
    expect(Number(runs[0]!.id)).to.equal(staleId);

    // the same with --json: one document on stdout, the same exit code, the holder named in it
    const json: string[] = [];
    // node 2 reads without waiting for the cluster: let it apply what this test wrote on node 1
    await caughtUp(db().url, 2);
    const code2 = await run(['--db', onNode(db().url, 2), '--zone', 'Europe/Brussels', '--json', 'collect'], {
      out: (t) => json.push(t),
      err: () => {},
      isTTY: false,
      env: { ...env(), OVERUSAGE_LOG_LEVEL: 'error' },
    });
    expect(code2).to.equal(4);
    const summary = JSON.parse(json.join('\n'));
    expect(summary.abandonedRuns).to.deep.equal([]);
    expect(summary.masters).to.have.length(1);
    expect(summary.masters[0]).to.deep.include({
      masterId,
      name: 'nl-1',
      status: 'locked',
      read: 0,
      failed: 0,
    });
    expect(summary.masters[0].message).to.match(
      /^another run holds its lease \(process 4242 on host billing-2\.example\.net, lease runs \d+ s more unless renewed\) and samples it$/,
    );
  });
});

describe('collect --json when the database cannot be reached', () => {
  it('prints one JSON error on stdout and exits 1, whatever the driver says', async function () {
    this.timeout(120_000);
    // a port on 127.0.0.1 nothing listens on: closed as soon as it was found free
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-nodb-'));
    try {
      const p = overusage(['--db', `mysql://root@127.0.0.1:${port}/overusage`, '--json', 'collect'], {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'debug',
        OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      });
      const done = await p.exited;
      expect(done.code).to.equal(1);
      // the whole of stdout parses as one document: nothing of knex's or of a stack before it
      expect(JSON.parse(p.stdout())).to.deep.equal({
        error: {
          code: 'FAILURE',
          message: `cannot reach the database (connect ECONNREFUSED 127.0.0.1:${port})`,
        },
      });
      expect(p.stderr()).to.not.match(/^\s+at /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
