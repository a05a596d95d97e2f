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
