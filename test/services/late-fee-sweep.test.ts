import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDatabase, type Database } from '../../module/adapters/database.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  disputeLine,
  type BillingStory,
  feeAndItems,
  runPanelDays,
} from '../support/billing-story.js';
import { TEST_SECRET_KEY } from '../support/module-fixture.js';
import { logInto } from '../support/log-lines.js';
import { spoilInstant } from '../support/spoil.js';
import { engineOf } from '../../module/adapters/database.js';

/**
 * The late fee the module's AddInvoiceLateFee hook could not correct on the day (the panel did not
 * answer it), left to the 5-minute sweep, and what the client does in between. The story: Ann's
 * 1 000 GB × €0.50 = €500.00 held off the renewal of 2 June on 5 June; the admin publishes the held
 * invoice on 7 June, due 19 June; 3 days late (22 June) the panel adds 10 % of its total. On 22 June
 * the panel answers none of the module's reads (the hook and that day's sweep fail; the invoice is
 * kept in mod_overusage_late_fee_retries); the sweep that corrects it runs on 23 June.
 */
describeEachEngine('the late fee sweep after the client paid part of the invoice', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let held: number;
  let logged: Array<Record<string, unknown>> = [];

  const days = (from: string, to: string) => runPanelDays(s, from, to);
  const lines = () => feeAndItems(s, held);
  const audits = async (action: string) =>
    (await knex('mod_overusage_audit').where({ action }).orderBy('id').select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );
  const feeChanges = async () =>
    [...(await audits('dunning.late_fee_retried')), ...(await audits('dunning.late_fee_corrected'))]
      .filter((a) => a.feeMinor !== a.newFeeMinor)
      .map((a) => [a.feeMinor, a.newFeeMinor]);
  const feeActivity = async () =>
    (await knex('tblactivitylog').where('description', 'like', `%late fee on invoice ${held} set to%`))
      .length;
  const pay = async (amount: string) => {
    s.f.clock.set('2013-06-23T09:00:00Z');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: `ann-${amount}`,
      gateway: 'banktransfer',
      amount,
    });
  };

  /** the held invoice published with the fee the hook did not correct, kept for the sweep */
  async function feeLeft(extra?: string, before?: () => Promise<void>) {
    knex = db().knex;
    logged = [];
    const billed = await billMay(knex, undefined, undefined, { log: logInto(logged) });
    s = billed.s;
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    held = (await disputeLine(s, billed.lineId)).heldInvoiceId!;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    if (extra)
      await s.f.panel.api.updateInvoice({
        invoiceId: held,
        newItems: [{ description: 'Setup fee', amount: extra, taxed: false }],
      });
    await days('2013-06-07', '2013-06-20');
    if (before) await before();
    await days('2013-06-21', '2013-06-21');
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
    await days('2013-06-22', '2013-06-22');
    s.faulty.failNext = null;
    // kept for the sweep with what failed and the error's kind, not its words ('injected failure
    // before getInvoice': a panel's words can quote a client's data)
    const kept = await knex('mod_overusage_late_fee_retries').select('invoice_id', 'last_error');
    expect(kept.map((r) => [Number(r.invoice_id), r.last_error])).to.deep.equal([
      [held, 'the late fee was not corrected: Error'],
    ]);
  }

  it('a payment of €10.00 after the fee, before the sweep: the fee is set on what was unpaid when it came, €51.20 → €1.20', async () => {
    // the admin's €12.00 beside the held €500.00: 10 % of 512.00 = 51.20 on 22 June (invoice 563.20);
    // Ann pays 10.00 on 23 June (balance 553.20). The fee was charged on what was unpaid on
    // 22 June, 512.00, which her payment since does not change: the fee on what is not held is
    // 10 % of 512.00 − 500.00 = 12.00 → 1.20; total 513.20, less the 10.00 paid = 503.20 due.
    // (From today's balance, as before: 553.20 − 51.20 − 500.00 = 2.00 → a fee of 0.20, 1.00 too little.)
    await feeLeft('12.00');
    expect(await lines()).to.deep.equal([
      ['item', '500.00'],
      ['item', '12.00'],
      ['fee', '51.20'],
    ]);
    await pay('10.00');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await lines()]).to.deep.equal([
      'Unpaid',
      '513.20',
      '503.20',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
    expect(await feeChanges()).to.deep.equal([['5120', '120']]);
    expect(await knex('mod_overusage_late_fee_retries')).to.deep.equal([]);
  });

  it("corrects Ann's fee, €51.20 → €1.20, when another invoice's kept row cannot be read, and names that row", async () => {
    // As the first case (the admin's €12.00 beside the held €500.00: 10 % of 512.00 = 51.20; Ann
    // pays 10.00 on 23 June; the fee on what is not held, 10 % of 12.00 = 1.20; 513.20 billed, 503.20
    // due), and another invoice's row kept for the sweep with its failed_at spoiled by hand. Before:
    // the sweep's read threw, and no kept invoice was corrected (Ann's fee stayed at 51.20, on every tick)
    await feeLeft('12.00');
    const other = held + 100;
    await knex('mod_overusage_late_fee_retries').insert({
      invoice_id: other,
      failed_at: '2013-06-20 10:00:00.000',
      attempts: 1,
      last_error: 'the panel did not answer',
    });
    const bad = await spoilInstant(knex, engineOf(knex), 'mod_overusage_late_fee_retries', 'failed_at', {
      invoice_id: other,
    });
    logged.length = 0;
    await pay('10.00');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await lines()]).to.deep.equal([
      'Unpaid',
      '513.20',
      '503.20',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
    expect(await feeChanges()).to.deep.equal([['5120', '120']]);
    // the other row stays as it is (when its fee came is not known), named with why, not its value
    const kept = await knex('mod_overusage_late_fee_retries').select('invoice_id', 'attempts');
    expect(kept.map((r) => [Number(r.invoice_id), Number(r.attempts)])).to.deep.equal([[other, 1]]);
    const told = logged.filter((l) => l.event === 'late_fee.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column, l.reason])).to.deep.equal([
      [
        'warn',
        'mod_overusage_late_fee_retries',
        other,
        'mod_overusage_late_fee_retries.failed_at',
        'not a datetime',
      ],
    ]);
    expect(JSON.stringify(logged)).not.to.include(bad);
  });

  it('Ann pays the €500.00 but not the €50.00 fee, which then comes off whole: the invoice is settled Paid at €0.00, once', async () => {
    // the held €500.00 alone: 10 % of 500.00 = 50.00 on 22 June (invoice 550.00); Ann pays 500.00
    // on 23 June (balance 50.00, the fee). The fee on what is not held is 10 % of 0.00 = 0.00: the
    // fee to 0.00 (kept, not deleted), the invoice bills 500.00, of which 500.00 is paid: 0.00 left. WHMCS marks an invoice
    // Paid only when a payment settles it, so without the module it would stay Unpaid at 0.00;
    // a payment of 0.00 settles it: Paid, one 0.00 transaction beside Ann's 500.00.
    await feeLeft();
    await pay('500.00');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await lines()]).to.deep.equal([
      'Paid',
      '500.00',
      '0.00',
      [
        ['item', '500.00'],
        ['fee', '0.00'],
      ],
    ]);
    // the 0.00 payment dated when the sweep ran, in the panel's zone: 09:00 UTC on 23 June is
    // 11:00 in Brussels (CEST, UTC+2) — WHMCS's AddInvoicePayment documents `date` as required
    expect(h.transactions.map((t) => [t.amountIn, t.date])).to.deep.equal([
      ['500.00', '2013-06-23 11:00:00'],
      ['0.00', '2013-06-23 11:00:00'],
    ]);
    expect(await audits('dunning.late_fee_retried')).to.deep.include.members([
      { attempts: 2, feeMinor: '5000', newFeeMinor: '0', settled: true },
    ]);
    // a second tick and the next days: nothing more (one 0.00 payment, still Paid)
    await s.mod.everyTick();
    await days('2013-06-23', '2013-06-25');
    const again = await s.f.panel.api.getInvoice(held);
    expect([again.status, again.transactions.length]).to.deep.equal(['Paid', 2]);
    expect(await feeChanges()).to.deep.equal([['5000', '0']]);
  });

  it('the €12.00 paid before the fee (20 June): nothing undisputed was late, so the €50.00 fee comes off whole; the held €500.00 stays due', async () => {
    // the panel charges 10 % of what is unpaid on 22 June (WHMCS: the total less what was paid),
    // 512.00 − 12.00 = 500.00 → 50.00, and only the held 500.00 was unpaid then: the fee on what
    // is not held is 10 % of 500.00 − 500.00 = 0.00, all 50.00 off (the fee line at 0.00); 512.00 billed, 12.00 paid:
    // 500.00 due, Unpaid (a payment before the fee lowers its base)
    await feeLeft('12.00', async () => {
      await s.f.panel.api.addInvoicePayment({
        invoiceId: held,
        transId: 'ann-setup',
        gateway: 'banktransfer',
        amount: '12.00',
        date: '2013-06-20 10:00:00',
      });
    });
    s.f.clock.set('2013-06-23T09:00:00Z');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await lines()]).to.deep.equal([
      'Unpaid',
      '512.00',
      '500.00',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '0.00'],
      ],
    ]);
    expect(await feeChanges()).to.deep.equal([['5000', '0']]);
  });

  it('nothing paid: the fee that comes off whole leaves the held €500.00 owed, Unpaid (not settled)', async () => {
    // 550.00 − 50.00 = 500.00 still due, all of it the held line: nothing to settle
    await feeLeft();
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.balance, h.transactions.length]).to.deep.equal(['Unpaid', '500.00', 0]);
    expect(await feeChanges()).to.deep.equal([['5000', '0']]);
  });

  describe('two at once', () => {
    let second: Database;
    let other: OverusageModule;
    afterEach(async () => {
      await other?.close();
      await second?.close();
    });

    it('two cron processes and two AddInvoiceLateFee hooks on two connections: the fee set once, €51.20 → €1.20, one change audited and logged', async () => {
      // the admin's €12.00 beside the held €500.00, 10 % of 512.00 = 51.20 kept on 22 June; on
      // 23 June two cron processes' sweeps and the hook in each process run at the same time, each
      // on its own connection: the fee ends at 10 % of 12.00 = 1.20 (invoice 513.20), set once:
      // one change 5120 → 120 audited, one line in the panel's activity log; the others find it right
      await feeLeft('12.00');
      second = openDatabase(db().url);
      other = createModule({
        knex: second.knex,
        clock: s.f.clock,
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => s.fake.gateway(),
        panel: s.f.panel.api,
        log: silentLogger,
        metering: { writer: 'inline' },
      });
      const hookOf = (m: OverusageModule) => m.hooks().find((h) => h.name === 'AddInvoiceLateFee')!.handler;
      s.f.clock.set('2013-06-23T07:05:00Z');
      await Promise.all([
        s.mod.everyTick(),
        other.everyTick(),
        hookOf(s.mod)({ invoiceid: held }),
        hookOf(other)({ invoiceid: held }),
      ]);
      // a sweep that found the invoice taken by the other leaves its row to the next tick
      await s.mod.everyTick();
      expect(await lines()).to.deep.equal([
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ]);
      expect((await s.f.panel.api.getInvoice(held)).total).to.equal('513.20');
      expect(await feeChanges()).to.deep.equal([['5120', '120']]);
      expect(await feeActivity()).to.equal(1);
      expect(await knex('mod_overusage_late_fee_retries')).to.deep.equal([]);
    });
  });
});
