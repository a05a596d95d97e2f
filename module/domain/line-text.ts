import { numberFormat, dateTimeFormat } from './intl-cache.js';
import { UNIT_BYTES } from './bytes.js';
import { type IsoDate, parseIsoDate } from './calendar.js';
import { invalidInput } from './errors.js';
import {
  divRoundHalfUp,
  formatMoney,
  minorDigits,
  parseDecimal,
  RATE_SCALE,
  scaledToString,
} from './money.js';
import type { RatedCharge, SoldUnit } from './usage-rating.js';

/**
 * The words of an overusage line, in the client's language: the invoice line text, a short note
 * for periods that put nothing on the invoice, and the full explanation for the admin tab, the
 * client widget and the evidence file. Pure: every number is formatted by Intl for the locale from
 * a bigint or an exact decimal string (Intl.NumberFormat reads decimal strings exactly), never
 * through a float.
 */

export type TextLanguage = 'en' | 'nl';

/**
 * The locale of a client's text, from the panel's language setting (WHMCS names languages in
 * lowercase English: 'dutch', 'english', …): Dutch for 'dutch' (Belgian Dutch for a client in
 * Belgium), English otherwise.
 */
export function localeForClient(panelLanguage: string | null | undefined, country?: string | null): string {
  if ((panelLanguage ?? '').trim().toLowerCase() === 'dutch')
    return country?.trim().toUpperCase() === 'BE' ? 'nl-BE' : 'nl-NL';
  return 'en-GB';
}

/** Which words to use for a locale: Dutch for any nl-* locale, else English. */
export const textLanguage = (locale: string): TextLanguage => (/^nl(?:-|$)/i.test(locale) ? 'nl' : 'en');

export interface OverusageLineInput {
  rated: RatedCharge;
  /** first and last calendar day of the usage period, inclusive */
  periodStart: IsoDate;
  periodEnd: IsoDate;
  /** the last day on which the line may be disputed (printed on billed lines) */
  deadlineLastDay?: IsoDate | null;
  /** the line's reference code, appended as "[OU-123]" so the line can be found again on the invoice */
  refCode?: string | null;
  /** a correction after the period was re-measured: what the invoices already billed for it (the line bills the difference) */
  correction?: { billedMinor: bigint } | null;
  /** the provider's credit on an upgrade: this share of the overusage is not billed */
  upgradeCredit?: { percent: number; creditedMinor: bigint } | null;
  /** one VPS's part of a transfer pool's charge: `rated` is the pool's, this line bills the part */
  poolPart?: { pool: string; domain: string; overBytes: bigint; amountMinor: bigint } | null;
}

// Thin spaces (en-GB date ranges) are missing from many invoice PDF fonts; narrow no-break spaces
// become the ordinary no-break space, which every font has.
const plainSpaces = (text: string): string => text.replace(/\u2009/g, ' ').replace(/\u202f/g, '\u00a0');

const exact = (decimal: string): Intl.StringNumericLiteral => decimal as Intl.StringNumericLiteral;

const utcDate = (date: IsoDate): Date => new Date(`${parseIsoDate(date)}T00:00:00Z`);

const dayFormat = (locale: string) =>
  dateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

// Dates and periods repeat (every line, every page of a client): each is formatted once.
// formatRange in particular costs tens of microseconds.
const formatted = new Map<string, string>();
function remember(key: string, make: () => string): string {
  let v = formatted.get(key);
  if (v === undefined) {
    v = make();
    if (formatted.size >= 5000) formatted.clear();
    formatted.set(key, v);
  }
  return v;
}

/** "15 June 2013" / "15 juni 2013". */
export const formatDay = (date: IsoDate, locale: string): string =>
  remember(`d|${locale}|${date}`, () => plainSpaces(dayFormat(locale).format(utcDate(date))));

/** "1 – 31 May 2013", "15 May – 14 June 2013", "1–31 mei 2013": as compact as Intl makes it. */
export function formatPeriod(start: IsoDate, end: IsoDate, locale: string): string {
  if (end < start) throw invalidInput('a period must not end before it starts', { start, end });
  return remember(`p|${locale}|${start}|${end}`, () =>
    plainSpaces(dayFormat(locale).formatRange(utcDate(start), utcDate(end))),
  );
}

/** A whole number with the locale's grouping: 6,000,000,000,000 / 6.000.000.000.000. */
export const formatInteger = (value: bigint, locale: string): string =>
  plainSpaces(numberFormat(locale).format(value));

