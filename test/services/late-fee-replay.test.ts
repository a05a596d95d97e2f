import { expect } from 'chai';
import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { newNonce, requestSignature } from '../../module/adapters/bridge-signing.js';
import { createBridgeRelay, type BridgeRelay } from '../../module/adapters/bridge-relay.js';
import { createBridgeStore } from '../../module/adapters/bridge-store.js';
import { createLateFeeRetryStore, lateFeeCameAt } from '../../module/adapters/late-fee-retry-store.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { createBridgeRouter } from '../../module/web/bridge-router.js';
import type { HookRunResult } from '../../panel/hooks.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  disputeLine,
  type BillingStory,
  feeAndItems,
  runPanelDays,
} from '../support/billing-story.js';
import { ADMIN_ACTOR } from '../support/module-fixture.js';

const SECRET = 'replay-test-secret-0123456789abcdef0123456789';

/**
 * An AddInvoiceLateFee hook the bridge kept while the service was away, delivered later (the
 * bridge's catch-up on a cron run: `replay.firedAt` in the relayed payload, modules/addons/
 * overusage/lib/Relay.php), with a payment in between. The fee was charged on what was unpaid when
 * WHMCS fired the hook; the module computes as of then, not as of the delivery.
 *
 * The story (as late-fee-sweep.test.ts): Ann's 1 000 GB × €0.50 = €500.00 held off the renewal of
 * 2 June on 5 June; the admin publishes the held invoice on 7 June (due 19 June) with a €12.00 item
 * of his own: 512.00. Late fee 10 %, 3 days late: on 22 June at 07:00 UTC the panel adds 10 % of
 * 512.00 = €51.20 (invoice 563.20); the service is down, the bridge keeps the hook (fired
 * 2013-06-22T07:00:00Z). Ann pays €10.00 on 23 June at 09:00 UTC (553.20 left). The service is back
 * and the hook is delivered on 23 June at 10:00 UTC.
 */
