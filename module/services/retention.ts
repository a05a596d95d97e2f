import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { ModuleError } from '../domain/errors.js';
import { auditLog, type Actor } from '../adapters/audit-store.js';
import { toDate, toNum } from '../adapters/rows.js';

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
      const poolEvidence = await poolSampleKeeps(knex);
      let cursor = 0;
      for (;;) {
        const rows = await knex('mod_overusage_samples')
          .where('id', '>', cursor)
          .andWhere('sample_date', '<', cutoff)
          .orderBy('id')
          .limit(BATCH)
          .select('id', 'sample_date');
        if (!rows.length) break;
        cursor = toNum(rows[rows.length - 1]!.id);
        report.examined += rows.length;
        const ids = rows.map((r) => toNum(r.id));
        const keep = await keepsAmong(knex, ids);
        const drop: number[] = [];
        for (const r of rows) {
          const id = toNum(r.id);
          const k = stronger(keep.get(id), poolEvidence.get(id));
          if (k === 'open') report.keptOpenOrLatest++;
          else if (k === 'disputed') report.keptDisputed++;
          else if (k === 'billed' && toDate(r.sample_date) >= evidenceCutoff) report.keptBilled++;
          else drop.push(id);
        }
        report.deleted += drop.length;
        if (!opts.dryRun && drop.length) await knex('mod_overusage_samples').whereIn('id', drop).delete();
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
async function keepsAmong(knex: Knex, ids: number[]): Promise<Map<number, Keep>> {
  const out = new Map<number, Keep>();
  for (const r of await knex('mod_overusage_services')
    .whereIn('last_sample_id', ids)
    .select('last_sample_id'))
    note(out, toNum(r.last_sample_id), 'open');
  // a period's latest reading (its limit) is read when it is rated: kept until it is
  for (const r of await knex('mod_overusage_periods as p')
    .leftJoin('mod_overusage_charges as c', 'c.period_id', 'p.id')
    .whereIn('p.last_sample_id', ids)
    .andWhere((q) => q.where('p.status', 'open').orWhereNull('c.id'))
    .select('p.last_sample_id'))
    note(out, toNum(r.last_sample_id), 'open');
  for (const col of ['to_sample_id', 'from_sample_id'] as const) {
    const rows = await knex('mod_overusage_intervals as i')
      .join('mod_overusage_periods as p', 'p.id', 'i.period_id')
      .leftJoin('mod_overusage_charges as c', 'c.period_id', 'p.id')
      .leftJoin('mod_overusage_lines as l', 'l.charge_id', 'c.id')
      .leftJoin('mod_overusage_disputes as d', 'd.line_id', 'l.id')
      .whereIn(`i.${col}`, ids)
      .select(`i.${col} as sid`, 'p.status', 'l.id as line_id', 'd.state as dispute');
    for (const r of rows) {
      const sid = toNum(r.sid);
      if (r.status === 'open') note(out, sid, 'open');
      else if (r.dispute === 'open') note(out, sid, 'disputed');
      else if (r.line_id !== null && r.line_id !== undefined) note(out, sid, 'billed');
    }
  }
  return out;
}

/** The samples behind pool lines: each member's intervals on its days in the pool's month. */
async function poolSampleKeeps(knex: Knex): Promise<Map<number, Keep>> {
  const out = new Map<number, Keep>();
  const lines = await knex('mod_overusage_lines as l')
    .join('mod_overusage_charges as c', 'c.id', 'l.charge_id')
    .leftJoin('mod_overusage_disputes as d', 'd.line_id', 'l.id')
    .where('c.period_id', '<', 0)
    .select('c.period_id', 'd.state as dispute');
  for (const line of lines) {
    const pp = await knex('mod_overusage_pool_periods')
      .where({ id: -toNum(line.period_id) })
      .first();
    if (!pp) continue;
    const members = (
      JSON.parse(String(pp.details)) as { members: Array<{ serviceId: number; days?: string[] }> }
    ).members;
    for (const m of members) {
      const days = new Set(m.days ?? []);
      const rows = await knex('mod_overusage_intervals')
        .where('service_id', Number(m.serviceId))
        .andWhere('to_date', '>=', toDate(pp.start_date))
        .andWhere('to_date', '<=', toDate(pp.end_date))
        .select('to_date', 'from_sample_id', 'to_sample_id');
      for (const i of rows) {
        if (!days.has(toDate(i.to_date))) continue;
        const k: Keep = line.dispute === 'open' ? 'disputed' : 'billed';
        note(out, toNum(i.to_sample_id), k);
        if (i.from_sample_id !== null) note(out, toNum(i.from_sample_id), k);
      }
    }
  }
  return out;
}
