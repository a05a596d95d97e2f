import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../../cli/main.js';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import {
  createSimulator,
  type MasterOptions,
  type SimMaster,
  type Simulator,
} from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY, type ModuleFixture } from '../support/module-fixture.js';

/**
 * `overusage collect` when a master fails as a whole — unreachable, a refused key, our address
 * refused, a web page instead of the API — through the real command against the simulator over
 * HTTP: the run exits 1 and names the master and what to do, and stops calling a master after five
 * such failures in a row instead of calling (and failing) every VPS.
 */
const SERVICES = 40;

describeEachEngine('collect when a master fails as a whole', ({ db }) => {
  let sim: Simulator;
  let fx: ModuleFixture;
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-collect-'));
    sim = createSimulator({ now: () => Date.now() });
  });
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One healthy master and one as given, each with 40 servers linked to services. */
  async function setUp(bad: Partial<MasterOptions> = {}): Promise<{ good: SimMaster; bad: SimMaster }> {
    fx = await buildModule(db().knex, {
      start: new Date().toISOString(),
      gatewayFor: (s) => createSolusVmGateway(s),
    });
    const make = async (name: string, extra: Partial<MasterOptions>, firstService: number) => {
      const m = sim.addMaster({
        name,
        version: 1,
        zone: 'Europe/Brussels',
        resetPolicy: 'first_of_month',
        credentials: { apiId: 'id', apiKey: 'k3y-secret' },
        ...extra,
      });
      m.addServers(SERVICES, {
        idStart: 100,
        node: { id: 1, name: 'node-1' },
        clientId: 7,
        type: 'kvm',
        limitBytes: 0n,
        createdAt: '2012-01-01T00:00:00',
        profile: { kind: 'constant', bytesPerDay: 1n << 30n },
      });
      await m.listen();
      const added = await fx.mod.masters.add(
        {
          name,
          version: 1,
          baseUrl: m.url,
          apiId: 'id',
          apiKey: 'k3y-secret',
          timeZone: 'Europe/Brussels',
          concurrency: 8,
          retries: 0,
        },
        CLI_ACTOR,
      );
      await fx.mod.links.linkMany(
        Array.from({ length: SERVICES }, (_, i) => ({
          serviceId: firstService + i,
          clientId: 7,
          masterId: added.id,
          serverRef: String(100 + i),
        })),
        CLI_ACTOR,
      );
      return m;
    };
    return { good: await make('nl-good', {}, 1), bad: await make('nl-bad', bad, 1001) };
  }

  async function collect(): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      isTTY: false,
      env: {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'error',
        OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      } as NodeJS.ProcessEnv,
    };
    const code = await run(['--db', db().url, '--zone', 'Europe/Brussels', '--json', 'collect'], io);
    return { code, out, err };
  }

  const cases: Array<[string, Partial<MasterOptions>, (m: SimMaster) => Promise<void> | void, RegExp]> = [
    [
      'a revoked key',
      {},
      (m) => m.revokeKey(),
      /the master refused the API id\/key \("Invalid id or key"\).*check the API id and key \(or token\) of master "nl-bad"/,
    ],
    [
      'our address refused',
      { allowedIps: ['192.0.2.1'] },
      () => {},
      /allow this host's IP address for the API user on master "nl-bad"/,
    ],
    [
      'a web page instead of the API',
      {},
      (m) => m.setFaults({ html: true }),
      /master "nl-bad"'s URL answers with a web page, not the API/,
    ],
    [
      'an unreachable master',
      {},
      (m) => m.setFaults({ down: true }),
      /check that master "nl-bad" is up and reachable from here/,
    ],
  ];
  for (const [what, options, breakIt, advice] of cases) {
    it(`exits 1 for ${what}, names the master and what to do, and calls it at most 5 times`, async () => {
      const { good, bad } = await setUp(options);
      await breakIt(bad);
      bad.resetStats();
      const r = await collect();
      expect(r.code, r.err.join('\n')).to.equal(1);
      const summary = JSON.parse(r.out.join('\n')) as {
        readOk: number;
        failed: number;
        gaps: number;
        masters: Array<{ name: string; status: string; message: string }>;
        failures: Array<{ master: string; count: number; services: string[] }>;
      };
      // the healthy master is read whole; the broken one is called (sequentially, before any
      // success) five times and not again: five failures, 40 gaps
      expect(summary.readOk).to.equal(SERVICES);
      expect(summary.failed).to.equal(5);
      expect(summary.gaps).to.equal(SERVICES);
      expect(bad.stats().requests).to.be.at.most(5);
      expect(good.stats().requests).to.equal(SERVICES);
      const m = summary.masters.find((x) => x.name === 'nl-bad')!;
      expect(m.status).to.equal('error');
      expect(m.message).to.match(/^stopped after 5 failed reads in a row/);
      expect(m.message, m.message).to.match(advice);
      expect(summary.failures.map((f) => [f.master, f.count])).to.deep.equal([['nl-bad', 5]]);
      expect(summary.failures[0]!.services[0]).to.match(/^service 10\d\d \(server 1\d\d\)$/);
      const runRow = await db().knex('mod_overusage_runs').orderBy('id', 'desc').first();
      expect(runRow.status).to.equal('failed');
      expect(String(runRow.message)).to.match(/^nl-bad: stopped after 5 failed reads/);
    });
  }

  it("goes on with the other masters when one master's stored row cannot be read, and names it and the column", async () => {
    const { good, bad } = await setUp();
    // an admin (or another version) wrote a TLS mode the module does not know
    await db().knex('mod_overusage_masters').where({ name: 'nl-bad' }).update({ tls_mode: 'maybe' });
    bad.resetStats();
    const r = await collect();
    expect(r.code, r.err.join('\n')).to.equal(1);
    const summary = JSON.parse(r.out.join('\n')) as {
      services: number;
      readOk: number;
      failed: number;
      gaps: number;
      masters: Array<{ name: string; status: string; read: number; message: string | null }>;
    };
    // nl-good's 40 read; nl-bad is never called: its 40 services are the day's gaps, not zeros
    expect([summary.services, summary.readOk, summary.failed, summary.gaps]).to.deep.equal([
      2 * SERVICES,
      SERVICES,
      0,
      SERVICES,
    ]);
    expect(good.stats().requests).to.equal(SERVICES);
    expect(bad.stats().requests).to.equal(0);
    const problem =
      'mod_overusage_masters.tls_mode holds "maybe", which is not one of verify, pinned, insecure';
    expect(summary.masters.map((m) => [m.name, m.status, m.read, m.message])).to.deep.equal([
      ['nl-good', 'done', SERVICES, null],
      ['nl-bad', 'error', 0, `its stored row cannot be read: ${problem}`],
    ]);
    const runRow = await db().knex('mod_overusage_runs').orderBy('id', 'desc').first();
    expect([runRow.status, runRow.message]).to.deep.equal([
      'failed',
      `nl-bad: its stored row cannot be read: ${problem}`,
    ]);
    // `overusage master list` lists nl-good, names nl-bad and the column on stderr, exits 1
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      isTTY: false,
      env: {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'error',
        OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      } as NodeJS.ProcessEnv,
    };
    const code = await run(['--db', db().url, 'master', 'list'], io);
    expect(code).to.equal(1);
    expect(out.join('\n')).to.match(/^\d+\tnl-good\tv1\t/);
    expect(out.join('\n')).to.not.include('nl-bad');
    expect(err).to.deep.include(
      `overusage: master ${(await fx.mod.masters.listAll()).unreadable[0]!.id} "nl-bad" cannot be read: ${problem}`,
    );
  });

  it("reads a master's other services when one service's stored row cannot be read, and names it and the column", async () => {
    const { good, bad } = await setUp();
    // service 3's reset policy edited by hand into a word the module does not know
    const knex = db().knex;
    await knex('mod_overusage_services').where({ service_id: 3 }).update({ reset_policy: 'sometimes' });
    good.resetStats();
    bad.resetStats();
    const r = await collect();
    const summary = JSON.parse(r.out.join('\n')) as { readOk: number; failed: number; gaps: number };
    // 80 services: 79 read, service 3 a failed read (not called), nothing else left out
    expect([summary.readOk, summary.failed, summary.gaps]).to.deep.equal([2 * SERVICES - 1, 1, 1]);
    expect([good.stats().requests, bad.stats().requests]).to.deep.equal([SERVICES - 1, SERVICES]);
    const failure = await knex('mod_overusage_read_failures').where({ service_id: 3 }).first();
    expect([failure.error_kind, failure.message]).to.deep.equal([
      'stored_row',
      'its stored row cannot be read: mod_overusage_services.reset_policy holds "sometimes", which is not one of first_of_month, anniversary, never',
    ]);
  });

  it('stops soon after a key is refused in the middle of a run', async () => {
    const { bad } = await setUp();
    // the key is refused from the master's eleventh request on: the reads already on their way
    // (8 at once) fail, and the fifth failure in a row stops the master: 10 + at most 8 calls
    await bad.setFaults({ bareText: 'Invalid id or key', failAfterRequests: 10 });
    bad.resetStats();
    const r = await collect();
    expect(r.code).to.equal(1);
    expect(bad.stats().requests).to.be.within(15, 18);
    const summary = JSON.parse(r.out.join('\n')) as { readOk: number; failed: number };
    expect(summary.readOk).to.equal(SERVICES + 10);
    expect(summary.failed).to.be.within(5, 8);
  });

  it('exits 0 when every master did its work, and reads no live state on SolusVM 1 (nostatus)', async () => {
    const { good, bad } = await setUp();
    const r = await collect();
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.out.join('\n'))).to.deep.include({ readOk: 2 * SERVICES, failed: 0, gaps: 0 });
    expect(good.stats().liveStateChecks + bad.stats().liveStateChecks).to.equal(0);
  });
});
