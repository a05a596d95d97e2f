/**
 * `npm run bench`: every benchmark of the project, each figure printed as a ratio against a
 * baseline measured (or, where the issue defines it so, computed) in the same run, and written to
 * bench/results.json. Options: --only <name,...> (metering, rating, invoice_hook, widget, dispute_list, collectors),
 * --engines sqlite,mysql, --services N, --rounds N (rating), and --scale 1m: the issue 22 figures at
 * 1 000 000 services (and dispute lines), named `<benchmark>_1m.*`, against the issue's 1m goals.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkMysql } from '../test/support/engines.js';
import { ROOT, round, type BenchResult } from './support.js';
import { sizeInnodbPool } from './innodb-pool.js';
import { mergeResults, resultsFileText, stamp, type StampedResult } from './results-file.js';

const args = parseArgs({
  options: {
    only: { type: 'string' },
    engines: { type: 'string', default: 'sqlite,mysql' },
    services: { type: 'string' },
    scale: { type: 'string' },
    rounds: { type: 'string' },
    'innodb-pool-mb': { type: 'string' },
  },
}).values;

if (args.scale !== undefined && args.scale !== '1m') throw new Error(`--scale takes 1m, not ${args.scale}`);
const big = args.scale === '1m';
// at 1m the figures are their own (metering_1m.*), with the issue's goals for that size
const sfx = big ? '_1m' : '';
args.services ??= big ? '1000000' : '100000';
const rounds = args.rounds ?? (big ? '1' : '3');
const goals = big
  ? { metering: 0.92, rating: 1.3, invoiceRatio: 2.0 }
  : { metering: 0.85, rating: 1.5, invoiceRatio: null };

const only = args.only ? new Set(args.only.split(',')) : null;
const wanted = (name: string) => !only || only.has(name);
let engines = args.engines!.split(',') as Array<'sqlite' | 'mysql'>;
if (engines.includes('mysql')) {
  const reason = await checkMysql();
  if (reason) {
    process.stderr.write(`MariaDB/MySQL unreachable (${reason}); benchmarking SQLite only\n`);
    engines = engines.filter((e) => e !== 'mysql');
  }
}

// A provider with a million VPSs gives MariaDB more than Debian's 128 MB of InnoDB buffer pool:
// at 31 000 000 daily rows every benchmark on the default measured the disk, not the add-on. At
// --scale 1m the pool is raised for the run (4 096 MB unless --innodb-pool-mb says otherwise) and
// put back after; every MariaDB figure's notes say so.
const pool = engines.includes('mysql')
  ? await sizeInnodbPool(big ? Number(args['innodb-pool-mb'] ?? 4096) : null)
  : null;

const results: StampedResult[] = [];
/** a figure, stamped with when its benchmark ended and the machine's load then */
const record = (r: BenchResult) =>
  results.push(
    stamp(
      r.engine === 'mysql' && pool?.note
        ? { ...r, notes: r.notes ? `${r.notes}; ${pool.note}` : pool.note }
        : r,
      new Date(),
      os.loadavg(),
      os.cpus().length,
    ),
  );

/** What a metering run did and what its ideal rests on, in words. */
function meteringNotes(r: Record<string, number | string>): string {
  return (
    `${r.services} services on ${r.masters} masters, ${r.concurrency} calls at once each, in ${round(Number(r.seconds), 2)} s; ` +
    `the masters answered in ${round(Number(r.meanLatencyMs), 2)} ms on average (${r.latencyMs} ms configured: a Node timer ` +
    `never fires early and often a little late), so the ideal is ${round(Number(r.services) / Number(r.measuredIdealRate), 2)} s; ` +
    `${r.readOk} read, ${r.failed} failed, ${r.storedSamples} samples stored`
  );
}

function runWorker(script: string, argv: string[]): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--expose-gc', path.join(ROOT, script), ...argv],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${script} printed no result: ${last}`));
      }
    });
  });
}

/** One metering shape's figures: the rate against the ideal, and what its reads cost. */
interface MeteringShape {
  masters: number;
  latencyMs: number;
  /** the figures' name after `metering${sfx}.` */
  name: string;
  goal: string;
}

