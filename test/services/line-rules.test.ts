import { expect } from 'chai';
import type { Knex } from 'knex';
import { createLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { createLockStore } from '../../module/adapters/lock-store.js';
import { ModuleError } from '../../module/domain/errors.js';
import type { PanelParams } from '../../module/adapters/panel-api.js';
import { addClient, addService } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';
import {
  buildBillingStory,
  closeMay,
  GB,
  renewalOf,
  STORY_EUR,
  undelivered,
  type BillingStory,
} from '../support/billing-story.js';
import { buildPoolWorld, type PoolWorld } from '../support/pool-world.js';
import { CLI_ACTOR as CLI } from '../support/module-fixture.js';

/**
 * The rules of placing, reconciling and standalone invoicing one at a time, each through the
 * service as the hook, the 5-minute tick or the daily job calls it, and each asserted on what the
 * service answers (its outcome) and what the panel and the audit log then hold.
 *
 * The story (test/support/billing-story.ts): Ann's VPS on a 5 TB plan at €0.50 per GB over, 6 TB
 * used in May 2013: 6 000 − 5 000 = 1 000 GB × €0.50 = €500.00 (50 000 cents). The panel makes the
 * renewal invoice for 9 June on Sunday 2 June; a 14-calendar-day window from 2 June ends 16 June.
 */

/** a lease holder on another host: never taken over as a dead process of this one */
const OTHER_HOST = 'billing-2.example.net:4242:0badc0de';

const PRODUCT = {
  unit: 'GB' as const,
  model: 'per_unit' as const,
  allowance: '5 TB',
  prices: { EUR: { overage: '0.50', precommit: '0.35' } },
};

type Item = { id: number; description: string; amount: string; taxed: boolean };
const overusage = (inv: { items: Item[] }) =>
  inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));

/** The 2 June renewal run, whose every change of an invoice fails: the line is pending, not on the invoice. */
async function interrupted(s: BillingStory, knex: Knex): Promise<number> {
  s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 99 };
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  s.faulty.failNext = null;
  expect((await knex('mod_overusage_lines').first()).status).to.equal('pending');
  return renewalOf(s, knex);
}

/** The renewal run of 2 June as the panel makes it: the hook places the line. */
async function delivered(s: BillingStory, knex: Knex): Promise<number> {
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  return renewalOf(s, knex);
}

/** Another process (on another host) holds the named lease for a minute. */
async function holdLease(knex: Knex, name: string): Promise<void> {
  const lease = await createLockStore(knex).acquire(name, OTHER_HOST, 60_000);
  expect(lease.acquired).to.equal(true);
}

/**
 * An invoice for Ann the panel's API makes (its own InvoiceCreation delivery fails at its first
 * read, as one that died), with one item the panel then marks as `type` of service `relid`.
 */
async function invoiceWithItem(
  s: BillingStory,
  knex: Knex,
  date: string,
  type: string,
  relid: number,
): Promise<number> {
  s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
  const { invoiceId } = await s.f.panel.api.createInvoice({
    userId: s.story.clientId,
    date,
    dueDate: '2013-06-09',
    items: [{ description: 'VPS 5 TB (vps1.example.net)', amount: '19.95', taxed: false }],
  });
  s.faulty.failNext = null;
  await knex('tblinvoiceitems').where({ invoiceid: invoiceId }).update({ type, relid });
  return invoiceId;
}

/**
 * 25 paid invoices of Ann's from January, older than anything the tests make: the invoice a test
 * makes next is her 26th, beyond the first page (25) of her invoices listed oldest first.
 */
async function pastInvoices(s: BillingStory, knex: Knex): Promise<void> {
  await knex('tblinvoices').insert(
    Array.from({ length: 25 }, () => ({
      userid: s.story.clientId,
      date: '2013-01-09',
      duedate: '2013-01-09',
      subtotal: '19.95',
      total: '19.95',
      status: 'Paid',
    })),
  );
}

const chargeOf = async (knex: Knex, serviceId: number) =>
  knex('mod_overusage_charges').where({ service_id: serviceId }).first();

