import path from 'node:path';
import ejs from 'ejs';
import type { Knex } from 'knex';
import type { CapService } from '../services/caps.js';
import type { UpgradeService } from '../services/upgrades.js';
import type { PoolService } from '../services/pools.js';
import type { HelmetOptions } from 'helmet';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import { localeForClient, textLanguage } from '../domain/line-text.js';
import { localDate } from '../domain/calendar.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { AddonVarsIn } from '../addon-definition.js';
import { createAdminReads } from '../services/admin-reads.js';
import type { BillingSettingsService } from '../services/billing-settings.js';
import type { DisputeService } from '../services/disputes.js';
import type { EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import type { SettingsService } from '../services/settings.js';
import { createUsageReads, idCursor } from '../services/usage-reads.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import type { PanelSyncService } from '../services/panel-sync.js';
import { createAdminTab } from './admin-tab.js';
import { createNameDirectory } from './name-directory.js';
import { previewLastPeriods } from '../services/rating-preview.js';
import { createWebRouter } from './api-router.js';
import type { Href, PanelLinks } from './present-admin.js';
import { presentService, type UsageBanner, type WidgetLinks } from './present-usage.js';
import { createDisputeLimiter } from './rate-limit.js';
import { createTokenSigner } from './tokens.js';
import { createTokenRevocations } from '../adapters/token-revocations.js';
import { createAdminDirectory } from '../services/admin-directory.js';
import { createWidget } from './widget.js';
import { wordsFor } from './words.js';
import { createDownloads, type DownloadFile } from './downloads.js';
import { pageHostOf, uiFor, type PageHost } from './page-host.js';
import { flatFields } from './validation.js';

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

const CLIENT_VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'client');

export const WHMCS_ADMIN_LINKS: PanelLinks = {
  client: (id) => `clientssummary.php?userid=${id}`,
  service: (id) => `clientsservices.php?id=${id}`,
  invoice: (id) => `invoices.php?action=edit&id=${id}`,
};

/** `addonmodules.php?module=overusage` + params, as the panel's tab links. */
export const tabHref =
  (modulelink: string): Href =>
  (params) => {
    const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]): [string, string] => [k, String(v)])).toString();
    return qs ? `${modulelink}${modulelink.includes('?') ? '&' : '?'}${qs}` : modulelink;
  };

