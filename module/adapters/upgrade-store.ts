import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { IsoDate } from '../domain/calendar.js';
import { parseChargeStatus, type ChargeStatus } from '../domain/charge-status.js';
import { ratedChargeFromJson, type RatedCharge } from '../domain/usage-rating.js';
import { storedValueError } from '../domain/stored-value.js';
import {
  readEach,
  readOwned,
  rowReader,
  sqlInstant,
  unreadableRow,
  type Listed,
  type ReadOf,
  type SetAside,
} from './rows.js';
import { retryTransaction } from './sql-helpers.js';
import { TABLES } from './tables.js';

/**
 * Upgrades and the suggestions that lead to them (module/services/upgrades.ts and
 * upgrade-suggestions.ts): the upgrade requests, the upgrade_suggestion notices (one per streak,
 * keyed by its latest period), and the rated periods of a service both read. Every value parsed
 * here, a bad one named by its column.
 */

type Db = Knex | Knex.Transaction;

/** pending: decided, email not yet written; sent; failed; accepted: the client ordered an upgrade */
export const SUGGESTION_STATUSES = ['pending', 'sent', 'failed', 'accepted'] as const;
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number];
const KIND = 'upgrade_suggestion';

/** A rated period (seq 0: the period's first rating) as the upgrade figures and the streak read it. */
export interface RatedPeriod {
  /** the charge's id */
  chargeId: number;
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate;
  usedBytes: bigint;
  allowanceBytes: bigint;
  overBytes: bigint;
  amountMinor: bigint;
  status: ChargeStatus;
  /** the rating as the charge stores it (JSON) */
  explanation: unknown;
}

export interface UpgradeRequest {
  id: number;
  serviceId: number;
  clientId: number;
  fromProductId: number;
  toProductId: number;
  requestedOn: IsoDate;
  creditPercent: number;
  panelUpgradeId: number | null;
  invoiceId: number | null;
}

export type NewUpgradeRequest = Omit<UpgradeRequest, 'id'> & {
  requestedAt: DateTime;
  /** the figures the client saw (JSON) */
  figures: string;
};

export interface Suggestion {
  id: number;
  serviceId: number;
  clientId: number;
  status: SuggestionStatus;
  createdAt: DateTime;
}

export interface UpgradeStore {
  /** the service's client, product and currency; null when the module does not know it */
  service(serviceId: number): Promise<{ clientId: number; productId: number; currency: string } | null>;
  /**
   * the service's last `count` rated usage periods, newest first; `usageOnly`: only usage charges
   * that billed, will, were written off or within the allowance. With `setAside`, a charge that
   * cannot be read is told there and left out, the service in `unreadable` (its periods are then not
   * known: the caller decides nothing from the others); without, it is refused naming the column.
   */
  ratedPeriods(
    serviceId: number,
    count: number,
    opts?: { usageOnly?: boolean; setAside?: SetAside | undefined },
  ): Promise<ReadOf<RatedPeriod>>;
  /**
   * services whose latest rated period was over (billed, to bill or written off): only they can be
   * on a streak; by service id. With `setAside`, a charge that cannot be read is told there and its
   * service left out (in `unreadable`); without, it is refused naming the column.
   */
  latestOver(setAside?: SetAside): Promise<ReadOf<LatestOver>>;
  /** the request for this plan on this day, if any */
  requestOn(serviceId: number, toProductId: number, day: IsoDate): Promise<UpgradeRequest | null>;
  /** writes the request and marks the service's open suggestions accepted; the request's id */
  recordRequest(r: NewUpgradeRequest): Promise<number>;
  /** the suggestion for this key, written pending unless it exists */
  suggestionFor(s: { serviceId: number; clientId: number; key: string }, now: DateTime): Promise<Suggestion>;
  /** sent (its emails written in the same transaction), or failed with the reason (its first 500 characters) */
  markSuggestion(
    id: number,
    change: { status: 'sent'; at: DateTime } | { status: 'failed'; details: string },
  ): Promise<void>;
  /** the newest suggestions; one that cannot be read in its place (told to setAside) */
  recentSuggestions(limit: number): Promise<Array<Listed<Suggestion>>>;
  /** the newest requests; one that cannot be read in its place (told to setAside) */
  recentRequests(limit: number): Promise<Array<Listed<UpgradeRequest>>>;
  /** work in one transaction (retried on a deadlock when not nested): the store and the transaction, for the audit and outbox */
  transaction<T>(work: (tx: UpgradeStore, db: Knex.Transaction) => Promise<T>): Promise<T>;
}

