/**
 * WHMCS's daily automation (the "cron"), run for one calendar day in the panel's zone
 * (docs/whmcs.md, "Automation and dunning"):
 *
 *   PreCronJob
 *   InvoiceGeneration    renewals due within CreateInvoiceDaysBefore days, once per due date
 *   InvoiceReminders     the payment reminder N days before the due date and the first/second/
 *                        third overdue notices N days after it, each once, on its exact day
 *   LateFees             a late fee, AddLateFeeDays after the due date (0: on the due date), on
 *                        each day's run to every overdue Unpaid invoice that has no LateFee line
 *                        (one a day at most) and is not due on its invoice date, at least the
 *                        Late Fee Minimum, whatever is left to pay (whmcsLateFee)
 *   OverdueSuspensions   services AutoSuspensionDays past their next due date, via PreModuleSuspend
 *   DailyCronJob, DailyCronJobPreEmail (→ the admin report email), AfterCronJob
 *
 * Each task is wrapped in PreAutomationTask/PostAutomationTask. Every step on an entity is claimed
 * in tblpanel_automation_log under a unique key, so running a day twice (or two runs at once)
 * does each thing once; a completed day is not run again at all. Draft, paid and cancelled
 * invoices are never dunned.
 */
import os from 'node:os';
import type { DateTime } from 'luxon';
import { addDays, isIsoDate, localDate, type IsoDate } from '../module/domain/calendar.js';
import { isRecurring } from './domain/billing-cycle.js';
import {
  NOTICE_TEMPLATE,
  lateFeeRuleOf,
  lateFeeDue,
  noticesDueOn,
  suspensionVerdict,
  whmcsLateFee,
  type NoticeType,
} from './domain/dunning-schedule.js';
import { formatMoney } from './domain/money.js';
import { loadClient } from './db/clients.js';
import { loadInvoice } from './db/invoices.js';
import { datetimeCell, intCell, sqlLocalDatetime, textCell } from './db/rows.js';
import { parseService } from './db/services.js';
import { dunningSettings, getSetting, isOn } from './db/settings.js';
import { addLateFee, claimStep, finishStep, generateInvoices, isUniqueViolation } from './core/billing.js';
import type { PanelCore, When } from './core/context.js';
import { sendAdminEmail, sendClientEmail } from './core/emails.js';
import { OVERDUE_REASON, suspendService } from './core/services.js';

export interface AutomationReport {
  date: IsoDate;
  /** the day had been run to the end before: nothing was done now */
  alreadyRan: boolean;
  /** another run of the same day is in progress: nothing was done now */
  inProgress: boolean;
  /** the day was begun by a run whose process is gone; this run finished it */
  resumed: boolean;
  invoicesCreated: number[];
  notices: Array<{
    invoiceid: number;
    type: NoticeType;
    outcome: 'sent' | 'aborted' | 'skipped_client_override' | 'not_sent';
  }>;
  lateFees: Array<{ invoiceid: number; amount: string }>;
  suspensions: Array<{
    serviceid: number;
    outcome: 'suspended' | 'aborted' | 'failed' | 'overridden';
    message?: string;
  }>;
  reportEmail: 'sent' | 'suppressed' | 'disabled';
  failures: Array<{ task: string; entity: string; message: string }>;
}

export interface Automation {
  /** Runs the daily automation for `date` (default: today on the panel's clock). Idempotent per date. */
  runDailyAutomation(date?: IsoDate): Promise<AutomationReport>;
}

// a run that has been "running" longer than this (on the panel's clock) is taken as crashed
const STALE_RUN_MINUTES = 30;

const RUNNER = `${os.hostname()}:${process.pid}`;

