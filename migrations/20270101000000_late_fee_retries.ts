import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Invoices whose AddInvoiceLateFee handling failed (the panel did not answer it), one row each, for
// the 5-minute sweep to check again (module/services/late-fee-retries.ts); the sweep deletes a row
// with the audit of what it did. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_late_fee_retries'))) {
    await knex.schema.createTable('mod_overusage_late_fee_retries', (t) => {
      t.bigInteger('invoice_id').primary();
      instant(t, 'failed_at').notNullable();
      // the hook's try and the sweep's failed ones
      t.integer('attempts').notNullable().defaultTo(1);
      t.string('last_error', 500).notNullable().defaultTo('');
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_late_fee_retries');
}
