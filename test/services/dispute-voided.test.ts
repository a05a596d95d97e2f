import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  disputeLine,
  STORY_EUR,
  STORY_JPY,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';

const ADMIN = { type: 'admin' as const, id: '1' };

/**
 * An open dispute whose line's invoice is cancelled or refunded closes with nothing to settle
 * (docs/billing-rules.md, "Cancelled and refunded invoices"), through the panel's InvoiceCancelled
 * and InvoiceRefunded hooks. The story (test/support/billing-story.ts): 1 000 GB over in May,
 * billed on the renewal of 2 June beside the VPS:
 *  - EUR: 1 000 × €0.50 = €500.00 + €19.95 = €519.95; held, the renewal keeps €19.95;
 *  - JPY: 1 000 × ¥80 = ¥80,000 + ¥2,980 = ¥82,980 (82980.00 in the panel's hundredths).
 * Ann disputes on 5 June; the invoice is cancelled or refunded on 7 June.
 */
describeEachEngine('a dispute closed by its invoice’s cancellation or refund', ({ db }) => {
  let knex: Knex;

  async function billed(money: StoryMoney) {
    knex = db().knex;
    return billMay(knex, undefined, money);
  }
  const credit = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  /** every invoice of the client: id, status, total */
  const invoices = async (s: BillingStory) =>
    (
      await knex('tblinvoices')
        .where({ userid: s.story.clientId })
        .orderBy('id')
        .select('id', 'status', 'total')
    ).map((r) => [toNum(r.id), String(r.status), String(r.total)]);
  const voidedAudit = async () =>
    (
      await knex('mod_overusage_audit').where({ action: 'dispute.voided' }).select('actor_type', 'details')
    ).map((r) => [String(r.actor_type), JSON.parse(String(r.details)) as unknown]);
  const emails = async (disputeId: number) =>
    (
      await knex('mod_overusage_outbox')
        .where('message_key', 'like', `dispute:${disputeId}:voided:%`)
        .orderBy('id')
    ).map((r) => String(r.message_key));
  const at7June = (s: BillingStory) => s.f.clock.set('2013-06-07T09:00:00Z');

  for (const [money, sums] of [
    [STORY_EUR, { line: '500.00', hosting: '19.95', currency: 'EUR' }],
    [STORY_JPY, { line: '80000.00', hosting: '2980.00', currency: 'JPY' }],
  ] as const) {
    it(`${money.code}: held, then the renewal cancelled → voided; the held draft (${sums.line}) cancelled at 0.00, no credit, an upholding refused`, async () => {
      const { s, renewal, lineId } = await billed(money);
      const d = await disputeLine(s, lineId);
      expect([d.holdState, (await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total]).to.deep.equal([
        'held',
        sums.line,
      ]);
      at7June(s);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.holdState, after.resolvingTo, after.voidedBy]).to.deep.equal([
        'voided',
        'released',
        null,
        { invoiceId: renewal, status: 'Cancelled' },
      ]);
      // the renewal cancelled with the hosting only; the draft cancelled at nothing; nothing else
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', sums.hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
      expect(await credit(s)).to.equal('0.00');
      expect(await voidedAudit()).to.deep.equal([
        [
          'system',
          {
            lineId,
            invoiceId: renewal,
            invoiceStatus: 'Cancelled',
            amountBeforeMinor: money.code === 'EUR' ? '50000' : '80000',
            currency: sums.currency,
            heldInvoiceId: d.heldInvoiceId,
          },
        ],
      ]);
      expect(await emails(d.id)).to.deep.equal([
        `dispute:${d.id}:voided:client`,
        `dispute:${d.id}:voided:admin`,
      ]);
      // the admin can no longer bill it: the dispute is closed
      const upheld = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
      expect(upheld.ok ? 'upheld' : upheld.code).to.equal('INVALID_TRANSITION');
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', sums.hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
    });

    it(`${money.code}: paid before the dispute, then refunded → voided; a waiver no longer credits ${sums.line} a second time`, async () => {
      const { s, renewal, lineId } = await billed(money);
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'pay-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
      const d = await disputeLine(s, lineId);
      expect(d.holdState).to.equal('refund_decision');
      at7June(s);
      await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Refunded' });
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.holdState, after.voidedBy]).to.deep.equal([
        'voided',
        'refund_decision',
        { invoiceId: renewal, status: 'Refunded' },
      ]);
      const waived = await s.mod.disputes!.resolve({
        disputeId: d.id,
        to: 'waived',
        actor: ADMIN,
        settlement: 'credit',
      });
      expect(waived.ok ? 'waived' : waived.code).to.equal('INVALID_TRANSITION');
      // the refunded renewal, and no credit note: the client's credit stays 0.00
      const total = money.code === 'EUR' ? '519.95' : '82980.00';
      expect(await invoices(s)).to.deep.equal([[renewal, 'Refunded', total]]);
      expect(await credit(s)).to.equal('0.00');
      const line = await knex('mod_overusage_lines').where({ id: lineId }).first('status', 'amount_minor');
      expect([String(line.status), String(line.amount_minor)]).to.deep.equal([
        'placed',
        money.code === 'EUR' ? '50000' : '80000',
      ]);
    });
  }

  it('a dispute being decided is left to its decision: neither the waiver’s own cancelled draft nor the renewal cancelled after it voids it', async () => {
    const { s, renewal, lineId } = await billed(STORY_EUR);
    const d = await disputeLine(s, lineId);
    at7June(s);
    // waived: the module cancels its own held draft, which runs InvoiceCancelled: the waiver stands
    const waived = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(waived.ok ? waived.value.state : waived.code).to.equal('waived');
    expect(await voidedAudit()).to.deep.equal([]);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
    expect(await voidedAudit()).to.deep.equal([]);
  });

  it('the client and the admin are told in the client’s language (Dutch) why it closed', async () => {
    const { s, renewal, lineId, ref } = await billed(STORY_EUR);
    await knex('tblclients').where({ id: s.story.clientId }).update({ language: 'dutch' });
    const d = await disputeLine(s, lineId);
    at7June(s);
    await s.f.panel.api.updateInvoice({ invoiceId: renewal, status: 'Cancelled' });
    const payloads = (
      await knex('mod_overusage_outbox')
        .where('message_key', 'like', `dispute:${d.id}:voided:%`)
        .orderBy('id')
    ).map((r) => String(r.payload).replace(/[\u00a0\u202f]/g, ' '));
    expect(payloads[0]).to.include(
      `Factuur #${renewal}, waarop de regel ${ref} (€ 500,00) stond, is geannuleerd: u bent voor de regel niets verschuldigd, dus uw bezwaar is afgesloten zonder verdere afrekening.`,
    );
    expect(payloads[1]).to.include(
      `Invoice #${renewal}, which the line ${ref} (€500.00) was billed on, was cancelled: nothing is owed for the line, so the dispute is closed with nothing to settle (no credit, no refund, no held invoice billed).`,
    );
    // the renewal's notes say it too, in Dutch, in place of "on hold"
    expect((await s.f.panel.api.getInvoice(renewal)).notes).to.equal(
      `Regel overschrijding [${ref}]: niet verschuldigd: factuur #${renewal} is geannuleerd, dus uw bezwaar is afgesloten zonder verdere afrekening.`,
    );
  });
});
