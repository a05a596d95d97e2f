/**
 * How one collect run shares the masters with other runs (issue 22): it works on at most
 * `atOnce` masters at a time, taking the next free one when one is done, so N collectors split the
 * masters between them as they go rather than the first to start taking all. A master another run
 * holds is tried again every `pollMs` until `waitMs` has passed: when that run finishes it, the
 * retry finds nothing left to read; when it dies (its lease expires, or its process on this host is
 * gone), the retry takes the lease over and reads what it left. Real time, like the leases.
 */
export interface ShareOptions {
  atOnce: number;
  waitMs: number;
  pollMs: number;
}

/**
 * `attempt(item, last)` tries to take an item's lease and work it; it answers false when another
 * run holds it. `last` says this is the final try (the wait is over): the attempt then records the
 * item as held by another run.
 */
export async function shareOut<T>(
  items: T[],
  opts: ShareOptions,
  attempt: (item: T, last: boolean) => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + Math.max(0, opts.waitMs);
  const queue = items.map((item) => ({ item, at: 0 }));
  const worker = async (): Promise<void> => {
    while (queue.length) {
      const now = Date.now();
      const i = queue.findIndex((q) => q.at <= now);
      if (i < 0) {
        const soonest = Math.min(...queue.map((q) => q.at));
        await new Promise((r) => setTimeout(r, Math.max(1, soonest - now)));
        continue;
      }
      const [q] = queue.splice(i, 1);
      const last = Date.now() >= deadline;
      const taken = await attempt(q!.item, last);
      if (!taken && !last) queue.push({ item: q!.item, at: Math.min(deadline, Date.now() + opts.pollMs) });
    }
  };
  const n = Math.max(1, Math.min(Math.floor(opts.atOnce) || items.length, items.length));
  await Promise.all(Array.from({ length: n }, worker));
}
