import path from 'node:path';
import ejs from 'ejs';
import type { Clock } from '../domain/clock.js';
import type { Adjustment, Resolution } from '../domain/dispute-state.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { decidedFigures, explainCharge, formatAmount } from '../domain/line-text.js';
import { bytesInUnit, type ByteUnit } from '../domain/bytes.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { ConnectionReport } from '../adapters/solusvm-types.js';
import type { Actor } from '../adapters/audit-store.js';
import { toNum } from '../adapters/rows.js';
import type { AdminReads, LineFilter } from '../services/admin-reads.js';
import { parseProductSettings, type BillingProfile, type BillingSettingsService } from '../services/billing-settings.js';
import type { ProductPreview } from '../services/rating-preview.js';
import type { DisputeService, DisputeView } from '../services/disputes.js';
import { ADMIN_DISPUTE_FLASH } from '../domain/dispute-text.js';
import type { EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import { SETTING_SCHEMAS, type SettingsService } from '../services/settings.js';
import { idCursor, type UsageReads } from '../services/usage-reads.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import {
  ADMIN_LOCALE,
  TABS,
  lineFilterQuery,
  presentAnomaly,
  presentAudit,
  presentCorrection,
  presentDashboard,
  presentWaitingCharge,
  presentDisputeRow,
  presentLineRow,
  presentMaster,
  presentProduct,
  presentSamples,
  presentServiceListRow,
  type AdminCtx,
  type Href,
  type PanelLinks,
  HOLD_STATE_LABEL,
} from './present-admin.js';
import { presentService, type WidgetLinks } from './present-usage.js';
import { TAB_TOKEN_TTL_SECONDS, type TokenSigner } from './tokens.js';
import { wordsFor } from './words.js';
import type { FormToken, PageUi } from './page-host.js';
import { lineFilterOf } from './downloads.js';
import { flatFields, parseWith, refuseObjectKeys, wholeNumber } from './validation.js';
import { createNameDirectory, nameThePage, type NameDirectory } from './name-directory.js';
import { actOnPools, poolsPage, type PoolsPageDeps } from './admin-pools.js';
import { masterForm, masterFromForm, masterValues, PRICE_ROWS, productForm, productFromForm, productValues, SIZE_UNITS, withoutSecrets, type FieldErrors, type FormValues } from './admin-forms.js';

/**
 * The admin tab: one function from (admin, request) to HTML, for the panel's output() and for the
 * module's own embed page. `?a=` picks the page; a POST carries one action (`do=`) and the page is
 * shown again with what came of it. The host has checked the admin and the CSRF token before.
 */
const VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views', 'admin');

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
  syncIssues: () => Promise<Array<{ serviceId: number; clientId: number; productId: number; domain: string; reason: string; seenAt: string }>>;
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

type Flash = { kind: 'success' | 'error'; text: string } | null;

/**
 * The product form's preview in words: per service its last closed period, what it bills now and
 * what it would under the edited settings; a total per currency.
 */

