import cliProgress from 'cli-progress';
import type { CollectProgress } from '../module/services/metering.js';

/** A progress bar on the terminal (stderr) for long runs; nothing when output is not a terminal. */
export function createProgress() {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'collect [{bar}] {percentage}% | {value}/{total} services | {failed} failed | {master}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 200,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let last = 0;
  return {
    update(p: CollectProgress) {
      if (!started) {
        bar.start(p.total, 0, { failed: 0, master: p.master });
        started = true;
      }
      // redraw at most every 100 ms: 100 000 updates must not cost more than the reads
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      bar.setTotal(p.total);
      bar.update(p.done, { failed: p.failed, master: p.master });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
