import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { describeEachEngine, onNode } from '../support/engines.js';
import { overusage, until, type Proc } from '../support/cli-process.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY, type ModuleFixture } from '../support/module-fixture.js';

/**
 * Several `overusage collect` processes against one database (issue 22): with --masters-at-once 1
 * each works one master at a time and takes the next free one, and with --wait each keeps trying
 * the masters another holds. One of them is killed with SIGKILL while it is reading a master; the
 * others take that master's lease over (its process on this host is gone) and read it. Whatever
 * the timing, the day ends with exactly one sample per service: none twice, none missing.
 *
 * The masters answer each call after 60 ms, one call at a time (concurrency 1): a master of
 * 12 services takes about 0.7 s, long enough to be caught mid-read.
 */
const PER_MASTER = 12;

describeEachEngine('several collectors share the masters, and one is killed', ({ db }) => {
  let sim: Simulator;
  let masters: SimMaster[] = [];
  // the masters' ids as the database gave them (on Galera: 1, 4, 7 … from one node of three)
  let masterIds: number[] = [];
  let fx: ModuleFixture;
  let dir: string;
  let procs: Proc[] = [];
  const knex = () => db().knex;
  const env = () => ({
    OVERUSAGE_DATA_DIR: dir,
    OVERUSAGE_LOG_LEVEL: 'info',
    OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
  });

  async function setUp(count: number): Promise<void> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-shared-collect-'));
    sim = createSimulator({ now: () => Date.now() });
    fx = await buildModule(knex(), {
      start: new Date().toISOString(),
      gatewayFor: (s) => createSolusVmGateway(s),
    });
    masters = [];
    masterIds = [];
    for (let k = 0; k < count; k++) {
      const name = `nl-${k + 1}`;
      const m = sim.addMaster({
        name,
        version: 1,
        zone: 'Europe/Brussels',
        resetPolicy: 'first_of_month',
        credentials: { apiId: 'id', apiKey: 'k3y-secret' },
      });
      m.addServers(PER_MASTER, {
        idStart: 100 + k * 100,
        node: { id: 1, name: 'node-1' },
        clientId: 7,
        type: 'kvm',
        limitBytes: 0n,
        createdAt: '2012-01-01T00:00:00',
        profile: { kind: 'constant', bytesPerDay: 1n << 30n },
      });
      await m.listen();
      await m.setFaults({ latencyMs: 60 });
      const added = await fx.mod.masters.add(
        {
          name,
          version: 1,
          baseUrl: m.url,
          apiId: 'id',
          apiKey: 'k3y-secret',
          timeZone: 'Europe/Brussels',
          concurrency: 1,
          retries: 0,
        },
        CLI_ACTOR,
      );
      masterIds.push(added.id);
      // services 1..12 on the first master, 13..24 on the second, …
      await fx.mod.links.linkMany(
        Array.from({ length: PER_MASTER }, (_, i) => ({
          serviceId: k * PER_MASTER + i + 1,
          clientId: 7,
          masterId: added.id,
          serverRef: String(100 + k * 100 + i),
        })),
        CLI_ACTOR,
      );
      masters.push(m);
    }
  }

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

  // on a Galera cluster (tools/galera/check.sh) each collector writes through another node than
  // the previous one and than the test's own reads (node 1): the leases are then decided by
  // Galera's certification, not by one server's locks
  const collector = () => {
    const p = overusage(
      [
        '--db',
        onNode(db().url, procs.length + 1),
        '--zone',
        'Europe/Brussels',
        '--json',
        'collect',
        '--masters-at-once',
        '1',
        '--wait',
        '60',
      ],
      env(),
    );
    procs.push(p);
    return p;
  };

  /** Starts `n` collectors, kills the one holding the first master that has answered 3 reads. */
  async function runAndKillOne(n: number): Promise<{ killed: Proc; others: Proc[]; masterId: number }> {
    const all = Array.from({ length: n }, collector);
    let victim: { p: Proc; masterId: number } | null = null;
    await until('a collector holding a master it has begun to read', async () => {
      for (const p of all)
        if (p.child.exitCode !== null)
          throw new Error(
            `a collector ended before the kill (${p.child.exitCode}): ${p.stderr()}${p.stdout().slice(-2000)}`,
          );
      const leases = await knex()('mod_overusage_locks')
        .where('name', 'like', 'collect:master:%')
        .select('name', 'pid');
      for (const l of leases) {
        const masterId = Number(String(l.name).split(':')[2]);
        const p = all.find((q) => q.child.pid === Number(l.pid));
        if (p && masters[masterIds.indexOf(masterId)]!.stats().requests >= 3) victim = { p, masterId };
      }
      return victim !== null;
    });
    const { p, masterId } = victim!;
    p.child.kill('SIGKILL');
    expect(await p.exited).to.deep.equal({ code: null, signal: 'SIGKILL' });
    return { killed: p, others: all.filter((q) => q !== p), masterId };
  }

  async function expectOneSamplePerService(total: number): Promise<void> {
    const rows = (await knex()('mod_overusage_samples')
      .groupBy('service_id', 'sample_date')
      .select('service_id')
      .count({ n: '*' })
      .orderBy('service_id')) as { service_id: number | string; n: number | string }[];
    expect(rows.map((r) => Number(r.service_id))).to.deep.equal(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    expect(rows.map((r) => Number(r.n))).to.deep.equal(Array(total).fill(1));
    const days = await knex()('mod_overusage_samples').distinct('sample_date');
    expect(days).to.have.length(1);
  }

  for (const n of [2, 3]) {
    it(`${n} collectors over ${2 * n} masters, one killed with SIGKILL mid-read: every service sampled once, the dead run marked abandoned`, async function () {
      this.timeout(180_000);
      // 2n masters of 12 services: 24 n services, services 1..24n
      await setUp(2 * n);
      const { killed, others, masterId } = await runAndKillOne(n);
      const ends = await Promise.all(others.map((p) => p.exited));
      expect(
        ends.map((e) => e.code),
        others.map((p) => p.stderr()).join('\n'),
      ).to.deep.equal(Array(n - 1).fill(0));
      await expectOneSamplePerService(2 * n * PER_MASTER);
      // the survivors' summaries: the killed run's master was taken over from it by one of them,
      // and every master ends 'done' in every survivor's summary (read by it, or found finished)
      const summaries = others.map(
        (p) =>
          JSON.parse(p.stdout()) as {
            masters: { masterId: number; status: string; tookOverFrom?: string; read: number }[];
            abandonedRuns: { owner: string }[];
            gaps: number;
          },
      );
      for (const s of summaries) {
        expect(s.masters.map((m) => [m.masterId, m.status])).to.deep.equal(
          masterIds.map((id) => [id, 'done']),
        );
        expect(s.gaps).to.equal(0);
      }
      const takeOvers = summaries.flatMap((s) =>
        s.masters.filter((m) => m.tookOverFrom).map((m) => [m.masterId, m.tookOverFrom!.split(':')[1]]),
      );
      expect(takeOvers).to.deep.equal([[masterId, String(killed.child.pid)]]);
      // each master's 12 samples read by someone; across the survivors, the reads add up to the
      // services the killed run did not store (it stores per batch of 500: none of its master's)
      const killedStored = Number(
        (
          await knex()('mod_overusage_samples')
            .join('mod_overusage_runs', 'mod_overusage_runs.id', 'mod_overusage_samples.run_id')
            .where('mod_overusage_runs.owner', 'like', `%:${killed.child.pid}:%`)
            .count({ n: '*' })
        )[0]!.n,
      );
      const readBySurvivors = summaries.reduce((a, s) => a + s.masters.reduce((b, m) => b + m.read, 0), 0);
      expect(readBySurvivors + killedStored).to.equal(2 * n * PER_MASTER);
      // the dead run is marked abandoned, the survivors' runs finished; no lease left behind
      const runs = await knex()('mod_overusage_runs').orderBy('id').select('owner', 'status');
      expect(runs.map((r) => [String(r.owner).split(':')[1], r.status]).sort()).to.deep.equal(
        [
          [String(killed.child.pid), 'abandoned'],
          ...others.map((p) => [String(p.child.pid), 'finished']),
        ].sort(),
      );
      expect(await knex()('mod_overusage_locks').where('name', 'like', 'collect:master:%')).to.have.length(0);
    });
  }
});
