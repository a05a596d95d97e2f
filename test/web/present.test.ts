import { expect } from 'chai';
import { DateTime } from 'luxon';
import { dailySeries } from '../../module/domain/daily-series.js';
import { buildChart } from '../../module/web/chart.js';
import {
  countdown,
  lineState,
  placeMarks,
  presentLine,
  presentMeter,
  shortDay,
} from '../../module/web/present-usage.js';
import { auditSentence } from '../../module/web/present-admin.js';
import { wordsFor } from '../../module/web/words.js';
import type { LineRow } from '../../module/services/usage-reads.js';

const GB = 10n ** 9n;

describe('the daily chart', () => {
  const w = wordsFor('en');
  // 1–2 June measured, 3 June no data, 4–5 June one interval spread (estimates), 6–30 June still to come
  const days = dailySeries(
    [
      { fromDate: '2013-06-01', toDate: '2013-06-01', bytes: 100n * GB },
      { fromDate: '2013-06-02', toDate: '2013-06-02', bytes: 0n },
      { fromDate: '2013-06-04', toDate: '2013-06-05', bytes: 301n * GB },
    ],
    '2013-06-01',
    '2013-06-05',
  );
  const chart = buildChart({
    id: 'c1',
    days,
    from: '2013-06-01',
    to: '2013-06-30',
    paceBytes: (5000n * GB) / 30n,
    unit: 'GB',
    locale: 'en-GB',
    words: w,
    periodLabel: '1–30 June 2013',
    formatDate: shortDay('en-GB'),
  });

  it('draws a day without data as missing over the whole height, never as a zero bar, and a measured zero as zero', () => {
    expect(chart.bars).to.have.length(30);
    const third = chart.bars[2]!;
    expect(third.kind).to.equal('missing');
    expect(third.h).to.equal(chart.plot.h);
    expect(chart.rows[2]).to.deep.include({ iso: '2013-06-03', value: '–', kind: 'missing' });
    expect(chart.rows[2]!.note).to.match(/not zero/);
    expect(chart.bars[1]).to.deep.include({ kind: 'measured', h: 0 });
    expect(chart.rows[1]).to.deep.include({ value: '0.00\u00a0GB', kind: 'measured' });
  });

  it('marks the days of a longer interval as estimates, and draws the days still to come empty and leaves them out of the table', () => {
    expect(chart.bars.slice(3, 5).map((b) => b.kind)).to.deep.equal(['estimated', 'estimated']);
    // 301 GB over two days: the first gets the extra byte-exact share
    expect(chart.rows.slice(3, 5).map((r) => r.value)).to.deep.equal(['150.50\u00a0GB', '150.50\u00a0GB']);
    expect(chart.bars.slice(5).every((b) => b.kind === 'future')).to.equal(true);
    expect(chart.rows).to.have.length(5);
    expect(chart.counts).to.deep.equal({ measured: 2, estimated: 2, missing: 1 });
    expect(chart.summary).to.equal(
      'Traffic per day, 1–30 June 2013: 5 days shown, 1 without data, 2 estimated. The table below gives every figure.',
    );
  });

  it('scales bars to a round top above the highest day and the even pace, with the pace line labelled', () => {
    const top = chart.yTicks[chart.yTicks.length - 1]!;
    expect(top.label).to.equal('200 GB');
    const first = chart.bars[0]!;
    expect(first.h).to.be.closeTo(chart.plot.h / 2, 0.2);
    expect(chart.pace!.label).to.equal('even pace: 166.67\u00a0GB a day');
    expect(chart.xLabels.map((x) => x.label)).to.deep.equal(['1', '5', '10', '15', '20', '25', '30']);
  });

  it('puts the axis ticks on round figures: the highest of the day (150.5 GB) and 1.1 × the pace (183.3 GB) in about four steps of 50', () => {
    // 183.3 / 4 = 45.8 → a step of 50 (1, 2 or 5 × 10^k at or above it), 4 steps to 200
    expect(chart.yTicks.map((t) => t.label)).to.deep.equal(['0 GB', '50 GB', '100 GB', '150 GB', '200 GB']);
    // 1 June, 100 GB of 200: half the plot's height; bars sit in % of the plot's width: 30 days, 3.33 % a day
    expect(chart.bars[0]!.x).to.be.closeTo((100 / 30) * 0.14, 0.01);
    expect(chart.bars[29]!.x + chart.bars[29]!.w).to.be.closeTo(100 - (100 / 30) * 0.14, 0.01);
  });

  it('steps a small axis in tenths: 27 GB with no pace → 0/10/20/30 GB; 0.37 GB → 0.0/0.1/…/0.4 GB', () => {
    const small = (gb: bigint, tenths = false) =>
      buildChart({
        id: 'c2',
        days: dailySeries(
          [{ fromDate: '2013-06-01', toDate: '2013-06-01', bytes: tenths ? (gb * GB) / 100n : gb * GB }],
          '2013-06-01',
          '2013-06-01',
        ),
        from: '2013-06-01',
        to: '2013-06-30',
        paceBytes: null,
        unit: 'GB',
        locale: 'en-GB',
        words: w,
        periodLabel: 'June',
        formatDate: shortDay('en-GB'),
      }).yTicks.map((t) => t.label);
    // 27 / 4 = 6.75 → step 10, 3 steps
    expect(small(27n)).to.deep.equal(['0 GB', '10 GB', '20 GB', '30 GB']);
    // 0.37 / 4 = 0.0925 → step 0.1, 4 steps, one decimal
    expect(small(37n, true)).to.deep.equal(['0.0 GB', '0.1 GB', '0.2 GB', '0.3 GB', '0.4 GB']);
  });
});

