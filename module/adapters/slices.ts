import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * How long a batch's work may hold the event loop before it lets it turn. A metering batch (500
 * services) built its rows and statements in stretches of 5–50 ms while up to 32 reads waited for
 * their answers to be picked up: each stretch added its length to the calls it caught. Scheduling
 * time, not business time: the wall clock, never the module's clock.
 */
export const SLICE_MS = 1;

/** Tells work done in a loop when its slice is spent: `due()` then awaits the next turn of the event loop. */
export interface Slicer {
  /** true when the current slice has run SLICE_MS or more (checked every 16 calls: reading the time is not free) */
  due(): boolean;
  /** lets the event loop turn (I/O callbacks first), then starts a new slice */
  next(): Promise<void>;
}

export function createSlicer(sliceMs = SLICE_MS): Slicer {
  let start = performance.now();
  let calls = 0;
  return {
    due: () => (++calls & 15) === 0 && performance.now() - start >= sliceMs,
    async next() {
      await nextTurn();
      start = performance.now();
    },
  };
}

/** items.map(fn), letting the event loop turn whenever a slice is spent; the same values in the same order. */
export async function mapInSlices<T, U>(
  items: readonly T[],
  fn: (item: T, index: number) => U,
  slicer: Slicer = createSlicer(),
): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if (slicer.due()) await slicer.next();
  }
  return out;
}
