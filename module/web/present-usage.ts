import { numberFormat, dateTimeFormat } from '../domain/intl-cache.js';
import type { CapSectionView, UpgradeSectionView } from './cap-section.js';
import { DateTime } from 'luxon';
import { daysBetween, type IsoDate } from '../domain/calendar.js';
import { formatAmount, formatDay, formatPeriod, formatSoldBytes, textLanguage } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type {
  DayFigure,
  LineRow,
  Page,
  PeriodNote,
  PeriodRow,
  ServiceRow,
  ServiceUsage,
  UnreadablePeriod,
} from '../services/usage-reads.js';
import { buildChart, type ChartView } from './chart.js';
import { isUnreadable, readableOf, type Listed, type UnreadableRow } from '../adapters/rows.js';
import { wordsFor, type WidgetWords } from './words.js';
import type { PoolFigures } from './pool-usage.js';
import { percentUsed } from '../domain/thresholds.js';
import { hundredthsToMinor, type CreditStanding } from '../domain/credit-use.js';

/**
 * The client widget's view-model, built from the reads by pure functions: every number, amount
 * and date already formatted in the client's locale, every link already built. The same model
 * feeds the client page, the home panel, the product details block and the admin's service page.
 */

export interface WidgetLinks {
  service(serviceId: number): string;
  form(serviceId: number): string;
  periodCsv(serviceId: number, periodId: number): string;
  lineCsv(lineId: number): string;
  morePeriods(serviceId: number, cursor: string): string;
  /** the page with a past period's daily chart */
  periodChart(serviceId: number, periodId: number): string;
  /** the client's own page of an invoice in the panel (none where the page is not in the panel) */
  invoice?(invoiceId: number): string;
}

export interface MeterView {
  pct: string;
  fill: number;
  projected: number | null;
  /** what the dashed projection mark means, in words beside its key */
  projectedLabel: string | null;
  state: 'ok' | 'near' | 'over';
  /** row 1 is a second line under the first, for a mark too close to its neighbour to share a line at phone width; align keeps the first and last inside the meter */
  marks: Array<{
    pct: number;
    at: number;
    reached: boolean;
    label: string;
    row: 0 | 1;
    align: 'start' | 'middle' | 'end';
  }>;
  label: string;
}

export interface LineView {
  id: number;
  ref: string;
  period: string;
  description: string;
  amount: string;
  originalAmount: string | null;
  invoice: string;
  invoiceId: number;
  invoiceHref: string | null;
  state: string;
  stateLabel: string;
  deadline: string;
  deadlineIso: string;
  countdown: string | null;
  canDispute: boolean;
  /** what a dispute of it does, told beside the form: held back, or (paid already) the difference back */
  disputeHelp: string;
  refusal: string | null;
  dispute: {
    id: number;
    opened: string;
    reason: string;
    outcome: string | null;
    canWithdraw: boolean;
    version: number;
    creditNote?: { label: string; href: string | null } | null;
  } | null;
  /** the credit the decision gave on a paid line, and the invoices it has paid since */
  credit?: CreditView | null;
  csv: string;
  chart: string;
}

export interface PeriodView {
  id: number;
  label: string;
  /** what happened to the counter in the period, in words */
  notes: string[];
  used: string;
  allowance: string;
  over: string;
  outcome: string;
  /** the credits its lines' decisions gave, as on the lines */
  credit?: CreditView[];
  csv: string;
  chart: string;
  shown: boolean;
}

/** "€500.00 credited to your account · €19.95 used on invoice #7 · €480.05 left": each part in words, an invoice with its link. */
export interface CreditView {
  given: string;
  uses: Array<{ text: string; invoice: string | null; href: string | null }>;
  left: string;
}

export interface ServiceView {
  id: number;
  label: string;
  formAction: string;
  hasData: boolean;
  periodLabel: string;
  measuredUntil: string;
  usedText: string;
  noAllowance: boolean;
  meter: MeterView | null;
  projection: { use: string; cost: string; runOut: string } | null;
  /** a pooled service: the figures above are the pool's; what each VPS of it used */
  pool: { note: string; title: string; members: Array<{ id: number; text: string; self: boolean }> } | null;
  thresholds: string;
  /** the notice sent this period, and the VPS throttled or suspended at the limit */
  notices: Array<{ kind: 'info' | 'warn'; text: string }>;
  /** what happens at the limit, when the product does more than bill */
  policy: string | null;
  chart: ChartView | null;
  /** what the chart shows: this period, or a past one (then a link back) */
  chartTitle: string;
  chartBack: string | null;
  legend: { measured: string; estimated: string; missing: string };
  csv: string | null;
  periods: PeriodView[];
  morePeriods: string | null;
  lines: LineView[];
  /** what is said of the list's periods and the chart's intervals that cannot be read (also in notices) */
  unreadable: { periods: string[]; days: string[] };
}

