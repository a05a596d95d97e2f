import { expect } from 'chai';
import { readable } from '../support/readable.js';
import type { Knex } from 'knex';
import { auditLog } from '../../module/adapters/audit-store.js';
import { ManualClock } from '../../module/adapters/clocks.js';
import { createLineReads } from '../../module/adapters/line-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { createPeriodReadStore } from '../../module/adapters/period-read-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { billedNow } from '../../module/domain/billed-now.js';
import { createBillingSettingsService } from '../../module/services/billing-settings.js';
import { createUsageReads, type PeriodRow } from '../../module/services/usage-reads.js';
import { periodJson } from '../../module/web/api-json.js';
import { presentPeriod } from '../../module/web/present-usage.js';
import { wordsFor } from '../../module/web/words.js';
import { insertCharge } from '../support/charge-rows.js';
import { describeEachEngine } from '../support/engines.js';

/**
 * What a period bills now is one rule (module/domain/billed-now.ts), read the same by the client's
 * widget (past periods) and the JSON API. Ann's VPS, by hand:
 * - February 2013: 240 GB over at €0.50 = €120.00, and a correction of 60 GB = €30.00 after it was
 *   invoiced, both on invoices: billed €120.00 + €30.00 = €150.00;
 * - March: €120.68, its line written but not yet on an invoice (pending): to be invoiced, nothing billed;
 * - April: €103.88, disputed and waived (the line now bills €0.00): waived;
 * - May: 1 000 GB over at €0.50 = €500.00, disputed and adjusted to the agreed €350.00: billed €350.00.
 */
