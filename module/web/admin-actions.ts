import type { Adjustment, Resolution } from '../domain/dispute-state.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { formatAmount, formatSoldBytes } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import { ADMIN_DISPUTE_FLASH, givenBackMinor } from '../domain/dispute-text.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { ConnectionReport } from '../adapters/solusvm-types.js';
import type { Actor } from '../adapters/audit-store.js';
import { toNum } from '../adapters/rows.js';
import { parseProductSettings } from '../services/billing-settings.js';
import type { ProductPreview } from '../services/rating-preview.js';
import type { DisputeView } from '../services/disputes.js';
import { paidOnInvoiceAfterDecision } from '../services/dispute-credit-note.js';
import { SETTING_SCHEMAS } from '../services/settings.js';
import { idCursor } from '../services/usage-reads.js';
import { ADMIN_LOCALE, HOLD_STATE_LABEL } from './present-admin.js';
import { parseWith, refuseObjectKeys, wholeNumber } from './validation.js';
import { actOnPools, type PoolsPageDeps } from './admin-pools.js';
import {
  masterFromForm,
  masterValues,
  productFromForm,
  productValues,
  withoutSecrets,
  type FieldErrors,
  type FormValues,
} from './admin-forms.js';
import type { AdminTabDeps } from './admin-tab.js';
import { ADMIN_FLASH, ADMIN_STATE, ADMIN_TEXT } from './admin-words.js';

/**
 * The admin tab's actions: each POST carries one (`do=`), carried out by one handler here, which
 * answers with the page's message and anything the page shows because of it.
 */
export type Flash = { kind: 'success' | 'error'; text: string } | null;

/** A form shown again after a POST: what was typed (never a secret) and what is wrong, by field. */
export type FormState = {
  values: FormValues;
  errors: FieldErrors;
  report?: ConnectionReport;
  preview?: ReturnType<typeof presentProductPreview>;
};
export type Acted = {
  flash: Flash;
  preview?: { amount: string; explanation: string } | null;
  report?: { masterId: number; report: ConnectionReport };
  form?: FormState;
  goTo?: string;
};

/** What the actions and pages share: the tab's deps, the Pools & caps page's, and the panel's names. */
export interface AdminEnv {
  deps: AdminTabDeps;
  pools: PoolsPageDeps;
  /** the panel's product names by id (none when the panel cannot be asked) */
  productNames(): Promise<Map<number, string>>;
  /** "#12 vps1.example.com (VPS 1 TB)" */
  serviceLabel(serviceId: number): Promise<string>;
}

type Handler = (env: AdminEnv, body: Record<string, unknown>, actor: Actor, action: string) => Promise<Acted>;

export const str = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : Array.isArray(v)
      ? String(v[0] ?? '')
      : v === undefined || v === null
        ? ''
        : String(v);

const ok = (text: string): Acted => ({ flash: { kind: 'success', text } });
const refused = (text: string): Acted => ({ flash: { kind: 'error', text } });

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

/**
 * The product form's preview in words: per service its last closed period, what it bills now and
 * what it would under the edited settings; a total per currency.
 */
export function presentProductPreview(p: ProductPreview) {
  const money = (minor: bigint | null, currency: string) =>
    minor === null ? '–' : formatAmount(minor, currency, ADMIN_LOCALE);
  return {
    rows: p.rows.map((r) => ({
      serviceId: r.serviceId,
      clientId: r.clientId,
      period: `${r.periodStart} – ${r.periodEnd}`,
      used: formatSoldBytes(r.usedBytes, p.unit as SoldUnit, ADMIN_LOCALE),
      now: r.nowMinor === null ? 'not rated yet' : money(r.nowMinor, r.currency),
      then: r.previewMinor === null ? `not rated: ${r.reason}` : money(r.previewMinor, r.currency),
      outcome: r.outcome ? (ADMIN_STATE.preview[r.outcome] ?? '') : '',
    })),
    // in no total: what it would bill is not known (never counted as nothing)
    unreadable: p.unreadable.map((u) => ({
      serviceId: u.serviceId,
      column: u.column,
      message: ADMIN_TEXT.unreadablePreview(u.periodId, u.column, u.reason),
    })),
    totals: p.totals.map((t) => ({
      currency: t.currency,
      now: money(t.nowMinor, t.currency),
      then: money(t.previewMinor, t.currency),
    })),
    more: p.more,
  };
}

/**
 * "Dispute 3 adjusted: the line now bills €350.00 (was €500.00)." — what the decision did to the
 * money; a refund chosen adds what to refund by hand and from which invoice.
 */
