import { loggedError } from '../adapters/rows.js';
import { addDays, type IsoDate } from '../domain/calendar.js';
import type { DisputeActor } from '../domain/dispute-state.js';
import { ModuleError, notFound } from '../domain/errors.js';
import type { Actor } from '../adapters/audit-store.js';
import type { DisputeRecord, DisputeStore } from '../adapters/dispute-store.js';
import { withLease } from '../adapters/lock-store.js';
import type { DisputeDeps, DisputeView } from './disputes.js';

/**
 * What the dispute steps (open, hold, resolve, notify) share: their dependencies, the store, one
 * request at a time per dispute, and the day on the panel's calendar.
 */
export interface DisputeContext {
  deps: DisputeDeps;
  store: DisputeStore;
  /** days until an upheld or adjusted line is due once published */
  dueDays: number;
  today(): IsoDate;
  /** the dispute, or NOT_FOUND */
  dispute(id: number): Promise<DisputeRecord>;
  /** one request at a time per key (a line while it is being disputed, a dispute while it is being carried out) */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function disputeContext(deps: DisputeDeps, store: DisputeStore): DisputeContext {
  const today = (): IsoDate => deps.clock.now().setZone(deps.zone).toISODate()!;
  return {
    deps,
    store,
    dueDays: deps.dueDays ?? 14,
    today,
    async dispute(id) {
      const d = await store.get(id);
      if (!d) throw notFound(`dispute ${id} does not exist`);
      return d;
    },
    exclusive: (key, work) =>
      withLease(
        deps.locks,
        key,
        {
          ttlMs: 60_000,
          waitMs: 20_000,
          busy: () =>
            new ModuleError('LOCKED', 'another request is handling this dispute; try again in a moment'),
        },
        work,
      ),
  };
}

/** The due date of a line published after a decision taken today. */
export const dueAfterDecision = (ctx: DisputeContext): IsoDate => addDays(ctx.today(), ctx.dueDays);

export const actorOf = (a: Actor): DisputeActor =>
  a.type === 'client' ? 'client' : a.type === 'admin' || a.type === 'cli' ? 'admin' : 'system';

/** A dispute as the module's callers see it. */
export function viewOf(d: DisputeRecord): DisputeView {
  const {
    openedAt,
    resolvedAt,
    originalItemId: _item,
    heldItemId: _held,
    resolution: _resolution,
    resolvedBy: _by,
    ...kept
  } = d;
  return { ...kept, openedAt: openedAt.toISO()!, resolvedAt: resolvedAt ? resolvedAt.toISO() : null };
}

/** The emails just written go out now; what fails is retried by the outbox's worker. */
export async function sendNow(ctx: DisputeContext, disputeId: number): Promise<void> {
  await ctx.deps.outbox
    .drain()
    .catch((err) => ctx.deps.log.warn('dispute.notify_failed', { disputeId, ...loggedError(err) }));
}
