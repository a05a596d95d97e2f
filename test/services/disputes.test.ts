import { expect } from 'chai';
import type { Knex } from 'knex';
import { addDays } from '../../module/domain/calendar.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory, type StoryMoney } from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/** The story up to 2 June: May closed, the renewal made with its €500.00 line; late fees after 3 days. */
async function renewedWithLine(knex: Knex): Promise<{ s: BillingStory; renewal: number; lineId: number }> {
  const s = await buildBillingStory(knex);
  await knex('tblconfiguration').where({ setting: 'AddLateFeeDays' }).update({ value: '3' });
  await closeMay(s);
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  const line = await knex('mod_overusage_lines').first();
  return { s, renewal: toNum(line.invoice_id), lineId: toNum(line.id) };
}

/** The panel's daily automation at 07:00, then its cron hook in the evening. */
async function automationDay(s: BillingStory, date: string): Promise<void> {
  s.f.clock.set(`${date}T07:00:00Z`);
  await s.f.panel.runDailyAutomation(date);
  s.f.clock.set(`${date}T21:50:00Z`);
  await s.f.panel.hooks.run('AfterCronJob', {});
}

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
    ({ s, renewal, lineId } = await renewedWithLine(knex));
  });

  const day = (date: string) => automationDay(s, date);

  it('(b) refuses a dispute 30 days after the invoice, naming the deadline; the unpaid invoice is dunned and the service suspended', async () => {
    for (let dd = '2013-06-03'; dd <= '2013-07-02'; dd = addDays(dd, 1)) await day(dd);
    s.f.clock.set('2013-07-02T15:28:00Z');
    const late = await s.mod.disputes!.open({
      lineId,
      reason: 'I do not agree with the overusage.',
      actor: CLIENT(s.story.clientId),
    });
    expect(late.ok).to.equal(false);
    if (late.ok) return;
    expect(late.code).to.equal('WINDOW_CLOSED');
    expect(late.message).to.equal(
      'The window to dispute this line ended on 16 June 2013; a dispute after it cannot be accepted.',
    );
    const subjects = (await knex('tblemails').where({ userid: s.story.clientId }).select('subject')).map(
      (r) => String(r.subject),
    );
    expect(subjects.some((t) => /Overdue/i.test(t))).to.equal(true);
    expect(await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' })).to.have.length(1);
    expect(
      (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status,
    ).to.equal('Suspended');
    // an admin can still open it, with a reason for the override
    const admin = await s.mod.disputes!.open({
      lineId,
      reason: 'goodwill review',
      actor: ADMIN,
      overrideReason: 'long-standing client, reviewed on request',
    });
    expect(admin.ok).to.equal(true);
  });

  it('lets only one of two admins resolving at once win; the other gets a conflict', async () => {
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    const [a, b] = await Promise.all([
      s.mod.disputes!.resolve({ disputeId: opened.value.id, to: 'waived', actor: ADMIN }),
      s.mod.disputes!.resolve({
        disputeId: opened.value.id,
        to: 'upheld',
        actor: { type: 'admin', id: '2' },
      }),
    ]);
    expect([a.ok, b.ok].filter(Boolean)).to.have.length(1);
    const loser = a.ok ? b : a;
    if (!loser.ok) expect(loser.code).to.equal('CONFLICT');
    const final = await s.mod.disputes!.get(opened.value.id);
    expect(['waived', 'upheld']).to.include(final.state);
  });

  it('opens one dispute however often it is submitted at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        s.mod.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) }),
      ),
    );
    expect(results.filter((r) => r.ok)).to.have.length(1);
    expect(results.filter((r) => !r.ok && r.code === 'ALREADY_DISPUTED')).to.have.length(7);
    expect(await knex('mod_overusage_disputes')).to.have.length(1);
    const drafts = await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' });
    expect(drafts.totalResults).to.equal(1);
  });

  it('lets a client dispute only their own lines', async () => {
    const err = await s.mod
      .disputes!.open({ lineId, reason: 'not mine', actor: CLIENT(s.story.dutchClientId) })
      .then(
        () => null,
        (e: { code?: string }) => e,
      );
    expect(err?.code).to.equal('NOT_FOUND');
    expect(await knex('mod_overusage_disputes')).to.have.length(0);
  });

  it("accepts a dispute in the window's last second and refuses one from the first second after", async () => {
    // Invoice of 2 June, 14 calendar days: the last day is 16 June. Brussels is UTC+2 in June, so
    // the window closes at 17 June 00:00 CEST = 16 June 22:00:00 UTC.
    expect((await knex('mod_overusage_lines').where({ id: lineId }).first()).deadline_last_day).to.equal(
      '2013-06-16',
    );
    s.f.clock.set('2013-06-16T22:00:00Z');
    const late = await s.mod.disputes!.open({
      lineId,
      reason: 'a second too late',
      actor: CLIENT(s.story.clientId),
    });
    expect(late.ok ? 'opened' : late.code).to.equal('WINDOW_CLOSED');
    const adminLate = await s.mod.disputes!.open({ lineId, reason: 'for the client', actor: ADMIN });
    expect(adminLate.ok ? 'opened' : [adminLate.code, adminLate.message]).to.deep.equal([
      'WINDOW_CLOSED',
      'the window closed on 16 June 2013; an admin can still open a dispute with an override reason',
    ]);
    expect(await knex('mod_overusage_disputes')).to.have.length(0);
    s.f.clock.set('2013-06-16T21:59:59Z');
    const inTime = await s.mod.disputes!.open({
      lineId,
      reason: 'just in time',
      actor: CLIENT(s.story.clientId),
    });
    expect(inTime.ok).to.equal(true);
    expect((await knex('mod_overusage_disputes').first()).override_reason).to.equal(null);
  });

  it('lets an admin open a dispute after the window only with an override reason, which is kept', async () => {
    s.f.clock.set('2013-06-20T09:00:00Z');
    const bare = await s.mod.disputes!.open({
      lineId,
      reason: 'for the client',
      actor: ADMIN,
      overrideReason: '  ',
    });
    expect(bare.ok ? 'opened' : bare.code).to.equal('WINDOW_CLOSED');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'for the client',
      actor: ADMIN,
      overrideReason: ' reviewed on request ',
    });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.overrideReason).to.equal('reviewed on request');
    const audit = await knex('mod_overusage_audit').where({ action: 'dispute.opened' }).first();
    expect(JSON.parse(audit.details)).to.include({ override: ' reviewed on request ', amountMinor: '50000' });
  });

  // What dunning must leave alone: an open dispute's line, and nothing once the dispute is decided.
  for (const [to, actor] of [
    ['upheld', ADMIN],
    ['waived', ADMIN],
    ['adjusted', ADMIN],
    ['withdrawn', null],
  ] as const) {
    it(`shields the line from dunning while the dispute is open, and no longer once it is ${to}`, async () => {
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'too much',
        actor: CLIENT(s.story.clientId),
      });
      if (!opened.ok) throw new Error(opened.message);
      const held = opened.value.heldInvoiceId!;
      const heldItem = (await s.f.panel.api.getInvoice(held)).items[0]!;
      expect(await s.mod.disputes!.heldItemsOnInvoice(held)).to.deep.equal([
        {
          itemId: heldItem.id,
          amountMinor: 50000n,
          panelAmount: '500.00',
          description: heldItem.description.replace(' — on hold, under dispute', ''),
        },
      ]);
      expect(await s.mod.disputes!.heldItemsOnInvoice(renewal), 'the line left the renewal').to.deep.equal(
        [],
      );
      expect(
        (await s.mod.disputes!.openForClient(s.story.clientId)).map((d) => [
          d.disputeId,
          d.lineId,
          d.amountMinor,
          d.currency,
        ]),
      ).to.deep.equal([[opened.value.id, lineId, 50000n, 'EUR']]);
      expect(await s.mod.disputes!.openForClient(s.story.dutchClientId)).to.deep.equal([]);
      const resolved = await s.mod.disputes!.resolve({
        disputeId: opened.value.id,
        to,
        actor: actor ?? CLIENT(s.story.clientId),
        ...(to === 'adjusted' ? { adjustment: { kind: 'share', percent: '50' } as const } : {}),
      });
      expect(resolved.ok ? resolved.value.state : resolved.code).to.equal(to);
      expect(await s.mod.disputes!.heldItemsOnInvoice(held)).to.deep.equal([]);
      expect(await s.mod.disputes!.openForClient(s.story.clientId)).to.deep.equal([]);
    });
  }

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
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'too much',
        actor: CLIENT(s.story.clientId),
      });
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

  // A failure while the panel is changed interrupts the resolution (UPSTREAM, retried by resume());
  // one while the client is told does not: the decision stands and only the email is lost.
  for (const [method, when, interrupted] of [
    ['getInvoice', 'before', true],
    ['updateInvoice', 'before', true],
    ['updateInvoice', 'after', true],
    ['sendEmail', 'before', false],
  ] as Array<[string, 'before' | 'after', boolean]>) {
    it(`finishes an upheld resolution after a failure ${when} ${method}: published once, the dispute upheld`, async () => {
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'too much',
        actor: CLIENT(s.story.clientId),
      });
      if (!opened.ok) throw new Error(opened.message);
      s.faulty.failNext = { method, when, times: 1 };
      const outcome = await s.mod
        .disputes!.resolve({ disputeId: opened.value.id, to: 'upheld', actor: ADMIN })
        .then(
          (r) => ({ ok: r.ok, state: r.ok ? r.value.state : null }),
          (err: { code?: string }) => ({ code: err.code }),
        );
      expect(outcome).to.deep.equal(interrupted ? { code: 'UPSTREAM' } : { ok: true, state: 'upheld' });
      expect(s.faulty.failNext!.times, 'the injected failure happened').to.equal(0);
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
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'paid by mistake',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.value.holdState).to.equal('refund_decision');
    const res = await s.mod.disputes!.resolve({
      disputeId: opened.value.id,
      to: 'waived',
      actor: ADMIN,
      settlement: 'credit',
    });
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
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'I dispute this',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
    expect((await s.mod.disputes!.forLine(toNum(line.id)))!.holdState).to.equal('holding');
    // the client pays the undisputed part only
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'part',
      gateway: 'banktransfer',
      date: '2013-06-05 10:00:00',
      amount: '19.95',
    });
    for (let dd = '2013-06-05'; dd <= '2013-06-25'; dd = addDays(dd, 1)) {
      s.f.clock.set(`${dd}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(dd);
    }
    const reminders = (
      await knex('tblemails')
        .where({ userid: s.story.clientId })
        .andWhere('date', '>=', '2013-06-05 00:00:00')
        .select('subject')
    ).filter((r) => /Reminder|Overdue/i.test(String(r.subject)));
    expect(reminders).to.deep.equal([]);
    // the panel's fee (10 % of the €500.00 unpaid, €50.00) all the disputed line's: the hook sets it
    // to €0.00, one LateFee line kept (a deleted one the panel would add again each day)
    expect(
      (await knex('tblinvoiceitems').where({ invoiceid: renewal, type: 'LateFee' }).select('amount')).map(
        (r) => String(r.amount),
      ),
    ).to.deep.equal(['0.00']);
    expect(
      (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status,
    ).to.equal('Active');
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
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'I dispute this',
      actor: CLIENT(s.story.clientId),
    });
    expect(opened.ok).to.equal(true);
    // the client does not pay the rest either: the first overdue notice goes out the day after the due date
    for (let dd = '2013-06-05'; dd <= '2013-06-10'; dd = addDays(dd, 1)) {
      s.f.clock.set(`${dd}T07:00:00Z`);
      await s.f.panel.runDailyAutomation(dd);
    }
    const notice = await knex('tblemails')
      .where({ userid: s.story.clientId })
      .andWhere('subject', 'like', '%Overdue%')
      .first();
    expect(notice, 'the overdue notice for the undisputed rest').to.not.equal(undefined);
    expect(notice.message).to.include('19.95');
    expect(notice.message).to.match(
      /Bandwidth overusage 1 – 31 May 2013.*€500\.00 \(on hold, under dispute: not due until we decide\)/s,
    );
  });
});

describeEachEngine('adjusting a disputed line to a share', ({ db }) => {
  async function disputed(money: StoryMoney) {
    const knex = db().knex;
    const s = await buildBillingStory(knex, money);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').where({ client_id: s.story.clientId }).first();
    s.f.clock.set('2013-06-04T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    return { s, d: opened.value };
  }

  it('rounds a share half-up to the cent (USD)', async () => {
    // 1 000 GB × $0.55 = $550.00. 33.33 % → 183.3150 → $183.32 (cut off: 183.31); 66.67 % →
    // 366.6850 → $366.69; 12.34 % → 67.8700 → $67.87; 0.01 % → 0.0550 → $0.06; 100 % → $550.00.
    const { s, d } = await disputed({ code: 'USD', hosting: '21.95', overage: '0.55', precommit: '0.40' });
    const share = async (percent: string) =>
      (await s.mod.disputes!.preview(d.id, { kind: 'share', percent })).amountMinor;
    expect(await share('33.33')).to.equal(18332n);
    expect(await share('66.67')).to.equal(36669n);
    expect(await share('12.34')).to.equal(6787n);
    expect(await share('0.01')).to.equal(6n);
    expect(await share('100')).to.equal(55000n);
    expect(await share('0')).to.equal(0n);
    for (const bad of ['100.01', '-1', '33.333']) {
      const err = await share(bad).then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(err, bad).to.equal('INVALID_INPUT');
    }
    const resolved = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '33.33' },
    });
    expect(resolved.ok ? resolved.value.amountAfterMinor : resolved.code).to.equal(18332n);
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('183.32');
  });

  it('rounds a share half-up to the fils (BHD, three decimals)', async () => {
    // 1 000 GB × BD 0.187654 = BD 187.654. 66.67 % → 125.1089218 → BD 125.109 (cut off: 125.108);
    // 33.33 % → 62.5450782 → BD 62.545 (rounded up: 62.546). The panel keeps two decimals: 125.11.
    const { s, d } = await disputed({ code: 'BHD', hosting: '7.50', overage: '0.187654', precommit: '0.15' });
    expect(d.amountBeforeMinor).to.equal(187654n);
    expect((await s.mod.disputes!.preview(d.id, { kind: 'share', percent: '33.33' })).amountMinor).to.equal(
      62545n,
    );
    const resolved = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'share', percent: '66.67' },
    });
    expect(resolved.ok ? resolved.value.amountAfterMinor : resolved.code).to.equal(125109n);
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('125.11');
  });

  it('sets an amount by hand, never above the original (JPY, no minor unit)', async () => {
    // 1 000 GB × ¥80 = ¥80 000
    const { s, d } = await disputed({ code: 'JPY', hosting: '2980.00', overage: '80', precommit: '60' });
    expect((await s.mod.disputes!.preview(d.id, { kind: 'amount', amount: '80000' })).amountMinor).to.equal(
      80000n,
    );
    for (const bad of ['80001', '100.5']) {
      const err = await s.mod.disputes!.preview(d.id, { kind: 'amount', amount: bad }).then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(err, bad).to.equal('INVALID_INPUT');
    }
    // re-rated at the rate agreed in advance: 1 000 GB × ¥60 = ¥60 000
    const resolved = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
    });
    expect(resolved.ok ? resolved.value.amountAfterMinor : resolved.code).to.equal(60000n);
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total).to.equal('60000.00');
  });
});

/**
 * (a) The seed thread's dispute in time, step by step on one story (built once, in before): the
 * line is held off the renewal, the rest is paid and renews, nothing is dunned for the held
 * amount, and the admin re-rates at the agreed rate. Each step goes on from the one before.
 */
describeEachEngine('per-line disputes: (a) a line disputed in time, held and re-rated', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let d: { id: number; holdState: string; heldInvoiceId: number | null };

  before(async function () {
    this.timeout(120_000);
    knex = db().knex;
    let lineId: number;
    ({ s, renewal, lineId } = await renewedWithLine(knex));
    s.f.clock.set('2013-06-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'I cannot tell where this traffic came from; I want daily figures.',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    d = opened.value;
  });

  it('holds the line on a draft of its own: the renewal bills €19.95, the draft €500.00', async () => {
    expect(d.holdState).to.equal('held');
    const r = await s.f.panel.api.getInvoice(renewal);
    expect(r.total).to.equal('19.95');
    expect(r.items.map((i) => i.description).some((t) => t.includes('overusage'))).to.equal(false);
    const held = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(held.status).to.equal('Draft');
    expect(held.total).to.equal('500.00');
  });

  it('lets the client pay the €19.95 hosting part, and the service renews to 9 July', async () => {
    // the client pays the hosting part; the service renews
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-1',
      gateway: 'banktransfer',
      date: '2013-06-06 10:00:00',
    });
    expect((await s.f.panel.api.getInvoice(renewal)).status).to.equal('Paid');
    const svc = (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!;
    expect(svc.nextDueDate).to.equal('2013-07-09');
  });

  it('dunns nothing for the held €500.00 through June: no reminder, no late fee, the service active', async function () {
    this.timeout(120_000);
    /** reminders and overdue notices the client got on or after a day */
    const dunningSince = async (date: string) =>
      (
        await knex('tblemails')
          .where({ userid: s.story.clientId })
          .andWhere('date', '>=', `${date} 00:00:00`)
          .select('subject')
      ).filter((r) => /Reminder|Overdue|Herinnering|Achterstallig/i.test(String(r.subject)));
    for (let dd = '2013-06-06'; dd <= '2013-06-30'; dd = addDays(dd, 1)) await automationDay(s, dd);
    expect(await dunningSince('2013-06-05')).to.deep.equal([]);
    expect(
      await knex('tblinvoiceitems')
        .where({ type: 'LateFee' })
        .whereIn('invoiceid', [renewal, d.heldInvoiceId!]),
    ).to.have.length(0);
    expect(
      (await s.f.panel.api.getClientsProducts({ serviceId: s.story.serviceId })).products[0]!.status,
    ).to.equal('Active');
  });

  it('previews the agreed rate: 1 000 GB × €0.35 = €350.00', async () => {
    // the admin re-rates at the rate agreed in advance: 1 000 GB × €0.35
    const preview = await s.mod.disputes!.preview(d.id, { kind: 'precommit' });
    expect(preview.amountMinor).to.equal(35000n);
  });

  it('publishes the held line at €350.00 when adjusted, due 15 July, and takes its payment', async () => {
    s.f.clock.set('2013-07-01T09:00:00Z');
    const resolved = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
      note: 'compromise: pre-commit rate',
    });
    expect(resolved.ok, resolved.ok ? '' : resolved.message).to.equal(true);
    const published = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(published.status).to.equal('Unpaid');
    expect(published.total).to.equal('350.00');
    expect(published.dueDate).to.equal('2013-07-15');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: published.invoiceId,
      transId: 'pay-2',
      gateway: 'banktransfer',
      date: '2013-07-02 10:00:00',
    });
    expect((await s.f.panel.api.getInvoice(published.invoiceId)).status).to.equal('Paid');
  });

  it('tells the client in English and audits both amounts (€500.00 → €350.00)', async () => {
    // told in their language (the story's client reads English) and audited with both amounts
    const mails = await knex('tblemails').where('subject', 'like', '%dispute%');
    expect(mails.map((m) => m.subject)).to.include.members([
      `Your dispute of ${(await knex('mod_overusage_lines').first()).ref_code}`,
    ]);
    const audit = await knex('mod_overusage_audit').where({ action: 'dispute.adjusted' }).first();
    expect(JSON.parse(audit.details)).to.include({ amountBeforeMinor: '50000', amountAfterMinor: '35000' });
  });
});
