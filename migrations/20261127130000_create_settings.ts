import type { Knex } from 'knex';

// The module's own settings (its admin tab edits them); the panel's addon config keeps only what
// the panel must know before the module runs.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_settings'))) {
    await knex.schema.createTable('mod_overusage_settings', (t) => {
      t.string('name', 100).primary();
      t.text('value').notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_settings');
}
