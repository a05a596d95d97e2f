import crypto from 'node:crypto';
import os from 'node:os';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { closingDateOf, type IsoDate, samplingWindow } from '../domain/calendar.js';
import { ModuleError } from '../domain/errors.js';
import { createdOnIn, serviceCalendar, type ServiceCalendar } from '../domain/billing-calendar.js';
import { describeHolder, holderIsGone, ownerProcess, type LockStore } from '../adapters/lock-store.js';
import { DatabaseGoneError, describeError } from '../adapters/db-errors.js';
import type { MeteringStore, ReadFailure, ReadResult, RunCounts, ServiceToRead } from '../adapters/metering-store.js';
import { SolusVmError, type MasterSettings, type SolusVmGateway, type TrafficReading } from '../adapters/solusvm-types.js';
import type { MasterService } from './masters.js';
import { shareOut } from './master-share.js';

export interface CollectProgress {
  total: number;
  done: number;
  failed: number;
  master: string;
}

export interface MasterOutcome {
  masterId: number;
  name: string;
  status: 'done' | 'locked' | 'error';
  read: number;
  failed: number;
  message: string | null;
  /** the owner of a lease this run took over from a process of this host that is gone */
  tookOverFrom?: string;
}

/** An earlier run left 'running' by a process that died, marked abandoned by this one. */
export interface AbandonedRun {
  runId: number;
  owner: string;
  /** why it is taken for dead, in words (also the run's message) */
  message: string;
}

export interface FailureReason {
  masterId: number;
  master: string;
  kind: string;
  message: string;
  count: number;
  /** a few of the services that failed so, "service 12 (server 104)" */
  services: string[];
}

export interface CollectSummary extends RunCounts {
  runId: number;
  /** earlier runs left 'running' by a process that died, marked abandoned by this one */
  abandonedRuns: AbandonedRun[];
  sampleDate: IsoDate;
  masters: MasterOutcome[];
  durationMs: number;
  /** the most frequent failure reasons, in words, with counts */
  failureReasons: FailureReason[];
  /** every failure reason, by master */
  failures: FailureReason[];
}

/**
 * Failures that say the master as a whole cannot be read (not one VPS): a refused key or address,
 * a certificate, a connection that does not come, an HTML page instead of the API.
 */
export function masterWideFailure(e: SolusVmError): boolean {
  if (e.kind === 'auth' || e.kind === 'ip_refused' || e.kind === 'tls' || e.kind === 'timeout') return true;
  if (e.kind === 'transport') return true;
  return e.kind === 'bad_response' && e.code === 'HTML_PAGE';
}

/** What to do about a master that failed as a whole, in words. */
function masterAdvice(e: SolusVmError, master: string): string {
  switch (e.kind) {
    case 'auth':
      return `check the API id and key (or token) of master "${master}": overusage master update <id> --api-key … (SolusVM: Configuration > API Access)`;
    case 'ip_refused':
      return `allow this host's IP address for the API user on master "${master}" (SolusVM: Configuration > API Access)`;
    case 'tls':
      return `check master "${master}"'s certificate: overusage master test <id> shows the fingerprint to pin`;
    case 'bad_response':
      return `master "${master}"'s URL answers with a web page, not the API: check the URL (overusage master test <id>)`;
    default:
      return `check that master "${master}" is up and reachable from here (overusage master test <id>)`;
  }
}

export interface CollectOptions {
  /** the day to close; must be the day whose end is nearest to now (default) */
  date?: IsoDate;
  masterIds?: number[];
  onProgress?: (p: CollectProgress) => void;
  /** masters worked at once (default all); lower it when several collectors share the masters */
  mastersAtOnce?: number;
  /**
   * how long to keep trying masters other runs hold (default 0: say they are held and go on);
   * a run that dies meanwhile has its share finished by this one
   */
  waitMs?: number;
}

export interface MeteringService {
  collect(opts?: CollectOptions): Promise<CollectSummary>;
  /** active services of active masters with no good sample for the date yet */
  pending(date: IsoDate): Promise<number>;
  /** when the latest run for the date started */
  lastRunStarted(date: IsoDate): Promise<DateTime | null>;
}

export interface MeteringDeps {
  clock: Clock;
  /** the panel's zone: calendar days of samples */
  zone: string;
  store: MeteringStore;
  locks: LockStore;
  masters: MasterService;
  gatewayFor: (settings: MasterSettings) => SolusVmGateway;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** tuning: rows per page, samples per write batch, lease length */
  pageSize?: number;
  batchSize?: number;
  lockTtlMs?: number;
  /** failures of the same master-wide kind in a row after which a run stops calling a master (default 5) */
  breakerThreshold?: number;
}

