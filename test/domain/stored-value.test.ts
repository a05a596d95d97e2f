import { expect } from 'chai';
import { ModuleError } from '../../module/domain/errors.js';
import { parsePeriodStatus } from '../../module/domain/period-status.js';
import { storedValueError, storedWord, storedWordOrNull } from '../../module/domain/stored-value.js';

const COLOR = ['red', 'green'] as const;

/** The refusal's message and details, for one stored value. */
const refusal = (value: unknown): { message: string; details: unknown } => {
  const e = storedValueError('t.c', value, 'a colour');
  expect(e).to.be.instanceOf(ModuleError);
  expect(e.code).to.equal('UNEXPECTED_STATE');
  return { message: e.message, details: e.details };
};

describe('a stored value that is not what its column holds', () => {
  it('quotes text, so "12" and 12 differ, and writes numbers, bigints and null as they are', () => {
    expect(refusal('12')).to.deep.equal({
      message: 't.c holds "12", which is not a colour',
      details: { column: 't.c', value: '12' },
    });
    expect(refusal(12).message).to.equal('t.c holds 12, which is not a colour');
    // a bigint as digits (JSON.stringify would throw on it)
    expect(refusal(12n).message).to.equal('t.c holds 12, which is not a colour');
    // a number JSON has no word for stays itself, not JSON's "null"
    expect(refusal(Number.NaN).message).to.equal('t.c holds NaN, which is not a colour');
    expect(refusal(null)).to.deep.equal({
      message: 't.c holds null, which is not a colour',
      details: { column: 't.c', value: 'null' },
    });
  });

  it('writes an object as JSON, and as String() when JSON has nothing to say or cannot', () => {
    expect(refusal({ a: 1 }).message).to.equal('t.c holds {"a":1}, which is not a colour');
    // JSON.stringify gives undefined for it: String() speaks instead
    expect(refusal({ toJSON: () => undefined, toString: () => 'odd' }).message).to.equal(
      't.c holds odd, which is not a colour',
    );
    // a row that refers to itself: JSON.stringify throws, String() speaks instead
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(refusal(loop).message).to.equal('t.c holds [object Object], which is not a colour');
  });

  it('neither repeats nor keeps a secret value, naming only its column', () => {
    const e = storedValueError('t.key', 'hunter2', 'a key', { secret: true });
    expect(e).to.be.instanceOf(ModuleError);
    expect(e).to.deep.include({
      code: 'UNEXPECTED_STATE',
      message: 't.key holds a value, which is not a key',
      details: { column: 't.key' },
    });
  });

  it('reads a word of its closed set, and refuses any other naming the column and the set', () => {
    expect(storedWord(COLOR, 'green', 't.c')).to.equal('green');
    expect(() => storedWord(COLOR, 'blue', 't.c')).to.throw(
      't.c holds "blue", which is not one of red, green',
    );
    expect(() => storedWord(COLOR, 1, 't.c')).to.throw('t.c holds 1, which is not one of red, green');
    expect(storedWordOrNull(COLOR, null, 't.c')).to.equal(null);
    expect(storedWordOrNull(COLOR, undefined, 't.c')).to.equal(null);
    expect(storedWordOrNull(COLOR, 'red', 't.c')).to.equal('red');
  });

  it("reads a usage period's status, and names mod_overusage_periods.status for another", () => {
    for (const s of ['open', 'closed', 'superseded']) expect(parsePeriodStatus(s)).to.equal(s);
    expect(() => parsePeriodStatus('archived')).to.throw(
      'mod_overusage_periods.status holds "archived", which is not one of open, closed, superseded',
    );
  });
});
