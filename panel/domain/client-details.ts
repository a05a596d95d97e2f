/**
 * The derived contact fields of WHMCS's GetClientsDetails (countryname, phonecc,
 * phonenumberformatted, lastlogin), computed from what tblclients holds.
 * Shape: https://developers.whmcs.com/api-reference/getclientsdetails/ (the client block); the
 * phone form "+<cc>.<digits>" is the one third-party clients read back from WHMCS (they split it
 * at the dot), the calling codes come from libphonenumber-js's metadata.
 */
import { getCountryCallingCode, isSupportedCountry } from 'libphonenumber-js';

const REGION_NAMES = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** English name of an ISO 3166 alpha-2 code ("BE" → "Belgium"); '' for an empty or unknown code. */
export function countryName(code: string): string {
  const c = code.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(c)) return '';
  const name = REGION_NAMES.of(c);
  return name === undefined || name === c ? '' : name;
}

/** The country's calling code as digits ("BE" → "32"); '' when the country has none known. */
export function phoneCallingCode(country: string): string {
  const c = country.trim().toUpperCase();
  return isSupportedCountry(c) ? String(getCountryCallingCode(c)) : '';
}

export interface PhoneParts {
  phonecc: string;
  /** the number's digits without the calling code */
  digits: string;
  /** "+32.470123456"; '' when there is no number */
  formatted: string;
}

/**
 * A stored number is either national ("0470 12 34 56", the country gives the calling code) or
 * already in WHMCS's form "+32.470123456" (the calling code before the dot wins).
 */
export function phoneParts(phonenumber: string, country: string): PhoneParts {
  const raw = phonenumber.trim();
  const intl = /^\+(\d{1,4})\.(.*)$/.exec(raw);
  const phonecc = intl ? intl[1]! : phoneCallingCode(country);
  const digits = (intl ? intl[2]! : raw).replace(/\D/g, '');
  if (digits === '') return { phonecc, digits, formatted: '' };
  return { phonecc, digits, formatted: phonecc === '' ? digits : `+${phonecc}.${digits}` };
}

/**
 * WHMCS's lastlogin text: "Date: 05/12/2026 17:07<br>IP Address: 192.0.2.7<br>Host: host" in the
 * panel's DateFormat, or "No Login Logged". `stamp` is the panel-local 'YYYY-MM-DD HH:mm:ss'.
 */
export function lastLoginText(stamp: string | null, ip: string, host: string, dateFormat: string): string {
  if (stamp === null || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(stamp)) return 'No Login Logged';
  const [y, m, d] = [stamp.slice(0, 4), stamp.slice(5, 7), stamp.slice(8, 10)];
  const date = (dateFormat || 'DD/MM/YYYY').replace('YYYY', y).replace('MM', m).replace('DD', d);
  return `Date: ${date} ${stamp.slice(11, 16)}<br>IP Address: ${ip}<br>Host: ${host}`;
}
