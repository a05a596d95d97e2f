import type { Knex } from 'knex';
import { formatSoldBytes, textLanguage } from '../domain/line-text.js';
import { formatMoney } from '../domain/money.js';
import { capActionInForce, capMates, type CapService } from '../services/caps.js';
import type { UpgradeService } from '../services/upgrades.js';
import { toNum, unreadableRow, type SetAside } from '../adapters/rows.js';
import { TABLES } from '../adapters/tables.js';
import { storedColumnOf } from '../domain/stored-value.js';

/**
 * The widget's spending-cap block, in English and Dutch: the cap in force (or none), whether it is
 * reached, and the form to set or lift it (the actions the product allows). Money through Intl for
 * the client's locale, bytes in GB (10^9).
 */
export const CAP_WORDS = {
  en: {
    title: 'Spending cap',
    none: 'You have not set a cap: overusage is billed in full on your next invoice.',
    current: (amount: string, action: 'throttle' | 'suspend') =>
      `Your cap: ${amount} of overusage a month. When it is reached, your server is ${action === 'throttle' ? 'slowed down' : 'suspended'} until the next period starts, and you are never billed more than the cap.`,
    reached: (action: 'throttle' | 'suspend') =>
      `The cap is reached: your server is ${action === 'throttle' ? 'slowed down' : 'suspended'} until the next period starts.`,
    reachedUnknown: 'Whether the cap is reached cannot be shown right now.',
    unavailable: 'Your cap cannot be shown right now.',
    amount: 'At most, each month',
    kindMoney: (currency: string) => `an amount (${currency})`,
    kindBytes: 'traffic over the allowance (GB)',
    action: 'When it is reached',
    throttle: 'slow my server down',
    suspend: 'suspend my server',
    set: 'Set cap',
    lift: 'Lift the cap now',
    flashSet: 'Your cap is set.',
    flashLifted: 'Your cap is lifted.',
    badAmount: 'Enter an amount more than zero, like 25.00 or 500 GB.',
    notOffered: 'This plan does not offer a spending cap.',
    pool: (n: number) =>
      `Your ${n} servers share one traffic pool: a cap set here covers all of them, and all of them are slowed down or suspended when it is reached.`,
  },
  nl: {
    title: 'Uitgavenplafond',
    none: 'U hebt geen plafond ingesteld: overschrijding wordt volledig gefactureerd op uw volgende factuur.',
    current: (amount: string, action: 'throttle' | 'suspend') =>
      `Uw plafond: ${amount} aan overschrijding per maand. Wanneer het bereikt is, wordt uw server ${action === 'throttle' ? 'vertraagd' : 'geschorst'} tot de volgende periode begint, en betaalt u nooit meer dan het plafond.`,
    reached: (action: 'throttle' | 'suspend') =>
      `Het plafond is bereikt: uw server is ${action === 'throttle' ? 'vertraagd' : 'geschorst'} tot de volgende periode begint.`,
    reachedUnknown: 'Of het plafond bereikt is, kan nu niet getoond worden.',
    unavailable: 'Uw plafond kan nu niet getoond worden.',
    amount: 'Hoogstens, per maand',
    kindMoney: (currency: string) => `een bedrag (${currency})`,
    kindBytes: 'dataverkeer boven de bundel (GB)',
    action: 'Wanneer het bereikt is',
    throttle: 'mijn server vertragen',
    suspend: 'mijn server schorsen',
    set: 'Plafond instellen',
    lift: 'Plafond nu opheffen',
    flashSet: 'Uw plafond is ingesteld.',
    flashLifted: 'Uw plafond is opgeheven.',
    badAmount: 'Geef een bedrag groter dan nul, zoals 25,00 of 500 GB.',
    notOffered: 'Dit pakket biedt geen uitgavenplafond.',
    pool: (n: number) =>
      `Uw ${n} servers delen één datapool: een plafond dat u hier instelt, geldt voor ze allemaal, en ze worden allemaal vertraagd of geschorst wanneer het bereikt is.`,
  },
} as const;

export type CapWords = (typeof CAP_WORDS)['en'] | (typeof CAP_WORDS)['nl'];
export const capWordsFor = (locale: string): CapWords => CAP_WORDS[textLanguage(locale)];

export interface CapSectionView {
  serviceId: number;
  w: CapWords;
  current: string | null;
  reached: string | null;
  /** a pooled service: the cap is the pool's */
  pool: string | null;
  currency: string;
  actions: Array<{ value: 'throttle' | 'suspend'; label: string }>;
  /** the cap's record cannot be read: said so, with no form to set or lift it */
  unavailable?: boolean;
}

