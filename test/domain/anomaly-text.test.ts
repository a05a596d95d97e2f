import { expect } from 'chai';
import { describeAnomaly, type AnomalyFacts } from '../../module/domain/anomaly-text.js';

// Each anomaly in the operator's words, as the admin tab, the JSON API and the CLI show it.
const facts = (
  kind: string,
  details: AnomalyFacts['details'],
  over: Partial<AnomalyFacts> = {},
): AnomalyFacts => ({
  kind,
  status: 'open',
  decision: null,
  decisionReason: null,
  seenOn: '2013-11-15',
  details,
  ...over,
});

describe('anomalies in words', () => {
  it('a drop: from and to in readable units, open or decided with the reason', () => {
    // 1 430 000 000 000 bytes = 1.43 TB; 107 370 000 000 = 107.37 GB
    const drop = { fromBytes: '1430000000000', toBytes: '107370000000' };
    expect(describeAnomaly(facts('mid_period_drop', drop))).to.equal(
      'counter dropped from 1.43 TB to 107.37 GB (read 2013-11-15): a manual reset or a correction, not booked until decided',
    );
    expect(
      describeAnomaly(
        facts('mid_period_drop', drop, {
          status: 'resolved',
          decision: 'reset',
          decisionReason: 'rebuilt from backup',
        }),
      ),
    ).to.equal(
      'counter dropped from 1.43 TB to 107.37 GB (read 2013-11-15): a manual reset or a correction; decided: reset (rebuilt from backup)',
    );
    expect(
      describeAnomaly(facts('mid_period_drop', drop, { status: 'resolved', decision: 'correction' })),
    ).to.equal(
      'counter dropped from 1.43 TB to 107.37 GB (read 2013-11-15): a manual reset or a correction; decided: correction',
    );
    // a figure missing from the details reads as 0 B
    expect(describeAnomaly(facts('mid_period_drop', {}))).to.equal(
      'counter dropped from 0 B to 0 B (read 2013-11-15): a manual reset or a correction, not booked until decided',
    );
  });

  it('a reset not seen, open or come later; a late reset; days not measured; a long gap; an unknown kind by its name', () => {
    expect(describeAnomaly(facts('reset_not_seen', { expectedOn: '2013-11-01' }))).to.equal(
      'SolusVM did not reset the counter on 2013-11-01; the increase is counted and the reset is still due',
    );
    // resolved: by the reset (on time at a later boundary, or late), by a drop no reset explains,
    // or, on rows from before the details said how, only "the counter went down"
    const due = { expectedOn: '2013-11-01' };
    expect(
      describeAnomaly(
        facts(
          'reset_not_seen',
          { ...due, endedBy: 'late_reset', endedOn: '2013-11-04' },
          { status: 'resolved' },
        ),
      ),
    ).to.equal('SolusVM did not reset the counter on 2013-11-01 (the reset came later, seen on 2013-11-04)');
    expect(
      describeAnomaly(
        facts('reset_not_seen', { ...due, endedBy: 'reset', endedOn: '2013-12-01' }, { status: 'resolved' }),
      ),
    ).to.equal('SolusVM did not reset the counter on 2013-11-01 (the reset came later, seen on 2013-12-01)');
    expect(
      describeAnomaly(
        facts('reset_not_seen', { ...due, endedBy: 'drop', endedOn: '2013-11-04' }, { status: 'resolved' }),
      ),
    ).to.equal(
      "SolusVM did not reset the counter on 2013-11-01; the counter went down on 2013-11-04 in a way no reset explains (that reset or a correction, the drop's decision says which), so no reset is due any more",
    );
    expect(describeAnomaly(facts('reset_not_seen', due, { status: 'resolved' }))).to.equal(
      'SolusVM did not reset the counter on 2013-11-01 (the counter went down later)',
    );
    expect(describeAnomaly(facts('late_reset', { dueOn: '2013-11-01', daysLate: 3 }))).to.equal(
      'the reset due on 2013-11-01 came 3 days late (read 2013-11-15); the period did not move',
    );
    expect(describeAnomaly(facts('unmeasured', { fromDate: '2013-10-29', toDate: '2013-10-31' }))).to.equal(
      'traffic from 2013-10-29 to 2013-10-31 was not measured (no read before the reset) and is not billed',
    );
    expect(describeAnomaly(facts('long_gap', { days: 5, toDate: '2013-11-15' }))).to.equal(
      'no good read for 5 days up to 2013-11-15: the daily split is an estimate, the total is exact',
    );
    // one day reads in the singular
    expect(describeAnomaly(facts('late_reset', { dueOn: '2013-11-01', daysLate: 1 }))).to.equal(
      'the reset due on 2013-11-01 came 1 day late (read 2013-11-15); the period did not move',
    );
    expect(describeAnomaly(facts('long_gap', { days: 1, toDate: '2013-11-15' }))).to.equal(
      'no good read for 1 day up to 2013-11-15: the daily split is an estimate, the total is exact',
    );
    expect(describeAnomaly(facts('something_new', {}))).to.equal('something_new');
  });
});
