import { expect } from 'chai';
import { DateTime } from 'luxon';
import { samplingDue } from '../../module/domain/sampling-schedule.js';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });
const Z = 'Europe/Brussels';

// The 5-minute cron reads a day's counters from the configured local time until the day's window
// closes; Brussels is on summer time (+02:00) in May and June 2013.
describe('when the evening samples are due', () => {
  it('from 23:50 local on the day itself, not a second before', () => {
    expect(samplingDue(at('2013-05-20T23:49:59+02:00'), Z, '23:50')).to.deep.equal({
      due: false,
      date: '2013-05-20',
    });
    expect(samplingDue(at('2013-05-20T23:50:00+02:00'), Z, '23:50')).to.deep.equal({
      due: true,
      date: '2013-05-20',
    });
    expect(samplingDue(at('2013-05-20T20:00:00+02:00'), Z, '23:50')).to.deep.equal({
      due: false,
      date: '2013-05-20',
    });
  });

  it("still due after midnight for the day that ended, across a month's end", () => {
    expect(samplingDue(at('2013-06-01T00:30:00+02:00'), Z, '23:50')).to.deep.equal({
      due: true,
      date: '2013-05-31',
    });
    expect(samplingDue(at('2013-06-01T09:00:00+02:00'), Z, '23:50')).to.deep.equal({
      due: true,
      date: '2013-05-31',
    });
  });

  it('takes another configured time, in the panel zone', () => {
    expect(samplingDue(at('2013-05-20T21:39:00Z'), Z, '23:40')).to.deep.equal({
      due: false,
      date: '2013-05-20',
    });
    expect(samplingDue(at('2013-05-20T21:40:00Z'), Z, '23:40')).to.deep.equal({
      due: true,
      date: '2013-05-20',
    });
  });
});
