import type { Knex } from 'knex';
import type { Engine } from '../../module/adapters/database.js';

/**
 * A DATETIME column of one row set to a value no reader takes as an instant, as a hand edit might
 * leave it: SQLite keeps any text ('2013-06-01 99:99:99'); MariaDB its zero date, let in by an empty
 * sql_mode for this one statement.
 */
export async function spoilInstant(
  knex: Knex,
  engine: Engine,
  table: string,
  column: string,
  where: Record<string, number>,
): Promise<void> {
  await laxly(knex, engine, (k) =>
    k(table)
      .where(where)
      .update({ [column]: engine === 'sqlite' ? '2013-06-01 99:99:99' : '0000-00-00 00:00:00' }),
  );
}

/**
 * A DATE column of one row set to a value no reader takes as a day: SQLite keeps any text
 * ('2013-06-31', a 31st of June); MariaDB its zero date, let in by an empty sql_mode for this one
 * statement.
 */
export async function spoilDate(
  knex: Knex,
  engine: Engine,
  table: string,
  column: string,
  where: Record<string, number>,
): Promise<string> {
  const bad = engine === 'sqlite' ? '2013-06-31' : '0000-00-00';
  await laxly(knex, engine, (k) =>
    k(table)
      .where(where)
      .update({ [column]: bad }),
  );
  return bad;
}

/** One statement with MariaDB's sql_mode emptied (its zero dates let in); SQLite as is. */
async function laxly(knex: Knex, engine: Engine, write: (k: Knex) => Promise<unknown>): Promise<void> {
  if (engine === 'sqlite') {
    await write(knex);
    return;
  }
  await knex.transaction(async (trx) => {
    const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
    await trx.raw("SET SESSION sql_mode = ''");
    await write(trx);
    await trx.raw('SET SESSION sql_mode = ?', [mode]);
  });
}
