import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, renewalOf, type BillingStory } from '../support/billing-story.js';

const overusageItems = (inv: { items: Array<{ description: string; amount: string }> }) =>
  inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));

describeEachEngine('overusage lines on renewal invoices', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  async function renewalInvoiceId(): Promise<number> {
    // 2 June 09:00: the renewal invoice for 9 June is generated (7 days ahead), InvoiceCreation fires.
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    return renewalOf(s, knex);
  }

  it("adds last period's overusage to the renewal invoice with its explanation and reclamation deadline", async () => {
    const invoiceId = await renewalInvoiceId();
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    const lines = overusageItems(inv);
    expect(lines).to.have.length(1);
    expect(lines[0]!.amount).to.equal('500.00');
    // one unit, the one sold (GB), 2 decimals: 6 000 used, 5 000 included, 1 000 × €0.50 = €500.00
    expect(lines[0]!.description).to.match(
      /^Bandwidth overusage 1 – 31 May 2013: 6,000\.00 GB used, 5,000\.00 GB included, 1,000\.00 GB × €0\.50 = €500\.00 \(dispute by 16 June 2013\) \[OU-[0-9A-F]{10}\]$/,
    );
    expect(inv.total).to.equal('519.95'); // hosting 19.95 + overusage 500.00, totals recalculated after the hook
    const row = await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first();
    expect(row).to.include({ status: 'placed', deadline_last_day: '2013-06-16' });
    expect(toNum(row.window_days)).to.equal(14);
    expect(toNum(row.invoice_item_id)).to.equal(
      inv.items.find((i) => i.description === lines[0]!.description)!.id,
    );
    const charge = await knex('mod_overusage_charges').where({ id: row.charge_id }).first();
    expect(charge.status).to.equal('billed');
    expect(toBig(charge.over_bytes)).to.equal(1000n * 10n ** 9n);
    // the Dutch client stayed within 5 TB: nothing billed, nothing added
    const dutch = await knex('mod_overusage_charges').where({ service_id: s.story.dutchServiceId }).first();
    expect(dutch.status).to.equal('within_allowance');
  });

  it('counts a business-day window on the line it places: weekends skipped, the deadline kept with the line', async () => {
    // Invoice date Sunday 2 June 2013; 10 business days after it: 3–7 and 10–14 June, so the last
    // day is Friday 14 June (calendar counting would say 12 June). No Belgian holiday falls in it.
    // The window closes at 15 June 00:00 in Brussels (UTC+2 in June) = 14 June 22:00 UTC.
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.50', precommit: '0.35' } },
        window: { days: 10, counting: 'business', holidays: 'BE' },
      },
      { type: 'cli', id: null },
    );
    const invoiceId = await renewalInvoiceId();
    const [line] = overusageItems(await s.f.panel.api.getInvoice(invoiceId));
    expect(line!.description).to.include('(dispute by 14 June 2013)');
    const row = await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first();
    expect(row).to.include({
      deadline_last_day: '2013-06-14',
      window_counting: 'business',
      window_holidays: 'BE',
    });
    expect(String(row.deadline_closes_at).slice(0, 19).replace('T', ' ')).to.equal('2013-06-14 22:00:00');
  });

  it('never adds a second line however often the hook is delivered, even 50 times at once', async () => {
    const invoiceId = await renewalInvoiceId();
    await Promise.all(
      Array.from({ length: 50 }, () =>
        s.f.panel.hooks.run('InvoiceCreation', {
          invoiceid: invoiceId,
          source: 'autogen',
          user: 'system',
          status: 'Unpaid',
        }),
      ),
    );
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(overusageItems(inv)).to.have.length(1);
    expect(await knex('mod_overusage_lines')).to.have.length(1);
    expect(inv.total).to.equal('519.95');
  });

  for (const [method, when] of [
    ['getInvoice', 'before'],
    ['getClientsDetails', 'before'],
    ['updateInvoice', 'before'],
    ['updateInvoice', 'after'],
  ] as const) {
    it(`recovers from a failure ${when} ${method} with exactly one line and no orphan`, async () => {
      s.faulty.failNext = { method, when, times: method === 'getInvoice' ? 1 : 1 };
      const invoiceId = await renewalInvoiceId();
      // the delivery failed part-way; the panel delivers again (or the bridge retries)
      s.faulty.failNext = null;
      await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
      const inv = await s.f.panel.api.getInvoice(invoiceId);
      expect(overusageItems(inv)).to.have.length(1);
      const rows = await knex('mod_overusage_lines');
      expect(rows).to.have.length(1);
      expect(rows[0].status).to.equal('placed');
      expect(inv.total).to.equal('519.95');
    });
  }

  it('recovers when the second read of the invoice fails after the line was added', async () => {
    const invoiceId = await renewalInvoiceId();
    await knex('mod_overusage_lines').delete();
    await knex('mod_overusage_charges')
      .update({ status: 'unbilled' })
      .where({ service_id: s.story.serviceId });
    const item = (await s.f.panel.api.getInvoice(invoiceId)).items.find((i) =>
      i.description.startsWith('Bandwidth'),
    )!;
    await s.f.panel.api.updateInvoice({ invoiceId, deleteLineIds: [item.id] });
    // getInvoice: 1st call ok, 2nd (after adding) fails
    let calls = 0;
    const orig = s.faulty.real.getInvoice.bind(s.faulty.real);
    s.faulty.real.getInvoice = async (id: number) => {
      if (++calls === 2) throw new Error('injected: invoice read failed after the add');
      return orig(id);
    };
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    expect(await knex('mod_overusage_lines').where({ status: 'pending' })).to.have.length(1);
    s.faulty.real.getInvoice = orig;
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(overusageItems(inv)).to.have.length(1);
    expect(await knex('mod_overusage_lines').where({ status: 'placed' })).to.have.length(1);
  });

  it('does not bill a product whose panel overage billing is on, and says why', async () => {
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    const invoiceId = await renewalInvoiceId();
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(overusageItems(inv)).to.have.length(0);
    const log = await knex('tblactivitylog').where('description', 'like', '%overage billing is enabled%');
    expect(log).to.have.length.greaterThan(0);
    expect(
      (await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first()).status,
    ).to.equal('unbilled');
  });
});

