import { invalidInput } from './errors.js';
import { divRoundHalfUp } from './money.js';

/** Units a product may sell traffic in. GB/TB are decimal (10^9, 10^12); GiB/TiB binary. */
export type ByteUnit = 'B' | 'KB' | 'MB' | 'GB' | 'TB' | 'KiB' | 'MiB' | 'GiB' | 'TiB' | 'PiB' | 'PB';

export const UNIT_BYTES: Record<ByteUnit, bigint> = {
  B: 1n,
  KB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n,
  PB: 1000n ** 5n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
};

export const isByteUnit = (u: string): u is ByteUnit => Object.hasOwn(UNIT_BYTES, u);

const UNSIGNED_INT = /^\d+$/;

/** Parses a non-negative integer given as a string, number or bigint; never through a float. */
export function parseUnsignedBig(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw invalidInput(`${what} must not be negative`, { value: value.toString() });
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalidInput(`${what} must be a non-negative whole number`, { value });
    }
    return BigInt(value);
  }
  if (typeof value === 'string') {
    const s = value.trim();
    if (!UNSIGNED_INT.test(s)) throw invalidInput(`${what} must be a non-negative whole number`, { value });
    return BigInt(s);
  }
  throw invalidInput(`${what} is missing`, { value: String(value) });
}

/** Parses a signed integer string (SolusVM's `free` can go negative). */
export function parseSignedBig(value: unknown, what: string): bigint {
  if (typeof value === 'string' && /^-\d+$/.test(value.trim()))
    return -parseUnsignedBig(value.trim().slice(1), what);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value < 0) return BigInt(value);
  return parseUnsignedBig(value, what);
}

/**
 * Parses an amount of bytes written with a unit, e.g. "5 TB", "1.5TiB", "500000000000", "750 GB".
 * Decimal fractions are allowed only where they land on a whole byte.
 */
export function parseByteAmount(text: string): bigint {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) throw invalidInput(`"${text}" is not an amount of bytes (try "5 TB" or "750 GiB")`);
  const unitText = m[3] || 'B';
  const unit = (Object.keys(UNIT_BYTES) as ByteUnit[]).find(
    (u) => u.toLowerCase() === unitText.toLowerCase(),
  );
  if (!unit)
    throw invalidInput(`"${unitText}" is not a unit; use one of ${Object.keys(UNIT_BYTES).join(', ')}`);
  const whole = BigInt(m[1] ?? '0');
  const frac = m[2] ?? '';
  const scale = 10n ** BigInt(frac.length);
  const numerator = (whole * scale + (frac ? BigInt(frac) : 0n)) * UNIT_BYTES[unit];
  if (numerator % scale !== 0n) throw invalidInput(`"${text}" is not a whole number of bytes`);
  return numerator / scale;
}

/**
 * Exact decimal rendering of bytes in a unit, with a fixed number of decimals, rounded half-up.
 * Returns a plain "6.000"-style string; locale formatting happens in presenters.
 */
export function bytesInUnit(bytes: bigint, unit: ByteUnit, decimals = 3): string {
  const negative = bytes < 0n;
  const abs = negative ? -bytes : bytes;
  const scale = 10n ** BigInt(decimals);
  const per = UNIT_BYTES[unit];
  const scaled = divRoundHalfUp(abs * scale, per);
  const whole = scaled / scale;
  const frac = (scaled % scale).toString().padStart(decimals, '0');
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? '.' + frac : ''}`;
}

/** "6.000 TB" — used in logs and CLI output; client text goes through the locale presenters. */
export const formatBytes = (bytes: bigint, unit: ByteUnit, decimals = 3): string =>
  `${bytesInUnit(bytes, unit, decimals)} ${unit}`;

/** Picks a readable decimal unit for a CLI summary. */
export function humanBytes(bytes: bigint): string {
  const order: ByteUnit[] = ['PB', 'TB', 'GB', 'MB', 'KB'];
  for (const u of order) if (bytes >= UNIT_BYTES[u]) return formatBytes(bytes, u, 2);
  return `${bytes} B`;
}

/**
 * Integer percentage of used over total, rounded half away from zero (money.ts divRoundHalfUp);
 * null when total is 0 (unlimited).
 */
export function percentOf(used: bigint, total: bigint): bigint | null {
  if (total <= 0n) return null;
  return divRoundHalfUp(used * 100n, total);
}
