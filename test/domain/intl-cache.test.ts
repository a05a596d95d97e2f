import { expect } from 'chai';
import { dateTimeFormat, numberFormat } from '../../module/domain/intl-cache.js';

// The formatters are kept per locale and options: a kept one must never answer for another
// locale or other options (1 234.5 is "1,234.5" in English and "1.234,5" in Dutch).
describe('formatters kept per locale and options', () => {
  it('gives each locale and each set of options its own number formatter', () => {
    expect(numberFormat('en').format(1234.5)).to.equal('1,234.5');
    expect(numberFormat('nl').format(1234.5)).to.equal('1.234,5');
    expect(numberFormat('en', { minimumFractionDigits: 2 }).format(1234.5)).to.equal('1,234.50');
    expect(numberFormat('en').format(1234.5)).to.equal('1,234.5');
    expect(numberFormat('nl', { style: 'percent' }).format(0.25)).to.equal('25%');
    // asked again, the same formatter: kept, not rebuilt
    expect(numberFormat('nl', { style: 'percent' })).to.equal(numberFormat('nl', { style: 'percent' }));
  });

  it('gives each locale and each set of options its own date formatter', () => {
    const d = new Date(Date.UTC(2026, 11, 5, 20, 30));
    expect(dateTimeFormat('en', { dateStyle: 'long', timeZone: 'UTC' }).format(d)).to.equal(
      'December 5, 2026',
    );
    expect(dateTimeFormat('nl', { dateStyle: 'long', timeZone: 'UTC' }).format(d)).to.equal(
      '5 december 2026',
    );
    expect(dateTimeFormat('nl', { timeStyle: 'short', timeZone: 'Europe/Brussels' }).format(d)).to.equal(
      '21:30',
    );
    expect(dateTimeFormat('en', { dateStyle: 'long', timeZone: 'UTC' })).to.equal(
      dateTimeFormat('en', { dateStyle: 'long', timeZone: 'UTC' }),
    );
  });

  // The caches hold at most 500 formatters each (a page's locales and options are a handful; the
  // bound keeps a long-running process from growing without end). 1,100 different formatters:
  // whatever earlier tests kept (at most 500), at least 600 are new, so the cache fills and is
  // emptied at least once after the first one below was taken.
  it('keeps at most 500 of each: past that, the kept ones are dropped and built again', () => {
    const first = numberFormat('en', { minimumIntegerDigits: 1 });
    // 21 × 21 × 2 × 2 different option sets; the first 1,100 of them
    for (let i = 0; i < 1100; i++)
      numberFormat(Math.floor(i / 882) === 0 ? 'en' : 'nl', {
        minimumIntegerDigits: 1 + (i % 21),
        minimumFractionDigits: Math.floor(i / 21) % 21,
        useGrouping: Math.floor(i / 441) % 2 === 0,
      });
    expect(numberFormat('en', { minimumIntegerDigits: 1 })).not.to.equal(first);
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).to.be.above(300);
    const firstDate = dateTimeFormat('en', { timeZone: 'UTC' });
    // every zone × 12 or 24 hours × a long or short weekday; the first 1,100
    for (let i = 0; i < 1100; i++)
      dateTimeFormat('en', {
        timeZone: zones[i % zones.length],
        hour12: Math.floor(i / zones.length) % 2 === 0,
        weekday: Math.floor(i / (2 * zones.length)) % 2 === 0 ? 'long' : 'short',
      });
    expect(dateTimeFormat('en', { timeZone: 'UTC' })).not.to.equal(firstDate);
  });
});
