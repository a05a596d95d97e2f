import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Disputes of overusage lines: one per line, with the hold (the line moved onto a draft invoice of
// its own) and the resolution, each step recorded so that a retry continues where a failure stopped.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_disputes'))) {
    await knex.schema.createTable('mod_overusage_disputes', (t) => {
      t.bigIncrements('id').primary();
      // one dispute per line: a repeated or concurrent request cannot open a second
      t.bigInteger('line_id').notNullable().unique();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('service_id').notNullable();
      // open | upheld | waived | adjusted | withdrawn
      t.string('state', 12).notNullable();
      // while a resolution is being carried out through the panel: the state it is heading to
      t.string('resolving_to', 12).nullable();
      t.text('reason').notNullable();
      t.string('opened_by_type', 10).notNullable();
      t.string('opened_by_id', 64).nullable();
      // an admin opening after the window says why
      t.text('override_reason').nullable();
      instant(t, 'opened_at').notNullable();
      // none | holding | held | refund_decision (the line was already paid) | published | released
      t.string('hold_state', 16).notNullable();
      // the invoice the line was on when disputed, and the draft invoice that holds it
      t.bigInteger('original_invoice_id').notNullable();
      t.bigInteger('original_item_id').nullable();
      t.bigInteger('held_invoice_id').nullable();
      t.bigInteger('held_item_id').nullable();
      t.bigInteger('amount_before_minor').notNullable();
      t.bigInteger('amount_after_minor').nullable();
      t.string('currency', 3).notNullable();
      // the adjustment asked for (JSON) and the admin's note
      t.text('resolution').nullable();
      t.string('resolved_by_type', 10).nullable();
      t.string('resolved_by_id', 64).nullable();
      instant(t, 'resolved_at').nullable();
      t.date('new_due_date').nullable();
      // the client's refund or credit when the line had been paid
      t.string('settlement', 10).nullable();
      // bumped by every change: two admins resolving at once cannot both win
      t.integer('version').notNullable().defaultTo(0);
      instant(t, 'updated_at').notNullable();
      t.index(['state', 'opened_at']);
      t.index(['client_id']);
      t.index(['hold_state']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_disputes');
}
