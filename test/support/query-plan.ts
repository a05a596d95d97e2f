import type { Knex } from 'knex';
import type { Engine } from '../../module/adapters/database.js';

/**
 * How the engine reads `table` (its alias) in the first statement `run` sends that `match` picks,
 * explained as sent: MariaDB's access type, key and key length from EXPLAIN; SQLite's first step of
 * EXPLAIN QUERY PLAN.
 */
export async function accessPlan(
  knex: Knex,
  engine: Engine,
  table: string,
  run: () => Promise<unknown>,
  match: (sql: string) => boolean = () => true,
): Promise<string[]> {
  const q = await statementSent(knex, run, match);
  if (engine === 'mysql') {
    const [plan] = (await knex.raw(`EXPLAIN ${q.sql}`, q.bindings)) as unknown as [
      Array<{ table: string; type: string; key: string; key_len: string }>,
    ];
    const row = plan.find((r) => r.table === table);
    return row ? [row.type, row.key, row.key_len] : [];
  }
  const plan = (await knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings)) as Array<{ detail: string }>;
  return [plan[0]!.detail];
}

/** The statement `run` sends first that `match` picks, as sent (its SQL and bindings). */
export async function statementSent(
  knex: Knex,
  run: () => Promise<unknown>,
  match: (sql: string) => boolean,
): Promise<{ sql: string; bindings: Knex.RawBinding[] }> {
  const sent: Array<{ sql: string; bindings: Knex.RawBinding[] }> = [];
  const spy = (q: { sql: string; bindings: Knex.RawBinding[] }) => sent.push(q);
  knex.on('query', spy);
  try {
    await run();
  } finally {
    knex.off('query', spy);
  }
  const q = sent.find((x) => match(x.sql));
  if (!q) throw new Error('no statement sent matched');
  return { sql: q.sql, bindings: q.bindings };
}

/**
 * MariaDB: the rows it reads of `table` (its alias) running the statement again under ANALYZE,
 * r_rows × r_loops (every row the index range or scan handed over, before the WHERE).
 */
export async function rowsRead(
  knex: Knex,
  q: { sql: string; bindings: Knex.RawBinding[] },
  table: string,
): Promise<number> {
  const [rows] = (await knex.raw(`ANALYZE FORMAT=JSON ${q.sql}`, q.bindings)) as unknown as [
    Array<Record<string, string>>,
  ];
  let found: number | null = null;
  const walk = (o: unknown): void => {
    if (!o || typeof o !== 'object') return;
    const t = (o as { table?: { table_name?: string; r_rows?: number; r_loops?: number } }).table;
    if (t?.table_name === table) found = (found ?? 0) + Math.round((t.r_rows ?? 0) * (t.r_loops ?? 0));
    for (const v of Object.values(o)) walk(v);
  };
  walk(JSON.parse(Object.values(rows[0]!)[0]!));
  if (found === null) throw new Error(`no table ${table} in the plan`);
  return found;
}