const GET: { method: string; query: Record<string, unknown>; body: Record<string, unknown> } = { method: 'GET', query: {}, body: {} };
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function createWeb(deps: WebDeps) {
  const o = deps.options ?? {};
  const basePath = (o.basePath ?? '/overusage').replace(/\/+$/, '');
  const apiBase = `${basePath}/api/v1`;
  const assets = `${basePath}/assets`;
  const now = o.now ?? Date.now;
  const cacheMs = o.cacheMs ?? 15_000;
  const reads = createUsageReads({ knex: deps.knex, billing: deps.billing });
  const admin = createAdminReads({ knex: deps.knex, billing: deps.billing, reads, now, today: () => localDate(deps.clock.now(), deps.zone), clockNow: () => deps.clock.now().toMillis() });
  const signer = createTokenSigner(deps.secretKey, now);
  const revocations = createTokenRevocations(deps.knex, { now });
  const admins = createAdminDirectory({ panel: deps.panel, log: deps.log, now, ...(o.adminsTtlMs !== undefined ? { ttlMs: o.adminsTtlMs } : {}) });
  const limiter = createDisputeLimiter(o.disputeRateLimit ?? { windowMs: 15 * 60_000, limit: 10 });
  const widget = createWidget({
    reads,
    disputes: deps.disputes,
    panel: deps.panel,
    clock: deps.clock,
    limiter,
    log: deps.log,
    cacheMs,
    now,
    ...(deps.banner ? { banner: deps.banner } : {}),
    ...(deps.caps ? { caps: { ...deps.caps, knex: deps.knex } } : {}),
    ...(deps.upgrades ? { upgrades: deps.upgrades } : {}),
    ...(deps.pools ? { pools: deps.pools } : {}),
  });
  const downloads = createDownloads({ reads, admin, evidence: deps.evidence });
  // one cache of the panel's names for the admin tab and the admin API
  const names = createNameDirectory({ panel: deps.panel, log: deps.log });
  const adminTab = createAdminTab({
    reads,
    admin,
    masters: deps.masters,
    billing: deps.billing,
    settings: deps.settings,
    links: deps.links,
    evidence: deps.evidence,
    disputes: deps.disputes,
    usagePeriods: deps.usagePeriods,
    syncIssues: async () => (deps.sync ? deps.sync.issues() : []),
    panel: deps.panel,
    signer,
    clock: deps.clock,
    zone: deps.zone,
    log: deps.log,
    apiBase,
    invalidateClient: (id) => widget.invalidate(id),
    pools: deps.pools,
    caps: deps.caps,
    upgrades: deps.upgrades,
    names,
    previewProduct: (productId, profile) => previewLastPeriods(deps.knex, productId, profile),
  });

  /**
   * The panel's client page links: the page itself, and downloads through the API with a short
   * token, or back through the host's page (the WHMCS bridge streams them).
   */
  const panelLinks =
    (modulelink: string, clientId: number, host: PageHost) =>
    (): WidgetLinks => {
      const page = (serviceId: number) => `${modulelink}&service=${serviceId}`;
      const token = host.downloads === 'host' ? '' : encodeURIComponent(signer.issue({ type: 'client', id: clientId }, { readOnly: true }).token);
      return {
        service: page,
        form: page,
        periodCsv: (sid, pid) => (host.downloads === 'host' ? `${modulelink}&download=period&service=${sid}&period=${pid}` : `${apiBase}/client/services/${sid}/periods/${pid}/days.csv?token=${token}`),
        lineCsv: (id) => (host.downloads === 'host' ? `${modulelink}&download=line&line=${id}` : `${apiBase}/client/lines/${id}/days.csv?token=${token}`),
        morePeriods: (sid, cursor) => `${page(sid)}&periods=${encodeURIComponent(cursor)}`,
        periodChart: (sid, pid) => `${page(sid)}&period=${pid}#ou-days-${sid}`,
        // the panel's own invoice page, next to the module's (index.php?m=…) in the client area
        invoice: (id) => `viewinvoice.php?id=${id}`,
      };
    };

  /** clientarea(): the widget, in the client's language; a POST disputes or withdraws first. */
  async function clientArea(vars: AddonVarsIn) {
    const modulelink = vars.modulelink ?? 'index.php?m=overusage';
    const locale = localeForClient(vars.language);
    const w = wordsFor(textLanguage(locale));
    const shell = { pagetitle: w.title, breadcrumb: { [modulelink]: w.title }, templatefile: 'usage', requirelogin: true };
    const clientId = typeof vars.clientid === 'number' && vars.clientid > 0 ? vars.clientid : null;
    if (clientId === null) return { ...shell, vars: {} };
    const host = pageHostOf(vars);
    // the validation layer: one text value per field, whatever the host parsed; anything else is said, not run
    let request: { method: string; query: Record<string, string>; body: Record<string, string> };
    let refused: string | null = null;
    try {
      const r = vars.request ?? GET;
      request = { method: r.method, query: flatFields(r.query, 'query'), body: flatFields(r.body, 'form') };
    } catch (err) {
      if (!(err instanceof ModuleError)) throw err;
      request = { method: 'GET', query: {}, body: {} };
      refused = err.message;
    }
    let flash: { kind: 'success' | 'error'; text: string } | null = refused ? { kind: 'error', text: refused } : request.method === 'POST' ? await widget.post(clientId, request.body, locale) : null;
    const idOf = (v: unknown) => {
      try {
        return idCursor(str(v), 'id');
      } catch {
        return null;
      }
    };
    const periods = str(request.query.periods) || null;
    const ask = (sid: number | null, before: string | null, periodId: number | null) =>
      widget.view({ clientId, locale, serviceId: sid, periodsBefore: before, periodId, surface: `panel-${host.downloads}`, links: panelLinks(modulelink, clientId, host) });
    let view;
    try {
      view = await ask(idOf(request.query.service), periods, idOf(request.query.period));
    } catch (err) {
      // another client's service, or a cursor that is not one: the first service, with a word why
      if (!(err instanceof ModuleError) || !['NOT_FOUND', 'INVALID_INPUT'].includes(err.code)) throw err;
      view = await ask(null, null, null);
      flash = { kind: 'error', text: w.notFound };
    }
    return { ...shell, vars: { view: flash ? { ...view, flash } : view, ui: uiFor(host.assets, assets), csrf: host.csrf } };
  }

  /** output(): the admin tab, links relative to the panel's admin area. */
  async function adminOutput(vars: AddonVarsIn): Promise<string> {
    const adminId = typeof vars.adminid === 'number' && vars.adminid > 0 ? vars.adminid : null;
    if (adminId === null) throw new ModuleError('UNAUTHORIZED', 'the admin tab needs a logged-in admin');
    const host = pageHostOf(vars);
    return adminTab({
      adminId,
      request: vars.request ?? GET,
      href: tabHref(vars.modulelink ?? 'addonmodules.php?module=overusage'),
      panel: o.panelLinks === undefined ? WHMCS_ADMIN_LINKS : o.panelLinks,
      csrf: host.csrf,
      ui: uiFor(host.assets, assets),
      downloads: host.downloads,
    });
  }

  /** A file of the admin tab or the client page, for a host that streams it (`download=<kind>` in the request's query). */
  async function download(vars: AddonVarsIn): Promise<DownloadFile> {
    const query = flatFields(vars.request?.query ?? {}, 'query');
    if (typeof vars.adminid === 'number' && vars.adminid > 0) return downloads.forAdmin(query);
    if (typeof vars.clientid === 'number' && vars.clientid > 0) return downloads.forClient(vars.clientid, query);
    throw new ModuleError('UNAUTHORIZED', 'a download needs a logged-in admin or client');
  }

  /** The client home panel (ClientAreaHomepagePanels): null when the client has no metered service. */
  async function homePanel(clientId: number, language: string | null | undefined, hostVars: Record<string, unknown> = {}) {
    const host = pageHostOf(hostVars);
    const locale = localeForClient(language);
    const s = await widget.summary(clientId, locale);
    if (!s) return null;
    const modulelink = 'index.php?m=overusage';
    const bodyHtml = await ejs.renderFile(
      path.join(CLIENT_VIEWS, 'home-panel.ejs'),
      { ui: uiFor(host.assets, assets), lang: textLanguage(locale), rows: s.rows.map((r) => ({ ...r, href: `${modulelink}&service=${r.id}` })), underDispute: s.underDispute, disputable: s.disputable },
      { cache: true },
    );
    return { label: s.w.title, bodyHtml, btnLink: modulelink, btnText: s.w.homeDetails, badge: s.underDispute ? '!' : '' };
  }

  /** The block on a service's page (ClientAreaProductDetailsOutput); empty when it is not metered. */
  async function productDetails(serviceId: number, clientId: number, language: string | null | undefined, hostVars: Record<string, unknown> = {}): Promise<string> {
    const host = pageHostOf(hostVars);
    const locale = localeForClient(language);
    let usage;
    try {
      usage = await reads.serviceUsage(serviceId, { clientId });
    } catch (err) {
      if (err instanceof ModuleError && err.code === 'NOT_FOUND') return '';
      throw err;
    }
    const modulelink = 'index.php?m=overusage';
    const labels = await widget.labels(clientId);
    const s = presentService(usage, labels.get(serviceId) ?? `#${serviceId}`, null, [], { locale, now: deps.clock.now(), links: panelLinks(modulelink, clientId, host)() });
    const view = { lang: textLanguage(locale), w: wordsFor(textLanguage(locale)) };
    return ejs.renderFile(path.join(CLIENT_VIEWS, 'product-details.ejs'), { view, s, ui: uiFor(host.assets, assets), href: `${modulelink}&service=${serviceId}` }, { cache: true });
  }

  /** The client's panel language, for hooks that are given only ids. */
  async function languageOf(clientId: number): Promise<string> {
    if (!deps.panel) return '';
    return deps.panel.getClientsDetails(clientId).then((c) => c.language, () => '');
  }

  const router = () =>
    createWebRouter({
      basePath,
      signer,
      widget,
      adminTab,
      reads,
      admin,
      disputes: deps.disputes,
      usagePeriods: deps.usagePeriods,
      syncIssues: async () => (deps.sync ? deps.sync.issues() : []),
      evidence: deps.evidence,
      masters: deps.masters,
      billing: deps.billing,
      settings: deps.settings,
      links: deps.links,
      panel: deps.panel,
      limiter,
      revocations,
      admins,
      names,
      knex: deps.knex,
      ...(deps.caps ? { caps: deps.caps } : {}),
      ...(deps.pools ? { pools: deps.pools } : {}),
      ...(deps.upgrades ? { upgrades: deps.upgrades } : {}),
      clock: deps.clock,
      log: deps.log,
      now,
      cacheMs,
      ...(o.helmet ? { helmet: o.helmet } : {}),
      ...(o.frameAncestors ? { frameAncestors: o.frameAncestors } : {}),
      ...(o.secureCookies !== undefined ? { secureCookies: o.secureCookies } : {}),
    });

  return {
    basePath,
    apiBase,
    reads,
    admin,
    signer,
    widget,
    clientArea,
    adminOutput,
    download,
    homePanel,
    productDetails,
    languageOf,
    /** the express router (JSON API, embed pages, assets); mount it with app.use() */
    router,
    /** a short-lived token naming an admin or a client (the JSON API, the embed pages) */
    issueToken: signer.issue,
    /** the admin logged out of the panel: the tokens bound to a login session of theirs are revoked */
    revokeAdminSessions: (adminId: number) => revocations.revokeSessions(adminId, 'logout'),
  };
}

export type Web = ReturnType<typeof createWeb>;
