import type { Knex } from 'knex';

// The WHMCS bridge's own records: nonces already seen (a signed request is accepted once), and
// the panel commands handed to the bridge in relay mode with their results (each applied once).
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_bridge_nonces'))) {
    await knex.schema.createTable('mod_overusage_bridge_nonces', (t) => {
      t.string('nonce', 64).primary();
      // the machine's real time, not the business clock: freshness is a transport matter
      t.datetime('seen_at', { precision: 3 }).notNullable();
      t.index(['seen_at']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_bridge_commands'))) {
    await knex.schema.createTable('mod_overusage_bridge_commands', (t) => {
      t.bigIncrements('id').primary();
      // the idempotency key the bridge applies the command under, once
      t.string('command_key', 80).notNullable().unique();
      t.string('conversation_id', 40).nullable();
      t.string('command', 60).notNullable();
      t.text('params').notNullable();
      // queued (waits for the next AfterCronJob) | handed_out | done | failed | unknown
      t.string('status', 12).notNullable();
      t.text('result').nullable();
      t.text('message').nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('handed_at', { precision: 3 }).nullable();
      t.datetime('reported_at', { precision: 3 }).nullable();
      t.index(['status']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_bridge_commands');
  await knex.schema.dropTableIfExists('mod_overusage_bridge_nonces');
}
