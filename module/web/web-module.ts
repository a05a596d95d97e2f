import type { Knex } from 'knex';
import type { CapService } from '../services/caps.js';
import type { UpgradeService } from '../services/upgrades.js';
import type { PoolService } from '../services/pools.js';
import type { HelmetOptions } from 'helmet';
import type { Clock } from '../domain/clock.js';
import { localDate } from '../domain/calendar.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { createAdminReads } from '../services/admin-reads.js';
import type { BillingSettingsService } from '../services/billing-settings.js';
import type { DisputeService } from '../services/disputes.js';
import type { EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import type { SettingsService } from '../services/settings.js';
import { createPeriodReadStore } from '../adapters/period-read-store.js';
import { createLineReads } from '../adapters/line-store.js';
import { createAdminReadStore } from '../adapters/admin-read-store.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import type { PanelSyncService } from '../services/panel-sync.js';
import { createAdminTab } from './admin-tab.js';
import { createNameDirectory } from './name-directory.js';
import { previewLastPeriods } from '../services/rating-preview.js';
import { createWebRouter, type WebRouterDeps } from './api-router.js';
import type { PanelLinks } from './present-admin.js';
import type { UsageBanner } from './present-usage.js';
import { createDownloads } from './downloads.js';
import { createUsageReads } from '../services/usage-reads.js';
import type { AddonVarsIn } from '../addon-definition.js';
import {
  adminOutput,
  clientArea,
  download,
  homePanel,
  languageOf,
  productDetails,
  WHMCS_ADMIN_LINKS,
  type PanelPagesDeps,
} from './panel-pages.js';
import { createDisputeLimiter } from './rate-limit.js';
import { createTokenSigner } from './tokens.js';
import { createTokenRevocations } from '../adapters/token-revocations.js';
import { logUnreadable } from '../adapters/rows.js';
import { createAdminDirectory } from '../services/admin-directory.js';
import { createWidget } from './widget.js';

/**
 * The module's web side, built once: the client page and the admin tab the panel embeds (through
 * the addon's clientarea() and output()), the client home panel and product details block (hooks),
 * and the router with the JSON API and the embed pages.
 */
export interface WebOptions {
  /** where the router is mounted; links and assets point here (default /overusage) */
  basePath?: string;
  /** real time in ms for token expiry and caches (not the billing clock, which the demo moves) */
  now?: () => number;
  /** how long a client's built page is served as it was (ms, default 15 000; 0: off) */
  cacheMs?: number;
  /** disputes a person may post per window (default 10 per 15 minutes) */
  disputeRateLimit?: { windowMs: number; limit: number };
  helmet?: HelmetOptions;
  frameAncestors?: string[];
  secureCookies?: boolean;
  /** how long the panel's list of admins is trusted (ms, default 30 000) */
  adminsTtlMs?: number;
  /** links into the host's own admin pages (default: WHMCS's, which the reference panel shares); null: none */
  panelLinks?: PanelLinks | null;
}

export interface WebDeps {
  knex: Knex;
  clock: Clock;
  zone: string;
  secretKey: Buffer;
  panel: PanelApi | undefined;
  masters: MasterService;
  links: ServiceLinkService;
  billing: BillingSettingsService;
  settings: SettingsService;
  evidence: EvidenceService;
  disputes: DisputeService | undefined;
  usagePeriods: UsagePeriodService;
  /** the panel sync (only with a panel API): what it could not link */
  sync?: PanelSyncService | undefined;
  log: Logger;
  /** the threshold notice and the action at the limit of a service's open period (when notices are sent) */
  banner?: (serviceId: number) => Promise<UsageBanner | null>;
  /** client-chosen caps and the limit policy run that carries a change out at once */
  caps?: { service: CapService; applyNow: () => Promise<unknown> };
  /** upgrades with the money shown (module/services/upgrades.ts) */
  upgrades?: UpgradeService;
  /** transfer pools (module/services/pools.ts) */
  pools?: PoolService;
  options?: WebOptions;
}

export { tabHref, WHMCS_ADMIN_LINKS } from './panel-pages.js';

/** Where the router is mounted and how it keeps time, from the options. */
function placeOf(o: WebOptions) {
  const basePath = (o.basePath ?? '/overusage').replace(/\/+$/, '');
  return {
    basePath,
    apiBase: `${basePath}/api/v1`,
    assets: `${basePath}/assets`,
    now: o.now ?? Date.now,
    cacheMs: o.cacheMs ?? 15_000,
  };
}
type Place = ReturnType<typeof placeOf>;

/** The reads, tokens and admins' directory every surface shares. */
function sharedParts(deps: WebDeps, place: Place) {
  const o = deps.options ?? {};
  const { now } = place;
  // a row an admin list cannot read is shown in its place as unreadable, and logged once per read
  const setAside = logUnreadable(deps.log);
  const periodStore = createPeriodReadStore(deps.knex, { setAside });
  const lineReads = createLineReads(deps.knex, { setAside });
  const reads = createUsageReads({ store: periodStore, lines: lineReads, billing: deps.billing });
  const admin = createAdminReads({
    store: createAdminReadStore(deps.knex, { setAside }),
    periods: periodStore,
    lines: lineReads,
    billing: deps.billing,
    now,
    today: () => localDate(deps.clock.now(), deps.zone),
    clockNow: () => deps.clock.now().toMillis(),
  });
  const signer = createTokenSigner(deps.secretKey, now);
  const revocations = createTokenRevocations(deps.knex, { now });
  const admins = createAdminDirectory({
    panel: deps.panel,
    log: deps.log,
    now,
    ...(o.adminsTtlMs !== undefined ? { ttlMs: o.adminsTtlMs } : {}),
  });
  const limiter = createDisputeLimiter(o.disputeRateLimit ?? { windowMs: 15 * 60_000, limit: 10 });
  // one cache of the panel's names for the admin tab and the admin API
  const names = createNameDirectory({ panel: deps.panel, log: deps.log });
  return { reads, admin, signer, revocations, admins, limiter, names };
}
type Shared = ReturnType<typeof sharedParts>;

/** The client's widget: the page, the home panel, the service block and the embed page all ask it. */
function widgetOf(deps: WebDeps, place: Place, shared: Shared) {
  return createWidget({
    reads: shared.reads,
    disputes: deps.disputes,
    panel: deps.panel,
    clock: deps.clock,
    limiter: shared.limiter,
    log: deps.log,
    cacheMs: place.cacheMs,
    now: place.now,
    ...(deps.banner ? { banner: deps.banner } : {}),
    ...(deps.caps ? { caps: { ...deps.caps, knex: deps.knex } } : {}),
    ...(deps.upgrades ? { upgrades: deps.upgrades } : {}),
    ...(deps.pools ? { pools: deps.pools } : {}),
  });
}

/** The admin tab: the panel's output() and the embed page both show it. */
function adminTabOf(deps: WebDeps, place: Place, shared: Shared, widget: ReturnType<typeof createWidget>) {
  return createAdminTab({
    reads: shared.reads,
    admin: shared.admin,
    masters: deps.masters,
    billing: deps.billing,
    settings: deps.settings,
    links: deps.links,
    evidence: deps.evidence,
    disputes: deps.disputes,
    usagePeriods: deps.usagePeriods,
    syncIssues: async () => (deps.sync ? deps.sync.issues() : []),
    panel: deps.panel,
    signer: shared.signer,
    clock: deps.clock,
    zone: deps.zone,
    log: deps.log,
    apiBase: place.apiBase,
    invalidateClient: (id) => widget.invalidate(id),
    pools: deps.pools,
    caps: deps.caps,
    upgrades: deps.upgrades,
    names: shared.names,
    // a service whose period cannot be read is named in the preview and logged, the others previewed
    previewProduct: (productId, profile) =>
      previewLastPeriods(deps.knex, productId, profile, { setAside: logUnreadable(deps.log) }),
  });
}

/** What the router is built from (api-router.ts). */
function routerDeps(deps: WebDeps, place: Place, shared: Shared, pages: PanelPagesDeps): WebRouterDeps {
  const o = deps.options ?? {};
  return {
    basePath: place.basePath,
    signer: shared.signer,
    widget: pages.widget,
    adminTab: pages.adminTab,
    reads: shared.reads,
    admin: shared.admin,
    disputes: deps.disputes,
    usagePeriods: deps.usagePeriods,
    syncIssues: async () => (deps.sync ? deps.sync.issues() : []),
    evidence: deps.evidence,
    masters: deps.masters,
    billing: deps.billing,
    settings: deps.settings,
    links: deps.links,
    panel: deps.panel,
    limiter: shared.limiter,
    revocations: shared.revocations,
    admins: shared.admins,
    names: shared.names,
    knex: deps.knex,
    ...(deps.caps ? { caps: deps.caps } : {}),
    ...(deps.pools ? { pools: deps.pools } : {}),
    ...(deps.upgrades ? { upgrades: deps.upgrades } : {}),
    clock: deps.clock,
    log: deps.log,
    now: place.now,
    cacheMs: place.cacheMs,
    ...(o.helmet ? { helmet: o.helmet } : {}),
    ...(o.frameAncestors ? { frameAncestors: o.frameAncestors } : {}),
    ...(o.secureCookies !== undefined ? { secureCookies: o.secureCookies } : {}),
  };
}

export function createWeb(deps: WebDeps) {
  const o = deps.options ?? {};
  const place = placeOf(o);
  const shared = sharedParts(deps, place);
  const widget = widgetOf(deps, place, shared);
  const pages: PanelPagesDeps = {
    widget,
    adminTab: adminTabOf(deps, place, shared, widget),
    reads: shared.reads,
    downloads: createDownloads({ reads: shared.reads, admin: shared.admin, evidence: deps.evidence }),
    signer: shared.signer,
    panel: deps.panel,
    clock: deps.clock,
    apiBase: place.apiBase,
    assets: place.assets,
    log: deps.log,
    panelLinks: o.panelLinks === undefined ? WHMCS_ADMIN_LINKS : o.panelLinks,
  };
  return {
    basePath: place.basePath,
    apiBase: place.apiBase,
    reads: shared.reads,
    admin: shared.admin,
    signer: shared.signer,
    widget,
    clientArea: (vars: AddonVarsIn) => clientArea(pages, vars),
    adminOutput: (vars: AddonVarsIn) => adminOutput(pages, vars),
    download: (vars: AddonVarsIn) => download(pages, vars),
    homePanel: (clientId: number, language: string | null | undefined, hostVars?: Record<string, unknown>) =>
      homePanel(pages, clientId, language, hostVars),
    productDetails: (
      serviceId: number,
      clientId: number,
      language: string | null | undefined,
      hostVars?: Record<string, unknown>,
    ) => productDetails(pages, serviceId, clientId, language, hostVars),
    languageOf: (clientId: number) => languageOf(pages, clientId),
    /** the express router (JSON API, embed pages, assets); mount it with app.use() */
    router: () => createWebRouter(routerDeps(deps, place, shared, pages)),
    /** a short-lived token naming an admin or a client (the JSON API, the embed pages) */
    issueToken: shared.signer.issue,
    /** the admin logged out of the panel: the tokens bound to a login session of theirs are revoked */
    revokeAdminSessions: (adminId: number) => shared.revocations.revokeSessions(adminId, 'logout'),
    /**
     * the panel cancelled or refunded an invoice: its client's pages are built afresh, so a line on it
     * is no longer offered for dispute (a built page is otherwise kept for cacheMs)
     */
    invoiceClosed: async (invoiceId: number): Promise<void> => {
      if (deps.panel) widget.invalidate((await deps.panel.getInvoice(invoiceId)).userId);
    },
  };
}

export type Web = ReturnType<typeof createWeb>;
