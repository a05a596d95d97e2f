import { numberFormat } from '../domain/intl-cache.js';
import { addDays, daysBetween, type IsoDate } from '../domain/calendar.js';
import { bytesInUnit, UNIT_BYTES, type ByteUnit } from '../domain/bytes.js';
import type { DayFigure } from '../domain/daily-series.js';

/**
 * The daily bar chart as plain geometry for an SVG drawn on the server, and the rows of the table
 * behind it. Measured days are solid bars, estimated days (a gap spread evenly) hatched, days
 * without data a dashed outline over the whole height (never a zero bar), days still to come empty.
 * Pixel positions are numbers; every figure shown as text is exact (bigint through bytesInUnit).
 */
export type DayKind = 'measured' | 'estimated' | 'missing' | 'future';

export interface ChartBar {
  x: number;
  y: number;
  w: number;
  h: number;
  kind: DayKind;
  title: string;
}

export interface ChartRow {
  iso: IsoDate;
  date: string;
  value: string;
  kind: DayKind;
  note: string;
}

/**
 * Horizontal positions (a bar's x and w, a day label's x) are percentages of the plot's width and
 * vertical ones pixels: the SVG has no viewBox, so it stretches to any width without scaling its
 * text (a viewBox drew 11 px text at 5 px on a phone).
 */
export interface ChartView {
  id: string;
  height: number;
  plot: { y: number; h: number };
  bars: ChartBar[];
  yTicks: Array<{ y: number; label: string }>;
  xLabels: Array<{ x: number; label: string }>;
  pace: { y: number; label: string } | null;
  summary: string;
  rows: ChartRow[];
  counts: { measured: number; estimated: number; missing: number };
}

export interface ChartInput {
  /** unique on the page: the hatch pattern's id */
  id: string;
  days: readonly DayFigure[];
  /** the axis: the period's first and last day (days after the measured ones are drawn empty) */
  from: IsoDate;
  to: IsoDate;
  /** the allowance spread evenly over the period's days; null without an allowance */
  paceBytes: bigint | null;
  unit: ByteUnit;
  locale: string;
  words: {
    estimateShort: string;
    missingShort: string;
    measured: string;
    estimate: string;
    missing: string;
    future: string;
    /** a day whose counter drop is not decided yet */
    undecided?: string;
    pace: (amount: string) => string;
    chartSummary: (period: string, days: number, missing: number, estimated: number) => string;
  };
  periodLabel: string;
  /** "3 May" for titles and table rows */
  formatDate: (d: IsoDate) => string;
}

const HEIGHT = 220;
const PLOT = { y: 10, h: HEIGHT - 10 - 26 };

