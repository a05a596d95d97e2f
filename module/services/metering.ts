import crypto from 'node:crypto';
import os from 'node:os';
import type { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import { closingDateOf, type IsoDate, samplingWindow } from '../domain/calendar.js';
import { ModuleError } from '../domain/errors.js';
import { describeHolder, holderIsGone, ownerProcess, type LockStore } from '../adapters/lock-store.js';
import { DatabaseGoneError, describeError } from '../adapters/db-errors.js';
import type { MeteringStore, RunCounts, SampleBatch } from '../adapters/metering-store.js';
import type { UnreadableMaster } from '../adapters/master-store.js';
import type { MasterSettings, SolusVmGateway } from '../adapters/solusvm-types.js';
import type { MasterService } from './masters.js';
import { shareOut } from './master-share.js';
import { meterMaster } from './metering-master.js';
import { createGroupWriter } from './metering-writer.js';

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
  /**
   * tuning: services per page and reads per write batch, each master's (default: the run's
   * budget shared among the masters it meters at once, see runTuning), lease length
   */
  pageSize?: number;
  batchSize?: number;
  lockTtlMs?: number;
  /** failures of the same master-wide kind in a row after which a run stops calling a master (default 5) */
  breakerThreshold?: number;
}

/** Tuning of a run, with its defaults. */
interface Tuning {
  pageSize: number;
  batchSize: number;
  /** the most reads one write takes, several masters' batches together (metering-writer.ts) */
  groupSize: number;
  lockTtlMs: number;
  breakerThreshold: number;
}

// What a run holds in memory at most, over all the masters it meters at once: pages of services to
// read and batches of reads to write. Each master had a page of 1 000 and a batch of 500 whatever
// their number; at 40 masters that held ~45 000 services and reads (the collect's peak RSS 323 MB
// for 100 000 services against 221 MB on 4 masters). Now 4 masters keep today's sizes, more share them.
const PAGE_BUDGET = 4000;
const BATCH_BUDGET = 2000;
const GROUP_SIZE = 1000;

/** Each master's page and batch, from the service's tuning (set by hand: kept) and the masters metered at once. */
function runTuning(
  deps: MeteringDeps,
  base: Omit<Tuning, 'pageSize' | 'batchSize' | 'groupSize'>,
  masters: number,
): Tuning {
  const share = (budget: number, min: number, max: number) =>
    Math.max(min, Math.min(max, Math.floor(budget / Math.max(1, masters))));
  const batchSize = deps.batchSize ?? share(BATCH_BUDGET, 50, 500);
  return {
    ...base,
    pageSize: deps.pageSize ?? share(PAGE_BUDGET, 100, 1000),
    batchSize,
    groupSize: Math.max(batchSize, GROUP_SIZE),
  };
}

/** One collect run's shared state: what every master's work adds to, and the one writer. */
export interface CollectRun {
  deps: MeteringDeps;
  tuning: Tuning;
  log: (event: string, fields: Record<string, unknown>) => void;
  runId: number;
  owner: string;
  sampleDate: IsoDate;
  counts: RunCounts;
  reasons: Map<string, FailureReason>;
  outcomes: MasterOutcome[];
  abandonedRuns: AbandonedRun[];
  /** per master, its active services, counted once before the run (what was sampled before is derived) */
  activeOf: Map<number, number>;
  /** read so far and failed so far, over all masters, for progress */
  done: number;
  failedSoFar: number;
  progress: (master: string) => void;
  /** one writer for the whole run: batches of different masters go to the database one after another */
  serialWrite: <T>(work: () => Promise<T>) => Promise<T>;
  /** a master's batch of reads, written with whatever other masters' batches wait: how many were stored */
  writeSamples: (batch: SampleBatch) => Promise<number>;
}

/**
 * The daily sampling run: read every active service's counter once per day (bounded per master),
 * keep the sample as evidence, and derive intervals and periods. Re-running a day reads only the
 * services still missing; two runs at once split the masters between them by lease.
 */
export function createMeteringService(deps: MeteringDeps): MeteringService {
  const tuning = {
    lockTtlMs: deps.lockTtlMs ?? 120_000,
    breakerThreshold: deps.breakerThreshold ?? 5,
  };
  return {
    lastRunStarted: (date) => deps.store.lastRunStarted(date),
    async pending(date) {
      const active = (await deps.masters.list()).filter((m) => m.active).map((m) => m.id);
      return deps.store.countGaps(active, date);
    },
    collect: (opts = {}) => collect(deps, tuning, opts),
  };
}

/** The day a run samples: only the day whose end is nearest to now (a counter cannot be read in the past). */
function sampleDateOf(deps: MeteringDeps, started: DateTime, date: IsoDate | undefined): IsoDate {
  const current = closingDateOf(started, deps.zone);
  const sampleDate = date ?? current;
  if (sampleDate === current) return sampleDate;
  const w = samplingWindow(sampleDate, deps.zone);
  const at = (t: DateTime) => t.setZone(deps.zone).toFormat('yyyy-MM-dd HH:mm');
  throw new ModuleError(
    'INVALID_INPUT',
    `${sampleDate} can only be sampled between ${at(w.opens)} and ${at(w.closes)} (${deps.zone}); it is now ${at(started)}, which samples ${current}. A counter cannot be read in the past.`,
    { sampleDate, current },
  );
}

