import type { Knex } from 'knex';
import { mapInSlices, type Slicer } from './slices.js';

/** Options of updateManyByKey beyond the columns it sets from the rows. */
export interface UpdateManyOptions {
  /** rows per statement: 500, a metering batch in one (a VALUES list is not held to SQLite's 500 terms of a compound SELECT) */
  chunkSize?: number;
  /** columns that add the given value to what is stored (a total others may move too), instead of replacing it */
  add?: readonly string[];
  /**
   * more columns set by an SQL expression in the same statement; `value(c)` names a column of the
   * new values (one of the key and the columns), so a row is written once instead of twice
   */
  also?: (value: (column: string) => string) => Record<string, string>;
  /** the statement's rows written out a slice at a time, the event loop turning between (slices.ts) */
  slices?: Slicer;
}

/**
 * Updates many rows by key, each with its own values, in one statement per chunk: the rows are
 * joined to a derived table of the new values (UPDATE … JOIN on MySQL, UPDATE … FROM on SQLite).
 * A daily run updates tens of thousands of rows; one statement per row, or a CASE per column
 * (quadratic in the chunk), dominated the run. On MySQL the statement is written out whole
 * (sendWhole): knex's and mysql2's passes over 5 600 bindings a chunk were most of its CPU.
 */
export async function updateManyByKey(
  db: Knex | Knex.Transaction,
  table: string,
  key: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  opts: UpdateManyOptions = {},
): Promise<void> {
  const { chunkSize = 500, add = [] } = opts;
  // MySQL types the derived table's columns from the values, and adds a string to an
  // integer as a double (2^53 + 1 + 1 000 came out as …992): the added value is cast first.
  const set = (c: string, v: string, mysql: boolean) =>
    add.includes(c)
      ? `${quote(c, mysql)} = ${mysql ? `${quote(table, true)}.` : ''}${quote(c, mysql)} + ${mysql ? `CAST(${v} AS SIGNED)` : v}`
      : `${quote(c, mysql)} = ${v}`;
  const mysql = (db as Knex).client.config.client === 'mysql2';
  const cols = [key, ...columns];
  const t = quote(table, mysql);
  const k = quote(key, mysql);
  // a column of the new values: v.`c` on MySQL; SQLite names a VALUES list's columns column1, column2, …
  const valueOf = (c: string): string => {
    const i = cols.indexOf(c);
    if (i < 0) throw new Error(`${c} is not among the values`);
    return mysql ? `v.${quote(c, true)}` : `v.column${i + 1}`;
  };
  const extra = Object.entries(opts.also?.(valueOf) ?? {}).map(
    ([c, expr]) => `${mysql ? `${t}.` : ''}${quote(c, mysql)} = ${expr}`,
  );
  const sets = [...columns.map((c) => (mysql ? `${t}.` : '') + set(c, valueOf(c), mysql)), ...extra].join(
    ', ',
  );
  // the first row names the columns; on MariaDB the others follow as one VALUES list, a table
  // value constructor, which it parses and plans as one block instead of one SELECT a row
  const tvc = mysql && rows.length > 0 && (await hasValuesLists(db));
  for (let i = 0; i < rows.length; i += chunkSize) {
    const chunk = rows.slice(i, i + chunkSize);
    if (mysql) {
      const select = (row: Record<string, unknown>, n: number) =>
        n === 0
          ? `SELECT ${cols.map((c) => `${literal(row[c])} AS ${quote(c, true)}`).join(', ')}`
          : tvc
            ? `(${cols.map((c) => literal(row[c])).join(', ')})`
            : `SELECT ${cols.map((c) => literal(row[c])).join(', ')}`;
      const selects = opts.slices ? await mapInSlices(chunk, select, opts.slices) : chunk.map(select);
      const derived =
        tvc && selects.length > 1
          ? `${selects[0]} UNION ALL VALUES ${selects.slice(1).join(', ')}`
          : selects.join(' UNION ALL ');
      await sendWhole(db, `UPDATE ${t} JOIN (${derived}) AS v ON ${t}.${k} = v.${k} SET ${sets}`);
    } else {
      // SQLite compiles a multi-row VALUES list far faster than a UNION ALL of SELECTs
      const bindings: unknown[] = [];
      for (const row of chunk) for (const c of cols) bindings.push(row[c] ?? null);
      const tuple = `(${cols.map(() => '?').join(', ')})`;
      const sql = `UPDATE ${t} SET ${sets} FROM (VALUES ${chunk.map(() => tuple).join(', ')}) AS v WHERE ${t}.${k} = v.column1`;
      await db.raw(sql, bindings as Knex.RawBinding[]);
    }
  }
}

