import type { Knex } from 'knex';

// Indexes for rating closed periods (module/services/rating.ts), measured on 100 000 services
// × 31 days (bench/rating-worker.ts):
// - periods (status, id): the unrated closed periods are paged in id order; with only
//   (status, end_date), every page read and sorted all closed periods after the cursor.
// - intervals (period_id, bytes): each period's daily rows are summed from the index alone, not
//   from 31 table rows per period scattered over a month of daily inserts. It serves every lookup
//   the (period_id) index did, which it replaces.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_overusage_periods', (t) => {
    t.index(['status', 'id'], 'mod_overusage_periods_status_id_index');
  });
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    t.index(['period_id', 'bytes'], 'mod_overusage_intervals_period_bytes_index');
  });
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    t.dropIndex(['period_id'], 'mod_overusage_intervals_period_id_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    t.index(['period_id'], 'mod_overusage_intervals_period_id_index');
  });
  await knex.schema.alterTable('mod_overusage_intervals', (t) => {
    t.dropIndex(['period_id', 'bytes'], 'mod_overusage_intervals_period_bytes_index');
  });
  await knex.schema.alterTable('mod_overusage_periods', (t) => {
    t.dropIndex(['status', 'id'], 'mod_overusage_periods_status_id_index');
  });
}