/** A run's shared state, with its one writer chain and the group writer of samples on it. */
function newRun(
  deps: MeteringDeps,
  tuning: Tuning,
  opts: CollectOptions,
  ids: Pick<CollectRun, 'log' | 'runId' | 'owner' | 'sampleDate' | 'abandonedRuns'>,
): CollectRun {
  let writeChain: Promise<unknown> = Promise.resolve();
  const serialWrite = <T>(work: () => Promise<T>): Promise<T> => {
    const next = writeChain.then(work, work);
    writeChain = next.catch(() => {});
    return next;
  };
  const run: CollectRun = {
    ...ids,
    deps,
    tuning,
    counts: { services: 0, readOk: 0, already: 0, failed: 0, gaps: 0, resets: 0, anomalies: 0 },
    reasons: new Map(),
    outcomes: [],
    activeOf: new Map(),
    done: 0,
    failedSoFar: 0,
    progress: (master) =>
      opts.onProgress?.({ total: run.counts.services, done: run.done, failed: run.failedSoFar, master }),
    serialWrite,
    writeSamples: createGroupWriter({
      groupSize: tuning.groupSize,
      serial: serialWrite,
      write: (batches) => deps.store.writeBatch(ids.runId, batches, deps.clock.now()),
      counted: (out) => {
        run.counts.readOk += out.stored;
        run.counts.resets += out.resets;
        run.counts.anomalies += out.anomalies;
      },
    }).write,
  };
  return run;
}

async function collect(
  deps: MeteringDeps,
  base: Omit<Tuning, 'pageSize' | 'batchSize' | 'groupSize'>,
  opts: CollectOptions,
): Promise<CollectSummary> {
  const log = deps.log ?? (() => {});
  const started = deps.clock.now();
  const sampleDate = sampleDateOf(deps, started, opts.date);
  const owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  const abandonedRuns = await abandonDeadRuns(deps, base, log, started);
  const runId = await deps.store.startRun('collect', sampleDate, owner, started);
  const chosen = (m: { id: number; active: boolean }) =>
    m.active && (!opts.masterIds || opts.masterIds.includes(m.id));
  const listing = await deps.masters.listAll();
  const all = listing.masters.filter(chosen);
  const unreadable = listing.unreadable.filter(chosen);
  const atOnce = Math.min(opts.mastersAtOnce ?? all.length, all.length);
  const tuning = runTuning(deps, base, atOnce);
  const run = newRun(deps, tuning, opts, { log, runId, owner, sampleDate, abandonedRuns });
  for (const m of [...all, ...unreadable]) {
    const n = await deps.store.countServices(m.id);
    run.activeOf.set(m.id, n);
    run.counts.services += n;
  }
  for (const u of unreadable) skipUnreadable(run, u);
  try {
    // Masters are metered side by side: each has its own concurrency limit, and a slow or dead
    // master must not hold up the others.
    // A master another run holds is asked after four times a second: a run whose own share is
    // done learns within 250 ms that the others finished theirs (at 1 s, three collectors' day
    // ended up to a second after its last sample; issue 22, collectors.scaling).
    const pollMs = Math.min(250, Math.max(50, Math.floor(tuning.lockTtlMs / 10)));
    await shareOut(all, { atOnce, waitMs: opts.waitMs ?? 0, pollMs }, (m, last) =>
      collectMaster(run, m, last),
    );
    return await finish(
      run,
      [...all, ...unreadable].map((m) => m.id),
      started,
    );
  } catch (err) {
    const marked = await deps.store
      .finishRun(runId, 'failed', run.counts, describeError(err), deps.clock.now())
      .then(
        () => true,
        () => false,
      );
    if (err instanceof DatabaseGoneError) {
      err.note = marked
        ? `run ${runId} is marked failed`
        : `run ${runId} stays marked running until the next collect marks it abandoned`;
    }
    throw err;
  }
}

/**
 * A master whose stored row cannot be read is not read (no settings, no gateway): its outcome is
 * an error naming the master and the column, logged; its services count as the day's gaps (a
 * failed read is a gap, never a zero), and the other masters go on.
 */
function skipUnreadable(run: CollectRun, u: UnreadableMaster): void {
  const name = u.name ?? `master ${u.id}`;
  const message = `its stored row cannot be read: ${u.problem}`;
  run.outcomes.push({ masterId: u.id, name, status: 'error', read: 0, failed: 0, message });
  run.log('collect.master_unreadable', { masterId: u.id, master: name, column: u.column, error: u.problem });
}

