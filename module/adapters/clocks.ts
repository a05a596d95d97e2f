import { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';

export const systemClock: Clock = { now: () => DateTime.utc() };

/** A clock that stands still until told to move: tests, replays and the demo's time travel. */
export class ManualClock implements Clock {
  private current: DateTime;

  constructor(start: DateTime | string) {
    this.current =
      typeof start === 'string' ? DateTime.fromISO(start, { setZone: true }).toUTC() : start.toUTC();
  }

  now(): DateTime {
    return this.current;
  }

  nowMs(): number {
    return this.current.toMillis();
  }

  set(to: DateTime | string): void {
    this.current = typeof to === 'string' ? DateTime.fromISO(to, { setZone: true }).toUTC() : to.toUTC();
  }

  advance(by: {
    days?: number;
    hours?: number;
    minutes?: number;
    seconds?: number;
    milliseconds?: number;
  }): DateTime {
    this.current = this.current.plus(by);
    return this.current;
  }
}
