import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';

const CLIENT = (id: number) => ({ type: 'client' as const, id: String(id) });
const ADMIN = { type: 'admin' as const, id: '1' };
const DUNNING = ['Invoice Payment Reminder', 'First Invoice Overdue Notice', 'Second Invoice Overdue Notice', 'Third Invoice Overdue Notice'];

/**
 * The seed thread replayed on the reference panel: a 5 TB plan, 6 TB used in May, the renewal
 * invoice of 2 June carries hosting (€19.95) and the overusage (€500.00, dispute by 16 June).
 */
describeEachEngine('per-line disputes', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    renewal = toNum(line.invoice_id);
    lineId = toNum(line.id);
  });

  async function day(date: string) {
    s.f.clock.set(`${date}T07:00:00Z`);
    await s.f.panel.runDailyAutomation(date);
    s.f.clock.set(`${date}T21:50:00Z`);
    await s.f.panel.hooks.run('AfterCronJob', {});
  }
  /** reminders and overdue notices the client got on or after a day */
  const dunningSince = async (date: string) =>
    (await knex('tblemails').where({ userid: s.story.clientId }).andWhere('date', '>=', `${date} 00:00:00`).select('subject')).filter((r) => /Reminder|Overdue|Herinnering|Achterstallig/i.test(String(r.subject)));

  it('(a) holds the line disputed in time: the rest is paid and renews, nothing is dunned for the held amount, and the admin re-rates at the agreed rate', async () => {
    s.f.clock.set('2013-06-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({ lineId, reason: 'I cannot tell where this traffic came from; I want daily figures.', actor: CLIENT(s.story.clientId) });
    expect(opened.ok, opened.ok ? '' : opened.message).to.equal(true);
    if (!opened.ok) return;
    const d = opened.value;
    expect(d.holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect(r.total).to.equal('19.95');
    expect(r.items.map((i) => i.description).some((t) => t.includes('overusage'))).to.equal(false);
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(held.status).to.equal('Draft');
    expect(held.total).to.equal('500.00');

    // the client pays the hosting part; the service renews
    await s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId: 'pay-1', gateway: 'banktransfer', date: '2013-06-06 10:00:00' });
    expect((await s.f.panel.api.getInvoice(renewal)).status).to.equal('Paid');
    const svc = (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!;
    expect(svc.nextDueDate).to.equal('2013-07-09');

    for (let dd = '2013-06-06'; dd <= '2013-06-30'; dd = addDays(dd, 1)) await day(dd);
    expect(await dunningSince('2013-06-05')).to.deep.equal([]);
    expect(await knex('tblinvoiceitems').where({ type: 'LateFee' }).whereIn('invoiceid', [renewal, d.heldInvoiceId!])).to.have.length(0);
    expect((await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status).to.equal('Active');

    // the admin re-rates at the rate agreed in advance: 1 000 GB × €0.35
    const preview = await s.mod.disputes!.preview(d.id, { kind: 'precommit' });
    expect(preview.amountMinor).to.equal(35000n);
    s.f.clock.set('2013-07-01T09:00:00Z');
    const resolved = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'adjusted', actor: ADMIN, adjustment: { kind: 'precommit' }, note: 'compromise: pre-commit rate' });
    expect(resolved.ok, resolved.ok ? '' : resolved.message).to.equal(true);
    const published = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(published.status).to.equal('Unpaid');
    expect(published.total).to.equal('350.00');
    expect(published.dueDate).to.equal('2013-07-15');
    await s.f.panel.api.addInvoicePayment({ invoiceId: published.invoiceId, transId: 'pay-2', gateway: 'banktransfer', date: '2013-07-02 10:00:00' });
    expect((await s.f.panel.api.getInvoice(published.invoiceId)).status).to.equal('Paid');
    // told in their language (the story's client reads English) and audited with both amounts
    const mails = await knex('tblemails').where('subject', 'like', '%dispute%');
    expect(mails.map((m) => m.subject)).to.include.members([`Your dispute of ${(await knex('mod_overusage_lines').first()).ref_code}`]);
    const audit = await knex('mod_overusage_audit').where({ action: 'dispute.adjusted' }).first();
    expect(JSON.parse(audit.details)).to.include({ amountBeforeMinor: '50000', amountAfterMinor: '35000' });
  });

  it('(b) refuses a dispute 30 days after the invoice, naming the deadline; the unpaid invoice is dunned and the service suspended', async () => {
    for (let dd = '2013-06-03'; dd <= '2013-07-02'; dd = addDays(dd, 1)) await day(dd);
    s.f.clock.set('2013-07-02T15:28:00Z');
    const late = await s.mod.disputes!.open({ lineId, reason: 'I do not agree with the overusage.', actor: CLIENT(s.story.clientId) });
    expect(late.ok).to.equal(false);
    if (late.ok) return;
    expect(late.code).to.equal('WINDOW_CLOSED');
    expect(late.message).to.equal('The window to dispute this line ended on 16 June 2013; a dispute after it cannot be accepted.');
    const subjects = (await knex('tblemails').where({ userid: s.story.clientId }).select('subject')).map((r) => String(r.subject));
    expect(subjects.some((t) => /Overdue/i.test(t))).to.equal(true);
    expect(await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' })).to.have.length(1);
    expect((await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status).to.equal('Suspended');
    // an admin can still open it, with a reason for the override
    const admin = await s.mod.disputes!.open({ lineId, reason: 'goodwill review', actor: ADMIN, overrideReason: 'long-standing client, reviewed on request' });
    expect(admin.ok).to.equal(true);
  });

  it('lets only one of two admins resolving at once win; the other gets a conflict', async () => {
    const opened = await s.mod.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) });
    if (!opened.ok) throw new Error(opened.message);
    const [a, b] = await Promise.all([
      s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'waived', actor: ADMIN }),
      s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'upheld', actor: { type: 'admin', id: '2' } }),
    ]);
    expect([a.ok, b.ok].filter(Boolean)).to.have.length(1);
    const loser = a.ok ? b : a;
    if (!loser.ok) expect(loser.code).to.equal('CONFLICT');
    const final = await s.mod.disputes!.get(opened.value.id);
    expect(['waived', 'upheld']).to.include(final.state);
  });

  it('opens one dispute however often it is submitted at once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => s.mod.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) })));
    expect(results.filter((r) => r.ok)).to.have.length(1);
    expect(results.filter((r) => !r.ok && r.code === 'ALREADY_DISPUTED')).to.have.length(7);
    expect(await knex('mod_overusage_disputes')).to.have.length(1);
    const drafts = await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' });
    expect(drafts.totalResults).to.equal(1);
  });

  it("lets a client dispute only their own lines", async () => {
    try {
      await s.mod.disputes!.open({ lineId, reason: 'not mine', actor: CLIENT(s.story.dutchClientId) });
      expect.fail('another client opened a dispute');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('NOT_FOUND');
    }
  });

  const holdSteps: Array<[string, 'before' | 'after']> = [
    ['getInvoice', 'before'],
    ['createInvoice', 'before'],
    ['createInvoice', 'after'],
    ['updateInvoice', 'before'],
    ['updateInvoice', 'after'],
  ];
  for (const [method, when] of holdSteps) {
    it(`finishes the hold after a failure ${when} ${method}: one held draft, the line off the renewal`, async () => {
      s.faulty.failNext = { method, when, times: 1 };
      const opened = await s.mod.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) });
      s.faulty.failNext = null;
      expect(opened.ok).to.equal(true);
      await s.mod.disputes!.resume();
      const d = await s.mod.disputes!.forLine(lineId);
      expect(d!.holdState).to.equal('held');
      const drafts = await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' });
      expect(drafts.totalResults).to.equal(1);
      expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
      expect((await s.f.panel.api.getInvoice(d!.heldInvoiceId!)).total).to.equal('500.00');
    });
  }

  for (const [method, when] of [
    ['getInvoice', 'before'],
    ['updateInvoice', 'before'],
    ['updateInvoice', 'after'],
    ['sendEmail', 'before'],
  ] as Array<[string, 'before' | 'after']>) {
    it(`finishes an upheld resolution after a failure ${when} ${method}: published once, the dispute upheld`, async () => {
      const opened = await s.mod.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) });
      if (!opened.ok) throw new Error(opened.message);
      s.faulty.failNext = { method, when, times: 1 };
      try {
        await s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'upheld', actor: ADMIN });
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('UPSTREAM');
      }
      s.faulty.failNext = null;
      await s.mod.disputes!.resume();
      const d = await s.mod.disputes!.get(opened.value.id);
      expect(d.state).to.equal('upheld');
      const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
      expect(inv.status).to.equal('Unpaid');
      expect(inv.total).to.equal('500.00');
      expect(await knex('mod_overusage_audit').where({ action: 'dispute.upheld' })).to.have.length(1);
    });
  }

  it('sends a paid line to a refund-or-credit decision, and credits the waived amount', async () => {
    await s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId: 'pay-all', gateway: 'banktransfer', date: '2013-06-03 10:00:00' });
    const opened = await s.mod.disputes!.open({ lineId, reason: 'paid by mistake', actor: CLIENT(s.story.clientId) });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.holdState).to.equal('refund_decision');
    const res = await s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'waived', actor: ADMIN, settlement: 'credit' });
    expect(res.ok).to.equal(true);
    const client = await s.f.panel.api.getClientsDetails(s.story.clientId);
    expect(client.credit).to.equal('500.00');
  });
});