function decidedFlash(d: DisputeView): string {
  const money = (minor: bigint) => formatAmount(minor, d.currency, ADMIN_LOCALE);
  const now = d.state === 'waived' ? 0n : (d.amountAfterMinor ?? d.amountBeforeMinor);
  const back = givenBackMinor(d, now);
  const credited = d.settlement === 'credited' ? money(back) : null;
  // a refund is the admin's to make: the exact amount the credit note gives back, and from where
  const refund =
    d.settlement === 'refund' && back > 0n
      ? {
          amount: money(back),
          paidOnInvoiceId: paidOnInvoiceAfterDecision(d),
          creditNoteId: d.creditNoteInvoiceId,
        }
      : null;
  return ADMIN_DISPUTE_FLASH.decided(d.id, d.state, {
    now: money(now),
    before: money(d.amountBeforeMinor),
    credited,
    refund,
  });
}

function adjustmentOf(body: Record<string, unknown>): Adjustment {
  const kind = str(body.kind);
  if (kind === 'precommit') return { kind: 'precommit' };
  if (kind === 'share') return { kind: 'share', percent: str(body.percent).trim() };
  if (kind === 'amount') return { kind: 'amount', amount: str(body.amount).trim() };
  throw invalidInput('choose how to adjust: the rate agreed in advance, a share, or an amount');
}

/** The product form (module/web/admin-forms.ts): saved, or previewed against the last closed periods. */
const saveProductForm: Handler = async ({ deps }, body, actor) => {
  const productId = idCursor(str(body.product), 'product');
  const values = productValues(body);
  if (productId === null)
    return {
      flash: { kind: 'error', text: ADMIN_FLASH.whichProduct },
      form: { values, errors: { product: 'choose the product these settings are for' } },
    };
  if (!(await panelHasProduct(deps.panel, productId)))
    return {
      flash: { kind: 'error', text: ADMIN_FLASH.noSuchProduct(productId) },
      form: { values, errors: { product: `the panel has no product ${productId}` } },
    };
  const out = productFromForm(values, await deps.billing.getProduct(productId));
  const previewing = str(body.preview) === '1';
  if (!out.ok)
    return {
      flash: {
        kind: 'error',
        text: previewing ? ADMIN_FLASH.notPreviewed(out.errors) : ADMIN_FLASH.notSaved(out.errors),
      },
      form: { values, errors: out.errors },
    };
  if (previewing) {
    // nothing is saved: the same form comes back with what last period would have cost
    if (!deps.previewProduct)
      return { flash: { kind: 'error', text: ADMIN_FLASH.previewNeedsRating }, form: { values, errors: {} } };
    const preview = await deps.previewProduct(
      productId,
      parseProductSettings(out.settings, `product ${productId}`),
    );
    return { flash: null, form: { values, errors: {}, preview: presentProductPreview(preview) } };
  }
  await deps.billing.setProduct(productId, out.settings as never, actor);
  return ok(ADMIN_FLASH.productSaved(productId));
};

/** The master form: saved (added or edited), or its connection tested without saving. */
const saveMasterForm: Handler = async ({ deps }, body, actor, action) => {
  const masterId = str(body.master) === '' ? null : idCursor(str(body.master), 'master');
  const current = masterId === null ? null : await deps.masters.get(masterId);
  const values = masterValues(body);
  const out = masterFromForm(values, current);
  if (!out.ok)
    return {
      flash: {
        kind: 'error',
        text: action === 'save_master' ? ADMIN_FLASH.notSaved(out.errors) : ADMIN_FLASH.notTested(out.errors),
      },
      form: { values: withoutSecrets(values), errors: out.errors },
    };
  if (action === 'test_master_form') {
    // an empty secret on an edit means the stored one: the test uses it without showing it
    let input = out.input;
    if (current) {
      const stored = await deps.masters.settings(current.id);
      const creds =
        stored.credentials.kind === 'v1'
          ? { apiId: stored.credentials.apiId, apiKey: stored.credentials.apiKey }
          : { token: stored.credentials.token };
      const basic = stored.basicAuth
        ? { basicAuthUser: stored.basicAuth.user, basicAuthPassword: stored.basicAuth.password }
        : {};
      input = { ...creds, ...basic, ...input };
    }
    const report = await deps.masters.test(input);
    // the report is shown once, beside the form (not again as the page's message)
    return { flash: null, form: { values: withoutSecrets(values), errors: {}, report } };
  }
  try {
    const m = current
      ? await deps.masters.update(current.id, out.input, actor)
      : await deps.masters.add(out.input, actor);
    return {
      flash: { kind: 'success', text: ADMIN_FLASH.masterSaved(m.name, !current, m.notes) },
      goTo: 'settings',
    };
  } catch (err) {
    if (!(err instanceof ModuleError) || !['INVALID_INPUT', 'CONFLICT'].includes(err.code)) throw err;
    const field = /named/.test(err.message) ? 'name' : /url|address/i.test(err.message) ? 'url' : null;
    return {
      flash: { kind: 'error', text: ADMIN_FLASH.masterNotSaved(err.message) },
      form: { values: withoutSecrets(values), errors: field ? { [field]: err.message } : {} },
    };
  }
};

