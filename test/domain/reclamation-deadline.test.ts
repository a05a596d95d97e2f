import { expect } from 'chai';
import { DateTime, Settings } from 'luxon';
import {
  DEFAULT_WINDOW,
  type ReclamationWindow,
  reclamationDeadline,
  validateWindow,
  withinWindow,
} from '../../module/domain/reclamation-deadline.js';

const BRUSSELS = 'Europe/Brussels';
const utc = (d: { closesAt: DateTime }) => d.closesAt.toUTC().toISO();
const cal = (days: number): ReclamationWindow => ({ days, counting: 'calendar', holidays: 'BE' });
const biz = (days: number, holidays: ReclamationWindow['holidays'] = 'BE'): ReclamationWindow => ({
  days,
  counting: 'business',
  holidays,
});
const lastDay = (invoiceDate: string, w: ReclamationWindow, zone = BRUSSELS) =>
  reclamationDeadline(invoiceDate, w, zone).lastDay;

describe('reclamation deadline: calendar days', () => {
  it('counts from the invoice date and ends at the end of the last day in the panel zone', () => {
    expect(DEFAULT_WINDOW).to.deep.equal({ days: 14, counting: 'calendar', holidays: 'BE' });
    const d = reclamationDeadline('2013-06-01', DEFAULT_WINDOW, BRUSSELS);
    expect(d.lastDay).to.equal('2013-06-15');
    // closes at the first instant of 16 June in Brussels (CEST)
    expect(utc(d)).to.equal('2013-06-15T22:00:00.000Z');
    expect(d.closesAt.setZone(BRUSSELS).toISO()).to.equal('2013-06-16T00:00:00.000+02:00');
  });

  it('the whole last day counts, to the millisecond', () => {
    const d = reclamationDeadline('2013-06-01', DEFAULT_WINDOW, BRUSSELS);
    const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });
    expect(withinWindow(d, at('2013-06-15T23:59:59.999+02:00'))).to.equal(true);
    expect(withinWindow(d, at('2013-06-16T00:00:00.000+02:00'))).to.equal(false);
    expect(withinWindow(d, at('2013-06-01T08:00:00.000+02:00'))).to.equal(true);
    // the same instants seen from another zone
    expect(withinWindow(d, at('2013-06-15T21:59:59.999Z'))).to.equal(true);
    expect(withinWindow(d, at('2013-06-15T22:00:00.000Z'))).to.equal(false);
  });

  it('the panel zone decides when the day ends', () => {
    expect(utc(reclamationDeadline('2013-06-01', DEFAULT_WINDOW, 'America/New_York'))).to.equal(
      '2013-06-16T04:00:00.000Z',
    );
    expect(utc(reclamationDeadline('2013-06-01', DEFAULT_WINDOW, 'UTC'))).to.equal(
      '2013-06-16T00:00:00.000Z',
    );
  });

  it('crosses month ends, February and the year end by date, not by hours', () => {
    expect(lastDay('2013-01-31', cal(14))).to.equal('2013-02-14');
    expect(lastDay('2013-01-31', cal(28))).to.equal('2013-02-28');
    expect(lastDay('2013-01-31', cal(30))).to.equal('2013-03-02');
    expect(lastDay('2024-02-15', cal(14))).to.equal('2024-02-29');
    expect(lastDay('2023-02-15', cal(14))).to.equal('2023-03-01');
    expect(lastDay('2013-05-31', cal(1))).to.equal('2013-06-01');
    expect(lastDay('2013-12-20', cal(14))).to.equal('2014-01-03');
    expect(lastDay('2013-12-31', cal(1))).to.equal('2014-01-01');
    expect(lastDay('2013-06-01', cal(365))).to.equal('2014-06-01');
  });

  it('ends at local midnight across the March DST change (a 23-hour last day)', () => {
    // Brussels skips 02:00→03:00 on Sunday 29 March 2026
    const onShortDay = reclamationDeadline('2026-03-15', DEFAULT_WINDOW, BRUSSELS);
    expect(onShortDay.lastDay).to.equal('2026-03-29');
    expect(utc(onShortDay)).to.equal('2026-03-29T22:00:00.000Z');
    const dayBefore = reclamationDeadline('2026-03-14', DEFAULT_WINDOW, BRUSSELS);
    expect(dayBefore.lastDay).to.equal('2026-03-28');
    expect(utc(dayBefore)).to.equal('2026-03-28T23:00:00.000Z');
    // the last day lasts 23 hours, and all 23 count
    expect(onShortDay.closesAt.diff(dayBefore.closesAt, 'hours').hours).to.equal(23);
    expect(utc(reclamationDeadline('2013-03-17', DEFAULT_WINDOW, BRUSSELS))).to.equal(
      '2013-03-31T22:00:00.000Z',
    );
  });

  it('ends at local midnight across the October DST change (a 25-hour last day)', () => {
    // Brussels repeats 02:00–03:00 on Sunday 25 October 2026
    const onLongDay = reclamationDeadline('2026-10-11', DEFAULT_WINDOW, BRUSSELS);
    expect(onLongDay.lastDay).to.equal('2026-10-25');
    expect(utc(onLongDay)).to.equal('2026-10-25T23:00:00.000Z');
    const dayBefore = reclamationDeadline('2026-10-10', DEFAULT_WINDOW, BRUSSELS);
    expect(utc(dayBefore)).to.equal('2026-10-24T22:00:00.000Z');
    expect(onLongDay.closesAt.diff(dayBefore.closesAt, 'hours').hours).to.equal(25);
    expect(utc(reclamationDeadline('2013-10-13', DEFAULT_WINDOW, BRUSSELS))).to.equal(
      '2013-10-27T23:00:00.000Z',
    );
  });

  it('copes with a zone whose clocks skipped midnight itself', () => {
    // São Paulo went from 00:00 to 01:00 on 4 November 2018: the day began at 01:00
    const d = reclamationDeadline('2018-10-20', DEFAULT_WINDOW, 'America/Sao_Paulo');
    expect(d.lastDay).to.equal('2018-11-03');
    expect(utc(d)).to.equal('2018-11-04T03:00:00.000Z');
  });
});

