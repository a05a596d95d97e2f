import type { Knex } from 'knex';

// Whether a period carries its own rating (a charge at seq 0), kept in the transaction that writes
// that charge (module/adapters/rating-store.ts) or moves it (usage-period-store.ts moveCharges).
// The nightly rating run pages (status, rated, id) from its cursor: only the closed periods not
// rated yet, not every closed period since the first (0.46–0.56 s a night per 100 000 rated
// periods on MariaDB, walked again each night because a period stays closed once rated).
//
// The backfill marks the periods that have a seq-0 charge, in ranges of ids (one statement each,
// each its own commit on MariaDB, which commits the ALTER before them); run again, it marks what
// a stopped run left. A period left unmarked is only read again, never left unrated: the run
// still drops a period with a seq-0 charge. The index comes last, built once over the marked rows.
const P = 'mod_overusage_periods';
const C = 'mod_overusage_charges';
const INDEX = 'mod_overusage_periods_status_rated_id_index';
const RANGE = 50_000;

async function hasIndex(knex: Knex, name: string): Promise<boolean> {
  if (knex.client.config.client === 'mysql2') {
    const [rows] = (await knex.raw(`SHOW INDEX FROM ${P} WHERE Key_name = ?`, [name])) as unknown as [
      unknown[],
    ];
    return rows.length > 0;
  }
  return (await knex('sqlite_master').where({ type: 'index', name }).first('name')) !== undefined;
}

export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn(P, 'rated'))) {
    await knex.schema.alterTable(P, (t) => {
      t.boolean('rated').notNullable().defaultTo(false);
    });
  }
  const span = (await knex(P).min({ lo: 'id' }).max({ hi: 'id' }).first()) as { lo: unknown; hi: unknown };
  if (span.lo !== null && span.lo !== undefined) {
    for (let from = Number(span.lo); from <= Number(span.hi); from += RANGE)
      await knex.raw(
        `UPDATE ${P} SET rated = 1 WHERE id >= ? AND id < ? AND rated = 0` +
          ` AND EXISTS (SELECT 1 FROM ${C} c WHERE c.period_id = ${P}.id AND c.seq = 0)`,
        [from, from + RANGE],
      );
  }
  if (!(await hasIndex(knex, INDEX)))
    await knex.schema.alterTable(P, (t) => {
      t.index(['status', 'rated', 'id'], INDEX);
    });
}

export async function down(knex: Knex): Promise<void> {
  if (await hasIndex(knex, INDEX))
    await knex.schema.alterTable(P, (t) => {
      t.dropIndex(['status', 'rated', 'id'], INDEX);
    });
  if (await knex.schema.hasColumn(P, 'rated'))
    await knex.schema.alterTable(P, (t) => {
      t.dropColumn('rated');
    });
}