describeEachEngine('placing a line: what a delivery answers', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  it('answers with the one line it placed (€500.00, 50 000 cents), nothing skipped, nothing placed before', async () => {
    const invoiceId = await undelivered(s, knex);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    const row = await knex('mod_overusage_lines').first();
    expect(out).to.deep.equal({
      invoiceId,
      added: 1,
      alreadyPlaced: 0,
      skipped: [],
      placed: [
        {
          lineId: toNum(row.id),
          chargeId: toNum(row.charge_id),
          refCode: row.ref_code,
          amountMinor: 50_000n,
          currency: 'EUR',
        },
      ],
    });
    expect(row.status).to.equal('placed');
  });

  it("audits the placed line as the system's, with its invoice, item, amount, deadline and that the hook placed it", async () => {
    const invoiceId = await delivered(s, knex);
    const line = await knex('mod_overusage_lines').first();
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(audit).to.have.length(1);
    expect([audit[0].actor_type, audit[0].entity_type, toNum(audit[0].entity_id)]).to.deep.equal([
      'system',
      'line',
      toNum(line.id),
    ]);
    expect(JSON.parse(audit[0].details)).to.deep.equal({
      invoiceId,
      invoiceItemId: toNum(line.invoice_item_id),
      chargeId: toNum(line.charge_id),
      amountMinor: '50000',
      currency: 'EUR',
      deadline: '2013-06-16',
      via: 'hook',
    });
  });

  it('records the delivery as finished by the hook, with the one line it added', async () => {
    const invoiceId = await delivered(s, knex);
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 1]]);
  });

  it("lets the invoice's lease go in the commit that places its line, not in a commit of its own", async () => {
    const invoiceId = await undelivered(s, knex);
    const sent: Array<[string | null, string]> = [];
    const listen = (q: { sql: string; __knexTxId?: string }) =>
      sent.push([q.__knexTxId ?? null, q.sql.replace(/\s+/g, ' ').toLowerCase()]);
    knex.on('query', listen);
    try {
      await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    } finally {
      knex.removeListener('query', listen);
    }
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
    const txOf = (re: RegExp) => sent.filter(([, sql]) => re.test(sql)).map(([tx]) => tx);
    const released = txOf(/^delete from .?mod_overusage_locks/);
    // one release, in the transaction that records the delivery finished (and places the line)
    expect(released).to.have.length(1);
    expect(released[0]).to.be.a('string');
    expect(txOf(/^insert into .?mod_overusage_deliveries/)).to.deep.equal(released);
    expect(await knex('mod_overusage_locks').where({ name: `invoice:${invoiceId}` })).to.deep.equal([]);
  });

  it('reads the invoice again before adding a line an earlier delivery left pending, if its first read may be older', async () => {
    // The 2 June run's change of the invoice failed: Ann's EUR 500.00 line is pending, not on it.
    // The next delivery reads the invoice while taking the lease; just after that read, the
    // earlier delivery's item lands on the invoice (as when it failed after its change took
    // effect). The line must be found there, not added a second time.
    const invoiceId = await interrupted(s, knex);
    const line = await knex('mod_overusage_lines').first();
    const real = s.faulty.real.getInvoice.bind(s.faulty.real);
    let landed = false;
    s.faulty.real.getInvoice = async (id: number) => {
      const read = await real(id);
      if (!landed) {
        landed = true;
        await s.f.panel.api.updateInvoice({
          invoiceId: id,
          newItems: [{ description: String(line.description), amount: '500.00', taxed: true }],
        });
      }
      return read;
    };
    s.faulty.calls.length = 0;
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
    // found on the invoice read again: no item added, none removed
    expect(s.faulty.calls.filter((c) => c === 'updateInvoice')).to.deep.equal([]);
    expect((await knex('mod_overusage_lines').first()).status).to.equal('placed');
  });

  it('reads the invoice again when it waited for another delivery of it: paid meanwhile, it gets no line', async () => {
    // Another process holds the invoice's lease when the delivery comes; while the delivery
    // waits, the client pays the EUR 19.95 and that process lets the lease go. The invoice read
    // while the lease was first asked for still says Unpaid; the delivery must go by the invoice
    // as it is once the lease is its own: paid, so the EUR 500.00 waits for the next invoice.
    const invoiceId = await undelivered(s, knex);
    await holdLease(knex, `invoice:${invoiceId}`);
    const delivery = s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    await new Promise((r) => setTimeout(r, 150));
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-meanwhile', gateway: 'banktransfer' });
    await knex('mod_overusage_locks')
      .where({ name: `invoice:${invoiceId}` })
      .delete();
    await delivery;
    const invoice = await s.f.panel.api.getInvoice(invoiceId);
    expect([invoice.status, overusage(invoice)]).to.deep.equal(['Paid', []]);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
  });

  it('places the line when its first read of the invoice failed while it waited for another delivery, and the process goes on', async () => {
    // The read made while the lease is first asked for fails (the panel is briefly down) and the
    // lease is held elsewhere; that read is then never used. The delivery reads the invoice again
    // once the lease is its own and places Ann's €500.00; the failed read is no unhandled
    // rejection (which would end the hook's process).
    const invoiceId = await undelivered(s, knex);
    await holdLease(knex, `invoice:${invoiceId}`);
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
      const delivery = s.mod.lines!.addToRenewalInvoice(invoiceId);
      await new Promise((r) => setTimeout(r, 150));
      expect(s.faulty.failNext.times).to.equal(0);
      await knex('mod_overusage_locks')
        .where({ name: `invoice:${invoiceId}` })
        .delete();
      expect((await delivery).added).to.equal(1);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.removeListener('unhandledRejection', note);
      s.faulty.failNext = null;
    }
    expect(unhandled).to.deep.equal([]);
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
  });

  it("records the delivery of Jan's renewal as finished with no line: his 4 000 GB are within his 5 TB", async () => {
    // the same 2 June run renews Jan's VPS: May's 4 000 GB − 5 000 GB allowance leaves nothing to
    // bill, so his delivery finds no unbilled charge; it is recorded all the same (0 lines), so the
    // reconciliation never gives his invoice lines after the fact
    await delivered(s, knex);
    const item = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: s.story.dutchServiceId })
      .first('invoiceid');
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: toNum(item.invoiceid) });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 0]]);
    expect(await knex('mod_overusage_lines').where({ service_id: s.story.dutchServiceId })).to.have.length(0);
  });

  it("asks the panel for the client once for Ann's €500.00 line, and never for Jan's renewal with nothing over", async () => {
    // Ann: 6 000 GB − 5 000 GB = 1 000 GB × €0.50 = €500.00, one line in her currency and language.
    // Jan: 4 000 GB within 5 TB, no charge: his delivery has no reason to ask who he is.
    const ann = await undelivered(s, knex);
    const jan = toNum(
      (
        await knex('tblinvoiceitems')
          .where({ type: 'Hosting', relid: s.story.dutchServiceId })
          .first('invoiceid')
      ).invoiceid,
    );
    s.faulty.calls.length = 0;
    await s.mod.lines!.addToRenewalInvoice(jan);
    expect(s.faulty.calls.filter((c) => c === 'getClientsDetails')).to.have.length(0);
    const out = await s.mod.lines!.addToRenewalInvoice(ann);
    expect(out.placed?.map((p) => p.amountMinor)).to.deep.equal([50_000n]);
    expect(s.faulty.calls.filter((c) => c === 'getClientsDetails')).to.have.length(1);
  });

  it('puts no line on an invoice paid before its delivery came: the charge waits', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-early', gateway: 'banktransfer' });
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
    // its delivery finished (nothing goes on a paid invoice): recorded, with no line
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 0]]);
  });

  it("counts the window from the invoice's date when its delivery comes three days later", async () => {
    // invoice dated Sunday 2 June; delivered again on 5 June: 2 June + 14 days = 16 June (not 19 June)
    const invoiceId = await undelivered(s, knex);
    s.f.clock.set('2013-06-05T08:00:00Z');
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    const [item] = overusage(await s.f.panel.api.getInvoice(invoiceId));
    expect(item!.description).to.include('(dispute by 16 June 2013)');
    expect((await knex('mod_overusage_lines').first()).deadline_last_day).to.equal('2013-06-16');
  });

  it('gives nothing to an invoice whose item of the service is not its hosting renewal', async () => {
    // an add-on item related to the VPS: the invoice renews no service
    const invoiceId = await invoiceWithItem(s, knex, '2013-06-02', 'Addon', s.story.serviceId);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(out).to.deep.equal({ invoiceId, added: 0, alreadyPlaced: 0, skipped: [] });
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    // the delivery finished with nothing to add: recorded, with no line
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 0]]);
  });

  it('skips a charge in another currency than the client now pays in, and says which', async () => {
    // the charge was rated in EUR (the link's currency); Ann has since moved to USD (currency 2)
    await knex('tblclients').where({ id: s.story.clientId }).update({ currency: 2 });
    const invoiceId = await undelivered(s, knex);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    const charge = await chargeOf(knex, s.story.serviceId);
    expect(out).to.deep.equal({
      invoiceId,
      added: 0,
      alreadyPlaced: 0,
      skipped: [{ chargeId: toNum(charge.id), reason: 'the charge is in EUR but the client pays in USD' }],
    });
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
  });

  it('skips a product whose panel overage billing is on, and says why in the answer', async () => {
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    const invoiceId = await undelivered(s, knex);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    const charge = await chargeOf(knex, s.story.serviceId);
    expect(out.skipped).to.deep.equal([
      {
        chargeId: toNum(charge.id),
        reason: `the panel's own overage billing is enabled on product ${s.story.productId}; switch it off there, or this traffic would be billed twice`,
      },
    ]);
    expect(out.added).to.equal(0);
  });

  it('bills a product whose panel overage flag reads "0" (off)', async () => {
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: '0' });
    const invoiceId = await delivered(s, knex);
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
  });

  it('skips a charge whose line is pending on another invoice, and names that invoice', async () => {
    const renewal = await interrupted(s, knex);
    // a second invoice renewing the VPS, made the next day
    const other = await invoiceWithItem(s, knex, '2013-06-03', 'Hosting', s.story.serviceId);
    const out = await s.mod.lines!.addToRenewalInvoice(other);
    const charge = await chargeOf(knex, s.story.serviceId);
    expect(out.skipped).to.deep.equal([
      { chargeId: toNum(charge.id), reason: `already on invoice ${renewal}` },
    ]);
    expect(out.added).to.equal(0);
  });

  it('puts the pending line of an interrupted delivery on at the next delivery, skipping nothing', async () => {
    const invoiceId = await interrupted(s, knex);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect([out.added, out.alreadyPlaced, out.skipped]).to.deep.equal([1, 0, []]);
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
  });

  it("rates only the services the invoice renews: the Dutch client's VPS waits for the daily job", async () => {
    // an invoice renewing Ann's VPS, made before any rating: its delivery rates Ann's May (€500.00)
    const invoiceId = await invoiceWithItem(s, knex, '2013-06-02', 'Hosting', s.story.serviceId);
    expect(await knex('mod_overusage_charges')).to.have.length(0);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(out.added).to.equal(1);
    const rated = await knex('mod_overusage_charges').select('service_id');
    expect(rated.map((r) => toNum(r.service_id))).to.deep.equal([s.story.serviceId]);
  });

  it('fails the delivery and places nothing when rating the closed periods fails', async () => {
    // an invoice renewing Ann's VPS, made before any rating: its delivery must rate Ann's May
    const invoiceId = await invoiceWithItem(s, knex, '2013-06-02', 'Hosting', s.story.serviceId);
    expect(await knex('mod_overusage_charges')).to.have.length(0);
    s.mod.rating.rateClosedPeriods = async () => {
      throw new Error('injected: rating failed');
    };
    const failed = await s.mod.lines!.addToRenewalInvoice(invoiceId).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected: rating failed');
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });

  it('does not rate when no closed period of the invoice waits for it: the line goes on without the rating', async () => {
    // the 2 June run rated May (Ann's €500.00) before its delivery failed at its first read
    const invoiceId = await undelivered(s, knex);
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
    s.mod.rating.rateClosedPeriods = async () => {
      throw new Error('injected: rating failed');
    };
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect([out.added, out.skipped]).to.deep.equal([1, []]);
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
  });

  it('writes no line for a charge rated again while its line was being written: the new €400.00 waits for the next invoice', async () => {
    // The admin lowers the price to €0.40 a GB and May is rated again while the delivery reads the
    // client (after it read May's €500.00 charge, before it writes the line): 1 000 GB × €0.40 =
    // €400.00 replaces it. The line of €500.00 is not written; the delivery ends with nothing added
    // and the €400.00 charge stays unbilled for the next invoice.
    const invoiceId = await undelivered(s, knex);
    const may = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId, start_date: '2013-05-01' })
      .first('id');
    const read = s.faulty.real.getClientsDetails.bind(s.faulty.real);
    s.faulty.real.getClientsDetails = async (userId: number) => {
      s.faulty.real.getClientsDetails = read;
      const prices = { EUR: { overage: '0.40', precommit: '0.35' } };
      await s.mod.billing.setProduct(s.story.productId, { ...PRODUCT, prices }, CLI);
      const again = await s.mod.rating.reratePeriod(toNum(may.id), { actor: CLI, because: 'test.price' });
      expect(again.kind).to.equal('replaced');
      return read(userId);
    };
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(out).to.deep.equal({ invoiceId, added: 0, alreadyPlaced: 0, skipped: [] });
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    const charge = await chargeOf(knex, s.story.serviceId);
    expect([charge.status, toNum(charge.amount_minor)]).to.deep.equal(['unbilled', 40_000]);
  });

  it("names the panel's own error in the activity log when reading the client fails", async () => {
    const invoiceId = await undelivered(s, knex);
    s.faulty.failNext = { method: 'getClientsDetails', when: 'before', times: 1 };
    await s.f.panel.hooks.run('InvoiceCreation', { invoiceid: invoiceId });
    const said = await knex('tblactivitylog').where('description', 'like', 'Overusage: could not add%');
    expect(said.map((a) => a.description)).to.include(
      `Overusage: could not add overusage lines to invoice ${invoiceId}: Error`,
    );
  });

  describe('when the panel does not say whether its own overage billing is on (as WHMCS)', () => {
    beforeEach(() => {
      const real = s.faulty.real.call.bind(s.faulty.real);
      s.faulty.real.call = async (action: string, params?: PanelParams) => {
        const res = await real(action, params);
        if (action !== 'GetProducts') return res;
        const products = (res.products as { product: Array<Record<string, unknown>> }).product;
        return { ...res, products: { product: products.map(({ overagesenabled: _, ...p }) => p) } };
      };
    });

    it('asks the admin to confirm it is off, and bills nothing meanwhile', async () => {
      const invoiceId = await undelivered(s, knex);
      const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
      expect(out.skipped.map((x) => x.reason)).to.deep.equal([
        `product ${s.story.productId}: confirm in the settings that the panel's own overage billing is off for it (the panel cannot tell)`,
      ]);
      expect(overusage(await s.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
    });

    it('asks the admin to confirm it is off when the panel cannot list the product at all', async () => {
      s.faulty.real.call = async () => {
        throw new Error('injected: GetProducts failed');
      };
      const invoiceId = await undelivered(s, knex);
      const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
      expect(out.skipped.map((x) => x.reason)).to.deep.equal([
        `product ${s.story.productId}: confirm in the settings that the panel's own overage billing is off for it (the panel cannot tell)`,
      ]);
    });

    it('bills once the admin confirmed it is off', async () => {
      await s.mod.billing.setProduct(s.story.productId, { ...PRODUCT, panelOverageOff: true }, CLI);
      const invoiceId = await delivered(s, knex);
      expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
        '500.00',
      ]);
    });
  });

  it('skips a charge whose product is no longer billed for overusage, and says so', async () => {
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    await s.mod.billing.setProduct(s.story.productId, { ...PRODUCT, enabled: false }, CLI);
    const invoiceId = await undelivered(s, knex);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    const charge = await chargeOf(knex, s.story.serviceId);
    expect(out.skipped).to.deep.equal([
      { chargeId: toNum(charge.id), reason: 'the product is no longer billed for overusage' },
    ]);
  });

  it('puts the line of an untaxed product on the invoice untaxed', async () => {
    await s.mod.billing.setProduct(s.story.productId, { ...PRODUCT, taxed: false }, CLI);
    const invoiceId = await delivered(s, knex);
    expect(
      overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => [i.amount, i.taxed]),
    ).to.deep.equal([['500.00', false]]);
  });
});

