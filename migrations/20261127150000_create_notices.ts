import type { Knex } from 'knex';

// Notices sent to clients and admins (upgrade suggestions, threshold warnings …), keyed so that a
// notice is sent once however often the job that decides it runs.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_notices'))) {
    await knex.schema.createTable('mod_overusage_notices', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('client_id').notNullable();
      // upgrade_suggestion | threshold …
      t.string('kind', 30).notNullable();
      // what makes it unique within the kind, e.g. the period it is about
      t.string('notice_key', 100).notNullable();
      // pending (decided, not yet sent) | sent | failed
      t.string('status', 10).notNullable();
      t.text('details').nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('sent_at', { precision: 3 }).nullable();
      t.unique(['service_id', 'kind', 'notice_key']);
      t.index(['status']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_notices');
}
