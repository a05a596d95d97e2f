import type { DateTime } from 'luxon';
import type { DayFigure } from '../domain/daily-series.js';
import { moneyToDecimalString } from '../domain/money.js';
import { hundredthsToMinor, type CreditStanding } from '../domain/credit-use.js';
import type { DisputeView } from '../services/disputes.js';
import type { AuditRow, DisputeRow, SampleRow, ServiceListRow } from '../services/admin-reads.js';
import type {
  LineRow,
  PeriodRow,
  ServiceRow,
  ServiceUsage,
  UsageAssessment,
} from '../services/usage-reads.js';
import { clientInvoiceId, lineState } from './present-usage.js';
import { describeAnomaly } from '../domain/anomaly-text.js';
import type { AnomalyRow, ChargeSummary, PeriodView as UsagePeriodView } from '../services/usage-periods.js';
import type { RerateOutcome } from '../services/rating.js';
import type { ProjectedTotal } from '../services/admin-reads.js';
import { isUnreadable, type Listed, type UnreadableRow } from '../adapters/rows.js';

/**
 * How the JSON API spells things (docs/openapi.yaml): bytes and money as strings (exact; JSON
 * numbers would lose them past 2^53), money as {amount: "500.00", currency: "EUR"} in major units,
 * days as YYYY-MM-DD, instants as ISO 8601 in UTC.
 */
export interface MoneyJson {
  amount: string;
  currency: string;
}

export const money = (minor: bigint, currency: string): MoneyJson => ({
  amount: moneyToDecimalString({ amountMinor: minor, currency }),
  currency,
});
const bytes = (b: bigint | null) => (b === null ? null : b.toString());

/** An admin list's row that cannot be read (UnreadableRow): `{ id, unreadable: { column, reason } }`, never the value. */
export const unreadableJson = (u: UnreadableRow) => ({
  id: u.id,
  unreadable: { column: u.unreadable.column, reason: u.unreadable.reason },
});

/** A total in JSON: Money with its services, or UnavailableTotal when a row it counts cannot be read. */
export const projectedJson = (p: ProjectedTotal) =>
  p.amountMinor === null
    ? { currency: p.currency, services: p.services, unavailable: p.unreadable.map(unreadableJson) }
    : { ...money(p.amountMinor, p.currency!), services: p.services };

/** A row of an admin list in JSON: as `json` says, or as unreadable. */
export const listedJson =
  <T, J>(json: (r: T) => J) =>
  (r: Listed<T>): J | ReturnType<typeof unreadableJson> =>
    isUnreadable(r) ? unreadableJson(r) : json(r);

export const dayJson = (d: DayFigure) => ({
  date: d.date,
  bytes: d.missing ? null : d.bytes.toString(),
  estimatedBytes: d.estimatedBytes.toString(),
  missing: d.missing,
  undecided: d.undecided === true,
});

/** An anomaly for operators: what it is, in words, and what was decided. */
export const anomalyJson = (a: AnomalyRow) => ({
  id: a.id,
  serviceId: a.serviceId,
  period: { id: a.periodId, start: a.periodStart, end: a.periodEnd },
  kind: a.kind,
  status: a.status,
  seenOn: a.seenOn,
  details: a.details,
  text: describeAnomaly(a),
  decision: a.decision,
  decisionReason: a.decisionReason,
  decidedBy: a.decidedBy,
  decidedAt: a.decidedAt,
});

/** The same for the client: what happened to his counter, without who decided and why. */
export const clientAnomalyJson = (a: AnomalyRow) => ({
  kind: a.kind,
  status: a.status,
  seenOn: a.seenOn,
  details: a.details,
  decision: a.decision,
});

export const chargeJson = (c: ChargeSummary) => ({
  id: c.id,
  seq: c.seq,
  kind: c.kind,
  status: c.status,
  usedBytes: c.usedBytes.toString(),
  allowanceBytes: c.allowanceBytes.toString(),
  overBytes: c.overBytes.toString(),
  amount: money(c.amountMinor, c.currency),
  lineId: c.lineId,
  invoiceId: c.invoiceId,
});

/**
 * A row an answer cannot read: the admin is told its column and why (unreadableJson), the client
 * only that it is unavailable; never the stored value.
 */
const rowFor = (u: UnreadableRow, who: 'admin' | 'client') =>
  who === 'admin' ? unreadableJson(u) : { id: u.id, unavailable: true as const };

/**
 * A period on the billing calendar with its state (open, closed, rated, invoiced), charges and
 * anomalies; for the client, the anomalies without who decided and why. A period, charge or anomaly
 * that cannot be read is in its place (unreadableJson): with a charge so, the period's money is not
 * known (no figure for it), never the smaller sum of the others.
 */
