import { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import type { Actor } from '../adapters/audit-store.js';
import { localeForClient, textLanguage } from '../domain/line-text.js';
import type { Logger } from '../adapters/logger.js';
import { isUnreadable, logUnreadable, loggedError, readableOf } from '../adapters/rows.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { DisputeService } from '../services/disputes.js';
import { idCursor, type LineRow, type UsageReads } from '../services/usage-reads.js';
import {
  presentMeter,
  presentWidget,
  pctText,
  type UsageBanner,
  type WidgetLinks,
  type WidgetView,
} from './present-usage.js';
import type { DisputeLimiter } from './rate-limit.js';
import { ttlCache } from './ttl-cache.js';
import { wordsFor } from './words.js';
import type { Knex } from 'knex';
import type { CapService } from '../services/caps.js';
import { capSection, capWordsFor, upgradeSection, upgradeWordsFor } from './cap-section.js';
import type { UpgradeService } from '../services/upgrades.js';
import type { PoolStanding } from '../services/pools.js';
import { poolFigures, type PoolFigures } from './pool-usage.js';
import { creditStandings, type CreditStanding } from '../domain/credit-use.js';
import { isDisputeCredit } from '../domain/dispute-text.js';
import { creditLog } from '../adapters/panel-credits.js';
import { isNotOwed } from '../domain/invoice-status.js';

/**
 * The client widget's use cases: build the page's view-model for a client (kept for a few seconds:
 * the figures change once a day, and the page is read far more often than that), and carry out
 * what its forms post (dispute a line, withdraw a dispute). Shared by the panel's client page, the
 * home panel, the product details block and the module's own embed page.
 */
export type Flash = NonNullable<WidgetView['flash']>;

export interface WidgetDeps {
  reads: UsageReads;
  disputes: DisputeService | undefined;
  panel: PanelApi | undefined;
  clock: Clock;
  limiter: DisputeLimiter;
  log: Logger;
  /** the threshold notice and the action at the limit of a service's open period, when the module sends notices */
  banner?: (serviceId: number) => Promise<UsageBanner | null>;
  /** how long a built page is served as it was (ms); 0 turns the cache off */
  cacheMs: number;
  now: () => number;
  /** client-chosen caps, and the limit policy run that carries a change out at once */
  caps?: { service: CapService; knex: Knex; applyNow: () => Promise<unknown> };
  upgrades?: UpgradeService;
  /** transfer pools: a pooled service's meter is its pool's (module/services/pools.ts) */
  pools?: { standing(clientId?: number): Promise<Map<number, PoolStanding>> };
}

export interface WidgetRequest {
  clientId: number;
  locale: string;
  serviceId?: number | null;
  periodsBefore?: string | null;
  /** a past period to chart instead of the open one */
  periodId?: number | null;
  /** what the page is for: its links differ (the panel's page or the embed page) */
  surface: string;
  links: () => WidgetLinks;
}

type Usage = Awaited<ReturnType<UsageReads['serviceUsage']>>;

/** What a page is built from besides the reads: names from the panel, the banner, the pools; each a courtesy. */
function sourcesOf(deps: WidgetDeps) {
  const labels = ttlCache<Map<number, string>>(5 * 60_000, 5000, deps.now);

  async function labelsOf(clientId: number): Promise<Map<number, string>> {
    const key = String(clientId);
    const hit = labels.get(key);
    if (hit) return hit;
    const out = new Map<number, string>();
    if (deps.panel) {
      try {
        const { products } = await deps.panel.getClientsProducts({ clientId, limitNum: 250 });
        for (const p of products) out.set(p.id, p.domain ? `${p.domain} (${p.name})` : p.name);
      } catch (err) {
        deps.log.warn('widget.labels_failed', { clientId, ...loggedError(err) });
      }
    }
    labels.set(key, out);
    return out;
  }

  // a banner is a courtesy: the page shows without it when it cannot be read
  const bannerOf = (serviceId: number): Promise<UsageBanner | null> =>
    deps.banner
      ? deps.banner(serviceId).catch((err: unknown) => {
          deps.log.warn('widget.banner_failed', { serviceId, ...loggedError(err) });
          return null;
        })
      : Promise.resolve(null);

  // the client's pools as they stand this month; a page without them when they cannot be read
  const standingOf = async (clientId: number): Promise<Map<number, PoolStanding>> =>
    deps.pools
      ? deps.pools.standing(clientId).catch((err: unknown) => {
          deps.log.warn('widget.pool_failed', { clientId, ...loggedError(err) });
          return new Map<number, PoolStanding>();
        })
      : new Map<number, PoolStanding>();

  return { labels, labelsOf, bannerOf, standingOf };
}

type Sources = ReturnType<typeof sourcesOf>;

const poolOf = (usage: Usage, standings: Map<number, PoolStanding>): PoolFigures | null => {
  const s = standings.get(usage.service.serviceId);
  return s ? poolFigures(usage, s) : null;
};

/**
 * What became of the credit each decided line gave back (a paid line waived or reduced), from the
 * client's own credit log, asked only when a line has such a credit. A courtesy: the page shows
 * without it when the panel cannot be asked.
 */
async function creditsOf(
  deps: WidgetDeps,
  clientId: number,
  lines: readonly LineRow[],
): Promise<Map<number, CreditStanding>> {
  const out = new Map<number, CreditStanding>();
  const credited = lines.filter((l) => l.clientId === clientId && l.dispute?.settlement === 'credited');
  if (!deps.panel || credited.length === 0) return out;
  try {
    const log = await creditLog(deps.panel, clientId);
    const standings = creditStandings(log);
    for (const l of credited) {
      const row = log.find(
        (r) =>
          r.amount > 0n &&
          isDisputeCredit(r.description, {
            disputeId: l.dispute!.id,
            decision: l.dispute!.state,
            ref: l.refCode,
          }),
      );
      const standing = row ? standings.get(row.id) : undefined;
      if (standing) out.set(l.id, standing);
    }
  } catch (err) {
    deps.log.warn('widget.credit_failed', { clientId, ...loggedError(err) });
  }
  return out;
}

/**
 * The invoices of the lines a client could still dispute (placed, undisputed, in their window) that
 * the panel says were cancelled or refunded: such a line is owed by no one, so the page offers no
 * dispute of it (the dispute service would refuse it, NOT_OWED). One read per invoice, only for
 * those lines; a courtesy, like the credits: when the panel cannot be asked, the form shows and the
 * service still refuses.
 */
async function notOwedOf(
  deps: WidgetDeps,
  clientId: number,
  lines: readonly LineRow[],
  paid?: Set<number>,
): Promise<Map<number, 'Cancelled' | 'Refunded'>> {
  const out = new Map<number, 'Cancelled' | 'Refunded'>();
  const now = deps.clock.now().toMillis();
  const ids = new Set(
    lines
      .filter(
        (l) =>
          l.clientId === clientId &&
          !l.dispute &&
          l.status === 'placed' &&
          now < DateTime.fromISO(l.deadlineClosesAt).toMillis(),
      )
      .map((l) => l.invoiceId),
  );
  if (!deps.panel || ids.size === 0) return out;
  const panel = deps.panel;
  await Promise.all(
    [...ids].map(async (id) => {
      try {
        const { status } = await panel.getInvoice(id);
        if (isNotOwed(status)) out.set(id, status);
        else if (status === 'Paid') paid?.add(id);
      } catch (err) {
        deps.log.warn('widget.invoice_failed', { clientId, invoiceId: id, ...loggedError(err) });
      }
    }),
  );
  return out;
}

/** The page's view-model for one client and (one of their) services. */
async function build(deps: WidgetDeps, src: Sources, req: WidgetRequest): Promise<WidgetView> {
  const services = await deps.reads.clientServices(req.clientId);
  const idOf = (s: (typeof services)[number]) => (isUnreadable(s) ? s.id : s.serviceId);
  const base = {
    locale: req.locale,
    now: deps.clock.now(),
    services,
    links: req.links(),
    lines: [] as never[],
  };
  if (services.length === 0) return presentWidget({ ...base, labels: new Map(), usage: null, periods: null });
  // the first service that reads, unless one is asked for
  const wanted = req.serviceId ?? idOf(services.find((s) => !isUnreadable(s)) ?? services[0]!);
  const chosen = services.find((s) => idOf(s) === wanted);
  if (!chosen) throw new ModuleError('NOT_FOUND', `service ${wanted} is not one of yours`);
  // its record cannot be read: the others stay offered, this one says only that (the log has which column)
  if (isUnreadable(chosen))
    return presentWidget({
      ...base,
      labels: await src.labelsOf(req.clientId),
      usage: null,
      periods: null,
      unavailable: wanted,
    });
  const serviceId = chosen.serviceId;
  const [usage, periods, lines, names, focus, banner, standings] = await Promise.all([
    deps.reads.serviceUsage(serviceId, { clientId: req.clientId }),
    deps.reads.periods(serviceId, { clientId: req.clientId, before: req.periodsBefore ?? null, limit: 12 }),
    deps.reads.lines({ clientId: req.clientId, serviceId: serviceId }, { limit: 50 }),
    src.labelsOf(req.clientId),
    req.periodId
      ? deps.reads.periodDays(serviceId, req.periodId, { clientId: req.clientId })
      : Promise.resolve(null),
    src.bannerOf(serviceId),
    src.standingOf(req.clientId),
  ]);
  // a line that cannot be read has no amount: it is said apart, never shown with a figure
  const readable = readableOf(lines.rows);
  const paidInvoices = new Set<number>();
  const [credits, notOwed] = await Promise.all([
    creditsOf(deps, req.clientId, readable),
    notOwedOf(deps, req.clientId, readable, paidInvoices),
  ]);
  const view = presentWidget({
    ...base,
    labels: names,
    usage,
    periods,
    lines: readable,
    focus,
    banner,
    pool: poolOf(usage, standings),
    credits,
    notOwed,
    paidInvoices,
  });
  if (readable.length < lines.rows.length)
    view.service?.notices.push({ kind: 'info', text: view.w.lineUnavailable });
  await addSections(deps, view, serviceId, req);
  return view;
}

/** The cap block and the upgrade suggestion of the page, when the module offers them. */
async function addSections(deps: WidgetDeps, view: WidgetView, serviceId: number, req: WidgetRequest) {
  if (deps.caps)
    view.cap = await capSection(
      deps.caps.knex,
      deps.caps.service,
      serviceId,
      req.locale,
      logUnreadable(deps.log),
    );
  if (deps.upgrades && deps.caps)
    view.upgrade = await upgradeSection(
      deps.caps.knex,
      deps.upgrades,
      serviceId,
      req.clientId,
      req.locale,
    ).catch((err: unknown) => {
      // the suggestion is a courtesy: the page shows without it when the panel cannot price it
      deps.log.warn('widget.upgrade_failed', { serviceId: serviceId, ...loggedError(err) });
      return null;
    });
}

/** An id from a form, or null when the field is missing or is not one (the caller says the form could not be read). */
function idOrNull(v: unknown, what: string): number | null {
  try {
    return idCursor(v, what);
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'INVALID_INPUT') return null;
    throw err;
  }
}

