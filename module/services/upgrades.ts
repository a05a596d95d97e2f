import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { localDate } from '../domain/calendar.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { parseMoney } from '../domain/money.js';
import {
  compareUpgrades,
  type PastPeriod,
  type PlanOffer,
  type UpgradeFigures,
} from '../domain/upgrade-figures.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { ratedUsageOf, type UpgradeStore } from '../adapters/upgrade-store.js';
import { errorKind, isUnreadable, type Listed, readableOf, type SetAside } from '../adapters/rows.js';
import { ratingPlan, type BillingSettingsService } from './billing-settings.js';

/**
 * Upgrades with the money shown. The figures: what the last N rated periods (the product's
 * upgradeAfterPeriods) cost on the client's plan — its monthly price from the panel's products
 * plus what each period's overusage billed — against each bigger plan the module bills (its
 * price plus the overusage its own allowance would have given for the same traffic). The request:
 * one call to the panel's UpgradeProduct (WHMCS's command; the reference panel's), recorded with
 * the share of the current period's overusage the provider credits (upgradeCreditPercent), which
 * rating applies to the period the upgrade falls in (module/services/rating.ts).
 */
export interface UpgradeView extends UpgradeFigures {
  serviceId: number;
  currentProductId: number;
  currentName: string;
}

export interface UpgradeRequestOutcome {
  upgradeId: number;
  toProductId: number;
  panelUpgradeId: number | null;
  invoiceId: number | null;
  creditPercent: number;
  /** an earlier request for the same plan: nothing asked of the panel again */
  repeated: boolean;
}

export interface UpgradeOutcomeRow {
  serviceId: number;
  clientId: number;
  /** sent: suggested, not taken up (yet); accepted: the client ordered an upgrade; pending/failed: the email */
  suggestion: { status: string; suggestedAt: string } | null;
  upgrade: {
    toProductId: number;
    fromProductId: number;
    requestedOn: string;
    creditPercent: number;
    panelUpgradeId: number | null;
    invoiceId: number | null;
  } | null;
}

export interface UpgradeService {
  /** upgrade suggestions with their outcome, newest first (the admin's view) */
  /** one row per service; a suggestion or request that cannot be read is listed apart, after them */
  outcomes(opts?: { limit?: number }): Promise<Array<Listed<UpgradeOutcomeRow>>>;
  figures(serviceId: number, clientId: number): Promise<UpgradeView | null>;
  request(
    clientId: number,
    serviceId: number,
    productId: number,
    actor: Actor,
  ): Promise<UpgradeRequestOutcome>;
}

interface PanelProduct {
  name: string;
  monthly: Map<string, bigint>;
}

async function panelProducts(panel: PanelApi): Promise<Map<number, PanelProduct>> {
  const res = await panel.call('GetProducts', {});
  const list = ((res.products as { product?: unknown } | undefined)?.product ?? []) as Array<
    Record<string, unknown>
  >;
  const out = new Map<number, PanelProduct>();
  for (const p of list) {
    const monthly = new Map<string, bigint>();
    for (const [code, prices] of Object.entries(
      (p.pricing ?? {}) as Record<string, Record<string, string>>,
    )) {
      const text = prices?.monthly;
      // -1.00: the cycle is not offered
      if (typeof text === 'string' && !text.startsWith('-'))
        monthly.set(code, parseMoney(text, code, `the ${code} price`).amountMinor);
    }
    out.set(Number(p.pid), { name: String(p.name ?? ''), monthly });
  }
  return out;
}

type UpgradeDeps = {
  store: UpgradeStore;
  clock: Clock;
  zone: string;
  panel: PanelApi;
  billing: BillingSettingsService;
  audit: AuditLog;
  /**
   * told of a rated period that cannot be read (the row's table, id, column and why): that
   * service's figures are then none; without it, such a row refuses the figures
   */
  setAside?: SetAside;
};

/**
 * The last periods' usage of a service and what each billed, newest first; null when one of them
 * cannot be read (told to `setAside`): the comparison is of those periods or none, never of the
 * others alone (a smaller sum would be a wrong figure shown to the client).
 */
async function pastPeriods(
  deps: UpgradeDeps,
  serviceId: number,
  count: number,
): Promise<PastPeriod[] | null> {
  const rows = await deps.store.ratedPeriods(serviceId, count, { usageOnly: true, setAside: deps.setAside });
  if (rows.unreadable) return null;
  const out: PastPeriod[] = [];
  for (const r of rows) {
    const rated = ratedUsageOf(r, deps.setAside);
    if (rated === null) return null;
    out.push({
      usage: {
        usedBytes: rated.usedBytes,
        days: rated.days,
        nominalDays: rated.nominalDays,
        seconds: rated.periodSeconds,
      },
      billedMinor: r.amountMinor,
    });
  }
  return out;
}

