import type { Logger } from '../adapters/logger.js';
import { loggedError } from '../adapters/rows.js';
import type { DisputeService } from './disputes.js';
import type { InvoiceLineService } from './invoice-lines.js';
import type { LimitActionService } from './limit-actions.js';
import type { Outbox } from './outbox.js';
import type { PanelSyncService } from './panel-sync.js';
import type { PoolService } from './pools.js';
import type { RatingService } from './rating.js';
import type { ThresholdNoticeService } from './threshold-notices.js';
import type { UpgradeSuggestionService } from './upgrade-suggestions.js';

/** What the panel's cron ticks run; the parts that need the panel are absent without one. */
export interface DailyJobDeps {
  rating: RatingService;
  pools: PoolService;
  limits: LimitActionService;
  log: Logger;
  lines?: InvoiceLineService | undefined;
  disputes?: DisputeService | undefined;
  outbox?: Outbox | undefined;
  suggestions?: UpgradeSuggestionService | undefined;
  thresholds?: ThresholdNoticeService | undefined;
  panelFields?: { run(): Promise<unknown> } | undefined;
  sync?: PanelSyncService | undefined;
  /** the AddInvoiceLateFee handling that failed, done again on the tick */
  lateFees?: { sweep(): Promise<number> } | undefined;
}

export interface DailyJobs {
  /** the 5-minute tick: intents a stopped process left (deliveries, holds, resolutions), late fees the hook failed to correct, and emails not sent yet */
  everyTick(): Promise<void>;
  /** the daily billing work: rate what closed, finish interrupted deliveries, bill what no renewal picks up, suggest upgrades where a streak is on */
  dailyBilling(): Promise<void>;
  /**
   * before the panel creates the day's invoices (PreCronJob): the periods that closed, and the pool
   * months that ended once `samplesIn` says the day's last samples are in, are rated, so each
   * renewal's InvoiceCreation finds its charges rated (dailyBilling's first steps, done earlier)
   */
  rateBeforeInvoicing(samplesIn: () => Promise<boolean>): Promise<RatedBeforeInvoicing>;
  /** after a collect: notices first (the 100 % email goes out before the VPS is acted on), then the policy; otherwise only what is due */
  watchUsage(ran: { collected: boolean }): Promise<void>;
  /** with a panel, before each sampling: the links and pool membership as the panel shows them (spans to the hour the sync ran) */
  beforeSampling?(): Promise<void>;
}

export interface RatedBeforeInvoicing {
  /** closed periods rated (charges written) */
  periods: number;
  /** pool months rated */
  pools: number;
  /** a pool month ended but the day's last samples are not all in: it waits for DailyCronJob */
  poolsWait: boolean;
}

/**
 * Each job runs all its parts; the first failure is thrown once every part has had its turn
 * (dailyBilling: but a part that needs one that failed is not run, logged as skipped).
 */
