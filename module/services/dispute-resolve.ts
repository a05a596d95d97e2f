import { errorKind, loggedError } from '../adapters/rows.js';
import { checkTransition, type Resolution } from '../domain/dispute-state.js';
import { invalidInput, ModuleError, notFound, type Outcome } from '../domain/errors.js';
import { holdAfterDecision } from '../domain/hold-state.js';
import type { LineStatus } from '../domain/line-status.js';
import { localeForClient } from '../domain/line-text.js';
import type { DisputedLine, DisputeRecord, StoredRerate } from '../adapters/dispute-store.js';
import type { PanelClient } from '../adapters/panel-api.js';
import { adjustedAmount } from './dispute-adjust.js';
import { actorOf, dueAfterDecision, sendNow, viewOf, type DisputeContext } from './dispute-context.js';
import { holdNow } from './dispute-hold.js';
import {
  decidedText,
  decideHeldDraft,
  decisionWords,
  noteOnOriginal,
  settledBack,
} from './dispute-invoices.js';
import { disputeEmails } from './dispute-notify.js';
import { carryOutVoid, voidInsteadOfDecision } from './dispute-void.js';
import { settlePaid, settlePaidOnHeld } from './dispute-settle.js';
import { paidOnInvoiceId } from './dispute-credit-note.js';
import type { DisputeService, DisputeView, ResolveRefusal } from './disputes.js';

type ResolveInput = Parameters<DisputeService['resolve']>[0];

/**
 * Deciding a dispute: the admin upholds, waives or adjusts; the client may withdraw. The decision
 * is claimed first (one request moves an open dispute on; another gets a conflict), then carried
 * out through the panel. A failure half-way leaves the claim, and `resume()` finishes it.
 */
export async function resolveDispute(
  ctx: DisputeContext,
  input: ResolveInput,
): Promise<Outcome<DisputeView, ResolveRefusal>> {
  const { disputeId, to, actor, adjustment, note, expectedVersion, settlement } = input;
  const d = await ctx.dispute(disputeId);
  if (actor.type === 'client' && d.clientId !== Number(actor.id))
    throw notFound(`dispute ${disputeId} does not exist`);
  const check = checkTransition(d.state, to, actorOf(actor));
  if (!check.ok) return { ok: false, code: check.code, message: check.message };
  if (d.resolvingTo)
    return { ok: false, code: 'CONFLICT', message: `the dispute is already being ${d.resolvingTo}` };
  if (to === 'adjusted' && !adjustment)
    throw invalidInput('an adjustment needs a new amount: precommit, a share, or an amount');
  let after: bigint | null = null;
  let rerated: StoredRerate | null = null;
  if (to === 'adjusted') {
    const a = await adjustedAmount(ctx, d, adjustment!);
    if (!a.ok) return a;
    after = a.value.amountMinor;
    rerated = a.value.rerated ?? null;
  }
  const claimed = await ctx.store.claim(
    disputeId,
    // the rates of a re-rating are kept with the decision: the line's new text names them
    {
      to,
      amountAfterMinor: after,
      resolution: { adjustment: adjustment ?? null, note: note ?? null, rerated },
      resolvedBy: { type: actor.type, id: actor.id },
      newDueDate: dueAfterDecision(ctx),
      settlement: settlement ?? null,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    },
    ctx.deps.clock.now(),
  );
  if (!claimed) {
    const current = await ctx.dispute(disputeId);
    return {
      ok: false,
      code: 'CONFLICT',
      message: `someone else changed the dispute first (it is now ${current.resolvingTo ? `being ${current.resolvingTo}` : current.state})`,
      details: { version: current.version },
    };
  }
  try {
    await carryOut(ctx, disputeId);
  } catch (err) {
    ctx.deps.log.warn('dispute.resolution_interrupted', { disputeId, ...loggedError(err) });
    throw new ModuleError(
      'UPSTREAM',
      `the decision is recorded, but the panel did not take it all yet (${errorKind(err)}); it is retried automatically`,
    );
  }
  return { ok: true, value: viewOf(await ctx.dispute(disputeId)) };
}

/** Carries out a claimed resolution through the panel. Idempotent: each step checks first. */
export const carryOut = (ctx: DisputeContext, disputeId: number): Promise<void> =>
  ctx.exclusive(`dispute:${disputeId}`, () => carryOutNow(ctx, disputeId));