describeEachEngine('a replayed AddInvoiceLateFee computes as of when WHMCS fired it', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let held: number;
  let disputeId: number;
  let relay: BridgeRelay;
  let app: express.Express;
  const kept: Array<{ vars: Record<string, unknown>; firedAt: string }> = [];

  afterEach(() => relay?.close());

  const audits = async (action: string) =>
    (await knex('mod_overusage_audit').where({ action }).orderBy('id').select('details')).map(
      (r) => JSON.parse(String(r.details)) as Record<string, unknown>,
    );
  const cameAt = async () => (await lateFeeCameAt(knex, held))?.toUTC().toISO();

  /** the bridge's catch-up: the kept hook posted, signed, with when it fired */
  async function deliverKept() {
    const [m] = kept.splice(0, 1);
    const body = JSON.stringify({
      hook: 'AddInvoiceLateFee',
      vars: m!.vars,
      replay: { firedAt: m!.firedAt },
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const nonce = newNonce();
    const res = await request(app)
      .post('/bridge/v1/hook')
      .set({
        'content-type': 'application/json',
        'x-overusage-timestamp': String(timestamp),
        'x-overusage-nonce': nonce,
        'x-overusage-signature': requestSignature(SECRET, { timestamp, nonce, endpoint: 'hook', body }),
      })
      .send(body);
    expect([res.status, res.body]).to.deep.equal([200, { status: 'done', answer: { kind: 'none' } }]);
  }

  /** up to the €10.00 paid on 23 June, the hook of 22 June kept by the bridge */
  async function feeMissedThenPaid() {
    knex = db().knex;
    kept.length = 0;
    const billed = await billMay(knex);
    s = billed.s;
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    const d = await disputeLine(s, billed.lineId);
    held = d.heldInvoiceId!;
    disputeId = d.id;
    s.f.clock.set('2013-06-07T09:00:00Z');
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await s.f.panel.api.updateInvoice({
      invoiceId: held,
      newItems: [{ description: 'Setup fee', amount: '12.00', taxed: false }],
    });
    await runPanelDays(s, '2013-06-07', '2013-06-21');
    // 22 June: the service is away; the bridge keeps the hook with the time it fired (UTC, as
    // Store::saveMissed writes it)
    const hooks = s.f.panel.hooks;
    const run = hooks.run.bind(hooks);
    hooks.run = async (name, vars = {}) => {
      if (name !== 'AddInvoiceLateFee') return run(name, vars);
      kept.push({ vars: { ...vars }, firedAt: s.f.clock.now().toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'") });
      return { hook: name, answers: [], handlers: [] } as unknown as HookRunResult;
    };
    await runPanelDays(s, '2013-06-22', '2013-06-22');
    hooks.run = run;
    expect(kept).to.deep.equal([{ vars: { invoiceid: held }, firedAt: '2013-06-22T07:00:00Z' }]);
    expect(await feeAndItems(s, held)).to.deep.equal([
      ['item', '500.00'],
      ['item', '12.00'],
      ['fee', '51.20'],
    ]);
    s.f.clock.set('2013-06-23T09:00:00Z');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'ann-10',
      gateway: 'banktransfer',
      amount: '10.00',
    });
    // the service, and its bridge endpoint, back
    relay = createBridgeRelay({
      store: createBridgeStore(knex),
      log: silentLogger,
      pollMs: 30_000,
      idleTimeoutMs: 60_000,
    });
    app = express();
    app.use(
      createBridgeRouter({
        secret: SECRET,
        store: createBridgeStore(knex),
        relay,
        hooks: () => s.mod.hooks(),
        addon: s.mod.addon as unknown as Parameters<typeof createBridgeRouter>[0]['addon'],
        log: silentLogger,
      }),
    );
    s.f.clock.set('2013-06-23T10:00:00Z');
  }

  it('delivered on 23 June after Ann paid €10.00: the fee is set on what was unpaid on 22 June, €51.20 → €1.20, and kept as of 22 June', async () => {
    // What was unpaid when the fee came (22 June, 07:00 UTC): 563.20, of which 51.20 is the fee and
    // 500.00 held: 10 % of 12.00 = 1.20. The invoice then bills 500.00 + 12.00 + 1.20 = 513.20, less
    // the 10.00 paid: 503.20 due. (As of the delivery, the balance of 23 June: 553.20 − 51.20 −
    // 500.00 = 2.00 → 0.20, Ann's later payment taking 1.00 off the fee on what she was late with.)
    await feeMissedThenPaid();
    await deliverKept();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '513.20',
      '503.20',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
    expect(
      (await audits('dunning.late_fee_corrected')).map((a) => [a.feeMinor, a.newFeeMinor]),
    ).to.deep.equal([['5120', '120']]);
    // the fee's moment is when WHMCS fired the hook, not the delivery (10:00 on 23 June)
    expect(await cameAt()).to.equal('2013-06-22T07:00:00.000Z');

    // 24 June: the line is waived. Its share of the fee is the fee less the fee on what was unpaid
    // and not held when the fee came (22 June: 12.00 → 1.20): 1.20 − 1.20 = 0.00, the fee stays
    // 1.20; the invoice bills 0.00 + 12.00 + 1.20 = 13.20, 10.00 paid: 3.20 due. (With the moment
    // kept as 23 June 10:00, after the payment, the base would be 503.20 − 1.20 − 500.00 = 2.00 →
    // 0.20, and 1.00 more off the fee.)
    s.f.clock.set('2013-06-24T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId, to: 'waived', actor: ADMIN_ACTOR });
    expect(res.ok, res.ok ? '' : res.message).to.equal(true);
    const w = await s.f.panel.api.getInvoice(held);
    expect([w.status, w.total, w.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '13.20',
      '3.20',
      [
        ['item', '0.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
  });

  it('delivered on 23 June but the panel fails it: kept for the sweep as failed on 22 June, and the sweep sets €51.20 → €1.20', async () => {
    // The same figures: the sweep puts back the payments dated after the kept failure. Kept as
    // failed at the delivery (23 June 10:00, after Ann's 10.00 of 09:00), the sweep would take the
    // balance of 23 June: 2.00 not held → 0.20.
    await feeMissedThenPaid();
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 10_000 };
    await deliverKept();
    s.faulty.failNext = null;
    const row = await createLateFeeRetryStore(knex).get(held);
    expect(row?.failedAt.toUTC().toISO()).to.equal('2013-06-22T07:00:00.000Z');
    expect(await feeAndItems(s, held)).to.deep.include(['fee', '51.20']);
    s.f.clock.set('2013-06-23T11:00:00Z');
    await s.mod.everyTick();
    const h = await s.f.panel.api.getInvoice(held);
    expect([h.status, h.total, h.balance, await feeAndItems(s, held)]).to.deep.equal([
      'Unpaid',
      '513.20',
      '503.20',
      [
        ['item', '500.00'],
        ['item', '12.00'],
        ['fee', '1.20'],
      ],
    ]);
    expect(await knex('mod_overusage_late_fee_retries')).to.deep.equal([]);
  });
});
