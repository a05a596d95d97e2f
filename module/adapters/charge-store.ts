import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import { parseLineStatus, type LineStatus } from '../domain/line-status.js';
import { intIn, readOwned, rowReader, sqlInstant, toBool, type ReadOf, type SetAside } from './rows.js';
import { parseStoredLine, type StoredLine } from './line-store.js';
import { settingsColumns, settingsFromColumns, type StoredSettings } from './billing-settings-store.js';
import { engineOf } from './database.js';
import { sendDirect } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * The charges (what a closed period's rating bills) as placing them on invoices reads them: each
 * with the line it already has, if any. Rating writes them (module/services/rating.ts).
 */

type Db = Knex | Knex.Transaction;

export interface StoredCharge {
  id: number;
  serviceId: number;
  clientId: number;
  productId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  status: ChargeStatus;
  amountMinor: bigint;
  currency: string;
  taxed: boolean;
  /** the rating with every figure that went into it (JSON) */
  explanation: string;
  /** the line it already has: pending or placed on an invoice (0: a standalone invoice not yet made) */
  line: { id: number; invoiceId: number; status: LineStatus } | null;
  /** its product's, service's and client's billing settings as stored, when read with it (forDelivery) */
  settings?: StoredSettings;
}

/** What an InvoiceCreation delivery reads of its own before it places anything (ChargeStore.forDelivery). */
export interface DeliveryReads {
  /**
   * the unbilled charges of the invoice's services, with their line if any (as unbilledOf reads
   * them) and the billing settings of each one's product, service and client, as stored
   */
  charges: Array<StoredCharge & { settings: StoredSettings }>;
  /** the invoice's pending and placed lines, oldest first */
  lines: StoredLine[];
  /** a closed period of the services has no charge yet: rating them would bill more (as RatingStore.unrated finds them) */
  unrated: boolean;
  /** one of the services was ever in a transfer pool (PoolStore.spans would find their clients' spans) */
  pooled: boolean;
}

export interface ChargeStore {
  /**
   * What a delivery needs to know of its invoice's services, in one statement: unbilledOf with each
   * charge's billing settings (BillingSettingsStore.forService), the invoice's pending and placed
   * lines (LineStore.onInvoice), and whether rating or a pool could add a charge. Each was a round
   * trip of every delivery (the settings one a charge), and most deliveries find their period rated
   * and no pool.
   */
  forDelivery(invoiceId: number, serviceIds: number[], periodEndBefore?: IsoDate): Promise<DeliveryReads>;
  /** the unbilled charges of these services, with their line if any; `periodEndBefore`: only periods that ended before that day */
  unbilledOf(serviceIds: number[], periodEndBefore?: IsoDate): Promise<StoredCharge[]>;
  /**
   * unbilled charges with no line, or with one pending for a standalone invoice not yet made, by
   * client. With `setAside`, a charge that cannot be read is told there and its client is in
   * `unreadable` (that client's charges are not known); without, one such charge refuses the read
   */
  unbilledForStandalone(setAside?: SetAside): Promise<ReadOf<StoredCharge>>;
  /** unbilled charges without a line: which services of which client wait, from which period end */
  /**
   * with `setAside`, a charge that cannot be read is told there and its client is in `unreadable`
   * (that client's waiting charges are not known); without, one such charge refuses the read
   */
  waitingWithoutLine(setAside?: SetAside): Promise<ReadOf<WaitingCharge>>;
  /** whether each charge's line is taxed */
  taxedOf(chargeIds: number[]): Promise<Map<number, boolean>>;
  /** the charge's line was placed: billed */
  markBilled(db: Db, chargeId: number, at: DateTime): Promise<void>;
}

const CHARGE_COLUMNS = [
  'c.id',
  'c.service_id',
  'c.client_id',
  'c.product_id',
  'c.period_start',
  'c.period_end',
  'c.status',
  'c.amount_minor',
  'c.currency',
  'c.taxed',
  'c.explanation',
  'l.id as line_id',
  'l.invoice_id as line_invoice_id',
  'l.status as line_status',
];

/** An unbilled charge without a line: whose, which service's, and when its period ended. */
export interface WaitingCharge {
  clientId: number;
  serviceId: number;
  periodEnd: IsoDate;
}

function waitingFromRow(r: Record<string, unknown>): WaitingCharge {
  const c = rowReader(TABLES.charges, r);
  return { clientId: c.num('client_id'), serviceId: c.num('service_id'), periodEnd: c.date('period_end') };
}

export function parseStoredCharge(r: Record<string, unknown>): StoredCharge {
  const c = rowReader(TABLES.charges, r);
  const l = rowReader(TABLES.lines, r, 'line_');
  return {
    id: c.num('id'),
    serviceId: c.num('service_id'),
    clientId: c.num('client_id'),
    productId: c.num('product_id'),
    periodStart: c.date('period_start'),
    periodEnd: c.date('period_end'),
    status: parseChargeStatus(r.status),
    amountMinor: c.big('amount_minor'),
    currency: c.str('currency'),
    taxed: c.bool('taxed'),
    explanation: c.str('explanation'),
    line:
      r.line_id === null || r.line_id === undefined
        ? null
        : {
            id: l.num('id'),
            invoiceId: l.num('invoice_id'),
            status: parseLineStatus(r.line_status),
          },
  };
}

export function createChargeStore(knex: Knex): ChargeStore {
  const withLine = () =>
    knex(`${TABLES.charges} as c`)
      .leftJoin(`${TABLES.lines} as l`, 'l.charge_id', 'c.id')
      .where('c.status', 'unbilled');
  const mysql = engineOf(knex) === 'mysql';
  return {
    async forDelivery(invoiceId, serviceIds, periodEndBefore) {
      if (serviceIds.length === 0) return { charges: [], lines: [], unrated: false, pooled: false };
      const sql = deliveryReads(serviceIds.length, mysql, periodEndBefore !== undefined);
      const bindings = [
        ...serviceIds,
        ...(periodEndBefore ? [periodEndBefore] : []),
        invoiceId,
        ...serviceIds,
        ...serviceIds,
      ];
      const rows: Array<Record<string, unknown>> = mysql
        ? await sendDirect(knex, sql, bindings)
        : await knex.raw(sql, bindings);
      return readDelivery(rows);
    },
    async unbilledOf(serviceIds, periodEndBefore) {
      if (serviceIds.length === 0) return [];
      if (engineOf(knex) === 'mysql') {
        // every delivery reads its services' charges: written out, sent past knex's builder
        const sql =
          `SELECT ${CHARGE_COLUMNS.join(', ')} FROM ${TABLES.charges} AS c LEFT JOIN ${TABLES.lines} AS l ON l.charge_id = c.id` +
          ` WHERE c.status = 'unbilled' AND c.service_id IN (${serviceIds.map(() => '?').join(', ')})` +
          `${periodEndBefore ? ' AND c.period_end < ?' : ''} ORDER BY c.service_id, c.period_start, c.id`;
        const values = periodEndBefore ? [...serviceIds, periodEndBefore] : serviceIds;
        return (await sendDirect<Array<Record<string, unknown>>>(knex, sql, values)).map(parseStoredCharge);
      }
      const q = withLine()
        .whereIn('c.service_id', serviceIds)
        .select(CHARGE_COLUMNS)
        .orderBy(['c.service_id', 'c.period_start', 'c.id']);
      if (periodEndBefore) q.andWhere('c.period_end', '<', periodEndBefore);
      return (await q).map(parseStoredCharge);
    },
    async unbilledForStandalone(setAside) {
      const q = withLine()
        .andWhere((w) =>
          w.whereNull('l.id').orWhere((p) => p.where('l.status', 'pending').andWhere('l.invoice_id', 0)),
        )
        .select(CHARGE_COLUMNS)
        .orderBy(['c.client_id', 'c.period_start', 'c.id']);
      return readOwned(await q, parseStoredCharge, TABLES.charges, { owner: 'client_id', setAside });
    },
    async waitingWithoutLine(setAside) {
      const rows = await withLine()
        .whereNull('l.id')
        .select('c.id', 'c.client_id', 'c.service_id', 'c.period_end')
        .orderBy('c.id');
      return readOwned(rows, waitingFromRow, TABLES.charges, { owner: 'client_id', setAside });
    },
    async taxedOf(chargeIds) {
      if (chargeIds.length === 0) return new Map();
      const rows = await knex(TABLES.charges).whereIn('id', chargeIds).select('id', 'taxed');
      return new Map(rows.map((r) => [intIn(r.id, `${TABLES.charges}.id`), toBool(r.taxed)]));
    },
    async markBilled(db, chargeId, at) {
      await db(TABLES.charges)
        .where({ id: chargeId })
        .update({ status: 'billed', billed_at: sqlInstant(at) });
    },
  };
}

// forDelivery's rows: one kind a row ('c' a charge, 'l' a line of the invoice, 'u' and 'p' the two
// answers, present when yes), every kind in the same columns (NULL where it has none)
const DELIVERY_COLUMNS = [
  'k',
  'id',
  'service_id',
  'client_id',
  'product_id',
  'period_start',
  'period_end',
  'status',
  'amount_minor',
  'currency',
  'taxed',
  'explanation',
  'line_id',
  'line_invoice_id',
  'line_status',
  'charge_id',
  'invoice_id',
  'ref_code',
  'description',
  'deadline_last_day',
  'product_settings',
  'service_settings',
  'client_settings',
] as const;

/** One SELECT of forDelivery's UNION ALL: the given columns, NULL for the others. */
function deliveryPart(k: string, given: Partial<Record<(typeof DELIVERY_COLUMNS)[number], string>>): string {
  const cols = DELIVERY_COLUMNS.map((c) =>
    c === 'k' ? `'${k}' AS k` : given[c] === undefined ? `NULL AS ${c}` : `${given[c]} AS ${c}`,
  );
  return `SELECT ${cols.join(', ')}`;
}

/** forDelivery's statement for `n` services (placeholders: the services, the end date if any, the invoice, the services twice more). */
function deliveryReads(n: number, mysql: boolean, endBefore: boolean): string {
  const ids = `(${Array.from({ length: n }, () => '?').join(', ')})`;
  const dual = mysql ? ' FROM DUAL' : '';
  const charges =
    deliveryPart('c', {
      id: 'c.id',
      service_id: 'c.service_id',
      client_id: 'c.client_id',
      product_id: 'c.product_id',
      period_start: 'c.period_start',
      period_end: 'c.period_end',
      status: 'c.status',
      amount_minor: 'c.amount_minor',
      currency: 'c.currency',
      taxed: 'c.taxed',
      explanation: 'c.explanation',
      line_id: 'l.id',
      line_invoice_id: 'l.invoice_id',
      line_status: 'l.status',
      ...settingsColumns({ product: 'c.product_id', service: 'c.service_id', client: 'c.client_id' }),
    }) +
    ` FROM ${TABLES.charges} AS c LEFT JOIN ${TABLES.lines} AS l ON l.charge_id = c.id` +
    ` WHERE c.status = 'unbilled' AND c.service_id IN ${ids}${endBefore ? ' AND c.period_end < ?' : ''}`;
  const lines =
    deliveryPart('l', {
      id: 'l.id',
      charge_id: 'l.charge_id',
      service_id: 'l.service_id',
      client_id: 'l.client_id',
      invoice_id: 'l.invoice_id',
      ref_code: 'l.ref_code',
      status: 'l.status',
      amount_minor: 'l.amount_minor',
      currency: 'l.currency',
      description: 'l.description',
      deadline_last_day: 'l.deadline_last_day',
    }) + ` FROM ${TABLES.lines} AS l WHERE l.invoice_id = ? AND l.status IN ('pending', 'placed')`;
  // as RatingStore.unrated({serviceIds}) finds a period to rate: closed, its service known, not
  // marked rated and no seq-0 charge
  const unrated =
    deliveryPart('u', {}) +
    `${dual} WHERE EXISTS (SELECT 1 FROM ${TABLES.periods} AS p JOIN ${TABLES.services} AS s ON s.service_id = p.service_id` +
    ` LEFT JOIN ${TABLES.charges} AS c ON c.period_id = p.id AND c.seq = 0` +
    ` WHERE p.service_id IN ${ids} AND p.status = 'closed' AND p.rated = 0 AND c.id IS NULL)`;
  // as PoolStore.spans(serviceIds) is empty exactly when none of the services has a span
  const pooled =
    deliveryPart('p', {}) +
    `${dual} WHERE EXISTS (SELECT 1 FROM ${TABLES.poolMembers} AS m WHERE m.service_id IN ${ids})`;
  return [charges, lines, unrated, pooled].join(' UNION ALL ');
}

/** forDelivery's rows read: charges in unbilledOf's order (service, period, id), lines by id. */
function readDelivery(rows: Array<Record<string, unknown>>): DeliveryReads {
  const out: DeliveryReads = { charges: [], lines: [], unrated: false, pooled: false };
  for (const r of rows) {
    if (r.k === 'c') out.charges.push({ ...parseStoredCharge(r), settings: settingsFromColumns(r) });
    else if (r.k === 'l') out.lines.push(parseStoredLine(r));
    else if (r.k === 'u') out.unrated = true;
    else if (r.k === 'p') out.pooled = true;
  }
  out.charges.sort(
    (a, b) =>
      a.serviceId - b.serviceId ||
      (a.periodStart < b.periodStart ? -1 : a.periodStart > b.periodStart ? 1 : 0) ||
      a.id - b.id,
  );
  out.lines.sort((a, b) => a.id - b.id);
  return out;
}
