import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { Logger } from '../../module/adapters/logger.js';
import type { Clock } from '../../module/domain/clock.js';
import { localDate, type IsoDate } from '../../module/domain/calendar.js';
import { logActivity, type ActivityEntry } from '../db/activity-log.js';
import type { HookManager } from '../hooks.js';
import type { ServerModuleRegistry } from './server-modules.js';

/** "Now" for one piece of work: the automation runs for a given day, commands for the clock's. */
export interface When {
  today: IsoDate;
  now: DateTime;
}

/** Who asked: WHMCS passes `source` and `user` to the invoice hooks. */
export interface Actor {
  source: 'api' | 'localapi' | 'autogen' | 'adminarea' | 'clientarea';
  /** 'system' or an admin id */
  user: 'system' | number;
  ip?: string;
}

export const SYSTEM: Actor = { source: 'localapi', user: 'system' };
export const AUTOGEN: Actor = { source: 'autogen', user: 'system' };

export interface PanelCore {
  knex: Knex;
  clock: Clock;
  zone: string;
  log: Logger;
  hooks: HookManager;
  servers: ServerModuleRegistry;
  when(): When;
  activity(entry: ActivityEntry, when?: When): Promise<void>;
}

export function createCore(deps: {
  knex: Knex;
  clock: Clock;
  zone: string;
  log: Logger;
  hooks: HookManager;
  servers: ServerModuleRegistry;
}): PanelCore {
  const when = (): When => {
    const now = deps.clock.now();
    return { now, today: localDate(now, deps.zone) };
  };
  return {
    ...deps,
    when,
    activity: (entry, w) => logActivity(deps.knex, entry, (w ?? when()).now, deps.zone),
  };
}
