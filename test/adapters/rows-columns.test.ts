import { expect } from 'chai';
import { bigIn, dateIn, instantIn, intIn, sumIn, textIn } from '../../module/adapters/rows.js';
import type { ModuleError } from '../../module/domain/errors.js';

const refusal = (read: () => unknown) => {
  try {
    read();
  } catch (e) {
    return [(e as ModuleError).code, (e as ModuleError).message];
  }
  return null;
};

// The column readers the stores parse rows with: what each engine's driver gives back is read the
// same way, and a value the column cannot hold is refused with the column named.
describe('stored column readers', () => {
  it('reads an id up to 2^53 − 1 = 9 007 199 254 740 991 and refuses 2^53, never rounding it', () => {
    expect([intIn(9_007_199_254_740_991n, 't.id'), intIn('42', 't.id'), intIn(7, 't.id')]).to.deep.equal([9_007_199_254_740_991, 42, 7]);
    expect(refusal(() => intIn(9_007_199_254_740_992n, 't.id'))).to.deep.equal(['UNEXPECTED_STATE', 't.id holds 9007199254740992, which is not an integer']);
    expect(refusal(() => intIn('12abc', 't.id'))).to.deep.equal(['UNEXPECTED_STATE', 't.id holds "12abc", which is not an integer']);
    expect(refusal(() => intIn(1.5, 't.id'))).to.deep.equal(['UNEXPECTED_STATE', 't.id holds 1.5, which is not an integer']);
  });

  it('reads bytes past 2^53 exactly, and a sum MariaDB gives as a DECIMAL', () => {
    expect([bigIn('9007199254740993', 't.b'), bigIn(5, 't.b'), sumIn('6000000000000.0', 'SUM(b)'), sumIn(null, 'SUM(b)'), sumIn(3n, 'SUM(b)')]).to.deep.equal([9_007_199_254_740_993n, 5n, 6_000_000_000_000n, 0n, 3n]);
    expect(refusal(() => bigIn('1e3', 't.b'))).to.deep.equal(['UNEXPECTED_STATE', 't.b holds "1e3", which is not an integer']);
  });

  it('reads dates, instants and text, and names the column of a value that is none of them', () => {
    expect(dateIn('2013-05-31', 't.d')).to.equal('2013-05-31');
    expect(instantIn('2013-05-31 22:00:00.000', 't.at').toISO()).to.equal('2013-05-31T22:00:00.000Z');
    expect(refusal(() => dateIn('31/05/2013', 't.d'))).to.deep.equal(['UNEXPECTED_STATE', 't.d holds "31/05/2013", which is not a date']);
    expect(refusal(() => instantIn('yesterday at noon', 't.at'))).to.deep.equal(['UNEXPECTED_STATE', 't.at holds "yesterday at noon", which is not a datetime']);
    expect(refusal(() => textIn(5n, 't.s'))).to.deep.equal(['UNEXPECTED_STATE', 't.s holds 5, which is not text']);
  });
});
