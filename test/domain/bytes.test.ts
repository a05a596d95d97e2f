import { expect } from 'chai';
import {
  bytesInUnit,
  formatBytes,
  humanBytes,
  isByteUnit,
  parseByteAmount,
  parseSignedBig,
  parseUnsignedBig,
  percentOf,
  UNIT_BYTES,
} from '../../module/domain/bytes.js';

describe('bytes', () => {
  it('knows decimal and binary units', () => {
    expect(UNIT_BYTES.GB).to.equal(1_000_000_000n);
    expect(UNIT_BYTES.TB).to.equal(1_000_000_000_000n);
    expect(UNIT_BYTES.GiB).to.equal(1_073_741_824n);
    expect(UNIT_BYTES.TiB).to.equal(1_099_511_627_776n);
    expect(isByteUnit('TiB')).to.equal(true);
    expect(isByteUnit('tib')).to.equal(false);
    expect(isByteUnit('toString')).to.equal(false);
  });

  it('parses amounts with a unit, exactly', () => {
    expect(parseByteAmount('5 TB')).to.equal(5_000_000_000_000n);
    expect(parseByteAmount('5TB')).to.equal(5_000_000_000_000n);
    expect(parseByteAmount('5 tb')).to.equal(5_000_000_000_000n);
    expect(parseByteAmount('1.5TiB')).to.equal(1_649_267_441_664n);
    expect(parseByteAmount(' 750 GiB ')).to.equal(750n * 1_073_741_824n);
    expect(parseByteAmount('500000000000')).to.equal(500_000_000_000n);
    expect(parseByteAmount('0.5 KB')).to.equal(500n);
    expect(parseByteAmount('1.5 KiB')).to.equal(1536n);
    expect(parseByteAmount('1.000 B')).to.equal(1n);
    expect(parseByteAmount('0.000000000001 TB')).to.equal(1n);
    // beyond 2^53 bytes
    expect(parseByteAmount('12345678.901234 PB')).to.equal(12_345_678_901_234_000_000_000n);
  });

  it('refuses a fraction of a byte rather than rounding it', () => {
    expect(() => parseByteAmount('1.5 B')).to.throw(/not a whole number of bytes/);
    expect(() => parseByteAmount('1.1 KiB')).to.throw(/not a whole number of bytes/); // 1126.4 bytes
    expect(() => parseByteAmount('0.0000000000001 TB')).to.throw(/not a whole number of bytes/);
  });

  it('refuses what is not an amount', () => {
    expect(() => parseByteAmount('five TB')).to.throw(/not an amount of bytes/);
    expect(() => parseByteAmount('-5 TB')).to.throw(/not an amount of bytes/);
    expect(() => parseByteAmount('1,5 TB')).to.throw(/not an amount of bytes/);
    expect(() => parseByteAmount('')).to.throw(/not an amount of bytes/);
    expect(() => parseByteAmount('5 XB')).to.throw(
      '"XB" is not a unit; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB',
    );
  });

  it('renders bytes in a unit with 3 decimals by default, rounded half-up, on both signs', () => {
    expect(bytesInUnit(6_000_000_000_000n, 'TB')).to.equal('6.000');
    expect(bytesInUnit(1n, 'TB')).to.equal('0.000');
    expect(bytesInUnit(499_999_999n, 'TB')).to.equal('0.000');
    expect(bytesInUnit(500_000_000n, 'TB')).to.equal('0.001');
    expect(bytesInUnit(-500_000_000n, 'TB')).to.equal('-0.001');
    // no bytes are no bytes, not "-0"
    expect(bytesInUnit(0n, 'TB')).to.equal('0.000');
  });

  it('renders binary units and huge counts exactly', () => {
    expect(bytesInUnit(1_073_741_824n, 'GiB')).to.equal('1.000');
    expect(bytesInUnit(UNIT_BYTES.TiB / 2n, 'TiB')).to.equal('0.500');
    expect(bytesInUnit(1_000_000_000_000_000_000_000_000n, 'TB')).to.equal('1000000000000.000');
  });

  it('renders whole units with 0 decimals, halves up', () => {
    expect(bytesInUnit(1_500_000_000n, 'GB', 0)).to.equal('2');
    expect(bytesInUnit(2_500_000_000n, 'GB', 0)).to.equal('3');
    expect(bytesInUnit(2_499_999_999n, 'GB', 0)).to.equal('2');
  });

  it('names the unit for logs, and picks a readable one for CLI summaries', () => {
    expect(formatBytes(6_000_000_000_000n, 'TB')).to.equal('6.000 TB');
    expect(humanBytes(1_234_000_000n)).to.equal('1.23 GB');
    expect(humanBytes(999n)).to.equal('999 B');
    // exactly 1 GB is 1 GB, not 1000 MB
    expect(humanBytes(1_000_000_000n)).to.equal('1.00 GB');
  });

  it('parses counters without a float', () => {
    expect(parseUnsignedBig('18446744073709551615', 'used')).to.equal(18446744073709551615n);
    expect(parseUnsignedBig(' 12 ', 'used')).to.equal(12n);
    expect(parseUnsignedBig(12, 'used')).to.equal(12n);
    expect(() => parseUnsignedBig(2 ** 53, 'used')).to.throw(/whole number/);
    expect(() => parseUnsignedBig(1.5, 'used')).to.throw(/whole number/);
    expect(() => parseUnsignedBig('-1', 'used')).to.throw(/whole number/);
    expect(() => parseUnsignedBig(-1n, 'used')).to.throw(/must not be negative/);
    expect(() => parseUnsignedBig(null, 'used')).to.throw(/used is missing/);
    expect(parseSignedBig('-5', 'free')).to.equal(-5n);
    expect(parseSignedBig(-5, 'free')).to.equal(-5n);
    expect(parseSignedBig('5', 'free')).to.equal(5n);
    expect(parseSignedBig(' -12 ', 'free')).to.equal(-12n);
    expect(parseUnsignedBig(0n, 'used')).to.equal(0n);
    expect(parseUnsignedBig(0, 'used')).to.equal(0n);
    expect(() => parseUnsignedBig(-1, 'used')).to.throw(/used must be a non-negative whole number/);
  });

  it('names the value it refused, as it was given', () => {
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { details?: unknown }).details;
      }
      return 'accepted';
    };
    expect(refused(() => parseUnsignedBig(-1n, 'used'))).to.deep.equal({ value: '-1' });
    expect(refused(() => parseUnsignedBig(-1, 'used'))).to.deep.equal({ value: -1 });
    expect(refused(() => parseUnsignedBig(' 1x ', 'used'))).to.deep.equal({ value: ' 1x ' });
    expect(refused(() => parseUnsignedBig(undefined, 'used'))).to.deep.equal({ value: 'undefined' });
    // SolusVM's free: a minus only in front of digits, nothing after them
    expect(refused(() => parseSignedBig('-5x', 'free'))).to.deep.equal({ value: '-5x' });
    expect(refused(() => parseSignedBig('x-5', 'free'))).to.deep.equal({ value: 'x-5' });
  });

  it('gives whole percentages, half-up, and none for an unlimited total', () => {
    expect(percentOf(80n, 100n)).to.equal(80n);
    expect(percentOf(1n, 3n)).to.equal(33n);
    expect(percentOf(2n, 3n)).to.equal(67n);
    expect(percentOf(1n, 200n)).to.equal(1n);
    expect(percentOf(0n, 0n)).to.equal(null);
  });

  it('rounds a negative percentage half away from zero, as money is rounded (divRoundHalfUp)', () => {
    // −3 of 250 = −1.2 % → −1 (the inline (2x + d) / 2d gave 0: it truncated −0.7 towards zero)
    expect(percentOf(-3n, 250n)).to.equal(-1n);
    // −3 of 200 = −1.5 % → −2, as +1.5 % → 2
    expect(percentOf(-3n, 200n)).to.equal(-2n);
    expect(percentOf(3n, 200n)).to.equal(2n);
  });

  // survivors of the mutation run (issue 13)
  it('refuses a negative free count that is not a whole number, naming it, as for any other bad value', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        const err = e as { code?: string; message: string; details?: unknown };
        return { code: err.code, message: err.message, details: err.details };
      }
      return 'accepted';
    };
    expect(refusal(() => parseSignedBig(-1.5, 'free'))).to.deep.equal({
      code: 'INVALID_INPUT',
      message: 'free must be a non-negative whole number',
      details: { value: -1.5 },
    });
    // -2^60 is a whole number as a float, but no longer exact: refused, never read through the float
    expect(refusal(() => parseSignedBig(-(2 ** 60), 'free'))).to.deep.equal({
      code: 'INVALID_INPUT',
      message: 'free must be a non-negative whole number',
      details: { value: -(2 ** 60) },
    });
    expect(refusal(() => parseSignedBig('-1.5', 'free'))).to.deep.equal({
      code: 'INVALID_INPUT',
      message: 'free must be a non-negative whole number',
      details: { value: '-1.5' },
    });
  });

  it('picks each readable unit for CLI summaries, from KB to PB', () => {
    expect(humanBytes(2_500_000_000_000_000n)).to.equal('2.50 PB');
    expect(humanBytes(6_000_000_000_000n)).to.equal('6.00 TB');
    expect(humanBytes(1_500_000n)).to.equal('1.50 MB');
    expect(humanBytes(1_000n)).to.equal('1.00 KB');
  });
});
