import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import { engineOf, type Engine } from './database.js';
import { mysqlLiteral, sendWhole } from './sql-helpers.js';
import {
  bigIn,
  bigOrNullIn,
  dateIn,
  dateOrNullIn,
  intIn,
  isUnreadable,
  readEach,
  sqlBig,
  sqlInstant,
  sumIn,
  textIn,
  textOrNullIn,
  unreadableRow,
  type Listed,
  type SetAside,
} from './rows.js';
import { TABLES } from './tables.js';

/**
 * What rating a closed period reads and writes (module/services/rating.ts): the closed periods not
 * rated yet with their service and SolusVM's limit, the evidence (the intervals' sums, the
 * five-minute rates, upgrades asked for), the masters' zones; and the period's charges — the
 * ratings of a page written in a few statements, a period rated again replaced or corrected in one
 * transaction. Every read is set-based (one query per page, never one per period); rows are parsed
 * here, each column checked.
 */

const P = TABLES.periods;
const S = TABLES.services;
const C = TABLES.charges;

/** A closed period as rating takes it: its figures, its service's client, plan, currency and master. */
export interface PeriodToRate {
  id: number;
  serviceId: number;
  startDate: IsoDate;
  endDate: IsoDate;
  usedBytes: bigint;
  clientId: number;
  productId: number;
  currency: string;
  /** the service's registration day: a service registered during the period only had part of it */
  regdate: IsoDate | null;
  masterId: number;
  /** SolusVM's limit at the period's last sample (the allowance when a product takes it from there) */
  limitBytes: bigint | null;
}

/** A charge as rating writes it. */
export interface NewCharge {
  periodId: number;
  serviceId: number;
  clientId: number;
  productId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  currency: string;
  usedBytes: bigint;
  ratedAt: DateTime;
  allowanceBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  roundedMinor: bigint;
  status: ChargeStatus;
  taxed: boolean;
  /** the rating with every figure that went into it (JSON) */
  explanation: string;
}

/** One of a period's charges, as rating it again compares them. */
export interface PeriodCharge {
  id: number;
  /** 0: the period's own rating; 1, 2 …: corrections (or a pool's parts) */
  seq: number;
  status: ChargeStatus;
  usedBytes: bigint;
  allowanceBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
}

export interface StoredUpgrade {
  serviceId: number;
  fromProductId: number;
  toProductId: number;
  requestedOn: IsoDate;
  creditPercent: number;
}

/** The upgrades of some services that read, and the services whose upgrades cannot all be read. */
export interface UpgradesRead {
  upgrades: StoredUpgrade[];
  /** services with an upgrade row that cannot be read; 'all' when that row's service cannot be read either */
  unreadable: Set<number> | 'all';
}

export interface MasterZone {
  resetPolicy: string | null;
  timeZone: string;
}

