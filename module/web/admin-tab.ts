import fs from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { loggedError, toNum } from '../adapters/rows.js';
import type { AdminReads, LineFilter } from '../services/admin-reads.js';
import type { BillingProfile, BillingSettingsService } from '../services/billing-settings.js';
import type { ProductPreview } from '../services/rating-preview.js';
import type { DisputeService } from '../services/disputes.js';
import type { EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import type { SettingsService } from '../services/settings.js';
import type { UsageReads } from '../services/usage-reads.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import { TABS, lineFilterQuery, type AdminCtx, type Href, type PanelLinks } from './present-admin.js';
import { TAB_TOKEN_TTL_SECONDS, type TokenSigner } from './tokens.js';
import type { FormToken, PageUi } from './page-host.js';
import { flatFields } from './validation.js';
import { createNameDirectory, nameThePage, type NameDirectory } from './name-directory.js';
import type { PoolsPageDeps } from './admin-pools.js';
import { act, str, type Acted, type AdminEnv } from './admin-actions.js';
import { pageData, type FileLinks } from './admin-pages.js';

/**
 * The admin tab: one function from (admin, request) to HTML, for the panel's output() and for the
 * module's own embed page. `?a=` picks the page; a POST carries one action (`do=`) and the page is
 * shown again with what came of it. The host has checked the admin and the CSRF token before.
 */
const VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'admin');
/** The admin views include each other as `/admin/…` and `/partials/…` under this root: EJS checks a
 * relative include on disk (existsSync) on every call, even cached, which was 10 % of the server's CPU
 * on the dispute queue (two includes a row); a rooted one it resolves by name alone. */
const VIEWS_ROOT = path.dirname(VIEWS);

/** EJS's escapeXML; a text with none of its five characters (most of a page: ids, dates, amounts) comes back as it is, without a replace() */
const SPECIAL = /[&<>'"]/;
const escapeXml = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  const text = String(v);
  return SPECIAL.test(text) ? ejs.escapeXML(text) : text;
};

/**
 * A row's partial (`/admin/_client-ref`, `/partials/_state`, …) as its compiled template, called
 * with the data it is given and nothing else: `include()` copies EJS's options and every local of
 * the page into each call, a third of the dispute queue's render at 50 rows with two a row. The
 * lists call their rows' partials through it as `<%- part(name, data) %>`. A partial is a pure
 * function of its data, so its HTML for data of texts, numbers and nulls is kept: a list shows the
 * same states and names on every row and every visit.
 */
const PARTIAL = /^\/(admin|partials)\/_[a-z-]+$/;
const partials = new Map<string, ejs.TemplateFunction>();
const rendered = new Map<string, string>();
export function part(name: string, data: Record<string, unknown>): string {
  const key = keyOf(name, data);
  const hit = key === null ? undefined : rendered.get(key);
  if (hit !== undefined) return hit;
  let f = partials.get(name);
  if (!f) {
    if (!PARTIAL.test(name)) throw new Error(`no partial ${name}`);
    const file = path.join(VIEWS_ROOT, `${name}.ejs`);
    f = ejs.compile(fs.readFileSync(file, 'utf8'), { filename: file, root: VIEWS_ROOT, escape: escapeXml });
    partials.set(name, f);
  }
  const html = f(data);
  if (key !== null) {
    if (rendered.size >= 5000) rendered.clear();
    rendered.set(key, html);
  }
  return html;
}

/** One text per (partial, data) when every value is a text, a finite number or null (texts and names length-prefixed: no two share one); else null. */
function keyOf(name: string, data: Record<string, unknown>): string | null {
  let key = name;
  for (const k of Object.keys(data)) {
    const v = data[k];
    key += `|${k.length}:${k}=`;
    if (typeof v === 'string') key += `s${v.length}:${v}`;
    else if (typeof v === 'number' && Number.isFinite(v)) key += `d${v}`;
    else if (v === null) key += 'n';
    else return null;
  }
  return key;
}

