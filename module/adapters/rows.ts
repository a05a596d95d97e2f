import { DateTime } from 'luxon';
import { storedValueError, storedWord } from '../domain/stored-value.js';
import type { Logger } from './logger.js';

export { storedValueError };

/**
 * Row values differ by engine: SQLite (safe integers on) gives bigint for INTEGER columns, mysql2
 * gives strings for BIGINT and DECIMAL, numbers for INT. Every store reads through the checks below,
 * so both engines produce the same values. Each check exists once and is used two ways: `xIn(v,
 * column)` names the table's column when the value is refused (storedValueError: "T.c holds V, which
 * is not …"), `toX(v)` throws a bare TypeError for values that come from no one column (a count, a
 * sum in a service's own query).
 */
const INTEGER = /^-?\d+$/;
const DAY = /^\d{4}-\d{2}-\d{2}/;

/** A reader of one stored column: the value, and `table.column` to name in a refusal. */
export type ColumnParser<T> = (v: unknown, column: string) => T;

/** The same reader for a column that may be NULL. */
export const orNull =
  <T>(parse: ColumnParser<T>): ColumnParser<T | null> =>
  (v, column) =>
    v === null || v === undefined ? null : parse(v, column);

/** An integer as bigint, exact past 2^53; undefined when the value is none. */
function asBig(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && INTEGER.test(v)) return BigInt(v);
  return undefined;
}

/** An integer a JS number holds exactly: a bigint or digits past 2^53 − 1 are refused, never rounded. */
function asInt(v: unknown): number | undefined {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'bigint' || (typeof v === 'string' && INTEGER.test(v))
        ? Number(v)
        : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * DATETIME(3) columns hold UTC instants written as 'YYYY-MM-DD HH:mm:ss.SSS'. Parsed by hand:
 * a daily run reads and writes one per service, and luxon's parser dominated the profile.
 */
function asInstant(v: unknown): DateTime | undefined {
  if (typeof v !== 'string' || v.length < 19) return undefined;
  const ms = Date.parse(`${v.slice(0, 10)}T${v.slice(11)}Z`);
  return Number.isFinite(ms) ? DateTime.fromMillis(ms, { zone: 'utc' }) : undefined;
}

/**
 * DATE columns: SQLite stores the text, mysql2 with dateStrings gives it back as text. A day of the
 * calendar only: MariaDB's zero date (0000-00-00, let in by a lax sql_mode) or a 13th month or a
 * 31 June edited in by hand is no date, and every figure counted by days would be wrong from it.
 */
function asDate(v: unknown): string | undefined {
  if (typeof v !== 'string' || !DAY.test(v)) return undefined;
  const y = Number(v.slice(0, 4));
  const m = Number(v.slice(5, 7));
  const d = Number(v.slice(8, 10));
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const last = m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= last ? v.slice(0, 10) : undefined;
}

/** A JSON text the module wrote (JSON.stringify); undefined when it is not one. */
function asJson(v: unknown): { value: unknown } | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return { value: JSON.parse(v) as unknown };
  } catch {
    return undefined;
  }
}

// --- values named by their column (stored rows) ---

export function bigIn(v: unknown, column: string): bigint {
  const b = asBig(v);
  if (b === undefined) throw storedValueError(column, v, 'an integer');
  return b;
}

export const bigOrNullIn = orNull(bigIn);

/** MySQL sums a BIGINT column into a DECIMAL (a string, maybe with ".0"), SQLite into an integer; no rows sum to 0. */
export function sumIn(v: unknown, column: string): bigint {
  if (v === null || v === undefined) return 0n;
  return bigIn(typeof v === 'string' ? v.replace(/\.0+$/, '') : v, column);
}

/** An id, a count or a percentage: an integer JavaScript holds exactly. */
export function intIn(v: unknown, column: string): number {
  const n = asInt(v);
  if (n === undefined) throw storedValueError(column, v, 'an integer');
  return n;
}

export const intOrNullIn = orNull(intIn);

/** TEXT and VARCHAR columns: both drivers give a string; anything else was not written by the module. */
export function textIn(v: unknown, column: string): string {
  if (typeof v === 'string') return v;
  throw storedValueError(column, v, 'text');
}

export const textOrNullIn = orNull(textIn);