function recordMetering(
  engine: 'sqlite' | 'mysql',
  shape: MeteringShape,
  r: Record<string, number | string>,
) {
  const rate = Number(r.rate);
  record({
    name: `metering${sfx}.${shape.name}`,
    value: round(rate, 1),
    unit: 'services/s',
    baseline: round(Number(r.measuredIdealRate), 1),
    ratio: round(rate / Number(r.measuredIdealRate)),
    goal: shape.goal,
    engine,
    notes:
      `${meteringNotes(r)}; the same reads with no storage at all reached ` +
      `${round(Number(r.baselineRate) / Number(r.measuredIdealRate))} of this ideal in this run; ` +
      `the collect's peak RSS ${round(Number(r.peakRssMB), 1)} MB`,
  });
}

/** The figures of the 4-master, 10 ms shape beyond its rate (informative, and the 100k default's). */
function recordMeteringDetail(engine: 'sqlite' | 'mysql', r: Record<string, number | string>) {
  const rate = Number(r.rate);
  const against = (name: string, baseline: number, goal: string) =>
    record({
      name: `metering${sfx}.${name}`,
      value: round(rate, 1),
      unit: 'services/s',
      baseline: round(baseline, 1),
      ratio: round(rate / baseline),
      goal,
      engine,
    });
  against(
    'rate_vs_configured_10ms',
    Number(r.idealRate),
    'informative: ideal from the configured 10 ms, which the simulated masters cannot beat',
  );
  against(
    'rate_vs_bare_http',
    Number(r.baselineRate),
    'informative: the same reads with no storage, measured in this run',
  );
  record({
    name: `metering${sfx}.collect_cpu_per_service`,
    value: round(Number(r.collectCpuUsPerService), 1),
    unit: 'µs',
    baseline: round(Number(r.baselineCpuUs), 1),
    ratio: round(Number(r.collectCpuUsPerService) / Number(r.baselineCpuUs)),
    goal: 'informative: CPU time, which a shared machine does not skew as it does seconds',
    engine,
    notes:
      'user + system CPU of the `overusage collect` process (process.cpuUsage, start-up included) a service, ' +
      'against the CPU a bare read took in this run (the clients and the transport, nothing stored)',
  });
}

// Two shapes, the same ideal rate (4 × 8 calls ÷ 10 ms = 40 × 8 ÷ 100 ms = 3 200 reads a second),
// so the same work a second for this machine. Four masters answering in 10 ms: at that latency a
// call's own cost on this machine's two cores (the simulated masters share them with the collector
// and the database) is a large part of the ideal, and at 1m the same reads with no storage at all
// reach only ~0.82–0.86 of it (two quiet runs, f234f7a and bd85930): the transport's ceiling here,
// not the collector's. The issue's large provider instead spreads a million VPSs over dozens of
// masters, each answering as a SolusVM master does over a network (a v1 read goes from the master
// to the node; the reference says calls are slow): 40 masters at 100 ms. At 1m that is the shape
// the issue's figure and goal are read on; the 4 × 10 ms figure stays beside it, informative. At
// 100k the 4 × 10 ms figure keeps its own goal (0.85) as before.
const FEW: Omit<MeteringShape, 'name' | 'goal'> = { masters: 4, latencyMs: 10 };
const MANY: Omit<MeteringShape, 'name' | 'goal'> = { masters: 40, latencyMs: 100 };
const idealGoal = (s: Omit<MeteringShape, 'name' | 'goal'>) =>
  `>= ${goals.metering} (ideal = services × master latency ÷ (${s.masters} masters × 8 calls))`;
const meteringShapes: MeteringShape[] = big
  ? [
      { ...MANY, name: 'rate_vs_ideal', goal: idealGoal(MANY) },
      {
        ...FEW,
        name: 'rate_vs_ideal_4_masters',
        goal: 'informative: 4 masters at 10 ms, where bare reads with no storage reach ~0.85 of the ideal on this machine',
      },
    ]
  : [
      { ...FEW, name: 'rate_vs_ideal', goal: idealGoal(FEW) },
      { ...MANY, name: 'rate_vs_ideal_40_masters', goal: idealGoal(MANY) },
    ];