export interface RatingStore {
  /**
   * closed periods after `after` (by id) with no rating yet, at most `limit`, lowest id first. With
   * `setAside`, a row that cannot be read is an UnreadableRow in its place (its id keeps the cursor
   * going), told to setAside; without it, it fails naming the column.
   */
  unrated(
    after: number,
    limit: number,
    serviceIds?: readonly number[],
    setAside?: SetAside,
  ): Promise<Array<Listed<PeriodToRate>>>;
  /** a period (open or closed) as rating takes it; null when it or its service is gone */
  period(periodId: number): Promise<(PeriodToRate & { closed: boolean }) | null>;
  /** the sum of each period's intervals (a period without any is left out) */
  intervalSums(periodIds: readonly number[]): Promise<Map<number, bigint>>;
  /** which of these periods carry a charge of any kind (from before a rebuild) */
  withCharges(periodIds: readonly number[]): Promise<Set<number>>;
  /** the upgrades asked for on these services, oldest first; a row that cannot be read told to setAside and its service named */
  upgradesEach(serviceIds: readonly number[], setAside: SetAside): Promise<UpgradesRead>;
  /** a service's five-minute rates (bits per second) in [from, to), by slot */
  fiveMinuteRates(serviceId: number, from: DateTime, to: DateTime): Promise<bigint[]>;
  masters(): Promise<Map<number, MasterZone>>;
  /**
   * writes ratings of periods not rated yet; a period rated meanwhile keeps its own (seq 0). In a
   * transaction: the periods are marked rated with their charges, or neither
   */
  insertRatings(trx: Knex.Transaction, charges: readonly NewCharge[]): Promise<void>;
  /**
   * insertRatings in two steps: the rows built (outside any transaction; added to `into` when
   * given), then sent in one
   */
  prepareRatings(charges: readonly NewCharge[], into?: PreparedRatings): PreparedRatings;
  writeRatings(trx: Knex.Transaction, prepared: PreparedRatings): Promise<void>;
  /** a period's charges by seq, locked until the transaction ends (as line placement reads them) */
  /**
   * the period's charges, locked; one that cannot be read refuses them all (naming its column), or
   * with `setAside` is told there and the answer is null: a rating again from part of a period's
   * charges would bill it wrong
   */
  chargesOfPeriod(
    trx: Knex.Transaction,
    periodId: number,
    setAside?: SetAside,
  ): Promise<PeriodCharge[] | null>;
  /** the line of each of these charges that has one: charge id → line id */
  linesOf(trx: Knex.Transaction, chargeIds: readonly number[]): Promise<Map<number, number>>;
  voidCharges(trx: Knex.Transaction, chargeIds: readonly number[]): Promise<void>;
  /** the charge now says what the fresh rating says (every column but its period) */
  replaceCharge(trx: Knex.Transaction, chargeId: number, fresh: NewCharge): Promise<void>;
  /** adds a correction to the period at `seq` (the figures of `c`, its amount the difference): its id */
  addCorrection(trx: Knex.Transaction, c: NewCharge, seq: number): Promise<number>;
  /** the id of the period's charge at `seq` */
  chargeIdAt(trx: Knex.Transaction, periodId: number, seq: number): Promise<number>;
  /** whether a dispute (not withdrawn) holds any of these lines */
  anyDisputed(trx: Knex.Transaction, lineIds: readonly number[]): Promise<boolean>;
  /** whether a drop of the period's counter waits for an admin's decision */
  undecidedDrop(trx: Knex.Transaction, periodId: number): Promise<boolean>;
}

// rows per INSERT: 16 columns × 1000 stays under SQLite's 32 766 parameters
const RATING_INSERT_CHUNK = 1000;
const CHARGE_COLUMNS = [
  'period_id',
  'service_id',
  'client_id',
  'product_id',
  'period_start',
  'period_end',
  'currency',
  'used_bytes',
  'rated_at',
  'allowance_bytes',
  'over_bytes',
  'amount_minor',
  'rounded_minor',
  'status',
  'taxed',
  'explanation',
] as const;

/** The bindings of one charge, in CHARGE_COLUMNS' order; `at`: its rated_at, written once per page. */
function chargeValues(c: NewCharge, at: string): Array<string | number | boolean> {
  return [
    c.periodId,
    c.serviceId,
    c.clientId,
    c.productId,
    c.periodStart,
    c.periodEnd,
    c.currency,
    sqlBig(c.usedBytes),
    at,
    sqlBig(c.allowanceBytes),
    sqlBig(c.overBytes),
    sqlBig(c.amountMinor),
    sqlBig(c.roundedMinor),
    c.status,
    c.taxed,
    c.explanation,
  ];
}

/** A charge as the columns of one row (a single insert or update). */
export const chargeRecord = (c: NewCharge): Record<string, unknown> => {
  const values = chargeValues(c, sqlInstant(c.ratedAt));
  return Object.fromEntries(CHARGE_COLUMNS.map((k, i) => [k, values[i]]));
};

/**
 * A page's ratings as the rows that write them, built before their transaction opens: the text of
 * 2 000 charges (about 2.4 MB on MariaDB) is Node's work, done a slice at a time while the previous
 * page is still being written, instead of between the statements of this one's transaction.
 */
export interface PreparedRatings {
  mysql: boolean;
  /** the periods marked rated (periods.rated) with these charges */
  periodIds: number[];
  /** each charge's row: on MariaDB its VALUES tuple written out, on SQLite its bindings */
  rows: Array<string | Array<string | number | boolean>>;
}

