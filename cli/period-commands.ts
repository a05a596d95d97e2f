import { Option, type Command } from 'commander';
import { humanBytes } from '../module/domain/bytes.js';
import { ModuleError } from '../module/domain/errors.js';
import { formatAmount } from '../module/domain/line-text.js';
import { describeAnomaly } from '../module/domain/anomaly-text.js';
import { isUnreadable, readableOf, type Listed, type UnreadableRow } from '../module/adapters/rows.js';
import type { PeriodView } from '../module/services/usage-periods.js';
import type { CommandContext } from './main.js';

/**
 * Usage periods and their anomalies for operators without the admin tab: `overusage periods`,
 * `overusage anomaly list|decide` and `overusage correction bill|drop`.
 */
const CLI = { type: 'cli' as const, id: null };

function wholeNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ModuleError('INVALID_INPUT', `${what} must be a positive whole number, not "${text}"`);
  }
  return Number(text);
}

const money = (minor: bigint, currency: string) => formatAmount(minor, currency, 'en-GB');

/** A row that cannot be read, as the lists print it: which column and why, never the value. */
const unreadableText = (u: UnreadableRow) =>
  `unreadable: ${u.unreadable.column ?? 'a column'} is ${u.unreadable.reason}`;

function periodLine(listed: Listed<PeriodView>): string {
  if (isUnreadable(listed)) return `${listed.id}\t${unreadableText(listed)}`;
  const p = listed;
  const charges = readableOf(p.charges);
  const live = charges.filter((c) => c.status !== 'void');
  const usage = live.find((c) => c.seq === 0) ?? null;
  // a charge that cannot be read: named, and no figure of the period's money beside it
  const lost = p.charges.flatMap((c) => (isUnreadable(c) ? [`charge ${c.id} ${unreadableText(c)}`] : []));
  const money$ = [
    ...live.map(
      (c) =>
        `${c.kind === 'correction' ? 'correction ' : ''}${money(c.amountMinor, c.currency)} ${c.status}${c.invoiceId ? ` on invoice ${c.invoiceId}` : ''}`,
    ),
    ...lost,
  ].join('; ');
  const allowance = usage
    ? `, allowance ${humanBytes(usage.allowanceBytes)}, over ${humanBytes(usage.overBytes)}`
    : '';
  const anomalies = p.anomalies.length
    ? `\n    ${p.anomalies.map((a) => (isUnreadable(a) ? `[${a.id} ${unreadableText(a)}]` : `[${a.id} ${a.kind} ${a.status}] ${describeAnomaly(a)}`)).join('\n    ')}`
    : '';
  return `${p.id}\t${p.start} – ${p.end ?? '…'}\t${p.state}\t${humanBytes(p.usedBytes)} used${allowance}${money$ ? `\t${money$}` : ''}${anomalies}`;
}

