import type { Knex } from 'knex';
import { ModuleError } from '../domain/errors.js';
import { isRetryableTxError, withTxRetry } from './sql-helpers.js';
import { TABLES } from './tables.js';
import * as createMetering from '../../migrations/20261127000000_create_metering.js';
import * as createSettings from '../../migrations/20261127130000_create_settings.js';
import * as createBilling from '../../migrations/20261127140000_create_billing.js';
import * as createNotices from '../../migrations/20261127150000_create_notices.js';
import * as createDisputes from '../../migrations/20261127160000_create_disputes.js';
import * as indexRatingReads from '../../migrations/20261128000000_index_rating_reads.js';
import * as createBridge from '../../migrations/20261128100000_create_bridge.js';
import * as createLimitActions from '../../migrations/20261129000000_create_limit_actions.js';
import * as indexWebLists from '../../migrations/20261130000000_index_web_lists.js';
import * as createRateSamples from '../../migrations/20261130100000_create_rate_samples.js';
import * as billingCalendar from '../../migrations/20261205000000_billing_calendar.js';
import * as solusvmOperations from '../../migrations/20261205200000_solusvm_operations.js';
import * as tokenRevocations from '../../migrations/20261218000000_token_revocations.js';
import * as crashConsistency from '../../migrations/20261220000000_crash_consistency.js';
import * as poolsAndCaps from '../../migrations/20261222000000_pools_and_caps.js';
import * as upgrades from '../../migrations/20261222200000_upgrades.js';
import * as serviceDirectory from '../../migrations/20261223000000_service_directory.js';
import * as disputeCreditNotes from '../../migrations/20261230000000_dispute_credit_notes.js';
import * as recentPace from '../../migrations/20261231000000_recent_pace.js';
import * as lateFeeRetries from '../../migrations/20270101000000_late_fee_retries.js';
import * as lateFeeTimes from '../../migrations/20270103000000_late_fee_times.js';
import * as ratedPeriods from '../../migrations/20270102000000_rated_periods.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Listed explicitly and named without an extension, so the same database works whether the code
// runs from .ts (tsx) or compiled .js, and stray files in migrations/ are never picked up.
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['20261127000000_create_metering', createMetering],
  ['20261127130000_create_settings', createSettings],
  ['20261127140000_create_billing', createBilling],
  ['20261127150000_create_notices', createNotices],
  ['20261127160000_create_disputes', createDisputes],
  ['20261128000000_index_rating_reads', indexRatingReads],
  ['20261128100000_create_bridge', createBridge],
  ['20261129000000_create_limit_actions', createLimitActions],
  ['20261130000000_index_web_lists', indexWebLists],
  ['20261130100000_create_rate_samples', createRateSamples],
  ['20261205000000_billing_calendar', billingCalendar],
  ['20261205200000_solusvm_operations', solusvmOperations],
  ['20261218000000_token_revocations', tokenRevocations],
  ['20261220000000_crash_consistency', crashConsistency],
  ['20261222000000_pools_and_caps', poolsAndCaps],
  ['20261222200000_upgrades', upgrades],
  ['20261223000000_service_directory', serviceDirectory],
  ['20261230000000_dispute_credit_notes', disputeCreditNotes],
  ['20261231000000_recent_pace', recentPace],
  ['20270101000000_late_fee_retries', lateFeeRetries],
  ['20270102000000_rated_periods', ratedPeriods],
  ['20270103000000_late_fee_times', lateFeeTimes],
];

export const MIGRATION_TABLE = TABLES.migrations;

const source: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m[0],
  getMigration: async (m) => m[1],
};

const options = {
  migrationSource: source,
  tableName: MIGRATION_TABLE,
  lockTableName: `${MIGRATION_TABLE}_lock`,
};

/**
 * Applies every pending migration; returns the names applied now. Every command migrates first,
 * and with nothing pending that is still one transaction that sets and frees the lock row: two
 * collectors starting at once through different Galera nodes write that row at once, and the later
 * commit loses certification (1213). That transaction is retried whole; once a migration has
 * begun it is not (MySQL commits DDL as it goes, so a second try would not start from the same state).
 */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  let began = false;
  try {
    const [, applied] = await withTxRetry(
      () => {
        began = false;
        return knex.migrate.latest({
          ...options,
          beforeAll: async () => {
            began = true;
          },
        });
      },
      5,
      (err) => !began && (isRetryableTxError(err) || lockRowDeadlock(err)),
    );
    return applied as string[];
  } catch (err) {
    // knex says only "Migration table is already locked": the lock is a row, and a migration
    // killed half-way leaves it set for good, so say both cases and the way out
    if ((err as Error)?.name === 'MigrationLocked') {
      throw new ModuleError(
        'LOCKED',
        `the migrations are locked (${MIGRATION_TABLE}_lock): another "overusage migrate" or upgrade is running now, or one was stopped half-way and left its lock; if none is running, free it with "overusage migrate --unlock" and run migrate again`,
      );
    }
    throw err;
  }
}

/** knex turns a deadlock on its lock row into a MigrationLocked error with the driver's message only. */
function lockRowDeadlock(err: unknown): boolean {
  const e = err as Error | null;
  return e?.name === 'MigrationLocked' && /Deadlock found when trying to get lock/.test(e.message);
}

/** Frees the lock a migration stopped half-way left; returns whether it was set. */
export async function unlockMigrations(knex: Knex): Promise<boolean> {
  const lock = `${MIGRATION_TABLE}_lock`;
  if (!(await knex.schema.hasTable(lock))) return false;
  const n = await knex(lock).where({ is_locked: 1 }).update({ is_locked: 0 });
  return n > 0;
}

/** Undoes every migration of the module (drops only mod_overusage_* tables). */
export async function migrateDownAll(knex: Knex): Promise<string[]> {
  const [, undone] = await knex.migrate.rollback(options, true);
  await knex.schema.dropTableIfExists(`${MIGRATION_TABLE}_lock`);
  await knex.schema.dropTableIfExists(MIGRATION_TABLE);
  return undone as string[];
}

export async function migrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [applied, pending] = await knex.migrate.list(options);
  return {
    applied: (applied as Array<{ name: string } | string>).map((x) => (typeof x === 'string' ? x : x.name)),
    pending: (pending as Array<readonly [string, Migration]>).map((m) => m[0]),
  };
}

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]![0];
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map((m) => m[0]);
