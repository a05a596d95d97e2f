import type { Logger } from '../module/adapters/logger.js';
import type { Clock } from '../module/domain/clock.js';
import type { MeteringService } from '../module/services/metering.js';
import type { SettingsService } from '../module/services/settings.js';
import { AfterCronJob } from './AfterCronJob.js';
import { DailyCronJob } from './DailyCronJob.js';
import type { HookDefinition } from './hook-types.js';

export interface HookDeps {
  metering: MeteringService;
  settings: SettingsService;
  clock: Clock;
  zone: string;
  log: Logger;
}

/** The module's hooks.php: every panel hook it handles, by WHMCS name and priority. */
export function moduleHooks(deps: HookDeps): HookDefinition[] {
  return [DailyCronJob(deps), AfterCronJob(deps)];
}

export type { HookDefinition, HookHandler, HookVars } from './hook-types.js';
