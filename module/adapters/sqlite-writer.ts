import { Worker } from 'node:worker_threads';
import { DateTime } from 'luxon';
import type { BatchOutcome, MeteringStore, ReadFailure, ReadResult } from './metering-store.js';

/**
 * Metering writes on SQLite, moved to a thread of their own. better-sqlite3 is synchronous: on the
 * main thread every batch froze the event loop while SolusVM answers queued up, and the run fell
 * below the rate the masters allow. The thread opens its own connection to the same file (WAL lets
 * the main thread keep reading) and runs the very same store code.
 */

type MsgBody =
  | {
      op: 'writeBatch';
      runId: number;
      batches: Array<{ masterId: number; results: unknown[] }>;
      atMs: number;
    }
  | { op: 'recordFailures'; runId: number; failures: unknown[] };

// DateTimes do not survive the copy between threads; instants travel as epoch milliseconds.
const pack = (r: ReadResult) => ({
  ...r,
  sampledAt: r.sampledAt.toMillis(),
  service: {
    ...r.service,
    last: r.service.last ? { ...r.service.last, sampledAt: r.service.last.sampledAt.toMillis() } : null,
  },
});

export function unpackResult(r: ReturnType<typeof pack>): ReadResult {
  const utc = (ms: number) => DateTime.fromMillis(ms, { zone: 'utc' });
  return {
    ...r,
    sampledAt: utc(r.sampledAt),
    service: {
      ...r.service,
      last: r.service.last ? { ...r.service.last, sampledAt: utc(r.service.last.sampledAt) } : null,
    },
  };
}

export function unpackFailure(f: ReadFailure & { attemptedAt: unknown }): ReadFailure {
  return { ...f, attemptedAt: DateTime.fromMillis(f.attemptedAt as unknown as number, { zone: 'utc' }) };
}

export interface ThreadedStore extends MeteringStore {
  close(): Promise<void>;
}

/** Wraps a store so that its writes run in a worker thread on `databaseUrl`. */
export function createThreadedMeteringStore(base: MeteringStore, databaseUrl: string): ThreadedStore {
  let worker: Worker | null = null;
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  function start(): Worker {
    const entry = new URL('./sqlite-writer-worker.ts', import.meta.url).href;
    // An eval worker does not inherit `--import tsx`, so it always registers tsx itself.
    const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
    const w = new Worker(boot, {
      eval: true,
      workerData: { databaseUrl },
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 },
    });
    w.on(
      'message',
      (m: {
        id: number;
        ok: boolean;
        value?: unknown;
        error?: { message: string; code?: string; errno?: number };
      }) => {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else
          p.reject(
            Object.assign(new Error(m.error!.message), { code: m.error!.code, errno: m.error!.errno }),
          );
      },
    );
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      worker = null;
      if (pending.size) failAll(new Error(`the SQLite writer thread stopped (exit ${code})`));
    });
    w.unref();
    return w;
  }

  function failAll(err: Error) {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }

  function send<T>(msg: MsgBody): Promise<T> {
    worker ??= start();
    worker.ref();
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, {
        resolve: (v) => {
          if (pending.size === 0) worker?.unref();
          resolve(v as T);
        },
        reject,
      });
      worker!.postMessage({ ...msg, id });
    });
  }

  return {
    ...base,
    writeBatch: (runId, batches, at) =>
      send<BatchOutcome>({
        op: 'writeBatch',
        runId,
        batches: batches.map((b) => ({ masterId: b.masterId, results: b.results.map(pack) })),
        atMs: at.toMillis(),
      }),
    recordFailures: (runId, failures) =>
      send({
        op: 'recordFailures',
        runId,
        failures: failures.map((f) => ({ ...f, attemptedAt: f.attemptedAt.toMillis() })),
      }),
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
