import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// The panel's names for the services the module meters (issue 16): client name and company,
// hostname, IPs and product, as the last panel sync read them, so the admin tab can search by
// them in SQL. `search_text` holds them folded (lower case, accents and curly apostrophes gone,
// module/domain/search-text.ts) so both engines match the same way whatever their collation.
// A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_directory'))) {
    await knex.schema.createTable('mod_overusage_directory', (t) => {
      t.bigInteger('service_id').primary();
      t.bigInteger('client_id').notNullable();
      t.string('client_name', 255).notNullable().defaultTo('');
      t.string('hostname', 255).notNullable().defaultTo('');
      t.string('ips', 1000).notNullable().defaultTo('');
      t.string('product_name', 255).notNullable().defaultTo('');
      t.string('search_text', 2000).notNullable().defaultTo('');
      instant(t, 'updated_at').notNullable();
      t.index(['client_id']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_directory');
}
