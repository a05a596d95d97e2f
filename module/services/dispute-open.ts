import { loggedError } from '../adapters/rows.js';
import type { DateTime } from 'luxon';
import { ADMIN_DISPUTE_REFUSALS, DISPUTE_REFUSALS } from '../domain/dispute-text.js';
import { notFound, type Outcome } from '../domain/errors.js';
import { isNotOwed, type NotOwedStatus } from '../domain/invoice-status.js';
import { isDisputable } from '../domain/line-status.js';
import { formatDay, localeForClient, textLanguage } from '../domain/line-text.js';
import type { DisputedLine, DisputeRecord } from '../adapters/dispute-store.js';
import type { PanelClient } from '../adapters/panel-api.js';
import { actorOf, sendNow, viewOf, type DisputeContext } from './dispute-context.js';
import { hold } from './dispute-hold.js';
import { disputeEmails, disputeStateWord } from './dispute-notify.js';
import type { DisputeService, DisputeView, OpenRefusal } from './disputes.js';

type OpenInput = Parameters<DisputeService['open']>[0];
type Refused = Extract<Outcome<DisputeView, OpenRefusal>, { ok: false }>;

/**
 * Opening a dispute of one line: refused in the words of who asked (the client in their language,
 * an admin in English), else written with its audit and emails in one transaction, then the line
 * is held. One request at a time per line.
 */
export const openDispute = (
  ctx: DisputeContext,
  input: OpenInput,
): Promise<Outcome<DisputeView, OpenRefusal>> =>
  ctx.exclusive(`dispute-line:${input.lineId}`, () => openNow(ctx, input));

async function openNow(ctx: DisputeContext, input: OpenInput): Promise<Outcome<DisputeView, OpenRefusal>> {
  const { deps, store } = ctx;
  const { lineId, actor } = input;
  const line = await store.line(lineId, actorOf(actor) === 'client' ? { clientId: Number(actor.id) } : {});
  if (!line) throw notFound(`line ${lineId} does not exist`);
  const now = deps.clock.now();
  const refused = await refusal(ctx, input, line, now);
  if (refused) return refused;
  // the client's language and name for the emails, asked before anything is written
  const client = await deps.panel.getClientsDetails(line.clientId);
  // a line on a paid invoice is not held: its emails say the difference comes back, not "on hold"
  // (a panel that does not answer now: the usual words; the hold reads the invoice again)
  const paid = await deps.panel.getInvoice(line.invoiceId).then(
    (inv) => inv.status === 'Paid',
    () => false,
  );
  const inserted = await insert(ctx, input, line, client, now, paid);
  if (!inserted) {
    const d = (await store.forLine(lineId))!;
    const words = DISPUTE_REFUSALS[textLanguage(localeForClient(client.language))];
    return {
      ok: false,
      code: 'ALREADY_DISPUTED',
      message:
        actorOf(actor) === 'admin'
          ? ADMIN_DISPUTE_REFUSALS.alreadyDisputed(d.id, disputeStateWord(d.state))
          : words.alreadyDisputed,
      details: { disputeId: d.id },
    };
  }
  try {
    await hold(ctx, inserted.id);
  } catch (err) {
    // The dispute stands; the hold is finished by resume() on the next cron tick.
    deps.log.warn('dispute.hold_failed', { disputeId: inserted.id, ...loggedError(err) });
  }
  await sendNow(ctx, inserted.id);
  return { ok: true, value: viewOf(await ctx.dispute(inserted.id)) };
}

/**
 * The line's invoice when it is Cancelled or Refunded: nothing is owed on it, so nothing to dispute
 * (docs/billing-rules.md, "Cancelled and refunded invoices"). A panel that does not answer refuses
 * nothing here: the hold reads the status again before it moves the line.
 */
async function notOwed(
  ctx: DisputeContext,
  line: DisputedLine,
): Promise<{ invoiceId: number; status: NotOwedStatus } | null> {
  try {
    const inv = await ctx.deps.panel.getInvoice(line.invoiceId);
    return isNotOwed(inv.status) ? { invoiceId: inv.invoiceId, status: inv.status } : null;
  } catch (err) {
    ctx.deps.log.warn('dispute.invoice_unread', { lineId: line.id, ...loggedError(err) });
    return null;
  }
}

