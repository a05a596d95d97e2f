import { expect } from 'chai';
import type { Knex } from 'knex';
import type { Actor } from '../../module/adapters/audit-store.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  STORY_EUR,
  STORY_JPY,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN } from '../support/module-fixture.js';

/**
 * A line on a Cancelled or Refunded invoice is not owed, so it cannot be disputed
 * (docs/billing-rules.md, "Cancelled and refunded invoices"). The story (test/support/billing-story.ts):
 * Ann used 6 TB in May on a 5 TB plan, 1 000 GB over, billed on the renewal of 2 June beside the VPS:
 *  - EUR: 1 000 × €0.50 = €500.00, + €19.95 hosting = €519.95;
 *  - JPY: 1 000 × ¥80 = ¥80,000, + ¥2,980 hosting = ¥82,980 (the panel keeps hundredths: 82980.00).
 * She tries to dispute on 5 June, in time (the window's last day is 16 June).
 */
describeEachEngine('disputing a line whose invoice was cancelled or refunded', ({ db }) => {
  let knex: Knex;

  async function billed(money: StoryMoney) {
    knex = db().knex;
    return billMay(knex, undefined, money);
  }
  const open = (
    s: BillingStory,
    lineId: number,
    actor: Actor = { type: 'client', id: String(s.story.clientId) },
  ) => {
    s.f.clock.set('2013-06-05T10:00:00Z');
    return s.mod.disputes!.open({ lineId, reason: 'I cannot tell where this traffic came from.', actor });
  };
  /** what the refusal left behind: disputes, drafts, the renewal's status and total, the client's credit */
  const untouched = async (s: BillingStory, renewal: number) => {
    const inv = await s.f.panel.api.getInvoice(renewal);
    return {
      disputes: (await knex('mod_overusage_disputes')).length,
      drafts: (await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' })).totalResults,
      renewal: [inv.status, inv.total],
      credit: String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit),
      line: String((await knex('mod_overusage_lines').where({ invoice_id: renewal }).first('status')).status),
    };
  };

  for (const [money, total] of [
    [STORY_EUR, '519.95'],
    [STORY_JPY, '82980.00'],
  ] as const) {
    it(`${money.code}: the renewal (${total}) cancelled → NOT_OWED in English, nothing written, no credit`, async () => {
      const { s, renewal, lineId } = await billed(money);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
      const out = await open(s, lineId);
      expect(out).to.deep.equal({
        ok: false,
        code: 'NOT_OWED',
        message: `Invoice #${renewal}, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.`,
        details: { invoiceId: renewal, status: 'Cancelled' },
      });
      expect(await untouched(s, renewal)).to.deep.equal({
        disputes: 0,
        drafts: 0,
        renewal: ['Cancelled', total],
        credit: '0.00',
        line: 'placed',
      });
    });

    it(`${money.code}: the renewal paid (${total}) then refunded → NOT_OWED for the client and the admin alike, no credit`, async () => {
      const { s, renewal, lineId } = await billed(money);
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'pay-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Refunded' });
      const client = await open(s, lineId);
      expect(client.ok ? 'opened' : [client.code, client.message]).to.deep.equal([
        'NOT_OWED',
        `Invoice #${renewal}, which this line is on, was refunded to you: you owe nothing for the line, so there is nothing to dispute.`,
      ]);
      // an admin has no override for it: there is nothing to hold, waive or give back
      const admin = await open(s, lineId, ADMIN);
      expect(admin.ok ? 'opened' : [admin.code, admin.message]).to.deep.equal([
        'NOT_OWED',
        `this line cannot be disputed: its invoice #${renewal} is Refunded, so nothing is owed on it`,
      ]);
      expect(await untouched(s, renewal)).to.deep.equal({
        disputes: 0,
        drafts: 0,
        renewal: ['Refunded', total],
        credit: '0.00',
        line: 'placed',
      });
    });
  }

  it('a Dutch client is refused in Dutch', async () => {
    const { s, renewal, lineId } = await billMay(db().knex, 'dutch');
    knex = db().knex;
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    const out = await open(s, lineId);
    expect(out.ok ? 'opened' : [out.code, out.message]).to.deep.equal([
      'NOT_OWED',
      `Factuur #${renewal}, waarop deze regel staat, is geannuleerd: u bent voor de regel niets verschuldigd, dus er valt geen bezwaar tegen te maken.`,
    ]);
  });

  for (const status of ['Collections', 'Payment Pending'] as const) {
    it(`a renewal in "${status}" is still owed: the dispute opens and the €500.00 line is held`, async () => {
      const { s, renewal, lineId } = await billed(STORY_EUR);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status });
      const out = await open(s, lineId);
      expect(out.ok ? [out.value.state, out.value.holdState] : out.code).to.deep.equal(['open', 'held']);
    });
  }
});