export interface WidgetView {
  lang: 'en' | 'nl';
  locale: string;
  w: WidgetWords;
  services: Array<{ id: number; label: string; href: string; selected: boolean; pct: string }>;
  service: ServiceView | null;
  /** the chosen service's record cannot be read: the neutral sentence shown instead of its figures */
  unavailable?: string | null;
  flash: { kind: 'success' | 'error'; text: string } | null;
  /** the spending-cap block (module/web/cap-section.ts), when the plan offers caps or one is set */
  cap?: CapSectionView | null;
  /** the upgrade suggestion with its figures and the one-click form */
  upgrade?: UpgradeSectionView | null;
}

export interface WidgetInput {
  locale: string;
  now: DateTime;
  services: Array<Listed<ServiceRow>>;
  labels: Map<number, string>;
  /** the chosen service, whose record cannot be read (usage is then null) */
  unavailable?: number | null;
  usage: ServiceUsage | null;
  periods: Page<PeriodRow | UnreadablePeriod> | null;
  lines: LineRow[];
  focus?: PeriodFocus | null;
  banner?: UsageBanner | null;
  /** the service's pool in the open month, when it is pooled */
  pool?: PoolFigures | null;
  links: WidgetLinks;
  flash?: WidgetView['flash'];
  /** per line: what became of the credit its decision gave (from the client's credit log) */
  credits?: Map<number, CreditStanding>;
  /** the invoices the panel says were cancelled or refunded: their lines are not owed, so not disputable */
  notOwed?: NotOwedInvoices;
  /** the invoices the panel says are paid: a dispute of their lines holds nothing back, the difference comes back */
  paidInvoices?: ReadonlySet<number>;
}

/** Invoices whose lines are not owed (cancelled or refunded), by id, with that status. */
export type NotOwedInvoices = ReadonlyMap<number, 'Cancelled' | 'Refunded'>;

const dailyUnit = (u: SoldUnit): 'GB' | 'GiB' => (u === 'GiB' || u === 'TiB' ? 'GiB' : 'GB');

export const pctText = (decimal: string | null, locale: string): string =>
  decimal === null
    ? '–'
    : `${numberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(decimal as Intl.StringNumericLiteral)}\u00a0%`;

export const shortDay = (locale: string) => {
  const f = dateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return (d: IsoDate) => f.format(new Date(`${d}T00:00:00Z`));
};

/** What a line is now: its own status, or its dispute's. */
export function lineState(l: LineRow): string {
  if (l.dispute) {
    if (l.dispute.resolvingTo) return 'resolving';
    if (l.dispute.state === 'open')
      return l.dispute.holdState === 'refund_decision' ? 'refund_decision' : 'held';
    return l.dispute.state;
  }
  return l.status;
}

/** "12 days left", "5 hours left"; null once the window has closed. */
export function countdown(closesAt: DateTime, now: DateTime, w: WidgetWords): string | null {
  const ms = closesAt.toMillis() - now.toMillis();
  if (ms <= 0) return null;
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  return w.left(days, hours, minutes % 60);
}

/**
 * The invoice a client can open for a line: while it is held, the draft it sits on is hidden from
 * the client (as in WHMCS), so the line is named by the invoice it was held back from; once waived
 * the draft is cancelled, and the line names the invoice it was on.
 */
export const clientInvoiceId = (l: LineRow): number => clientInvoice(l, null).id;

function clientInvoice(l: LineRow, w: WidgetWords | null): { id: number; label: string } {
  const d = l.dispute;
  if (d && d.originalInvoiceId && l.invoiceId !== d.originalInvoiceId) {
    if (d.holdState === 'holding' || d.holdState === 'held')
      return { id: d.originalInvoiceId, label: w ? w.heldFrom(d.originalInvoiceId) : '' };
    if (d.state === 'waived')
      return { id: d.originalInvoiceId, label: w ? w.wasOn(d.originalInvoiceId) : '' };
  }
  return { id: l.invoiceId, label: w ? w.invoice(l.invoiceId) : '' };
}

