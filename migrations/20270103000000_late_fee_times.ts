import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// When the panel added the late fee now on an invoice (its AddInvoiceLateFee hook, as it ran), one
// row per invoice: what was unpaid then is the fee's base, so a hold or a decision later puts back
// the payments made since (module/services/late-fee-share.ts). A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_late_fee_times'))) {
    await knex.schema.createTable('mod_overusage_late_fee_times', (t) => {
      t.bigInteger('invoice_id').primary();
      instant(t, 'came_at').notNullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_late_fee_times');
}
