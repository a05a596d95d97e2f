import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// SolusVM as providers run it: masters reached through the reseller API, how SolusVM 2 unit
// labels are read, and the services of billed products the last sync could not link (with why),
// for the CLI, the admin tab and the JSON API. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_masters', 'api_user_type'))) {
    await knex.schema.alterTable('mod_overusage_masters', (t) => {
      // SolusVM 1: admin (/api/admin/command.php) or reseller (/api/reseller/command.php)
      t.string('api_user_type', 10).notNullable().defaultTo('admin');
      // SolusVM 2: KB/MB/GB/TB labels read as 1024-based (binary, what SolusIO meant) or as 10^n
      t.string('unit_labels', 10).notNullable().defaultTo('binary');
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_sync_issues'))) {
    await knex.schema.createTable('mod_overusage_sync_issues', (t) => {
      // the panel's service: one row per service the last sync could not link
      t.bigInteger('service_id').primary();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('product_id').notNullable();
      t.string('domain', 255).notNullable().defaultTo('');
      t.string('reason', 500).notNullable();
      instant(t, 'seen_at').notNullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_sync_issues');
  if (knex.client.config.client !== 'mysql2') return;
  if (await knex.schema.hasColumn('mod_overusage_masters', 'api_user_type')) {
    await knex.schema.alterTable('mod_overusage_masters', (t) => {
      t.dropColumn('api_user_type');
      t.dropColumn('unit_labels');
    });
  }
}
