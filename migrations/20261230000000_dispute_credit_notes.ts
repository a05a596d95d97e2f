import type { Knex } from 'knex';

// A paid line waived or reduced after its dispute is corrected by a credit note of its own on the
// panel (issue 15 item 1; docs/billing-rules.md, "Credit notes"): the dispute keeps that invoice's
// id, and what went back to the client with its VAT (minor units of the dispute's currency), which
// every page then tells. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_disputes', 'credit_note_invoice_id'))) {
    await knex.schema.alterTable('mod_overusage_disputes', (t) => {
      t.bigInteger('credit_note_invoice_id').nullable();
      t.bigInteger('credited_minor').nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('mod_overusage_disputes', 'credit_note_invoice_id')) {
    await knex.schema.alterTable('mod_overusage_disputes', (t) => {
      t.dropColumn('credited_minor');
      t.dropColumn('credit_note_invoice_id');
    });
  }
}