/** Sets or lifts a cap from the page's form; the limit policy then acts (or lets go) at once. */
async function postCap(
  deps: WidgetDeps,
  clientId: number,
  body: Record<string, unknown>,
  locale: string,
  actor: Actor,
): Promise<Flash> {
  const w = capWordsFor(locale);
  const caps = deps.caps!;
  // a service field that is not an id (a form tampered with): the form could not be read, not a 500
  const serviceId = idOrNull(body.service, 'service');
  if (serviceId === null) return { kind: 'error', text: wordsFor(textLanguage(locale)).badRequest };
  try {
    if (body.do === 'lift_cap') await caps.service.lift(clientId, serviceId, actor);
    else {
      // "25,00" as a Dutch client writes it is 25.00; bytes are GB over the allowance
      const raw = String(body.amount ?? '').trim();
      const amount =
        body.kind === 'bytes'
          ? /^\d+([.,]\d+)?$/.test(raw)
            ? `${raw.replace(',', '.')} GB`
            : raw
          : raw.replace(/^(\d+),(\d{1,2})$/, '$1.$2');
      await caps.service.set(clientId, serviceId, { kind: body.kind, amount, action: body.action }, actor);
    }
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'INVALID_INPUT')
      return { kind: 'error', text: w.badAmount };
    if (err instanceof ModuleError && err.code === 'CONFLICT') return { kind: 'error', text: w.notOffered };
    throw err;
  }
  await caps
    .applyNow()
    .catch((err: unknown) =>
      deps.log.warn('widget.cap_apply_failed', { clientId, serviceId, ...loggedError(err) }),
    );
  return { kind: 'success', text: body.do === 'lift_cap' ? w.flashLifted : w.flashSet };
}