/** An exact decimal string with at most 6 decimals, trailing zeros dropped: "1,000", "2.345679". */
export function formatQuantity(decimal: string, locale: string): string {
  const nf = numberFormat(locale, { minimumFractionDigits: 0, maximumFractionDigits: RATE_SCALE });
  return plainSpaces(nf.format(exact(decimal)));
}

/** An exact fraction with 2 decimals, half-up; one above 0 that rounds to 0.00 reads "< 0.01", never "0.00". */
function formatHundredths(num: bigint, den: bigint, locale: string): string {
  const nf = numberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const h = divRoundHalfUp(num * 100n, den);
  return h === 0n && num > 0n
    ? `< ${nf.format(exact('0.01'))}`
    : plainSpaces(nf.format(exact(scaledToString(h, 2))));
}

/**
 * Bytes in the unit the product sells, 2 decimals, half-up: "6,000.00 GB", "129,85 GB",
 * "< 0.01 GB". What a line says in one unit throughout: used, included, tolerance, over, billed.
 */
export const formatSoldBytes = (bytes: bigint, unit: SoldUnit, locale: string): string =>
  `${formatHundredths(bytes, UNIT_BYTES[unit], locale)} ${unit}`;

/** Bits per second as Mbit/s with 2 decimals, half-up, for a line ("12.30 Mbit/s"). */
const formatLineMbps = (bps: bigint, locale: string): string =>
  `${formatHundredths(bps, 1_000_000n, locale)} Mbit/s`;

/** What a charge bills, exactly, in its quantity unit: bytes over in the unit sold, Mbit/s over the commit, or whole blocks. */
function billedFraction(r: RatedCharge): { num: bigint; den: bigint } {
  const positive = (v: bigint) => (v > 0n ? v : 0n);
  switch (r.model) {
    case 'per_unit':
      return { num: r.overBytes, den: UNIT_BYTES[r.unit] };
    case 'per_block':
      return { num: BigInt(r.quantity), den: 1n };
    case 'avg_mbps':
      // as the rating measured it: (used − tolerance) × 8 − commit × seconds, over seconds × 10^6
      if (r.periodSeconds <= 0n) return { num: 0n, den: 1n };
      return {
        num: positive((r.usedBytes - r.toleranceBytes) * 8n - (r.commitBps ?? 0n) * r.periodSeconds),
        den: r.periodSeconds * 1_000_000n,
      };
    case 'p95':
      return { num: positive((r.measuredBps ?? 0n) - (r.commitBps ?? 0n)), den: 1_000_000n };
  }
}

/**
 * Whether the quantity as a line shows it (2 decimals, or a count of blocks) times the rate,
 * rounded half-up once, is the amount the charge was rated at. The amount is computed from the
 * exact bytes, so a rounded quantity can miss it by a cent or more; "< 0.01" never gives it.
 */
export function quantityGivesAmount(r: RatedCharge): boolean {
  const { num, den } = billedFraction(r);
  const shown = r.model === 'per_block' ? num * 100n : divRoundHalfUp(num * 100n, den);
  if (num > 0n && shown === 0n) return false;
  const rate = parseDecimal(r.rate, 'the rate', RATE_SCALE);
  const digits = 10n ** BigInt(minorDigits(r.currency));
  return divRoundHalfUp(shown * rate.units * digits, 100n * 10n ** BigInt(rate.scale)) === r.roundedMinor;
}

/** A unit price: at least the currency's decimals, up to the rate's 6 ("€0.50", "€0.000125", "¥80"). */
export function formatRate(rate: string, currency: string, locale: string): string {
  const digits = minorDigits(currency);
  const nf = numberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: Math.max(digits, RATE_SCALE),
  });
  return plainSpaces(nf.format(exact(rate)));
}

/** Money in minor units, in the locale ("€500.00", "€ 500,00", "JP¥1,234"). */
export const formatAmount = (amountMinor: bigint, currency: string, locale: string): string =>
  plainSpaces(formatMoney({ amountMinor, currency }, locale));

/** Bits per second as Mbit/s, exact (1 bit/s is the 6th decimal). */
export const formatMbps = (bps: bigint, locale: string): string =>
  `${formatQuantity(scaledToString(bps, 6), locale)} Mbit/s`;

