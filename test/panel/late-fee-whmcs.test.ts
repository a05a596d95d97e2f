import { expect } from 'chai';
import * as lateFeeDaysDefault from '../../panel/migrations/20270115100000_late_fee_days_default.js';
import { addClient } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { ZONE, buildPanel, type PanelFixture } from './support.js';

/**
 * The panel stand-in's late fee is WHMCS's AddLateFees task as decoded (WHMCS 7.8 and 8.7;
 * docs/billing-rules.md "Late fees"): on each daily run, every Unpaid invoice AddLateFeeDays past due
 * without a LateFee line gets the percentage of its balance or the fixed amount, raised to the Late
 * Fee Minimum when one is set — and the task reads no balance first, so an invoice left Unpaid with
 * nothing to pay gets the minimum, or without a minimum a 0.00 fee line. A provider running WHMCS
 * sees exactly these lines.
 *
 * Bob's invoices dated 1 March 2025, due 10 March; late fee 10 %, 3 days late (13 March), minimum
 * €1.00.
 */
describeEachEngine('the stand-in adds late fees as WHMCS does, with a Late Fee Minimum', ({ db }) => {
  let f: PanelFixture;
  let bob: number;

  const invoice = async (amount: string, dueDate = '2025-03-10') =>
    (
      await f.panel.api.createInvoice({
        userId: bob,
        date: '2025-03-01',
        dueDate,
        items: [{ description: 'Service', amount, taxed: false }],
      })
    ).invoiceId;
  const lines = async (id: number) => {
    const inv = await f.panel.api.getInvoice(id);
    return [
      inv.status,
      inv.total,
      ...inv.items.map((i) => `${i.type === 'LateFee' ? 'fee' : 'item'} ${i.amount}`),
    ];
  };
  const day = async (date: string) => {
    f.clock.set(`${date}T07:00:00Z`);
    await f.panel.runDailyAutomation(date);
  };

  it('raises 10 % of €5.00 to the €1.00 minimum, charges the minimum on an Unpaid invoice with €0.00 left, none on a paid one; without a minimum a €0.00 fee line', async () => {
    f = await buildPanel(db().knex, {
      start: '2025-03-01T08:00:00Z',
      settings: {
        AddLateFeeDays: '3',
        LateFeeType: 'Percentage',
        InvoiceLateFeeAmount: '10.00',
        LateFeeMinimum: '1.00',
      },
    });
    bob = await addClient(
      f.knex,
      { firstname: 'Bob', lastname: 'Test', email: 'bob@example.net' },
      f.clock.now(),
      ZONE,
    );
    const small = await invoice('5.00'); // 10 % = 0.50 → 1.00
    const big = await invoice('19.95'); // 10 % = 1.995 → 2.00 (above the minimum)
    const nothingLeft = await invoice('19.95');
    // its item taken down to 0.00: still Unpaid (an edit never marks an invoice Paid), 0.00 left
    const item = (await f.panel.api.getInvoice(nothingLeft)).items[0]!;
    await f.panel.api.updateInvoice({
      invoiceId: nothingLeft,
      changeItems: [{ id: item.id, description: item.description, amount: '0.00', taxed: false }],
    });
    const paid = await invoice('30.00');
    await f.panel.api.addInvoicePayment({ invoiceId: paid, transId: 'bob-30', gateway: 'banktransfer' });

    await day('2025-03-12'); // 2 days late: nothing yet
    expect(await lines(small)).to.deep.equal(['Unpaid', '5.00', 'item 5.00']);
    await day('2025-03-13');
    await day('2025-03-14'); // each has a LateFee line now: nothing added again
    expect(await lines(small)).to.deep.equal(['Unpaid', '6.00', 'item 5.00', 'fee 1.00']);
    expect(await lines(big)).to.deep.equal(['Unpaid', '21.95', 'item 19.95', 'fee 2.00']);
    // 10 % of 0.00 = 0.00, raised to the minimum: WHMCS charges 1.00 on an invoice with nothing left
    expect(await lines(nothingLeft)).to.deep.equal(['Unpaid', '1.00', 'item 0.00', 'fee 1.00']);
    expect(await lines(paid)).to.deep.equal(['Paid', '30.00', 'item 30.00']);

    // without a minimum: 10 % of 0.00 is added as it is, a 0.00 fee line
    await f.setting('LateFeeMinimum', '0.00');
    const zero = await invoice('12.00', '2025-03-11');
    const zeroItem = (await f.panel.api.getInvoice(zero)).items[0]!;
    await f.panel.api.updateInvoice({
      invoiceId: zero,
      changeItems: [{ id: zeroItem.id, description: zeroItem.description, amount: '0.00', taxed: false }],
    });
    await day('2025-03-15');
    expect(await lines(zero)).to.deep.equal(['Unpaid', '0.00', 'item 0.00', 'fee 0.00']);
  });

  const bobOnPanel = async (settings: Record<string, string>) => {
    f = await buildPanel(db().knex, { start: '2025-03-01T08:00:00Z', settings });
    bob = await addClient(
      f.knex,
      { firstname: 'Bob', lastname: 'Test', email: 'bob@example.net' },
      f.clock.now(),
      ZONE,
    );
  };

  // WHMCS's AddLateFees selects `duedate <= today − AddLateFeeDays AND duedate != date`, an empty
  // AddLateFeeDays read as 0 (docs/whmcs.md, "Automation and dunning")
  it('AddLateFeeDays 0 (or empty) charges from the due date itself on, not the day before', async () => {
    await bobOnPanel({
      AddLateFeeDays: '0',
      LateFeeType: 'Percentage',
      InvoiceLateFeeAmount: '10.00',
      LateFeeMinimum: '0.00',
    });
    const late = await invoice('50.00'); // dated 1 March, due 10 March: 10 % of 50.00 = 5.00
    await day('2025-03-09'); // the day before the due date: nothing
    expect(await lines(late)).to.deep.equal(['Unpaid', '50.00', 'item 50.00']);
    await day('2025-03-10'); // the due date itself, 0 days late: 50.00 + 5.00 = 55.00
    expect(await lines(late)).to.deep.equal(['Unpaid', '55.00', 'item 50.00', 'fee 5.00']);
    await day('2025-03-11');
    await day('2025-03-20'); // 10 days on: still the one fee
    expect(await lines(late)).to.deep.equal(['Unpaid', '55.00', 'item 50.00', 'fee 5.00']);

    // empty counts as 0: €19.95 dated 1 March, due 22 March → 10 % = 1.995 → 2.00 on 22 March
    // (total 21.95), none on 21 March
    await f.setting('AddLateFeeDays', '');
    const empty = await invoice('19.95', '2025-03-22');
    await day('2025-03-21');
    expect(await lines(empty)).to.deep.equal(['Unpaid', '19.95', 'item 19.95']);
    await day('2025-03-22');
    expect(await lines(empty)).to.deep.equal(['Unpaid', '21.95', 'item 19.95', 'fee 2.00']);
  });

  it('never charges an invoice due on its invoice date, however late', async () => {
    await bobOnPanel({
      AddLateFeeDays: '3',
      LateFeeType: 'Percentage',
      InvoiceLateFeeAmount: '10.00',
      LateFeeMinimum: '1.00',
    });
    const ordinary = await invoice('40.00'); // dated 1 March, due 10 March: 10 % = 4.00 on 13 March
    // dated and due 10 March, the same €40.00: no fee on 13 March nor later, not even the minimum
    const sameDay = (
      await f.panel.api.createInvoice({
        userId: bob,
        date: '2025-03-10',
        dueDate: '2025-03-10',
        items: [{ description: 'Service', amount: '40.00', taxed: false }],
      })
    ).invoiceId;
    await day('2025-03-13');
    expect(await lines(ordinary)).to.deep.equal(['Unpaid', '44.00', 'item 40.00', 'fee 4.00']);
    expect(await lines(sameDay)).to.deep.equal(['Unpaid', '40.00', 'item 40.00']);
    await day('2025-03-14');
    await day('2025-04-10'); // a month late: still none
    expect(await lines(sameDay)).to.deep.equal(['Unpaid', '40.00', 'item 40.00']);
  });
  it('out of the box charges as a fresh WHMCS does: 10 % five days past the due date, not on it', async () => {
    // no late-fee setting changed: a fresh WHMCS has AddLateFeeDays 5, Percentage, 10.00
    await bobOnPanel({});
    const inv = await invoice('50.00'); // dated 1 March, due 10 March
    await day('2025-03-10');
    await day('2025-03-14'); // 4 days late: nothing yet
    expect(await lines(inv)).to.deep.equal(['Unpaid', '50.00', 'item 50.00']);
    await day('2025-03-15'); // 5 days late: 10 % of €50.00 = €5.00
    expect(await lines(inv)).to.deep.equal(['Unpaid', '55.00', 'item 50.00', 'fee 5.00']);
  });

  it('keeps an operator’s own AddLateFeeDays 0 when the panel moves the default to 5', async () => {
    await bobOnPanel({});
    expect(
      await f.knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).first('value'),
    ).to.deep.equal({
      value: '5',
    });
    // the operator chose 0 (from the due date) after the seed; the default's move, run again, leaves it
    f.clock.set('2025-03-02T09:00:00Z');
    await f.setting('AddLateFeeDays', '0');
    await lateFeeDaysDefault.up(f.knex);
    expect(
      await f.knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).first('value'),
    ).to.deep.equal({
      value: '0',
    });
    const inv = await invoice('50.00');
    await day('2025-03-10'); // on the due date: 10 % of €50.00 = €5.00
    expect(await lines(inv)).to.deep.equal(['Unpaid', '55.00', 'item 50.00', 'fee 5.00']);
  });
});