async function carryOutNow(ctx: DisputeContext, disputeId: number): Promise<void> {
  let d = await ctx.dispute(disputeId);
  const to = d.resolvingTo;
  if (!to) return;
  if (to === 'voided') return carryOutVoid(ctx, d);
  // a hook missed while the service was down: a line not owed any more is neither billed nor given back
  if (await voidInsteadOfDecision(ctx, d)) return sendNow(ctx, disputeId);
  if (d.holdState === 'holding') {
    await holdNow(ctx, disputeId);
    d = await ctx.dispute(disputeId);
  }
  const line = (await ctx.store.line(d.lineId))!;
  const after = d.amountAfterMinor ?? d.amountBeforeMinor;
  const client = await ctx.deps.panel.getClientsDetails(d.clientId);
  const locale = localeForClient(client.language);
  // The line's text after the decision, from the text it was billed with and the decision's own figures.
  const newText = decidedText(d, to, line.description, after, locale);
  let lineStatus: LineStatus = 'placed';
  let creditedMinor: bigint | null = null;
  if (d.holdState === 'held') {
    // the held invoice the admin published and the client paid: what he paid for the line comes back
    if (to === 'waived' || to === 'adjusted') {
      creditedMinor = await settlePaidOnHeld(ctx, d, to, { line, after, locale });
      d = await ctx.dispute(disputeId);
    }
    lineStatus = await decideHeldDraft(ctx, d, to, { ref: line.refCode, text: newText, after, locale });
  } else if (d.holdState === 'refund_decision' && (to === 'waived' || to === 'adjusted')) {
    creditedMinor = await settlePaid(ctx, d, to, { line, after, locale });
    if (to === 'waived') lineStatus = 'waived';
    // the credit note and what it gave back, VAT included, as the invoice notes and emails tell them
    d = await ctx.dispute(disputeId);
  }
  await noteOnOriginal(
    ctx,
    d,
    line.refCode,
    decisionWords(to, d, after, locale, settledBack(d, to, after)),
    locale,
  );
  await finish(ctx, d, to, { line, client, lineStatus, after, newText, creditedMinor });
  await sendNow(ctx, disputeId);
}

/** The decision done: the dispute's state, the line's status, amount and text, the emails and the audit, in one transaction. */
async function finish(
  ctx: DisputeContext,
  d: DisputeRecord,
  to: Resolution,
  x: {
    line: DisputedLine;
    client: PanelClient;
    lineStatus: LineStatus;
    after: bigint;
    newText: string;
    creditedMinor: bigint | null;
  },
): Promise<void> {
  const { deps } = ctx;
  const now = () => deps.clock.now();
  const amountNow = to === 'waived' ? 0n : x.after;
  const back = settledBack(d, to, x.after);
  await ctx.store.transaction(async (tx, trx) => {
    if (!(await tx.finish(d.id, to, holdAfterDecision(d.holdState, to), now()))) return;
    await tx.decideLine(d.lineId, { status: x.lineStatus, amountMinor: amountNow, description: x.newText });
    const emails = disputeEmails({
      disputeId: d.id,
      what: to,
      client: x.client,
      line: x.line,
      amountBeforeMinor: d.amountBeforeMinor,
      amountAfterMinor: d.amountAfterMinor,
      currency: d.currency,
      newDueDate: d.newDueDate,
      reason: d.reason,
      creditedMinor: x.creditedMinor,
      // a refund the admin makes by hand is named as such, not left out (the invoice's note names it too)
      refundedMinor: back?.how === 'refund' ? back.minor : null,
      paid: d.holdState === 'refund_decision',
      newText: x.newText,
    });
    await deps.outbox.enqueue(trx, emails);
    await deps.audit.record(
      trx,
      {
        actor: d.resolvedBy ?? { type: 'system', id: null },
        action: `dispute.${to}`,
        entityType: 'dispute',
        entityId: d.id,
        details: {
          lineId: d.lineId,
          amountBeforeMinor: String(d.amountBeforeMinor),
          amountAfterMinor: String(amountNow),
          currency: d.currency,
          resolution: d.resolution,
          dueDate: d.newDueDate,
        },
      },
      now(),
    );
    if (d.creditNoteInvoiceId !== null) {
      const details = {
        lineId: d.lineId,
        correctsInvoiceId: paidOnInvoiceId(d),
        netMinor: String(amountNow - d.amountBeforeMinor),
        grossMinor: String(-(d.creditedMinor ?? 0n)),
        currency: d.currency,
      };
      await deps.audit.record(
        trx,
        {
          actor: d.resolvedBy ?? { type: 'system', id: null },
          action: 'dispute.credit_note',
          entityType: 'invoice',
          entityId: d.creditNoteInvoiceId,
          details,
        },
        now(),
      );
    }
  });
}