export interface AdminTabDeps {
  reads: UsageReads;
  admin: AdminReads;
  masters: MasterService;
  billing: BillingSettingsService;
  settings: SettingsService;
  links: ServiceLinkService;
  evidence: EvidenceService;
  disputes: DisputeService | undefined;
  usagePeriods: UsagePeriodService;
  /** services of billed products the last panel sync could not link, with why */
  syncIssues: () => Promise<
    Array<{
      serviceId: number;
      clientId: number;
      productId: number;
      domain: string;
      reason: string;
      seenAt: string;
    }>
  >;
  panel: PanelApi | undefined;
  signer: TokenSigner;
  clock: Clock;
  zone: string;
  log: Logger;
  apiBase: string;
  /** a change an admin makes to a client's line shows on the client's page at once */
  invalidateClient(clientId: number): void;
  /** the panel's names for the ids on a page (default: asked through `panel`, kept a minute) */
  names?: NameDirectory;
  /** transfer pools, client caps (and running the limit policy after a change), upgrade outcomes: the Pools & caps page */
  pools?: PoolsPageDeps['pools'];
  caps?: PoolsPageDeps['caps'];
  upgrades?: PoolsPageDeps['upgrades'];
  /** what each service's last closed period would have cost under a product's edited settings */
  previewProduct?: (productId: number, profile: BillingProfile) => Promise<ProductPreview>;
}

export interface AdminTabRequest {
  adminId: number;
  request: { method: string; query: Record<string, unknown>; body: Record<string, unknown> };
  href: Href;
  panel: PanelLinks | null;
  /** the form field every POST form carries (the embed page's, or WHMCS's through the bridge); null inside the reference panel, which adds its token itself */
  csrf: FormToken | null;
  /** the stylesheets and script the page links to */
  ui: PageUi;
  /** the session the page's tokens are bound to: the embed page's cookie token nonce; default `h`, the host panel's login session */
  session?: string;
  /** download links: the JSON API's with a read-only token, or back to the host's page (the WHMCS bridge streams them) */
  downloads: 'api' | 'host';
}

export { panelHasProduct, presentProductPreview } from './admin-actions.js';

/** through the host's page: `modulelink&download=<kind>&…` */
const hostLinks = (href: Href): FileLinks => ({
  lineCsv: (id: number) => href({ download: 'line_days', id }),
  samplesCsv: (id: number) => href({ download: 'line_samples', id }),
  evidence: (id: number) => href({ download: 'line_evidence', id }),
  periodCsv: (serviceId: number, periodId: number) =>
    href({ download: 'period', service: serviceId, period: periodId }),
  linesCsv: (f: LineFilter) => href({ download: 'lines', ...lineFilterQuery(f) }),
});

const tokenLinks = (apiBase: string, token: string): FileLinks => ({
  lineCsv: (id: number) => `${apiBase}/admin/lines/${id}/days.csv?token=${encodeURIComponent(token)}`,
  samplesCsv: (id: number) => `${apiBase}/admin/lines/${id}/samples.csv?token=${encodeURIComponent(token)}`,
  evidence: (id: number) => `${apiBase}/admin/lines/${id}/evidence?token=${encodeURIComponent(token)}`,
  periodCsv: (serviceId: number, periodId: number) =>
    `${apiBase}/admin/services/${serviceId}/periods/${periodId}/days.csv?token=${encodeURIComponent(token)}`,
  linesCsv: (f: LineFilter) =>
    `${apiBase}/admin/lines.csv?${new URLSearchParams({ ...lineFilterQuery(f), token }).toString()}`,
});

/** The tab a page sits under: a product's or master's form under Settings, one service under Services, … */
const PARENT_TAB: Record<string, string> = {
  product: 'settings',
  master: 'settings',
  service: 'services',
  dispute: 'disputes',
  line: 'lines',
};

