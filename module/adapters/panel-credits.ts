import type { CreditEntry } from '../domain/credit-use.js';
import { int, listOf, panelHundredths, type PanelApi } from './panel-api.js';

/** A row of a client's credit log as the panel keeps it, with the description a credit was given with. */
export type CreditLogRow = CreditEntry & { description: string };

/**
 * A client's credit log (GetCredits: oldest first; amounts in the panel's hundredths, negative
 * where credit was applied to an invoice, `relid` that invoice). Asked for one client only.
 */
export async function creditLog(panel: Pick<PanelApi, 'call'>, clientId: number): Promise<CreditLogRow[]> {
  const r = await panel.call('GetCredits', { clientid: clientId });
  return listOf(r.credits, 'credit').map((c) => ({
    id: int('GetCredits', c.id, 'id'),
    amount: panelHundredths(String(c.amount ?? ''), 'credit amount'),
    invoiceId:
      c.relid === undefined || c.relid === null || c.relid === '' ? 0 : int('GetCredits', c.relid, 'relid'),
    description: String(c.description ?? ''),
  }));
}
