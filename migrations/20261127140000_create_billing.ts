import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Billing: per-product settings (with per-service and per-client overrides), rated periods
// (charges) and the lines placed on panel invoices. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_services', 'currency'))) {
    await knex.schema.alterTable('mod_overusage_services', (t) => {
      // the client's currency and the service's registration day, copied from the panel when linked
      t.string('currency', 3).notNullable().defaultTo('EUR');
      t.date('regdate').nullable();
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_masters', 'panel_server_id'))) {
    await knex.schema.alterTable('mod_overusage_masters', (t) => {
      // the panel's server entry (tblservers.id) whose services this master runs
      t.integer('panel_server_id').nullable();
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_billing_profiles'))) {
    await knex.schema.createTable('mod_overusage_billing_profiles', (t) => {
      t.bigInteger('product_id').primary();
      // validated JSON (module/services/billing-settings.ts): unit, model, allowance, rates, window …
      t.text('settings').notNullable();
      instant(t, 'updated_at').notNullable();
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_service_overrides'))) {
    await knex.schema.createTable('mod_overusage_service_overrides', (t) => {
      t.bigInteger('service_id').primary();
      t.text('settings').notNullable();
      instant(t, 'updated_at').notNullable();
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_client_overrides'))) {
    await knex.schema.createTable('mod_overusage_client_overrides', (t) => {
      t.bigInteger('client_id').primary();
      t.text('settings').notNullable();
      instant(t, 'updated_at').notNullable();
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_charges'))) {
    await knex.schema.createTable('mod_overusage_charges', (t) => {
      t.bigIncrements('id').primary();
      // one charge per closed period: the key that stops rating a period twice
      t.bigInteger('period_id').notNullable().unique();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('product_id').notNullable();
      t.date('period_start').notNullable();
      t.date('period_end').notNullable();
      t.string('currency', 3).notNullable();
      t.bigInteger('used_bytes').notNullable();
      t.bigInteger('allowance_bytes').notNullable();
      t.bigInteger('over_bytes').notNullable();
      // what the line bills (0 when within the allowance or written off)
      t.bigInteger('amount_minor').notNullable();
      // the amount before the minimum and the cap, rounded once
      t.bigInteger('rounded_minor').notNullable();
      // unbilled | billed | written_off | within_allowance | void
      t.string('status', 20).notNullable();
      // the rating with every number that went into it, and the plan used
      t.text('explanation').notNullable();
      t.boolean('taxed').notNullable();
      instant(t, 'rated_at').notNullable();
      instant(t, 'billed_at').nullable();
      t.index(['service_id', 'status']);
      t.index(['status', 'period_end']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_lines'))) {
    await knex.schema.createTable('mod_overusage_lines', (t) => {
      t.bigIncrements('id').primary();
      // one line per charge: the key that stops billing a charge twice
      t.bigInteger('charge_id').notNullable().unique();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('invoice_id').notNullable();
      // the panel's tblinvoiceitems.id once the line is confirmed on the invoice
      t.bigInteger('invoice_item_id').nullable();
      // written into the line text, so the line can be found on the invoice after a crash
      t.string('ref_code', 32).notNullable().unique();
      // pending (being placed) | placed | released
      t.string('status', 20).notNullable();
      t.bigInteger('amount_minor').notNullable();
      t.string('currency', 3).notNullable();
      t.text('description').notNullable();
      t.string('locale', 10).notNullable();
      t.date('invoice_date').notNullable();
      // the reclamation window as issued: later setting changes never move it
      t.integer('window_days').notNullable();
      t.string('window_counting', 10).notNullable();
      t.string('window_holidays', 4).notNullable();
      t.date('deadline_last_day').notNullable();
      instant(t, 'deadline_closes_at').notNullable();
      instant(t, 'created_at').notNullable();
      instant(t, 'placed_at').nullable();
      t.index(['invoice_id']);
      t.index(['client_id', 'status']);
      t.index(['service_id']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_lines');
  await knex.schema.dropTableIfExists('mod_overusage_charges');
  await knex.schema.dropTableIfExists('mod_overusage_client_overrides');
  await knex.schema.dropTableIfExists('mod_overusage_service_overrides');
  await knex.schema.dropTableIfExists('mod_overusage_billing_profiles');
  // SQLite drops a column by rebuilding the table, which its foreign keys forbid inside a migration;
  // the extra columns are harmless there and go with the tables when the first migration is undone.
  if (knex.client.config.client !== 'mysql2') return;
  if (await knex.schema.hasColumn('mod_overusage_masters', 'panel_server_id')) {
    await knex.schema.alterTable('mod_overusage_masters', (t) => t.dropColumn('panel_server_id'));
  }
  if (await knex.schema.hasColumn('mod_overusage_services', 'currency')) {
    await knex.schema.alterTable('mod_overusage_services', (t) => {
      t.dropColumn('regdate');
      t.dropColumn('currency');
    });
  }
}
