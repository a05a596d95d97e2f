import type { FieldErrors } from './admin-forms.js';

/**
 * The admin tab's words (English, the admin's language; money and dates come formatted en-GB):
 * what each action answers, and the names of states as the admin reads them, never the stored
 * identifiers. The dispute flashes are in module/domain/dispute-text.ts (ADMIN_DISPUTE_FLASH).
 */
const fieldsNeedChange = (errors: FieldErrors) =>
  Object.keys(errors).length === 1 ? 'one field needs' : `${Object.keys(errors).length} fields need`;

/** what a cap does when it is reached, inside a sentence */
const CAP_ACTION: Record<string, string> = {
  throttle: 'slows the server down',
  suspend: 'suspends the server',
};

export const ADMIN_FLASH = {
  unknownAction: 'Unknown action.',
  disputesOff: 'disputes need the panel API, which is not configured',
  notSaved: (errors: FieldErrors) => `Not saved: ${fieldsNeedChange(errors)} a change (marked below).`,
  notPreviewed: (errors: FieldErrors) =>
    `Not previewed: ${fieldsNeedChange(errors)} a change (marked below).`,
  notTested: (errors: FieldErrors) => `Not tested: ${fieldsNeedChange(errors)} a change (marked below).`,
  whichProduct: 'Which product? Choose one.',
  noSuchProduct: (id: number) => `The panel has no product ${id}.`,
  previewNeedsRating: 'A preview needs the rating service, which this setup does not have.',
  productSaved: (id: number) => `Billing settings of product ${id} saved.`,
  masterSaved: (name: string, added: boolean, notes: string[]) =>
    `Master ${name} ${added ? 'added' : 'saved'}.${notes.length ? ` ${notes.map((n) => n[0]!.toUpperCase() + n.slice(1)).join('. ')}.` : ''}`,
  masterNotSaved: (why: string) => `Not saved: ${why}`,
  masterRemoved: (name: string) => `Master ${name} removed.`,
  masterActive: (name: string, active: boolean) => `Master ${name} is ${active ? 'active' : 'inactive'}.`,
  metering: (serviceId: number, on: boolean) => `Metering of service ${serviceId} is ${on ? 'on' : 'off'}.`,
  settingsSaved: 'Settings saved.',
  anomalyDecided: (id: number, decision: 'reset' | 'correction', effect: string) =>
    `Anomaly ${id}: ${decision === 'reset' ? 'a reset' : 'a correction'}. ${effect}`,
  /** what a counter drop's decision did to its period's money */
  rerated: {
    stillOpen: 'The period is still open; it is rated when it closes.',
    rated: (amount: string) => `The period is rated: ${amount}.`,
    replaced: (before: string, after: string) =>
      `Its charge went from ${before} to ${after} (not invoiced yet).`,
    corrected: (difference: string, review: boolean) =>
      `It was invoiced already: a correction of ${difference} ${review ? 'waits for review' : 'goes on the next invoice'}.`,
    skipped: (reason: string) => `It could not be rated: ${reason}`,
    unchanged: 'What it bills did not change.',
  },
  correctionSettled: (id: number, amount: string, billed: boolean) =>
    `Correction ${id} (${amount}) ${billed ? 'goes on the next invoice' : 'is dropped'}.`,
  pooled: (product: string, pool: string, perService: boolean) =>
    `${product} pools as "${pool}", billed as ${perService ? 'a line per VPS' : 'one line'}.`,
  unpooled: (product: string) => `${product} is in no pool now.`,
  capSet: (amount: string, serviceId: number, action: string) =>
    `Cap of ${amount} set on service ${serviceId} (${CAP_ACTION[action] ?? action} when reached).`,
  capLifted: (serviceId: number) => `The cap of service ${serviceId} is lifted; what it caused is put back.`,
  noCap: (serviceId: number) => `Service ${serviceId} has no cap.`,
};

/** State names as the admin reads them. */
export const ADMIN_STATE = {
  /** a counter anomaly: `info` is told only, nothing to decide */
  anomaly: { open: 'open', decided: 'decided', resolved: 'resolved', info: 'for information' } as Record<
    string,
    string
  >,
  /** what a client's cap does when it is reached */
  capAction: { throttle: 'slow the server down', suspend: 'suspend the server' } as Record<string, string>,
  /** an upgrade suggestion's notice */
  suggestion: {
    pending: 'to be sent',
    sent: 'sent',
    accepted: 'taken up',
    failed: 'could not be sent',
  } as Record<string, string>,
  /** the product preview's outcome of a period under the edited settings */
  preview: {
    within_allowance: 'within the allowance',
    billed: 'billed',
    written_off: 'under the minimum: written off',
  } as Record<string, string>,
};