/**
 * A line in each currency the panel bills in, through InvoiceCreation. 1 000 GB over in May:
 *   USD 1 000 × $0.55 = $550.00; JPY 1 000 × ¥80 = ¥80 000 (no minor unit); BHD 1 000 × BD 0.187654
 *   = BD 187.654 (three decimals; the panel keeps two: 187.65). Renewal totals: 21.95 + 550.00 =
 *   571.95; 2980.00 + 80000.00 = 82980.00; 7.50 + 187.65 = 195.15. The line names the amount in the
 *   currency's own minor unit: US$550.00, JP¥80,000, BHD 187.654.
 */
for (const [money, onPanel, minor, rate, total, amountText] of [
  [
    { code: 'USD', hosting: '21.95', overage: '0.55', precommit: '0.40' },
    '550.00',
    55000n,
    'US$0.55',
    '571.95',
    'US$550.00',
  ],
  [
    { code: 'JPY', hosting: '2980.00', overage: '80', precommit: '60' },
    '80000.00',
    80000n,
    'JP¥80',
    '82980.00',
    'JP¥80,000',
  ],
  [
    { code: 'BHD', hosting: '7.50', overage: '0.187654', precommit: '0.15' },
    '187.65',
    187654n,
    'BHD\u00a00.187654',
    '195.15',
    'BHD\u00a0187.654',
  ],
] as const) {
  describeEachEngine(`an overusage line in ${money.code}`, ({ db }) => {
    it("is placed in the client's currency, rounded to its minor unit (the panel keeps two decimals)", async () => {
      const knex = db().knex;
      const s = await buildBillingStory(knex, money);
      await closeMay(s);
      s.f.clock.set('2013-06-02T07:00:00Z');
      await s.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('mod_overusage_lines').where({ client_id: s.story.clientId }).first();
      expect([row.currency, toBig(row.amount_minor), row.status]).to.deep.equal([
        money.code,
        minor,
        'placed',
      ]);
      const inv = await s.f.panel.api.getInvoice(toNum(row.invoice_id));
      const [line] = overusageItems(inv);
      expect(line!.amount).to.equal(onPanel);
      expect(line!.description).to.include(`1,000.00 GB × ${rate} = ${amountText} (dispute by 16 June 2013)`);
      expect(inv.total).to.equal(total);
    });
  });
}