const WORDS = {
  en: {
    overusage: 'Bandwidth overusage',
    correction: 'Correction of bandwidth overusage',
    remeasured: 're-measured',
    nowBills: 'now',
    alreadyBilled: 'already billed',
    traffic: 'Bandwidth',
    used: 'used',
    included: 'included',
    prorated: (days: number, nominal: number) => `prorated, ${days} of ${nominal} days`,
    tolerance: 'free tolerance',
    average: 'average',
    p95: '95th percentile',
    committed: 'committed',
    blocks: (count: string, size: string, one: boolean) => `${count} × ${size} ${one ? 'block' : 'blocks'}`,
    cappedAt: 'capped at',
    pool: (name: string) => `transfer pool ${name}`,
    poolPart: (domain: string, bytes: string, amount: string, total: string) =>
      `the part of ${domain}: ${bytes}, ${amount} of ${total}`,
    partOf: (amount: string, total: string) => `${amount} of ${total}`,
    upgradeCredit: (pct: number, amount: string) => `less ${pct} % credited on your upgrade (${amount})`,
    disputeBy: 'dispute by',
    roundedNote: 'quantity rounded, amount from the exact usage',
    withinNote: 'within the allowance, nothing to bill',
    withinCommitNote: 'within the committed rate, nothing to bill',
    billedNote: (amount: string) => `billed: ${amount}`,
    billedCappedNote: (amount: string, before: string) =>
      `billed: ${amount} (capped; ${before} before the cap)`,
    writtenOffBelowMinimum: (amount: string, minimum: string) =>
      `written off: ${amount} is below the minimum charge of ${minimum}, not billed`,
    writtenOffZero: (zero: string) =>
      `written off: the overusage comes to ${zero} after rounding, not billed`,
  },
  nl: {
    overusage: 'Overschrijding dataverkeer',
    correction: 'Correctie overschrijding dataverkeer',
    remeasured: 'opnieuw gemeten',
    nowBills: 'nu',
    alreadyBilled: 'al gefactureerd',
    traffic: 'Dataverkeer',
    used: 'gebruikt',
    included: 'inbegrepen',
    prorated: (days: number, nominal: number) => `naar rato, ${days} van ${nominal} dagen`,
    tolerance: 'vrije marge',
    average: 'gemiddeld',
    p95: '95e percentiel',
    committed: 'afgesproken',
    blocks: (count: string, size: string) => `${count} × blok van ${size}`,
    cappedAt: 'gemaximeerd op',
    pool: (name: string) => `datapool ${name}`,
    poolPart: (domain: string, bytes: string, amount: string, total: string) =>
      `deel van ${domain}: ${bytes}, ${amount} van ${total}`,
    partOf: (amount: string, total: string) => `${amount} van ${total}`,
    upgradeCredit: (pct: number, amount: string) => `min ${pct} % gecrediteerd bij uw upgrade (${amount})`,
    disputeBy: 'bezwaar uiterlijk',
    roundedNote: 'hoeveelheid afgerond, bedrag over het exacte verbruik',
    withinNote: 'binnen de bundel, niets te factureren',
    withinCommitNote: 'binnen de afgesproken snelheid, niets te factureren',
    billedNote: (amount: string) => `gefactureerd: ${amount}`,
    billedCappedNote: (amount: string, before: string) =>
      `gefactureerd: ${amount} (gemaximeerd; ${before} zonder maximum)`,
    writtenOffBelowMinimum: (amount: string, minimum: string) =>
      `kwijtgescholden: ${amount} ligt onder het minimumbedrag van ${minimum}, niet gefactureerd`,
    writtenOffZero: (zero: string) =>
      `kwijtgescholden: de overschrijding komt afgerond op ${zero}, niet gefactureerd`,
  },
} as const;

/** The quantity a line bills: "1,000.00 GB", "2 × 1 TB blocks", "2.30 Mbit/s", "< 0.01 GB". */
function billedQuantity(r: RatedCharge, locale: string): string {
  if (r.quantityUnit === 'block') {
    const size = `${formatInteger(BigInt(r.blockUnits ?? 1), locale)} ${r.unit}`;
    return WORDS[textLanguage(locale)].blocks(
      formatInteger(BigInt(r.quantity), locale),
      size,
      r.quantity === '1',
    );
  }
  const { num, den } = billedFraction(r);
  return `${formatHundredths(num, den, locale)} ${r.quantityUnit}`;
}

/**
 * The rate and the amount it gives: "× €0.50 = €500.00"; where the quantity shown times the rate
 * does not give the amount to the cent, no "=": "× €0.80 ≈ €103.88 (quantity rounded, amount from
 * the exact usage)". `agreed` names a rate set by a dispute's decision.
 */
function priced(
  rate: string,
  amountMinor: bigint,
  currency: string,
  exactly: boolean,
  locale: string,
  agreed = '',
): string {
  const w = WORDS[textLanguage(locale)];
  const amount = formatAmount(amountMinor, currency, locale);
  return `× ${formatRate(rate, currency, locale)}${agreed} ${exactly ? `= ${amount}` : `≈ ${amount} (${w.roundedNote})`}`;
}