/**
 * Ann has a second VPS (ref 103) on the same plan, linked in USD although she pays in EUR: its
 * June charge (6 TB used: 1 000 GB × $0.55 = $550.00) is never billed on her EUR invoice.
 */
describeEachEngine('placing a line on an invoice that renews two services', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let usdServiceId: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    usdServiceId = await addService(
      knex,
      {
        userid: s.story.clientId,
        packageid: s.story.productId,
        domain: 'vps3.example.net',
        regdate: '2013-01-09',
        nextduedate: '2013-06-09',
        amount: '19.95',
      },
      s.f.clock.now(),
      'Europe/Brussels',
    );
    await s.mod.links.link(
      {
        serviceId: usdServiceId,
        clientId: s.story.clientId,
        productId: s.story.productId,
        masterId: s.masterId,
        serverRef: '103',
        currency: 'USD',
      },
      CLI,
    );
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...PRODUCT, prices: { ...PRODUCT.prices, USD: { overage: '0.55', precommit: '0.40' } } },
      CLI,
    );
    for (const [at, bytes] of [
      ['2013-05-30T21:50:00Z', 5900n * GB],
      ['2013-05-31T21:50:00Z', 6000n * GB],
      ['2013-06-01T21:50:00Z', 150n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', bytes);
      s.fake.set('102', 0n);
      s.fake.set('103', bytes);
      await s.mod.metering.collect();
    }
  });

  it('counts the line an earlier delivery placed as already placed, and skips the USD charge again', async () => {
    const invoiceId = await delivered(s, knex);
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
    const usd = await chargeOf(knex, usdServiceId);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(out).to.deep.equal({
      invoiceId,
      added: 0,
      alreadyPlaced: 1,
      skipped: [{ chargeId: toNum(usd.id), reason: 'the charge is in USD but the client pays in EUR' }],
    });
  });

  it('counts a pending line it finds already on the invoice as added by this delivery, not as placed before', async () => {
    // the crashed delivery's EUR item reached the invoice after all: this delivery confirms it (one
    // added); the USD charge is still unbilled, so the delivery goes on and counts what was placed
    // before it: 1 placed when read − 1 it confirmed itself = 0
    const invoiceId = await interrupted(s, knex);
    const line = await knex('mod_overusage_lines').first();
    await s.f.panel.api.updateInvoice({
      invoiceId,
      newItems: [{ description: line.description, amount: '500.00', taxed: true }],
    });
    const usd = await chargeOf(knex, usdServiceId);
    const out = await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect([out.added, out.alreadyPlaced, out.skipped]).to.deep.equal([
      1,
      0,
      [{ chargeId: toNum(usd.id), reason: 'the charge is in USD but the client pays in EUR' }],
    ]);
    // €500.00 once: nothing added again
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
    ]);
  });
});

