/**
 * Request parameters the way PHP builds $_POST from a form body (parse_str): `x[]` appends,
 * `x[5]` and `x[a][b]` nest, a later value for the same name replaces the earlier one. Both the
 * External API endpoint and the in-process API parse through here, so they see the same values.
 *
 * A name given twice without brackets (`a=1&a=2`) is the last value, as PHP reads it; compared
 * with php-cli's parse_str in test/panel/php-params-php.test.ts.
 *
 * Difference from PHP: keys that look like non-negative integers are ordered ascending (JS object
 * key order), where PHP keeps insertion order. Nothing the commands read depends on that order.
 */
export type PhpValue = string | PhpArray;
export interface PhpArray {
  [key: string]: PhpValue;
}

export const MAX_NESTING = 8;

export const isPhpArray = (v: PhpValue | undefined): v is PhpArray => typeof v === 'object' && v !== null;

function newArray(): PhpArray {
  return Object.create(null) as PhpArray;
}

// PHP's integer keys: canonical decimal integers within a 64-bit signed range ("-3" is one; "007",
// "-0", "1.5" and 2^63 are strings). Kept as strings here; BigInt only to find the next index.
const INT_KEY = /^(0|-?[1-9]\d{0,18})$/;
const INT_MIN = -(2n ** 63n);
const INT_MAX = 2n ** 63n - 1n;
const intKeyOf = (k: string): bigint | null => {
  if (!INT_KEY.test(k)) return null;
  const n = BigInt(k);
  return n >= INT_MIN && n <= INT_MAX ? n : null;
};

/**
 * PHP's next index for `x[]`: one past the largest integer key (negative keys count too, as
 * php-cli does: -3 then [] gives -2), or 0 when there is none; null when the largest is PHP_INT_MAX
 * and PHP drops the value.
 */
function nextIndex(arr: PhpArray): string | null {
  let max: bigint | null = null;
  for (const k of Object.keys(arr)) {
    const n = intKeyOf(k);
    if (n !== null && (max === null || n > max)) max = n;
  }
  if (max === null) return '0';
  return max === INT_MAX ? null : String(max + 1n);
}

/**
 * Splits `a[b][]` into ['a', 'b', ''] as PHP does: leading spaces dropped, spaces and dots of the
 * base name made underscores (a relic of register_globals); a first `[` without a `]` is no index,
 * so it and every space, dot or `[` after it become underscores ("a[b.c" → "a_b_c"); a later
 * unclosed bracket or text after a `]` ends the nesting. An empty base name ("[a]") is skipped: [''].
 */
export function splitKey(name: string): string[] {
  const trimmed = name.replace(/^ +/, '');
  const open = trimmed.indexOf('[');
  if (open < 0) return [legacyBase(trimmed)];
  if (open === 0) return [''];
  if (trimmed.indexOf(']', open + 1) < 0)
    return [legacyBase(trimmed.slice(0, open)) + '_' + trimmed.slice(open + 1).replace(/[ .[]/g, '_')];
  const parts = [legacyBase(trimmed.slice(0, open))];
  let rest = trimmed.slice(open);
  while (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) break; // PHP ignores the malformed tail
    parts.push(rest.slice(1, close));
    rest = rest.slice(close + 1);
    if (parts.length > MAX_NESTING) break;
  }
  return parts;
}

const legacyBase = (base: string): string => base.replace(/[ .]/g, '_');

export function parsePhpPairs(pairs: Iterable<readonly [string, string]>): PhpArray {
  const root = newArray();
  for (const [name, value] of pairs) {
    const path = splitKey(name);
    if (path[0] === '') continue;
    let node = root;
    for (let i = 0; i < path.length; i++) {
      let key: string | null = path[i]!;
      if (key === '' && i > 0) key = nextIndex(node);
      if (key === null) break; // no index left after PHP_INT_MAX: PHP drops the value
      if (i === path.length - 1) {
        node[key] = value;
      } else {
        const child = node[key];
        if (isPhpArray(child)) node = child;
        else {
          const fresh = newArray();
          node[key] = fresh;
          node = fresh;
        }
      }
    }
  }
  return root;
}

/** The body of an application/x-www-form-urlencoded request as name/value pairs. */
export function formPairs(body: string): Array<[string, string]> {
  return [...new URLSearchParams(body).entries()];
}