/** Per database (knex's config, shared by its transactions): whether the server takes a VALUES list as a table. */
const valuesLists = new WeakMap<object, Promise<boolean>>();

/**
 * Whether the server is MariaDB 10.3.3 or later, which takes `VALUES (…), (…)` as a table (a table
 * value constructor). MySQL writes that `VALUES ROW(…)`, from 8.0.19 only; it keeps the SELECTs.
 * Asked once per database.
 */
export function hasValuesLists(db: Knex | Knex.Transaction): Promise<boolean> {
  const key = db.client.config as object;
  let known = valuesLists.get(key);
  if (!known) {
    known = db
      .raw('SELECT VERSION() AS v')
      .then((res: unknown) => mariaDbWithValues(String((res as [Array<{ v: unknown }>])[0][0]?.v ?? '')));
    // a failed question is asked again next time, not remembered as "no"
    known.catch(() => valuesLists.delete(key));
    valuesLists.set(key, known);
  }
  return known;
}

/** `10.11.19-MariaDB-0+deb12u1` yes, `10.3.2-MariaDB` and `8.0.36` (MySQL) no. */
export function mariaDbWithValues(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m || !/mariadb/i.test(version)) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major > 10 || (major === 10 && (minor > 3 || (minor === 3 && patch >= 3)));
}

/** A row's value as a MariaDB literal: a missing one is NULL. */
const literal = (v: unknown): string => mysqlLiteral((v ?? null) as Parameters<typeof mysqlLiteral>[0]);

function quote(identifier: string, mysql: boolean): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(identifier)) throw new Error(`unsafe identifier ${identifier}`);
  return mysql ? `\`${identifier}\`` : `"${identifier}"`;
}

/** Inserts in chunks so no statement exceeds the engines' parameter limits. */
export async function insertChunked(
  db: Knex | Knex.Transaction,
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: {
    ignoreOn?: string[];
    chunkSize?: number;
    /**
     * on MySQL, the statement written out whole (sendWhole): the rows hold only text, numbers,
     * bigints, booleans and nulls; knex's compiling and mysql2's escaping of every value were most
     * of a metering batch's CPU
     */
    whole?: boolean;
    /** with whole: the rows written out a slice at a time, the event loop turning between (slices.ts) */
    slices?: Slicer;
  } = {},
): Promise<void> {
  const size = opts.chunkSize ?? 500;
  const whole = opts.whole === true && (db as Knex).client.config.client === 'mysql2';
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    if (whole)
      await sendWhole(db, await insertStatement(table, part, opts.ignoreOn !== undefined, opts.slices));
    else {
      const q = db(table).insert(part);
      if (opts.ignoreOn) await q.onConflict(opts.ignoreOn).ignore();
      else await q;
    }
  }
}

/** A MySQL multi-row INSERT written out whole; a column a row lacks takes its DEFAULT, as knex writes it. */
async function insertStatement(
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  ignore: boolean,
  slices: Slicer | undefined,
): Promise<string> {
  const seen = new Set<string>();
  for (const r of rows) for (const c in r) seen.add(c);
  const cols = [...seen];
  const tuple = (r: Record<string, unknown>) =>
    `(${cols.map((c) => (r[c] === undefined ? 'DEFAULT' : literal(r[c]))).join(', ')})`;
  const tuples = slices ? await mapInSlices(rows, tuple, slices) : rows.map(tuple);
  const names = cols.map((c) => quote(c, true)).join(', ');
  return `INSERT${ignore ? ' IGNORE' : ''} INTO ${quote(table, true)} (${names}) VALUES ${tuples.join(', ')}`;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Deadlocks and lock timeouts are normal under concurrency on InnoDB: retry the whole transaction.
 * Not SQLite's BUSY: it comes after the connection's busy timeout (10 s) has already waited, and
 * the reconnecting layer (db-errors.ts) decides how much longer to wait for the file; retrying
 * here too multiplied the waits (5 × 10 s per attempt, minutes before a run said anything).
 */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string };
  return (
    e?.errno === 1213 ||
    e?.errno === 1205 ||
    e?.code === 'ER_LOCK_DEADLOCK' ||
    e?.code === 'ER_LOCK_WAIT_TIMEOUT'
  );
}

/** `retryable` narrows or widens what is tried again (the migrations: only before any ran). */
export async function withTxRetry<T>(
  work: () => Promise<T>,
  attempts = 5,
  retryable: (err: unknown) => boolean = isRetryableTxError,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || !retryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.floor(Math.random() * 10 * i)));
    }
  }
}

