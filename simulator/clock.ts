/**
 * A clock the simulator runner (and tests) can move: real time plus an offset, or frozen at an
 * instant. Counters are computed from it, so `advance` is how a demo fast-forwards a month.
 */
export interface SettableClock {
  now(): number;
  /** jump to an instant (keeps running unless frozen) */
  set(ms: number): void;
  advance(ms: number): void;
  /** run at real time + offset (unfreezes) */
  setOffset(ms: number): void;
  freeze(): void;
  unfreeze(): void;
  readonly frozen: boolean;
  readonly offsetMs: number;
}

export function createSettableClock(
  opts: { startMs?: number; frozen?: boolean; realNow?: () => number } = {},
): SettableClock {
  const real = opts.realNow ?? Date.now;
  // one reading of the real clock: two could straddle a millisecond and freeze it at startMs + 1
  const t0 = real();
  let offset = opts.startMs === undefined ? 0 : opts.startMs - t0;
  let frozenAt: number | null = opts.frozen ? t0 + offset : null;
  return {
    now: () => (frozenAt !== null ? frozenAt : real() + offset),
    set(ms) {
      if (frozenAt !== null) frozenAt = ms;
      offset = ms - real();
    },
    advance(ms) {
      if (frozenAt !== null) frozenAt += ms;
      offset += ms;
    },
    setOffset(ms) {
      offset = ms;
      frozenAt = null;
    },
    freeze() {
      if (frozenAt === null) frozenAt = real() + offset;
    },
    unfreeze() {
      if (frozenAt !== null) {
        offset = frozenAt - real();
        frozenAt = null;
      }
    },
    get frozen() {
      return frozenAt !== null;
    },
    get offsetMs() {
      return offset;
    },
  };
}
