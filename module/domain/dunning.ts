import { divRoundHalfUp, type Decimal } from './money.js';

/**
 * What dunning may ask of a client with a disputed line: the rules the three dunning hooks apply
 * (docs/billing-rules.md, held amounts in dunning). Amounts are the panel's hundredths, as the panel
 * weighs its own balances and fees (two decimals in every currency).
 */

/** A reminder or overdue notice is held back only when nothing but held lines is unpaid. */
export const onlyHeldUnpaid = (balance: bigint, held: bigint, heldLines: number): boolean =>
  heldLines > 0 && balance <= held;

/** An overdue invoice's balance, split into what is disputed (held) and what is not. */
export function overdueSplit(invoices: ReadonlyArray<{ balance: bigint; held: bigint }>): {
  disputed: bigint;
  undisputed: bigint;
} {
  let disputed = 0n;
  let undisputed = 0n;
  for (const { balance, held } of invoices) {
    disputed += held < balance ? held : balance;
    undisputed += balance > held ? balance - held : 0n;
  }
  return { disputed, undisputed };
}

/** A suspension for non-payment is stopped only when what is overdue is disputed, all of it. */
export const suspensionShielded = (split: { disputed: bigint; undisputed: bigint }): boolean =>
  split.undisputed === 0n && split.disputed > 0n;

/**
 * The panel's late fee setting (WHMCS: Late Fee Type, Late Fee Amount, Late Fee Minimum): a
 * percentage (in hundredths of a percent) or a fixed amount, and a minimum. Amounts are the
 * panel's hundredths in every currency (its money columns keep two decimals, ¥ and BHD included).
 */
export interface LateFeeRule {
  fixed: boolean;
  /** hundredths: of a percent when not fixed, of the currency when fixed; 0 switches late fees off */
  amount: bigint;
  minimum: bigint;
}

/**
 * The one late fee formula, for the panel stand-in and the add-on alike (docs/billing-rules.md,
 * "Late fees"): nothing when the Late Fee Amount is 0 (WHMCS: "leave as 0 to disable") or when
 * nothing is late; else the fixed amount, or the percentage of the base rounded half-up to the
 * hundredth; then raised to the Late Fee Minimum whichever the type (WHMCS: the minimum is charged
 * when "the calculated late fee falls below" it).
 */
export function lateFeeOn(base: bigint, rule: LateFeeRule): bigint {
  if (rule.amount <= 0n || base <= 0n) return 0n;
  const fee = rule.fixed ? rule.amount : divRoundHalfUp(base * rule.amount, 10000n);
  return fee < rule.minimum ? rule.minimum : fee;
}

/**
 * The tax an invoice carries because of some of its taxed lines: the panel's tax on all its taxed
 * lines (`taxable`) less its tax on them without those (`taxableOff`), each level's rate (a
 * percentage) times the taxed lines' sum, rounded half-up to the hundredth once per level, as WHMCS
 * taxes an invoice (exclusive tax, level 2 not compound). Hundredths.
 */
export function taxOfLines(taxable: bigint, taxableOff: bigint, rates: readonly Decimal[]): bigint {
  const taxOn = (amount: bigint, rate: Decimal) =>
    divRoundHalfUp(amount * rate.units, 100n * 10n ** BigInt(rate.scale));
  return rates.reduce((a, r) => a + taxOn(taxable, r) - taxOn(taxable - taxableOff, r), 0n);
}

/**
 * What a late fee is charged on once lines are held: what is unpaid (the balance, tax included:
 * WHMCS charges the percentage on it), less the late fee already on the invoice and less what is
 * held, and less the tax the invoice carries for those two (`tax`, taxOfLines: a taxed fee's VAT and
 * a held line's VAT are no more part of the base than they are) (may be ≤ 0: then nothing is late
 * that is not disputed).
 */
export const lateFeeBase = (unpaid: { balance: bigint; fee: bigint; held: bigint; tax?: bigint }): bigint =>
  unpaid.balance - unpaid.fee - unpaid.held - (unpaid.tax ?? 0n);

/**
 * The part of a late fee that fell on a line held after the fee was added: the fee less the fee
 * the panel would have charged without the held amount (lateFeeOn on lateFeeBase), never below 0
 * or above the fee. The panel does not recompute a fee when a line leaves its invoice, so the
 * add-on gives this back as credit.
 */
export function lateFeeShareOnHeld(
  unpaid: { balance: bigint; fee: bigint; held: bigint; tax?: bigint },
  rule: LateFeeRule,
): bigint {
  if (unpaid.fee <= 0n || unpaid.held <= 0n) return 0n;
  const share = unpaid.fee - lateFeeOn(lateFeeBase(unpaid), rule);
  return share <= 0n ? 0n : share > unpaid.fee ? unpaid.fee : share;
}
