import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '..');

/** One figure, as written to bench/results.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** what the value is compared with, measured or computed in the same run */
  baseline: number | null;
  ratio: number | null;
  /** the goal, in words, e.g. ">= 0.85" */
  goal: string;
  engine: 'sqlite' | 'mysql' | null;
  notes?: string;
}

export interface SimProcess {
  child: ChildProcess;
  info: {
    control: string;
    masters: Array<{
      name: string;
      version: 1 | 2;
      url: string;
      credentials: Record<string, string>;
      fingerprint256: string | null;
    }>;
  };
  stop(): Promise<void>;
}

/** Starts the SolusVM simulator in a process of its own, so it never competes for our event loop. */
export async function startSimulatorProcess(config: unknown): Promise<SimProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bench-sim-'));
  const file = path.join(dir, 'sim.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'simulator/main.ts'), '--config', file],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return {
    child,
    info: JSON.parse(line),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Samples resident memory while `work` runs and returns its peak (bytes). */
export async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peakRss: number; peakHeap: number }> {
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }, 25);
  try {
    const result = await work();
    return { result, peakRss, peakHeap };
  } finally {
    clearInterval(timer);
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
  }
}

export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const idx = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, idx)]!;
}
