import { stringify } from 'csv-stringify/sync';
import type { Knex } from 'knex';
import { dailySeries, type DayFigure } from '../domain/daily-series.js';
import { notFound } from '../domain/errors.js';
import { ratedChargeFromJson, type RatedCharge } from '../domain/usage-rating.js';
import { toBig, toBigOrNull, toBool, toDate, toInstant, toNum } from '../adapters/rows.js';

/**
 * The evidence behind a line: the daily figures that sum to the billed bytes (estimates marked as
 * such) and the raw samples SolusVM gave, as read. The same for the client, the admin and the
 * dispute, as JSON and as CSV.
 */
export interface LineEvidence {
  line: {
    id: number;
    refCode: string;
    invoiceId: number;
    serviceId: number;
    clientId: number;
    status: string;
    amountMinor: bigint;
    currency: string;
    description: string;
    invoiceDate: string;
    deadlineLastDay: string;
    deadlineClosesAt: string;
  };
  period: {
    id: number;
    startDate: string;
    endDate: string;
    usedBytes: bigint;
    closedBy: string | null;
    unmeasuredAfter: string | null;
  };
  rated: RatedCharge;
  /**
   * A transfer pool's line (module/services/pools.ts): the pool's month and each member's hours,
   * share of the allowance, days and use; the days and samples are the members' together.
   */
  pool?: {
    key: string;
    periodHours: number;
    members: Array<{
      serviceId: number;
      hours: number;
      shareBytes: bigint;
      usedBytes: bigint;
      billedOverBytes: bigint;
      amountMinor: bigint;
      days: string[];
    }>;
  };
  days: DayFigure[];
  intervals: Array<{
    kind: string;
    fromDate: string;
    toDate: string;
    bytes: bigint;
    fromSampleId: number | null;
    toSampleId: number;
  }>;
  samples: Array<{
    id: number;
    sampleDate: string;
    sampledAt: string;
    usedBytes: bigint;
    limitBytes: bigint | null;
    state: string;
    raw: string;
  }>;
}

export interface EvidenceService {
  /** `clientId` restricts to the client's own lines (anything else reads as not found) */
  forLine(lineId: number, opts?: { clientId?: number }): Promise<LineEvidence>;
}

export function createEvidenceService(deps: { knex: Knex }): EvidenceService {
  const { knex } = deps;
  return {
    async forLine(lineId, opts = {}) {
      const q = knex('mod_overusage_lines as l')
        .join('mod_overusage_charges as c', 'c.id', 'l.charge_id')
        .leftJoin('mod_overusage_periods as p', 'p.id', 'c.period_id')
        .where('l.id', lineId);
      if (opts.clientId !== undefined) q.andWhere('l.client_id', opts.clientId);
      const row = await q.first(
        'l.*',
        'c.explanation',
        'c.kind as charge_kind',
        'c.period_id as charge_period_id',
        'p.id as period_id',
        'p.start_date',
        'p.end_date',
        'p.used_bytes as period_used',
        'p.closed_by',
        'p.unmeasured_after',
      );
      if (row && String(row.charge_kind) === 'pool') return poolEvidence(knex, row);
      if (!row || row.period_id === null || row.period_id === undefined)
        throw notFound(`line ${lineId} does not exist`);
      return usageEvidence(knex, row);
    },
  };
}

function lineOf(row: Record<string, unknown>): LineEvidence['line'] {
  return {
    id: toNum(row.id),
    refCode: String(row.ref_code),
    invoiceId: toNum(row.invoice_id),
    serviceId: toNum(row.service_id),
    clientId: toNum(row.client_id),
    status: String(row.status),
    amountMinor: toBig(row.amount_minor),
    currency: String(row.currency),
    description: String(row.description),
    invoiceDate: toDate(row.invoice_date),
    deadlineLastDay: toDate(row.deadline_last_day),
    deadlineClosesAt: toInstant(row.deadline_closes_at).toISO()!,
  };
}

async function samplesOf(
  knex: Knex,
  intervalRows: Array<Record<string, unknown>>,
): Promise<LineEvidence['samples']> {
  const sampleIds = new Set<number>();
  for (const i of intervalRows) {
    sampleIds.add(toNum(i.to_sample_id));
    if (i.from_sample_id !== null) sampleIds.add(toNum(i.from_sample_id));
  }
  const sampleRows = sampleIds.size
    ? await knex('mod_overusage_samples')
        .whereIn('id', [...sampleIds])
        .orderBy('sampled_at')
    : [];
  return sampleRows.map((s) => ({
    id: toNum(s.id),
    sampleDate: toDate(s.sample_date),
    sampledAt: toInstant(s.sampled_at).toISO()!,
    usedBytes: toBig(s.used_bytes),
    limitBytes: toBigOrNull(s.limit_bytes),
    state: String(s.state),
    raw: String(s.raw),
  }));
}

const intervalOf = (i: Record<string, unknown>) => ({
  kind: String(i.kind),
  fromDate: toDate(i.from_date),
  toDate: toDate(i.to_date),
  bytes: toBig(i.bytes),
  fromSampleId: i.from_sample_id === null ? null : toNum(i.from_sample_id),
  toSampleId: toNum(i.to_sample_id),
  estimated: toBool(i.estimated),
  undecided: i.kind === 'drop',
});

