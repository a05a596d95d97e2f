import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import { auditLog, type Actor } from '../adapters/audit-store.js';
import { createSampleStore, type SampleStore } from '../adapters/sample-store.js';

/**
 * Retention of raw samples (issue 22). The daily figures (intervals) and every period's total stay
 * for ever: they are what usage pages, rating and evidence sum, so pruning changes no total. The
 * raw samples go after `keepMonths` (default 13), except:
 * - the samples behind a billed line (the samples its intervals start and end at, a pool line's
 *   members' too), kept `evidenceYears` (default 7: Dutch and Belgian bookkeeping law), and for as
 *   long as the line's dispute is open;
 * - the samples of a period not yet closed, every service's latest sample (metering reads it) and
 *   the latest of a period not yet rated (rating reads its limit).
 */
export interface PruneReport {
  dryRun: boolean;
  /** raw samples of days before this go */
  cutoff: string;
  /** evidence of billed lines of days before this goes (unless disputed and open) */
  evidenceCutoff: string;
  examined: number;
  deleted: number;
  keptBilled: number;
  keptDisputed: number;
  keptOpenOrLatest: number;
}

export interface RetentionService {
  prune(opts: {
    keepMonths?: number;
    evidenceYears?: number;
    dryRun?: boolean;
    actor: Actor;
  }): Promise<PruneReport>;
}

const BATCH = 2000;

export function createRetentionService(deps: { knex: Knex; clock: Clock; zone: string }): RetentionService {
  const { knex } = deps;
  const samples = createSampleStore(knex);
  return {
    async prune(opts) {
      const keepMonths = opts.keepMonths ?? 13;
      const evidenceYears = opts.evidenceYears ?? 7;
      if (!Number.isSafeInteger(keepMonths) || keepMonths < 1)
        throw new ModuleError(
          'INVALID_INPUT',
          `the months to keep raw samples must be a whole number of at least 1, not ${keepMonths}`,
        );
      if (!Number.isSafeInteger(evidenceYears) || evidenceYears < 1)
        throw new ModuleError(
          'INVALID_INPUT',
          `the years to keep evidence must be a whole number of at least 1, not ${evidenceYears}`,
        );
      const today = deps.clock.now().setZone(deps.zone).startOf('day');
      const cutoff = today.minus({ months: keepMonths }).toISODate()!;
      const evidenceCutoff = today.minus({ years: evidenceYears }).toISODate()!;
      const report: PruneReport = {
        dryRun: Boolean(opts.dryRun),
        cutoff,
        evidenceCutoff,
        examined: 0,
        deleted: 0,
        keptBilled: 0,
        keptDisputed: 0,
        keptOpenOrLatest: 0,
      };
      const poolEvidence = await poolSampleKeeps(samples);
      let cursor = 0;
      for (;;) {
        const rows = await samples.olderThan(cutoff, cursor, BATCH);
        if (!rows.length) break;
        cursor = rows[rows.length - 1]!.id;
        report.examined += rows.length;
        const keep = await keepsAmong(
          samples,
          rows.map((r) => r.id),
        );
        const drop: number[] = [];
        for (const r of rows) {
          const k = stronger(keep.get(r.id), poolEvidence.get(r.id));
          if (k === 'open') report.keptOpenOrLatest++;
          else if (k === 'disputed') report.keptDisputed++;
          else if (k === 'billed' && r.sampleDate >= evidenceCutoff) report.keptBilled++;
          else drop.push(r.id);
        }
        report.deleted += drop.length;
        if (!opts.dryRun) await samples.delete(drop);
      }
      if (!opts.dryRun) {
        await auditLog.record(
          knex,
          {
            actor: opts.actor,
            action: 'samples.pruned',
            entityType: 'samples',
            entityId: null,
            details: { ...report },
          },
          deps.clock.now(),
        );
      }
      return report;
    },
  };
}

type Keep = 'open' | 'disputed' | 'billed';
const rank: Record<Keep, number> = { billed: 1, disputed: 2, open: 3 };
const stronger = (a: Keep | undefined, b: Keep | undefined): Keep | undefined =>
  !a ? b : !b ? a : rank[a] >= rank[b] ? a : b;
const note = (m: Map<number, Keep>, id: number, k: Keep) => {
  const was = m.get(id);
  if (!was || rank[k] > rank[was]) m.set(id, k);
};

/** Of these samples, the ones to keep and why: latest of a service or period, open period, billed, disputed. */
async function keepsAmong(samples: SampleStore, ids: number[]): Promise<Map<number, Keep>> {
  const out = new Map<number, Keep>();
  for (const id of await samples.latestOfServices(ids)) note(out, id, 'open');
  // a period's latest reading (its limit) is read when it is rated: kept until it is
  for (const id of await samples.latestOfUnratedPeriods(ids)) note(out, id, 'open');
  for (const e of await samples.intervalEnds(ids)) {
    if (e.periodStatus === 'open') note(out, e.sampleId, 'open');
    else if (e.disputeState === 'open') note(out, e.sampleId, 'disputed');
    else if (e.lineId !== null) note(out, e.sampleId, 'billed');
  }
  return out;
}

/** The samples behind pool lines: each member's intervals on its days in the pool's month. */
async function poolSampleKeeps(samples: SampleStore): Promise<Map<number, Keep>> {
  const out = new Map<number, Keep>();
  for (const line of await samples.poolLines()) {
    const month = await samples.poolMonth(line.poolPeriodId);
    if (!month) continue;
    const k: Keep = line.disputeState === 'open' ? 'disputed' : 'billed';
    for (const m of month.members) {
      const days = new Set(m.days);
      for (const i of await samples.intervalsEndingBetween(m.serviceId, month.start, month.end)) {
        if (!days.has(i.toDate)) continue;
        note(out, i.toSampleId, k);
        if (i.fromSampleId !== null) note(out, i.fromSampleId, k);
      }
    }
  }
  return out;
}