/** What was decided on a line's dispute, in the client's words with the money; null while it is open. */
function decidedOutcome(
  d: NonNullable<LineRow['dispute']>,
  locale: string,
  w: WidgetWords,
  money: (m: bigint) => string,
): string | null {
  if (d.state === 'open' || !d.resolvedAt) return null;
  const on = formatDay(d.resolvedAt.slice(0, 10), locale);
  const due = d.newDueDate ? formatDay(d.newDueDate, locale) : '';
  const after = d.state === 'waived' ? 0n : (d.amountAfterMinor ?? d.amountBeforeMinor);
  // what went back, VAT included where a credit note gave it (stored with the decision)
  if (d.settlement === 'credited' && (d.state === 'waived' || d.state === 'adjusted'))
    return w.resolved.credited(on, money(after), money(d.creditedMinor ?? d.amountBeforeMinor - after));
  // a paid line: the refund the admin makes (never "due on" a date: nothing is due again)
  if (
    d.settlement === 'refund' &&
    typeof d.creditedMinor === 'bigint' &&
    (d.state === 'waived' || d.state === 'adjusted')
  )
    return w.resolved.refunded(on, money(after), money(d.creditedMinor));
  if (d.state === 'upheld' && d.holdState === 'refund_decision') return w.resolved.upheldPaid(on);
  if (d.state === 'upheld') return w.resolved.upheld(on, due);
  if (d.state === 'adjusted')
    return w.resolved.adjusted(on, money(d.amountBeforeMinor), money(d.amountAfterMinor ?? 0n), due);
  if (d.state === 'waived') return w.resolved.waived(on, money(d.amountBeforeMinor));
  if (d.state === 'withdrawn') return w.resolved.withdrawn(on, due);
  if (d.state === 'voided' && d.voidedBy)
    return w.resolved.voided(on, d.voidedBy.invoiceId, d.voidedBy.status === 'Refunded');
  return null;
}

export function presentLine(
  l: LineRow,
  locale: string,
  now: DateTime,
  w: WidgetWords,
  links: Pick<WidgetLinks, 'lineCsv' | 'periodChart' | 'invoice'>,
  notOwed: NotOwedInvoices = new Map(),
  paid: ReadonlySet<number> = new Set(),
): LineView {
  const state = lineState(l);
  const closesAt = DateTime.fromISO(l.deadlineClosesAt, { zone: 'utc' });
  const open = now < closesAt;
  const money = (m: bigint) => formatAmount(m, l.currency, locale);
  const d = l.dispute;
  const outcome = d ? decidedOutcome(d, locale, w, money) : null;
  // a line of a cancelled or refunded invoice is owed by no one: nothing to dispute (the service refuses it)
  const closedBy = notOwed.get(l.invoiceId);
  const canDispute = !d && l.status === 'placed' && open && !closedBy;
  const shown = clientInvoice(l, w);
  return {
    id: l.id,
    ref: l.refCode,
    period: formatPeriod(l.periodStart, l.periodEnd, locale),
    description: l.description,
    amount: money(l.amountMinor),
    originalAmount: d && l.amountMinor !== d.amountBeforeMinor ? money(d.amountBeforeMinor) : null,
    invoice: shown.label,
    invoiceId: shown.id,
    invoiceHref: links.invoice ? links.invoice(shown.id) : null,
    state,
    stateLabel: w.lineStatus[state] ?? state,
    deadline: formatDay(l.deadlineLastDay, locale),
    deadlineIso: l.deadlineClosesAt,
    countdown: d ? null : countdown(closesAt, now, w),
    canDispute,
    disputeHelp: paid.has(l.invoiceId) ? w.disputeHelpPaid : w.disputeHelp,
    // the same words the dispute service answers with once the window has closed
    refusal:
      d || l.status !== 'placed'
        ? null
        : closedBy
          ? w.notOwed(l.invoiceId, closedBy)
          : !open
            ? w.windowClosed(formatDay(l.deadlineLastDay, locale))
            : null,
    dispute: d
      ? {
          id: d.id,
          opened: w.disputed(formatDay(d.openedAt.slice(0, 10), locale)),
          reason: d.reason,
          outcome,
          canWithdraw: d.state === 'open' && !d.resolvingTo,
          version: d.version,
          // the invoice that corrected a paid line's invoice, the client's to open
          creditNote: d.creditNoteInvoiceId
            ? {
                label: w.creditNote(d.creditNoteInvoiceId),
                href: links.invoice ? links.invoice(d.creditNoteInvoiceId) : null,
              }
            : null,
        }
      : null,
    csv: links.lineCsv(l.id),
    // a pool's line has no usage period of its own to chart (its evidence is the members' days)
    chart: l.periodId > 0 ? links.periodChart(l.serviceId, l.periodId) : '',
  };
}

