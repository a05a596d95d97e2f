import crypto from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import { Settings } from 'luxon';
import type { Clock } from './domain/clock.js';
import { assertZone } from './domain/calendar.js';
import { auditLog } from './adapters/audit-store.js';
import { createLockStore } from './adapters/lock-store.js';
import { createMeteringStore } from './adapters/metering-store.js';
import { createLineStore } from './adapters/line-store.js';
import { createChargeStore } from './adapters/charge-store.js';
import { createThreadedMeteringStore } from './adapters/sqlite-writer.js';
import { sqliteFileOf } from './adapters/sql-helpers.js';
import {
  DEFAULT_RECONNECT,
  describeError,
  reconnecting,
  type ReconnectPolicy,
  type ReconnectState,
} from './adapters/db-errors.js';
import { createSecretBox } from './adapters/secret-box.js';
import { silentLogger, type Logger } from './adapters/logger.js';
import { logUnreadable } from './adapters/rows.js';
import type { MasterSettings, SolusVmGateway } from './adapters/solusvm-types.js';
import { createMasterService } from './services/masters.js';
import { closingDateOf } from './domain/calendar.js';
import { createMeteringService, type MeteringService } from './services/metering.js';
import { createServiceLinkService } from './services/service-links.js';
import { createSettingsService } from './services/settings.js';
import { createAddonDefinition, MODULE_NAME, MODULE_VERSION } from './addon-definition.js';
import { createWeb, type WebOptions } from './web/web-module.js';
import { moduleHooks } from '../hooks/index.js';
import { createBillingSettingsService } from './services/billing-settings.js';
import { createRatingService } from './services/rating.js';
import { createPoolService, withPoolMembership, type PoolService } from './services/pools.js';
import { createCapService } from './services/caps.js';
import { createUpgradeService } from './services/upgrades.js';
import { createUpgradeStore } from './adapters/upgrade-store.js';
import { createUsagePeriodService } from './services/usage-periods.js';
import { createInvoiceLineService } from './services/invoice-lines.js';
import { createUpgradeSuggestionService } from './services/upgrade-suggestions.js';
import { createEvidenceService } from './services/evidence.js';
import { createEvidenceStore } from './adapters/evidence-store.js';
import { createRetentionService } from './services/retention.js';
import { createDisputeService, type DisputeService } from './services/disputes.js';
import { createDunningShield, type DunningShield } from './services/dunning-shield.js';
import { createLateFeeRetries, type LateFeeRetries } from './services/late-fee-retries.js';
import { createLateFeeRetryStore } from './adapters/late-fee-retry-store.js';
import { createPanelSyncService } from './services/panel-sync.js';
import { createPanelSyncStore } from './adapters/panel-sync-store.js';
import { createRateSampleService } from './services/rate-samples.js';
import type { PanelApi } from './adapters/panel-api.js';
import { createLimitActionStore } from './adapters/limit-action-store.js';
import { createPanelUsageFields } from './services/panel-usage-fields.js';
import { createOpenUsageReader } from './services/open-usage.js';
import { createThresholdNoticeService } from './services/threshold-notices.js';
import { createLimitActionService } from './services/limit-actions.js';
import { describeLineForClient } from './domain/line-text.js';
import { createOutbox, type Outbox } from './services/outbox.js';
import { createOutboxStore } from './adapters/outbox-store.js';
import { createDailyJobs, type DailyJobs } from './services/daily-jobs.js';
import { createMigrationService } from './services/migrations.js';
import type { LockStore } from './adapters/lock-store.js';
import type { MasterService } from './services/masters.js';
import type { SettingsService } from './services/settings.js';
import type { BillingSettingsService } from './services/billing-settings.js';
import type { CapService } from './services/caps.js';

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
  /** tuning: services per page of the pool member sync (default 2 000) */
  pools?: { memberPageSize?: number };
}

type Built = { zone: string; log: Logger; locks: LockStore };

