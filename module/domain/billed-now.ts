/**
 * What a period bills now (issue 15): its invoice lines summed as they stand after any dispute's
 * decision — a waived line bills 0, an adjusted one its new amount, a line still pending is on no
 * invoice yet and does not count. The one rule behind the widget's past periods, the JSON API and
 * the admin pages; null while no line of the period is on an invoice.
 */
export interface BilledNow {
  amountMinor: bigint;
  /** every line waived, or one adjusted after a dispute */
  afterDispute: 'waived' | 'adjusted' | null;
}

/** A line as the rule reads it: its status, what it bills and its dispute's state. */
export interface LineFigures {
  status: string;
  amountMinor: bigint;
  dispute: { state: string } | null;
}

export function billedNow(lines: readonly LineFigures[]): BilledNow | null {
  const invoiced = lines.filter((l) => l.status !== 'pending');
  if (invoiced.length === 0) return null;
  const waived = (l: LineFigures) => l.status === 'waived' || l.dispute?.state === 'waived';
  const amountMinor = invoiced.reduce((a, l) => a + (waived(l) ? 0n : l.amountMinor), 0n);
  if (invoiced.every(waived)) return { amountMinor, afterDispute: 'waived' };
  return {
    amountMinor,
    afterDispute: invoiced.some((l) => l.dispute?.state === 'adjusted') ? 'adjusted' : null,
  };
}