describe('reclamation deadline: business days', () => {
  it('skips weekends: the 10 working days of the 2013 terms', () => {
    expect(lastDay('2013-06-03', biz(10, 'none'))).to.equal('2013-06-17'); // Monday → Monday two weeks on
    expect(lastDay('2013-06-07', biz(1, 'none'))).to.equal('2013-06-10'); // Friday → Monday
    expect(lastDay('2013-06-01', biz(1, 'none'))).to.equal('2013-06-03'); // invoiced on a Saturday
    expect(lastDay('2013-06-03', biz(5, 'none'))).to.equal('2013-06-10');
  });

  it('skips Belgian public holidays, Easter-based ones included', () => {
    // Thursday 28 March 2013: Good Friday counts, Easter Monday 1 April does not
    expect(lastDay('2013-03-28', biz(3))).to.equal('2013-04-03');
    // Ascension Thursday 9 May 2013 and Whit Monday 20 May 2013
    expect(lastDay('2013-05-08', biz(1))).to.equal('2013-05-10');
    expect(lastDay('2013-05-17', biz(1))).to.equal('2013-05-21');
    // Whit Monday 9 June 2025, Ascension 29 May 2025
    expect(lastDay('2025-06-06', biz(1))).to.equal('2025-06-10');
    expect(lastDay('2025-05-28', biz(1))).to.equal('2025-05-30');
    // Easter Monday 1 April 2024
    expect(lastDay('2024-03-29', biz(1))).to.equal('2024-04-02');
  });

  it('skips Dutch public holidays: King\u2019s Day, Liberation Day in lustrum years only', () => {
    // Queen's Day, Tuesday 30 April 2013
    expect(lastDay('2013-04-29', biz(1, 'NL'))).to.equal('2013-05-01');
    expect(lastDay('2013-04-29', biz(1, 'BE'))).to.equal('2013-04-30');
    // King's Day on a Sunday (2025) moves to Saturday the 26th: Monday the 28th is a working day
    expect(lastDay('2025-04-25', biz(1, 'NL'))).to.equal('2025-04-28');
    // King's Day on a Monday (2020)
    expect(lastDay('2020-04-24', biz(1, 'NL'))).to.equal('2020-04-28');
    // Liberation Day: Monday 5 May 2025 is off, Tuesday 5 May 2026 is not
    expect(lastDay('2025-05-02', biz(1, 'NL'))).to.equal('2025-05-06');
    expect(lastDay('2025-05-02', biz(1, 'BE'))).to.equal('2025-05-05');
    expect(lastDay('2026-05-04', biz(1, 'NL'))).to.equal('2026-05-05');
    // Whit Monday 2024 in the Netherlands too
    expect(lastDay('2024-05-17', biz(1, 'NL'))).to.equal('2024-05-21');
  });

  it('crosses the year end past Christmas (and Boxing Day in the Netherlands)', () => {
    // Friday 20 December 2013
    expect(lastDay('2013-12-20', biz(5, 'BE'))).to.equal('2013-12-30');
    expect(lastDay('2013-12-20', biz(5, 'NL'))).to.equal('2013-12-31');
    expect(lastDay('2013-12-20', biz(6, 'NL'))).to.equal('2014-01-02'); // New Year's Day skipped
    const d = reclamationDeadline('2013-12-20', biz(5, 'NL'), BRUSSELS);
    expect(utc(d)).to.equal('2013-12-31T23:00:00.000Z');
  });

  it('a business deadline on a DST weekend still ends at local midnight', () => {
    // Friday 27 March 2026, 1 business day → Monday 30 March, after the change
    const d = reclamationDeadline('2026-03-27', biz(1), BRUSSELS);
    expect(d.lastDay).to.equal('2026-03-30');
    expect(utc(d)).to.equal('2026-03-30T22:00:00.000Z');
  });
});