/**
 * The rows of these charges, added to `into` when given (a page prepared a slice at a time), the
 * same rated_at string for the charges of one instant. On MariaDB written out whole: with no
 * bindings neither knex nor mysql2 scans or escapes them again.
 */
export function prepareRatings(
  engine: Engine,
  charges: readonly NewCharge[],
  into: PreparedRatings = { mysql: engine === 'mysql', periodIds: [], rows: [] },
): PreparedRatings {
  let lastAt: DateTime | null = null;
  let lastSql = '';
  for (const c of charges) {
    if (c.ratedAt !== lastAt) [lastAt, lastSql] = [c.ratedAt, sqlInstant(c.ratedAt)];
    const values = chargeValues(c, lastSql);
    into.periodIds.push(c.periodId);
    into.rows.push(into.mysql ? `(${values.map(mysqlLiteral).join(', ')})` : values);
  }
  return into;
}

const INSERT_HEAD = `INTO ${C} (${CHARGE_COLUMNS.join(', ')}) VALUES`;
const SQLITE_TUPLE = `(${CHARGE_COLUMNS.map(() => '?').join(', ')})`;

/**
 * UPDATE … SET rated = 1 of these periods, written out (their ids are integers): one statement for
 * a page, not one per chunk of its charges. A list of ids, never a range: a range would also lock
 * the period after it (next-key) until the page commits.
 */
function markRatedSql(periodIds: readonly number[]): string {
  for (const id of periodIds)
    if (!Number.isSafeInteger(id)) throw new TypeError(`a period id must be an integer, not ${id}`);
  return `UPDATE ${P} SET rated = 1 WHERE id IN (${periodIds.join(', ')})`;
}

/**
 * Writes prepared ratings in the caller's transaction: the periods marked rated with their charges,
 * or neither. Each period has its seq 0 once its charges are in, whether written now or kept (a
 * period rated meanwhile); marked first, the period's row before its charges, as a rebuild locks
 * them: on MariaDB every period of the page in one statement, on SQLite each chunk's (INSERT … VALUES
 * written out: knex sends SQLite a multi-row insert as a compound SELECT, which compiles far slower
 * and stops at 500 rows).
 */
export async function writeRatings(db: Knex.Transaction, prepared: PreparedRatings): Promise<void> {
  const { periodIds, rows } = prepared;
  if (prepared.mysql && periodIds.length) await sendWhole(db, markRatedSql(periodIds));
  for (let i = 0; i < rows.length; i += RATING_INSERT_CHUNK) {
    const part = rows.slice(i, i + RATING_INSERT_CHUNK);
    if (prepared.mysql) {
      await sendWhole(db, `INSERT IGNORE ${INSERT_HEAD} ${part.join(', ')}`);
      continue;
    }
    await markRated(db, periodIds.slice(i, i + RATING_INSERT_CHUNK));
    await db.raw(
      `INSERT ${INSERT_HEAD} ${part.map(() => SQLITE_TUPLE).join(', ')} ON CONFLICT (period_id, seq) DO NOTHING`,
      part.flat() as Knex.RawBinding[],
    );
  }
}

const insertRatings = (db: Knex.Transaction, charges: readonly NewCharge[]): Promise<void> =>
  writeRatings(db, prepareRatings(engineOf(db), charges));

/**
 * Marks periods as carrying their own rating (periods.rated, migrations/20270102000000_rated_periods.ts),
 * in the transaction that writes their seq-0 charge: the nightly run reads only the periods not
 * marked, so the read no longer grows with the periods rated in the past.
 */
export async function markRated(trx: Knex.Transaction, periodIds: readonly number[]): Promise<void> {
  if (periodIds.length)
    await trx(P)
      .whereIn('id', [...periodIds])
      .update({ rated: true });
}

/**
 * Sets the mark of these periods from their charges (a seq-0 charge or none), in the transaction
 * that moved charges between them.
 */
export async function syncRated(trx: Knex.Transaction, periodIds: readonly number[]): Promise<void> {
  if (!periodIds.length) return;
  await trx(P)
    .whereIn('id', [...periodIds])
    .update({
      rated: trx.raw(
        `CASE WHEN EXISTS (SELECT 1 FROM ?? c WHERE c.period_id = ??.id AND c.seq = 0) THEN 1 ELSE 0 END`,
        [C, P],
      ),
    });
}

