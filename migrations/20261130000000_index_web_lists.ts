import type { Knex } from 'knex';

// Indexes for the admin tab's lists (module/services/admin-reads.ts), measured with 100 000 lines
// (bench/web-worker.ts):
// - lines (status, id): a status filter reads the newest page of that status from the index, not
//   every line of the status sorted.
// - services (product_id, open_period_used_bytes): the dashboard's "near or over the allowance"
//   reads the most used services of a product from the index, not all of its services.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_overusage_lines', (t) => {
    t.index(['status', 'id'], 'mod_overusage_lines_status_id_index');
  });
  await knex.schema.alterTable('mod_overusage_services', (t) => {
    t.index(['product_id', 'open_period_used_bytes'], 'mod_overusage_services_product_used_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_overusage_services', (t) => {
    t.dropIndex(['product_id', 'open_period_used_bytes'], 'mod_overusage_services_product_used_index');
  });
  await knex.schema.alterTable('mod_overusage_lines', (t) => {
    t.dropIndex(['status', 'id'], 'mod_overusage_lines_status_id_index');
  });
}
