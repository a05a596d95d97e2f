import { divRoundHalfUp, minorDigits } from './money.js';

/**
 * Where a credit on a client's account went. The panel keeps one credit balance per client and a
 * log of it (WHMCS's tblcredit, listed oldest first by GetCredits): a credit given is a positive
 * row, credit applied to an invoice a negative row whose `relid` is that invoice ("Credit Applied
 * to Invoice #7"), credit taken back by hand a negative row without one. The balance does not say
 * which credit paid which invoice; we take the oldest credit first (first in, first out), so a
 * credit shows as used only once the credits given before it are used up, and the uses of all
 * credits add up to what the log took out. Amounts in the panel's hundredths (two decimals in
 * every currency, as its columns keep them).
 */
export interface CreditEntry {
  id: number;
  /** signed: given > 0, used or taken back < 0 */
  amount: bigint;
  /** the invoice a use paid (0: none) */
  invoiceId: number;
}

export interface CreditUse {
  /** null: taken off the balance without an invoice */
  invoiceId: number | null;
  amount: bigint;
}

export interface CreditStanding {
  given: bigint;
  uses: CreditUse[];
  /** what is left of this credit on the account */
  left: bigint;
}

/** Each credit given (by its log row's id): what it was, where it went, what is left of it. */
export function creditStandings(log: readonly CreditEntry[]): Map<number, CreditStanding> {
  const out = new Map<number, CreditStanding>();
  const queue: CreditStanding[] = [];
  for (const e of [...log].sort((a, b) => a.id - b.id)) {
    if (e.amount > 0n) {
      const s: CreditStanding = { given: e.amount, uses: [], left: e.amount };
      out.set(e.id, s);
      queue.push(s);
      continue;
    }
    let owed = -e.amount;
    const invoiceId = e.invoiceId > 0 ? e.invoiceId : null;
    while (owed > 0n && queue.length > 0) {
      const s = queue[0]!;
      const take = s.left < owed ? s.left : owed;
      const last = s.uses[s.uses.length - 1];
      // two rows for the same invoice (applied in two goes) read as one use
      if (last && last.invoiceId === invoiceId) last.amount += take;
      else s.uses.push({ invoiceId, amount: take });
      s.left -= take;
      owed -= take;
      if (s.left === 0n) queue.shift();
    }
    // a log that takes out more than it gave (a balance set by hand) has nothing more to attribute
  }
  return out;
}

/** The panel's hundredths in the currency's minor units: 50000n → 50000n in EUR, 500n in JPY, 500000n in BHD. */
export function hundredthsToMinor(hundredths: bigint, currency: string): bigint {
  const digits = minorDigits(currency);
  return digits >= 2
    ? hundredths * 10n ** BigInt(digits - 2)
    : divRoundHalfUp(hundredths, 10n ** BigInt(2 - digits));
}
