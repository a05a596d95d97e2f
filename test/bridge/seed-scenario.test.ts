import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay as closeMayInProcess } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { buildBridgeWorld, closeMay, phpErrors, requirePhp, type BridgeWorld } from './support.js';

const overusageItems = (inv: { items: Array<{ description: string; amount: string }> }) =>
  inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));
/** the line text without its random reference code */
const shape = (d: string) => d.replace(/\[OU-[0-9A-F]{10}\]/, '[OU-…]');

/**
 * The seed thread through the bridge: the reference panel plays WHMCS with the PHP addon
 * installed (its hook points run hooks.php under php-cli), the module runs as the service and
 * reaches the panel only through the bridge's relay (localAPI). May's overusage must land on the
 * June renewal invoice exactly as it does when the panel calls the same handlers in-process.
 */
describeEachEngine('the seed scenario through the WHMCS bridge', ({ db }) => {
  let knex: Knex;
  let w: BridgeWorld;
  let logged: Array<Record<string, unknown>>;

  before(function () {
    requirePhp(this);
  });

  beforeEach(async () => {
    knex = db().knex;
    logged = [];
    w = await buildBridgeWorld(db(), { log: logInto(logged) });
    await closeMay(w);
    w.connectPanel();
  });

  afterEach(async () => {
    await w?.close();
    w = undefined as unknown as BridgeWorld;
  });

  async function renewal(): Promise<number> {
    // 2 June 09:00: the panel generates the renewal invoice for 9 June and fires InvoiceCreation,
    // which hooks.php relays to the service
    w.f.clock.set('2013-06-02T07:00:00Z');
    await w.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: w.story.serviceId })
      .orderBy('id', 'desc')
      .first('invoiceid');
    return toNum(row.invoiceid);
  }

  it("puts May's overusage on the renewal invoice, as in-process, with the panel changes relayed once and reported", async () => {
    const invoiceId = await renewal();
    const inv = await w.f.panel.api.getInvoice(invoiceId);
    const lines = overusageItems(inv);
    expect(lines).to.have.length(1);
    expect(lines[0]!.amount).to.equal('500.00');
    // 6 000 GB used, 5 000 included, 1 000 × €0.50 = €500.00, in GB (the unit sold) with 2 decimals
    expect(lines[0]!.description).to.match(
      /^Bandwidth overusage 1 – 31 May 2013: 6,000\.00 GB used, 5,000\.00 GB included, 1,000\.00 GB × €0\.50 = €500\.00 \(dispute by 16 June 2013\) \[OU-[0-9A-F]{10}\]$/,
    );
    expect(inv.total).to.equal('519.95');
    const row = await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first();
    expect(row.status).to.equal('placed');
    expect(toNum(row.invoice_item_id)).to.equal(
      inv.items.find((i) => i.description === lines[0]!.description)!.id,
    );

    // the one write the service asked for went through the bridge once and came back reported
    const commands = await w.store.list();
    const updates = commands.filter((c) => c.command === 'UpdateInvoice');
    expect(updates).to.have.length(1);
    expect(updates[0]!.status).to.equal('done');
    expect(updates[0]!.result).to.include({ result: 'success' });
    expect(commands.filter((c) => c.status !== 'done')).to.deep.equal([]);
    // the renewal went through the bridge, not through an in-process handler
    const invoiceRun = w.runs.find((r) => r.localApi.includes('UpdateInvoice'))!;
    expect(invoiceRun.localApi).to.include.members(['GetInvoice', 'GetClientsDetails', 'UpdateInvoice']);
    expect(phpErrors(w.runs)).to.deep.equal([]);
    // May was rated in PreCronJob, which WHMCS delivered through hooks.php before creating the
    // invoice (both VPSs' periods); the delivery only placed the line
    const events = logged.map((l) => l.event);
    expect(logged.find((l) => l.event === 'hook.pre_cron.rated')).to.deep.include({ periods: 2 });
    expect(events).not.to.include('lines.rated_on_delivery');
    expect(events.indexOf('hook.pre_cron.rated')).to.be.lessThan(events.indexOf('lines.added'));

    // the same scenario in-process (the panel and module tables rebuilt in this database): the same invoice
    const twin = await buildBillingStory(knex);
    await closeMayInProcess(twin);
    twin.f.clock.set('2013-06-02T07:00:00Z');
    await twin.f.panel.runDailyAutomation('2013-06-02');
    const twinRow = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: twin.story.serviceId })
      .orderBy('id', 'desc')
      .first('invoiceid');
    const twinInv = await twin.f.panel.api.getInvoice(toNum(twinRow.invoiceid));
    expect(twinInv.items.map((i) => [i.type, shape(i.description), i.amount])).to.deep.equal(
      inv.items.map((i) => [i.type, shape(i.description), i.amount]),
    );
    expect(twinInv.total).to.equal(inv.total);
    await twin.mod.close();
  });

  it('adds no second line however often WHMCS delivers InvoiceCreation again', async () => {
    const invoiceId = await renewal();
    for (let i = 0; i < 3; i++) {
      const out = await w.fire('InvoiceCreation', {
        invoiceid: invoiceId,
        source: 'autogen',
        user: 'system',
        status: 'Unpaid',
      });
      expect(out.ret).to.equal(null);
      expect(out.localApi).to.not.include('UpdateInvoice');
    }
    const inv = await w.f.panel.api.getInvoice(invoiceId);
    expect(overusageItems(inv)).to.have.length(1);
    expect(inv.total).to.equal('519.95');
    expect((await w.store.list()).filter((c) => c.command === 'UpdateInvoice')).to.have.length(1);
    expect(phpErrors(w.runs)).to.deep.equal([]);
  });
});
