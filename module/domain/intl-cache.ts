/**
 * Intl formatters, made once per locale and options. Building one costs far more than using it
 * (tens of microseconds against a few), and a page formats hundreds of figures.
 */
const numbers = new Map<string, Intl.NumberFormat>();
const dates = new Map<string, Intl.DateTimeFormat>();
const MAX = 500;

export function numberFormat(locale: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let f = numbers.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    if (numbers.size >= MAX) numbers.clear();
    numbers.set(key, f);
  }
  return f;
}

export function dateTimeFormat(
  locale: string,
  options: Intl.DateTimeFormatOptions = {},
): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let f = dates.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    if (dates.size >= MAX) dates.clear();
    dates.set(key, f);
  }
  return f;
}