export function createDailyJobs(d: DailyJobDeps): DailyJobs {
  const sync = d.sync;
  return {
    ...(sync
      ? {
          // The member sync reads the links as stored: when the panel's sync fails, the links the
          // last one recorded still hold, and the pools' spans follow them (the next run records
          // the rest). Neither needs the other: both run, the first failure thrown at the end.
          async beforeSampling() {
            await runParts(d.log, 'before_sampling', [
              { name: 'panel.sync', run: () => sync.sync() },
              { name: 'pools.members', run: () => d.pools.syncMembers() },
            ]);
          },
        }
      : {}),
    async everyTick() {
      let failure: unknown = null;
      if (d.lines) await d.lines.reconcilePending().catch((err: unknown) => (failure = err));
      if (d.disputes) await d.disputes.resume().catch((err: unknown) => (failure ??= err));
      if (d.lateFees) await d.lateFees.sweep().catch((err: unknown) => (failure ??= err));
      if (d.outbox) await d.outbox.drain().catch((err: unknown) => (failure ??= err));
      if (failure) throw failure;
    },
    async dailyBilling() {
      const lines = d.lines;
      const suggestions = d.suggestions;
      // Each part runs, in this order, unless a part it `needs` failed that night: that one is not
      // run (logged with why) and waits for the next night. Only the real dependencies are named:
      // - pools.rate rates the months that ended from the members' spans, so it needs the member
      //   sync (never a month rated on a membership not brought up to date);
      // - lines.standalone needs lines.reconcile: deliveries that stopped part-way are finished before
      //   anything goes on an invoice of its own (else a charge half on a renewal invoice is billed again).
      // Rating and the pools go first so their charges go on tonight's invoices; when one of them
      // fails, what it did not rate is not seen by the parts after it and is billed once rated.
      // The suggestions read only rated periods: one rated late is seen the night after.
      await runParts(d.log, 'daily_billing', [
        { name: 'rating', run: () => d.rating.rateClosedPeriods() },
        { name: 'pools.members', run: () => d.pools.syncMembers() },
        { name: 'pools.rate', needs: ['pools.members'], run: () => d.pools.ratePools() },
        ...(lines
          ? [
              { name: 'lines.reconcile', run: () => lines.reconcile() },
              { name: 'lines.standalone', needs: ['lines.reconcile'], run: () => lines.billUnpicked() },
            ]
          : []),
        ...(suggestions ? [{ name: 'upgrade_suggestions', run: () => suggestions.run() }] : []),
      ]);
    },
    async rateBeforeInvoicing(samplesIn) {
      const periods = (await d.rating.rateClosedPeriods()).rated;
      // A period closes only once a sample read its last day; a pool month ends by the calendar,
      // and is rated from its members' daily traffic: with the last day's samples missing it waits
      // for DailyCronJob's collect. Most days no month is due, and nothing more is read.
      if (!(await d.pools.anyMonthDue())) return { periods, pools: 0, poolsWait: false };
      if (!(await samplesIn())) return { periods, pools: 0, poolsWait: true };
      await d.pools.syncMembers();
      return { periods, pools: (await d.pools.ratePools()).rated, poolsWait: false };
    },
    async watchUsage(ran) {
      let failure: unknown = null;
      // the panel's own bandwidth fields follow each sampling (one figure on the service page)
      if (d.panelFields && ran.collected)
        await d.panelFields
          .run()
          .catch((err: unknown) => d.log.warn('panel_fields.failed', { ...loggedError(err) }));
      if (d.thresholds)
        await d.thresholds.run({ decide: ran.collected }).catch((err: unknown) => (failure = err));
      await d.limits.run({ decide: ran.collected }).catch((err: unknown) => (failure ??= err));
      if (failure) throw failure;
    },
  };
}

/** One part of a job: `needs` names the earlier parts that must have run without failing. */
interface JobPart {
  name: string;
  needs?: readonly string[];
  run(): Promise<unknown>;
}

/**
 * Runs every part in turn: one that fails is logged (`<job>.part_failed`, the error as loggedError
 * gives it: never a stored value), a part that needs one that failed or was skipped is not run and
 * is logged (`<job>.part_skipped` with the part it waited for). The first failure is thrown at the
 * end, so the cron sees the run failed.
 */
async function runParts(log: Logger, job: string, parts: readonly JobPart[]): Promise<void> {
  let failure: { err: unknown } | null = null;
  const notDone = new Map<string, string>();
  for (const part of parts) {
    const missing = part.needs?.find((n) => notDone.has(n));
    if (missing !== undefined) {
      log.warn(`${job}.part_skipped`, {
        part: part.name,
        after: missing,
        reason: `${missing} ${notDone.get(missing)}`,
      });
      notDone.set(part.name, 'was not run');
      continue;
    }
    try {
      await part.run();
    } catch (err) {
      failure ??= { err };
      notDone.set(part.name, 'failed');
      log.warn(`${job}.part_failed`, { part: part.name, ...loggedError(err) });
    }
  }
  if (failure) throw failure.err;
}
