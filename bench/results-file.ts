import type { BenchResult } from './support.js';

/**
 * bench/results.json keeps the figures of several runs (a run with --only replaces only its own),
 * so each figure carries when it was measured and how loaded the machine was then: a figure from
 * a quiet morning and one taken beside six other engineers' test runs must not read as one run.
 */
export interface MeasuredAt {
  /** when the benchmark that gave the figure ended (ISO 8601, UTC) */
  measuredAt: string;
  /** the machine's load averages then and its cores; null for figures written before this was kept */
  load: { avg1: number; avg5: number; cores: number } | null;
}

export type StampedResult = BenchResult & MeasuredAt;

export function stamp(
  result: BenchResult,
  now: Date,
  loadavg: readonly number[],
  cores: number,
): StampedResult {
  const two = (n: number) => Math.round(n * 100) / 100;
  return {
    ...result,
    measuredAt: now.toISOString(),
    load: { avg1: two(loadavg[0] ?? 0), avg5: two(loadavg[1] ?? 0), cores },
  };
}

/**
 * The figures to write: this run's, and the previous file's for benchmarks not run this time. A
 * file of the old shape had one `measuredAt` for all; its figures keep it, with the load unknown.
 */
export function mergeResults(previousFile: unknown, fresh: StampedResult[]): StampedResult[] {
  const file = (previousFile ?? {}) as { measuredAt?: unknown; results?: unknown };
  const fileTime = typeof file.measuredAt === 'string' ? file.measuredAt : null;
  const previous = (Array.isArray(file.results) ? file.results : []) as Array<
    BenchResult & Partial<MeasuredAt>
  >;
  const key = (r: BenchResult) => `${r.name}|${r.engine}`;
  const replaced = new Set(fresh.map(key));
  const kept = previous
    .filter((r) => !replaced.has(key(r)))
    .map((r): StampedResult => ({
      ...r,
      measuredAt: r.measuredAt ?? fileTime ?? 'unknown',
      load: r.load ?? null,
    }));
  return [...kept, ...fresh];
}

/** The file's text: the figures, each with its own time; no run-wide time that would mislead. */
export function resultsFileText(results: StampedResult[], node: string): string {
  return JSON.stringify({ node, results }, null, 2) + '\n';
}

/** A Markdown table of the figures, for the README: one row a figure, with when and under what load. */
export function resultsTable(results: StampedResult[]): string {
  const cell = (v: unknown) => String(v).replace(/\|/g, '\\|');
  const when = (r: StampedResult) =>
    r.measuredAt === 'unknown' ? '?' : `${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC`;
  const load = (r: StampedResult) => (r.load ? `${r.load.avg1} on ${r.load.cores} cores` : '?');
  const rows = results.map((r) =>
    [
      '',
      r.name,
      r.engine ?? '-',
      `${r.value} ${r.unit}`,
      r.baseline ?? '-',
      r.ratio ?? '-',
      r.goal,
      when(r),
      load(r),
      '',
    ]
      .map(cell)
      .join(' | ')
      .trim(),
  );
  return (
    [
      '| figure | engine | value | baseline | ratio | goal | measured | load (1 min) |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n') + '\n'
  );
}

export const TABLE_START = '<!-- bench:table (npm run bench:table writes it from bench/results.json) -->';
export const TABLE_END = '<!-- /bench:table -->';

/** The README with its table replaced by `table`; unchanged when it has no markers. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) return readme;
  return `${readme.slice(0, a + TABLE_START.length)}\n${table}${readme.slice(b)}`;
}
