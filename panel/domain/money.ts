/**
 * Exact decimal money for the panel: amounts are bigint minor units at a fixed scale (2 for money,
 * 3 for tax rates, 4 for overage prices), parsed from and written as decimal strings. JS numbers
 * never hold money. Rounding and writing are the add-on's own (module/domain/money.ts); parsing
 * here follows MySQL's DECIMAL storage (extra digits rounded), which the add-on's exact parser refuses.
 */
import { divRoundHalfUp, scaledToString } from '../../module/domain/money.js';

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * Parses "12", "12.5", "-0.75", ".5" at `scale`, rounding extra digits half away from zero as
 * MySQL does when it stores a value in a DECIMAL column. null when the text is not a plain decimal
 * (no exponents, no thousands separators) or has more than `maxIntegerDigits` whole digits.
 */
export function parseDecimal(text: string, scale: number, maxIntegerDigits = 14): bigint | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  const [, sign, whole = '', frac = ''] = m;
  if (whole === '' && frac === '') return null;
  if (whole.replace(/^0+/, '').length > maxIntegerDigits) return null;
  const kept = frac.slice(0, scale).padEnd(scale, '0');
  let minor = BigInt((whole || '0') + kept);
  const next = frac.charAt(scale);
  if (next !== '' && next >= '5') minor += 1n;
  return sign === '-' ? -minor : minor;
}

/** Like parseDecimal but refuses digits beyond the scale instead of rounding them. */
export function parseDecimalExact(text: string, scale: number, maxIntegerDigits = 14): bigint | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  if ((m[3] ?? '').replace(/0+$/, '').length > scale) return null;
  return parseDecimal(text, scale, maxIntegerDigits);
}

/** 1234n at scale 2 → "12.34"; -5n → "-0.05" (the add-on's writer: one way to write a decimal) */
export const formatDecimal = (minor: bigint, scale: number): string => scaledToString(minor, scale);

export const formatMoney = (minor: bigint): string => formatDecimal(minor, 2);

/** a × num / den, rounded half away from zero: the add-on's one rounding rule (module/domain/money.ts). */
export const mulDivHalfUp = (a: bigint, num: bigint, den: bigint): bigint => divRoundHalfUp(a * num, den);

/** A percentage held at `rateScale` decimals (e.g. 21.000% → 21000n at scale 3) of an amount. */
export const percentOf = (amountMinor: bigint, rateScaled: bigint, rateScale: number): bigint =>
  mulDivHalfUp(amountMinor, rateScaled, 100n * 10n ** BigInt(rateScale));

export const sum = (values: Iterable<bigint>): bigint => {
  let total = 0n;
  for (const v of values) total += v;
  return total;
};

export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
