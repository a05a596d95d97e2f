import { counted } from './plural.js';
import { humanBytes } from './bytes.js';

/**
 * An anomaly in an operator's words (English, the admin language): the admin tab, its JSON API
 * and the CLI say the same.
 */
export interface AnomalyFacts {
  kind: string;
  status: string;
  decision: string | null;
  decisionReason: string | null;
  seenOn: string;
  details: Record<string, string | number>;
}

/** "counter dropped from 1.43 TB to 107.37 GB (read 2013-11-15): a manual reset or a correction, not booked until decided" */
export function describeAnomaly(a: AnomalyFacts): string {
  const d = a.details;
  const bytes = (k: string) => humanBytes(BigInt(String(d[k] ?? '0')));
  switch (a.kind) {
    case 'mid_period_drop':
      return `counter dropped from ${bytes('fromBytes')} to ${bytes('toBytes')} (read ${a.seenOn}): a manual reset or a correction${a.status === 'open' ? `, not booked until decided` : `; decided: ${a.decision}${a.decisionReason ? ` (${a.decisionReason})` : ''}`}`;
    case 'reset_not_seen':
      return `SolusVM did not reset the counter on ${String(d.expectedOn)}${resetDueEnd(a)}`;
    case 'late_reset':
      return `the reset due on ${String(d.dueOn)} came ${counted(Number(d.daysLate), 'day', 'days')} late (read ${a.seenOn}); the period did not move`;
    case 'unmeasured':
      return `traffic from ${String(d.fromDate)} to ${String(d.toDate)} was not measured (no read before the reset) and is not billed`;
    case 'long_gap':
      return `no good read for ${counted(Number(d.days), 'day', 'days')} up to ${String(d.toDate)}: the daily split is an estimate, the total is exact`;
    default:
      return a.kind;
  }
}

/**
 * How a reset that was due ended (`endedBy`, `endedOn` in the details, metering.ts's
 * `resetDueEnded`): the reset came, or the counter dropped in a way no reset explains, which may
 * be that reset or a correction; that drop is the admin's to decide, and no reset is due after it.
 * Rows resolved before the details said how only know the counter went down.
 */
function resetDueEnd(a: AnomalyFacts): string {
  const d = a.details;
  if (a.status !== 'resolved') return '; the increase is counted and the reset is still due';
  if (d.endedBy === 'drop')
    return `; the counter went down on ${String(d.endedOn)} in a way no reset explains (that reset or a correction, the drop's decision says which), so no reset is due any more`;
  if (d.endedBy === 'reset' || d.endedBy === 'late_reset')
    return ` (the reset came later, seen on ${String(d.endedOn)})`;
  return ' (the counter went down later)';
}