/** The admin tab's names: tabs, dispute states, where a disputed line's money stands, who acted. */
export const ADMIN_NAMES = {
  tabs: {
    dashboard: 'Dashboard',
    services: 'Services',
    disputes: 'Disputes',
    anomalies: 'Anomalies',
    lines: 'Lines',
    pools: 'Pools & caps',
    settings: 'Settings',
    audit: 'Audit log',
  },
  disputeState: {
    open: 'open',
    upheld: 'upheld',
    waived: 'waived',
    adjusted: 'adjusted',
    withdrawn: 'withdrawn',
    voided: 'closed: nothing owed',
  } as Record<string, string>,
  /** a decision being carried out through the panel */
  beingResolved: (to: string) => `being ${to}`,
  /** where the disputed line's money stands (never the stored identifier) */
  holdState: {
    holding: 'being moved off its invoice',
    held: 'held',
    refund_decision: 'already paid: a refund or credit if it is waived or reduced',
    published: 'back on an invoice, due',
    released: 'taken off the invoices',
  } as Record<string, string>,
  /** a voided dispute: why it closed */
  voided: (invoice: number, status: string) =>
    `not owed: invoice #${invoice} is ${status}; closed with nothing to settle (no credit, no refund)`,
  actors: { admin: 'admin', client: 'client', system: 'the module', cli: 'the command line' } as Record<
    string,
    string
  >,
  actingAs: (adminId: string) => `admin ${adminId} acting as `,
};

/** The admin tab's sentences and phrases beside the figures (figures come formatted en-GB). */
export const ADMIN_TEXT = {
  /** a row of a list whose stored row cannot be read: which column, why; it counts in no total */
  /** a total one of whose rows cannot be read: no figure (never a smaller one), and which rows */
  totalUnavailable: (currency: string | null, serviceIds: Array<number | null>) =>
    `${currency ?? 'every currency'} unavailable (service ${serviceIds.map((id) => id ?? '?').join(', ')} cannot be read)`,
  /** a period's note whose anomaly cannot be read: which, and why (the client is told only that it cannot be shown) */
  unreadableNote: (id: number | null, column: string | null, reason: string) =>
    `Anomaly ${id ?? '?'} cannot be read: ${column ?? 'a column'} is ${reason}; correct the column in the database.`,
  /** a period of a service's list that cannot be read: left out of the list, counted in no total */
  unreadablePeriod: (id: number | null, column: string | null, reason: string) =>
    `Period ${id ?? '?'} cannot be read: ${column ?? 'a column'} is ${reason}; it is left out of the periods below and counted in no total; correct the column in the database.`,
  /** an interval that cannot be read: its days are missing from the chart, the period's CSV is refused */
  unreadableInterval: (id: number | null, column: string | null, reason: string) =>
    `Interval ${id ?? '?'} cannot be read: ${column ?? 'a column'} is ${reason}; its days are missing from this chart and the period's CSV is refused; correct the column in the database.`,
  /** a service's last closed period the product form's preview cannot read: counted in no total */
  unreadablePreview: (periodId: number | null, column: string | null, reason: string) =>
    `Its last closed period (${periodId ?? '?'}) cannot be read: ${column ?? 'a column'} is ${reason}. It is counted in no total here; correct the column in the database.`,
  unreadableRow: (column: string | null, reason: string) =>
    `Unreadable row: ${column ?? 'a column'} is ${reason}. It is counted in no total here; correct the column in the database.`,
  waitingCharge: (x: {
    chargeId: number;
    serviceId: number;
    amount: string;
    period: string;
    invoiceId: number;
    invoiceStatus: string;
    seen: string;
  }) =>
    `Charge ${x.chargeId} of service #${x.serviceId} (${x.amount}, ${x.period}) ` +
    `waits for the service's next invoice: invoice #${x.invoiceId} was ${x.invoiceStatus.toLowerCase()} before its line could be added (seen ${x.seen}).`,
  daysWaiting: (n: number) => `${n} ${n === 1 ? 'day' : 'days'}`,
  notMeasuredYet: 'not measured yet',
  notBilled: 'not billed',
  anomalyDecided: (decision: string, by: string, on: string) => `${decision} by ${by} on ${on}`,
  counterBytes: (amount: string, bytes: string) => `${amount} (${bytes} bytes)`,
  master: {
    tlsNone: 'none (http)',
    tuning: (concurrency: number, timeoutSeconds: number, retries: number) =>
      `${concurrency} at once, ${timeoutSeconds} s timeout, ${retries} retries`,
    /** a master whose stored row does not read (the refusal names the column) */
    label: (id: number, name: string | null) => (name === null ? `master ${id}` : `${name} (master ${id})`),
    unreadable: (problem: string) =>
      `Its stored row cannot be read: ${problem}. Its services are not metered, and it cannot be edited here, until that column is corrected in the database.`,
  },
  product: {
    price: (
      currency: string,
      overage: string,
      precommit: string | undefined,
      minimum: string | undefined,
      cap: string | undefined,
    ) =>
      `${currency} ${overage}${precommit ? ` (agreed in advance ${precommit})` : ''}${minimum ? `, minimum ${minimum}` : ''}${cap ? `, cap ${cap}` : ''}`,
    perUnit: (unit: string) => `per ${unit} over the allowance`,
    perBlock: (blockUnits: number | string | undefined, unit: string) =>
      `per started block of ${blockUnits} ${unit}`,
    commitment: (p95: boolean, commitMbps: number | string | undefined) =>
      `${p95 ? '95th percentile' : 'average'} over a commitment of ${commitMbps} Mbit/s`,
    allowanceSolusvm: 'the limit SolusVM applies',
    none: 'none',
    window: (days: number, counting: string, dayWord: string, holidays: string | null) =>
      `${days} ${counting} ${dayWord}${holidays !== null ? ` (holidays: ${holidays})` : ''}`,
    yes: 'yes',
    no: 'no',
    defaultThresholds: '80 %, 90 %, 100 % (default)',
    policy: (action: string, throttleMbps: number | undefined, planId: number | undefined) =>
      `${action}${throttleMbps ? ` at ${throttleMbps} Mbit/s` : ''}${planId ? ` (plan ${planId})` : ''}`,
    defaultPolicy: 'bill the overusage (no limit policy setting in this version)',
    upgradeAfter: (periods: string) => `${periods} over in a row`,
    unpicked: (policy: string, days: string) => `${policy} after ${days}`,
  },
};

