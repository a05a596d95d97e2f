import { expect } from 'chai';
import { DateTime } from 'luxon';
import {
  boundaryBetween,
  expectedEndDate,
  lastBoundaryAtOrBefore,
  parseResetPolicy,
  policyPeriodAt,
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
    expect(lastBoundaryAtOrBefore(first, at('2013-05-31T23:59:00+02:00'))!.setZone('Europe/Brussels').toISODate()).to.equal('2013-05-01');
  });

  it('clamps an anniversary on the 31st to the last day of shorter months', () => {
    const rule: ResetRule = { policy: 'anniversary', anchorDay: 31, zone: 'UTC' };
    expect(resetDateInMonth(rule, 2026, 2)).to.equal('2026-02-28');
    expect(resetDateInMonth(rule, 2024, 2)).to.equal('2024-02-29');
    expect(resetDateInMonth(rule, 2026, 4)).to.equal('2026-04-30');
    expect(policyPeriodAt(rule, at('2026-03-15T12:00:00Z'))).to.deep.equal({ startDate: '2026-02-28', endDate: '2026-03-30' });
  });

  it('finds a boundary only when one lies between two samples', () => {
    expect(boundaryBetween(first, at('2013-05-31T00:30:00+02:00'), at('2013-06-01T00:30:00+02:00'))).to.not.equal(null);
    expect(boundaryBetween(first, at('2013-05-30T00:30:00+02:00'), at('2013-05-31T00:30:00+02:00'))).to.equal(null);
    expect(boundaryBetween({ ...first, policy: 'never' }, at('2013-05-31T00:30:00Z'), at('2013-06-02T00:30:00Z'))).to.equal(null);
  });

  it('knows the expected last day of a period', () => {
    expect(expectedEndDate(first, '2013-05-01')).to.equal('2013-05-31');
    expect(expectedEndDate({ policy: 'anniversary', anchorDay: 15, zone: 'UTC' }, '2013-05-15')).to.equal('2013-06-14');
    expect(expectedEndDate({ ...first, policy: 'never' }, '2013-05-01')).to.equal(null);
  });
});
