import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { LiftReason, LimitAction, LimitStatus, SpeedSettings } from '../domain/limit-policy.js';
import { storedWord, storedWordOrNull } from '../domain/stored-value.js';
import {
  bigIn,
  instantIn,
  instantOrNullIn,
  intIn,
  jsonOrNullIn,
  readEach,
  readOwned,
  readableOf,
  sqlBig,
  sqlInstant,
  textIn,
  textOrNullIn,
  type Listed,
  type SetAside,
} from './rows.js';
import { TABLES } from './tables.js';

const TABLE = TABLES.limitActions;

export const PANEL_STATES = [
  'none',
  'to_suspend',
  'suspended',
  'to_restore',
  'restored',
  'untouched',
] as const;
export type PanelState = (typeof PANEL_STATES)[number];

// the words of module/domain/limit-policy.ts, checked where a row enters the code
const ACTIONS = ['throttle', 'suspend'] as const satisfies readonly LimitAction[];
const STATUSES = [
  'pending',
  'applied',
  'observed',
  'released',
  'lifting',
  'lifted',
  'cancelled',
] as const satisfies readonly LimitStatus[];
const LIFT_REASONS = [
  'next_period',
  'allowance_raised',
  'policy_changed',
  'admin',
] as const satisfies readonly LiftReason[];

/** One throttle or suspension at the limit, as stored. */
export interface LimitActionRow {
  id: number;
  serviceId: number;
  clientId: number;
  periodId: number;
  action: LimitAction;
  actionKey: string;
  status: LimitStatus;
  masterId: number;
  serverRef: string;
  allowanceBytes: bigint;
  usedBytes: bigint;
  speedTarget: SpeedSettings | null;
  speedRestore: SpeedSettings | null;
  panelState: PanelState;
  attempts: number;
  nextAttemptAt: DateTime | null;
  lastError: string | null;
  liftReason: LiftReason | null;
  liftedBy: string | null;
  decidedAt: DateTime;
  appliedAt: DateTime | null;
  liftRequestedAt: DateTime | null;
  liftedAt: DateTime | null;
  updatedAt: DateTime;
}

export interface NewLimitAction {
  serviceId: number;
  clientId: number;
  periodId: number;
  action: LimitAction;
  actionKey: string;
  masterId: number;
  serverRef: string;
  allowanceBytes: bigint;
  usedBytes: bigint;
}

/** Columns a transition may set. */
export interface LimitActionChange {
  status?: LimitStatus;
  speedTarget?: SpeedSettings | null;
  speedRestore?: SpeedSettings | null;
  panelState?: PanelState;
  attempts?: number;
  nextAttemptAt?: DateTime | null;
  lastError?: string | null;
  liftReason?: LiftReason | null;
  liftedBy?: string | null;
  appliedAt?: DateTime | null;
  liftRequestedAt?: DateTime | null;
  liftedAt?: DateTime | null;
}

const json = (v: SpeedSettings | null): string | null => (v === null ? null : JSON.stringify(v));
const parseJson = (v: unknown, column: string): SpeedSettings | null =>
  v === '' ? null : (jsonOrNullIn(v, column) as SpeedSettings | null);

const col = (name: string) => `${TABLE}.${name}`;

/** A stored row, every column checked: a value outside its column's set is reported with the column. */
export function parseLimitActionRow(r: Record<string, unknown>): LimitActionRow {
  return {
    id: intIn(r.id, col('id')),
    serviceId: intIn(r.service_id, col('service_id')),
    clientId: intIn(r.client_id, col('client_id')),
    periodId: intIn(r.period_id, col('period_id')),
    action: storedWord(ACTIONS, r.action, col('action')),
    actionKey: textIn(r.action_key, col('action_key')),
    status: storedWord(STATUSES, r.status, col('status')),
    masterId: intIn(r.master_id, col('master_id')),
    serverRef: textIn(r.server_ref, col('server_ref')),
    allowanceBytes: bigIn(r.allowance_bytes, col('allowance_bytes')),
    usedBytes: bigIn(r.used_bytes, col('used_bytes')),
    speedTarget: parseJson(r.speed_target, col('speed_target')),
    speedRestore: parseJson(r.speed_restore, col('speed_restore')),
    panelState: storedWord(PANEL_STATES, r.panel_state, col('panel_state')),
    attempts: intIn(r.attempts, col('attempts')),
    nextAttemptAt: instantOrNullIn(r.next_attempt_at, col('next_attempt_at')),
    lastError: textOrNullIn(r.last_error, col('last_error')),
    liftReason: storedWordOrNull(LIFT_REASONS, r.lift_reason, col('lift_reason')),
    liftedBy: textOrNullIn(r.lifted_by, col('lifted_by')),
    decidedAt: instantIn(r.decided_at, col('decided_at')),
    appliedAt: instantOrNullIn(r.applied_at, col('applied_at')),
    liftRequestedAt: instantOrNullIn(r.lift_requested_at, col('lift_requested_at')),
    liftedAt: instantOrNullIn(r.lifted_at, col('lifted_at')),
    updatedAt: instantIn(r.updated_at, col('updated_at')),
  };
}