/** Why this dispute cannot be opened, or null: already disputed, not disputable, not owed, no reason, or too late. */
async function refusal(
  ctx: DisputeContext,
  { lineId, reason, actor, overrideReason }: OpenInput,
  line: DisputedLine,
  now: DateTime,
): Promise<Refused | null> {
  const admin = actorOf(actor) === 'admin';
  const asker = admin ? null : await ctx.deps.panel.getClientsDetails(line.clientId).catch(() => null);
  const locale = admin ? 'en-GB' : localeForClient(asker?.language ?? '');
  const words = DISPUTE_REFUSALS[textLanguage(locale)];
  const existing = await ctx.store.forLine(lineId);
  if (existing)
    return {
      ok: false,
      code: 'ALREADY_DISPUTED',
      message: admin
        ? ADMIN_DISPUTE_REFUSALS.alreadyDisputed(existing.id, disputeStateWord(existing.state))
        : words.alreadyDisputed,
      details: { disputeId: existing.id },
    };
  if (!isDisputable(line.status))
    return {
      ok: false,
      code: 'NOT_DISPUTABLE',
      message: admin ? ADMIN_DISPUTE_REFUSALS.notDisputable(line.status) : words.notDisputable,
    };
  const closed = await notOwed(ctx, line);
  if (closed)
    return {
      ok: false,
      code: 'NOT_OWED',
      message: admin
        ? ADMIN_DISPUTE_REFUSALS.notOwed(closed.invoiceId, closed.status)
        : words.notOwed(closed.invoiceId, closed.status),
      details: closed,
    };
  if (reason.trim().length < 3)
    return {
      ok: false,
      code: 'REASON_REQUIRED',
      message: admin ? ADMIN_DISPUTE_REFUSALS.reasonRequired : words.reasonRequired,
    };
  if (now < line.deadlineClosesAt) return null;
  const last = formatDay(line.deadlineLastDay, locale);
  const details = { deadlineLastDay: line.deadlineLastDay };
  if (!admin) return { ok: false, code: 'WINDOW_CLOSED', message: words.windowClosed(last), details };
  if (!overrideReason || overrideReason.trim().length < 3)
    return { ok: false, code: 'WINDOW_CLOSED', message: ADMIN_DISPUTE_REFUSALS.windowClosed(last), details };
  return null;
}

/** The dispute, its audit and its emails in one transaction; null when another request opened it first. */
async function insert(
  ctx: DisputeContext,
  { lineId, reason, actor, overrideReason }: OpenInput,
  line: DisputedLine,
  client: PanelClient,
  now: DateTime,
  paid: boolean,
): Promise<DisputeRecord | null> {
  const { deps } = ctx;
  const text = reason.trim();
  const late = now >= line.deadlineClosesAt;
  return ctx.store.transaction(async (tx, trx) => {
    const d = await tx.insertOpen(
      {
        lineId,
        clientId: line.clientId,
        serviceId: line.serviceId,
        reason: text.slice(0, 4000),
        openedBy: { type: actor.type, id: actor.id },
        overrideReason: late ? overrideReason!.trim().slice(0, 2000) : null,
        originalInvoiceId: line.invoiceId,
        originalItemId: line.invoiceItemId,
        amountBeforeMinor: line.amountMinor,
        currency: line.currency,
      },
      now,
    );
    // another process got there between our check and our insert (the lease normally prevents it)
    if (d.openedBy.type !== actor.type || d.reason !== text.slice(0, 4000)) return null;
    await deps.audit.record(
      trx,
      {
        actor,
        action: 'dispute.opened',
        entityType: 'dispute',
        entityId: d.id,
        details: {
          lineId,
          reason: text,
          override: late ? overrideReason : null,
          amountMinor: String(line.amountMinor),
        },
      },
      now,
    );
    await deps.outbox.enqueue(
      trx,
      disputeEmails({
        disputeId: d.id,
        what: 'opened',
        client,
        line,
        amountBeforeMinor: line.amountMinor,
        amountAfterMinor: null,
        currency: line.currency,
        newDueDate: null,
        reason: text,
        paid,
      }),
    );
    return d;
  });
}
