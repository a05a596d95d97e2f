import type { Knex } from 'knex';

/**
 * Updates many rows by key in one statement per chunk (UPDATE … SET col = CASE key WHEN …), the
 * same SQL on SQLite and MySQL. A daily run updates tens of thousands of rows; one statement per
 * row would dominate the run.
 */
export async function updateManyByKey(
  db: Knex | Knex.Transaction,
  table: string,
  key: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  chunkSize = 400,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunkSize) {
    const chunk = rows.slice(i, i + chunkSize);
    const bindings: unknown[] = [table];
    const sets: string[] = [];
    for (const col of columns) {
      bindings.push(col, key);
      const whens: string[] = [];
      for (const row of chunk) {
        whens.push('WHEN ? THEN ?');
        bindings.push(row[key], row[col] ?? null);
      }
      bindings.push(col);
      sets.push(`?? = CASE ?? ${whens.join(' ')} ELSE ?? END`);
    }
    bindings.push(key, ...chunk.map((r) => r[key]));
    await db.raw(`UPDATE ?? SET ${sets.join(', ')} WHERE ?? IN (${chunk.map(() => '?').join(', ')})`, bindings as Knex.RawBinding[]);
  }
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

/** Deadlocks and lock timeouts are normal under concurrency on InnoDB (and BUSY on SQLite): retry the whole transaction. */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string };
  return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'ER_LOCK_DEADLOCK' || e?.code === 'ER_LOCK_WAIT_TIMEOUT' || e?.code === 'SQLITE_BUSY';
}

export async function withTxRetry<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || !isRetryableTxError(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.floor(Math.random() * 10 * i)));
    }
  }
}