/**
 * A transaction that only touches the database, retried whole on a deadlock or lock timeout: on a
 * Galera cluster a commit that loses certification answers 1213 with no lock conflict on this node.
 * Never for a transaction that calls the panel or SolusVM inside it (a retry would repeat the
 * call). Inside an outer transaction it runs once: a 1213 rolls back the outer one, whose owner
 * decides.
 */
export function retryTransaction<T>(
  db: Knex | Knex.Transaction,
  work: (trx: Knex.Transaction) => Promise<T>,
  attempts = 5,
): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return db.transaction(work);
  return withTxRetry(() => db.transaction(work), attempts);
}

/** The file of a SQLite database (':memory:' for one in memory); undefined on MySQL/MariaDB. */
export function sqliteFileOf(db: Knex): string | undefined {
  if (db.client.config.client === 'mysql2') return undefined;
  return (db.client.config.connection as { filename?: string } | undefined)?.filename;
}

// Backslash escapes, as mysql2's own escaping writes them (MariaDB's default sql_mode): the quote
// and the backslash must be escaped; NUL and Ctrl-Z are, as the mysql client expects.
const MYSQL_ESCAPES: Record<string, string> = { '\0': '\\0', '\\': '\\\\', "'": "\\'", '\x1a': '\\Z' };
const MYSQL_SPECIAL = /[\0\\'\x1a]/g;

/**
 * A value as a MariaDB/MySQL literal, for statements written out whole. mysql2 escapes a string by
 * a JavaScript loop over every quote it contains: a rating's explanation (about 1 KB of JSON, a
 * hundred double quotes) cost 12 KB of garbage a row, 40 % of all the rating allocated. This is one
 * native replace that finds nothing to change in most texts. Numbers, bigints, booleans and null only
 * otherwise; anything else is refused.
 */
export function mysqlLiteral(v: string | number | bigint | boolean | null): string {
  switch (typeof v) {
    case 'string':
      return `'${v.replace(MYSQL_SPECIAL, (c) => MYSQL_ESCAPES[c]!)}'`;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`not a finite number: ${v}`);
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'TRUE' : 'FALSE';
    default:
      if (v === null) return 'NULL';
      throw new TypeError(`no SQL literal for ${typeof v}`);
  }
}

/** The driver connection knex lends, as far as sendWhole and sendDirect use it. */
interface LentConnection {
  __knexUid?: string;
  __knexTxId?: string;
  query<T>(sql: string, done: (err: Error | null, out: T) => void): void;
  query<T>(sql: string, values: readonly unknown[], done: (err: Error | null, out: T) => void): void;
}

/**
 * A statement sent on the connection knex lends (the transaction's, inside one), past knex's builder
 * and runner; listeners of knex's 'query' event still see it. Without values mysql2 does not scan
 * the text for placeholders.
 */
async function onLentConnection<T>(
  db: Knex | Knex.Transaction,
  sql: string,
  values?: readonly unknown[],
): Promise<T> {
  const client = db.client as Knex.Client & {
    acquireConnection(): Promise<LentConnection>;
    releaseConnection(c: LentConnection): Promise<void>;
  };
  const conn = await client.acquireConnection();
  try {
    client.emit('query', {
      __knexUid: conn.__knexUid,
      __knexTxId: conn.__knexTxId,
      sql,
      bindings: values ?? [],
    });
    return await new Promise<T>((resolve, reject) => {
      // as on knex's path, the error names its statement (the values left out: they can be a client's data)
      const done = (err: Error | null, out: T) =>
        err ? reject(Object.assign(err, { message: `${sql} - ${err.message}` })) : resolve(out);
      if (values) conn.query(sql, values, done);
      else conn.query(sql, done);
    });
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * Sends a MariaDB/MySQL statement written out whole (no bindings) on the connection as it is. On
 * knex's path a statement is copied once more for its debug output (every `%` doubled, logging off
 * or not) and mysql2 scanned it for placeholders: for the rating's 1.2 MB inserts 9.7 s of the 72 s
 * of CPU a run over 1 000 000 periods took. In a transaction it goes on the transaction's connection.
 */
export async function sendWhole(db: Knex | Knex.Transaction, sql: string): Promise<void> {
  await onLentConnection(db, sql);
}

/**
 * A hot statement of the InvoiceCreation delivery on MariaDB/MySQL, its SQL written here rather than
 * built: knex's builder and runner (their closures and copies) cost about 55 µs of CPU a statement,
 * and their garbage decided the delivery's tail. mysql2's answer as it gives it: the rows of a
 * SELECT, the header of a write. Not for a statement in a transaction: it goes on a pool connection.
 */
export function sendDirect<T>(db: Knex, sql: string, values: readonly unknown[]): Promise<T> {
  return onLentConnection<T>(db, sql, values);
}