/** A service whose latest rated period was over. */
export interface LatestOver {
  serviceId: number;
  clientId: number;
  productId: number;
  periodId: number;
}

export function parseRatedPeriod(r: Record<string, unknown>): RatedPeriod {
  const c = rowReader(TABLES.charges, r);
  return {
    chargeId: c.num('id'),
    periodId: c.num('period_id'),
    periodStart: c.date('period_start'),
    periodEnd: c.date('period_end'),
    usedBytes: c.big('used_bytes'),
    allowanceBytes: c.big('allowance_bytes'),
    overBytes: c.big('over_bytes'),
    amountMinor: c.big('amount_minor'),
    status: c.at('status', parseChargeStatus),
    explanation: c.json('explanation'),
  };
}

function parseLatestOver(r: Record<string, unknown>): LatestOver {
  const c = rowReader(TABLES.charges, r);
  return {
    serviceId: c.num('service_id'),
    clientId: c.num('client_id'),
    productId: c.num('product_id'),
    periodId: c.num('period_id'),
  };
}

export function parseUpgradeRequest(r: Record<string, unknown>): UpgradeRequest {
  const u = rowReader(TABLES.upgrades, r);
  return {
    id: u.num('id'),
    serviceId: u.num('service_id'),
    clientId: u.num('client_id'),
    fromProductId: u.num('from_product_id'),
    toProductId: u.num('to_product_id'),
    requestedOn: u.date('requested_on'),
    creditPercent: u.num('credit_percent'),
    panelUpgradeId: u.numOrNull('panel_upgrade_id'),
    invoiceId: u.numOrNull('invoice_id'),
  };
}

export function parseSuggestion(r: Record<string, unknown>): Suggestion {
  const n = rowReader(TABLES.notices, r);
  return {
    id: n.num('id'),
    serviceId: n.num('service_id'),
    clientId: n.num('client_id'),
    status: n.word(SUGGESTION_STATUSES, 'status'),
    createdAt: n.instant('created_at'),
  };
}

/**
 * The rating a usage charge stores (its explanation's `rated`): what the period used, over how many
 * days. One that does not read (edited by hand, or not a usage rating) is told to `setAside` (the
 * charge by its id, the column and why, never the text) and is null; without, it is refused.
 */
export function ratedUsageOf(p: RatedPeriod, setAside?: SetAside): RatedCharge | null {
  try {
    const rated = (p.explanation as { rated?: unknown } | null)?.rated;
    if (typeof rated !== 'object' || rated === null) throw new TypeError('no rating');
    return ratedChargeFromJson(rated as Record<string, unknown>);
  } catch {
    const err = storedValueError(`${TABLES.charges}.explanation`, p.explanation, 'a usage rating', {
      secret: true,
    });
    if (!setAside) throw err;
    setAside(TABLES.charges, unreadableRow(p.chargeId, err));
    return null;
  }
}

const RATED_COLUMNS = [
  'id',
  'service_id',
  'period_id',
  'period_start',
  'period_end',
  'used_bytes',
  'allowance_bytes',
  'over_bytes',
  'amount_minor',
  'status',
  'explanation',
];