/**
 * The daily sampling run: read every active service's counter once per day (bounded per master),
 * keep the sample as evidence, and derive intervals and periods. Re-running a day reads only the
 * services still missing; two runs at once split the masters between them by lease.
 */
export function createMeteringService(deps: MeteringDeps): MeteringService {
  const pageSize = deps.pageSize ?? 1000;
  const batchSize = deps.batchSize ?? 500;
  const lockTtlMs = deps.lockTtlMs ?? 120_000;
  const breakerThreshold = deps.breakerThreshold ?? 5;
  const log = deps.log ?? (() => {});

  return {
    lastRunStarted: (date) => deps.store.lastRunStarted(date),
    async pending(date) {
      const active = (await deps.masters.list()).filter((m) => m.active).map((m) => m.id);
      return deps.store.countGaps(active, date);
    },
    async collect(opts = {}) {
      const started = deps.clock.now();
      const current = closingDateOf(started, deps.zone);
      const sampleDate = opts.date ?? current;
      if (sampleDate !== current) {
        const w = samplingWindow(sampleDate, deps.zone);
        throw new ModuleError(
          'INVALID_INPUT',
          `${sampleDate} can only be sampled between ${w.opens.setZone(deps.zone).toFormat('yyyy-MM-dd HH:mm')} and ${w.closes
            .setZone(deps.zone)
            .toFormat('yyyy-MM-dd HH:mm')} (${deps.zone}); it is now ${started.setZone(deps.zone).toFormat('yyyy-MM-dd HH:mm')}, which samples ${current}. A counter cannot be read in the past.`,
          { sampleDate, current },
        );
      }
      const owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
      const abandonedRuns = await abandonDeadRuns(started);
      const runId = await deps.store.startRun('collect', sampleDate, owner, started);
      const counts: RunCounts = { services: 0, readOk: 0, already: 0, failed: 0, gaps: 0, resets: 0, anomalies: 0 };
      const reasons = new Map<string, FailureReason>();
      const outcomes: MasterOutcome[] = [];
      const all = (await deps.masters.list()).filter((m) => m.active && (!opts.masterIds || opts.masterIds.includes(m.id)));

      // Counted once per master: the total for progress, and per master what was sampled before.
      const activeOf = new Map<number, number>();
      for (const m of all) {
        const n = await deps.store.countServices(m.id);
        activeOf.set(m.id, n);
        counts.services += n;
      }
      let done = 0;
      let failedSoFar = 0;
      // One writer for the whole run: batches of different masters go to the database one after
      // another, so the run never competes with itself for locks.
      let writeChain: Promise<unknown> = Promise.resolve();
      const serialWrite = <T>(work: () => Promise<T>): Promise<T> => {
        const next = writeChain.then(work, work);
        writeChain = next.catch(() => {});
        return next;
      };
      const progress = (master: string) => opts.onProgress?.({ total: counts.services, done, failed: failedSoFar, master });

      try {
        // Masters are metered side by side: each has its own concurrency limit, and a slow or dead
        // master must not hold up the others.
        await shareOut(all, { atOnce: opts.mastersAtOnce ?? all.length, waitMs: opts.waitMs ?? 0, pollMs: Math.min(1000, Math.max(50, Math.floor(lockTtlMs / 10))) }, async (m, last) => {
            const lockName = `collect:master:${m.id}`;
            const outcome: MasterOutcome = { masterId: m.id, name: m.name, status: 'done', read: 0, failed: 0, message: null };
            let renew: NodeJS.Timeout | null = null;
            let gateway: SolusVmGateway | null = null;
            let leased = false;
            let retry = false;
            // Whatever fails here (the database too) is this master's outcome: every master is
            // settled before the run is, and nothing is left running behind it.
            try {
              const lease = await deps.locks.acquire(lockName, owner, lockTtlMs);
              if (!lease.acquired) {
                if (!last) {
                  retry = true;
                  return false;
                }
                outcome.status = 'locked';
                outcome.message = `another run holds its lease (${describeHolder(lease.holder)}) and samples it`;
                return true;
              }
              leased = true;
              if (lease.tookOverFrom) {
                outcome.tookOverFrom = lease.tookOverFrom;
                log('collect.lease_taken_over', { master: m.name, from: lease.tookOverFrom });
                // the run that held it died while this one was going: it is marked now, not next time
                abandonedRuns.push(...(await abandonDeadRuns(deps.clock.now())));
              }
              renew = setInterval(() => {
                void deps.locks.renew(lockName, owner, lockTtlMs).catch(() => {});
              }, Math.max(1000, Math.floor(lockTtlMs / 3)));
              renew.unref();
              const settings = await deps.masters.settings(m.id);
              gateway = deps.gatewayFor(settings);
              await meterMaster(settings, gateway, outcome);
              return true;
            } catch (err) {
              outcome.status = 'error';
              outcome.message = describeError(err);
              log('collect.master_error', { master: m.name, error: outcome.message });
            } finally {
              if (renew) clearInterval(renew);
              gateway?.close();
              if (leased) await deps.locks.release(lockName, owner).catch(() => {});
              if (!retry) outcomes.push(outcome);
            }
            return true;
          });
        counts.gaps = await deps.store.countGaps(
          all.map((m) => m.id),
          sampleDate,
        );
        const finished = deps.clock.now();
        const summary: CollectSummary = {
          ...counts,
          runId,
          abandonedRuns,
          sampleDate,
          masters: outcomes.sort((a, b) => a.masterId - b.masterId),
          durationMs: finished.diff(started).toMillis(),
          failureReasons: [...reasons.values()].sort((a, b) => b.count - a.count).slice(0, 5),
          failures: [...reasons.values()].sort((a, b) => a.masterId - b.masterId || b.count - a.count),
        };
        const errors = outcomes.filter((o) => o.status === 'error');
        await deps.store.finishRun(runId, errors.length ? 'failed' : 'finished', counts, errors.map((e) => `${e.name}: ${e.message}`).join('; ').slice(0, 2000) || null, finished);
        return summary;
      } catch (err) {
        const marked = await deps.store.finishRun(runId, 'failed', counts, describeError(err), deps.clock.now()).then(
          () => true,
          () => false,
        );
        if (err instanceof DatabaseGoneError) {
          err.note = marked ? `run ${runId} is marked failed` : `run ${runId} stays marked running until the next collect marks it abandoned`;
        }
        throw err;
      }

      /**
       * Runs left 'running' by a process that died: on this host, its process is gone; elsewhere,
       * it holds no lease and started more than two lease lengths ago.
       */
      async function abandonDeadRuns(now: DateTime): Promise<AbandonedRun[]> {
        const out: AbandonedRun[] = [];
        for (const r of await deps.store.runningRuns('collect')) {
          const p = ownerProcess(r.owner);
          let why: string | null = null;
          if (p && holderIsGone(p)) why = `its process (${p.pid}) on this host is gone`;
          else if (now.diff(r.startedAt).toMillis() > 2 * lockTtlMs && (await deps.locks.countHeldBy(r.owner)) === 0) why = `it holds no lease and gave no sign of life since ${r.startedAt.toISO()}`;
          if (why && (await deps.store.abandonRun(r.id, `abandoned: ${why}`, now))) {
            out.push({ runId: r.id, owner: r.owner, message: `abandoned: ${why}` });
            log('collect.run_abandoned', { runId: r.id, owner: r.owner, why });
          }
        }
        return out;
      }

      async function meterMaster(settings: MasterSettings, gateway: SolusVmGateway, outcome: MasterOutcome): Promise<void> {
        // The calendar follows what SolusVM 2 says of this server's plan in the very read it bills.
        const calendarFor = (s: ServiceToRead, reading: TrafficReading): ServiceCalendar =>
          serviceCalendar({
            servicePolicy: s.resetPolicy,
            serviceDay: s.resetDay,
            solusvmPolicy: reading.planResetPolicy ?? s.solusvmResetPolicy,
            solusvmCreatedOn: reading.createdAt ? createdOnIn(reading.createdAt, settings.zone) : s.solusvmCreatedOn,
            masterPolicy: settings.resetPolicy,
            zone: settings.zone,
            regdate: s.regdate,
            billingDay: s.billingDay,
            anniversaryFrom: settings.anniversaryFrom ?? 'solusvm',
          });
        const alreadyBefore = activeOf.get(settings.id) ?? 0;
        let queued = 0;
        let cursor = 0;
        let exhausted = false;
        const queue: ServiceToRead[] = [];
        let refill: Promise<void> | null = null;
        let pending: ReadResult[] = [];
        let failures: ReadFailure[] = [];
        let writing: Promise<void> = Promise.resolve();
        let queuedBatches = 0;
        let writeError: Error | null = null;

        const fill = (): Promise<void> =>
          (refill ??= (async () => {
            const page = await deps.store.pageToRead(settings.id, sampleDate, cursor, pageSize);
            if (page.length < pageSize) exhausted = true;
            if (page.length) cursor = page[page.length - 1]!.serviceId;
            queued += page.length;
            queue.push(...page);
          })().finally(() => {
            refill = null;
          }));

        // Writes are chained: one batch at a time, while reads go on.
        const flush = (force = false): Promise<void> => {
          if (!force && pending.length < batchSize && failures.length < batchSize) return writing;
          const batch = pending;
          const failed = failures;
          pending = [];
          failures = [];
          queuedBatches++;
          writing = writing.then(async () => {
            queuedBatches--;
            if (writeError) return;
            try {
              const out = await serialWrite(() => deps.store.writeBatch(settings.id, runId, batch, deps.clock.now()));
              counts.readOk += out.stored;
              counts.resets += out.resets;
              counts.anomalies += out.anomalies;
              outcome.read += out.stored;
              if (failed.length) await serialWrite(() => deps.store.recordFailures(runId, failed));
            } catch (err) {
              writeError = err as Error;
            }
          });
          return writing;
        };

        // The circuit breaker: until a read succeeds (and again after a master-wide failure), one
        // call at a time; after `breakerThreshold` master-wide failures of one kind in a row, the
        // run stops calling this master. A revoked key costs that many calls, not one per VPS.
        let probing = true;
        let probeTail: Promise<void> = Promise.resolve();
        let streak: { key: string; count: number } | null = null;
        let tripped: SolusVmError | null = null;
        const noteFailure = (e: SolusVmError): void => {
          if (!masterWideFailure(e)) {
            streak = null;
            return;
          }
          probing = true;
          streak = streak && streak.key === e.kind ? { key: e.kind, count: streak.count + 1 } : { key: e.kind, count: 1 };
          if (streak.count >= breakerThreshold && !tripped) {
            tripped = e;
            outcome.status = 'error';
            outcome.message = `stopped after ${streak.count} failed reads in a row (${e.message}); the other services of this master were not called and are gaps today. What to do: ${masterAdvice(e, settings.name).replace(/<id>/g, String(settings.id))}`;
            log('collect.master_tripped', { master: settings.name, kind: e.kind, code: e.code, failures: streak.count });
          }
        };
        const oneAtATime = async <T>(fn: () => Promise<T>): Promise<T | null> => {
          if (!probing) return tripped ? null : fn();
          let release!: () => void;
          const before = probeTail;
          probeTail = new Promise<void>((r) => (release = r));
          await before;
          try {
            return tripped ? null : await fn();
          } finally {
            release();
          }
        };

        const worker = async (): Promise<void> => {
          for (;;) {
            if (writeError || tripped) return;
            if (queue.length === 0) {
              if (exhausted && !refill) return;
              await fill();
              continue;
            }
            // Keep the next page coming before the queue runs dry.
            // a failed prefetch stops the master like a failed write (never an unhandled rejection)
            if (queue.length < pageSize / 4 && !exhausted && !refill) fill().catch((err: unknown) => void (writeError ??= err as Error));
            const svc = queue.shift()!;
            try {
              const reading = await oneAtATime(async () => {
                try {
                  const r = await gateway.readTraffic(svc.serverRef);
                  probing = false;
                  streak = null;
                  return r;
                } catch (err) {
                  // counted before the next call may start, so a tripped breaker stops it
                  if (err instanceof SolusVmError) noteFailure(err);
                  throw err;
                }
              });
              if (reading === null) return; // the breaker tripped while this one waited
              const sampledAt: DateTime = deps.clock.now();
              pending.push({ service: svc, reading, sampledAt, sampleDate: closingDateOf(sampledAt, deps.zone), calendar: calendarFor(svc, reading) });
            } catch (err) {
              const e = err instanceof SolusVmError ? err : null;
              const kind = e?.kind ?? 'internal';
              const message = e ? e.message : `unexpected error: ${(err as Error).message}`;
              failures.push({ serviceId: svc.serviceId, masterId: settings.id, sampleDate, attemptedAt: deps.clock.now(), kind, message });
              counts.failed++;
              outcome.failed++;
              failedSoFar++;
              const key = `${settings.id}|${kind}:${e?.code ?? ''}:${message}`;
              const r = reasons.get(key) ?? { masterId: settings.id, master: settings.name, kind, message: `${settings.name}: ${message}`, count: 0, services: [] };
              r.count++;
              if (r.services.length < 3) r.services.push(`service ${svc.serviceId} (server ${svc.serverRef})`);
              reasons.set(key, r);
            }
            done++;
            progress(settings.name);
            // Back-pressure: when the writer falls behind, reads wait, so no more than a couple of
            // batches per master are ever held in memory.
            if (pending.length >= batchSize || failures.length >= batchSize) {
              const w = flush();
              if (queuedBatches > 1) await w;
            }
          }
        };

        await fill();
        await Promise.all(
          Array.from({ length: settings.concurrency }, () =>
            worker().catch((err: unknown) => {
              writeError ??= err as Error;
            }),
          ),
        );
        await flush(true);
        await writing;
        if (writeError) throw writeError;
        const already = alreadyBefore - queued;
        counts.already += already;
        done += already;
        progress(settings.name);
      }
    },
  };
}
