import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import type { LiftReason, LimitAction, LimitStatus, SpeedSettings } from '../domain/limit-policy.js';
import { sqlBig, sqlInstant, toBig, toInstantOrNull, toNum } from './rows.js';

const TABLE = 'mod_overusage_limit_actions';

export type PanelState = 'none' | 'to_suspend' | 'suspended' | 'to_restore' | 'restored' | 'untouched';

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
const parseJson = (v: unknown): SpeedSettings | null =>
  v === null || v === undefined || v === '' ? null : (JSON.parse(String(v)) as SpeedSettings);

function toRow(r: Record<string, unknown>): LimitActionRow {
  return {
    id: toNum(r.id),
    serviceId: toNum(r.service_id),
    clientId: toNum(r.client_id),
    periodId: toNum(r.period_id),
    action: String(r.action) as LimitAction,
    actionKey: String(r.action_key),
    status: String(r.status) as LimitStatus,
    masterId: toNum(r.master_id),
    serverRef: String(r.server_ref),
    allowanceBytes: toBig(r.allowance_bytes),
    usedBytes: toBig(r.used_bytes),
    speedTarget: parseJson(r.speed_target),
    speedRestore: parseJson(r.speed_restore),
    panelState: String(r.panel_state) as PanelState,
    attempts: toNum(r.attempts),
    nextAttemptAt: toInstantOrNull(r.next_attempt_at),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    liftReason:
      r.lift_reason === null || r.lift_reason === undefined ? null : (String(r.lift_reason) as LiftReason),
    liftedBy: r.lifted_by === null || r.lifted_by === undefined ? null : String(r.lifted_by),
    decidedAt: toInstantOrNull(r.decided_at)!,
    appliedAt: toInstantOrNull(r.applied_at),
    liftRequestedAt: toInstantOrNull(r.lift_requested_at),
    liftedAt: toInstantOrNull(r.lifted_at),
    updatedAt: toInstantOrNull(r.updated_at)!,
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
  /** inserts the action unless its key exists; false when the key was there */
  insertIfNew(db: Knex | Knex.Transaction, a: NewLimitAction, at: DateTime): Promise<boolean>;
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
  /** rows that need work: active (pending, applied, lifting) or with the panel still to update */
  needingWork(): Promise<LimitActionRow[]>;
  /** the service's rows of a period (or all), newest first */
  forService(serviceId: number, periodId?: number): Promise<LimitActionRow[]>;
  /** active rows of these services, for the decision */
  activeFor(serviceIds: readonly number[]): Promise<LimitActionRow[]>;
  list(filter: {
    serviceId?: number;
    status?: LimitStatus | readonly LimitStatus[];
    limit?: number;
    beforeId?: number;
  }): Promise<LimitActionRow[]>;
}

export function createLimitActionStore(knex: Knex): LimitActionStore {
  return {
    async insertIfNew(db, a, at) {
      const now = sqlInstant(at);
      const before = await db(TABLE).where({ service_id: a.serviceId, action_key: a.actionKey }).first('id');
      if (before) return false;
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
      return true;
    },
    async get(id) {
      const r = await knex(TABLE).where({ id }).first();
      return r ? toRow(r) : null;
    },
    async byKey(serviceId, actionKey) {
      const r = await knex(TABLE).where({ service_id: serviceId, action_key: actionKey }).first();
      return r ? toRow(r) : null;
    },
    async transition(db, id, from, change, at) {
      const statuses = typeof from === 'string' ? [from] : [...from];
      const n = await db(TABLE)
        .where({ id })
        .whereIn('status', statuses)
        .update({ ...toColumns(change), updated_at: sqlInstant(at) });
      return n === 1;
    },
    async needingWork() {
      const rows = await knex(TABLE)
        .whereIn('status', ['pending', 'applied', 'lifting'])
        .orWhereIn('panel_state', ['to_suspend', 'to_restore'])
        .orderBy('id');
      return rows.map(toRow);
    },
    async forService(serviceId, periodId) {
      const q = knex(TABLE).where({ service_id: serviceId });
      if (periodId !== undefined) q.andWhere({ period_id: periodId });
      return (await q.orderBy('id', 'desc')).map(toRow);
    },
    async activeFor(serviceIds) {
      const out: LimitActionRow[] = [];
      for (let i = 0; i < serviceIds.length; i += 500) {
        const rows = await knex(TABLE)
          .whereIn('service_id', serviceIds.slice(i, i + 500))
          .whereIn('status', ['pending', 'applied', 'lifting']);
        out.push(...rows.map(toRow));
      }
      return out;
    },
    async list(filter) {
      const q = knex(TABLE);
      if (filter.serviceId !== undefined) q.where({ service_id: filter.serviceId });
      if (filter.status !== undefined)
        q.whereIn('status', typeof filter.status === 'string' ? [filter.status] : [...filter.status]);
      if (filter.beforeId !== undefined) q.where('id', '<', filter.beforeId);
      return (await q.orderBy('id', 'desc').limit(Math.min(filter.limit ?? 100, 1000))).map(toRow);
    },
  };
}
