import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { SYSTEM, type Actor, type AuditLog } from '../adapters/audit-store.js';
import { migrateDownAll, migrateLatest, migrationStatus, unlockMigrations } from '../adapters/migrator.js';
import type { UsagePeriodService } from './usage-periods.js';

export interface MigrationService {
  /** applies what is new; the names applied */
  migrate(): Promise<string[]>;
  /** undoes every migration; the names undone */
  migrateDown(): Promise<string[]>;
  /** frees the migration lock a stopped process left; audited when there was one */
  unlockMigrations(actor: Actor): Promise<boolean>;
  migrationStatus(): Promise<{ applied: string[]; pending: string[] }>;
}

/**
 * The module's migrations (module/adapters/migrator.ts). Periods made before the billing calendar
 * are rebuilt from their samples once, right after migrating, before anything meters or bills on
 * them.
 */
export function createMigrationService(deps: {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  usagePeriods: UsagePeriodService;
}): MigrationService {
  return {
    async migrate() {
      const applied = await migrateLatest(deps.knex);
      await deps.usagePeriods.rebuildPending(SYSTEM);
      return applied;
    },
    migrateDown: () => migrateDownAll(deps.knex),
    async unlockMigrations(actor) {
      const freed = await unlockMigrations(deps.knex);
      if (freed)
        await deps.audit.record(
          deps.knex,
          { actor, action: 'migrations.unlocked', entityType: 'module', entityId: null },
          deps.clock.now(),
        );
      return freed;
    },
    migrationStatus: () => migrationStatus(deps.knex),
  };
}
