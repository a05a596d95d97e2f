import { expect } from 'chai';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { parseDecimal } from '../../module/domain/money.js';
import {
  membershipHours,
  periodHours,
  poolMonth,
  poolMonthId,
  poolShares,
  ratePool,
  type PoolMemberInput,
} from '../../module/domain/pools.js';
import type { RatingPlan } from '../../module/domain/usage-rating.js';

const GB = 10n ** 9n;
const TB = 10n ** 12n;
const ZONE = 'Europe/Brussels';
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const plan = (over: Partial<RatingPlan> = {}): RatingPlan => ({
  unit: 'GB',
  model: { kind: 'per_unit' },
  allowanceBytes: 0n,
  toleranceBytes: 0n,
  rate: parseDecimal('0.50', 'rate'),
  currency: 'EUR',
  minimumMinor: 0n,
  capMinor: null,
  prorate: true,
  ...over,
});
const member = (
  serviceId: number,
  allowanceBytes: bigint,
  usedBytes: bigint,
  spans: Array<[string, string | null]>,
  currency = 'EUR',
): PoolMemberInput => ({
  serviceId,
  currency,
  allowanceBytes,
  usedBytes,
  spans: spans.map(([from, to]) => ({ from: utc(from), to: to === null ? null : utc(to) })),
});

describe('transfer pools: the period in hours', () => {
  it('counts 744 hours in a plain month, 743 when the clocks go forward and 745 when they go back (Brussels)', () => {
    expect(periodHours('2026-01-01', '2026-01-31', ZONE)).to.equal(744); // 31 × 24
    expect(periodHours('2026-03-01', '2026-03-31', ZONE)).to.equal(743); // 29 March: 02:00 → 03:00
    expect(periodHours('2026-10-01', '2026-10-31', ZONE)).to.equal(745); // 25 October: 03:00 → 02:00
    expect(periodHours('2026-02-01', '2026-02-28', ZONE)).to.equal(672); // 28 × 24, DigitalOcean's cap
    expect(poolMonth('2026-10-17')).to.deep.equal({ start: '2026-10-01', end: '2026-10-31' });
    expect(poolMonth('2028-02-29')).to.deep.equal({ start: '2028-02-01', end: '2028-02-29' });
  });

  it('counts a started hour whole and overlapping spans once', () => {
    const from = utc('2026-01-01T00:00:00Z');
    const to = utc('2026-02-01T00:00:00Z');
    // 10:00 → 12:01 is 2 h 1 min: 3 started hours
    expect(
      membershipHours([{ from: utc('2026-01-05T10:00:00Z'), to: utc('2026-01-05T12:01:00Z') }], from, to),
    ).to.equal(3);
    // 10:00–14:00 and 12:00–16:00 overlap: 10:00–16:00, 6 hours, not 8
    expect(
      membershipHours(
        [
          { from: utc('2026-01-05T10:00:00Z'), to: utc('2026-01-05T14:00:00Z') },
          { from: utc('2026-01-05T12:00:00Z'), to: utc('2026-01-05T16:00:00Z') },
        ],
        from,
        to,
      ),
    ).to.equal(6);
    // a span from before the period counts from the period's start: 31 Dec → 2 Jan 00:00 = 24 h of January
    expect(
      membershipHours([{ from: utc('2025-12-31T00:00:00Z'), to: utc('2026-01-02T00:00:00Z') }], from, to),
    ).to.equal(24);
  });
});

