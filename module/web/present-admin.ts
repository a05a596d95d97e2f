import { DateTime } from 'luxon';
import { counted, plural } from '../domain/plural.js';
import { describeAnomaly } from '../domain/anomaly-text.js';
import type { AnomalyRow, ChargeSummary } from '../services/usage-periods.js';
import { dateTimeFormat } from '../domain/intl-cache.js';
import { displayUnit, formatAmount, formatByteAmount, formatDay, formatInteger } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type { MasterView } from '../services/masters.js';
import type { AuditRow, Dashboard, DisputeRow, LineFilter, SampleRow, ServiceListRow, WaitingCharge } from '../services/admin-reads.js';
import type { LineRow, Page } from '../services/usage-reads.js';
import type { BillingProfile } from '../services/billing-settings.js';
import type { ConnectionReport } from '../adapters/solusvm-types.js';
import { lineState, pctText } from './present-usage.js';
import { wordsFor } from './words.js';
import { ADMIN_STATE } from './admin-words.js';

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

export const TABS = [
  ['dashboard', 'Dashboard'],
  ['services', 'Services'],
  ['disputes', 'Disputes'],
  ['anomalies', 'Anomalies'],
  ['lines', 'Lines'],
  ['pools', 'Pools & caps'],
  ['settings', 'Settings'],
  ['audit', 'Audit log'],
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
const whenIn = (zone: string) => {
  const f = dateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone });
  return (iso: string | null): string => (iso ? f.format(new Date(iso)) : '–');
};

const shown = (unit: SoldUnit | null | undefined) => displayUnit(unit ?? 'GB');

export const DISPUTE_STATE_LABEL: Record<string, string> = { open: 'open', upheld: 'upheld', waived: 'waived', adjusted: 'adjusted', withdrawn: 'withdrawn' };

/** A charge whose invoice was paid or cancelled before its line got on: where it stands, in words. */
export function presentWaitingCharge(c: WaitingCharge, ctx: AdminCtx) {
  const when = whenIn(ctx.zone);
  return {
    chargeId: c.chargeId,
    serviceHref: ctx.href({ a: 'service', id: c.serviceId }),
    invoiceHref: ctx.panel ? ctx.panel.invoice(c.invoiceId) : null,
    text:
      `Charge ${c.chargeId} of service #${c.serviceId} (${formatAmount(c.amountMinor, c.currency, L)}, ${formatDay(c.periodStart, L)} – ${formatDay(c.periodEnd, L)}) ` +
      `waits for the service's next invoice: invoice #${c.invoiceId} was ${c.invoiceStatus.toLowerCase()} before its line could be added (seen ${when(c.releasedAt)}).`,
  };
}

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
export const HOLD_STATE_LABEL: Record<string, string> = {
  holding: 'being moved off its invoice',
  held: 'held',
  refund_decision: 'already paid: a refund or credit if it is waived or reduced',
  published: 'back on an invoice, due',
  released: 'taken off the invoices',
};

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
    state: d.resolvingTo ? `being ${d.resolvingTo}` : (DISPUTE_STATE_LABEL[d.state] ?? d.state),
    hold: HOLD_STATE_LABEL[d.holdState] ?? d.holdState,
    amountBefore: formatAmount(d.amountBeforeMinor, d.currency, L),
    amountAfter: d.amountAfterMinor === null ? null : formatAmount(d.amountAfterMinor, d.currency, L),
    opened: when(d.openedAt),
    openedBy: d.openedByType,
    waiting: d.state === 'open' ? `${waiting} ${waiting === 1 ? 'day' : 'days'}` : '',
    resolved: when(d.resolvedAt),
    reason: d.reason,
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
    projected: d.projected.map((p) => ({ amount: formatAmount(p.amountMinor, p.currency, L), services: p.services })),
    projectedServices: counted(d.projected.reduce((n, p) => n + p.services, 0), 'service', 'services'),
    meteredLabel: plural(d.meteredServices, 'service metered', 'services metered'),
    openDisputesLabel: plural(d.openDisputes, 'open dispute', 'open disputes'),
    // the panel's clock (the demo's, a replay's), not the server's
    computedAt: DateTime.fromMillis(d.asOf, { zone: ctx.zone }).toFormat('d LLL yyyy HH:mm:ss'),
    attention: d.attention.map((s) => presentServiceListRow(s, ctx)),
    oldestDisputes: d.oldestDisputes.map((x) => presentDisputeRow(x, ctx)),
    recentLines: d.recentLines.map((l) => presentLineRow(l, ctx)),
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
    decided: a.decidedAt ? `${a.decision} by ${a.decidedBy?.type ?? ''} ${a.decidedBy?.id ?? ''} on ${DateTime.fromISO(a.decidedAt, { zone: ctx.zone }).toFormat('d LLL yyyy HH:mm')}` : null,
  };
}

