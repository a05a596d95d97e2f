import { expect } from 'chai';
import {
  allocate,
  assertCurrency,
  decimalToString,
  divCeil,
  divRoundHalfUp,
  formatMoney,
  fractionToDecimalString,
  minorDigits,
  moneyToDecimalString,
  parseDecimal,
  readDecimal,
  roundToScale,
  parseMoney,
  rescale,
  scaledToString,
} from '../../module/domain/money.js';

const NBSP = '\u00a0';

describe('money: decimals', () => {
  it('parses decimal strings exactly, keeping their scale', () => {
    expect(parseDecimal('0.50', 'rate')).to.deep.equal({ units: 50n, scale: 2 });
    expect(parseDecimal('12', 'rate')).to.deep.equal({ units: 12n, scale: 0 });
    expect(parseDecimal('0.000125', 'rate')).to.deep.equal({ units: 125n, scale: 6 });
    expect(parseDecimal(' 1.5 ', 'rate')).to.deep.equal({ units: 15n, scale: 1 });
    expect(parseDecimal('007.10', 'rate')).to.deep.equal({ units: 710n, scale: 2 });
    // far beyond 2^53: still exact
    expect(parseDecimal('123456789012345678901234.123456', 'rate').units).to.equal(
      123456789012345678901234123456n,
    );
  });

  it('refuses what is not a plain decimal, with the name of the field', () => {
    for (const bad of [
      '1,5',
      '.5',
      '5.',
      '1e3',
      '+1',
      '0x10',
      '',
      ' ',
      '1 000',
      '１',
      'NaN',
      'Infinity',
      '1.2.3',
    ]) {
      expect(() => parseDecimal(bad, 'the rate'), bad).to.throw(/the rate must be a decimal number/);
    }
    expect(() => parseDecimal(0.5, 'the rate')).to.throw(/written as text/);
    expect(() => parseDecimal(undefined, 'the rate')).to.throw(/written as text/);
    expect(() => parseDecimal('1.1234567', 'the rate')).to.throw(/more than 6 decimals/);
    expect(() => parseDecimal('1.123', 'x', 2)).to.throw(/more than 2 decimals/);
  });

  it('reads a decimal as MySQL and PHP write one, exactly, and rounds to a scale only as a second step', () => {
    // the forms parseDecimal refuses for the add-on's own inputs
    expect(readDecimal('+1')).to.deep.equal({ units: 1n, scale: 0 });
    expect(readDecimal('.5')).to.deep.equal({ units: 5n, scale: 1 });
    expect(readDecimal('5.')).to.deep.equal({ units: 5n, scale: 0 });
    expect(readDecimal(' -1.005 ')).to.deep.equal({ units: -1005n, scale: 3 });
    for (const bad of ['', '.', '+', '-', '1e3', '1,5', '1.2.3', '--1', '0x10'])
      expect(readDecimal(bad), bad).to.equal(null);
    // whole digits counted without leading zeros: 15 refused at 14, 0000012 is 2
    expect(readDecimal('123456789012345.5', 14)).to.equal(null);
    expect(readDecimal('0000012.5', 2)).to.deep.equal({ units: 125n, scale: 1 });
    // 1.005 at 2 decimals: 100.5 hundredths → 101 (half away from zero), −1.005 → −101; 1.004 → 100
    expect(roundToScale({ units: 1005n, scale: 3 }, 2)).to.equal(101n);
    expect(roundToScale({ units: -1005n, scale: 3 }, 2)).to.equal(-101n);
    expect(roundToScale({ units: 1004n, scale: 3 }, 2)).to.equal(100n);
    // 99.995 → 100.00 (the carry reaches the whole digits); 0.5 at 2 decimals → 0.50 (exact)
    expect(roundToScale({ units: 99995n, scale: 3 }, 2)).to.equal(10000n);
    expect(roundToScale({ units: 5n, scale: 1 }, 2)).to.equal(50n);
    // 1.0049 → 1.00: only half or more of the last kept digit goes up
    expect(roundToScale({ units: 10049n, scale: 4 }, 2)).to.equal(100n);
  });

  it('takes a sign only when asked', () => {
    expect(() => parseDecimal('-1', 'the rate')).to.throw(/must not be negative/);
    expect(parseDecimal('-0.5', 'delta', 6, true)).to.deep.equal({ units: -5n, scale: 1 });
    expect(parseDecimal('-0.00', 'delta', 6, true).units).to.equal(0n);
  });

  it('rescales exactly and renders back', () => {
    expect(rescale({ units: 5n, scale: 1 }, 6)).to.equal(500000n);
    // 0.005 has no exact value in hundredths: refused by name, not by BigInt's negative exponent
    expect(() => rescale({ units: 5n, scale: 3 }, 2)).to.throw(
      RangeError,
      'cannot rescale to fewer decimals exactly',
    );
    expect(scaledToString(1234n, 2)).to.equal('12.34');
    expect(scaledToString(5n, 2)).to.equal('0.05');
    expect(scaledToString(-5n, 2)).to.equal('-0.05');
    expect(scaledToString(-1234n, 0)).to.equal('-1234');
    expect(decimalToString(parseDecimal('0.000125', 'r'))).to.equal('0.000125');
    expect(fractionToDecimalString(1n, 3n, 6)).to.equal('0.333333');
    expect(fractionToDecimalString(2n, 3n, 6)).to.equal('0.666667');
    expect(fractionToDecimalString(1n, 8n, 2)).to.equal('0.13');
    expect(fractionToDecimalString(-1n, 8n, 2)).to.equal('-0.13');
  });
});