export const usagePeriodJson = (listed: Listed<UsagePeriodView>, who: 'admin' | 'client' = 'admin') => {
  if (isUnreadable(listed)) return rowFor(listed, who);
  const p = listed;
  return {
    id: p.id,
    serviceId: p.serviceId,
    start: p.start,
    end: p.end,
    calendar: p.calendar,
    state: p.state,
    usedBytes: p.usedBytes.toString(),
    charges: p.charges.map((c) => (isUnreadable(c) ? rowFor(c, who) : chargeJson(c))),
    anomalies: p.anomalies.map((a) =>
      isUnreadable(a) ? rowFor(a, who) : who === 'admin' ? anomalyJson(a) : clientAnomalyJson(a),
    ),
  };
};

export const rerateJson = (r: RerateOutcome | null) => {
  if (r === null) return null;
  switch (r.kind) {
    case 'rated':
      return { kind: r.kind, chargeId: r.chargeId, amount: money(r.afterMinor, r.currency) };
    case 'replaced':
      return {
        kind: r.kind,
        chargeId: r.chargeId,
        before: money(r.beforeMinor, r.currency),
        amount: money(r.afterMinor, r.currency),
      };
    case 'corrected':
      return {
        kind: r.kind,
        chargeId: r.chargeId,
        billed: money(r.billedMinor, r.currency),
        amount: money(r.afterMinor, r.currency),
        difference: money(r.differenceMinor, r.currency),
        status: r.status,
      };
    case 'skipped':
      return { kind: r.kind, reason: r.reason };
    default:
      return { kind: r.kind };
  }
};

function assessmentJson(a: UsageAssessment | null) {
  if (!a) return null;
  const r = a.projection.runOut;
  return {
    allowanceBytes: a.allowanceBytes.toString(),
    percentUsed: a.percentUsed,
    thresholds: a.thresholds,
    crossed: a.crossed,
    unit: a.plan.unit,
    projection: {
      dailyAverageBytes: a.projection.dailyAverageBytes.toString(),
      projectedUsedBytes: bytes(a.projection.projectedUsedBytes),
      runOut: r.kind === 'on' ? { kind: r.kind, date: r.date } : { kind: r.kind },
      cost: a.cost
        ? {
            soFar: money(a.cost.soFarMinor, a.cost.currency),
            atEnd: money(a.cost.atEndMinor, a.cost.currency),
          }
        : null,
    },
  };
}

export const serviceRowJson = (s: ServiceRow, label: string | null = null) => ({
  serviceId: s.serviceId,
  clientId: s.clientId,
  productId: s.productId,
  label,
  active: s.active,
  currency: s.currency,
  lastSampleDate: s.lastSampleDate,
  openPeriod:
    s.openPeriodId === null
      ? null
      : {
          id: s.openPeriodId,
          start: s.openPeriodStart,
          end: s.openPeriodEnd,
          usedBytes: bytes(s.openPeriodUsedBytes),
        },
});

export const serviceListJson = (s: ServiceListRow) => ({
  ...serviceRowJson(s),
  usage: assessmentJson(s.assessment),
});

export function serviceUsageJson(u: ServiceUsage, label: string | null) {
  return {
    ...serviceRowJson(u.service, label),
    billed: u.profile !== null,
    period: u.open
      ? {
          id: u.open.periodId,
          start: u.open.start,
          end: u.open.end,
          asOf: u.open.asOf,
          usedBytes: u.open.usedBytes.toString(),
        }
      : null,
    usage: assessmentJson(u.assessment),
    days: u.days.map(dayJson),
    // an interval that cannot be read: the days lack its share, said so (never a silent gap)
    ...(u.daysUnreadable.length > 0 ? { daysIncomplete: true as const } : {}),
  };
}

export const periodJson = (p: PeriodRow) => ({
  id: p.id,
  serviceId: p.serviceId,
  start: p.startDate,
  end: p.endDate,
  status: p.status,
  usedBytes: p.usedBytes.toString(),
  charge: p.charge
    ? {
        id: p.charge.id,
        status: p.charge.status,
        allowanceBytes: p.charge.allowanceBytes.toString(),
        overBytes: p.charge.overBytes.toString(),
        amount: money(p.charge.amountMinor, p.charge.currency),
        unit: p.charge.unit,
        ...billedJson(p.charge),
      }
    : null,
});

/**
 * What the charge's lines bill now (amount is what was rated): null before it is on an invoice;
 * null with billedUnavailable when one of its lines cannot be read (the sum is not known).
 */
const billedJson = (c: NonNullable<PeriodRow['charge']>) =>
  c.billedNow === 'unavailable'
    ? { billed: null, afterDispute: null, billedUnavailable: true }
    : {
        billed: c.billedNow ? money(c.billedNow.amountMinor, c.currency) : null,
        afterDispute: c.billedNow?.afterDispute ?? null,
      };

