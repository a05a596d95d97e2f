import type { FieldErrors } from './admin-forms.js';

/**
 * The admin tab's words (English, the admin's language; money and dates come formatted en-GB):
 * what each action answers, and the names of states as the admin reads them, never the stored
 * identifiers. The dispute flashes are in module/domain/dispute-text.ts (ADMIN_DISPUTE_FLASH).
 */
const fieldsNeedChange = (errors: FieldErrors) => (Object.keys(errors).length === 1 ? 'one field needs' : `${Object.keys(errors).length} fields need`);

/** what a cap does when it is reached, inside a sentence */
const CAP_ACTION: Record<string, string> = { throttle: 'slows the server down', suspend: 'suspends the server' };

export const ADMIN_FLASH = {
  unknownAction: 'Unknown action.',
  disputesOff: 'disputes need the panel API, which is not configured',
  notSaved: (errors: FieldErrors) => `Not saved: ${fieldsNeedChange(errors)} a change (marked below).`,
  notPreviewed: (errors: FieldErrors) => `Not previewed: ${fieldsNeedChange(errors)} a change (marked below).`,
  notTested: (errors: FieldErrors) => `Not tested: ${fieldsNeedChange(errors)} a change (marked below).`,
  whichProduct: 'Which product? Choose one.',
  noSuchProduct: (id: number) => `The panel has no product ${id}.`,
  previewNeedsRating: 'A preview needs the rating service, which this setup does not have.',
  productSaved: (id: number) => `Billing settings of product ${id} saved.`,
  masterSaved: (name: string, added: boolean, notes: string[]) => `Master ${name} ${added ? 'added' : 'saved'}.${notes.length ? ` ${notes.map((n) => n[0]!.toUpperCase() + n.slice(1)).join('. ')}.` : ''}`,
  masterNotSaved: (why: string) => `Not saved: ${why}`,
  masterRemoved: (name: string) => `Master ${name} removed.`,
  masterActive: (name: string, active: boolean) => `Master ${name} is ${active ? 'active' : 'inactive'}.`,
  metering: (serviceId: number, on: boolean) => `Metering of service ${serviceId} is ${on ? 'on' : 'off'}.`,
  settingsSaved: 'Settings saved.',
  anomalyDecided: (id: number, decision: 'reset' | 'correction', effect: string) => `Anomaly ${id}: ${decision === 'reset' ? 'a reset' : 'a correction'}. ${effect}`,
  /** what a counter drop's decision did to its period's money */
  rerated: {
    stillOpen: 'The period is still open; it is rated when it closes.',
    rated: (amount: string) => `The period is rated: ${amount}.`,
    replaced: (before: string, after: string) => `Its charge went from ${before} to ${after} (not invoiced yet).`,
    corrected: (difference: string, review: boolean) => `It was invoiced already: a correction of ${difference} ${review ? 'waits for review' : 'goes on the next invoice'}.`,
    skipped: (reason: string) => `It could not be rated: ${reason}`,
    unchanged: 'What it bills did not change.',
  },
  correctionSettled: (id: number, amount: string, billed: boolean) => `Correction ${id} (${amount}) ${billed ? 'goes on the next invoice' : 'is dropped'}.`,
  pooled: (product: string, pool: string, perService: boolean) => `${product} pools as "${pool}", billed as ${perService ? 'a line per VPS' : 'one line'}.`,
  unpooled: (product: string) => `${product} is in no pool now.`,
  capSet: (amount: string, serviceId: number, action: string) => `Cap of ${amount} set on service ${serviceId} (${CAP_ACTION[action] ?? action} when reached).`,
  capLifted: (serviceId: number) => `The cap of service ${serviceId} is lifted; what it caused is put back.`,
  noCap: (serviceId: number) => `Service ${serviceId} has no cap.`,
};

/** State names as the admin reads them. */
export const ADMIN_STATE = {
  /** a counter anomaly: `info` is told only, nothing to decide */
  anomaly: { open: 'open', decided: 'decided', resolved: 'resolved', info: 'for information' } as Record<string, string>,
  /** what a client's cap does when it is reached */
  capAction: { throttle: 'slow the server down', suspend: 'suspend the server' } as Record<string, string>,
  /** an upgrade suggestion's notice */
  suggestion: { pending: 'to be sent', sent: 'sent', accepted: 'taken up', failed: 'could not be sent' } as Record<string, string>,
  /** the product preview's outcome of a period under the edited settings */
  preview: { within_allowance: 'within the allowance', billed: 'billed', written_off: 'under the minimum: written off' } as Record<string, string>,
};
