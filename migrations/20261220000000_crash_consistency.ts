import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Crash consistency (issue 12). A copy of the schema as written.
//  - leases say which host and process hold them, so a run on the same host takes over at once
//    from a process that is gone;
//  - the outbox: every email the module sends is written in the transaction of the change that
//    causes it, and sent (and marked sent) by a worker that retries;
//  - InvoiceCreation deliveries that finished, so the reconciliation looks only at renewal
//    invoices whose delivery never did.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_locks', 'host'))) {
    await knex.schema.alterTable('mod_overusage_locks', (t) => {
      t.string('host', 255).nullable();
      t.integer('pid').nullable();
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_outbox'))) {
    await knex.schema.createTable('mod_overusage_outbox', (t) => {
      t.bigIncrements('id').primary();
      // what makes the email unique, e.g. dispute:12:opened:client; a second enqueue changes nothing
      t.string('message_key', 150).notNullable().unique();
      // the identifier the email carries (derived from the key): a resend carries the same one
      t.string('ref', 24).notNullable();
      // client | admin
      t.string('audience', 10).notNullable();
      t.bigInteger('client_id').nullable();
      // what it is about, for the admin: dispute_opened, dispute_resolved, upgrade_suggestion, threshold …
      t.string('kind', 40).notNullable();
      // JSON: the panel call's input (SendEmail or SendAdminEmail)
      t.text('payload', 'mediumtext').notNullable();
      // pending | sending | sent | failed
      t.string('status', 10).notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      instant(t, 'next_attempt_at').notNullable();
      t.text('last_error').nullable();
      // how it was settled: sent, or found already sent after a crash
      t.string('outcome', 20).nullable();
      instant(t, 'created_at').notNullable();
      instant(t, 'sent_at').nullable();
      t.index(['status', 'next_attempt_at']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_deliveries'))) {
    await knex.schema.createTable('mod_overusage_deliveries', (t) => {
      t.bigInteger('invoice_id').primary();
      // hook | reconcile: who finished it
      t.string('finished_by', 12).notNullable();
      t.integer('added').notNullable().defaultTo(0);
      instant(t, 'finished_at').notNullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_deliveries');
  await knex.schema.dropTableIfExists('mod_overusage_outbox');
  if (await knex.schema.hasColumn('mod_overusage_locks', 'host')) {
    await knex.schema.alterTable('mod_overusage_locks', (t) => {
      t.dropColumn('host');
      t.dropColumn('pid');
    });
  }
}