/** Sealed secrets (keys, tokens): a refusal names the column but never repeats what it holds. */
export function sealedIn(v: unknown, column: string): string {
  if (typeof v === 'string') return v;
  throw storedValueError(column, v, 'sealed text', { secret: true });
}

export const sealedOrNullIn = orNull(sealedIn);

export function dateIn(v: unknown, column: string): string {
  const d = asDate(v);
  if (d === undefined) throw storedValueError(column, v, 'a date');
  return d;
}

export const dateOrNullIn = orNull(dateIn);

export function instantIn(v: unknown, column: string): DateTime {
  const t = asInstant(v);
  if (t === undefined) throw storedValueError(column, v, 'a datetime');
  return t;
}

export const instantOrNullIn = orNull(instantIn);

/** A column the module writes as JSON text (JSON.stringify). */
export function jsonIn(v: unknown, column: string): unknown {
  const j = asJson(v);
  if (j === undefined) throw storedValueError(column, v, 'JSON');
  return j.value;
}

export const jsonOrNullIn = orNull(jsonIn);

/** A list of integers the module wrote as JSON decimal strings (`sqlBigList`). */
export function bigListIn(v: unknown, column: string): bigint[] {
  const j = asJson(v);
  const list = j !== undefined && Array.isArray(j.value) ? j.value.map(asBig) : undefined;
  if (list === undefined || list.some((b) => b === undefined))
    throw storedValueError(column, v, 'a JSON list of integers');
  return list as bigint[];
}

export const bigListOrNullIn = orNull(bigListIn);

// --- values of no one column (a service's own counts and sums) ---

export function toBig(v: unknown): bigint {
  const b = asBig(v);
  if (b === undefined) throw new TypeError(`not an integer: ${String(v)}`);
  return b;
}

export const toBigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : toBig(v));

/** Lenient: a count or an average, possibly fractional (use intIn for a stored id or count). */
export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  throw new TypeError(`not a number: ${String(v)}`);
}

export const toNumOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : toNum(v));

export const toBool = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === '1';

export function toInstant(v: unknown): DateTime {
  const t = asInstant(v);
  if (t === undefined) throw new TypeError(`not a datetime: ${String(v)}`);
  return t;
}

export const toInstantOrNull = (v: unknown): DateTime | null =>
  v === null || v === undefined ? null : toInstant(v);

export const sqlInstant = (t: DateTime): string => {
  const iso = new Date(t.toMillis()).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
};

export function toDate(v: unknown): string {
  const d = asDate(v);
  if (d === undefined) throw new TypeError(`not a date: ${String(v)}`);
  return d;
}

export const toDateOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : toDate(v));

/** Bigints go to the database as decimal strings: both drivers bind them exactly. */
export const sqlBig = (v: bigint): string => v.toString();
export const sqlBigOrNull = (v: bigint | null): string | null => (v === null ? null : v.toString());
export const sqlBigList = (v: readonly bigint[]): string => JSON.stringify(v.map(String));

export function toText(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`not text: ${String(v)}`);
  return v;
}

export const toTextOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : toText(v));

/** One column of a stored row read with one of the `xIn` readers (or storedWord's kind): `table.column` named. */
export const column = <T>(
  row: Record<string, unknown>,
  table: string,
  name: string,
  parse: ColumnParser<T>,
): T => parse(row[name], `${table}.${name}`);

/**
 * Reads one stored row of `table` column by column with the `xIn` readers above: a value one refuses
 * (text in a number column, a word outside its set) is reported as UNEXPECTED_STATE naming
 * `table.column`, so a row changed by hand is found from the message alone. A joined table's columns
 * selected under a prefix (`d.id as d_id`) are read with that `prefix` and still named `table.column`.
 * A class, not a bag of closures: a page of 100 000 rows makes one small object per row.
 */
