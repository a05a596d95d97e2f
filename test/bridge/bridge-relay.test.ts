import { expect } from 'chai';
import type { Knex } from 'knex';
import { PanelApiError } from '../../module/adapters/panel-api.js';
import { createBridgeStore, type BridgeStore } from '../../module/adapters/bridge-store.js';
import {
  createBridgeRelay,
  toLocalApiParams,
  type BridgeRelay,
  type RelayStep,
} from '../../module/adapters/bridge-relay.js';
import { migrateDownAll, migrateLatest } from '../../module/adapters/migrator.js';
import { describeEachEngine } from '../support/engines.js';

const INVOICE = {
  result: 'success',
  invoiceid: '5',
  invoicenum: '',
  userid: '3',
  date: '2013-06-02',
  duedate: '2013-06-09',
  datepaid: '0000-00-00 00:00:00',
  subtotal: '19.95',
  credit: '0.00',
  tax: '0.00',
  tax2: '0.00',
  total: '19.95',
  balance: '19.95',
  taxrate: '0.00',
  taxrate2: '0.00',
  status: 'Unpaid',
  paymentmethod: 'banktransfer',
  notes: '',
  items: { item: [] },
  transactions: '',
};

const commandsOf = (s: RelayStep) => {
  if (s.status !== 'commands') throw new Error(`expected commands, got ${JSON.stringify(s)}`);
  return s;
};

