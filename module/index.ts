import crypto from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import { Settings } from 'luxon';
import type { Clock } from './domain/clock.js';
import { assertZone } from './domain/calendar.js';
import { auditLog, SYSTEM, type Actor } from './adapters/audit-store.js';
import { createLockStore } from './adapters/lock-store.js';
import { createMeteringStore } from './adapters/metering-store.js';
import { createThreadedMeteringStore } from './adapters/sqlite-writer.js';
import { engineOf } from './adapters/database.js';
import { DEFAULT_RECONNECT, describeError, reconnecting, type ReconnectPolicy, type ReconnectState } from './adapters/db-errors.js';
import { migrateDownAll, migrateLatest, migrationStatus, unlockMigrations } from './adapters/migrator.js';
import { createSecretBox } from './adapters/secret-box.js';
import { silentLogger, type Logger } from './adapters/logger.js';
import type { MasterSettings, SolusVmGateway } from './adapters/solusvm-types.js';
import { createMasterService } from './services/masters.js';
import { createMeteringService } from './services/metering.js';
import { createServiceLinkService } from './services/service-links.js';
import { createSettingsService } from './services/settings.js';
import { createAddonDefinition, MODULE_NAME, MODULE_VERSION } from './addon-definition.js';
import { createWeb, type WebOptions } from './web/web-module.js';
import { moduleHooks } from '../hooks/index.js';
import { createBillingSettingsService } from './services/billing-settings.js';
import { createRatingService } from './services/rating.js';
import { createPoolService } from './services/pools.js';
import { createCapService } from './services/caps.js';
import { createUpgradeService } from './services/upgrades.js';
import { createUsagePeriodService } from './services/usage-periods.js';
import { createInvoiceLineService } from './services/invoice-lines.js';
import { createUpgradeSuggestionService } from './services/upgrade-suggestions.js';
import { createEvidenceService } from './services/evidence.js';
import { createRetentionService } from './services/retention.js';
import { createDisputeService } from './services/disputes.js';
import { createDunningShield } from './services/dunning-shield.js';
import { createPanelSyncService } from './services/panel-sync.js';
import { createRateSampleService } from './services/rate-samples.js';
import type { PanelApi } from './adapters/panel-api.js';
import { createLimitActionStore } from './adapters/limit-action-store.js';
import { createPanelUsageFields } from './services/panel-usage-fields.js';
import { createOpenUsageReader } from './services/open-usage.js';
import { createThresholdNoticeService } from './services/threshold-notices.js';
import { createLimitActionService } from './services/limit-actions.js';
import { describeLineForClient } from './domain/line-text.js';
import { createOutbox } from './services/outbox.js';

export { MODULE_NAME, MODULE_VERSION } from './addon-definition.js';

// Invalid dates must fail loudly, and nothing may silently use the host's local zone.
Settings.throwOnInvalid = true;
Settings.defaultZone = 'utc';

export interface ModuleDeps {
  knex: Knex;
  clock: Clock;
  /** 32-byte key that seals SolusVM credentials at rest */
  secretKey: Buffer;
  /** the panel's time zone: calendar days, deadlines */
  zone: string;
  gatewayFor: (settings: MasterSettings) => SolusVmGateway;
  /** the panel's API (in-process for the reference panel, HTTP for WHMCS); without it no invoice work is done */
  panel?: PanelApi;
  log?: Logger;
  /** the web side: where its router is mounted, real time for tokens, caches, rate limits */
  web?: WebOptions;
  metering?: {
    pageSize?: number;
    batchSize?: number;
    lockTtlMs?: number;
    /** where SQLite metering writes run: a thread of their own (default for a file), or inline */
    writer?: 'thread' | 'inline';
    /** pauses while the database is away during a run, before the run fails */
    reconnect?: ReconnectPolicy;
  };
}

