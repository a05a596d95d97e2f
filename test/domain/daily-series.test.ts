import { expect } from 'chai';
import { dailySeries, splitEvenly } from '../../module/domain/daily-series.js';

describe('dailySeries: edges', () => {
  it('keeps only the days of an interval that lie in the range, with the shares they had', () => {
    // 100 bytes over 1–4 May are 25 a day; the range 3–6 May holds two of those days
    const days = dailySeries(
      [{ fromDate: '2013-05-01', toDate: '2013-05-04', bytes: 101n }],
      '2013-05-03',
      '2013-05-06',
    );
    expect(days.map((d) => [d.date, d.bytes, d.missing])).to.deep.equal([
      ['2013-05-03', 25n, false],
      ['2013-05-04', 25n, false],
      ['2013-05-05', 0n, true],
      ['2013-05-06', 0n, true],
    ]);
  });

  it('a measured zero is not a missing day', () => {
    const [day] = dailySeries(
      [{ fromDate: '2013-05-01', toDate: '2013-05-01', bytes: 0n }],
      '2013-05-01',
      '2013-05-01',
    );
    expect(day).to.deep.equal({ date: '2013-05-01', bytes: 0n, estimatedBytes: 0n, missing: false });
  });

  it('crosses month ends and DST days by calendar day', () => {
    const days = dailySeries(
      [{ fromDate: '2026-03-28', toDate: '2026-04-02', bytes: 6n * 2n ** 60n + 5n }],
      '2026-03-28',
      '2026-04-02',
    );
    expect(days.map((d) => d.date)).to.deep.equal([
      '2026-03-28',
      '2026-03-29',
      '2026-03-30',
      '2026-03-31',
      '2026-04-01',
      '2026-04-02',
    ]);
    expect(days.reduce((s, d) => s + d.bytes, 0n)).to.equal(6n * 2n ** 60n + 5n);
  });

  it('an empty or reversed range has no days; a reversed interval is refused', () => {
    expect(dailySeries([], '2013-05-02', '2013-05-01')).to.deep.equal([]);
    expect(() =>
      dailySeries([{ fromDate: '2013-05-04', toDate: '2013-05-01', bytes: 1n }], '2013-05-01', '2013-05-31'),
    ).to.throw(/must not end before it starts/);
    expect(() => splitEvenly(10n, 0)).to.throw(RangeError, 'can only split over one or more days');
    expect(() => splitEvenly(10n, -1)).to.throw(RangeError, 'can only split over one or more days');
    expect(() => splitEvenly(10n, 1.5)).to.throw(RangeError, 'can only split over one or more days');
    expect(() => splitEvenly(-1n, 2)).to.throw(RangeError, 'cannot split a negative number of bytes');
    // a range reversed by two days has no days either
    expect(dailySeries([], '2013-05-03', '2013-05-01')).to.deep.equal([]);
    expect(() =>
      dailySeries([{ fromDate: '2013-05-04', toDate: '2013-05-01', bytes: 1n }], '2013-05-01', '2013-05-31'),
    )
      .to.throw(/must not end before it starts/)
      .with.property('details')
      .that.deep.equals({ fromDate: '2013-05-04', toDate: '2013-05-01' });
  });

  it('marks the days of a drop waiting for a decision, and only those', () => {
    const days = dailySeries(
      [
        { fromDate: '2013-05-01', toDate: '2013-05-01', bytes: 7n },
        { fromDate: '2013-05-02', toDate: '2013-05-02', bytes: 0n, undecided: true },
      ],
      '2013-05-01',
      '2013-05-02',
    );
    expect(days.map((d) => [d.date, d.bytes, d.missing, d.undecided ?? false])).to.deep.equal([
      ['2013-05-01', 7n, false, false],
      ['2013-05-02', 0n, false, true],
    ]);
  });
});
