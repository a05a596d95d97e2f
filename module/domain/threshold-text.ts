import { addDays, type IsoDate } from './calendar.js';
import { decimalToString, scaledToString } from './money.js';
import {
  formatAmount,
  formatDay,
  formatInteger,
  formatPeriod,
  formatRate,
  formatSoldBytes,
  textLanguage,
  type TextLanguage,
} from './line-text.js';
import type { LimitPolicy } from './limit-policy.js';
import type { ProjectedCost, Projection } from './thresholds.js';
import type { RatingPlan } from './usage-rating.js';

/**
 * The words of a threshold notice, in the client's language: what was used of the allowance, where
 * the period is heading at this pace, what that costs, and what happens at the limit. Every number
 * is formatted by Intl for the locale from an exact value; the email view only lays them out.
 */

export interface ThresholdNoticeFacts {
  /** the threshold the notice names */
  pct: number;
  firstName: string;
  domain: string;
  company: string;
  /** the period as the client had it (from its start, or registration) and its expected last day */
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  /** the last day measured */
  asOf: IsoDate;
  usedBytes: bigint;
  allowanceBytes: bigint;
  /** the percentage used, exact decimal string ("82.0") */
  percentUsed: string;
  projection: Projection;
  cost: ProjectedCost | null;
  /** the prices the notice quotes */
  plan: NoticePlan;
  policy: LimitPolicy;
  /** a transfer pool's notice: the figures are the pool's, shared by these VPSs */
  pool?: { name: string; domains: string[] };
}

export type NoticePlan = Pick<RatingPlan, 'unit' | 'currency' | 'rate' | 'model'>;

export interface ThresholdNoticeText {
  lang: TextLanguage;
  subject: string;
  greeting: string;
  paragraphs: string[];
  closing: string;
  signature: string;
}

/** "82%" / "82%" / "82,5%": Intl's percent for the locale, from an exact percentage string. */
export function formatPercent(percent: string, locale: string, maxDecimals = 1): string {
  const [whole, frac = ''] = percent.split('.');
  // percent ÷ 100 as an exact decimal string: Intl reads it without a float
  const units = BigInt(`${whole}${frac}`);
  const fraction = scaledToString(units, frac.length + 2);
  return new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 0,
    maximumFractionDigits: maxDecimals,
  })
    .format(fraction as Intl.StringNumericLiteral)
    .replace(/\u202f/g, '\u00a0');
}