/** A correction waiting for review. */
export function presentCorrection(c: ChargeSummary & { serviceId: number; clientId: number; periodStart: string; periodEnd: string }, ctx: AdminCtx) {
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
    period: s.openPeriodStart ? `${formatDay(s.openPeriodStart, L)} – ${s.openPeriodEnd ? formatDay(s.openPeriodEnd, L) : '…'}` : 'not measured yet',
    used: s.openPeriodUsedBytes === null ? '–' : formatByteAmount(s.openPeriodUsedBytes, unit, L),
    allowance: a ? formatByteAmount(a.allowanceBytes, unit, L) : 'not billed',
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
    counter: s.usedBytes === null ? '' : `${formatByteAmount(s.usedBytes, unit, L)} (${formatInteger(s.usedBytes, L)} bytes)`,
    limit: s.limitBytes === null ? '' : formatByteAmount(s.limitBytes, unit, L),
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

const ACTORS: Record<string, string> = { admin: 'admin', client: 'client', system: 'the module', cli: 'the command line' };

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
      return `Billing settings of product ${id} saved.`;
    case 'line.placed':
      return `Overusage line ${id}${money} placed on invoice #${text('invoiceId')}${text('deadline') ? `, dispute by ${formatDay(text('deadline'), L)}` : ''}.`;
    case 'line.released':
      return `Line ${id}${money} taken off invoice #${text('invoiceId')}: ${text('reason') || 'the charge waits for the next invoice'}.`;
    case 'master.added':
      return `SolusVM master “${text('name')}” added (SolusVM ${text('version')}, ${text('baseUrl')}).`;
    case 'master.updated':
      return `SolusVM master ${id} changed: ${Object.keys(d).join(', ') || 'nothing'}.`;
    case 'master.removed':
      return `SolusVM master ${id} removed.`;
    case 'service.linked':
    case 'service.relinked':
      return `Service ${id} ${a.action === 'service.relinked' ? 're-linked' : 'linked'} to master ${text('masterId')}, server ${text('serverRef')}.`;
    case 'dispute.opened':
      return `Dispute ${id} opened on line ${text('lineId')}${money}${text('override') ? ` after the window (override: ${text('override')})` : ''}: “${text('reason')}”.`;
    case 'dispute.held':
      return `Dispute ${id}: the line${money} moved from invoice #${text('from')} to draft invoice #${text('heldInvoiceId')}.`;
    case 'dispute.refund_decision':
      return `Dispute ${id}: invoice #${text('invoiceId')} was already ${text('status').toLowerCase()}; a refund or credit is to be decided.`;
    case 'dispute.upheld':
    case 'dispute.waived':
    case 'dispute.adjusted':
    case 'dispute.withdrawn':
      return `Dispute ${id} ${a.action.slice('dispute.'.length)}${money}.`;
    case 'anomaly.decided':
      return `Counter drop ${id} on service ${text('serviceId')} decided as ${text('decision') === 'reset' ? 'a reset' : 'a correction'}: “${text('reason')}”.`;
    case 'settings.changed':
      return `Module settings changed: ${Object.keys(d).join(', ') || 'none'}.`;
    default: {
      const words = a.action.replace(/[._]/g, ' ');
      return `${words[0]!.toUpperCase()}${words.slice(1)}${a.entityType ? ` (${a.entityType}${id ? ` ${id}` : ''})` : ''}${money}.`;
    }
  }
}

