import { expect } from 'chai';
import { Settings } from 'luxon';
import {
  billingDayOf,
  calendarLabel,
  createdOnIn,
  fullPeriodDays,
  parseCalendarLabel,
  periodAfter,
  periodOf,
  periodsCovering,
  serviceCalendar,
  type BillingCalendar,
  type CalendarPeriod,
} from '../../module/domain/billing-calendar.js';

const base = {
  servicePolicy: null,
  serviceDay: null,
  solusvmPolicy: null,
  solusvmCreatedOn: null,
  masterPolicy: 'first_of_month' as const,
  zone: 'Europe/Brussels',
  regdate: null,
  billingDay: null,
};

// periodOf on a cache of its own: the module's cache outlives a test run in a runner that keeps its
// process (Stryker), and would answer with the periods of an earlier run.
const fresh = (cal: BillingCalendar, date: string): CalendarPeriod => periodOf(cal, date, new Map());

describe('the billing calendar', () => {
  it('makes calendar months for the 1st, whatever the day asked about', () => {
    const cal = { basis: 'first_of_month' as const, anchorDay: 1 };
    expect(periodOf(cal, '2013-05-01')).to.deep.equal({ start: '2013-05-01', end: '2013-05-31' });
    expect(periodOf(cal, '2013-05-31')).to.deep.equal({ start: '2013-05-01', end: '2013-05-31' });
    expect(periodOf(cal, '2012-02-29')).to.deep.equal({ start: '2012-02-01', end: '2012-02-29' });
    expect(periodOf(cal, '2013-12-15')).to.deep.equal({ start: '2013-12-01', end: '2013-12-31' });
  });

  it("puts an anniversary on the 29th–31st on a shorter month's last day, as SolusVM resets it", () => {
    const on31 = { basis: 'anniversary' as const, anchorDay: 31 };
    // 31 Jan – 27 Feb (the next starts on 28 Feb), 28 Feb – 30 Mar, 31 Mar – 29 Apr, 30 Apr – 30 May
    expect(periodOf(on31, '2013-02-10')).to.deep.equal({ start: '2013-01-31', end: '2013-02-27' });
    expect(periodOf(on31, '2013-02-28')).to.deep.equal({ start: '2013-02-28', end: '2013-03-30' });
    expect(periodOf(on31, '2013-04-29')).to.deep.equal({ start: '2013-03-31', end: '2013-04-29' });
    expect(periodOf(on31, '2013-04-30')).to.deep.equal({ start: '2013-04-30', end: '2013-05-30' });
    const on29 = { basis: 'anniversary' as const, anchorDay: 29 };
    // a leap year keeps 29 February; 2013 falls back to the 28th
    expect(periodOf(on29, '2012-03-01')).to.deep.equal({ start: '2012-02-29', end: '2012-03-28' });
    expect(periodOf(on29, '2013-03-01')).to.deep.equal({ start: '2013-02-28', end: '2013-03-28' });
    expect(fullPeriodDays(on29, '2013-03-01')).to.equal(29);
  });

  it('works the period out on a fresh cache: month ends, leap years, the turn of the year', () => {
    const on31 = { basis: 'anniversary' as const, anchorDay: 31 };
    // anchor 31 in February 2027 (28 days) starts on the 28th; March's start is the 31st, so the
    // period is 2027-02-28 .. 2027-03-30, 31 days; the day it starts on belongs to it
    expect(fresh(on31, '2027-02-28')).to.deep.equal({ start: '2027-02-28', end: '2027-03-30' });
    // the day before is still January's period: 2027-01-31 .. 2027-02-27, 28 days
    expect(fresh(on31, '2027-02-27')).to.deep.equal({ start: '2027-01-31', end: '2027-02-27' });
    expect(fresh(on31, '2027-01-31')).to.deep.equal({ start: '2027-01-31', end: '2027-02-27' });
    // 2024 is a leap year: February has 29 days, so anchor 31 starts on the 29th: 2024-02-29 .. 2024-03-30
    expect(fresh(on31, '2024-02-29')).to.deep.equal({ start: '2024-02-29', end: '2024-03-30' });
    const on29 = { basis: 'anniversary' as const, anchorDay: 29 };
    // anchor 29 in February 2024 is the 29th itself: 2024-02-29 .. 2024-03-28, 29 days
    expect(fresh(on29, '2024-02-29')).to.deep.equal({ start: '2024-02-29', end: '2024-03-28' });
    const on15 = { basis: 'billing_cycle' as const, anchorDay: 15 };
    // 10 January 2027 is before January's 15th: the period began on 15 December 2026 and ends the day
    // before 15 January: 2026-12-15 .. 2027-01-14 (17 + 14 = 31 days), asked from either side of New Year
    expect(fresh(on15, '2027-01-10')).to.deep.equal({ start: '2026-12-15', end: '2027-01-14' });
    expect(fresh(on15, '2026-12-20')).to.deep.equal({ start: '2026-12-15', end: '2027-01-14' });
    expect(fresh(on15, '2027-01-14')).to.deep.equal({ start: '2026-12-15', end: '2027-01-14' });
    expect(fresh(on15, '2027-01-15')).to.deep.equal({ start: '2027-01-15', end: '2027-02-14' });
    const months = { basis: 'first_of_month' as const, anchorDay: 1 };
    // the last day of the year: December, ending the day before 2028-01-01
    expect(fresh(months, '2027-12-31')).to.deep.equal({ start: '2027-12-01', end: '2027-12-31' });
    // single-digit months and days are written with a leading zero
    expect(fresh(months, '2027-03-05')).to.deep.equal({ start: '2027-03-01', end: '2027-03-31' });
  });

  it('works each (anchor, day) out once, and keeps at most 50,000 periods', () => {
    const cal = { basis: 'anniversary' as const, anchorDay: 17 };
    const cache = new Map<string, CalendarPeriod>();
    const first = periodOf(cal, '2027-05-20', cache);
    // asked again: the very period worked out the first time, from the cache
    expect(periodOf(cal, '2027-05-20', cache)).to.equal(first);
    expect(cache.size).to.equal(1);
    // a cache already holding 50,000 periods takes one more (50,001: the bound is "more than 50,000")
    const full = new Map<string, CalendarPeriod>();
    for (let i = 0; i < 50_000; i++) full.set(`filler|${i}`, first);
    expect(periodOf(cal, '2027-05-20', full)).to.deep.equal({ start: '2027-05-17', end: '2027-06-16' });
    expect(full.size).to.equal(50_001);
    // with 50,001 it starts again: emptied, then this period stored alone
    expect(periodOf(cal, '2027-06-20', full)).to.deep.equal({ start: '2027-06-17', end: '2027-07-16' });
    expect(full.size).to.equal(1);
  });

  it('walks periods one after another, even from a period a changed calendar left shorter', () => {
    const cal = { basis: 'anniversary' as const, anchorDay: 17 };
    expect(periodAfter(cal, '2013-05-31')).to.deep.equal({ start: '2013-06-01', end: '2013-06-16' });
    expect(
      periodsCovering(cal, { start: '2013-05-01', end: '2013-05-31' }, '2013-07-20').map((p) => p.start),
    ).to.deep.equal(['2013-05-01', '2013-06-01', '2013-06-17', '2013-07-17']);
  });

  it("takes the service's own setting first, then SolusVM 2's plan, then the master's", () => {
    expect(
      serviceCalendar({ ...base, solusvmPolicy: 'anniversary', solusvmCreatedOn: '2012-02-17' }).calendar,
    ).to.deep.equal({ basis: 'anniversary', anchorDay: 17 });
    expect(
      serviceCalendar({
        ...base,
        servicePolicy: 'first_of_month',
        solusvmPolicy: 'anniversary',
        solusvmCreatedOn: '2012-02-17',
      }).calendar,
    ).to.deep.equal({ basis: 'first_of_month', anchorDay: 1 });
    // the counter resets on the 1st, its boundaries in the master's zone
    expect(serviceCalendar(base).counter).to.deep.equal({
      policy: 'first_of_month',
      anchorDay: 1,
      zone: 'Europe/Brussels',
    });
    // the anniversary day: the service's, else SolusVM's creation day, else the registration day (or the other way round by setting)
    expect(
      serviceCalendar({
        ...base,
        masterPolicy: 'anniversary',
        regdate: '2013-01-09',
        solusvmCreatedOn: '2013-01-08',
      }).calendar.anchorDay,
    ).to.equal(8);
    expect(
      serviceCalendar({
        ...base,
        masterPolicy: 'anniversary',
        regdate: '2013-01-09',
        solusvmCreatedOn: '2013-01-08',
        anniversaryFrom: 'panel',
      }).calendar.anchorDay,
    ).to.equal(9);
    expect(
      serviceCalendar({ ...base, masterPolicy: 'anniversary', serviceDay: 30, regdate: '2013-01-09' })
        .calendar.anchorDay,
    ).to.equal(30);
    // a counter that never resets: the panel's billing day; the counter rule says never
    const never = serviceCalendar({ ...base, masterPolicy: 'never', billingDay: 5, regdate: '2013-01-09' });
    expect(never.calendar).to.deep.equal({ basis: 'billing_cycle', anchorDay: 5 });
    expect(never.counter.policy).to.equal('never');
    expect(calendarLabel(never.calendar)).to.equal('billing_cycle:5');
    expect(parseCalendarLabel('anniversary:31')).to.deep.equal({ basis: 'anniversary', anchorDay: 31 });
    expect(() => parseCalendarLabel('anniversary:32')).to.throw(/1 to 31/);
  });

  it("reads the billing day from the next due date, keeping a registration day past a short month's end", () => {
    expect(billingDayOf('2013-06-09', '2013-01-09')).to.equal(9);
    expect(billingDayOf('2013-02-28', '2012-10-31')).to.equal(31);
    expect(billingDayOf('2013-02-28', '2012-10-28')).to.equal(28);
    expect(billingDayOf('2013-04-30', null)).to.equal(30);
    expect(billingDayOf(null, '2013-01-09')).to.equal(null);
    // a due day moved by the admin (registered on the 19th, due on the 9th): the due day, not a month's end
    expect(billingDayOf('2013-06-09', '2013-01-19')).to.equal(9);
    // registered on the 15th, due on 28 February: the end of a month, but not a shortened 29th-31st
    expect(billingDayOf('2013-02-28', '2012-10-15')).to.equal(28);
  });

  it('stores calendars as labels and reads them back, refusing anything else', () => {
    for (const cal of [
      { basis: 'first_of_month', anchorDay: 1 },
      { basis: 'anniversary', anchorDay: 17 },
      { basis: 'billing_cycle', anchorDay: 5 },
    ] as const) {
      expect(parseCalendarLabel(calendarLabel(cal))).to.deep.equal(cal);
    }
    expect(calendarLabel({ basis: 'first_of_month', anchorDay: 1 })).to.equal('first_of_month');
    expect(calendarLabel({ basis: 'anniversary', anchorDay: 17 })).to.equal('anniversary:17');
    for (const bad of [
      '',
      'monthly',
      'old_anniversary:5',
      'anniversary:5x',
      'anniversary:123',
      'anniversary:',
      'first_of_month:1',
    ]) {
      expect(() => parseCalendarLabel(bad), bad).to.throw(`"${bad}" is not a billing calendar`);
    }
    expect(() => parseCalendarLabel('billing_cycle:0')).to.throw(
      'a period starts on a day of the month from 1 to 31, not 0',
    );
  });

  it('refuses an anniversary or billing day outside 1-31 or not whole', () => {
    for (const day of [0, 32, 2.5, -1]) {
      expect(
        () => serviceCalendar({ ...base, masterPolicy: 'anniversary', serviceDay: day }),
        `anniversary ${day}`,
      ).to.throw(`from 1 to 31, not ${day}`);
      expect(
        () => serviceCalendar({ ...base, masterPolicy: 'never', billingDay: day }),
        `billing ${day}`,
      ).to.throw(`from 1 to 31, not ${day}`);
    }
  });

  it("reads a VM's creation day in the master's zone, and nothing from an unreadable date", () => {
    // 23:30 in New York on 8 January is 05:30 on the 9th in Brussels
    expect(createdOnIn('2013-01-08T23:30:00-05:00', 'Europe/Brussels')).to.equal('2013-01-09');
    expect(createdOnIn('2013-01-08T23:30:00-05:00', 'America/New_York')).to.equal('2013-01-08');
    expect(createdOnIn('yesterday', 'Europe/Brussels')).to.equal(null);
  });

  it('reads nothing from an unreadable creation date when luxon throws on it, as the composition root sets', () => {
    const before = Settings.throwOnInvalid;
    Settings.throwOnInvalid = true;
    try {
      expect(createdOnIn('yesterday', 'Europe/Brussels')).to.equal(null);
      expect(createdOnIn('2013-02-30T10:00:00Z', 'Europe/Brussels')).to.equal(null);
    } finally {
      Settings.throwOnInvalid = before;
    }
  });
});