/** Metering with its store (its own writer thread for a SQLite file), riding out short database outages. */
function buildMetering(deps: ModuleDeps, b: Built, masters: MasterService) {
  const { writer, reconnect, ...meteringTuning } = deps.metering ?? {};
  const baseStore = createMeteringStore(deps.knex);
  const sqliteFile = sqliteFileOf(deps.knex);
  const threaded =
    (writer ?? 'thread') === 'thread' && sqliteFile && sqliteFile !== ':memory:'
      ? createThreadedMeteringStore(baseStore, `sqlite:${sqliteFile}`)
      : null;
  // A run rides out a short database outage (a restart): its reads and writes are tried again
  // with back-off, each of them safe to repeat; a longer one fails the run with the cause.
  const policy = reconnect ?? DEFAULT_RECONNECT;
  const dbState: ReconnectState = { gone: null };
  const retried = (method: string, err: unknown, attempt: number, delayMs: number) =>
    b.log.warn('db.reconnecting', { method, attempt, delayMs, error: describeError(err) });
  const metering = createMeteringService({
    clock: deps.clock,
    zone: b.zone,
    store: reconnecting(
      threaded ?? baseStore,
      [
        'startRun',
        'finishRun',
        'runningRuns',
        'abandonRun',
        'countServices',
        'pageToRead',
        'writeBatch',
        'recordFailures',
        'countGaps',
        'lastRunStarted',
      ],
      policy,
      retried,
      dbState,
    ),
    locks: reconnecting(b.locks, ['acquire', 'release', 'countHeldBy'], policy, retried, dbState),
    masters: reconnecting(masters, ['list', 'settings'], policy, retried, dbState),
    gatewayFor: deps.gatewayFor,
    log: (event, fields) => b.log.info(event, fields),
    ...meteringTuning,
  });
  return { metering, threaded };
}

/** Billing settings, caps, rating, usage periods, pools and what reads them. */
function buildRating(deps: ModuleDeps, b: Built) {
  const { knex, clock } = deps;
  const { zone, log, locks } = b;
  const audit = auditLog;
  const billing = createBillingSettingsService({ knex, clock, audit });
  const caps = createCapService({ knex, clock, billing, audit, setAside: logUnreadable(log) });
  const rating = createRatingService({ knex, clock, billing, log, audit, caps });
  const usagePeriods = createUsagePeriodService({
    knex,
    clock,
    audit,
    rating,
    setAside: logUnreadable(log),
  });
  const pools = createPoolService({
    knex,
    clock,
    zone,
    billing,
    audit,
    log,
    locks,
    caps,
    ...(deps.pools?.memberPageSize ? { memberPageSize: deps.pools.memberPageSize } : {}),
  });
  const evidence = createEvidenceService({ store: createEvidenceStore(knex) });
  const retention = createRetentionService({ knex, clock, zone });
  const rateSamples = createRateSampleService({ knex, clock, audit, rating });
  return { billing, caps, rating, usagePeriods, pools, evidence, retention, rateSamples };
}

/** With a panel: invoice lines, emails, disputes, the panel sync and upgrades. */
function buildPanelWork(
  deps: ModuleDeps,
  b: Built,
  core: Core,
  r: ReturnType<typeof buildRating>,
  metering: MeteringService,
) {
  const { knex, clock, panel } = deps;
  const { zone, log, locks } = b;
  const { billing, rating, pools } = r;
  const audit = auditLog;
  if (!panel) return undefined;
  const lines = createInvoiceLineService({
    lines: createLineStore(knex),
    charges: createChargeStore(knex),
    clock,
    zone,
    panel,
    billing,
    rating,
    pools,
    // the day that ended sampled, as PreCronJob asks before it rates a pool month
    daySampled: async () => (await metering.pending(closingDateOf(clock.now(), zone))) === 0,
    locks,
    audit,
    log,
    describe: describeLineForClient,
  });
  // every email the module sends: written with the change that causes it, sent by one worker
  // a row that cannot be read is logged and left out: the other emails still go
  const outboxStore = createOutboxStore(knex, {
    setAside: (table, u) => log.warn('outbox.row_unreadable', { table, id: u.id, ...u.unreadable }),
  });
  const outbox = createOutbox({ store: outboxStore, clock, panel, locks, log });
  const disputes = createDisputeService({ knex, clock, zone, panel, audit, log, locks, outbox });
  const sync = createPanelSyncService({
    store: createPanelSyncStore(knex),
    clock,
    panel,
    billing,
    ...core,
    log,
  });
  const upgradeStore = createUpgradeStore(knex, { setAside: logUnreadable(log) });
  const upgrades = createUpgradeService({
    store: upgradeStore,
    clock,
    zone,
    panel,
    billing,
    audit,
    // a rated period that cannot be read: that service's figures are none, the row named
    setAside: (table, u) => log.warn('upgrade.row_unreadable', { table, id: u.id, ...u.unreadable }),
  });
  const suggestions = createUpgradeSuggestionService({
    store: upgradeStore,
    clock,
    panel,
    billing,
    log,
    outbox,
    upgrades,
  });
  return { lines, outbox, disputes, sync, upgrades, suggestions };
}

