import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  buildBillingStory,
  closeMay,
  STORY_EUR,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/**
 * The dunning hooks (EmailPreSend, AddInvoiceLateFee, PreModuleSuspend) on the reference panel's
 * own automation, in four currencies, while a hold is incomplete: the disputed line is still on the
 * renewal invoice (the panel refuses to create the held draft), next to the undisputed hosting.
 *
 * The figures, by hand. May: 6 000 GB used, 5 000 GB included, so 1 000 GB over. The panel keeps
 * every amount with two decimals, whatever the currency (WHMCS's decimal(16,2)).
 *   currency  hosting   line: 1 000 GB × rate                    on the panel   renewal total
 *   EUR       19.95     × 0.50     = 500.00                       500.00         519.95
 *   USD       21.95     × 0.55     = 550.00                       550.00         571.95
 *   JPY       2980      × 80       = 80 000 (no minor unit)       80000.00       82980.00
 *   BHD       7.50      × 0.187654 = 187.654 (three decimals)     187.65         195.15
 * Late fee (the panel's defaults: 10 %, AddLateFeeDays set to 3, so on 12 June), on the unpaid
 * undisputed rest only, rounded half-up to the cent: EUR 1.995 → 2.00, USD 2.195 → 2.20,
 * JPY 298.00, BHD 0.75. The panel's own fee on the whole total would have been EUR 52.00,
 * USD 57.20 (57.195), JPY 8298.00, BHD 19.52 (19.515).
 * Dunning days (defaults): due 9 June; overdue notices 10, 16 and 23 June; suspension 7 days
 * after the due date, 16 June.
 */
interface Case {
  money: StoryMoney;
  onPanel: string;
  lateFee: string;
  /** the held line in the notice, as the client's locale (en-GB) writes it (BHD with a no-break space) */
  inNotice: string;
}
const CASES: Case[] = [
  { money: STORY_EUR, onPanel: '500.00', lateFee: '2.00', inNotice: '€500.00' },
  {
    money: { code: 'USD', hosting: '21.95', overage: '0.55', precommit: '0.40' },
    onPanel: '550.00',
    lateFee: '2.20',
    inNotice: 'US$550.00',
  },
  {
    money: { code: 'JPY', hosting: '2980.00', overage: '80', precommit: '60' },
    onPanel: '80000.00',
    lateFee: '298.00',
    inNotice: 'JP¥80,000',
  },
  {
    money: { code: 'BHD', hosting: '7.50', overage: '0.187654', precommit: '0.15' },
    onPanel: '187.65',
    lateFee: '0.75',
    inNotice: 'BHD\u00a0187.654',
  },
];

async function renewalWithLine(
  knex: Knex,
  money: StoryMoney,
): Promise<{ s: BillingStory; renewal: number; lineId: number }> {
  const s = await buildBillingStory(knex, money);
  await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
  await closeMay(s);
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  const line = await knex('mod_overusage_lines').where({ client_id: s.story.clientId }).first();
  return { s, renewal: toNum(line.invoice_id), lineId: toNum(line.id) };
}

/** The client disputes on 4 June; the panel refuses the held draft for weeks. */
async function disputeWithoutHold(s: BillingStory, lineId: number): Promise<void> {
  s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 10_000 };
  s.f.clock.set('2013-06-04T10:00:00Z');
  const opened = await s.mod.disputes!.open({
    lineId,
    reason: 'I dispute this',
    actor: CLIENT(s.story.clientId),
  });
  expect(opened.ok).to.equal(true);
  expect((await s.mod.disputes!.forLine(lineId))!.holdState).to.equal('holding');
}

async function automationFromTo(s: BillingStory, from: string, to: string): Promise<void> {
  for (let dd = from; dd <= to; dd = addDays(dd, 1)) {
    s.f.clock.set(`${dd}T07:00:00Z`);
    await s.f.panel.runDailyAutomation(dd);
  }
}

const dunningMails = async (knex: Knex, clientId: number, since: string) =>
  (
    await knex('tblemails')
      .where({ userid: clientId })
      .andWhere('date', '>=', `${since} 00:00:00`)
      .orderBy('id')
      .select('subject', 'message', 'date')
  ).filter((r) => /Reminder|Overdue/i.test(String(r.subject)));

