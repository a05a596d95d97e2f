import type { Resolution } from '../domain/dispute-state.js';
import { moneyToDecimalString } from '../domain/money.js';
import type { DisputedLine, DisputeRecord } from '../adapters/dispute-store.js';
import { creditLogged } from '../adapters/panel-api.js';
import type { DisputeContext } from './dispute-context.js';

/**
 * A line paid before its dispute, waived or reduced: the difference goes back to the client's
 * account credit (or, when the admin chose a refund, is recorded for the admin to pay back).
 * Gives what was credited, or null.
 */
export async function settlePaid(ctx: DisputeContext, d: DisputeRecord, to: Resolution, line: DisputedLine, after: bigint): Promise<bigint | null> {
  const { deps, store } = ctx;
  const back = d.amountBeforeMinor - (to === 'waived' ? 0n : after);
  if (back > 0n && d.settlement !== 'refund' && d.settlement !== 'credited') {
    // The intent is recorded before the panel is asked: after a crash between the two, the
    // client's credit log says whether the credit went through, so it is never given twice.
    const description = `Overusage dispute ${d.id}: ${to} (line ${line.refCode})`;
    const given = d.settlement === 'crediting' && (await creditLogged(deps.panel, d.clientId, description));
    if (d.settlement !== 'crediting') await store.update(d.id, { settlement: 'crediting' }, deps.clock.now());
    if (!given) await deps.panel.call('AddCredit', { clientid: d.clientId, description, amount: moneyToDecimalString({ amountMinor: back, currency: d.currency }) });
    await store.update(d.id, { settlement: 'credited' }, deps.clock.now());
  }
  return back > 0n && d.settlement !== 'refund' ? back : null;
}
