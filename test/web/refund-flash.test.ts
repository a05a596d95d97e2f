import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, buildWebStory, login, pageText, type WebStory } from '../support/web-story.js';

const tab = '/admin/addonmodules.php?module=overusage';

/**
 * The admin chooses a refund for a paid line he waives or reduces: the module makes the credit note
 * but cannot pay money back, so the flash tells him the exact amount to refund by hand and where
 * (the paid invoice's Refund tab in the panel), and that amount is what the credit note gives back.
 * The story with VAT at 21 % on the overusage (the VPS untaxed): Ann's renewal of 2 June is the
 * VPS €19.95 + her line €500.00 + 21 % of 500.00 = €105.00, €624.95 in all, paid in full on
 * 3 June; the admin opens her dispute on 5 June and decides on 10 June.
 */
describeEachEngine("the admin's flash after a refund decision", ({ db }) => {
  let knex: Knex;
  let s: WebStory;
  let agent: Awaited<ReturnType<typeof login>>['agent'];
  let token: string;
  let disputeId: number;

  beforeEach(async function () {
    this.timeout(60_000);
    knex = db().knex;
    s = await buildWebStory(knex, { vat: '21.000' });
    await s.f.panel.api.addInvoicePayment({
      invoiceId: s.ann.invoiceId,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    ({ agent, token } = await login(s.app, ADMIN));
    s.f.clock.set('2013-06-05T09:00:00Z');
    await agent
      .post(`${tab}&a=line&id=${s.ann.lineId}`)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'client phoned' })
      .expect(200);
    disputeId = toNum((await knex('mod_overusage_disputes').first('id')).id);
    s.f.clock.set('2013-06-10T09:00:00Z');
  });

  const decide = async (body: Record<string, string>) =>
    pageText(
      (
        await agent
          .post(`${tab}&a=dispute&id=${disputeId}`)
          .type('form')
          .send({ token, do: 'resolve', dispute: String(disputeId), settlement: 'refund', ...body })
          .expect(200)
      ).text,
    );
  /** the credit note: the invoice after the renewal that the dispute names */
  const creditNote = async () => {
    const d = await knex('mod_overusage_disputes').where({ id: disputeId }).first('credit_note_invoice_id');
    const id = toNum(d.credit_note_invoice_id);
    return { id, ...(await s.f.panel.api.getInvoice(id)) };
  };

  it('waived: refund €605.00 (€500.00 + €105.00 VAT) from the renewal, as the credit note gives back; nothing credited', async () => {
    const flash = await decide({ to: 'waived' });
    const note = await creditNote();
    // the note: −500.00 and its VAT −105.00 = −605.00; the flash names that amount, the paid renewal and the note
    expect(note.total).to.equal('-605.00');
    expect(flash).to.include(
      `Dispute ${disputeId} waived: the line now bills €0.00 (was €500.00). Refund €605.00 to the client yourself, the module does not: in the panel, invoice #${s.ann.invoiceId} › Refund tab: the client's payment, amount €605.00, through the gateway or recorded as made outside; credit note #${note.id} records it.`,
    );
    // the renewal named is the one Ann paid, with a payment that covers the €605.00
    const renewal = await s.f.panel.api.getInvoice(s.ann.invoiceId);
    expect([renewal.status, renewal.transactions.map((t) => t.amountIn)]).to.deep.equal(['Paid', ['624.95']]);
    expect(flash).not.to.include('credited');
    const credit = (await knex('tblclients').where({ id: s.ann.clientId }).first('credit')).credit;
    expect(String(credit)).to.equal('0.00');
  });

  it('reduced to €350.00: refund €181.50 (€150.00 + €31.50 VAT), the difference the note gives back', async () => {
    // 500.00 → 350.00: 150.00 back and 21 % of it, 31.50: 181.50
    const flash = await decide({ to: 'adjusted', kind: 'amount', amount: '350.00', note: 'partly ours' });
    const note = await creditNote();
    expect(note.total).to.equal('-181.50');
    expect(flash).to.include(
      `Dispute ${disputeId} adjusted: the line now bills €350.00 (was €500.00). Refund €181.50 to the client yourself, the module does not: in the panel, invoice #${s.ann.invoiceId} › Refund tab: the client's payment, amount €181.50, through the gateway or recorded as made outside; credit note #${note.id} records it.`,
    );
  });
});