const lateFees = async (s: BillingStory, invoiceId: number) =>
  (await s.f.panel.api.getInvoice(invoiceId)).items.filter((i) => i.type === 'LateFee').map((i) => i.amount);

const serviceStatus = async (s: BillingStory) =>
  (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status;

for (const c of CASES) {
  describeEachEngine(`dunning around an incomplete hold, in ${c.money.code}`, ({ db }) => {
    it('sends no reminder, adds no late fee and does not suspend when only the disputed line is unpaid', async () => {
      const knex = db().knex;
      const { s, renewal, lineId } = await renewalWithLine(knex, c.money);
      expect((await s.f.panel.api.getInvoice(renewal)).items.map((i) => i.amount)).to.include(c.onPanel);
      await disputeWithoutHold(s, lineId);
      // the client pays the undisputed hosting only
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'part',
        gateway: 'banktransfer',
        date: '2013-06-05 10:00:00',
        amount: c.money.hosting,
      });
      await automationFromTo(s, '2013-06-05', '2013-06-25');
      expect(await dunningMails(knex, s.story.clientId, '2013-06-05')).to.deep.equal([]);
      // the panel's fee is all the disputed line's: set to 0.00 and kept, one line (not deleted, which
      // the panel's daily AddLateFees would undo by adding it again)
      expect(await lateFees(s, renewal)).to.deep.equal(['0.00']);
      expect(await serviceStatus(s)).to.equal('Active');
      expect((await s.f.panel.api.getInvoice(renewal)).balance).to.equal(c.onPanel);
    });

    it('duns the undisputed rest as usual: the overdue notice (listing the held line apart), a late fee on the rest only, the suspension', async () => {
      const knex = db().knex;
      const { s, renewal, lineId } = await renewalWithLine(knex, c.money);
      await disputeWithoutHold(s, lineId);
      await automationFromTo(s, '2013-06-05', '2013-06-16');
      const mails = await dunningMails(knex, s.story.clientId, '2013-06-05');
      expect(mails.map((m) => [String(m.date).slice(0, 10), m.subject])).to.deep.equal([
        ['2013-06-10', 'First Invoice Overdue Notice'],
        ['2013-06-16', 'Second Invoice Overdue Notice'],
      ]);
      expect(mails[0]!.message).to.include(`${c.inNotice} (on hold, under dispute: not due until we decide)`);
      expect(await lateFees(s, renewal)).to.deep.equal([c.lateFee]);
      expect(await serviceStatus(s)).to.equal('Suspended');
    });
  });
}

describeEachEngine('dunning after a dispute is decided', ({ db }) => {
  it('duns an upheld line like any other: the overdue notice, the late fee on its whole amount', async () => {
    const knex = db().knex;
    const { s, renewal, lineId } = await renewalWithLine(knex, STORY_EUR);
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I dispute this',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.holdState).to.equal('held');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'rest',
      gateway: 'banktransfer',
      date: '2013-06-05 10:00:00',
    });
    // upheld on 6 June: published, due 14 days later (20 June); first overdue notice on 21 June,
    // late fee on 23 June: 10 % of €500.00 = €50.00
    s.f.clock.set('2013-06-06T10:00:00Z');
    const upheld = await s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'upheld', actor: ADMIN });
    expect(upheld.ok).to.equal(true);
    const held = opened.value.heldInvoiceId!;
    expect((await s.f.panel.api.getInvoice(held)).dueDate).to.equal('2013-06-20');
    await automationFromTo(s, '2013-06-07', '2013-06-23');
    const mails = await dunningMails(knex, s.story.clientId, '2013-06-07');
    expect(mails.map((m) => [String(m.date).slice(0, 10), m.subject])).to.deep.equal([
      ['2013-06-13', 'Invoice Payment Reminder'],
      ['2013-06-21', 'First Invoice Overdue Notice'],
    ]);
    expect(await lateFees(s, held)).to.deep.equal(['50.00']);
  });
});
