import type { DateTime } from 'luxon';

/**
 * The only source of "now". Rules take instants as arguments; services ask the clock.
 * Tests and the reference panel's replay inject a settable clock.
 */
export interface Clock {
  now(): DateTime;
}
