import { isIsoDate, type IsoDate } from '../../module/domain/calendar.js';
import { decimalAsStored } from '../domain/money.js';
import { isPhpArray, type PhpArray, type PhpValue } from '../domain/php-params.js';
import { CommandError, MSG } from '../core/errors.js';

/**
 * Typed reads of a command's parameters (the PHP-style tree both APIs parse into). Ids follow
 * PHP's (int) cast, strictly: anything but digits reads as 0, which the commands then report as
 * "… Not Found" — WHMCS's answer for a bad id.
 */
export class Params {
  constructor(readonly tree: PhpArray) {}

  has(name: string): boolean {
    return this.tree[name] !== undefined;
  }

  /** present and not '' */
  given(name: string): boolean {
    const v = this.tree[name];
    return v !== undefined && v !== '';
  }

  str(name: string): string | undefined {
    const v = this.tree[name];
    if (v === undefined) return undefined;
    if (isPhpArray(v)) throw new CommandError(`Invalid ${name}: a single value is expected, not an array`);
    return v;
  }

  text(name: string, fallback = ''): string {
    return this.str(name) ?? fallback;
  }

  /** PHP truthiness, plus the words WHMCS admins type: 'on', 'true', 'yes'. */
  bool(name: string): boolean {
    const v = this.str(name);
    if (v === undefined) return false;
    const s = v.trim().toLowerCase();
    return !(s === '' || s === '0' || s === 'false' || s === 'off' || s === 'no');
  }

  /** 0 when absent or not a whole number */
  id(name: string): number {
    const v = this.tree[name];
    if (v === undefined || isPhpArray(v)) return 0;
    const s = v.trim();
    return /^\d{1,15}$/.test(s) ? Number(s) : 0;
  }

  /** an optional non-negative integer (limits, MB counters); a bad value is an error */
  int(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined || v.trim() === '') return undefined;
    if (!/^\d{1,15}$/.test(v.trim())) throw new CommandError(MSG.integerRequired(name));
    return Number(v.trim());
  }

  array(name: string): PhpArray | undefined {
    const v = this.tree[name];
    if (v === undefined) return undefined;
    if (!isPhpArray(v)) throw new CommandError(MSG.notAnArray(name));
    return v;
  }

  /**
   * A list parameter (`deletelineids[]`, `serviceids[]`, `unset[]`): an array, or one value read
   * as a list of that value. A client that repeats the name without brackets
   * (`deletelineids=3&deletelineids=4`) sends what PHP reads as the last value, "4".
   */
  list(name: string): PhpArray | undefined {
    const v = this.tree[name];
    if (v === undefined || isPhpArray(v)) return v;
    const one = Object.create(null) as PhpArray;
    one['0'] = v;
    return one;
  }

  date(name: string): IsoDate | undefined {
    const v = this.str(name);
    if (v === undefined || v.trim() === '') return undefined;
    return parseDate(v);
  }

  /** money at 2 decimals (half-up beyond, as a DECIMAL(16,2) column would store it) */
  money(name: string): bigint | undefined {
    const v = this.str(name);
    if (v === undefined || v.trim() === '') return undefined;
    return parseMoneyText(v);
  }
}

export function parseDate(v: string): IsoDate {
  const s = v.trim();
  if (!isIsoDate(s)) throw new CommandError(MSG.dateFormat);
  return s;
}

export function parseMoneyText(v: PhpValue | undefined): bigint {
  if (v === undefined || isPhpArray(v)) throw new CommandError(MSG.amountFormat);
  const m = decimalAsStored(v, 2, 13);
  if (m === null) throw new CommandError(MSG.amountFormat);
  return m;
}

/** A tax rate in percent, kept at 3 decimals. */
export function parseTaxRate(v: string): bigint {
  const r = decimalAsStored(v, 3, 3);
  if (r === null || r < 0n || r > 100_000n) throw new CommandError(MSG.taxRateFormat);
  return r;
}

export const phpBool = (v: PhpValue | undefined): boolean => {
  if (v === undefined || isPhpArray(v)) return false;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'false' || s === 'off' || s === 'no');
};

/** The integer keys of an array param in ascending order (line ids, new-item indexes). */
export function intKeys(arr: PhpArray, name: string): string[] {
  const keys = Object.keys(arr);
  for (const k of keys) if (!/^\d{1,15}$/.test(k)) throw new CommandError(MSG.notAnArray(name));
  return keys.sort((a, b) => Number(a) - Number(b));
}