function toColumns(c: LimitActionChange): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const instant = (t: DateTime | null) => (t === null ? null : sqlInstant(t));
  if (c.status !== undefined) out.status = c.status;
  if (c.speedTarget !== undefined) out.speed_target = json(c.speedTarget);
  if (c.speedRestore !== undefined) out.speed_restore = json(c.speedRestore);
  if (c.panelState !== undefined) out.panel_state = c.panelState;
  if (c.attempts !== undefined) out.attempts = c.attempts;
  if (c.nextAttemptAt !== undefined) out.next_attempt_at = instant(c.nextAttemptAt);
  if (c.lastError !== undefined) out.last_error = c.lastError === null ? null : c.lastError.slice(0, 2000);
  if (c.liftReason !== undefined) out.lift_reason = c.liftReason;
  if (c.liftedBy !== undefined) out.lifted_by = c.liftedBy === null ? null : c.liftedBy.slice(0, 80);
  if (c.appliedAt !== undefined) out.applied_at = instant(c.appliedAt);
  if (c.liftRequestedAt !== undefined) out.lift_requested_at = instant(c.liftRequestedAt);
  if (c.liftedAt !== undefined) out.lifted_at = instant(c.liftedAt);
  return out;
}

export interface LimitActionStore {
  /** inserts the action unless its key exists: the new row's id, null when the key was there */
  insertIfNew(db: Knex | Knex.Transaction, a: NewLimitAction, at: DateTime): Promise<number | null>;
  get(id: number): Promise<LimitActionRow | null>;
  byKey(serviceId: number, actionKey: string): Promise<LimitActionRow | null>;
  /**
   * Applies a change only if the row is still in the status the caller read: two workers (a cron
   * tick and an admin's lift) never both move the same action. True when it moved.
   */
  transition(
    db: Knex | Knex.Transaction,
    id: number,
    from: LimitStatus | readonly LimitStatus[],
    change: LimitActionChange,
    at: DateTime,
  ): Promise<boolean>;
  /**
   * The panel's record followed: moved from the state the caller read to where it is now (a
   * concurrent change of the row wins). True when it moved.
   */
  panelSynced(
    db: Knex | Knex.Transaction,
    id: number,
    from: PanelState,
    to: PanelState,
    at: DateTime,
  ): Promise<boolean>;
  /**
   * rows that need work: active (pending, applied, lifting) or with the panel still to update. One
   * that cannot be read is left out (told to `setAside`): its service waits for it to be mended,
   * the others' lifts and retries go on.
   */
  needingWork(setAside?: SetAside): Promise<LimitActionRow[]>;
  /**
   * the service's rows of a period (or all), newest first. With `setAside`, a row that cannot be
   * read is told there and stands in its place as an UnreadableRow; without, it is refused.
   */
  forService(serviceId: number, periodId?: number): Promise<LimitActionRow[]>;
  forService(
    serviceId: number,
    periodId: number | undefined,
    setAside: SetAside,
  ): Promise<Array<Listed<LimitActionRow>>>;
  /**
   * active rows of these services, for the decision. A row that cannot be read is left out (told to
   * `setAside`) and its service named in `undecided`: deciding it from its other rows could take an
   * action it already has.
   */
  activeFor(
    serviceIds: readonly number[],
    setAside?: SetAside,
  ): Promise<LimitActionRow[] & { undecided?: Set<number> }>;
  /** newest first; a row that cannot be read is an UnreadableRow in its place (told to `setAside`) */
  list(filter: {
    serviceId?: number;
    status?: LimitStatus | readonly LimitStatus[];
    limit?: number;
    beforeId?: number;
  }): Promise<Array<Listed<LimitActionRow>>>;
}

