import type { Knex } from 'knex';

/**
 * Updates many rows by key, each with its own values, in one statement per chunk: the rows are
 * joined to a derived table of the new values (UPDATE … JOIN on MySQL, UPDATE … FROM on SQLite).
 * A daily run updates tens of thousands of rows; one statement per row, or a CASE per column
 * (quadratic in the chunk), dominated the run.
 */
export async function updateManyByKey(
  db: Knex | Knex.Transaction,
  table: string,
  key: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  chunkSize = 400, // SQLite allows 500 terms in a compound SELECT
  /** columns that add the given value to what is stored (a total others may move too), instead of replacing it */
  add: readonly string[] = [],
): Promise<void> {
  // MySQL types the derived table's columns from the bound strings, and adds a string to an
  // integer as a double (2^53 + 1 + 1 000 came out as …992): the added value is cast first.
  const set = (c: string, v: string, mysql: boolean) =>
    add.includes(c)
      ? `${quote(c, mysql)} = ${mysql ? `${quote(table, true)}.` : ''}${quote(c, mysql)} + ${mysql ? `CAST(${v} AS SIGNED)` : v}`
      : `${quote(c, mysql)} = ${v}`;
  const mysql = (db as Knex).client.config.client === 'mysql2';
  const cols = [key, ...columns];
  for (let i = 0; i < rows.length; i += chunkSize) {
    const chunk = rows.slice(i, i + chunkSize);
    const bindings: unknown[] = [];
    for (const row of chunk) for (const c of cols) bindings.push(row[c] ?? null);
    const t = quote(table, mysql);
    const k = quote(key, mysql);
    let sql: string;
    if (mysql) {
      const selects = chunk.map((_, n) =>
        n === 0
          ? `SELECT ${cols.map((c) => `? AS ${quote(c, true)}`).join(', ')}`
          : `SELECT ${cols.map(() => '?').join(', ')}`,
      );
      sql = `UPDATE ${t} JOIN (${selects.join(' UNION ALL ')}) AS v ON ${t}.${k} = v.${k} SET ${columns.map((c) => `${t}.${set(c, `v.${quote(c, true)}`, true)}`).join(', ')}`;
    } else {
      // SQLite compiles a multi-row VALUES list far faster than a UNION ALL of SELECTs; its
      // columns are named column1, column2, … in order.
      const row = `(${cols.map(() => '?').join(', ')})`;
      sql = `UPDATE ${t} SET ${columns.map((c, i) => set(c, `v.column${i + 2}`, false)).join(', ')} FROM (VALUES ${chunk.map(() => row).join(', ')}) AS v WHERE ${t}.${k} = v.column1`;
    }
    await db.raw(sql, bindings as Knex.RawBinding[]);
  }
}

function quote(identifier: string, mysql: boolean): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(identifier)) throw new Error(`unsafe identifier ${identifier}`);
  return mysql ? `\`${identifier}\`` : `"${identifier}"`;
}

/** Inserts in chunks so no statement exceeds the engines' parameter limits. */
export async function insertChunked(
  db: Knex | Knex.Transaction,
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: { ignoreOn?: string[]; chunkSize?: number } = {},
): Promise<void> {
  const size = opts.chunkSize ?? 500;
  for (let i = 0; i < rows.length; i += size) {
    const q = db(table).insert(rows.slice(i, i + size));
    if (opts.ignoreOn) await q.onConflict(opts.ignoreOn).ignore();
    else await q;
  }
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

/** The driver connection knex lends, as far as sendWhole uses it. */
interface LentConnection {
  __knexUid?: string;
  __knexTxId?: string;
  query(sql: string, done: (err: Error | null) => void): void;
}

/**
 * Sends a MariaDB/MySQL statement written out whole (no bindings) on the connection as it is. On
 * knex's path a statement is copied once more for its debug output (every `%` doubled, logging off
 * or not) and mysql2 scanned it for placeholders: for the rating's 1.2 MB inserts 9.7 s of the 72 s
 * of CPU a run over 1 000 000 periods took. Listeners of knex's 'query' event still see it; in a
 * transaction it goes on the transaction's connection.
 */
export async function sendWhole(db: Knex | Knex.Transaction, sql: string): Promise<void> {
  const client = db.client as Knex.Client & {
    acquireConnection(): Promise<LentConnection>;
    releaseConnection(c: LentConnection): Promise<void>;
  };
  const conn = await client.acquireConnection();
  try {
    client.emit('query', { __knexUid: conn.__knexUid, __knexTxId: conn.__knexTxId, sql, bindings: [] });
    await new Promise<void>((resolve, reject) =>
      conn.query(sql, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } finally {
    await client.releaseConnection(conn);
  }
}
