import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { invalidInput } from '../domain/errors.js';
import { sqlInstant, toBig, toInstant } from '../adapters/rows.js';
import { chunks, retryTransaction } from '../adapters/sql-helpers.js';
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
const TABLE = 'mod_overusage_rate_samples';

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
    if (!ts || bps === undefined || rest.length) throw invalidInput(`line ${i + 1}: expected "timestamp,bits_per_second"`);
    let at: DateTime;
    try {
      at = DateTime.fromISO(ts, { setZone: true, zone: 'utc' }).toUTC();
    } catch {
      throw invalidInput(`line ${i + 1}: "${ts}" is not an ISO 8601 time`);
    }
    if (at.toMillis() % SLOT_MS !== 0) throw invalidInput(`line ${i + 1}: ${ts} is not the start of a five-minute slot`);
    if (!/^\d+$/.test(bps)) throw invalidInput(`line ${i + 1}: the rate must be a whole number of bits per second, not "${bps}"`);
    out.push({ at, bps: BigInt(bps) });
  });
  return out;
}

export function createRateSampleService(deps: { knex: Knex; clock: Clock; audit: AuditLog; rating?: Pick<RatingService, 'reratePeriod'> }): RateSampleService {
  const { knex } = deps;
  return {
    async importCsv(serviceId, csv, actor) {
      const rows = parseRateCsv(csv);
      const seen = new Map<string, bigint>();
      for (const r of rows) {
        const k = sqlInstant(r.at);
        if (seen.has(k) && seen.get(k) !== r.bps) throw invalidInput(`${r.at.toISO()} appears twice with different rates`);
        seen.set(k, r.bps);
      }
      if (!(await knex('mod_overusage_services').where({ service_id: serviceId }).first('service_id'))) throw invalidInput(`service ${serviceId} is not metered`);
      const result = await retryTransaction(knex, async (trx) => {
        let unchanged = 0;
        const fresh: Array<{ service_id: number; slot_at: string; bps: string }> = [];
        for (const part of chunks([...seen], 500)) {
          const held = await trx(TABLE).where({ service_id: serviceId }).whereIn('slot_at', part.map(([k]) => k)).select('slot_at', 'bps');
          const heldAt = new Map(held.map((h) => [sqlInstant(toInstant(h.slot_at)), toBig(h.bps)]));
          for (const [k, bps] of part) {
            const old = heldAt.get(k);
            if (old === undefined) fresh.push({ service_id: serviceId, slot_at: k, bps: bps.toString() });
            else if (old === bps) unchanged++;
            else throw invalidInput(`the slot ${k} UTC already holds ${old} bit/s, not ${bps}: evidence is not replaced; nothing was imported`);
          }
        }
        for (const part of chunks(fresh, 500)) await trx(TABLE).insert(part);
        await deps.audit.record(trx, { actor, action: 'rates.imported', entityType: 'service', entityId: serviceId, details: { read: rows.length, inserted: fresh.length, unchanged } }, deps.clock.now());
        return { read: rows.length, inserted: fresh.length, unchanged, rerated: 0, slots: fresh.map((f) => f.slot_at).sort() };
      });
      // Rates that arrive after a period was rated change its 95th percentile: it is rated again.
      const { slots, ...out } = result;
      if (deps.rating && slots.length) {
        const from = addDays(slots[0]!.slice(0, 10), -1);
        const to = addDays(slots[slots.length - 1]!.slice(0, 10), 1);
        const periods = await knex('mod_overusage_periods').where({ service_id: serviceId, status: 'closed' }).andWhere('end_date', '>=', from).andWhere('start_date', '<=', to).select('id');
        for (const p of periods) {
          if (!(await knex('mod_overusage_charges').where({ period_id: p.id }).first('id'))) continue;
          const r = await deps.rating.reratePeriod(Number(p.id), { actor, because: 'rates.imported' });
          if (r.kind !== 'not_rated' && r.kind !== 'skipped') out.rerated++;
        }
      }
      return out;
    },
    async between(serviceId, from, to) {
      const rows = await knex(TABLE).where({ service_id: serviceId }).andWhere('slot_at', '>=', sqlInstant(from)).andWhere('slot_at', '<', sqlInstant(to)).select('bps');
      return rows.map((r) => toBig(r.bps));
    },
  };
}
