import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { auditLog } from '../../module/adapters/audit-store.js';
import { createLogger } from '../../module/adapters/logger.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ClientCap } from '../../module/domain/client-cap.js';
import {
  createBillingSettingsService,
  type BillingProfileInput,
  type BillingSettingsService,
} from '../../module/services/billing-settings.js';
import { createRatingService, type CapsInForce, type RatingService } from '../../module/services/rating.js';

/**
 * Rating's rows written directly (no panel, no collector): a master in Brussels (UTC+2 in summer,
 * UTC+1 in winter), services of product 3 (or another), closed periods with the daily intervals
 * that sum to them, and the rating service over them. Cheap enough to build for every test, so
 * each test states the one period it rates.
 */
export const GB = 10n ** 9n;
export const TB = 10n ** 12n;
export const CLI = { type: 'cli' as const, id: 'test' };
const T = '2013-06-01 00:10:00.000';
export const NOW = DateTime.fromISO('2013-06-01T06:00:00Z', { zone: 'utc' });

/** a client's cap as module/services/caps.ts keeps it, set and lifted at instants */
export interface CapRow {
  serviceId: number;
  cap: ClientCap;
  setAt: DateTime;
  liftedAt: DateTime | null;
}

export interface RatingRows {
  knex: Knex;
  billing: BillingSettingsService;
  rating: RatingService;
  /** the caps the rating service is told about */
  caps: CapRow[];
  /** what rating wrote to the log: [level, event, the line] */
  logged: Array<[string, string, unknown]>;
}

const CLEARED = [
  TABLES.lines,
  TABLES.disputes,
  TABLES.anomalies,
  TABLES.charges,
  TABLES.intervals,
  TABLES.rateSamples,
  TABLES.upgrades,
  TABLES.periods,
  TABLES.samples,
  TABLES.services,
  TABLES.billingProfiles,
  TABLES.serviceOverrides,
  TABLES.clientOverrides,
  TABLES.audit,
  TABLES.masters,
];

/** Migrates the test database once (call in `before`). */
export const migrateRatingRows = (knex: Knex) => migrateLatest(knex);

/**
 * Empties rating's tables and puts master 1 (Brussels) back; the rating service over them, told of
 * the clients' caps (`withCaps: false`: a rating service given none, as its deps allow).
 */
export async function ratingRows(knex: Knex, opts: { withCaps?: boolean } = {}): Promise<RatingRows> {
  for (const t of CLEARED) await knex(t).delete();
  await addMaster(knex, 1);
  const clock = { now: () => NOW };
  const billing = createBillingSettingsService({ knex, clock, audit: auditLog });
  const logged: RatingRows['logged'] = [];
  const log = createLogger({
    write: (line: string) => {
      const o = JSON.parse(line) as { level: string; event: string };
      logged.push([o.level, o.event, o]);
    },
  });
  const caps: CapRow[] = [];
  const capsInForce: CapsInForce = {
    history: async (ids) => caps.filter((c) => ids.includes(c.serviceId)),
  };
  const rating = createRatingService({
    knex,
    clock,
    billing,
    log,
    audit: auditLog,
    ...(opts.withCaps === false ? {} : { caps: capsInForce }),
  });
  return { knex, billing, rating, caps, logged };
}

export async function addMaster(knex: Knex, id: number, timeZone = 'Europe/Brussels'): Promise<void> {
  await knex(TABLES.masters).insert({
    id,
    name: `master${id}`,
    version: 2,
    base_url: 'https://127.0.0.1:1',
    credentials_enc: 'x',
    time_zone: timeZone,
    reset_policy: 'first_of_month',
    created_at: T,
    updated_at: T,
  });
}

export interface ServiceRow {
  clientId?: number;
  productId?: number;
  currency?: string;
  regdate?: string | null;
  masterId?: number;
}

export async function addService(knex: Knex, id: number, s: ServiceRow = {}): Promise<void> {
  await knex(TABLES.services).insert({
    service_id: id,
    client_id: s.clientId ?? id,
    product_id: s.productId ?? 3,
    master_id: s.masterId ?? 1,
    server_ref: `vm${id}`,
    currency: s.currency ?? 'EUR',
    regdate: s.regdate ?? null,
    created_at: T,
    updated_at: T,
  });
}

export interface PeriodRow {
  serviceId: number;
  start: string;
  end: string;
  used: bigint;
  /** the daily figures; by default one interval of `used` */
  intervals?: bigint[];
  status?: 'closed' | 'open';
  /** SolusVM's limit at the period's last sample */
  limitBytes?: bigint | null;
}