describe('the widget presenters', () => {
  const now = DateTime.fromISO('2013-06-05T10:00:00Z', { zone: 'utc' });
  const line = (over: Partial<LineRow> = {}): LineRow => ({
    id: 7,
    refCode: 'OU-ABCDEF0123',
    serviceId: 3,
    clientId: 2,
    invoiceId: 11,
    status: 'placed',
    amountMinor: 50000n,
    currency: 'EUR',
    description: 'Bandwidth overusage 1 – 31 May 2013: …',
    locale: 'en-GB',
    invoiceDate: '2013-06-02',
    deadlineLastDay: '2013-06-16',
    deadlineClosesAt: '2013-06-16T21:59:59.999Z',
    periodId: 5,
    periodStart: '2013-05-01',
    periodEnd: '2013-05-31',
    chargeAmountMinor: 50000n,
    dispute: null,
    ...over,
  });
  const links = {
    lineCsv: (id: number) => `csv/${id}`,
    periodChart: (s: number, p: number) => `chart/${s}/${p}`,
  };

  it('counts down to the deadline in days, then hours, then minutes, in both languages', () => {
    const closes = DateTime.fromISO('2013-06-16T21:59:59.999Z', { zone: 'utc' });
    expect(countdown(closes, now, wordsFor('en'))).to.equal('11 days left');
    expect(countdown(closes, now, wordsFor('nl'))).to.equal('nog 11 dagen');
    expect(countdown(closes, closes.minus({ hours: 30 }), wordsFor('en'))).to.equal('1 day and 6 hours left');
    expect(countdown(closes, closes.minus({ hours: 5, minutes: 10 }), wordsFor('nl'))).to.equal('nog 5 uur');
    expect(countdown(closes, closes.minus({ minutes: 1 }), wordsFor('en'))).to.equal('1 minute left');
    expect(countdown(closes, closes.plus({ seconds: 1 }), wordsFor('en'))).to.equal(null);
  });

  it('offers the dispute form while the window is open, and after it says why not, naming the deadline', () => {
    const open = presentLine(line(), 'en-GB', now, wordsFor('en'), links);
    expect(open).to.deep.include({
      canDispute: true,
      refusal: null,
      countdown: '11 days left',
      amount: '€500.00',
      state: 'placed',
      stateLabel: 'on the invoice',
      chart: 'chart/3/5',
    });
    const late = presentLine(
      line(),
      'nl-NL',
      DateTime.fromISO('2013-06-17T08:00:00Z', { zone: 'utc' }),
      wordsFor('nl'),
      links,
    );
    expect(late.canDispute).to.equal(false);
    expect(late.countdown).to.equal(null);
    expect(late.refusal).to.equal(
      'De termijn om bezwaar te maken tegen deze regel liep tot en met 16 juni 2013; een bezwaar daarna kunnen we niet aanvaarden.',
    );
  });

  it('offers no dispute of a line whose invoice was cancelled or refunded, in its window or after, and says why', () => {
    const invoiceId = line().invoiceId;
    const cancelled = presentLine(
      line(),
      'en-GB',
      now,
      wordsFor('en'),
      links,
      new Map([[invoiceId, 'Cancelled']]),
    );
    expect([cancelled.canDispute, cancelled.refusal]).to.deep.equal([
      false,
      `Invoice #${invoiceId}, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.`,
    ]);
    const refunded = presentLine(
      line(),
      'nl-NL',
      now,
      wordsFor('nl'),
      links,
      new Map([[invoiceId, 'Refunded']]),
    );
    expect([refunded.canDispute, refunded.refusal]).to.deep.equal([
      false,
      `Factuur #${invoiceId}, waarop deze regel staat, is aan u terugbetaald: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.`,
    ]);
    // another invoice cancelled changes nothing for this line
    expect(
      presentLine(line(), 'en-GB', now, wordsFor('en'), links, new Map([[invoiceId + 1, 'Cancelled']]))
        .canDispute,
    ).to.equal(true);
  });

  it('shows a disputed line as held, and a resolved one with its outcome', () => {
    const d = {
      id: 9,
      state: 'open' as const,
      resolvingTo: null,
      holdState: 'held' as const,
      reason: 'no idea where this came from',
      openedByType: 'client',
      openedAt: '2013-06-05T09:00:00.000Z',
      amountBeforeMinor: 50000n,
      amountAfterMinor: null,
      resolvedAt: null,
      newDueDate: null,
      heldInvoiceId: 12,
      version: 1,
    };
    const held = presentLine(line({ status: 'held', dispute: d }), 'en-GB', now, wordsFor('en'), links);
    expect(held).to.deep.include({
      state: 'held',
      stateLabel: 'on hold, under dispute',
      canDispute: false,
      refusal: null,
    });
    expect(held.dispute).to.deep.include({ opened: 'Disputed on 5 June 2013', canWithdraw: true });
    const adjusted = presentLine(
      line({
        amountMinor: 35000n,
        dispute: {
          ...d,
          state: 'adjusted',
          amountAfterMinor: 35000n,
          resolvedAt: '2013-07-01T09:00:00.000Z',
          newDueDate: '2013-07-15',
        },
      }),
      'en-GB',
      now,
      wordsFor('en'),
      links,
    );
    expect(adjusted.stateLabel).to.equal('adjusted after dispute');
    expect(adjusted.originalAmount).to.equal('€500.00');
    expect(adjusted.dispute!.outcome).to.equal(
      'Adjusted on 1 July 2013 from €500.00 to €350.00; due on 15 July 2013.',
    );
    expect(lineState(line({ dispute: { ...d, resolvingTo: 'waived' } }))).to.equal('resolving');
  });

  it('puts the threshold marks on the meter and colours it by the lowest one reached', () => {
    const m = presentMeter('92.4', 120, [80, 90, 100], [80, 90], 'nl-NL', wordsFor('nl'))!;
    expect(m.pct).to.equal('92,4\u00a0%');
    expect(m.state).to.equal('near');
    expect(m.marks.map((x) => [x.pct, x.at, x.reached])).to.deep.equal([
      [80, 66.7, true],
      [90, 75, true],
      [100, 83.3, false],
    ]);
    expect(m.projected).to.equal(100);
    // the dashed mark is labelled: 120 % projected (the mark itself sits at the meter's end, 120 of 120)
    expect(m.projectedLabel).to.equal('in dit tempo op het einde van de periode: 120,0\u00a0%');
    expect(m.label).to.equal('92,4\u00a0% van de bundel gebruikt');
    expect(
      presentMeter('101.0', null, [80, 90, 100], [80, 90, 100], 'en-GB', wordsFor('en'))!.state,
    ).to.equal('over');
    expect(presentMeter(null, null, [80], [], 'en-GB', wordsFor('en'))).to.equal(null);
  });

  it('lays the marks out so they do not collide on a phone: close ones on a second line, the ends aligned inwards', () => {
    // 80/90/100 on a meter to 120 %: at 66.7, 75, 83.3 — 90 is 8.3 points from 80 (< 15): second line;
    // 100 is 16.6 from 80: back on the first; none at the ends (≥ 95 or ≤ 5), all centred
    const m = presentMeter('92.4', 120, [80, 90, 100], [80, 90], 'nl-NL', wordsFor('nl'))!;
    expect(m.marks.map((x) => [x.pct, x.row, x.align])).to.deep.equal([
      [80, 0, 'middle'],
      [90, 1, 'middle'],
      [100, 0, 'middle'],
    ]);
    // on a meter to 100 %: 100 sits at the right end and is aligned to end inside the meter
    const full = presentMeter('50.0', null, [50, 80, 90, 100], [50], 'en-GB', wordsFor('en'))!;
    expect(full.marks.map((x) => [x.pct, x.at, x.row, x.align])).to.deep.equal([
      [50, 50, 0, 'middle'],
      [80, 80, 0, 'middle'],
      [90, 90, 1, 'middle'],
      [100, 100, 0, 'end'],
    ]);
    // three within 15 points of each other on both lines: the third goes back to the first line
    expect(
      placeMarks([1, 5, 9].map((at) => ({ pct: at, at, reached: false, label: `${at} %` }))).map((x) => [
        x.row,
        x.align,
      ]),
    ).to.deep.equal([
      [0, 'start'],
      [1, 'start'],
      [0, 'middle'],
    ]);
  });
});