/** Counts the day's gaps, marks the run finished (or failed, naming the masters) and sums it up. */
async function finish(run: CollectRun, masterIds: number[], started: DateTime): Promise<CollectSummary> {
  const { deps, counts, outcomes, reasons } = run;
  counts.gaps = await deps.store.countGaps(masterIds, run.sampleDate);
  const finished = deps.clock.now();
  const summary: CollectSummary = {
    ...counts,
    runId: run.runId,
    abandonedRuns: run.abandonedRuns,
    sampleDate: run.sampleDate,
    masters: outcomes.sort((a, b) => a.masterId - b.masterId),
    durationMs: finished.diff(started).toMillis(),
    failureReasons: [...reasons.values()].sort((a, b) => b.count - a.count).slice(0, 5),
    failures: [...reasons.values()].sort((a, b) => a.masterId - b.masterId || b.count - a.count),
  };
  const errors = outcomes.filter((o) => o.status === 'error');
  const message =
    errors
      .map((e) => `${e.name}: ${e.message}`)
      .join('; ')
      .slice(0, 2000) || null;
  await deps.store.finishRun(run.runId, errors.length ? 'failed' : 'finished', counts, message, finished);
  return summary;
}

/**
 * One master under its lease: false when another run holds it and this is not the last try.
 * Whatever fails here (the database too) is this master's outcome: every master is settled before
 * the run is, and nothing is left running behind it.
 */
async function collectMaster(
  run: CollectRun,
  m: { id: number; name: string },
  last: boolean,
): Promise<boolean> {
  const { deps, owner, log } = run;
  const { lockTtlMs } = run.tuning;
  const lockName = `collect:master:${m.id}`;
  const outcome: MasterOutcome = {
    masterId: m.id,
    name: m.name,
    status: 'done',
    read: 0,
    failed: 0,
    message: null,
  };
  let renew: NodeJS.Timeout | null = null;
  let gateway: SolusVmGateway | null = null;
  let leased = false;
  let retry = false;
  try {
    const lease = await deps.locks.acquire(lockName, owner, lockTtlMs);
    if (!lease.acquired) {
      if (!last) {
        retry = true;
        return false;
      }
      outcome.status = 'locked';
      outcome.message = `another run holds its lease (${describeHolder(lease.holder)}) and samples it`;
      return true; // the last try: shareOut asks no more, whatever the answer
    }
    leased = true;
    if (lease.tookOverFrom) {
      outcome.tookOverFrom = lease.tookOverFrom;
      log('collect.lease_taken_over', { master: m.name, from: lease.tookOverFrom });
      // the run that held it died while this one was going: it is marked now, not next time
      run.abandonedRuns.push(...(await abandonDeadRuns(deps, run.tuning, log, deps.clock.now())));
    }
    renew = setInterval(
      () => void deps.locks.renew(lockName, owner, lockTtlMs).catch(() => {}),
      Math.max(1000, Math.floor(lockTtlMs / 3)),
    );
    renew.unref();
    const settings = await deps.masters.settings(m.id);
    gateway = deps.gatewayFor(settings);
    const t0 = Date.now();
    await meterMaster(run, settings, gateway, outcome);
    // which run worked which master, and how long: what an operator of several collectors asks
    log('collect.master_done', {
      master: m.name,
      read: outcome.read,
      failed: outcome.failed,
      ms: Date.now() - t0,
    });
    return true;
  } catch (err) {
    outcome.status = 'error';
    outcome.message = describeError(err);
    log('collect.master_error', { master: m.name, error: outcome.message });
    return true;
  } finally {
    if (renew) clearInterval(renew);
    gateway?.close();
    if (leased) await deps.locks.release(lockName, owner).catch(() => {});
    if (!retry) run.outcomes.push(outcome);
  }
}

/**
 * Runs left 'running' by a process that died: on this host, its process is gone; elsewhere,
 * it holds no lease and started more than two lease lengths ago.
 */
async function abandonDeadRuns(
  deps: MeteringDeps,
  tuning: { lockTtlMs: number },
  log: CollectRun['log'],
  now: DateTime,
): Promise<AbandonedRun[]> {
  const out: AbandonedRun[] = [];
  for (const r of await deps.store.runningRuns('collect')) {
    const p = ownerProcess(r.owner);
    let why: string | null = null;
    if (p && holderIsGone(p)) why = `its process (${p.pid}) on this host is gone`;
    else if (
      now.diff(r.startedAt).toMillis() > 2 * tuning.lockTtlMs &&
      (await deps.locks.countHeldBy(r.owner)) === 0
    )
      why = `it holds no lease and gave no sign of life since ${r.startedAt.toISO()}`;
    if (why && (await deps.store.abandonRun(r.id, `abandoned: ${why}`, now))) {
      out.push({ runId: r.id, owner: r.owner, message: `abandoned: ${why}` });
      log('collect.run_abandoned', { runId: r.id, owner: r.owner, why });
    }
  }
  return out;
}
