import type { Knex } from 'knex';

// A copy of the schema as it was when written: later migrations change it, never this file.

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_masters'))) {
    await knex.schema.createTable('mod_overusage_masters', (t) => {
      t.increments('id').primary();
      t.string('name', 100).notNullable().unique();
      t.tinyint('version').notNullable();
      t.string('base_url', 500).notNullable();
      // API id/key or token, sealed with the module's secret key (AES-256-GCM)
      t.text('credentials_enc').notNullable();
      t.text('basic_auth_enc').nullable();
      t.string('tls_mode', 10).notNullable().defaultTo('verify');
      t.string('tls_fingerprint', 110).nullable();
      t.string('time_zone', 64).notNullable();
      t.string('reset_policy', 20).notNullable();
      t.integer('concurrency').notNullable().defaultTo(8);
      t.integer('timeout_ms').notNullable().defaultTo(60000);
      t.integer('retries').notNullable().defaultTo(2);
      t.boolean('active').notNullable().defaultTo(true);
      instant(t, 'created_at').notNullable();
      instant(t, 'updated_at').notNullable();
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_services'))) {
    await knex.schema.createTable('mod_overusage_services', (t) => {
      // the panel's service id (tblhosting.id)
      t.bigInteger('service_id').primary();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('product_id').notNullable().defaultTo(0);
      t.integer('master_id').unsigned().notNullable().references('id').inTable('mod_overusage_masters');
      // v1 vserverid or v2 server id
      t.string('server_ref', 64).notNullable();
      t.string('server_uuid', 64).nullable();
      // overrides of the master's reset policy (anniversary needs the day)
      t.string('reset_policy', 20).nullable();
      t.tinyint('reset_day').nullable();
      t.boolean('active').notNullable().defaultTo(true);
      // metering state, written with each sample in the same transaction (a cache of the latest
      // good sample and the open period, so a daily run needs no per-service lookups)
      t.bigInteger('last_sample_id').nullable();
      t.bigInteger('last_used_bytes').nullable();
      instant(t, 'last_sampled_at').nullable();
      t.date('last_sample_date').nullable();
      t.bigInteger('open_period_id').nullable();
      t.date('open_period_start').nullable();
      t.date('open_period_end').nullable();
      t.bigInteger('open_period_used_bytes').nullable();
      instant(t, 'created_at').notNullable();
      instant(t, 'updated_at').notNullable();
      t.unique(['master_id', 'server_ref']);
      t.index(['master_id', 'active', 'service_id']);
      t.index(['client_id']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_runs'))) {
    await knex.schema.createTable('mod_overusage_runs', (t) => {
      t.bigIncrements('id').primary();
      t.string('kind', 20).notNullable();
      t.date('sample_date').notNullable();
      t.string('owner', 120).notNullable();
      t.string('status', 12).notNullable();
      instant(t, 'started_at').notNullable();
      instant(t, 'finished_at').nullable();
      t.integer('services').notNullable().defaultTo(0);
      t.integer('read_ok').notNullable().defaultTo(0);
      t.integer('already').notNullable().defaultTo(0);
      t.integer('failed').notNullable().defaultTo(0);
      t.integer('gaps').notNullable().defaultTo(0);
      t.integer('resets').notNullable().defaultTo(0);
      t.integer('anomalies').notNullable().defaultTo(0);
      t.text('message').nullable();
      t.index(['sample_date']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_samples'))) {
    await knex.schema.createTable('mod_overusage_samples', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.integer('master_id').notNullable();
      t.string('server_ref', 64).notNullable();
      // the day this sample closes (panel zone); one good sample per service and day
      t.date('sample_date').notNullable();
      instant(t, 'sampled_at').notNullable();
      t.bigInteger('used_bytes').notNullable();
      t.bigInteger('limit_bytes').nullable();
      t.bigInteger('incoming_bytes').nullable();
      t.bigInteger('outgoing_bytes').nullable();
      t.string('state', 16).notNullable();
      // the counter fields as SolusVM sent them: the evidence
      t.string('raw', 255).notNullable();
      t.bigInteger('run_id').nullable();
      t.unique(['service_id', 'sample_date']);
      t.index(['run_id']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_periods'))) {
    await knex.schema.createTable('mod_overusage_periods', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.date('start_date').notNullable();
      // expected last day while open; the actual last day once closed
      t.date('end_date').nullable();
      t.string('status', 10).notNullable();
      t.string('opened_by', 20).notNullable();
      t.string('closed_by', 20).nullable();
      t.bigInteger('used_bytes').notNullable().defaultTo(0);
      instant(t, 'reset_at').nullable();
      instant(t, 'unmeasured_after').nullable();
      t.string('anomaly', 30).nullable();
      t.bigInteger('last_sample_id').nullable();
      instant(t, 'created_at').notNullable();
      instant(t, 'closed_at').nullable();
      t.unique(['service_id', 'start_date']);
      t.index(['status', 'end_date']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_intervals'))) {
    await knex.schema.createTable('mod_overusage_intervals', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('period_id').notNullable();
      t.bigInteger('from_sample_id').nullable();
      // each good sample ends exactly one interval: the key that stops double counting
      t.bigInteger('to_sample_id').notNullable().unique();
      t.string('kind', 16).notNullable();
      t.date('from_date').notNullable();
      t.date('to_date').notNullable();
      t.bigInteger('bytes').notNullable();
      t.index(['period_id']);
      t.index(['service_id', 'to_date']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_read_failures'))) {
    await knex.schema.createTable('mod_overusage_read_failures', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('run_id').notNullable();
      t.bigInteger('service_id').notNullable();
      t.integer('master_id').notNullable();
      t.date('sample_date').notNullable();
      instant(t, 'attempted_at').notNullable();
      t.string('error_kind', 20).notNullable();
      t.string('message', 500).notNullable();
      t.index(['service_id', 'sample_date']);
      t.index(['run_id']);
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_locks'))) {
    await knex.schema.createTable('mod_overusage_locks', (t) => {
      t.string('name', 120).primary();
      t.string('owner', 120).notNullable();
      instant(t, 'acquired_at').notNullable();
      instant(t, 'expires_at').notNullable();
    });
  }

  if (!(await knex.schema.hasTable('mod_overusage_audit'))) {
    await knex.schema.createTable('mod_overusage_audit', (t) => {
      t.bigIncrements('id').primary();
      instant(t, 'at').notNullable();
      t.string('actor_type', 10).notNullable();
      t.string('actor_id', 64).nullable();
      t.string('action', 60).notNullable();
      t.string('entity_type', 30).notNullable();
      t.string('entity_id', 64).nullable();
      t.text('details').nullable();
      t.index(['entity_type', 'entity_id']);
      t.index(['at']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'mod_overusage_audit',
    'mod_overusage_locks',
    'mod_overusage_read_failures',
    'mod_overusage_intervals',
    'mod_overusage_periods',
    'mod_overusage_samples',
    'mod_overusage_runs',
    'mod_overusage_services',
    'mod_overusage_masters',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