/**
 * Where each threshold's label goes under the meter. A label is about 2.5 rem wide, 12 % of a
 * meter on a 390 px phone (about 330 px): a mark closer than 15 points to the last one on its line
 * goes on the second line (80/90/100 % read 80 and 100 above, 90 below); the labels at the ends are
 * aligned inwards so "100 %" stays inside the card.
 */
export function placeMarks(
  marks: Array<{ pct: number; at: number; reached: boolean; label: string }>,
): MeterView['marks'] {
  const lastOnRow: [number, number] = [-Infinity, -Infinity];
  return marks.map((m) => {
    const row: 0 | 1 = m.at - lastOnRow[0] >= 15 ? 0 : m.at - lastOnRow[1] >= 15 ? 1 : 0;
    lastOnRow[row] = m.at;
    return { ...m, row, align: m.at >= 95 ? 'end' : m.at <= 5 ? 'start' : 'middle' };
  });
}

export function presentMeter(
  pctDecimal: string | null,
  projectedPct: number | null,
  thresholds: number[],
  crossed: number[],
  locale: string,
  w: WidgetWords,
): MeterView | null {
  if (pctDecimal === null) return null;
  const pct = Number(pctDecimal);
  const top = Math.max(
    100,
    ...thresholds,
    Math.min(200, Math.ceil(Math.max(pct, projectedPct ?? 0) / 10) * 10),
  );
  const at = (p: number) => Math.round((Math.min(p, top) / top) * 1000) / 10;
  const lowest = thresholds[0] ?? 80;
  const text = pctText(pctDecimal, locale);
  return {
    pct: text,
    fill: at(pct),
    projected: projectedPct === null ? null : at(projectedPct),
    projectedLabel: projectedPct === null ? null : w.projectedMark(pctText(projectedPct.toFixed(1), locale)),
    state: pct >= 100 ? 'over' : pct >= lowest ? 'near' : 'ok',
    marks: placeMarks(
      thresholds.map((p) => ({ pct: p, at: at(p), reached: crossed.includes(p), label: `${p}\u00a0%` })),
    ),
    label: w.meterLabel(text),
  };
}

/** What the threshold notices and the policy at the limit said about the open period (module/services/threshold-notices.ts). */
export interface UsageBanner {
  pct: number;
  decidedAt: string;
  limitAction: { action: string; status: string } | null;
}

const ACTIVE_LIMIT = ['pending', 'applied', 'observed'];

/** A past period to chart instead of the open one. */
export interface PeriodFocus {
  period: PeriodRow;
  days: DayFigure[];
  /** its intervals that cannot be read: their days are missing from `days` */
  unreadable?: UnreadableRow[];
}

function usedText(
  pool: PoolFigures | null,
  a: ServiceUsage['assessment'],
  used: string,
  sold: SoldUnit,
  locale: string,
  w: WidgetWords,
): string {
  if (!used) return '';
  if (!a) return w.usedNoAllowance(used);
  const allowance = formatSoldBytes(a.allowanceBytes, sold, locale);
  return pool
    ? w.poolUsed(pool.name, pool.members.length, used, allowance, pctText(a.percentUsed, locale))
    : w.ofAllowance(used, allowance, pctText(a.percentUsed, locale));
}

/**
 * A pooled service's pool under its meter: each VPS with what it used this month and its part of
 * the pool's traffic (to one decimal; the parts are rounded, so they may not add up to 100 %).
 */
export function presentPool(
  pool: PoolFigures,
  selfId: number,
  labels: Map<number, string>,
  sold: SoldUnit,
  locale: string,
  w: WidgetWords,
): NonNullable<ServiceView['pool']> {
  return {
    note: w.poolNote,
    title: w.poolMembers,
    members: pool.members.map((m) => ({
      id: m.serviceId,
      self: m.serviceId === selfId,
      text: w.poolMember(
        m.serviceId === selfId
          ? `${labels.get(m.serviceId) ?? `#${m.serviceId}`} (${w.poolThis})`
          : (labels.get(m.serviceId) ?? `#${m.serviceId}`),
        formatSoldBytes(m.usedBytes, sold, locale),
        pctText(percentUsed(m.usedBytes, pool.usedBytes), locale),
      ),
    })),
  };
}