/** Rating, periods, pools and caps; and, with a panel, lines, disputes, emails, sync and upgrades. */
function buildBilling(deps: ModuleDeps, b: Built, core: Core, metering: MeteringService) {
  const r = buildRating(deps, b);
  const p = buildPanelWork(deps, b, core, r, metering);
  return {
    ...r,
    lines: p?.lines,
    outbox: p?.outbox,
    disputes: p?.disputes,
    sync: p?.sync,
    upgrades: p?.upgrades,
    suggestions: p?.suggestions,
  };
}

/** The usage watch: threshold notices (with a panel), the policy at the limit, the panel's bandwidth fields. */
function buildUsageWatch(
  deps: ModuleDeps,
  b: Built,
  x: {
    billing: BillingSettingsService;
    masters: MasterService;
    caps: CapService;
    pools: PoolService;
    outbox: Outbox | undefined;
  },
) {
  const { knex, clock } = deps;
  // one service row that cannot be read leaves that service out, not the notices and the policy of all
  const usage = createOpenUsageReader(knex, (table, u) =>
    b.log.warn('usage.row_unreadable', { table, id: u.id, ...u.unreadable }),
  );
  const limitStore = createLimitActionStore(knex);
  const owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  const thresholds =
    deps.panel && x.outbox
      ? createThresholdNoticeService({
          knex,
          clock,
          panel: deps.panel,
          billing: x.billing,
          usage,
          limits: limitStore,
          locks: b.locks,
          log: b.log,
          owner,
          outbox: x.outbox,
          pools: { standing: () => x.pools.standing(), zone: b.zone },
        })
      : undefined;
  const limits = createLimitActionService({
    knex,
    clock,
    store: limitStore,
    usage,
    billing: x.billing,
    masters: x.masters,
    gatewayFor: deps.gatewayFor,
    audit: auditLog,
    locks: b.locks,
    log: b.log,
    owner,
    caps: x.caps,
    pools: x.pools,
    ...(deps.panel ? { panel: deps.panel } : {}),
  });
  const panelFields = deps.panel
    ? createPanelUsageFields({ usage, billing: x.billing, panel: deps.panel, log: b.log })
    : undefined;
  return { thresholds, limits, panelFields };
}

/** Masters, links and settings: what metering and billing are built on. */
function buildCore(deps: ModuleDeps, log: Logger, built: { pools?: PoolService }) {
  const { knex, clock } = deps;
  const masters = createMasterService({
    knex,
    secrets: createSecretBox(deps.secretKey),
    clock,
    audit: auditLog,
    gatewayFor: deps.gatewayFor,
  });
  // pools are built with billing later; a link counts in its pool at once (withPoolMembership)
  const links = withPoolMembership(
    createServiceLinkService({ knex, clock, audit: auditLog }),
    () => built.pools,
    log,
  );
  const settings = createSettingsService({ knex, clock, audit: auditLog });
  return { masters, links, settings };
}

type Money = ReturnType<typeof buildBilling>;
type Watch = ReturnType<typeof buildUsageWatch>;
type Core = ReturnType<typeof buildCore>;

/** The client widget, the admin tab, the JSON API and the embed pages. */
function buildWeb(deps: ModuleDeps, b: Built, core: Core, money: Money, watch: Watch) {
  const { billing, caps, pools, disputes, sync, upgrades } = money;
  return createWeb({
    knex: deps.knex,
    clock: deps.clock,
    zone: b.zone,
    secretKey: deps.secretKey,
    panel: deps.panel,
    ...core,
    billing,
    evidence: money.evidence,
    disputes,
    usagePeriods: money.usagePeriods,
    sync,
    log: b.log,
    ...(watch.thresholds ? { banner: (id: number) => watch.thresholds!.bannerFor(id) } : {}),
    caps: { service: caps, applyNow: () => watch.limits.run({ decide: true }) },
    pools,
    ...(upgrades ? { upgrades } : {}),
    ...(deps.web ? { options: deps.web } : {}),
  });
}

