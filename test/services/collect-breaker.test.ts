import { expect } from 'chai';
import type { Knex } from 'knex';
import { createMeteringStore, type MeteringStore } from '../../module/adapters/metering-store.js';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { SolusVmError } from '../../module/adapters/solusvm-types.js';
import { createMeteringService, type CollectProgress } from '../../module/services/metering.js';
import { addFakeMaster } from '../support/fake-masters.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, type ModuleFixture } from '../support/module-fixture.js';

/**
 * What a collect run does when reads fail, in process (no HTTP): a failure that says the master
 * as a whole cannot be read stops the master after five in a row of one kind; a failure of one
 * VPS never does. Failures are grouped per master and cause for the admin, with counts and a few
 * of the services. The counters read 1 000 GB; the run samples 10 May 2013 (Brussels).
 */
const GB = 10n ** 9n;

describeEachEngine('collect when reads fail: the breaker and the reasons', ({ db }) => {
  let knex: Knex;
  let fake: FakeMaster;
  let fx: ModuleFixture;

  beforeEach(async () => {
    knex = db().knex;
    fake = new FakeMaster();
    fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
  });
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
  });

  /** A master of `n` services (ids from `first`, servers "<name>-1" …), read one at a time. */
  async function master(name: string, n: number, first: number, concurrency = 1) {
    return addFakeMaster(fx, fake, { name, count: n, firstServiceId: first, concurrency });
  }

  const masterWide: Array<[string, SolusVmError, RegExp]> = [
    [
      'a refused key',
      new SolusVmError('auth', 'Invalid id or key'),
      /check the API id and key \(or token\) of master "nl": overusage master update \d+ --api-key/,
    ],
    [
      'a refused address',
      new SolusVmError('ip_refused', 'Invalid ipaddress'),
      /allow this host's IP address/,
    ],
    [
      'a certificate',
      new SolusVmError('tls', 'certificate not trusted', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      /check master "nl"'s certificate: overusage master test \d+ shows the fingerprint to pin$/,
    ],
    ['a timeout', new SolusVmError('timeout', 'no answer in 10 s'), /check that master "nl" is up/],
    [
      'a dropped connection',
      new SolusVmError('transport', 'socket hang up', { code: 'ECONNRESET' }),
      /is up/,
    ],
    [
      'a web page',
      new SolusVmError('bad_response', 'a web page, not the API', { code: 'HTML_PAGE' }),
      /URL answers with a web page/,
    ],
  ];
  for (const [what, err, advice] of masterWide) {
    it(`stops calling a master after 5 reads in a row fail with ${what}, and says what to do`, async () => {
      const m = await master('nl', 8, 100);
      for (const ref of m.refs) fake.fail(ref, err);
      const run = await fx.mod.metering.collect();
      // 5 of the 8 called, one at a time; the other 3 never: 5 failures, 8 gaps
      expect(fake.reads).to.equal(5);
      expect([run.failed, run.gaps]).to.deep.equal([5, 8]);
      const [outcome] = run.masters;
      expect(outcome!.status).to.equal('error');
      expect(outcome!.message).to.match(
        new RegExp(`^stopped after 5 failed reads in a row \\(${err.message}\\)`),
      );
      expect(outcome!.message).to.match(advice);
      expect(outcome!.message).to.not.include('<id>');
    });
  }

  it('calls every VPS when each fails on its own (not found, an answer it cannot read)', async () => {
    await master('nl', 8, 100);
    for (const ref of ['nl-1', 'nl-2', 'nl-3', 'nl-4', 'nl-5', 'nl-6'])
      fake.fail(ref, new SolusVmError('not_found', 'Virtual server not found'));
    fake.fail('nl-7', new SolusVmError('bad_response', 'no status in the answer', { code: 'NO_STATUS' }));
    const run = await fx.mod.metering.collect();
    // all 8 called: 7 failed, 1 read
    expect(fake.reads).to.equal(8);
    expect([run.readOk, run.failed, run.gaps]).to.deep.equal([1, 7, 7]);
    expect(run.masters[0]!.status).to.equal('done');
  });

  it('counts failures in a row per kind: five of two kinds taking turns do not stop the master', async () => {
    const m = await master('nl', 10, 100);
    // auth, ip_refused, auth, … : never two of one kind in a row
    m.refs.forEach((ref, i) =>
      fake.fail(
        ref,
        i % 2 === 0
          ? new SolusVmError('auth', 'Invalid id or key')
          : new SolusVmError('ip_refused', 'Invalid ipaddress'),
      ),
    );
    const run = await fx.mod.metering.collect();
    expect(fake.reads).to.equal(10);
    expect(run.failed).to.equal(10);
    expect(run.masters[0]!.status).to.equal('done');
  });

  it('starts counting again after a good read', async () => {
    const m = await master('nl', 10, 100);
    // 4 refused, 1 read, 4 refused, 1 read: never 5 in a row
    for (const [i, ref] of m.refs.entries())
      if (i % 5 !== 4) fake.fail(ref, new SolusVmError('auth', 'Invalid id or key'));
    const run = await fx.mod.metering.collect();
    expect(fake.reads).to.equal(10);
    expect([run.readOk, run.failed]).to.deep.equal([2, 8]);
  });

  it('starts counting again after a failure of one VPS', async () => {
    const m = await master('nl', 10, 100);
    // 4 refused, 1 not found, 5 refused: the fifth refusal after the not-found stops it (10 calls)
    for (const [i, ref] of m.refs.entries())
      fake.fail(
        ref,
        i === 4
          ? new SolusVmError('not_found', 'Virtual server not found')
          : new SolusVmError('auth', 'Invalid id or key'),
      );
    const run = await fx.mod.metering.collect();
    expect(fake.reads).to.equal(10);
    expect(run.masters[0]!.message).to.match(/^stopped after 5 failed reads in a row/);
  });

  it('groups the failures per master and cause, most frequent first, naming three services of each', async () => {
    const a = await master('nl-a', 6, 100);
    const b = await master('nl-b', 3, 200);
    // nl-a: 4 not found, 2 with an unreadable answer; nl-b: 3 not found
    for (const ref of a.refs.slice(0, 4))
      fake.fail(ref, new SolusVmError('not_found', 'Virtual server not found'));
    for (const ref of a.refs.slice(4))
      fake.fail(ref, new SolusVmError('bad_response', 'no status', { code: 'NO_STATUS' }));
    for (const ref of b.refs) fake.fail(ref, new SolusVmError('not_found', 'Virtual server not found'));
    const run = await fx.mod.metering.collect();
    const shown = (rs: typeof run.failures) =>
      rs.map((r) => [r.master, r.kind, r.message, r.count, r.services]);
    const aNotFound = [
      'nl-a',
      'not_found',
      'nl-a: Virtual server not found',
      4,
      ['service 100 (server nl-a-1)', 'service 101 (server nl-a-2)', 'service 102 (server nl-a-3)'],
    ];
    const aBad = [
      'nl-a',
      'bad_response',
      'nl-a: no status',
      2,
      ['service 104 (server nl-a-5)', 'service 105 (server nl-a-6)'],
    ];
    const bNotFound = [
      'nl-b',
      'not_found',
      'nl-b: Virtual server not found',
      3,
      ['service 200 (server nl-b-1)', 'service 201 (server nl-b-2)', 'service 202 (server nl-b-3)'],
    ];
    // by master, then the most frequent first
    expect(shown(run.failures)).to.deep.equal([aNotFound, aBad, bNotFound]);
    // the most frequent over all masters: 4, 3, 2
    expect(shown(run.failureReasons)).to.deep.equal([aNotFound, bNotFound, aBad]);
    expect(run.failed).to.equal(9);
  });

  it('keeps the five most frequent reasons for the summary, every reason in the list by master', async () => {
    const m = await master('nl', 6, 100);
    // six causes, one service each
    m.refs.forEach((ref, i) => fake.fail(ref, new SolusVmError('app_error', `cause ${i + 1}`)));
    const run = await fx.mod.metering.collect();
    expect(run.failures).to.have.length(6);
    expect(run.failureReasons).to.have.length(5);
  });

  it('groups dropped connections by their code whatever their wording, and other codes apart', async () => {
    const m = await master('nl', 3, 100);
    fake.fail(
      m.refs[0]!,
      new SolusVmError('transport', 'closed unexpectedly (ECONNRESET)', { code: 'ECONNRESET' }),
    );
    fake.fail(m.refs[1]!, new SolusVmError('transport', 'socket hang up', { code: 'ECONNRESET' }));
    fake.fail(m.refs[2]!, new SolusVmError('transport', 'connection refused', { code: 'ECONNREFUSED' }));
    const run = await fx.mod.metering.collect();
    // the first wording names the group
    expect(run.failures.map((r) => [r.kind, r.message, r.count])).to.deep.equal([
      ['transport', 'nl: closed unexpectedly (ECONNRESET)', 2],
      ['transport', 'nl: connection refused', 1],
    ]);
  });

  it('groups failures of one kind and code by their message', async () => {
    const m = await master('nl', 3, 100);
    fake.fail(m.refs[0]!, new SolusVmError('app_error', 'Server is locked'));
    fake.fail(m.refs[1]!, new SolusVmError('app_error', 'Server is locked'));
    fake.fail(m.refs[2]!, new SolusVmError('app_error', 'Node offline'));
    const run = await fx.mod.metering.collect();
    expect(run.failures.map((r) => [r.message, r.count])).to.deep.equal([
      ['nl: Server is locked', 2],
      ['nl: Node offline', 1],
    ]);
  });

  it('records an error that is not the master’s as an internal failure, in words', async () => {
    await master('nl', 2, 100);
    const gateway = fake.gateway();
    const service = createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store: createMeteringStore(knex),
      locks: createLockStore(knex),
      masters: fx.mod.masters,
      gatewayFor: () => ({
        ...gateway,
        readTraffic: async (ref: string) => {
          if (ref === 'nl-2') throw new TypeError('boom');
          return gateway.readTraffic(ref);
        },
      }),
    });
    const run = await service.collect();
    expect([run.readOk, run.failed]).to.deep.equal([1, 1]);
    expect(run.failures.map((r) => [r.kind, r.message, r.count])).to.deep.equal([
      // the error's kind (TypeError), never its words ('boom'): a driver's can quote a stored value
      ['internal', 'nl: unexpected error: TypeError', 1],
    ]);
    const rows = await knex('mod_overusage_read_failures').select('service_id', 'error_kind', 'message');
    expect(rows.map((r) => [Number(r.service_id), r.error_kind, r.message])).to.deep.equal([
      [101, 'internal', 'unexpected error: TypeError'],
    ]);
  });

  it("goes on with the other masters when one master's stored row cannot be read, naming it and the column", async () => {
    await master('nl-good', 2, 100);
    const bad = await master('nl-bad', 3, 200);
    // an admin (or another version) wrote a TLS mode the module does not know
    await knex('mod_overusage_masters').where({ id: bad.id }).update({ tls_mode: 'maybe' });
    const run = await fx.mod.metering.collect();
    // nl-good's 2 read; nl-bad never called: its 3 services are the day's gaps, not zeros
    expect([run.services, run.readOk, run.failed, run.gaps, fake.reads]).to.deep.equal([5, 2, 0, 3, 2]);
    const problem =
      'mod_overusage_masters.tls_mode holds "maybe", which is not one of verify, pinned, insecure';
    expect(run.masters.map((m) => [m.name, m.status, m.read, m.message])).to.deep.equal([
      ['nl-good', 'done', 2, null],
      ['nl-bad', 'error', 0, `its stored row cannot be read: ${problem}`],
    ]);
    const row = await knex('mod_overusage_runs').orderBy('id', 'desc').first();
    expect([row.status, row.message]).to.deep.equal([
      'failed',
      `nl-bad: its stored row cannot be read: ${problem}`,
    ]);
  });

  it("reads a master's other services when one service's stored row cannot be read, naming it and the column", async () => {
    await master('nl', 3, 100);
    // service 101's reset policy edited by hand into a word the module does not know
    await knex('mod_overusage_services').where({ service_id: 101 }).update({ reset_policy: 'sometimes' });
    const run = await fx.mod.metering.collect();
    // 100 and 102 read; 101 not called, one failed read of its own kind, the master not stopped
    expect([run.services, run.readOk, run.failed, fake.reads]).to.deep.equal([3, 2, 1, 2]);
    const problem =
      'its stored row cannot be read: mod_overusage_services.reset_policy holds "sometimes", which is not one of first_of_month, anniversary, never';
    expect(run.failures.map((r) => [r.kind, r.message, r.count])).to.deep.equal([
      ['stored_row', `nl: ${problem}`, 1],
    ]);
    expect(run.masters.map((m) => [m.name, m.status, m.read])).to.deep.equal([['nl', 'done', 2]]);
    const rows = await knex('mod_overusage_read_failures').select('service_id', 'error_kind', 'message');
    expect(rows.map((r) => [Number(r.service_id), r.error_kind, r.message])).to.deep.equal([
      [101, 'stored_row', problem],
    ]);
  });

  it('tells its progress after each service: how many of all, and how many failed', async () => {
    const m = await master('nl', 3, 100);
    fake.fail(m.refs[1]!, new SolusVmError('not_found', 'Virtual server not found'));
    const seen: CollectProgress[] = [];
    await fx.mod.metering.collect({ onProgress: (p) => seen.push({ ...p }) });
    // three reads one at a time, then the master's end (nothing read before today)
    expect(seen).to.deep.equal([
      { total: 3, done: 1, failed: 0, master: 'nl' },
      { total: 3, done: 2, failed: 1, master: 'nl' },
      { total: 3, done: 3, failed: 1, master: 'nl' },
      { total: 3, done: 3, failed: 1, master: 'nl' },
    ]);
  });

  it('counts the services read before today as already read, and the anomalies it found', async () => {
    const m = await master('nl', 3, 100);
    const first = await fx.mod.metering.collect();
    expect([first.readOk, first.already]).to.deep.equal([3, 0]);
    // the next day: nl-1 drops from 1 000 to 10 GB with no reset due (an anomaly); nl-3 fails
    fx.clock.set('2013-05-11T21:50:00Z');
    fake.set(m.refs[0]!, 10n * GB);
    fake.fail(m.refs[2]!, new SolusVmError('not_found', 'Virtual server not found'));
    const second = await fx.mod.metering.collect();
    expect([second.readOk, second.already, second.failed, second.anomalies]).to.deep.equal([1 + 1, 0, 1, 1]);
    // the same day again, nl-3 back: 2 already read, 1 read now
    fake.fail(m.refs[2]!, null);
    fx.clock.set('2013-05-11T22:50:00Z');
    const third = await fx.mod.metering.collect();
    expect([third.readOk, third.already, third.gaps]).to.deep.equal([1, 2, 0]);
  });

  it('counts the active services still to read for a day', async () => {
    const m = await master('nl', 3, 100);
    fake.fail(m.refs[0]!, new SolusVmError('not_found', 'Virtual server not found'));
    expect(await fx.mod.metering.pending('2013-05-10')).to.equal(3);
    await fx.mod.metering.collect();
    expect(await fx.mod.metering.pending('2013-05-10')).to.equal(1);
  });

  it('stops a master at its first failed write and writes nothing after it', async () => {
    await master('nl', 10, 100);
    const real = createMeteringStore(knex);
    let batches = 0;
    const failing: MeteringStore = {
      ...real,
      async writeBatch(...args) {
        if (++batches === 2) throw new Error('disk full');
        return real.writeBatch(...args);
      },
    };
    const service = createMeteringService({
      clock: fx.clock,
      zone: 'Europe/Brussels',
      store: failing,
      locks: createLockStore(knex),
      masters: fx.mod.masters,
      gatewayFor: () => fake.gateway(),
      batchSize: 3,
      pageSize: 4,
    });
    const run = await service.collect();
    // batches of 3: the first (services 100–102) stored, the second fails: nothing after it
    expect(run.masters[0]).to.deep.include({ status: 'error', message: 'disk full', read: 3 });
    const stored = await knex('mod_overusage_samples').orderBy('service_id').pluck('service_id');
    expect(stored.map(Number)).to.deep.equal([100, 101, 102]);
    expect(run.readOk).to.equal(3);
  });
});