/**
 * Ann's second VPS (ref 103) on the same plan, billed in EUR as her first: May counted 5 600 GB,
 * 600 GB over × €0.50 = €300.00, beside the first's 6 000 GB − 5 000 GB = 1 000 GB × €0.50 =
 * €500.00. Her 2 June renewal renews both, and its one delivery places both lines.
 */
describeEachEngine('placing the lines of two VPSs in one delivery', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    const second = await addService(
      knex,
      {
        userid: s.story.clientId,
        packageid: s.story.productId,
        domain: 'vps3.example.net',
        regdate: '2013-01-09',
        nextduedate: '2013-06-09',
        amount: '19.95',
      },
      s.f.clock.now(),
      'Europe/Brussels',
    );
    await s.mod.links.link(
      {
        serviceId: second,
        clientId: s.story.clientId,
        productId: s.story.productId,
        masterId: s.masterId,
        serverRef: '103',
        currency: 'EUR',
      },
      CLI,
    );
    for (const [at, first, other] of [
      ['2013-05-30T21:50:00Z', 5900n * GB, 5500n * GB],
      ['2013-05-31T21:50:00Z', 6000n * GB, 5600n * GB],
      ['2013-06-01T21:50:00Z', 150n * GB, 100n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', first);
      s.fake.set('102', 0n);
      s.fake.set('103', other);
      await s.mod.metering.collect();
    }
  });

  it('puts €500.00 and €300.00 on the invoice in the order of their charges, and records the delivery with the 2 lines', async () => {
    const sent: Array<[string | null, string]> = [];
    const listen = (q: { sql: string; __knexTxId?: string }) =>
      sent.push([q.__knexTxId ?? null, q.sql.replace(/\s+/g, ' ').toLowerCase()]);
    knex.on('query', listen);
    let invoiceId: number;
    try {
      invoiceId = await delivered(s, knex);
    } finally {
      knex.removeListener('query', listen);
    }
    expect(overusage(await s.f.panel.api.getInvoice(invoiceId)).map((i) => i.amount)).to.deep.equal([
      '500.00',
      '300.00',
    ]);
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 2]]);
    // Ann's invoice's lease is held until the second line is placed: let go once, in the commit
    // that places it and records the delivery (Jan's renewal, with nothing to bill, records its
    // delivery without a line and lets its lease go after)
    const txOf = (re: RegExp) => sent.filter(([, sql]) => re.test(sql)).map(([tx]) => tx);
    const recordedIn = txOf(/^insert into .?mod_overusage_deliveries/).filter((tx) => tx !== null);
    expect(recordedIn).to.have.length(1);
    const releases = txOf(/^delete from .?mod_overusage_locks/);
    expect(releases.filter((tx) => tx !== null)).to.deep.equal(recordedIn);
    const lines = await knex('mod_overusage_lines').orderBy('id');
    expect(lines.map((l) => [l.status, toNum(l.amount_minor)])).to.deep.equal([
      ['placed', 50_000],
      ['placed', 30_000],
    ]);
  });
});

/**
 * A delivery rates the pool months of its invoice's client only. Ann's VPS A (1 TB, pool "main")
 * and Jan's VPS (the same product, so his own pool "main") are metered all October 2026:
 *   Ann: 1 500 GB used − 1 000 GB (A's whole month, 745 hours) = 500 GB × €0.50 = €250.00
 *   Jan: 1 200 GB used − 1 000 GB = 200 GB × €0.50 = €100.00
 * An invoice renewing A, made on 2 November, gets Ann's €250.00; Jan's October waits for the daily
 * job (his own renewal's delivery would rate it too).
 */
