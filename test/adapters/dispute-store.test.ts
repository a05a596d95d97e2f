import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createDisputeStore,
  type DisputeStore,
  type NewDispute,
} from '../../module/adapters/dispute-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN_ACTOR as ADMIN } from '../support/module-fixture.js';

const NOW = DateTime.fromISO('2013-06-05T10:00:00.000Z', { zone: 'utc' });
const LATER = DateTime.fromISO('2013-06-06T09:30:00.000Z', { zone: 'utc' });

/**
 * The disputes store on both engines: what it writes it reads back exactly (money beyond 2^53
 * minor units, instants to the millisecond), a claim is taken once, and a stored word the state
 * tables do not know is refused where it is read, naming its column. Lines are written here by
 * hand as billing writes them: a €500.00 line of client 7 on invoice 31, open to dispute until
 * 16 June 2013 (closing at 22:00 UTC, midnight in Amsterdam).
 */
describeEachEngine('disputes store', ({ db }) => {
  let knex: Knex;
  let store: DisputeStore;
  let seq = 0;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
  });
  beforeEach(() => {
    store = createDisputeStore(knex);
  });

  /** a placed line of its own (ids never repeat between tests: the database is shared by the suite) */
  async function line(over: Record<string, unknown> = {}): Promise<number> {
    seq++;
    const [id] = await knex(TABLES.lines).insert({
      charge_id: 1000 + seq,
      service_id: 40,
      client_id: 7,
      invoice_id: 31,
      invoice_item_id: 90 + seq,
      ref_code: `OU-T-${seq}`,
      status: 'placed',
      amount_minor: '50000',
      currency: 'EUR',
      description: 'Overusage May 2013: 1,000 GB × €0.50',
      locale: 'en-GB',
      invoice_date: '2013-06-02',
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'none',
      deadline_last_day: '2013-06-16',
      deadline_closes_at: '2013-06-16 22:00:00.000',
      created_at: '2013-06-02 07:00:00.000',
      ...over,
    });
    return Number(id ?? (await knex(TABLES.lines).max({ id: 'id' }).first())!.id);
  }
  const opening = (lineId: number, over: Partial<NewDispute> = {}): NewDispute => ({
    lineId,
    clientId: 7,
    serviceId: 40,
    reason: 'I cannot tell where this traffic came from',
    openedBy: { type: 'client', id: '7' },
    overrideReason: null,
    originalInvoiceId: 31,
    originalItemId: 95,
    amountBeforeMinor: 50_000n,
    currency: 'EUR',
    ...over,
  });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ModuleError,
    );

  it('reads back a line as billing wrote it, with its deadline as an instant', async () => {
    const id = await line();
    const l = await store.line(id);
    expect(l).to.deep.include({
      id,
      clientId: 7,
      serviceId: 40,
      invoiceId: 31,
      status: 'placed',
      amountMinor: 50_000n,
      currency: 'EUR',
      deadlineLastDay: '2013-06-16',
    });
    expect(l!.deadlineClosesAt.toISO()).to.equal('2013-06-16T22:00:00.000Z');
  });

  it('finds a line for its own client only', async () => {
    const id = await line();
    expect(await store.line(id, { clientId: 8 })).to.equal(null);
    expect((await store.line(id, { clientId: 7 }))?.id).to.equal(id);
  });

  it('writes one open dispute per line: a second opening gives the first back', async () => {
    const id = await line();
    const first = await store.insertOpen(opening(id), NOW);
    const second = await store.insertOpen(opening(id, { reason: 'again', openedBy: ADMIN }), LATER);
    expect(second.id).to.equal(first.id);
    expect([second.reason, second.openedBy, second.state, second.holdState, second.version]).to.deep.equal([
      'I cannot tell where this traffic came from',
      { type: 'client', id: '7' },
      'open',
      'holding',
      0,
    ]);
    expect(second.openedAt.toISO()).to.equal('2013-06-05T10:00:00.000Z');
    expect(await knex(TABLES.disputes).where({ line_id: id }).count({ n: '*' }).first()).to.satisfy(
      (r: { n: unknown }) => Number(r.n) === 1,
    );
  });

  it('keeps money exact beyond 2^53 minor units', async () => {
    // 2^53 = 9 007 199 254 740 992; one more cannot be held by a float
    const id = await line({ amount_minor: '9007199254740993' });
    const d = await store.insertOpen(opening(id, { amountBeforeMinor: 9_007_199_254_740_993n }), NOW);
    expect((await store.get(d.id))!.amountBeforeMinor).to.equal(9_007_199_254_740_993n);
    expect((await store.line(id))!.amountMinor).to.equal(9_007_199_254_740_993n);
  });

  it('records the hold step by step, each step bumping the version', async () => {
    const id = await line();
    const d = await store.insertOpen(opening(id), NOW);
    await store.update(d.id, { heldInvoiceId: 32, heldItemId: 120 }, NOW);
    await store.transaction(async (tx) => {
      await tx.holdLine(id, { invoiceId: 32, itemId: 120 });
      await tx.update(d.id, { holdState: 'held' }, LATER);
    });
    const after = (await store.get(d.id))!;
    expect([after.holdState, after.heldInvoiceId, after.heldItemId, after.version]).to.deep.equal([
      'held',
      32,
      120,
      2,
    ]);
    expect(await store.line(id)).to.deep.include({ status: 'held', invoiceId: 32, invoiceItemId: 120 });
  });

  it('lets one claim of a decision through; a second, or one at an old version, is refused', async () => {
    const id = await line();
    const d = await store.insertOpen(opening(id), NOW);
    const claim = {
      to: 'adjusted' as const,
      amountAfterMinor: 35_000n,
      resolution: {
        adjustment: { kind: 'precommit' as const },
        note: 'agreed rate',
        rerated: { from: '0.50', to: '0.35' },
      },
      resolvedBy: ADMIN,
      newDueDate: '2013-06-19',
      settlement: null,
    };
    expect(await store.claim(d.id, { ...claim, expectedVersion: 5 }, LATER)).to.equal(false);
    expect(await store.claim(d.id, { ...claim, expectedVersion: 0 }, LATER)).to.equal(true);
    expect(await store.claim(d.id, { ...claim, to: 'waived' }, LATER)).to.equal(false);
    const claimed = (await store.get(d.id))!;
    expect([
      claimed.resolvingTo,
      claimed.amountAfterMinor,
      claimed.newDueDate,
      claimed.version,
      claimed.resolvedBy,
    ]).to.deep.equal(['adjusted', 35_000n, '2013-06-19', 1, ADMIN]);
    expect(claimed.resolution).to.deep.equal(claim.resolution);
  });

  it('finishes a claimed decision once, with the line after it', async () => {
    const id = await line();
    const d = await store.insertOpen(opening(id), NOW);
    await store.claim(
      d.id,
      {
        to: 'waived',
        amountAfterMinor: null,
        resolution: { adjustment: null, note: null, rerated: null },
        resolvedBy: ADMIN,
        newDueDate: '2013-06-19',
        settlement: null,
      },
      NOW,
    );
    const done = await store.transaction(async (tx) => {
      const n = await tx.finish(d.id, 'waived', 'released', LATER);
      await tx.decideLine(id, { status: 'waived', amountMinor: 0n, description: 'waived' });
      return n;
    });
    expect(done).to.equal(true);
    expect(await store.finish(d.id, 'waived', 'released', LATER)).to.equal(false);
    const after = (await store.get(d.id))!;
    expect([after.state, after.resolvingTo, after.holdState, after.resolvedAt?.toISO()]).to.deep.equal([
      'waived',
      null,
      'released',
      '2013-06-06T09:30:00.000Z',
    ]);
    expect(await store.line(id)).to.deep.include({
      status: 'waived',
      amountMinor: 0n,
      description: 'waived',
    });
  });

  it('writes nothing of a transaction that fails half-way', async () => {
    const id = await line();
    const d = await store.insertOpen(opening(id), NOW);
    const err = await refusal(
      store.transaction(async (tx) => {
        await tx.holdLine(id, { invoiceId: 32, itemId: 120 });
        await tx.update(d.id, { holdState: 'held' }, LATER);
        throw new ModuleError('UPSTREAM', 'the panel went away');
      }),
    );
    expect(err?.message).to.equal('the panel went away');
    expect([(await store.get(d.id))!.holdState, (await store.line(id))!.status]).to.deep.equal([
      'holding',
      'placed',
    ]);
  });

  it('lists what a failure left half-way: holds not finished and decisions not carried out', async () => {
    const [a, b, c] = [await line(), await line(), await line()];
    const holding = await store.insertOpen(opening(a), NOW);
    const deciding = await store.insertOpen(opening(b), NOW);
    const settled = await store.insertOpen(opening(c), NOW);
    await store.update(deciding.id, { holdState: 'held' }, NOW);
    await store.claim(
      deciding.id,
      {
        to: 'upheld',
        amountAfterMinor: null,
        resolution: { adjustment: null, note: null, rerated: null },
        resolvedBy: ADMIN,
        newDueDate: '2013-06-19',
        settlement: null,
      },
      NOW,
    );
    await store.update(settled.id, { holdState: 'held' }, NOW);
    const mine = (await store.unfinished(500)).filter((u) =>
      [holding.id, deciding.id, settled.id].includes(u.id),
    );
    expect(mine).to.deep.equal([
      { id: holding.id, deciding: false },
      { id: deciding.id, deciding: true },
    ]);
  });

  it("lists a client's open disputes, and the open disputes' lines of an invoice, original or held", async () => {
    const [a, b] = [
      await line({ client_id: 70, invoice_id: 310, ref_code: 'OU-LIST-A' }),
      await line({ client_id: 70, invoice_id: 310, ref_code: 'OU-LIST-B', amount_minor: '1234' }),
    ];
    const da = await store.insertOpen(opening(a, { clientId: 70, originalInvoiceId: 310 }), NOW);
    const db2 = await store.insertOpen(
      opening(b, { clientId: 70, originalInvoiceId: 310, amountBeforeMinor: 1234n }),
      NOW,
    );
    await store.update(da.id, { heldInvoiceId: 311, heldItemId: 5 }, NOW);
    await store.claim(
      db2.id,
      {
        to: 'withdrawn',
        amountAfterMinor: null,
        resolution: { adjustment: null, note: null, rerated: null },
        resolvedBy: { type: 'client', id: '70' },
        newDueDate: '2013-06-19',
        settlement: null,
      },
      NOW,
    );
    await store.finish(db2.id, 'withdrawn', 'published', NOW);
    expect(await store.openForClient(70)).to.deep.equal([
      {
        disputeId: da.id,
        lineId: a,
        description: 'Overusage May 2013: 1,000 GB × €0.50',
        amountMinor: 50_000n,
        currency: 'EUR',
      },
    ]);
    expect((await store.openLinesOfInvoice(310)).map((l) => l.refCode)).to.deep.equal(['OU-LIST-A']);
    expect((await store.openLinesOfInvoice(311)).map((l) => l.refCode)).to.deep.equal(['OU-LIST-A']);
    expect(await store.openLinesOfInvoice(312)).to.deep.equal([]);
  });

  for (const [column, value, message] of [
    [
      'hold_state',
      'frozen',
      'mod_overusage_disputes.hold_state holds "frozen", which is not one of holding, held, refund_decision, published, released',
    ],
    [
      'state',
      'closed',
      'mod_overusage_disputes.state holds "closed", which is not one of open, upheld, waived, adjusted, withdrawn, voided',
    ],
    [
      'settlement',
      'maybe',
      'mod_overusage_disputes.settlement holds "maybe", which is not one of credit, refund, crediting, credited',
    ],
    [
      'opened_by_type',
      'robot',
      'mod_overusage_disputes.opened_by_type holds "robot", which is not one of system, admin, client, cli',
    ],
  ] as const) {
    it(`refuses a dispute whose ${column} was written by hand as "${value}", naming the column`, async () => {
      const d = await store.insertOpen(opening(await line()), NOW);
      await knex(TABLES.disputes)
        .where({ id: d.id })
        .update({ [column]: value });
      const err = await refusal(store.get(d.id));
      expect([err?.code, err?.message]).to.deep.equal(['UNEXPECTED_STATE', message]);
    });
  }

  it('refuses a line whose status was written by hand, naming the column', async () => {
    const id = await line({ status: 'billed' });
    const err = await refusal(store.line(id));
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_lines.status holds "billed", which is not one of pending, placed, held, waived',
    ]);
  });
});
