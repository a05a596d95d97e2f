/**
 * Exact decimal money for the panel: amounts are bigint minor units at a fixed scale (2 for money,
 * 3 for tax rates, 4 for overage prices), parsed from and written as decimal strings. JS numbers
 * never hold money. Reading, rounding and writing are the add-on's own (module/domain/money.ts):
 * the panel reads a decimal exactly (readDecimal) and then, as MySQL does when it stores a value in
 * a DECIMAL column, rounds the extra digits (roundToScale).
 */
import { readDecimal, roundToScale, divRoundHalfUp, scaledToString } from '../../module/domain/money.js';

/**
 * "12", "12.5", "-0.75", ".5" at `scale`, extra digits rounded half away from zero, as the DECIMAL
 * column would store it. null when the text is not a plain decimal (no exponents, no thousands
 * separators) or has more than `maxIntegerDigits` whole digits.
 */
export function decimalAsStored(text: string, scale: number, maxIntegerDigits = 14): bigint | null {
  const d = readDecimal(text, maxIntegerDigits);
  return d === null ? null : roundToScale(d, scale);
}

/** Like decimalAsStored but refuses digits beyond the scale (other than zeros) instead of rounding them. */
export function decimalAtScaleExact(text: string, scale: number, maxIntegerDigits = 14): bigint | null {
  const d = readDecimal(text, maxIntegerDigits);
  if (d === null) return null;
  if (d.scale > scale && d.units % 10n ** BigInt(d.scale - scale) !== 0n) return null;
  return roundToScale(d, scale);
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
