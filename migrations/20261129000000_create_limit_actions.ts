import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// The policy at the limit: one row per throttle or suspension decided for a service, from the
// decision to the lift, with its retries. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_limit_actions'))) {
    await knex.schema.createTable('mod_overusage_limit_actions', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('client_id').notNullable();
      t.bigInteger('period_id').notNullable();
      // throttle | suspend
      t.string('action', 10).notNullable();
      // period:<id>:<action>:<allowance bytes>: the key that stops applying an action twice
      t.string('action_key', 100).notNullable();
      // pending | applied | observed | released | lifting | lifted | cancelled (module/domain/limit-policy.ts)
      t.string('status', 12).notNullable();
      // where it was applied (the service may be moved or unlinked later; the lift goes here)
      t.integer('master_id').notNullable();
      t.string('server_ref', 64).notNullable();
      t.bigInteger('allowance_bytes').notNullable();
      t.bigInteger('used_bytes').notNullable();
      // JSON: the speed settings a throttle sets and the ones its lift puts back
      t.text('speed_target').nullable();
      t.text('speed_restore').nullable();
      // the panel's service status kept in step: none | to_suspend | suspended | to_restore | restored | untouched
      t.string('panel_state', 12).notNullable().defaultTo('none');
      t.integer('attempts').notNullable().defaultTo(0);
      instant(t, 'next_attempt_at').nullable();
      t.text('last_error').nullable();
      // next_period | allowance_raised | policy_changed | admin
      t.string('lift_reason', 20).nullable();
      t.string('lifted_by', 80).nullable();
      instant(t, 'decided_at').notNullable();
      instant(t, 'applied_at').nullable();
      instant(t, 'lift_requested_at').nullable();
      instant(t, 'lifted_at').nullable();
      instant(t, 'updated_at').notNullable();
      t.unique(['service_id', 'action_key']);
      t.index(['status', 'next_attempt_at']);
      t.index(['service_id', 'period_id']);
      t.index(['panel_state']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_limit_actions');
}
