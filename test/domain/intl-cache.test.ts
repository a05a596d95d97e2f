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
});