/** The one place where the module's objects are built. */
export function createModule(deps: ModuleDeps) {
  const zone = assertZone(deps.zone);
  const log = deps.log ?? silentLogger;
  const secrets = createSecretBox(deps.secretKey);
  const masters = createMasterService({ knex: deps.knex, secrets, clock: deps.clock, audit: auditLog, gatewayFor: deps.gatewayFor });
  const links = createServiceLinkService({ knex: deps.knex, clock: deps.clock, audit: auditLog });
  const { writer, reconnect, ...meteringTuning } = deps.metering ?? {};
  const baseStore = createMeteringStore(deps.knex);
  const sqliteFile = engineOf(deps.knex) === 'sqlite' ? (deps.knex.client.config.connection as { filename?: string }).filename : undefined;
  const threaded =
    (writer ?? 'thread') === 'thread' && sqliteFile && sqliteFile !== ':memory:' ? createThreadedMeteringStore(baseStore, `sqlite:${sqliteFile}`) : null;
  // one lease table for every part that takes a lease
  const locks = createLockStore(deps.knex);
  // A run rides out a short database outage (a restart): its reads and writes are tried again
  // with back-off, each of them safe to repeat; a longer one fails the run with the cause.
  const policy = reconnect ?? DEFAULT_RECONNECT;
  const dbState: ReconnectState = { gone: null };
  const retried = (method: string, err: unknown, attempt: number, delayMs: number) => log.warn('db.reconnecting', { method, attempt, delayMs, error: describeError(err) });
  const metering = createMeteringService({
    clock: deps.clock,
    zone,
    store: reconnecting(threaded ?? baseStore, ['startRun', 'finishRun', 'runningRuns', 'abandonRun', 'countServices', 'pageToRead', 'writeBatch', 'recordFailures', 'countGaps', 'lastRunStarted'], policy, retried, dbState),
    locks: reconnecting(locks, ['acquire', 'release', 'countHeldBy'], policy, retried, dbState),
    masters: reconnecting(masters, ['list', 'settings'], policy, retried, dbState),
    gatewayFor: deps.gatewayFor,
    log: (event, fields) => log.info(event, fields),
    ...meteringTuning,
  });
  const settings = createSettingsService({ knex: deps.knex, clock: deps.clock, audit: auditLog });
  // Periods made before the billing calendar are rebuilt from their samples once, right after the
  // upgrade's migrations, before anything meters or bills on them.
  const migrate = async () => {
    const applied = await migrateLatest(deps.knex);
    await usagePeriods.rebuildPending(SYSTEM);
    return applied;
  };
  const migrateDown = () => migrateDownAll(deps.knex);
  const unlockMigrationsNow = async (actor: Actor) => {
    const freed = await unlockMigrations(deps.knex);
    if (freed) await auditLog.record(deps.knex, { actor, action: 'migrations.unlocked', entityType: 'module', entityId: null }, deps.clock.now());
    return freed;
  };
  const billing = createBillingSettingsService({ knex: deps.knex, clock: deps.clock, audit: auditLog });
  const caps = createCapService({ knex: deps.knex, clock: deps.clock, billing, audit: auditLog });
  const rating = createRatingService({ knex: deps.knex, clock: deps.clock, billing, log, audit: auditLog, caps });
  const usagePeriods = createUsagePeriodService({ knex: deps.knex, clock: deps.clock, audit: auditLog, rating });
  const pools = createPoolService({ knex: deps.knex, clock: deps.clock, zone, billing, audit: auditLog, log, locks });
  const lines = deps.panel
    ? createInvoiceLineService({ knex: deps.knex, clock: deps.clock, zone, panel: deps.panel, billing, rating, pools, locks, audit: auditLog, log, describe: describeLineForClient })
    : undefined;
  const evidence = createEvidenceService({ knex: deps.knex });
  const retention = createRetentionService({ knex: deps.knex, clock: deps.clock, zone });
  const rateSamples = createRateSampleService({ knex: deps.knex, clock: deps.clock, audit: auditLog, rating });
  // every email the module sends: written with the change that causes it, sent by one worker
  const outbox = deps.panel ? createOutbox({ knex: deps.knex, clock: deps.clock, panel: deps.panel, locks, log }) : undefined;
  const disputes = deps.panel && outbox ? createDisputeService({ knex: deps.knex, clock: deps.clock, zone, panel: deps.panel, audit: auditLog, log, locks, outbox }) : undefined;
  const sync = deps.panel ? createPanelSyncService({ knex: deps.knex, clock: deps.clock, panel: deps.panel, billing, masters, links, settings, log }) : undefined;
  /** intents a stopped process left (deliveries, holds, resolutions) and emails not sent yet */
  const everyTick = async () => {
    let failure: unknown = null;
    if (lines) await lines.reconcilePending().catch((err: unknown) => (failure = err));
    if (disputes) await disputes.resume().catch((err: unknown) => (failure ??= err));
    if (outbox) await outbox.drain().catch((err: unknown) => (failure ??= err));
    if (failure) throw failure;
  };
  const upgrades = deps.panel ? createUpgradeService({ knex: deps.knex, clock: deps.clock, zone, panel: deps.panel, billing, audit: auditLog }) : undefined;
  const suggestions = deps.panel ? createUpgradeSuggestionService({ knex: deps.knex, clock: deps.clock, panel: deps.panel, billing, log, outbox: outbox!, upgrades: upgrades! }) : undefined;
  /** the daily billing work: rate what closed, finish interrupted deliveries, bill what no renewal picks up, suggest upgrades where a streak is on */
  const dailyBilling = async () => {
    await rating.rateClosedPeriods();
    // pools: who joined and left, then the months that ended (their charges go on invoices below)
    await pools.syncMembers();
    await pools.ratePools();
    // deliveries that stopped part-way are finished before anything goes on an invoice of its own
    if (lines) await lines.reconcile();
    if (lines) await lines.billUnpicked();
    if (suggestions) await suggestions.run();
  };
  // The usage watch: threshold notices and the policy at the limit, after each metering run.
  const usage = createOpenUsageReader(deps.knex);
  const limitStore = createLimitActionStore(deps.knex);
  const watchOwner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  const thresholds = deps.panel
    ? createThresholdNoticeService({ knex: deps.knex, clock: deps.clock, panel: deps.panel, billing, usage, limits: limitStore, locks, log, owner: watchOwner, outbox: outbox! })
    : undefined;
  const limits = createLimitActionService({
    knex: deps.knex,
    clock: deps.clock,
    store: limitStore,
    usage,
    billing,
    masters,
    gatewayFor: deps.gatewayFor,
    audit: auditLog,
    locks,
    log,
    owner: watchOwner,
    caps,
    ...(deps.panel ? { panel: deps.panel } : {}),
  });
  const panelFields = deps.panel ? createPanelUsageFields({ usage, billing, panel: deps.panel, log }) : undefined;
  /** After a collect: notices first (the 100 % email goes out before the VPS is acted on), then the policy; otherwise only what is due. */
  const watchUsage = async (ran: { collected: boolean }) => {
    let failure: unknown = null;
    // the panel's own bandwidth fields follow each sampling (one figure on the service page)
    if (panelFields && ran.collected) await panelFields.run().catch((err: unknown) => log.warn('panel_fields.failed', { error: (err as Error).message }));
    if (thresholds) await thresholds.run({ decide: ran.collected }).catch((err: unknown) => (failure = err));
    await limits.run({ decide: ran.collected }).catch((err: unknown) => (failure ??= err));
    if (failure) throw failure;
  };
  const dunning = disputes && deps.panel ? createDunningShield({ disputes, panel: deps.panel, clock: deps.clock, zone, log }) : undefined;
  const web = createWeb({ knex: deps.knex, clock: deps.clock, zone, secretKey: deps.secretKey, panel: deps.panel, masters, links, billing, settings, evidence, disputes, usagePeriods, sync, log, ...(thresholds ? { banner: (id: number) => thresholds.bannerFor(id) } : {}), caps: { service: caps, applyNow: () => limits.run({ decide: true }) }, pools, ...(upgrades ? { upgrades } : {}), ...(deps.web ? { options: deps.web } : {}) });
  const hooks = () =>
    moduleHooks({
      // membership is recorded as the panel shows it, before each sampling: spans to the hour the sync ran
      ...(sync ? { beforeSampling: async () => void (await sync.sync(), await pools.syncMembers()) } : {}),
      clientPages: web,
      revokeAdminSessions: web.revokeAdminSessions,
      watchUsage,
      dailyBilling,
      everyTick,
      ...(disputes ? { disputes } : {}),
      ...(deps.panel ? { panel: deps.panel } : {}),
      ...(dunning ? { dunning } : {}),
      metering,
      settings,
      clock: deps.clock,
      zone,
      log,
      ...(lines ? { lines } : {}),
      ...(deps.panel ? { logActivity: (text: string) => deps.panel!.logActivity(text) } : {}),
    });
  const addon = createAddonDefinition({
    migrate,
    migrateDown,
    settings,
    hooks,
    adminOutput: web.adminOutput,
    clientArea: web.clientArea,
    download: web.download,
    log,
  });
  return {
    name: MODULE_NAME,
    version: MODULE_VERSION,
    zone,
    migrate,
    migrateDown,
    unlockMigrations: unlockMigrationsNow,
    migrationStatus: () => migrationStatus(deps.knex),
    masters,
    links,
    metering,
    settings,
    billing,
    rating,
    pools,
    caps,
    upgrades,
    usagePeriods,
    lines,
    evidence,
    retention,
    rateSamples,
    disputes,
    outbox,
    /** the 5-minute tick's work: finish what stopped processes left, send the outbox */
    everyTick,
    sync,
    suggestions,
    thresholds,
    limits,
    watchUsage,
    dailyBilling,
    hooks,
    /** the client widget, the admin tab, the JSON API and the embed pages (web.router()) */
    web,
    /** the WHMCS-shaped addon definition a panel loads */
    addon,
    /** stops background threads; the database itself belongs to the caller */
    async close() {
      await threaded?.close();
    },
  };
}

export type OverusageModule = ReturnType<typeof createModule>;
