import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { bigIn, instantIn, sqlBig, sqlInstant } from './rows.js';
import { chunks } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * Five-minute rates of a service (the 95th-percentile model's evidence), one per slot: what the
 * provider's collector sent, imported by module/services/rate-samples.ts and never replaced.
 */
type Db = Knex | Knex.Transaction;

export interface RateSample {
  /** the start of the five-minute slot, UTC */
  at: DateTime;
  bps: bigint;
}

export interface RateSampleStore {
  /** the rates already held for these slots of the service */
  held(db: Db, serviceId: number, slots: readonly DateTime[]): Promise<RateSample[]>;
  insert(db: Db, serviceId: number, rates: readonly RateSample[]): Promise<void>;
  /** the service's rates in [from, to), in no particular order */
  between(serviceId: number, from: DateTime, to: DateTime): Promise<bigint[]>;
}

// a month of five-minute rates is 8 928 rows a service: the column readers directly, names made once
const SLOT_AT = `${TABLES.rateSamples}.slot_at`;
const BPS = `${TABLES.rateSamples}.bps`;

export function createRateSampleStore(knex: Knex): RateSampleStore {
  return {
    async held(db, serviceId, slots) {
      const out: RateSample[] = [];
      for (const part of chunks(slots, 500)) {
        const rows = await db(TABLES.rateSamples)
          .where({ service_id: serviceId })
          .whereIn('slot_at', part.map(sqlInstant))
          .select('slot_at', 'bps');
        for (const r of rows) out.push({ at: instantIn(r.slot_at, SLOT_AT), bps: bigIn(r.bps, BPS) });
      }
      return out;
    },
    async insert(db, serviceId, rates) {
      for (const part of chunks(rates, 500)) {
        await db(TABLES.rateSamples).insert(
          part.map((r) => ({ service_id: serviceId, slot_at: sqlInstant(r.at), bps: sqlBig(r.bps) })),
        );
      }
    },
    async between(serviceId, from, to) {
      const rows = await knex(TABLES.rateSamples)
        .where({ service_id: serviceId })
        .andWhere('slot_at', '>=', sqlInstant(from))
        .andWhere('slot_at', '<', sqlInstant(to))
        .select('bps');
      return rows.map((r) => bigIn(r.bps, BPS));
    },
  };
}
