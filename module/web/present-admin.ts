import { DateTime } from 'luxon';
import { counted, plural } from '../domain/plural.js';
import { describeAnomaly } from '../domain/anomaly-text.js';
import type { AnomalyRow, ChargeSummary } from '../services/usage-periods.js';
import { dateTimeFormat } from '../domain/intl-cache.js';
import { formatAmount, formatSoldBytes, formatDay, formatInteger } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type { MasterView } from '../services/masters.js';
import type { UnreadableMaster } from '../adapters/master-store.js';
import { isUnreadable, type Listed, type UnreadableRow } from '../adapters/rows.js';
import type {
  AuditRow,
  Dashboard,
  DisputeRow,
  LineFilter,
  SampleRow,
  ServiceListRow,
  WaitingCharge,
} from '../services/admin-reads.js';
import type { LineRow, Page } from '../services/usage-reads.js';
import type { BillingProfile } from '../services/billing-settings.js';
import type { ConnectionReport } from '../adapters/solusvm-types.js';
import { lineState, pctText } from './present-usage.js';
import { wordsFor } from './words.js';
import { ADMIN_AUDIT, ADMIN_NAMES, ADMIN_STATE, ADMIN_TEXT } from './admin-words.js';

/**
 * The admin tab's view-models (English, en-GB formatting), built by pure functions from the reads.
 * Links are built by the caller's `href`, so the same pages work inside the panel's tab
 * (addonmodules.php?module=overusage&a=…) and on the module's own embed page.
 */
export const ADMIN_LOCALE = 'en-GB';
const L = ADMIN_LOCALE;

export type Href = (params: Record<string, string | number | null | undefined>) => string;

export interface PanelLinks {
  client(id: number): string;
  service(id: number): string;
  invoice(id: number): string;
}

const TAB = ADMIN_NAMES.tabs;
export const TABS = [
  ['dashboard', TAB.dashboard],
  ['services', TAB.services],
  ['disputes', TAB.disputes],
  ['anomalies', TAB.anomalies],
  ['lines', TAB.lines],
  ['pools', TAB.pools],
  ['settings', TAB.settings],
  ['audit', TAB.audit],
] as const;

export type TabName = (typeof TABS)[number][0] | 'service' | 'dispute';

/** what every admin presenter needs besides its data */
export interface AdminCtx {
  href: Href;
  panel: PanelLinks | null;
  now: DateTime;
  /** the panel's zone: times are shown in it */
  zone: string;
}

/** "5 Jun 2013, 12:00" in the panel's zone (Intl, made once: luxon's zone conversion costs more per row) */
const whenByZone = new Map<string, (iso: string | null) => string>();
// kept by zone: the formatter's cache key (its options as JSON) cost more than the format, once a row
const whenIn = (zone: string) => {
  let when = whenByZone.get(zone);
  if (!when) {
    when = whenFormat(zone);
    if (whenByZone.size >= 100) whenByZone.clear();
    whenByZone.set(zone, when);
  }
  return when;
};
const whenFormat = (zone: string) => {
  const f = dateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: zone,
  });
  // the same instants come back page after page (Intl's format is the costly part of a row)
  const seen = new Map<string, string>();
  return (iso: string | null): string => {
    if (!iso) return '–';
    let text = seen.get(iso);
    if (text === undefined) {
      text = f.format(new Date(iso));
      if (seen.size >= 5000) seen.clear();
      seen.set(iso, text);
    }
    return text;
  };
};

/** formatAmount in the admin's locale, each amount formatted once (the queue shows the same ones on every visit) */
const amounts = new Map<string, string>();
const amountText = (minor: bigint, currency: string): string => {
  const key = `${currency}|${minor}`;
  let text = amounts.get(key);
  if (text === undefined) {
    text = formatAmount(minor, currency, L);
    if (amounts.size >= 5000) amounts.clear();
    amounts.set(key, text);
  }
  return text;
};

// quantities in the unit the product sells, 2 decimals, as the client's lines and pages say them
const shown = (unit: SoldUnit | null | undefined): SoldUnit => unit ?? 'GB';

export const DISPUTE_STATE_LABEL = ADMIN_NAMES.disputeState;

