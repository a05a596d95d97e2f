import { expect } from 'chai';
import {
  createSettableClock,
  createSimulator,
  type SimMaster,
  type TrafficProfile,
} from '../../simulator/index.js';
import { DAY, GIB } from './http-helpers.js';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

function master(
  zone: string,
  resetPolicy: 'first_of_month' | 'anniversary' | 'never',
  clock: { t: number },
): SimMaster {
  const sim = createSimulator({ now: () => clock.t });
  return sim.addMaster({
    name: 'm',
    version: 1,
    zone,
    resetPolicy,
    credentials: { apiId: 'a', apiKey: 'k' },
  });
}

function add(m: SimMaster, id: number, createdAt: string, profile: TrafficProfile): void {
  m.addServer({
    id,
    hostname: `vps${id}`,
    node: { id: 1, name: 'n1' },
    clientId: 1,
    type: 'kvm',
    limitBytes: 0n,
    createdAt,
    profile,
  });
}

describe('simulator traffic counters', () => {
  it('grow exactly by a constant profile, linearly and floored within a day', () => {
    const clock = { t: at('2024-01-04T12:00:00Z') };
    const m = master('UTC', 'never', clock);
    add(m, 1, '2024-01-01T00:00:00Z', { kind: 'constant', bytesPerDay: 10n * GIB });
    add(m, 2, '2024-01-01T00:00:00Z', { kind: 'constant', bytesPerDay: 1000n });
    expect(m.counterAt(1)).to.equal(35n * GIB);
    expect(m.counterAt(2, at('2024-01-01T08:00:00Z'))).to.equal(333n); // floor(1000 × 8/24)
    expect(m.counterAt(2, at('2024-01-01T00:00:00Z'))).to.equal(0n);
  });

  it('cycles a pattern profile by calendar day and applies per-date overrides in a days profile', () => {
    const clock = { t: at('2024-01-08T00:00:00Z') };
    const m = master('UTC', 'never', clock);
    add(m, 1, '2024-01-01T00:00:00Z', {
      kind: 'pattern',
      bytesPerDay: [1n * GIB, 2n * GIB, 3n * GIB],
      startDate: '2024-01-01',
    });
    add(m, 2, '2024-01-01T00:00:00Z', {
      kind: 'days',
      byDate: { '2024-01-02': 5n * GIB },
      defaultBytesPerDay: 1n * GIB,
    });
    expect(m.counterAt(1)).to.equal(13n * GIB); // 1+2+3+1+2+3+1
    expect(m.counterAt(2, at('2024-01-04T00:00:00Z'))).to.equal(7n * GIB); // 1+5+1
    expect(m.trafficBetween(2, at('2024-01-02T00:00:00Z'), at('2024-01-03T00:00:00Z'))).to.equal(5n * GIB);
  });

  it('splits any interval into pieces that sum exactly to the whole', () => {
    const clock = { t: at('2024-06-01T00:00:00Z') };
    const m = master('Europe/Brussels', 'never', clock);
    add(m, 1, '2024-01-01T00:00:00Z', { kind: 'pattern', bytesPerDay: [7_777_777_777n, 3n, 1_000_000_007n] });
    const points = [
      at('2024-03-20T01:17:00Z'),
      at('2024-03-30T23:59:59Z'),
      at('2024-03-31T00:30:00Z'),
      at('2024-03-31T13:13:13Z'),
      at('2024-04-02T07:00:00Z'),
      at('2024-04-28T22:00:01Z'),
    ];
    let sum = 0n;
    for (let i = 1; i < points.length; i++) sum += m.trafficBetween(1, points[i - 1]!, points[i]!);
    expect(sum).to.equal(m.trafficBetween(1, points[0]!, points[points.length - 1]!));
  });

  it('resets on the 1st at local midnight in the master zone, including the 23-hour DST day before it', () => {
    const clock = { t: at('2024-04-01T00:00:00Z') };
    const m = master('Europe/Brussels', 'first_of_month', clock);
    add(m, 1, '2024-01-10T00:00:00Z', { kind: 'constant', bytesPerDay: 24n * GIB });
    // Brussels went to CEST on 31 March 2024, so 1 April starts at 22:00 UTC on 31 March
    const aprilStart = at('2024-03-31T22:00:00Z');
    expect(m.counterAt(1, aprilStart - 1000)).to.equal(30n * 24n * GIB + (24n * GIB * 82_799n) / 82_800n);
    expect(m.counterAt(1, aprilStart)).to.equal(0n);
    expect(m.counterAt(1, aprilStart + HOUR)).to.equal(1n * GIB);
    // the short day still carries its whole day's traffic
    expect(m.trafficBetween(1, at('2024-03-30T23:00:00Z'), aprilStart)).to.equal(24n * GIB);
    expect(m.server(1)!.lastResetAt).to.equal('2024-03-31T22:00:00.000Z');
  });

  it('resets on the anniversary day, clamped to the end of a short month (the 31st falls on 29 February)', () => {
    const clock = { t: at('2024-03-15T12:00:00Z') };
    const m = master('Europe/Brussels', 'anniversary', clock);
    add(m, 1, '2024-01-31T09:00:00', { kind: 'constant', bytesPerDay: 1n * GIB }); // local time, Brussels
    add(m, 2, '2023-01-31T09:00:00', { kind: 'constant', bytesPerDay: 1n * GIB });
    const leapReset = at('2024-02-28T23:00:00Z'); // 29 Feb 2024 00:00 CET
    expect(m.counterAt(1, leapReset - 1) > 27n * GIB).to.equal(true);
    expect(m.counterAt(1, leapReset)).to.equal(0n);
    const v = m.server(1)!;
    expect(v.lastResetAt).to.equal('2024-02-28T23:00:00.000Z');
    expect(v.nextResetAt).to.equal('2024-03-30T23:00:00.000Z'); // the 31st again in March
    // 2023 is no leap year: 28 February
    expect(m.counterAt(2, at('2023-02-27T23:00:00Z'))).to.equal(0n);
    expect(m.counterAt(2, at('2023-02-27T22:59:00Z')) > 26n * GIB).to.equal(true);
  });

  it('restarts from zero on a manual reset and keeps the history before it', () => {
    const clock = { t: at('2024-05-10T12:00:00Z') };
    const m = master('UTC', 'first_of_month', clock);
    add(m, 1, '2024-01-01T00:00:00Z', { kind: 'constant', bytesPerDay: 4n * GIB });
    const before = m.counterAt(1);
    expect(before).to.equal(38n * GIB); // 9.5 days
    m.resetCounter(1);
    expect(m.counterAt(1)).to.equal(0n);
    clock.t += 6 * HOUR;
    expect(m.counterAt(1)).to.equal(1n * GIB);
    const justBefore = m.counterAt(1, at('2024-05-10T12:00:00Z') - 1);
    expect(justBefore < before && justBefore > 37n * GIB).to.equal(true);
    // the next policy reset still happens
    expect(m.counterAt(1, at('2024-06-01T00:00:00Z'))).to.equal(0n);
  });

  it('never resets under the never policy, accumulating since creation', () => {
    const clock = { t: at('2024-02-15T00:00:00Z') };
    const m = master('UTC', 'never', clock);
    add(m, 1, '2023-11-15T00:00:00Z', { kind: 'constant', bytesPerDay: 1n * GIB });
    const days = BigInt((clock.t - at('2023-11-15T00:00:00Z')) / DAY);
    expect(m.counterAt(1)).to.equal(days * GIB);
    expect(m.server(1)!.nextResetAt).to.equal(null);
  });

  it('follows the 25-hour fall-back day and the month reset across DST in New York', () => {
    const clock = { t: at('2024-12-10T00:00:00Z') };
    const m = master('America/New_York', 'first_of_month', clock);
    add(m, 1, '2024-10-01T00:00:00Z', { kind: 'constant', bytesPerDay: 25n * GIB });
    const nov3 = at('2024-11-03T04:00:00Z'); // midnight EDT
    const nov4 = at('2024-11-04T05:00:00Z'); // midnight EST
    expect(m.trafficBetween(1, nov3, nov4)).to.equal(25n * GIB);
    expect(m.trafficBetween(1, nov3, nov3 + HOUR)).to.equal(1n * GIB);
    expect(m.counterAt(1, at('2024-12-01T04:30:00Z')) > 0n).to.equal(true); // 23:30 EST on 30 Nov
    expect(m.counterAt(1, at('2024-12-01T05:00:00Z'))).to.equal(0n);
    expect(m.counterAt(1, at('2024-11-01T04:00:00Z'))).to.equal(0n); // 1 Nov midnight EDT
  });

  it('keeps counters beyond 2^64 exact in bigint', () => {
    const clock = { t: at('2024-01-31T00:00:00Z') };
    const m = master('UTC', 'never', clock);
    add(m, 1, '2024-01-01T00:00:00Z', { kind: 'constant', bytesPerDay: 10n ** 18n });
    expect(m.counterAt(1)).to.equal(30n * 10n ** 18n);
  });

  it('reports nothing before the server exists and splits v2 incoming/outgoing exactly', () => {
    const clock = { t: at('2024-01-03T07:00:00Z') };
    const m = master('UTC', 'never', clock);
    add(m, 1, '2024-01-02T00:00:00Z', { kind: 'constant', bytesPerDay: 999_999_999_999n });
    expect(m.counterAt(1, at('2024-01-01T00:00:00Z'))).to.equal(0n);
    const v = m.server(1)!;
    expect(v.incoming + v.outgoing).to.equal(v.counter);
    expect(v.incoming).to.equal((v.counter * 30n) / 100n);
  });
});

describe("the simulator's settable clock", () => {
  it('frozen at its start to the millisecond, even when the real clock ticks between two readings', () => {
    // a real clock that moves 1 ms at every reading: 1 000, 1 001, …
    let real = 1000;
    const clock = createSettableClock({
      startMs: at('2024-05-10T00:00:00Z'),
      frozen: true,
      realNow: () => real++,
    });
    expect(new Date(clock.now()).toISOString()).to.equal('2024-05-10T00:00:00.000Z');
    // and still there later, until moved: + 1 day = 11 May 00:00:00.000
    clock.advance(86_400_000);
    expect(new Date(clock.now()).toISOString()).to.equal('2024-05-11T00:00:00.000Z');
  });
});
