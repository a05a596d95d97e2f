import type { Knex } from 'knex';

// Which process runs a day's automation (host:pid), so a rerun on the same host can take over at
// once from a run whose process died, instead of waiting for it to look stale on the panel's clock
// (which the demo keeps standing still).
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('tblpanel_automation_runs', 'runner'))) {
    await knex.schema.alterTable('tblpanel_automation_runs', (t) => {
      t.string('runner', 160).nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('tblpanel_automation_runs', 'runner')) {
    await knex.schema.alterTable('tblpanel_automation_runs', (t) => {
      t.dropColumn('runner');
    });
  }
}
