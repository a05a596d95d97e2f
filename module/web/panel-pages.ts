import path from 'node:path';
import ejs from 'ejs';
import { ModuleError } from '../domain/errors.js';
import { storedColumnOf } from '../domain/stored-value.js';
import { localeForClient, textLanguage } from '../domain/line-text.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { Logger } from '../adapters/logger.js';
import { TABLES } from '../adapters/tables.js';
import { whyUnreadable } from '../adapters/rows.js';
import type { AddonVarsIn } from '../addon-definition.js';
import type { Clock } from '../domain/clock.js';
import { idCursor, type UsageReads } from '../services/usage-reads.js';
import type { AdminTab } from './admin-tab.js';
import type { DownloadFile, createDownloads } from './downloads.js';
import { pageHostOf, uiFor, type PageHost } from './page-host.js';
import type { Href, PanelLinks } from './present-admin.js';
import { presentService, type WidgetLinks } from './present-usage.js';
import type { TokenSigner } from './tokens.js';
import { flatFields } from './validation.js';
import type { Widget } from './widget.js';
import { wordsFor } from './words.js';

/**
 * The pages the panel itself shows (WHMCS's addon functions and hooks): the client page
 * (clientarea()), the admin tab (output()), a file streamed by the host, the client home panel and
 * the block on a service's page. Each reads the panel's variables, asks the widget or the admin
 * tab, and answers in the panel's own terms.
 */
export interface PanelPagesDeps {
  widget: Widget;
  adminTab: AdminTab;
  reads: UsageReads;
  downloads: ReturnType<typeof createDownloads>;
  signer: TokenSigner;
  panel: PanelApi | undefined;
  clock: Clock;
  apiBase: string;
  /** the router's assets (`<base>/assets`), for a host that brings none of its own */
  assets: string;
  /** links into the host's own admin pages; null: none */
  panelLinks: PanelLinks | null;
  /** told of a service whose record cannot be read (the client is shown only that) */
  log?: Logger;
}

const CLIENT_VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'client');
const CLIENT_PAGE = 'index.php?m=overusage';

export const WHMCS_ADMIN_LINKS: PanelLinks = {
  client: (id) => `clientssummary.php?userid=${id}`,
  service: (id) => `clientsservices.php?id=${id}`,
  invoice: (id) => `invoices.php?action=edit&id=${id}`,
};

