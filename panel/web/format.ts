/**
 * What the pages show of money and dates. Admin pages are plain (ISO dates, "€12.30 EUR" as WHMCS
 * shows amounts with the currency's prefix and suffix); client pages follow the client's language
 * (Intl, from exact decimals — a JS number never holds money).
 */
import type { Currency } from '../db/clients.js';
import { currencyText } from '../core/views.js';
import { formatDateFor, formatMoneyFor, localeOf } from '../core/emails.js';

export interface Formatter {
  locale: string;
  money(minor: bigint, currency: Currency): string;
  date(iso: string | null): string;
  datetime(iso: string | null): string;
}

export const adminFormat: Formatter = {
  locale: 'en-GB',
  money: (minor, currency) => currencyText(minor, currency),
  date: (iso) => (iso ? iso.slice(0, 10) : '-'),
  datetime: (iso) => (iso ? iso.slice(0, 16) : '-'),
};

export function clientFormat(language: string): Formatter {
  const locale = localeOf(language || 'english');
  return {
    locale,
    money: (minor, currency) => formatMoneyFor(minor, currency, locale),
    date: (iso) => (iso ? formatDateFor(iso, locale) : '-'),
    datetime: (iso) => (iso ? `${formatDateFor(iso, locale)} ${iso.slice(11, 16)}` : '-'),
  };
}

/** The few labels of the client pages, in the client's language (English when unknown). */
const DUTCH: Record<string, string> = {
  'Client Area': 'Klantomgeving',
  Home: 'Start',
  Services: 'Diensten',
  'My Services': 'Mijn diensten',
  Invoices: 'Facturen',
  'My Invoices': 'Mijn facturen',
  Logout: 'Afmelden',
  Login: 'Aanmelden',
  'Email Address': 'E-mailadres',
  Password: 'Wachtwoord',
  Product: 'Product',
  Status: 'Status',
  'Next Due Date': 'Volgende vervaldatum',
  'Billing Cycle': 'Betalingstermijn',
  'Recurring Amount': 'Periodiek bedrag',
  'Registration Date': 'Registratiedatum',
  'Invoice #': 'Factuur #',
  'Invoice Date': 'Factuurdatum',
  'Due Date': 'Vervaldatum',
  Total: 'Totaal',
  Balance: 'Saldo',
  'Sub Total': 'Subtotaal',
  Tax: 'Btw',
  Credit: 'Tegoed',
  Description: 'Omschrijving',
  Amount: 'Bedrag',
  Payments: 'Betalingen',
  Date: 'Datum',
  Gateway: 'Betaalmethode',
  'Transaction ID': 'Transactie-ID',
  'Pay Now': 'Nu betalen',
  'Pay the full balance': 'Het volledige saldo betalen',
  'Pay part of it': 'Een deel betalen',
  'View all': 'Alles bekijken',
  View: 'Bekijken',
  'No services.': 'Geen diensten.',
  'No invoices.': 'Geen facturen.',
  'No payments yet.': 'Nog geen betalingen.',
  Notes: 'Opmerkingen',
  'Thank you, your payment was received.': 'Bedankt, uw betaling is ontvangen.',
  'Demo payment: no money moves.': 'Demobetaling: er wordt geen geld overgemaakt.',
  Previous: 'Vorige',
  Next: 'Volgende',
  Page: 'Pagina',
  of: 'van',
  'Service Details': 'Dienstgegevens',
  'Bandwidth Usage': 'Dataverkeer',
  Domain: 'Domein',
  'Page Not Found': 'Pagina niet gevonden',
  Unpaid: 'Onbetaald',
  Paid: 'Betaald',
  Overdue: 'Achterstallig',
  Cancelled: 'Geannuleerd',
  Refunded: 'Terugbetaald',
  Collections: 'Incasso',
  'Payment Pending': 'Betaling in behandeling',
  Active: 'Actief',
  Suspended: 'Opgeschort',
  Pending: 'In behandeling',
  Terminated: 'Beëindigd',
  'Login Details Incorrect. Please try again.': 'Onjuiste aanmeldgegevens. Probeer het opnieuw.',
  'Too many login attempts. Please try again later.': 'Te veel aanmeldpogingen. Probeer het later opnieuw.',
};

export type Translate = (text: string) => string;

export const translator = (language: string): Translate =>
  language.toLowerCase() === 'dutch' ? (t) => DUTCH[t] ?? t : (t) => t;