/** "1,000.00 GB × €0.50 = €500.00", "2 × 1 TB blocks × €10.00 = €20.00", "2.30 Mbit/s × €4.00 = €9.20". */
const quantityTimesRate = (r: RatedCharge, locale: string): string =>
  `${billedQuantity(r, locale)} ${priced(r.rate, r.roundedMinor, r.currency, quantityGivesAmount(r), locale)}`;

/** The facts of a period, in the order the line reads them. */
function facts(r: RatedCharge, locale: string): string[] {
  const w = WORDS[textLanguage(locale)];
  const bytes = (b: bigint) => formatSoldBytes(b, r.unit, locale);
  const out: string[] = [];
  const tolerance = r.toleranceBytes > 0n ? [`${bytes(r.toleranceBytes)} ${w.tolerance}`] : [];
  switch (r.model) {
    case 'per_unit':
    case 'per_block': {
      out.push(`${bytes(r.usedBytes)} ${w.used}`);
      const included = `${bytes(r.allowanceBytes)} ${w.included}`;
      out.push(r.prorated ? `${included} (${w.prorated(r.days, r.nominalDays)})` : included);
      out.push(...tolerance);
      break;
    }
    case 'avg_mbps':
      out.push(`${bytes(r.usedBytes)} ${w.used}`);
      out.push(`${w.average} ${formatLineMbps(r.measuredBps ?? 0n, locale)}`);
      out.push(`${formatLineMbps(r.commitBps ?? 0n, locale)} ${w.committed}`);
      out.push(...tolerance);
      break;
    case 'p95':
      out.push(`${w.p95} ${formatLineMbps(r.measuredBps ?? 0n, locale)}`);
      out.push(`${formatLineMbps(r.commitBps ?? 0n, locale)} ${w.committed}`);
      break;
  }
  if (r.outcome !== 'within_allowance') out.push(quantityTimesRate(r, locale));
  return out;
}

function reference(ref: string | null | undefined): string {
  if (ref === null || ref === undefined) return '';
  const code = ref
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .trim();
  if (!code || /[[\]\r\n]/.test(code))
    throw invalidInput('a line reference is one short code without brackets or line breaks, like "OU-123"');
  return ` [${code}]`;
}

/** A short note on the outcome ("billed: €500.00", "within the allowance, nothing to bill", "written off: …"). */
export function outcomeNote(rated: RatedCharge, locale: string): string {
  const w = WORDS[textLanguage(locale)];
  const money = (minor: bigint) => formatAmount(minor, rated.currency, locale);
  switch (rated.outcome) {
    case 'within_allowance':
      return rated.model === 'p95' || rated.model === 'avg_mbps' ? w.withinCommitNote : w.withinNote;
    case 'billed':
      return rated.capped
        ? w.billedCappedNote(money(rated.amountMinor), money(rated.roundedMinor))
        : w.billedNote(money(rated.amountMinor));
    case 'written_off':
      return rated.writtenOffMinor === 0n
        ? w.writtenOffZero(money(0n))
        : w.writtenOffBelowMinimum(money(rated.writtenOffMinor), money(rated.minimumMinor));
  }
}

/**
 * The invoice line text of a billed charge:
 *   "Bandwidth overusage 1 – 31 May 2013: 6,000.00 GB used, 5,000.00 GB included, 1,000.00 GB × €0.50 = €500.00 (dispute by 15 June 2013) [OU-123]"
 * A charge that bills nothing (within the allowance, written off) puts no line on an invoice; for
 * it this returns the same facts followed by a short note, for the admin tab and the widget.
 */