/** What became of a credit, in the client's words; the panel's hundredths shown in the line's currency. */
export function presentCredit(
  c: CreditStanding,
  currency: string,
  locale: string,
  w: WidgetWords,
  links: Pick<WidgetLinks, 'invoice'>,
): CreditView {
  const money = (hundredths: bigint) =>
    formatAmount(hundredthsToMinor(hundredths, currency), currency, locale);
  return {
    given: w.credit.given(money(c.given)),
    uses: c.uses.map((u) =>
      u.invoiceId === null
        ? { text: w.credit.takenBack(money(u.amount)), invoice: null, href: null }
        : {
            text: w.credit.usedOn(money(u.amount)),
            invoice: w.invoice(u.invoiceId),
            href: links.invoice ? links.invoice(u.invoiceId) : null,
          },
    ),
    left: w.credit.left(money(c.left)),
  };
}

/** The meter and the projection to the period's end, once there are figures to project from. */
function meterAndProjection(
  a: ServiceUsage['assessment'],
  ends: IsoDate | null,
  sold: SoldUnit,
  locale: string,
  w: WidgetWords,
): { meter: MeterView | null; projection: ServiceView['projection'] } {
  if (!a) return { meter: null, projection: null };
  const projectedPct =
    a.projection.projectedUsedBytes !== null && a.allowanceBytes > 0n
      ? Number((a.projection.projectedUsedBytes * 1000n) / a.allowanceBytes) / 10
      : null;
  const r = a.projection.runOut;
  return {
    meter: presentMeter(a.percentUsed, projectedPct, a.thresholds, a.crossed, locale, w),
    projection: {
      use:
        a.projection.projectedUsedBytes !== null && ends
          ? w.projectedUse(
              formatSoldBytes(a.projection.projectedUsedBytes, sold, locale),
              formatDay(ends, locale),
            )
          : '',
      cost: a.cost
        ? a.cost.atEndMinor > 0n
          ? w.projectedCost(formatAmount(a.cost.atEndMinor, a.cost.currency, locale))
          : w.projectedNoCost
        : '',
      runOut:
        r.kind === 'reached'
          ? w.runOutReached
          : r.kind === 'on'
            ? w.runsOutOn(formatDay(r.date, locale))
            : r.kind === 'lasts'
              ? w.runOutLasts
              : w.noTraffic,
    },
  };
}

/** The daily chart: a past period's when one is asked for, else the open period's (the service's own days, pooled or not). */
function serviceChart(
  u: ServiceUsage,
  focus: PeriodFocus | null,
  locale: string,
  w: WidgetWords,
): { chart: ChartView | null; chartTitle: string } {
  const short = shortDay(locale);
  const open = u.open;
  if (focus) {
    const p = focus.period;
    const end = p.endDate ?? p.startDate;
    const label = formatPeriod(p.startDate, end, locale);
    const unit = p.charge?.unit ?? u.unit;
    return {
      chartTitle: `${w.perDay}, ${label}`,
      chart: buildChart({
        id: `ou-chart-${u.service.serviceId}-${p.id}`,
        days: focus.days,
        from: p.startDate,
        to: end,
        paceBytes: p.charge ? p.charge.allowanceBytes / BigInt(daysBetween(p.startDate, end) + 1) : null,
        unit: dailyUnit(unit),
        locale,
        words: w,
        periodLabel: label,
        formatDate: short,
      }),
    };
  }
  if (!open) return { chart: null, chartTitle: w.perDay };
  const ownLabel = formatPeriod(open.start, open.end ?? open.asOf, locale);
  const daysInPeriod = open.shape.end ? daysBetween(open.shape.from, open.shape.end) + 1 : null;
  // the service's own days and, pooled, the pace of its own share
  const own = u.assessment;
  return {
    chartTitle: `${w.perDay}, ${ownLabel}`,
    chart: buildChart({
      id: `ou-chart-${u.service.serviceId}`,
      days: u.days,
      from: open.start,
      to: open.end ?? open.asOf,
      paceBytes: own && daysInPeriod ? own.allowanceBytes / BigInt(daysInPeriod) : null,
      unit: dailyUnit(u.unit),
      locale,
      words: w,
      periodLabel: ownLabel,
      formatDate: short,
    }),
  };
}