/** A period's columns with its service's and its last sample's limit, as rating and the product preview read them. */
export const PERIOD_COLUMNS = [
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
];

export function parsePeriodToRate(r: Record<string, unknown>): PeriodToRate {
  return {
    id: intIn(r.id, `${P}.id`),
    serviceId: intIn(r.service_id, `${P}.service_id`),
    startDate: dateIn(r.start_date, `${P}.start_date`),
    endDate: dateIn(r.end_date, `${P}.end_date`),
    usedBytes: bigIn(r.used_bytes, `${P}.used_bytes`),
    clientId: intIn(r.client_id, `${S}.client_id`),
    productId: intIn(r.product_id, `${S}.product_id`),
    currency: textIn(r.currency, `${S}.currency`),
    regdate: dateOrNullIn(r.regdate, `${S}.regdate`),
    masterId: intIn(r.master_id, `${S}.master_id`),
    limitBytes: bigOrNullIn(r.limit_bytes, `${TABLES.samples}.limit_bytes`),
  };
}

function parsePeriodCharge(r: Record<string, unknown>): PeriodCharge {
  return {
    id: intIn(r.id, `${C}.id`),
    seq: intIn(r.seq, `${C}.seq`),
    status: parseChargeStatus(r.status),
    usedBytes: bigIn(r.used_bytes, `${C}.used_bytes`),
    allowanceBytes: bigIn(r.allowance_bytes, `${C}.allowance_bytes`),
    overBytes: bigIn(r.over_bytes, `${C}.over_bytes`),
    amountMinor: bigIn(r.amount_minor, `${C}.amount_minor`),
  };
}

const parseUpgrade = (u: Record<string, unknown>): StoredUpgrade => ({
  serviceId: intIn(u.service_id, `${TABLES.upgrades}.service_id`),
  fromProductId: intIn(u.from_product_id, `${TABLES.upgrades}.from_product_id`),
  toProductId: intIn(u.to_product_id, `${TABLES.upgrades}.to_product_id`),
  requestedOn: dateIn(u.requested_on, `${TABLES.upgrades}.requested_on`),
  creditPercent: intIn(u.credit_percent, `${TABLES.upgrades}.credit_percent`),
});

const upgradeRows = async (knex: Knex, serviceIds: readonly number[]) =>
  serviceIds.length
    ? knex(TABLES.upgrades)
        .whereIn('service_id', [...serviceIds])
        .orderBy('id')
        .select('id', 'service_id', 'from_product_id', 'to_product_id', 'requested_on', 'credit_percent')
    : [];

/** The id a column holds when it reads as one, else null (which service an unreadable row is of). */
function intOrNull(v: unknown): number | null {
  try {
    return intIn(v, '');
  } catch {
    return null;
  }
}

/** Each upgrade read on its own: one that cannot be read is told to setAside and its service named. */
async function upgradesEach(
  knex: Knex,
  serviceIds: readonly number[],
  setAside: SetAside,
): Promise<UpgradesRead> {
  const upgrades: StoredUpgrade[] = [];
  let unreadable: Set<number> | 'all' = new Set();
  for (const r of await upgradeRows(knex, serviceIds)) {
    try {
      upgrades.push(parseUpgrade(r));
    } catch (err) {
      setAside(TABLES.upgrades, unreadableRow(r.id, err));
      const serviceId = intOrNull(r.service_id);
      if (serviceId === null) unreadable = 'all';
      else if (unreadable !== 'all') unreadable.add(serviceId);
    }
  }
  return { upgrades, unreadable };
}

/**
 * Rows of these periods: a page of periods in id order is nearly always a dense run of ids, read as
 * one range of the (period_id, …) index; an IN list of 2 000 ids makes 2 000 separate dives, which
 * took MariaDB 2.4× as long (1.26 s against 0.52 s for 100 000 periods' daily rows). A sparse set
 * (a few services, or a page with gaps) keeps the IN list; the caller drops rows of periods it did
 * not ask for.
 */
function byPeriods(q: Knex.QueryBuilder, periodIds: readonly number[]): Knex.QueryBuilder {
  let lo = periodIds[0]!;
  let hi = lo;
  for (const id of periodIds) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  return hi - lo < 2 * periodIds.length
    ? q.whereBetween('period_id', [lo, hi])
    : q.whereIn('period_id', [...periodIds]);
}

