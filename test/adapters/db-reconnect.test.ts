import { expect } from 'chai';
import { DatabaseGoneError, withReconnect } from '../../module/adapters/db-errors.js';

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

describe('riding out a database that is away', () => {
  it('counts the time attempts spend waiting against the pauses, so waits cannot add up', async () => {
    // Pauses 100 + 200 + 400 ms: a budget of 700 ms from the first failure. Each attempt waits
    // 300 ms itself (a busy timeout), on this test's clock, and so does each pause. By hand: fails
    // at 300 (spent 0, +100 fits), pause to 400, fails at 700 (spent 400, +200 = 600 fits), pause
    // to 900, fails at 1 200 (spent 900, +400 > 700): gone after 3 attempts and 0.9 s.
    let t = 0;
    let calls = 0;
    const retried: number[] = [];
    const err = await withReconnect(
      async () => {
        calls++;
        t += 300;
        throw busy();
      },
      { delaysMs: [100, 200, 400] },
      (_e, attempt) => {
        retried.push(attempt);
        t += attempt === 1 ? 100 : 200; // the pause, on the same clock
      },
      undefined,
      () => t,
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DatabaseGoneError);
    expect(calls).to.equal(3);
    expect(retried).to.deep.equal([1, 2]);
    expect((err as DatabaseGoneError).message).to.match(
      /database is locked.*still so after 3 attempts over 0\.9 s$/,
    );
  });

  it('passes other errors at once, and returns what a later attempt gives', async () => {
    const other = await withReconnect(
      async () => {
        throw new Error('syntax error');
      },
      { delaysMs: [1] },
    ).catch((e: unknown) => (e as Error).message);
    expect(other).to.equal('syntax error');
    // on a clock that stands still, so a loaded machine's slow timers cannot use up the 3 ms budget
    // (two failures, pauses of 1 ms each, the third attempt writes)
    let n = 0;
    expect(
      await withReconnect(
        async () => (++n < 3 ? Promise.reject(busy()) : 'written'),
        { delaysMs: [1, 1, 1] },
        undefined,
        undefined,
        () => 0,
      ),
    ).to.equal('written');
    expect(n).to.equal(3);
  });
});
