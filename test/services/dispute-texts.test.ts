import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { billMay, disputeLine, type BillingStory } from '../support/billing-story.js';

const CLIENT = (id: number) => ({ type: 'client' as const, id: String(id) });
const ADMIN = { type: 'admin' as const, id: '1' };
/** no-break spaces (Intl puts them in "€ 350,00") read as spaces */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/**
 * What the invoice line and the emails say after a decision, against the money. The seed story:
 * 6 TB used of 5 TB in May 2013, 1,000 GB over at €0.50/GB = €500.00 on the renewal of 2 June;
 * the rate agreed in advance is €0.35/GB. Decided on 1 July, due 14 days later: 15 July 2013.
 */
describeEachEngine('the money story after a decision', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;

  async function bill(language: string) {
    knex = db().knex;
    ({ s, renewal, lineId } = await billMay(knex, language));
  }

  async function disputeAndDecide(decide: (disputeId: number) => Promise<unknown>) {
    const opened = { value: await disputeLine(s, lineId) };
    s.f.clock.set('2013-07-01T09:00:00Z');
    const res = (await decide(opened.value.id)) as { ok: boolean; message?: string };
    expect(res.ok, res.message).to.equal(true);
    return opened.value;
  }

  const emails = async () => (await knex('tblemails').where('subject', 'like', '%dispute%').orWhere('subject', 'like', '%bezwaar%').orderBy('id').select('userid', 'subject', 'message')).map((m) => ({ ...m, message: plain(String(m.message)) }));

  it('re-rated at the agreed rate: the line names €0.35 as the agreed rate next to €350.00, and the email says the same (English)', async () => {
    await bill('english');
    const d = await disputeAndDecide((id) => s.mod.disputes!.resolve({ disputeId: id, to: 'adjusted', actor: ADMIN, adjustment: { kind: 'precommit' } }));
    // 1 000.00 GB × €0.35 = €350.00, the amount named after the agreed rate
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('350.00');
    const item = inv.items.find((i) => i.description.includes('overusage'))!;
    expect(item.description).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00');
    expect(item.description).not.to.include('€0.50');
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect(String(line.description)).to.equal(item.description);
    expect(String(line.amount_minor)).to.equal('35000');
    const mails = await emails();
    const toClient = mails.filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('Dear ');
    expect(toClient.message).to.include(`is reduced from €500.00 to €350.00, due on 15 July 2013.`);
    expect(toClient.message).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00');
    expect(toClient.message).to.include('Kind regards,');
    expect(renewal).to.be.a('number');
  });

  it('a share for a Dutch client: the line says "verlaagd naar € 350,00", the client is told in Dutch, the admin in English with English dates', async () => {
    await bill('dutch');
    // 70 % of €500.00 = €350.00
    const d = await disputeAndDecide((id) => s.mod.disputes!.resolve({ disputeId: id, to: 'adjusted', actor: ADMIN, adjustment: { kind: 'share', percent: '70' } }));
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('350.00');
    const item = inv.items.find((i) => /\[OU-/.test(i.description))!;
    expect(plain(item.description)).to.match(/ — verlaagd naar € 350,00 na beoordeling van uw bezwaar \[OU-[^\]]+\]$/);
    expect(plain(item.description)).to.include('Overschrijding dataverkeer');
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect(String(line.description)).to.equal(item.description);
    const mails = await emails();
    const toClient = mails.filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('Beste ');
    expect(toClient.message).to.include(`verlaagd van € 500,00 naar € 350,00, te betalen uiterlijk 15 juli 2013.`);
    const toAdmin = mails.filter((m) => toNum(m.userid) === 0 && /adjusted/.test(String(m.subject))).at(-1)!;
    expect(toAdmin.message).to.include('is reduced from €500.00 to €350.00, due on 15 July 2013.');
    // nothing Dutch in the admin's own sentence (before the quote of what the client was sent)
    expect(toAdmin.message.split("The client was told")[0]).not.to.match(/juli|€ 500,00/);
    expect(toAdmin.message).to.include('The client was told (in Dutch): ');
  });

  it('an amount set by hand (English): "reduced to €120.00 after review of your dispute" beside €120.00', async () => {
    await bill('english');
    const d = await disputeAndDecide((id) => s.mod.disputes!.resolve({ disputeId: id, to: 'adjusted', actor: ADMIN, adjustment: { kind: 'amount', amount: '120.00' } }));
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('120.00');
    const item = inv.items.find((i) => /\[OU-/.test(i.description))!;
    expect(item.description).to.match(/ — reduced to €120\.00 after review of your dispute \[OU-[^\]]+\]$/);
  });

  it('waived after it was paid: €500.00 goes to credit and the client is told "credited €500.00 to your account"', async () => {
    await bill('english');
    await s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId: 'pay-all', gateway: 'banktransfer', date: '2013-06-03 10:00:00' });
    await disputeAndDecide((id) => s.mod.disputes!.resolve({ disputeId: id, to: 'waived', actor: ADMIN, settlement: 'credit' }));
    expect((await s.f.panel.api.getClientsDetails(s.story.clientId)).credit).to.equal('500.00');
    const toClient = (await emails()).filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('is waived; you had paid it already, so we credited €500.00 to your account.');
    expect(toClient.message).not.to.include('you owe nothing');
  });

  it('waived after it was paid, Dutch: "hebben we € 500,00 op uw tegoed gezet"', async () => {
    await bill('dutch');
    await s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId: 'pay-all', gateway: 'banktransfer', date: '2013-06-03 10:00:00' });
    await disputeAndDecide((id) => s.mod.disputes!.resolve({ disputeId: id, to: 'waived', actor: ADMIN, settlement: 'credit' }));
    const toClient = (await emails()).filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('u had hem al betaald, dus hebben we € 500,00 op uw tegoed gezet.');
  });

  it("refuses a Dutch client in Dutch, and an admin in English with an English date", async () => {
    await bill('dutch');
    s.f.clock.set('2013-06-05T10:00:00Z');
    const noReason = await s.mod.disputes!.open({ lineId, reason: ' x ', actor: CLIENT(s.story.clientId) });
    expect(noReason.ok ? 'opened' : [noReason.code, noReason.message]).to.deep.equal(['REASON_REQUIRED', 'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).']);
    const first = await s.mod.disputes!.open({ lineId, reason: 'Ik herken dit niet.', actor: CLIENT(s.story.clientId) });
    expect(first.ok).to.equal(true);
    const again = await s.mod.disputes!.open({ lineId, reason: 'Ik herken dit niet.', actor: CLIENT(s.story.clientId) });
    expect(again.ok ? 'opened' : [again.code, again.message]).to.deep.equal(['ALREADY_DISPUTED', 'Tegen deze regel is al bezwaar gemaakt.']);
    // another line of the same client, after its window (the last day is 16 June 2013)
    await bill('dutch');
    s.f.clock.set('2013-06-20T10:00:00Z');
    const late = await s.mod.disputes!.open({ lineId, reason: 'Ik herken dit niet.', actor: CLIENT(s.story.clientId) });
    expect(late.ok ? 'opened' : [late.code, plain(late.message)]).to.deep.equal(['WINDOW_CLOSED', 'De termijn om bezwaar te maken tegen deze regel liep tot en met 16 juni 2013; een bezwaar daarna kunnen we niet aanvaarden.']);
    const admin = await s.mod.disputes!.open({ lineId, reason: 'client phoned', actor: ADMIN });
    expect(admin.ok ? 'opened' : [admin.code, plain(admin.message)]).to.deep.equal(['WINDOW_CLOSED', 'the window closed on 16 June 2013; an admin can still open a dispute with an override reason']);
  });
});