export function registerPeriodCommands(program: Command, ctx: CommandContext): void {
  program
    .command('periods')
    .description(
      "a service's usage periods (billing calendar) with their state, the allowance applied, money, anomalies and decisions",
    )
    .requiredOption('--service <id>', 'the panel service')
    .option('--limit <n>', 'how many, newest first', '24')
    .option(
      '--rebuild',
      'rebuild the periods from the kept samples first (the evidence); invoiced ones get a correction where they differ',
    )
    .action(async (o: { service: string; limit: string; rebuild?: boolean }) => {
      const app = await ctx.ready();
      const serviceId = wholeNumber(o.service, '--service');
      const report = o.rebuild ? await app.module.usagePeriods.rebuild(serviceId, CLI) : null;
      const periods = await app.module.usagePeriods.periods(serviceId, {
        limit: wholeNumber(o.limit, '--limit'),
      });
      const head = report
        ? `rebuilt from ${report.samples} samples: ${report.periodsBefore} → ${report.periodsAfter} periods${report.rerated.length ? `, ${report.rerated.length} rated again (${report.rerated.map((r) => r.outcome).join(', ')})` : ''}\n`
        : '';
      ctx.print(
        head +
          (periods.length
            ? periods.map(periodLine).join('\n')
            : `service ${serviceId} has no periods yet (no sample)`),
        report ? { rebuild: report, periods } : { periods },
      );
    });

  const anomaly = program
    .command('anomaly')
    .description(
      'what metering found in the counters: resets skipped or late, drops to decide, unmeasured traffic, long gaps',
    );
  anomaly
    .command('list')
    .description('anomalies, newest first (open ones unless --all)')
    .option('--service <id>', 'only this service')
    .option('--all', 'decided, resolved and informational ones too')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { service?: string; all?: boolean; limit: string }) => {
      const app = await ctx.ready();
      const page = await app.module.usagePeriods.anomalies(
        {
          ...(o.service ? { serviceId: wholeNumber(o.service, '--service') } : {}),
          status: o.all ? 'all' : 'open',
        },
        { limit: Math.min(wholeNumber(o.limit, '--limit'), 200) },
      );
      ctx.print(
        page.rows.length
          ? page.rows
              .map((a) =>
                isUnreadable(a)
                  ? `${a.id}\tunreadable: ${a.unreadable.column ?? 'a column'} is ${a.unreadable.reason}`
                  : `${a.id}\tservice ${a.serviceId}\t${a.periodStart} – ${a.periodEnd ?? '…'}\t${a.kind}\t${a.status}\t${describeAnomaly(a)}`,
              )
              .join('\n')
          : o.all
            ? 'no anomalies'
            : 'no open anomalies',
        page,
      );
    });
  anomaly
    .command('decide <id>')
    .description(
      'say what a counter drop was: a reset (book what the counter read after it) or a correction (book nothing); the period is rated again',
    )
    .addOption(
      new Option('--as <decision>', 'what it was').choices(['reset', 'correction']).makeOptionMandatory(),
    )
    .requiredOption('--reason <text>', 'what you checked (kept in the audit log)')
    .action(async (id: string, o: { as: 'reset' | 'correction'; reason: string }) => {
      const app = await ctx.ready();
      const out = await app.module.usagePeriods.decide(
        wholeNumber(id, 'id'),
        { decision: o.as, reason: o.reason },
        CLI,
      );
      const r = out.rerate;
      const effect =
        r === null
          ? 'the period is still open; it is rated when it closes'
          : r.kind === 'rated'
            ? `the period is rated: ${money(r.afterMinor, r.currency)}`
            : r.kind === 'replaced'
              ? `its charge went from ${money(r.beforeMinor, r.currency)} to ${money(r.afterMinor, r.currency)}, not yet invoiced`
              : r.kind === 'corrected'
                ? `already invoiced: a correction of ${money(r.differenceMinor, r.currency)} is ${r.status === 'review' ? 'held for review' : 'on the next invoice'}`
                : r.kind === 'skipped'
                  ? `not rated: ${r.reason}`
                  : 'the charge did not change';
      ctx.print(`anomaly ${id}: ${o.as}, ${humanBytes(out.bookedBytes)} booked; ${effect}`, out);
    });

  const correction = program
    .command('correction')
    .description('corrections held for review (a line of their period is disputed, or a drop is undecided)');
  for (const action of ['bill', 'drop'] as const) {
    correction
      .command(`${action} <chargeId>`)
      .description(action === 'bill' ? 'put the correction on the next invoice' : 'never bill the correction')
      .requiredOption('--reason <text>', 'why (kept in the audit log)')
      .action(async (chargeId: string, o: { reason: string }) => {
        const app = await ctx.ready();
        const c = await app.module.usagePeriods.settleCorrection(
          wholeNumber(chargeId, 'chargeId'),
          { action, reason: o.reason },
          CLI,
        );
        ctx.print(`correction ${c.id}: ${money(c.amountMinor, c.currency)} ${c.status}`, c);
      });
  }
}
