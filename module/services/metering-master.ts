import { errorKind } from '../adapters/rows.js';
import type { DateTime } from 'luxon';
import { closingDateOf, type IsoDate } from '../domain/calendar.js';
import { createdOnIn, serviceCalendar, type ServiceCalendar } from '../domain/billing-calendar.js';
import type { ReadFailure, ReadResult, ServiceToRead } from '../adapters/metering-store.js';
import {
  SolusVmError,
  type MasterSettings,
  type SolusVmGateway,
  type TrafficReading,
} from '../adapters/solusvm-types.js';
import type { CollectRun, MasterOutcome } from './metering.js';

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

/** The first error that stops a master's work: a failed write or page read, or a worker that threw. */
interface Stop {
  error: Error | null;
}

/** The services still to read on one master, a page at a time, the next page fetched before the queue runs dry. */
function createReadQueue(run: CollectRun, masterId: number, stop: Stop) {
  const { pageSize } = run.tuning;
  const queue: ServiceToRead[] = [];
  let cursor = 0;
  let exhausted = false;
  let refill: Promise<void> | null = null;
  const state = { queued: 0 };
  const fill = (): Promise<void> =>
    (refill ??= (async () => {
      const page = await run.deps.store.pageToRead(masterId, run.sampleDate, cursor, pageSize);
      if (page.length < pageSize) exhausted = true;
      if (page.length) cursor = page[page.length - 1]!.serviceId;
      state.queued += page.length;
      queue.push(...page);
    })().finally(() => {
      refill = null;
    }));
  /** the next service to read, or null when there is none left */
  const next = async (): Promise<ServiceToRead | null> => {
    while (queue.length === 0) {
      if (exhausted && !refill) return null;
      await fill();
    }
    // a failed prefetch stops the master like a failed write (never an unhandled rejection)
    if (queue.length < pageSize / 4 && !exhausted && !refill)
      fill().catch((err: unknown) => void (stop.error ??= err as Error));
    return queue.shift()!;
  };
  return { fill, next, state };
}

/** Samples and failures written in batches, one batch at a time, while reads go on. */
function createBatchWriter(run: CollectRun, masterId: number, outcome: MasterOutcome, stop: Stop) {
  const { batchSize } = run.tuning;
  let pending: ReadResult[] = [];
  let failures: ReadFailure[] = [];
  let writing: Promise<void> = Promise.resolve();
  let queuedBatches = 0;
  const flush = (force = false): Promise<void> => {
    if (!force && pending.length < batchSize && failures.length < batchSize) return writing;
    const batch = pending;
    const failed = failures;
    pending = [];
    failures = [];
    queuedBatches++;
    writing = writing.then(async () => {
      queuedBatches--;
      if (stop.error) return;
      try {
        outcome.read += await run.writeSamples({ masterId, results: batch });
        if (failed.length) await run.serialWrite(() => run.deps.store.recordFailures(run.runId, failed));
      } catch (err) {
        stop.error = err as Error;
      }
    });
    return writing;
  };
  return {
    read: (r: ReadResult) => void pending.push(r),
    failed: (f: ReadFailure) => void failures.push(f),
    /** Back-pressure: when the writer falls behind, reads wait, so no more than a couple of batches per master are held in memory. */
    async keepUp(): Promise<void> {
      if (pending.length < batchSize && failures.length < batchSize) return;
      const w = flush();
      if (queuedBatches > 1) await w;
    },
    async close(): Promise<void> {
      await flush(true);
      await writing;
    },
  };
}

/**
 * The circuit breaker: until a read succeeds (and again after a master-wide failure), one call at
 * a time; after `breakerThreshold` master-wide failures of one kind in a row, the run stops calling
 * this master. A revoked key costs that many calls, not one per VPS.
 */
function createBreaker(run: CollectRun, settings: MasterSettings, outcome: MasterOutcome) {
  let probing = true;
  let probeTail: Promise<void> = Promise.resolve();
  let streak: { key: string; count: number } | null = null;
  const state: { tripped: SolusVmError | null } = { tripped: null };
  const noteFailure = (e: SolusVmError): void => {
    if (!masterWideFailure(e)) {
      streak = null;
      return;
    }
    probing = true;
    streak =
      streak && streak.key === e.kind ? { key: e.kind, count: streak.count + 1 } : { key: e.kind, count: 1 };
    if (streak.count >= run.tuning.breakerThreshold && !state.tripped) {
      state.tripped = e;
      outcome.status = 'error';
      outcome.message = `stopped after ${streak.count} failed reads in a row (${e.message}); the other services of this master were not called and are gaps today. What to do: ${masterAdvice(e, settings.name).replace(/<id>/g, String(settings.id))}`;
      run.log('collect.master_tripped', {
        master: settings.name,
        kind: e.kind,
        code: e.code,
        failures: streak.count,
      });
    }
  };
  const guarded = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      const r = await fn();
      probing = false;
      streak = null;
      return r;
    } catch (err) {
      // counted before the next call may start, so a tripped breaker stops it
      if (err instanceof SolusVmError) noteFailure(err);
      throw err;
    }
  };
  /** calls `fn` through the breaker: null when it has tripped */
  const call = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    if (!probing) return state.tripped ? null : guarded(fn);
    let release!: () => void;
    const before = probeTail;
    probeTail = new Promise<void>((r) => (release = r));
    await before;
    try {
      return state.tripped ? null : await guarded(fn);
    } finally {
      release();
    }
  };
  return { call, state };
}