describe('reclamation deadline: bad settings', () => {
  it('refuses windows and inputs that make no sense, with a clear message', () => {
    expect(() => validateWindow(cal(0))).to.throw(/1 to 365 days/);
    expect(() => validateWindow(cal(366))).to.throw(/1 to 365 days/);
    expect(() => validateWindow(cal(1.5))).to.throw(/1 to 365 days/);
    expect(() => validateWindow({ days: 14, counting: 'weekly' as never, holidays: 'BE' })).to.throw(
      /calendar or business/,
    );
    expect(() => validateWindow({ days: 14, counting: 'business', holidays: 'FR' as never })).to.throw(
      /none, BE or NL/,
    );
    expect(() => reclamationDeadline('2013-02-30', DEFAULT_WINDOW, BRUSSELS)).to.throw(
      /invoice date must be a real calendar date/,
    );
    expect(() => reclamationDeadline('2013-06-01', DEFAULT_WINDOW, 'Mars/Olympus')).to.throw(
      /not a time zone/,
    );
    // a deadline is never computed from a bad window: 0 days would close the window on the invoice date itself
    expect(() => reclamationDeadline('2013-06-01', cal(0), BRUSSELS)).to.throw(/1 to 365 days/);
    expect(() =>
      reclamationDeadline(
        '2013-06-01',
        { days: 10, counting: 'business', holidays: 'FR' as never },
        BRUSSELS,
      ),
    ).to.throw(/none, BE or NL/);
  });
});

describe('reclamation deadline: with luxon set to throw on invalid values', () => {
  let before: boolean;
  beforeEach(() => {
    before = Settings.throwOnInvalid;
    Settings.throwOnInvalid = true; // as the composition root sets it
  });
  afterEach(() => {
    Settings.throwOnInvalid = before;
  });

  it('still answers a bad zone or date with its own clear error', () => {
    expect(() => reclamationDeadline('2013-06-01', DEFAULT_WINDOW, 'Mars/Olympus')).to.throw(
      /not a time zone/,
    );
    expect(() => reclamationDeadline('2013-02-30', DEFAULT_WINDOW, BRUSSELS)).to.throw(/real calendar date/);
    expect(reclamationDeadline('2013-06-01', DEFAULT_WINDOW, BRUSSELS).lastDay).to.equal('2013-06-15');
  });
});
