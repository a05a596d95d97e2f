import { expect } from 'chai';
import { shareOut } from '../../module/services/master-share.js';

/**
 * How a collect run shares the masters with other runs (issue 22), without a database: `attempt`
 * stands for "take the master's lease and read it", answering false while another run holds it.
 * The waits are real time, like the leases; each test waits on the run's end, never on a clock,
 * and a run that never ends fails on its own short timeout.
 */
describe('sharing the masters between collect runs', function () {
  this.timeout(5000);

  /** An attempt that records each call and answers from `held` (true: another run holds it). */
  function recorder(held: (item: string, call: number) => boolean) {
    const calls: Array<[string, boolean]> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const attempt = async (item: string, last: boolean): Promise<boolean> => {
      calls.push([item, last]);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      const n = calls.filter(([i]) => i === item).length;
      return last || !held(item, n);
    };
    return { calls, attempt, maxInFlight: () => maxInFlight };
  }

  it('works every master once when none is held, at most `atOnce` at a time', async () => {
    const r = recorder(() => false);
    await shareOut(['a', 'b', 'c', 'd', 'e'], { atOnce: 2, waitMs: 0, pollMs: 50 }, r.attempt);
    expect(r.calls.map(([i]) => i).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(r.maxInFlight()).to.equal(2);
  });

  it('works them all at once when `atOnce` is not a number of masters', async () => {
    // the default is "all": 0 or NaN stand for it, never for "none"
    for (const atOnce of [0, Number.NaN]) {
      const r = recorder(() => false);
      await shareOut(['a', 'b', 'c'], { atOnce, waitMs: 0, pollMs: 50 }, r.attempt);
      expect(r.calls.length, String(atOnce)).to.equal(3);
      expect(r.maxInFlight(), String(atOnce)).to.equal(3);
    }
  });

  it('never runs more at once than there are masters, nor fewer than one', async () => {
    const many = recorder(() => false);
    await shareOut(['a', 'b'], { atOnce: 10, waitMs: 0, pollMs: 50 }, many.attempt);
    expect([many.calls.length, many.maxInFlight()]).to.deep.equal([2, 2]);
    const fraction = recorder(() => false);
    // a number below one still works one master at a time
    await shareOut(['a', 'b'], { atOnce: -3, waitMs: 0, pollMs: 50 }, fraction.attempt);
    expect([fraction.calls.length, fraction.maxInFlight()]).to.deep.equal([2, 1]);
  });

  it('tries a held master once, as the last try, when it is told not to wait', async () => {
    const r = recorder((item) => item === 'b');
    await shareOut(['a', 'b'], { atOnce: 1, waitMs: 0, pollMs: 50 }, r.attempt);
    expect(r.calls).to.deep.equal([
      ['a', true],
      ['b', true],
    ]);
  });

  it('tries a held master again until the other run lets it go, and stops trying then', async () => {
    // held for its first two tries, free at the third: three tries, none of them the last
    const r = recorder((item, n) => item === 'b' && n < 3);
    await shareOut(['a', 'b'], { atOnce: 1, waitMs: 60_000, pollMs: 20 }, r.attempt);
    expect(r.calls).to.deep.equal([
      ['a', false],
      ['b', false],
      ['b', false],
      ['b', false],
    ]);
  });

  it('works the free masters while a held one waits for its next try', async () => {
    // one at a time: 'a' is held once; 'b' and 'c' are worked before 'a' is tried again
    const r = recorder((item, n) => item === 'a' && n < 2);
    await shareOut(['a', 'b', 'c'], { atOnce: 1, waitMs: 60_000, pollMs: 20 }, r.attempt);
    expect(r.calls.map(([i]) => i)).to.deep.equal(['a', 'b', 'c', 'a']);
  });

  it('gives a master held all along a last try when the wait is over, and tries it every poll before', async () => {
    // held for good; waited on for 1 s, tried every 100 ms: the first try at once, then every
    // 100 ms while the wait lasts (at most 10 more), the last one at the end of the wait. A
    // loaded machine tries less often, never more; at least one try comes between the two.
    const r = recorder(() => true);
    await shareOut(['a'], { atOnce: 1, waitMs: 1000, pollMs: 100 }, r.attempt);
    const lasts = r.calls.map(([, last]) => last);
    expect(lasts[0]).to.equal(false);
    expect(lasts[lasts.length - 1]).to.equal(true);
    expect(lasts.filter((l) => l)).to.have.length(1);
    expect(lasts.length).to.be.within(3, 12);
  });
});

/**
 * The waits themselves, on a wall clock of the test's own: Date.now and setTimeout stand in for
 * the real ones while shareOut runs (setImmediate stays real, so the attempts' own turns go on).
 * A timer that is due fires at its time and nothing else moves the clock, so every try happens
 * at a time known in advance and every wait asked for is kept.
 */
describe('sharing the masters: when a held master is tried again', function () {
  const START = 1_700_000_000_000;

  async function onOwnClock(run: (advance: (ms: number) => void, at: () => number) => Promise<void>) {
    const realNow = Date.now;
    const realSetTimeout = globalThis.setTimeout;
    let now = START;
    const timers: Array<{ at: number; fire: () => void }> = [];
    const waits: number[] = [];
    Date.now = () => now;
    globalThis.setTimeout = ((fire: () => void, ms?: number) => {
      // as Node: a delay that is not a number from 1 to 2^31 − 1 ms is 1 ms
      const d = ms !== undefined && ms >= 1 && ms <= 2 ** 31 - 1 ? ms : 1;
      waits.push(d);
      timers.push({ at: now + d, fire });
      return 0;
    }) as unknown as typeof setTimeout;
    try {
      let settled = false;
      const done = run(
        (ms) => void (now += ms),
        () => now - START,
      ).finally(() => void (settled = true));
      while (!settled) {
        await new Promise((r) => setImmediate(r));
        const next = timers.sort((a, b) => a.at - b.at).shift();
        if (!next || settled) continue;
        now = Math.max(now, next.at);
        next.fire();
      }
      await done;
      return waits;
    } finally {
      Date.now = realNow;
      globalThis.setTimeout = realSetTimeout;
    }
  }

  it('tries a held master again when its turn comes, waiting once for the soonest turn', async () => {
    const calls: Array<[string, number, boolean]> = [];
    const waits = await onOwnClock(async (advance, at) => {
      const tries = new Map<string, number>();
      await shareOut(['a', 'b'], { atOnce: 1, waitMs: 1000, pollMs: 100 }, async (item, last) => {
        calls.push([item, at(), last]);
        const n = (tries.get(item) ?? 0) + 1;
        tries.set(item, n);
        advance(30); // each try takes 30 ms
        await new Promise((r) => setImmediate(r));
        // a is held at its first try, b at its first two
        return last || n > (item === 'a' ? 1 : 2);
      });
    });
    // a tried at 0 (held: again at 30 + 100 = 130), b at 30 (held: again at 160). Nothing is due
    // at 60: one wait of 70 ms, to a's turn; a is free then (done at 160), b is due and tried at
    // once (held: again at 190 + 100 = 290); one wait of 100 ms to 290, where b is free.
    expect(calls).to.deep.equal([
      ['a', 0, false],
      ['b', 30, false],
      ['a', 130, false],
      ['b', 160, false],
      ['b', 290, false],
    ]);
    expect(waits).to.deep.equal([70, 100]);
  });
});
