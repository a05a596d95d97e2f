import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import type { ObservedState } from '../domain/limit-policy.js';
import { readEach, readOwned, rowReader, type Listed, type ReadOf, type SetAside } from './rows.js';
import { TABLES } from './tables.js';

/**
 * The open period of each metered service as the latest sample left it (the metering cache in
 * the services table), with the state and SolusVM limit that sample read. The threshold notices,
 * the limit policy and the panel's usage fields read it (module/services/open-usage.ts).
 */
export interface OpenPeriodRow {
  serviceId: number;
  clientId: number;
  productId: number;
  masterId: number;
  serverRef: string;
  currency: string;
  regdate: IsoDate | null;
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  usedBytes: bigint;
  lastSampleDate: IsoDate;
  lastSampledAt: DateTime | null;
  /** the state SolusVM reported with the latest sample; null when it is not one the limit policy knows */
  state: ObservedState | null;
  solusvmLimitBytes: bigint | null;
}

export interface OpenUsageStore {
  /**
   * active services with an open period and a sample, service ids above `after`, at most `limit`,
   * by id. With `setAside`, a row that cannot be read is told there and stands in its place as an
   * UnreadableRow (its id the service's); without, it is refused naming the column.
   */
  activePage(after: number, limit: number): Promise<OpenPeriodRow[]>;
  activePage(after: number, limit: number, setAside: SetAside): Promise<Array<Listed<OpenPeriodRow>>>;
  /**
   * these services (active or not) that have an open period and a sample; at most 500 ids. With
   * `setAside`, a row that cannot be read is told there and left out, its service in `unreadable`;
   * without, it is refused naming the column.
   */
  ofServices(serviceIds: readonly number[], setAside?: SetAside): Promise<ReadOf<OpenPeriodRow>>;
}

const STATES: readonly ObservedState[] = ['online', 'offline', 'suspended', 'processing', 'unknown'];
const stateOf = (v: unknown): ObservedState | null =>
  typeof v === 'string' && (STATES as readonly string[]).includes(v) ? (v as ObservedState) : null;

export function parseOpenPeriodRow(r: Record<string, unknown>): OpenPeriodRow {
  const s = rowReader(TABLES.services, r);
  const smp = rowReader(TABLES.samples, r);
  return {
    serviceId: s.num('service_id'),
    clientId: s.num('client_id'),
    productId: s.num('product_id'),
    masterId: s.num('master_id'),
    serverRef: s.str('server_ref'),
    currency: s.str('currency'),
    regdate: s.dateOrNull('regdate'),
    periodId: s.num('open_period_id'),
    periodStart: s.date('open_period_start'),
    periodEnd: s.dateOrNull('open_period_end'),
    usedBytes: s.big('open_period_used_bytes'),
    lastSampleDate: s.date('last_sample_date'),
    lastSampledAt: s.instantOrNull('last_sampled_at'),
    state: stateOf(r.state),
    solusvmLimitBytes: smp.bigOrNull('limit_bytes'),
  };
}

export function createOpenUsageStore(knex: Knex): OpenUsageStore {
  const query = () =>
    knex(`${TABLES.services} as s`)
      .leftJoin(`${TABLES.samples} as smp`, 'smp.id', 's.last_sample_id')
      .whereNotNull('s.open_period_id')
      .whereNotNull('s.last_sample_date')
      .select(
        's.service_id',
        's.client_id',
        's.product_id',
        's.master_id',
        's.server_ref',
        's.regdate',
        's.currency',
        's.open_period_id',
        's.open_period_start',
        's.open_period_end',
        's.open_period_used_bytes',
        's.last_sample_date',
        's.last_sampled_at',
        'smp.limit_bytes',
        'smp.state',
      );
  async function activePage(after: number, limit: number): Promise<OpenPeriodRow[]>;
  async function activePage(
    after: number,
    limit: number,
    setAside: SetAside,
  ): Promise<Array<Listed<OpenPeriodRow>>>;
  async function activePage(after: number, limit: number, setAside?: SetAside) {
    const rows: Record<string, unknown>[] = await query()
      .where('s.active', true)
      .andWhere('s.service_id', '>', after)
      .orderBy('s.service_id')
      .limit(limit);
    if (!setAside) return rows.map(parseOpenPeriodRow);
    return readEach(rows, parseOpenPeriodRow, TABLES.services, { key: 'service_id', setAside });
  }
  return {
    activePage,
    async ofServices(serviceIds, setAside) {
      if (serviceIds.length === 0) return [];
      const rows: Record<string, unknown>[] = await query().whereIn('s.service_id', serviceIds);
      return readOwned(rows, parseOpenPeriodRow, TABLES.services, {
        owner: 'service_id',
        key: 'service_id',
        setAside,
      });
    },
  };
}
