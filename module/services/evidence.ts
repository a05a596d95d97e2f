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
  period: { id: number; startDate: string; endDate: string; usedBytes: bigint; closedBy: string | null; unmeasuredAfter: string | null };
  rated: RatedCharge;
  days: DayFigure[];
  intervals: Array<{ kind: string; fromDate: string; toDate: string; bytes: bigint; fromSampleId: number | null; toSampleId: number }>;
  samples: Array<{ id: number; sampleDate: string; sampledAt: string; usedBytes: bigint; limitBytes: bigint | null; state: string; raw: string }>;
}

export interface EvidenceService {
  /** `clientId` restricts to the client's own lines (anything else reads as not found) */
  forLine(lineId: number, opts?: { clientId?: number }): Promise<LineEvidence>;
}

export function createEvidenceService(deps: { knex: Knex }): EvidenceService {
  const { knex } = deps;
  return {
    async forLine(lineId, opts = {}) {
      const q = knex('mod_overusage_lines as l').join('mod_overusage_charges as c', 'c.id', 'l.charge_id').join('mod_overusage_periods as p', 'p.id', 'c.period_id').where('l.id', lineId);
      if (opts.clientId !== undefined) q.andWhere('l.client_id', opts.clientId);
      const row = await q.first(
        'l.*',
        'c.explanation',
        'p.id as period_id',
        'p.start_date',
        'p.end_date',
        'p.used_bytes as period_used',
        'p.closed_by',
        'p.unmeasured_after',
      );
      if (!row) throw notFound(`line ${lineId} does not exist`);
      const intervalRows = await knex('mod_overusage_intervals').where({ period_id: row.period_id }).orderBy(['to_date', 'id']);
      const sampleIds = new Set<number>();
      for (const i of intervalRows) {
        sampleIds.add(toNum(i.to_sample_id));
        if (i.from_sample_id !== null) sampleIds.add(toNum(i.from_sample_id));
      }
      const sampleRows = sampleIds.size ? await knex('mod_overusage_samples').whereIn('id', [...sampleIds]).orderBy('sampled_at') : [];
      const intervals = intervalRows.map((i) => ({
        kind: String(i.kind),
        fromDate: toDate(i.from_date),
        toDate: toDate(i.to_date),
        bytes: toBig(i.bytes),
        fromSampleId: i.from_sample_id === null ? null : toNum(i.from_sample_id),
        toSampleId: toNum(i.to_sample_id),
        estimated: toBool(i.estimated),
        undecided: i.kind === 'drop',
      }));
      return {
        line: {
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
        },
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
        samples: sampleRows.map((s) => ({
          id: toNum(s.id),
          sampleDate: toDate(s.sample_date),
          sampledAt: toInstant(s.sampled_at).toISO()!,
          usedBytes: toBig(s.used_bytes),
          limitBytes: toBigOrNull(s.limit_bytes),
          state: String(s.state),
          raw: String(s.raw),
        })),
      };
    },
  };
}

/** JSON with bigints as strings (exact), for downloads and the API. */
export const evidenceJson = (e: LineEvidence): string => JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * CSV through csv-stringify (quoting and its formula guard, so a spreadsheet never runs a cell
 * such as `-1+cmd|' /C calc'!A0`: every text cell starting with = + - @ tab or CR gets a leading
 * quote). Numbers and bigints are not text; a plain signed decimal string (an amount such as
 * "-517.00") is a number too, and stays as it is.
 */
export const toCsv = (header: string[], rows: Array<Array<string | number | bigint | boolean | null>>): string =>
  stringify([header, ...rows], {
    escape_formulas: true,
    record_delimiter: '\r\n',
    quoted_match: /[\r\n]/,
    cast: { string: (v) => (PLAIN_DECIMAL.test(v) ? { value: v, escape_formulas: false } : v), boolean: (b) => String(b) },
  });

/** One row per day: bytes as counted, the part that is an even split of a longer interval, and whether data exists. */
export function daysCsv(e: LineEvidence): string {
  return toCsv(
    ['date', 'bytes', 'estimated_bytes', 'measured', 'note'],
    e.days.map((d) => [d.date, d.bytes, d.estimatedBytes, !d.missing && d.estimatedBytes === 0n && !d.undecided, d.missing ? 'no data' : d.undecided ? 'counter dropped: not booked until decided' : d.estimatedBytes > 0n ? 'estimate: a longer interval spread evenly over its days' : '']),
  );
}

/** The raw samples, exactly as SolusVM reported the counter. */
export function samplesCsv(e: LineEvidence): string {
  return toCsv(
    ['sample_id', 'closes_day', 'sampled_at_utc', 'counter_bytes', 'limit_bytes', 'state', 'raw'],
    e.samples.map((s) => [s.id, s.sampleDate, s.sampledAt, s.usedBytes, s.limitBytes, s.state, s.raw]),
  );
}
