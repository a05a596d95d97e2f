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
      return `SolusVM did not reset the counter on ${String(d.expectedOn)}${a.status === 'resolved' ? ' (the reset came later)' : '; the increase is counted and the reset is still due'}`;
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