/** A runner of this host whose process no longer runs (EPERM: it runs, as another user). */
function runnerGone(runner: string): boolean {
  const m = /^(.+):(\d+)$/.exec(runner);
  if (!m || m[1] !== os.hostname() || Number(m[2]) === process.pid) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

export function createAutomation(core: PanelCore): Automation {
  const db = core.knex;

  /** The instant used for a day's records: now when it is today, else that day at the clock's time of day. */
  const whenFor = (date: IsoDate): When => {
    const now = core.clock.now().setZone(core.zone);
    if (localDate(now, core.zone) === date) return { today: date, now: now.toUTC() };
    const [y, m, d] = date.split('-').map(Number) as [number, number, number];
    return { today: date, now: now.set({ year: y, month: m, day: d }).toUTC() };
  };

  async function claimRun(date: IsoDate, now: DateTime): Promise<'go' | 'resume' | 'done' | 'busy'> {
    const stamp = sqlLocalDatetime(now, core.zone);
    const row = await db('tblpanel_automation_runs').where({ run_date: date }).first();
    if (row) {
      if (textCell(row.status) === 'completed') return 'done';
      const started = datetimeCell(row.started_at);
      const runner = row.runner === null || row.runner === undefined ? null : textCell(row.runner);
      const dead = runner !== null && runnerGone(runner);
      const fresh =
        textCell(row.status) === 'running' &&
        !dead &&
        started !== null &&
        started > sqlLocalDatetime(now.minus({ minutes: STALE_RUN_MINUTES }), core.zone);
      if (fresh) return 'busy';
      // the update names what it read, so of two reruns at once only one goes on
      const n = await db('tblpanel_automation_runs')
        .where({ run_date: date, status: textCell(row.status), started_at: row.started_at })
        .update({ status: 'running', started_at: stamp, finished_at: null, runner: RUNNER });
      if (n !== 1) return 'busy';
      return textCell(row.status) === 'running' ? 'resume' : 'go';
    }
    try {
      await db('tblpanel_automation_runs').insert({
        run_date: date,
        status: 'running',
        started_at: stamp,
        runner: RUNNER,
      });
      return 'go';
    } catch (err) {
      if (isUniqueViolation(err)) return 'busy';
      throw err;
    }
  }

  async function task(name: string, report: AutomationReport, work: () => Promise<void>): Promise<void> {
    await core.hooks.run('PreAutomationTask', { task: name });
    let completed = true;
    try {
      await work();
    } catch (err) {
      completed = false;
      report.failures.push({ task: name, entity: '', message: (err as Error).message });
      core.log.error('panel.automation_task_failed', { task: name, message: (err as Error).message });
    }
    await core.hooks.run('PostAutomationTask', { task: name, completed });
  }

  async function invoiceReminders(when: When, report: AutomationReport): Promise<void> {
    const s = await dunningSettings(db);
    if (!s.sendReminders) return;
    const latest = Math.max(...s.overdueDays, 0);
    const rows = await db('tblinvoices')
      .where({ status: 'Unpaid' })
      .whereBetween('duedate', [addDays(when.today, -latest), addDays(when.today, s.reminderDaysBefore)])
      .orderBy('id')
      .select('id');
    const stamp = sqlLocalDatetime(when.now, core.zone);
    for (const r of rows) {
      const inv = await loadInvoice(db, intCell(r.id));
      if (!inv || inv.duedate === null || inv.balanceMinor <= 0n) continue;
      for (const type of noticesDueOn(when.today, inv.duedate, s)) {
        const step = {
          task: 'InvoiceReminders',
          entityType: 'invoice',
          entityId: inv.id,
          key: `${type}:${inv.duedate}`,
        };
        try {
          const client = await loadClient(db, inv.userid);
          // the client's "no overdue notices" flag; the reminder before the due date still goes
          if (type !== 'reminder' && client?.overideduenotices) {
            if (
              await claimStep(db, { ...step, runDate: when.today, outcome: 'skipped_client_override' }, stamp)
            ) {
              report.notices.push({ invoiceid: inv.id, type, outcome: 'skipped_client_override' });
            }
            continue;
          }
          if (!(await claimStep(db, { ...step, runDate: when.today }, stamp))) continue;
          // WHMCS fires this as the reminder goes out; it cannot stop it (EmailPreSend can)
          await core.hooks.run('InvoicePaymentReminder', { invoiceid: inv.id, type });
          const sent = await sendClientEmail(
            core,
            { messagename: NOTICE_TEMPLATE[type], relid: inv.id },
            when,
          );
          const outcome = sent.sent ? 'sent' : sent.reason === 'aborted' ? 'aborted' : 'not_sent';
          await finishStep(db, step, outcome, sent.sent ? `email ${sent.emailId}` : sent.reason);
          if (sent.sent)
            await core.activity(
              {
                description: `Cron Job: ${NOTICE_TEMPLATE[type]} Sent - Invoice ID: ${inv.id}`,
                userid: inv.userid,
              },
              when,
            );
          report.notices.push({ invoiceid: inv.id, type, outcome });
        } catch (err) {
          await finishStep(db, step, 'failed', (err as Error).message).catch(() => undefined);
          report.failures.push({
            task: 'InvoiceReminders',
            entity: `invoice ${inv.id}`,
            message: (err as Error).message,
          });
        }
      }
    }
  }

  async function lateFees(when: When, report: AutomationReport): Promise<void> {
    const s = await dunningSettings(db);
    const rows = await db('tblinvoices')
      .where({ status: 'Unpaid' })
      .where('duedate', '<=', addDays(when.today, -s.lateFeeDays))
      .orderBy('id')
      .select('id');
    const stamp = sqlLocalDatetime(when.now, core.zone);
    for (const r of rows) {
      const inv = await loadInvoice(db, intCell(r.id));
      // nothing left to pay is no exception: WHMCS's task reads no balance before it charges
      if (
        !inv ||
        inv.duedate === null ||
        !lateFeeDue(when.today, { duedate: inv.duedate, date: inv.date }, s)
      )
        continue;
      // As WHMCS's AddLateFees task does (docs/whmcs.md, "Automation and dunning"; the decoded
      // WHMCS 7 task, docs/billing-rules.md "Late fees"): every daily run adds a fee to each overdue
      // Unpaid invoice that has no LateFee line, whatever an earlier day did — a fee deleted from the
      // invoice is added again the next day; one left at 0.00 keeps it from coming back. The step
      // key carries the day, so running a day twice (or two runs at once) adds it once.
      if (inv.items.some((i) => i.type === 'LateFee')) continue;
      const client = await loadClient(db, inv.userid);
      if (client?.latefeeoveride) continue;
      const step = {
        task: 'LateFees',
        entityType: 'invoice',
        entityId: inv.id,
        key: `latefee:${when.today}`,
      };
      try {
        if (!(await claimStep(db, { ...step, runDate: when.today }, stamp))) continue;
        // WHMCS's AddLateFees task: a percentage of the balance, the total (tax included) less what
        // was paid on it (tblaccounts in less out), not of the total, raised to the Late Fee Minimum;
        // added as computed, at 0.00 too (whmcsLateFee; docs/billing-rules.md "Late fees")
        const fee = whmcsLateFee(inv.balanceMinor, lateFeeRuleOf(s));
        if (fee === null) {
          await finishStep(db, step, 'zero');
          continue;
        }
        await addLateFee(core, inv, fee, s.taxLateFee, when);
        await finishStep(db, step, 'added', formatMoney(fee));
        report.lateFees.push({ invoiceid: inv.id, amount: formatMoney(fee) });
      } catch (err) {
        await finishStep(db, step, 'failed', (err as Error).message).catch(() => undefined);
        report.failures.push({
          task: 'LateFees',
          entity: `invoice ${inv.id}`,
          message: (err as Error).message,
        });
      }
    }
  }

  async function overdueSuspensions(when: When, report: AutomationReport): Promise<void> {
    const s = await dunningSettings(db);
    if (!s.autoSuspend) return;
    const sendEmail = isOn(await getSetting(db, 'SendSuspensionEmail'));
    const rows = await db('tblhosting')
      .where({ domainstatus: 'Active' })
      .whereNotNull('nextduedate')
      .where('nextduedate', '<=', addDays(when.today, -s.suspendDays))
      .orderBy('id');
    const stamp = sqlLocalDatetime(when.now, core.zone);
    for (const row of rows) {
      const svc = parseService(row);
      if (!svc.billingcycle || !isRecurring(svc.billingcycle) || !svc.nextduedate) continue;
      const verdict = suspensionVerdict(when.today, svc.nextduedate, s, {
        enabled: svc.overideautosuspend,
        until: svc.overidesuspenduntil,
      });
      if (verdict === 'not_due' || verdict === 'disabled') continue;
      // keyed by day: a suspension a hook held off today is tried again tomorrow
      const step = {
        task: 'OverdueSuspensions',
        entityType: 'service',
        entityId: svc.id,
        key: `suspend:${when.today}`,
      };
      try {
        if (verdict === 'overridden') {
          if (
            await claimStep(
              db,
              {
                ...step,
                runDate: when.today,
                outcome: 'overridden',
                detail: svc.overidesuspenduntil ?? 'indefinitely',
              },
              stamp,
            )
          ) {
            report.suspensions.push({ serviceid: svc.id, outcome: 'overridden' });
          }
          continue;
        }
        if (!(await claimStep(db, { ...step, runDate: when.today }, stamp))) continue;
        await core.activity(
          { description: `Cron Job: Suspending Service - Service ID: ${svc.id}`, userid: svc.userid },
          when,
        );
        const outcome = await suspendService(
          core,
          svc.id,
          { suspendreason: OVERDUE_REASON, requireModule: false },
          when,
        );
        if (outcome.ok) {
          await finishStep(db, step, 'suspended');
          report.suspensions.push({ serviceid: svc.id, outcome: 'suspended' });
          if (sendEmail)
            await sendClientEmail(
              core,
              { messagename: 'Service Suspension Notification', relid: svc.id },
              when,
            );
        } else {
          await finishStep(db, step, outcome.aborted ? 'aborted' : 'failed', outcome.message);
          report.suspensions.push({
            serviceid: svc.id,
            outcome: outcome.aborted ? 'aborted' : 'failed',
            message: outcome.message,
          });
        }
      } catch (err) {
        await finishStep(db, step, 'failed', (err as Error).message).catch(() => undefined);
        report.failures.push({
          task: 'OverdueSuspensions',
          entity: `service ${svc.id}`,
          message: (err as Error).message,
        });
      }
    }
  }

  async function runDailyAutomation(date?: IsoDate): Promise<AutomationReport> {
    const today = date ?? localDate(core.clock.now(), core.zone);
    if (!isIsoDate(today)) throw new RangeError(`not a date (YYYY-MM-DD): ${String(date)}`);
    const when = whenFor(today);
    const report: AutomationReport = {
      date: today,
      alreadyRan: false,
      inProgress: false,
      resumed: false,
      invoicesCreated: [],
      notices: [],
      lateFees: [],
      suspensions: [],
      reportEmail: 'disabled',
      failures: [],
    };
    const claim = await claimRun(today, when.now);
    if (claim === 'done') {
      const row = await db('tblpanel_automation_runs').where({ run_date: today }).first('summary');
      const previous = row?.summary ? (JSON.parse(textCell(row.summary)) as Partial<AutomationReport>) : {};
      return { ...report, ...previous, date: today, alreadyRan: true, inProgress: false };
    }
    if (claim === 'busy') return { ...report, inProgress: true };
    if (claim === 'resume') {
      report.resumed = true;
      core.log.warn('panel.cron_resumed', { date: today, reason: 'the run that began the day stopped' });
    }

    try {
      return await runClaimedDay(today, when, report);
    } catch (err) {
      // left for the next call of the same day to pick up (its steps are keyed, so nothing doubles)
      await db('tblpanel_automation_runs')
        .where({ run_date: today })
        .update({ status: 'failed', finished_at: sqlLocalDatetime(when.now, core.zone) });
      throw err;
    }
  }

  async function runClaimedDay(
    today: IsoDate,
    when: When,
    report: AutomationReport,
  ): Promise<AutomationReport> {
    const log = core.log.child({ component: 'panel-cron', date: today });
    log.info('panel.cron_started');
    await core.activity({ description: `Cron Job: Starting Daily Automation Tasks (${today})` }, when);
    await core.hooks.run('PreCronJob', {});
    await task('InvoiceGeneration', report, async () => {
      report.invoicesCreated = await generateInvoices(core, { noemails: false }, when);
    });
    await task('InvoiceReminders', report, () => invoiceReminders(when, report));
    await task('LateFees', report, () => lateFees(when, report));
    await task('OverdueSuspensions', report, () => overdueSuspensions(when, report));
    await core.hooks.run('DailyCronJob', {});
    const preEmail = await core.hooks.run('DailyCronJobPreEmail', {});
    if (preEmail.anyTrue) report.reportEmail = 'suppressed';
    else if (isOn(await getSetting(db, 'DailyCronReportEmail'))) {
      const summary = [
        `Invoices created: ${report.invoicesCreated.length}`,
        `Reminders and notices sent: ${report.notices.filter((n) => n.outcome === 'sent').length}`,
        `Late fees added: ${report.lateFees.length}`,
        `Services suspended: ${report.suspensions.filter((x) => x.outcome === 'suspended').length}`,
        `Failures: ${report.failures.length}`,
      ].join('<br>');
      const sent = await sendAdminEmail(
        core,
        { messagename: 'Cron Job Activity', mergefields: { run_date: today, summary } },
        when,
      );
      report.reportEmail = sent.sent ? 'sent' : 'disabled';
    }
    await core.hooks.run('AfterCronJob', {});
    await core.activity({ description: `Cron Job: Completed Daily Automation Tasks (${today})` }, when);
    const { alreadyRan: _a, inProgress: _b, resumed: _c, ...summary } = report;
    await db('tblpanel_automation_runs')
      .where({ run_date: today })
      .update({
        status: 'completed',
        finished_at: sqlLocalDatetime(when.now, core.zone),
        summary: JSON.stringify(summary),
      });
    log.info('panel.cron_finished', {
      invoices: report.invoicesCreated.length,
      notices: report.notices.length,
      lateFees: report.lateFees.length,
      suspensions: report.suspensions.length,
      failures: report.failures.length,
    });
    return report;
  }

  return { runDailyAutomation };
}
