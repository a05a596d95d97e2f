import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { run } from '../../cli/main.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { serveApi, type ServedApi } from '../panel/support.js';
import { CLI_ACTOR as CLI, TEST_SECRET_KEY } from '../support/module-fixture.js';

/**
 * `overusage reconcile` (issue 12, "the next hook, the daily job, or overusage reconcile"): the
 * command an operator runs after a crash, against the panel over its External API (the reference
 * panel's /includes/api.php on 127.0.0.1). A renewal run (2 June 2013, invoice for 9 June) wrote
 * the pending line and lost the panel before the line was on the invoice. Figures: 6 TB used,
 * 5 TB included, 1 000 GB × €0.50 = €500.00, on the €19.95 renewal: €519.95.
 */
describeEachEngine('overusage reconcile', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let served: ServedApi;
  let dir: string;

  beforeEach(async () => {
    knex = db().knex;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-reconcile-'));
    s = await buildBillingStory(knex);
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: { overage: '0.50', precommit: '0.35' } },
      },
      CLI,
    );
    await closeMay(s);
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ billingcycle: 'Monthly', nextduedate: '2013-06-09' });
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 99 };
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    s.faulty.failNext = null;
    served = await serveApi(s.f);
  });
  afterEach(async () => {
    await served?.close();
    await s?.mod.close();
    await s?.mod.migrateDown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function reconcile(json: boolean): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const env = {
      OVERUSAGE_DATA_DIR: dir,
      OVERUSAGE_LOG_LEVEL: 'error',
      OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      OVERUSAGE_WHMCS_URL: served.url,
      OVERUSAGE_WHMCS_API_IDENTIFIER: served.identifier,
      OVERUSAGE_WHMCS_API_SECRET: served.secret,
    } as NodeJS.ProcessEnv;
    const code = await run(['--db', db().url, ...(json ? ['--json'] : []), 'reconcile'], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      isTTY: false,
      env,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const overusageItems = async (invoiceId: number) =>
    (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) =>
      i.description.startsWith('Bandwidth overusage'),
    );

  it('puts the pending line on its unpaid invoice, says so, and a second run finds nothing to do', async function () {
    this.timeout(60_000);
    const line = await knex('mod_overusage_lines').first();
    expect(line.status).to.equal('pending');
    const invoiceId = toNum(line.invoice_id);
    expect(await overusageItems(invoiceId)).to.have.length(0);

    const r = await reconcile(false);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal(
      'reconcile: 1 pending line put on its unpaid invoice, 0 found on their invoice already, 0 renewal invoices given the lines of a delivery that had not finished, 0 charges left to wait for the next invoice',
    );
    expect((await overusageItems(invoiceId)).map((i) => i.amount)).to.deep.equal(['500.00']);
    expect((await s.f.panel.api.getInvoice(invoiceId)).total).to.equal('519.95');
    expect((await knex('mod_overusage_lines').first()).status).to.equal('placed');
    const activity = (
      await knex('tblactivitylog').where('description', 'like', 'Overusage:%').select('description')
    ).map((a) => a.description);
    // the interrupted delivery's own line first (the hook said it failed), then the reconciliation's
    expect(activity).to.deep.equal([
      `Overusage: could not add overusage lines to invoice ${invoiceId}: Error`,
      `Overusage: line ${line.ref_code} (500.00 EUR) added to invoice ${invoiceId} by the reconciliation; the delivery that began it had stopped before the line was on the invoice`,
    ]);

    const again = await reconcile(true);
    expect(again.code).to.equal(0);
    expect(JSON.parse(again.out)).to.deep.equal({
      confirmed: 0,
      placed: 0,
      released: [],
      recovered: [],
      busy: [],
      unreadable: [],
    });
    expect(await overusageItems(invoiceId)).to.have.length(1);
  });

  it('lets the charge wait when the invoice was paid first, and says which and why, in words and in --json', async function () {
    this.timeout(60_000);
    const line = await knex('mod_overusage_lines').first();
    const invoiceId = toNum(line.invoice_id);
    const chargeId = toNum(line.charge_id);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-hosting', gateway: 'banktransfer' });

    const r = await reconcile(true);
    expect(r.code, r.err).to.equal(0);
    expect(JSON.parse(r.out)).to.deep.equal({
      confirmed: 0,
      placed: 0,
      released: [{ chargeId, invoiceId, invoiceStatus: 'Paid' }],
      recovered: [],
      busy: [],
      unreadable: [],
    });
    expect(await overusageItems(invoiceId)).to.have.length(0);
    expect((await knex('mod_overusage_charges').where({ id: chargeId }).first()).status).to.equal('unbilled');
    const activity = (
      await knex('tblactivitylog').where('description', 'like', 'Overusage:%').select('description')
    ).map((a) => a.description);
    expect(activity).to.deep.equal([
      `Overusage: could not add overusage lines to invoice ${invoiceId}: Error`,
      `Overusage: line ${line.ref_code} (500.00 EUR) could not be added to invoice ${invoiceId}: the invoice was paid first; charge ${chargeId} waits for the next invoice`,
    ]);
  });

  it('says in words which charge waits and why', async function () {
    this.timeout(60_000);
    const line = await knex('mod_overusage_lines').first();
    const invoiceId = toNum(line.invoice_id);
    await s.f.panel.api.addInvoicePayment({ invoiceId, transId: 'paid-hosting', gateway: 'banktransfer' });
    const r = await reconcile(false);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.split('\n')).to.deep.equal([
      'reconcile: 0 pending lines put on their unpaid invoice, 0 found on their invoice already, 0 renewal invoices given the lines of a delivery that had not finished, 1 charge left to wait for the next invoice',
      `  charge ${toNum(line.charge_id)} waits for the next invoice: invoice ${invoiceId} was paid before its line could be added`,
    ]);
  });
});
