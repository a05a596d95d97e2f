import { numberFormat } from './intl-cache.js';
import { invalidInput } from './errors.js';

/**
 * Money is an integer number of minor units (cents) with its currency; never a JS number.
 * Unit prices are decimal strings with up to 6 decimals, parsed once into a scaled integer.
 */
export interface Money {
  amountMinor: bigint;
  currency: string;
}

/** A decimal held exactly: value = units / 10^scale. */
export interface Decimal {
  units: bigint;
  scale: number;
}

export const RATE_SCALE = 6;

const CURRENCY = /^[A-Z]{3}$/;

// Intl formats any well-formed code ("XYZ 1.00"), so only the codes it knows count as currencies.
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function assertCurrency(code: string): string {
  if (!CURRENCY.test(code)) throw invalidInput(`"${code}" is not an ISO 4217 currency code (e.g. EUR)`);
  if (!KNOWN_CURRENCIES.has(code)) throw invalidInput(`"${code}" is not a currency`);
  return code;
}

const DIGITS = new Map<string, number>();

/** Digits after the decimal point of the currency's minor unit (EUR 2, JPY 0, BHD 3). */
export function minorDigits(currency: string): number {
  let d = DIGITS.get(currency);
  if (d === undefined) {
    d =
      numberFormat('en', { style: 'currency', currency: assertCurrency(currency) }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    DIGITS.set(currency, d);
  }
  return d;
}

/** A plain decimal as SQL and PHP write one: a sign, digits, a dot, digits (either side may be empty). */
const DECIMAL = /^([+-]?)(\d*)(\.?)(\d*)$/;

function splitDecimal(text: string): { sign: string; whole: string; dot: string; frac: string } | null {
  const m = DECIMAL.exec(text.trim());
  if (!m || (m[2] === '' && m[4] === '')) return null;
  return { sign: m[1]!, whole: m[2]!, dot: m[3]!, frac: m[4]! };
}

/**
 * Reads a decimal as MySQL and PHP accept one ("12", "-0.75", "+1", ".5", "5."), exactly: no digit
 * dropped. null when the text is not a plain decimal (no exponents, no thousands separators) or has
 * more than `maxIntegerDigits` whole digits. parseDecimal is the stricter form for the add-on's own
 * inputs, with messages; roundToScale is the separate step that drops digits.
 */
export function readDecimal(text: string, maxIntegerDigits = Number.MAX_SAFE_INTEGER): Decimal | null {
  const d = splitDecimal(text);
  if (!d || d.whole.replace(/^0+/, '').length > maxIntegerDigits) return null;
  const units = BigInt((d.whole || '0') + d.frac);
  return { units: d.sign === '-' ? -units : units, scale: d.frac.length };
}

/** Parses "0.50", "12", "0.000125" exactly; rejects more decimals than allowed, exponents, commas. */
export function parseDecimal(
  text: unknown,
  what: string,
  maxScale = RATE_SCALE,
  allowNegative = false,
): Decimal {
  if (typeof text !== 'string')
    throw invalidInput(`${what} must be a decimal number written as text, like "0.50"`);
  const m = splitDecimal(text);
  // the add-on's own inputs are written in full: no "+1", ".5" or "5."
  if (!m || m.sign === '+' || m.whole === '' || (m.dot !== '' && m.frac === ''))
    throw invalidInput(
      `${what} must be a decimal number like "0.50" (a dot, no thousands separators), not "${text}"`,
    );
  if (m.sign === '-' && !allowNegative) throw invalidInput(`${what} must not be negative`);
  if (m.frac.length > maxScale) throw invalidInput(`${what} has more than ${maxScale} decimals`);
  return readDecimal(text)!;
}

/**
 * A decimal at `scale` digits: exact when it has no more, else rounded half away from zero
 * (divRoundHalfUp), as MySQL stores a value with extra digits in a DECIMAL column.
 */
export function roundToScale(d: Decimal, scale: number): bigint {
  if (scale >= d.scale) return d.units * 10n ** BigInt(scale - d.scale);
  return divRoundHalfUp(d.units, 10n ** BigInt(d.scale - scale));
}

/** The same decimal at a larger scale (exact). */
export function rescale(d: Decimal, scale: number): bigint {
  if (scale < d.scale) throw new RangeError('cannot rescale to fewer decimals exactly');
  return d.units * 10n ** BigInt(scale - d.scale);
}

/** Parses an amount of money ("12.50") into minor units of the currency, exactly. */
export function parseMoney(text: unknown, currency: string, what = 'amount', allowNegative = false): Money {
  const digits = minorDigits(currency);
  const d = parseDecimal(text, what, digits, allowNegative);
  return { amountMinor: rescale(d, digits), currency };
}

/** numerator / denominator rounded half-up (half away from zero), exact. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (2n * n + d) / (2n * d);
  return negative ? -q : q;
}

/** numerator / denominator rounded up (for "per started block"). */
export function divCeil(numerator: bigint, denominator: bigint): bigint {
  if (numerator <= 0n) return 0n;
  return (numerator + denominator - 1n) / denominator;
}

/** A fraction as a decimal string with exactly `decimals` digits, rounded half-up. */
export function fractionToDecimalString(numerator: bigint, denominator: bigint, decimals: number): string {
  const scaled = divRoundHalfUp(numerator * 10n ** BigInt(decimals), denominator);
  return scaledToString(scaled, decimals);
}

/** 1234n, 2 → "12.34"; −5n, 2 → "-0.05" */
export function scaledToString(units: bigint, scale: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  if (scale === 0) return `${negative ? '-' : ''}${abs}`;
  const s = abs.toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

export const decimalToString = (d: Decimal): string => scaledToString(d.units, d.scale);

/** Minor units as a plain decimal string in major units: 1234n EUR → "12.34" (for the panel API and CSV). */
export const moneyToDecimalString = (m: Money): string =>
  scaledToString(m.amountMinor, minorDigits(m.currency));

/** Localised currency text, e.g. "€ 1.234,50" (nl) or "€1,234.50" (en); exact: Intl gets a decimal string. */
export function formatMoney(m: Money, locale: string): string {
  return numberFormat(locale, { style: 'currency', currency: m.currency }).format(
    moneyToDecimalString(m) as unknown as number,
  );
}

/**
 * Splits an amount into parts proportional to weights, summing exactly (largest remainder; ties go
 * to the earlier part). A negative amount (a credit) is split as its absolute value and negated, so
 * each part is rounded the same way whatever the sign.
 */
export function allocate(amountMinor: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.some((w) => w < 0n)) throw new RangeError('weights must not be negative');
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total <= 0n) throw new RangeError('weights must sum to more than zero');
  if (amountMinor < 0n) return allocate(-amountMinor, weights).map((p) => -p);
  const shares = weights.map((w) => (amountMinor * w) / total);
  const remainders = weights.map((w, i) => ({ i, r: (amountMinor * w) % total }));
  let left = amountMinor - shares.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left <= 0n) break;
    shares[i] = shares[i]! + 1n;
    left--;
  }
  return shares;
}
