import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Transfer pools and client-chosen caps (issue 21). A copy of the schema as written.
//  - pool members: when a service was a member of its client's pool (the spans its allowance is
//    prorated by, in hours);
//  - pool periods: one rated calendar month per client and pool, with the arithmetic; its one
//    charge is in mod_overusage_charges (kind 'pool', period_id = −pool period id);
//  - caps: what a client is willing to pay for overusage per month (money or bytes) and what
//    happens when it is reached.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_pool_members'))) {
    await knex.schema.createTable('mod_overusage_pool_members', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('client_id').notNullable();
      // the product setting's pool name: services of one client with the same name share a pool
      t.string('pool_key', 40).notNullable();
      t.bigInteger('service_id').notNullable();
      // the plan it was on during the span (an upgrade ends one span and starts another)
      t.bigInteger('product_id').notNullable();
      instant(t, 'joined_at').notNullable();
      instant(t, 'left_at').nullable();
      instant(t, 'created_at').notNullable();
      t.index(['client_id', 'pool_key']);
      t.index(['service_id', 'left_at']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_pool_periods'))) {
    await knex.schema.createTable('mod_overusage_pool_periods', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('client_id').notNullable();
      t.string('pool_key', 40).notNullable();
      t.date('start_date').notNullable();
      t.date('end_date').notNullable();
      t.string('currency', 3).notNullable();
      t.integer('period_hours').notNullable();
      t.bigInteger('anchor_service_id').notNullable();
      t.bigInteger('allowance_bytes').notNullable();
      t.bigInteger('used_bytes').notNullable();
      t.bigInteger('over_bytes').notNullable();
      t.bigInteger('amount_minor').notNullable();
      // every member's hours, share, use and part, as JSON (bigints as strings)
      t.text('details').notNullable();
      instant(t, 'rated_at').notNullable();
      // one rating per pool and month: the key that stops rating a pool twice
      t.unique(['client_id', 'pool_key', 'start_date']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_caps'))) {
    await knex.schema.createTable('mod_overusage_caps', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('client_id').notNullable();
      // the service the cap is for (a pool's cap is set on one of its services and covers the pool)
      t.bigInteger('service_id').notNullable();
      // money | bytes
      t.string('kind', 6).notNullable();
      // minor units of `currency`, or bytes
      t.bigInteger('amount').notNullable();
      t.string('currency', 3).nullable();
      // throttle | suspend
      t.string('action', 10).notNullable();
      t.integer('throttle_mbps').nullable();
      // active | lifted
      t.string('status', 8).notNullable();
      instant(t, 'set_at').notNullable();
      instant(t, 'lifted_at').nullable();
      t.index(['service_id', 'status']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_caps');
  await knex.schema.dropTableIfExists('mod_overusage_pool_periods');
  await knex.schema.dropTableIfExists('mod_overusage_pool_members');
}
