import { DateTime } from 'luxon';
import { ModuleError } from '../domain/errors.js';
import { storedWord } from '../domain/stored-value.js';

/**
 * Row values differ by engine: SQLite (safe integers on) gives bigint for INTEGER columns, mysql2
 * gives strings for BIGINT and DECIMAL, numbers for INT. Every store reads through these, so both
 * engines produce the same values.
 */
export function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new TypeError(`not an integer: ${String(v)}`);
}

export const toBigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : toBig(v));

export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  throw new TypeError(`not a number: ${String(v)}`);
}

export const toNumOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : toNum(v));

export const toBool = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === '1';

/**
 * DATETIME(3) columns hold UTC instants written as 'YYYY-MM-DD HH:mm:ss.SSS'. Parsed by hand:
 * a daily run reads and writes one per service, and luxon's parser dominated the profile.
 */
export function toInstant(v: unknown): DateTime {
  if (typeof v !== 'string' || v.length < 19) throw new TypeError(`not a datetime: ${String(v)}`);
  const ms = Date.parse(`${v.slice(0, 10)}T${v.slice(11)}Z`);
  if (!Number.isFinite(ms)) throw new TypeError(`not a datetime: ${v}`);
  return DateTime.fromMillis(ms, { zone: 'utc' });
}

export const toInstantOrNull = (v: unknown): DateTime | null =>
  v === null || v === undefined ? null : toInstant(v);

export const sqlInstant = (t: DateTime): string => {
  const iso = new Date(t.toMillis()).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
};

/** DATE columns: SQLite stores the text, mysql2 with dateStrings gives it back as text. */
export function toDate(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`not a date: ${String(v)}`);
  return v.slice(0, 10);
}

export const toDateOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : toDate(v));

/** Bigints go to the database as decimal strings: both drivers bind them exactly. */
export const sqlBig = (v: bigint): string => v.toString();
export const sqlBigOrNull = (v: bigint | null): string | null => (v === null ? null : v.toString());

/** TEXT and VARCHAR columns: both drivers give a string; anything else was not written by the module. */
export function toText(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`not text: ${String(v)}`);
  return v;
}

export const toTextOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : toText(v));

/** A column the module writes as JSON text (JSON.stringify). */
export const toJson = (v: unknown): unknown => JSON.parse(toText(v));

export const toJsonOrNull = (v: unknown): unknown => (v === null || v === undefined ? null : toJson(v));

/**
 * One column of a stored row read with one of the parsers above: a value it refuses is reported as
 * UNEXPECTED_STATE naming the table's column (the row was changed by hand, or by another version),
 * instead of a bare TypeError far from the row. `secret`: the value is not repeated in the message.
 */
export function column<T>(
  row: Record<string, unknown>,
  table: string,
  name: string,
  parse: (v: unknown) => T,
  opts: { secret?: boolean } = {},
): T {
  try {
    return parse(row[name]);
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'UNEXPECTED_STATE') throw err;
    const v = row[name];
    const shown = opts.secret ? 'a value' : typeof v === 'bigint' ? v.toString() : JSON.stringify(v ?? null);
    throw new ModuleError(
      'UNEXPECTED_STATE',
      `${table}.${name} holds ${shown}, which the module cannot read: ${opts.secret ? 'not sealed text' : (err as Error).message}`,
      { column: `${table}.${name}` },
    );
  }
}

/**
 * Reads one stored row of `table` column by column with the parsers above (through `column`): a
 * value a parser refuses (text in a number column, a word outside its set) is reported as
 * UNEXPECTED_STATE naming `table.column`, so a row changed by hand is found from the message alone.
 */