/** The notice sent this period, the action at the limit, and what metering found in the counter. */
function serviceNotices(
  u: ServiceUsage,
  banner: UsageBanner | null,
  sold: SoldUnit,
  locale: string,
  w: WidgetWords,
  named?: NameUnreadable,
): ServiceView['notices'] {
  const notices: ServiceView['notices'] = [];
  if (banner) {
    const limit =
      banner.limitAction && ACTIVE_LIMIT.includes(banner.limitAction.status)
        ? banner.limitAction.action
        : null;
    if (limit)
      notices.push({ kind: 'warn', text: limit === 'suspend' ? w.limitSuspended : w.limitThrottled });
    notices.push({
      kind: 'info',
      text: w.noticeSent(banner.pct, formatDay(DateTime.fromISO(banner.decidedAt).toISODate()!, locale)),
    });
  }
  if (u.open)
    for (const text of counterNotes(u.notes, sold, locale, u.zone, w, named))
      notices.push({ kind: 'info', text });
  return notices;
}

/** a line's credit standing as the widget shows it (null without one) */
function lineCredits(
  credits: Map<number, CreditStanding> | undefined,
  locale: string,
  w: WidgetWords,
  links: WidgetLinks,
): (l: LineRow) => CreditView | null {
  const standing = credits ?? new Map<number, CreditStanding>();
  return (l) => {
    const c = standing.get(l.id);
    return c ? presentCredit(c, l.currency, locale, w, links) : null;
  };
}

/** The closed periods of the page, each with its CSV and chart links and the credits of its lines. */
function pastPeriods(
  u: ServiceUsage,
  rows: ReadonlyArray<PeriodRow | UnreadablePeriod>,
  lines: LineRow[],
  focus: PeriodFocus | null,
  creditOf: (l: LineRow) => CreditView | null,
  locale: string,
  w: WidgetWords,
  links: WidgetLinks,
  named?: NameUnreadable,
): PeriodView[] {
  // one that cannot be read is said apart (unreadableSaid), never shown with a figure
  return readableOf<PeriodRow>(rows)
    .filter((p) => p.status !== 'open')
    .map((p) => ({
      ...presentPeriod(
        p,
        u.unit,
        u.service.currency,
        locale,
        w,
        links.periodCsv(u.service.serviceId, p.id),
        u.zone,
        named,
      ),
      credit: lines.filter((l) => l.periodId === p.id).flatMap((l) => creditOf(l) ?? []),
      chart: links.periodChart(u.service.serviceId, p.id),
      shown: focus?.period.id === p.id,
    }));
}