const WORDS = {
  en: {
    subjectUsed: (domain: string, pct: string) => `${domain}: ${pct} of your traffic allowance used`,
    subjectUpTo: (domain: string) => `${domain}: your traffic allowance is used up`,
    greeting: (name: string) => `Dear ${name},`,
    used: (domain: string, used: string, included: string, period: string, pct: string, asOf: string) =>
      `Your VPS ${domain} has used ${used} of the ${included} of traffic included in your plan for ${period} (${pct}), measured up to and including ${asOf}.`,
    pace: (daily: string) => `At the pace so far (${daily} a day on average)`,
    runsOut: (pace: string, day: string) => `${pace}, the allowance runs out on ${day}`,
    lasts: (pace: string, end: string) => `${pace}, the allowance lasts until the period ends on ${end}`,
    endsAt: (total: string) => `, with about ${total} used by then.`,
    upNoEnd: '.',
    reached: 'The allowance is used up.',
    reachedEndsAt: (end: string, total: string) =>
      `The allowance is used up; at the pace so far the period ends on ${end} at about ${total}.`,
    billed: (rate: string) => `Traffic over the allowance is billed at ${rate} on your next invoice.`,
    costAtEnd: (amount: string) => `At this pace that comes to about ${amount} for this period.`,
    costNothing: 'At this pace nothing over the allowance is billed for this period.',
    costSoFar: (amount: string) => `Over the allowance so far: ${amount}.`,
    throttleAhead: (speed: string, until: string) =>
      `When the allowance is used up, the network speed of your VPS is limited${speed} ${until}.`,
    throttleNow: (speed: string, until: string) =>
      `The allowance is used up, so the network speed of your VPS is limited${speed} ${until}.`,
    suspendAhead: (until: string) => `When the allowance is used up, your VPS is suspended ${until}.`,
    suspendNow: (until: string) => `The allowance is used up, so your VPS is suspended ${until}.`,
    to: (mbps: string) => ` to ${mbps} Mbit/s`,
    poolName: (name: string, n: number) => `Transfer pool ${name} (${n} VPS${n === 1 ? '' : 's'})`,
    usedPool: (
      name: string,
      domains: string,
      used: string,
      included: string,
      period: string,
      pct: string,
      asOf: string,
    ) =>
      `Your VPSs in transfer pool ${name} (${domains}) have together used ${used} of the ${included} of traffic they share for ${period} (${pct}), measured up to and including ${asOf}.`,
    and: 'and',
    yourVps: 'your VPS',
    eachVps: 'each VPS in the pool',
    untilNext: (day: string) => `until the next period starts on ${day}`,
    untilRaised: 'until the allowance is raised',
    per: (unit: string) => `per ${unit}`,
    perBlock: (size: string) => `per block of ${size}`,
    perMbps: 'per Mbit/s',
    followUp:
      'You can follow the traffic of every day in the client area. Reply to this email if a bigger plan would suit you better.',
    closing: 'Kind regards,',
  },
  nl: {
    subjectUsed: (domain: string, pct: string) => `${domain}: ${pct} van uw dataverkeer verbruikt`,
    subjectUpTo: (domain: string) => `${domain}: uw dataverkeer is op`,
    greeting: (name: string) => `Beste ${name},`,
    used: (domain: string, used: string, included: string, period: string, pct: string, asOf: string) =>
      `Uw VPS ${domain} heeft ${used} verbruikt van de ${included} dataverkeer in uw pakket voor ${period} (${pct}), gemeten tot en met ${asOf}.`,
    pace: (daily: string) => `In het tempo tot nu toe (gemiddeld ${daily} per dag)`,
    runsOut: (pace: string, day: string) => `${pace} is de bundel op ${day} op`,
    lasts: (pace: string, end: string) => `${pace} volstaat de bundel tot het einde van de periode op ${end}`,
    endsAt: (total: string) => `, met dan ongeveer ${total} verbruikt.`,
    upNoEnd: '.',
    reached: 'De bundel is op.',
    reachedEndsAt: (end: string, total: string) =>
      `De bundel is op; in het tempo tot nu toe eindigt de periode op ${end} met ongeveer ${total}.`,
    billed: (rate: string) =>
      `Dataverkeer boven de bundel wordt gefactureerd aan ${rate} op uw volgende factuur.`,
    costAtEnd: (amount: string) => `In dit tempo komt dat voor deze periode op ongeveer ${amount}.`,
    costNothing: 'In dit tempo wordt voor deze periode niets boven de bundel gefactureerd.',
    costSoFar: (amount: string) => `Boven de bundel tot nu toe: ${amount}.`,
    throttleAhead: (speed: string, until: string) =>
      `Zodra de bundel op is, wordt de netwerksnelheid van uw VPS beperkt${speed} ${until}.`,
    throttleNow: (speed: string, until: string) =>
      `De bundel is op, dus de netwerksnelheid van uw VPS wordt beperkt${speed} ${until}.`,
    suspendAhead: (until: string) => `Zodra de bundel op is, wordt uw VPS geschorst ${until}.`,
    suspendNow: (until: string) => `De bundel is op, dus uw VPS wordt geschorst ${until}.`,
    to: (mbps: string) => ` tot ${mbps} Mbit/s`,
    poolName: (name: string, n: number) => `Datapool ${name} (${n} VPS${n === 1 ? '' : "'en"})`,
    usedPool: (
      name: string,
      domains: string,
      used: string,
      included: string,
      period: string,
      pct: string,
      asOf: string,
    ) =>
      `Uw VPS'en in datapool ${name} (${domains}) hebben samen ${used} verbruikt van de ${included} dataverkeer die zij delen voor ${period} (${pct}), gemeten tot en met ${asOf}.`,
    and: 'en',
    yourVps: 'uw VPS',
    eachVps: 'elke VPS in de pool',
    untilNext: (day: string) => `tot de volgende periode begint op ${day}`,
    untilRaised: 'tot de bundel wordt verhoogd',
    per: (unit: string) => `per ${unit}`,
    perBlock: (size: string) => `per blok van ${size}`,
    perMbps: 'per Mbit/s',
    followUp:
      'U kunt het dataverkeer van elke dag volgen in de klantenzone. Antwoord gerust op deze e-mail als een groter pakket beter bij u past.',
    closing: 'Met vriendelijke groeten,',
  },
} as const;

