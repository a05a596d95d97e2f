import type { Knex } from 'knex';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import { toBig, toBigOrNull, toDate, toDateOrNull, toNum } from './rows.js';
import { TABLES } from './tables.js';

/**
 * A service's usage periods as rating previews and rate imports read them (the rebuild and the
 * operators' repairs: module/services/usage-periods.ts). Rows are checked here.
 */

/** A service's latest closed period with what its charge bills now, as the product form's preview rates it again. */
export interface LastClosedPeriod {
  periodId: number;
  serviceId: number;
  clientId: number;
  productId: number;
  masterId: number;
  start: IsoDate;
  end: IsoDate;
  usedBytes: bigint;
  currency: string;
  regdate: IsoDate | null;
  /** the SolusVM limit the period's latest sample read */
  solusvmLimitBytes: bigint | null;
  /** the period's first charge (seq 0), if rated */
  charge: { amountMinor: bigint; status: ChargeStatus } | null;
}

export interface UsagePeriodStore {
  /**
   * Each active service of the product with its latest closed period, by service id, at most
   * `limit` (ask one more to know whether there are more).
   */
  lastClosedOfProduct(productId: number, limit: number): Promise<LastClosedPeriod[]>;
  /** the ids of the service's closed periods that have a charge and share a day with [from, to], oldest first */
  ratedClosedBetween(serviceId: number, from: IsoDate, to: IsoDate): Promise<number[]>;
}

const parseLastClosed = (r: Record<string, unknown>): LastClosedPeriod => ({
  periodId: toNum(r.id),
  serviceId: toNum(r.service_id),
  clientId: toNum(r.client_id),
  productId: toNum(r.product_id),
  masterId: toNum(r.master_id),
  start: toDate(r.start_date),
  end: toDate(r.end_date),
  usedBytes: toBig(r.used_bytes),
  currency: String(r.currency),
  regdate: toDateOrNull(r.regdate),
  solusvmLimitBytes: toBigOrNull(r.limit_bytes),
  charge:
    r.charge_minor === null || r.charge_minor === undefined
      ? null
      : { amountMinor: toBig(r.charge_minor), status: parseChargeStatus(r.charge_status) },
});

export function createUsagePeriodStore(knex: Knex): UsagePeriodStore {
  return {
    async lastClosedOfProduct(productId, limit) {
      // the latest closed period by a correlated MAX, the same on both engines
      const rows: Array<Record<string, unknown>> = await knex(`${TABLES.periods} as p`)
        .join(`${TABLES.services} as s`, 's.service_id', 'p.service_id')
        .leftJoin(`${TABLES.charges} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
        .leftJoin(`${TABLES.samples} as smp`, 'smp.id', 'p.last_sample_id')
        .where('s.product_id', productId)
        .andWhere('s.active', true)
        .andWhere('p.status', 'closed')
        .whereRaw(
          `p.end_date = (SELECT MAX(p2.end_date) FROM ${TABLES.periods} p2 WHERE p2.service_id = p.service_id AND p2.status = 'closed')`,
        )
        .orderBy('p.service_id')
        .limit(limit)
        .select(
          'p.id',
          'p.service_id',
          'p.start_date',
          'p.end_date',
          'p.used_bytes',
          's.client_id',
          's.product_id',
          's.currency',
          's.regdate',
          's.master_id',
          'smp.limit_bytes',
          'c.amount_minor as charge_minor',
          'c.status as charge_status',
        );
      return rows.map(parseLastClosed);
    },

    async ratedClosedBetween(serviceId, from, to) {
      const rows = await knex(`${TABLES.periods} as p`)
        .where({ 'p.service_id': serviceId, 'p.status': 'closed' })
        .andWhere('p.end_date', '>=', from)
        .andWhere('p.start_date', '<=', to)
        .whereExists(knex(`${TABLES.charges} as c`).whereRaw('c.period_id = p.id').select('c.id'))
        .orderBy('p.start_date')
        .select('p.id');
      return rows.map((r) => toNum(r.id));
    },
  };
}
