import type { Knex } from 'knex';

// The pace an overdue reset is weighed against (module/domain/metering.ts, recentPace;
// docs/billing-rules.md, "Counter resets"): the traffic per day of the service's latest metered
// days, newest last, as a JSON array of decimal strings (at most 7). NULL on rows metered before
// it: their pace starts again from daily_bytes, one day. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_services', 'recent_daily_bytes'))) {
    await knex.schema.alterTable('mod_overusage_services', (t) => {
      t.text('recent_daily_bytes').nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('mod_overusage_services', 'recent_daily_bytes')) {
    await knex.schema.alterTable('mod_overusage_services', (t) => {
      t.dropColumn('recent_daily_bytes');
    });
  }
}
