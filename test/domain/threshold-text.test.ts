import { expect } from 'chai';
import { parseDecimal } from '../../module/domain/money.js';
import {
  formatPercent,
  presentThresholdNotice,
  presentThresholdNoticeForAdmin,
  type ThresholdNoticeFacts,
} from '../../module/domain/threshold-text.js';
import { percentUsed, projectCost, projectUsage, type PeriodShape } from '../../module/domain/thresholds.js';
import type { RatingPlan } from '../../module/domain/usage-rating.js';

const GB = 10n ** 9n;
const TB = 10n ** 12n;
const NBSP = '\u00a0';
const may: PeriodShape = { from: '2013-05-01', end: '2013-05-31', nominalDays: 31 };
const plan: RatingPlan = {
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 5n * TB,
  toleranceBytes: 0n,
  rate: parseDecimal('0.50', 'rate'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: true,
};

function facts(
  usedBytes: bigint,
  pct: number,
  over: Partial<ThresholdNoticeFacts> = {},
): ThresholdNoticeFacts {
  const projection = projectUsage({ shape: may, asOf: '2013-05-20', usedBytes, allowanceBytes: 5n * TB });
  return {
    pct,
    firstName: 'Ann',
    domain: 'vps1.example.net',
    company: 'Hosting BV',
    periodStart: '2013-05-01',
    periodEnd: '2013-05-31',
    asOf: '2013-05-20',
    usedBytes,
    allowanceBytes: 5n * TB,
    percentUsed: percentUsed(usedBytes, 5n * TB)!,
    projection,
    cost: projectCost(plan, may, usedBytes, projection.projectedUsedBytes, 'Europe/Brussels'),
    plan,
    policy: { action: 'bill' },
    ...over,
  };
}

describe('threshold notice text', () => {
  it('formats percentages exactly for the locale', () => {
    expect(formatPercent('82.0', 'en-GB')).to.equal('82%');
    expect(formatPercent('82.5', 'nl-NL')).to.equal('82,5%');
    expect(formatPercent('100', 'nl-BE', 0)).to.equal('100%');
    expect(formatPercent('0.1', 'en-GB')).to.equal('0.1%');
  });

  it('shows bytes in the unit the product sells, 2 decimals half-up, as the invoice line does', () => {
    // sold per TB: 4 100 GB = 4.1 TB → "4.10 TB" of 5 TB → "5.00 TB"
    const tb = presentThresholdNotice(facts(4100n * GB, 80, { plan: { ...plan, unit: 'TB' } }), 'en-GB');
    expect(tb.paragraphs[0]).to.include('has used 4.10 TB of the 5.00 TB of traffic');
    // sold per GiB, 1 TiB included: 2^40 B = 1 024 GiB → "1.024,00 GiB";
    // 100 GB = 10^11 B ÷ 2^30 = 93.132257… GiB → "93,13 GiB"
    const gib = presentThresholdNotice(
      facts(100n * GB, 80, {
        plan: { ...plan, unit: 'GiB' },
        allowanceBytes: 1024n ** 4n,
        percentUsed: '9.1',
      }),
      'nl-NL',
    );
    expect(gib.paragraphs[0]).to.include('heeft 93,13 GiB verbruikt van de 1.024,00 GiB dataverkeer');
    // sold per GB: 4 999 999 B is under half a hundredth of a GB → "< 0.01 GB", never "0.00"
    const tiny = presentThresholdNotice(facts(4_999_999n, 80), 'en-GB');
    expect(tiny.paragraphs[0]).to.include('has used < 0.01 GB of the 5,000.00 GB of traffic');
  });

  it('tells an English client the traffic so far, the run-out day and the projected cost', () => {
    const t = presentThresholdNotice(facts(4100n * GB, 80), 'en-GB');
    expect(t.subject).to.equal('vps1.example.net: 80% of your traffic allowance used');
    expect(t.greeting).to.equal('Dear Ann,');
    expect(t.paragraphs[0]).to.equal(
      'Your VPS vps1.example.net has used 4,100.00 GB of the 5,000.00 GB of traffic included in your plan for 1 – 31 May 2013 (82%), measured up to and including 20 May 2013.',
    );
    // 4 100 GB in 20 days = 205 GB a day; 205 × 31 days = 6 355 GB by the period's end
    expect(t.paragraphs[1]).to.equal(
      'At the pace so far (205.00 GB a day on average), the allowance runs out on 25 May 2013, with about 6,355.00 GB used by then.',
    );
    expect(t.paragraphs[2]).to.equal(
      'Traffic over the allowance is billed at €0.50 per GB on your next invoice. At this pace that comes to about €677.50 for this period.',
    );
    expect(t.closing).to.equal('Kind regards,');
    expect(t.signature).to.equal('Hosting BV');
  });

  it('tells a Dutch client the same in Dutch, with Dutch numbers and dates', () => {
    const t = presentThresholdNotice(facts(4100n * GB, 80), 'nl-BE');
    expect(t.lang).to.equal('nl');
    expect(t.subject).to.equal('vps1.example.net: 80% van uw dataverkeer verbruikt');
    expect(t.greeting).to.equal('Beste Ann,');
    expect(t.paragraphs[0]).to.equal(
      'Uw VPS vps1.example.net heeft 4.100,00 GB verbruikt van de 5.000,00 GB dataverkeer in uw pakket voor 1–31 mei 2013 (82%), gemeten tot en met 20 mei 2013.',
    );
    expect(t.paragraphs[1]).to.equal(
      'In het tempo tot nu toe (gemiddeld 205,00 GB per dag) is de bundel op 25 mei 2013 op, met dan ongeveer 6.355,00 GB verbruikt.',
    );
    expect(t.paragraphs[2]).to.equal(
      `Dataverkeer boven de bundel wordt gefactureerd aan €${NBSP}0,50 per GB op uw volgende factuur. In dit tempo komt dat voor deze periode op ongeveer €${NBSP}677,50.`,
    );
    expect(t.closing).to.equal('Met vriendelijke groeten,');
  });

  it('says the allowance lasts, and that nothing is billed, when the pace stays under it', () => {
    const t = presentThresholdNotice(facts(2000n * GB, 80, { pct: 80 }), 'en-GB');
    // 2 000 GB in 20 days = 100 GB a day; × 31 = 3 100 GB
    expect(t.paragraphs[1]).to.equal(
      'At the pace so far (100.00 GB a day on average), the allowance lasts until the period ends on 31 May 2013, with about 3,100.00 GB used by then.',
    );
    expect(t.paragraphs[2]).to.match(/nothing over the allowance is billed/);
  });

  it('names the allowance used up at 100 % and what the throttle or the suspension does until the next period', () => {
    const throttle = presentThresholdNotice(
      facts(5n * TB, 100, { policy: { action: 'throttle', throttleMbps: 10 } }),
      'en-GB',
    );
    expect(throttle.subject).to.equal('vps1.example.net: your traffic allowance is used up');
    // 5 000 GB in 20 days = 250 GB a day; × 31 = 7 750 GB
    expect(throttle.paragraphs[1]).to.equal(
      'The allowance is used up; at the pace so far the period ends on 31 May 2013 at about 7,750.00 GB.',
    );
    expect(throttle.paragraphs).to.include(
      'The allowance is used up, so the network speed of your VPS is limited to 10 Mbit/s until the next period starts on 1 June 2013.',
    );
    const suspend = presentThresholdNotice(facts(5n * TB, 100, { policy: { action: 'suspend' } }), 'nl-NL');
    expect(suspend.subject).to.equal('vps1.example.net: uw dataverkeer is op');
    expect(suspend.paragraphs).to.include(
      'De bundel is op, dus uw VPS wordt geschorst tot de volgende periode begint op 1 juni 2013.',
    );
    // a suspended VPS stops at the limit: no projected bill is promised
    expect(suspend.paragraphs.join(' ')).to.not.match(/ongeveer €/);
  });

  it('warns ahead of the limit what the policy will do', () => {
    const t = presentThresholdNotice(facts(4500n * GB, 90, { policy: { action: 'suspend' } }), 'en-GB');
    expect(t.paragraphs).to.include(
      'When the allowance is used up, your VPS is suspended until the next period starts on 1 June 2013.',
    );
  });

  it('gives the admin a one-line summary in English', () => {
    const a = presentThresholdNoticeForAdmin({
      ...facts(4500n * GB, 90),
      clientName: 'Jan Peeters',
      serviceId: 12,
    });
    expect(a.subject).to.equal('Overusage: Jan Peeters (vps1.example.net) at 90% of the traffic allowance');
    expect(a.summary).to.equal(
      'Service #12 (vps1.example.net) of Jan Peeters has used 4,500.00 GB of 5,000.00 GB (90%) up to 20 May 2013; at this pace it runs out on 23 May 2013; projected overusage for the period €987.50. Policy at the limit: bill the overusage.',
    );
  });
});

// Every sentence of a notice the tests above do not reach, each written out in full: pools, the
// block and Mbit/s prices, an open-ended period, the used-up and no-traffic paces, the cost so far
// and the throttle without a speed (survivors of the mutation run: docs/mutation.md).
describe('threshold notice text: pools, prices, open periods', () => {
  const FOLLOW_EN =
    'You can follow the traffic of every day in the client area. Reply to this email if a bigger plan would suit you better.';
  const FOLLOW_NL =
    'U kunt het dataverkeer van elke dag volgen in de klantenzone. Antwoord gerust op deze e-mail als een groter pakket beter bij u past.';
  // 20 days measured of a 31-day May; the projections are given, not computed, so each figure below is the one the text must show
  const base = (over: Partial<ThresholdNoticeFacts>): ThresholdNoticeFacts => ({
    pct: 100,
    firstName: 'Ann',
    domain: 'vps1.example.net',
    company: 'Hosting BV',
    periodStart: '2013-05-01',
    periodEnd: '2013-05-31',
    asOf: '2013-05-20',
    usedBytes: 5n * TB,
    allowanceBytes: 5n * TB,
    percentUsed: '100.0',
    projection: {
      daysElapsed: 20,
      daysInPeriod: 31,
      dailyAverageBytes: 250n * GB,
      runOut: { kind: 'reached' },
      projectedUsedBytes: 7750n * GB,
    },
    cost: null,
    plan,
    policy: { action: 'bill' },
    ...over,
  });

  it('a pool of three, used up, throttled without a speed: every VPS in the pool is limited', () => {
    const t = presentThresholdNotice(
      base({
        pool: { name: 'Rack 7', domains: ['a.example.net', 'b.example.net', 'c.example.net'] },
        policy: { action: 'throttle' },
      }),
      'en-GB',
    );
    expect(t.subject).to.equal('Transfer pool Rack 7 (3 VPSs): your traffic allowance is used up');
    expect(t.paragraphs).to.deep.equal([
      'Your VPSs in transfer pool Rack 7 (a.example.net, b.example.net and c.example.net) have together used 5,000.00 GB of the 5,000.00 GB of traffic they share for 1 – 31 May 2013 (100%), measured up to and including 20 May 2013.',
      // 250 GB a day × 31 days = 7 750 GB
      'The allowance is used up; at the pace so far the period ends on 31 May 2013 at about 7,750.00 GB.',
      'The allowance is used up, so the network speed of each VPS in the pool is limited until the next period starts on 1 June 2013.',
      FOLLOW_EN,
    ]);
  });

  it('a pool of one in Dutch, open-ended and suspended: the bill so far, and suspended until the allowance is raised', () => {
    // 5 200 GB used of 5 000 GB: 200 GB over × €0.50 = €100.00 so far
    const t = presentThresholdNotice(
      base({
        pool: { name: 'Rek 7', domains: ['a.example.net'] },
        periodEnd: null,
        usedBytes: 5200n * GB,
        percentUsed: '104.0',
        projection: {
          daysElapsed: 20,
          daysInPeriod: null,
          dailyAverageBytes: 260n * GB,
          runOut: { kind: 'reached' },
          projectedUsedBytes: null,
        },
        cost: { soFarMinor: 10000n, atEndMinor: 10000n, currency: 'EUR' },
        policy: { action: 'suspend' },
      }),
      'nl-NL',
    );
    expect(t.subject).to.equal('Datapool Rek 7 (1 VPS): uw dataverkeer is op');
    expect(t.paragraphs).to.deep.equal([
      "Uw VPS'en in datapool Rek 7 (a.example.net) hebben samen 5.200,00 GB verbruikt van de 5.000,00 GB dataverkeer die zij delen voor 1 mei 2013 – (104%), gemeten tot en met 20 mei 2013.",
      'De bundel is op.',
      `Dataverkeer boven de bundel wordt gefactureerd aan €${NBSP}0,50 per GB op uw volgende factuur. Boven de bundel tot nu toe: €${NBSP}100,00.`,
      'De bundel is op, dus elke VPS in de pool wordt geschorst tot de bundel wordt verhoogd.',
      FOLLOW_NL,
    ]);
  });

  it('a pool of two in Dutch, ahead of the limit and throttled: the plural and "en" between the last two', () => {
    const t = presentThresholdNotice(
      base({
        pct: 90,
        pool: { name: 'Rek 7', domains: ['a.example.net', 'b.example.net'] },
        usedBytes: 4500n * GB,
        percentUsed: '90.0',
        // 4 500 GB in 20 days = 225 GB a day; (5 000 − 4 500) × 20 ÷ 4 500 = 2.2 → 3 days after 20 May; 225 × 31 = 6 975 GB
        projection: {
          daysElapsed: 20,
          daysInPeriod: 31,
          dailyAverageBytes: 225n * GB,
          runOut: { kind: 'on', date: '2013-05-23' },
          projectedUsedBytes: 6975n * GB,
        },
        policy: { action: 'throttle', throttleMbps: 10 },
      }),
      'nl-NL',
    );
    expect(t.subject).to.equal("Datapool Rek 7 (2 VPS'en): 90% van uw dataverkeer verbruikt");
    expect(t.paragraphs).to.deep.equal([
      "Uw VPS'en in datapool Rek 7 (a.example.net en b.example.net) hebben samen 4.500,00 GB verbruikt van de 5.000,00 GB dataverkeer die zij delen voor 1–31 mei 2013 (90%), gemeten tot en met 20 mei 2013.",
      'In het tempo tot nu toe (gemiddeld 225,00 GB per dag) is de bundel op 23 mei 2013 op, met dan ongeveer 6.975,00 GB verbruikt.',
      'Zodra de bundel op is, wordt de netwerksnelheid van elke VPS in de pool beperkt tot 10 Mbit/s tot de volgende periode begint op 1 juni 2013.',
      FOLLOW_NL,
    ]);
  });

  it('a block price, the cost at the end and so far; used up on the period\u2019s last day reads only "used up"', () => {
    // blocks of 1 000 GB at €10.00: 5 200 GB used → 1 started block over = €10.00 so far; at the end 3 blocks = €30.00
    const blocks = {
      ...plan,
      model: { kind: 'per_block' as const, blockUnits: 1000 },
      rate: parseDecimal('10.00', 'rate'),
    };
    const t = presentThresholdNotice(
      base({
        asOf: '2013-05-31',
        usedBytes: 5200n * GB,
        percentUsed: '104.0',
        plan: blocks,
        cost: { soFarMinor: 1000n, atEndMinor: 3000n, currency: 'EUR' },
      }),
      'en-GB',
    );
    expect(t.paragraphs.slice(1)).to.deep.equal([
      'The allowance is used up.',
      'Traffic over the allowance is billed at €10.00 per block of 1,000 GB on your next invoice. At this pace that comes to about €30.00 for this period. Over the allowance so far: €10.00.',
      FOLLOW_EN,
    ]);
  });

  it('a Mbit/s price with no traffic yet: no pace, nothing billed, the throttle ahead', () => {
    const mbps = {
      ...plan,
      model: { kind: 'avg_mbps' as const, commitMbps: parseDecimal('100', 'commit') },
      rate: parseDecimal('4.00', 'rate'),
    };
    const t = presentThresholdNotice(
      base({
        pct: 80,
        usedBytes: 0n,
        percentUsed: '0.0',
        projection: {
          daysElapsed: 20,
          daysInPeriod: 31,
          dailyAverageBytes: 0n,
          runOut: { kind: 'no_traffic' },
          projectedUsedBytes: 0n,
        },
        plan: mbps,
        cost: { soFarMinor: 0n, atEndMinor: 0n, currency: 'EUR' },
        policy: { action: 'throttle', throttleMbps: 10 },
      }),
      'en-GB',
    );
    expect(t.subject).to.equal('vps1.example.net: 80% of your traffic allowance used');
    expect(t.paragraphs).to.deep.equal([
      'Your VPS vps1.example.net has used 0.00 GB of the 5,000.00 GB of traffic included in your plan for 1 – 31 May 2013 (0%), measured up to and including 20 May 2013.',
      'Traffic over the allowance is billed at €4.00 per Mbit/s on your next invoice. At this pace nothing over the allowance is billed for this period.',
      'When the allowance is used up, the network speed of your VPS is limited to 10 Mbit/s until the next period starts on 1 June 2013.',
      FOLLOW_EN,
    ]);
  });

  it('an open-ended period: the run-out day without a total, a lasting pace says nothing, suspended until raised', () => {
    const open = { periodEnd: null, usedBytes: 4n * TB, percentUsed: '80.0', pct: 80 };
    const on = presentThresholdNotice(
      base({
        ...open,
        projection: {
          daysElapsed: 20,
          daysInPeriod: null,
          dailyAverageBytes: 200n * GB,
          runOut: { kind: 'on', date: '2013-05-25' },
          projectedUsedBytes: null,
        },
        policy: { action: 'suspend' },
      }),
      'en-GB',
    );
    expect(on.paragraphs).to.deep.equal([
      'Your VPS vps1.example.net has used 4,000.00 GB of the 5,000.00 GB of traffic included in your plan for 1 May 2013 – (80%), measured up to and including 20 May 2013.',
      'At the pace so far (200.00 GB a day on average), the allowance runs out on 25 May 2013.',
      'When the allowance is used up, your VPS is suspended until the allowance is raised.',
      FOLLOW_EN,
    ]);
    const lasts = presentThresholdNotice(
      base({
        ...open,
        projection: {
          daysElapsed: 20,
          daysInPeriod: null,
          dailyAverageBytes: 200n * GB,
          runOut: { kind: 'lasts' },
          projectedUsedBytes: null,
        },
      }),
      'en-GB',
    );
    expect(lasts.paragraphs).to.have.length(2);
    expect(lasts.paragraphs[1]).to.equal(FOLLOW_EN);
  });

  it('the admin summary: used up, lasting, no cost, and each policy', () => {
    const admin = (over: Partial<ThresholdNoticeFacts>) =>
      presentThresholdNoticeForAdmin({ ...base(over), clientName: 'Jan Peeters', serviceId: 12 }).summary;
    expect(admin({ policy: { action: 'throttle', throttleMbps: 10 } })).to.equal(
      'Service #12 (vps1.example.net) of Jan Peeters has used 5,000.00 GB of 5,000.00 GB (100%) up to 20 May 2013; the allowance is used up. Policy at the limit: throttle to 10 Mbit/s.',
    );
    const lasting = {
      usedBytes: 2n * TB,
      percentUsed: '40.0',
      projection: {
        daysElapsed: 20,
        daysInPeriod: 31,
        dailyAverageBytes: 100n * GB,
        runOut: { kind: 'lasts' as const },
        projectedUsedBytes: 3100n * GB,
      },
    };
    expect(admin({ ...lasting, policy: { action: 'throttle' } })).to.equal(
      'Service #12 (vps1.example.net) of Jan Peeters has used 2,000.00 GB of 5,000.00 GB (40%) up to 20 May 2013. Policy at the limit: throttle.',
    );
    expect(
      admin({
        ...lasting,
        policy: { action: 'suspend' },
        cost: { soFarMinor: 0n, atEndMinor: 0n, currency: 'EUR' },
      }),
    ).to.equal(
      'Service #12 (vps1.example.net) of Jan Peeters has used 2,000.00 GB of 5,000.00 GB (40%) up to 20 May 2013; projected overusage for the period €0.00. Policy at the limit: suspend.',
    );
  });
});

// Survivors of the mutation run (issue 13): the cost paragraph says "so far" only when there is an
// amount so far that differs from the one at the end, and a suspending plan speaks of cost only then.
describe('threshold notice text: the cost so far', () => {
  it('ahead of the limit nothing is billed so far: the rate and the cost at the end only', () => {
    // 4 000 GB in 20 days = 200 GB a day; × 31 = 6 200 GB at the end: 1 200 GB over × €0.50 = €600.00
    const t = presentThresholdNotice(
      facts(4n * TB, 80, { cost: { soFarMinor: 0n, atEndMinor: 60_000n, currency: 'EUR' } }),
      'en-GB',
    );
    expect(t.paragraphs[2]).to.equal(
      'Traffic over the allowance is billed at €0.50 per GB on your next invoice. At this pace that comes to about €600.00 for this period.',
    );
  });

  it('on the last day the cost so far is the cost at the end, said once', () => {
    // 5 200 GB used by 31 May: 200 GB over × €0.50 = €100.00, now and at the end
    const last = facts(5200n * GB, 100, {
      asOf: '2013-05-31',
      projection: projectUsage({
        shape: may,
        asOf: '2013-05-31',
        usedBytes: 5200n * GB,
        allowanceBytes: 5n * TB,
      }),
      cost: { soFarMinor: 10_000n, atEndMinor: 10_000n, currency: 'EUR' },
    });
    expect(presentThresholdNotice(last, 'nl-NL').paragraphs[2]).to.equal(
      `Dataverkeer boven de bundel wordt gefactureerd aan €${NBSP}0,50 per GB op uw volgende factuur. In dit tempo komt dat voor deze periode op ongeveer €${NBSP}100,00.`,
    );
  });

  it('a plan that suspends names no cost while nothing over the allowance is billed so far', () => {
    // 80 %: 0 so far; the suspension comes before the €600.00 the pace would bill
    const t = presentThresholdNotice(
      facts(4n * TB, 80, {
        cost: { soFarMinor: 0n, atEndMinor: 60_000n, currency: 'EUR' },
        policy: { action: 'suspend' },
      }),
      'en-GB',
    );
    expect(t.paragraphs.slice(2)).to.deep.equal([
      'When the allowance is used up, your VPS is suspended until the next period starts on 1 June 2013.',
      'You can follow the traffic of every day in the client area. Reply to this email if a bigger plan would suit you better.',
    ]);
  });
});