/** A cap's form: a service that is not the client's answers as not found. */
async function postCapForm(
  deps: WidgetDeps,
  clientId: number,
  body: Record<string, unknown>,
  locale: string,
  actor: Actor,
): Promise<Flash> {
  try {
    return await postCap(deps, clientId, body, locale, actor);
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'NOT_FOUND')
      return { kind: 'error', text: wordsFor(textLanguage(locale)).notFound };
    throw err;
  }
}

/** The one-click upgrade the page suggests: ordered on the panel, with its invoice when there is one. */
async function postUpgrade(
  upgrades: UpgradeService,
  clientId: number,
  body: Record<string, unknown>,
  locale: string,
  actor: Actor,
): Promise<Flash> {
  const w = wordsFor(textLanguage(locale));
  const uw = upgradeWordsFor(locale);
  try {
    const serviceId = idCursor(body.service, 'service');
    const productId = idCursor(body.product, 'product');
    if (serviceId === null || productId === null) return { kind: 'error', text: w.badRequest };
    const out = await upgrades.request(clientId, serviceId, productId, actor);
    return { kind: 'success', text: out.invoiceId ? uw.orderedInvoice(out.invoiceId) : uw.ordered };
  } catch (err) {
    if (err instanceof ModuleError && err.code === 'NOT_FOUND') return { kind: 'error', text: w.notFound };
    if (err instanceof ModuleError && (err.code === 'INVALID_INPUT' || err.code === 'CONFLICT'))
      return { kind: 'error', text: uw.refused };
    throw err;
  }
}