export function presentService(
  u: ServiceUsage,
  label: string,
  periods: Page<PeriodRow | UnreadablePeriod> | null,
  lines: LineRow[],
  input: Pick<WidgetInput, 'locale' | 'now' | 'links' | 'credits' | 'notOwed' | 'paidInvoices'> & {
    focus?: PeriodFocus | null;
    banner?: UsageBanner | null;
    pool?: PoolFigures | null;
    labels?: Map<number, string>;
    /** how a note that cannot be read is shown (the admin's page names it); the client's neutral words without */
    named?: NameUnreadable;
    /** the same for a period of the list and an interval of the chart */
    namedRows?: { period: NameUnreadable; interval: NameUnreadable };
  },
): ServiceView {
  const { locale, now, links } = input;
  const w = wordsFor(textLanguage(locale));
  // every quantity in the unit sold, 2 decimals, as the invoice line says it
  const sold = u.unit;
  // a member not read yet (linked today) still shows its pool, which has figures
  const pool = input.pool ?? null;
  // a pooled service's meter, projection and thresholds are its pool's month; its chart stays its own
  const a = pool ? pool.assessment : u.assessment;
  const open = u.open;
  const ends = pool ? pool.end : (open?.end ?? null);
  const used = pool
    ? formatSoldBytes(pool.usedBytes, sold, locale)
    : open
      ? formatSoldBytes(open.usedBytes, sold, locale)
      : '';
  const { meter, projection } =
    open || pool ? meterAndProjection(a, ends, sold, locale, w) : { meter: null, projection: null };
  const ownLabel = open ? formatPeriod(open.start, open.end ?? open.asOf, locale) : '';
  const focus = input.focus && input.focus.period.status !== 'open' ? input.focus : null;
  const { chart, chartTitle } = serviceChart(u, focus, locale, w);
  const creditOf = lineCredits(input.credits, locale, w, links);
  const action = (u.profile as { limitPolicy?: { action?: string } } | null)?.limitPolicy?.action;
  const days = focus ? (focus.unreadable ?? []) : u.daysUnreadable;
  const unreadable = unreadableSaid(periods?.rows ?? [], days, w, input.namedRows);
  return {
    id: u.service.serviceId,
    label,
    formAction: links.form(u.service.serviceId),
    hasData: open !== null || pool !== null,
    periodLabel: pool ? formatPeriod(pool.start, pool.end, locale) : ownLabel,
    measuredUntil: pool
      ? w.measuredUntil(formatDay(pool.asOf, locale))
      : open
        ? w.measuredUntil(formatDay(open.asOf, locale))
        : w.notMeasured,
    usedText: usedText(pool, a, used, sold, locale, w),
    pool: pool ? presentPool(pool, u.service.serviceId, input.labels ?? new Map(), sold, locale, w) : null,
    noAllowance: open !== null && a === null,
    meter,
    projection,
    thresholds: a ? a.thresholds.map((p) => `${p}\u00a0%`).join(', ') : '',
    notices: [
      ...serviceNotices(u, open || pool ? (input.banner ?? null) : null, sold, locale, w, input.named),
      ...[...unreadable.periods, ...unreadable.days].map((text) => ({ kind: 'info' as const, text })),
    ],
    policy: action === 'throttle' ? w.policyThrottle : action === 'suspend' ? w.policySuspend : null,
    chart,
    chartTitle,
    chartBack: focus ? links.service(u.service.serviceId) : null,
    legend: { measured: w.legendMeasured, estimated: w.legendEstimated, missing: w.legendMissing },
    csv: focus
      ? links.periodCsv(u.service.serviceId, focus.period.id)
      : open
        ? links.periodCsv(u.service.serviceId, open.periodId)
        : null,
    periods: pastPeriods(u, periods?.rows ?? [], lines, focus, creditOf, locale, w, links, input.named),
    morePeriods: periods?.next ? links.morePeriods(u.service.serviceId, periods.next) : null,
    lines: lines.map((l) => ({
      ...presentLine(l, locale, now, w, links, input.notOwed, input.paidInvoices),
      credit: creditOf(l),
    })),
    unreadable,
  };
}

/** How a page shows a row that cannot be read. */
export type NameUnreadable = (u: UnreadableRow) => string;

/**
 * What the page says of the periods of its list and the intervals of its chart that cannot be read:
 * the admin each by name, the client once each in neutral words (the operator has the log line).
 */
function unreadableSaid(
  periods: ReadonlyArray<PeriodRow | UnreadablePeriod>,
  intervals: readonly UnreadableRow[],
  w: WidgetWords,
  named?: { period: NameUnreadable; interval: NameUnreadable },
): ServiceView['unreadable'] {
  const gone = periods.filter((p): p is UnreadablePeriod => isUnreadable(p));
  const said = (rows: readonly UnreadableRow[], name: NameUnreadable | undefined, neutral: string) =>
    rows.length === 0 ? [] : name ? rows.map(name) : [neutral];
  return {
    periods: said(gone, named?.period, w.periodUnavailable),
    days: said(intervals, named?.interval, w.daysUnavailable),
  };
}

/**
 * What metering found in a period's counter, in the client's words: a reset SolusVM skipped or
 * made late, a drop waiting for a decision or decided, traffic never measured, long gaps.
 */