function envOf(deps: AdminTabDeps): AdminEnv {
  async function productNames(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (!deps.panel) return out;
    try {
      const res = await deps.panel.call('GetProducts', {});
      const list = (res.products as { product?: Array<Record<string, unknown>> } | undefined)?.product ?? [];
      for (const p of list) out.set(toNum(p.pid), String(p.name ?? ''));
    } catch (err) {
      deps.log.warn('admin_tab.products_failed', { ...loggedError(err) });
    }
    return out;
  }
  async function serviceLabel(serviceId: number): Promise<string> {
    if (!deps.panel) return `Service #${serviceId}`;
    try {
      const { products } = await deps.panel.getClientsProducts({ serviceId });
      const p = products[0];
      return p ? `#${serviceId} ${p.domain || p.name} (${p.name})` : `Service #${serviceId}`;
    } catch {
      return `Service #${serviceId}`;
    }
  }
  const pools: PoolsPageDeps = {
    pools: deps.pools,
    caps: deps.caps,
    upgrades: deps.upgrades,
    billing: deps.billing,
    clientOf: async (serviceId) => (await deps.reads.serviceUsage(serviceId)).service.clientId,
    productNames,
  };
  return { deps, pools, productNames, serviceLabel };
}

/**
 * The page's tokens: on its own origin the page's script posts previews with a full token and its
 * download links carry a read-only one; inside a host the files come through the host, and
 * previews by form. Both short and bound to the page's session: a copied one dies with the logout,
 * and the script's token only reads and previews (it never mints nor writes).
 */
function linksOf(
  deps: AdminTabDeps,
  input: AdminTabRequest,
): { api: { base: string; token: string } | null; files: FileLinks } {
  const bound = input.session ?? 'h';
  const issue = (scope: 'tab' | 'read') =>
    deps.signer.issue(
      { type: 'admin', id: input.adminId },
      { scope, ttlSeconds: TAB_TOKEN_TTL_SECONDS, bound },
    ).token;
  if (input.downloads === 'host') return { api: null, files: hostLinks(input.href) };
  return { api: { base: deps.apiBase, token: issue('tab') }, files: tokenLinks(deps.apiBase, issue('read')) };
}

export function createAdminTab(deps: AdminTabDeps) {
  const names = deps.names ?? createNameDirectory({ panel: deps.panel, log: deps.log });
  const env = envOf(deps);

  return async function render(input: AdminTabRequest): Promise<string> {
    const { href } = input;
    // the validation layer: whatever the host parsed, one text value per field, no object keys
    // (a list or a group answers INVALID_INPUT, 422, before anything runs)
    const q = flatFields(input.request.query, 'query');
    const body = flatFields(input.request.body, 'form');
    let page = str(q.a) || 'dashboard';
    const ctx: AdminCtx = { href, panel: input.panel, now: deps.clock.now(), zone: deps.zone };
    const { api, files } = linksOf(deps, input);
    const done: Acted =
      input.request.method === 'POST' ? await act(env, input.adminId, body) : { flash: null };
    if (done.goTo) page = done.goTo;
    let flash = done.flash;
    let data: Record<string, unknown> = {};
    try {
      data = await pageData(page, { env, q, body, ctx, files, done });
    } catch (err) {
      if (!(err instanceof ModuleError) || !['NOT_FOUND', 'INVALID_INPUT'].includes(err.code)) throw err;
      flash = { kind: 'error', text: err.message };
      page = 'message';
      data = {};
    }
    // clients by name, services by hostname and product: the ids stay as the links' text beside them
    await nameThePage(data, names);
    const tabs = TABS.map(([name, label]) => ({
      name,
      label,
      href: href({ a: name }),
      current: name === page || PARENT_TAB[page] === name,
    }));
    return ejs.renderFile(
      path.join(VIEWS, 'tab.ejs'),
      { vm: { page, tabs, flash, csrf: input.csrf, ui: input.ui, api, href, data }, part },
      { cache: true, root: VIEWS_ROOT, escape: escapeXml },
    );
  };
}

export type AdminTab = ReturnType<typeof createAdminTab>;