/** A pool's line: the members' intervals on the days each was a member, which sum to the pool's use. */
async function poolEvidence(knex: Knex, row: Record<string, unknown>): Promise<LineEvidence> {
  const pp = await knex('mod_overusage_pool_periods')
    .where({ id: -toNum(row.charge_period_id) })
    .first();
  if (!pp) throw notFound(`line ${toNum(row.id)} does not exist`);
  const details = JSON.parse(String(pp.details)) as {
    periodHours: number;
    members: Array<Record<string, unknown>>;
  };
  const start = toDate(pp.start_date);
  const end = toDate(pp.end_date);
  const members = details.members.map((m) => ({
    serviceId: Number(m.serviceId),
    hours: Number(m.hours),
    shareBytes: BigInt(String(m.shareBytes)),
    usedBytes: BigInt(String(m.usedBytes)),
    billedOverBytes: BigInt(String(m.billedOverBytes)),
    amountMinor: BigInt(String(m.amountMinor)),
    days: (m.days as string[]) ?? [],
  }));
  const rows = await knex('mod_overusage_intervals')
    .whereIn(
      'service_id',
      members.map((m) => m.serviceId),
    )
    .andWhere('to_date', '>=', start)
    .andWhere('to_date', '<=', end)
    .orderBy(['to_date', 'id']);
  const mine = rows.filter((i) =>
    members.some((m) => m.serviceId === toNum(i.service_id) && m.days.includes(toDate(i.to_date))),
  );
  const intervals = mine.map(intervalOf);
  return {
    line: lineOf(row),
    period: {
      id: toNum(pp.id),
      startDate: start,
      endDate: end,
      usedBytes: toBig(pp.used_bytes),
      closedBy: null,
      unmeasuredAfter: null,
    },
    rated: ratedChargeFromJson(JSON.parse(String(row.explanation)).rated),
    days: dailySeries(intervals, start, end),
    intervals,
    samples: await samplesOf(knex, mine),
    pool: { key: String(pp.pool_key), periodHours: details.periodHours, members },
  };
}

/** A usage period's line: its intervals and the samples behind them. */
async function usageEvidence(knex: Knex, row: Record<string, unknown>): Promise<LineEvidence> {
  const intervalRows = await knex('mod_overusage_intervals')
    .where({ period_id: row.period_id })
    .orderBy(['to_date', 'id']);
  const intervals = intervalRows.map(intervalOf);
  return {
    line: lineOf(row),
    period: {
      id: toNum(row.period_id),
      startDate: toDate(row.start_date),
      endDate: toDate(row.end_date),
      usedBytes: toBig(row.period_used),
      closedBy: row.closed_by ? String(row.closed_by) : null,
      unmeasuredAfter: row.unmeasured_after ? toInstant(row.unmeasured_after).toISO() : null,
    },
    rated: ratedChargeFromJson(JSON.parse(String(row.explanation)).rated),
    days: dailySeries(intervals, toDate(row.start_date), toDate(row.end_date)),
    intervals,
    samples: await samplesOf(knex, intervalRows),
  };
}

/** JSON with bigints as strings (exact), for downloads and the API. */
export const evidenceJson = (e: LineEvidence): string =>
  JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * CSV through csv-stringify (quoting and its formula guard, so a spreadsheet never runs a cell
 * such as `-1+cmd|' /C calc'!A0`: every text cell starting with = + - @ tab or CR gets a leading
 * quote). Numbers and bigints are not text; a plain signed decimal string (an amount such as
 * "-517.00") is a number too, and stays as it is.
 */
export const toCsv = (
  header: string[],
  rows: Array<Array<string | number | bigint | boolean | null>>,
): string =>
  stringify([header, ...rows], {
    escape_formulas: true,
    record_delimiter: '\r\n',
    quoted_match: /[\r\n]/,
    cast: {
      string: (v) => (PLAIN_DECIMAL.test(v) ? { value: v, escape_formulas: false } : v),
      boolean: (b) => String(b),
    },
  });

/** One row per day: bytes as counted, the part that is an even split of a longer interval, and whether data exists. */
export function daysCsv(e: LineEvidence): string {
  return toCsv(
    ['date', 'bytes', 'estimated_bytes', 'measured', 'note'],
    e.days.map((d) => [
      d.date,
      d.bytes,
      d.estimatedBytes,
      !d.missing && d.estimatedBytes === 0n && !d.undecided,
      d.missing
        ? 'no data'
        : d.undecided
          ? 'counter dropped: not booked until decided'
          : d.estimatedBytes > 0n
            ? 'estimate: a longer interval spread evenly over its days'
            : '',
    ]),
  );
}

/** The raw samples, exactly as SolusVM reported the counter. */
export function samplesCsv(e: LineEvidence): string {
  return toCsv(
    ['sample_id', 'closes_day', 'sampled_at_utc', 'counter_bytes', 'limit_bytes', 'state', 'raw'],
    e.samples.map((s) => [s.id, s.sampleDate, s.sampledAt, s.usedBytes, s.limitBytes, s.state, s.raw]),
  );
}