export async function capSection(
  knex: Knex,
  caps: CapService,
  serviceId: number,
  locale: string,
  setAside?: SetAside,
): Promise<CapSectionView | null> {
  const options = await caps.options(serviceId);
  const w = capWordsFor(locale);
  let cap;
  try {
    cap = await caps.get(serviceId);
  } catch (err) {
    // a cap whose record cannot be read: the client is told only that; the operator gets the column
    if (storedColumnOf(err) === null) throw err;
    setAside?.(TABLES.caps, unreadableRow(null, err));
    const none = { pool: null, reached: null, currency: '', actions: [] };
    return { serviceId, w, current: w.unavailable, ...none, unavailable: true };
  }
  if (!options && !cap) return null;
  const amount = cap
    ? cap.kind === 'money'
      ? formatMoney({ amountMinor: cap.amount, currency: cap.currency! }, locale)
      : formatSoldBytes(cap.amount, 'GB', locale)
    : null;
  // an action whose row cannot be read: the client is told only that it cannot be shown now
  const inForce = cap ? await capActionInForce(knex, serviceId, setAside) : null;
  const mates = (await capMates(knex, [serviceId])).get(serviceId)!;
  return {
    serviceId,
    w,
    current: cap ? w.current(amount!, cap.action) : null,
    reached: inForce === null ? null : typeof inForce === 'object' ? w.reachedUnknown : w.reached(inForce),
    pool: mates.length > 1 ? w.pool(mates.length) : null,
    currency: options?.currency ?? cap?.currency ?? '',
    actions: (options?.actions ?? []).map((a) => ({ value: a, label: w[a] })),
  };
}

/** The upgrade suggestion on the widget: the plan, the money, one button. */
export const UPGRADE_WORDS = {
  en: {
    title: 'A bigger plan',
    figure: (name: string, would: string, paid: string, months: number) =>
      `On ${name} you would have paid ${would} instead of ${paid} over the last ${months} months.`,
    button: (name: string) => `Upgrade to ${name}`,
    note: 'The part of your current plan you have not used yet is credited on the upgrade invoice.',
    ordered: 'Your upgrade is ordered.',
    orderedInvoice: (id: number) =>
      `Your upgrade is ordered: invoice #${id} charges the difference for the rest of this month; the plan changes once it is paid.`,
    refused: 'The upgrade could not be ordered; please contact us.',
  },
  nl: {
    title: 'Een groter pakket',
    figure: (name: string, would: string, paid: string, months: number) =>
      `Met ${name} had u over de laatste ${months} maanden ${would} betaald in plaats van ${paid}.`,
    button: (name: string) => `Overstappen naar ${name}`,
    note: 'Het deel van uw huidige pakket dat u nog niet gebruikte, wordt verrekend op de factuur van de upgrade.',
    ordered: 'Uw upgrade is besteld.',
    orderedInvoice: (id: number) =>
      `Uw upgrade is besteld: factuur #${id} rekent het verschil aan voor de rest van deze maand; het pakket verandert zodra ze betaald is.`,
    refused: 'De upgrade kon niet besteld worden; neem contact met ons op.',
  },
} as const;

export type UpgradeWords = (typeof UPGRADE_WORDS)['en'] | (typeof UPGRADE_WORDS)['nl'];
export const upgradeWordsFor = (locale: string): UpgradeWords => UPGRADE_WORDS[textLanguage(locale)];

export interface UpgradeSectionView {
  serviceId: number;
  productId: number;
  w: UpgradeWords;
  figure: string;
  button: string;
}

/** Shown while a suggestion stands for the service (sent, not yet taken up) and the panel prices a bigger plan. */
export async function upgradeSection(
  knex: Knex,
  upgrades: UpgradeService,
  serviceId: number,
  clientId: number,
  locale: string,
): Promise<UpgradeSectionView | null> {
  const notice = await knex('mod_overusage_notices')
    .where({ service_id: serviceId, kind: 'upgrade_suggestion', status: 'sent' })
    .orderBy('id', 'desc')
    .first('id');
  if (!notice || toNum(notice.id) <= 0) return null;
  const figures = await upgrades.figures(serviceId, clientId);
  const best = figures?.offers[0];
  if (!figures || !best) return null;
  const w = upgradeWordsFor(locale);
  const money = (minor: bigint) => formatMoney({ amountMinor: minor, currency: figures.currency }, locale);
  return {
    serviceId,
    productId: best.productId,
    w,
    figure: w.figure(best.name, money(best.totalMinor), money(figures.currentMinor), figures.periods),
    button: w.button(best.name),
  };
}
