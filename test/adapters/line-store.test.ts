import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createChargeStore, type ChargeStore } from '../../module/adapters/charge-store.js';
import { createLineStore, type LineStore, type NewLine } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { insertCharge } from '../support/charge-rows.js';

const AT = DateTime.fromISO('2013-06-02T07:00:00Z', { zone: 'utc' });

const newLine = (chargeId: number, over: Partial<NewLine> = {}): NewLine => ({
  chargeId,
  serviceId: 10,
  clientId: 1,
  invoiceId: 7,
  refCode: `OU-${String(chargeId).padStart(10, '0')}`,
  amountMinor: 50_000n,
  currency: 'EUR',
  description: 'Overusage May 2013',
  locale: 'en_GB',
  invoiceDate: '2013-06-02',
  window: { days: 14, counting: 'calendar', holidays: 'none' },
  deadlineLastDay: '2013-06-16',
  deadlineClosesAt: DateTime.fromISO('2013-06-16T21:59:59.999Z', { zone: 'utc' }),
  createdAt: AT,
  ...over,
});

describeEachEngine('line store', ({ db }) => {
  let knex: Knex;
  let lines: LineStore;
  let charges: ChargeStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    lines = createLineStore(knex);
    charges = createChargeStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.deliveries).delete();
    await knex(TABLES.lines).delete();
    await knex(TABLES.charges).delete();
  });

  it('writes a pending line for an unbilled charge and reads it back with every figure as written', async () => {
    await insertCharge(knex, 1);
    const written = await lines.insertPendingIfChargeUnbilled(newLine(1));
    const [line] = await lines.onInvoice(7);
    // the line it answers is the line as read back, its id included
    expect(written).to.deep.equal(line);
    expect({ ...line, id: 0 }).to.deep.equal({
      id: 0,
      chargeId: 1,
      serviceId: 10,
      clientId: 1,
      invoiceId: 7,
      refCode: 'OU-0000000001',
      status: 'pending',
      amountMinor: 50_000n,
      currency: 'EUR',
      description: 'Overusage May 2013',
      deadlineLastDay: '2013-06-16',
    });
  });

  it('answers each line it writes with its own id', async () => {
    for (const id of [1, 2, 3]) await insertCharge(knex, id);
    const written = [];
    for (const id of [1, 2, 3]) written.push(await lines.insertPendingIfChargeUnbilled(newLine(id)));
    expect(written).to.deep.equal(await lines.onInvoice(7));
    expect(new Set(written.map((l) => l?.id)).size).to.equal(3);
  });

  it('writes no second line for a charge that has one', async () => {
    await insertCharge(knex, 1);
    await lines.insertPendingIfChargeUnbilled(newLine(1));
    expect(
      await lines.insertPendingIfChargeUnbilled(newLine(1, { refCode: 'OU-SECOND0001', invoiceId: 8 })),
    ).to.equal(null);
    expect((await knex(TABLES.lines).select('ref_code')).map((r) => r.ref_code)).to.deep.equal([
      'OU-0000000001',
    ]);
  });

  it('writes no line for a charge rated again meanwhile (voided, or at another amount) or already billed', async () => {
    await insertCharge(knex, 1, { status: 'void' });
    await insertCharge(knex, 2, { amount_minor: '35000' });
    await insertCharge(knex, 3, { status: 'billed' });
    // the line was worked out from a €500.00 charge: charge 2 now bills €350.00
    for (const id of [1, 2, 3]) expect(await lines.insertPendingIfChargeUnbilled(newLine(id))).to.equal(null);
    expect(await lines.onInvoice(7)).to.deep.equal([]);
  });

  it('places a pending line once, and bills its charge in the same transaction', async () => {
    await insertCharge(knex, 1);
    await lines.insertPendingIfChargeUnbilled(newLine(1));
    const [line] = await lines.onInvoice(7, ['pending']);
    const placed = await lines.transaction(async (trx) => {
      const first = await lines.markPlaced(trx, line!.id, 99, AT);
      await charges.markBilled(trx, 1, AT);
      return first;
    });
    expect(placed).to.equal(true);
    expect(await lines.transaction((trx) => lines.markPlaced(trx, line!.id, 100, AT))).to.equal(false);
    const row = await knex(TABLES.lines).first('status', 'invoice_item_id');
    expect([row.status, Number(row.invoice_item_id)]).to.deep.equal(['placed', 99]);
    expect((await knex(TABLES.charges).first('status')).status).to.equal('billed');
    expect(await lines.onInvoice(7, ['pending'])).to.deep.equal([]);
  });

  it('places a pending line and bills its charge in one step, once, leaving every other line and charge as they were', async () => {
    for (const id of [1, 2]) await insertCharge(knex, id);
    const a = await lines.insertPendingIfChargeUnbilled(newLine(1));
    await lines.insertPendingIfChargeUnbilled(newLine(2));
    expect(await lines.transaction((trx) => lines.placeAndBill(trx, a!, 99, AT))).to.equal(true);
    // no longer pending: nothing changes, the first item stays
    expect(await lines.transaction((trx) => lines.placeAndBill(trx, a!, 100, AT))).to.equal(false);
    const rows = await knex(TABLES.lines)
      .orderBy('charge_id')
      .select('status', 'invoice_item_id', 'placed_at');
    expect(
      rows.map((r) => [r.status, r.invoice_item_id === null ? null : Number(r.invoice_item_id)]),
    ).to.deep.equal([
      ['placed', 99],
      ['pending', null],
    ]);
    expect(rows[0].placed_at).to.not.equal(null);
    const billed = await knex(TABLES.charges).orderBy('id').select('status', 'billed_at');
    expect(billed.map((r) => r.status)).to.deep.equal(['billed', 'unbilled']);
    expect([billed[0].billed_at === null, billed[1].billed_at]).to.deep.equal([false, null]);
  });

  it('deletes a pending line, never a placed one', async () => {
    await insertCharge(knex, 1);
    await insertCharge(knex, 2);
    await lines.insertPendingIfChargeUnbilled(newLine(1));
    await lines.insertPendingIfChargeUnbilled(newLine(2));
    const [a, b] = await lines.onInvoice(7);
    await lines.transaction((trx) => lines.markPlaced(trx, b!.id, 99, AT));
    expect(await lines.transaction((trx) => lines.deletePending(trx, a!.id))).to.equal(true);
    expect(await lines.transaction((trx) => lines.deletePending(trx, b!.id))).to.equal(false);
    expect((await lines.onInvoice(7)).map((l) => [l.chargeId, l.status])).to.deep.equal([[2, 'placed']]);
  });

  it('lists the invoices with pending lines, leaving out the standalone ones not yet created (invoice 0)', async () => {
    for (const id of [1, 2, 3, 4]) await insertCharge(knex, id);
    await lines.insertPendingIfChargeUnbilled(newLine(1, { invoiceId: 12 }));
    await lines.insertPendingIfChargeUnbilled(newLine(2, { invoiceId: 7 }));
    await lines.insertPendingIfChargeUnbilled(newLine(3, { invoiceId: 12 }));
    await lines.insertPendingIfChargeUnbilled(newLine(4, { invoiceId: 0, clientId: 2 }));
    expect(await lines.invoicesWithPending()).to.deep.equal([7, 12]);
    expect((await lines.awaitingStandalone(2)).map((l) => l.chargeId)).to.deep.equal([4]);
    expect(await lines.awaitingStandalone(1)).to.deep.equal([]);
  });

  it('moves lines written for a standalone invoice onto the invoice once it exists', async () => {
    await insertCharge(knex, 1);
    await lines.insertPendingIfChargeUnbilled(newLine(1, { invoiceId: 0 }));
    const waiting = await lines.awaitingStandalone(1);
    await lines.moveToInvoice(
      waiting.map((l) => l.id),
      31,
    );
    expect((await lines.onInvoice(31)).map((l) => l.chargeId)).to.deep.equal([1]);
    expect(await lines.awaitingStandalone(1)).to.deep.equal([]);
  });

  it('records a finished delivery once per invoice, the later finish keeping its count', async () => {
    await lines.recordDelivery(7, 'hook', 1, AT);
    await lines.recordDelivery(7, 'reconcile', 2, AT.plus({ hours: 1 }));
    await lines.recordDelivery(9, 'reconcile', 0, AT);
    expect([...(await lines.deliveredOf([7, 8, 9]))].sort()).to.deep.equal([7, 9]);
    const rows = await knex(TABLES.deliveries).where({ invoice_id: 7 }).select('finished_by', 'added');
    // the first finisher is kept (who finished it), the count is the latest
    expect(rows.map((r) => [r.finished_by, Number(r.added)])).to.deep.equal([['hook', 2]]);
  });

  it('refuses a stored status outside the line transition table, naming the column', async () => {
    await insertCharge(knex, 1);
    await lines.insertPendingIfChargeUnbilled(newLine(1));
    await knex(TABLES.lines).update({ status: 'released' });
    const err = await lines.onInvoice(7).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ModuleError);
    // the invoice's lines all or none, the refusal naming the line and its column (not the value)
    const id = Number((await knex(TABLES.lines).first('id')).id);
    expect([(err as ModuleError).code, (err as ModuleError).message]).to.deep.equal([
      'UNEXPECTED_STATE',
      `line ${id} of invoice 7 cannot be read: mod_overusage_lines.status is not one of pending, placed, held, waived`,
    ]);
    expect((err as ModuleError).details).to.deep.equal({
      column: 'mod_overusage_lines.status',
      reason: 'not one of pending, placed, held, waived',
      lineId: id,
      invoiceId: 7,
    });
  });
});