if (wanted('metering')) {
  for (const engine of engines) {
    let peak = { mb: 0, shape: '' };
    for (const shape of meteringShapes) {
      process.stderr.write(
        `metering ${args.services} services on ${shape.masters} masters (${shape.latencyMs} ms a call) on ${engine} …\n`,
      );
      const r = await runWorker('bench/metering-worker.ts', [
        '--engine',
        engine,
        '--services',
        args.services!,
        '--masters',
        String(shape.masters),
        '--latency',
        String(shape.latencyMs),
      ]);
      recordMetering(engine, shape, r);
      if (shape.masters === FEW.masters) recordMeteringDetail(engine, r);
      if (Number(r.peakRssMB) > peak.mb)
        peak = { mb: Number(r.peakRssMB), shape: `${shape.masters} masters` };
    }
    record({
      name: `metering${sfx}.peak_rss`,
      value: round(peak.mb, 1),
      unit: 'MB',
      baseline: 300,
      ratio: round(peak.mb / 300),
      goal: '< 300 MB (ratio < 1)',
      engine,
      notes: `peak resident memory (VmHWM) of the \`overusage collect\` process, all threads: the higher of the two shapes (${peak.shape})`,
    });
  }
}

if (wanted('rating')) {
  for (const engine of engines) {
    process.stderr.write(`rating: closing and rating ${args.services} services × 31 days on ${engine} …\n`);
    const r = await runWorker('bench/rating-worker.ts', [
      '--engine',
      engine,
      '--services',
      args.services!,
      '--rounds',
      rounds,
    ]);
    const rating = Number(r.rating);
    const baseline = Number(r.baseline);
    const runs = (k: string) => (r[k] as unknown as number[]).map((v) => round(v, 2)).join(', ');
    record({
      name: `rating${sfx}.close_and_rate_vs_sql`,
      value: round(rating, 2),
      unit: 's',
      baseline: round(baseline, 2),
      ratio: round(rating / baseline),
      goal: `<= ${goals.rating} on MariaDB (baseline = SUM(bytes) GROUP BY period_id over the same rows + a bulk insert of as many charge rows)`,
      engine,
      notes:
        `rateClosedPeriods() over ${r.services} closed periods and ${r.intervals} daily rows (seeded in bulk in ${round(Number(r.seedSeconds), 0)} s), best of ${runs('ratingRuns')} s; ` +
        `baseline best of aggregate ${runs('aggRuns')} s + bulk insert ${runs('insertRuns')} s; charges ${JSON.stringify(r.statuses)}; ` +
        `the rating's Node thread used ${runs('nodeCpuRuns')} s of CPU, of which garbage collection ${runs('gcRuns')} s; RSS at the rating's start and highest during it ${(r.rssRuns as unknown as number[][]).map(([a, b]) => `${a} → ${b}`).join(', ')} MB (the worker's peak, seed and baseline included, ${r.maxRssMb} MB)`,
    });
  }
}

if (wanted('invoice_hook')) {
  for (const engine of engines) {
    process.stderr.write(
      `invoice_hook: InvoiceCreation deliveries with ${args.services} services on ${engine} …\n`,
    );
    const r = await runWorker('bench/invoice-hook-worker.ts', [
      '--engine',
      engine,
      '--services',
      args.services!,
    ]);
    const hook = r.hook as unknown as Record<string, number>;
    const rating = r.hookRating as unknown as Record<string, number> | null;
    const bare = r.bare as unknown as Record<string, number>;
    const notes =
      `the panel's cron order: PreCronJob rated the closed periods (${round(Number(r.preCronSeconds), 1)} s), then ` +
      `${r.deliveries} deliveries (after ${r.warmup} untimed), each adding one line through the in-process panel API; mean ${round(hook.mean!, 2)} ms, max ${round(hook.max!, 2)} ms; ` +
      (rating
        ? `the ${r.rateOnDelivery} that rated the period too: p50 ${round(rating.p50!, 2)} ms, p99 ${round(rating.p99!, 2)} ms; `
        : '') +
      `baseline = bare UpdateInvoice adding one line, mean ${round(bare.mean!, 2)} ms, max ${round(bare.max!, 2)} ms; ` +
      `${round(Number(r.statementsPerDelivery), 1)} SQL statements per delivery, ${round(Number(r.statementsPerBare), 1)} per bare call` +
      (engine === 'mysql'
        ? `; InnoDB read ${round(Number(r.diskReadsPerDelivery), 1)} pages from disk per delivery and baseline call (server-wide)`
        : '');
    if (big) {
      record({
        name: 'invoice_creation_1m.p99_vs_bare',
        value: round(hook.p99!, 2),
        unit: 'ms',
        baseline: round(bare.p99!, 2),
        ratio: round(hook.p99! / bare.p99!),
        goal: `<= ${goals.invoiceRatio} (ratio): the hook's p99 over the bare UpdateInvoice's p99, same run`,
        engine,
        notes: `p50 ${round(hook.p50!, 2)} ms against the bare call's ${round(bare.p50!, 2)} ms; ${notes}`,
      });
      recordFallback(r, engine, '_1m');
      continue;
    }
    recordFallback(r, engine, '');
    for (const p of ['p50', 'p99'] as const) {
      record({
        name: `invoice_creation.${p}`,
        value: round(hook[p]!, 2),
        unit: 'ms',
        baseline: round(bare[p]!, 2),
        ratio: round(hook[p]! / bare[p]!),
        goal:
          p === 'p99'
            ? '<= 25 ms (value); the ratio shows the hook against the bare UpdateInvoice it must make'
            : 'informative',
        engine,
        ...(p === 'p99' ? { notes } : {}),
      });
    }
  }
}