describeEachEngine('relay mode: panel commands handed to the bridge', ({ db }) => {
  let knex: Knex;
  let store: BridgeStore;
  let relay: BridgeRelay;

  before(async () => {
    knex = db().knex;
    await migrateDownAll(knex);
    await migrateLatest(knex);
  });

  beforeEach(async () => {
    await knex('mod_overusage_bridge_commands').delete();
    store = createBridgeStore(knex);
    relay = createBridgeRelay({ store, pollMs: 100, idleTimeoutMs: 300 });
  });

  afterEach(() => relay.close());

  it('hands a read to the bridge and gives the work its answer; reads are not recorded', async () => {
    const first = commandsOf(await relay.converse(async () => (await relay.api.getInvoice(5)).total));
    expect(first.commands).to.have.length(1);
    expect(first.commands[0]).to.deep.include({ command: 'GetInvoice', params: { invoiceid: '5' } });
    expect(first.commands[0]!.key).to.match(/^r-/);
    const done = await relay.resume(first.conversation, [
      { key: first.commands[0]!.key, status: 'ok', result: INVOICE },
    ]);
    expect(done).to.deep.equal({ status: 'done', answer: '19.95' });
    expect(await store.list()).to.deep.equal([]);
    expect(relay.active()).to.equal(0);
  });

  it('records a write before it leaves, and its reported result', async () => {
    const step = commandsOf(
      await relay.converse(() =>
        relay.api.updateInvoice({
          invoiceId: 5,
          newItems: [{ description: 'Bandwidth overusage [OU-1]', amount: '500.00', taxed: true }],
        }),
      ),
    );
    const c = step.commands[0]!;
    expect(c.command).to.equal('UpdateInvoice');
    expect(c.params).to.deep.equal({
      invoiceid: '5',
      newitemdescription: ['Bandwidth overusage [OU-1]'],
      newitemamount: ['500.00'],
      newitemtaxed: ['1'],
    });
    expect((await store.get(c.key))!.status).to.equal('handed_out');
    const done = await relay.resume(step.conversation, [
      { key: c.key, status: 'ok', result: { result: 'success', invoiceid: '5' } },
    ]);
    expect(done).to.deep.equal({ status: 'done', answer: { invoiceId: 5 } });
    expect(await store.get(c.key)).to.deep.include({
      status: 'done',
      result: { result: 'success', invoiceid: '5' },
    });
  });

  it('gives the work a PanelApiError for a WHMCS error, a refusal or an unknown outcome', async () => {
    for (const [reported, kind, status] of [
      [{ status: 'ok', result: { result: 'error', message: 'Invoice ID Not Found' } }, 'api', 'failed'],
      [{ status: 'refused', message: 'the bridge does not run UpdateInvoice' }, 'api', 'failed'],
      [{ status: 'unknown', message: 'localAPI failed' }, 'transport', 'unknown'],
    ] as const) {
      const step = commandsOf(
        await relay.converse(() =>
          relay.api.updateInvoice({ invoiceId: 5, status: 'Cancelled' }).then(
            () => 'ok',
            (e: PanelApiError) => `${e.kind}: ${e.message}`,
          ),
        ),
      );
      const key = step.commands[0]!.key;
      const done = await relay.resume(step.conversation, [{ key, ...reported }]);
      expect(done.status).to.equal('done');
      expect((done as { answer: string }).answer).to.match(new RegExp(`^${kind}: `));
      expect((await store.get(key))!.status).to.equal(status);
    }
  });

  it('sends calls made at the same time in one step', async () => {
    const step = commandsOf(
      await relay.converse(() => Promise.all([relay.api.getInvoice(5), relay.api.getInvoice(6)])),
    );
    expect(step.commands.map((c) => c.params.invoiceid)).to.deep.equal(['5', '6']);
  });

  it('answers "working" while the work makes no call, so no exchange outlives the bridge’s timeout', async () => {
    // the work finishes only when the test says so, after the relay has answered "working"
    let finish!: (answer: string) => void;
    const first = await relay.converse(() => new Promise<string>((r) => (finish = r)));
    expect(first.status).to.equal('working');
    finish('slow');
    let step: RelayStep = first;
    while (step.status === 'working') step = await relay.resume(step.conversation, []);
    expect(step).to.deep.equal({ status: 'done', answer: 'slow' });
  });

  it('outside a bridge request: reads fail with a clear error, emails and log lines wait for the next AfterCronJob', async () => {
    let err: unknown;
    await relay.api.getInvoice(5).catch((e) => (err = e));
    expect(err).to.be.instanceOf(PanelApiError);
    expect((err as Error).message).to.match(/relay mode.*outside a bridge request/);
    await relay.api.sendEmail({ messageName: 'Overusage Notice', id: 3, customVars: { a: 'b' } });
    await relay.api.logActivity('Overusage: noted', 3);
    const queued = await store.list({ status: 'queued' });
    expect(queued.map((q) => q.command)).to.deep.equal(['SendEmail', 'LogActivity']);

    // an AfterCronJob conversation hands them out first, under the keys they were queued with
    const step = commandsOf(await relay.converse(async () => 'hook done', { deliverQueued: true }));
    expect(step.commands.map((c) => c.key)).to.deep.equal(queued.map((q) => q.key));
    expect(step.commands[0]!.params).to.deep.include({ messagename: 'Overusage Notice', id: '3' });
    const done = await relay.resume(
      step.conversation,
      step.commands.map((c) => ({ key: c.key, status: 'ok' as const, result: { result: 'success' } })),
    );
    expect(done).to.deep.equal({ status: 'done', answer: 'hook done' });
    expect((await store.list()).map((c) => c.status)).to.deep.equal(['done', 'done']);
  });

  it('a bridge that never comes back: the work sees a timeout, the write stays "unknown", never re-sent; a late report settles it', async () => {
    let seen: unknown;
    let work!: Promise<unknown>;
    const step = commandsOf(
      await relay.converse(
        () => (work = relay.api.updateInvoice({ invoiceId: 5, status: 'Paid' }).catch((e) => (seen = e))),
      ),
    );
    const key = step.commands[0]!.key;
    // no answer comes: the work ends when the relay's idle timeout (300 ms) expires the conversation
    await work;
    expect(seen).to.be.instanceOf(PanelApiError);
    expect((seen as PanelApiError).kind).to.equal('timeout');
    expect((await store.get(key))!.status).to.equal('unknown');
    // the next conversation does not hand it out again
    const next = await relay.converse(async () => 'nothing', { deliverQueued: true });
    expect(next).to.deep.equal({ status: 'done', answer: 'nothing' });
    // the bridge's outbox reports it on its next cron run
    expect(
      await relay.report([{ key, status: 'ok', result: { result: 'success', invoiceid: '5' } }]),
    ).to.deep.equal([key]);
    expect((await store.get(key))!.status).to.equal('done');
    // results for a conversation that is over still count
    const late = await relay.resume(step.conversation, [
      { key, status: 'ok', result: { result: 'success' } },
    ]);
    expect(late.status).to.equal('failed');
  });

  it('a report for a key a conversation still waits on ends that conversation (the bridge left it)', async () => {
    let seen: unknown;
    const step = commandsOf(
      await relay.converse(async () => {
        await relay.api.updateInvoice({ invoiceId: 5, status: 'Paid' }).catch((e) => (seen = e));
        return 'after';
      }),
    );
    await relay.report([
      { key: step.commands[0]!.key, status: 'ok', result: { result: 'success', invoiceid: '5' } },
    ]);
    await new Promise((r) => setImmediate(r));
    expect((seen as PanelApiError).kind).to.equal('timeout');
    expect((await store.get(step.commands[0]!.key))!.status).to.equal('done');
  });

  it('flattens parameters as http_build_query would, for localAPI', () => {
    expect(
      toLocalApiParams({
        a: true,
        b: false,
        c: 5,
        d: 10n,
        e: null,
        f: undefined,
        g: ['x', 2],
        h: { 12: 'y', z: true },
      }),
    ).to.deep.equal({ a: '1', b: '0', c: '5', d: '10', g: ['x', '2'], h: { 12: 'y', z: '1' } });
  });
});