describeEachEngine("a delivery rates the pools of its invoice's client only", ({ db }) => {
  let knex: Knex;
  let w: PoolWorld;

  beforeEach(async () => {
    knex = db().knex;
    w = await buildPoolWorld(knex, {
      start: '2026-10-01T08:00:00Z',
      regdate: '2026-01-09',
      nextduedate: '2026-11-09',
      vps: [],
    });
    const prices = { EUR: { overage: '0.50' } };
    await w.mod.billing.setProduct(
      w.story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '1 TB', prices, pool: 'main' },
      CLI,
    );
    for (const [serviceId, clientId, serverRef] of [
      [w.story.serviceId, w.story.clientId, '101'],
      [w.story.dutchServiceId, w.story.dutchClientId, '102'],
    ] as const) {
      await w.mod.links.link(
        {
          serviceId,
          clientId,
          productId: w.story.productId,
          masterId: w.masterId,
          serverRef,
          currency: 'EUR',
          // metered since their registration: each is in its pool the whole of October
          regdate: '2026-01-09',
        },
        CLI,
      );
    }
    await w.mod.pools.syncMembers();
    for (const [at, ann, jan] of [
      ['2026-10-01T21:50:00Z', 100n * GB, 50n * GB],
      ['2026-10-31T21:50:00Z', 1500n * GB, 1200n * GB],
      ['2026-11-01T21:50:00Z', 10n * GB, 10n * GB],
    ] as const) {
      w.f.clock.set(at);
      w.fake.set('101', ann);
      w.fake.set('102', jan);
      await w.mod.metering.collect();
    }
  });

  it("bills Ann's October (€250.00) on her invoice and leaves Jan's (€100.00) to the daily job", async () => {
    w.f.clock.set('2026-11-02T07:00:00Z');
    const { invoiceId } = await w.f.panel.api.createInvoice({
      userId: w.story.clientId,
      date: '2026-11-02',
      dueDate: '2026-11-09',
      items: [{ description: 'VPS 1 TB (vps1.example.net)', amount: '19.95', taxed: false }],
    });
    await knex('tblinvoiceitems')
      .where({ invoiceid: invoiceId })
      .update({ type: 'Hosting', relid: w.story.serviceId });
    const out = await w.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(out.placed?.map((l) => l.amountMinor)).to.deep.equal([25_000n]);
    const months = async (clientId: number) =>
      readable(await w.mod.pools.poolPeriods(clientId)).map((p) => [p.start, p.amountMinor]);
    expect(await months(w.story.clientId)).to.deep.equal([['2026-10-01', 25_000n]]);
    expect(await months(w.story.dutchClientId)).to.deep.equal([]);
    expect((await w.mod.pools.ratePools()).rated).to.equal(1);
    expect(await months(w.story.dutchClientId)).to.deep.equal([['2026-10-01', 10_000n]]);
  });
});