/** `setAside`: told of each row the admin's recent lists could not read (listed in its place as unreadable). */
export function createUpgradeStore(db: Db, opts: { setAside?: SetAside } = {}): UpgradeStore {
  const suggestions = () => db(TABLES.notices).where({ kind: KIND });
  return {
    async service(serviceId) {
      const s = await db(TABLES.services)
        .where({ service_id: serviceId })
        .first('client_id', 'product_id', 'currency');
      if (!s) return null;
      const r = rowReader(TABLES.services, s);
      return { clientId: r.num('client_id'), productId: r.num('product_id'), currency: r.str('currency') };
    },
    async ratedPeriods(serviceId, count, opts = {}) {
      const q = db(TABLES.charges).where({ service_id: serviceId, seq: 0 });
      // the statuses left out by name, not the kept ones: a status outside the set (a hand edit) is
      // read, and refused, instead of quietly leaving a smaller set of periods
      if (opts.usageOnly)
        q.andWhere({ kind: 'usage' }).whereNotIn('status', ['not_billed', 'pooled', 'void', 'review']);
      const rows = await q.orderBy('period_start', 'desc').limit(count).select(RATED_COLUMNS);
      return readOwned(rows, parseRatedPeriod, TABLES.charges, {
        owner: 'service_id',
        setAside: opts.setAside,
      });
    },
    async latestOver(setAside) {
      const rows = await db(`${TABLES.charges} as c`)
        .whereIn('c.status', ['unbilled', 'billed', 'written_off'])
        .andWhere('c.over_bytes', '>', 0)
        .andWhere('c.seq', 0)
        .whereNotExists(
          db(`${TABLES.charges} as n`)
            .whereRaw('n.service_id = c.service_id')
            .andWhere('n.seq', 0)
            .andWhereRaw('n.period_start > c.period_start'),
        )
        .orderBy('c.service_id')
        .select('c.id', 'c.service_id', 'c.client_id', 'c.product_id', 'c.period_id');
      return readOwned(rows, parseLatestOver, TABLES.charges, { owner: 'service_id', setAside });
    },
    async requestOn(serviceId, toProductId, day) {
      const r = await db(TABLES.upgrades)
        .where({ service_id: serviceId, to_product_id: toProductId, requested_on: day })
        .first();
      return r ? parseUpgradeRequest(r) : null;
    },
    async recordRequest(u) {
      await db(TABLES.upgrades).insert(requestRow(u));
      const row = await db(TABLES.upgrades)
        .where({ service_id: u.serviceId, to_product_id: u.toProductId, requested_on: u.requestedOn })
        .orderBy('id', 'desc')
        .first('id');
      await suggestions()
        .andWhere({ service_id: u.serviceId })
        .whereIn('status', ['sent', 'pending'])
        .update({ status: 'accepted' });
      return rowReader(TABLES.upgrades, row).num('id');
    },
    ...suggestionRows(db, opts.setAside),
    async recentRequests(limit) {
      // each on its own: one request that cannot be read must not hide the others from the admin
      const rows = await db(TABLES.upgrades).orderBy('id', 'desc').limit(limit);
      return readEach(rows, parseUpgradeRequest, TABLES.upgrades, { setAside: opts.setAside });
    },
    transaction: (work) => retryTransaction(db, (trx) => work(createUpgradeStore(trx, opts), trx)),
  };
}

/** The upgrade_suggestion notices: one per streak, then sent or failed. */
function suggestionRows(
  db: Db,
  setAside?: SetAside,
): Pick<UpgradeStore, 'suggestionFor' | 'markSuggestion' | 'recentSuggestions'> {
  const suggestions = () => db(TABLES.notices).where({ kind: KIND });
  return {
    async suggestionFor(s, now) {
      const where = { service_id: s.serviceId, kind: KIND, notice_key: s.key };
      await db(TABLES.notices)
        .insert({ ...where, client_id: s.clientId, status: 'pending', created_at: sqlInstant(now) })
        .onConflict(['service_id', 'kind', 'notice_key'])
        .ignore();
      return parseSuggestion(await db(TABLES.notices).where(where).first());
    },
    async markSuggestion(id, change) {
      await db(TABLES.notices)
        .where({ id })
        .update(
          change.status === 'sent'
            ? { status: 'sent', sent_at: sqlInstant(change.at) }
            : { status: 'failed', details: change.details.slice(0, 500) },
        );
    },
    async recentSuggestions(limit) {
      const rows = await suggestions()
        .orderBy('id', 'desc')
        .limit(limit)
        .select('id', 'service_id', 'client_id', 'status', 'created_at');
      return readEach(rows, parseSuggestion, TABLES.notices, { setAside });
    },
  };
}

function requestRow(u: NewUpgradeRequest): Record<string, unknown> {
  return {
    service_id: u.serviceId,
    client_id: u.clientId,
    from_product_id: u.fromProductId,
    to_product_id: u.toProductId,
    requested_on: u.requestedOn,
    requested_at: sqlInstant(u.requestedAt),
    credit_percent: u.creditPercent,
    panel_upgrade_id: u.panelUpgradeId,
    invoice_id: u.invoiceId,
    figures: u.figures,
  };
}