/** A period with its intervals (and a last sample when SolusVM's limit is given): its id. */
export async function addPeriod(knex: Knex, id: number, p: PeriodRow): Promise<number> {
  let sampleId: number | null = null;
  if (p.limitBytes !== undefined) {
    sampleId = id + 10_000;
    await knex(TABLES.samples).insert({
      id: sampleId,
      service_id: p.serviceId,
      master_id: 1,
      server_ref: `vm${p.serviceId}`,
      sample_date: p.end,
      sampled_at: T,
      used_bytes: String(p.used),
      limit_bytes: p.limitBytes === null ? null : String(p.limitBytes),
      state: 'ok',
      raw: '{}',
    });
  }
  await knex(TABLES.periods).insert({
    id,
    service_id: p.serviceId,
    start_date: p.start,
    end_date: p.end,
    status: p.status ?? 'closed',
    opened_by: 'reset',
    used_bytes: String(p.used),
    last_sample_id: sampleId,
    created_at: T,
  });
  const days = p.intervals ?? [p.used];
  if (days.length === 0) return id;
  await knex(TABLES.intervals).insert(
    days.map((bytes, i) => ({
      service_id: p.serviceId,
      period_id: id,
      to_sample_id: id * 100 + i,
      kind: 'normal',
      from_date: p.end,
      to_date: p.end,
      bytes: String(bytes),
      estimated: false,
    })),
  );
  return id;
}

/** The product's settings, as an admin saves them. */
export const setProduct = (r: RatingRows, productId: number, input: BillingProfileInput) =>
  r.billing.setProduct(productId, input, CLI);

/** 5 TB included, €0.50 per GB over (and other currencies when given) */
export const PER_GB: BillingProfileInput = {
  unit: 'GB',
  model: 'per_unit',
  allowance: '5 TB',
  prices: { EUR: { overage: '0.50' } },
};

/** An invoice line on a charge (as line placement writes it): its id. */
export async function addLine(knex: Knex, id: number, chargeId: number, serviceId: number): Promise<number> {
  await knex(TABLES.lines).insert({
    id,
    charge_id: chargeId,
    service_id: serviceId,
    client_id: serviceId,
    invoice_id: 31,
    invoice_item_id: 90 + id,
    ref_code: `OU-R-${id}`,
    status: 'placed',
    amount_minor: '50000',
    currency: 'EUR',
    description: 'Overusage May 2013',
    locale: 'en-GB',
    invoice_date: '2013-06-02',
    window_days: 14,
    window_counting: 'calendar',
    window_holidays: 'none',
    deadline_last_day: '2013-06-16',
    deadline_closes_at: '2013-06-16 22:00:00.000',
    created_at: '2013-06-02 07:00:00.000',
  });
  return id;
}

/** A period's charges by seq: [seq, amount, status]. */
export async function chargesOf(knex: Knex, periodId: number): Promise<Array<[number, bigint, string]>> {
  const rows = await knex(TABLES.charges).where({ period_id: periodId }).orderBy('seq');
  return rows.map((c) => [Number(c.seq), BigInt(c.amount_minor), String(c.status)]);
}

/** A charge's columns as the engines return them (numbers or strings; a boolean as 0/1 on SQLite). */
type Cell = string | number;
export interface ChargeRow {
  id: Cell;
  period_id: Cell;
  seq: Cell;
  kind: Cell;
  service_id: Cell;
  client_id: Cell;
  product_id: Cell;
  period_start: Cell;
  period_end: Cell;
  currency: Cell;
  used_bytes: Cell;
  allowance_bytes: Cell;
  over_bytes: Cell;
  amount_minor: Cell;
  rounded_minor: Cell;
  status: Cell;
  taxed: Cell;
  explanation: Cell;
  rated_at: Cell;
}

/** The period's usage charge (seq 0) as stored. */
export async function usageCharge(knex: Knex, periodId: number): Promise<ChargeRow> {
  return knex(TABLES.charges).where({ period_id: periodId, seq: 0 }).first();
}

/**
 * The rating suites' common ground: product 3 (5 TB included, €0.50 per GB over), Ann, Bob and Cid
 * (services 11, 12, 13, clients 1–3) each with a closed May (periods 1–3) of the given GB.
 */
export async function threeClosedMays(
  knex: Knex,
  usedGb: readonly [bigint, bigint, bigint],
): Promise<RatingRows> {
  const r = await ratingRows(knex);
  await setProduct(r, 3, PER_GB);
  for (const id of [11, 12, 13]) await addService(knex, id, { clientId: id - 10 });
  for (const [i, gb] of usedGb.entries())
    await addPeriod(knex, i + 1, {
      serviceId: 11 + i,
      start: '2013-05-01',
      end: '2013-05-31',
      used: gb * GB,
    });
  return r;
}