const removeMaster: Handler = async ({ deps }, body, actor) => {
  const masterId = idCursor(str(body.master), 'master');
  if (masterId === null) throw invalidInput('which master?');
  const m = await deps.masters.get(masterId);
  await deps.masters.remove(masterId, actor);
  return { flash: { kind: 'success', text: ADMIN_FLASH.masterRemoved(m.name) }, goTo: 'settings' };
};

const NO_DISPUTES = ADMIN_FLASH.disputesOff;

/** A dispute's decision (uphold, waive, adjust), or what an adjustment would bill (a preview, nothing saved). */
const resolveDispute: Handler = async ({ deps }, body, actor, action) => {
  if (!deps.disputes) return refused(NO_DISPUTES);
  const disputeId = idCursor(str(body.dispute), 'dispute');
  if (disputeId === null) throw invalidInput('which dispute?');
  const to = str(body.to) as Resolution;
  if (action === 'preview' || (to === 'adjusted' && str(body.preview) === '1')) {
    const p = await deps.disputes.preview(disputeId, adjustmentOf(body));
    return {
      flash: null,
      preview: { amount: formatAmount(p.amountMinor, p.currency, ADMIN_LOCALE), explanation: p.explanation },
    };
  }
  if (!['upheld', 'waived', 'adjusted'].includes(to)) throw invalidInput('choose uphold, waive or adjust');
  // a version that is not a number is refused, never taken as "no check"
  const version =
    str(body.version) === '' ? undefined : parseWith(wholeNumber('version'), str(body.version), 'the form');
  const outcome = await deps.disputes.resolve({
    disputeId,
    to,
    actor,
    ...(to === 'adjusted' ? { adjustment: adjustmentOf(body) } : {}),
    ...(str(body.note).trim() ? { note: str(body.note).trim().slice(0, 2000) } : {}),
    ...(version !== undefined ? { expectedVersion: version } : {}),
    ...(str(body.settlement) === 'refund' || str(body.settlement) === 'credit'
      ? { settlement: str(body.settlement) as 'refund' | 'credit' }
      : {}),
  });
  if (!outcome.ok) return refused(outcome.message);
  deps.invalidateClient(outcome.value.clientId);
  return ok(decidedFlash(outcome.value));
};

/** A dispute the admin opens for a client (past the window only with a reason for the override). */
const openDispute: Handler = async ({ deps }, body, actor) => {
  if (!deps.disputes) return refused(NO_DISPUTES);
  const lineId = idCursor(str(body.line), 'line');
  if (lineId === null) throw invalidInput('which line?');
  const override = str(body.override).trim();
  const outcome = await deps.disputes.open({
    lineId,
    reason: str(body.reason),
    actor,
    ...(override ? { overrideReason: override } : {}),
  });
  if (!outcome.ok) return refused(outcome.message);
  deps.invalidateClient(outcome.value.clientId);
  return ok(
    ADMIN_DISPUTE_FLASH.opened(outcome.value.id, HOLD_STATE_LABEL[outcome.value.holdState] ?? 'on hold'),
  );
};

/** A drop in a counter decided: a reset or a correction, and what that did to the period's money. */
const decideAnomaly: Handler = async ({ deps }, body, actor) => {
  const anomalyId = idCursor(str(body.anomaly), 'anomaly');
  if (anomalyId === null) throw invalidInput('which anomaly?');
  const decision = str(body.decision);
  if (decision !== 'reset' && decision !== 'correction')
    throw invalidInput('choose what the drop was: a reset or a correction');
  const out = await deps.usagePeriods.decide(anomalyId, { decision, reason: str(body.reason) }, actor);
  const usage = await deps.reads.serviceUsage(out.anomaly.serviceId);
  deps.invalidateClient(usage.service.clientId);
  const r = out.rerate;
  const money = (minor: bigint, currency: string) => formatAmount(minor, currency, ADMIN_LOCALE);
  const w = ADMIN_FLASH.rerated;
  const effect =
    r === null
      ? w.stillOpen
      : r.kind === 'rated'
        ? w.rated(money(r.afterMinor, r.currency))
        : r.kind === 'replaced'
          ? w.replaced(money(r.beforeMinor, r.currency), money(r.afterMinor, r.currency))
          : r.kind === 'corrected'
            ? w.corrected(money(r.differenceMinor, r.currency), r.status === 'review')
            : r.kind === 'skipped'
              ? w.skipped(r.reason)
              : w.unchanged;
  return ok(ADMIN_FLASH.anomalyDecided(anomalyId, decision, effect));
};