export function rowReader(table: string, row: Record<string, unknown>) {
  const at = <T>(name: string, parse: (v: unknown) => T): T => column(row, table, name, parse);
  const orNull =
    <T>(parse: (v: unknown) => T) =>
    (v: unknown): T | null =>
      v === null || v === undefined ? null : parse(v);
  return {
    at,
    num: (c: string) => at(c, toWholeNumber),
    numOrNull: (c: string) => at(c, orNull(toWholeNumber)),
    big: (c: string) => at(c, toBig),
    bigOrNull: (c: string) => at(c, orNull(toBig)),
    str: (c: string) => at(c, toText),
    strOrNull: (c: string) => at(c, toTextOrNull),
    bool: (c: string) => at(c, toBool),
    instant: (c: string) => at(c, toInstant),
    instantOrNull: (c: string) => at(c, toInstantOrNull),
    date: (c: string) => at(c, toDate),
    word: <const T extends string>(allowed: readonly T[], c: string): T =>
      storedWord(allowed, row[c], `${table}.${c}`),
    json: (c: string): unknown => at(c, toJson),
  };
}

export type RowReader = ReturnType<typeof rowReader>;

/** A whole number a JS number holds exactly (ids, counts, percentages). */
export function toWholeNumber(v: unknown): number {
  const n = typeof v === 'string' && !/^-?\d+$/.test(v.trim()) ? NaN : toNum(v);
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a whole number: ${String(v)}`);
  return n;
}
/**
 * The readers above for one column of a stored row, naming the column when the value is not what
 * the column holds (UNEXPECTED_STATE, as storedWord does for words): a value changed by hand is
 * reported where it enters the code, not as NaN or a bare TypeError further on.
 */
export function storedValueError(column: string, value: unknown, what: string): ModuleError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new ModuleError('UNEXPECTED_STATE', `${column} holds ${shown}, which is not ${what}`, {
    column,
    value: String(value),
  });
}

const INTEGER = /^-?\d+$/;

export function bigIn(v: unknown, column: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && INTEGER.test(v)) return BigInt(v);
  throw storedValueError(column, v, 'an integer');
}

export const bigOrNullIn = (v: unknown, column: string): bigint | null =>
  v === null || v === undefined ? null : bigIn(v, column);

/** MySQL sums a BIGINT column into a DECIMAL (a string, maybe with ".0"), SQLite into an integer; no rows sum to 0. */
export function sumIn(v: unknown, column: string): bigint {
  if (v === null || v === undefined) return 0n;
  return bigIn(typeof v === 'string' ? v.replace(/\.0+$/, '') : v, column);
}

/** An id or a count: an integer JavaScript holds exactly. */
export function intIn(v: unknown, column: string): number {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'bigint' || (typeof v === 'string' && INTEGER.test(v))
        ? Number(v)
        : NaN;
  // a bigint or digits past 2^53 − 1 convert to an unsafe number: refused, never rounded
  if (Number.isSafeInteger(n)) return n;
  throw storedValueError(column, v, 'an integer');
}

export const intOrNullIn = (v: unknown, column: string): number | null =>
  v === null || v === undefined ? null : intIn(v, column);

export function textIn(v: unknown, column: string): string {
  if (typeof v === 'string') return v;
  throw storedValueError(column, v, 'text');
}

export const textOrNullIn = (v: unknown, column: string): string | null =>
  v === null || v === undefined ? null : textIn(v, column);

const DAY = /^\d{4}-\d{2}-\d{2}/;

export function dateIn(v: unknown, column: string): string {
  if (typeof v === 'string' && DAY.test(v)) return v.slice(0, 10);
  throw storedValueError(column, v, 'a date');
}

export const dateOrNullIn = (v: unknown, column: string): string | null =>
  v === null || v === undefined ? null : dateIn(v, column);

export function instantIn(v: unknown, column: string): DateTime {
  if (typeof v === 'string' && v.length >= 19) {
    const ms = Date.parse(`${v.slice(0, 10)}T${v.slice(11)}Z`);
    if (Number.isFinite(ms)) return DateTime.fromMillis(ms, { zone: 'utc' });
  }
  throw storedValueError(column, v, 'a datetime');
}

export const instantOrNullIn = (v: unknown, column: string): DateTime | null =>
  v === null || v === undefined ? null : instantIn(v, column);
