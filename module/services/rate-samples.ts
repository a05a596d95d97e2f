import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { invalidInput } from '../domain/errors.js';
import { createPeriodReadStore } from '../adapters/period-read-store.js';
import {
  createRateSampleStore,
  type RateSample,
  type RateSampleStore,
} from '../adapters/rate-sample-store.js';
import { sqlInstant } from '../adapters/rows.js';
import { retryTransaction } from '../adapters/sql-helpers.js';
import { createUsagePeriodStore } from '../adapters/usage-period-store.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { Clock } from '../domain/clock.js';
import { addDays } from '../domain/calendar.js';
import type { RatingService } from './rating.js';

/**
 * Five-minute rates for the 95th-percentile model. SolusVM has no such series, so they come from
 * the provider's flow or SNMP collector as CSV: `slot start (ISO 8601), bits per second`. Importing
 * the same figures again changes nothing; a different figure for a slot already held is refused,
 * so evidence is never silently replaced.
 */
const SLOT_MS = 5 * 60_000;

export interface RateImportResult {
  read: number;
  inserted: number;
  unchanged: number;
  /** closed periods the new rates fell in, rated again (a charge not invoiced replaced, an invoiced one corrected) */
  rerated: number;
}

export interface RateSampleService {
  importCsv(serviceId: number, csv: string, actor: Actor): Promise<RateImportResult>;
  /** the service's rates in [from, to) */
  between(serviceId: number, from: DateTime, to: DateTime): Promise<bigint[]>;
}

export function parseRateCsv(csv: string): Array<{ at: DateTime; bps: bigint }> {
  const out: Array<{ at: DateTime; bps: bigint }> = [];
  const lines = csv.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || (i === 0 && /[a-z]/i.test(line.split(',')[1] ?? ''))) return;
    const [ts, bps, ...rest] = line.split(',').map((x) => x.trim());
    if (!ts || bps === undefined || rest.length)
      throw invalidInput(`line ${i + 1}: expected "timestamp,bits_per_second"`);
    let at: DateTime;
    try {
      at = DateTime.fromISO(ts, { setZone: true, zone: 'utc' }).toUTC();
    } catch {
      throw invalidInput(`line ${i + 1}: "${ts}" is not an ISO 8601 time`);
    }
    if (at.toMillis() % SLOT_MS !== 0)
      throw invalidInput(`line ${i + 1}: ${ts} is not the start of a five-minute slot`);
    if (!/^\d+$/.test(bps))
      throw invalidInput(`line ${i + 1}: the rate must be a whole number of bits per second, not "${bps}"`);
    out.push({ at, bps: BigInt(bps) });
  });
  return out;
}

type RateSampleDeps = {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  rating?: Pick<RatingService, 'reratePeriod'>;
};

export function createRateSampleService(deps: RateSampleDeps): RateSampleService {
  const store = createRateSampleStore(deps.knex);
  const periods = createUsagePeriodStore(deps.knex);
  const reads = createPeriodReadStore(deps.knex);
  return {
    async importCsv(serviceId, csv, actor) {
      const rows = parseRateCsv(csv);
      const seen = slotsOnce(rows);
      if (!(await reads.service(serviceId))) throw invalidInput(`service ${serviceId} is not metered`);
      const result = await retryTransaction(deps.knex, async (trx) => {
        const fresh = await freshRates(trx, store, serviceId, seen);
        await store.insert(trx, serviceId, fresh);
        const unchanged = seen.size - fresh.length;
        const details = { read: rows.length, inserted: fresh.length, unchanged };
        await deps.audit.record(
          trx,
          { actor, action: 'rates.imported', entityType: 'service', entityId: serviceId, details },
          deps.clock.now(),
        );
        return { ...details, rerated: 0, slots: fresh.map((f) => sqlInstant(f.at)).sort() };
      });
      // Rates that arrive after a period was rated change its 95th percentile: it is rated again.
      const { slots, ...out } = result;
      if (deps.rating && slots.length) {
        const from = addDays(slots[0]!.slice(0, 10), -1);
        const to = addDays(slots[slots.length - 1]!.slice(0, 10), 1);
        for (const periodId of await periods.ratedClosedBetween(serviceId, from, to)) {
          const r = await deps.rating.reratePeriod(periodId, { actor, because: 'rates.imported' });
          if (r.kind !== 'not_rated' && r.kind !== 'skipped') out.rerated++;
        }
      }
      return out;
    },
    between: (serviceId, from, to) => store.between(serviceId, from, to),
  };
}

/** The file's rates by slot (as stored: 'YYYY-MM-DD HH:mm:ss.SSS' UTC); a slot given twice must say the same. */
function slotsOnce(rows: RateSample[]): Map<string, RateSample> {
  const seen = new Map<string, RateSample>();
  for (const r of rows) {
    const k = sqlInstant(r.at);
    const was = seen.get(k);
    if (was && was.bps !== r.bps) throw invalidInput(`${r.at.toISO()} appears twice with different rates`);
    seen.set(k, r);
  }
  return seen;
}

/** The rates of slots not held yet; a held slot with another figure refuses the whole file. */
async function freshRates(
  trx: Knex.Transaction,
  store: RateSampleStore,
  serviceId: number,
  seen: Map<string, RateSample>,
): Promise<RateSample[]> {
  const held = await store.held(
    trx,
    serviceId,
    [...seen.values()].map((r) => r.at),
  );
  const heldAt = new Map(held.map((h) => [sqlInstant(h.at), h.bps]));
  const fresh: RateSample[] = [];
  for (const [k, r] of seen) {
    const old = heldAt.get(k);
    if (old === undefined) fresh.push(r);
    else if (old !== r.bps)
      throw invalidInput(
        `the slot ${k} UTC already holds ${old} bit/s, not ${r.bps}: evidence is not replaced; nothing was imported`,
      );
  }
  return fresh;
}