/** `addonmodules.php?module=overusage` + params, as the panel's tab links. */
export const tabHref =
  (modulelink: string): Href =>
  (params) => {
    const qs = new URLSearchParams(
      Object.entries(params)
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    return qs ? `${modulelink}${modulelink.includes('?') ? '&' : '?'}${qs}` : modulelink;
  };

const GET: { method: string; query: Record<string, unknown>; body: Record<string, unknown> } = {
  method: 'GET',
  query: {},
  body: {},
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const positiveId = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);

/**
 * The panel's client page links: the page itself, and downloads through the API with a short
 * token, or back through the host's page (the WHMCS bridge streams them).
 */
const panelLinks =
  (d: PanelPagesDeps, modulelink: string, clientId: number, host: PageHost) => (): WidgetLinks => {
    const page = (serviceId: number) => `${modulelink}&service=${serviceId}`;
    const token =
      host.downloads === 'host'
        ? ''
        : encodeURIComponent(d.signer.issue({ type: 'client', id: clientId }, { readOnly: true }).token);
    return {
      service: page,
      form: page,
      periodCsv: (sid, pid) =>
        host.downloads === 'host'
          ? `${modulelink}&download=period&service=${sid}&period=${pid}`
          : `${d.apiBase}/client/services/${sid}/periods/${pid}/days.csv?token=${token}`,
      lineCsv: (id) =>
        host.downloads === 'host'
          ? `${modulelink}&download=line&line=${id}`
          : `${d.apiBase}/client/lines/${id}/days.csv?token=${token}`,
      morePeriods: (sid, cursor) => `${page(sid)}&periods=${encodeURIComponent(cursor)}`,
      periodChart: (sid, pid) => `${page(sid)}&period=${pid}#ou-days-${sid}`,
      // the panel's own invoice page, next to the module's (index.php?m=…) in the client area
      invoice: (id) => `viewinvoice.php?id=${id}`,
    };
  };

type FlatRequest = { method: string; query: Record<string, string>; body: Record<string, string> };

/** The validation layer: one text value per field, whatever the host parsed; anything else is said, not run. */
function flatRequest(vars: AddonVarsIn): { request: FlatRequest; refused: string | null } {
  try {
    const r = vars.request ?? GET;
    return {
      request: { method: r.method, query: flatFields(r.query, 'query'), body: flatFields(r.body, 'form') },
      refused: null,
    };
  } catch (err) {
    if (!(err instanceof ModuleError)) throw err;
    return { request: { method: 'GET', query: {}, body: {} }, refused: err.message };
  }
}

const idOf = (v: unknown) => {
  try {
    return idCursor(str(v), 'id');
  } catch {
    return null;
  }
};

/** clientarea(): the widget, in the client's language; a POST disputes or withdraws first. */
export async function clientArea(d: PanelPagesDeps, vars: AddonVarsIn) {
  const modulelink = vars.modulelink ?? CLIENT_PAGE;
  const locale = localeForClient(vars.language);
  const w = wordsFor(textLanguage(locale));
  const shell = {
    pagetitle: w.title,
    breadcrumb: { [modulelink]: w.title },
    templatefile: 'usage',
    requirelogin: true,
  };
  const clientId = positiveId(vars.clientid);
  if (clientId === null) return { ...shell, vars: {} };
  const host = pageHostOf(vars);
  const { request, refused } = flatRequest(vars);
  let flash: { kind: 'success' | 'error'; text: string } | null = refused
    ? { kind: 'error', text: refused }
    : request.method === 'POST'
      ? await d.widget.post(clientId, request.body, locale)
      : null;
  const periods = str(request.query.periods) || null;
  const ask = (sid: number | null, before: string | null, periodId: number | null) =>
    d.widget.view({
      clientId,
      locale,
      serviceId: sid,
      periodsBefore: before,
      periodId,
      surface: `panel-${host.downloads}`,
      links: panelLinks(d, modulelink, clientId, host),
    });
  let view;
  try {
    view = await ask(idOf(request.query.service), periods, idOf(request.query.period));
  } catch (err) {
    // another client's service, or a cursor that is not one: the first service, with a word why
    if (!(err instanceof ModuleError) || !['NOT_FOUND', 'INVALID_INPUT'].includes(err.code)) throw err;
    view = await ask(null, null, null);
    flash = { kind: 'error', text: w.notFound };
  }
  return {
    ...shell,
    vars: { view: flash ? { ...view, flash } : view, ui: uiFor(host.assets, d.assets), csrf: host.csrf },
  };
}

/** output(): the admin tab, links relative to the panel's admin area. */
export async function adminOutput(d: PanelPagesDeps, vars: AddonVarsIn): Promise<string> {
  const adminId = positiveId(vars.adminid);
  if (adminId === null) throw new ModuleError('UNAUTHORIZED', 'the admin tab needs a logged-in admin');
  const host = pageHostOf(vars);
  return d.adminTab({
    adminId,
    request: vars.request ?? GET,
    href: tabHref(vars.modulelink ?? 'addonmodules.php?module=overusage'),
    panel: d.panelLinks,
    csrf: host.csrf,
    ui: uiFor(host.assets, d.assets),
    downloads: host.downloads,
  });
}

/** A file of the admin tab or the client page, for a host that streams it (`download=<kind>` in the request's query). */
export async function download(d: PanelPagesDeps, vars: AddonVarsIn): Promise<DownloadFile> {
  const query = flatFields(vars.request?.query ?? {}, 'query');
  if (typeof vars.adminid === 'number' && vars.adminid > 0) return d.downloads.forAdmin(query);
  if (typeof vars.clientid === 'number' && vars.clientid > 0)
    return d.downloads.forClient(vars.clientid, query);
  throw new ModuleError('UNAUTHORIZED', 'a download needs a logged-in admin or client');
}

/** The client home panel (ClientAreaHomepagePanels): null when the client has no metered service. */
export async function homePanel(
  d: PanelPagesDeps,
  clientId: number,
  language: string | null | undefined,
  hostVars: Record<string, unknown> = {},
) {
  const host = pageHostOf(hostVars);
  const locale = localeForClient(language);
  const s = await d.widget.summary(clientId, locale);
  if (!s) return null;
  const bodyHtml = await ejs.renderFile(
    path.join(CLIENT_VIEWS, 'home-panel.ejs'),
    {
      ui: uiFor(host.assets, d.assets),
      lang: textLanguage(locale),
      rows: s.rows.map((r) => ({ ...r, href: `${CLIENT_PAGE}&service=${r.id}` })),
      underDispute: s.underDispute,
      disputable: s.disputable,
    },
    { cache: true },
  );
  return {
    label: s.w.title,
    bodyHtml,
    btnLink: CLIENT_PAGE,
    btnText: s.w.homeDetails,
    badge: s.underDispute ? '!' : '',
  };
}

/** The block on a service's page (ClientAreaProductDetailsOutput); empty when it is not metered. */
export async function productDetails(
  d: PanelPagesDeps,
  serviceId: number,
  clientId: number,
  language: string | null | undefined,
  hostVars: Record<string, unknown> = {},
): Promise<string> {
  const host = pageHostOf(hostVars);
  const locale = localeForClient(language);
  const view = { lang: textLanguage(locale), w: wordsFor(textLanguage(locale)) };
  let usage;
  try {
    usage = await d.reads.serviceUsage(serviceId, { clientId });
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'NOT_FOUND') return '';
    if (storedColumnOf(err) === null) throw err;
    // its record cannot be read: the block says only that; the operator gets the column and why
    d.log?.warn('admin.row_unreadable', { table: TABLES.services, id: serviceId, ...whyUnreadable(err) });
    usage = null;
  }
  const labels = await d.widget.labels(clientId);
  const s = usage
    ? presentService(usage, labels.get(serviceId) ?? `#${serviceId}`, null, [], {
        locale,
        now: d.clock.now(),
        links: panelLinks(d, CLIENT_PAGE, clientId, host)(),
      })
    : { id: serviceId, hasData: false, measuredUntil: view.w.figureUnavailable, csv: '' };
  return ejs.renderFile(
    path.join(CLIENT_VIEWS, 'product-details.ejs'),
    { view, s, ui: uiFor(host.assets, d.assets), href: `${CLIENT_PAGE}&service=${serviceId}` },
    { cache: true },
  );
}

/** The client's panel language, for hooks that are given only ids. */
export async function languageOf(d: Pick<PanelPagesDeps, 'panel'>, clientId: number): Promise<string> {
  if (!d.panel) return '';
  return d.panel.getClientsDetails(clientId).then(
    (c) => c.language,
    () => '',
  );
}