/** Held amounts kept out of dunning, and the late fee corrections the hook failed, done again (with disputes and a panel). */
function buildDunning(deps: ModuleDeps, b: Built, disputes: DisputeService | undefined) {
  if (!disputes || !deps.panel) return { dunning: undefined, lateFees: undefined };
  const dunning = createDunningShield({
    disputes,
    panel: deps.panel,
    clock: deps.clock,
    zone: b.zone,
    log: b.log,
    audit: { knex: deps.knex, audit: auditLog },
  });
  const lateFees = createLateFeeRetries({
    knex: deps.knex,
    store: createLateFeeRetryStore(deps.knex),
    shield: dunning,
    audit: auditLog,
    locks: b.locks,
    clock: deps.clock,
    log: b.log,
  });
  return { dunning, lateFees };
}

/** The panel's hooks, built when the panel loads them. */
function buildHooks(
  deps: ModuleDeps,
  b: Built,
  x: {
    money: Money;
    jobs: DailyJobs;
    web: ReturnType<typeof buildWeb>;
    metering: MeteringService;
    settings: SettingsService;
    dunning: DunningShield | undefined;
    lateFees: LateFeeRetries | undefined;
  },
) {
  const { disputes, lines } = x.money;
  const { dunning, lateFees } = x;
  return () =>
    moduleHooks({
      clientPages: x.web,
      revokeAdminSessions: x.web.revokeAdminSessions,
      ...x.jobs,
      ...(disputes ? { disputes } : {}),
      ...(deps.panel
        ? { panel: deps.panel, logActivity: (text: string) => deps.panel!.logActivity(text) }
        : {}),
      ...(dunning ? { dunning } : {}),
      ...(lateFees ? { lateFeeFailed: lateFees.failed, lateFeeCorrect: lateFees.correct } : {}),
      ...(lines ? { lines } : {}),
      metering: x.metering,
      settings: x.settings,
      clock: deps.clock,
      zone: b.zone,
      log: b.log,
    });
}

/** The one place where the module's objects are built. */
export function createModule(deps: ModuleDeps) {
  const zone = assertZone(deps.zone);
  const log = deps.log ?? silentLogger;
  // one lease table for every part that takes a lease
  const b: Built = { zone, log, locks: createLockStore(deps.knex) };
  const built: { pools?: PoolService } = {};
  const core = buildCore(deps, log, built);
  const { masters, links, settings } = core;
  const { metering, threaded } = buildMetering(deps, b, masters);
  const money = buildBilling(deps, b, core, metering);
  built.pools = money.pools;
  const watch = buildUsageWatch(deps, b, { ...money, masters });
  const { dunning, lateFees } = buildDunning(deps, b, money.disputes);
  const jobs = createDailyJobs({ ...money, ...watch, lateFees, log });
  const migrations = createMigrationService({
    knex: deps.knex,
    clock: deps.clock,
    audit: auditLog,
    usagePeriods: money.usagePeriods,
  });
  const web = buildWeb(deps, b, core, money, watch);
  const hooks = buildHooks(deps, b, { money, jobs, web, metering, settings, dunning, lateFees });
  const addon = createAddonDefinition({
    migrate: migrations.migrate,
    migrateDown: migrations.migrateDown,
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
    ...migrations,
    masters,
    links,
    metering,
    settings,
    ...money,
    thresholds: watch.thresholds,
    limits: watch.limits,
    /** the 5-minute tick's work (finish what stopped processes left, send the outbox), the daily billing, the usage watch */
    ...jobs,
    hooks,
    /** the client widget, the admin tab, the JSON API and the embed pages (web.router()) */
    web,
    /** the WHMCS-shaped addon definition a panel loads */
    addon,
    /** lets deliveries that answered finish their records, then stops background threads; the database itself belongs to the caller */
    async close() {
      await money.lines?.idle();
      await threaded?.close();
    },
  };
}

export type OverusageModule = ReturnType<typeof createModule>;
