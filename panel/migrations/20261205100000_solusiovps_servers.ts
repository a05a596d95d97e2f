import type { Knex } from 'knex';

// The table the official SolusVM 2 WHMCS module (solusio/solusiovps, lib/Database/Migrations/
// Servers.php) creates in the panel's database: which SolusVM 2 server each service is. It keeps
// no custom field; its CreateAccount writes one row per service (service_id, server_id, and the
// server as SolusVM answered it, in payload). The reference panel carries it the same way, so
// that linking v2 services is tested against what a real WHMCS holds.
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable('solusiovps_servers')) return;
  await knex.schema.createTable('solusiovps_servers', (t) => {
    t.increments('id');
    t.bigInteger('service_id');
    t.bigInteger('server_id');
    t.text('payload', 'longtext');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('solusiovps_servers');
}
