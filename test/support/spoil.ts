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
  if (engine === 'sqlite') {
    await knex(table)
      .where(where)
      .update({ [column]: '2013-06-01 99:99:99' });
    return;
  }
  await knex.transaction(async (trx) => {
    const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
    await trx.raw("SET SESSION sql_mode = ''");
    await trx(table)
      .where(where)
      .update({ [column]: '0000-00-00 00:00:00' });
    await trx.raw('SET SESSION sql_mode = ?', [mode]);
  });
}