/** The deliveries that rated their period themselves (PreCronJob had not), against their own bare calls. */
function recordFallback(r: Record<string, unknown>, engine: BenchResult['engine'], sfx: string) {
  const fb = r.fallback as Record<string, number> | null;
  const bare = r.fallbackBare as Record<string, number> | null;
  if (!fb || !bare) return;
  record({
    name: `invoice_creation${sfx}.fallback_p99_vs_bare`,
    value: round(fb.p99!, 2),
    unit: 'ms',
    baseline: round(bare.p99!, 2),
    ratio: round(fb.p99! / bare.p99!),
    goal: 'informative: deliveries that rate their period themselves (PreCronJob failed or had not run), each with a bare UpdateInvoice',
    engine,
    notes: `p50 ${round(fb.p50!, 2)} ms against the bare call's ${round(bare.p50!, 2)} ms; ${round(Number(r.statementsPerFallback), 1)} SQL statements per delivery`,
  });
}

// The web benchmarks (bench/web-worker.ts): the server in the worker, the load from autocannon in
// a process of its own.
type WebLoad = { p50: number; p99: number; rps: number; non2xx: number; errors: number };
const webLoad = (r: Record<string, unknown>, k: string) => r[k] as WebLoad;
if (wanted('widget')) {
  for (const engine of engines) {
    process.stderr.write(`widget: a VPS with 400 days of history under 50 connections on ${engine} …\n`);
    const r = await runWorker('bench/web-worker.ts', [
      '--engine',
      engine,
      '--scenario',
      'widget',
      '--connections',
      '50',
    ]);
    const [w, bare, uncached, serial] = [
      webLoad(r, 'widget'),
      webLoad(r, 'bare'),
      webLoad(r, 'uncached'),
      webLoad(r, 'uncachedSerial'),
    ];
    const notes =
      `${r.bytes} bytes a page; ${r.samples} samples, ${r.periods} periods, ${r.lines} lines; ${r.duration} s per measure after 2 s of warm-up; ` +
      `widget p50 ${w.p50} ms, ${w.non2xx + w.errors} failed; bare route p50 ${bare.p50} ms p99 ${bare.p99} ms (no ETag computed, the bytes kept as a Buffer); ` +
      `the page is kept for 15 s (it changes once a day) — built on every request: ${round(uncached.rps, 0)} req/s, p99 ${uncached.p99} ms under 50 connections, one at a time p50 ${round(serial.p50, 2)} ms p99 ${round(serial.p99, 2)} ms`;
    record({
      name: 'widget.p99',
      value: w.p99,
      unit: 'ms',
      baseline: bare.p99,
      ratio: round(w.p99 / bare.p99),
      goal: '<= 20 ms (value), 50 connections; baseline = the bare route’s p99',
      engine,
      notes,
    });
    record({
      name: 'widget.throughput_vs_bare',
      value: round(w.rps, 0),
      unit: 'req/s',
      baseline: round(bare.rps, 0),
      ratio: round(w.rps / bare.rps),
      goal: '>= 0.4 (bare express route serving the same bytes)',
      engine,
    });
    record({
      name: 'widget.uncached_vs_bare',
      value: round(uncached.rps, 0),
      unit: 'req/s',
      baseline: round(bare.rps, 0),
      ratio: round(uncached.rps / bare.rps),
      goal: 'informative: the page built on every request (cache off)',
      engine,
    });
  }
}

