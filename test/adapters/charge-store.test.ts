import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createChargeStore, type ChargeStore } from '../../module/adapters/charge-store.js';
import { createLineStore, type LineStore } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { insertCharge } from '../support/charge-rows.js';

const AT = DateTime.fromISO('2013-06-02T07:00:00Z', { zone: 'utc' });

const pending = (chargeId: number, invoiceId: number, serviceId = 10, clientId = 1) => ({
  chargeId,
  serviceId,
  clientId,
  invoiceId,
  refCode: `OU-C${String(chargeId).padStart(9, '0')}`,
  amountMinor: 50_000n,
  currency: 'EUR',
  description: 'Overusage',
  locale: 'en_GB',
  invoiceDate: '2013-06-02',
  window: { days: 14, counting: 'calendar', holidays: 'none' },
  deadlineLastDay: '2013-06-16',
  deadlineClosesAt: AT.plus({ days: 14 }),
  createdAt: AT,
});

describeEachEngine('charge store', ({ db }) => {
  let knex: Knex;
  let charges: ChargeStore;
  let lines: LineStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    charges = createChargeStore(knex);
    lines = createLineStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.lines).delete();
    await knex(TABLES.charges).delete();
  });

  it('reads an unbilled charge with every figure as rating wrote it, and no line yet', async () => {
    await insertCharge(knex, 1, { taxed: false, explanation: '{"rated":{"unit":"GB"}}' });
    const [c] = await charges.unbilledOf([10]);
    expect(c).to.deep.equal({
      id: 1,
      serviceId: 10,
      clientId: 1,
      productId: 3,
      periodStart: '2013-05-01',
      periodEnd: '2013-05-31',
      status: 'unbilled',
      amountMinor: 50_000n,
      currency: 'EUR',
      taxed: false,
      explanation: '{"rated":{"unit":"GB"}}',
      line: null,
    });
  });

  it('gives the renewal the unbilled charges of its services, period by period, each with its line if it has one', async () => {
    // service 10: April (pending on invoice 5) and May; service 11: May, billed; service 12: not renewed
    await insertCharge(knex, 1, { period_start: '2013-05-01', period_end: '2013-05-31' });
    await insertCharge(knex, 2, { period_start: '2013-04-01', period_end: '2013-04-30' });
    await insertCharge(knex, 3, { service_id: 11, status: 'billed' });
    await insertCharge(knex, 4, { service_id: 12 });
    await lines.insertPendingIfChargeUnbilled(pending(2, 5));
    const found = await charges.unbilledOf([10, 11]);
    expect(found.map((c) => [c.id, c.line?.invoiceId ?? null, c.line?.status ?? null])).to.deep.equal([
      [2, 5, 'pending'],
      [1, null, null],
    ]);
    // a reconciliation on 31 May sees only periods that ended before that day: April
    expect((await charges.unbilledOf([10], '2013-05-31')).map((c) => c.id)).to.deep.equal([2]);
    expect(await charges.unbilledOf([])).to.deep.equal([]);
  });

  it('gives the standalone run charges without a line and those pending for an invoice not yet made', async () => {
    await insertCharge(knex, 1, { client_id: 2, service_id: 20 });
    await insertCharge(knex, 2, { client_id: 1 });
    await insertCharge(knex, 3, { client_id: 1, service_id: 11 });
    await insertCharge(knex, 4, { client_id: 1, service_id: 12 });
    await lines.insertPendingIfChargeUnbilled(pending(3, 0, 11));
    await lines.insertPendingIfChargeUnbilled(pending(4, 9, 12));
    // 4 is pending on invoice 9: that invoice's delivery owns it
    expect(
      (await charges.unbilledForStandalone()).map((c) => [c.clientId, c.id, c.line?.id ? 'line' : null]),
    ).to.deep.equal([
      [1, 2, null],
      [1, 3, 'line'],
      [2, 1, null],
    ]);
    expect(
      (await charges.waitingWithoutLine()).map((c) => [c.clientId, c.serviceId, c.periodEnd]),
    ).to.deep.equal([
      [2, 20, '2013-05-31'],
      [1, 10, '2013-05-31'],
    ]);
  });

  it('tells which charges are taxed', async () => {
    await insertCharge(knex, 1, { taxed: true });
    await insertCharge(knex, 2, { taxed: false });
    expect([...(await charges.taxedOf([1, 2]))]).to.deep.equal([
      [1, true],
      [2, false],
    ]);
    expect((await charges.taxedOf([])).size).to.equal(0);
  });

  it('marks a charge billed with the moment its line was placed', async () => {
    await insertCharge(knex, 1);
    await charges.markBilled(knex, 1, AT);
    const row = await knex(TABLES.charges).first('status', 'billed_at');
    expect([row.status, String(row.billed_at).slice(0, 19)]).to.deep.equal(['billed', '2013-06-02 07:00:00']);
    expect(await charges.unbilledOf([10])).to.deep.equal([]);
  });

  it('refuses a charge whose line holds a status outside the line transition table, naming the column', async () => {
    await insertCharge(knex, 1, { status: 'unbilled' });
    await lines.insertPendingIfChargeUnbilled(pending(1, 5));
    await knex(TABLES.lines).update({ status: 'gone' });
    const err = await charges.unbilledOf([10]).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as ModuleError).message).to.equal(
      'mod_overusage_lines.status holds "gone", which is not one of pending, placed, held, waived',
    );
  });
});
