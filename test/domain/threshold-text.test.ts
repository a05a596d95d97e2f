import { expect } from 'chai';
import { parseDecimal } from '../../module/domain/money.js';
import { formatPercent, noticeUnit, presentThresholdNotice, presentThresholdNoticeForAdmin, type ThresholdNoticeFacts } from '../../module/domain/threshold-text.js';
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

function facts(usedBytes: bigint, pct: number, over: Partial<ThresholdNoticeFacts> = {}): ThresholdNoticeFacts {
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

  it('shows bytes in TB (TiB), or in GB (GiB) for an allowance under one TB (TiB)', () => {
    expect(noticeUnit({ unit: 'GB' }, 5n * TB)).to.equal('TB');
    expect(noticeUnit({ unit: 'TB' }, 1n * TB)).to.equal('TB');
    expect(noticeUnit({ unit: 'GB' }, 100n * GB)).to.equal('GB');
    expect(noticeUnit({ unit: 'GiB' }, 1024n ** 4n - 1n)).to.equal('GiB');
    expect(noticeUnit({ unit: 'TiB' }, 1024n ** 4n)).to.equal('TiB');
  });

  it('tells an English client the traffic so far, the run-out day and the projected cost', () => {
    const t = presentThresholdNotice(facts(4100n * GB, 80), 'en-GB');
    expect(t.subject).to.equal('vps1.example.net: 80% of your traffic allowance used');
    expect(t.greeting).to.equal('Dear Ann,');
    expect(t.paragraphs[0]).to.equal(
      'Your VPS vps1.example.net has used 4.100 TB of the 5.000 TB of traffic included in your plan for 1 – 31 May 2013 (82%), measured up to and including 20 May 2013.',
    );
    expect(t.paragraphs[1]).to.equal('At the pace so far (0.205 TB a day on average), the allowance runs out on 25 May 2013, with about 6.355 TB used by then.');
    expect(t.paragraphs[2]).to.equal('Traffic over the allowance is billed at €0.50 per GB on your next invoice. At this pace that comes to about €677.50 for this period.');
    expect(t.closing).to.equal('Kind regards,');
    expect(t.signature).to.equal('Hosting BV');
  });

  it('tells a Dutch client the same in Dutch, with Dutch numbers and dates', () => {
    const t = presentThresholdNotice(facts(4100n * GB, 80), 'nl-BE');
    expect(t.lang).to.equal('nl');
    expect(t.subject).to.equal('vps1.example.net: 80% van uw dataverkeer verbruikt');
    expect(t.greeting).to.equal('Beste Ann,');
    expect(t.paragraphs[0]).to.equal(
      'Uw VPS vps1.example.net heeft 4,100 TB verbruikt van de 5,000 TB dataverkeer in uw pakket voor 1–31 mei 2013 (82%), gemeten tot en met 20 mei 2013.',
    );
    expect(t.paragraphs[1]).to.equal('In het tempo tot nu toe (gemiddeld 0,205 TB per dag) is de bundel op 25 mei 2013 op, met dan ongeveer 6,355 TB verbruikt.');
    expect(t.paragraphs[2]).to.equal(`Dataverkeer boven de bundel wordt gefactureerd aan €${NBSP}0,50 per GB op uw volgende factuur. In dit tempo komt dat voor deze periode op ongeveer €${NBSP}677,50.`);
    expect(t.closing).to.equal('Met vriendelijke groeten,');
  });

  it('says the allowance lasts, and that nothing is billed, when the pace stays under it', () => {
    const t = presentThresholdNotice(facts(2000n * GB, 80, { pct: 80 }), 'en-GB');
    expect(t.paragraphs[1]).to.equal('At the pace so far (0.100 TB a day on average), the allowance lasts until the period ends on 31 May 2013, with about 3.100 TB used by then.');
    expect(t.paragraphs[2]).to.match(/nothing over the allowance is billed/);
  });

  it('names the allowance used up at 100 % and what the throttle or the suspension does until the next period', () => {
    const throttle = presentThresholdNotice(facts(5n * TB, 100, { policy: { action: 'throttle', throttleMbps: 10 } }), 'en-GB');
    expect(throttle.subject).to.equal('vps1.example.net: your traffic allowance is used up');
    expect(throttle.paragraphs[1]).to.equal('The allowance is used up; at the pace so far the period ends on 31 May 2013 at about 7.750 TB.');
    expect(throttle.paragraphs).to.include('The allowance is used up, so the network speed of your VPS is limited to 10 Mbit/s until the next period starts on 1 June 2013.');
    const suspend = presentThresholdNotice(facts(5n * TB, 100, { policy: { action: 'suspend' } }), 'nl-NL');
    expect(suspend.subject).to.equal('vps1.example.net: uw dataverkeer is op');
    expect(suspend.paragraphs).to.include('De bundel is op, dus uw VPS wordt geschorst tot de volgende periode begint op 1 juni 2013.');
    // a suspended VPS stops at the limit: no projected bill is promised
    expect(suspend.paragraphs.join(' ')).to.not.match(/ongeveer €/);
  });

  it('warns ahead of the limit what the policy will do', () => {
    const t = presentThresholdNotice(facts(4500n * GB, 90, { policy: { action: 'suspend' } }), 'en-GB');
    expect(t.paragraphs).to.include('When the allowance is used up, your VPS is suspended until the next period starts on 1 June 2013.');
  });

  it('gives the admin a one-line summary in English', () => {
    const a = presentThresholdNoticeForAdmin({ ...facts(4500n * GB, 90), clientName: 'Jan Peeters', serviceId: 12 });
    expect(a.subject).to.equal('Overusage: Jan Peeters (vps1.example.net) at 90% of the traffic allowance');
    expect(a.summary).to.equal(
      'Service #12 (vps1.example.net) of Jan Peeters has used 4.500 TB of 5.000 TB (90%) up to 20 May 2013; at this pace it runs out on 23 May 2013; projected overusage for the period €987.50. Policy at the limit: bill the overusage.',
    );
  });
});
