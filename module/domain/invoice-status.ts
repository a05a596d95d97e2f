/**
 * What an invoice's status says about the money on it, as docs/billing-rules.md says in
 * "Cancelled and refunded invoices": Cancelled and Refunded end the debt, so a line on such an
 * invoice is not owed, cannot be disputed, and an open dispute of it closes with nothing to settle.
 * Collections (unpaid debt) and Payment Pending (a payment not yet cleared) keep it owed.
 */
export const NOT_OWED_STATUSES = ['Cancelled', 'Refunded'] as const;
export type NotOwedStatus = (typeof NOT_OWED_STATUSES)[number];

export const isNotOwed = (status: string): status is NotOwedStatus =>
  (NOT_OWED_STATUSES as readonly string[]).includes(status);
