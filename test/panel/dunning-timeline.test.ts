import { expect } from 'chai';
import { addDays } from '../../module/domain/calendar.js';
import { intCell, textCell } from '../../panel/db/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, seedStory, type PanelFixture, type Story } from './support.js';

/**
 * Ninety days of WHMCS dunning for one client with a monthly VPS (due on the 1st), replayed one
 * daily run at a time with the manual clock. Month 1 is paid on time, month 2 late (after
 * notices, a late fee and a suspension), month 3 never. Hooks answer along the way: an
 * EmailPreSend abortsend stops one notice, a PreModuleSuspend abortcmd holds off one suspension,
 * an InvoiceCreation handler adds a line, and DailyCronJobPreEmail suppresses the admin report on
 * all but one day.
 */
const SETTINGS = {
  CreateInvoiceDaysBefore: '7',
  SendReminder: 'on',
  SendInvoiceReminderDays: '3',
  SendFirstOverdueInvoiceReminder: '1',
  SendSecondOverdueInvoiceReminder: '3',
  SendThirdOverdueInvoiceReminder: '5',
  AddLateFeeDays: '5',
  LateFeeType: 'Percentage',
  InvoiceLateFeeAmount: '10',
  LateFeeMinimum: '5.00',
  AutoSuspension: 'on',
  AutoSuspensionDays: '7',
  AutoUnsuspend: 'on',
  SendSuspensionEmail: 'on',
  DailyCronReportEmail: 'on',
};

const START = '2025-01-20';
const DAYS = 90;

