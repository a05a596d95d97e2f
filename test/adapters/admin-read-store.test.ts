import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { auditLog } from '../../module/adapters/audit-store.js';
import { createAdminReadStore, type AdminReadStore } from '../../module/adapters/admin-read-store.js';
import { createLineStore } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { isUnreadable, type UnreadableRow } from '../../module/adapters/rows.js';
import { TABLES } from '../../module/adapters/tables.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';
import { accessPlan } from '../support/query-plan.js';

/** The rows of a list, none of which may be unreadable here: every row is as the module wrote it. */
const readable = async <R extends object>(rows: Promise<R[]>): Promise<Array<Exclude<R, UnreadableRow>>> => {
  const all = await rows;
  for (const r of all) if (isUnreadable(r)) throw new Error(`row ${r.id}: ${r.unreadable.column}`);
  return all as Array<Exclude<R, UnreadableRow>>;
};

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

/**
 * The admin tab's reads over all clients. Three €500.00 lines of May 2013 on invoices 21–23;
 * disputes on lines 1 and 2 opened on 5 and 4 June (2 waits longest), the one on line 3 decided;
 * charge 4's line was released on 3 June when invoice 9 was paid first.
 */
describeEachEngine('admin read store', ({ db }) => {
  let knex: Knex;
  let store: AdminReadStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createAdminReadStore(knex);
    const lines = createLineStore(knex);
    for (const id of [1, 2, 3, 4]) await insertCharge(knex, id);
    for (const id of [1, 2, 3]) {
      await lines.insertPendingIfChargeUnbilled({
        chargeId: id,
        serviceId: 10,
        clientId: 1,
        invoiceId: 20 + id,
        refCode: `OU-A${id}`,
        amountMinor: 50_000n,
        currency: 'EUR',
        description: `Overusage ${id}`,
        locale: 'en_GB',
        invoiceDate: '2013-06-02',
        window: { days: 14, counting: 'calendar', holidays: 'none' },
        deadlineLastDay: '2013-06-16',
        deadlineClosesAt: at('2013-06-16T21:59:59.999Z'),
        createdAt: at('2013-06-02T07:00:00Z'),
      });
    }
    const lineId = async (ref: string) =>
      Number((await knex(TABLES.lines).where({ ref_code: ref }).first('id')).id);
    const dispute = async (ref: string, state: string, openedAt: string) =>
      knex(TABLES.disputes).insert({
        line_id: await lineId(ref),
        client_id: 1,
        service_id: 10,
        state,
        reason: 'not mine',
        opened_by_type: 'client',
        opened_at: openedAt,
        hold_state: 'held',
        original_invoice_id: 21,
        amount_before_minor: '50000',
        currency: 'EUR',
        updated_at: openedAt,
      });
    await dispute('OU-A1', 'open', '2013-06-05 10:00:00.000');
    await dispute('OU-A2', 'open', '2013-06-04 10:00:00.000');
    await dispute('OU-A3', 'upheld', '2013-06-03 10:00:00.000');
    await auditLog.record(
      knex,
      {
        actor: { type: 'system', id: null },
        action: 'line.released',
        entityType: 'charge',
        entityId: 4,
        details: { invoiceId: 9, invoiceStatus: 'Paid' },
      },
      at('2013-06-03T08:00:00Z'),
    );
    await auditLog.record(
      knex,
      { actor: { type: 'admin', id: '1' }, action: 'dispute.upheld', entityType: 'dispute', entityId: 3 },
      at('2013-06-06T08:00:00Z'),
    );
  });

  it('lists open disputes the oldest first, by the (opened_at, id) cursor, with their line', async () => {
    const open = await readable(store.openDisputes(null, 10));
    expect(open.map((d) => [d.refCode, d.state, d.amountBeforeMinor])).to.deep.equal([
      ['OU-A2', 'open', 50_000n],
      ['OU-A1', 'open', 50_000n],
    ]);
    expect(
      (await readable(store.openDisputes(['2013-06-04 10:00:00.000', open[0]!.id], 10))).map(
        (d) => d.refCode,
      ),
    ).to.deep.equal(['OU-A1']);
    expect(await store.countOpenDisputes()).to.equal(2);
  });

  it('reads a page deep in the open queue as a range of the (state, opened_at) index', async () => {
    // At 100 000 open disputes MariaDB read the page after a cursor as every open dispute before it
    // (access `ref` on state alone: key_len 50, the VARCHAR(12) state in utf8mb4 plus its length
    // bytes) in 6–8 ms instead of the range (state, opened_at) in 1 ms (key_len 57: + the 7 bytes
    // of DATETIME(3)). SQLite searches the same range. The SQL the store sends is explained as sent.
    const plan = await accessPlan(
      knex,
      db().engine,
      'd',
      () => store.openDisputes(['2013-06-04 10:00:00.000', 2], 10),
      (sql) => sql.includes('opened_at'),
    );
    expect(plan).to.deep.equal(
      db().engine === 'mysql'
        ? ['range', 'mod_overusage_disputes_state_opened_at_index', '57']
        : ['SEARCH d USING INDEX mod_overusage_disputes_state_opened_at_index (state=? AND opened_at>?)'],
    );
  });

  it('lists the decided disputes apart, newest first', async () => {
    expect((await readable(store.disputes(true, null, 10))).map((d) => d.refCode)).to.deep.equal(['OU-A3']);
    expect((await readable(store.disputes(false, null, 10))).map((d) => d.refCode)).to.deep.equal([
      'OU-A3',
      'OU-A2',
      'OU-A1',
    ]);
  });

  it('tells the charge whose line was released which invoice was paid first', async () => {
    expect(await store.waitingCharges()).to.deep.equal([
      {
        chargeId: 4,
        serviceId: 10,
        clientId: 1,
        periodStart: '2013-05-01',
        periodEnd: '2013-05-31',
        amountMinor: 50_000n,
        currency: 'EUR',
        invoiceId: 9,
        invoiceStatus: 'Paid',
        releasedAt: '2013-06-03T08:00:00.000Z',
      },
    ]);
    expect(await store.waitingCharges(11)).to.deep.equal([]);
  });

  it('pages the audit trail newest first, narrowed by entity and actor', async () => {
    expect((await readable(store.audit({}, null, 10))).map((a) => a.action)).to.deep.equal([
      'dispute.upheld',
      'line.released',
    ]);
    expect(
      (await readable(store.audit({ actorType: 'system' }, null, 10))).map((a) => [a.entityType, a.entityId]),
    ).to.deep.equal([['charge', '4']]);
  });
});