export function describeOverusageLine(input: OverusageLineInput, locale: string): string {
  const { rated } = input;
  const w = WORDS[textLanguage(locale)];
  const period = formatPeriod(input.periodStart, input.periodEnd, locale);
  if (input.correction) {
    // "Correction of bandwidth overusage 1 – 30 November 2013 (re-measured): 2.600 TiB used, …; now €307.20, already billed €250.00"
    const money = (minor: bigint) => formatAmount(minor, rated.currency, locale);
    const dispute = input.deadlineLastDay
      ? ` (${w.disputeBy} ${formatDay(input.deadlineLastDay, locale)})`
      : '';
    return `${w.correction} ${period} (${w.remeasured}): ${facts(rated, locale).join(', ')}; ${w.nowBills} ${money(rated.amountMinor)}, ${w.alreadyBilled} ${money(input.correction.billedMinor)}${dispute}${reference(input.refCode)}`;
  }
  const part = input.poolPart;
  const head = `${rated.outcome === 'within_allowance' ? w.traffic : w.overusage} ${period}${part ? `, ${w.pool(part.pool)}` : ''}: ${facts(rated, locale).join(', ')}`;
  let tail: string;
  if (rated.outcome === 'billed') {
    tail =
      rated.capped && rated.capMinor !== null
        ? `, ${w.cappedAt} ${formatAmount(rated.capMinor, rated.currency, locale)}`
        : '';
    // "…; the part of vps1.example.net: 997.38 GB, €498.74 of €529.53"
    if (part)
      tail += `; ${w.poolPart(part.domain, formatSoldBytes(part.overBytes, rated.unit, locale), formatAmount(part.amountMinor, rated.currency, locale), formatAmount(rated.amountMinor, rated.currency, locale))}`;
    if (input.upgradeCredit)
      tail += `, ${w.upgradeCredit(input.upgradeCredit.percent, formatAmount(input.upgradeCredit.creditedMinor, rated.currency, locale))}`;
    if (input.deadlineLastDay) tail += ` (${w.disputeBy} ${formatDay(input.deadlineLastDay, locale)})`;
  } else {
    tail = ` — ${outcomeNote(rated, locale)}`;
  }
  return head + tail + reference(input.refCode);
}

/** The line text in the language of the client's panel setting, with the locale it was written in. */
export function describeLineForClient(
  input: OverusageLineInput,
  panelLanguage: string | null | undefined,
  country?: string | null,
): { text: string; locale: string } {
  const locale = localeForClient(panelLanguage, country);
  return { text: describeOverusageLine(input, locale), locale };
}

const EXPLAIN = {
  en: {
    model: {
      per_unit: (unit: string) => `Pricing: per ${unit} over the allowance`,
      per_block: (size: string) => `Pricing: per started block of ${size} over the allowance`,
      avg_mbps: () => 'Pricing: per Mbit/s of average rate over the committed rate',
      p95: () =>
        'Pricing: per Mbit/s of 95th-percentile rate over the committed rate (5-minute rates, top 5 % dropped)',
    },
    included: 'Included',
    prorated: (full: string, days: number, nominal: number) =>
      `prorated from ${full} for ${days} of ${nominal} days, rounded up to the byte`,
    committed: 'Committed rate',
    commitMoves: (bytes: string) => `moves ${bytes} in this period`,
    used: 'Used',
    averageRate: (bytes: string, seconds: string, mbps: string) =>
      `Average rate: ${bytes} bytes × 8 ÷ ${seconds} s = ${mbps}`,
    p95Rate: 'Billed rate (95th percentile)',
    tolerance: 'Free tolerance (not billed)',
    over: 'Over the allowance',
    overCommit: 'Over the committed rate',
    quantity: 'Billed quantity',
    rate: 'Rate',
    per: 'per',
    block: (size: string) => `block of ${size}`,
    exact: (precise: string, rounded: string) =>
      `Exact amount ${precise}, rounded once (half-up) to ${rounded}`,
    capHit: (cap: string) => `Cap: ${cap} per period, reached`,
    capNotHit: (cap: string) => `Cap: ${cap} per period, not reached`,
    minimum: (min: string) =>
      `Minimum charge: ${min}; a smaller amount is written off (recorded, not billed)`,
    outcome: 'Outcome',
    rated: (amount: string) => `rated ${amount}`,
    lineBilled: (amount: string) => `this line billed ${amount}`,
    afterAdjusted: (amount: string) => `after the dispute: adjusted to ${amount}`,
    afterWaived: (amount: string) => `after the dispute: waived, ${amount} billed`,
    credited: (amount: string) => `${amount} credited to the account`,
    bytes: (n: bigint) => (n === 1n ? 'byte' : 'bytes'),
  },
  nl: {
    model: {
      per_unit: (unit: string) => `Tarief: per ${unit} boven de bundel`,
      per_block: (size: string) => `Tarief: per begonnen blok van ${size} boven de bundel`,
      avg_mbps: () => 'Tarief: per Mbit/s gemiddelde snelheid boven de afgesproken snelheid',
      p95: () =>
        'Tarief: per Mbit/s 95e-percentielsnelheid boven de afgesproken snelheid (5-minutenwaarden, hoogste 5 % vervallen)',
    },
    included: 'Inbegrepen',
    prorated: (full: string, days: number, nominal: number) =>
      `naar rato van ${full} voor ${days} van ${nominal} dagen, naar boven afgerond op de byte`,
    committed: 'Afgesproken snelheid',
    commitMoves: (bytes: string) => `goed voor ${bytes} in deze periode`,
    used: 'Gebruikt',
    averageRate: (bytes: string, seconds: string, mbps: string) =>
      `Gemiddelde snelheid: ${bytes} bytes × 8 ÷ ${seconds} s = ${mbps}`,
    p95Rate: 'Gefactureerde snelheid (95e percentiel)',
    tolerance: 'Vrije marge (niet gefactureerd)',
    over: 'Boven de bundel',
    overCommit: 'Boven de afgesproken snelheid',
    quantity: 'Gefactureerde hoeveelheid',
    rate: 'Tarief',
    per: 'per',
    block: (size: string) => `blok van ${size}`,
    exact: (precise: string, rounded: string) =>
      `Exact bedrag ${precise}, één keer afgerond (half naar boven) op ${rounded}`,
    capHit: (cap: string) => `Maximum: ${cap} per periode, bereikt`,
    capNotHit: (cap: string) => `Maximum: ${cap} per periode, niet bereikt`,
    minimum: (min: string) =>
      `Minimumbedrag: ${min}; een kleiner bedrag wordt kwijtgescholden (vastgelegd, niet gefactureerd)`,
    outcome: 'Uitkomst',
    rated: (amount: string) => `berekend ${amount}`,
    lineBilled: (amount: string) => `deze regel factureerde ${amount}`,
    afterAdjusted: (amount: string) => `na het bezwaar: aangepast naar ${amount}`,
    afterWaived: (amount: string) => `na het bezwaar: kwijtgescholden, ${amount} gefactureerd`,
    credited: (amount: string) => `${amount} op het tegoed gezet`,
    bytes: (n: bigint) => (n === 1n ? 'byte' : 'bytes'),
  },
} as const;