export function counterNotes(
  notes: ReadonlyArray<Listed<PeriodNote>>,
  sold: SoldUnit,
  locale: string,
  zone: string,
  w: WidgetWords,
  named?: NameUnreadable,
): string[] {
  const c = w.counter;
  const day = (d: unknown) => formatDay(String(d).slice(0, 10), locale);
  const bytes = (v: unknown) => formatSoldBytes(BigInt(String(v ?? '0')), sold, locale);
  const time = dateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: zone });
  const at = (iso: unknown) => {
    const t = DateTime.fromISO(String(iso), { setZone: true });
    return c.at(time.format(new Date(t.toMillis())), formatDay(t.setZone(zone).toISODate()!, locale));
  };
  const out: string[] = [];
  for (const n of notes) {
    // a note that cannot be read: the client is told only that; the admin's page names it
    if (isUnreadable(n)) {
      out.push(named ? named(n) : c.unreadable);
      continue;
    }
    const d = n.details;
    switch (n.kind) {
      case 'reset_not_seen':
        // ended by a drop no reset explains (metering.ts, resetDueEnded): not "the reset came later"
        if (n.status === 'resolved' && d.endedBy === 'drop')
          out.push(c.resetMissedDropped(day(d.expectedOn), day(d.endedOn)));
        else
          out.push(
            n.status === 'resolved' ? c.resetMissedCame(day(d.expectedOn)) : c.resetMissed(day(d.expectedOn)),
          );
        break;
      case 'late_reset':
        out.push(c.resetLate(day(d.dueOn), Number(d.daysLate), day(d.seenOn ?? n.seenOn)));
        break;
      case 'mid_period_drop':
        if (n.decision === 'reset') out.push(c.dropReset(day(n.seenOn), at(d.lastReadAt)));
        else if (n.decision === 'correction') out.push(c.dropCorrection(day(n.seenOn)));
        else out.push(c.dropOpen(day(n.seenOn), bytes(d.fromBytes), bytes(d.toBytes)));
        break;
      case 'unmeasured':
        out.push(c.unmeasured(day(d.fromDate), day(d.toDate)));
        break;
      case 'long_gap':
        out.push(c.longGap(Number(d.days), day(d.toDate)));
        break;
    }
  }
  return out;
}

export function presentPeriod(
  p: PeriodRow,
  unit: SoldUnit,
  currency: string,
  locale: string,
  w: WidgetWords,
  csv: string,
  zone = 'UTC',
  named?: NameUnreadable,
): PeriodView {
  const sold = p.charge?.unit ?? unit;
  const c = p.charge;
  let outcome = w.notRated;
  if (c) {
    if (c.status === 'within_allowance') outcome = w.withinAllowance;
    else if (c.status === 'written_off') outcome = w.writtenOff;
    else if (c.status === 'unbilled')
      outcome = `${w.toInvoice}: ${formatAmount(c.amountMinor, c.currency || currency, locale)}`;
    else {
      // what the period's lines bill now (after a dispute's decision), by the API's own rule (domain/billed-now.ts)
      const now = c.billedNow ?? null;
      // a line of the period cannot be read: no figure, neither the rated amount nor a smaller sum
      if (now === 'unavailable') outcome = w.figureUnavailable;
      else if (now?.afterDispute === 'waived') outcome = w.lineStatus.waived!;
      else {
        outcome = `${w.billed}: ${formatAmount(now ? now.amountMinor : c.amountMinor, c.currency || currency, locale)}`;
        if (now?.afterDispute === 'adjusted') outcome += ` (${w.lineStatus.adjusted})`;
      }
    }
  }
  return {
    id: p.id,
    label: formatPeriod(p.startDate, p.endDate ?? p.startDate, locale),
    notes: counterNotes(p.notes, sold, locale, zone, w, named),
    // in the unit sold, as the period's invoice line says it
    used: formatSoldBytes(p.usedBytes, sold, locale),
    allowance: c ? formatSoldBytes(c.allowanceBytes, sold, locale) : '–',
    over: c ? formatSoldBytes(c.overBytes, sold, locale) : '–',
    outcome,
    csv,
    chart: '',
    shown: false,
  };
}

export function presentWidget(input: WidgetInput): WidgetView {
  const lang = textLanguage(input.locale);
  const w = wordsFor(lang);
  const selected = input.usage?.service.serviceId ?? input.unavailable ?? null;
  // a service whose record cannot be read is offered by its name, with no figure
  const ids = input.services.flatMap((s) => {
    const id = isUnreadable(s) ? s.id : s.serviceId;
    return id === null ? [] : [id];
  });
  const a = input.pool?.assessment ?? input.usage?.assessment;
  return {
    lang,
    locale: input.locale,
    w,
    services: ids.map((id) => ({
      id,
      label: input.labels.get(id) ?? `#${id}`,
      href: input.links.service(id),
      selected: id === selected,
      pct: id === selected && a ? pctText(a.percentUsed, input.locale) : '',
    })),
    unavailable: input.unavailable ? w.figureUnavailable : null,
    service: input.usage
      ? presentService(
          input.usage,
          input.labels.get(input.usage.service.serviceId) ?? `#${input.usage.service.serviceId}`,
          input.periods,
          input.lines,
          input,
        )
      : null,
    flash: input.flash ?? null,
  };
}