describeEachEngine('dunning timeline', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  /** date → what happened that day */
  const timeline = new Map<string, string[]>();
  /** date → hooks fired by the day's run (and the payments made that morning) */
  const hooksByDay = new Map<string, string[]>();
  const invoiceOfMonth: Record<string, number> = {};
  let draftId = 0;
  let cancelledId = 0;
  let secondRunOfADay: Awaited<ReturnType<PanelFixture['panel']['runDailyAutomation']>> | null = null;

  before(async function () {
    this.timeout(60_000);
    f = await buildPanel(db().knex, { start: `${START}T08:00:00Z`, settings: SETTINGS });
    story = await seedStory(f, { regdate: '2025-01-01', nextduedate: '2025-02-01' });
    // only the English client takes part: the Dutch one's service is cancelled
    await f.panel.api.updateClientProduct({ serviceId: story.dutchServiceId, status: 'Cancelled' });
    const api = f.panel.api;

    // invoices that must never be dunned: a draft and a cancelled one, both due in the window
    draftId = (
      await api.createInvoice({
        userId: story.clientId,
        draft: true,
        dueDate: '2025-02-03',
        items: [{ description: 'Held (draft)', amount: '9.00' }],
      })
    ).invoiceId;
    cancelledId = (
      await api.createInvoice({
        userId: story.clientId,
        dueDate: '2025-02-03',
        items: [{ description: 'Cancelled', amount: '9.00' }],
      })
    ).invoiceId;
    await api.updateInvoice({ invoiceId: cancelledId, status: 'Cancelled' });

    let today = START;
    // the hooks a module would register
    f.panel.hooks.add('InvoiceCreation', 1, async (vars) => {
      const inv = await api.getInvoice(vars.invoiceid);
      if (
        inv.items.some(
          (i) => i.type === 'Hosting' && i.relId === story.serviceId && inv.dueDate === '2025-04-01',
        )
      ) {
        await api.updateInvoice({
          invoiceId: inv.invoiceId,
          newItems: [{ description: 'Bandwidth overusage March 2025', amount: '5.00' }],
        });
      }
    });
    f.panel.hooks.add('EmailPreSend', 1, (vars) =>
      vars.messagename === 'Second Invoice Overdue Notice' && vars.relid === invoiceOfMonth['2025-03-01']
        ? { abortsend: true }
        : undefined,
    );
    f.panel.hooks.add('PreModuleSuspend', 1, (vars) =>
      today === '2025-03-08' && vars.params.serviceid === story.serviceId ? { abortcmd: true } : undefined,
    );
    f.panel.hooks.add('DailyCronJobPreEmail', 1, () => today !== '2025-03-09');

    let lastEmail = intCell((await f.knex('tblemails').max({ m: 'id' }))[0]?.m ?? 0);
    for (let day = 0; day < DAYS; day++) {
      today = addDays(START, day);
      f.clock.set(`${today}T08:00:00Z`);
      f.panel.hooks.clearTrace();
      const events: string[] = [];
      // the client pays month 1 before its due date and month 2 late; month 3 never
      for (const [payDay, month] of [
        ['2025-01-30', '2025-02-01'],
        ['2025-03-10', '2025-03-01'],
      ] as const) {
        if (today === payDay) {
          await api.addInvoicePayment({
            invoiceId: invoiceOfMonth[month]!,
            transId: `pay-${month}`,
            gateway: 'banktransfer',
          });
          events.push(`paid #${invoiceOfMonth[month]}`);
        }
      }
      const report = await f.panel.runDailyAutomation();
      expect(report.date).to.equal(today);
      expect(report.failures).to.deep.equal([]);
      if (today === '2025-03-06') secondRunOfADay = await f.panel.runDailyAutomation(today);
      for (const id of report.invoicesCreated) {
        const inv = await api.getInvoice(id);
        invoiceOfMonth[inv.dueDate!] = id;
        events.push(`invoice #${id} due ${inv.dueDate} total ${inv.total}`);
      }
      for (const n of report.notices)
        if (n.outcome !== 'sent') events.push(`${n.type} #${n.invoiceid} ${n.outcome}`);
      for (const l of report.lateFees) events.push(`late fee #${l.invoiceid} ${l.amount}`);
      for (const s of report.suspensions) events.push(`service ${s.serviceid} ${s.outcome}`);
      const emails = await f.knex('tblemails').where('id', '>', lastEmail).orderBy('id');
      for (const e of emails) {
        lastEmail = Math.max(lastEmail, intCell(e.id));
        events.push(`${intCell(e.userid) === 0 ? 'admin email' : 'email'}: ${textCell(e.subject)}`);
      }
      const status = (await api.getClientsProducts({ serviceId: story.serviceId })).products[0]!.status;
      if (day > 0 && status !== (timeline.get('status') as unknown as string))
        events.push(`service is ${status}`);
      timeline.set('status', status as unknown as string[]);
      if (events.length > 0) timeline.set(today, events);
      hooksByDay.set(today, f.panel.hooks.fired());
    }
    timeline.delete('status');
  });

  it('dunns on the right days, and does nothing once an invoice is paid', () => {
    const m1 = invoiceOfMonth['2025-02-01'];
    const m2 = invoiceOfMonth['2025-03-01'];
    const m3 = invoiceOfMonth['2025-04-01'];
    const s = story.serviceId;
    expect(Object.fromEntries(timeline)).to.deep.equal({
      // month 1: invoiced 7 days ahead, reminded 3 days ahead, paid on time
      '2025-01-25': [`invoice #${m1} due 2025-02-01 total 19.95`, 'email: Customer Invoice'],
      '2025-01-29': ['email: Invoice Payment Reminder'],
      '2025-01-30': [`paid #${m1}`, 'email: Invoice Payment Confirmation'],
      // month 2: paid late
      '2025-02-22': [`invoice #${m2} due 2025-03-01 total 19.95`, 'email: Customer Invoice'],
      '2025-02-26': ['email: Invoice Payment Reminder'],
      '2025-03-02': ['email: First Invoice Overdue Notice'],
      '2025-03-04': [`secondoverdue #${m2} aborted`],
      '2025-03-06': [`late fee #${m2} 5.00`, 'email: Third Invoice Overdue Notice'],
      '2025-03-08': [`service ${s} aborted`],
      '2025-03-09': [
        `service ${s} suspended`,
        'email: Service Suspension Notification',
        'admin email: Cron Job Activity',
        'service is Suspended',
      ],
      '2025-03-10': [`paid #${m2}`, 'email: Invoice Payment Confirmation', 'service is Active'],
      // month 3: the renewal carries the line a hook added; never paid
      '2025-03-25': [`invoice #${m3} due 2025-04-01 total 24.95`, 'email: Customer Invoice'],
      '2025-03-29': ['email: Invoice Payment Reminder'],
      '2025-04-02': ['email: First Invoice Overdue Notice'],
      '2025-04-04': ['email: Second Invoice Overdue Notice'],
      '2025-04-06': [`late fee #${m3} 5.00`, 'email: Third Invoice Overdue Notice'],
      '2025-04-08': [
        `service ${s} suspended`,
        'email: Service Suspension Notification',
        'service is Suspended',
      ],
    });
  });

  it('moves the next due date one month per paid renewal and lifts the overdue suspension on payment', async () => {
    const svc = (await f.panel.api.getClientsProducts({ serviceId: story.serviceId })).products[0]!;
    expect(svc).to.include({
      nextDueDate: '2025-04-01',
      status: 'Suspended',
      suspensionReason: 'Overdue on Payment',
    });
    const m2 = await f.panel.api.getInvoice(invoiceOfMonth['2025-03-01']!);
    expect(m2).to.include({
      status: 'Paid',
      total: '24.95',
      balance: '0.00',
      datePaid: '2025-03-10 09:00:00',
    });
    expect(m2.items.map((i) => [i.type, i.description, i.amount])).to.deep.equal([
      ['Hosting', 'VPS 5 TB - vps1.example.net (01/03/2025 - 31/03/2025)', '19.95'],
      ['LateFee', 'Late Fee (Added 06/03/2025)', '5.00'],
    ]);
  });

  it('puts the line an InvoiceCreation handler added into the total and into the "Invoice Created" email', async () => {
    const m3 = await f.panel.api.getInvoice(invoiceOfMonth['2025-04-01']!);
    expect(m3.items.map((i) => i.description)).to.deep.equal([
      'VPS 5 TB - vps1.example.net (01/04/2025 - 30/04/2025)',
      'Bandwidth overusage March 2025',
      'Late Fee (Added 06/04/2025)',
    ]);
    expect(m3).to.include({ status: 'Unpaid', subtotal: '29.95', total: '29.95' });
    const created = await f
      .knex('tblemails')
      .where({ subject: 'Customer Invoice' })
      .where('date', 'like', '2025-03-25%')
      .first();
    expect(textCell(created.message)).to.contain('Bandwidth overusage March 2025').and.contain('€24.95');
  });

  it('never dunns a draft or a cancelled invoice', async () => {
    const rows = await f
      .knex('tblpanel_automation_log')
      .whereIn('entity_id', [draftId, cancelledId])
      .where({ entity_type: 'invoice' });
    expect(rows).to.deep.equal([]);
    for (const id of [draftId, cancelledId])
      expect((await f.panel.api.getInvoice(id)).items).to.have.length(1);
  });

  it('fires the hooks in WHMCS order on an invoicing day, a dunning day and a suspension day', () => {
    const tasks = (...names: string[]) => names;
    expect(hooksByDay.get('2025-01-25')).to.deep.equal(
      tasks(
        'PreCronJob',
        'PreAutomationTask',
        'PreInvoicingGenerateInvoiceItems',
        'InvoiceCreation',
        'InvoiceCreationPreEmail',
        'EmailPreSend',
        'InvoiceCreated',
        'AfterInvoicingGenerateInvoiceItems',
        'PostAutomationTask',
        'PreAutomationTask',
        'PostAutomationTask',
        'PreAutomationTask',
        'PostAutomationTask',
        'PreAutomationTask',
        'PostAutomationTask',
        'DailyCronJob',
        'DailyCronJobPreEmail',
        'AfterCronJob',
      ),
    );
    const interesting = [
      'InvoicePaymentReminder',
      'EmailPreSend',
      'AddInvoiceLateFee',
      'UpdateInvoiceTotal',
      'PreModuleSuspend',
      'AfterModuleSuspend',
      'PreModuleUnsuspend',
      'AfterModuleUnsuspend',
    ];
    const pick = (day: string) => hooksByDay.get(day)!.filter((h) => interesting.includes(h));
    // the reminder hook fires for the aborted notice too: it cannot stop an email, EmailPreSend can
    expect(pick('2025-03-04')).to.deep.equal(['InvoicePaymentReminder', 'EmailPreSend']);
    expect(pick('2025-03-06')).to.deep.equal(['InvoicePaymentReminder', 'EmailPreSend', 'AddInvoiceLateFee']);
    expect(pick('2025-03-08')).to.deep.equal(['PreModuleSuspend']);
    expect(pick('2025-03-09')).to.deep.equal(['PreModuleSuspend', 'AfterModuleSuspend', 'EmailPreSend']);
    expect(pick('2025-03-10')).to.deep.equal(['EmailPreSend', 'PreModuleUnsuspend', 'AfterModuleUnsuspend']);
    expect(hooksByDay.get('2025-03-10')!.slice(0, 5)).to.deep.equal([
      'AddTransaction',
      'AddInvoicePayment',
      'InvoicePaidPreEmail',
      'EmailPreSend',
      'PreModuleUnsuspend',
    ]);
    // the InvoiceCreation handler's UpdateInvoice runs inside InvoiceCreation, before the email
    const d = hooksByDay.get('2025-03-25')!;
    expect(d.slice(d.indexOf('InvoiceCreation'), d.indexOf('InvoiceCreated') + 1)).to.deep.equal([
      'InvoiceCreation',
      'UpdateInvoiceTotal',
      'InvoiceCreationPreEmail',
      'EmailPreSend',
      'InvoiceCreated',
    ]);
  });

  it('runs a day once: a second run of the same date does nothing', async () => {
    expect(secondRunOfADay).to.include({ alreadyRan: true, date: '2025-03-06' });
    expect(secondRunOfADay!.lateFees).to.have.length(1);
    const lateFees = await f.knex('tblinvoiceitems').where({ type: 'LateFee' });
    expect(lateFees).to.have.length(2);
  });

  it('does each step once even when a crashed day is replayed', async () => {
    const before = {
      emails: (await f.knex('tblemails').count({ n: '*' }))[0]!.n,
      items: (await f.knex('tblinvoiceitems').count({ n: '*' }))[0]!.n,
    };
    // forget that 2025-03-06 and 2025-03-25 completed, as if their runs had crashed at the end
    await f
      .knex('tblpanel_automation_runs')
      .whereIn('run_date', ['2025-03-06', '2025-03-25'])
      .update({ status: 'failed' });
    for (const day of ['2025-03-06', '2025-03-25']) {
      const again = await f.panel.runDailyAutomation(day);
      expect(again).to.include({ alreadyRan: false });
      expect(again.invoicesCreated).to.deep.equal([]);
      expect(again.notices).to.deep.equal([]);
      expect(again.lateFees).to.deep.equal([]);
    }
    expect({
      emails: (await f.knex('tblemails').count({ n: '*' }))[0]!.n,
      items: (await f.knex('tblinvoiceitems').count({ n: '*' }))[0]!.n,
    }).to.deep.equal(before);
  });
});
