import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig } from '../../module/adapters/rows.js';
import {
  hasValuesLists,
  mariaDbWithValues,
  mysqlLiteral,
  sendDirect,
  sendWhole,
  updateManyByKey,
} from '../../module/adapters/sql-helpers.js';
import { describeEachEngine } from '../support/engines.js';

describeEachEngine('updating many rows by key in one statement', ({ db, engine }) => {
  let knex: Knex;
  const T = 'ou_test_totals';
  const totals = async () =>
    (await knex(T).orderBy('id').select('id', 'total', 'label')).map((r) => [
      Number(r.id),
      toBig(r.total),
      String(r.label),
    ]);

  before(async () => {
    knex = db().knex;
    await knex.schema.createTable(T, (t) => {
      t.integer('id').primary();
      t.bigInteger('total').notNullable();
      t.string('label', 20).notNullable();
    });
  });
  beforeEach(async () => {
    await knex(T).delete();
    await knex(T).insert([
      { id: 1, total: 1000, label: 'a' },
      { id: 2, total: 7, label: 'b' },
      { id: 3, total: 5, label: 'c' },
    ]);
  });

  it('adds to a stored total exactly past 2^53: 1 000 + 9 007 199 254 740 993 = 9 007 199 254 741 993', async () => {
    // 2^53 + 1 = 9 007 199 254 740 993 is the first integer a double cannot hold; added as a
    // double it would come out as …992.
    await updateManyByKey(
      knex,
      T,
      'id',
      [
        { id: 1, total: '9007199254740993' },
        { id: 2, total: '-3' },
      ],
      ['total'],
      { add: ['total'] },
    );
    expect(await totals()).to.deep.equal([
      [1, 9007199254741993n, 'a'],
      [2, 4n, 'b'],
      [3, 5n, 'c'],
    ]);
  });

  it('replaces the columns not added to, across chunks: 3 rows in chunks of 2', async () => {
    await updateManyByKey(
      knex,
      T,
      'id',
      [
        { id: 1, total: '9007199254740993', label: 'x' },
        { id: 2, total: '8', label: 'y' },
        { id: 3, total: '9', label: 'z' },
      ],
      ['total', 'label'],
      { chunkSize: 2 },
    );
    expect(await totals()).to.deep.equal([
      [1, 9007199254740993n, 'x'],
      [2, 8n, 'y'],
      [3, 9n, 'z'],
    ]);
  });

  it('takes each column whole whatever the first row holds: a small number, then 2^63 − 1 and a 20-character text', async () => {
    // The first row names the columns and the rest follow (on MariaDB as one VALUES list): a
    // column typed from its first value alone would cut 9 223 372 036 854 775 807 (2^63 − 1) to
    // an INT or 'twenty characters ok' to one character.
    const seen: string[] = [];
    const watch = (q: { sql: string }) => seen.push(q.sql);
    knex.on('query', watch);
    try {
      await updateManyByKey(
        knex,
        T,
        'id',
        [
          { id: 3, total: '1', label: 'q' },
          { id: 1, total: '9223372036854775807', label: 'twenty characters ok' },
          { id: 2, total: '-9223372036854775808', label: "it's \\ fine" },
        ],
        ['total', 'label'],
      );
    } finally {
      knex.off('query', watch);
    }
    expect(await totals()).to.deep.equal([
      [1, 9223372036854775807n, 'twenty characters ok'],
      [2, -9223372036854775808n, "it's \\ fine"],
      [3, 1n, 'q'],
    ]);
    const update = seen.find((sql) => sql.startsWith('UPDATE'));
    if (engine === 'mysql') {
      // this machine's server is MariaDB: one SELECT naming the columns, then one VALUES list
      expect(await hasValuesLists(knex)).to.equal(true);
      expect(update).to.match(
        /JOIN \(SELECT 3 AS `id`, '1' AS `total`, 'q' AS `label` UNION ALL VALUES \(1, /,
      );
      expect(update!.match(/SELECT/g)).to.have.length(1);
    }
  });
});

describe('which MariaDB/MySQL servers take a VALUES list as a table', () => {
  it('MariaDB from 10.3.3 on; not MySQL (it writes VALUES ROW(…)), nor an older MariaDB', () => {
    expect(mariaDbWithValues('10.11.19-MariaDB-0+deb12u1')).to.equal(true);
    expect(mariaDbWithValues('10.3.3-MariaDB')).to.equal(true);
    expect(mariaDbWithValues('11.4.2-MariaDB-log')).to.equal(true);
    expect(mariaDbWithValues('10.3.2-MariaDB')).to.equal(false);
    expect(mariaDbWithValues('10.2.44-MariaDB')).to.equal(false);
    expect(mariaDbWithValues('8.0.36')).to.equal(false);
    expect(mariaDbWithValues('5.7.44-log')).to.equal(false);
    expect(mariaDbWithValues('')).to.equal(false);
  });
});

describe('a value as a MariaDB literal', () => {
  it('escapes the quote, the backslash, NUL and Ctrl-Z in text, and nothing else', () => {
    expect(mysqlLiteral("it's")).to.equal("'it\\'s'");
    expect(mysqlLiteral('a\\b')).to.equal("'a\\\\b'");
    expect(mysqlLiteral('\u0000\u001a')).to.equal("'\\0\\Z'");
    expect(mysqlLiteral('"? é\n')).to.equal("'\"? é\n'");
    expect(mysqlLiteral('')).to.equal("''");
  });

  it('writes numbers, bigints, booleans and null as SQL, and refuses what has no literal', () => {
    expect([
      mysqlLiteral(-12),
      mysqlLiteral(9007199254740993n),
      mysqlLiteral(true),
      mysqlLiteral(false),
    ]).to.deep.equal(['-12', '9007199254740993', 'TRUE', 'FALSE']);
    expect(mysqlLiteral(null)).to.equal('NULL');
    expect(() => mysqlLiteral(Number.NaN)).to.throw(TypeError, 'not a finite number');
    expect(() => mysqlLiteral({} as unknown as string)).to.throw(TypeError, 'no SQL literal for object');
  });
});

describeEachEngine('a MariaDB statement written out whole', ({ db, engine }) => {
  if (engine !== 'mysql') return;
  let knex: Knex;
  const T = 'ou_test_whole';
  const texts = async () => (await knex(T).orderBy('id').select('id', 'note')).map((r) => [r.id, r.note]);

  before(async () => {
    knex = db().knex;
    await knex.schema.createTable(T, (t) => {
      t.integer('id').primary();
      t.string('note', 40).notNullable();
    });
  });
  beforeEach(() => knex(T).delete());

  it('is sent as written: its ? and % inside text stay, and knex’s query listeners see it', async () => {
    const seen: string[] = [];
    const spy = (q: { sql: string }) => seen.push(q.sql);
    knex.on('query', spy);
    const sql = `INSERT INTO ${T} (id, note) VALUES (1, ${mysqlLiteral("? %s ?? it's 100%")})`;
    try {
      await sendWhole(knex, sql);
    } finally {
      knex.off('query', spy);
    }
    expect(seen).to.deep.equal([sql]);
    expect(await texts()).to.deep.equal([[1, "? %s ?? it's 100%"]]);
    // values given to knex are still put in by the driver, escaped
    const [rows] = (await knex.raw('SELECT ? AS a, ? AS b', ["it's", 7])) as unknown as [
      Array<{ a: string; b: number }>,
    ];
    expect(rows[0]).to.deep.include({ a: "it's", b: 7 });
  });

  it('goes on the transaction’s connection: undone with it', async () => {
    await knex
      .transaction(async (trx) => {
        await sendWhole(trx, `INSERT INTO ${T} (id, note) VALUES (2, 'in the transaction')`);
        expect((await trx(T).select('id')).map((r) => r.id)).to.deep.equal([2]);
        throw new Error('roll back');
      })
      .catch((e: Error) => expect(e.message).to.equal('roll back'));
    expect(await texts()).to.deep.equal([]);
  });

  it('rejects with the server’s error and gives the connection back to the pool', async () => {
    await sendWhole(knex, `INSERT INTO ${T} (id, note) VALUES (3, 'first')`);
    const err = await sendWhole(knex, `INSERT INTO ${T} (id, note) VALUES (3, 'again')`).catch((e) => e);
    expect(err).to.include({ code: 'ER_DUP_ENTRY' });
    // more statements than the pool has connections: none was kept
    for (let i = 0; i < 12; i++) await sendWhole(knex, `UPDATE ${T} SET note = 'n${i}' WHERE id = 3`);
    expect(await texts()).to.deep.equal([[3, 'n11']]);
  });

  it('names the statement in its error, as knex does, but not the values (a client’s data)', async () => {
    await sendWhole(knex, `INSERT INTO ${T} (id, note) VALUES (4, 'first')`);
    const sql = `INSERT INTO ${T} (id, note) VALUES (?, ?)`;
    const err = (await sendDirect(knex, sql, [4, 'secret-note']).catch((e) => e)) as Error & { code: string };
    expect(err.code).to.equal('ER_DUP_ENTRY');
    expect(err.message.startsWith(`${sql} - Duplicate entry '4'`)).to.equal(true, err.message);
    expect(err.message).not.to.include('secret-note');
  });
});