export class RowReader {
  constructor(
    private readonly table: string,
    private readonly row: Record<string, unknown>,
    private readonly prefix = '',
  ) {}
  at<T>(name: string, parse: ColumnParser<T>): T {
    return parse(this.row[this.prefix + name], `${this.table}.${name}`);
  }
  num(c: string): number {
    return this.at(c, intIn);
  }
  numOrNull(c: string): number | null {
    return this.at(c, intOrNullIn);
  }
  big(c: string): bigint {
    return this.at(c, bigIn);
  }
  bigOrNull(c: string): bigint | null {
    return this.at(c, bigOrNullIn);
  }
  str(c: string): string {
    return this.at(c, textIn);
  }
  strOrNull(c: string): string | null {
    return this.at(c, textOrNullIn);
  }
  bool(c: string): boolean {
    return toBool(this.row[this.prefix + c]);
  }
  instant(c: string): DateTime {
    return this.at(c, instantIn);
  }
  instantOrNull(c: string): DateTime | null {
    return this.at(c, instantOrNullIn);
  }
  date(c: string): string {
    return this.at(c, dateIn);
  }
  dateOrNull(c: string): string | null {
    return this.at(c, dateOrNullIn);
  }
  word<const T extends string>(allowed: readonly T[], c: string): T {
    return storedWord(allowed, this.row[this.prefix + c], `${this.table}.${c}`);
  }
  json(c: string): unknown {
    return this.at(c, jsonIn);
  }
  jsonOrNull(c: string): unknown {
    return this.at(c, jsonOrNullIn);
  }
}

export const rowReader = (table: string, row: Record<string, unknown>, prefix = ''): RowReader =>
  new RowReader(table, row, prefix);

/**
 * A row of an admin list that cannot be read (a column changed by hand or by another version): its
 * key, the column refused (`table.column`, null when the refusal named none) and why in a few words
 * ("not JSON", "not an integer"). Never the stored value: a secret or a blob stays in the database.
 * The list shows it in its place; the rows around it read as usual.
 */
export interface UnreadableRow {
  /** null only where the key itself does not read (a primary key: not seen) */
  id: number | null;
  unreadable: { column: string | null; reason: string };
}

/** A row of an admin list: the row, or why it cannot be read. */
export type Listed<T> = T | UnreadableRow;

export const isUnreadable = <T>(r: Listed<T>): r is UnreadableRow =>
  typeof r === 'object' && r !== null && Object.hasOwn(r, 'unreadable');

/** The rows of a list that read (for what needs each row's figures; count the others apart). */
export const readableOf = <T>(rows: ReadonlyArray<Listed<T>>): T[] =>
  rows.flatMap((r) => (isUnreadable(r) ? [] : [r]));

/** What an unreadable row is told to: a log line with its table, id and column, never the value. */
export type SetAside = (table: string, row: UnreadableRow) => void;

/**
 * The admin lists' SetAside: one warning a row and a read, `admin.row_unreadable` with its table, id,
 * column and why (reason), as every other `*.row_unreadable` line; never the value.
 */
export const logUnreadable =
  (log: Logger): SetAside =>
  (table, u) =>
    log.warn('admin.row_unreadable', { table, id: u.id, ...u.unreadable });

const NOT = ', which is not ';

/**
 * What a refusal says of the row, for a log line or a list: the column refused (`table.column`, null
 * when it named none) and why in a few words ("not JSON"); never the value, so a secret stays put.
 */
export function whyUnreadable(err: unknown): UnreadableRow['unreadable'] {
  const details = err instanceof Error ? (err as { details?: Record<string, unknown> }).details : undefined;
  const column = typeof details?.column === 'string' ? details.column : null;
  // a refusal that carries a row's reason on (details.reason) says it; storedValueError: "T.c holds
  // V, which is not W": W names what was expected, V is never kept
  if (column !== null && typeof details?.reason === 'string') return { column, reason: details.reason };
  const message = err instanceof Error ? err.message : '';
  const at = message.lastIndexOf(NOT);
  const reason = column !== null && at >= 0 ? `not ${message.slice(at + NOT.length)}` : 'cannot be read';
  return { column, reason };
}

/**
 * An error for a log line: a refusal of a row that cannot be read as its column and why
 * (whyUnreadable), since its message repeats the value stored (a secret, a settings document);
 * any other error as its kind (errorKind), never its message.
 */
export function loggedError(err: unknown): { column: string; reason: string } | { error: string } {
  const why = whyUnreadable(err);
  if (why.column !== null) return { column: why.column, reason: why.reason };
  return { error: errorKind(err) };
}

// a name, kind, code or command: one word, so it cannot carry a value
const WORD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const wordOf = (v: unknown): string | null => (typeof v === 'string' && WORD.test(v) ? v : null);
const wholeOf = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);

