import type { Knex } from 'knex';

// A copy of the defaults as they were when written: later migrations change them, never this file.
// Inserted only where missing, so an operator's settings survive a re-run.

const SETTINGS: Record<string, string> = {
  CompanyName: 'Overusage Demo Hosting',
  Email: 'billing@example.net',
  SystemURL: 'http://127.0.0.1:8080/',
  Signature: 'Overusage Demo Hosting',
  Language: 'english',
  DateFormat: 'DD/MM/YYYY',
  // Automation Settings (docs/whmcs.md, "Tables and settings")
  CreateInvoiceDaysBefore: '14',
  ContinuousInvoiceGeneration: '',
  SendReminder: 'on',
  SendInvoiceReminderDays: '7',
  SendFirstOverdueInvoiceReminder: '1',
  SendSecondOverdueInvoiceReminder: '7',
  SendThirdOverdueInvoiceReminder: '14',
  AddLateFeeDays: '0',
  LateFeeType: 'Percentage',
  InvoiceLateFeeAmount: '10.00',
  LateFeeMinimum: '0.00',
  TaxLateFee: '',
  AutoSuspension: 'on',
  AutoSuspensionDays: '7',
  // not in the reference's list of confirmed keys: the "Send Suspension Email" tick box
  SendSuspensionEmail: 'on',
  AutoUnsuspend: 'on',
  AutoTermination: '',
  AutoTerminationDays: '30',
  OverageBillingMethod: '2',
  TaxEnabled: '',
  TaxType: 'Exclusive',
  // the panel's own: email the admins a summary of each daily run (WHMCS's cron digest)
  DailyCronReportEmail: '',
  // Setup > General Settings > Security > API IP Access Restriction (comma separated)
  APIAllowedIPs: '127.0.0.1,::1',
};

const CURRENCIES = [
  { id: 1, code: 'EUR', prefix: '€', suffix: ' EUR', format: 2, rate: '1.00000', default: 1 },
  { id: 2, code: 'USD', prefix: '$', suffix: ' USD', format: 1, rate: '1.08000', default: 0 },
];

type Tpl = { type: string; name: string; subject: string; message: string; language?: string };

const p = (...lines: string[]) =>
  lines.map((l) => (l.startsWith('{$invoice_html_contents}') ? l : `<p>${l}</p>`)).join('\n');