/** The precise amount (10 decimals) with the currency, trailing zeros beyond the minor unit dropped. */
function formatPrecise(precise: string, currency: string, locale: string): string {
  const digits = minorDigits(currency);
  const nf = numberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: Math.max(digits, 10),
  });
  return plainSpaces(nf.format(exact(precise)));
}

/**
 * Every number that went into a charge, one line each, in the client's language: for the admin
 * tab, the client widget and the evidence file.
 */
export function explainCharge(
  rated: RatedCharge,
  locale: string,
  decided: DecidedFigures | null = null,
): string[] {
  const e = EXPLAIN[textLanguage(locale)];
  const bytes = (b: bigint) =>
    `${formatSoldBytes(b, rated.unit, locale)} (${formatInteger(b, locale)} ${e.bytes(b)})`;
  const money = (minor: bigint) => formatAmount(minor, rated.currency, locale);
  const blockSize = `${formatInteger(BigInt(rated.blockUnits ?? 1), locale)} ${rated.unit}`;
  const out: string[] = [];

  switch (rated.model) {
    case 'per_unit':
      out.push(e.model.per_unit(rated.unit));
      break;
    case 'per_block':
      out.push(e.model.per_block(blockSize));
      break;
    case 'avg_mbps':
    case 'p95':
      out.push(e.model[rated.model]());
      break;
  }
  if (rated.model === 'per_unit' || rated.model === 'per_block') {
    const included = `${e.included}: ${bytes(rated.allowanceBytes)}`;
    out.push(
      rated.prorated
        ? `${included}, ${e.prorated(formatSoldBytes(rated.fullAllowanceBytes, rated.unit, locale), rated.days, rated.nominalDays)}`
        : included,
    );
    out.push(`${e.used}: ${bytes(rated.usedBytes)}`);
  } else {
    out.push(
      `${e.committed}: ${formatMbps(rated.commitBps ?? 0n, locale)}, ${e.commitMoves(bytes(rated.allowanceBytes))}`,
    );
    out.push(`${e.used}: ${bytes(rated.usedBytes)}`);
    if (rated.model === 'avg_mbps') {
      out.push(
        e.averageRate(
          formatInteger(rated.usedBytes, locale),
          formatInteger(rated.periodSeconds, locale),
          formatMbps(rated.measuredBps ?? 0n, locale),
        ),
      );
    } else {
      out.push(`${e.p95Rate}: ${formatMbps(rated.measuredBps ?? 0n, locale)}`);
    }
  }
  if (rated.toleranceBytes > 0n) out.push(`${e.tolerance}: ${bytes(rated.toleranceBytes)}`);
  if (rated.model === 'p95') out.push(`${e.overCommit}: ${billedQuantity(rated, locale)}`);
  else out.push(`${e.over}: ${bytes(rated.overBytes)}`);

  const quantity =
    rated.quantityUnit === 'block'
      ? `${formatInteger(BigInt(rated.quantity), locale)} × ${e.block(blockSize)}`
      : billedQuantity(rated, locale);
  out.push(`${e.quantity}: ${quantity}`);
  const per = rated.quantityUnit === 'block' ? e.block(blockSize) : rated.quantityUnit;
  // re-rated by a decision: the rate is the one agreed in advance, said as the line says it
  const agreed = decided?.ratedBefore ? ` (${DECIDED[textLanguage(locale)].agreedRate})` : '';
  out.push(`${e.rate}: ${formatRate(rated.rate, rated.currency, locale)} ${e.per} ${per}${agreed}`);
  out.push(e.exact(formatPrecise(rated.preciseAmount, rated.currency, locale), money(rated.roundedMinor)));
  if (rated.capMinor !== null)
    out.push(rated.capped ? e.capHit(money(rated.capMinor)) : e.capNotHit(money(rated.capMinor)));
  if (rated.minimumMinor > 0n) out.push(e.minimum(money(rated.minimumMinor)));
  out.push(
    `${e.outcome}: ${decided ? (decidedNote(rated, decided, locale) ?? outcomeNote(rated, locale)) : outcomeNote(rated, locale)}`,
  );
  return out;
}