/**
 * A whole run pages the (status, rated, id) index as a range from the cursor: the closed periods
 * not rated yet, never the ones rated on earlier nights (a period stays closed once rated; walking
 * them cost MariaDB 0.46–0.56 s a night per 100 000). With the joins, MariaDB chose the index as
 * `ref` without the range and walked every such period before the cursor on each page: 160 ms
 * against 13 ms a page half way through 1 000 000. A few services' periods are found by their
 * service instead.
 */
const unratedFrom = (knex: Knex, wholeRun: boolean): string | Knex.Raw =>
  wholeRun && engineOf(knex) === 'mysql'
    ? // migrations/20270102000000_rated_periods.ts
      knex.raw(`?? as p force index (mod_overusage_periods_status_rated_id_index)`, [P])
    : `${P} as p`;

/**
 * A few services' periods (an invoice's), which nearly always are rated already: their last
 * sample's limit is read by a subquery, for the periods that come out only, so MariaDB looks no
 * rated period's sample up (the join read one page of the samples table per period).
 */
const periodsOfServices = (knex: Knex, serviceIds: readonly number[]) =>
  knex(`${P} as p`)
    .join(`${S} as s`, 's.service_id', 'p.service_id')
    .whereIn('p.service_id', [...serviceIds])
    .select([
      ...PERIOD_COLUMNS.filter((c) => c !== 'smp.limit_bytes'),
      knex(`${TABLES.samples} as smp`)
        .where('smp.id', knex.ref('p.last_sample_id'))
        .select('smp.limit_bytes')
        .as('limit_bytes'),
    ]);

/** The reads of rating: set-based, one query per page of periods. */
function ratingReads(knex: Knex): Omit<RatingStore, keyof ChargeWrites | 'prepareRatings' | 'writeRatings'> {
  const periodsWithService = (periods: string | Knex.Raw) =>
    knex
      .from(periods)
      .join(`${S} as s`, 's.service_id', 'p.service_id')
      .leftJoin(`${TABLES.samples} as smp`, 'smp.id', 'p.last_sample_id');
  const withService = () => periodsWithService(`${P} as p`);
  return {
    async unrated(after, limit, serviceIds, setAside) {
      const q = (
        serviceIds
          ? periodsOfServices(knex, serviceIds)
          : periodsWithService(unratedFrom(knex, true)).select(PERIOD_COLUMNS)
      )
        // not marked rated, and (the final word, whoever wrote charges) without a seq-0 charge
        .leftJoin(`${C} as c`, (j) => j.on('c.period_id', 'p.id').andOn('c.seq', knex.raw('0')))
        .where('p.status', 'closed')
        .andWhere('p.rated', false)
        .whereNull('c.id')
        .andWhere('p.id', '>', after)
        .orderBy('p.id')
        .limit(limit);
      const rows = await q;
      return setAside ? readEach(rows, parsePeriodToRate, P, { setAside }) : rows.map(parsePeriodToRate);
    },
    async period(periodId) {
      const r = await withService()
        .where('p.id', periodId)
        .first([...PERIOD_COLUMNS, 'p.status']);
      return r ? { ...parsePeriodToRate(r), closed: r.status === 'closed' } : null;
    },
    async intervalSums(periodIds) {
      if (!periodIds.length) return new Map();
      const rows = await byPeriods(knex(TABLES.intervals), periodIds)
        .groupBy('period_id')
        .select('period_id', knex.raw('SUM(bytes) AS total'));
      const column = `SUM(${TABLES.intervals}.bytes)`;
      const wanted = new Set(periodIds);
      const sums = new Map<number, bigint>();
      for (const a of rows) {
        const id = intIn(a.period_id, `${TABLES.intervals}.period_id`);
        if (wanted.has(id)) sums.set(id, sumIn(a.total, column));
      }
      return sums;
    },
    async withCharges(periodIds) {
      if (!periodIds.length) return new Set();
      const rows = await byPeriods(knex(C), periodIds).distinct('period_id');
      const wanted = new Set(periodIds);
      return new Set(rows.map((o) => intIn(o.period_id, `${C}.period_id`)).filter((id) => wanted.has(id)));
    },
    upgradesEach: (serviceIds, setAside) => upgradesEach(knex, serviceIds, setAside),
    async fiveMinuteRates(serviceId, from, to) {
      const rates = await knex(TABLES.rateSamples)
        .where({ service_id: serviceId })
        .andWhere('slot_at', '>=', sqlInstant(from))
        .andWhere('slot_at', '<', sqlInstant(to))
        .orderBy('slot_at')
        .select('bps');
      return rates.map((x) => bigIn(x.bps, `${TABLES.rateSamples}.bps`));
    },
    async masters() {
      const rows = await knex(TABLES.masters).select('id', 'reset_policy', 'time_zone');
      const m = (name: string) => `${TABLES.masters}.${name}`;
      return new Map(
        rows.map((r) => [
          intIn(r.id, m('id')),
          {
            resetPolicy: textOrNullIn(r.reset_policy, m('reset_policy')),
            timeZone: textIn(r.time_zone, m('time_zone')),
          },
        ]),
      );
    },
  };
}

