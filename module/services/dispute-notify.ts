import type { DisputeState, Resolution } from '../domain/dispute-state.js';
import { ADMIN_DISPUTE_MAIL, DISPUTE_MAIL, type DisputeMailFigures } from '../domain/dispute-text.js';
import { escapeHtml } from '../domain/html.js';
import { formatAmount, formatDay, localeForClient, textLanguage } from '../domain/line-text.js';
import type { DisputedLine } from '../adapters/dispute-store.js';
import type { PanelClient } from '../adapters/panel-api.js';
import type { OutboxEmail } from './outbox.js';

export interface DisputeEmailInput {
  disputeId: number;
  what: 'opened' | Resolution;
  client: PanelClient;
  line: Pick<DisputedLine, 'refCode' | 'serviceId' | 'description'>;
  amountBeforeMinor: bigint;
  amountAfterMinor: bigint | null;
  currency: string;
  newDueDate: string | null;
  reason: string;
  /** what went to the client's account credit (a paid line waived or reduced) */
  creditedMinor?: bigint | null;
  /** what the admin refunds by hand (a paid line waived or reduced, the refund chosen), VAT included */
  refundedMinor?: bigint | null;
  /** the line was paid before its dispute (nothing held, nothing due again) */
  paid?: boolean;
  /** the line's text after the decision */
  newText?: string;
  /** a voided dispute: the invoice that was cancelled or refunded */
  voidedBy?: { invoiceId: number; status: 'Cancelled' | 'Refunded' } | null;
}

/**
 * What the client (in their language) and the admin are told about a dispute: opened, or how it
 * was resolved. Built from what the change itself holds, in its transaction.
 */
export function disputeEmails(input: DisputeEmailInput): OutboxEmail[] {
  const { disputeId, what, client, line } = input;
  const locale = localeForClient(client.language);
  const language = textLanguage(locale);
  const ref = line.refCode;
  const words = DISPUTE_MAIL[language];
  const own = disputeText(input, language === 'en' ? 'en-GB' : locale);
  const toAdmin = disputeText(input, 'en-GB', 'admin');
  const kind = `dispute_${what}`;
  const greeting = words.greeting(client.firstName);
  const signOff = words.signOff;
  const lineText = input.newText ?? line.description;
  return [
    {
      key: `dispute:${disputeId}:${what}:client`,
      kind,
      to: { client: { clientId: client.id, customType: 'product', relatedId: line.serviceId } },
      subject: words.subject(ref),
      html: `<p>${escapeHtml(greeting)}</p><p>${escapeHtml(own)}</p><p>${escapeHtml(lineText)}</p><p>${escapeHtml(signOff)}</p>`,
    },
    {
      key: `dispute:${disputeId}:${what}:admin`,
      kind,
      to: { admin: true },
      subject: ADMIN_DISPUTE_MAIL.subject(disputeId, what, `${client.firstName} ${client.lastName}`, ref),
      // the admin reads English, with English amounts and dates; what the client was sent is quoted as sent
      html: `<p>${escapeHtml(toAdmin)}</p><p>${escapeHtml(ADMIN_DISPUTE_MAIL.reasonGiven(input.reason))}</p>${language === 'en' ? '' : `<p>${escapeHtml(ADMIN_DISPUTE_MAIL.clientWasTold(language, own))}</p>`}`,
    },
  ];
}

/** A dispute's state as a word for people (never the stored identifier). */
export function disputeStateWord(state: DisputeState): string {
  return (
    (
      {
        open: 'open',
        upheld: 'upheld',
        waived: 'waived',
        adjusted: 'adjusted',
        withdrawn: 'withdrawn',
        voided: 'closed: its invoice was cancelled or refunded',
      } as Record<string, string>
    )[state] ?? 'decided'
  );
}

/** One dispute email's sentence in a locale (the admin's: English, about the client), from the decision's own figures. */
function disputeText(
  input: DisputeEmailInput,
  locale: string,
  reader: 'client' | 'admin' = 'client',
): string {
  const amount = (m: bigint) => formatAmount(m, input.currency, locale);
  const figures: DisputeMailFigures = {
    ref: input.line.refCode,
    before: amount(input.amountBeforeMinor),
    after: amount(input.amountAfterMinor ?? 0n),
    due: input.newDueDate ? formatDay(input.newDueDate, locale) : '',
    credited: input.creditedMinor ? amount(input.creditedMinor) : null,
    refunded: input.refundedMinor ? amount(input.refundedMinor) : null,
    paid: input.paid === true,
    closedBy: input.voidedBy
      ? { invoice: input.voidedBy.invoiceId, refunded: input.voidedBy.status === 'Refunded' }
      : null,
  };
  return DISPUTE_MAIL[reader === 'admin' ? 'admin' : textLanguage(locale)][input.what](figures);
}
