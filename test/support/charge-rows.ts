import type { Knex } from 'knex';
import { TABLES } from '../../module/adapters/tables.js';

/** A rated charge as module/services/rating.ts writes it: €500.00 for 1 000 GB over in May 2013. */
export async function insertCharge(
  knex: Knex,
  id: number,
  over: Partial<Record<string, unknown>> = {},
): Promise<void> {
  await knex(TABLES.charges).insert({
    id,
    period_id: id,
    service_id: 10,
    client_id: 1,
    product_id: 3,
    period_start: '2013-05-01',
    period_end: '2013-05-31',
    currency: 'EUR',
    used_bytes: '6000000000000',
    allowance_bytes: '5000000000000',
    over_bytes: '1000000000000',
    amount_minor: '50000',
    rounded_minor: '50000',
    status: 'unbilled',
    explanation: '{"rated":{}}',
    taxed: true,
    rated_at: '2013-06-01 00:10:00.000',
    ...over,
  });
}