describe('money: amounts', () => {
  it('knows the minor unit of each currency', () => {
    expect(minorDigits('EUR')).to.equal(2);
    expect(minorDigits('USD')).to.equal(2);
    expect(minorDigits('JPY')).to.equal(0);
    expect(minorDigits('BHD')).to.equal(3);
    expect(minorDigits('KWD')).to.equal(3);
  });

  it('refuses codes that are not currencies', () => {
    expect(assertCurrency('EUR')).to.equal('EUR');
    expect(() => assertCurrency('eur')).to.throw(/not an ISO 4217 currency code/);
    expect(() => assertCurrency('EURO')).to.throw(/not an ISO 4217 currency code/);
    expect(() => assertCurrency('XYZ')).to.throw(/"XYZ" is not a currency/);
    expect(() => minorDigits('XYZ')).to.throw(/not a currency/);
  });

  it('parses money into minor units of its currency', () => {
    expect(parseMoney('12.5', 'EUR')).to.deep.equal({ amountMinor: 1250n, currency: 'EUR' });
    expect(parseMoney('12', 'EUR').amountMinor).to.equal(1200n);
    expect(parseMoney('100', 'JPY').amountMinor).to.equal(100n);
    expect(parseMoney('1.234', 'BHD').amountMinor).to.equal(1234n);
    expect(parseMoney('-3.10', 'EUR', 'credit', true).amountMinor).to.equal(-310n);
    expect(() => parseMoney('12.345', 'EUR', 'the cap')).to.throw(/the cap has more than 2 decimals/);
    expect(() => parseMoney('100.5', 'JPY', 'the cap')).to.throw(/more than 0 decimals/);
    expect(() => parseMoney('-1', 'EUR', 'the cap')).to.throw(/must not be negative/);
    // unnamed, the field is called "amount" in the message
    expect(() => parseMoney('12,50', 'EUR')).to.throw(/^amount must be a decimal number/);
    expect(moneyToDecimalString({ amountMinor: 1234n, currency: 'EUR' })).to.equal('12.34');
    expect(moneyToDecimalString({ amountMinor: 1234n, currency: 'JPY' })).to.equal('1234');
    expect(moneyToDecimalString({ amountMinor: 5n, currency: 'BHD' })).to.equal('0.005');
  });

  it('rounds halves away from zero, on both signs', () => {
    expect(divRoundHalfUp(5n, 2n)).to.equal(3n);
    expect(divRoundHalfUp(3n, 2n)).to.equal(2n);
    expect(divRoundHalfUp(1n, 2n)).to.equal(1n);
    expect(divRoundHalfUp(-5n, 2n)).to.equal(-3n);
    expect(divRoundHalfUp(5n, -2n)).to.equal(-3n);
    expect(divRoundHalfUp(-5n, -2n)).to.equal(3n);
    expect(divRoundHalfUp(-1n, 2n)).to.equal(-1n);
  });

  it('rounds below a half down and from a half up, on both signs (2.49 → 2, 2.50 → 3)', () => {
    expect(divRoundHalfUp(249n, 100n)).to.equal(2n);
    expect(divRoundHalfUp(250n, 100n)).to.equal(3n);
    expect(divRoundHalfUp(-249n, 100n)).to.equal(-2n);
    expect(divRoundHalfUp(-250n, 100n)).to.equal(-3n);
    expect(divRoundHalfUp(4n, 3n)).to.equal(1n);
    expect(divRoundHalfUp(5n, 3n)).to.equal(2n);
  });

  it('keeps zero and numbers past 2^53 exact, and refuses a division by zero', () => {
    expect(divRoundHalfUp(0n, 7n)).to.equal(0n);
    expect(divRoundHalfUp(2n ** 80n + 1n, 2n)).to.equal(2n ** 79n + 1n);
    expect(() => divRoundHalfUp(1n, 0n)).to.throw(RangeError, 'division by zero');
  });

  it('rounds up for started blocks', () => {
    expect(divCeil(1n, 10n)).to.equal(1n);
    expect(divCeil(10n, 10n)).to.equal(1n);
    expect(divCeil(11n, 10n)).to.equal(2n);
    expect(divCeil(0n, 10n)).to.equal(0n);
    expect(divCeil(-5n, 10n)).to.equal(0n);
    // no started block in a negative amount: 0, not (-25 + 9) / 10 = -1
    expect(divCeil(-25n, 10n)).to.equal(0n);
  });

  it('formats money per locale, exactly, however big', () => {
    const big = { amountMinor: 123456789012345678901n, currency: 'EUR' };
    expect(formatMoney(big, 'en-GB')).to.equal('€1,234,567,890,123,456,789.01');
    expect(formatMoney(big, 'nl-NL')).to.equal(`€${NBSP}1.234.567.890.123.456.789,01`);
    expect(formatMoney({ amountMinor: 2n ** 53n + 1n, currency: 'EUR' }, 'en-GB')).to.equal(
      '€90,071,992,547,409.93',
    );
    expect(formatMoney({ amountMinor: 50n, currency: 'EUR' }, 'en-GB')).to.equal('€0.50');
    expect(formatMoney({ amountMinor: 50n, currency: 'EUR' }, 'nl-BE')).to.equal(`€${NBSP}0,50`);
    expect(formatMoney({ amountMinor: -525n, currency: 'EUR' }, 'en-GB')).to.equal('-€5.25');
    expect(formatMoney({ amountMinor: 2001n, currency: 'JPY' }, 'en-GB')).to.equal('JP¥2,001');
    expect(formatMoney({ amountMinor: 1234n, currency: 'BHD' }, 'nl-NL')).to.equal(`BHD${NBSP}1,234`);
  });
});

