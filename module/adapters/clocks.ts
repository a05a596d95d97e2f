import { DateTime, FixedOffsetZone } from 'luxon';
import type { Clock } from '../domain/clock.js';

const UTC = FixedOffsetZone.utcInstance;

// The same instant DateTime.utc() gives, built from the milliseconds: utc() goes through luxon's
// argument parsing first, which made this clock 3.8 % of a collect run's CPU (one call a sample).
export const systemClock: Clock = { now: () => DateTime.fromMillis(Date.now(), { zone: UTC }) };

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