/** A failed read: counted, and its reason grouped with the others of the same kind and message (a transport failure: the same code). */
function failedRead(
  run: CollectRun,
  settings: MasterSettings,
  svc: ServiceToRead,
  err: unknown,
  outcome: MasterOutcome,
): ReadFailure {
  const e = err instanceof SolusVmError ? err : null;
  const kind = e?.kind ?? (svc.unreadable !== undefined ? 'stored_row' : 'internal');
  const message =
    e || svc.unreadable !== undefined
      ? (err as Error).message
      : // not the master's: its kind (errorKind), never its words, which can quote a stored value
        `unexpected error: ${errorKind(err)}`;
  run.counts.failed++;
  outcome.failed++;
  run.failedSoFar++;
  // A dropped connection reads 'ECONNRESET' or 'socket hang up' depending on when it dropped: one
  // cause for the admin, so a transport failure is grouped by its code, not by its wording.
  const key =
    kind === 'transport' && e?.code
      ? `${settings.id}|transport:${e.code}`
      : `${settings.id}|${kind}:${e?.code ?? ''}:${message}`;
  const r = run.reasons.get(key) ?? {
    masterId: settings.id,
    master: settings.name,
    kind,
    message: `${settings.name}: ${message}`,
    count: 0,
    services: [],
  };
  r.count++;
  if (r.services.length < 3) r.services.push(`service ${svc.serviceId} (server ${svc.serverRef})`);
  run.reasons.set(key, r);
  return {
    serviceId: svc.serviceId,
    masterId: settings.id,
    sampleDate: run.sampleDate,
    attemptedAt: run.deps.clock.now(),
    kind,
    message,
  };
}

/** Reads one master's services still missing today, `settings.concurrency` at a time, and writes what it read. */
export async function meterMaster(
  run: CollectRun,
  settings: MasterSettings,
  gateway: SolusVmGateway,
  outcome: MasterOutcome,
): Promise<void> {
  const { deps } = run;
  // The calendar follows what SolusVM 2 says of this server's plan in the very read it bills.
  const calendarFor = (
    s: ServiceToRead,
    reading: TrafficReading,
    createdOn: IsoDate | null,
  ): ServiceCalendar =>
    serviceCalendar({
      servicePolicy: s.resetPolicy,
      serviceDay: s.resetDay,
      solusvmPolicy: reading.planResetPolicy ?? s.solusvmResetPolicy,
      solusvmCreatedOn: reading.createdAt ? createdOn : s.solusvmCreatedOn,
      masterPolicy: settings.resetPolicy,
      zone: settings.zone,
      regdate: s.regdate,
      billingDay: s.billingDay,
      anniversaryFrom: settings.anniversaryFrom ?? 'solusvm',
    });
  const stop: Stop = { error: null };
  const queue = createReadQueue(run, settings.id, stop);
  const writer = createBatchWriter(run, settings.id, outcome, stop);
  const breaker = createBreaker(run, settings, outcome);

  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop.error || breaker.state.tripped) return;
      const svc = await queue.next();
      if (svc === null) return;
      try {
        // a service whose stored row cannot be read is not called: a failed read that names the column
        if (svc.unreadable !== undefined) throw new Error(`its stored row cannot be read: ${svc.unreadable}`);
        const reading = await breaker.call(() => gateway.readTraffic(svc.serverRef));
        if (reading === null) return; // the breaker tripped while this one waited
        const sampledAt: DateTime = deps.clock.now();
        // worked out once: the calendar and the stored service row both need it
        const createdOn = reading.createdAt ? createdOnIn(reading.createdAt, settings.zone) : null;
        writer.read({
          service: svc,
          reading,
          sampledAt,
          sampleDate: closingDateOf(sampledAt, deps.zone),
          calendar: calendarFor(svc, reading, createdOn),
          createdOn,
        });
      } catch (err) {
        writer.failed(failedRead(run, settings, svc, err, outcome));
      }
      run.done++;
      run.progress(settings.name);
      await writer.keepUp();
    }
  };

  await queue.fill();
  await Promise.all(
    Array.from({ length: settings.concurrency }, () =>
      worker().catch((err: unknown) => void (stop.error ??= err as Error)),
    ),
  );
  await writer.close();
  if (stop.error) throw stop.error;
  const already = (run.activeOf.get(settings.id) ?? 0) - queue.state.queued;
  run.counts.already += already;
  run.done += already;
  run.progress(settings.name);
}