/** The other enabled products priced in this currency, as plans the past periods can be rated on. */
async function planOffers(
  deps: UpgradeDeps,
  products: Map<number, PanelProduct>,
  productId: number,
  currency: string,
): Promise<PlanOffer[]> {
  const offers: PlanOffer[] = [];
  for (const { productId: id, profile: p } of await deps.billing.listProducts()) {
    const price = products.get(id)?.monthly.get(currency);
    if (
      id === productId ||
      price === undefined ||
      !p.enabled ||
      p.allowance === 'solusvm' ||
      !p.prices[currency]
    )
      continue;
    offers.push({
      productId: id,
      name: products.get(id)!.name,
      priceMinor: price,
      plan: ratingPlan(p, currency, null),
    });
  }
  return offers;
}

/** What the client's last periods would have cost on each bigger plan; null when there is nothing to compare. */
async function upgradeFigures(
  deps: UpgradeDeps,
  serviceId: number,
  clientId: number,
): Promise<UpgradeView | null> {
  const s = await deps.store.service(serviceId);
  if (!s || s.clientId !== clientId) throw notFound(`there is no service ${serviceId} of yours`);
  const { productId, currency } = s;
  const profile = await deps.billing.forService(productId, serviceId, clientId);
  if (!profile || profile.allowance === 'solusvm') return null;
  const past = await pastPeriods(deps, serviceId, profile.upgradeAfterPeriods);
  if (past === null || past.length === 0) return null;
  const products = await panelProducts(deps.panel);
  const current = products.get(productId);
  const currentPrice = current?.monthly.get(currency);
  if (currentPrice === undefined) return null;
  const offers = await planOffers(deps, products, productId, currency);
  const compared = compareUpgrades(
    past,
    { priceMinor: currentPrice, plan: ratingPlan(profile, currency, null) },
    offers,
  );
  return { serviceId, currentProductId: productId, currentName: current!.name, ...compared };
}

/** UpgradeProduct on the panel; its upgrade and invoice ids (null where it gave none). */
async function askPanelToUpgrade(
  deps: UpgradeDeps,
  serviceId: number,
  productId: number,
): Promise<{ panelUpgradeId: number | null; invoiceId: number | null }> {
  const { products } = await deps.panel.getClientsProducts({ serviceId });
  const paymentMethod = products[0]?.paymentMethod || 'banktransfer';
  let answer: Record<string, unknown>;
  try {
    answer = await deps.panel.call('UpgradeProduct', {
      serviceid: serviceId,
      type: 'product',
      newproductid: productId,
      paymentmethod: paymentMethod,
    });
  } catch (err) {
    // the panel's kind, not its words, which can echo the client's data (errorKind); this is answered
    throw new ModuleError('CONFLICT', `the panel refused the upgrade: ${errorKind(err)}`);
  }
  const panelUpgradeId = answer.upgradeid === undefined ? null : Number(answer.upgradeid);
  const invoiceId =
    answer.invoiceid === undefined || Number(answer.invoiceid) === 0 ? null : Number(answer.invoiceid);
  return { panelUpgradeId, invoiceId };
}

interface UpgradeRecord {
  clientId: number;
  serviceId: number;
  productId: number;
  today: string;
  creditPercent: number;
  panelUpgradeId: number | null;
  invoiceId: number | null;
  view: UpgradeView;
  offer: UpgradeView['offers'][number];
  now: DateTime;
}

/** The upgrade the panel made, with the figures the client saw; the suggestion accepted; audited. Its id. */
async function recordUpgrade(deps: UpgradeDeps, u: UpgradeRecord, actor: Actor): Promise<number> {
  const {
    clientId,
    serviceId,
    productId,
    today,
    creditPercent,
    panelUpgradeId,
    invoiceId,
    view,
    offer,
    now,
  } = u;
  const bigintJson = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
  return deps.store.transaction(async (tx, trx) => {
    const id = await tx.recordRequest({
      serviceId,
      clientId,
      fromProductId: view.currentProductId,
      toProductId: productId,
      requestedOn: today,
      requestedAt: now,
      creditPercent,
      panelUpgradeId,
      invoiceId,
      figures: JSON.stringify(
        { currentMinor: view.currentMinor, offer, periods: view.periods, currency: view.currency },
        bigintJson,
      ),
    });
    await deps.audit.record(
      trx,
      {
        actor,
        action: 'upgrade.requested',
        entityType: 'service',
        entityId: serviceId,
        details: {
          from: view.currentProductId,
          to: productId,
          panelUpgradeId,
          invoiceId,
          creditPercent,
          wouldHavePaid: String(offer.totalMinor),
          paid: String(view.currentMinor),
        },
      },
      now,
    );
    return id;
  });
}

