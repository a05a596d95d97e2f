import { parseIsoDay, type ZoneCalendar } from './zone-calendar.js';

/**
 * Deterministic traffic: bytes per local calendar day (in the master's zone), accrued linearly
 * within the day and floored, all in bigint. Traffic between two instants is the difference of a
 * cumulative function, so any split of an interval sums exactly to the whole.
 */
export type TrafficProfile =
  | { kind: 'constant'; bytesPerDay: bigint }
  /** bytesPerDay[i] applies to the days i, i+L, i+2L … counted from `startDate` (default 1970-01-01) */
  | { kind: 'pattern'; bytesPerDay: bigint[]; startDate?: string }
  | { kind: 'days'; byDate: Record<string, bigint>; defaultBytesPerDay: bigint };

interface CompiledProfile {
  bytesOn(day: number): bigint;
  /** Σ bytesOn(d) for d < day, up to a constant that cancels in differences */
  sumBefore(day: number): bigint;
}

const compiled = new WeakMap<TrafficProfile, CompiledProfile>();

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function nonNegative(v: unknown, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n) throw new Error(`${what} must be a non-negative bigint`);
  return v;
}

function compile(p: TrafficProfile): CompiledProfile {
  switch (p.kind) {
    case 'constant': {
      const b = nonNegative(p.bytesPerDay, 'bytesPerDay');
      return { bytesOn: () => b, sumBefore: (day) => BigInt(day) * b };
    }
    case 'pattern': {
      const L = p.bytesPerDay.length;
      if (L === 0) throw new Error('a pattern profile needs at least one day');
      const values = p.bytesPerDay.map((v, i) => nonNegative(v, `bytesPerDay[${i}]`));
      const prefix: bigint[] = [0n];
      for (const v of values) prefix.push(prefix[prefix.length - 1]! + v);
      const cycle = prefix[L]!;
      const anchor = p.startDate ? parseIsoDay(p.startDate) : 0;
      return {
        bytesOn: (day) => values[mod(day - anchor, L)]!,
        sumBefore: (day) => {
          const rel = day - anchor;
          return BigInt(Math.floor(rel / L)) * cycle + prefix[mod(rel, L)]!;
        },
      };
    }
    case 'days': {
      const def = nonNegative(p.defaultBytesPerDay, 'defaultBytesPerDay');
      const entries = Object.entries(p.byDate)
        .map(([date, v]) => ({ day: parseIsoDay(date), bytes: nonNegative(v, `byDate[${date}]`) }))
        .sort((a, b) => a.day - b.day);
      const byDay = new Map(entries.map((e) => [e.day, e.bytes]));
      // extra[i] = Σ (bytes − default) over entries[0..i)
      const extra: bigint[] = [0n];
      for (const e of entries) extra.push(extra[extra.length - 1]! + e.bytes - def);
      return {
        bytesOn: (day) => byDay.get(day) ?? def,
        sumBefore: (day) => {
          let lo = 0;
          let hi = entries.length;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (entries[mid]!.day < day) lo = mid + 1;
            else hi = mid;
          }
          return BigInt(day) * def + extra[lo]!;
        },
      };
    }
    default:
      throw new Error(`unknown traffic profile kind ${(p as { kind?: unknown }).kind as string}`);
  }
}

export function compileProfile(p: TrafficProfile): CompiledProfile {
  let c = compiled.get(p);
  if (!c) {
    c = compile(p);
    compiled.set(p, c);
  }
  return c;
}

/** Bytes accrued from a fixed origin up to instant `ms` (only differences are meaningful). */
export function cumulativeBytes(cal: ZoneCalendar, profile: TrafficProfile, ms: number): bigint {
  const t = Math.floor(ms);
  const c = compileProfile(profile);
  const day = cal.dayOf(t);
  const start = cal.startOf(day);
  const end = cal.startOf(day + 1);
  return c.sumBefore(day) + (c.bytesOn(day) * BigInt(t - start)) / BigInt(end - start);
}

/** Bytes transferred in [fromMs, toMs); 0 when the span is empty or reversed. */
export function bytesBetween(
  cal: ZoneCalendar,
  profile: TrafficProfile,
  fromMs: number,
  toMs: number,
): bigint {
  if (toMs <= fromMs) return 0n;
  return cumulativeBytes(cal, profile, toMs) - cumulativeBytes(cal, profile, fromMs);
}

/** The bytes a profile assigns to one whole local day. */
export function bytesOnDay(profile: TrafficProfile, day: number): bigint {
  return compileProfile(profile).bytesOn(day);
}
