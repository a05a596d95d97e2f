import type { Knex } from 'knex';
import * as createSchema from './migrations/20261127120000_create_whmcs_schema.js';
import * as seedDefaults from './migrations/20261127120100_seed_whmcs_defaults.js';
import * as templatesHeldLines from './migrations/20261127170000_templates_held_lines.js';
import * as solusioVpsServers from './migrations/20261205100000_solusiovps_servers.js';
import * as automationRunner from './migrations/20261206130000_automation_runner.js';
import * as pricingUpgrades from './migrations/20261222100000_pricing_upgrades.js';
import * as loginConfigOptions from './migrations/20261228100000_login_config_options.js';
import * as orders from './migrations/20261230100000_orders.js';
import * as loginFailures from './migrations/20270102100000_login_failures.js';
import * as promotionsOrderOptions from './migrations/20270110100000_promotions_order_options.js';
import * as lateFeeDaysDefault from './migrations/20270115100000_late_fee_days_default.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Listed explicitly and named without an extension (as the module's migrator does), in the
// panel's own migrations table, so the panel and the add-on version their schemas separately.
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['20261127120000_create_whmcs_schema', createSchema],
  ['20261127120100_seed_whmcs_defaults', seedDefaults],
  ['20261127170000_templates_held_lines', templatesHeldLines],
  ['20261205100000_solusiovps_servers', solusioVpsServers],
  ['20261206130000_automation_runner', automationRunner],
  ['20261222100000_pricing_upgrades', pricingUpgrades],
  ['20261228100000_login_config_options', loginConfigOptions],
  ['20261230100000_orders', orders],
  ['20270102100000_login_failures', loginFailures],
  ['20270110100000_promotions_order_options', promotionsOrderOptions],
  ['20270115100000_late_fee_days_default', lateFeeDaysDefault],
];

export const PANEL_MIGRATION_TABLE = 'tblpanel_migrations';

const source: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m[0],
  getMigration: async (m) => m[1],
};

const options = {
  migrationSource: source,
  tableName: PANEL_MIGRATION_TABLE,
  lockTableName: `${PANEL_MIGRATION_TABLE}_lock`,
};

/** Applies every pending panel migration; returns the names applied now. */
export async function migratePanel(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest(options);
  return applied as string[];
}

/** Drops the panel's tables (tests and `panel reset`; never run against a real WHMCS database). */
export async function rollbackPanel(knex: Knex): Promise<string[]> {
  const [, undone] = await knex.migrate.rollback(options, true);
  await knex.schema.dropTableIfExists(`${PANEL_MIGRATION_TABLE}_lock`);
  await knex.schema.dropTableIfExists(PANEL_MIGRATION_TABLE);
  return undone as string[];
}

export async function panelMigrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [applied, pending] = await knex.migrate.list(options);
  return {
    applied: (applied as Array<{ name: string } | string>).map((x) => (typeof x === 'string' ? x : x.name)),
    pending: (pending as Array<readonly [string, Migration]>).map((m) => m[0]),
  };
}