describe('money: allocate', () => {
  it('splits by weight so that the parts sum exactly', () => {
    expect(allocate(100n, [1n, 1n, 1n])).to.deep.equal([34n, 33n, 33n]);
    expect(allocate(10n, [1n, 2n, 3n, 4n])).to.deep.equal([1n, 2n, 3n, 4n]);
    expect(allocate(5n, [1n, 1n])).to.deep.equal([3n, 2n]);
    expect(allocate(7n, [0n, 1n, 0n])).to.deep.equal([0n, 7n, 0n]);
    expect(allocate(0n, [3n, 1n])).to.deep.equal([0n, 0n]);
    // the largest remainder wins, not the first part
    expect(allocate(2n, [1n, 3n, 3n])).to.deep.equal([0n, 1n, 1n]);
  });

  it('splits a negative amount (a credit) the same way, negated', () => {
    expect(allocate(-100n, [1n, 1n, 1n])).to.deep.equal([-34n, -33n, -33n]);
    expect(allocate(-10n, [1n, 1n, 1n]).reduce((a, b) => a + b, 0n)).to.equal(-10n);
  });

  it('refuses weights that cannot split anything', () => {
    expect(() => allocate(10n, [])).to.throw(RangeError);
    expect(() => allocate(10n, [0n, 0n])).to.throw(RangeError, 'weights must sum to more than zero');
    expect(() => allocate(10n, [2n, -1n])).to.throw(/must not be negative/);
  });
});
