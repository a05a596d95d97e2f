import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Upgrades a client asked for from a suggestion (issue 21): the plan before and after, what the
// panel answered (its upgrade and invoice), and the share of the current period's overusage the
// provider credits. The period the upgrade falls in is rated on the plan it began on, less the
// credit; the periods after on the new plan. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_upgrades'))) {
    await knex.schema.createTable('mod_overusage_upgrades', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('from_product_id').notNullable();
      t.bigInteger('to_product_id').notNullable();
      // the day (panel zone) it was asked for: the period holding it is credited
      t.date('requested_on').notNullable();
      instant(t, 'requested_at').notNullable();
      t.integer('credit_percent').notNullable().defaultTo(0);
      t.bigInteger('panel_upgrade_id').nullable();
      t.bigInteger('invoice_id').nullable();
      // the figures the suggestion showed, as JSON
      t.text('figures').notNullable();
      t.index(['service_id']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_upgrades');
}
