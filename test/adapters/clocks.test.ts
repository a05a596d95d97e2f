import { expect } from 'chai';
import { DateTime } from 'luxon';
import { systemClock } from '../../module/adapters/clocks.js';

describe('the system clock', () => {
  it('gives the current instant in UTC, as DateTime.utc() does: same zone, locale and milliseconds', () => {
    const before = Date.now();
    const now = systemClock.now();
    const after = Date.now();
    expect(now.toMillis()).to.be.within(before, after);
    const utc = DateTime.utc();
    expect([now.zoneName, now.isOffsetFixed, now.offset, now.locale]).to.deep.equal([
      utc.zoneName,
      utc.isOffsetFixed,
      utc.offset,
      utc.locale,
    ]);
    // 15:00:00.123 UTC written as the stores write it
    const at = DateTime.fromMillis(Date.UTC(2013, 5, 2, 15, 0, 0, 123), { zone: now.zone });
    expect(at.equals(DateTime.utc(2013, 6, 2, 15, 0, 0, 123))).to.equal(true);
  });
});