/** A client asks for a bigger plan: the panel upgrades the service, the request is recorded and audited once a day per plan. */
async function requestUpgrade(
  deps: UpgradeDeps,
  clientId: number,
  serviceId: number,
  productId: number,
  actor: Actor,
): Promise<UpgradeRequestOutcome> {
  const view = await upgradeFigures(deps, serviceId, clientId);
  const offer = view?.offers.find((o) => o.productId === productId);
  if (!view || !offer)
    throw invalidInput(`product ${productId} is not a bigger plan on offer for service ${serviceId}`);
  const now = deps.clock.now();
  const today = localDate(now, deps.zone);
  // a second click (or a retry) the same day for the same plan asks the panel nothing again
  const earlier = await deps.store.requestOn(serviceId, productId, today);
  if (earlier)
    return {
      upgradeId: earlier.id,
      toProductId: productId,
      panelUpgradeId: earlier.panelUpgradeId,
      invoiceId: earlier.invoiceId,
      creditPercent: earlier.creditPercent,
      repeated: true,
    };
  const profile = await deps.billing.forService(view.currentProductId, serviceId, clientId);
  const creditPercent = profile?.upgradeCreditPercent ?? 0;
  const { panelUpgradeId, invoiceId } = await askPanelToUpgrade(deps, serviceId, productId);
  const upgradeId = await recordUpgrade(
    deps,
    { clientId, serviceId, productId, today, creditPercent, panelUpgradeId, invoiceId, view, offer, now },
    actor,
  );
  await deps.panel
    .logActivity(
      `Overusage: service ${serviceId} upgraded to product ${productId} at the client's request (upgrade ${panelUpgradeId ?? '-'}, invoice ${invoiceId ?? '-'})`,
      clientId,
    )
    .catch(() => {});
  return { upgradeId, toProductId: productId, panelUpgradeId, invoiceId, creditPercent, repeated: false };
}

export function createUpgradeService(deps: UpgradeDeps): UpgradeService {
  return {
    figures: (serviceId, clientId) => upgradeFigures(deps, serviceId, clientId),
    outcomes: (opts = {}) => upgradeOutcomes(deps.store, opts),
    request: (clientId, serviceId, productId, actor) =>
      requestUpgrade(deps, clientId, serviceId, productId, actor),
  };
}

/** Suggestions with what came of them, one row per service (newest first). */
async function upgradeOutcomes(
  store: UpgradeStore,
  opts: { limit?: number },
): Promise<Array<Listed<UpgradeOutcomeRow>>> {
  const limit = Math.min(opts.limit ?? 200, 1000);
  const [listedNotices, listedUps] = await Promise.all([
    store.recentSuggestions(limit),
    store.recentRequests(limit),
  ]);
  // a row that cannot be read belongs to no service's row (its service is not known): listed apart
  const notices = readableOf(listedNotices);
  const ups = readableOf(listedUps);
  const unreadable = [...listedNotices, ...listedUps].filter(isUnreadable);
  const out = new Map<number, UpgradeOutcomeRow>();
  for (const n of notices) {
    if (!out.has(n.serviceId))
      out.set(n.serviceId, {
        serviceId: n.serviceId,
        clientId: n.clientId,
        suggestion: { status: n.status, suggestedAt: n.createdAt.toISO()! },
        upgrade: null,
      });
  }
  for (const u of ups) {
    const row = out.get(u.serviceId) ?? {
      serviceId: u.serviceId,
      clientId: u.clientId,
      suggestion: null,
      upgrade: null,
    };
    row.upgrade ??= {
      toProductId: u.toProductId,
      fromProductId: u.fromProductId,
      requestedOn: u.requestedOn,
      creditPercent: u.creditPercent,
      panelUpgradeId: u.panelUpgradeId,
      invoiceId: u.invoiceId,
    };
    out.set(u.serviceId, row);
  }
  return [...out.values(), ...unreadable];
}
