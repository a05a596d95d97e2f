import { expect } from 'chai';
import { Settings } from 'luxon';
import {
  easterSunday,
  holidayName,
  holidaysOf,
  isBusinessDay,
  isWeekend,
} from '../../module/domain/holidays.js';

describe('holidays', () => {
  it('finds Easter on the known dates', () => {
    const known: Record<number, string> = {
      2000: '2000-04-23',
      2008: '2008-03-23', // early
      2011: '2011-04-24',
      2013: '2013-03-31',
      2019: '2019-04-21',
      2024: '2024-03-31',
      2025: '2025-04-20',
      2026: '2026-04-05',
      2027: '2027-03-28',
      2038: '2038-04-25', // the latest possible date
      2285: '2285-03-22', // the earliest possible date
    };
    for (const [year, date] of Object.entries(known)) expect(easterSunday(Number(year)), year).to.equal(date);
  });

  it('finds Easter in the first days of April, not in March', () => {
    // published dates of Easter Sunday
    expect([2007, 2010, 2021, 2029].map(easterSunday)).to.deep.equal([
      '2007-04-08',
      '2010-04-04',
      '2021-04-04',
      '2029-04-01',
    ]);
  });

  it("finds Easter in the years the algorithm's correction moves it a week earlier", () => {
    // the Gregorian exceptions: a full moon on 18 or 19 April would put Easter on 25 or 26 April;
    // the Church tables give the Sunday a week earlier (published dates of Easter)
    const corrected: Record<number, string> = {
      1954: '1954-04-18',
      1981: '1981-04-19',
      2049: '2049-04-18',
      2076: '2076-04-19',
    };
    for (const [year, date] of Object.entries(corrected))
      expect(easterSunday(Number(year)), year).to.equal(date);
  });

  it('puts the Easter-based days where they fall (Belgium)', () => {
    const be = (y: number) => [...holidaysOf('BE', y).entries()];
    const named = (y: number, name: string) => be(y).find(([, n]) => n === name)?.[0];
    expect([2013, 2024, 2025, 2026].map((y) => named(y, 'Easter Monday'))).to.deep.equal([
      '2013-04-01',
      '2024-04-01',
      '2025-04-21',
      '2026-04-06',
    ]);
    expect([2013, 2024, 2025, 2026].map((y) => named(y, 'Ascension Day'))).to.deep.equal([
      '2013-05-09',
      '2024-05-09',
      '2025-05-29',
      '2026-05-14',
    ]);
    expect([2013, 2024, 2025, 2026].map((y) => named(y, 'Whit Monday'))).to.deep.equal([
      '2013-05-20',
      '2024-05-20',
      '2025-06-09',
      '2026-05-25',
    ]);
  });

  it('knows the ten Belgian public holidays', () => {
    const days = [...holidaysOf('BE', 2013).keys()];
    expect(days).to.have.length(10);
    expect(days).to.include.members([
      '2013-01-01',
      '2013-05-01',
      '2013-07-21',
      '2013-08-15',
      '2013-11-01',
      '2013-11-11',
      '2013-12-25',
    ]);
    expect(holidayName('BE', '2013-12-26')).to.equal(null); // not a Belgian holiday
    expect(holidayName('BE', '2013-03-29')).to.equal(null); // Good Friday neither
  });

  it('knows the Dutch Christian holidays: Tweede Kerstdag, Tweede Pinksterdag, Hemelvaartsdag', () => {
    expect(holidayName('NL', '2013-12-26')).to.equal('Tweede Kerstdag');
    expect(holidayName('NL', '2024-05-20')).to.equal('Tweede Pinksterdag');
    expect(holidayName('NL', '2024-05-09')).to.equal('Hemelvaartsdag');
  });

  it('moves King\u2019s Day (27 April) to the 26th when the 27th is a Sunday (2014, 2025)', () => {
    expect(holidayName('NL', '2024-04-27')).to.equal('Koningsdag');
    expect(holidayName('NL', '2025-04-27')).to.equal(null);
    expect(holidayName('NL', '2025-04-26')).to.equal('Koningsdag');
    expect(holidayName('NL', '2014-04-26')).to.equal('Koningsdag');
    expect(holidayName('NL', '2020-04-27')).to.equal('Koningsdag');
  });

  it('knows Queen\u2019s Day until 2013: 30 April, the 29th when the 30th was a Sunday (2006)', () => {
    expect(holidayName('NL', '2013-04-30')).to.equal('Koninginnedag');
    expect(holidayName('NL', '2013-04-27')).to.equal(null);
    expect(holidayName('NL', '2006-04-29')).to.equal('Koninginnedag');
  });

  it('gives Liberation Day off every fifth year only: 9 Dutch holidays in 2024, 10 in 2025', () => {
    expect(holidayName('NL', '2020-05-05')).to.equal('Bevrijdingsdag');
    expect(holidayName('NL', '2025-05-05')).to.equal('Bevrijdingsdag');
    expect(holidayName('NL', '2024-05-05')).to.equal(null);
    expect(holidayName('NL', '2026-05-05')).to.equal(null);
    expect(holidaysOf('NL', 2024).size).to.equal(9);
    expect(holidaysOf('NL', 2025).size).to.equal(10);
  });

  it('no calendar, no holidays; weekends are never business days', () => {
    expect(holidaysOf('none', 2025).size).to.equal(0);
    expect(holidayName('none', '2025-12-25')).to.equal(null);
    expect(isWeekend('2013-06-01')).to.equal(true); // Saturday
    expect(isWeekend('2013-06-02')).to.equal(true);
    expect(isWeekend('2013-06-03')).to.equal(false);
    expect(isBusinessDay('2013-06-03', 'BE')).to.equal(true);
    expect(isBusinessDay('2013-05-20', 'BE')).to.equal(false);
    expect(isBusinessDay('2013-05-20', 'none')).to.equal(true);
    expect(isBusinessDay('2013-12-26', 'BE')).to.equal(true);
    expect(isBusinessDay('2013-12-26', 'NL')).to.equal(false);
  });

  // holidayName keeps each year's list once made; these read the lists themselves, names included
  // (they are what the deadline's explanation names). Easter: 31 March 2013, 20 April 2014 and 2025.
  it('lists each year with its names: Belgium 2013', () => {
    expect(Object.fromEntries(holidaysOf('BE', 2013))).to.deep.equal({
      '2013-01-01': "New Year's Day",
      '2013-04-01': 'Easter Monday', // Easter + 1
      '2013-05-01': 'Labour Day',
      '2013-05-09': 'Ascension Day', // Easter + 39
      '2013-05-20': 'Whit Monday', // Easter + 50
      '2013-07-21': 'National Day',
      '2013-08-15': 'Assumption',
      '2013-11-01': "All Saints' Day",
      '2013-11-11': 'Armistice Day',
      '2013-12-25': 'Christmas Day',
    });
  });

  it('lists each year with its names: the Netherlands, Queen’s Day on a Tuesday (2013), King’s Day off a Sunday (2014, 2025), Liberation Day in 2025', () => {
    const nl = (y: number, royal: [string, string], extra: Record<string, string> = {}) => {
      const easter = {
        2013: ['03-31', '04-01', '05-09', '05-19', '05-20'],
        2014: ['04-20', '04-21', '05-29', '06-08', '06-09'],
        2025: ['04-20', '04-21', '05-29', '06-08', '06-09'],
      }[y]!;
      return {
        [`${y}-01-01`]: 'Nieuwjaarsdag',
        [`${y}-${easter[0]}`]: 'Eerste Paasdag',
        [`${y}-${easter[1]}`]: 'Tweede Paasdag',
        [`${y}-${royal[0]}`]: royal[1],
        [`${y}-${easter[2]}`]: 'Hemelvaartsdag',
        [`${y}-${easter[3]}`]: 'Eerste Pinksterdag',
        [`${y}-${easter[4]}`]: 'Tweede Pinksterdag',
        [`${y}-12-25`]: 'Eerste Kerstdag',
        [`${y}-12-26`]: 'Tweede Kerstdag',
        ...extra,
      };
    };
    expect(Object.fromEntries(holidaysOf('NL', 2013))).to.deep.equal(nl(2013, ['04-30', 'Koninginnedag']));
    // 27 April 2014 and 2025 are Sundays: the Saturday before
    expect(Object.fromEntries(holidaysOf('NL', 2014))).to.deep.equal(nl(2014, ['04-26', 'Koningsdag']));
    expect(Object.fromEntries(holidaysOf('NL', 2025))).to.deep.equal(
      nl(2025, ['04-26', 'Koningsdag'], { '2025-05-05': 'Bevrijdingsdag' }),
    );
  });

  it("counts weekends by the date, whatever the server's time zone", () => {
    // Samoa skipped Friday 30 December 2011 (midnight there is 31 December 00:00 +14:00): read in
    // that zone, the date would become Saturday the 31st
    const zone = Settings.defaultZone;
    Settings.defaultZone = 'Pacific/Apia';
    try {
      expect(isWeekend('2011-12-30')).to.equal(false);
      expect(isWeekend('2011-12-31')).to.equal(true);
    } finally {
      Settings.defaultZone = zone;
    }
  });
});
