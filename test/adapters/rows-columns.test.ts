import { expect } from 'chai';
import {
  readOwned,
  bigIn,
  column,
  dateIn,
  instantIn,
  intIn,
  jsonIn,
  rowReader,
  sealedIn,
  sumIn,
  textIn,
} from '../../module/adapters/rows.js';
import { storedWord } from '../../module/domain/stored-value.js';
import type { ModuleError } from '../../module/domain/errors.js';

const refusal = (read: () => unknown) => {
  try {
    read();
  } catch (e) {
    return [(e as ModuleError).code, (e as ModuleError).message];
  }
  return null;
};

const details = (read: () => unknown) => {
  try {
    read();
  } catch (e) {
    return (e as ModuleError).details;
  }
  return null;
};

// The column readers the stores parse rows with: what each engine's driver gives back is read the
// same way, and a value the column cannot hold is refused with the column named.
describe('stored column readers', () => {
  it('reads an id up to 2^53 − 1 = 9 007 199 254 740 991 and refuses 2^53, never rounding it', () => {
    expect([intIn(9_007_199_254_740_991n, 't.id'), intIn('42', 't.id'), intIn(7, 't.id')]).to.deep.equal([
      9_007_199_254_740_991, 42, 7,
    ]);
    expect(refusal(() => intIn(9_007_199_254_740_992n, 't.id'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.id holds 9007199254740992, which is not an integer',
    ]);
    expect(refusal(() => intIn('12abc', 't.id'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.id holds "12abc", which is not an integer',
    ]);
    expect(refusal(() => intIn(1.5, 't.id'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.id holds 1.5, which is not an integer',
    ]);
  });

  it('reads bytes past 2^53 exactly, and a sum MariaDB gives as a DECIMAL', () => {
    expect([
      bigIn('9007199254740993', 't.b'),
      bigIn(5, 't.b'),
      sumIn('6000000000000.0', 'SUM(b)'),
      sumIn(null, 'SUM(b)'),
      sumIn(3n, 'SUM(b)'),
    ]).to.deep.equal([9_007_199_254_740_993n, 5n, 6_000_000_000_000n, 0n, 3n]);
    expect(refusal(() => bigIn('1e3', 't.b'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.b holds "1e3", which is not an integer',
    ]);
  });

  it('reads dates, instants and text, and names the column of a value that is none of them', () => {
    expect(dateIn('2013-05-31', 't.d')).to.equal('2013-05-31');
    expect(instantIn('2013-05-31 22:00:00.000', 't.at').toISO()).to.equal('2013-05-31T22:00:00.000Z');
    expect(refusal(() => dateIn('31/05/2013', 't.d'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.d holds "31/05/2013", which is not a date',
    ]);
    // a day of the calendar only: 29 February of a leap year (2012, 2000) is one; MariaDB's zero
    // date, a 13th month, 31 June, 29 February 2013 and 1900 (not a leap year) are not
    expect(['2012-02-29', '2000-02-29', '2013-12-31'].map((d) => dateIn(d, 't.d'))).to.deep.equal([
      '2012-02-29',
      '2000-02-29',
      '2013-12-31',
    ]);
    for (const d of ['0000-00-00', '2013-13-01', '2013-06-31', '2013-02-29', '1900-02-29', '2013-06-00'])
      expect(refusal(() => dateIn(d, 't.d'))).to.deep.equal([
        'UNEXPECTED_STATE',
        `t.d holds "${d}", which is not a date`,
      ]);
    expect(refusal(() => instantIn('yesterday at noon', 't.at'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.at holds "yesterday at noon", which is not a datetime',
    ]);
    expect(refusal(() => textIn(5n, 't.s'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.s holds 5, which is not text',
    ]);
  });

  it('reads a DECIMAL sum past 2^53 exactly: 9 007 199 254 740 993.0 is …993, not the double …992', () => {
    expect(sumIn('9007199254740993.0', 'SUM(b)')).to.equal(9_007_199_254_740_993n);
    expect(refusal(() => sumIn('12.5', 'SUM(b)'))).to.deep.equal([
      'UNEXPECTED_STATE',
      'SUM(b) holds "12.5", which is not an integer',
    ]);
  });

  it('refuses text that is not JSON in a JSON column', () => {
    expect(jsonIn('{"a":[1,2]}', 't.j')).to.deep.equal({ a: [1, 2] });
    expect(refusal(() => jsonIn('{a: 1', 't.j'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.j holds "{a: 1", which is not JSON',
    ]);
  });

  it('names a sealed column without repeating what it holds, in the message or the details', () => {
    expect(refusal(() => sealedIn(4242, 't.key'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.key holds a value, which is not sealed text',
    ]);
    expect(details(() => sealedIn(4242, 't.key'))).to.deep.equal({ column: 't.key' });
  });

  it('refuses through rowReader and column() with the very message of the plain readers', () => {
    const row = { id: '12abc', at: 'yesterday', bytes: '9007199254740993', pct: 1.5, word: 'gold' };
    const r = rowReader('t', row);
    // one family: the reader's method and the plain function give the same refusal, word for word
    expect(refusal(() => r.num('id'))).to.deep.equal(refusal(() => intIn('12abc', 't.id')));
    expect(refusal(() => r.num('id'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.id holds "12abc", which is not an integer',
    ]);
    expect(refusal(() => r.instant('at'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.at holds "yesterday", which is not a datetime',
    ]);
    expect(refusal(() => column(row, 't', 'pct', intIn))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.pct holds 1.5, which is not an integer',
    ]);
    expect(refusal(() => r.word(['silver', 'bronze'], 'word'))).to.deep.equal(
      refusal(() => storedWord(['silver', 'bronze'], 'gold', 't.word')),
    );
    expect(refusal(() => r.word(['silver', 'bronze'], 'word'))).to.deep.equal([
      'UNEXPECTED_STATE',
      't.word holds "gold", which is not one of silver, bronze',
    ]);
    // 2^53 + 1 = 9 007 199 254 740 993 stays exact as a bigint; a null column reads as null
    expect([r.big('bytes'), r.numOrNull('missing'), r.bigOrNull('missing')]).to.deep.equal([
      9_007_199_254_740_993n,
      null,
      null,
    ]);
  });

  it('reads a joined table under its prefix and names the stored column, not the alias', () => {
    // linesQuery selects d.id as d_id, d.version as d_version: the dispute's columns under 'd_'
    const row = { id: 3, d_id: '41', d_version: 'two', version: 7 };
    const d = rowReader('mod_overusage_disputes', row, 'd_');
    expect(d.num('id')).to.equal(41);
    expect(refusal(() => d.num('version'))).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_disputes.version holds "two", which is not an integer',
    ]);
    expect(d.numOrNull('resolved_by_id')).to.equal(null);
  });

  /**
   * Three caps of services 11, 12 and 13: 12's amount is text, 13's row has its service_id edited to
   * text too. Read by their owner: 11's cap, service 12 named in `unreadable` with its row (id 2,
   * the column), row 3 only told (its service is not known); each told once. Without a setAside
   * the first refusal throws, as rows.map(parse) did.
   */
  it('reads rows by their owner: one that does not read names its owner, one whose owner does not read is only told', () => {
    const T = 'mod_overusage_caps';
    const rows = [
      { id: 1, service_id: 11, amount: 2500 },
      { id: 2, service_id: 12, amount: 'lots' },
      { id: 3, service_id: 'x', amount: 'lots' },
    ];
    const parse = (r: Record<string, unknown>) => ({
      serviceId: intIn(r.service_id, `${T}.service_id`),
      amount: intIn(r.amount, `${T}.amount`),
    });
    const told: Array<[string, number | null, string | null]> = [];
    const read = readOwned(rows, parse, T, {
      owner: 'service_id',
      setAside: (table, u) => told.push([table, u.id, u.unreadable.column]),
    });
    expect([...read]).to.deep.equal([{ serviceId: 11, amount: 2500 }]);
    expect([...read.unreadable!]).to.deep.equal([
      [12, { id: 2, unreadable: { column: `${T}.amount`, reason: 'not an integer' } }],
    ]);
    expect(told).to.deep.equal([
      [T, 2, `${T}.amount`],
      [T, 3, `${T}.service_id`],
    ]);
    expect(() => readOwned(rows, parse, T, { owner: 'service_id' })).to.throw(
      `${T}.amount holds "lots", which is not an integer`,
    );
  });
});
