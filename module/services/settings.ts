import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { invalidInput } from '../domain/errors.js';
import { createSettingsStore, type SettingsStore } from '../adapters/settings-store.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';

/**
 * The module's own settings, with defaults, validated on write and audited. Kept in
 * mod_overusage_settings so they work the same under the reference panel and a real WHMCS.
 */
export const SETTING_SCHEMAS = {
  /** local time (panel zone) after which the day's sample is taken on the 5-minute cron: close to midnight, before the master's reset */
  sample_at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)'),
  /** drop the module's tables when it is deactivated */
  drop_data_on_deactivate: z.enum(['on', '']),
  /** sync: link a service with no SolusVM id by its hostname or main IP on the master's server list (opt-in) */
  sync_match_by: z.enum(['none', 'hostname', 'ip', 'hostname_or_ip']),
} as const;

export type SettingName = keyof typeof SETTING_SCHEMAS;
export type Settings = { [K in SettingName]: z.infer<(typeof SETTING_SCHEMAS)[K]> };

export const SETTING_DEFAULTS: Settings = {
  sample_at: '23:50',
  drop_data_on_deactivate: '',
  sync_match_by: 'none',
};

export interface SettingsService {
  all(): Promise<Settings>;
  get<K extends SettingName>(name: K): Promise<Settings[K]>;
  set(values: Partial<Record<SettingName, unknown>>, actor: Actor): Promise<Settings>;
}

export function createSettingsService(deps: {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  store?: SettingsStore;
}): SettingsService {
  const { knex, clock, audit } = deps;
  const store = deps.store ?? createSettingsStore(knex);
  const all = async (): Promise<Settings> => {
    const out: Record<string, unknown> = { ...SETTING_DEFAULTS };
    for (const [name, value] of await store.all())
      if (Object.hasOwn(SETTING_SCHEMAS, name)) out[name] = value;
    return out as Settings;
  };
  return {
    all,
    async get(name) {
      return (await all())[name];
    },
    async set(values, actor) {
      const entries = Object.entries(values) as Array<[SettingName, unknown]>;
      for (const [name, value] of entries) {
        // own names only: toString, constructor or __proto__ are Object's, not settings
        const schema = Object.hasOwn(SETTING_SCHEMAS, name) ? SETTING_SCHEMAS[name] : undefined;
        if (!schema) throw invalidInput(`there is no setting "${name}"`);
        const parsed = schema.safeParse(value);
        if (!parsed.success) throw invalidInput(`${name}: ${parsed.error.issues[0]!.message}`);
      }
      const now = clock.now();
      await retryTransaction(knex, async (trx) => {
        await store.put(
          trx,
          entries.map(([name, value]) => [name, String(value)] as const),
          now,
        );
        await audit.record(
          trx,
          {
            actor,
            action: 'settings.changed',
            entityType: 'settings',
            entityId: null,
            details: Object.fromEntries(entries),
          },
          now,
        );
      });
      return all();
    },
  };
}