/** A line disputed, or a dispute withdrawn; each refusal in the client's words. */
async function postDispute(
  deps: WidgetDeps,
  disputes: DisputeService,
  clientId: number,
  body: Record<string, unknown>,
  locale: string,
  actor: Actor,
): Promise<Flash> {
  const w = wordsFor(textLanguage(locale));
  const action = String(body.do ?? '');
  try {
    if (action === 'dispute') {
      if (!(await deps.limiter.hit(`client:${clientId}`))) return { kind: 'error', text: w.rateLimited };
      const lineId = idCursor(body.line, 'line');
      if (lineId === null) return { kind: 'error', text: w.badRequest };
      const outcome = await disputes.open({
        lineId,
        reason: String(body.reason ?? '').slice(0, 4000),
        actor,
      });
      if (outcome.ok)
        return {
          kind: 'success',
          // a line paid already is not held: the difference comes back if it is reduced or waived
          text: outcome.value.holdState === 'refund_decision' ? w.flashOpenedPaid : w.flashOpened,
        };
      // the service words a closed window (naming the deadline) and an invoice not owed in the client's language
      const text = {
        WINDOW_CLOSED: outcome.message,
        REASON_REQUIRED: w.reasonHint,
        ALREADY_DISPUTED: w.alreadyDisputed,
        NOT_DISPUTABLE: w.notDisputable,
        NOT_OWED: outcome.message,
      }[outcome.code];
      return { kind: 'error', text };
    }
    if (action === 'withdraw') {
      const disputeId = idCursor(body.dispute, 'dispute');
      if (disputeId === null) return { kind: 'error', text: w.badRequest };
      await disputes.get(disputeId, { clientId });
      const outcome = await disputes.resolve({ disputeId, to: 'withdrawn', actor });
      return outcome.ok
        ? { kind: 'success', text: w.flashWithdrawn }
        : { kind: 'error', text: w.notDisputable };
    }
    return { kind: 'error', text: w.badRequest };
  } catch (err) {
    if (err instanceof ModuleError) {
      if (err.code === 'NOT_FOUND') return { kind: 'error', text: w.notFound };
      if (err.code === 'INVALID_INPUT') return { kind: 'error', text: w.badRequest };
      if (err.code === 'LOCKED') return { kind: 'error', text: w.busy };
    }
    throw err;
  }
}