describe('transfer pools: rating', () => {
  /*
   * October 2026 in Brussels: 745 hours (1 Oct 00:00 CEST = 30 Sep 22:00Z to 1 Nov 00:00 CET =
   * 31 Oct 23:00Z). €0.50 per GB.
   *  - 11: 1 TB plan, the whole month: 745 h, share 1 000 000 000 000 B; used 2 500 GB.
   *  - 12: 2 TB plan, joined 16 Oct 00:00 CEST (15 Oct 22:00Z): to 31 Oct 23:00Z = 16 days + the
   *    hour the clocks gave back = 385 h; share ⌈2 TB × 385 / 745⌉ = ⌈1 033 557 046 979.87⌉ =
   *    1 033 557 046 980 B; used 500 GB (under its share).
   *  - 13: 1 TB plan, cancelled 10 Oct 12:30 CEST (10:30Z): 30 Sep 22:00Z → 10 Oct 10:30Z =
   *    9 days 12 h 30 min, 229 started hours; share ⌈1 TB × 229 / 745⌉ = ⌈307 382 550 335.57⌉ =
   *    307 382 550 336 B; used 400 GB.
   * Pool: allowance 1 000 000 000 000 + 1 033 557 046 980 + 307 382 550 336 = 2 340 939 597 316 B,
   * used 3 400 GB, over 3 400 000 000 000 − 2 340 939 597 316 = 1 059 060 402 684 B
   * = 1 059.060402684 GB × €0.50 = €529.530201342 → €529.53.
   * On their own: 11 over by 1 500 000 000 000, 12 by 0, 13 by 400 GB − 307 382 550 336 =
   * 92 617 449 664 (together 1 592 617 449 664). Split in proportion:
   *  bytes: 11 → 1 059 060 402 684 × 1 500 000 000 000 / 1 592 617 449 664 = 997 471 554 993.42,
   *         13 → 61 588 847 690.58; floors sum to one byte short, the larger remainder (13) gets it:
   *         997 471 554 993 and 61 588 847 691.
   *  cents: 11 → 52 953 × 1.5e12 / 1 592 617 449 664 = 49 873.56, 13 → 3 079.44; one cent short,
   *         the larger remainder (11) gets it: 49 874 and 3 079.
   */
  const october = () =>
    ratePool({
      start: '2026-10-01',
      end: '2026-10-31',
      zone: ZONE,
      plan: plan(),
      members: [
        member(11, TB, 2500n * GB, [['2026-09-01T00:00:00Z', null]]),
        member(12, 2n * TB, 500n * GB, [['2026-10-15T22:00:00Z', null]]),
        member(13, TB, 400n * GB, [['2026-08-01T00:00:00Z', '2026-10-10T10:30:00Z']]),
      ],
    });

  it('prorates by hours across the October DST change, with services joining and leaving mid-period', () => {
    const r = october();
    expect(r.periodHours).to.equal(745);
    expect(r.members.map((m) => [m.serviceId, m.hours, m.shareBytes, m.ownOverBytes])).to.deep.equal([
      [11, 745, 1_000_000_000_000n, 1_500_000_000_000n],
      [12, 385, 1_033_557_046_980n, 0n],
      [13, 229, 307_382_550_336n, 92_617_449_664n],
    ]);
    expect(r.pooledAllowanceBytes).to.equal(2_340_939_597_316n);
    expect(r.pooledUsedBytes).to.equal(3_400_000_000_000n);
    expect(r.rated.overBytes).to.equal(1_059_060_402_684n);
    expect(r.rated.amountMinor).to.equal(52953n);
    expect(r.rated.outcome).to.equal('billed');
  });

  it('splits the pool back onto the members in proportion to what each used over its share', () => {
    const r = october();
    expect(r.members.map((m) => [m.serviceId, m.billedOverBytes, m.amountMinor])).to.deep.equal([
      [11, 997_471_554_993n, 49874n],
      [12, 0n, 0n],
      [13, 61_588_847_691n, 3079n],
    ]);
  });

  it('puts the line on the renewal of the member with the most hours still in the pool at the end, else the last to leave', () => {
    // 11 (745 h) and 12 (385 h) are members at the end; 13 left on the 10th
    expect(october().anchorServiceId).to.equal(11);
    const allLeft = ratePool({
      start: '2026-10-01',
      end: '2026-10-31',
      zone: ZONE,
      plan: plan(),
      members: [
        member(21, TB, 0n, [['2026-09-01T00:00:00Z', '2026-10-20T00:00:00Z']]),
        member(22, TB, 0n, [['2026-10-05T00:00:00Z', '2026-10-21T00:00:00Z']]),
      ],
    });
    // 21 has more hours, but 22 left last
    expect(allLeft.anchorServiceId).to.equal(22);
  });

  it('prorates across the March DST change: 743 hours, and a member from the 16th gets 383 of them', () => {
    /*
     * March 2026: 1 Mar 00:00 CET (28 Feb 23:00Z) to 1 Apr 00:00 CEST (31 Mar 22:00Z) = 743 h.
     * 31: 743 GB plan, whole month: share 743 GB; used 700 GB.
     * 32: 743 GB plan from 16 Mar 00:00 CET (15 Mar 23:00Z): 16 days − the lost hour = 383 h;
     *     share 743 GB × 383 / 743 = 383 GB exactly; used 500 GB.
     * Pool: 1 126 GB given, 1 200 GB used, over 74 GB × €0.50 = €37.00, all on 32 (the only one over
     * its share: 117 GB).
     */
    const r = ratePool({
      start: '2026-03-01',
      end: '2026-03-31',
      zone: ZONE,
      plan: plan(),
      members: [
        member(31, 743n * GB, 700n * GB, [['2026-01-01T00:00:00Z', null]]),
        member(32, 743n * GB, 500n * GB, [['2026-03-15T23:00:00Z', null]]),
      ],
    });
    expect(r.periodHours).to.equal(743);
    expect(
      r.members.map((m) => [m.hours, m.shareBytes, m.ownOverBytes, m.billedOverBytes, m.amountMinor]),
    ).to.deep.equal([
      [743, 743n * GB, 0n, 0n, 0n],
      [383, 383n * GB, 117n * GB, 74n * GB, 3700n],
    ]);
    expect(r.rated.overBytes).to.equal(74n * GB);
    expect(r.rated.amountMinor).to.equal(3700n);
    // the pool's charge is for the 743 hours: 743 × 3 600 = 2 674 800 seconds
    expect(r.rated.periodSeconds).to.equal(2_674_800n);
  });

  it('never gives a member more than its allowance, however its spans add up', () => {
    // January 2026 in Brussels: 744 hours. A member that joined and left twice in every hour
    // (:00-:10 and :30-:40) counts each span's started hour whole; whatever that sums to, its share
    // is its 744 GB allowance and no more
    const spans: Array<[string, string]> = [];
    for (let h = 0; h < 744; h++) {
      const at = (min: number) => utc('2025-12-31T23:00:00Z').plus({ hours: h, minutes: min }).toISO()!;
      spans.push([at(0), at(10)], [at(30), at(40)]);
    }
    const r = ratePool({
      start: '2026-01-01',
      end: '2026-01-31',
      zone: ZONE,
      plan: plan(),
      members: [member(41, 744n * GB, 0n, spans)],
    });
    expect(r.periodHours).to.equal(744);
    expect(r.members[0]!.shareBytes).to.equal(744n * GB);
  });

  it('bills nothing when the pool is within its allowance, although one member is over its own share', () => {
    // 41: 1 TB, used 1.5 TB; 42: 1 TB, used 0.2 TB: the pool used 1.7 of 2 TB
    const r = ratePool({
      start: '2026-01-01',
      end: '2026-01-31',
      zone: ZONE,
      plan: plan(),
      members: [
        member(41, TB, 1500n * GB, [['2025-01-01T00:00:00Z', null]]),
        member(42, TB, 200n * GB, [['2025-01-01T00:00:00Z', null]]),
      ],
    });
    expect([r.rated.overBytes, r.rated.amountMinor, r.rated.outcome]).to.deep.equal([
      0n,
      0n,
      'within_allowance',
    ]);
    expect(r.members.map((m) => m.amountMinor)).to.deep.equal([0n, 0n]);
  });

  it('refuses two currencies in one pool, naming them', () => {
    const call = () =>
      ratePool({
        start: '2026-01-01',
        end: '2026-01-31',
        zone: ZONE,
        plan: plan(),
        members: [
          member(51, TB, 0n, [['2025-01-01T00:00:00Z', null]], 'EUR'),
          member(52, TB, 0n, [['2025-01-01T00:00:00Z', null]], 'USD'),
        ],
      });
    expect(call).to.throw('a pool holds services of one currency; this one has EUR and USD');
    try {
      call();
    } catch (e) {
      expect((e as { code: string }).code).to.equal('INVALID_INPUT');
    }
  });

  it('refuses a pool priced by Mbit/s, and an empty pool', () => {
    const m = [member(61, TB, 0n, [['2025-01-01T00:00:00Z', null]])];
    expect(() =>
      ratePool({
        start: '2026-01-01',
        end: '2026-01-31',
        zone: ZONE,
        plan: plan({ model: { kind: 'avg_mbps', commitMbps: parseDecimal('10', 'c') } }),
        members: m,
      }),
    ).to.throw('a pool is rated per unit or per block of bytes, not by avg_mbps');
    expect(() =>
      ratePool({ start: '2026-01-01', end: '2026-01-31', zone: ZONE, plan: plan(), members: [] }),
    ).to.throw('a pool needs at least one member in the period');
  });
});

