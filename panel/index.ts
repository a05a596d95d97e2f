/**
 * The reference panel host: a small, faithful implementation of the part of WHMCS the add-on
 * uses — its tables, hook points, API commands (in-process and over /includes/api.php), daily
 * automation and addon hosting. `createPanel` is the one place its objects are built. The add-on
 * (module/) never imports anything from here; it sees the panel only through PanelApi and hooks.
 */
import type { Knex } from 'knex';
import type { Router } from 'express';
import { Settings } from 'luxon';
import { silentLogger, type Logger } from '../module/adapters/logger.js';
import type { PanelApi } from '../module/adapters/panel-api.js';
import type { Clock } from '../module/domain/clock.js';
import { assertZone } from '../module/domain/calendar.js';
import { createAddonHost, type AddonHost } from './addon-host.js';
import { createApiRouter } from './api-router.js';
import { createCommandRegistry, type CommandRegistry } from './api/registry.js';
import { createAutomation, type Automation } from './automation.js';
import { createCore, type PanelCore } from './core/context.js';
import {
  createServerModuleRegistry,
  type ServerModule,
  type ServerModuleRegistry,
} from './core/server-modules.js';
import { createHookManager, type HookManager } from './hooks.js';
import { createLocalApi } from './local-api.js';
import { logActivity } from './db/activity-log.js';
import { migratePanel, panelMigrationStatus, rollbackPanel } from './schema-migrator.js';
import type { TrustProxy } from '../module/web/client-address.js';
import { createLoginThrottle, type LoginThrottle, type ThrottleOptions } from './login-throttle.js';

// Invalid dates must fail loudly, and nothing may silently use the host's local zone.
Settings.throwOnInvalid = true;
Settings.defaultZone = 'utc';

export interface PanelOptions {
  knex: Knex;
  clock: Clock;
  log?: Logger;
  /** the panel's time zone: calendar days, due dates, the wall-clock times WHMCS stores; default UTC */
  zone?: string;
  /** provisioning modules by tblproducts.servertype (e.g. a SolusVM simulator bridge) */
  serverModules?: Record<string, ServerModule>;
  /** WHMCS's $api_access_key: lets a caller past the API IP allow-list */
  apiAccessKey?: string;
  /**
   * the proxies in front (a hop count, or their addresses): the client address is then the
   * right-most X-Forwarded-For entry that is not one of them (module/web/client-address.ts), for
   * the API allow-list, the login lockouts and the activity log alike; default none
   */
  trustProxy?: TrustProxy | boolean;
  /** lockout after failed logins and API authentications (default: 5 failures, then 30 s doubling up to 15 min) */
  loginLockout?: ThrottleOptions;
}

export interface Panel {
  knex: Knex;
  zone: string;
  /** applies the panel's schema (its own migrations table, tblpanel_migrations) */
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<{ applied: string[]; pending: string[] }>;
  /** drops the panel's tables (tests, demo reset) */
  rollback(): Promise<string[]>;
  hooks: HookManager;
  /** the commands of the API, by WHMCS name */
  commands: CommandRegistry;
  /** the in-process PanelApi (WHMCS localAPI): no credentials, the same answers as over HTTP */
  api: PanelApi;
  /** the daily automation; `runDailyAutomation(date)` is what `overusage panel cron --date` calls */
  automation: Automation;
  runDailyAutomation: Automation['runDailyAutomation'];
  addons: AddonHost;
  servers: ServerModuleRegistry;
  /** express router serving POST /includes/api.php */
  apiRouter: Router;
  /** internals shared by the admin/client pages (loaders, emails, activity log) */
  core: PanelCore;
  /** writes an activity log entry (tblactivitylog) */
  logActivity(description: string, clientId?: number): Promise<void>;
  /** the proxies in front, for every reader of a client address */
  trustProxy: TrustProxy | boolean;
  /** failed logins of the pages and the API share one lockout */
  loginThrottle: LoginThrottle;
}

export function createPanel(opts: PanelOptions): Panel {
  const zone = assertZone(opts.zone ?? 'UTC');
  const log = opts.log ?? silentLogger;
  const hooks = createHookManager({
    log,
    logActivity: (description) => logActivity(opts.knex, { description }, opts.clock.now(), zone),
  });
  const servers = createServerModuleRegistry(opts.serverModules);
  const core = createCore({ knex: opts.knex, clock: opts.clock, zone, log, hooks, servers });
  const commands = createCommandRegistry(core);
  const automation = createAutomation(core);
  const addons = createAddonHost({ knex: opts.knex, hooks, log });
  const trustProxy = opts.trustProxy ?? false;
  const loginThrottle = createLoginThrottle(opts.loginLockout);
  const apiRouter = createApiRouter({
    core,
    commands,
    ...(opts.apiAccessKey !== undefined ? { accessKey: opts.apiAccessKey } : {}),
    trustProxy,
    throttle: loginThrottle,
  });
  return {
    knex: opts.knex,
    zone,
    migrate: () => migratePanel(opts.knex),
    migrationStatus: () => panelMigrationStatus(opts.knex),
    rollback: () => rollbackPanel(opts.knex),
    hooks,
    commands,
    api: createLocalApi(commands),
    automation,
    runDailyAutomation: (date) => automation.runDailyAutomation(date),
    addons,
    servers,
    apiRouter,
    core,
    logActivity: (description, clientId) => core.activity({ description, userid: clientId ?? 0 }),
    trustProxy,
    loginThrottle,
  };
}

export type {
  AddonModule,
  AddonConfig,
  AddonField,
  AddonResult,
  ClientAreaResult,
  AddonHost,
} from './addon-host.js';
export type { AutomationReport, Automation } from './automation.js';
export type { HookManager, HookTraceEntry, HookRunResult } from './hooks.js';
export type { ServerModule } from './core/server-modules.js';
export { createAdmin, createApiCredential } from './auth.js';
export { API_PATH } from './api-router.js';
// The panel's web pages (client area, admin area, addon embedding): app.use(createPanelWeb({ panel, sessionSecret }))
export { createPanelWeb, type PanelWebOptions } from './web/create-panel-web.js';
export { hashClientPassword, verifyClientPassword, setClientPassword } from './web/passwords.js';
export { MenuItem, type MenuItemOptions } from './web/menu.js';
