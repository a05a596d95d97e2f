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
