import type { Knex } from 'knex';

// Five-minute average rates (bits per second) for services billed on the 95th percentile. SolusVM
// keeps no such series; they are imported from the provider's own flow or SNMP collector.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('mod_overusage_rate_samples'))) {
    await knex.schema.createTable('mod_overusage_rate_samples', (t) => {
      t.bigInteger('service_id').notNullable();
      // the start of the five-minute slot, UTC
      t.datetime('slot_at', { precision: 3 }).notNullable();
      t.bigInteger('bps').notNullable();
      // one value per service and slot: a replay of the same figure changes nothing
      t.primary(['service_id', 'slot_at']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_overusage_rate_samples');
}
