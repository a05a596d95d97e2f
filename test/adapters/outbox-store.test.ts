import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import {
  createOutboxStore,
  type NewOutboxRow,
  type OutboxStore,
} from '../../module/adapters/outbox-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const NOW = DateTime.fromISO('2013-06-05T10:00:00.000Z', { zone: 'utc' });

const email = (key: string, over: Partial<NewOutboxRow> = {}): NewOutboxRow => ({
  key,
  ref: `OUM-${key.toUpperCase()}`,
  audience: 'client',
  clientId: 7,
  kind: 'dispute_opened',
  payload: '{"subject":"Dispute opened"}',
  ...over,
});

/**
 * The outbox's rows on both engines: an email is written once per key, a row is due from its next
 * attempt on, and of two workers claiming the same row exactly one gets it.
 */
describeEachEngine('outbox store', ({ db, engine }) => {
  let knex: Knex;
  let store: OutboxStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createOutboxStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.outbox).delete();
  });

  it('writes an email once per key: a second enqueue of the same key changes nothing', async () => {
    await store.enqueue(knex, [email('a')], NOW);
    await store.enqueue(
      knex,
      [email('a', { payload: '{"subject":"other"}' }), email('b')],
      NOW.plus({ minutes: 1 }),
    );
    const rows = await store.unsent(10);
    expect(
      rows.map((r) => [r.key, r.ref, r.kind, r.status, r.attempts, r.payload, r.lastError]),
    ).to.deep.equal([
      ['a', 'OUM-A', 'dispute_opened', 'pending', 0, '{"subject":"Dispute opened"}', null],
      ['b', 'OUM-B', 'dispute_opened', 'pending', 0, '{"subject":"Dispute opened"}', null],
    ]);
    // each due from the moment it was written: a at 10:00:00.000, b at 10:01:00.000
    expect(rows.map((r) => r.nextAttemptAt.toISO())).to.deep.equal([
      '2013-06-05T10:00:00.000Z',
      '2013-06-05T10:01:00.000Z',
    ]);
  });

  it('writes nothing in a transaction that rolls back (the email exists exactly when the change does)', async () => {
    await knex
      .transaction(async (trx) => {
        await store.enqueue(trx, [email('a')], NOW);
        throw new Error('the change failed');
      })
      .catch(() => {});
    expect(await store.unsent(10)).to.deep.equal([]);
  });

  it('gives a row as due from its next attempt on, and not once it is sent', async () => {
    await store.enqueue(knex, [email('a'), email('b')], NOW);
    const [a, b] = await store.unsent(10);
    // a fails on its first attempt: next try 5 minutes later, at 10:05
    expect(await store.claim(a!, 1)).to.equal(true);
    await store.markFailed(a!.id, 'panel said no', NOW.plus({ minutes: 5 }));
    expect((await store.due(NOW.plus({ minutes: 4, seconds: 59 }), 10)).map((r) => r.key)).to.deep.equal([
      'b',
    ]);
    const at5 = await store.due(NOW.plus({ minutes: 5 }), 10);
    expect(at5.map((r) => [r.key, r.status, r.attempts, r.lastError])).to.deep.equal([
      ['a', 'failed', 1, 'panel said no'],
      ['b', 'pending', 0, null],
    ]);
    expect(await store.claim(b!, 1)).to.equal(true);
    await store.markSent(b!.id, 'sent', NOW);
    expect((await store.due(NOW.plus({ minutes: 5 }), 10)).map((r) => r.key)).to.deep.equal(['a']);
    const sent = await knex(TABLES.outbox).where({ message_key: 'b' }).first('status', 'outcome', 'sent_at');
    expect([sent.status, sent.outcome, String(sent.sent_at).slice(0, 19)]).to.deep.equal([
      'sent',
      'sent',
      '2013-06-05 10:00:00',
    ]);
  });

  it('lets exactly one of two workers claim the same row, and neither claim a row read before another took it', async () => {
    await store.enqueue(knex, [email('a')], NOW);
    const [row] = await store.due(NOW, 10);
    const other = createOutboxStore(knex);
    const wins = await Promise.all([store.claim(row!, 1), other.claim(row!, 1)]);
    expect(wins.filter(Boolean)).to.have.length(1);
    // the row is 'sending' now, attempt 1: a worker still holding it as 'pending' cannot take it
    expect(await store.claim(row!, 1)).to.equal(false);
    const [now] = await store.unsent(10);
    expect([now!.status, now!.attempts]).to.deep.equal(['sending', 1]);
    // a later worker reads it as 'sending' (its sender stopped): of two taking it for attempt 2, one does
    const again = await Promise.all([store.claim(now!, 2), other.claim(now!, 2)]);
    expect(again.filter(Boolean)).to.have.length(1);
    const [after] = await store.unsent(10);
    expect([after!.status, after!.attempts]).to.deep.equal(['sending', 2]);
  });

  it('refuses a stored instant that is not one, naming the column', async () => {
    await store.enqueue(knex, [email('a')], NOW);
    // SQLite keeps any text; MariaDB (outside strict mode) keeps the zero date
    const bad = engine === 'sqlite' ? 'soon' : '0000-00-00 00:00:00.000';
    if (engine === 'sqlite') await knex(TABLES.outbox).update({ next_attempt_at: 'soon' });
    else
      await knex.transaction(async (trx) => {
        const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
        await trx.raw("SET SESSION sql_mode = ''");
        await trx.raw(`UPDATE ${TABLES.outbox} SET next_attempt_at = '0000-00-00 00:00:00'`);
        await trx.raw('SET SESSION sql_mode = ?', [mode]);
      });
    const err = await store.unsent(10).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ModuleError);
    expect((err as ModuleError).message).to.equal(
      `mod_overusage_outbox.next_attempt_at holds "${bad}", which is not a datetime`,
    );
  });
});