describeEachEngine('reconciling lines the hook left undone', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
  });

  const nothing = { confirmed: 0, placed: 0, released: [], recovered: [], busy: [], unreadable: [] };

  it('keeps the first of two copies of a line two deliveries both added, and removes the other', async () => {
    const invoiceId = await interrupted(s, knex);
    const line = await knex('mod_overusage_lines').first();
    const copy = { description: line.description, amount: '500.00', taxed: true };
    await s.f.panel.api.updateInvoice({ invoiceId, newItems: [copy, copy] });
    const [first] = overusage(await s.f.panel.api.getInvoice(invoiceId))
      .map((i) => i.id)
      .sort((a, b) => a - b);
    const out = await s.mod.lines!.reconcilePending();
    expect(out).to.deep.equal({ ...nothing, confirmed: 1 });
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(overusage(inv).map((i) => i.id)).to.deep.equal([first]);
    expect(inv.total).to.equal('519.95'); // 19.95 + 500.00 once
    expect(toNum((await knex('mod_overusage_lines').first()).invoice_item_id)).to.equal(first);
  });

  it('confirms a line already on its invoice without changing the invoice, audited as the reconciliation', async () => {
    const invoiceId = await interrupted(s, knex);
    const line = await knex('mod_overusage_lines').first();
    await s.f.panel.api.updateInvoice({
      invoiceId,
      newItems: [{ description: line.description, amount: '500.00', taxed: true }],
    });
    s.faulty.calls = [];
    const out = await s.mod.lines!.reconcilePending();
    expect(out).to.deep.equal({ ...nothing, confirmed: 1 });
    expect(s.faulty.calls).to.not.include('updateInvoice');
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(JSON.parse(audit[0].details)).to.include({ invoiceId, via: 'reconcile' });
  });

  it("fails with the panel's error, not as busy, when reading a pending line's invoice fails", async () => {
    await interrupted(s, knex);
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
    const failed = await s.mod.lines!.reconcilePending().then(
      (out) => JSON.stringify(out),
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure before getInvoice');
    expect((await knex('mod_overusage_lines').first()).status).to.equal('pending');
  });

  it('leaves an invoice another process is working on for the next reconciliation', async () => {
    const invoiceId = await interrupted(s, knex);
    await holdLease(knex, `invoice:${invoiceId}`);
    expect(await s.mod.lines!.reconcilePending()).to.deep.equal({ ...nothing, busy: [invoiceId] });
    expect((await knex('mod_overusage_lines').first()).status).to.equal('pending');
  });

  it("audits a released line as the system's, on its charge, with the amount and why", async () => {
    const invoiceId = await interrupted(s, knex);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-hosting', gateway: 'banktransfer' });
    const line = await knex('mod_overusage_lines').first();
    await s.mod.lines!.reconcilePending();
    const audit = await knex('mod_overusage_audit').where({ action: 'line.released' });
    expect(audit.map((a) => [a.actor_type, a.entity_type, toNum(a.entity_id)])).to.deep.equal([
      ['system', 'charge', toNum(line.charge_id)],
    ]);
    expect(JSON.parse(audit[0].details)).to.deep.equal({
      invoiceId,
      invoiceStatus: 'Paid',
      refCode: line.ref_code,
      amountMinor: '50000',
      currency: 'EUR',
      reason: `invoice ${invoiceId} was paid before the line could be added; the charge waits for the next invoice`,
    });
  });

  it('leaves a missed renewal another process is working on for the next reconciliation', async () => {
    const invoiceId = await undelivered(s, knex);
    await holdLease(knex, `invoice:${invoiceId}`);
    expect(await s.mod.lines!.reconcile()).to.deep.equal({ ...nothing, busy: [invoiceId] });
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });

  it('fails with the error, not as busy, when giving a missed renewal its lines fails', async () => {
    const invoiceId = await undelivered(s, knex);
    // April of Ann's VPS closed and waits for its rating (May was rated on 2 June): the
    // reconciliation rates it first, and the rating fails
    const may = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId, start_date: '2013-05-01' })
      .first();
    await knex('mod_overusage_periods').insert({
      ...may,
      id: undefined,
      start_date: '2013-04-01',
      end_date: '2013-04-30',
      // May's copy, but not rated
      rated: false,
    });
    // a module error that is not another delivery's lease (LOCKED)
    s.mod.rating.rateClosedPeriods = async () => {
      throw new ModuleError('CONFLICT', 'injected: the period is being rated again');
    };
    const failed = await s.mod.lines!.reconcile().then(
      (out) => JSON.stringify(out),
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected: the period is being rated again');
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect(await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId })).to.have.length(0);
  });

  it('finds a missed renewal among the newest invoices of a client with 25 older ones', async () => {
    await pastInvoices(s, knex);
    const invoiceId = await undelivered(s, knex);
    const out = await s.mod.lines!.reconcile();
    expect(out.recovered).to.deep.equal([{ invoiceId, added: 1 }]);
    // 19.95 + 500.00
    expect((await s.f.panel.api.getInvoice(invoiceId)).total).to.equal('519.95');
  });

  it('gives a missed renewal the month that ended before its date, not one that ended after it', async () => {
    // the 2 June renewal's delivery never finished; June (6 TB again: €500.00) is rated on 2 July and
    // waits too. The service waits from its earliest period end, 31 May < 2 June: the renewal gets
    // May's line only; June's charge ends 30 June, after the invoice's date, and waits
    const invoiceId = await undelivered(s, knex);
    for (const [at, bytes] of [
      ['2013-06-30T21:50:00Z', 6000n * GB],
      ['2013-07-01T21:50:00Z', 10n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', bytes);
      s.fake.set('102', 0n);
      await s.mod.metering.collect();
    }
    s.f.clock.set('2013-07-02T07:00:00Z');
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    const out = await s.mod.lines!.reconcile();
    expect(out.recovered).to.deep.equal([{ invoiceId, added: 1 }]);
    const charges = await knex('mod_overusage_charges')
      .where({ service_id: s.story.serviceId })
      .orderBy('period_end');
    expect(charges.map((c) => [c.period_end, c.status])).to.deep.equal([
      ['2013-05-31', 'billed'],
      ['2013-06-30', 'unbilled'],
    ]);
  });

  it('records a recovered invoice as finished by the reconciliation', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.mod.lines!.reconcile();
    const rows = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(rows.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['reconcile', 1]]);
  });

  it('audits the line a missed renewal got as placed by the reconciliation', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.mod.lines!.reconcile();
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(audit.map((a) => JSON.parse(a.details))).to.have.length(1);
    expect(JSON.parse(audit[0].details)).to.include({ invoiceId, via: 'reconcile' });
  });

  it('says a missed renewal whose charge is refused got no line', async () => {
    // the panel bills the product's overage itself: the charge is refused again
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    const invoiceId = await undelivered(s, knex);
    expect(await s.mod.lines!.reconcile()).to.deep.equal({
      ...nothing,
      recovered: [{ invoiceId, added: 0 }],
    });
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });

  it('gives a missed renewal with another item on it too its line', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.f.panel.api.updateInvoice({
      invoiceId,
      newItems: [{ description: 'Extra IPv4 address', amount: '3.00', taxed: false }],
    });
    const out = await s.mod.lines!.reconcile();
    expect(out.recovered).to.deep.equal([{ invoiceId, added: 1 }]);
    // 19.95 + 3.00 + 500.00
    expect((await s.f.panel.api.getInvoice(invoiceId)).total).to.equal('522.95');
  });

  it('does not look again at an invoice whose delivery finished, while its charge still waits', async () => {
    // the panel bills the product's overage itself: the hook refused the charge and finished
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    await delivered(s, knex);
    expect(await s.mod.lines!.reconcile()).to.deep.equal(nothing);
  });

  it('leaves a missed renewal that was paid first alone', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-early', gateway: 'banktransfer' });
    expect(await s.mod.lines!.reconcile()).to.deep.equal(nothing);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
  });

  it('gives no line to an invoice dated the day the period ended (the period had not ended when it was made)', async () => {
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
    await invoiceWithItem(s, knex, '2013-05-31', 'Hosting', s.story.serviceId);
    expect(await s.mod.lines!.reconcile()).to.deep.equal(nothing);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });

  it('gives no line to a missed invoice whose item of the service is not its hosting renewal', async () => {
    await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
    await invoiceWithItem(s, knex, '2013-06-02', 'Addon', s.story.serviceId);
    expect(await s.mod.lines!.reconcile()).to.deep.equal(nothing);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
  });
});

/**
 * Ann's VPS renews yearly: May's charge (€500.00) is due on an invoice of its own 35 days after
 * the period: 31 May + 35 days = 5 July.
 */
