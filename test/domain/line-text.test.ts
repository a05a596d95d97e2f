import { expect } from 'chai';
import fc from 'fast-check';
import { bytesInUnit, UNIT_BYTES } from '../../module/domain/bytes.js';
import {
  describeLineForClient,
  describeOverusageLine,
  displayUnit,
  explainCharge,
  formatByteAmount,
  formatDay,
  formatPeriod,
  formatQuantity,
  formatRate,
  localeForClient,
  type OverusageLineInput,
  outcomeNote,
  textLanguage,
} from '../../module/domain/line-text.js';
import { parseDecimal } from '../../module/domain/money.js';
import { type PeriodUsage, type RatedCharge, type RatingPlan, rateUsage } from '../../module/domain/usage-rating.js';

const NBSP = '\u00a0';
const GB = UNIT_BYTES.GB;
const TB = UNIT_BYTES.TB;
const TiB = UNIT_BYTES.TiB;
const dec = (s: string) => parseDecimal(s, 'test value');

const plan = (over: Partial<RatingPlan> = {}): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 5n * TB,
  toleranceBytes: 0n,
  rate: dec('0.50'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: false,
  ...over,
});
const may = (usedBytes: bigint, over: Partial<PeriodUsage> = {}): PeriodUsage => ({ usedBytes, days: 31, nominalDays: 31, seconds: 31n * 86_400n, ...over });
const june = (usedBytes: bigint, fiveMinuteBps?: bigint[]): PeriodUsage => ({
  usedBytes,
  days: 30,
  nominalDays: 30,
  seconds: 30n * 86_400n,
  ...(fiveMinuteBps ? { fiveMinuteBps } : {}),
});

const line = (rated: RatedCharge, over: Partial<OverusageLineInput> = {}): OverusageLineInput => ({
  rated,
  periodStart: '2013-05-01',
  periodEnd: '2013-05-31',
  deadlineLastDay: '2013-06-15',
  refCode: 'OU-123',
  ...over,
});

const seed = rateUsage(may(6n * TB), plan());