async function chargeIdAt(trx: Knex.Transaction, periodId: number, seq: number): Promise<number> {
  const created = await trx(C).where({ period_id: periodId, seq }).first('id');
  return intIn(created?.id, `${C}.id`);
}

/** The writes of rating to a period's charges, and what a correction asks of its lines. */
type ChargeWrites = Pick<
  RatingStore,
  | 'insertRatings'
  | 'chargesOfPeriod'
  | 'linesOf'
  | 'voidCharges'
  | 'replaceCharge'
  | 'addCorrection'
  | 'chargeIdAt'
  | 'anyDisputed'
  | 'undecidedDrop'
>;

function chargeWrites(): ChargeWrites {
  return {
    insertRatings,
    async chargesOfPeriod(trx, periodId, setAside) {
      const rows = await trx(C).where({ period_id: periodId }).orderBy('seq').forUpdate();
      if (!setAside) return rows.map(parsePeriodCharge);
      const read = readEach(rows, parsePeriodCharge, C, { setAside });
      return read.some(isUnreadable) ? null : (read as PeriodCharge[]);
    },
    async linesOf(trx, chargeIds) {
      if (!chargeIds.length) return new Map<number, number>();
      const rows = await trx(TABLES.lines)
        .whereIn('charge_id', [...chargeIds])
        .select('charge_id', 'id');
      const l = (name: string) => `${TABLES.lines}.${name}`;
      return new Map(rows.map((r) => [intIn(r.charge_id, l('charge_id')), intIn(r.id, l('id'))]));
    },
    async voidCharges(trx, chargeIds) {
      if (!chargeIds.length) return;
      await trx(C)
        .whereIn('id', [...chargeIds])
        .update({ status: 'void' });
    },
    async replaceCharge(trx, chargeId, fresh) {
      const { period_id: _p, ...update } = chargeRecord(fresh);
      await trx(C).where({ id: chargeId }).update(update);
    },
    async addCorrection(trx, c, seq) {
      // at seq 0 the correction is the period's rating (lines from before a rebuild)
      if (seq === 0) await markRated(trx, [c.periodId]);
      await trx(C).insert({ ...chargeRecord(c), seq, kind: 'correction' });
      return chargeIdAt(trx, c.periodId, seq);
    },
    chargeIdAt,
    async anyDisputed(trx, lineIds) {
      if (!lineIds.length) return false;
      const d = await trx(TABLES.disputes)
        .whereIn('line_id', [...lineIds])
        .whereNot({ state: 'withdrawn' })
        .first('id');
      return d !== undefined;
    },
    async undecidedDrop(trx, periodId) {
      const a = await trx(TABLES.anomalies)
        .where({ period_id: periodId, kind: 'mid_period_drop', status: 'open' })
        .first('id');
      return a !== undefined;
    },
  };
}

export function createRatingStore(knex: Knex): RatingStore {
  const engine = engineOf(knex);
  return {
    ...ratingReads(knex),
    ...chargeWrites(),
    prepareRatings: (charges, into) => prepareRatings(engine, charges, into),
    writeRatings,
  };
}
