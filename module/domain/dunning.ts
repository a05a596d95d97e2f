import { divRoundHalfUp } from './money.js';

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

/** The panel's late fee setting: a percentage (in hundredths of a percent) or a fixed amount, and a minimum. */
export interface LateFeeRule {
  fixed: boolean;
  /** hundredths: of a percent when not fixed, of the currency when fixed */
  amount: bigint;
  minimum: bigint;
}

/** The fee on what is late and not disputed: nothing when that is nothing, else as the panel computes it. */
export function lateFeeOn(base: bigint, rule: LateFeeRule): bigint {
  if (base <= 0n) return 0n;
  if (rule.fixed) return rule.amount;
  const fee = divRoundHalfUp(base * rule.amount, 10000n);
  return fee < rule.minimum ? rule.minimum : fee;
}

/**
 * The part of a late fee that fell on a line held after the fee was added: the fee less the fee
 * the panel would have charged without the held amount (lateFeeOn on the balance before the fee,
 * less what is held), never below 0 or above the fee. The panel does not recompute a fee when a
 * line leaves its invoice, so the add-on gives this back as credit.
 */
export function lateFeeShareOnHeld(
  input: { fee: bigint; balanceBeforeFee: bigint; held: bigint },
  rule: LateFeeRule,
): bigint {
  if (input.fee <= 0n || input.held <= 0n) return 0n;
  const without = lateFeeOn(input.balanceBeforeFee - input.held, rule);
  const share = input.fee - without;
  return share <= 0n ? 0n : share > input.fee ? input.fee : share;
}