describe('line text: the seed line', () => {
  it('English', () => {
    expect(describeOverusageLine(line(seed), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 6.000 TB used, 5.000 TB included, 1,000 GB × €0.50 (dispute by 15 June 2013) [OU-123]',
    );
  });

  it('Dutch, for the Netherlands and for Belgium', () => {
    const nl = `Overschrijding dataverkeer 1–31 mei 2013: 6,000 TB gebruikt, 5,000 TB inbegrepen, 1.000 GB × €${NBSP}0,50 (bezwaar uiterlijk 15 juni 2013) [OU-123]`;
    expect(describeOverusageLine(line(seed), 'nl-NL')).to.equal(nl);
    expect(describeOverusageLine(line(seed), 'nl-BE')).to.equal(nl);
    expect(describeOverusageLine(line(seed), 'nl')).to.equal(nl);
  });

  it('the reference code is appended once, with or without its brackets, and only when given', () => {
    expect(describeOverusageLine(line(seed, { refCode: '[OU-123]' }), 'en-GB')).to.match(/\(dispute by 15 June 2013\) \[OU-123\]$/);
    expect(describeOverusageLine(line(seed, { refCode: null }), 'en-GB')).to.match(/\(dispute by 15 June 2013\)$/);
    expect(describeOverusageLine(line(seed, { refCode: undefined, deadlineLastDay: null }), 'en-GB')).to.match(/1,000 GB × €0\.50$/);
    expect(() => describeOverusageLine(line(seed, { refCode: 'OU\n1' }), 'en-GB')).to.throw(/one short code/);
    expect(() => describeOverusageLine(line(seed, { refCode: ' ' }), 'en-GB')).to.throw(/one short code/);
  });

  it('picks the language from the client\u2019s panel setting', () => {
    expect(localeForClient('dutch')).to.equal('nl-NL');
    expect(localeForClient('Dutch ', 'BE')).to.equal('nl-BE');
    expect(localeForClient('dutch', 'nl')).to.equal('nl-NL');
    expect(localeForClient('english')).to.equal('en-GB');
    expect(localeForClient('german')).to.equal('en-GB');
    expect(localeForClient(null)).to.equal('en-GB');
    expect(localeForClient('')).to.equal('en-GB');
    expect(textLanguage('nl-BE')).to.equal('nl');
    expect(textLanguage('en-US')).to.equal('en');
    expect(textLanguage('nn-NO')).to.equal('en');
    const nl = describeLineForClient(line(seed), 'dutch', 'BE');
    expect(nl.locale).to.equal('nl-BE');
    expect(nl.text).to.match(/^Overschrijding dataverkeer/);
    expect(describeLineForClient(line(seed), 'english')).to.deep.equal({ text: describeOverusageLine(line(seed), 'en-GB'), locale: 'en-GB' });
  });
});

describe('line text: every model', () => {
  it('per unit, in the binary family: bytes in TiB, quantity in GiB', () => {
    const r = rateUsage(may(3n * TiB), plan({ unit: 'GiB', allowanceBytes: 2n * TiB, rate: dec('0.01') }));
    expect(describeOverusageLine(line(r, { refCode: null }), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 3.000 TiB used, 2.000 TiB included, 1,024 GiB × €0.01 (dispute by 15 June 2013)',
    );
    expect(describeOverusageLine(line(r, { refCode: null }), 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 1–31 mei 2013: 3,000 TiB gebruikt, 2,000 TiB inbegrepen, 1.024 GiB × €${NBSP}0,01 (bezwaar uiterlijk 15 juni 2013)`,
    );
  });

  it('per block: count × block size × rate, singular and plural', () => {
    const blocks = plan({ unit: 'TB', model: { kind: 'per_block', blockUnits: 1 }, rate: dec('10') });
    const two = rateUsage(may(6_500_000_000_000n), blocks);
    expect(describeOverusageLine(line(two), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 6.500 TB used, 5.000 TB included, 2 × 1 TB blocks × €10.00 (dispute by 15 June 2013) [OU-123]',
    );
    expect(describeOverusageLine(line(two), 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 1–31 mei 2013: 6,500 TB gebruikt, 5,000 TB inbegrepen, 2 × blok van 1 TB × €${NBSP}10,00 (bezwaar uiterlijk 15 juni 2013) [OU-123]`,
    );
    const one = rateUsage(may(3n * TiB), plan({ unit: 'TiB', allowanceBytes: 2n * TiB, model: { kind: 'per_block', blockUnits: 1 }, rate: dec('3') }));
    expect(describeOverusageLine(line(one), 'en-GB')).to.contain('3.000 TiB used, 2.000 TiB included, 1 × 1 TiB block × €3.00');
    const big = rateUsage(may(5n * TB + 1_250n * GB), plan({ model: { kind: 'per_block', blockUnits: 500 }, rate: dec('2.5') }));
    expect(describeOverusageLine(line(big), 'en-GB')).to.contain('3 × 500 GB blocks × €2.50');
    expect(describeOverusageLine(line(big), 'nl-NL')).to.contain(`3 × blok van 500 GB × €${NBSP}2,50`);
  });

  it('average Mbit/s: measured, committed, over × rate', () => {
    // 12.3 Mbit/s for 30 days = 3 985 200 000 000 bytes
    const r = rateUsage(june(3_985_200_000_000n), plan({ model: { kind: 'avg_mbps', commitMbps: dec('10') }, rate: dec('4') }));
    const input = line(r, { periodStart: '2013-06-01', periodEnd: '2013-06-30', deadlineLastDay: '2013-07-15', refCode: 'OU-7' });
    expect(describeOverusageLine(input, 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 30 June 2013: 3.985 TB used, average 12.3 Mbit/s, 10 Mbit/s committed, 2.3 Mbit/s × €4.00 (dispute by 15 July 2013) [OU-7]',
    );
    expect(describeOverusageLine(input, 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 1–30 juni 2013: 3,985 TB gebruikt, gemiddeld 12,3 Mbit/s, 10 Mbit/s afgesproken, 2,3 Mbit/s × €${NBSP}4,00 (bezwaar uiterlijk 15 juli 2013) [OU-7]`,
    );
    const tol = rateUsage(june(3_985_200_000_000n), plan({ model: { kind: 'avg_mbps', commitMbps: dec('10') }, rate: dec('4'), toleranceBytes: 324n * GB }));
    expect(describeOverusageLine(line(tol), 'en-GB')).to.contain('average 12.3 Mbit/s, 10 Mbit/s committed, 0.324 TB free tolerance, 1.3 Mbit/s × €4.00');
  });

  it('95th percentile: the billed rate, committed, over × rate', () => {
    const samples = [...Array.from({ length: 19 }, () => 12_300_000n), 900_000_000n];
    const r = rateUsage(june(1n, samples), plan({ model: { kind: 'p95', commitMbps: dec('10') }, rate: dec('4') }));
    const input = line(r, { periodStart: '2013-06-01', periodEnd: '2013-06-30', deadlineLastDay: '2013-07-15' });
    expect(describeOverusageLine(input, 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 30 June 2013: 95th percentile 12.3 Mbit/s, 10 Mbit/s committed, 2.3 Mbit/s × €4.00 (dispute by 15 July 2013) [OU-123]',
    );
    expect(describeOverusageLine(input, 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 1–30 juni 2013: 95e percentiel 12,3 Mbit/s, 10 Mbit/s afgesproken, 2,3 Mbit/s × €${NBSP}4,00 (bezwaar uiterlijk 15 juli 2013) [OU-123]`,
    );
  });
});

describe('line text: tolerance, proration, cap, minimum', () => {
  it('a prorated allowance and a tolerance are stated on the line', () => {
    const r = rateUsage(may(6n * TB, { days: 16 }), plan({ prorate: true, toleranceBytes: 100n * GB }));
    const input = line(r, { periodStart: '2013-05-16' });
    expect(describeOverusageLine(input, 'en-GB')).to.equal(
      'Bandwidth overusage 16 – 31 May 2013: 6.000 TB used, 2.581 TB included (prorated, 16 of 31 days), 0.100 TB free tolerance, 3,319.354839 GB × €0.50 (dispute by 15 June 2013) [OU-123]',
    );
    expect(describeOverusageLine(input, 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 16–31 mei 2013: 6,000 TB gebruikt, 2,581 TB inbegrepen (naar rato, 16 van 31 dagen), 0,100 TB vrije marge, 3.319,354839 GB × €${NBSP}0,50 (bezwaar uiterlijk 15 juni 2013) [OU-123]`,
    );
  });

  it('a capped line says so', () => {
    const r = rateUsage(may(6n * TB), plan({ capMinor: 10_000n }));
    expect(describeOverusageLine(line(r), 'en-GB')).to.contain('1,000 GB × €0.50, capped at €100.00 (dispute by 15 June 2013)');
    expect(describeOverusageLine(line(r), 'nl-NL')).to.contain(`1.000 GB × €${NBSP}0,50, gemaximeerd op €${NBSP}100,00 (bezwaar`);
    expect(outcomeNote(r, 'en-GB')).to.equal('billed: €100.00 (capped; €500.00 before the cap)');
  });

  it('written off: no invoice line, a short explanation instead', () => {
    const r = rateUsage(may(5n * TB + 5n * GB), plan({ minimumMinor: 500n }));
    expect(describeOverusageLine(line(r), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 5.005 TB used, 5.000 TB included, 5 GB × €0.50 — written off: €2.50 is below the minimum charge of €5.00, not billed [OU-123]',
    );
    expect(describeOverusageLine(line(r), 'nl-NL')).to.equal(
      `Overschrijding dataverkeer 1–31 mei 2013: 5,005 TB gebruikt, 5,000 TB inbegrepen, 5 GB × €${NBSP}0,50 — kwijtgescholden: €${NBSP}2,50 ligt onder het minimumbedrag van €${NBSP}5,00, niet gefactureerd [OU-123]`,
    );
  });

  it('one byte over: written off at €0.00, and the quantity is not shown as 0', () => {
    const r = rateUsage(may(5n * TB + 1n), plan());
    expect(describeOverusageLine(line(r, { refCode: null }), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 5.000 TB used, 5.000 TB included, < 0.000001 GB × €0.50 — written off: the overusage comes to €0.00 after rounding, not billed',
    );
    expect(outcomeNote(r, 'nl-NL')).to.equal(`kwijtgescholden: de overschrijding komt afgerond op €${NBSP}0,00, niet gefactureerd`);
  });

  it('within the allowance (or the commit): nothing to bill', () => {
    const r = rateUsage(may(4n * TB), plan());
    expect(describeOverusageLine(line(r, { refCode: null }), 'en-GB')).to.equal(
      'Bandwidth 1 – 31 May 2013: 4.000 TB used, 5.000 TB included — within the allowance, nothing to bill',
    );
    expect(describeOverusageLine(line(r, { refCode: null }), 'nl-NL')).to.equal(
      'Dataverkeer 1–31 mei 2013: 4,000 TB gebruikt, 5,000 TB inbegrepen — binnen de bundel, niets te factureren',
    );
    const p = rateUsage(june(1n, [5_000_000n]), plan({ model: { kind: 'p95', commitMbps: dec('10') } }));
    expect(describeOverusageLine(line(p, { refCode: null, periodStart: '2013-06-01', periodEnd: '2013-06-30' }), 'en-GB')).to.equal(
      'Bandwidth 1 – 30 June 2013: 95th percentile 5 Mbit/s, 10 Mbit/s committed — within the committed rate, nothing to bill',
    );
    expect(outcomeNote(p, 'nl-NL')).to.equal('binnen de afgesproken snelheid, niets te factureren');
  });
});

describe('line text: periods, days, numbers', () => {
  it('formats periods compactly, within a month, across months and years, at month ends', () => {
    expect(formatPeriod('2013-05-15', '2013-06-14', 'en-GB')).to.equal('15 May – 14 June 2013');
    expect(formatPeriod('2013-05-15', '2013-06-14', 'nl-NL')).to.equal('15 mei – 14 juni 2013');
    expect(formatPeriod('2013-12-15', '2014-01-14', 'en-GB')).to.equal('15 December 2013 – 14 January 2014');
    expect(formatPeriod('2013-12-15', '2014-01-14', 'nl-NL')).to.equal('15 december 2013 – 14 januari 2014');
    expect(formatPeriod('2024-02-01', '2024-02-29', 'en-GB')).to.equal('1 – 29 February 2024');
    expect(formatPeriod('2024-02-01', '2024-02-29', 'nl-BE')).to.equal('1–29 februari 2024');
    expect(formatPeriod('2013-01-31', '2013-02-27', 'en-GB')).to.equal('31 January – 27 February 2013');
    expect(formatPeriod('2013-05-31', '2013-05-31', 'en-GB')).to.equal('31 May 2013');
    expect(() => formatPeriod('2013-05-31', '2013-05-01', 'en-GB')).to.throw(/must not end before it starts/);
    expect(() => formatPeriod('2013-02-30', '2013-03-01', 'en-GB')).to.throw(/real calendar date/);
    expect(formatDay('2013-06-15', 'en-GB')).to.equal('15 June 2013');
    expect(formatDay('2013-06-15', 'nl-NL')).to.equal('15 juni 2013');
    // a date is a calendar day: no zone can move it
    expect(formatDay('2013-01-01', 'en-GB')).to.equal('1 January 2013');
  });

  it('puts a cross-month period on the line', () => {
    const text = describeOverusageLine(line(seed, { periodStart: '2013-05-15', periodEnd: '2013-06-14', deadlineLastDay: '2013-06-29' }), 'en-GB');
    expect(text).to.match(/^Bandwidth overusage 15 May – 14 June 2013: .* \(dispute by 29 June 2013\) \[OU-123\]$/);
  });

  it('shows bytes in the family of the sold unit, 3 decimals, half-up', () => {
    expect(displayUnit('GB')).to.equal('TB');
    expect(displayUnit('TB')).to.equal('TB');
    expect(displayUnit('GiB')).to.equal('TiB');
    expect(displayUnit('TiB')).to.equal('TiB');
    expect(formatByteAmount(6n * TB, 'TB', 'en-GB')).to.equal('6.000 TB');
    expect(formatByteAmount(6n * TB, 'TB', 'nl-NL')).to.equal('6,000 TB');
    expect(formatByteAmount(5_000_500_000_000n, 'TB', 'en-GB')).to.equal('5.001 TB');
    expect(formatByteAmount(TiB + TiB / 2n, 'TiB', 'en-GB')).to.equal('1.500 TiB');
  });

  it('rates keep their decimals, at least those of the currency', () => {
    expect(formatRate('0.5', 'EUR', 'en-GB')).to.equal('€0.50');
    expect(formatRate('0.000125', 'EUR', 'en-GB')).to.equal('€0.000125');
    expect(formatRate('0.000125', 'EUR', 'nl-NL')).to.equal(`€${NBSP}0,000125`);
    expect(formatRate('80', 'JPY', 'en-GB')).to.equal('JP¥80');
    expect(formatRate('0.5', 'JPY', 'nl-NL')).to.equal(`JP¥${NBSP}0,5`);
    expect(formatRate('0.0005', 'BHD', 'en-GB')).to.equal(`BHD${NBSP}0.0005`);
  });

  it('big numbers stay exact', () => {
    const r = rateUsage(may(10n ** 24n + 123_456_789n), plan({ rate: dec('999999.999999') }));
    expect(describeOverusageLine(line(r), 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 1,000,000,000,000.000 TB used, 5.000 TB included, 999,999,999,995,000.123457 GB × €999,999.999999 (dispute by 15 June 2013) [OU-123]',
    );
    expect(describeOverusageLine(line(r), 'nl-NL')).to.contain(`1.000.000.000.000,000 TB gebruikt, 5,000 TB inbegrepen, 999.999.999.995.000,123457 GB × €${NBSP}999.999,999999`);
    // 999 999 999 995 000.123456789 GB × €999 999.999999 = €999 999 999 994 000 123 456.79…, rounded once
    expect(r.amountMinor).to.equal(99_999_999_999_400_012_345_679n);
    expect(outcomeNote(r, 'en-GB')).to.equal('billed: €999,999,999,994,000,123,456.79');
  });

  it('formats from the exact decimal, never a float', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 6 }), (units, scale) => {
        const s = units.toString().padStart(scale + 1, '0');
        const decimal = scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
        const shown = formatQuantity(decimal, 'en-GB').replace(/,/g, '');
        const trimmed = decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;
        expect(shown).to.equal(trimmed);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 90n }), (bytes) => {
        expect(formatByteAmount(bytes, 'TB', 'en-GB').replace(/,/g, '')).to.equal(`${bytesInUnit(bytes, 'TB', 3)} TB`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('explainCharge', () => {
  it('the seed, in English: every figure that made the amount', () => {
    expect(explainCharge(seed, 'en-GB')).to.deep.equal([
      'Pricing: per GB over the allowance',
      'Included: 5.000 TB (5,000,000,000,000 bytes)',
      'Used: 6.000 TB (6,000,000,000,000 bytes)',
      'Over the allowance: 1.000 TB (1,000,000,000,000 bytes)',
      'Billed quantity: 1,000 GB',
      'Rate: €0.50 per GB',
      'Exact amount €500.00, rounded once (half-up) to €500.00',
      'Outcome: billed: €500.00',
    ]);
  });

  it('in Dutch, with proration, tolerance, cap and minimum', () => {
    const r = rateUsage(may(6n * TB, { days: 16 }), plan({ prorate: true, toleranceBytes: 100n * GB, capMinor: 1_000_000n, minimumMinor: 500n }));
    expect(explainCharge(r, 'nl-NL')).to.deep.equal([
      'Tarief: per GB boven de bundel',
      'Inbegrepen: 2,581 TB (2.580.645.161.291 bytes), naar rato van 5,000 TB voor 16 van 31 dagen, naar boven afgerond op de byte',
      'Gebruikt: 6,000 TB (6.000.000.000.000 bytes)',
      'Vrije marge (niet gefactureerd): 0,100 TB (100.000.000.000 bytes)',
      'Boven de bundel: 3,319 TB (3.319.354.838.709 bytes)',
      'Gefactureerde hoeveelheid: 3.319,354839 GB',
      `Tarief: €${NBSP}0,50 per GB`,
      `Exact bedrag €${NBSP}1.659,6774193545, één keer afgerond (half naar boven) op €${NBSP}1.659,68`,
      `Maximum: €${NBSP}10.000,00 per periode, niet bereikt`,
      `Minimumbedrag: €${NBSP}5,00; een kleiner bedrag wordt kwijtgescholden (vastgelegd, niet gefactureerd)`,
      `Uitkomst: gefactureerd: €${NBSP}1.659,68`,
    ]);
  });

  it('per block, in English', () => {
    const r = rateUsage(may(6_500_000_000_000n), plan({ unit: 'TB', model: { kind: 'per_block', blockUnits: 1 }, rate: dec('10'), capMinor: 1_500n }));
    const lines = explainCharge(r, 'en-GB');
    expect(lines[0]).to.equal('Pricing: per started block of 1 TB over the allowance');
    expect(lines).to.include('Billed quantity: 2 × block of 1 TB');
    expect(lines).to.include('Rate: €10.00 per block of 1 TB');
    expect(lines).to.include('Cap: €15.00 per period, reached');
    expect(lines.at(-1)).to.equal('Outcome: billed: €15.00 (capped; €20.00 before the cap)');
  });

  it('average Mbit/s shows how the average was found', () => {
    const r = rateUsage(june(3_985_200_000_000n), plan({ model: { kind: 'avg_mbps', commitMbps: dec('10') }, rate: dec('4') }));
    expect(explainCharge(r, 'en-GB')).to.deep.equal([
      'Pricing: per Mbit/s of average rate over the committed rate',
      'Committed rate: 10 Mbit/s, moves 3.240 TB (3,240,000,000,000 bytes) in this period',
      'Used: 3.985 TB (3,985,200,000,000 bytes)',
      'Average rate: 3,985,200,000,000 bytes × 8 ÷ 2,592,000 s = 12.3 Mbit/s',
      'Over the allowance: 0.745 TB (745,200,000,000 bytes)',
      'Billed quantity: 2.3 Mbit/s',
      'Rate: €4.00 per Mbit/s',
      'Exact amount €9.20, rounded once (half-up) to €9.20',
      'Outcome: billed: €9.20',
    ]);
    expect(explainCharge(r, 'nl-NL')[3]).to.equal('Gemiddelde snelheid: 3.985.200.000.000 bytes × 8 ÷ 2.592.000 s = 12,3 Mbit/s');
  });

  it('95th percentile shows the billed rate', () => {
    const samples = [...Array.from({ length: 19 }, () => 12_300_000n), 900_000_000n];
    const r = rateUsage(june(TB, samples), plan({ model: { kind: 'p95', commitMbps: dec('10') }, rate: dec('4') }));
    const lines = explainCharge(r, 'en-GB');
    expect(lines).to.include('Billed rate (95th percentile): 12.3 Mbit/s');
    expect(lines).to.include('Over the committed rate: 2.3 Mbit/s');
    expect(lines).not.to.include.members(['Free tolerance (not billed): 0.000 TB (0 bytes)']);
    expect(explainCharge(r, 'nl-NL')).to.include('Gefactureerde snelheid (95e percentiel): 12,3 Mbit/s');
  });

  it('a single byte over, in English', () => {
    const lines = explainCharge(rateUsage(may(5n * TB + 1n), plan()), 'en-GB');
    expect(lines).to.include('Over the allowance: 0.000 TB (1 byte)');
    expect(lines).to.include('Billed quantity: < 0.000001 GB');
    expect(lines).to.include('Exact amount €0.0000000005, rounded once (half-up) to €0.00');
  });
});
