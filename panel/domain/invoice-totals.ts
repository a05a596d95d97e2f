import { percentOf, sum } from './money.js';

export const TAX_RATE_SCALE = 3;

export interface TotalsLine {
  amountMinor: bigint;
  taxed: boolean;
}

export interface InvoiceTotals {
  subtotalMinor: bigint;
  taxMinor: bigint;
  tax2Minor: bigint;
  totalMinor: bigint;
  balanceMinor: bigint;
}

/**
 * WHMCS's exclusive tax: each level is its rate of the taxed lines' sum, rounded once per level
 * (half-up); level 2 is not compounded on level 1. Credit applied to the invoice lowers the total;
 * the balance is what is left after the payments received (net of refunds).
 *
 * @example invoiceTotals([{ amountMinor: 1000n, taxed: true }], 21000n, 0n, 0n, 0n).totalMinor === 1210n
 */
export function invoiceTotals(
  lines: readonly TotalsLine[],
  taxRateScaled: bigint,
  taxRate2Scaled: bigint,
  creditMinor: bigint,
  paidMinor: bigint,
): InvoiceTotals {
  const subtotalMinor = sum(lines.map((l) => l.amountMinor));
  const taxable = sum(lines.filter((l) => l.taxed).map((l) => l.amountMinor));
  const taxMinor = taxRateScaled === 0n ? 0n : percentOf(taxable, taxRateScaled, TAX_RATE_SCALE);
  const tax2Minor = taxRate2Scaled === 0n ? 0n : percentOf(taxable, taxRate2Scaled, TAX_RATE_SCALE);
  const totalMinor = subtotalMinor + taxMinor + tax2Minor - creditMinor;
  return { subtotalMinor, taxMinor, tax2Minor, totalMinor, balanceMinor: totalMinor - paidMinor };
}
