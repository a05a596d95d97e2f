import { expect } from 'chai';
import type { Knex } from 'knex';
import { createBridgeStore, type BridgeStore, type CommandRow } from '../../module/adapters/bridge-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { instantOrNullIn } from '../../module/adapters/rows.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';

// 2026-12-06T10:00:00.000Z in epoch ms: 20793 days × 86 400 000 + 10 h × 3 600 000
const T0 = 20_793 * 86_400_000 + 10 * 3_600_000;
const SEC = 1000;

const email = { userid: 7, messagename: 'Overusage notice' };

const queuedRow = (key: string, over: Partial<CommandRow> = {}): CommandRow => ({
  key,
  conversationId: null,
  command: 'SendEmail',
  params: email,
  status: 'queued',
  result: null,
  message: null,
  ...over,
});

/**
 * The bridge's records on both engines: a nonce is accepted once, and a relayed command goes
 * queued → handed_out → done | failed | unknown, handed out once and settled once.
 */
describeEachEngine('bridge store', ({ db }) => {
  let knex: Knex;
  let store: BridgeStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createBridgeStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.bridgeCommands).delete();
    await knex(TABLES.bridgeNonces).delete();
  });

  /** the row's timestamps as ISO strings (they are not part of CommandRow) */
  async function times(key: string): Promise<(string | null)[]> {
    const r = (await knex(TABLES.bridgeCommands).where('command_key', key).first()) as Record<
      string,
      unknown
    >;
    return ['created_at', 'handed_at', 'reported_at'].map((c) => instantOrNullIn(r[c], c)?.toISO() ?? null);
  }

  const enqueue = (key: string, nowMs = T0) =>
    store.insertCommand(
      { key, conversationId: null, command: 'SendEmail', params: email, status: 'queued' },
      nowMs,
    );

  it('accepts a nonce the first time and refuses its replay', async () => {
    expect(await store.rememberNonce('n-1', T0)).to.equal(true);
    expect(await store.rememberNonce('n-1', T0 + 5 * SEC)).to.equal(false);
    expect(await store.rememberNonce('n-2', T0 + 5 * SEC)).to.equal(true);
  });

  it('forgets only the nonces seen before the cutoff, which are then accepted again', async () => {
    await store.rememberNonce('old', T0);
    await store.rememberNonce('edge', T0 + 60 * SEC);
    await store.rememberNonce('new', T0 + 61 * SEC);
    // cutoff 10:01:00: 'old' (10:00:00) is before it, 'edge' (10:01:00) is not
    expect(await store.pruneNonces(T0 + 60 * SEC)).to.equal(1);
    expect(await store.rememberNonce('old', T0 + 120 * SEC)).to.equal(true);
    expect(await store.rememberNonce('edge', T0 + 120 * SEC)).to.equal(false);
    expect(await store.rememberNonce('new', T0 + 120 * SEC)).to.equal(false);
  });

  it('queues a command with its params, no conversation and no hand-out time', async () => {
    await enqueue('q-1');
    expect(await store.get('q-1')).to.deep.equal(queuedRow('q-1'));
    expect(await times('q-1')).to.deep.equal(['2026-12-06T10:00:00.000Z', null, null]);
  });

  it('records a command handed out at once with its conversation and hand-out time', async () => {
    await store.insertCommand(
      {
        key: 'c-1',
        conversationId: 'conv-A',
        command: 'AddInvoicePayment',
        params: { invoiceid: 9 },
        status: 'handed_out',
      },
      T0 + 2 * SEC,
    );
    expect(await store.get('c-1')).to.deep.equal(
      queuedRow('c-1', {
        conversationId: 'conv-A',
        command: 'AddInvoicePayment',
        params: { invoiceid: 9 },
        status: 'handed_out',
      }),
    );
    expect(await times('c-1')).to.deep.equal(['2026-12-06T10:00:02.000Z', '2026-12-06T10:00:02.000Z', null]);
  });

  it('refuses a second command under a key already recorded, and keeps the first', async () => {
    await enqueue('q-1');
    const err = await store
      .insertCommand(
        { key: 'q-1', conversationId: 'conv-B', command: 'LogActivity', params: {}, status: 'handed_out' },
        T0 + SEC,
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(Error);
    expect(await store.list()).to.deep.equal([queuedRow('q-1')]);
  });

  it('gives the queued commands in the order they were queued, up to the limit', async () => {
    await enqueue('q-b');
    await enqueue('q-a');
    await store.insertCommand(
      { key: 'c-1', conversationId: 'conv-A', command: 'SendEmail', params: email, status: 'handed_out' },
      T0,
    );
    await enqueue('q-c');
    // the order of queuing, not of keys; the handed-out c-1 is not queued
    expect((await store.queued(10)).map((r) => r.key)).to.deep.equal(['q-b', 'q-a', 'q-c']);
    expect((await store.queued(2)).map((r) => r.key)).to.deep.equal(['q-b', 'q-a']);
  });

  it('hands queued commands out to a conversation, after which they are no longer queued', async () => {
    await enqueue('q-1');
    await enqueue('q-2');
    await store.markHandedOut(['q-1'], 'conv-A', T0 + 30 * SEC);
    expect(await store.get('q-1')).to.deep.equal(
      queuedRow('q-1', { conversationId: 'conv-A', status: 'handed_out' }),
    );
    expect(await times('q-1')).to.deep.equal(['2026-12-06T10:00:00.000Z', '2026-12-06T10:00:30.000Z', null]);
    expect((await store.queued(10)).map((r) => r.key)).to.deep.equal(['q-2']);
    await store.markHandedOut([], 'conv-A', T0 + 31 * SEC);
    expect((await store.queued(10)).map((r) => r.key)).to.deep.equal(['q-2']);
  });

  it('hands a command out once: a second hand-out to another conversation changes nothing', async () => {
    await enqueue('q-1');
    await store.markHandedOut(['q-1'], 'conv-A', T0 + 30 * SEC);
    await store.markHandedOut(['q-1'], 'conv-B', T0 + 40 * SEC);
    expect((await store.get('q-1'))?.conversationId).to.equal('conv-A');
    expect(await times('q-1')).to.deep.equal(['2026-12-06T10:00:00.000Z', '2026-12-06T10:00:30.000Z', null]);
    // nor does a hand-out of a command already settled
    await store.recordResult('q-1', { status: 'done', result: { result: 'success' } }, T0 + 50 * SEC);
    await store.markHandedOut(['q-1'], 'conv-C', T0 + 60 * SEC);
    expect(await store.get('q-1')).to.include({ status: 'done', conversationId: 'conv-A' });
  });

  it('records a done result with its answer and report time, and returns the row', async () => {
    await enqueue('q-1');
    await store.markHandedOut(['q-1'], 'conv-A', T0 + 30 * SEC);
    const expected = queuedRow('q-1', {
      conversationId: 'conv-A',
      status: 'done',
      result: { result: 'success', invoiceid: 12 },
    });
    expect(
      await store.recordResult(
        'q-1',
        { status: 'done', result: { result: 'success', invoiceid: 12 } },
        T0 + 45 * SEC,
      ),
    ).to.deep.equal(expected);
    expect(await store.get('q-1')).to.deep.equal(expected);
    expect(await times('q-1')).to.deep.equal([
      '2026-12-06T10:00:00.000Z',
      '2026-12-06T10:00:30.000Z',
      '2026-12-06T10:00:45.000Z',
    ]);
  });

  it('records a failure with its message and no answer', async () => {
    await enqueue('q-1');
    await store.markHandedOut(['q-1'], 'conv-A', T0);
    expect(
      await store.recordResult('q-1', { status: 'failed', message: 'Client ID Not Found' }, T0),
    ).to.deep.equal(
      queuedRow('q-1', { conversationId: 'conv-A', status: 'failed', message: 'Client ID Not Found' }),
    );
  });

  it('applies a result once: a second report for a done or failed command changes nothing', async () => {
    await enqueue('d-1');
    await enqueue('f-1');
    await store.markHandedOut(['d-1', 'f-1'], 'conv-A', T0);
    await store.recordResult('d-1', { status: 'done', result: { result: 'success' } }, T0 + SEC);
    await store.recordResult('f-1', { status: 'failed', message: 'first' }, T0 + SEC);
    // the repeats come back with the row as the first report left it
    expect(
      await store.recordResult('d-1', { status: 'failed', message: 'late' }, T0 + 9 * SEC),
    ).to.deep.equal(
      queuedRow('d-1', { conversationId: 'conv-A', status: 'done', result: { result: 'success' } }),
    );
    expect(
      await store.recordResult('f-1', { status: 'done', result: { result: 'success' } }, T0 + 9 * SEC),
    ).to.deep.equal(queuedRow('f-1', { conversationId: 'conv-A', status: 'failed', message: 'first' }));
    expect(await store.recordResult('d-1', { status: 'unknown' }, T0 + 9 * SEC)).to.include({
      status: 'done',
    });
    // reported at 10:00:01, not at a repeat's 10:00:09
    expect((await times('d-1'))[2]).to.equal('2026-12-06T10:00:01.000Z');
    expect((await times('f-1'))[2]).to.equal('2026-12-06T10:00:01.000Z');
  });

  it('lets a later report settle a command whose outcome was unknown', async () => {
    await enqueue('q-1');
    await store.markHandedOut(['q-1'], 'conv-A', T0);
    expect(
      await store.recordResult('q-1', { status: 'unknown', message: 'bridge timed out' }, T0 + SEC),
    ).to.include({
      status: 'unknown',
      message: 'bridge timed out',
    });
    // a second unknown does not overwrite the first
    await store.recordResult('q-1', { status: 'unknown', message: 'again' }, T0 + 2 * SEC);
    expect((await store.get('q-1'))?.message).to.equal('bridge timed out');
    expect(
      await store.recordResult('q-1', { status: 'done', result: { result: 'success' } }, T0 + 3 * SEC),
    ).to.deep.equal(
      queuedRow('q-1', { conversationId: 'conv-A', status: 'done', result: { result: 'success' } }),
    );
    expect((await times('q-1'))[2]).to.equal('2026-12-06T10:00:03.000Z');
  });

  it('gives null for a result reported under a key it never recorded', async () => {
    expect(await store.recordResult('nope', { status: 'done', result: {} }, T0)).to.equal(null);
    expect(await store.get('nope')).to.equal(null);
  });

  it('marks unknown only the commands handed out, not those queued or settled', async () => {
    await enqueue('h-1');
    await enqueue('q-1');
    await enqueue('d-1');
    await store.markHandedOut(['h-1', 'd-1'], 'conv-A', T0);
    await store.recordResult('d-1', { status: 'done', result: { result: 'success' } }, T0);
    await store.markUnknown(['h-1', 'q-1', 'd-1']);
    expect((await store.list()).map((r) => [r.key, r.status])).to.deep.equal([
      ['h-1', 'unknown'],
      ['q-1', 'queued'],
      ['d-1', 'done'],
    ]);
    await store.markUnknown([]);
    expect((await store.list({ status: 'unknown' })).map((r) => r.key)).to.deep.equal(['h-1']);
  });

  it('lists every command in the order recorded, or those of one status', async () => {
    await enqueue('q-1');
    await enqueue('h-1');
    await enqueue('f-1');
    await enqueue('q-2');
    await store.markHandedOut(['h-1', 'f-1'], 'conv-A', T0);
    await store.recordResult('f-1', { status: 'failed', message: 'no' }, T0);
    expect((await store.list()).map((r) => [r.key, r.status])).to.deep.equal([
      ['q-1', 'queued'],
      ['h-1', 'handed_out'],
      ['f-1', 'failed'],
      ['q-2', 'queued'],
    ]);
    expect((await store.list({ status: 'queued' })).map((r) => r.key)).to.deep.equal(['q-1', 'q-2']);
    expect((await store.list({ status: 'handed_out' })).map((r) => r.key)).to.deep.equal(['h-1']);
    expect(await store.list({ status: 'done' })).to.deep.equal([]);
  });
});
