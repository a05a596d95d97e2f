import type { DayFigure } from '../domain/daily-series.js';
import { invalidInput } from '../domain/errors.js';
import type { AdminReads, LineFilter } from '../services/admin-reads.js';
import { daysCsv, evidenceJson, samplesCsv, toCsv, type EvidenceService } from '../services/evidence.js';
import { everyDay, idCursor, type LineRow, type UsageReads } from '../services/usage-reads.js';
import { money } from './api-json.js';
import { lineState } from './present-usage.js';
import { isUnreadable, type Listed, type UnreadableRow } from '../adapters/rows.js';

/**
 * The files the pages offer (daily figures, raw samples, evidence, the lines export), made once
 * for both ways they reach a browser: the JSON API's download links, and a host that fetches them
 * for its own page (the WHMCS bridge: `modulelink&download=<kind>&…`, so the service's port and
 * no token ever appear in the browser).
 */
export interface DownloadFile {
  filename: string;
  contentType: 'text/csv; charset=utf-8' | 'application/json; charset=utf-8';
  body: string;
}

const CSV = 'text/csv; charset=utf-8' as const;
const JSON_TYPE = 'application/json; charset=utf-8' as const;

/** A file name that needs no quoting in Content-Disposition. */
export const fileName = (name: string): string => name.replace(/[^A-Za-z0-9_.-]/g, '_');

export const periodDaysCsv = (days: DayFigure[]): string =>
  toCsv(
    ['date', 'bytes', 'estimated_bytes', 'measured', 'note'],
    days.map((d) => [
      d.date,
      d.missing ? null : d.bytes,
      d.estimatedBytes,
      !d.missing && d.estimatedBytes === 0n,
      d.missing
        ? 'no data'
        : d.estimatedBytes > 0n
          ? 'estimate: a longer interval spread evenly over its days'
          : '',
    ]),
  );

export const LINES_CSV_HEADER = [
  'line_id',
  'ref',
  'client_id',
  'service_id',
  'invoice_id',
  'status',
  'state',
  'amount',
  'currency',
  'period_start',
  'period_end',
  'dispute_by',
  'dispute_id',
  'dispute_state',
  'description',
];

/**
 * A line as a row of the export; one that cannot be read keeps its place with its id, the status
 * `unreadable` and the column refused, its amount left empty (not a figure: it counts in no sum).
 */
export const lineCsvRow = (l: Listed<LineRow>): Array<string | number | null> =>
  isUnreadable(l) ? unreadableLineCsvRow(l) : readLineCsvRow(l);

const unreadableLineCsvRow = (u: UnreadableRow): Array<string | number | null> =>
  LINES_CSV_HEADER.map((h) =>
    h === 'line_id'
      ? u.id
      : h === 'status'
        ? 'unreadable'
        : h === 'description'
          ? `${u.unreadable.column ?? 'a column'}: ${u.unreadable.reason}`
          : null,
  );

const readLineCsvRow = (l: LineRow): Array<string | number | null> => [
  l.id,
  l.refCode,
  l.clientId,
  l.serviceId,
  l.invoiceId,
  l.status,
  lineState(l),
  money(l.amountMinor, l.currency).amount,
  l.currency,
  l.periodStart,
  l.periodEnd,
  l.deadlineLastDay,
  l.dispute?.id ?? null,
  l.dispute?.state ?? null,
  l.description,
];

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** The lines list's filter, from a query (the admin tab's search form and the API). */
export function lineFilterOf(q: Record<string, unknown>): LineFilter {
  const f: LineFilter = {};
  if (text(q.q)) f.q = text(q.q);
  if (text(q.status)) f.status = text(q.status);
  const c = idCursor(text(q.client), 'client');
  const s = idCursor(text(q.service), 'service');
  const i = idCursor(text(q.invoice), 'invoice');
  if (c !== null) f.clientId = c;
  if (s !== null) f.serviceId = s;
  if (i !== null) f.invoiceId = i;
  return f;
}

/** Lines a host-fetched export holds at most (it travels in one answer); the API streams any number. */
export const MAX_EXPORT_LINES = 20_000;

export function createDownloads(deps: { reads: UsageReads; admin: AdminReads; evidence: EvidenceService }) {
  const need = (q: Record<string, unknown>, key: string, what: string): number => {
    const id = idCursor(text(q[key]), what);
    if (id === null) throw invalidInput(`which ${what}?`);
    return id;
  };

  async function periodFile(q: Record<string, unknown>, clientId?: number): Promise<DownloadFile> {
    const sid = need(q, 'service', 'service');
    const { period, days } = everyDay(
      await deps.reads.periodDays(
        sid,
        need(q, 'period', 'period'),
        clientId === undefined ? {} : { clientId },
      ),
    );
    return {
      filename: fileName(`overusage-${sid}-${period.startDate}-days.csv`),
      contentType: CSV,
      body: periodDaysCsv(days),
    };
  }

  return {
    /** A client's own files: `period` (service, period) and `line` (line). Another client's are not found. */
    async forClient(clientId: number, q: Record<string, unknown>): Promise<DownloadFile> {
      switch (q.download) {
        case 'period':
          return periodFile(q, clientId);
        case 'line': {
          const e = await deps.evidence.forLine(need(q, 'line', 'line'), { clientId });
          return { filename: fileName(`${e.line.refCode}-days.csv`), contentType: CSV, body: daysCsv(e) };
        }
        default:
          throw invalidInput('no such download');
      }
    },

    /** An admin's files: `period`, `line_days`, `line_samples`, `line_evidence` (id), `lines` (the list's filter). */
    async forAdmin(q: Record<string, unknown>): Promise<DownloadFile> {
      switch (q.download) {
        case 'period':
          return periodFile(q);
        case 'line_days':
        case 'line_samples':
        case 'line_evidence': {
          const e = await deps.evidence.forLine(need(q, 'id', 'line'));
          if (q.download === 'line_evidence')
            return {
              filename: fileName(`${e.line.refCode}-evidence.json`),
              contentType: JSON_TYPE,
              body: evidenceJson(e),
            };
          return q.download === 'line_days'
            ? { filename: fileName(`${e.line.refCode}-days.csv`), contentType: CSV, body: daysCsv(e) }
            : { filename: fileName(`${e.line.refCode}-samples.csv`), contentType: CSV, body: samplesCsv(e) };
        }
        case 'lines': {
          const filter = lineFilterOf(q);
          const rows: Array<Listed<LineRow>> = [];
          let before: string | undefined;
          do {
            const page = await deps.admin.lines(filter, { ...(before ? { before } : {}), limit: 1000 });
            rows.push(...page.rows);
            before = page.next ?? undefined;
            if (rows.length > MAX_EXPORT_LINES)
              throw invalidInput(
                `more than ${MAX_EXPORT_LINES.toLocaleString('en-GB')} lines match: narrow the search, or export with the JSON API (GET /api/v1/admin/lines.csv)`,
              );
          } while (before);
          return {
            filename: 'overusage-lines.csv',
            contentType: CSV,
            body: toCsv(LINES_CSV_HEADER, rows.map(lineCsvRow)),
          };
        }
        default:
          throw invalidInput('no such download');
      }
    },
  };
}

export type Downloads = ReturnType<typeof createDownloads>;