/** A charge whose invoice was paid or cancelled before its line got on: where it stands, in words. */
export function presentWaitingCharge(c: WaitingCharge, ctx: AdminCtx) {
  const when = whenIn(ctx.zone);
  return {
    chargeId: c.chargeId,
    serviceHref: ctx.href({ a: 'service', id: c.serviceId }),
    invoiceHref: ctx.panel ? ctx.panel.invoice(c.invoiceId) : null,
    text: ADMIN_TEXT.waitingCharge({
      chargeId: c.chargeId,
      serviceId: c.serviceId,
      amount: formatAmount(c.amountMinor, c.currency, L),
      period: `${formatDay(c.periodStart, L)} – ${formatDay(c.periodEnd, L)}`,
      invoiceId: c.invoiceId,
      invoiceStatus: c.invoiceStatus,
      seen: when(c.releasedAt),
    }),
  };
}

/** A row of an admin list that cannot be read, as the view shows it in its place: its id, the column and why. */
export function presentUnreadable(u: UnreadableRow) {
  return {
    unreadable: true as const,
    id: u.id,
    column: u.unreadable.column,
    reason: u.unreadable.reason,
    message: ADMIN_TEXT.unreadableRow(u.unreadable.column, u.unreadable.reason),
  };
}

/** A presenter of a list's rows that shows one that cannot be read as unreadable. */
export const orUnreadable =
  <T, P>(present: (r: T) => P) =>
  (r: Listed<T>): P | ReturnType<typeof presentUnreadable> =>
    isUnreadable(r) ? presentUnreadable(r) : present(r);

export function presentLineRow(l: LineRow, { href, panel, now }: AdminCtx) {
  const w = wordsFor('en');
  const state = lineState(l);
  const closes = Date.parse(l.deadlineClosesAt);
  return {
    id: l.id,
    ref: l.refCode,
    href: href({ a: 'line', id: l.id }),
    serviceId: l.serviceId,
    serviceHref: href({ a: 'service', id: l.serviceId }),
    clientId: l.clientId,
    clientHref: panel?.client(l.clientId) ?? null,
    invoiceId: l.invoiceId,
    invoiceHref: panel?.invoice(l.invoiceId) ?? null,
    period: `${formatDay(l.periodStart, L)} – ${formatDay(l.periodEnd, L)}`,
    amount: formatAmount(l.amountMinor, l.currency, L),
    state,
    stateLabel: w.lineStatus[state] ?? state,
    deadline: formatDay(l.deadlineLastDay, L),
    windowOpen: now.toMillis() < closes,
    disputeHref: l.dispute ? href({ a: 'dispute', id: l.dispute.id }) : null,
    description: l.description,
  };
}

/** Where the disputed line's money stands, in words for the admin (never the stored identifier). */
export const HOLD_STATE_LABEL = ADMIN_NAMES.holdState;

export function presentDisputeRow(d: DisputeRow, { href, panel, now, zone }: AdminCtx) {
  const when = whenIn(zone);
  const waiting = Math.max(0, Math.floor((now.toMillis() - Date.parse(d.openedAt)) / 86_400_000));
  return {
    id: d.id,
    href: href({ a: 'dispute', id: d.id }),
    ref: d.refCode,
    lineId: d.lineId,
    clientId: d.clientId,
    clientHref: panel?.client(d.clientId) ?? null,
    serviceId: d.serviceId,
    serviceHref: href({ a: 'service', id: d.serviceId }),
    state: d.resolvingTo
      ? ADMIN_NAMES.beingResolved(d.resolvingTo)
      : (DISPUTE_STATE_LABEL[d.state] ?? d.state),
    hold: HOLD_STATE_LABEL[d.holdState] ?? d.holdState,
    amountBefore: amountText(d.amountBeforeMinor, d.currency),
    amountAfter: d.amountAfterMinor === null ? null : amountText(d.amountAfterMinor, d.currency),
    opened: when(d.openedAt),
    openedBy: d.openedByType,
    waiting: d.state === 'open' ? ADMIN_TEXT.daysWaiting(waiting) : '',
    resolved: when(d.resolvedAt),
    reason: d.reason,
    // why a voided dispute closed: the invoice cancelled or refunded
    closedBecause: d.voidedBy ? ADMIN_NAMES.voided(d.voidedBy.invoiceId, d.voidedBy.status) : null,
    override: d.overrideReason,
    deadline: formatDay(d.deadlineLastDay, L),
    heldInvoiceId: d.heldInvoiceId,
    heldInvoiceHref: d.heldInvoiceId && panel ? panel.invoice(d.heldInvoiceId) : null,
    originalInvoiceId: d.originalInvoiceId,
    originalInvoiceHref: panel ? panel.invoice(d.originalInvoiceId) : null,
    description: d.description,
    version: d.version,
    canResolve: d.state === 'open' && !d.resolvingTo,
  };
}

