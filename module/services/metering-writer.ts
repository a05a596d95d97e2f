import { DatabaseGoneError } from '../adapters/db-errors.js';
import type { BatchOutcome, SampleBatch } from '../adapters/metering-store.js';

export interface GroupWriterOptions {
  /** the most reads one transaction takes; a single batch larger than this goes in alone */
  groupSize: number;
  /** the run's one writer chain (failure records go through it too) */
  serial: <T>(work: () => Promise<T>) => Promise<T>;
  write: (batches: SampleBatch[]) => Promise<BatchOutcome>;
  /** the run's counts, once per transaction that went in */
  counted: (out: BatchOutcome) => void;
}

interface Waiting {
  batch: SampleBatch;
  resolve: (stored: number) => void;
  reject: (err: unknown) => void;
}

/**
 * The run's writer of samples. Each master hands it one batch at a time; while a transaction is
 * under way the others' batches wait, and the next transaction takes all that wait (up to
 * `groupSize` reads). Forty masters' batches go in as a few large writes, not forty small ones, so
 * a master's batches can be small (its memory is the run's divided among the masters) without
 * multiplying the statements. A group that fails is written again a batch at a time, so one
 * master's bad batch fails that master alone, as when each master wrote its own; a database that
 * is gone fails them all at once.
 */
export function createGroupWriter(opts: GroupWriterOptions): { write(batch: SampleBatch): Promise<number> } {
  const waiting: Waiting[] = [];
  let draining = false;

  const take = (): Waiting[] => {
    const group = [waiting.shift()!];
    let reads = group[0]!.batch.results.length;
    while (waiting.length && reads + waiting[0]!.batch.results.length <= opts.groupSize) {
      reads += waiting[0]!.batch.results.length;
      group.push(waiting.shift()!);
    }
    return group;
  };

  const writeGroup = async (group: Waiting[]): Promise<void> => {
    try {
      const out = await opts.serial(() => opts.write(group.map((g) => g.batch)));
      opts.counted(out);
      group.forEach((g, i) => g.resolve(out.storedByBatch[i] ?? 0));
    } catch (err) {
      if (group.length === 1 || err instanceof DatabaseGoneError) {
        for (const g of group) g.reject(err);
        return;
      }
      for (const g of group) await writeGroup([g]);
    }
  };

  const drain = async (): Promise<void> => {
    draining = true;
    try {
      while (waiting.length) await writeGroup(take());
    } finally {
      draining = false;
    }
  };

  return {
    write: (batch) =>
      new Promise<number>((resolve, reject) => {
        waiting.push({ batch, resolve, reject });
        if (!draining) void drain();
      }),
  };
}