async function insertIfNew(
  db: Knex | Knex.Transaction,
  a: NewLimitAction,
  at: DateTime,
): Promise<number | null> {
  const now = sqlInstant(at);
  const key = { service_id: a.serviceId, action_key: a.actionKey };
  const before = await db(TABLE).where(key).first('id');
  if (before) return null;
  await db(TABLE)
    .insert({
      service_id: a.serviceId,
      client_id: a.clientId,
      period_id: a.periodId,
      action: a.action,
      action_key: a.actionKey,
      status: 'pending',
      master_id: a.masterId,
      server_ref: a.serverRef,
      allowance_bytes: sqlBig(a.allowanceBytes),
      used_bytes: sqlBig(a.usedBytes),
      panel_state: 'none',
      attempts: 0,
      next_attempt_at: now,
      decided_at: now,
      updated_at: now,
    })
    .onConflict(['service_id', 'action_key'])
    .ignore();
  // the unique key keeps a racing run from adding a second row; runs hold a lease, so the
  // answer is exact in practice
  const created = await db(TABLE).where(key).first('id');
  return intIn(created?.id, col('id'));
}

/** `setAside`: told of each row `list` could not read (listed in its place as unreadable). */
export function createLimitActionStore(knex: Knex, opts: { setAside?: SetAside } = {}): LimitActionStore {
  async function forService(serviceId: number, periodId?: number): Promise<LimitActionRow[]>;
  async function forService(
    serviceId: number,
    periodId: number | undefined,
    setAside: SetAside,
  ): Promise<Array<Listed<LimitActionRow>>>;
  async function forService(serviceId: number, periodId?: number, setAside?: SetAside) {
    const q = knex(TABLE).where({ service_id: serviceId });
    if (periodId !== undefined) q.andWhere({ period_id: periodId });
    const rows = await q.orderBy('id', 'desc');
    if (!setAside) return rows.map(parseLimitActionRow);
    return readEach(rows, parseLimitActionRow, TABLE, { setAside });
  }
  return {
    forService,
    insertIfNew,
    async get(id) {
      const r = await knex(TABLE).where({ id }).first();
      return r ? parseLimitActionRow(r) : null;
    },
    async byKey(serviceId, actionKey) {
      const r = await knex(TABLE).where({ service_id: serviceId, action_key: actionKey }).first();
      return r ? parseLimitActionRow(r) : null;
    },
    async transition(db, id, from, change, at) {
      const statuses = typeof from === 'string' ? [from] : [...from];
      const n = await db(TABLE)
        .where({ id })
        .whereIn('status', statuses)
        .update({ ...toColumns(change), updated_at: sqlInstant(at) });
      return n === 1;
    },
    async panelSynced(db, id, from, to, at) {
      const n = await db(TABLE)
        .where({ id, panel_state: from })
        .update({ panel_state: to, updated_at: sqlInstant(at) });
      return n === 1;
    },
    async needingWork(setAside) {
      const rows = await knex(TABLE)
        .whereIn('status', ['pending', 'applied', 'lifting'])
        .orWhereIn('panel_state', ['to_suspend', 'to_restore'])
        .orderBy('id');
      return readableOf(readEach(rows, parseLimitActionRow, TABLE, { setAside }));
    },
    async activeFor(serviceIds, setAside) {
      const out: LimitActionRow[] & { undecided?: Set<number> } = [];
      for (let i = 0; i < serviceIds.length; i += 500) {
        const rows = await knex(TABLE)
          .whereIn('service_id', serviceIds.slice(i, i + 500))
          .whereIn('status', ['pending', 'applied', 'lifting']);
        const read = readOwned(rows, parseLimitActionRow, TABLE, { owner: 'service_id', setAside });
        out.push(...read);
        for (const id of read.unreadable?.keys() ?? []) (out.undecided ??= new Set()).add(id);
      }
      return out;
    },
    async list(filter) {
      const q = knex(TABLE);
      if (filter.serviceId !== undefined) q.where({ service_id: filter.serviceId });
      if (filter.status !== undefined)
        q.whereIn('status', typeof filter.status === 'string' ? [filter.status] : [...filter.status]);
      if (filter.beforeId !== undefined) q.where('id', '<', filter.beforeId);
      const rows = await q.orderBy('id', 'desc').limit(Math.min(filter.limit ?? 100, 1000));
      return readEach(rows, parseLimitActionRow, TABLE, { setAside: opts.setAside });
    },
  };
}
