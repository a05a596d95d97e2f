/**
 * Search text for the admin tab: names and hostnames are stored folded and the query is folded
 * the same way, so "obrien"-style typing finds "O’Brien" only as far as we promise: case,
 * accents (Zoë = zoe, Müller = muller) and the apostrophe's forms (’ ‘ ʼ ` ´ = ') do not
 * matter; everything else must match. Done here rather than by the database's collation because
 * SQLite's LIKE folds ASCII case only and MariaDB's depends on the table's collation.
 */
const APOSTROPHES = /[\u2018\u2019\u201B\u02BC\u02B9\u0060\u00B4\u2032]/g;
// letters NFKD does not take apart
const LETTERS: Record<string, string> = {
  ß: 'ss',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

export function foldForSearch(text: string): string {
  // the apostrophes first: NFKD takes the acute accent (´, U+00B4) apart into a space and a
  // combining accent, which would leave "O´Brien" as "o brien"
  return text
    .replace(APOSTROPHES, "'")
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßøæœłđðþı]/g, (c) => LETTERS[c] ?? c)
    .replace(/\s+/g, ' ')
    .trim();
}

/** The pieces of a service's entry joined so a search cannot match across two of them. */
export function searchTextOf(parts: readonly string[]): string {
  return parts
    .map(foldForSearch)
    .filter((p) => p !== '')
    .join(' | ');
}

/**
 * A LIKE pattern that finds `text` anywhere, with % _ and the escape character itself taken
 * literally (used with ESCAPE '!': SQLite has no escape character unless one is named, and
 * MySQL's default, the backslash, is not SQLite's).
 */
export function containsPattern(text: string): string {
  return `%${likeLiteral(text)}%`;
}

/** A LIKE pattern (ESCAPE '!') for what starts with `text`: a pool named "eu_1" must not match "eu-1". */
export function startsWithPattern(text: string): string {
  return `${likeLiteral(text)}%`;
}

const likeLiteral = (text: string) => text.replace(/[!%_]/g, (c) => `!${c}`);

/** A client as the admin tab names it: "Ann Smith (Smith BV)", or whichever of the two there is. */
export function clientLabel(c: { firstName: string; lastName: string; companyName: string }): string {
  const name = `${c.firstName} ${c.lastName}`.trim();
  const company = c.companyName.trim();
  return name && company ? `${name} (${company})` : name || company;
}

/** A service as the admin tab names it: "vps1.example.net · VPS 5 TB", or whichever there is. */
export function serviceLabel(s: { domain: string; name: string }): string {
  const host = s.domain.trim();
  return host ? (s.name ? `${host} · ${s.name}` : host) : s.name;
}
