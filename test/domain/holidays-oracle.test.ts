import { expect } from 'chai';
import Holidays from 'date-holidays';
import { holidaysOf } from '../../module/domain/holidays.js';

/**
 * Our Belgian and Dutch calendars against an independent, maintained one (date-holidays, its
 * "public" days), 2000–2040. The one difference is ours on purpose: Liberation Day (5 May) is a
 * general day off in the Netherlands once every five years (2000, 2005, …, 2040) by the collective
 * agreements, which date-holidays lists every year as a school holiday, not a public one.
 */
describe('holidays against date-holidays', () => {
  for (const country of ['BE', 'NL'] as const) {
    it(`gives ${country}'s public holidays for 2000–2040`, () => {
      const other = new Holidays(country);
      for (let year = 2000; year <= 2040; year++) {
        const theirs = new Set(
          other
            .getHolidays(year)
            .filter((h) => h.type === 'public')
            .map((h) => h.date.slice(0, 10)),
        );
        if (country === 'NL' && year % 5 === 0) theirs.add(`${year}-05-05`);
        const ours = [...holidaysOf(country, year).keys()].sort();
        expect(ours, `${country} ${year}`).to.deep.equal([...theirs].sort());
      }
    });
  }
});