const settleCorrection: Handler = async ({ deps }, body, actor) => {
  const chargeId = idCursor(str(body.charge), 'correction');
  if (chargeId === null) throw invalidInput('which correction?');
  const action = str(body.action);
  if (action !== 'bill' && action !== 'drop') throw invalidInput('choose to bill or to drop the correction');
  const c = await deps.usagePeriods.settleCorrection(chargeId, { action, reason: str(body.reason) }, actor);
  return ok(
    ADMIN_FLASH.correctionSettled(
      c.id,
      formatAmount(c.amountMinor, c.currency, ADMIN_LOCALE),
      action === 'bill',
    ),
  );
};

const serviceActive: Handler = async ({ deps }, body, actor) => {
  const serviceId = idCursor(str(body.service), 'service');
  if (serviceId === null) throw invalidInput('which service?');
  const l = await deps.links.setActive(serviceId, str(body.active) === '1', actor);
  deps.invalidateClient(l.clientId);
  return ok(ADMIN_FLASH.metering(serviceId, l.active));
};

const testMaster: Handler = async ({ deps }, body) => {
  const masterId = idCursor(str(body.master), 'master');
  if (masterId === null) throw invalidInput('which master?');
  const report = await deps.masters.test(masterId);
  // shown once, in the master's row (not again as the page's message)
  return { flash: null, report: { masterId, report } };
};

const masterActive: Handler = async ({ deps }, body, actor) => {
  const masterId = idCursor(str(body.master), 'master');
  if (masterId === null) throw invalidInput('which master?');
  const m = await deps.masters.update(masterId, { active: str(body.active) === '1' }, actor);
  return ok(ADMIN_FLASH.masterActive(m.name, m.active));
};

/** A product's billing settings as JSON (the settings page's raw form). */
const saveProduct: Handler = async ({ deps }, body, actor) => {
  const productId = idCursor(str(body.product), 'product');
  if (productId === null) throw invalidInput('which product?');
  let parsed: unknown;
  try {
    parsed = JSON.parse(str(body.settings));
  } catch {
    throw invalidInput(
      'the settings must be JSON, like {"unit":"GB","allowance":"5 TB","prices":{"EUR":{"overage":"0.50"}}}',
    );
  }
  refuseObjectKeys(parsed, 'the settings');
  if (!(await panelHasProduct(deps.panel, productId)))
    throw notFound(`the panel has no product ${productId}`);
  await deps.billing.setProduct(productId, parsed as never, actor);
  return ok(ADMIN_FLASH.productSaved(productId));
};

const saveSettings: Handler = async ({ deps }, body, actor) => {
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(SETTING_SCHEMAS)) if (name in body) values[name] = str(body[name]);
  if (!('drop_data_on_deactivate' in body)) values.drop_data_on_deactivate = '';
  await deps.settings.set(values, actor);
  return ok(ADMIN_FLASH.settingsSaved);
};

const ACTIONS: Record<string, Handler> = {
  save_product_form: saveProductForm,
  save_master: saveMasterForm,
  test_master_form: saveMasterForm,
  remove_master: removeMaster,
  preview: resolveDispute,
  resolve: resolveDispute,
  open_dispute: openDispute,
  decide_anomaly: decideAnomaly,
  settle_correction: settleCorrection,
  service_active: serviceActive,
  test_master: testMaster,
  master_active: masterActive,
  save_product: saveProduct,
  save_settings: saveSettings,
};

/** Carries out one POST; returns the message and anything the page shows because of it. */
export async function act(env: AdminEnv, adminId: number, body: Record<string, unknown>): Promise<Acted> {
  const action = str(body.do);
  const actor: Actor = { type: 'admin', id: String(adminId) };
  try {
    const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action]! : null;
    if (handler) return await handler(env, body, actor, action);
    return (await actOnPools(env.pools, action, body, actor)) ?? refused(ADMIN_FLASH.unknownAction);
  } catch (err) {
    if (err instanceof ModuleError && err.code !== 'CONFIG') return refused(err.message);
    throw err;
  }
}
