import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Web token revocations (module/adapters/token-revocations.ts), kept so that a logout and a
// disabled admin hold across a restart; and the admin who acted through a token minted for
// someone else, on every audit row ("admin X acting as client Y"). A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_token_revocations'))) {
    await knex.schema.createTable('mod_overusage_token_revocations', (t) => {
      t.bigIncrements('id').primary();
      // token: one token (and the tokens bound to it) by nonce; subject: every token naming the
      // subject or minted by that admin, issued up to `before_ms`; sessions: every session-bound
      // token of that admin issued up to `before_ms`
      t.string('kind', 10).notNullable();
      t.string('subject_type', 6).notNullable();
      t.bigInteger('subject_id').notNullable();
      t.string('nonce', 22).nullable().unique();
      t.bigInteger('before_ms').nullable();
      t.string('reason', 40).notNullable();
      instant(t, 'created_at').notNullable();
      // unix seconds after which no token it could refuse is still alive: then it is pruned
      t.bigInteger('expires_at').notNullable();
      t.index(['expires_at']);
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_audit', 'acting_admin_id'))) {
    await knex.schema.alterTable('mod_overusage_audit', (t) => {
      t.string('acting_admin_id', 64).nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('mod_overusage_audit', 'acting_admin_id')) {
    await knex.schema.alterTable('mod_overusage_audit', (t) => t.dropColumn('acting_admin_id'));
  }
  await knex.schema.dropTableIfExists('mod_overusage_token_revocations');
}
