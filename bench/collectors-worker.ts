/**
 * collectors.scaling (issue 22): the same day's collect on latency-bound masters, once by one
 * `overusage collect` process and once by three sharing the masters, each working one master at a
 * time (--masters-at-once 1 --wait 60). 6 masters of `per` services (500 by default: a SolusVM
 * master holds hundreds to thousands of VPSs), each call answered after 20 ms, 2 calls at once per
 * master. At 150 a master, each process's fixed start and exit (0.8–1.5 s: loading the 1.3 MB
 * bundle, three at once on 2 cores) was a third of the three-process run, so the figure measured
 * start-up more than collecting (2.03x on a quiet machine, against 2.58x at 500). Prints { one, three } in ms and the counts, as JSON, and
 * each process's life split into its run (the summary's durationMs) and the rest (start-up, exit).
 * The command runs as installed: the built bundle (npm run build), rebuilt here when stale; with
 * --tsx also both runs again through tsx (OVERUSAGE_NO_BUNDLE=1), for comparison.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import { createSimulator } from '../simulator/index.js';
import { createTestDatabase } from '../test/support/engines.js';
import { overusage } from '../test/support/cli-process.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY } from '../test/support/module-fixture.js';
import { ROOT } from './support.js';

const a = parseArgs({
  options: { per: { type: 'string', default: '500' }, tsx: { type: 'boolean', default: false } },
}).values;
const per = Number(a.per);
const MASTERS = 6;

interface Once {
  ms: number;
  samples: number;
  /** per process: its run (summary durationMs) and its whole life, in ms */
  runs: Array<{ run: number; life: number }>;
}

async function once(processes: number, extraEnv: Record<string, string> = {}): Promise<Once> {
  const db = await createTestDatabase('mysql');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bench-collectors-'));
  const sim = createSimulator({ now: () => Date.now() });
  const fx = await buildModule(db.knex, {
    start: new Date().toISOString(),
    gatewayFor: (s) => createSolusVmGateway(s),
  });
  for (let k = 0; k < MASTERS; k++) {
    const m = sim.addMaster({
      name: `m${k + 1}`,
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'id', apiKey: 'k' },
    });
    m.addServers(per, {
      idStart: 1000 + k * 10000,
      node: { id: 1, name: 'n' },
      clientId: 7,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: '2012-01-01T00:00:00',
      profile: { kind: 'constant', bytesPerDay: 1n << 30n },
    });
    await m.listen();
    await m.setFaults({ latencyMs: 20 });
    await fx.mod.masters.add(
      {
        name: `m${k + 1}`,
        version: 1,
        baseUrl: m.url,
        apiId: 'id',
        apiKey: 'k',
        timeZone: 'Europe/Brussels',
        concurrency: 2,
        retries: 0,
      },
      CLI_ACTOR,
    );
    await fx.mod.links.linkMany(
      Array.from({ length: per }, (_, i) => ({
        serviceId: k * per + i + 1,
        clientId: 7,
        masterId: k + 1,
        serverRef: String(1000 + k * 10000 + i),
      })),
      CLI_ACTOR,
    );
  }
  const env = {
    OVERUSAGE_DATA_DIR: dir,
    OVERUSAGE_LOG_LEVEL: 'error',
    OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
    ...extraEnv,
  };
  const t0 = Date.now();
  const procs = Array.from({ length: processes }, () =>
    overusage(
      [
        '--db',
        db.url,
        '--zone',
        'Europe/Brussels',
        '--json',
        'collect',
        '--masters-at-once',
        '1',
        '--wait',
        '60',
      ],
      env,
    ),
  );
  const lives: number[] = [];
  const ends = await Promise.all(
    procs.map((p, i) => p.exited.then((e) => ((lives[i] = Date.now() - t0), e))),
  );
  const ms = Date.now() - t0;
  if (ends.some((e) => e.code !== 0))
    throw new Error(`a collector failed: ${procs.map((p) => p.stderr()).join('\n')}`);
  const samples = Number((await db.knex('mod_overusage_samples').count({ n: '*' }))[0]!.n);
  await fx.mod.close();
  await sim.close();
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
  const runs = procs.map((p, i) => ({
    run: Number((JSON.parse(p.stdout()) as { durationMs: number }).durationMs),
    life: lives[i]!,
  }));
  return { ms, samples, runs };
}

execFileSync(process.execPath, [path.join(ROOT, 'tools', 'build.mjs')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const one = await once(1);
const three = await once(3);
const viaTsx = a.tsx
  ? { one: await once(1, { OVERUSAGE_NO_BUNDLE: '1' }), three: await once(3, { OVERUSAGE_NO_BUNDLE: '1' }) }
  : null;
process.stdout.write(
  JSON.stringify({
    one: one.ms,
    three: three.ms,
    samplesOne: one.samples,
    samplesThree: three.samples,
    services: MASTERS * per,
    runsOne: one.runs,
    runsThree: three.runs,
    ...(viaTsx
      ? {
          tsxOne: viaTsx.one.ms,
          tsxThree: viaTsx.three.ms,
          tsxRunsOne: viaTsx.one.runs,
          tsxRunsThree: viaTsx.three.runs,
        }
      : {}),
  }) + '\n',
);
process.exit(0);