/** "a, b and c" */
const listOf = (items: readonly string[], and: string): string =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1)!}`;

/** "€0.50 per GB", "€10.00 per block of 1 TB", "€4.00 per Mbit/s". */
function ratePer(plan: NoticePlan, locale: string): string {
  const w = WORDS[textLanguage(locale)];
  const rate = formatRate(decimalToString(plan.rate), plan.currency, locale);
  switch (plan.model.kind) {
    case 'per_unit':
      return `${rate} ${w.per(plan.unit)}`;
    case 'per_block':
      return `${rate} ${w.perBlock(`${formatInteger(BigInt(plan.model.blockUnits), locale)} ${plan.unit}`)}`;
    default:
      return `${rate} ${w.perMbps}`;
  }
}

/** The client's notice for a threshold, in the locale's language. */
export function presentThresholdNotice(f: ThresholdNoticeFacts, locale: string): ThresholdNoticeText {
  const lang = textLanguage(locale);
  const w = WORDS[lang];
  // in the unit the product sells, 2 decimals, as the invoice line says it
  const bytes = (b: bigint) => formatSoldBytes(b, f.plan.unit, locale);
  const day = (d: IsoDate) => formatDay(d, locale);
  const money = (minor: bigint) => formatAmount(minor, f.plan.currency, locale);
  const pctNamed = formatPercent(String(f.pct), locale, 0);
  const reachedLimit = f.usedBytes >= f.allowanceBytes;

  const named = f.pool ? w.poolName(f.pool.name, f.pool.domains.length) : f.domain;
  const subject = f.pct === 100 ? w.subjectUpTo(named) : w.subjectUsed(named, pctNamed);
  const periodText = f.periodEnd
    ? formatPeriod(f.periodStart, f.periodEnd, locale)
    : `${day(f.periodStart)} –`;
  const usedArgs = [
    bytes(f.usedBytes),
    bytes(f.allowanceBytes),
    periodText,
    formatPercent(f.percentUsed, locale),
    day(f.asOf),
  ] as const;
  const paragraphs: string[] = [
    f.pool
      ? w.usedPool(f.pool.name, listOf(f.pool.domains, w.and), ...usedArgs)
      : w.used(f.domain, ...usedArgs),
  ];

  const heading = headingParagraph(f, w, bytes, day);
  if (heading !== null) paragraphs.push(heading);
  const cost = costParagraph(f, w, locale, money);
  if (cost !== null) paragraphs.push(cost);
  const policy = policyParagraph(f, w, locale, day, reachedLimit);
  if (policy !== null) paragraphs.push(policy);
  // in a pool the policy acts on every member once the pool is used up
  if (f.pool && f.policy.action !== 'bill')
    paragraphs[paragraphs.length - 1] = paragraphs[paragraphs.length - 1]!.replace(w.yourVps, w.eachVps);
  paragraphs.push(w.followUp);
  return {
    lang,
    subject,
    greeting: w.greeting(f.firstName),
    paragraphs,
    closing: w.closing,
    signature: f.company,
  };
}

type Words = (typeof WORDS)[keyof typeof WORDS];

/** Where the period is heading: used up, when it runs out, or that it lasts (null: no traffic yet). */
function headingParagraph(
  f: ThresholdNoticeFacts,
  w: Words,
  bytes: (b: bigint) => string,
  day: (d: IsoDate) => string,
): string | null {
  const p = f.projection;
  const pace = w.pace(bytes(p.dailyAverageBytes));
  const total = p.projectedUsedBytes;
  switch (p.runOut.kind) {
    case 'reached':
      return f.periodEnd && total !== null && f.asOf < f.periodEnd
        ? w.reachedEndsAt(day(f.periodEnd), bytes(total))
        : w.reached;
    case 'on':
      return w.runsOut(pace, day(p.runOut.date)) + (total !== null ? w.endsAt(bytes(total)) : w.upNoEnd);
    case 'lasts':
      return f.periodEnd
        ? w.lasts(pace, day(f.periodEnd)) + (total !== null ? w.endsAt(bytes(total)) : w.upNoEnd)
        : null;
    case 'no_traffic':
      return null;
  }
}

/** What the overusage costs: the rate, at the period's end and so far (null: nothing to say). */
function costParagraph(
  f: ThresholdNoticeFacts,
  w: Words,
  locale: string,
  money: (minor: bigint) => string,
): string | null {
  const costLines: string[] = [];
  if (f.cost && f.policy.action !== 'suspend') {
    costLines.push(w.billed(ratePer(f.plan, locale)));
    if (f.cost.atEndMinor > 0n) costLines.push(w.costAtEnd(money(f.cost.atEndMinor)));
    else costLines.push(w.costNothing);
    if (f.cost.soFarMinor > 0n && f.cost.soFarMinor !== f.cost.atEndMinor)
      costLines.push(w.costSoFar(money(f.cost.soFarMinor)));
  } else if (f.cost && f.cost.soFarMinor > 0n) {
    costLines.push(w.billed(ratePer(f.plan, locale)), w.costSoFar(money(f.cost.soFarMinor)));
  }
  return costLines.length ? costLines.join(' ') : null;
}

/** What happens at the limit when it throttles or suspends (null: it bills). */
function policyParagraph(
  f: ThresholdNoticeFacts,
  w: Words,
  locale: string,
  day: (d: IsoDate) => string,
  reachedLimit: boolean,
): string | null {
  const until = f.periodEnd ? w.untilNext(day(addDays(f.periodEnd, 1))) : w.untilRaised;
  if (f.policy.action === 'throttle') {
    const speed = f.policy.throttleMbps ? w.to(formatInteger(BigInt(f.policy.throttleMbps), locale)) : '';
    return reachedLimit ? w.throttleNow(speed, until) : w.throttleAhead(speed, until);
  }
  if (f.policy.action === 'suspend') return reachedLimit ? w.suspendNow(until) : w.suspendAhead(until);
  return null;
}

/** The admin's subject and summary (in English, as the admin tab). */
export function presentThresholdNoticeForAdmin(
  f: ThresholdNoticeFacts & { clientName: string; serviceId: number },
): { subject: string; summary: string } {
  const locale = 'en-GB';
  const pct = formatPercent(String(f.pct), locale, 0);
  const used = formatSoldBytes(f.usedBytes, f.plan.unit, locale);
  const included = formatSoldBytes(f.allowanceBytes, f.plan.unit, locale);
  const runOut =
    f.projection.runOut.kind === 'on'
      ? `; at this pace it runs out on ${formatDay(f.projection.runOut.date, locale)}`
      : f.projection.runOut.kind === 'reached'
        ? '; the allowance is used up'
        : '';
  const cost = f.cost
    ? `; projected overusage for the period ${formatAmount(f.cost.atEndMinor, f.plan.currency, locale)}`
    : '';
  const policy =
    f.policy.action === 'bill'
      ? 'bill the overusage'
      : f.policy.action === 'throttle'
        ? `throttle${f.policy.throttleMbps ? ` to ${f.policy.throttleMbps} Mbit/s` : ''}`
        : 'suspend';
  return {
    subject: `Overusage: ${f.clientName} (${f.domain}) at ${pct} of the traffic allowance`,
    summary: `Service #${f.serviceId} (${f.domain}) of ${f.clientName} has used ${used} of ${included} (${formatPercent(f.percentUsed, locale)}) up to ${formatDay(f.asOf, locale)}${runOut}${cost}. Policy at the limit: ${policy}.`,
  };
}
