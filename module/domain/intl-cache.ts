import { boundedMemo } from './bounded-memo.js';

/**
 * Intl formatters, made once per locale and options. Building one costs far more than using it
 * (tens of microseconds against a few), and a page formats hundreds of figures.
 */
const numbers = boundedMemo<Intl.NumberFormat>(500);
const dates = boundedMemo<Intl.DateTimeFormat>(500);

export function numberFormat(locale: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
  return numbers(`${locale}|${JSON.stringify(options)}`, () => new Intl.NumberFormat(locale, options));
}

export function dateTimeFormat(
  locale: string,
  options: Intl.DateTimeFormatOptions = {},
): Intl.DateTimeFormat {
  return dates(`${locale}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(locale, options));
}
