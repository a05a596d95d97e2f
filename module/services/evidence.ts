import { stringify } from 'csv-stringify/sync';
import { dailySeries, type DayFigure } from '../domain/daily-series.js';
import { notFound } from '../domain/errors.js';
import { allocate } from '../domain/money.js';
import { ratedChargeFromJson, type RatedCharge } from '../domain/usage-rating.js';
import type {
  EvidenceLine,
  EvidencePeriod,
  EvidenceStore,
  LineWithCharge,
  PoolMonthLine,
  StoredInterval,
} from '../adapters/evidence-store.js';
import { ratedAtAgreedRate } from './dispute-adjust.js';

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
  /** the rating the line bills now: after a decision that re-rated it at the agreed rate, that rating */
  rated: RatedCharge;
  /** where a decision re-rated the line: the rating it was first billed with */
  ratedBeforeDecision?: RatedCharge;
  /**
   * A transfer pool's line (module/services/pools.ts): the pool's month and each member's hours,
   * share of the allowance, days and use, and the part of the money each bills now (after a
   * decision on a member's line, the decided amount); the days and samples are the members' together.
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

export function createEvidenceService(deps: { store: EvidenceStore }): EvidenceService {
  const { store } = deps;
  return {
    async forLine(lineId, opts = {}) {
      const found = await store.lineWithCharge(lineId, opts);
      if (found?.charge.kind === 'pool') return poolEvidence(store, found, found.charge.poolPeriodId);
      if (!found || found.charge.period === null) throw notFound(`line ${lineId} does not exist`);
      return usageEvidence(store, found, found.charge.period);
    },
  };
}

const lineOf = (l: EvidenceLine): LineEvidence['line'] => ({
  ...l,
  deadlineClosesAt: l.deadlineClosesAt.toISO()!,
});

async function samplesOf(
  store: EvidenceStore,
  intervals: StoredInterval[],
): Promise<LineEvidence['samples']> {
  const sampleIds = new Set<number>();
  for (const i of intervals) {
    sampleIds.add(i.toSampleId);
    if (i.fromSampleId !== null) sampleIds.add(i.fromSampleId);
  }
  return (await store.samples([...sampleIds])).map((s) => ({ ...s, sampledAt: s.sampledAt.toISO()! }));
}

const intervalOf = (i: StoredInterval) => ({
  kind: i.kind,
  fromDate: i.fromDate,
  toDate: i.toDate,
  bytes: i.bytes,
  fromSampleId: i.fromSampleId,
  toSampleId: i.toSampleId,
  estimated: i.estimated,
  undecided: i.kind === 'drop',
});

/**
 * The rating as the line bills it now: a decision that re-rated at the agreed rate replaces the
 * rating the charge keeps (the decision's own rule, dispute-adjust.ts), which stays beside it.
 */
function ratingsOf(found: LineWithCharge): Pick<LineEvidence, 'rated' | 'ratedBeforeDecision'> {
  const billed = ratedChargeFromJson(
    (found.explanation as { rated: Parameters<typeof ratedChargeFromJson>[0] }).rated,
  );
  const d = found.dispute;
  const again =
    d?.state === 'adjusted' && d.reratedAtAgreedRate
      ? ratedAtAgreedRate(found.explanation, found.line.currency)
      : null;
  return again ? { rated: again, ratedBeforeDecision: billed } : { rated: billed };
}

type PoolMember = NonNullable<LineEvidence['pool']>['members'][number];

/**
 * What each member's part of a pool's money is now. A line per VPS: each member with a line shows
 * what that line bills (a waived one nothing). The pool's one line: when a decision changed what
 * it bills, the new amount split again by the weights the month was split by (each member's own
 * bytes over its share, largest remainder: domain/money.ts allocate), as pools.ts split it first.
 */
function partsNow(
  members: Array<PoolMember & { ownOverBytes: bigint }>,
  lines: PoolMonthLine[],
  perVps: boolean,
): PoolMember[] {
  const billsNow = (l: PoolMonthLine) => (l.status === 'waived' ? 0n : l.amountMinor);
  const plain = members.map(({ ownOverBytes: _weight, ...m }) => m);
  if (perVps)
    return plain.map((m) => {
      const line = lines.find((l) => l.serviceId === m.serviceId);
      return line ? { ...m, amountMinor: billsNow(line) } : m;
    });
  const weights = members.map((m) => m.ownOverBytes);
  const now = lines.length === 1 ? billsNow(lines[0]!) : null;
  const before = members.reduce((sum, m) => sum + m.amountMinor, 0n);
  if (now === null || now === before || weights.reduce((a, b) => a + b, 0n) <= 0n) return plain;
  const parts = allocate(now, weights);
  return plain.map((m, i) => ({ ...m, amountMinor: parts[i]! }));
}

/** A pool's line: the members' intervals on the days each was a member, which sum to the pool's use. */
async function poolEvidence(
  store: EvidenceStore,
  found: LineWithCharge,
  poolPeriodId: number,
): Promise<LineEvidence> {
  const pp = await store.poolMonth(poolPeriodId);
  if (!pp) throw notFound(`line ${found.line.id} does not exist`);
  const details = pp.details as {
    periodHours: number;
    members: Array<Record<string, unknown>>;
  };
  const start = pp.startDate;
  const end = pp.endDate;
  const members = details.members.map((m) => ({
    serviceId: Number(m.serviceId),
    hours: Number(m.hours),
    shareBytes: BigInt(String(m.shareBytes)),
    usedBytes: BigInt(String(m.usedBytes)),
    billedOverBytes: BigInt(String(m.billedOverBytes)),
    amountMinor: BigInt(String(m.amountMinor)),
    ownOverBytes: BigInt(String(m.ownOverBytes ?? '0')),
    days: (m.days as string[]) ?? [],
  }));
  const perVps = !!(found.explanation as { poolPart?: unknown }).poolPart;
  const lines = await store.poolMonthLines(poolPeriodId);
  const rows = await store.intervalsOfServices(
    members.map((m) => m.serviceId),
    start,
    end,
  );
  const mine = rows.filter((i) =>
    members.some((m) => m.serviceId === i.serviceId && m.days.includes(i.toDate)),
  );
  const intervals = mine.map(intervalOf);
  return {
    line: lineOf(found.line),
    period: {
      id: pp.id,
      startDate: start,
      endDate: end,
      usedBytes: pp.usedBytes,
      closedBy: null,
      unmeasuredAfter: null,
    },
    ...ratingsOf(found),
    days: dailySeries(intervals, start, end),
    intervals,
    samples: await samplesOf(store, mine),
    pool: { key: pp.poolKey, periodHours: details.periodHours, members: partsNow(members, lines, perVps) },
  };
}

/** A usage period's line: its intervals and the samples behind them. */
async function usageEvidence(
  store: EvidenceStore,
  found: LineWithCharge,
  period: EvidencePeriod,
): Promise<LineEvidence> {
  const stored = await store.intervalsOfPeriod(period.id);
  const intervals = stored.map(intervalOf);
  return {
    line: lineOf(found.line),
    period: { ...period, unmeasuredAfter: period.unmeasuredAfter ? period.unmeasuredAfter.toISO() : null },
    ...ratingsOf(found),
    days: dailySeries(intervals, period.startDate, period.endDate),
    intervals,
    samples: await samplesOf(store, stored),
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
