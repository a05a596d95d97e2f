import { expect } from 'chai';
import { DateTime } from 'luxon';
import { ModuleError } from '../../module/domain/errors.js';
import {
  boundaryBetween,
  expectedEndDate,
  lastBoundaryAtOrBefore,
  nextBoundaryAfter,
  nominalPeriodDays,
  parseResetPolicy,
  policyPeriodAt,
  storedResetPolicy,
  resetDateInMonth,
  type ResetRule,
} from '../../module/domain/reset-policy.js';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });
const first: ResetRule = { policy: 'first_of_month', anchorDay: 1, zone: 'Europe/Brussels' };

describe('reset policy', () => {
  it('maps the SolusVM 2 policy names', () => {
    expect(parseResetPolicy('first_day_of_month')).to.equal('first_of_month');
    expect(parseResetPolicy('vm_created_day')).to.equal('anniversary');
    expect(() => parseResetPolicy('weekly')).to.throw(/reset policy must be one of/);
  });

  it('resets on the 1st at midnight on the master clock', () => {
    const b = lastBoundaryAtOrBefore(first, at('2013-06-01T00:30:00+02:00'))!;
    expect(b.toISO()).to.equal(at('2013-06-01T00:00:00.000+02:00').toISO());
    expect(
      lastBoundaryAtOrBefore(first, at('2013-05-31T23:59:00+02:00'))!.setZone('Europe/Brussels').toISODate(),
    ).to.equal('2013-05-01');
  });

  it('clamps an anniversary on the 31st to the last day of shorter months', () => {
    const rule: ResetRule = { policy: 'anniversary', anchorDay: 31, zone: 'UTC' };
    expect(resetDateInMonth(rule, 2026, 2)).to.equal('2026-02-28');
    expect(resetDateInMonth(rule, 2024, 2)).to.equal('2024-02-29');
    expect(resetDateInMonth(rule, 2026, 4)).to.equal('2026-04-30');
    expect(policyPeriodAt(rule, at('2026-03-15T12:00:00Z'))).to.deep.equal({
      startDate: '2026-02-28',
      endDate: '2026-03-30',
    });
  });

  it('finds a boundary only when one lies between two samples', () => {
    expect(
      boundaryBetween(first, at('2013-05-31T00:30:00+02:00'), at('2013-06-01T00:30:00+02:00')),
    ).to.not.equal(null);
    expect(boundaryBetween(first, at('2013-05-30T00:30:00+02:00'), at('2013-05-31T00:30:00+02:00'))).to.equal(
      null,
    );
    expect(
      boundaryBetween({ ...first, policy: 'never' }, at('2013-05-31T00:30:00Z'), at('2013-06-02T00:30:00Z')),
    ).to.equal(null);
  });

  it('knows the expected last day of a period', () => {
    expect(expectedEndDate(first, '2013-05-01')).to.equal('2013-05-31');
    expect(expectedEndDate({ policy: 'anniversary', anchorDay: 15, zone: 'UTC' }, '2013-05-15')).to.equal(
      '2013-06-14',
    );
    expect(expectedEndDate({ ...first, policy: 'never' }, '2013-05-01')).to.equal(null);
  });

  it('takes its own policy names as they are, and names what it refused', () => {
    for (const p of ['first_of_month', 'anniversary', 'never']) expect(parseResetPolicy(p)).to.equal(p);
    let err: unknown;
    try {
      parseResetPolicy(7);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ModuleError);
    expect(err).to.deep.include({
      message: 'reset policy must be one of first_of_month, anniversary, never',
      details: { value: '7' },
    });
  });

  it('has no boundaries, periods or lengths for a counter that never resets', () => {
    const never: ResetRule = { ...first, policy: 'never' };
    expect(resetDateInMonth(never, 2013, 5)).to.equal(null);
    expect(lastBoundaryAtOrBefore(never, at('2013-06-01T00:30:00+02:00'))).to.equal(null);
    expect(nextBoundaryAfter(never, at('2013-06-01T00:30:00+02:00'))).to.equal(null);
    expect(nominalPeriodDays(never, '2013-06-10')).to.equal(null);
    expect(policyPeriodAt(never, at('2013-06-01T00:30:00+02:00'))).to.equal(null);
  });

  // nominalPeriodDays remembers its answers per start day: a year no earlier run in this process
  // asked about (the count on globalThis, as below), so the answer is computed, not recalled.
  it('has no period length for a counter that never resets, asked afresh', () => {
    const runs = globalThis as { overusageResetRuns?: number };
    const y = 2200 + (runs.overusageResetRuns = (runs.overusageResetRuns ?? 0) + 1);
    expect(nominalPeriodDays({ ...first, policy: 'never' }, `${y}-06-10`)).to.equal(null);
  });

  it('reads a stored policy in either naming, and names the column of one it cannot read', () => {
    expect(storedResetPolicy('vm_created_day', 'services.reset_policy')).to.equal('anniversary');
    expect(storedResetPolicy('never', 'services.reset_policy')).to.equal('never');
    let err: unknown;
    try {
      storedResetPolicy('weekly', 'services.reset_policy');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ModuleError);
    expect(err).to.deep.include({
      code: 'UNEXPECTED_STATE',
      message: 'services.reset_policy holds "weekly", which is not one of first_of_month, anniversary, never',
    });
  });

  it('resets on the 1st whatever anchor day the rule carries', () => {
    expect(resetDateInMonth({ ...first, anchorDay: 17 }, 2013, 5)).to.equal('2013-05-01');
  });

  it('counts a boundary at the very instant as passed, and a span (from, to] without its start', () => {
    const june1 = at('2013-06-01T00:00:00.000+02:00');
    expect(lastBoundaryAtOrBefore(first, june1)!.toISO()).to.equal('2013-06-01T00:00:00.000+02:00');
    // a read exactly at the reset holds nothing of June's traffic before it: no boundary after it
    expect(boundaryBetween(first, june1, at('2013-06-02T00:30:00+02:00'))).to.equal(null);
    expect(boundaryBetween(first, at('2013-05-31T23:59:59+02:00'), june1)!.toISO()).to.equal(
      '2013-06-01T00:00:00.000+02:00',
    );
  });

  // The boundaries and period lengths are remembered per month: each run here asks about a year no
  // earlier run in this process asked about (the count is kept on globalThis), so the answer is
  // computed, not recalled.
  it("puts boundaries at midnight in the master's zone and counts full periods, asked afresh", () => {
    const runs = globalThis as { overusageResetRuns?: number };
    const y = 2200 + (runs.overusageResetRuns = (runs.overusageResetRuns ?? 0) + 1);
    // Brussels is on winter time (+01:00) on 1 March and on summer time (+02:00) on 1 April in
    // every year (summer time starts on the last Sunday of March)
    expect(lastBoundaryAtOrBefore(first, at(`${y}-03-15T12:00:00Z`))!.toISO()).to.equal(
      `${y}-03-01T00:00:00.000+01:00`,
    );
    // 22:30 UTC on 31 March is 00:30 on 1 April in Brussels: April's period has begun there
    expect(lastBoundaryAtOrBefore(first, at(`${y}-03-31T22:30:00Z`))!.toISO()).to.equal(
      `${y}-04-01T00:00:00.000+02:00`,
    );
    // March has 31 days; an anniversary on the 31st from 31 March runs to 29 April: 30 days
    expect(nominalPeriodDays(first, `${y}-03-10`)).to.equal(31);
    expect(
      nominalPeriodDays({ policy: 'anniversary', anchorDay: 31, zone: 'Europe/Brussels' }, `${y}-04-10`),
    ).to.equal(30);
  });
});
