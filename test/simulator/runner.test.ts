import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { type ControlServer, startControlServer } from '../../simulator/control-server.js';
import { createSettableClock, createSimulator, type Simulator } from '../../simulator/index.js';
import { request, v1Get } from './http-helpers.js';

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('simulator control endpoint', () => {
  let sim: Simulator;
  let control: ControlServer;
  const clock = createSettableClock({ startMs: Date.parse('2024-05-10T00:00:00Z'), frozen: true });

  before(async () => {
    sim = createSimulator({ now: clock.now });
    control = await startControlServer(sim, clock);
  });

  after(async () => {
    await control.close();
    await sim.close();
  });

  it('starts a master, bulk-adds servers and reads counters as exact strings', async () => {
    const master = JSON.parse(
      (
        await request(
          `${control.url}/_sim/masters`,
          json({
            name: 'eu 1',
            version: 1,
            zone: 'Europe/Brussels',
            resetPolicy: 'first_of_month',
            credentials: { apiId: 'a', apiKey: 'b' },
          }),
        )
      ).body,
    );
    expect(master.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const base = `${control.url}/_sim/masters/eu%201`;
    const added = JSON.parse(
      (
        await request(
          `${base}/servers`,
          json({
            count: 1000,
            idStart: 1,
            createdAt: '2024-01-01T00:00:00Z',
            limitBytes: '1099511627776',
            profiles: [{ kind: 'constant', bytesPerDay: '100000000000000000000' }],
          }),
        )
      ).body,
    );
    expect(added).to.deep.equal({ idStart: 1, idEnd: 1000 });
    // Brussels midnight of 1 May is 22:00 UTC on 30 April: 9 days and 2 hours at 10^20 bytes a day
    const c = JSON.parse((await request(`${base}/servers/7/counter`)).body);
    expect(c.counter).to.equal('908333333333333333333');
    const v1 = await v1Get(master.url, { id: 'a', key: 'b', action: 'vserver-infoall', vserverid: '7' });
    expect(v1.body).to.contain(',908333333333333333333,');
  });

  it('moves the clock, resets a counter, sets state and faults, and reports stats', async () => {
    const base = `${control.url}/_sim/masters/eu%201`;
    const moved = JSON.parse(
      (await request(`${control.url}/_sim/clock`, json({ advanceMs: 86_400_000 }))).body,
    );
    expect(moved.now).to.equal('2024-05-11T00:00:00.000Z');
    const reset = JSON.parse((await request(`${base}/servers/7/reset`, json({}))).body);
    expect(reset.counter).to.equal('0');
    const state = JSON.parse((await request(`${base}/servers/7/state`, json({ state: 'disabled' }))).body);
    expect(state.state).to.equal('disabled');
    await request(`${base}/faults`, json({ httpStatus: 503 }));
    const masterUrl = sim.master('eu 1')!.url;
    expect(
      (await v1Get(masterUrl, { id: 'a', key: 'b', action: 'vserver-status', vserverid: '7' })).status,
    ).to.equal(503);
    await request(`${base}/faults`, { method: 'DELETE' });
    expect(
      (await v1Get(masterUrl, { id: 'a', key: 'b', action: 'vserver-status', vserverid: '7' })).body,
    ).to.contain('disabled');
    const stats = JSON.parse((await request(`${base}/stats`)).body);
    expect(stats.byAction['vserver-status']).to.equal(2);
    expect(stats.faultsInjected).to.equal(1);
  });

  it('answers bad input with a 4xx and a message', async () => {
    const r = await request(
      `${control.url}/_sim/masters/eu%201/servers`,
      json({
        count: 5,
        idStart: 1,
        createdAt: '2024-01-01',
        profile: { kind: 'constant', bytesPerDay: '1' },
      }),
    );
    expect(r.status).to.equal(400);
    expect(JSON.parse(r.body).error).to.match(/overlap/);
    expect((await request(`${control.url}/_sim/masters/nope/stats`)).status).to.equal(404);
    expect(
      (await request(`${control.url}/_sim/masters/eu%201/servers/1/state`, json({ state: 'asleep' }))).status,
    ).to.equal(400);
  });
});

describe('simulator runner (simulator/main.ts)', function () {
  this.timeout(15_000);
  let child: ChildProcess | null = null;
  let dir = '';

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts masters from a config file, prints their URLs as one JSON line and shuts down on request', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sim-runner-'));
    const cfg = path.join(dir, 'sim.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        clock: { start: '2024-05-10T12:00:00Z', frozen: true },
        masters: [
          {
            name: 'one',
            version: 1,
            zone: 'UTC',
            credentials: { apiId: 'x', apiKey: 'y' },
            servers: [
              { id: 5, createdAt: '2024-05-01T00:00:00Z', profile: { kind: 'constant', bytesPerDay: 1000 } },
            ],
          },
          {
            name: 'two',
            version: 2,
            zone: 'UTC',
            tls: true,
            credentials: { token: 't' },
            bulk: [
              {
                count: 20,
                idStart: 1,
                createdAt: '2024-05-01T00:00:00Z',
                profile: { kind: 'constant', bytesPerDay: 1 },
              },
            ],
          },
        ],
      }),
    );
    const main = path.join(import.meta.dirname, '..', '..', 'simulator', 'main.ts');
    child = spawn(process.execPath, ['--import', 'tsx', main, '--config', cfg], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).once('line', resolve);
      child!.once('exit', (code) => reject(new Error(`runner exited with ${code}`)));
    });
    const out = JSON.parse(line);
    expect(out.masters.map((x: { name: string }) => x.name)).to.deep.equal(['one', 'two']);
    expect(out.masters[1].url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(out.masters[1].fingerprint256).to.be.a('string');
    const r = await v1Get(out.masters[0].url, {
      id: 'x',
      key: 'y',
      action: 'vserver-infoall',
      vserverid: '5',
      rdtype: 'json',
    });
    expect(JSON.parse(r.body).bandwidth).to.equal('0,9500,-9500,0');
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    await request(`${out.control}/_sim/shutdown`, { method: 'POST' });
    expect(await exited).to.equal(0);
  });
});