describeEachEngine('standalone invoices for charges no renewal picks up', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Annually', nextduedate: '2014-01-09' });
    await closeMay(s);
    s.f.clock.set('2013-07-05T10:00:00Z');
  });

  const setProduct = (extra: Record<string, unknown>) =>
    s.mod.billing.setProduct(
      s.story.productId,
      { ...PRODUCT, unpicked: { policy: 'standalone', afterDays: 35 }, ...extra },
      CLI,
    );
  const invoicesOfAnn = async () =>
    (await s.f.panel.api.getInvoices({ userId: s.story.clientId })).totalResults;

  it('answers one invoice with one line, then nothing on the next run', async () => {
    await s.mod.rating.rateClosedPeriods();
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 1, lines: 1 });
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 0 });
  });

  it('leaves the charge of a product set to wait for the next renewal', async () => {
    await setProduct({ unpicked: { policy: 'next_renewal', afterDays: 35 } });
    await s.mod.rating.rateClosedPeriods();
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 0 });
    expect(await invoicesOfAnn()).to.equal(0);
  });

  it('makes no invoice when the panel bills the product’s overage itself', async () => {
    await knex('tblproducts').where({ id: s.story.productId }).update({ overagesenabled: 'GB' });
    await s.mod.rating.rateClosedPeriods();
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 0 });
    expect(await invoicesOfAnn()).to.equal(0);
  });

  it('makes no invoice for a charge in another currency than the client now pays in', async () => {
    await s.mod.rating.rateClosedPeriods();
    await knex('tblclients').where({ id: s.story.clientId }).update({ currency: 2 });
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 0 });
    expect(await invoicesOfAnn()).to.equal(0);
  });

  it('puts the line of an untaxed product on its invoice untaxed', async () => {
    await setProduct({ taxed: false });
    await s.mod.rating.rateClosedPeriods();
    await s.mod.lines!.billUnpicked();
    const line = await knex('mod_overusage_lines').first();
    const inv = await s.f.panel.api.getInvoice(toNum(line.invoice_id));
    expect(inv.items.map((i) => [i.amount, i.taxed])).to.deep.equal([['500.00', false]]);
  });

  it('audits the line of a standalone invoice as placed by the standalone run, not by the hook', async () => {
    await s.mod.rating.rateClosedPeriods();
    await s.mod.lines!.billUnpicked();
    const line = await knex('mod_overusage_lines').first();
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(audit.map((a) => JSON.parse(a.details))).to.deep.equal([
      {
        invoiceId: toNum(line.invoice_id),
        invoiceItemId: toNum(line.invoice_item_id),
        chargeId: toNum(line.charge_id),
        amountMinor: '50000',
        currency: 'EUR',
        // 5 July + 14 calendar days
        deadline: '2013-07-19',
        via: 'standalone',
      },
    ]);
  });

  it('emails the client the invoice it makes', async () => {
    await s.mod.rating.rateClosedPeriods();
    const before = (await knex('tblemails').where({ userid: s.story.clientId })).length;
    await s.mod.lines!.billUnpicked();
    expect((await knex('tblemails').where({ userid: s.story.clientId })).length).to.equal(before + 1);
  });

  it('finds the invoice a crashed run made among newer invoices of the client, and says it placed one line', async () => {
    await s.mod.rating.rateClosedPeriods();
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const failed = await s.mod.lines!.billUnpicked().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure after createInvoice took effect');
    const made = (await s.f.panel.api.getInvoices({ userId: s.story.clientId })).invoices[0]!.id;
    // a newer invoice of Ann's, for something else
    await s.f.panel.api.createInvoice({
      userId: s.story.clientId,
      items: [{ description: 'Extra IPv4 address', amount: '3.00', taxed: false }],
    });
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 1 });
    const line = await knex('mod_overusage_lines').first();
    expect([line.status, toNum(line.invoice_id)]).to.deep.equal(['placed', made]);
  });

  it('audits the line of the invoice a crashed run made as placed by the standalone run when it finds it', async () => {
    await s.mod.rating.rateClosedPeriods();
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const failed = await s.mod.lines!.billUnpicked().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure after createInvoice took effect');
    expect(await knex('mod_overusage_audit').where({ action: 'line.placed' })).to.have.length(0);
    await s.mod.lines!.billUnpicked();
    const audit = await knex('mod_overusage_audit').where({ action: 'line.placed' });
    expect(audit.map((a) => JSON.parse(a.details).via)).to.deep.equal(['standalone']);
  });

  it('finds the invoice a crashed run made for a client with 25 older invoices, and makes no second one', async () => {
    await pastInvoices(s, knex);
    await s.mod.rating.rateClosedPeriods();
    s.faulty.failNext = { method: 'createInvoice', when: 'after', times: 1 };
    const failed = await s.mod.lines!.billUnpicked().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal('injected failure after createInvoice took effect');
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 0, lines: 1 });
    // 25 from January + the one the crashed run made
    expect(await invoicesOfAnn()).to.equal(26);
  });

  it('says which run holds the client when another run is at it, and makes no invoice', async () => {
    await s.mod.rating.rateClosedPeriods();
    await holdLease(knex, `standalone:client:${s.story.clientId}`);
    const failed = await s.mod.lines!.billUnpicked().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).to.equal(
      `standalone:client:${s.story.clientId} is being handled by another run (${OTHER_HOST})`,
    );
    expect(await invoicesOfAnn()).to.equal(0);
  });
});

/**
 * Bob, client 12 (an id of two digits), has a yearly VPS on the same plan, linked as ref 103: May at
 * 6 TB, 1 000 GB over × €0.50 = €500.00, due on an invoice of his own on 5 July.
 */
describeEachEngine('a standalone invoice for a client whose id has two digits', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  const BOB = 12;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    const made = await addClient(
      knex,
      { firstname: 'Bob', lastname: 'Peeters', email: 'bob@example.net' },
      s.f.clock.now(),
      'Europe/Brussels',
    );
    await knex('tblclients').where({ id: made }).update({ id: BOB });
    const serviceId = await addService(
      knex,
      {
        userid: BOB,
        packageid: s.story.productId,
        domain: 'vps4.example.net',
        regdate: '2013-01-09',
        nextduedate: '2014-01-09',
        amount: '19.95',
      },
      s.f.clock.now(),
      'Europe/Brussels',
    );
    await knex('tblhosting').where({ id: serviceId }).update({ billingcycle: 'Annually' });
    await s.mod.links.link(
      {
        serviceId,
        clientId: BOB,
        productId: s.story.productId,
        masterId: s.masterId,
        serverRef: '103',
        currency: 'EUR',
      },
      CLI,
    );
    for (const [at, bytes] of [
      ['2013-05-30T21:50:00Z', 5900n * GB],
      ['2013-05-31T21:50:00Z', 6000n * GB],
      ['2013-06-01T21:50:00Z', 150n * GB],
    ] as const) {
      s.f.clock.set(at);
      s.fake.set('101', 0n);
      s.fake.set('102', 0n);
      s.fake.set('103', bytes);
      await s.mod.metering.collect();
    }
    s.f.clock.set('2013-07-05T10:00:00Z');
  });

  it('puts his line on an invoice of his own', async () => {
    await s.mod.rating.rateClosedPeriods();
    expect(await s.mod.lines!.billUnpicked()).to.deep.equal({ invoices: 1, lines: 1 });
    const { invoices } = await s.f.panel.api.getInvoices({ userId: BOB });
    expect(invoices.map((i) => i.total)).to.deep.equal(['500.00']);
  });
});

