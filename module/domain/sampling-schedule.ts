import type { DateTime } from 'luxon';
import { closingDateOf, type IsoDate } from './calendar.js';

/**
 * When the 5-minute cron should take the day's samples: from the chosen local time (default 23:50,
 * just before a master's midnight reset, so almost nothing of the day is lost) until the day's
 * sampling window closes. Before that time, reading would cut the day short.
 */
export function samplingDue(now: DateTime, zone: string, sampleAt: string): { due: boolean; date: IsoDate } {
  const date = closingDateOf(now, zone);
  const [h, m] = sampleAt.split(':').map(Number) as [number, number];
  const local = now.setZone(zone);
  const startOnDay = local.set({
    year: +date.slice(0, 4),
    month: +date.slice(5, 7),
    day: +date.slice(8, 10),
    hour: h,
    minute: m,
    second: 0,
    millisecond: 0,
  });
  return { due: now >= startOnDay, date };
}