/**
 * What an error is, for a log line or for a stored last error an admin page shows, in words none
 * of which can quote a value: its class, kind and code, the panel command, the HTTP status, the
 * driver's errno and SQL state, and the same of its cause. Never its message: a driver's or a
 * remote's words can quote a row or what was sent (MySQL "Duplicate entry 'ann@example.com' for
 * key …", "Incorrect decimal value: '…'", a panel answer or an SMTP refusal echoing an address).
 * A refusal of a row that cannot be read is its column and why (whyUnreadable).
 * E.g. "PanelApiError api (command SendEmail, HTTP 200)", "Error ER_DUP_ENTRY (errno 1062, SQL state 23000)".
 */
export function errorKind(err: unknown, depth = 0): string {
  const why = whyUnreadable(err);
  if (why.column !== null) return `${why.column}: ${why.reason}`;
  if (typeof err !== 'object' || err === null) return `a thrown ${typeof err}`;
  const e = err as Record<string, unknown>;
  const head = [wordOf(e.name) ?? 'Error', wordOf(e.kind), wordOf(e.code)].filter(
    (x, i, all): x is string => x !== null && all.indexOf(x) === i,
  );
  const more: string[] = [];
  const command = wordOf(e.command);
  if (command !== null) more.push(`command ${command}`);
  const status = wholeOf(e.status) ?? wholeOf(e.httpStatus) ?? wholeOf(e.statusCode);
  if (status !== null) more.push(`HTTP ${status}`);
  const errno = wholeOf(e.errno);
  if (errno !== null) more.push(`errno ${errno}`);
  if (typeof e.sqlState === 'string' && /^[0-9A-Z]{5}$/.test(e.sqlState))
    more.push(`SQL state ${e.sqlState}`);
  // DatabaseGoneError's last failure, an Error's cause: one level, said the same way
  const cause = e.last ?? e.cause;
  if (depth === 0 && typeof cause === 'object' && cause !== null) more.push(`after ${errorKind(cause, 1)}`);
  return head.join(' ') + (more.length ? ` (${more.join(', ')})` : '');
}

/** The row's key as stored (the key column always reads: a primary key), the column refused and the refusal's last words. */
export function unreadableRow(id: unknown, err: unknown): UnreadableRow {
  return { id: asInt(id) ?? null, unreadable: whyUnreadable(err) };
}

/**
 * Each row read on its own: one that `parse` refuses is an UnreadableRow in its place, told to
 * `setAside` once (with `table`), and the others are read as usual. `key`: the row's key column.
 */
export function readEach<T>(
  rows: Array<Record<string, unknown>>,
  parse: (r: Record<string, unknown>) => T,
  table: string,
  opts: { key?: string; setAside?: SetAside } = {},
): Array<Listed<T>> {
  const key = opts.key ?? 'id';
  return rows.map((r) => {
    try {
      return parse(r);
    } catch (err) {
      const u = unreadableRow(r[key], err);
      opts.setAside?.(table, u);
      return u;
    }
  });
}

/** Rows of their owners that read, and each owner (a service) whose row did not, with that row. */
export type ReadOf<T> = T[] & { unreadable?: Map<number, UnreadableRow> };

/**
 * Rows each of one owner (`owner`: its id's column, e.g. service_id), each read on its own: one
 * that `parse` refuses is told to `setAside` and left out, and its owner is in `unreadable` with it
 * (what that owner has is not known: the caller leaves it as it stands); a row whose owner column
 * does not read either is only told. Without `setAside` every row must read, as `rows.map(parse)`.
 */
export function readOwned<T>(
  rows: Array<Record<string, unknown>>,
  parse: (r: Record<string, unknown>) => T,
  table: string,
  opts: { owner: string; key?: string; setAside?: SetAside | undefined },
): ReadOf<T> {
  if (!opts.setAside) return rows.map(parse);
  const out: ReadOf<T> = [];
  readEach(rows, parse, table, { key: opts.key ?? 'id', setAside: opts.setAside }).forEach((r, k) => {
    if (!isUnreadable(r)) out.push(r);
    else {
      // an owner that does not read either (a key edited by hand) is only told
      const id = asInt(rows[k]![opts.owner]);
      if (id !== undefined) (out.unreadable ??= new Map()).set(id, r);
    }
  });
  return out;
}