export function presentDashboard(d: Dashboard, ctx: AdminCtx) {
  const { href } = ctx;
  return {
    metered: formatInteger(BigInt(d.meteredServices), L),
    openDisputes: formatInteger(BigInt(d.openDisputes), L),
    disputesHref: href({ a: 'disputes' }),
    projected: d.projected.map((p) => ({
      amount:
        p.amountMinor === null
          ? ADMIN_TEXT.totalUnavailable(
              p.currency,
              p.unreadable.map((u) => u.id),
            )
          : formatAmount(p.amountMinor, p.currency!, L),
      services: p.services,
    })),
    projectedServices: counted(
      d.projected.reduce((n, p) => n + p.services, 0),
      'service',
      'services',
    ),
    meteredLabel: plural(d.meteredServices, 'service metered', 'services metered'),
    openDisputesLabel: plural(d.openDisputes, 'open dispute', 'open disputes'),
    // the panel's clock (the demo's, a replay's), not the server's
    computedAt: DateTime.fromMillis(d.asOf, { zone: ctx.zone }).toFormat('d LLL yyyy HH:mm:ss'),
    attention: d.attention.map(orUnreadable((s: ServiceListRow) => presentServiceListRow(s, ctx))),
    oldestDisputes: d.oldestDisputes.map(orUnreadable((x: DisputeRow) => presentDisputeRow(x, ctx))),
    recentLines: d.recentLines.map(orUnreadable((l: LineRow) => presentLineRow(l, ctx))),
    masters: d.masters.map((m) => ({ name: m.name, version: `SolusVM ${m.version}`, active: m.active })),
    runs: d.runs.map((r) => ({ ...r, date: formatDay(r.date, L) })),
    settingsHref: href({ a: 'settings' }),
  };
}

/** An anomaly row of the tab: what it is in words, its period, and whether it asks for a decision. */
export function presentAnomaly(a: AnomalyRow, ctx: AdminCtx) {
  return {
    id: a.id,
    serviceId: a.serviceId,
    serviceHref: ctx.href({ a: 'service', id: a.serviceId }),
    period: `${formatDay(a.periodStart, L)} – ${a.periodEnd ? formatDay(a.periodEnd, L) : '…'}`,
    kind: a.kind.replace(/_/g, ' '),
    status: a.status,
    statusLabel: ADMIN_STATE.anomaly[a.status] ?? a.status,
    seenOn: formatDay(a.seenOn, L),
    text: describeAnomaly(a),
    decidable: a.kind === 'mid_period_drop' && a.status === 'open',
    decided: a.decidedAt
      ? ADMIN_TEXT.anomalyDecided(
          String(a.decision),
          `${a.decidedBy?.type ?? ''} ${a.decidedBy?.id ?? ''}`,
          DateTime.fromISO(a.decidedAt, { zone: ctx.zone }).toFormat('d LLL yyyy HH:mm'),
        )
      : null,
  };
}

/** A correction waiting for review. */
export function presentCorrection(
  c: ChargeSummary & { serviceId: number; clientId: number; periodStart: string; periodEnd: string },
  ctx: AdminCtx,
) {
  return {
    id: c.id,
    serviceHref: ctx.href({ a: 'service', id: c.serviceId }),
    serviceId: c.serviceId,
    clientId: c.clientId,
    clientHref: ctx.panel?.client(c.clientId) ?? null,
    period: `${formatDay(c.periodStart, L)} – ${formatDay(c.periodEnd, L)}`,
    amount: formatAmount(c.amountMinor, c.currency, L),
  };
}

export function presentServiceListRow(s: ServiceListRow, { href, panel }: AdminCtx) {
  const a = s.assessment;
  const unit = shown(a?.plan.unit);
  const pct = a?.percentUsed ?? null;
  const n = pct === null ? 0 : Number(pct);
  const lowest = a?.thresholds[0] ?? 80;
  return {
    id: s.serviceId,
    serviceId: s.serviceId,
    href: href({ a: 'service', id: s.serviceId }),
    panelHref: panel?.service(s.serviceId) ?? null,
    clientId: s.clientId,
    clientHref: panel?.client(s.clientId) ?? null,
    active: s.active,
    period: s.openPeriodStart
      ? `${formatDay(s.openPeriodStart, L)} – ${s.openPeriodEnd ? formatDay(s.openPeriodEnd, L) : '…'}`
      : ADMIN_TEXT.notMeasuredYet,
    used: s.openPeriodUsedBytes === null ? '–' : formatSoldBytes(s.openPeriodUsedBytes, unit, L),
    allowance: a ? formatSoldBytes(a.allowanceBytes, unit, L) : ADMIN_TEXT.notBilled,
    pct: pctText(pct, L),
    state: pct === null ? 'none' : n >= 100 ? 'over' : n >= lowest ? 'near' : 'ok',
    projected: a?.cost && a.cost.atEndMinor > 0n ? formatAmount(a.cost.atEndMinor, a.cost.currency, L) : '–',
    lastSample: s.lastSampleDate ? formatDay(s.lastSampleDate, L) : '–',
  };
}