export function presentAudit(page: Page<AuditRow>, zone: string) {
  const when = whenIn(zone);
  return page.rows.map((a) => ({
    id: a.id,
    at: when(a.at),
    actor: `${a.actingAdminId ? `admin ${a.actingAdminId} acting as ` : ''}${a.actorId ? `${ACTORS[a.actorType] ?? a.actorType} ${a.actorId}` : (ACTORS[a.actorType] ?? a.actorType)}`,
    action: a.action,
    sentence: auditSentence(a),
    entity: a.entityId ? `${a.entityType} ${a.entityId}` : a.entityType,
    details: a.details ?? '',
  }));
}

export function presentMaster(m: MasterView, report: ConnectionReport | null) {
  return {
    id: m.id,
    name: m.name,
    version: `SolusVM ${m.version}`,
    url: m.baseUrl,
    // a plain-http URL has no certificate to verify
    tls: m.baseUrl.startsWith('http://') ? 'none (http)' : m.tlsMode + (m.tlsFingerprint ? ` (${m.tlsFingerprint.slice(0, 23)}…)` : ''),
    zone: m.timeZone,
    reset: m.resetPolicy.replace(/_/g, ' '),
    tuning: `${m.concurrency} at once, ${m.timeoutMs / 1000} s timeout, ${m.retries} retries`,
    active: m.active,
    report: report ? { ok: report.ok, message: report.message, latency: report.latencyMs === null ? '' : `${report.latencyMs} ms`, servers: report.serverCount === null ? '' : String(report.serverCount), fingerprint: report.fingerprint256 ?? '' } : null,
  };
}

/** A product's billing settings as the admin reads them; thresholds and the limit policy where the profile has them. */
export function presentProduct(productId: number, p: BillingProfile, name: string) {
  const raw = p as BillingProfile & { thresholds?: number[]; limitPolicy?: { action: string; throttleMbps?: number; throttlePlanId?: number } };
  const prices = Object.entries(p.prices).map(([cur, pr]) => `${cur} ${pr.overage}${pr.precommit ? ` (agreed in advance ${pr.precommit})` : ''}${pr.minimum ? `, minimum ${pr.minimum}` : ''}${pr.cap ? `, cap ${pr.cap}` : ''}`);
  return {
    id: productId,
    name,
    enabled: p.enabled,
    model:
      p.model === 'per_unit'
        ? `per ${p.unit} over the allowance`
        : p.model === 'per_block'
          ? `per started block of ${p.blockUnits} ${p.unit}`
          : `${p.model === 'p95' ? '95th percentile' : 'average'} over a commitment of ${p.commitMbps} Mbit/s`,
    allowance: p.allowance === 'solusvm' ? 'the limit SolusVM applies' : formatByteAmount(BigInt(p.allowance), shown(p.unit as SoldUnit), L),
    tolerance: p.tolerance === '0' ? 'none' : formatByteAmount(BigInt(p.tolerance), shown(p.unit as SoldUnit), L),
    prices: prices.join('; '),
    window: `${p.window.days} ${p.window.counting} ${plural(p.window.days, 'day', 'days')}${p.window.counting === 'business' ? ` (holidays: ${p.window.holidays})` : ''}`,
    prorate: p.prorate ? 'yes' : 'no',
    thresholds: raw.thresholds ? raw.thresholds.map((t) => `${t} %`).join(', ') : '80 %, 90 %, 100 % (default)',
    policy: raw.limitPolicy ? `${raw.limitPolicy.action}${raw.limitPolicy.throttleMbps ? ` at ${raw.limitPolicy.throttleMbps} Mbit/s` : ''}${raw.limitPolicy.throttlePlanId ? ` (plan ${raw.limitPolicy.throttlePlanId})` : ''}` : 'bill the overusage (no limit policy setting in this version)',
    upgradeAfter: `${counted(p.upgradeAfterPeriods, 'period', 'periods')} over in a row`,
    unpicked: `${p.unpicked.policy.replace('_', ' ')} after ${counted(p.unpicked.afterDays, 'day', 'days')}`,
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
