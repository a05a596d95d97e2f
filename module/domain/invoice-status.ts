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

/**
 * Owed and not (yet) paid: Unpaid, Collections (unpaid debt) and Payment Pending (a payment not yet
 * cleared). A line held off such an invoice leaves behind any late fee that fell on it, so its
 * share of the fee is given back (module/services/late-fee-share.ts).
 */
export const OWED_UNPAID_STATUSES = ['Unpaid', 'Collections', 'Payment Pending'] as const;

export const isOwedUnpaid = (status: string): boolean =>
  (OWED_UNPAID_STATUSES as readonly string[]).includes(status);
