import { expect } from 'chai';
import { DateTime, Settings } from 'luxon';
import { ModuleError } from '../../module/domain/errors.js';
import {
  addDays,
  assertZone,
  closingDateOf,
  daysBetween,
  isIsoDate,
  parseIsoDate,
  samplingWindow,
} from '../../module/domain/calendar.js';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });

describe('calendar days', () => {
  it('accepts only real calendar dates', () => {
    expect(isIsoDate('2024-02-29')).to.equal(true);
    expect(isIsoDate('2023-02-29')).to.equal(false);
    expect(isIsoDate('2026-13-01')).to.equal(false);
    expect(isIsoDate('2026-1-01')).to.equal(false);
    expect(() => parseIsoDate('31/05/2013', '--date')).to.throw(/--date must be a real calendar date/);
    expect(isIsoDate(20130531)).to.equal(false);
    expect(isIsoDate(undefined)).to.equal(false);
    // not text, though it prints as a date
    expect(isIsoDate(['2024-02-29'])).to.equal(false);
  });

  it('refuses month 00 and 13 and day 00 without asking luxon about them (it may be set to throw)', () => {
    const before = Settings.throwOnInvalid;
    Settings.throwOnInvalid = true;
    try {
      for (const bad of ['2013-00-10', '2013-13-01', '2013-06-00', '2013-02-00'])
        expect(isIsoDate(bad), bad).to.equal(false);
      expect(isIsoDate('2013-12-31')).to.equal(true);
    } finally {
      Settings.throwOnInvalid = before;
    }
  });

  it('says which field is not a date and what was given', () => {
    let err: unknown;
    try {
      parseIsoDate('2013-02-30');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ModuleError);
    expect(err).to.deep.include({
      code: 'INVALID_INPUT',
      message: 'date must be a real calendar date written YYYY-MM-DD',
      details: { value: '2013-02-30' },
    });
  });

  it('refuses a time zone that is not a string or not a zone', () => {
    // luxon would read a number as a fixed offset and undefined as the system's zone
    for (const z of [undefined, 2, 'Mars/Olympus', ''])
      expect(() => assertZone(z as string), String(z)).to.throw(/is not a time zone/);
    expect(assertZone('Europe/Brussels')).to.equal('Europe/Brussels');
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

  // closingDateOf remembers its answers per quarter hour, so a rerun of a test is answered from
  // memory: each run here asks about a year no earlier run in this process asked about (the count
  // is kept on globalThis, which outlives a reload of this file)
  const runs = globalThis as { overusageCalendarRuns?: number };
  it('a sample closes the day whose end is nearest to it, asked afresh: 11:59 the day before, 12:00 the day itself', () => {
    const y = 2100 + (runs.overusageCalendarRuns = (runs.overusageCalendarRuns ?? 0) + 1);
    const z = 'Europe/Brussels';
    // 16 March is winter time (+01:00) in any year: the end of the 15th is 16 March 00:00 +01:00
    expect(closingDateOf(at(`${y}-03-15T23:50:00+01:00`), z)).to.equal(`${y}-03-15`);
    expect(closingDateOf(at(`${y}-03-16T11:59:00+01:00`), z)).to.equal(`${y}-03-15`);
    expect(closingDateOf(at(`${y}-03-16T12:00:00+01:00`), z)).to.equal(`${y}-03-16`);
    // the same instant is 11:00 in UTC: there it still closes the 15th
    expect(closingDateOf(at(`${y}-03-16T12:00:00+01:00`), 'UTC')).to.equal(`${y}-03-15`);
    // the same instant in Tokyo (+09:00) is 20:00 on the 16th: nearest end is that of the 16th
    expect(closingDateOf(at(`${y}-03-16T11:00:00+00:00`), 'Asia/Tokyo')).to.equal(`${y}-03-16`);
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