export function presentSamples(page: Page<SampleRow>, unitName: SoldUnit, zone: string) {
  const when = whenIn(zone);
  const unit = shown(unitName);
  return page.rows.map((s) => ({
    kind: s.kind,
    date: formatDay(s.date, L),
    iso: s.date,
    id: s.id,
    at: when(s.sampledAt),
    counter:
      s.usedBytes === null
        ? ''
        : ADMIN_TEXT.counterBytes(formatSoldBytes(s.usedBytes, unit, L), formatInteger(s.usedBytes, L)),
    limit: s.limitBytes === null ? '' : formatSoldBytes(s.limitBytes, unit, L),
    state: s.state ?? '',
    raw: s.raw ?? '',
    failures: s.failures.map((f) => `${when(f.at)} ${f.kind}: ${f.message}`),
  }));
}

type AuditDetails = Record<string, unknown>;

/** an amount in the details (amountMinor and currency, EUR when the record has none) */
const auditAmount = (d: AuditDetails): string | null => {
  const minor = d.amountMinor;
  if (typeof minor !== 'string' && typeof minor !== 'number') return null;
  if (!/^-?\d+$/.test(String(minor))) return null;
  return formatAmount(BigInt(String(minor)), typeof d.currency === 'string' ? d.currency : 'EUR', L);
};

const ACTORS = ADMIN_NAMES.actors;

/** What an audit record says, as a sentence; the record's own fields stay behind a toggle. */
export function auditSentence(a: Pick<AuditRow, 'action' | 'entityType' | 'entityId' | 'details'>): string {
  let d: AuditDetails = {};
  try {
    const parsed: unknown = a.details ? JSON.parse(a.details) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) d = parsed as AuditDetails;
  } catch {
    d = {};
  }
  const id = a.entityId ?? '';
  const amount = auditAmount(d);
  const money = amount ? ` (${amount})` : '';
  const text = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : '');
  switch (a.action) {
    case 'billing.product_set':
      return ADMIN_AUDIT.productSet(id);
    case 'line.placed':
      return ADMIN_AUDIT.linePlaced(
        id,
        money,
        text('invoiceId'),
        text('deadline') ? formatDay(text('deadline'), L) : null,
      );
    case 'line.released':
      return ADMIN_AUDIT.lineReleased(id, money, text('invoiceId'), text('reason'));
    case 'master.added':
      return ADMIN_AUDIT.masterAdded(text('name'), text('version'), text('baseUrl'));
    case 'master.updated':
      return ADMIN_AUDIT.masterUpdated(id, Object.keys(d));
    case 'master.removed':
      return ADMIN_AUDIT.masterRemoved(id);
    case 'service.linked':
    case 'service.relinked':
      return ADMIN_AUDIT.serviceLinked(
        id,
        a.action === 'service.relinked',
        text('masterId'),
        text('serverRef'),
      );
    case 'dispute.opened':
      return ADMIN_AUDIT.disputeOpened(id, text('lineId'), money, text('override'), text('reason'));
    case 'dispute.held':
      return ADMIN_AUDIT.disputeHeld(id, money, text('from'), text('heldInvoiceId'));
    case 'dispute.refund_decision':
      return ADMIN_AUDIT.disputeRefundDecision(id, text('invoiceId'), text('status'));
    case 'dispute.upheld':
    case 'dispute.waived':
    case 'dispute.adjusted':
    case 'dispute.withdrawn':
      return ADMIN_AUDIT.disputeDecided(id, a.action.slice('dispute.'.length), money);
    case 'anomaly.decided':
      return ADMIN_AUDIT.anomalyDecided(id, text('serviceId'), text('decision') === 'reset', text('reason'));
    case 'settings.changed':
      return ADMIN_AUDIT.settingsChanged(Object.keys(d));
    default: {
      const words = a.action.replace(/[._]/g, ' ');
      return ADMIN_AUDIT.other(words, a.entityType ? `${a.entityType}${id ? ` ${id}` : ''}` : '', money);
    }
  }
}