if (wanted('dispute_list')) {
  for (const engine of engines) {
    const lineCount = big ? '1000000' : '100000';
    process.stderr.write(`dispute_list: the admin's dispute queue over ${lineCount} lines on ${engine} …\n`);
    const r = await runWorker('bench/web-worker.ts', [
      '--engine',
      engine,
      '--scenario',
      'dispute_list',
      '--lines',
      lineCount,
      '--connections',
      '10',
    ]);
    const [first, deep, json, jsonDeep, lines, single] = [
      'html',
      'htmlDeep',
      'json',
      'jsonDeep',
      'linesList',
      'single',
    ].map((k) => webLoad(r, k)) as [WebLoad, WebLoad, WebLoad, WebLoad, WebLoad, WebLoad];
    const worst = Math.max(first.p99, deep.p99);
    record({
      name: `dispute_list${sfx}.p99`,
      value: worst,
      unit: 'ms',
      baseline: 50,
      ratio: round(worst / 50),
      goal: '<= 50 ms (ratio <= 1): the HTML queue page, 10 connections',
      engine,
      notes:
        `${r.lines} lines, ${r.disputes} disputes, ${r.open} open; HTML page (admin tab, 50 rows): first page p99 ${first.p99} ms (${round(first.rps, 0)} req/s), ` +
        `a page half way down the open queue p99 ${deep.p99} ms (${round(deep.rps, 0)} req/s), one request at a time p50 ${round(single.p50, 2)} ms p99 ${round(single.p99, 2)} ms; ` +
        `JSON: first p99 ${json.p99} ms, deep p99 ${jsonDeep.p99} ms; lines filtered by status p99 ${lines.p99} ms; ${first.non2xx + deep.non2xx + json.non2xx + first.errors + deep.errors} failed`,
    });
  }
}

if (wanted('collectors') && engines.includes('mysql')) {
  process.stderr.write(
    'collectors: one collect process against three sharing 6 latency-bound masters, on mysql …\n',
  );
  const r = await runWorker('bench/collectors-worker.ts', ['--per', '500', '--tsx']);
  const speedup = Number(r.one) / Number(r.three);
  const runs = (k: string) =>
    (r[k] as unknown as Array<{ run: number; life: number }>).map((p) => `${p.run} of ${p.life}`).join(', ');
  record({
    name: 'collectors.scaling',
    value: round(speedup, 2),
    unit: 'x one process',
    baseline: Number(r.one),
    ratio: round(speedup, 2),
    goal: '>= 2.4 (3 processes against one, same run)',
    engine: 'mysql',
    notes:
      `${r.services} services on 6 masters (20 ms a call, 2 calls at once each), every process --masters-at-once 1, the command as built (npm run build): ` +
      `one process ${r.one} ms (${r.samplesOne} samples), three ${r.three} ms (${r.samplesThree} samples); ms collecting of each process's life: one ${runs('runsOne')}, three ${runs('runsThree')}; ` +
      `the same through tsx (no build): one ${r.tsxOne} ms, three ${r.tsxThree} ms = ${round(Number(r.tsxOne) / Number(r.tsxThree), 2)}x (collecting of life: one ${runs('tsxRunsOne')}, three ${runs('tsxRunsThree')})`,
  });
}

const file = path.join(ROOT, 'bench', 'results.json');
// Keep figures of benchmarks not run this time (with their own times); replace the ones that were.
let previous: unknown = null;
try {
  previous = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch {
  previous = null;
}
fs.writeFileSync(file, resultsFileText(mergeResults(previous, results), process.version));
await pool?.restore();

const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(
  `\n${pad('figure', 30)} ${pad('engine', 7)} ${pad('value', 22)} ${pad('baseline', 18)} ${pad('ratio', 7)} goal\n`,
);
for (const r of results) {
  process.stdout.write(
    `${pad(r.name, 30)} ${pad(r.engine ?? '-', 7)} ${pad(`${r.value} ${r.unit}`, 22)} ${pad(r.baseline === null ? '-' : String(r.baseline), 18)} ${pad(r.ratio === null ? '-' : String(r.ratio), 7)} ${r.goal}\n`,
  );
  if (r.notes) process.stdout.write(`  ${r.notes}\n`);
  process.stdout.write(`  measured ${r.measuredAt}, load ${r.load?.avg1} on ${r.load?.cores} cores\n`);
}
process.stdout.write(`\nwritten to ${path.relative(process.cwd(), file)}\n`);