/** What an audit record says, one sentence per action (amounts come formatted as " (€1.00)", or empty). */
export const ADMIN_AUDIT = {
  productSet: (id: string) => `Billing settings of product ${id} saved.`,
  linePlaced: (id: string, money: string, invoiceId: string, deadline: string | null) =>
    `Overusage line ${id}${money} placed on invoice #${invoiceId}${deadline ? `, dispute by ${deadline}` : ''}.`,
  lineReleased: (id: string, money: string, invoiceId: string, reason: string) =>
    `Line ${id}${money} taken off invoice #${invoiceId}: ${reason || 'the charge waits for the next invoice'}.`,
  masterAdded: (name: string, version: string, baseUrl: string) =>
    `SolusVM master “${name}” added (SolusVM ${version}, ${baseUrl}).`,
  masterUpdated: (id: string, fields: string[]) =>
    `SolusVM master ${id} changed: ${fields.join(', ') || 'nothing'}.`,
  masterRemoved: (id: string) => `SolusVM master ${id} removed.`,
  serviceLinked: (id: string, relinked: boolean, masterId: string, serverRef: string) =>
    `Service ${id} ${relinked ? 're-linked' : 'linked'} to master ${masterId}, server ${serverRef}.`,
  disputeOpened: (id: string, lineId: string, money: string, override: string, reason: string) =>
    `Dispute ${id} opened on line ${lineId}${money}${override ? ` after the window (override: ${override})` : ''}: “${reason}”.`,
  disputeHeld: (id: string, money: string, from: string, heldInvoiceId: string) =>
    `Dispute ${id}: the line${money} moved from invoice #${from} to draft invoice #${heldInvoiceId}.`,
  disputeRefundDecision: (id: string, invoiceId: string, status: string) =>
    `Dispute ${id}: invoice #${invoiceId} was already ${status.toLowerCase()}; a refund or credit is to be decided.`,
  disputeDecided: (id: string, decision: string, money: string) => `Dispute ${id} ${decision}${money}.`,
  anomalyDecided: (id: string, serviceId: string, reset: boolean, reason: string) =>
    `Counter drop ${id} on service ${serviceId} decided as ${reset ? 'a reset' : 'a correction'}: “${reason}”.`,
  settingsChanged: (fields: string[]) => `Module settings changed: ${fields.join(', ') || 'none'}.`,
  /** an action without a sentence of its own: its name in words */
  other: (words: string, entity: string, money: string) =>
    `${words[0]!.toUpperCase()}${words.slice(1)}${entity ? ` (${entity})` : ''}${money}.`,
};