export function presentAudit(page: Page<Listed<AuditRow>>, zone: string) {
  const when = whenIn(zone);
  return page.rows.map(
    orUnreadable((a: AuditRow) => ({
      id: a.id,
      at: when(a.at),
      actor: `${a.actingAdminId ? ADMIN_NAMES.actingAs(a.actingAdminId) : ''}${a.actorId ? `${ACTORS[a.actorType] ?? a.actorType} ${a.actorId}` : (ACTORS[a.actorType] ?? a.actorType)}`,
      action: a.action,
      sentence: auditSentence(a),
      entity: a.entityId ? `${a.entityType} ${a.entityId}` : a.entityType,
      details: a.details ?? '',
    })),
  );
}

/** A master whose stored row cannot be read, on the masters page: which, and the column refused. */
export function presentUnreadableMaster(u: UnreadableMaster) {
  return {
    id: u.id,
    name: ADMIN_TEXT.master.label(u.id, u.name),
    message: ADMIN_TEXT.master.unreadable(u.problem),
  };
}

export function presentMaster(m: MasterView, report: ConnectionReport | null) {
  return {
    id: m.id,
    name: m.name,
    version: `SolusVM ${m.version}`,
    url: m.baseUrl,
    // a plain-http URL has no certificate to verify
    tls: m.baseUrl.startsWith('http://')
      ? ADMIN_TEXT.master.tlsNone
      : m.tlsMode + (m.tlsFingerprint ? ` (${m.tlsFingerprint.slice(0, 23)}…)` : ''),
    zone: m.timeZone,
    reset: m.resetPolicy.replace(/_/g, ' '),
    tuning: ADMIN_TEXT.master.tuning(m.concurrency, m.timeoutMs / 1000, m.retries),
    active: m.active,
    report: report
      ? {
          ok: report.ok,
          message: report.message,
          latency: report.latencyMs === null ? '' : `${report.latencyMs} ms`,
          servers: report.serverCount === null ? '' : String(report.serverCount),
          fingerprint: report.fingerprint256 ?? '',
        }
      : null,
  };
}

/** A product's billing settings as the admin reads them; thresholds and the limit policy where the profile has them. */
export function presentProduct(productId: number, p: BillingProfile, name: string) {
  const raw = p as BillingProfile & {
    thresholds?: number[];
    limitPolicy?: { action: string; throttleMbps?: number; throttlePlanId?: number };
  };
  const T = ADMIN_TEXT.product;
  const prices = Object.entries(p.prices).map(([cur, pr]) =>
    T.price(cur, pr.overage, pr.precommit, pr.minimum, pr.cap),
  );
  return {
    id: productId,
    name,
    enabled: p.enabled,
    model:
      p.model === 'per_unit'
        ? T.perUnit(p.unit)
        : p.model === 'per_block'
          ? T.perBlock(p.blockUnits, p.unit)
          : T.commitment(p.model === 'p95', p.commitMbps),
    allowance:
      p.allowance === 'solusvm'
        ? T.allowanceSolusvm
        : formatSoldBytes(BigInt(p.allowance), shown(p.unit as SoldUnit), L),
    tolerance:
      p.tolerance === '0' ? T.none : formatSoldBytes(BigInt(p.tolerance), shown(p.unit as SoldUnit), L),
    prices: prices.join('; '),
    window: T.window(
      p.window.days,
      p.window.counting,
      plural(p.window.days, 'day', 'days'),
      p.window.counting === 'business' ? String(p.window.holidays) : null,
    ),
    prorate: p.prorate ? T.yes : T.no,
    thresholds: raw.thresholds ? raw.thresholds.map((t) => `${t} %`).join(', ') : T.defaultThresholds,
    policy: raw.limitPolicy
      ? T.policy(raw.limitPolicy.action, raw.limitPolicy.throttleMbps, raw.limitPolicy.throttlePlanId)
      : T.defaultPolicy,
    upgradeAfter: T.upgradeAfter(counted(p.upgradeAfterPeriods, 'period', 'periods')),
    unpicked: T.unpicked(p.unpicked.policy.replace('_', ' '), counted(p.unpicked.afterDays, 'day', 'days')),
    json: JSON.stringify(p, null, 2),
  };
}

export const lineFilterQuery = (f: LineFilter): Record<string, string> => {
  const out: Record<string, string> = {};
  if (f.q) out.q = f.q;
  if (f.status) out.status = f.status;
  if (f.clientId !== undefined) out.client = String(f.clientId);
  if (f.serviceId !== undefined) out.service = String(f.serviceId);
  if (f.invoiceId !== undefined) out.invoice = String(f.invoiceId);
  return out;
};