/** The client home panel's content: each metered service's use of its allowance, and lines to look at. */
async function summarize(deps: WidgetDeps, src: Sources, clientId: number, locale: string) {
  const w = wordsFor(textLanguage(locale));
  const services = await deps.reads.clientServices(clientId);
  if (services.length === 0) return null;
  const names = await src.labelsOf(clientId);
  const rows = [];
  const standings = await src.standingOf(clientId);
  // one whose record cannot be read keeps its row, by name, with the neutral sentence and no figure
  for (const s of services.filter((x) => isUnreadable(x) || x.active).slice(0, 5)) {
    if (isUnreadable(s)) {
      if (s.id !== null)
        rows.push({
          id: s.id,
          label: names.get(s.id) ?? `#${s.id}`,
          meter: null,
          pct: '',
          unavailable: w.figureUnavailable,
        });
      continue;
    }
    const u = await deps.reads.serviceUsage(s.serviceId, { clientId });
    // a pooled service reads its pool's use of the pool's allowance, as on its page
    const a = poolOf(u, standings)?.assessment ?? u.assessment;
    rows.push({
      id: s.serviceId,
      label: names.get(s.serviceId) ?? `#${s.serviceId}`,
      meter: a ? presentMeter(a.percentUsed, null, a.thresholds, a.crossed, locale, w) : null,
      pct: a ? pctText(a.percentUsed, locale) : '',
      unavailable: '',
    });
  }
  // the counts are of the lines that read; one that cannot is on her page, said apart
  const lines = readableOf((await deps.reads.lines({ clientId }, { limit: 50 })).rows);
  const now = deps.clock.now();
  const underDispute = lines.filter((l) => l.dispute?.state === 'open').length;
  const notOwed = await notOwedOf(deps, clientId, lines);
  const disputable = lines.filter(
    (l) =>
      !l.dispute &&
      l.status === 'placed' &&
      now.toMillis() < DateTime.fromISO(l.deadlineClosesAt).toMillis() &&
      !notOwed.has(l.invoiceId),
  ).length;
  return {
    rows,
    underDispute: underDispute ? w.homeOpenDisputes(underDispute) : '',
    disputable: disputable ? w.homeDisputable(disputable) : '',
    w,
  };
}

export function createWidget(deps: WidgetDeps) {
  const src = sourcesOf(deps);
  const views = ttlCache<WidgetView>(deps.cacheMs, 5000, deps.now);
  const summaries = ttlCache<Awaited<ReturnType<typeof summarize>>>(deps.cacheMs, 5000, deps.now);
  // bumped by every change a client makes here, so their next page is built afresh
  const generation = new Map<number, number>();
  const invalidate = (clientId: number): void => {
    generation.set(clientId, (generation.get(clientId) ?? 0) + 1);
  };

  return {
    /** the page's view-model, from the cache when it is fresh */
    async view(req: WidgetRequest): Promise<WidgetView> {
      const key = `${req.surface}|${req.clientId}|${generation.get(req.clientId) ?? 0}|${req.locale}|${req.serviceId ?? ''}|${req.periodsBefore ?? ''}|${req.periodId ?? ''}`;
      const hit = views.get(key);
      if (hit) return hit;
      const v = await build(deps, src, req);
      views.set(key, v);
      return v;
    },

    /** a change made elsewhere (an admin's decision) shows at once */
    invalidate,
    /** changes whenever the client's page must be built afresh (a key for caches of the finished page) */
    generation: (clientId: number): number => generation.get(clientId) ?? 0,

    clearCache(): void {
      views.clear();
      src.labels.clear();
      summaries.clear();
    },

    /** Carries out a form post of the client page; answers with the message to show. */
    async post(
      clientId: number,
      body: Record<string, unknown>,
      locale: string,
      actingAdminId: number | null = null,
    ): Promise<Flash> {
      const action = String(body.do ?? '');
      // a token an admin minted for the client: audited as that admin acting as the client
      const actor: Actor = {
        type: 'client' as const,
        id: String(clientId),
        ...(actingAdminId !== null ? { actingAdminId: String(actingAdminId) } : {}),
      };
      const { upgrades, caps, disputes } = deps;
      const run =
        action === 'upgrade' && upgrades
          ? () => postUpgrade(upgrades, clientId, body, locale, actor)
          : (action === 'set_cap' || action === 'lift_cap') && caps
            ? () => postCapForm(deps, clientId, body, locale, actor)
            : disputes
              ? () => postDispute(deps, disputes, clientId, body, locale, actor)
              : null;
      if (!run) return { kind: 'error', text: wordsFor(textLanguage(locale)).disputesOff };
      try {
        return await run();
      } finally {
        invalidate(clientId);
      }
    },

    /** The client home panel's content: each metered service's use of its allowance (kept like the page). */
    async summary(clientId: number, locale: string) {
      const key = `${clientId}|${generation.get(clientId) ?? 0}|${locale}`;
      const hit = summaries.get(key);
      if (hit !== undefined) return hit;
      const made = await summarize(deps, src, clientId, locale);
      summaries.set(key, made);
      return made;
    },

    labels: src.labelsOf,
    /** what became of the credit each of these decided lines gave (the widget's "credited · used on · left"), by line id */
    credits: (clientId: number, lines: readonly LineRow[]) => creditsOf(deps, clientId, lines),
    localeOf: (language: string | null | undefined) => localeForClient(language),
  };
}

export type Widget = ReturnType<typeof createWidget>;