/** What an operator reads in the module's log (one JSON object a line) about lines. */
describeEachEngine('what the log says about lines', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let logged: Array<Record<string, unknown>>;

  beforeEach(async () => {
    knex = db().knex;
    logged = [];
    const log = createLogger({
      level: 'info',
      write: (l) => logged.push(JSON.parse(l) as Record<string, unknown>),
    });
    s = await buildBillingStory(knex, STORY_EUR, { log });
    await closeMay(s);
  });

  /** the fields of each entry of an event, without its time and level */
  const said = (event: string) =>
    logged.filter((e) => e.event === event).map(({ at: _a, level: _l, event: _e, ...fields }) => fields);

  it('says how many lines a delivery added to which invoice', async () => {
    const invoiceId = await undelivered(s, knex);
    logged.length = 0;
    await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(said('lines.added')).to.deep.equal([{ invoiceId, added: 1 }]);
  });

  it('says nothing of lines added when a delivery added none', async () => {
    await knex('tblclients').where({ id: s.story.clientId }).update({ currency: 2 });
    const invoiceId = await undelivered(s, knex);
    logged.length = 0;
    await s.mod.lines!.addToRenewalInvoice(invoiceId);
    expect(said('lines.added')).to.deep.equal([]);
  });

  it('names the copies of a line it removed from an invoice', async () => {
    const invoiceId = await interrupted(s, knex);
    const line = await knex('mod_overusage_lines').first();
    const copy = { description: line.description, amount: '500.00', taxed: true };
    await s.f.panel.api.updateInvoice({ invoiceId, newItems: [copy, copy] });
    const ids = overusage(await s.f.panel.api.getInvoice(invoiceId))
      .map((i) => i.id)
      .sort((a, b) => a - b);
    await s.mod.lines!.reconcilePending();
    expect(said('lines.duplicates_removed')).to.deep.equal([{ invoiceId, items: [ids[1]] }]);
  });

  it('says how many pending lines the reconciliation put on which invoice', async () => {
    const invoiceId = await interrupted(s, knex);
    await s.mod.lines!.reconcilePending();
    expect(said('lines.reconciled')).to.deep.equal([{ invoiceId, placed: 1 }]);
  });

  it('warns of a released line: its invoice, its charge and the invoice status', async () => {
    const invoiceId = await interrupted(s, knex);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-hosting', gateway: 'banktransfer' });
    const line = await knex('mod_overusage_lines').first();
    await s.mod.lines!.reconcilePending();
    expect(said('lines.released')).to.deep.equal([
      { invoiceId, chargeId: toNum(line.charge_id), invoiceStatus: 'Paid' },
    ]);
  });

  it('says how many lines a missed renewal got from the reconciliation', async () => {
    const invoiceId = await undelivered(s, knex);
    await s.mod.lines!.reconcile();
    expect(said('lines.recovered')).to.deep.equal([{ invoiceId, added: 1 }]);
  });

  it('says which standalone invoice it made for which client, with how many lines', async () => {
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Annually', nextduedate: '2014-01-09' });
    s.f.clock.set('2013-07-05T10:00:00Z');
    await s.mod.rating.rateClosedPeriods();
    await s.mod.lines!.billUnpicked();
    const line = await knex('mod_overusage_lines').first();
    expect(said('lines.standalone_invoice')).to.deep.equal([
      { clientId: s.story.clientId, invoiceId: toNum(line.invoice_id), lines: 1 },
    ]);
  });
});

/**
 * The panel waits for the InvoiceCreation hook before it totals the invoice and emails it: the
 * module answers once the invoice holds its lines and records them placed just after, under the
 * invoice's lease. Ann's renewal: €19.95 for the VPS + €500.00 overusage = €519.95.
 */
describeEachEngine('answering the panel before the line is recorded placed', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let logged: Array<Record<string, unknown>>;
  /** the module's second read of the invoice (after adding the line) waits for `open()`, or fails */
  let open: () => void;
  let secondRead: 'wait' | 'fail';

  beforeEach(async () => {
    knex = db().knex;
    logged = [];
    const log = createLogger({
      level: 'info',
      write: (l) => logged.push(JSON.parse(l) as Record<string, unknown>),
    });
    s = await buildBillingStory(knex, STORY_EUR, { log });
    await closeMay(s);
    secondRead = 'wait';
    const gate = new Promise<void>((resolve) => (open = resolve));
    const real = s.faulty.real.getInvoice.bind(s.faulty.real);
    let reads = 0;
    s.faulty.real.getInvoice = async (id: number) => {
      // the first read is the delivery's own (which services the invoice renews)
      if (++reads === 2 && secondRead === 'fail') throw new Error('the panel is restarting');
      if (reads === 2) await gate;
      return real(id);
    };
  });

  /** the module's InvoiceCreation handler, as the panel calls it (the panel waits for it alone) */
  const hook = () => s.mod.hooks().find((h) => h.name === 'InvoiceCreation')!;
  const lineRow = async () => knex('mod_overusage_lines').first();

  it('returns with the line on the invoice (€519.95) while the line is pending; placed, billed and audited once just after', async () => {
    const invoiceId = await undelivered(s, knex);
    await hook().handler({ invoiceid: invoiceId });
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(overusage(inv).map((i) => i.amount)).to.deep.equal(['500.00']);
    expect(inv.total).to.equal('519.95');
    // recorded placed only after the panel's answer: pending, its charge not yet billed, the lease held
    expect((await lineRow()).status).to.equal('pending');
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('unbilled');
    expect(await knex('mod_overusage_locks').where({ name: `invoice:${invoiceId}` })).to.have.length(1);
    open();
    await s.mod.lines!.idle();
    const line = await lineRow();
    expect([line.status, toNum(line.invoice_item_id)]).to.deep.equal(['placed', overusage(inv)[0]!.id]);
    expect((await chargeOf(knex, s.story.serviceId)).status).to.equal('billed');
    expect(await knex('mod_overusage_audit').where({ action: 'line.placed' })).to.have.length(1);
    const deliveries = await knex('mod_overusage_deliveries').where({ invoice_id: invoiceId });
    expect(deliveries.map((r) => [r.finished_by, toNum(r.added)])).to.deep.equal([['hook', 1]]);
    expect(await knex('mod_overusage_locks').where({ name: `invoice:${invoiceId}` })).to.deep.equal([]);
  });

  it('leaves a line whose record failed after the answer to the 5-minute reconciliation, which places it without adding it again', async () => {
    secondRead = 'fail';
    const invoiceId = await undelivered(s, knex);
    logged.length = 0; // the failed renewal run's own entries
    await hook().handler({ invoiceid: invoiceId });
    await s.mod.lines!.idle();
    expect((await lineRow()).status).to.equal('pending');
    expect(
      logged.filter((e) => e.event === 'hook.invoice_creation.failed').map((e) => e.invoiceId),
    ).to.deep.equal([invoiceId]);
    const out = await s.mod.lines!.reconcilePending();
    expect([out.confirmed, out.placed]).to.deep.equal([1, 0]);
    expect((await lineRow()).status).to.equal('placed');
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect([overusage(inv).map((i) => i.amount), inv.total]).to.deep.equal([['500.00'], '519.95']);
  });

  it('waits for the record when the panel can be asked only during its hook calls (WHMCS through the bridge relay)', async () => {
    (s.faulty.real as { onlyDuringHooks?: boolean }).onlyDuringHooks = true;
    const invoiceId = await undelivered(s, knex);
    let answered = false;
    const answering = Promise.resolve(hook().handler({ invoiceid: invoiceId })).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 50));
    // the line is on the invoice, but the second read (for the item's id) has not been answered yet
    expect(answered).to.equal(false);
    open();
    await answering;
    expect((await lineRow()).status).to.equal('placed');
  });

  it('lets a shutdown wait for the records of a delivery that has answered', async () => {
    const invoiceId = await undelivered(s, knex);
    await hook().handler({ invoiceid: invoiceId });
    let closed = false;
    const closing = s.mod.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).to.equal(false);
    open();
    await closing;
    expect((await lineRow()).status).to.equal('placed');
  });
});
