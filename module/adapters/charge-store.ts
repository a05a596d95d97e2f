import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import { parseLineStatus, type LineStatus } from '../domain/line-status.js';
import { intIn, rowReader, sqlInstant, toBool } from './rows.js';
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
}

export interface ChargeStore {
  /** the unbilled charges of these services, with their line if any; `periodEndBefore`: only periods that ended before that day */
  unbilledOf(serviceIds: number[], periodEndBefore?: IsoDate): Promise<StoredCharge[]>;
  /** unbilled charges with no line, or with one pending for a standalone invoice not yet made, by client */
  unbilledForStandalone(): Promise<StoredCharge[]>;
  /** unbilled charges without a line: which services of which client wait, from which period end */
  waitingWithoutLine(): Promise<Array<{ clientId: number; serviceId: number; periodEnd: IsoDate }>>;
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
  return {
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
    async unbilledForStandalone() {
      const q = withLine()
        .andWhere((w) =>
          w.whereNull('l.id').orWhere((p) => p.where('l.status', 'pending').andWhere('l.invoice_id', 0)),
        )
        .select(CHARGE_COLUMNS)
        .orderBy(['c.client_id', 'c.period_start', 'c.id']);
      return (await q).map(parseStoredCharge);
    },
    async waitingWithoutLine() {
      const rows = await withLine()
        .whereNull('l.id')
        .select('c.client_id', 'c.service_id', 'c.period_end')
        .orderBy('c.id');
      return rows.map((r) => {
        const c = rowReader(TABLES.charges, r);
        return {
          clientId: c.num('client_id'),
          serviceId: c.num('service_id'),
          periodEnd: c.date('period_end'),
        };
      });
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
