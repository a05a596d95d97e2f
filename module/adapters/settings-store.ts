import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { column, sqlInstant, textIn } from './rows.js';
import { TABLES } from './tables.js';

/**
 * The module's own settings as stored: one row per name, its value as text. Which names exist, their
 * defaults and their rules are the settings service's (module/services/settings.ts).
 */

type Db = Knex | Knex.Transaction;

export interface SettingsStore {
  /** every stored setting, by name (names the module no longer knows included) */
  all(): Promise<Map<string, string>>;
  /** writes each value, replacing the one stored under its name */
  put(db: Db, values: ReadonlyArray<readonly [string, string]>, now: DateTime): Promise<void>;
}

export function createSettingsStore(knex: Knex): SettingsStore {
  return {
    async all() {
      const rows = await knex(TABLES.settings).select('name', 'value');
      return new Map(
        rows.map((r) => [
          column(r, TABLES.settings, 'name', textIn),
          column(r, TABLES.settings, 'value', textIn),
        ]),
      );
    },
    async put(db, values, now) {
      for (const [name, value] of values) {
        await db(TABLES.settings)
          .insert({ name, value, updated_at: sqlInstant(now) })
          .onConflict('name')
          .merge(['value', 'updated_at']);
      }
    },
  };
}