/** A dispute's decision, in the figures that changed what the line bills. */
export interface DecidedFigures {
  state: string;
  /** what the line bills now */
  amountMinor: bigint;
  /** given back as account credit (a paid line waived or reduced) */
  creditedMinor: bigint;
  /** where the decision re-rated the line at the agreed rate: the rating it was first billed with */
  ratedBefore?: RatedCharge;
  /** what the line billed before the decision, where not the rating's amount (a correction, a pool's part) */
  billedMinor?: bigint;
}

/** "rated €500.00; after the dispute: adjusted to €350.00" — null when the decision left the amount as rated. */
function decidedNote(rated: RatedCharge, d: DecidedFigures, locale: string): string | null {
  if (d.state !== 'adjusted' && d.state !== 'waived') return null;
  const e = EXPLAIN[textLanguage(locale)];
  const money = (minor: bigint) => formatAmount(minor, rated.currency, locale);
  const after = d.state === 'waived' ? e.afterWaived(money(0n)) : e.afterAdjusted(money(d.amountMinor));
  const first = (d.ratedBefore ?? rated).amountMinor;
  const line =
    d.billedMinor !== undefined && d.billedMinor !== first ? `, ${e.lineBilled(money(d.billedMinor))}` : '';
  return `${e.rated(money(first))}${line}; ${after}${d.creditedMinor > 0n ? `; ${e.credited(money(d.creditedMinor))}` : ''}`;
}

/** The figures of a line's decided dispute, for `explainCharge` (null while none is decided). */
export function decidedFigures(line: {
  amountMinor: bigint;
  dispute: {
    state: string;
    amountBeforeMinor: bigint;
    amountAfterMinor: bigint | null;
    settlement?: string | null;
    creditedMinor?: bigint | null;
  } | null;
}): DecidedFigures | null {
  const d = line.dispute;
  if (!d || d.state === 'open') return null;
  const now = d.state === 'waived' ? 0n : line.amountMinor;
  // VAT included where a credit note gave it back (stored); before credit notes, the drop in the amount
  const creditedMinor = d.settlement === 'credited' ? (d.creditedMinor ?? d.amountBeforeMinor - now) : 0n;
  return { state: d.state, amountMinor: now, creditedMinor, billedMinor: d.amountBeforeMinor };
}

const DECIDED = {
  en: {
    agreedRate: 'agreed rate',
    reduced: (amount: string) => `reduced to ${amount} after review of your dispute`,
    waived: (before: string) => `waived after review of your dispute (${before})`,
  },
  nl: {
    agreedRate: 'afgesproken tarief',
    reduced: (amount: string) => `verlaagd naar ${amount} na beoordeling van uw bezwaar`,
    waived: (before: string) => `kwijtgescholden na beoordeling van uw bezwaar (${before})`,
  },
} as const;

/**
 * A re-rating at the agreed rate, as a decision keeps it: the rates, and when known the amounts
 * each gives before cap and minimum and whether the quantity shown gives the new one exactly
 * (decisions recorded before the line text named its amount keep only the rates).
 */