describe('transfer pools: hours, the anchor and refusals, case by case', () => {
  const jan = { start: '2026-01-01', end: '2026-01-31', zone: ZONE, plan: plan() };
  const from = utc('2026-01-01T00:00:00Z');
  const to = utc('2026-02-01T00:00:00Z');
  const span = (a: string, b: string) => ({ from: utc(a), to: utc(b) });

  it('merges spans whatever order they are recorded in, and keeps apart spans that do not meet', () => {
    // 12:00-16:00 recorded before 10:00-14:00: still 10:00-16:00, 6 hours
    expect(
      membershipHours(
        [
          span('2026-01-05T12:00:00Z', '2026-01-05T16:00:00Z'),
          span('2026-01-05T10:00:00Z', '2026-01-05T14:00:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(6);
    // 10:00-11:00 and 13:00-14:00: 2 hours, not the 4 from 10:00 to 14:00
    expect(
      membershipHours(
        [
          span('2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z'),
          span('2026-01-05T13:00:00Z', '2026-01-05T14:00:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(2);
    // 10:00-10:30 and 10:30-11:00 meet: one hour, not two started hours
    expect(
      membershipHours(
        [
          span('2026-01-05T10:00:00Z', '2026-01-05T10:30:00Z'),
          span('2026-01-05T10:30:00Z', '2026-01-05T11:00:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(1);
  });

  it('counts nothing for a span inside hours already counted, nor for a span of no length', () => {
    // a service recorded twice, 10:00-16:00 and 11:00-13:00 on 5 January: 6 hours, the inner span
    // adding none (not 6 − 3 = 3, as 13:00 is before the 16:00 counted to)
    expect(
      membershipHours(
        [
          span('2026-01-05T10:00:00Z', '2026-01-05T16:00:00Z'),
          span('2026-01-05T11:00:00Z', '2026-01-05T13:00:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(6);
    // joined and left at the same instant, 10:30: never a member, 0 hours (not the 10:00 hour)
    expect(membershipHours([span('2026-01-05T10:30:00Z', '2026-01-05T10:30:00Z')], from, to)).to.equal(0);
  });

  it('counts an hour two short spans fall in once, and never more hours than the period has', () => {
    // 10:05-10:15 and 10:40-10:50 on 5 January: both in the 10:00 hour: 1 hour, not 2
    expect(
      membershipHours(
        [
          span('2026-01-05T10:05:00Z', '2026-01-05T10:15:00Z'),
          span('2026-01-05T10:40:00Z', '2026-01-05T10:50:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(1);
    // 10:30-11:30 was a member in the 10:00 hour and in the 11:00 hour: 2 started hours
    expect(membershipHours([span('2026-01-05T10:30:00Z', '2026-01-05T11:30:00Z')], from, to)).to.equal(2);
    // 10:50-11:10 and 11:50-12:10: hours 10, 11 and 12 (11 touched by both): 3, not 4
    expect(
      membershipHours(
        [
          span('2026-01-05T10:50:00Z', '2026-01-05T11:10:00Z'),
          span('2026-01-05T11:50:00Z', '2026-01-05T12:10:00Z'),
        ],
        from,
        to,
      ),
    ).to.equal(3);
    // a member moved on and off its pooled plan every ten minutes, 5 minutes each time, for the
    // whole of January: 744 x 6 = 4 464 spans, in every one of January's 744 hours: 744, not 4 464
    const flapping = Array.from({ length: 744 * 6 }, (_, i) => {
      const at = from.plus({ minutes: 10 * i });
      return { from: at, to: at.plus({ minutes: 5 }) };
    });
    expect(membershipHours(flapping, from, to)).to.equal(744);
  });

  it('anchors on the member with the most hours at the end, even when another at the end leaves later', () => {
    // 71: the whole of January; 72: from the 15th (17 days, 408 h) and leaving on 5 February
    const r = ratePool({
      ...jan,
      members: [
        member(71, TB, 0n, [['2025-06-01T00:00:00Z', null]]),
        member(72, TB, 0n, [['2026-01-14T23:00:00Z', '2026-02-05T00:00:00Z']]),
      ],
    });
    expect(r.members.map((m) => [m.serviceId, m.hours, m.memberAtEnd])).to.deep.equal([
      [71, 744, true],
      [72, 408, true],
    ]);
    expect(r.anchorServiceId).to.equal(71);
    // the one with more hours wins whatever its id; on equal hours the lower id
    const more = ratePool({
      ...jan,
      members: [
        member(73, TB, 0n, [['2026-01-14T23:00:00Z', null]]),
        member(74, TB, 0n, [['2025-06-01T00:00:00Z', null]]),
      ],
    });
    expect(more.anchorServiceId).to.equal(74);
    const tie = ratePool({
      ...jan,
      members: [
        member(82, TB, 0n, [['2025-06-01T00:00:00Z', null]]),
        member(81, TB, 0n, [['2025-06-01T00:00:00Z', null]]),
      ],
    });
    expect(tie.anchorServiceId).to.equal(81);
  });

  it('with nobody left at the end, anchors on the last to leave, then on hours; a member that came back counts its last leaving', () => {
    // both left on 20 January at 00:00; 92 had more hours (from 1 January, not the 10th)
    const same = ratePool({
      ...jan,
      members: [
        member(91, TB, 0n, [['2026-01-09T23:00:00Z', '2026-01-19T23:00:00Z']]),
        member(92, TB, 0n, [['2025-12-31T23:00:00Z', '2026-01-19T23:00:00Z']]),
      ],
    });
    expect(same.anchorServiceId).to.equal(92);
    // 93 left on the 10th, came back on the 20th and left on the 25th; 94 left on the 22nd
    const back = ratePool({
      ...jan,
      members: [
        member(93, TB, 0n, [
          ['2025-12-31T23:00:00Z', '2026-01-09T23:00:00Z'],
          ['2026-01-19T23:00:00Z', '2026-01-24T23:00:00Z'],
        ]),
        member(94, TB, 0n, [['2025-12-31T23:00:00Z', '2026-01-21T23:00:00Z']]),
      ],
    });
    expect(back.anchorServiceId).to.equal(93);
  });

  it('refuses a pool in another currency than its price, naming the services, in the order of the codes', () => {
    const usd = (id: number) => member(id, TB, 0n, [['2025-01-01T00:00:00Z', null]], 'USD');
    // all in USD, priced in EUR
    expect(() => ratePool({ ...jan, members: [usd(55), usd(56)] }))
      .to.throw('a pool holds services of one currency; this one has EUR and USD')
      .with.property('details')
      .that.deep.equals({ services: '55:USD, 56:USD' });
    // USD recorded first: the codes still read in order
    expect(() =>
      ratePool({ ...jan, members: [usd(57), member(58, TB, 0n, [['2025-01-01T00:00:00Z', null]], 'EUR')] }),
    ).to.throw('this one has EUR and USD');
  });

  it('counts as a member at the end one whose span reaches the end, or who came back; not one who joins when it ends', () => {
    // January in Brussels ends at 1 Feb 00:00 CET = 31 Jan 23:00 UTC
    const atEnd = (spans: Array<[string, string | null]>) =>
      poolShares({ ...jan, members: [member(1, TB, 0n, spans)] }).members[0]!.memberAtEnd;
    expect(atEnd([['2025-06-01T00:00:00Z', '2026-01-31T23:00:00Z']])).to.equal(true);
    expect(atEnd([['2025-06-01T00:00:00Z', '2026-01-31T22:00:00Z']])).to.equal(false);
    expect(
      atEnd([
        ['2025-06-01T00:00:00Z', '2026-01-10T00:00:00Z'],
        ['2026-01-20T00:00:00Z', null],
      ]),
    ).to.equal(true);
    expect(atEnd([['2026-01-31T23:00:00Z', null]])).to.equal(false);
  });

  it('rates a pool sold per started block', () => {
    // 2 members × 1 TB, 2.15 TB used: 150 GB over, in blocks of 100 GB at €40.00: 2 blocks, €80.00
    const r = ratePool({
      ...jan,
      plan: plan({ model: { kind: 'per_block', blockUnits: 100 }, rate: parseDecimal('40', 'rate') }),
      members: [
        member(101, TB, 1150n * GB, [['2025-01-01T00:00:00Z', null]]),
        member(102, TB, TB, [['2025-01-01T00:00:00Z', null]]),
      ],
    });
    expect([r.rated.overBytes, r.rated.amountMinor]).to.deep.equal([150n * GB, 8000n]);
  });

  it('refuses a member with negative use or allowance, and names the pool month as a negative id', () => {
    const members = (used: bigint, allowance: bigint) => [
      {
        serviceId: 61,
        allowanceBytes: allowance,
        usedBytes: used,
        spans: [span('2025-01-01T00:00:00Z', '2027-01-01T00:00:00Z')],
      },
    ];
    expect(() => poolShares({ ...jan, members: members(-1n, TB) })).to.throw(
      'service 61: used bytes and allowance must not be negative',
    );
    expect(() => poolShares({ ...jan, members: members(0n, -1n) })).to.throw(
      'service 61: used bytes and allowance must not be negative',
    );
    expect(poolShares({ ...jan, members: members(0n, 0n) }).pooledAllowanceBytes).to.equal(0n);
    expect(poolMonthId('2026-10-01')).to.equal(-202610);
  });
});

describe('transfer pools: properties', () => {
  const HOUR = 3_600_000;
  const jan = utc('2025-12-31T23:00:00Z').toMillis(); // 1 Jan 2026 00:00 CET
  const arbMember = fc.record({
    allowance: fc.bigInt({ min: 0n, max: 10n ** 14n }),
    used: fc.bigInt({ min: 0n, max: 10n ** 14n }),
    // start and length in hours, relative to 1 January (some before it, some past the end)
    fromHour: fc.integer({ min: -100, max: 800 }),
    lengthHours: fc.option(fc.integer({ min: 1, max: 900 }), { nil: null }),
  });

  it("never bills a pool more bytes than its services' measured overusage summed, and splits exactly", () => {
    fc.assert(
      fc.property(
        fc.array(arbMember, { minLength: 1, maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        (ms, tolerance) => {
          const members: PoolMemberInput[] = ms.map((m, i) => ({
            serviceId: i + 1,
            currency: 'EUR',
            allowanceBytes: m.allowance,
            usedBytes: m.used,
            spans: [
              {
                from: DateTime.fromMillis(jan + m.fromHour * HOUR, { zone: 'utc' }),
                to:
                  m.lengthHours === null
                    ? null
                    : DateTime.fromMillis(jan + (m.fromHour + m.lengthHours) * HOUR, { zone: 'utc' }),
              },
            ],
          }));
          const r = ratePool({
            start: '2026-01-01',
            end: '2026-01-31',
            zone: ZONE,
            plan: plan({ toleranceBytes: tolerance }),
            members,
          });
          // each member's measured overusage on its own prorated allowance, computed here
          const measured = r.members.reduce(
            (s, m) => s + (m.usedBytes > m.shareBytes ? m.usedBytes - m.shareBytes : 0n),
            0n,
          );
          expect(r.rated.overBytes <= measured).to.equal(true);
          expect(r.members.reduce((s, m) => s + m.billedOverBytes, 0n)).to.equal(r.rated.overBytes);
          expect(r.members.reduce((s, m) => s + m.amountMinor, 0n)).to.equal(r.rated.amountMinor);
          for (const m of r.members) {
            expect(m.billedOverBytes <= m.ownOverBytes).to.equal(true);
            expect(m.hours >= 0 && m.hours <= 744).to.equal(true);
            expect(m.shareBytes <= m.fullAllowanceBytes).to.equal(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
