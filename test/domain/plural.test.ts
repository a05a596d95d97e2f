import { expect } from 'chai';
import { counted, plural } from '../../module/domain/plural.js';

// English and Dutch take the singular for exactly one, as a number or as a bigint (byte and line
// counts are bigints); zero and every other count take the plural.
describe('a count with its noun in the right number', () => {
  it('takes the singular for exactly one only', () => {
    expect(plural(1, 'day', 'days')).to.equal('day');
    expect(plural(1n, 'dag', 'dagen')).to.equal('dag');
    expect([0, 2, -1, 1.5].map((n) => plural(n, 'day', 'days'))).to.deep.equal([
      'days',
      'days',
      'days',
      'days',
    ]);
    expect([0n, 2n, 11n].map((n) => plural(n, 'dag', 'dagen'))).to.deep.equal(['dagen', 'dagen', 'dagen']);
  });

  it('puts the count before the noun', () => {
    expect(counted(1, 'service', 'services')).to.equal('1 service');
    expect(counted(3n, 'service', 'services')).to.equal('3 services');
    expect(counted(0, 'open dispute', 'open disputes')).to.equal('0 open disputes');
    expect(counted(1n, 'regel', 'regels')).to.equal('1 regel');
  });
});