describe('the audit log in sentences', () => {
  const row = (action: string, entityType: string, entityId: string | null, details: unknown) => ({
    action,
    entityType,
    entityId,
    details: details === null ? null : JSON.stringify(details),
  });

  it('says what happened with the amounts in money and the dates in words', () => {
    // 12068 minor units of EUR = €120.68
    expect(
      auditSentence(
        row('line.placed', 'line', '7', {
          invoiceId: 11,
          chargeId: 5,
          amountMinor: '12068',
          currency: 'EUR',
          deadline: '2013-05-12',
          via: 'hook',
        }),
      ),
    ).to.equal('Overusage line 7 (€120.68) placed on invoice #11, dispute by 12 May 2013.');
    expect(
      auditSentence(
        row('dispute.opened', 'dispute', '3', {
          lineId: 7,
          reason: 'not mine',
          override: null,
          amountMinor: '50000',
        }),
      ),
    ).to.equal('Dispute 3 opened on line 7 (€500.00): “not mine”.');
    expect(
      auditSentence(
        row('master.added', 'master', '1', {
          name: 'ams-1',
          version: 1,
          baseUrl: 'https://m.example.net:5656',
          apiKey: '[sealed]',
        }),
      ),
    ).to.equal('SolusVM master “ams-1” added (SolusVM 1, https://m.example.net:5656).');
    expect(
      auditSentence(
        row('anomaly.decided', 'anomaly', '4', { serviceId: 2, decision: 'reset', reason: 'by hand' }),
      ),
    ).to.equal('Counter drop 4 on service 2 decided as a reset: “by hand”.');
  });

  it('reads an action it has no sentence for, and details that are not JSON, without failing', () => {
    expect(
      auditSentence(row('cap.lifted', 'service', '9', { amountMinor: '2500', currency: 'USD' })),
    ).to.equal('Cap lifted (service 9) (US$25.00).');
    expect(
      auditSentence({ action: 'token.issued', entityType: 'admin', entityId: null, details: 'not json' }),
    ).to.equal('Token issued (admin).');
  });
});