export interface Rerated {
  from: string;
  to: string;
  fromMinor?: bigint;
  toMinor?: bigint;
  exact?: boolean;
  /** the plan's cap, and whether it held the amount before and after */
  cap?: { minor: bigint; from: boolean; to: boolean };
  /** a VPS's part of a pool: the pool's amount and the part, before and after */
  pool?: { fromMinor: bigint; toMinor: bigint; partFromMinor: bigint; partToMinor: bigint };
  /** the upgrade credit, before and after */
  upgrade?: { percent: number; fromMinor: bigint; toMinor: bigint };
  /** a correction line: the period's amount it names ("now €1,000.00"), before and after */
  correction?: { fromMinor: bigint; toMinor: bigint };
}

/**
 * The parts of a re-rated line's text that follow its amount: "capped at" said only while the cap
 * holds the new amount, a pool part's "€498.74 of €529.53" and an upgrade credit's "(€60.00)" with
 * their new figures. `now` is the rewritten quantity × rate, which the cap follows.
 */
function rerateTail(head: string, now: string, r: Rerated, currency: string, locale: string): string {
  const w = WORDS[textLanguage(locale)];
  const money = (minor: bigint) => formatAmount(minor, currency, locale);
  let text = head;
  if (r.cap) {
    const capped = `, ${w.cappedAt} ${money(r.cap.minor)}`;
    if (r.cap.from && !r.cap.to) text = text.replace(`${now}${capped}`, () => now);
    if (!r.cap.from && r.cap.to) text = text.replace(now, () => `${now}${capped}`);
  }
  if (r.pool) {
    const was = w.partOf(money(r.pool.partFromMinor), money(r.pool.fromMinor));
    text = text.replace(
      `, ${was}`,
      () => `, ${w.partOf(money(r.pool!.partToMinor), money(r.pool!.toMinor))}`,
    );
  }
  if (r.correction) {
    const was = `; ${w.nowBills} ${money(r.correction.fromMinor)}, `;
    text = text.replace(was, () => `; ${w.nowBills} ${money(r.correction!.toMinor)}, `);
  }
  if (r.upgrade) {
    const was = w.upgradeCredit(r.upgrade.percent, money(r.upgrade.fromMinor));
    text = text.replace(was, () => w.upgradeCredit(r.upgrade!.percent, money(r.upgrade!.toMinor)));
  }
  return text;
}

/**
 * The line's text after an adjustment, from the text it was billed with: re-rated at the agreed
 * rate, the rate and amount it names become the agreed ones ("1,000.00 GB × €0.35 (agreed rate) =
 * €350.00"); a share or an amount set by hand says what the line now bills ("… — reduced to
 * €350.00 after review of your dispute"). The reference code stays last, so the line is still
 * found on the invoice.
 */
export function describeAdjustedLine(
  billedText: string,
  input: { currency: string; afterMinor: bigint; rerated?: Rerated | null },
  locale: string,
): string {
  const w = DECIDED[textLanguage(locale)];
  const m = /^(.*?)((?: \[[^\]]+\])?)$/s.exec(billedText)!;
  const head = m[1]!;
  const ref = m[2] ?? '';
  const r = input.rerated;
  if (r) {
    const agreed = ` (${w.agreedRate})`;
    if (r.fromMinor !== undefined && r.toMinor !== undefined) {
      const now = priced(r.to, r.toMinor, input.currency, r.exact ?? false, locale, agreed);
      for (const wasExact of [true, false]) {
        const was = priced(r.from, r.fromMinor, input.currency, wasExact, locale);
        if (head.includes(was))
          return (
            rerateTail(
              head.replace(was, () => now),
              now,
              r,
              input.currency,
              locale,
            ) + ref
          );
      }
    }
    // a line billed before its text named the amount: "1,000 GB × €0.50"
    const from = `× ${formatRate(r.from, input.currency, locale)}`;
    const named = head.includes(`${from} =`) || head.includes(`${from} ≈`);
    if (head.includes(from) && !named)
      return head.replace(from, () => `× ${formatRate(r.to, input.currency, locale)}${agreed}`) + ref;
  }
  return `${head} — ${w.reduced(formatAmount(input.afterMinor, input.currency, locale))}${ref}`;
}

/** The line's text once waived: "… — waived after review of your dispute (€500.00) [OU-123]". */
export function describeWaivedLine(
  billedText: string,
  input: { currency: string; beforeMinor: bigint },
  locale: string,
): string {
  const m = /^(.*?)((?: \[[^\]]+\])?)$/s.exec(billedText)!;
  return `${m[1]!} — ${DECIDED[textLanguage(locale)].waived(formatAmount(input.beforeMinor, input.currency, locale))}${m[2] ?? ''}`;
}
