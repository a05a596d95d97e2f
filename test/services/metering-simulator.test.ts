import { expect } from 'chai';
import type { Knex } from 'knex';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

const GiB = 1024n ** 3n;
const ZONE = 'Europe/Brussels';
const N = 24;

/**
 * Metering against the SolusVM simulator over real HTTP, both protocol versions: a master going
 * down mid-run leaves gaps and a clear summary; the next run fills what can be filled; nothing is
 * counted twice; every period equals the counter SolusVM reports.
 */
describeEachEngine('metering against the SolusVM simulator', ({ db }) => {
  let knex: Knex;
  let fx: ModuleFixture;
  let sim: Simulator;
  let v1: SimMaster;
  let v2: SimMaster;
  const masterIds: number[] = [];

  before(async () => {
    knex = db().knex;
    fx = await buildModule(knex, {
      start: '2013-05-20T21:50:00Z',
      zone: ZONE,
      gatewayFor: (s) => createSolusVmGateway(s),
      batchSize: 7,
      pageSize: 10,
      writer: 'thread',
    });
    sim = createSimulator({ now: () => fx.clock.nowMs() });
    v1 = sim.addMaster({
      name: 'v1',
      version: 1,
      zone: ZONE,
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'apiid', apiKey: 'apikey' },
    });
    v2 = sim.addMaster({
      name: 'v2',
      version: 2,
      zone: ZONE,
      resetPolicy: 'first_of_month',
      credentials: { token: 'tok' },
      tls: true,
    });
    for (const m of [v1, v2]) {
      m.addServers(N, {
        idStart: 100,
        node: { id: 1, name: 'node-1' },
        clientId: 7,
        type: 'kvm',
        limitBytes: 5000n * GiB,
        createdAt: '2012-01-01T00:00:00Z',
        profileFor: (id: number) => ({ kind: 'constant', bytesPerDay: BigInt(id) * 3n * GiB }),
      });
      await m.listen();
    }
    const a = await fx.mod.masters.add(
      {
        name: 'sim-v1',
        version: 1,
        baseUrl: v1.url,
        apiId: 'apiid',
        apiKey: 'apikey',
        timeZone: ZONE,
        concurrency: 4,
        retries: 0,
      },
      CLI_ACTOR,
    );
    const b = await fx.mod.masters.add(
      {
        name: 'sim-v2',
        version: 2,
        baseUrl: v2.url,
        token: 'tok',
        tlsMode: 'pinned',
        tlsFingerprint: v2.fingerprint256!,
        timeZone: ZONE,
        concurrency: 4,
        retries: 0,
      },
      CLI_ACTOR,
    );
    masterIds.push(a.id, b.id);
    let serviceId = 1;
    for (const masterId of masterIds) {
      for (let i = 0; i < N; i++)
        await fx.mod.links.link(
          { serviceId: serviceId++, clientId: 7, masterId, serverRef: String(100 + i) },
          CLI_ACTOR,
        );
    }
  });

  after(async () => {
    await fx?.mod.close();
    await sim?.close();
  });

  it('reads every server of both versions and stores exactly the counter SolusVM reports', async () => {
    const run = await fx.mod.metering.collect();
    if (run.readOk !== 2 * N) console.log(JSON.stringify(run, null, 1));
    expect(run).to.deep.include({ sampleDate: '2013-05-20', readOk: 2 * N, failed: 0, gaps: 0 });
    const rows = await knex('mod_overusage_samples').select(
      'service_id',
      'used_bytes',
      'master_id',
      'server_ref',
    );
    for (const r of rows) {
      const m = toNum(r.master_id) === masterIds[0] ? v1 : v2;
      expect(toBig(r.used_bytes)).to.equal(m.counterAt(Number(r.server_ref)));
    }
    expect(v1.stats().maxInFlight).to.be.at.most(4);
    expect(v2.stats().maxInFlight).to.be.at.most(4);
  });

  it('leaves gaps and says why in words when a master goes down mid-run', async () => {
    fx.clock.set('2013-05-21T21:50:00Z');
    await v1.setFaults({ failAfterRequests: 10, down: true });
    const run = await fx.mod.metering.collect();
    expect(run.readOk).to.equal(N + 10);
    // five failed reads in a row and the run stops calling that master: 5, plus at most the 3
    // other reads already on their way when the first failed (concurrency 4); the rest are not
    // called. All 14 are gaps, and the master is reported as failed.
    expect(run.failed).to.be.within(5, 8);
    expect(run.gaps).to.equal(N - 10);
    expect(run.failureReasons[0]!.message).to.match(/^sim-v1: .*(refused|reset|closed)/i);
    expect(run.failureReasons[0]!.services).to.have.length(3);
    expect(run.masters.map((m) => m.status)).to.deep.equal(['error', 'done']);
    expect(run.masters[0]!.message).to.match(
      /^stopped after 5 failed reads in a row .* What to do: check that master "sim-v1" is up and reachable from here/,
    );
    const failures = await knex('mod_overusage_read_failures').where({ sample_date: '2013-05-21' });
    expect(failures).to.have.length(run.failed);
  });

  it('fills what can be filled on the next run and never counts a byte twice', async () => {
    await v1.clearFaults();
    fx.clock.set('2013-05-22T21:50:00Z');
    const run = await fx.mod.metering.collect();
    expect(run).to.deep.include({ readOk: 2 * N, failed: 0, gaps: 0 });
    const spans = await knex('mod_overusage_intervals').where({ kind: 'span' });
    expect(spans).to.have.length(N - 10);
    for (const s of spans) expect([s.from_date, s.to_date]).to.deep.equal(['2013-05-21', '2013-05-22']);

    // Each open period equals the counter at its last sample, and its intervals sum to it.
    const periods = await knex('mod_overusage_periods').where({ status: 'open' });
    expect(periods).to.have.length(2 * N);
    for (const p of periods) {
      const sample = await knex('mod_overusage_samples').where({ id: p.last_sample_id }).first();
      const m = toNum(sample.master_id) === masterIds[0] ? v1 : v2;
      expect(toBig(p.used_bytes)).to.equal(m.counterAt(Number(sample.server_ref), fx.clock.nowMs()));
      const sum = (await knex('mod_overusage_intervals').where({ period_id: p.id })).reduce(
        (a, r) => a + toBig(r.bytes),
        0n,
      );
      expect(sum).to.equal(toBig(p.used_bytes));
    }
  });

  it('follows the counter reset on the 1st into a new period on both versions', async () => {
    for (const day of ['2013-05-31T21:50:00Z', '2013-06-01T21:50:00Z']) {
      fx.clock.set(day);
      await fx.mod.metering.collect();
    }
    const closed = await knex('mod_overusage_periods').where({ status: 'closed', start_date: '2013-05-01' });
    expect(closed).to.have.length(2 * N);
    for (const p of closed) {
      expect(p.end_date).to.equal('2013-05-31');
      expect(p.closed_by).to.equal('calendar');
    }
    const june = await knex('mod_overusage_periods').where({ status: 'open', start_date: '2013-06-01' });
    expect(june).to.have.length(2 * N);
  });
});
