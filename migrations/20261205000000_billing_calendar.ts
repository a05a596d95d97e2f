import type { Knex } from 'knex';

const instant = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });

// Usage periods on the billing calendar (module/domain/billing-calendar.ts): periods are the
// calendar's, whatever the counter did; an interval that spans a period boundary is split into
// parts (one row per period); counter drops no one can read, late and missed resets and gaps are
// anomalies an admin sees and decides; a period changed after it was invoiced gets a correction
// charge. A copy of the schema as written.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('mod_overusage_services', 'reset_due_on'))) {
    await knex.schema.alterTable('mod_overusage_services', (t) => {
      // the reset boundary since which SolusVM should have reset the counter and has not
      t.date('reset_due_on').nullable();
      // the traffic per day of the last interval that booked any: what a fresh counter could hold
      t.bigInteger('daily_bytes').nullable();
      // SolusVM 2: the server's plan reset_limit_policy and the VM's creation day, from the latest read
      t.string('solusvm_reset_policy', 20).nullable();
      t.date('solusvm_created_on').nullable();
      // the day of the month the panel bills the service on (its next due date's day)
      t.tinyint('billing_day').nullable();
      // 1 once the service's periods were rebuilt on the billing calendar
      t.integer('calendar_version').notNullable().defaultTo(0);
      t.index(['calendar_version']);
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_masters', 'anniversary_from'))) {
    await knex.schema.alterTable('mod_overusage_masters', (t) => {
      // where an anniversary day comes from when a service does not say: solusvm | panel
      t.string('anniversary_from', 10).notNullable().defaultTo('solusvm');
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_periods', 'calendar'))) {
    await knex.schema.alterTable('mod_overusage_periods', (t) => {
      // the calendar that made it: first_of_month | anniversary:D | billing_cycle:D
      t.string('calendar', 40).nullable();
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_intervals', 'estimated'))) {
    await knex.schema.alterTable('mod_overusage_intervals', (t) => {
      t.boolean('estimated').notNullable().defaultTo(false);
      // a counter drop: what it read after the drop (what a reset decision books)
      t.bigInteger('candidate_bytes').nullable();
    });
    // an interval over a period boundary is one row per period it touches
    await knex.schema.alterTable('mod_overusage_intervals', (t) => {
      t.dropUnique(['to_sample_id']);
    });
    await knex.schema.alterTable('mod_overusage_intervals', (t) => {
      t.unique(['to_sample_id', 'period_id']);
    });
  }
  if (!(await knex.schema.hasTable('mod_overusage_anomalies'))) {
    await knex.schema.createTable('mod_overusage_anomalies', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('service_id').notNullable();
      t.bigInteger('period_id').notNullable();
      // reset_not_seen | late_reset | mid_period_drop | unmeasured | long_gap
      t.string('kind', 20).notNullable();
      // the sample that showed it
      t.bigInteger('sample_id').notNullable();
      // the undecided interval of a drop
      t.bigInteger('interval_id').nullable();
      t.date('seen_on').notNullable();
      // figures, dates and instants as JSON
      t.text('details').notNullable();
      // open (a drop waiting for a decision, a reset still due) | decided | resolved | info
      t.string('status', 10).notNullable();
      // reset | correction
      t.string('decision', 12).nullable();
      t.text('decision_reason').nullable();
      t.string('decided_by_type', 10).nullable();
      t.string('decided_by_id', 64).nullable();
      instant(t, 'decided_at').nullable();
      instant(t, 'created_at').notNullable();
      t.unique(['sample_id', 'kind', 'period_id']);
      t.index(['service_id', 'id']);
      t.index(['status', 'id']);
    });
  }
  if (!(await knex.schema.hasColumn('mod_overusage_charges', 'seq'))) {
    await knex.schema.alterTable('mod_overusage_charges', (t) => {
      // 0: the period's rating; 1, 2 …: corrections after it was invoiced
      t.integer('seq').notNullable().defaultTo(0);
      // usage | correction
      t.string('kind', 12).notNullable().defaultTo('usage');
    });
    await knex.schema.alterTable('mod_overusage_charges', (t) => {
      t.dropUnique(['period_id']);
    });
    await knex.schema.alterTable('mod_overusage_charges', (t) => {
      // one rating per period and one charge per correction: the key that stops rating twice
      t.unique(['period_id', 'seq']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_anomalies');
  // SQLite drops a column by rebuilding the table, which its foreign keys forbid inside a
  // migration; the extra columns are harmless there and go with the tables when the first
  // migration is undone.
  if (knex.client.config.client !== 'mysql2') return;
  // the schema before has one charge per period: corrections cannot go back with it
  await knex('mod_overusage_charges').where('seq', '>', 0).delete();
  await knex.schema.alterTable('mod_overusage_charges', (t) => {
    t.dropUnique(['period_id', 'seq']);
  });
  await knex.schema.alterTable('mod_overusage_charges', (t) => {
    t.unique(['period_id']);
    t.dropColumn('seq');
    t.dropColumn('kind');
  });
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    t.dropUnique(['to_sample_id', 'period_id']);
  });
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    // split intervals share their sample: the old key comes back as a plain index of its name
    t.index(['to_sample_id'], 'mod_overusage_intervals_to_sample_id_unique');
    t.dropColumn('estimated');
    t.dropColumn('candidate_bytes');
  });
  await knex.schema.alterTable('mod_overusage_periods', (t) => {
    t.dropColumn('calendar');
  });
  await knex.schema.alterTable('mod_overusage_masters', (t) => t.dropColumn('anniversary_from'));
  await knex.schema.alterTable('mod_overusage_services', (t) => {
    t.dropIndex(['calendar_version']);
    for (const c of [
      'reset_due_on',
      'daily_bytes',
      'solusvm_reset_policy',
      'solusvm_created_on',
      'billing_day',
      'calendar_version',
    ])
      t.dropColumn(c);
  });
}