describeEachEngine('what a period bills now, in the widget and the API', ({ db }) => {
  let knex: Knex;
  let rows: PeriodRow[];

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    const period = (id: number, start: string, end: string) =>
      knex(TABLES.periods).insert({
        id,
        service_id: 10,
        start_date: start,
        end_date: end,
        status: 'closed',
        opened_by: 'reset',
        closed_by: 'reset',
        used_bytes: '0',
        created_at: '2013-06-01 00:00:00.000',
      });
    await period(2, '2013-02-01', '2013-02-28');
    await period(3, '2013-03-01', '2013-03-31');
    await period(4, '2013-04-01', '2013-04-30');
    await period(5, '2013-05-01', '2013-05-31');
    await insertCharge(knex, 2, {
      period_id: 2,
      period_start: '2013-02-01',
      period_end: '2013-02-28',
      amount_minor: '12000',
      status: 'billed',
    });
    await insertCharge(knex, 6, {
      period_id: 2,
      seq: 1,
      kind: 'correction',
      period_start: '2013-02-01',
      period_end: '2013-02-28',
      amount_minor: '3000',
      status: 'billed',
    });
    await insertCharge(knex, 3, {
      period_id: 3,
      period_start: '2013-03-01',
      period_end: '2013-03-31',
      amount_minor: '12068',
    });
    await insertCharge(knex, 4, {
      period_id: 4,
      period_start: '2013-04-01',
      period_end: '2013-04-30',
      amount_minor: '10388',
      status: 'billed',
    });
    await insertCharge(knex, 5, { period_id: 5, amount_minor: '50000', status: 'billed' });
    await line(2, 'placed', 12000n);
    await line(6, 'placed', 3000n);
    await line(3, 'pending', 12068n);
    await line(4, 'waived', 0n);
    await line(5, 'placed', 35000n);
    await dispute(4, 'waived', 10388n, 0n);
    await dispute(5, 'adjusted', 50000n, 35000n);
    const clock = new ManualClock('2013-06-20T10:00:00Z');
    const reads = createUsageReads({
      store: createPeriodReadStore(knex),
      lines: createLineReads(knex),
      billing: createBillingSettingsService({ knex, clock, audit: auditLog }),
    });
    rows = readable((await reads.periods(10)).rows);
  });

  async function line(chargeId: number, status: string, amountMinor: bigint) {
    await knex(TABLES.lines).insert({
      id: chargeId,
      charge_id: chargeId,
      service_id: 10,
      client_id: 1,
      invoice_id: 20 + chargeId,
      ref_code: `OU-00000000${chargeId}`,
      status,
      amount_minor: amountMinor.toString(),
      currency: 'EUR',
      description: 'Overusage',
      locale: 'en_GB',
      invoice_date: '2013-06-02',
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'none',
      deadline_last_day: '2013-06-16',
      deadline_closes_at: '2013-06-16 21:59:59.999',
      created_at: '2013-06-02 07:00:00.000',
    });
  }

  async function dispute(lineId: number, state: string, beforeMinor: bigint, afterMinor: bigint) {
    await knex(TABLES.disputes).insert({
      line_id: lineId,
      client_id: 1,
      service_id: 10,
      state,
      reason: 'not mine',
      opened_by_type: 'client',
      opened_at: '2013-06-05 10:00:00.000',
      hold_state: 'published',
      original_invoice_id: 20 + lineId,
      amount_before_minor: beforeMinor.toString(),
      amount_after_minor: afterMinor.toString(),
      currency: 'EUR',
      resolved_at: '2013-06-10 10:00:00.000',
      updated_at: '2013-06-10 10:00:00.000',
    });
  }

  const widget = (start: string) =>
    presentPeriod(
      rows.find((p) => p.startDate === start)!,
      'GB',
      'EUR',
      'en-GB',
      wordsFor('en'),
      '',
    ).outcome.replace(/\u00a0/g, ' ');
  const api = (start: string) => {
    const c = periodJson(rows.find((p) => p.startDate === start)!).charge!;
    return { amount: c.amount.amount, billed: c.billed?.amount ?? null, afterDispute: c.afterDispute };
  };

  it('bills €350.00 for May, adjusted from €500.00, in both', () => {
    expect(widget('2013-05-01')).to.equal('Billed: €350.00 (adjusted after dispute)');
    expect(api('2013-05-01')).to.deep.equal({ amount: '500.00', billed: '350.00', afterDispute: 'adjusted' });
  });

  it('bills nothing for April, whose €103.88 was waived, in both', () => {
    expect(widget('2013-04-01')).to.equal('waived');
    expect(api('2013-04-01')).to.deep.equal({ amount: '103.88', billed: '0.00', afterDispute: 'waived' });
  });

  it('bills nothing yet for March, whose €120.68 line is on no invoice yet, in both', () => {
    expect(widget('2013-03-01')).to.equal('To be invoiced: €120.68');
    expect(api('2013-03-01')).to.deep.equal({ amount: '120.68', billed: null, afterDispute: null });
  });

  it('bills €150.00 for February, its €120.00 line and the €30.00 correction together, in both', () => {
    expect(widget('2013-02-01')).to.equal('Billed: €150.00');
    expect(api('2013-02-01')).to.deep.equal({ amount: '120.00', billed: '150.00', afterDispute: null });
  });
});

describe('billed now (module/domain/billed-now.ts)', () => {
  const l = (status: string, amountMinor: bigint, state: string | null = null) => ({
    status,
    amountMinor,
    dispute: state ? { state } : null,
  });

  it('counts a waived line as 0 and an adjusted one at its new amount: €350.00 + €0.00 + €30.00 = €380.00', () => {
    expect(
      billedNow([l('placed', 35_000n, 'adjusted'), l('waived', 10_388n, 'waived'), l('placed', 3_000n)]),
    ).to.deep.equal({ amountMinor: 38_000n, afterDispute: 'adjusted' });
  });

  it('leaves out a line still pending: nothing is billed while no line is on an invoice', () => {
    expect(billedNow([l('pending', 12_068n)])).to.equal(null);
    expect(billedNow([l('pending', 12_068n), l('placed', 3_000n)])).to.deep.equal({
      amountMinor: 3_000n,
      afterDispute: null,
    });
  });

  it('says waived only when every line on an invoice was waived', () => {
    expect(billedNow([l('placed', 10_388n, 'waived')])).to.deep.equal({
      amountMinor: 0n,
      afterDispute: 'waived',
    });
    expect(billedNow([l('waived', 0n, 'waived'), l('placed', 3_000n, 'upheld')])).to.deep.equal({
      amountMinor: 3_000n,
      afterDispute: null,
    });
  });
});