/** An exact byte figure in a unit with `decimals` decimals, in the locale. */
export function formatIn(bytes: bigint, unit: ByteUnit, locale: string, decimals = 2): string {
  const nf = numberFormat(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return `${nf.format(bytesInUnit(bytes, unit, decimals) as Intl.StringNumericLiteral).replace(/\u202f/g, '\u00a0')}\u00a0${unit}`;
}

/** The axis' step: 1, 2 or 5 × 10^k, so that about four steps reach v; ticks are whole multiples of it (0/10/20/30 GB, never 13/25/38). */
export function tickStep(v: number): number {
  if (v <= 0) return 1;
  const raw = v / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** a position to two decimals */
const round = (v: number) => Math.round(v * 100) / 100;

interface VerticalScale {
  step: number;
  steps: number;
  decimals: number;
  /** a figure (in the chart's unit) as its y in pixels */
  yOf: (units: number) => number;
}

/** The y axis: whole steps up to the highest day or 110 % of the pace, whichever is higher (never zero). */
function verticalScale(input: ChartInput, per: number): VerticalScale {
  const maxBytes = input.days.reduce((m, d) => (!d.missing && d.bytes > m ? d.bytes : m), 0n);
  const highest = Math.max(
    Number(maxBytes) / per,
    input.paceBytes === null ? 0 : (Number(input.paceBytes) / per) * 1.1,
    0.001,
  );
  const step = tickStep(highest);
  const steps = Math.max(1, Math.ceil(highest / step - 1e-9));
  const top = steps * step;
  return {
    step,
    steps,
    decimals: step >= 1 ? 0 : Math.ceil(-Math.log10(step) - 1e-9),
    yOf: (units: number) => PLOT.y + PLOT.h - (units / top) * PLOT.h,
  };
}

/**
 * A bar for each day of the axis and a table row for each day with data (measured, estimated or
 * missing), with the count of each.
 */
function dayBars(
  input: ChartInput,
  n: number,
  per: number,
  yOf: VerticalScale['yOf'],
): Pick<ChartView, 'bars' | 'rows' | 'counts'> {
  const slot = 100 / n;
  const barW = slot * 0.72;
  const byDate = new Map(input.days.map((d) => [d.date, d]));
  const bars: ChartBar[] = [];
  const rows: ChartRow[] = [];
  const counts = { measured: 0, estimated: 0, missing: 0 };
  for (let i = 0; i < n; i++) {
    const iso = addDays(input.from, i);
    const d = byDate.get(iso);
    const x = round(i * slot + (slot - barW) / 2);
    const label = input.formatDate(iso);
    if (!d) {
      bars.push({
        x,
        y: PLOT.y,
        w: round(barW),
        h: PLOT.h,
        kind: 'future',
        title: `${label}: ${input.words.future}`,
      });
      continue;
    }
    if (d.missing) {
      counts.missing++;
      bars.push({
        x,
        y: PLOT.y,
        w: round(barW),
        h: PLOT.h,
        kind: 'missing',
        title: `${label}: ${input.words.missingShort}`,
      });
      rows.push({ iso, date: label, value: '–', kind: 'missing', note: input.words.missing });
      continue;
    }
    const kind: DayKind = d.estimatedBytes > 0n ? 'estimated' : 'measured';
    counts[kind]++;
    const value = formatIn(d.bytes, input.unit, input.locale);
    const y = yOf(Number(d.bytes) / per);
    bars.push({
      x,
      y: round(y),
      w: round(barW),
      h: round(PLOT.y + PLOT.h - y),
      kind,
      title: `${label}: ${value}${kind === 'estimated' ? ` (${input.words.estimateShort})` : ''}`,
    });
    rows.push({
      iso,
      date: label,
      value,
      kind,
      note:
        d.undecided && input.words.undecided
          ? input.words.undecided
          : kind === 'estimated'
            ? input.words.estimate
            : input.words.measured,
    });
  }
  return { bars, rows, counts };
}

/** the y axis' labels: each step, with the decimals the step needs, in the locale */
function yTicksOf(input: ChartInput, scale: VerticalScale): ChartView['yTicks'] {
  const { step, decimals } = scale;
  const nf = numberFormat(input.locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return Array.from({ length: scale.steps + 1 }, (_, k) => ({
    y: round(scale.yOf(k * step)),
    label: `${nf.format(Number((k * step).toFixed(decimals)))} ${input.unit}`,
  }));
}

/** the x axis' day numbers: the first day, then every day (up to 10 days), every 2nd (up to 20) or every 5th */
function xLabelsOf(from: IsoDate, n: number): ChartView['xLabels'] {
  const slot = 100 / n;
  const every = n <= 10 ? 1 : n <= 20 ? 2 : 5;
  const xLabels: ChartView['xLabels'] = [];
  for (let i = 0; i < n; i++) {
    const day = Number(addDays(from, i).slice(8, 10));
    if (i === 0 || day % every === 0) xLabels.push({ x: round(i * slot + slot / 2), label: String(day) });
  }
  return xLabels;
}

export function buildChart(input: ChartInput): ChartView {
  const n = Math.max(1, daysBetween(input.from, input.to) + 1);
  const per = Number(UNIT_BYTES[input.unit]);
  const scale = verticalScale(input, per);
  const { bars, rows, counts } = dayBars(input, n, per, scale.yOf);
  const pace =
    input.paceBytes === null || input.paceBytes <= 0n
      ? null
      : {
          y: round(scale.yOf(Number(input.paceBytes) / per)),
          label: input.words.pace(formatIn(input.paceBytes, input.unit, input.locale)),
        };
  return {
    id: input.id.replace(/[^A-Za-z0-9_-]/g, ''),
    height: HEIGHT,
    plot: PLOT,
    bars,
    yTicks: yTicksOf(input, scale),
    xLabels: xLabelsOf(input.from, n),
    pace,
    summary: input.words.chartSummary(input.periodLabel, rows.length, counts.missing, counts.estimated),
    rows,
    counts,
  };
}