export function lineJson(l: LineRow, now: DateTime) {
  const d = l.dispute;
  return {
    id: l.id,
    ref: l.refCode,
    serviceId: l.serviceId,
    clientId: l.clientId,
    invoiceId: l.invoiceId,
    status: l.status,
    state: lineState(l),
    amount: money(l.amountMinor, l.currency),
    description: l.description,
    locale: l.locale,
    period: { start: l.periodStart, end: l.periodEnd },
    deadline: {
      lastDay: l.deadlineLastDay,
      closesAt: l.deadlineClosesAt,
      open: now.toMillis() < Date.parse(l.deadlineClosesAt),
    },
    dispute: d
      ? {
          id: d.id,
          state: d.state,
          resolvingTo: d.resolvingTo,
          holdState: d.holdState,
          // a voided dispute: the invoice whose cancellation or refund closed it
          closedBy: d.voidedBy ?? null,
          reason: d.reason,
          openedBy: d.openedByType,
          openedAt: d.openedAt,
          amountBefore: money(d.amountBeforeMinor, l.currency),
          amountAfter: d.amountAfterMinor === null ? null : money(d.amountAfterMinor, l.currency),
          resolvedAt: d.resolvedAt,
          newDueDate: d.newDueDate,
          creditNoteInvoiceId: d.creditNoteInvoiceId ?? null,
          credited:
            d.creditedMinor === null || d.creditedMinor === undefined
              ? null
              : money(d.creditedMinor, l.currency),
          version: d.version,
        }
      : null,
  };
}

export const disputeViewJson = (d: DisputeView) => ({
  id: d.id,
  lineId: d.lineId,
  clientId: d.clientId,
  serviceId: d.serviceId,
  state: d.state,
  resolvingTo: d.resolvingTo,
  closedBy: d.voidedBy,
  reason: d.reason,
  openedBy: d.openedBy.type,
  overrideReason: d.overrideReason,
  openedAt: d.openedAt,
  holdState: d.holdState,
  originalInvoiceId: d.originalInvoiceId,
  heldInvoiceId: d.heldInvoiceId,
  amountBefore: money(d.amountBeforeMinor, d.currency),
  amountAfter: d.amountAfterMinor === null ? null : money(d.amountAfterMinor, d.currency),
  resolvedAt: d.resolvedAt,
  newDueDate: d.newDueDate,
  settlement: d.settlement,
  creditNoteInvoiceId: d.creditNoteInvoiceId,
  credited: d.creditedMinor === null ? null : money(d.creditedMinor, d.currency),
  version: d.version,
});

/** What a client sees of their own dispute (no override notes, no admin ids). */
export const clientDisputeJson = (d: DisputeView) => {
  const { overrideReason: _o, settlement: _s, ...rest } = disputeViewJson(d);
  // the held draft is not the client's until it is published (WHMCS hides drafts from clients)
  return { ...rest, heldInvoiceId: d.holdState === 'published' ? d.heldInvoiceId : null };
};

/**
 * A line as its client reads it: the invoice named is one the client can open (never the hidden
 * draft), and, for a paid line whose decision gave credit back, what became of that credit as the
 * widget tells it: given, each use (the invoice it paid, or none when taken back by hand), left.
 */
export const clientLineJson = (l: LineRow, now: DateTime, credit?: CreditStanding) => ({
  ...lineJson(l, now),
  invoiceId: clientInvoiceId(l),
  credit: credit ? creditJson(credit, l.currency) : null,
});

/** A credit's standing in the line's currency (the panel keeps hundredths in every currency). */
const creditJson = (c: CreditStanding, currency: string) => {
  const m = (hundredths: bigint) => money(hundredthsToMinor(hundredths, currency), currency);
  return {
    given: m(c.given),
    uses: c.uses.map((u) => ({ invoiceId: u.invoiceId, amount: m(u.amount) })),
    left: m(c.left),
  };
};

export const disputeRowJson = (d: DisputeRow) => ({
  id: d.id,
  lineId: d.lineId,
  ref: d.refCode,
  clientId: d.clientId,
  serviceId: d.serviceId,
  state: d.state,
  resolvingTo: d.resolvingTo,
  holdState: d.holdState,
  closedBy: d.voidedBy,
  reason: d.reason,
  openedBy: d.openedByType,
  overrideReason: d.overrideReason,
  openedAt: d.openedAt,
  resolvedAt: d.resolvedAt,
  amountBefore: money(d.amountBeforeMinor, d.currency),
  amountAfter: d.amountAfterMinor === null ? null : money(d.amountAfterMinor, d.currency),
  originalInvoiceId: d.originalInvoiceId,
  heldInvoiceId: d.heldInvoiceId,
  deadlineLastDay: d.deadlineLastDay,
  version: d.version,
});

export const sampleJson = (s: SampleRow) => ({
  kind: s.kind,
  date: s.date,
  id: s.id,
  sampledAt: s.sampledAt,
  usedBytes: bytes(s.usedBytes),
  limitBytes: bytes(s.limitBytes),
  state: s.state,
  raw: s.raw,
  failures: s.failures,
});

export const auditJson = (a: AuditRow) => {
  let details: unknown = null;
  try {
    details = a.details ? JSON.parse(a.details) : null;
  } catch {
    details = a.details;
  }
  return { ...a, details };
};

/** bigint-safe JSON for anything else (evidence): bigints as strings */
export const jsonText = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