const TEMPLATES: Tpl[] = [
  // ---- invoice (relid = invoice id)
  {
    type: 'invoice',
    name: 'Invoice Created',
    subject: 'Customer Invoice',
    message: p(
      'Dear {$client_name},',
      'This is a notice that an invoice has been generated on {$invoice_date_created}.',
      'Invoice #{$invoice_num}<br>Amount Due: {$invoice_total}<br>Due Date: {$invoice_date_due}',
      'Invoice Items',
      '{$invoice_html_contents}',
      'You can login to our client area to view and pay the invoice at {$invoice_link}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Created',
    language: 'dutch',
    subject: 'Factuur',
    message: p(
      'Beste {$client_name},',
      'Op {$invoice_date_created} is een factuur voor u aangemaakt.',
      'Factuur #{$invoice_num}<br>Te betalen: {$invoice_total}<br>Vervaldatum: {$invoice_date_due}',
      'Factuurregels',
      '{$invoice_html_contents}',
      'U kunt de factuur bekijken en betalen in de klantomgeving: {$invoice_link}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Invoice Created',
    subject: 'Customer Invoice',
    message: p(
      'Dear {$client_name},',
      'An invoice of {$invoice_total}, due {$invoice_date_due}, will be charged to your card on file.',
      '{$invoice_html_contents}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Invoice Created',
    language: 'dutch',
    subject: 'Factuur',
    message: p(
      'Beste {$client_name},',
      'Een factuur van {$invoice_total}, te betalen op {$invoice_date_due}, wordt van uw creditcard afgeschreven.',
      '{$invoice_html_contents}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Payment Reminder',
    subject: 'Invoice Payment Reminder',
    message: p(
      'Dear {$client_name},',
      'This is a billing reminder that your invoice no. {$invoice_num} which was generated on {$invoice_date_created} is due on {$invoice_date_due}.',
      'Amount Due: {$invoice_balance}',
      '{$invoice_html_contents}',
      'You can login to our client area to view and pay the invoice at {$invoice_link}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Payment Reminder',
    language: 'dutch',
    subject: 'Betalingsherinnering',
    message: p(
      'Beste {$client_name},',
      'Dit is een herinnering dat uw factuur nr. {$invoice_num} van {$invoice_date_created} betaald moet zijn op {$invoice_date_due}.',
      'Openstaand bedrag: {$invoice_balance}',
      '{$invoice_html_contents}',
      'U kunt de factuur bekijken en betalen in de klantomgeving: {$invoice_link}',
      '{$signature}',
    ),
  },
  ...(['First', 'Second', 'Third'] as const).flatMap((nth): Tpl[] => {
    const nl = { First: 'Eerste', Second: 'Tweede', Third: 'Derde' }[nth];
    return [
      {
        type: 'invoice',
        name: `${nth} Invoice Overdue Notice`,
        subject: `${nth} Invoice Overdue Notice`,
        message: p(
          'Dear {$client_name},',
          `This is the ${nth.toLowerCase()} billing notice that your invoice no. {$invoice_num} which was generated on {$invoice_date_created} is now overdue.`,
          'Invoice: {$invoice_num}<br>Balance Due: {$invoice_balance}<br>Due Date: {$invoice_date_due}',
          '{$invoice_html_contents}',
          'You can login to our client area to view and pay the invoice at {$invoice_link}',
          '{$signature}',
        ),
      },
      {
        type: 'invoice',
        name: `${nth} Invoice Overdue Notice`,
        language: 'dutch',
        subject: `${nl} herinnering: factuur vervallen`,
        message: p(
          'Beste {$client_name},',
          `Dit is de ${nl.toLowerCase()} herinnering dat uw factuur nr. {$invoice_num} van {$invoice_date_created} over de vervaldatum is.`,
          'Factuur: {$invoice_num}<br>Openstaand: {$invoice_balance}<br>Vervaldatum: {$invoice_date_due}',
          '{$invoice_html_contents}',
          'U kunt de factuur bekijken en betalen in de klantomgeving: {$invoice_link}',
          '{$signature}',
        ),
      },
    ];
  }),
  {
    type: 'invoice',
    name: 'Invoice Payment Confirmation',
    subject: 'Invoice Payment Confirmation',
    message: p(
      'Dear {$client_name},',
      'This is a payment receipt for Invoice {$invoice_num} sent on {$invoice_date_created}.',
      'Amount: {$invoice_last_payment_amount}<br>Transaction #: {$invoice_last_payment_transid}<br>Total Paid: {$invoice_amount_paid}<br>Remaining Balance: {$invoice_balance}<br>Status: {$invoice_status}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Payment Confirmation',
    language: 'dutch',
    subject: 'Betalingsbevestiging',
    message: p(
      'Beste {$client_name},',
      'Dit is het betalingsbewijs voor factuur {$invoice_num} van {$invoice_date_created}.',
      'Bedrag: {$invoice_last_payment_amount}<br>Transactie: {$invoice_last_payment_transid}<br>Totaal betaald: {$invoice_amount_paid}<br>Openstaand: {$invoice_balance}<br>Status: {$invoice_status}',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Payment Due',
    subject: 'Credit Card Payment Due',
    message: p(
      'Dear {$client_name},',
      'Invoice {$invoice_num} of {$invoice_total} is due on {$invoice_date_due}; we could not find a card to charge.',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Payment Due',
    language: 'dutch',
    subject: 'Creditcardbetaling verschuldigd',
    message: p(
      'Beste {$client_name},',
      'Factuur {$invoice_num} van {$invoice_total} vervalt op {$invoice_date_due}; er is geen kaart om af te schrijven.',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Payment Failed',
    subject: 'Credit Card Payment Failed',
    message: p(
      'Dear {$client_name},',
      'The payment of {$invoice_total} for invoice {$invoice_num} could not be charged to your card.',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Credit Card Payment Failed',
    language: 'dutch',
    subject: 'Creditcardbetaling mislukt',
    message: p(
      'Beste {$client_name},',
      'De betaling van {$invoice_total} voor factuur {$invoice_num} kon niet van uw kaart worden afgeschreven.',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Refund Confirmation',
    subject: 'Invoice Refund Confirmation',
    message: p(
      'Dear {$client_name},',
      'A refund has been issued for invoice {$invoice_num}.',
      '{$signature}',
    ),
  },
  {
    type: 'invoice',
    name: 'Invoice Refund Confirmation',
    language: 'dutch',
    subject: 'Bevestiging terugbetaling',
    message: p(
      'Beste {$client_name},',
      'Er is een terugbetaling gedaan voor factuur {$invoice_num}.',
      '{$signature}',
    ),
  },
  // ---- product (relid = service id)
  {
    type: 'product',
    name: 'Service Suspension Notification',
    subject: 'Service Suspension Notification',
    message: p(
      'Dear {$client_name},',
      'This is a notification that your service has now been suspended. The details of this suspension are below:',
      'Product/Service: {$service_product_name}<br>Domain: {$service_domain}<br>Amount: {$service_recurring_amount}<br>Due Date: {$service_next_due_date}<br>Suspension Reason: {$service_suspension_reason}',
      'Please contact us as soon as possible to get your service reactivated.',
      '{$signature}',
    ),
  },
  {
    type: 'product',
    name: 'Service Suspension Notification',
    language: 'dutch',
    subject: 'Dienst opgeschort',
    message: p(
      'Beste {$client_name},',
      'Uw dienst is opgeschort. De gegevens:',
      'Product/dienst: {$service_product_name}<br>Domein: {$service_domain}<br>Bedrag: {$service_recurring_amount}<br>Vervaldatum: {$service_next_due_date}<br>Reden: {$service_suspension_reason}',
      'Neem zo snel mogelijk contact met ons op om de dienst weer te activeren.',
      '{$signature}',
    ),
  },
  // ---- general (relid = client id)
  {
    type: 'general',
    name: 'Client Signup Email',
    subject: 'Welcome',
    message: p(
      'Dear {$client_name},',
      'Thank you for signing up with us. Your account has been created.',
      '{$signature}',
    ),
  },
  {
    type: 'general',
    name: 'Client Signup Email',
    language: 'dutch',
    subject: 'Welkom',
    message: p(
      'Beste {$client_name},',
      'Bedankt voor uw aanmelding. Uw account is aangemaakt.',
      '{$signature}',
    ),
  },
  // ---- admin notifications
  {
    type: 'admin',
    name: 'Service Unsuspension Successful',
    subject: 'Service Unsuspension Successful',
    message: p(
      'Service ID {$service_id} ({$service_product}, {$service_domain}) of client {$client_id} was unsuspended.',
    ),
  },
  {
    type: 'admin',
    name: 'Service Unsuspension Failed',
    subject: 'Service Unsuspension Failed',
    message: p(
      'Service ID {$service_id} ({$service_product}, {$service_domain}) of client {$client_id} could not be unsuspended: {$error_msg}',
    ),
  },
  {
    type: 'admin',
    name: 'Cron Job Activity',
    subject: 'Cron Job Activity',
    message: p('Daily automation for {$run_date}:', '{$summary}'),
  },
];

export async function up(knex: Knex): Promise<void> {
  // a migration has no panel clock: the rows' own timestamps are the real install time (UTC)
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
  for (const [setting, value] of Object.entries(SETTINGS)) {
    await knex('tblconfiguration')
      .insert({ setting, value, created_at: now, updated_at: now })
      .onConflict('setting')
      .ignore();
  }
  for (const c of CURRENCIES) await knex('tblcurrencies').insert(c).onConflict('id').ignore();
  for (const t of TEMPLATES) {
    await knex('tblemailtemplates')
      .insert({
        type: t.type,
        name: t.name,
        subject: t.subject,
        message: t.message,
        language: t.language ?? '',
        created_at: now,
        updated_at: now,
      })
      .onConflict(['type', 'name', 'language'])
      .ignore();
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex('tblemailtemplates')
    .whereIn('name', [...new Set(TEMPLATES.map((t) => t.name))])
    .andWhere('custom', 0)
    .delete();
  await knex('tblcurrencies')
    .whereIn(
      'id',
      CURRENCIES.map((c) => c.id),
    )
    .delete();
  await knex('tblconfiguration').whereIn('setting', Object.keys(SETTINGS)).delete();
}
