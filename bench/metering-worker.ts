/**
 * One metering benchmark on one engine, in a process of its own so its memory is its own:
 * N services on 4 simulated masters (two SolusVM 1, two SolusVM 2) with a fixed latency, each
 * master limited to C concurrent calls. Prints one JSON line with the figures.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../module/adapters/clocks.js';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import { createLogger } from '../module/adapters/logger.js';
import { createModule } from '../module/index.js';
import { createTestDatabase } from '../test/support/engines.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startSimulatorProcess } from './support.js';

const args = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    services: { type: 'string', default: '100000' },
    masters: { type: 'string', default: '4' },
    latency: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    'baseline-share': { type: 'string', default: '0.25' },
  },
}).values;

const engine = args.engine as 'sqlite' | 'mysql';
const services = Number(args.services);
const masterCount = Number(args.masters);
const latencyMs = Number(args.latency);
const concurrency = Number(args.concurrency);
const perMaster = Math.ceil(services / masterCount);
const ZONE = 'Europe/Brussels';
const GiB = 1024n ** 3n;
const SECRET = Buffer.alloc(32, 7);

const simConfig = {
  masters: Array.from({ length: masterCount }, (_, i) => ({
    name: `bench-${i + 1}`,
    version: i % 2 === 0 ? 1 : 2,
    zone: ZONE,
    resetPolicy: 'first_of_month',
    faults: { latencyMs },
    bulk: [
      {
        count: perMaster,
        idStart: 1,
        createdAt: '2024-01-15T00:00:00Z',
        limitBytes: String(5000n * GiB),
        profiles: [1n, 7n, 40n, 180n, 260n].map((g) => ({ kind: 'constant', bytesPerDay: String(g * GiB) })),
      },
    ],
  })),
};

const sim = await startSimulatorProcess(simConfig);
const db = await createTestDatabase(engine);
try {
  const mod = createModule({
    knex: db.knex,
    clock: systemClock,
    secretKey: SECRET,
    zone: ZONE,
    gatewayFor: (s) => createSolusVmGateway(s),
    log: createLogger({ level: 'warn' }),
  });
  await mod.migrate();
  let serviceId = 1;
  const masterIds: number[] = [];
  for (const m of sim.info.masters) {
    const added = await mod.masters.add(
      {
        name: m.name,
        version: m.version,
        baseUrl: m.url,
        ...(m.version === 1
          ? { apiId: m.credentials.apiId!, apiKey: m.credentials.apiKey! }
          : { token: m.credentials.token! }),
        timeZone: ZONE,
        concurrency,
        timeoutMs: 30_000,
        retries: 1,
      },
      { type: 'cli', id: 'bench' },
    );
    masterIds.push(added.id);
    for (let off = 0; off < perMaster; off += 5000) {
      const batch = [];
      for (let i = off; i < Math.min(perMaster, off + 5000) && serviceId <= services; i++) {
        batch.push({
          serviceId: serviceId++,
          clientId: 1 + (i % 5000),
          masterId: added.id,
          serverRef: String(i + 1),
        });
      }
      await mod.links.linkMany(batch, { type: 'cli', id: 'bench' });
    }
  }

  // Baseline measured in the same run: the same calls with the same limits, no storage at all.
  const share = Number(args['baseline-share']);
  const baseCount = Math.floor(perMaster * share);
  const baseStart = process.hrtime.bigint();
  const baseCpu = process.cpuUsage();
  await Promise.all(
    masterIds.map(async (id) => {
      const gw = createSolusVmGateway(await mod.masters.settings(id));
      let next = 1;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next <= baseCount) {
            const ref = next++;
            await gw.readTraffic(String(ref));
          }
        }),
      );
      gw.close();
    }),
  );
  const baseSeconds = Number(process.hrtime.bigint() - baseStart) / 1e9;
  const baseCpuUsed = process.cpuUsage(baseCpu);
  /** this process's CPU a bare read (the clients and the transport, nothing stored) */
  const baselineCpuUs = (baseCpuUsed.user + baseCpuUsed.system) / (baseCount * masterIds.length);
  const baselineRate = (baseCount * masterIds.length) / baseSeconds;

  const control = async (pathname: string, method = 'GET') =>
    (await fetch(`${sim.info.control}${pathname}`, { method })).json();
  for (const m of sim.info.masters) await control(`/_sim/masters/${m.name}/stats/reset`, 'POST');

  // The run itself is the operator's command, `overusage collect`, in a process of its own: its
  // peak memory (VmHWM, all threads) is the figure, not this set-up process's, and so is its CPU
  // time, which it writes at exit (bench/cpu-at-exit.mjs): the machine is shared, CPU is what counts.
  const cpuFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bench-cpu-')), 'cpu.json');
  const atExit = pathToFileURL(path.join(ROOT, 'bench', 'cpu-at-exit.mjs')).href;
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', '--json', 'collect'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.BENCH_NODE_OPTIONS ?? ''} --import=${atExit}`.trim(),
      OVERUSAGE_BENCH_CPU_FILE: cpuFile,
      OVERUSAGE_DB: db.url,
      OVERUSAGE_SECRET_KEY: SECRET.toString('hex'),
      OVERUSAGE_TIME_ZONE: ZONE,
      OVERUSAGE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // the process has ended
    }
  }, 20);
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
  clearInterval(poll);
  if (code !== 0) throw new Error(`overusage collect exited with ${code}: ${out}`);
  const summary = JSON.parse(out);
  const collectCpu = JSON.parse(fs.readFileSync(cpuFile, 'utf8')) as { user: number; system: number };
  fs.rmSync(path.dirname(cpuFile), { recursive: true, force: true });
  const seconds = summary.durationMs / 1000;
  const idealSeconds = (services * latencyMs) / 1000 / (concurrency * masterCount);
  const stats = await db.knex('mod_overusage_samples').count({ n: '*' }).first();
  // What the masters actually delivered: mean time from a request's arrival to its last byte.
  let answered = 0;
  let serviceMs = 0;
  for (const m of sim.info.masters) {
    const st = (await control(`/_sim/masters/${m.name}/stats`)) as {
      answered: number;
      serviceMsTotal: number;
    };
    answered += st.answered;
    serviceMs += st.serviceMsTotal;
  }
  const meanLatencyMs = serviceMs / answered;
  const measuredIdealSeconds = (services * meanLatencyMs) / 1000 / (concurrency * masterCount);
  process.stdout.write(
    JSON.stringify({
      engine,
      services,
      masters: masterCount,
      latencyMs,
      concurrency,
      readOk: summary.readOk,
      failed: summary.failed,
      gaps: summary.gaps,
      storedSamples: Number(stats?.n ?? 0),
      seconds,
      idealSeconds,
      rate: services / seconds,
      idealRate: services / idealSeconds,
      meanLatencyMs,
      measuredIdealRate: services / measuredIdealSeconds,
      baselineRate,
      collectCpuUsPerService: (collectCpu.user + collectCpu.system) / services,
      baselineCpuUs,
      peakRssMB: peakKb / 1024,
    }) + '\n',
  );
} finally {
  await db.drop().catch(() => {});
  await sim.stop();
}