describeEachEngine('dunning while a hold cannot be completed', ({ db }) => {
  it('stops reminders, the late fee and the suspension that only the disputed line would cause', async () => {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    const renewal = toNum(line.invoice_id);
    // the panel refuses to create the held draft for weeks: the line stays on the renewal invoice
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 10_000 };
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({ lineId: toNum(line.id), reason: 'I dispute this', actor: CLIENT(s.story.clientId) });
    expect(opened.ok).to.equal(true);
    expect((await s.mod.disputes!.forLine(toNum(line.id)))!.holdState).to.equal('holding');
    // the client pays the undisputed part only
    await s.f.panel.api.addInvoicePayment({ invoiceId: renewal, transId: 'part', gateway: 'banktransfer', date: '2013-06-05 10:00:00', amount: '19.95' });
    for (let dd = '2013-06-05'; dd <= '2013-06-25'; dd = addDays(dd, 1)) {
      s.f.clock.set(`${dd}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(dd);
    }
    const reminders = (await knex('tblemails').where({ userid: s.story.clientId }).andWhere('date', '>=', '2013-06-05 00:00:00').select('subject')).filter((r) => /Reminder|Overdue/i.test(String(r.subject)));
    expect(reminders).to.deep.equal([]);
    expect(await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' })).to.have.length(0);
    expect((await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status).to.equal('Active');
    expect((await s.f.panel.api.getInvoice(renewal)).balance).to.equal('500.00');
  });
});

describeEachEngine('reminders while a line is held', ({ db }) => {
  it('lists the held line apart, as on hold under dispute, in the notice for the rest', async () => {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').first();
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({ lineId: toNum(line.id), reason: 'I dispute this', actor: CLIENT(s.story.clientId) });
    expect(opened.ok).to.equal(true);
    // the client does not pay the rest either: the first overdue notice goes out the day after the due date
    for (let dd = '2013-06-05'; dd <= '2013-06-10'; dd = addDays(dd, 1)) {
      s.f.clock.set(`${dd}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(dd);
    }
    const notice = await knex('tblemails').where({ userid: s.story.clientId }).andWhere('subject', 'like', '%Overdue%').first();
    expect(notice, 'the overdue notice for the undisputed rest').to.not.equal(undefined);
    expect(notice.message).to.include('19.95');
    expect(notice.message).to.match(/Bandwidth overusage 1 – 31 May 2013.*€500\.00 \(on hold, under dispute: not due until we decide\)/s);
  });
});