/** "Dispute 3 adjusted: the line now bills €350.00 (was €500.00)." — what the decision did to the money. */
function decidedFlash(d: DisputeView): string {
  const money = (minor: bigint) => formatAmount(minor, d.currency, ADMIN_LOCALE);
  const now = d.state === 'waived' ? 0n : (d.amountAfterMinor ?? d.amountBeforeMinor);
  const credited = d.settlement === 'credited' ? money(d.amountBeforeMinor - now) : null;
  return ADMIN_DISPUTE_FLASH.decided(d.id, d.state, { now: money(now), before: money(d.amountBeforeMinor), credited });
}
export function presentProductPreview(p: ProductPreview) {
  const money = (minor: bigint | null, currency: string) => (minor === null ? '–' : formatAmount(minor, currency, ADMIN_LOCALE));
  const OUTCOME: Record<string, string> = { within_allowance: 'within the allowance', billed: 'billed', written_off: 'under the minimum: written off' };
  return {
    rows: p.rows.map((r) => ({
      serviceId: r.serviceId,
      clientId: r.clientId,
      period: `${r.periodStart} – ${r.periodEnd}`,
      used: `${bytesInUnit(r.usedBytes, p.unit as ByteUnit)} ${p.unit}`,
      now: r.nowMinor === null ? 'not rated yet' : money(r.nowMinor, r.currency),
      then: r.previewMinor === null ? `not rated: ${r.reason}` : money(r.previewMinor, r.currency),
      outcome: r.outcome ? OUTCOME[r.outcome] : '',
    })),
    totals: p.totals.map((t) => ({ currency: t.currency, now: money(t.nowMinor, t.currency), then: money(t.previewMinor, t.currency) })),
    more: p.more,
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : v === undefined || v === null ? '' : String(v));

/**
 * Billing settings are for the panel's products only: a product id the panel does not have is
 * refused. Without a panel API (the module on its own) there is nothing to ask.
 */
export async function panelHasProduct(panel: PanelApi | undefined, productId: number): Promise<boolean> {
  if (!panel) return true;
  const res = await panel.call('GetProducts', { pid: productId });
  const list = (res.products as { product?: Array<Record<string, unknown>> } | undefined)?.product ?? [];
  return list.some((p) => toNum(p.pid) === productId);
}

export function createAdminTab(deps: AdminTabDeps) {
  const names = deps.names ?? createNameDirectory({ panel: deps.panel, log: deps.log });
  const actorOf = (adminId: number): Actor => ({ type: 'admin', id: String(adminId) });
  const poolsDeps: PoolsPageDeps = {
    pools: deps.pools,
    caps: deps.caps,
    upgrades: deps.upgrades,
    billing: deps.billing,
    clientOf: async (serviceId) => (await deps.reads.serviceUsage(serviceId)).service.clientId,
    productNames: () => productNames(),
  };

  async function productNames(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (!deps.panel) return out;
    try {
      const res = await deps.panel.call('GetProducts', {});
      const list = (res.products as { product?: Array<Record<string, unknown>> } | undefined)?.product ?? [];
      for (const p of list) out.set(toNum(p.pid), String(p.name ?? ''));
    } catch (err) {
      deps.log.warn('admin_tab.products_failed', { error: (err as Error).message });
    }
    return out;
  }

  function adjustmentOf(body: Record<string, unknown>): Adjustment {
    const kind = str(body.kind);
    if (kind === 'precommit') return { kind: 'precommit' };
    if (kind === 'share') return { kind: 'share', percent: str(body.percent).trim() };
    if (kind === 'amount') return { kind: 'amount', amount: str(body.amount).trim() };
    throw invalidInput('choose how to adjust: the rate agreed in advance, a share, or an amount');
  }

  /** A form shown again after a POST: what was typed (never a secret) and what is wrong, by field. */
  type FormState = { values: FormValues; errors: FieldErrors; report?: ConnectionReport; preview?: ReturnType<typeof presentProductPreview> };
  type Acted = { flash: Flash; preview?: { amount: string; explanation: string } | null; report?: { masterId: number; report: ConnectionReport }; form?: FormState; goTo?: string };

  /** the product form and the master form (module/web/admin-forms.ts) */
  async function actOnForm(action: string, body: Record<string, unknown>, actor: Actor): Promise<Acted | null> {
    switch (action) {
      case 'save_product_form': {
        const productId = idCursor(str(body.product), 'product');
        const values = productValues(body);
        if (productId === null) return { flash: { kind: 'error', text: 'Which product? Choose one.' }, form: { values, errors: { product: 'choose the product these settings are for' } } };
        if (!(await panelHasProduct(deps.panel, productId))) return { flash: { kind: 'error', text: `The panel has no product ${productId}.` }, form: { values, errors: { product: `the panel has no product ${productId}` } } };
        const out = productFromForm(values, await deps.billing.getProduct(productId));
        const previewing = str(body.preview) === '1';
        if (!out.ok) return { flash: { kind: 'error', text: `${previewing ? 'Not previewed' : 'Not saved'}: ${Object.keys(out.errors).length === 1 ? 'one field needs' : `${Object.keys(out.errors).length} fields need`} a change (marked below).` }, form: { values, errors: out.errors } };
        if (previewing) {
          // nothing is saved: the same form comes back with what last period would have cost
          if (!deps.previewProduct) return { flash: { kind: 'error', text: 'A preview needs the rating service, which this setup does not have.' }, form: { values, errors: {} } };
          const preview = await deps.previewProduct(productId, parseProductSettings(out.settings, `product ${productId}`));
          return { flash: null, form: { values, errors: {}, preview: presentProductPreview(preview) } };
        }
        await deps.billing.setProduct(productId, out.settings as never, actor);
        return { flash: { kind: 'success', text: `Billing settings of product ${productId} saved.` } };
      }
      case 'save_master':
      case 'test_master_form': {
        const masterId = str(body.master) === '' ? null : idCursor(str(body.master), 'master');
        const current = masterId === null ? null : await deps.masters.get(masterId);
        const values = masterValues(body);
        const out = masterFromForm(values, current);
        if (!out.ok) return { flash: { kind: 'error', text: `${action === 'save_master' ? 'Not saved' : 'Not tested'}: ${Object.keys(out.errors).length === 1 ? 'one field needs' : `${Object.keys(out.errors).length} fields need`} a change (marked below).` }, form: { values: withoutSecrets(values), errors: out.errors } };
        if (action === 'test_master_form') {
          // an empty secret on an edit means the stored one: the test uses it without showing it
          let input = out.input;
          if (current) {
            const stored = await deps.masters.settings(current.id);
            const creds = stored.credentials.kind === 'v1' ? { apiId: stored.credentials.apiId, apiKey: stored.credentials.apiKey } : { token: stored.credentials.token };
            const basic = stored.basicAuth ? { basicAuthUser: stored.basicAuth.user, basicAuthPassword: stored.basicAuth.password } : {};
            input = { ...creds, ...basic, ...input };
          }
          const report = await deps.masters.test(input);
          // the report is shown once, beside the form (not again as the page's message)
          return { flash: null, form: { values: withoutSecrets(values), errors: {}, report } };
        }
        try {
          const m = current ? await deps.masters.update(current.id, out.input, actor) : await deps.masters.add(out.input, actor);
          const notes = m.notes.length ? ` ${m.notes.map((n) => n[0]!.toUpperCase() + n.slice(1)).join('. ')}.` : '';
          return { flash: { kind: 'success', text: `Master ${m.name} ${current ? 'saved' : 'added'}.${notes}` }, goTo: 'settings' };
        } catch (err) {
          if (!(err instanceof ModuleError) || !['INVALID_INPUT', 'CONFLICT'].includes(err.code)) throw err;
          const field = /named/.test(err.message) ? 'name' : /url|address/i.test(err.message) ? 'url' : null;
          return { flash: { kind: 'error', text: `Not saved: ${err.message}` }, form: { values: withoutSecrets(values), errors: field ? { [field]: err.message } : {} } };
        }
      }
      case 'remove_master': {
        const masterId = idCursor(str(body.master), 'master');
        if (masterId === null) throw invalidInput('which master?');
        const m = await deps.masters.get(masterId);
        await deps.masters.remove(masterId, actor);
        return { flash: { kind: 'success', text: `Master ${m.name} removed.` }, goTo: 'settings' };
      }
      default:
        return null;
    }
  }

  /** Carries out one POST; returns the message and anything the page shows because of it. */
  async function act(adminId: number, body: Record<string, unknown>): Promise<Acted> {
    const action = str(body.do);
    const actor = actorOf(adminId);
    try {
      const formOutcome = (await actOnForm(action, body, actor)) ?? (await actOnPools(poolsDeps, action, body, actor));
      if (formOutcome) return formOutcome;
      switch (action) {
        case 'preview':
        case 'resolve': {
          if (!deps.disputes) return { flash: { kind: 'error', text: 'disputes need the panel API, which is not configured' } };
          const disputeId = idCursor(str(body.dispute), 'dispute');
          if (disputeId === null) throw invalidInput('which dispute?');
          const to = str(body.to) as Resolution;
          if (action === 'preview' || (to === 'adjusted' && str(body.preview) === '1')) {
            const p = await deps.disputes.preview(disputeId, adjustmentOf(body));
            return { flash: null, preview: { amount: formatAmount(p.amountMinor, p.currency, ADMIN_LOCALE), explanation: p.explanation } };
          }
          if (!['upheld', 'waived', 'adjusted'].includes(to)) throw invalidInput('choose uphold, waive or adjust');
          // a version that is not a number is refused, never taken as "no check"
          const version = str(body.version) === '' ? undefined : parseWith(wholeNumber('version'), str(body.version), 'the form');
          const outcome = await deps.disputes.resolve({
            disputeId,
            to,
            actor,
            ...(to === 'adjusted' ? { adjustment: adjustmentOf(body) } : {}),
            ...(str(body.note).trim() ? { note: str(body.note).trim().slice(0, 2000) } : {}),
            ...(version !== undefined ? { expectedVersion: version } : {}),
            ...(str(body.settlement) === 'refund' || str(body.settlement) === 'credit' ? { settlement: str(body.settlement) as 'refund' | 'credit' } : {}),
          });
          if (!outcome.ok) return { flash: { kind: 'error', text: outcome.message } };
          deps.invalidateClient(outcome.value.clientId);
          return { flash: { kind: 'success', text: decidedFlash(outcome.value) } };
        }
        case 'open_dispute': {
          if (!deps.disputes) return { flash: { kind: 'error', text: 'disputes need the panel API, which is not configured' } };
          const lineId = idCursor(str(body.line), 'line');
          if (lineId === null) throw invalidInput('which line?');
          const override = str(body.override).trim();
          const outcome = await deps.disputes.open({ lineId, reason: str(body.reason), actor, ...(override ? { overrideReason: override } : {}) });
          if (!outcome.ok) return { flash: { kind: 'error', text: outcome.message } };
          deps.invalidateClient(outcome.value.clientId);
          return { flash: { kind: 'success', text: ADMIN_DISPUTE_FLASH.opened(outcome.value.id, HOLD_STATE_LABEL[outcome.value.holdState] ?? 'on hold') } };
        }
        case 'decide_anomaly': {
          const anomalyId = idCursor(str(body.anomaly), 'anomaly');
          if (anomalyId === null) throw invalidInput('which anomaly?');
          const decision = str(body.decision);
          if (decision !== 'reset' && decision !== 'correction') throw invalidInput('choose what the drop was: a reset or a correction');
          const out = await deps.usagePeriods.decide(anomalyId, { decision, reason: str(body.reason) }, actor);
          const usage = await deps.reads.serviceUsage(out.anomaly.serviceId);
          deps.invalidateClient(usage.service.clientId);
          const r = out.rerate;
          const money = (minor: bigint, currency: string) => formatAmount(minor, currency, ADMIN_LOCALE);
          const effect =
            r === null
              ? 'The period is still open; it is rated when it closes.'
              : r.kind === 'rated'
                ? `The period is rated: ${money(r.afterMinor, r.currency)}.`
                : r.kind === 'replaced'
                  ? `Its charge went from ${money(r.beforeMinor, r.currency)} to ${money(r.afterMinor, r.currency)} (not invoiced yet).`
                  : r.kind === 'corrected'
                    ? `It was invoiced already: a correction of ${money(r.differenceMinor, r.currency)} ${r.status === 'review' ? 'waits for review' : 'goes on the next invoice'}.`
                    : r.kind === 'skipped'
                      ? `It could not be rated: ${r.reason}`
                      : 'What it bills did not change.';
          return { flash: { kind: 'success', text: `Anomaly ${anomalyId}: ${decision === 'reset' ? 'a reset' : 'a correction'}. ${effect}` } };
        }
        case 'settle_correction': {
          const chargeId = idCursor(str(body.charge), 'correction');
          if (chargeId === null) throw invalidInput('which correction?');
          const action = str(body.action);
          if (action !== 'bill' && action !== 'drop') throw invalidInput('choose to bill or to drop the correction');
          const c = await deps.usagePeriods.settleCorrection(chargeId, { action, reason: str(body.reason) }, actor);
          return { flash: { kind: 'success', text: `Correction ${c.id} (${formatAmount(c.amountMinor, c.currency, ADMIN_LOCALE)}) ${action === 'bill' ? 'goes on the next invoice' : 'is dropped'}.` } };
        }
        case 'service_active': {
          const serviceId = idCursor(str(body.service), 'service');
          if (serviceId === null) throw invalidInput('which service?');
          const l = await deps.links.setActive(serviceId, str(body.active) === '1', actor);
          deps.invalidateClient(l.clientId);
          return { flash: { kind: 'success', text: `Metering of service ${serviceId} is ${l.active ? 'on' : 'off'}.` } };
        }
        case 'test_master': {
          const masterId = idCursor(str(body.master), 'master');
          if (masterId === null) throw invalidInput('which master?');
          const report = await deps.masters.test(masterId);
          // shown once, in the master's row (not again as the page's message)
          return { flash: null, report: { masterId, report } };
        }
        case 'master_active': {
          const masterId = idCursor(str(body.master), 'master');
          if (masterId === null) throw invalidInput('which master?');
          const m = await deps.masters.update(masterId, { active: str(body.active) === '1' }, actor);
          return { flash: { kind: 'success', text: `Master ${m.name} is ${m.active ? 'active' : 'inactive'}.` } };
        }
        case 'save_product': {
          const productId = idCursor(str(body.product), 'product');
          if (productId === null) throw invalidInput('which product?');
          let parsed: unknown;
          try {
            parsed = JSON.parse(str(body.settings));
          } catch {
            throw invalidInput('the settings must be JSON, like {"unit":"GB","allowance":"5 TB","prices":{"EUR":{"overage":"0.50"}}}');
          }
          refuseObjectKeys(parsed, 'the settings');
          if (!(await panelHasProduct(deps.panel, productId))) throw notFound(`the panel has no product ${productId}`);
          await deps.billing.setProduct(productId, parsed as never, actor);
          return { flash: { kind: 'success', text: `Billing settings of product ${productId} saved.` } };
        }
        case 'save_settings': {
          const values: Record<string, unknown> = {};
          for (const name of Object.keys(SETTING_SCHEMAS)) if (name in body) values[name] = str(body[name]);
          if (!('drop_data_on_deactivate' in body)) values.drop_data_on_deactivate = '';
          await deps.settings.set(values, actor);
          return { flash: { kind: 'success', text: 'Settings saved.' } };
        }
        default:
          return { flash: { kind: 'error', text: 'Unknown action.' } };
      }
    } catch (err) {
      if (err instanceof ModuleError && err.code !== 'CONFIG') return { flash: { kind: 'error', text: err.message } };
      throw err;
    }
  }

  /** through the host's page: `modulelink&download=<kind>&…` */
  const hostLinks = (href: Href) => ({
    lineCsv: (id: number) => href({ download: 'line_days', id }),
    samplesCsv: (id: number) => href({ download: 'line_samples', id }),
    evidence: (id: number) => href({ download: 'line_evidence', id }),
    periodCsv: (serviceId: number, periodId: number) => href({ download: 'period', service: serviceId, period: periodId }),
    linesCsv: (f: LineFilter) => href({ download: 'lines', ...lineFilterQuery(f) }),
  });

  const tokenLinks = (token: string) => ({
    lineCsv: (id: number) => `${deps.apiBase}/admin/lines/${id}/days.csv?token=${encodeURIComponent(token)}`,
    samplesCsv: (id: number) => `${deps.apiBase}/admin/lines/${id}/samples.csv?token=${encodeURIComponent(token)}`,
    evidence: (id: number) => `${deps.apiBase}/admin/lines/${id}/evidence?token=${encodeURIComponent(token)}`,
    periodCsv: (serviceId: number, periodId: number) => `${deps.apiBase}/admin/services/${serviceId}/periods/${periodId}/days.csv?token=${encodeURIComponent(token)}`,
    linesCsv: (f: LineFilter) => `${deps.apiBase}/admin/lines.csv?${new URLSearchParams({ ...lineFilterQuery(f), token }).toString()}`,
  });

  return async function render(input: AdminTabRequest): Promise<string> {
    const { href } = input;
    // the validation layer: whatever the host parsed, one text value per field, no object keys
    // (a list or a group answers INVALID_INPUT, 422, before anything runs)
    const request = { method: input.request.method, query: flatFields(input.request.query, 'query'), body: flatFields(input.request.body, 'form') };
    const q = request.query;
    let page = str(q.a) || 'dashboard';
    const ctx: AdminCtx = { href, panel: input.panel, now: deps.clock.now(), zone: deps.zone };
    // on its own origin the page's script posts previews with a full token and its download links
    // carry a read-only one; inside a host the files come through the host, and previews by form
    // both short and bound to the page's session: a copied one dies with the logout, and the
    // script's token only reads and previews (it never mints nor writes)
    const bound = input.session ?? 'h';
    const api = input.downloads === 'host' ? null : { base: deps.apiBase, token: deps.signer.issue({ type: 'admin', id: input.adminId }, { scope: 'tab', ttlSeconds: TAB_TOKEN_TTL_SECONDS, bound }).token };
    const files = input.downloads === 'host' ? hostLinks(href) : tokenLinks(deps.signer.issue({ type: 'admin', id: input.adminId }, { scope: 'read', ttlSeconds: TAB_TOKEN_TTL_SECONDS, bound }).token);
    let flash: Flash = null;
    let preview: { amount: string; explanation: string } | null = null;
    let report: { masterId: number; report: ConnectionReport } | undefined;
    let form: FormState | undefined;
    const body = request.body ?? {};
    if (request.method === 'POST') {
      const done = await act(input.adminId, body);
      flash = done.flash;
      preview = done.preview ?? null;
      report = done.report;
      form = done.form;
      if (done.goTo) page = done.goTo;
    }

    let data: Record<string, unknown> = {};
    try {
      switch (page) {
        case 'dashboard': {
          const [d, waiting, charges] = await Promise.all([deps.admin.dashboard({ fresh: str(q.fresh) === '1' }), deps.usagePeriods.waiting(), deps.admin.waitingCharges()]);
          data = { ...presentDashboard(d, ctx), waiting, waitingCharges: charges.map((c) => presentWaitingCharge(c, ctx)), anomaliesHref: href({ a: 'anomalies' }) };
          break;
        }
        case 'anomalies': {
          const list = str(q.list) || 'open';
          if (!['open', 'all'].includes(list)) throw invalidInput('list is open or all');
          const [p, corrections] = await Promise.all([deps.usagePeriods.anomalies({ status: list as 'open' | 'all' }, { before: idCursor(str(q.before)) }), deps.usagePeriods.corrections()]);
          data = {
            list,
            lists: ['open', 'all'].map((l) => ({ name: l, href: href({ a: 'anomalies', list: l }), current: l === list })),
            rows: p.rows.map((a) => presentAnomaly(a, ctx)),
            next: p.next ? href({ a: 'anomalies', list, before: p.next }) : null,
            corrections: corrections.map((c) => presentCorrection(c, ctx)),
            action: href({ a: 'anomalies', list }),
          };
          break;
        }
        case 'services': {
          const search = str(q.q).trim();
          const keep = search ? { q: search } : {};
          const [p, issues] = await Promise.all([deps.admin.services({ after: str(q.after), q: search }), deps.syncIssues()]);
          data = {
            search,
            searchForm: href({ a: 'services' }),
            rows: p.rows.map((s) => presentServiceListRow(s, ctx)),
            next: p.next ? href({ a: 'services', ...keep, after: p.next }) : null,
            first: str(q.after) ? href({ a: 'services', ...keep }) : null,
            all: search ? href({ a: 'services' }) : null,
            notLinked: issues.map((x) => ({ ...x, serviceHref: input.panel?.service(x.serviceId) ?? null, clientHref: input.panel?.client(x.clientId) ?? null })),
          };
          break;
        }
        case 'service': {
          const id = idCursor(str(q.id), 'service');
          if (id === null) throw notFound('which service?');
          const usage = await deps.reads.serviceUsage(id);
          const [periods, samples, lines, label, anomalies, charges] = await Promise.all([
            deps.reads.periods(id, { before: str(q.periods) || null, limit: 12 }),
            deps.admin.samples(id, { before: str(q.samples), limit: 31 }),
            deps.reads.lines({ serviceId: id }, { before: idCursor(str(q.lines)), limit: 25 }),
            serviceLabel(id),
            deps.usagePeriods.anomalies({ serviceId: id, status: 'all' }, { limit: 50 }),
            deps.admin.waitingCharges({ serviceId: id }),
          ]);
          const links: WidgetLinks = {
            service: (sid) => href({ a: 'service', id: sid }),
            form: (sid) => href({ a: 'service', id: sid }),
            periodCsv: files.periodCsv,
            lineCsv: files.lineCsv,
            morePeriods: (sid, cursor) => href({ a: 'service', id: sid, periods: cursor }),
            periodChart: (sid, pid) => href({ a: 'service', id: sid, period: pid }),
          };
          const periodId = idCursor(str(q.period), 'period');
          const focus = periodId === null ? null : await deps.reads.periodDays(id, periodId);
          const s = presentService(usage, label, periods, lines.rows, { locale: ADMIN_LOCALE, now: ctx.now, links, focus });
          const master = (await deps.masters.list()).find((m) => m.id === usage.service.masterId);
          data = {
            s,
            w: wordsFor('en'),
            service: { ...usage.service, serviceId: id },
            masterName: master?.name ?? null,
            clientHref: input.panel?.client(usage.service.clientId) ?? null,
            panelHref: input.panel?.service(id) ?? null,
            samples: presentSamples(samples, usage.unit, deps.zone),
            samplesNext: samples.next ? href({ a: 'service', id, samples: samples.next }) : null,
            lines: lines.rows.map((l) => presentLineRow(l, ctx)),
            linesNext: lines.next ? href({ a: 'service', id, lines: lines.next }) : null,
            anomalies: anomalies.rows.map((a) => presentAnomaly(a, ctx)),
            anomalyAction: href({ a: 'service', id }),
            waitingCharges: charges.map((c) => presentWaitingCharge(c, ctx)),
          };
          break;
        }
        case 'disputes': {
          const list = str(q.list) || 'open';
          const p = await deps.admin.disputes({ list, after: str(q.after) });
          data = { list, lists: ['open', 'resolved', 'all'].map((l) => ({ name: l, href: href({ a: 'disputes', list: l }), current: l === list })), rows: p.rows.map((d) => presentDisputeRow(d, ctx)), next: p.next ? href({ a: 'disputes', list, after: p.next }) : null };
          break;
        }
        case 'dispute': {
          const id = idCursor(str(q.id), 'dispute');
          const d = id === null ? null : await deps.admin.dispute(id);
          if (!d) throw notFound('that dispute does not exist');
          const [ev, line] = await Promise.all([deps.evidence.forLine(d.lineId), deps.reads.line(d.lineId)]);
          data = {
            d: presentDisputeRow(d, ctx),
            explanation: explainCharge(ev.rated, ADMIN_LOCALE, decidedFigures(line)),
            files: { days: files.lineCsv(d.lineId), samples: files.samplesCsv(d.lineId), evidence: files.evidence(d.lineId) },
            form: { to: str(body.to), kind: str(body.kind) || 'precommit', percent: str(body.percent), amount: str(body.amount), note: str(body.note), settlement: str(body.settlement) },
            preview,
            lineHref: href({ a: 'line', id: d.lineId }),
            canResolve: !!deps.disputes && d.state === 'open' && !d.resolvingTo,
            refundDecision: d.holdState === 'refund_decision',
          };
          break;
        }
        case 'lines': {
          const filter = lineFilterOf(q);
          const p = await deps.admin.lines(filter, { before: str(q.before) });
          data = { filter: { q: filter.q ?? '', status: filter.status ?? '', client: filter.clientId ?? '', service: filter.serviceId ?? '', invoice: filter.invoiceId ?? '' }, rows: p.rows.map((l) => presentLineRow(l, ctx)), next: p.next ? href({ a: 'lines', ...lineFilterQuery(filter), before: p.next }) : null, csv: files.linesCsv(filter) };
          break;
        }
        case 'line': {
          const id = idCursor(str(q.id), 'line');
          if (id === null) throw notFound('which line?');
          const line = await deps.reads.line(id);
          const ev = await deps.evidence.forLine(id);
          data = { l: presentLineRow(line, ctx), explanation: explainCharge(ev.rated, ADMIN_LOCALE, decidedFigures(line)), files: { days: files.lineCsv(id), samples: files.samplesCsv(id), evidence: files.evidence(id) }, canOpen: !!deps.disputes && !line.dispute && ['placed', 'held'].includes(line.status), windowOpen: ctx.now.toMillis() < Date.parse(line.deadlineClosesAt) };
          break;
        }
        case 'settings': {
          const [masters, products, names, settings] = await Promise.all([deps.masters.list(), deps.billing.listProducts(), productNames(), deps.settings.all()]);
          data = {
            masters: masters.map((m) => presentMaster(m, report && report.masterId === m.id ? report.report : null)),
            products: products.map((p) => ({ ...presentProduct(p.productId, p.profile, names.get(p.productId) ?? `product ${p.productId}`), editHref: href({ a: 'product', id: p.productId }) })),
            newProductHref: href({ a: 'product' }),
            newMasterHref: href({ a: 'master' }),
            masterHref: (id: number) => href({ a: 'master', id }),
            settings,
            newProduct: str(body.do) === 'save_product' && flash?.kind === 'error' ? { id: str(body.product), json: str(body.settings) } : { id: '', json: '' },
          };
          break;
        }
        case 'product': {
          // a product's billing settings as a form; `id` empty: a product not billed yet
          const id = str(q.id) === '' ? null : idCursor(str(q.id), 'product');
          const [stored, names, billed] = await Promise.all([id === null ? null : deps.billing.getProduct(id), productNames(), deps.billing.listProducts()]);
          if (id !== null && !stored && !names.has(id) && deps.panel) throw notFound(`the panel has no product ${id}`);
          const billedIds = new Set(billed.map((b) => b.productId));
          data = {
            id,
            name: id === null ? null : (names.get(id) ?? `product ${id}`),
            isNew: !stored,
            values: form?.values ?? productForm(stored),
            errors: form?.errors ?? {},
            preview: form?.preview ?? null,
            priceRows: PRICE_ROWS,
            sizeUnits: SIZE_UNITS,
            choices: [...names].filter(([pid]) => !billedIds.has(pid)).map(([pid, name]) => ({ id: pid, name })),
            action: href({ a: 'product', ...(id === null ? {} : { id }) }),
            back: href({ a: 'settings' }),
            product: id === null ? str(body.product) : String(id),
          };
          break;
        }
        case 'master': {
          const id = str(q.id) === '' ? null : idCursor(str(q.id), 'master');
          const current = id === null ? null : await deps.masters.get(id);
          data = {
            id,
            current: current ? { name: current.name, hasBasicAuth: current.hasBasicAuth, version: current.version } : null,
            values: form?.values ?? masterForm(current),
            errors: form?.errors ?? {},
            report: form?.report ? presentMaster(current ?? ({ id: 0, name: '', version: 1, baseUrl: '', tlsMode: 'verify', tlsFingerprint: null, timeZone: '', resetPolicy: 'first_of_month', anniversaryFrom: 'solusvm', concurrency: 1, timeoutMs: 1000, retries: 0, active: true, hasBasicAuth: false, panelServerId: null, apiUserType: 'admin', unitLabels: 'binary' } as const), form.report).report : null,
            action: href({ a: 'master', ...(id === null ? {} : { id }) }),
            back: href({ a: 'settings' }),
          };
          break;
        }
        case 'pools':
          data = await poolsPage(poolsDeps, href);
          break;
        case 'audit': {
          const filter = { entityType: str(q.entity_type).trim() || undefined, entityId: str(q.entity_id).trim() || undefined, actorType: str(q.actor).trim() || undefined };
          const p = await deps.admin.audit(filter, { before: str(q.before) });
          const keep = { entity_type: filter.entityType, entity_id: filter.entityId, actor: filter.actorType };
          data = { filter: { entityType: filter.entityType ?? '', entityId: filter.entityId ?? '', actor: filter.actorType ?? '' }, rows: presentAudit(p, deps.zone), next: p.next ? href({ a: 'audit', ...keep, before: p.next }) : null };
          break;
        }
        default:
          throw notFound(`there is no page "${page}"`);
      }
    } catch (err) {
      if (!(err instanceof ModuleError) || !['NOT_FOUND', 'INVALID_INPUT'].includes(err.code)) throw err;
      flash = { kind: 'error', text: err.message };
      page = 'message';
      data = {};
    }
    // clients by name, services by hostname and product: the ids stay as the links' text beside them
    await nameThePage(data, names);

    return ejs.renderFile(
      path.join(VIEWS, 'tab.ejs'),
      {
        vm: {
          page,
          tabs: TABS.map(([name, label]) => ({ name, label, href: href({ a: name }), current: name === page || (['product', 'master'].includes(page) && name === 'settings') || (page === 'service' && name === 'services') || (page === 'dispute' && name === 'disputes') || (page === 'line' && name === 'lines') })),
          flash,
          csrf: input.csrf,
          ui: input.ui,
          api,
          href,
          data,
        },
      },
      { cache: true },
    );
  };

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
}

export type AdminTab = ReturnType<typeof createAdminTab>;
