import { expect } from 'chai';
import { DateTime } from 'luxon';
import { addDays, closingDateOf, daysBetween, isIsoDate, parseIsoDate, samplingWindow } from '../../module/domain/calendar.js';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });

describe('calendar days', () => {
  it('accepts only real calendar dates', () => {
    expect(isIsoDate('2024-02-29')).to.equal(true);
    expect(isIsoDate('2023-02-29')).to.equal(false);
    expect(isIsoDate('2026-13-01')).to.equal(false);
    expect(isIsoDate('2026-1-01')).to.equal(false);
    expect(() => parseIsoDate('31/05/2013', '--date')).to.throw(/--date must be a real calendar date/);
  });

  it('adds days across month ends and DST changes without drifting', () => {
    expect(addDays('2013-05-31', 1)).to.equal('2013-06-01');
    expect(addDays('2026-03-28', 1)).to.equal('2026-03-29');
    expect(addDays('2026-03-29', 1)).to.equal('2026-03-30');
    expect(daysBetween('2026-10-24', '2026-10-26')).to.equal(2);
  });

  it('a sample closes the day whose end is nearest to it', () => {
    const z = 'Europe/Brussels';
    expect(closingDateOf(at('2013-05-31T23:50:00+02:00'), z)).to.equal('2013-05-31');
    expect(closingDateOf(at('2013-06-01T00:30:00+02:00'), z)).to.equal('2013-05-31');
    expect(closingDateOf(at('2013-06-01T09:00:00+02:00'), z)).to.equal('2013-05-31');
    expect(closingDateOf(at('2013-06-01T12:30:00+02:00'), z)).to.equal('2013-06-01');
  });

  it('closes the right day on the short and the long DST days', () => {
    const z = 'Europe/Brussels';
    // 29 March 2026 has 23 hours; 25 October 2026 has 25.
    expect(closingDateOf(at('2026-03-30T00:10:00+02:00'), z)).to.equal('2026-03-29');
    expect(closingDateOf(at('2026-03-29T23:50:00+02:00'), z)).to.equal('2026-03-29');
    expect(closingDateOf(at('2026-10-26T00:10:00+01:00'), z)).to.equal('2026-10-25');
    expect(closingDateOf(at('2026-10-25T23:50:00+01:00'), z)).to.equal('2026-10-25');
  });

  it('gives each day a 24-hour sampling window around its local end', () => {
    const w = samplingWindow('2026-10-25', 'Europe/Brussels');
    expect(w.opens.toISO()).to.equal(at('2026-10-25T12:00:00+01:00').toISO());
    expect(w.closes.diff(w.opens, 'hours').hours).to.equal(24);
  });
});
